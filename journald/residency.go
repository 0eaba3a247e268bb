package journald

import (
	"strings"

	"github.com/podexporter/podexporter/internal/memtrim"
)

// libsystemd reads journal files through memory maps and keeps up to 64 windows of
// 8 MiB mapped; every page it read stays resident, and counted in podexporter's RSS,
// until a window is recycled. Catching up on a large journal took RSS to 140 MiB that
// way, almost all of it pages read once and never again. Unmapping them (the file
// pages stay in the page cache; libsystemd's pointers stay valid and fault back in
// what is read again) every dropEvery entries and whenever the reader catches up
// bounds that to what one stretch of reading touches.
const dropEvery = 32768

// dropJournalPages unmaps the journal files' pages. Failure costs only memory, so it
// is logged at debug level only.
func (t *tail) dropJournalPages() {
	if _, err := memtrim.Files(isJournalFile); err != nil {
		t.r.log.Debug("cannot unmap read journal pages", "err", err)
	}
}

func isJournalFile(path string) bool {
	return strings.HasSuffix(path, ".journal") || strings.HasSuffix(path, ".journal~")
}
