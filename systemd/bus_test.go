package systemd

import (
	"testing"
	"time"

	"github.com/godbus/dbus/v5"
)

func TestParseSignal(t *testing.T) {
	unitPath := dbus.ObjectPath("/org/freedesktop/systemd1/unit/web_2eservice")
	for _, tc := range []struct {
		name string
		sig  dbus.Signal
		want signal
		ok   bool
	}{
		{"unit properties", dbus.Signal{Path: unitPath, Name: propsIf + ".PropertiesChanged", Body: []any{unitIf, map[string]dbus.Variant{}, []string{}}}, signal{unit: "web.service"}, true},
		{"service properties", dbus.Signal{Path: unitPath, Name: propsIf + ".PropertiesChanged", Body: []any{serviceIf, map[string]dbus.Variant{}, []string{}}}, signal{unit: "web.service"}, true},
		{"another interface", dbus.Signal{Path: unitPath, Name: propsIf + ".PropertiesChanged", Body: []any{"org.freedesktop.systemd1.Socket"}}, signal{}, false},
		{"the manager's own properties", dbus.Signal{Path: managerPath, Name: propsIf + ".PropertiesChanged", Body: []any{managerIf}}, signal{}, false},
		{"no body", dbus.Signal{Path: unitPath, Name: propsIf + ".PropertiesChanged"}, signal{}, false},
		{"unit new", dbus.Signal{Path: managerPath, Name: managerIf + ".UnitNew", Body: []any{"web.service", unitPath}}, signal{unit: "web.service"}, true},
		{"unit removed", dbus.Signal{Path: managerPath, Name: managerIf + ".UnitRemoved", Body: []any{"web.service", unitPath}}, signal{unit: "web.service", removed: true}, true},
		{"reload begins", dbus.Signal{Path: managerPath, Name: managerIf + ".Reloading", Body: []any{true}}, signal{}, false},
		{"reload ends", dbus.Signal{Path: managerPath, Name: managerIf + ".Reloading", Body: []any{false}}, signal{reloaded: true}, true},
		{"wrong type", dbus.Signal{Path: managerPath, Name: managerIf + ".UnitNew", Body: []any{42}}, signal{}, false},
		{"job removed", dbus.Signal{Path: managerPath, Name: managerIf + ".JobRemoved", Body: []any{uint32(1)}}, signal{}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := parseSignal(&tc.sig)
			if ok != tc.ok || got != tc.want {
				t.Errorf("parseSignal = %+v, %v; want %+v, %v", got, ok, tc.want, tc.ok)
			}
		})
	}
}

func TestUnitFromProperties(t *testing.T) {
	unit := map[string]dbus.Variant{
		"SourcePath":           dbus.MakeVariant("/etc/containers/systemd/web.container"),
		"LoadState":            dbus.MakeVariant("loaded"),
		"ActiveState":          dbus.MakeVariant("failed"),
		"SubState":             dbus.MakeVariant("failed"),
		"StateChangeTimestamp": dbus.MakeVariant(uint64(1_700_000_000_123_456)),
		"ActiveEnterTimestamp": dbus.MakeVariant(uint64(0)),
	}
	service := map[string]dbus.Variant{
		"Result":         dbus.MakeVariant("exit-code"),
		"Restart":        dbus.MakeVariant("on-failure"),
		"NRestarts":      dbus.MakeVariant(uint32(5)),
		"ExecMainCode":   dbus.MakeVariant(int32(1)),
		"ExecMainStatus": dbus.MakeVariant(int32(3)),
		"ExecMainPID":    dbus.MakeVariant("not a number"), // a wrong type leaves the field empty
	}
	u := unitFromProperties("web.service", unit, service)
	want := Unit{Name: "web.service", Kind: "container", SourcePath: "/etc/containers/systemd/web.container", LoadState: "loaded",
		ActiveState: "failed", SubState: "failed", Result: "exit-code", Restart: "on-failure", NRestarts: 5, ExecMainCode: 1, ExecMainStatus: 3,
		StateChange: time.UnixMicro(1_700_000_000_123_456)}
	if u != want {
		t.Errorf("unit\n %+v\nwant\n %+v", u, want)
	}
	if u := unitFromProperties("x.service", nil, nil); u.Name != "x.service" || u.Kind != "" {
		t.Errorf("no properties: %+v", u)
	}
}

func TestMapUID(t *testing.T) {
	for _, tc := range []struct {
		uidMap string
		uid    int
		want   int
	}{
		{"         0          0 4294967295\n", 0, 0},                                      // the initial namespace
		{"         0       1000          1\n         1     100000      65536\n", 0, 1000}, // rootless Podman
		{"         0       1000          1\n         1     100000      65536\n", 5, 100004},
		{"garbage\n", 7, 7},
		{"", 7, 7},
	} {
		if got := mapUID(tc.uidMap, tc.uid); got != tc.want {
			t.Errorf("mapUID(%q, %d) = %d, want %d", tc.uidMap, tc.uid, got, tc.want)
		}
	}
}
