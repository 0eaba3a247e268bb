package systemd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	sddbus "github.com/coreos/go-systemd/v22/dbus"
	"github.com/godbus/dbus/v5"
)

// bus is what a manager watch needs of one connection to a systemd manager. The
// D-Bus connection implements it in production; the unit tests use a fake.
type bus interface {
	// generatedUnits lists the service units the manager's generators made.
	generatedUnits(ctx context.Context) ([]string, error)
	// unit reads one unit's properties; ok is false when the manager has no such unit.
	unit(ctx context.Context, name string) (u Unit, ok bool, err error)
	// environment is the manager's environment block (HOME, XDG_RUNTIME_DIR of a user
	// manager).
	environment(ctx context.Context) ([]string, error)
	// signals delivers what the manager announces; it is closed when the connection
	// ends.
	signals() <-chan signal
	close()
}

// signal is one of systemd's announcements, reduced to what the watch acts on.
type signal struct {
	// unit is the unit whose properties changed, or that was loaded or unloaded.
	unit string
	// removed says systemd unloaded the unit (it is inactive and nothing refers to
	// it).
	removed bool
	// reloaded says a daemon-reload (or daemon-reexec) finished: the generators ran
	// again and any unit may be new or gone.
	reloaded bool
}

// endpoint is one way to reach a manager: systemd's private socket (peer to peer, no
// bus daemon: only root and the manager's own user get in) or a bus daemon's socket.
type endpoint struct {
	path    string
	private bool
}

const (
	systemdDest = "org.freedesktop.systemd1"
	managerPath = dbus.ObjectPath("/org/freedesktop/systemd1")
	managerIf   = "org.freedesktop.systemd1.Manager"
	unitIf      = "org.freedesktop.systemd1.Unit"
	serviceIf   = "org.freedesktop.systemd1.Service"
	propsIf     = "org.freedesktop.DBus.Properties"
	unitPathPfx = "/org/freedesktop/systemd1/unit/"
)

// errRefused marks a connection the manager's socket or bus would not accept from
// us (file permissions, or the peer-credential check of a private socket).
var errRefused = errors.New("refused")

// dbusBus is a bus over a godbus connection.
type dbusBus struct {
	conn *dbus.Conn
	ch   chan signal
	stop chan struct{}
	done chan struct{}
}

// dialBus connects to the first endpoint that answers, authenticates as our user,
// subscribes to the manager's signals and starts relaying them. The connection ends
// with ctx or close.
func dialBus(ctx context.Context, endpoints []endpoint) (bus, error) {
	var errs []error
	for _, ep := range endpoints {
		b, err := dialOne(ctx, ep)
		if err == nil {
			return b, nil
		}
		errs = append(errs, fmt.Errorf("%s: %w", ep.path, err))
	}
	// A refusal only when no endpoint is merely down: a private socket that timed out
	// is an outage to retry soon, even if the bus behind it refused us.
	for _, e := range errs {
		switch {
		case errors.Is(e, errRefused), errors.Is(e, fs.ErrNotExist):
		default:
			return nil, joined(stripRefusals(errs))
		}
	}
	// Refused, or absent: errors.Is(err, errRefused) holds when one refused.
	return nil, joined(errs)
}

// stripRefusals keeps the errors' text but not their refusal: the manager is down,
// not closed to us.
func stripRefusals(errs []error) []error {
	out := make([]error, len(errs))
	for i, e := range errs {
		out[i] = errors.New(e.Error())
	}
	return out
}

// joined is errs in one line, for a log line that stays one line.
type joinedErrors []error

func joined(errs []error) error {
	if len(errs) == 0 {
		return errors.New("no endpoint")
	}
	return joinedErrors(errs)
}

func (j joinedErrors) Error() string {
	parts := make([]string, len(j))
	for i, e := range j {
		parts[i] = e.Error()
	}
	return strings.Join(parts, "; ")
}

