package bpf

import (
	"io/fs"
	"path/filepath"
	"regexp"
	"syscall"
)

// containerDir matches the cgroup of a Podman container in both layouts: cgroupfs
// (libpod_parent/libpod-<id>) and systemd (machine.slice/libpod-<id>.scope, and for
// rootless containers user.slice/user-UID.slice/user@UID.service/.../libpod-<id>.scope).
// conmon's libpod-conmon-<id>.scope does not match: its traffic is not the container's.
var containerDir = regexp.MustCompile(`^libpod-([0-9a-f]{64})(\.scope)?$`)

// Resolver maps cgroup ids to Podman container ids through the cgroup2 tree, where a
// cgroup's id is the inode number of its directory. It caches one walk of the tree and
// walks again only when asked about an id it has not seen. Not safe for concurrent use.
type Resolver struct {
	root string
	// owner maps every cgroup id seen in the last walk to its container's full id, or
	// to "" for cgroups that belong to no container. A container's sub-cgroups map to
	// the container, so they are folded into it.
	owner map[uint64]string
	// byContainer is the reverse: each container's own cgroup id.
	byContainer map[string]uint64
}

// NewResolver returns a resolver for the cgroup2 hierarchy mounted at root.
func NewResolver(root string) *Resolver {
	return &Resolver{root: root}
}

// Lookup says which container a cgroup belongs to ("" for none) and whether the
// cgroup exists. An unknown id makes it walk the tree again once.
func (r *Resolver) Lookup(id uint64) (container string, exists bool) {
	if c, ok := r.owner[id]; ok {
		return c, true
	}
	if err := r.Walk(); err != nil {
		return "", false
	}
	c, ok := r.owner[id]
	return c, ok
}

// ContainerCgroup returns a container's own cgroup id as of the last walk.
func (r *Resolver) ContainerCgroup(fullID string) (uint64, bool) {
	id, ok := r.byContainer[fullID]
	return id, ok
}

// Known reports what the last walk saw without walking: for telling vanished cgroups
// apart after a walk.
func (r *Resolver) Known(id uint64) (container string, exists bool) {
	c, ok := r.owner[id]
	return c, ok
}

// Walk rebuilds the cache from the tree. Cgroups that disappear while it walks are
// skipped: they are gone either way.
func (r *Resolver) Walk() error {
	owner := map[uint64]string{}
	byContainer := map[string]uint64{}
	// The container a directory belongs to is the nearest ancestor (or itself) whose
	// name is a container cgroup; WalkDir visits parents first, so it is inherited.
	inherited := map[string]string{}
	err := filepath.WalkDir(r.root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			if path == r.root {
				return err
			}
			return nil // raced with a removal
		}
		if !d.IsDir() {
			return nil
		}
		var st syscall.Stat_t
		if err := syscall.Stat(path, &st); err != nil {
			return nil
		}
		ctr := inherited[filepath.Dir(path)]
		if m := containerDir.FindStringSubmatch(d.Name()); m != nil {
			ctr = m[1]
			byContainer[ctr] = st.Ino
		}
		inherited[path] = ctr
		owner[st.Ino] = ctr
		return nil
	})
	if err != nil {
		return err
	}
	r.owner, r.byContainer = owner, byContainer
	return nil
}
