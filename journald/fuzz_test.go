package journald

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/podexporter/podexporter/logrecord"
)

// FuzzPartialLine: however conmon splits a line, the joined line is the pieces in order,
// cut at the limit or, when a UTF-8 character straddles the limit, before it; and
// every piece is counted.
func FuzzPartialLine(f *testing.F) {
	f.Add([]byte("hello world"), uint8(3), uint16(8))
	f.Add(bytes.Repeat([]byte{0xff, 0x00, 'a'}, 100), uint8(7), uint16(64))
	f.Add([]byte(""), uint8(1), uint16(1))
	f.Add([]byte("abcdefgh€xyz"), uint8(1), uint16(10))
	f.Add([]byte("ab😀😀😀😀"), uint8(5), uint16(9))
	f.Add([]byte("abcdefghi\xe2\x82X"), uint8(0), uint16(10))
	f.Add([]byte("abcdefghi€xyz"), uint8(15), uint16(10)) // one byte a piece: € ends after the cut
	f.Fuzz(func(t *testing.T, line []byte, cuts uint8, limit uint16) {
		if limit == 0 {
			limit = 1
		}
		n := int(cuts%16) + 1
		var p partialLine
		var want []byte
		step := len(line)/n + 1
		pieces := 0
		for i := 0; i < len(line) || pieces == 0; i += step {
			end := min(i+step, len(line))
			piece := line[min(i, len(line)):end]
			p.add(piece, int(limit))
			want = append(want, piece...)
			pieces++
		}
		if n := len(p.buf); len(want) > int(limit) {
			if !p.cut {
				t.Fatal("line longer than the limit but not marked cut")
			}
			// At the limit, or before the start of a character the limit falls
			// inside: what the cut left out before the limit is an incomplete one.
			if n > int(limit) || !bytes.Equal(p.buf, want[:n]) {
				t.Fatalf("cut to %q, want a prefix of %q of %d bytes", p.buf, want, limit)
			}
			if dropped := want[n:limit]; n < int(limit) && (!utf8.RuneStart(dropped[0]) || utf8.FullRune(dropped)) {
				t.Fatalf("cut %q at %d, short of the limit %d, dropping %q, not the beginning of a character", want, n, limit, dropped)
			}
			if utf8.Valid(want) && !utf8.Valid(p.buf) {
				t.Fatalf("cut %q inside a character: %q", want, p.buf)
			}
		} else if !bytes.Equal(p.buf, want) {
			t.Fatalf("joined %q, want %q", p.buf, want)
		}
		if p.pieces != pieces {
			t.Fatalf("counted %d pieces, added %d", p.pieces, pieces)
		}
	})
}

// FuzzCursorSeqnum: any cursor text is handled without panic, and a well-formed one
// round-trips its sequence number.
func FuzzCursorSeqnum(f *testing.F) {
	f.Add("s=bbd61aa08fb0443faed2b6433fd49bd2;i=d3979;b=df0d;m=b67a7640;t=66159c42a507b;x=26f0b56d19033f3f")
	f.Add("garbage")
	f.Add("s=;i=zz")
	f.Fuzz(func(t *testing.T, cursor string) {
		id, seq, ok := cursorSeqnum(cursor)
		if !ok {
			return
		}
		again := fmt.Sprintf("s=%s;i=%x", id, seq)
		if id2, seq2, ok2 := cursorSeqnum(again); !ok2 || id2 != id || seq2 != seq {
			t.Fatalf("%q -> (%q, %d) does not round-trip", cursor, id, seq)
		}
	})
}

func FuzzParsePriority(f *testing.F) {
	for _, s := range []string{"0", "7", "8", "", "-1", "66"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		p := parsePriority(b)
		if p < -1 || p > 7 {
			t.Fatalf("priority %d out of range", p)
		}
		if logrecord.SeverityFromPriority(p) < 0 {
			t.Fatal("negative severity")
		}
	})
}

