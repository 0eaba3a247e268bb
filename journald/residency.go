package journald

import (
	"strings"
	"time"

	"github.com/podexporter/podexporter/internal/memtrim"
)

// libsystemd reads journal files through memory maps and keeps up to 64 windows of
// 8 MiB mapped; every page it read stays resident, and counted in podexporter's RSS,
// until a window is recycled. Catching up on a large journal took RSS to 140 MiB that
// way, almost all of it pages read once and never again. Unmapping them (the file
// pages stay in the page cache; libsystemd's pointers stay valid and fault back in
// what is read again) every dropEvery entries, and when the reader has caught up
// after reading some (at most every dropIdleEvery, since a live reader catches up
// many times a second), bounds that to what one stretch of reading touches.
//
// The mappings are found in /proc/self/maps, not smaps: smaps counts every page and
// cost milliseconds, which once limited dropping while caught up to once a second,
// and a live reader's RSS then grew to 62-155 MiB of journal pages in the soak.
const (
	dropEvery     = 8192
	dropIdleEvery = 100 * time.Millisecond
)

// dropJournalPages unmaps the journal files' pages. Failure costs only memory, so it
// is logged at debug level only.
func (t *tail) dropJournalPages() {
	t.lastDrop = time.Now()
	if err := memtrim.SharedFiles(isJournalFile); err != nil {
		t.r.log.Debug("cannot unmap read journal pages", "err", err)
	}
}

// isJournalFile accepts journal files, also those deleted (vacuumed, rotated away)
// while libsystemd still maps them.
func isJournalFile(path string) bool {
	path = strings.TrimSuffix(path, " (deleted)")
	return strings.HasSuffix(path, ".journal") || strings.HasSuffix(path, ".journal~")
}
