//go:build systemd_e2e

package deploy

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/podexporter/podexporter/internal/catalog"
)

// cgroupCheck is the "cgroup" column: the booted host mounts cgroup2 in a namespace of
// its own while this VM binds every controller to cgroup v1, so its containers' cgroups
// are cgroup2 without controllers: cpu.stat without the throttling lines, no memory.*,
// pids.* or cpu.max, pressure files where the kernel has PSI. Each limits family must
// follow what the container's directory holds, read by the host's own ls and cat: absent
// where its file or line is not there, present for every pressure file that is, and the
// daemon must not complain about what is missing.
func (e *e2e) cgroupCheck(v variant, logger, since string) (bool, string) {
	out, err := e.as(v, "podman inspect -f '{{.State.CgroupPath}}' "+logger)
	path := strings.TrimSpace(out)
	if err != nil || !strings.HasPrefix(path, "/") {
		return false, fmt.Sprintf("podman inspect %s: %q %v", logger, out, err)
	}
	dir := "/sys/fs/cgroup" + path
	listing, err := e.as(v, "ls "+dir)
	if err != nil {
		return false, fmt.Sprintf("ls %s: %v %s", dir, err, listing)
	}
	files := strings.Fields(listing)
	controllers, _ := e.as(v, "cat "+dir+"/cgroup.controllers")
	cpuStat, _ := e.as(v, "cat "+dir+"/cpu.stat")
	lines := map[string]string{} // file's first words ("cpu.stat nr_periods", "cpu.pressure full") as keys
	for _, f := range []string{"cpu.stat", "cpu.pressure", "memory.pressure", "io.pressure"} {
		body := cpuStat
		if f != "cpu.stat" {
			if !slices.Contains(files, f) {
				continue
			}
			body, _ = e.as(v, "cat "+dir+"/"+f)
		}
		for _, l := range strings.Split(body, "\n") {
			if w := strings.Fields(l); len(w) > 0 {
				lines[f+" "+w[0]] = l
			}
		}
	}

	// The counters and pressure are read every second stats round (20 s): wait for a
	// pressure family when there is a pressure file, else for two rounds.
	var sc exposition
	var id string
	deadline := time.Now().Add(60 * time.Second)
	for {
		sc, err = e.scrapeMetrics()
		if err == nil {
			id = sc.containerID(logger)
		}
		_, psi := lines["cpu.pressure some"]
		if id != "" && (!psi || len(sc.get(catalog.ContainerCPUWaiting.Name, map[string]string{"id": id})) > 0) {
			break
		}
		if time.Now().After(deadline) {
			break
		}
		time.Sleep(2 * time.Second)
	}
	if id == "" {
		return false, fmt.Sprintf("%s not in /metrics: %v", logger, err)
	}
	if _, psi := lines["cpu.pressure some"]; !psi {
		time.Sleep(25 * time.Second)
		if sc, err = e.scrapeMetrics(); err != nil {
			return false, fmt.Sprintf("scrape: %v", err)
		}
	}

	var wrong []string
	absent, present := 0, 0
	for _, m := range catalog.All() {
		if m.Cgroup == nil || m.Cgroup.V2 == "" {
			continue
		}
		// "`cpu.stat` nr_periods", "`memory.events` oom_kill", "`cpu.pressure` some"
		w := strings.Fields(strings.ReplaceAll(m.Cgroup.V2, "`", ""))
		file, key := w[0], ""
		if len(w) > 1 {
			key = w[1]
		}
		has := len(sc.get(m.Name, map[string]string{"id": id})) > 0
		there := slices.Contains(files, file)
		if there && key != "" && (file == "cpu.stat" || strings.HasSuffix(file, ".pressure")) {
			// Keys of other files (memory.events) come with their file.
			_, there = lines[file+" "+key]
		}
		switch {
		case !there && has:
			wrong = append(wrong, fmt.Sprintf("%s present without %s", m.Name, strings.TrimSpace(file+" "+key)))
		case !there:
			absent++
		case strings.HasSuffix(file, ".pressure") && !has:
			wrong = append(wrong, fmt.Sprintf("%s absent although %s has %q", m.Name, file, lines[file+" "+key]))
		case has:
			present++
		}
	}
	// What the API gives stays: the container's CPU seconds.
	if len(sc.get("podman_container_cpu_seconds_total", map[string]string{"id": id})) == 0 {
		wrong = append(wrong, "podman_container_cpu_seconds_total absent")
	}
	var complaints []string
	for _, l := range strings.Split(e.unitLog(v, since, 0), "\n") {
		if regexp.MustCompile(`(?i)level=(WARN|ERROR).*cgroup|cgroup.*level=(WARN|ERROR)`).MatchString(l) {
			complaints = append(complaints, shorten(l, 200))
		}
	}
	wrong = append(wrong, complaints...)
	controllers = strings.TrimSpace(controllers)
	detail := fmt.Sprintf("cgroup.controllers %q; %d files (pressure: %d); %d limits families present as their files, %d absent as theirs; %d cgroup warnings",
		orDefault(controllers, "empty"), len(files), countSuffix(files, ".pressure"), present, absent, len(complaints))
	if len(wrong) > 0 {
		detail += "; " + strings.Join(wrong, "; ")
	}
	return len(wrong) == 0 && present+absent > 0, detail
}

func countSuffix(names []string, suffix string) int {
	n := 0
	for _, s := range names {
		if strings.HasSuffix(s, suffix) {
			n++
		}
	}
	return n
}
