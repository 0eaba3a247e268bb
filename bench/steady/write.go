package main

import (
	"bufio"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"time"
)

// words make the rest of each line look like an application's log line rather than a
// repeated byte, so that the shippers' gzip sees text of a realistic ratio.
var words = []string{
	"GET", "POST", "PUT", "/api/v1/items", "/api/v1/users", "/healthz", "status=200", "status=404",
	"status=500", "method=GET", "user=alice", "user=bob", "cache=hit", "cache=miss", "level=info",
	"level=warn", "level=debug", "region=eu-west", "db=orders", "rows=", "took=", "ms", "retry=0",
	"component=worker", "queue=billing", "job=reindex", "shard=", "bytes=", "conn=", "ok", "done",
}

// runWrite writes lines to stdout: at -rate lines a second for ever (or until
// -count), or, with -rate 0, -count lines as fast as the pipe takes them. Each line is
// "steady w=NAME seq=N t=UNIXNANO " followed by text up to -size bytes; every
// -big-every-th line is -big-size bytes instead (conmon splits those into pieces).
func runWrite(args []string) error {
	fs := flag.NewFlagSet("write", flag.ExitOnError)
	name := fs.String("name", "w", "writer name, carried in every line")
	rate := fs.Float64("rate", 100, "lines per second; 0: as fast as possible (needs -count)")
	count := fs.Uint64("count", 0, "lines to write, then exit; 0: for ever")
	size := fs.Int("size", 120, "bytes per line, newline excluded")
	bigEvery := fs.Uint64("big-every", 0, "every Nth line is -big-size bytes; 0: none")
	bigSize := fs.Int("big-size", 20480, "bytes of a big line")
	seed := fs.Uint64("seed", 1, "seed of the line text")
	_ = fs.Parse(args)
	if *rate <= 0 && *count == 0 {
		return fmt.Errorf("-rate 0 needs -count")
	}
	text := textPool(*seed, max(*size, *bigSize)*2)
	rng := rand.New(rand.NewPCG(*seed, 7))
	out := bufio.NewWriterSize(os.Stdout, 256<<10)
	line := make([]byte, 0, max(*size, *bigSize)+1)
	emit := func(seq uint64) error {
		n := *size
		if *bigEvery > 0 && seq%*bigEvery == *bigEvery-1 {
			n = *bigSize
		}
		line = append(line[:0], "steady w="...)
		line = append(line, *name...)
		line = append(line, " seq="...)
		line = strconv.AppendUint(line, seq, 10)
		line = append(line, " t="...)
		line = strconv.AppendInt(line, time.Now().UnixNano(), 10)
		line = append(line, ' ')
		if pad := n - len(line); pad > 0 {
			off := rng.IntN(len(text) - pad)
			line = append(line, text[off:off+pad]...)
		}
		line = append(line, '\n')
		_, err := out.Write(line)
		return err
	}
	if *rate <= 0 {
		for seq := uint64(0); seq < *count; seq++ {
			if err := emit(seq); err != nil {
				return err
			}
		}
		return out.Flush()
	}
	// Paced: every 10 ms, the lines due since the start, each flushed on its own as
	// a logging library writes them (one write per line).
	start := time.Now()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	var seq uint64
	for range tick.C {
		due := uint64(*rate * time.Since(start).Seconds())
		for ; seq < due; seq++ {
			if *count > 0 && seq >= *count {
				return out.Flush()
			}
			if err := emit(seq); err != nil {
				return err
			}
			if err := out.Flush(); err != nil {
				return err
			}
		}
	}
	return nil
}

// textPool is n bytes of space-separated words and numbers, without newlines.
func textPool(seed uint64, n int) []byte {
	rng := rand.New(rand.NewPCG(seed, 11))
	b := make([]byte, 0, n+32)
	for len(b) < n {
		b = append(b, words[rng.IntN(len(words))]...)
		if rng.IntN(3) == 0 {
			b = strconv.AppendInt(b, int64(rng.IntN(100000)), 10)
		}
		b = append(b, ' ')
	}
	return b[:n]
}
