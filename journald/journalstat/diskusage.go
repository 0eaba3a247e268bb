// Package journalstat holds what is reported about the journal: the journal
// reader's counters (Stats) and the disk space the journal directories hold
// (DiskUsage). Plain values, no cgo: the collectors and doctor use it without the
// reader and its libsystemd.
package journalstat

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// DefaultDirectories are where journald keeps its files: persistent, then volatile.
var DefaultDirectories = []string{"/var/log/journal", "/run/log/journal"}

// Usage is what one journal directory holds.
type Usage struct {
	Directory string
	// Bytes is allocated disk space (st_blocks), the figure journalctl --disk-usage
	// and journald's SystemMaxUse= count, not the files' apparent size.
	Bytes int64
	Files int
}

// ErrNoDirectory means the directory does not exist, which is normal for the
// persistent directory on volatile-only hosts and vice versa.
var ErrNoDirectory = errors.New("no such journal directory")

// DiskUsage sums the journal files (*.journal, and *.journal~ that journald leaves
// after an unclean shutdown) below dir, one level of machine-id or namespace
// subdirectories deep, as journald lays them out.
func DiskUsage(dir string) (Usage, error) {
	u := Usage{Directory: dir}
	if _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
		return u, fmt.Errorf("%s: %w", dir, ErrNoDirectory)
	}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if path != dir && strings.Count(strings.TrimPrefix(path, dir), "/") > 1 {
				return fs.SkipDir
			}
			return nil
		}
		name := d.Name()
		if !strings.HasSuffix(name, ".journal") && !strings.HasSuffix(name, ".journal~") {
			return nil
		}
		fi, err := d.Info()
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil // rotated away between readdir and stat
			}
			return err
		}
		u.Files++
		if st, ok := fi.Sys().(*syscall.Stat_t); ok {
			u.Bytes += st.Blocks * 512
		} else {
			u.Bytes += fi.Size()
		}
		return nil
	})
	if err != nil {
		return u, fmt.Errorf("read journal directory %s: %w", dir, err)
	}
	return u, nil
}
