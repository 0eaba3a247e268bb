package journald

import (
	"errors"
	"io/fs"
	"os"
)

// libsystemd skips a journal file it may not open without a word, and a handle that
// opened none reads nothing, forever, as if no container ever logged: a daemon run
// without the systemd-journal group, or in a container without the journal mounted,
// would ship nothing and never say why. The reader says it once, with the fix, and
// keeps it in Stats.JournalUnreadable for an alert.

// unreadableFix says how to let the reader read the journal.
const unreadableFix = "add the user podexporter runs as to group systemd-journal (usermod -aG systemd-journal USER, or SupplementaryGroups=systemd-journal in its systemd unit); " +
	"in a Quadlet unit run it as root (deploy/quadlet/podexporter.container) or, rootless, keep the host user's groups with GroupAdd=keep-groups, and mount the journal read-only " +
	"(Volume=/var/log/journal:/var/log/journal:ro, and /run/log/journal the same way); podexporter doctor names the fix for this host"

// checkReadable notes whether the open handle holds any journal file: at an open,
// and when libsystemd says the set of files changed (a file readable at last, such
// as a user's own journal).
func (t *tail) checkReadable() {
	n, err := t.j.usage()
	if err != nil {
		t.r.log.Debug("cannot tell whether any journal file is open", "err", err)
		return
	}
	t.readable(n > 0, nil)
}

// readable records whether the reader can read any journal file; cause is why not,
// when opening the journal failed for want of permission.
func (t *tail) readable(ok bool, cause error) {
	was := !t.r.unreadable.Swap(!ok)
	switch {
	case !ok && t.r.unreadableWarned.CompareAndSwap(false, true):
		args := []any{"source", t.location().String(), "uid", os.Getuid(), "gid", os.Getgid(), "fix", unreadableFix}
		if cause != nil {
			args = append(args, "err", cause)
		}
		t.r.log.Warn("cannot read any journal file (not permitted, or none there): no container log line is read", args...)
	case ok && !was:
		t.r.log.Info("journal files are readable now", "source", t.location().String())
	}
}

// openFailed notes an open of the journal that failed; only a refused permission
// says the journal is unreadable, anything else is reported as it is.
func (t *tail) openFailed(err error) {
	if errors.Is(err, fs.ErrPermission) {
		t.readable(false, err)
	}
}
