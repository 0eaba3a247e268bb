// Package systemdconf holds the service-layer source's settings and their validation,
// apart from package systemd (which pulls in D-Bus) so that the configuration
// assembly imports no source; systemd.OptionsFrom turns validated Settings into the
// source's Options.
package systemdconf

import (
	"fmt"
	"time"

	"github.com/podexporter/podexporter/internal/setting"
)

// Settings configures the watch on systemd's managers. The source runs when
// --collector.systemd is on (the default).
type Settings struct {
	// UserManagers also watches the user managers under /run/user (rootless Quadlet).
	UserManagers bool
	// ResyncInterval re-reads every unit although signals said nothing, a safety net
	// for a signal lost in a full socket buffer.
	ResyncInterval time.Duration
	// RuntimeDir is where the user managers' runtime directories are (/run/user).
	RuntimeDir string
}

// MinResyncInterval keeps a misconfigured resync from turning the event-driven watch
// into polling.
const MinResyncInterval = 10 * time.Second

// Declare declares the systemd settings, with their defaults, into set.
func (s *Settings) Declare(set *setting.Set) {
	set.Bool(&s.UserManagers, "systemd.user-managers", "Also watch the systemd user managers of rootless Quadlet users (their private socket under --systemd.runtime-dir; needs root, or runs as that user).", true)
	set.Duration(&s.ResyncInterval, "systemd.resync-interval", "How often every Quadlet unit and file is read again although no D-Bus signal said it changed, and new user managers are looked for.", 5*time.Minute)
	set.String(&s.RuntimeDir, "systemd.runtime-dir", "Directory of the users' runtime directories (UID/systemd/private, UID/bus).", "/run/user")
}

// Validate checks the systemd settings; a problem comes back as a *setting.Error
// naming the flag and the fix.
func (s *Settings) Validate() error {
	if s.ResyncInterval < MinResyncInterval {
		return &setting.Error{Setting: "--systemd.resync-interval", Problem: fmt.Sprintf("%s is below the minimum of %s", s.ResyncInterval, MinResyncInterval),
			Fix: "give 10s or more (signals carry every change; the resync is only a safety net)"}
	}
	if s.RuntimeDir == "" {
		return &setting.Error{Setting: "--systemd.runtime-dir", Problem: "empty", Fix: "give the directory holding the users' runtime directories, /run/user on every systemd host"}
	}
	return nil
}
