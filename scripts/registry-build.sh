#!/usr/bin/env bash
# Builds the distribution registry (the reference OCI registry, cmd/registry of
# github.com/distribution/distribution/v3) from its Go module, once: the binary is
# cached under $PODMAN5_CACHE (default /var/cache/podexporter) in a directory named
# after the version, so a second call costs nothing. Prints the binary's path.
#
# The signed release path of `make systemd-e2e` (deploy/systemd_e2e_signed_test.go)
# runs it inside the booted host on localhost: no registry outside this machine is
# reachable, and the test needs one that stores sigstore signatures as attachments,
# as a real registry does.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf 'registry-build: %s\n' "$*" >&2; }

# The release the e2e is proven against; a newer one is a deliberate bump here.
version=v3.1.2
module=github.com/distribution/distribution/v3

out=${PODMAN5_CACHE:-/var/cache/podexporter}/registry-$version
if [ -x "$out/registry" ]; then
	echo "$out/registry"
	exit 0
fi

log "building the registry $version (once; 2 to 8 minutes: it links a storage driver per cloud)"
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
mkdir -p "$out"
(
	cd "$scratch"
	go mod init registry-build >/dev/null 2>&1
	go get "$module/cmd/registry@$version" >/dev/null 2>&1 ||
		go get "$module/cmd/registry@$version"
	# Static, without cgo: the binary runs inside booted hosts of other Debian
	# releases than the one it was built on. GOFLAGS is the caller's (podexporter's
	# build tags) and means nothing to this module.
	CGO_ENABLED=0 GOFLAGS= go build -trimpath -o "$out/registry.tmp" "$module/cmd/registry"
)
mv "$out/registry.tmp" "$out/registry"
log "built $("$out/registry" --version)"
echo "$out/registry"
