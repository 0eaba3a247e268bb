package systemd

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// quadletKinds are the file extensions the Quadlet generator turns into units.
var quadletKinds = []string{"container", "pod", "volume", "network", "kube", "image", "build", "artifact"}

// quadletKind is the kind of Quadlet file path is, "" when it is none.
func quadletKind(path string) string {
	ext := strings.TrimPrefix(filepath.Ext(path), ".")
	if ext == "" || !slices.Contains(quadletKinds, ext) {
		return ""
	}
	return ext
}

// The directories Quadlet reads, as Podman 5's generator has them
// (pkg/systemd/quadlet/unitdirs.go). The system generator skips the users/ subtree of
// the admin directory; a user's generator reads users/ except other users' numbered
// directories, and users/UID.
const (
	unitDirTemp   = "/run/containers/systemd"
	unitDirAdmin  = "/etc/containers/systemd"
	unitDirDistro = "/usr/share/containers/systemd"
)

// searchDirs are the directories a manager's Quadlet generator reads: the system's,
// or user uid's with home and runtime directory from its manager's environment.
func searchDirs(uid int, home, runtimeDir string) []string {
	if uid < 0 {
		return []string{unitDirTemp, unitDirAdmin, unitDirDistro}
	}
	var dirs []string
	if runtimeDir != "" {
		dirs = append(dirs, filepath.Join(runtimeDir, "containers/systemd"))
	}
	if home != "" {
		dirs = append(dirs, filepath.Join(home, ".config/containers/systemd"))
	}
	return append(dirs, filepath.Join(unitDirAdmin, "users"))
}

// scanQuadlet lists the Quadlet files under dirs, as the generator for uid would find
// them (-1: the system's); usersDir is the admin directory's users/ subtree, which
// only user generators read. A directory that does not exist is empty; one that
// cannot be read is returned in failed.
func scanQuadlet(uid int, dirs []string, usersDir string) (files []string, failed []string) {
	own := ""
	if uid >= 0 {
		own = filepath.Join(usersDir, strconv.Itoa(uid))
	}
	seen := map[string]bool{}
	for _, root := range dirs {
		err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				if errors.Is(err, fs.ErrNotExist) {
					return nil
				}
				failed = append(failed, path)
				if d != nil && d.IsDir() {
					return fs.SkipDir
				}
				return nil
			}
			if d.IsDir() {
				if path == root {
					return nil
				}
				if uid < 0 && path == usersDir {
					return fs.SkipDir
				}
				if uid >= 0 && filepath.Dir(path) == usersDir && path != own && isNumber(d.Name()) {
					return fs.SkipDir // another user's
				}
				if strings.HasSuffix(d.Name(), ".d") {
					return fs.SkipDir // drop-ins of a unit, not units
				}
				return nil
			}
			if quadletKind(path) == "" || seen[path] {
				return nil
			}
			// The generator follows symlinks; a dangling one is not a unit it could make.
			if d.Type()&fs.ModeSymlink != 0 {
				if _, err := os.Stat(path); err != nil {
					return nil
				}
			}
			seen[path] = true
			files = append(files, path)
			return nil
		})
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			failed = append(failed, root)
		}
	}
	slices.Sort(files)
	return files, failed
}

func isNumber(s string) bool {
	_, err := strconv.ParseUint(s, 10, 32)
	return err == nil
}

// envValue is key's value in an environment block.
func envValue(env []string, key string) string {
	for _, kv := range env {
		if k, v, ok := strings.Cut(kv, "="); ok && k == key {
			return v
		}
	}
	return ""
}
