package cgroupfs

import (
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// keptPaths are the paths of what f keeps open, read from /proc/self/fd: what the
// kernel says the descriptors are, not what f believes.
func keptPaths(t *testing.T, f *Files) []string {
	t.Helper()
	var paths []string
	for _, k := range []kept{f.stat, f.dirs[0].fd, f.dirs[1].fd, f.dirs[2].fd} {
		if k != 0 {
			paths = append(paths, fdTarget(t, int(k-1)))
		}
	}
	slices.Sort(paths)
	return paths
}

// fdTarget is the path a descriptor of this process is open on.
func fdTarget(t *testing.T, fd int) string {
	t.Helper()
	target, err := os.Readlink("/proc/self/fd/" + strconv.Itoa(fd))
	if err != nil {
		t.Fatalf("a kept descriptor is not open: %v", err)
	}
	return target
}

func abs(t *testing.T, p string) string {
	t.Helper()
	a, err := filepath.Abs(p)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// ReadWith keeps memory.stat open and the directories the counters are read from:
// the same values as Read, what the files say now, and nothing of a cgroup read before.
func TestReadWithKeepsFilesOpen(t *testing.T) {
	root := copyTree(t, "testdata/v2")
	m := &Mounts{Unified: root}
	dir := root + v2Limited
	var f Files
	base := KeptOpen()
	t0 := time.Now()
	first := m.ReadWith(&f, v2Limited, nil, ages, t0)
	want := m.Read(v2Limited, nil, ages, t0)
	if first.Limits != want.Limits || first.Memory != want.Memory {
		t.Errorf("through Files:\n%+v\nwithout:\n%+v", first, want)
	}
	// cgroup v2: one directory for every file.
	if got, want := keptPaths(t, &f), []string{dir, dir + "/memory.stat"}; !slices.Equal(got, want) || KeptOpen()-base != 2 {
		t.Errorf("kept %v (%d counted), want %v", got, KeptOpen()-base, want)
	}

	// What is kept reads what the files say now. os.WriteFile rewrites the same
	// inode, as the kernel makes a cgroup file's content afresh at each read at 0.
	write(t, dir+"/memory.events", "low 0\nhigh 0\nmax 400\noom 3\noom_kill 3\n")
	write(t, dir+"/memory.stat", "anon 4242\nfile 1\ninactive_file 1\n")
	second := m.ReadWith(&f, v2Limited, &first.Limits, ages, t0.Add(10*time.Second))
	if second.Limits.OOMKills != 3 || second.Limits.MaxEvents != 400 || second.Memory.RSS != 4242 || f.Reopened() {
		t.Errorf("second read: %+v (reopened %v)", second, f.Reopened())
	}

	// A path other than the last closes what was kept for it.
	m.ReadWith(&f, v2Free, nil, ages, t0)
	free := root + v2Free
	if got, want := keptPaths(t, &f), []string{free, free + "/memory.stat"}; !slices.Equal(got, want) || KeptOpen()-base != 2 {
		t.Errorf("kept %v (%d counted), want %v", got, KeptOpen()-base, want)
	}
	f.Close()
	if got := keptPaths(t, &f); len(got) != 0 || KeptOpen() != base {
		t.Errorf("kept %v after Close (%d counted)", got, KeptOpen()-base)
	}
}

// On a hybrid host, one directory per hierarchy the counters come from: memory's,
// cpu's (for cpu.stat, with a CPU limit) and cgroup2's (pressure); cpuset and pids,
// read with the limits alone, are opened by path.
func TestReadWithHybrid(t *testing.T) {
	root := abs(t, "testdata/hybrid")
	m := hybridMounts(root)
	var f Files
	defer f.Close()
	t0 := time.Now()
	got := m.ReadWith(&f, hybridPath, nil, ages, t0)
	if want := m.Read(hybridPath, nil, ages, t0); got.Limits != want.Limits || got.Memory != want.Memory {
		t.Errorf("through Files:\n%+v\nwithout:\n%+v", got, want)
	}
	want := []string{root + "/cpu" + hybridPath, root + "/memory" + hybridPath, root + "/memory" + hybridPath + "/memory.stat", root + "/unified" + hybridPath}
	if kept := keptPaths(t, &f); !slices.Equal(kept, want) {
		t.Errorf("kept %v, want %v", kept, want)
	}
	// Twice more: the counters and the limits through what is kept, the same.
	again := m.ReadWith(&f, hybridPath, &got.Limits, Ages{}, t0.Add(time.Minute))
	if again.Limits.Have != got.Limits.Have || again.Limits.Pressure != got.Limits.Pressure || f.Reopened() {
		t.Errorf("read again: %+v (reopened %v)", again.Limits, f.Reopened())
	}
}

// What is kept of a removed cgroup fails: memory.stat with ENODEV, a file in its
// directory with ENOENT (here, a directory in memory.stat's place fails with EISDIR,
// and the directory is removed and made again). Each is read by its path then, and
// Reopened says so, for the caller's other files of the same container.
func TestReadWithReopensWhatFails(t *testing.T) {
	root := copyTree(t, "testdata/v2")
	m := &Mounts{Unified: root}
	dir := root + v2Limited
	var f Files
	defer f.Close()
	t0 := time.Now()
	first := m.ReadWith(&f, v2Limited, nil, ages, t0)
	if f.stat == 0 {
		t.Fatal("memory.stat not kept open")
	}
	spoil := func(k kept) {
		t.Helper()
		dirFD, err := syscall.Open(root, syscall.O_RDONLY|syscall.O_DIRECTORY|syscall.O_CLOEXEC, 0)
		if err != nil {
			t.Fatal(err)
		}
		if err := syscall.Dup3(dirFD, int(k-1), syscall.O_CLOEXEC); err != nil {
			t.Fatal(err)
		}
		_ = syscall.Close(dirFD)
	}

	// The container restarted: a new cgroup at the same path.
	spoil(f.stat)
	if err := os.Rename(dir, dir+".old"); err != nil {
		t.Fatal(err)
	}
	if err := os.RemoveAll(dir + ".old"); err != nil {
		t.Fatal(err)
	}
	copyDir(t, "testdata/v2"+v2Limited, dir)
	write(t, dir+"/memory.stat", "anon 77\nfile 1\ninactive_file 1\n")
	write(t, dir+"/memory.events", "low 0\nhigh 0\nmax 0\noom 0\noom_kill 0\n")
	second := m.ReadWith(&f, v2Limited, &first.Limits, Ages{Limits: time.Hour}, t0.Add(time.Second))
	if second.MemoryErr != nil || second.Memory.RSS != 77 || second.Limits.OOMKills != 0 || !f.Reopened() {
		t.Errorf("after a restart: %+v, reopened %v", second, f.Reopened())
	}
	if got, want := keptPaths(t, &f), []string{dir, dir + "/memory.stat"}; !slices.Equal(got, want) {
		t.Errorf("kept %v, want %v", got, want)
	}
	if third := m.ReadWith(&f, v2Limited, &second.Limits, ages, t0.Add(2*time.Second)); f.Reopened() || third.Memory.RSS != 77 {
		t.Errorf("a read after the reopening: %+v, reopened %v", third, f.Reopened())
	}

	// cgroup2 without controllers has no memory.stat: only the directory tells.
	uni := copyTree(t, "testdata/hybrid/unified")
	u := &Mounts{Unified: uni}
	var g Files
	defer g.Close()
	before := u.ReadWith(&g, hybridPath, nil, ages, t0)
	if got := keptPaths(t, &g); !slices.Equal(got, []string{uni + hybridPath}) {
		t.Fatalf("kept %v", got)
	}
	cg := uni + hybridPath
	if err := os.Rename(cg, cg+".old"); err != nil {
		t.Fatal(err)
	}
	if err := os.RemoveAll(cg + ".old"); err != nil {
		t.Fatal(err)
	}
	copyDir(t, "testdata/hybrid/unified"+hybridPath, cg)
	write(t, cg+"/io.pressure", "some avg10=0.00 avg60=0.00 avg300=0.00 total=5\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=3\n")
	after := u.ReadWith(&g, hybridPath, &before.Limits, Ages{Limits: time.Hour}, t0.Add(time.Second))
	if after.Limits.Pressure[PressureIO] != (Stall{5 * time.Microsecond, 3 * time.Microsecond}) || !g.Reopened() {
		t.Errorf("after a restart, by the directory: %+v, reopened %v", after.Limits, g.Reopened())
	}
	if got := keptPaths(t, &g); !slices.Equal(got, []string{cg}) {
		t.Errorf("kept %v", got)
	}

	// Only the directory: a file that is not there in the directory kept is
	// noted missing, and the directory is kept.
	if err := os.Remove(dir + "/memory.peak"); err != nil {
		t.Fatal(err)
	}
	noPeak := m.ReadWith(&f, v2Limited, nil, ages, t0.Add(3*time.Second))
	if noPeak.Limits.Has(HaveMemoryPeak) || noPeak.Limits.missing&(1<<fMemoryPeak) == 0 || f.Reopened() {
		t.Errorf("without memory.peak: %+v, reopened %v", noPeak.Limits, f.Reopened())
	}
	if got := keptPaths(t, &f); !slices.Contains(got, dir) {
		t.Errorf("the directory was dropped for a file that is not there: %v", got)
	}

	// A cgroup that is gone reads as one without Files does: nothing, nothing noted.
	gone := m.ReadWith(&f, "/no/such/cgroup", nil, ages, t0)
	if gone.Limits.Have != 0 || gone.Limits.missing != 0 || gone.MemoryErr == nil {
		t.Errorf("a cgroup that is gone: %+v", gone)
	}
	if got := keptPaths(t, &f); len(got) != 0 {
		t.Errorf("kept %v of a cgroup that is gone", got)
	}
}

func copyDir(t *testing.T, from, to string) {
	t.Helper()
	entries, err := os.ReadDir(from)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(from, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		write(t, filepath.Join(to, e.Name()), string(b))
	}
}

// Beyond the bound on what is kept open, files are opened by their path and closed
// each read, with the same values.
func TestReadWithBound(t *testing.T) {
	defer func(max func() int64) { keptMax = max }(keptMax)
	bound := KeptOpen() + 2
	keptMax = func() int64 { return bound }
	m := hybridMounts("testdata/hybrid")
	var f Files
	defer f.Close()
	t0 := time.Now()
	got := m.ReadWith(&f, hybridPath, nil, ages, t0)
	if want := m.Read(hybridPath, nil, ages, t0); got.Limits != want.Limits || got.Memory != want.Memory {
		t.Errorf("over the bound:\n%+v\nwant\n%+v", got, want)
	}
	if n := len(keptPaths(t, &f)); n != 2 || KeptOpen() != bound {
		t.Errorf("kept %d (%d in all), want 2 (%d)", n, KeptOpen(), bound)
	}
	f.Close()
	if KeptOpen() != bound-2 {
		t.Errorf("%d kept open after Close, want %d", KeptOpen(), bound-2)
	}
}

// Without a CPU limit, cpu.stat is not read (its throttling counters cannot move), and
// cpu's directory is not kept for it.
func TestNoThrottlingWithoutCPULimit(t *testing.T) {
	root := copyTree(t, "testdata/hybrid")
	m := hybridMounts(root)
	write(t, root+"/cpu"+hybridPath+"/cpu.cfs_quota_us", "-1\n")
	var f Files
	defer f.Close()
	l := m.ReadWith(&f, hybridPath, nil, ages, time.Now()).Limits
	if l.Has(HaveThrottling) || l.Has(HaveCPULimit) || l.Periods != 0 {
		t.Errorf("throttling without a CPU limit: %+v", l)
	}
	if slices.Contains(keptPaths(t, &f), root+"/cpu"+hybridPath) {
		t.Error("cpu's directory kept without a CPU limit")
	}
}

// File keeps one file open, reads what it says now, and opens another path afresh.
func TestFile(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a"), filepath.Join(dir, "b")
	write(t, a, "one")
	write(t, b, "two")
	var f File
	defer f.Close()
	read := func(path string) string {
		t.Helper()
		var s string
		if err := f.Read(path, func(data []byte) error { s = string(data); return nil }); err != nil {
			t.Fatal(err)
		}
		return s
	}
	if got := read(a); got != "one" || f.fd == 0 {
		t.Fatalf("read %q, kept %d", got, f.fd)
	}
	fd := int(f.fd - 1)
	write(t, a, "uno")
	if got := read(a); got != "uno" || int(f.fd-1) != fd {
		t.Errorf("read %q again through %d (was %d)", got, f.fd-1, fd)
	}
	base := KeptOpen()
	if got := read(b); got != "two" || fdTarget(t, int(f.fd-1)) != b || KeptOpen() != base {
		t.Errorf("another path: %q, kept %s (%d more counted)", got, fdTarget(t, int(f.fd-1)), KeptOpen()-base)
	}
	if err := f.Read(filepath.Join(dir, "none"), func([]byte) error { return nil }); err == nil || f.fd != 0 {
		t.Errorf("a file that is not there: %v, kept %d", err, f.fd)
	}
}
