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
const (
	dropEvery     = 8192
	dropIdleEvery = time.Second
)

// dropJournalPages unmaps the journal files' pages. Failure costs only memory, so it
// is logged at debug level only.
func (t *tail) dropJournalPages() {
	t.lastDrop = time.Now()
	if _, err := memtrim.Files(isJournalFile); err != nil {
		t.r.log.Debug("cannot unmap read journal pages", "err", err)
	}
}

func isJournalFile(path string) bool {
	return strings.HasSuffix(path, ".journal") || strings.HasSuffix(path, ".journal~")
}