func (j joinedErrors) Unwrap() []error { return j }

func dialOne(ctx context.Context, ep endpoint) (bus, error) {
	if _, err := os.Stat(ep.path); err != nil {
		if errors.Is(err, os.ErrPermission) {
			return nil, fmt.Errorf("%w: %w", errRefused, err)
		}
		return nil, err
	}
	dctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	// Dial, not Connect: a private socket is not a bus and must not get Hello.
	conn, err := dbus.Dial("unix:path="+ep.path, dbus.WithContext(ctx))
	if err != nil {
		if errors.Is(err, syscall.EACCES) || errors.Is(err, syscall.EPERM) {
			return nil, fmt.Errorf("%w: %w", errRefused, err)
		}
		return nil, err
	}
	fail := func(err error) (bus, error) {
		conn.Close()
		return nil, err
	}
	authed := make(chan error, 1)
	go func() { authed <- conn.Auth([]dbus.Auth{dbus.AuthExternal(strconv.Itoa(peerUID()))}) }()
	select {
	case err = <-authed:
	case <-dctx.Done():
		conn.Close()
		<-authed
		return nil, fmt.Errorf("authenticate: %w", dctx.Err())
	}
	if err != nil {
		// systemd closes a private socket on a peer it does not accept; a bus daemon
		// rejects the authentication. Both are a refusal, not an outage.
		return fail(fmt.Errorf("%w: authenticate: %w", errRefused, err))
	}
	if !ep.private {
		if err := conn.Hello(); err != nil {
			if errors.Is(err, io.EOF) || isAccessDenied(err) {
				// A user's bus daemon lets its owner alone in, and says so by
				// hanging up after authentication.
				return fail(fmt.Errorf("%w: hello: %w", errRefused, err))
			}
			return fail(fmt.Errorf("hello: %w", err))
		}
		for _, member := range []string{"UnitNew", "UnitRemoved", "Reloading"} {
			if err := conn.AddMatchSignalContext(dctx, dbus.WithMatchSender(systemdDest), dbus.WithMatchInterface(managerIf), dbus.WithMatchMember(member)); err != nil {
				return fail(fmt.Errorf("add match %s: %w", member, err))
			}
		}
		if err := conn.AddMatchSignalContext(dctx, dbus.WithMatchSender(systemdDest), dbus.WithMatchInterface(propsIf), dbus.WithMatchMember("PropertiesChanged"), dbus.WithMatchPathNamespace(dbus.ObjectPath(unitPathPfx[:len(unitPathPfx)-1]))); err != nil {
			return fail(fmt.Errorf("add match PropertiesChanged: %w", err))
		}
	}
	if ep.private {
		if err := wake(dctx, conn); err != nil {
			return fail(err)
		}
	}
	raw := make(chan *dbus.Signal, 256)
	conn.Signal(raw)
	// systemd sends signals on a bus only to subscribers (on its private socket to
	// every peer); Subscribe is allowed to everyone and changes nothing.
	if err := conn.Object(systemdDest, managerPath).CallWithContext(dctx, managerIf+".Subscribe", 0).Store(); err != nil {
		if isAccessDenied(err) {
			return fail(fmt.Errorf("%w: subscribe: %w", errRefused, err))
		}
		return fail(fmt.Errorf("subscribe: %w", err))
	}
	b := &dbusBus{conn: conn, ch: make(chan signal, 64), stop: make(chan struct{}), done: make(chan struct{})}
	go b.relay(raw)
	return b, nil
}

// peerUID is our uid as systemd sees it, which EXTERNAL authentication must claim:
// in a rootless container we are root inside a user namespace, and the kernel reports
// the host user to the manager.
func peerUID() int {
	uid := os.Getuid()
	b, err := os.ReadFile("/proc/self/uid_map")
	if err != nil {
		return uid
	}
	return mapUID(string(b), uid)
}

