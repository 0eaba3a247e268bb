package memtrim

import (
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"
)

const smaps = `00400000-00404000 r--p 00000000 fe:00 99 /usr/bin/podexporter
Rss:                  16 kB
Anonymous:             0 kB
00404000-011f5000 r-xp 00004000 fe:00 99 /usr/bin/podexporter
Rss:               13360 kB
Anonymous:             0 kB
020f5000-020f8000 r--p 01cf5000 fe:00 99 /usr/bin/podexporter
Rss:                  12 kB
Anonymous:            12 kB
020f8000-021f5000 rw-p 01cf8000 fe:00 99 /usr/bin/podexporter
Rss:                 548 kB
Anonymous:           300 kB
7f0000000000-7f0000100000 r-xp 00000000 fe:00 12 /usr/lib/x86_64-linux-gnu/libc.so.6
Rss:                1000 kB
Anonymous:             0 kB
7f0000200000-7f0000300000 r--s 00000000 fe:00 99 /usr/bin/podexporter
Rss:                   4 kB
Anonymous:             0 kB
`

// Only the executable's private, read-only, never-written mappings qualify: not its
// RELRO (anonymous pages from relocation), data, a shared map, or another file.
func TestTrimmable(t *testing.T) {
	got := Trimmable([]byte(smaps), "/usr/bin/podexporter")
	want := []Segment{
		{Start: 0x400000, End: 0x404000, Resident: 16 << 10},
		{Start: 0x404000, End: 0x11f5000, Resident: 13360 << 10},
	}
	if len(got) != len(want) {
		t.Fatalf("got %+v, want %+v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("segment %d: %+v, want %+v", i, got[i], want[i])
		}
	}
	if got := Trimmable([]byte(smaps), "/usr/bin/other"); len(got) != 0 {
		t.Errorf("another path: %+v", got)
	}
}

// Trimming this test binary lowers its file-backed resident memory as the kernel
// reports it, and the process goes on running code (which faults back in).
func TestExecutableTrims(t *testing.T) {
	before := rssFile(t)
	segs, err := Executable()
	if err != nil {
		t.Fatal(err)
	}
	if len(segs) == 0 {
		t.Fatal("no segment of the test binary was trimmable")
	}
	after := rssFile(t)
	if after >= before {
		t.Fatalf("RssFile %d kB before, %d kB after trimming", before, after)
	}
	// Code and read-only data still work: format, allocate, collect.
	var b strings.Builder
	for i := range 1000 {
		b.WriteString(strconv.Itoa(i))
	}
	runtime.GC()
	if b.Len() != 2890 {
		t.Fatalf("built %d bytes", b.Len())
	}
	t.Logf("RssFile %d kB -> %d kB", before, after)
}

func rssFile(t *testing.T) int64 {
	t.Helper()
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "RssFile:"); ok {
			n, err := strconv.ParseInt(strings.Fields(v)[0], 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
	}
	t.Fatal("no RssFile in /proc/self/status")
	return 0
}