// FuzzEntryDecode feeds up to three journal entries of one container, each maybe a
// partial piece, through the reader's decoding and joining: no panic, no record past
// the line limit, and pieces joined in order.
func FuzzEntryDecode(f *testing.F) {
	f.Add([]byte("hello\n"), []byte("6"), "0123456789ab", "web", uint8(0), "1795894812762970")
	f.Add([]byte("part"), []byte("3"), "0123456789ab", "web", uint8(3), "")
	f.Add([]byte{0xff, 0xfe, 0, '\n'}, []byte("x"), "", "", uint8(1), "-5")
	f.Fuzz(func(t *testing.T, msg, prio []byte, id, name string, partial uint8, sourceTime string) {
		const limit = 64
		sink := &collect{}
		r, err := NewReader(Config{Sink: sink, MaxLineBytes: limit, Directory: "/nonexistent"})
		if err != nil {
			t.Fatal(err)
		}
		tl := r.newTail()
		now := time.Now()
		var joined []byte
		for i := range 3 {
			fields := make([][]byte, nFixed)
			fields[fMessage] = msg
			fields[fPriority] = prio
			if id != "" {
				fields[fContainerID] = []byte(id)
			}
			fields[fContainerName] = []byte(name)
			fields[fSourceTime] = []byte(sourceTime)
			last := i == 2
			if !last && partial&(1<<i) != 0 {
				fields[fPartial] = []byte("true")
			}
			tl.e = rawEntry{realtime: uint64(now.UnixMicro()), cursor: fmt.Sprintf("s=x;i=%x", i+1), fields: fields}
			tl.handle(now)
			joined = append(joined, msg...)
			if fields[fPartial] == nil {
				break
			}
		}
		tl.flushPartialsLive(now.Add(time.Hour))
		for _, rec := range tl.batch {
			if len(rec.Body) > limit {
				t.Fatalf("record of %d bytes past the %d-byte limit", len(rec.Body), limit)
			}
			if rec.Severity < 0 || rec.Priority > 7 {
				t.Fatalf("priority %d, severity %d", rec.Priority, rec.Severity)
			}
		}
		if id == "" || len(tl.batch) != 1 {
			return // conmon's own messages, or filtered out
		}
		want := bytes.TrimSuffix(joined, []byte("\n"))
		if len(want) > limit {
			want = want[:limit]
		}
		if got := tl.batch[0].Body; got != string(want) && !strings.HasPrefix(string(joined), got) {
			t.Fatalf("body %q, want %q", got, want)
		}
	})
}

// FuzzParseCheckpoint: any checkpoint text parses without panic into its first line
// and, when it has skip lines, a consistent view; writing that view back (as
// checkpointText does) and parsing it again gives the same.
func FuzzParseCheckpoint(f *testing.F) {
	f.Add("s=abc;i=5\nread abc 9\nopen 6 7 aaaaaaaaaaaa\nopen 3 8 bbbbbbbbbbbb")
	f.Add("s=abc;i=5")
	f.Add("s=abc;i=5\nread abc zz\nopen x y")
	f.Add("\n\nread\nopen 1 2 3 4")
	// A read line past the journal's end or of another sequence than the cursor
	// (position.go drops those), and a cursor past the end.
	f.Add("s=abc;i=5\nread abc ffffffffff")
	f.Add("s=abc;i=5\nread def 9\nopen 6 7 aaaaaaaaaaaa")
	f.Add("s=abc;i=ffffffffff;t=6475ef64d06c8\nread abc ffffffffff\nopen 6 ffffffffff aaaaaaaaaaaa")
	f.Add("s=abc;i=5\nread abc 10000000000000000")
	f.Fuzz(func(t *testing.T, text string) {
		cursor, skip := parseCheckpoint(text)
		if strings.Contains(cursor, "\n") {
			t.Fatalf("cursor %q holds a line break", cursor)
		}
		if skip == nil {
			return
		}
		if skip.seqID == "" || strings.ContainsAny(skip.seqID, " \n") {
			t.Fatalf("seqnum id %q", skip.seqID)
		}
		again := cursor + "\nread " + skip.seqID + " " + strconv.FormatUint(skip.read, 16)
		for k, s := range skip.open {
			again += fmt.Sprintf("\nopen %d %x %s", k.priority, s, k.container)
		}
		c2, s2 := parseCheckpoint(again)
		if c2 != cursor || s2 == nil || s2.read != skip.read || s2.seqID != skip.seqID || len(s2.open) != len(skip.open) {
			t.Fatalf("%q does not round-trip: %q %+v", text, again, s2)
		}
		for k, s := range skip.open {
			if s2.open[k] != s {
				t.Fatalf("open line %v: %d, then %d", k, s, s2.open[k])
			}
		}
	})
}