// mapUID maps uid through a uid_map ("inside outside count" per line).
func mapUID(uidMap string, uid int) int {
	for _, line := range strings.Split(uidMap, "\n") {
		f := strings.Fields(line)
		if len(f) != 3 {
			continue
		}
		in, err1 := strconv.Atoi(f[0])
		out, err2 := strconv.Atoi(f[1])
		n, err3 := strconv.Atoi(f[2])
		if err1 != nil || err2 != nil || err3 != nil {
			continue
		}
		if uid >= in && uid-in < n {
			return out + uid - in
		}
	}
	return uid
}

// wake pings the manager until it answers. systemd 252 sometimes leaves a message
// that arrived in the same read as the authentication's BEGIN unread until more data
// comes (the e2e saw 1 connection in 4 hang on its first call): each further ping is
// that data, and the first answer says the connection is live.
func wake(ctx context.Context, conn *dbus.Conn) error {
	for {
		pctx, cancel := context.WithTimeout(ctx, 250*time.Millisecond)
		err := conn.Object(systemdDest, managerPath).CallWithContext(pctx, "org.freedesktop.DBus.Peer.Ping", 0).Err
		cancel()
		switch {
		case err == nil:
			return nil
		case ctx.Err() != nil:
			return fmt.Errorf("ping: %w", ctx.Err())
		case errors.Is(err, context.DeadlineExceeded):
			continue
		default:
			return fmt.Errorf("ping: %w", err)
		}
	}
}

func isAccessDenied(err error) bool {
	var de dbus.Error
	return errors.As(err, &de) && strings.HasSuffix(de.Name, ".AccessDenied")
}

// relay turns godbus's signals into ours until the connection ends (godbus closes
// raw) or close is called; it closes b.ch last.
func (b *dbusBus) relay(raw chan *dbus.Signal) {
	defer close(b.done)
	defer close(b.ch)
	for {
		var s *dbus.Signal
		var ok bool
		select {
		case s, ok = <-raw:
			if !ok {
				return
			}
		case <-b.stop:
			return
		}
		sig, ok := parseSignal(s)
		if !ok {
			continue
		}
		select {
		case b.ch <- sig:
		case <-b.stop:
			return
		}
	}
}

// parseSignal keeps the signals the watch acts on.
func parseSignal(s *dbus.Signal) (signal, bool) {
	switch s.Name {
	case propsIf + ".PropertiesChanged":
		if !strings.HasPrefix(string(s.Path), unitPathPfx) || len(s.Body) < 1 {
			return signal{}, false
		}
		if iface, _ := s.Body[0].(string); iface != unitIf && iface != serviceIf {
			return signal{}, false
		}
		return signal{unit: unitName(s.Path)}, true
	case managerIf + ".UnitNew", managerIf + ".UnitRemoved":
		if len(s.Body) < 1 {
			return signal{}, false
		}
		name, _ := s.Body[0].(string)
		if name == "" {
			return signal{}, false
		}
		return signal{unit: name, removed: s.Name == managerIf+".UnitRemoved"}, true
	case managerIf + ".Reloading":
		if len(s.Body) < 1 {
			return signal{}, false
		}
		if active, _ := s.Body[0].(bool); !active {
			return signal{reloaded: true}, true
		}
	}
	return signal{}, false
}

// unitName undoes systemd's object path escaping (_2d is "-", _2e ".").
func unitName(p dbus.ObjectPath) string {
	s := strings.TrimPrefix(string(p), unitPathPfx)
	var out strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '_' && i+2 < len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+3], 16, 8); err == nil {
				out.WriteByte(byte(n))
				i += 2
				continue
			}
		}
		out.WriteByte(s[i])
	}
	return out.String()
}

func (b *dbusBus) signals() <-chan signal { return b.ch }

func (b *dbusBus) close() {
	select {
	case <-b.stop:
	default:
		close(b.stop)
	}
	b.conn.Close()
	<-b.done
}

