package journald

import (
	"log/slog"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/podexporter/podexporter/journald/journaltest"
)

// Unmapping the journal pages libsystemd has read gives their resident memory back,
// and libsystemd goes on reading the same handle as if nothing happened: the same
// entries, the same bytes.
func TestDropJournalPages(t *testing.T) {
	const entries = 2000
	dir := journaltest.ConmonJournal(t, entries)
	j, err := openJournal(location{Directory: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer j.close()
	j.setFields([]string{"MESSAGE", "_CMDLINE"})
	readAll := func() []string {
		if err := j.seekHead(); err != nil {
			t.Fatal(err)
		}
		var out []string
		var e rawEntry
		for {
			ok, err := j.read(true, &e)
			if err != nil {
				t.Fatal(err)
			}
			if !ok {
				return out
			}
			out = append(out, e.cursor+" "+string(e.fields[0])+" "+string(e.fields[1]))
		}
	}
	first := readAll()
	if len(first) != entries {
		t.Fatalf("read %d entries, want %d", len(first), entries)
	}
	before := journalResident(t)
	if before == 0 {
		t.Fatal("no journal page resident after reading the journal")
	}
	tl := &tail{r: &Reader{log: slog.New(slog.DiscardHandler)}}
	tl.dropJournalPages()
	after := journalResident(t)
	if after >= before/4 {
		t.Fatalf("journal pages resident: %d kB before dropping, %d kB after", before, after)
	}
	again := readAll()
	if strings.Join(again, "\n") != strings.Join(first, "\n") {
		t.Fatal("entries read after dropping the pages differ from those read before")
	}
	t.Logf("journal pages resident: %d kB, %d kB after dropping", before, after)
}

// journalResident sums the resident kB of this process's journal file mappings.
func journalResident(t *testing.T) int64 {
	t.Helper()
	b, err := os.ReadFile("/proc/self/smaps")
	if err != nil {
		t.Fatal(err)
	}
	var sum int64
	in := false
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		if !strings.HasSuffix(f[0], ":") {
			in = len(f) >= 6 && isJournalFile(f[len(f)-1])
			continue
		}
		if in && f[0] == "Rss:" {
			n, _ := strconv.ParseInt(f[1], 10, 64)
			sum += n
		}
	}
	return sum
}

func TestJournalMapping(t *testing.T) {
	for _, tc := range []struct {
		line       string
		start, end uint64
		ok         bool
	}{
		{"7f0a00000000-7f0a00800000 r--s 00000000 08:01 1234                       /var/log/journal/m/system.journal\n", 0x7f0a00000000, 0x7f0a00800000, true},
		{"7f0a00000000-7f0a00800000 r--s 00800000 08:01 1234 /var/log/journal/m/system@0005-0006.journal~", 0x7f0a00000000, 0x7f0a00800000, true},
		{"7f0a00000000-7f0a00800000 r--s 00000000 08:01 1234 /var/log/journal/m/system.journal (deleted)", 0, 0, false},
		{"7f0a00000000-7f0a00800000 rw-s 00000000 08:01 1234 /var/log/journal/m/system.journal", 0, 0, false},
		{"7f0a00000000-7f0a00800000 r--p 00000000 08:01 1234 /var/log/journal/m/system.journal", 0, 0, false},
		{"7f0a00000000-7f0a00001000 rw-p 00000000 00:00 0 ", 0, 0, false},
		{"7f0a00000000-7f0a00001000 r--s 00000000 08:01 1234 /srv/my journal dir/x.journal", 0x7f0a00000000, 0x7f0a00001000, true},
		{"garbage", 0, 0, false},
		{"zz-7f0a00001000 r--s 00000000 08:01 1234 /x.journal", 0, 0, false},
	} {
		start, end, ok := journalMapping([]byte(tc.line))
		if start != tc.start || end != tc.end || ok != tc.ok {
			t.Errorf("journalMapping(%q) = %x, %x, %v; want %x, %x, %v", tc.line, start, end, ok, tc.start, tc.end, tc.ok)
		}
	}
}
