package main

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"flag"
	"fmt"
	"io/fs"
	mrand "math/rand/v2"
	"net"
	"path/filepath"
	"strings"
	"time"
)

// fillContainer is one container name the filler writes as, with conmon's fields.
type fillContainer struct {
	name, id, full string
	weight         int
}

// runFill writes entries to journald's native socket until the journal files under
// -dir take -mib MiB on disk. Most are conmon-shaped container entries (CONTAINER_NAME,
// CONTAINER_ID, CONTAINER_ID_FULL, CONTAINER_TAG, SYSLOG_IDENTIFIER, PRIORITY) whose
// names are those of the live containers (-live, as if they had logged for days; the
// ids differ from the live ones', as after a restart) and of -old containers long gone, so that every archived file holds container names, as
// a real host's do; the rest are plain service entries. Messages are base64 of random
// bytes, so journald's compression cannot shrink the journal below its nominal size.
func runFill(args []string) error {
	f := flag.NewFlagSet("fill", flag.ExitOnError)
	socket := f.String("socket", "/run/systemd/journal/socket", "journald's native socket")
	dir := f.String("dir", "/var/log/journal", "journal directory whose size ends the fill")
	mib := f.Int64("mib", 2400, "stop once the journal files take this many MiB")
	live := f.String("live", "", "comma-separated names of the live containers, the busiest first")
	old := f.Int("old", 200, "containers long gone that also wrote")
	seed := f.Uint64("seed", 1, "seed of names, ids and sizes")
	_ = f.Parse(args)

	rng := mrand.New(mrand.NewPCG(*seed, 3))
	var cs []fillContainer
	id := func() string {
		b := make([]byte, 32)
		for i := range b {
			b[i] = byte(rng.UintN(256))
		}
		return hex.EncodeToString(b)
	}
	// Weights: each old container 8, the busiest live one as much as all the old ones
	// together, each other live one an eighth of that; with 4 others that is 40% of
	// the container entries for the busiest, 20% for the others, 40% for the old ones.
	for i, n := range strings.Split(*live, ",") {
		if n == "" {
			continue
		}
		full := id()
		w := 8 * *old
		if i > 0 {
			w = *old
		}
		cs = append(cs, fillContainer{name: n, id: full[:12], full: full, weight: w})
	}
	for i := 1; i <= *old; i++ {
		full := id()
		cs = append(cs, fillContainer{name: fmt.Sprintf("old-app-%d", i), id: full[:12], full: full, weight: 8})
	}
	totalWeight := 0
	for _, c := range cs {
		totalWeight += c.weight
	}

	conn, err := net.DialUnix("unixgram", nil, &net.UnixAddr{Name: *socket, Net: "unixgram"})
	if err != nil {
		return err
	}
	defer conn.Close()
	random := make([]byte, 8192)
	msg := make([]byte, base64.StdEncoding.EncodedLen(len(random)))
	var dgram []byte
	start := time.Now()
	var sent int64
	for {
		if sent%5000 == 0 {
			size, err := dirSize(*dir)
			if err != nil {
				return err
			}
			if size >= *mib<<20 {
				fmt.Printf("fill: %d entries, journal %d MiB, %s\n", sent, size>>20, time.Since(start).Round(time.Second))
				return nil
			}
			if sent%200000 == 0 {
				fmt.Printf("fill: %d entries, journal %d MiB\n", sent, size>>20)
			}
		}
		// Message lengths: short lines, long ones and some near conmon's 8 KiB piece
		// size, about 2.4 KB on average: journald takes entries at a few thousand a
		// second on a busy 2-vCPU VM, so larger entries build the gigabytes sooner,
		// and what grows with the journal (files, their field and data objects) is
		// there all the same.
		var n int
		switch p := rng.IntN(100); {
		case p < 50:
			n = 200 + rng.IntN(800)
		case p < 90:
			n = 1000 + rng.IntN(5000)
		default:
			n = 6000 + rng.IntN(2000)
		}
		_, _ = rand.Read(random[:n*3/4+3])
		base64.StdEncoding.Encode(msg, random[:n*3/4+3])
		dgram = append(dgram[:0], "MESSAGE="...)
		dgram = append(dgram, msg[:n]...)
		if rng.IntN(5) == 0 {
			dgram = append(dgram, "\nPRIORITY=6\nSYSLOG_IDENTIFIER=filler-service\n"...)
		} else {
			w := rng.IntN(totalWeight)
			c := cs[0]
			for _, x := range cs {
				if w -= x.weight; w < 0 {
					c = x
					break
				}
			}
			dgram = fmt.Appendf(dgram, "\nPRIORITY=6\nSYSLOG_IDENTIFIER=%s\nCONTAINER_NAME=%s\nCONTAINER_ID=%s\nCONTAINER_ID_FULL=%s\nCONTAINER_TAG=%s\n",
				c.id, c.name, c.id, c.full, c.id)
		}
		if _, err := conn.Write(dgram); err != nil {
			return err
		}
		sent++
	}
}

// dirSize is the disk space the journal files under dir take, as journalctl
// --disk-usage counts it (allocated blocks).
func dirSize(dir string) (int64, error) {
	var total int64
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".journal") {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return nil // rotated away meanwhile
		}
		total += info.Size()
		return nil
	})
	return total, err
}
