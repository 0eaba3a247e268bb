// Package statefile writes the small files podexporter keeps across restarts (the
// journal cursor, where each Podman event stream was acknowledged) so that a crash at
// any point leaves either the old or the new content on disk, never a torn file.
package statefile

import (
	"fmt"
	"os"
	"path/filepath"
)

// Write replaces the file at path with data: write a temporary file beside it, sync
// it, rename it over the old one, and sync the directory so the rename survives.
func Write(path string, data []byte) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+"-*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	tmp := f.Name()
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("write %s: %w", path, err)
	}
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("sync directory of %s: %w", path, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync directory %s: %w", dir, err)
	}
	return nil
}
