//go:build faults

package faults

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/podexporter/podexporter/internal/testenv"
)

// cutAt is the cut the daemon must make, worked out here independently: the longest
// prefix of whole characters within max bytes.
func cutAt(v string, max int) string {
	n := 0
	for _, r := range v {
		if n+utf8.RuneLen(r) > max {
			break
		}
		n += utf8.RuneLen(r)
	}
	return v[:n]
}

// rowLabels: a rootless user's containers carry label values built to break the
// label path (issue 19's crash: "é" across byte 128; 100 KB; quotes, backslashes and
// a newline). Every output must show the same value, cut at a character boundary.
func rowLabels(h *hostile, r *hrow) {
	r.Case = "allowlisted label values from a rootless user's containers: \"é\" across byte 128 (issue 19's crash), 100 KB, quotes, backslash and newline; one container only created, one logging"
	r.Does = "cuts each value once, at a character boundary within --podman.label-value-max-length (128) bytes, and shows that same value on /metrics, OTLP resources and log records; counts the cut values"
	rl := testenv.RequireRootlessPodman(h.t)
	team := strings.Repeat("A", 127) + "é"
	big := strings.Repeat("B", 100<<10)
	quote := "a \"quoted\" \\ value\nline two"
	labels := []string{"--label", "team=" + team, "--label", "big=" + big, "--label", "quote=" + quote}
	prefix := "hi-" + h.run + "-labels-"
	created := prefix + "created"
	if out, err := rl.Podman(append(append([]string{"create", "--name", created}, labels...), testenv.Image, "sleep", "600")...); err != nil {
		h.t.Fatalf("podman create: %v: %s", err, out)
	}
	h.t.Cleanup(func() { _, _ = rl.Podman("rm", "-f", "-t", "0", created) })
	d := h.start(r, runOpts{args: []string{"--podman.socket=" + rl.Socket, "--podman.container-label=team", "--podman.container-label=big", "--podman.container-label=quote",
		"--otlp.endpoint=http://" + h.col.GRPCEndpoint, "--otlp.protocol=grpc", "--journal.start=1m", "--journal.include-container=^" + prefix}})
	logging := prefix + "logging"
	rl.Run(h.t, logging, labels, "sh", "-c", "for i in 1 2 3; do echo hostile-label-line-$i; done; sleep 600")

	want := map[string]string{}
	var inspected map[string]string
	out, err := rl.Podman("inspect", "--format", "{{json .Config.Labels}}", logging)
	if err != nil || json.Unmarshal([]byte(out), &inspected) != nil {
		h.t.Fatalf("podman inspect: %v: %.200s", err, out)
	}
	for _, k := range []string{"team", "big", "quote"} {
		want[k] = cutAt(inspected[k], 128)
	}
	// /metrics, three scrapes: the first was where the daemon died.
	var seen int
	ok := waitFor(20*time.Second, func() bool {
		seen = 0
		for _, name := range []string{created, logging} {
			match := map[string]string{"name": name}
			for k, v := range want {
				match[k] = v
			}
			if v, err := d.scrape("podman_container_info", match); err == nil && v == 1 {
				seen++
			}
		}
		return seen == 2
	})
	if !ok {
		r.fail("podman_container_info shows %d of the 2 containers with the cut values", seen)
	}
	for range 2 {
		text, _, err := metricsText(d, "")
		if err != nil {
			r.fail("scrape: %v", err)
			break
		}
		if err := promtool(text); err != nil {
			r.fail("promtool refuses /metrics: %v", err)
		}
	}
	if d.exited() {
		r.fail("podexporter exited: %v", d.err)
		return
	}
	r.see("/metrics: both containers, values equal to podman inspect's cut at 128 bytes (team %d bytes, big %d, quote %d); promtool passes", len(want["team"]), len(want["big"]), len(want["quote"]))
	if n := d.metricOr("podexporter_podman_label_values_truncated_total"); n != 4 {
		r.fail("podexporter_podman_label_values_truncated_total = %v, want 4 (team and big of two containers)", n)
	} else {
		r.see("4 cut values counted")
	}
	// The log path: the records' resource carries the same values.
	var got map[string]any
	if !waitFor(20*time.Second, func() bool {
		for _, rec := range h.col.Logs() {
			if rec.Resource["container.name"] == logging && rec.Body == "hostile-label-line-3" {
				got = rec.Resource
				return true
			}
		}
		return false
	}) {
		r.fail("the logging container's third line did not reach the Collector")
		return
	}
	size := 0
	for k, v := range want {
		attr, _ := got["container.label."+k].(string)
		if attr != v {
			r.fail("OTLP resource container.label.%s = %.40q (%d bytes), want %d bytes", k, attr, len(attr), len(v))
		}
		size += len(attr)
	}
	r.see("OTLP log records: the same three values (%d bytes of labels per resource, not %d)", size, len(inspected["team"])+len(inspected["big"])+len(inspected["quote"]))
}

