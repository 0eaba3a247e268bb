//go:build faults

package faults

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// A forged entry must look like conmon's to the reader, whose journal match is
// _COMM=conmon. journald reads _COMM from /proc/PID/comm when it takes the
// datagram, so a writer that exits at once (logger --journald, as this row used)
// leaves some of its entries without _COMM, about 1 in 7 here: entries the reader
// rightly never selects, which made the row fail now and then. The forger is this
// test binary, linked or copied as "conmon" (the kernel names the process after the
// file), run as nobody: it sends the entry over journald's native socket and stays
// alive until the test has seen the entry in the journal.

// forgeEnv names, in the forger's environment, the file holding the entry's fields.
const forgeEnv = "PODEXPORTER_TEST_FORGE_FIELDS"

func init() {
	if path := os.Getenv(forgeEnv); path != "" {
		os.Exit(forgeChild(path))
	}
}

// forgeChild sends the entry, says "sent" on standard output and waits for
// standard input to close.
func forgeChild(path string) int {
	fields, err := os.ReadFile(path)
	if err == nil {
		err = sendNative(fields)
	}
	if err != nil {
		fmt.Println("error:", err)
		return 1
	}
	fmt.Println("sent")
	_, _ = io.Copy(io.Discard, os.Stdin)
	return 0
}

// sendNative sends FIELD=value lines (values without newlines, any other bytes) as
// one entry in journald's native protocol, each field in its binary form.
func sendNative(fields []byte) error {
	var dgram bytes.Buffer
	for _, line := range bytes.Split(bytes.TrimSuffix(fields, []byte("\n")), []byte("\n")) {
		name, value, ok := bytes.Cut(line, []byte("="))
		if !ok {
			return fmt.Errorf("field %q has no =", line)
		}
		dgram.Write(name)
		dgram.WriteByte('\n')
		_ = binary.Write(&dgram, binary.LittleEndian, uint64(len(value)))
		dgram.Write(value)
		dgram.WriteByte('\n')
	}
	c, err := net.DialUnix("unixgram", nil, &net.UnixAddr{Name: "/run/systemd/journal/socket", Net: "unixgram"})
	if err != nil {
		return err
	}
	defer c.Close()
	_, err = c.Write(dgram.Bytes())
	return err
}

// forge writes one journal entry as user nobody, from a process named conmon:
// MESSAGE is msg, the other fields come from fields (FIELD=value lines). It returns
// once journalctl shows the entry, with _COMM=conmon.
func (h *hostile) forge(msg, fields string) error {
	dir, err := os.MkdirTemp("", "podexporter-forge-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	if err := os.Chmod(dir, 0o755); err != nil {
		return err
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	bin := filepath.Join(dir, "conmon")
	if err := os.Link(self, bin); err != nil {
		if err := copyFile(self, bin); err != nil {
			return err
		}
	}
	file := filepath.Join(dir, "fields")
	if err := os.WriteFile(file, []byte("MESSAGE="+msg+"\nPRIORITY=6\n"+fields), 0o644); err != nil {
		return err
	}
	cmd := exec.Command(bin)
	cmd.Env = append(os.Environ(), forgeEnv+"="+file)
	uid, gid := lookupUser(h.t, "nobody")
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uid, Gid: gid}}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return err
	}
	defer func() { stdin.Close(); _ = cmd.Wait() }()
	said, _ := bufio.NewReader(stdout).ReadString('\n')
	if said != "sent\n" {
		return fmt.Errorf("forger: %q", said)
	}
	pid := strconv.Itoa(cmd.Process.Pid)
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		out, err := exec.Command("journalctl", "-o", "export", "--output-fields=_COMM,MESSAGE", "_PID="+pid).Output()
		if err != nil || !bytes.Contains(out, []byte("\nMESSAGE="+msg+"\n")) {
			continue
		}
		if !bytes.Contains(out, []byte("\n_COMM=conmon\n")) {
			return fmt.Errorf("the forged entry %s has no _COMM=conmon: %q", msg, strings.TrimSpace(string(out)))
		}
		return nil
	}
	return fmt.Errorf("the forged entry %s did not show in journalctl _PID=%s within 10 s", msg, pid)
}

func copyFile(from, to string) error {
	b, err := os.ReadFile(from)
	if err != nil {
		return err
	}
	return os.WriteFile(to, b, 0o755)
}
