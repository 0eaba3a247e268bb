// Package sdnotify tells systemd (directly, or through conmon for Quadlet's Notify=true)
// what the daemon is doing: READY, STATUS, WATCHDOG and STOPPING.
package sdnotify

import (
	"context"
	"log/slog"
	"time"

	"github.com/coreos/go-systemd/v22/daemon"
)

// Notifier sends state changes to $NOTIFY_SOCKET; without one every call is a no-op.
type Notifier struct {
	logger *slog.Logger
}

// New returns a Notifier that logs (once per call site) when the socket refuses a message.
func New(logger *slog.Logger) *Notifier {
	return &Notifier{logger: logger}
}

func (n *Notifier) send(state string) {
	if _, err := daemon.SdNotify(false, state); err != nil {
		n.logger.Warn("sd_notify failed", "state", state, "err", err)
	}
}

// Ready says the listeners are up and the sources started.
func (n *Notifier) Ready(status string) { n.send(daemon.SdNotifyReady + "\nSTATUS=" + status) }

// Status sets the one-line status systemctl status shows.
func (n *Notifier) Status(status string) { n.send("STATUS=" + status) }

// Stopping says shutdown has begun, so systemd does not take slowness for a hang.
func (n *Notifier) Stopping() { n.send(daemon.SdNotifyStopping + "\nSTATUS=shutting down") }

// Watchdog pings at half of WATCHDOG_USEC until ctx ends; it returns at once when no
// watchdog is configured. alive is asked before each ping so that a wedged daemon
// stops pinging and systemd restarts it.
func (n *Notifier) Watchdog(ctx context.Context, alive func() bool) {
	interval, err := daemon.SdWatchdogEnabled(false)
	if err != nil {
		n.logger.Warn("watchdog settings unreadable; not pinging", "err", err)
		return
	}
	if interval == 0 {
		return
	}
	t := time.NewTicker(interval / 2)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if alive() {
				n.send(daemon.SdNotifyWatchdog)
			}
		}
	}
}