// rowLabelCollision: allowlisted keys that become one label name.
func rowLabelCollision(h *hostile, r *hrow) {
	r.Case = "allowlisted label keys that become one metric label name (label_name and name; a.b, a_b and a-b)"
	r.Does = "refuses to start: exit 2 and one line naming --podman.container-label and both keys"
	for _, keys := range [][]string{{"label_name", "name"}, {"a.b", "a_b", "a-b"}} {
		args := []string{"--web.listen-address=127.0.0.1:0", "--journal.sink=none"}
		for _, k := range keys {
			args = append(args, "--podman.container-label="+k)
		}
		code, stderr := h.exitOf(args...)
		lines := strings.Split(strings.TrimSpace(stderr), "\n")
		if code != 2 || len(lines) != 1 || !strings.Contains(stderr, "--podman.container-label") || !strings.Contains(stderr, fmt.Sprintf("%q", keys[0])) {
			r.fail("%v: exit %d, stderr %q", keys, code, stderr)
			continue
		}
		r.see("%s: exit 2, %q", strings.Join(keys, " "), lines[0])
	}
}

// rowAbsurdSettings: numbers that would exhaust memory or overflow.
func rowAbsurdSettings(h *hostile, r *hrow) {
	r.Case = "absurd settings: --journal.batch-size=1000000000, --journal.max-line-bytes=99999999999999, --podman.label-value-max-length=1000000000"
	r.Does = "refuses to start: exit 2 and one line naming the flag, its limit and the fix"
	for _, arg := range []string{"--journal.batch-size=1000000000", "--journal.max-line-bytes=99999999999999", "--podman.label-value-max-length=1000000000"} {
		code, stderr := h.exitOf("--web.listen-address=127.0.0.1:0", arg)
		flag, _, _ := strings.Cut(arg, "=")
		lines := strings.Split(strings.TrimSpace(stderr), "\n")
		if code != 2 || len(lines) != 1 || !strings.Contains(stderr, flag) {
			r.fail("%s: exit %d, stderr %q", arg, code, stderr)
			continue
		}
		r.see("%s: exit 2", flag)
	}
}

// rowOpenMetrics: the OpenMetrics exposition must be valid OpenMetrics.
func rowOpenMetrics(h *hostile, r *hrow) {
	r.Case = "a scraper asking for OpenMetrics (client_golang's go_memstats_alloc_bytes gauge and _total counter share a family name there)"
	r.Does = "serves each family once and ends with # EOF; the counter is left out of OpenMetrics only"
	d := h.start(r, runOpts{args: []string{"--journal.sink=none", "--podman.socket=" + h.p.Socket}})
	text, ctype, err := metricsText(d, "application/openmetrics-text; version=1.0.0")
	if err != nil || !strings.HasPrefix(ctype, "application/openmetrics-text") {
		r.fail("OpenMetrics scrape: %v, Content-Type %q", err, ctype)
		return
	}
	help := map[string]int{}
	dups := 0
	for _, l := range strings.Split(text, "\n") {
		if f := strings.Fields(l); len(f) > 2 && f[0] == "#" && f[1] == "HELP" {
			help[f[2]]++
			if help[f[2]] == 2 {
				dups++
			}
		}
	}
	if dups > 0 || !strings.HasSuffix(text, "# EOF\n") {
		r.fail("%d families twice, ends with # EOF: %v", dups, strings.HasSuffix(text, "# EOF\n"))
	}
	plain, _, _ := metricsText(d, "")
	kept := strings.Contains(plain, "\ngo_memstats_alloc_bytes_total ")
	if !kept {
		r.fail("the text format lost go_memstats_alloc_bytes_total")
	}
	r.see("%d families, none twice, # EOF last; go_memstats_alloc_bytes_total still in the text format: %v", len(help), kept)
}

