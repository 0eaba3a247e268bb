package journald

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// TestCutOnRuneBoundary: --journal.max-line-bytes cuts a line at most at the limit
// and never inside a UTF-8 character, whether the line is one entry, pieces conmon
// split in the middle of a character, or a line of a multiline record; bytes that are
// not valid UTF-8 anyway are cut at the limit as before. Each body is also checked
// against the messages journalctl prints for its entries.
func TestCutOnRuneBoundary(t *testing.T) {
	const limit = 10
	partial := [2]string{"CONTAINER_PARTIAL_MESSAGE", "true"}
	idML := idOf("trace")
	es := []entry{
		conmonEntry(0, "web", idWeb, "abcdefgh€xyz\n", "6"),       // € is bytes 8..10
		conmonEntry(1, "web", idWeb, "abcdefghi😀\n", "6"),         // 😀 is bytes 9..12
		conmonEntry(2, "web", idWeb, "abcdefghié\n", "6"),         // é is bytes 9..10
		conmonEntry(3, "web", idWeb, "abcdefghi\xe2\x82X\n", "6"), // not UTF-8 at the cut
		conmonEntry(4, "web", idWeb, "abcdefghij€\n", "6"),        // the cut falls before €
		conmonEntry(5, "db", idDB, "abcdefgh\xe2", "6", partial),  // € split by conmon,
		conmonEntry(6, "db", idDB, "\x82\xacxyz\n", "6"),          // the cut inside it
		conmonEntry(7, "db", idDB, "ab\xe2", "6", partial),        // € split, no cut
		conmonEntry(8, "db", idDB, "\x82\xac\n", "6"),
		conmonEntry(9, "db", idDB, "abcdefghé", "6", partial), // the first piece reaches
		conmonEntry(10, "db", idDB, "ü\n", "6"),               // the limit exactly
		conmonEntry(11, "trace", idML, "E1\n", "6"),           // a multiline record
		conmonEntry(12, "trace", idML, "  xéééé\n", "6"),      // whose line is cut
		conmonEntry(13, "trace", idML, "E2\n", "6"),
		conmonEntry(14, "db", idDB, "abcdefghi", "6", partial), // € split by conmon
		conmonEntry(15, "db", idDB, "\xe2\x82", "6", partial),  // across the limit,
		conmonEntry(16, "db", idDB, "\xacxyz\n", "6"),          // its end in the next piece
	}
	path := buildJournal(t, es)
	want := []string{
		"abcdefgh",
		"abcdefghi",
		"abcdefghi",
		"abcdefghi\xe2",
		"abcdefghij",
		"abcdefgh",
		"ab€",
		"abcdefghé",
		"E1",
		"  xééé",
		"abcdefghi",
		"E2",
	}
	cfg := Config{Files: []string{path}, Start: StartHead, MaxLineBytes: limit, PartialTimeout: 20 * time.Millisecond, MultilineTimeout: 20 * time.Millisecond,
		Enricher: labelEnricher{idML: {LabelMultiline: `^\S`}}}
	got, r := runReader(t, cfg, len(want))
	if g := bodies(got); !slices.Equal(g, want) {
		t.Errorf("bodies %q\nwant   %q", g, want)
	}
	// The reference: a line's body begins the messages journalctl prints for its
	// entries (the pieces up to its cursor), joined.
	ref := journalctlEntries(t, filepath.Dir(path))
	for _, rec := range got {
		if len(rec.Body) > limit {
			t.Errorf("%q: %d bytes, past the limit %d", rec.Body, len(rec.Body), limit)
		}
		if rec.Body != "abcdefghi\xe2" && !utf8.ValidString(rec.Body) {
			t.Errorf("%q: not valid UTF-8", rec.Body)
		}
		if rec.Lines > 1 {
			continue
		}
		last := slices.IndexFunc(ref, func(e refEntry) bool { return cursorOf(e.line) == rec.Cursor })
		if last < 0 || last+1 < rec.Pieces {
			t.Fatalf("%q: cursor %s, %d pieces, not in journalctl's output", rec.Body, rec.Cursor, rec.Pieces)
		}
		var msg string
		for _, e := range ref[last+1-rec.Pieces : last+1] {
			msg += e.line[:strings.LastIndex(e.line, "|")]
		}
		if !strings.HasPrefix(msg, rec.Body) {
			t.Errorf("%q does not begin journalctl's %q", rec.Body, msg)
		}
		if rec.Truncated != (len(strings.TrimSuffix(msg, "\n")) > len(rec.Body)) {
			t.Errorf("%q: truncated %v, journalctl's message is %q", rec.Body, rec.Truncated, msg)
		}
	}
	if s := r.Stats(); s.LinesCut != 9 {
		t.Errorf("%d lines cut, want 9", s.LinesCut)
	}
}
