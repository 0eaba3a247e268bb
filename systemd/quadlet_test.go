package systemd

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/godbus/dbus/v5"
)

func TestScanQuadlet(t *testing.T) {
	root := t.TempDir()
	admin := filepath.Join(root, "etc")
	users := filepath.Join(admin, "users")
	home := filepath.Join(root, "home/config")
	for _, f := range []string{
		"etc/web.container", "etc/sub/db.pod", "etc/data.volume", "etc/net.network", "etc/app.kube",
		"etc/base.image", "etc/img.build", "etc/model.artifact",
		"etc/web.container.d/10-env.conf", "etc/sub/README", "etc/old.service",
		"etc/users/shared.container", "etc/users/1000/mine.container", "etc/users/1001/theirs.container", "etc/users/team/team.container",
		"home/config/own.container",
	} {
		p := filepath.Join(root, f)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink(filepath.Join(root, "missing.container"), filepath.Join(admin, "dangling.container")); err != nil {
		t.Fatal(err)
	}
	rel := func(files []string) []string {
		var out []string
		for _, f := range files {
			out = append(out, strings.TrimPrefix(f, root+"/"))
		}
		return out
	}
	for _, tc := range []struct {
		name string
		uid  int
		dirs []string
		want []string
	}{
		{"system: every kind, subdirectories, not users/ nor drop-ins", -1, []string{admin, filepath.Join(root, "absent")},
			[]string{"etc/app.kube", "etc/base.image", "etc/data.volume", "etc/img.build", "etc/model.artifact", "etc/net.network", "etc/sub/db.pod", "etc/web.container"}},
		{"user 1000: its own directory, users/ and its numbered one, not another user's", 1000, []string{home, users},
			[]string{"etc/users/1000/mine.container", "etc/users/shared.container", "etc/users/team/team.container", "home/config/own.container"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			files, failed := scanQuadlet(tc.uid, tc.dirs, users)
			got := rel(files)
			slices.Sort(got)
			if !slices.Equal(got, tc.want) {
				t.Errorf("files\n %v\nwant\n %v", got, tc.want)
			}
			if len(failed) != 0 {
				t.Errorf("failed %v", failed)
			}
		})
	}
}

func TestSearchDirs(t *testing.T) {
	if got := searchDirs(-1, "", ""); !slices.Equal(got, []string{"/run/containers/systemd", "/etc/containers/systemd", "/usr/share/containers/systemd"}) {
		t.Errorf("system dirs %v", got)
	}
	want := []string{"/run/user/1000/containers/systemd", "/home/u/.config/containers/systemd", "/etc/containers/systemd/users"}
	if got := searchDirs(1000, "/home/u", "/run/user/1000"); !slices.Equal(got, want) {
		t.Errorf("user dirs %v, want %v", got, want)
	}
}

func TestUnitName(t *testing.T) {
	for path, want := range map[string]string{
		"/org/freedesktop/systemd1/unit/web_2eservice":            "web.service",
		"/org/freedesktop/systemd1/unit/my_2dapp_2dpod_2eservice": "my-app-pod.service",
		"/org/freedesktop/systemd1/unit/user_401000_2eservice":    "user@1000.service",
		"/org/freedesktop/systemd1/unit/trailing_":                "trailing_",
		"/org/freedesktop/systemd1/unit/bad_zzescape_2eservice":   "bad_zzescape.service",
	} {
		if got := unitName(dbusPath(path)); got != want {
			t.Errorf("unitName(%s) = %q, want %q", path, got, want)
		}
	}
}

func dbusPath(s string) dbus.ObjectPath { return dbus.ObjectPath(s) }