// rowPodmanRefuses: a Podman socket this user may not open.
func rowPodmanRefuses(h *hostile, r *hrow) {
	r.Case = "a Podman socket that refuses us (podexporter as nobody, the rootful socket root-only)"
	r.Does = "keeps running and serving /metrics with podexporter_podman_up 0, logs the refusal once, retries"
	// The journal collector is off: nobody may not list a journal directory
	// (root:systemd-journal 2750 on a systemd host), which is the journal-unreadable
	// row's subject and would add its own line here, host by host.
	d := h.start(r, runOpts{user: "nobody", args: []string{"--journal.sink=none", "--no-collector.journal", "--podman.socket=" + h.p.Socket}})
	// Read as text: a family that is missing must not pass for a 0.
	if !waitFor(15*time.Second, func() bool {
		text, _, err := metricsText(d, "")
		return err == nil && strings.Contains(text, "\npodexporter_podman_up{podman_service=\"rootful\"} 0\n")
	}) {
		r.fail("podexporter_podman_up{podman_service=\"rootful\"} is not 0")
	}
	time.Sleep(10 * time.Second) // several retries
	if d.exited() {
		r.fail("podexporter exited: %v", d.err)
		return
	}
	denied := d.log.matching("permission denied")
	lines := d.log.noisy(time.Time{})
	noisy := len(lines)
	if denied < 1 || noisy > 2 {
		r.fail("%d log lines say permission denied, %d warnings or errors in all: %q", denied, noisy, lines)
	}
	r.see("up for 10 s of retries, podexporter_podman_up 0, %d warning(s) logged", noisy)
}

// rowForgedFields: any local user can write journal entries with container fields
// of their choosing, and a program of theirs named conmon passes the reader's
// _COMM=conmon match like Podman's own; these fields are not UTF-8.
func rowForgedFields(h *hostile, r *hrow) {
	r.Case = "journal entries any local user can write (as nobody, from a process named conmon): CONTAINER_NAME and CONTAINER_TAG that are not UTF-8; a 64 KiB name"
	r.Does = "delivers them with U+FFFD in place of each run of bad bytes, drops (and counts) the metric series whose name cannot be exposed, and the lines after them follow"
	prefix := "hi-" + h.run + "-forged-"
	d := h.start(r, runOpts{args: []string{"--podman.socket=" + h.p.Socket, "--otlp.endpoint=http://" + h.col.GRPCEndpoint, "--otlp.protocol=grpc",
		"--journal.start=1m", "--journal.include-container=^" + prefix}})
	for i, f := range [][2]string{
		{"forged-1", "CONTAINER_NAME=" + prefix + "n\xff\xfe\nCONTAINER_ID=0123456789ab\nCONTAINER_TAG=t\xff\n"},
		{"forged-2", "CONTAINER_NAME=" + prefix + strings.Repeat("L", 64<<10) + "\nCONTAINER_ID=0123456789ac\n"},
	} {
		if err := h.forge(f[0], f[1]); err != nil {
			h.t.Fatalf("forge entry %d: %v", i, err)
		}
	}
	real := prefix + "real"
	h.p.Run(h.t, real, nil, "sh", "-c", "echo after-forged; sleep 600")
	var forged, long, after bool
	waitFor(20*time.Second, func() bool {
		for _, rec := range h.col.Logs() {
			switch rec.Body {
			case "forged-1":
				forged = rec.Resource["container.name"] == prefix+"n\uFFFD" && rec.Attributes["container.tag"] == "t\uFFFD"
			case "forged-2":
				long = true
			case "after-forged":
				after = rec.Resource["container.name"] == real
			}
		}
		return forged && long && after
	})
	if !forged || !long || !after {
		r.fail("delivered: the entry with U+FFFD %v, the 64 KiB name %v, the real container's line after them %v", forged, long, after)
	} else {
		r.see("3 of 3 delivered, the name shown as %q", prefix+"n\uFFFD")
	}
	dropped := d.metricOr("podexporter_scrape_series_dropped_total")
	text, _, _ := metricsText(d, "")
	if err := promtool(text); err != nil {
		r.fail("promtool refuses /metrics: %v", err)
	}
	if d.exited() {
		r.fail("podexporter exited: %v", d.err)
	}
	r.see("%v series dropped (counted), promtool passes", dropped)
}

// metricOr is the sum of a family's samples, -1 when it cannot be scraped or is not
// there: a missing family must not pass for a 0.
func (d *daemon) metricOr(family string) float64 {
	text, _, err := metricsText(d, "")
	if err != nil || !strings.Contains(text, "\n"+family) {
		return -1
	}
	v, err := d.scrape(family, nil)
	if err != nil {
		return -1
	}
	return v
}
