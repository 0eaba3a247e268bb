//go:build ignore

// sigstore-keygen writes a sigstore key pair, as `skopeo generate-sigstore-key` does
// (the same library call), for a host whose skopeo predates that command (Debian 12's
// 1.9): the private key, encrypted with the passphrase read from a file, is what
// `podman push --sign-by-sigstore-private-key` signs with; the public key is what a
// policy.json sigstoreSigned requirement names as keyPath. Nothing leaves the machine:
// no Fulcio certificate, no Rekor entry.
//
//	go run scripts/sigstore-keygen.go PASSPHRASE-FILE PREFIX...
//
// writes PREFIX.private (mode 0600) and PREFIX.pub for each PREFIX, each pair a key of
// its own with that passphrase (one compile for the test's two keys). It is a program,
// not a package of this module (the build tag keeps it out of builds and of go mod
// tidy), and it uses the image library the Podman bindings already bring in.
package main

import (
	"bytes"
	"fmt"
	"os"

	"go.podman.io/image/v5/signature/sigstore"
)

func main() {
	if len(os.Args) < 3 {
		fmt.Fprintln(os.Stderr, "usage: sigstore-keygen PASSPHRASE-FILE PREFIX...")
		os.Exit(2)
	}
	pass, err := os.ReadFile(os.Args[1])
	if err != nil {
		fail(err)
	}
	// podman reads --sign-passphrase-file the same way: the first line, without
	// its newline.
	pass, _, _ = bytes.Cut(pass, []byte("\n"))
	for _, prefix := range os.Args[2:] {
		keys, err := sigstore.GenerateKeyPair(pass)
		if err != nil {
			fail(err)
		}
		// O_EXCL: an existing key is never overwritten, as skopeo refuses to.
		write(prefix+".private", keys.PrivateKey, 0o600)
		write(prefix+".pub", keys.PublicKey, 0o644)
	}
}

func write(name string, data []byte, mode os.FileMode) {
	out, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		fail(err)
	}
	if _, err := out.Write(data); err != nil {
		fail(err)
	}
	if err := out.Close(); err != nil {
		fail(err)
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "sigstore-keygen:", err)
	os.Exit(1)
}