func (b *dbusBus) manager() dbus.BusObject { return b.conn.Object(systemdDest, managerPath) }

func (b *dbusBus) generatedUnits(ctx context.Context) ([]string, error) {
	var files []struct{ Path, State string }
	err := b.manager().CallWithContext(ctx, managerIf+".ListUnitFilesByPatterns", 0, []string{"generated"}, []string{"*.service"}).Store(&files)
	if err != nil {
		return nil, fmt.Errorf("ListUnitFilesByPatterns: %w", err)
	}
	names := make([]string, 0, len(files))
	for _, f := range files {
		names = append(names, f.Path[strings.LastIndexByte(f.Path, '/')+1:])
	}
	return names, nil
}

func (b *dbusBus) unit(ctx context.Context, name string) (Unit, bool, error) {
	obj := b.conn.Object(systemdDest, dbus.ObjectPath(unitPathPfx+sddbus.PathBusEscape(name)))
	var up, sp map[string]dbus.Variant
	if err := obj.CallWithContext(ctx, propsIf+".GetAll", 0, unitIf).Store(&up); err != nil {
		if isUnknownUnit(err) {
			return Unit{}, false, nil
		}
		return Unit{}, false, fmt.Errorf("unit %s: %w", name, err)
	}
	if err := obj.CallWithContext(ctx, propsIf+".GetAll", 0, serviceIf).Store(&sp); err != nil {
		if isUnknownUnit(err) {
			return Unit{}, false, nil
		}
		return Unit{}, false, fmt.Errorf("service %s: %w", name, err)
	}
	return unitFromProperties(name, up, sp), true, nil
}

func isUnknownUnit(err error) bool {
	var de dbus.Error
	return errors.As(err, &de) && (strings.HasSuffix(de.Name, ".NoSuchUnit") || strings.HasSuffix(de.Name, ".UnknownObject") || strings.HasSuffix(de.Name, ".UnknownInterface"))
}

// unitFromProperties picks the unit's fields out of its D-Bus properties; a property
// of an unexpected type leaves its field empty rather than failing the unit.
func unitFromProperties(name string, unit, service map[string]dbus.Variant) Unit {
	str := func(m map[string]dbus.Variant, k string) string { s, _ := m[k].Value().(string); return s }
	u := Unit{
		Name:        name,
		SourcePath:  str(unit, "SourcePath"),
		LoadState:   str(unit, "LoadState"),
		ActiveState: str(unit, "ActiveState"),
		SubState:    str(unit, "SubState"),
		Result:      str(service, "Result"),
		Restart:     str(service, "Restart"),
		StateChange: usec(unit["StateChangeTimestamp"]),
		ActiveEnter: usec(unit["ActiveEnterTimestamp"]),
	}
	u.Kind = quadletKind(u.SourcePath)
	if n, ok := service["NRestarts"].Value().(uint32); ok {
		u.NRestarts = uint64(n)
	}
	if n, ok := service["ExecMainCode"].Value().(int32); ok {
		u.ExecMainCode = int(n)
	}
	if n, ok := service["ExecMainStatus"].Value().(int32); ok {
		u.ExecMainStatus = int(n)
	}
	if n, ok := service["ExecMainPID"].Value().(uint32); ok {
		u.ExecMainPID = n
	}
	return u
}

// usec converts systemd's microseconds since the epoch; 0 means never.
func usec(v dbus.Variant) time.Time {
	n, ok := v.Value().(uint64)
	if !ok || n == 0 {
		return time.Time{}
	}
	return time.UnixMicro(int64(n))
}

func (b *dbusBus) environment(ctx context.Context) ([]string, error) {
	var v dbus.Variant
	if err := b.manager().CallWithContext(ctx, propsIf+".Get", 0, managerIf, "Environment").Store(&v); err != nil {
		return nil, fmt.Errorf("manager environment: %w", err)
	}
	env, _ := v.Value().([]string)
	return env, nil
}
