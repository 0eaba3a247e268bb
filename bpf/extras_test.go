package bpf

import (
	"net"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/podexporter/podexporter/internal/testenv"
)

func TestParseFormat(t *testing.T) {
	const format = `name: kfree_skb
format:
	field:unsigned short common_type;	offset:0;	size:2;	signed:0;
	field:void * skbaddr;	offset:8;	size:8;	signed:0;
	field:void * rx_sk;	offset:24;	size:8;	signed:0;
	field:__u8 saddr[4];	offset:34;	size:4;	signed:0;
	field:enum skb_drop_reason reason;	offset:36;	size:4;	signed:0;

print fmt: "reason: %s", __print_symbolic(REC->reason, { 2, "NOT_SPECIFIED" }, { 3, "NO_SOCKET" })
`
	fields, printFmt, err := parseFormat(format)
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]int32{"skbaddr": 8, "rx_sk": 24, "saddr": 34, "reason": 36} {
		if fields[name] != want {
			t.Errorf("offset of %s = %d, want %d", name, fields[name], want)
		}
	}
	if r := dropReasons(printFmt); r[2] != "NOT_SPECIFIED" || r[3] != "NO_SOCKET" || len(r) != 2 {
		t.Errorf("reasons = %v", r)
	}
}

// mountTracefs makes tracefs available as a host prepared for --ebpf.extras has it.
func mountTracefs(t *testing.T) {
	t.Helper()
	if _, err := tracefs(); err == nil {
		return
	}
	if err := syscall.Mount("tracefs", tracefsDirs[0], "tracefs", 0, ""); err != nil {
		t.Fatalf("mount tracefs: %v", err)
	}
}

// The extras load against this kernel's format files and count a real drop: a SYN to
// a closed loopback port is dropped with the kernel's reason NO_SOCKET.
func TestExtrasCountDrops(t *testing.T) {
	testenv.RequireRoot(t)
	mountTracefs(t)
	x, err := AttachExtras()
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	data, err := os.ReadFile(filepath.Join(tracefsDirs[0], "events/skb/kfree_skb/format"))
	if err != nil {
		t.Fatal(err)
	}
	_, printFmt, _ := parseFormat(string(data))
	if len(dropReasons(printFmt)) < 10 {
		t.Fatalf("few drop reasons read from the kernel's print format: %v", dropReasons(printFmt))
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	for range 3 {
		if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			c.Close()
		}
	}
	drops, err := x.Drops()
	if err != nil {
		t.Fatal(err)
	}
	var noSocket uint64
	for k, n := range drops {
		if k.Reason == "NO_SOCKET" {
			noSocket += n
		}
	}
	if noSocket < 3 {
		t.Errorf("NO_SOCKET drops = %d after 3 refused connections; all: %v", noSocket, drops)
	}
}
