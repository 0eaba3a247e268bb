package dashboards

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/prometheus/promql/parser"
	"gopkg.in/yaml.v3"

	"github.com/podexporter/podexporter/internal/catalog"
	"github.com/podexporter/podexporter/internal/testenv"
)

// dashboard is the part of Grafana's JSON model the checks read.
type dashboard struct {
	File          string `json:"-"`
	UID           string `json:"uid"`
	Title         string `json:"title"`
	SchemaVersion int    `json:"schemaVersion"`
	Panels        []panel
	Templating    struct {
		List []variable `json:"list"`
	} `json:"templating"`
}

type datasourceRef struct {
	Type string `json:"type"`
	UID  string `json:"uid"`
}

type panel struct {
	ID      int `json:"id"`
	GridPos struct {
		X, Y, W, H int
	} `json:"gridPos"`
	Type        string         `json:"type"`
	Title       string         `json:"title"`
	Description string         `json:"description"`
	Datasource  *datasourceRef `json:"datasource"`
	FieldConfig struct {
		Defaults struct {
			Unit string `json:"unit"`
		} `json:"defaults"`
	} `json:"fieldConfig"`
	Targets []struct {
		Datasource   *datasourceRef `json:"datasource"`
		Expr         string         `json:"expr"`
		RefID        string         `json:"refId"`
		LegendFormat string         `json:"legendFormat"`
	} `json:"targets"`
	// Panels are those of a collapsed row.
	Panels []panel `json:"panels"`
}

type variable struct {
	Name       string          `json:"name"`
	Type       string          `json:"type"`
	Query      json.RawMessage `json:"query"`
	Definition string          `json:"definition"`
	Datasource *datasourceRef  `json:"datasource"`
}

// promql parses as a stock Prometheus does: no experimental functions or syntax, which
// the Prometheus the dashboards meet may not have.
var promql = parser.NewParser(parser.Options{})

// datasourceUID is what every panel and target points at, so that one import works
// against any Prometheus data source the user picks.
const datasourceUID = "${datasource}"

func loadDashboards(t *testing.T) []dashboard {
	t.Helper()
	names, err := fs.Glob(Files, "*.json")
	if err != nil {
		t.Fatal(err)
	}
	if len(names) < 4 {
		t.Fatalf("want at least the four dashboards, found %v", names)
	}
	var out []dashboard
	for _, n := range names {
		b, err := Files.ReadFile(n)
		if err != nil {
			t.Fatal(err)
		}
		var d dashboard
		if err := json.Unmarshal(b, &d); err != nil {
			t.Fatalf("%s: %v", n, err)
		}
		d.File = n
		out = append(out, d)
	}
	return out
}

// allPanels flattens rows, collapsed or not.
func allPanels(ps []panel) []panel {
	var out []panel
	for _, p := range ps {
		out = append(out, p)
		out = append(out, allPanels(p.Panels)...)
	}
	return out
}

// allQueries is every query of the shipped dashboards (Queries, in queries.go).
func allQueries(t *testing.T) []Query {
	t.Helper()
	qs, err := Queries()
	if err != nil {
		t.Error(err)
	}
	return qs
}

// parseValues are the substitutions for parsing: the dashboards' own variables as
// Grafana's "All" would fill them in, and a rate interval nothing else uses, so that
// a hard-coded range is told apart from $__rate_interval.
var parseValues = map[string]string{
	"__rate_interval": "1m",
	"instance":        ".*",
	"podman_service":  ".*",
	"job":             ".*",
	"container":       ".*",
	"systemd_manager": ".*",
}

const sentinelRange = time.Minute

// standardFamily reports metric names that are not in the catalog but are served all
// the same: Prometheus's own up, and client_golang's Go and process collectors.
func standardFamily(name string) bool {
	return name == "up" || strings.HasPrefix(name, "go_") || strings.HasPrefix(name, "process_")
}

// labelsOf is every label the series an expression selects can carry: the catalog's
// labels of each metric it names, the target labels Prometheus adds, and labels that
// count_values, label_replace or label_join create. It is a union, not a flow analysis, which is
// enough to catch a legend or a join on a label no selected metric has.
func labelsOf(node parser.Node) map[string]bool {
	ls := map[string]bool{"instance": true, "job": true}
	parser.Inspect(node, func(n parser.Node, _ []parser.Node) error {
		switch n := n.(type) {
		case *parser.VectorSelector:
			if m, ok := catalog.Lookup(n.Name); ok {
				for _, l := range m.Labels {
					ls[l] = true
				}
			}
		case *parser.AggregateExpr:
			if n.Op == parser.COUNT_VALUES {
				if s, ok := n.Param.(*parser.StringLiteral); ok {
					ls[s.Val] = true
				}
			}
		case *parser.Call:
			if (n.Func.Name == "label_replace" || n.Func.Name == "label_join") && len(n.Args) > 1 {
				if s, ok := n.Args[1].(*parser.StringLiteral); ok {
					ls[s.Val] = true
				}
			}
		}
		return nil
	})
	return ls
}

var legendLabel = regexp.MustCompile(`\{\{\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*\}\}`)
var rangeRE = regexp.MustCompile(`\[[^\]]*\]`)

// checkPromQL returns what is wrong with a parsed expression, a dashboard's or an
// alert's: a metric the catalog does not declare, a matcher, a join or a grouping on a
// label the selected families do not carry.
func checkPromQL(node parser.Node) []string {
	var problems []string
	parser.Inspect(node, func(n parser.Node, _ []parser.Node) error {
		switch n := n.(type) {
		case *parser.VectorSelector:
			m, ok := catalog.Lookup(n.Name)
			switch {
			case n.Name == "":
				problems = append(problems, fmt.Sprintf("selector %s names no metric", n))
			case !ok && !standardFamily(n.Name):
				problems = append(problems, fmt.Sprintf("metric %s is not in the catalog", n.Name))
			case ok:
				for _, lm := range n.LabelMatchers {
					if lm.Name != "__name__" && lm.Name != "instance" && lm.Name != "job" && !slices.Contains(m.Labels, lm.Name) {
						problems = append(problems, fmt.Sprintf("selector %s: %s has no label %s", n, n.Name, lm.Name))
					}
				}
			}
		case *parser.AggregateExpr:
			if !n.Without {
				have := labelsOf(n.Expr)
				for _, l := range n.Grouping {
					if !have[l] {
						problems = append(problems, fmt.Sprintf("by(%s) in %s: no selected metric carries it", l, n))
					}
				}
			}
		case *parser.BinaryExpr:
			if n.VectorMatching != nil && n.VectorMatching.On {
				l, r := labelsOf(n.LHS), labelsOf(n.RHS)
				for _, m := range n.VectorMatching.MatchingLabels {
					if !l[m] || !r[m] {
						problems = append(problems, fmt.Sprintf("join on(%s) in %s: not a label of both sides", m, n))
					}
				}
				for _, inc := range n.VectorMatching.Include {
					if !r[inc] && !l[inc] {
						problems = append(problems, fmt.Sprintf("group_left(%s): no such label", inc))
					}
				}
			}
		}
		return nil
	})
	return problems
}

// checkExpr parses one query and returns what is wrong with it.
func checkExpr(raw, legend, label string) []string {
	var problems []string
	for _, r := range rangeRE.FindAllString(raw, -1) {
		if r != "[$__rate_interval]" {
			problems = append(problems, fmt.Sprintf("range %s: use [$__rate_interval]", r))
		}
	}
	if strings.Contains(raw, "datasource") {
		problems = append(problems, "the data source belongs on the panel, not in the query")
	}
	expr, err := Expand(raw, parseValues)
	if err != nil {
		return append(problems, err.Error())
	}
	node, err := promql.ParseExpr(expr)
	if err != nil {
		return append(problems, fmt.Sprintf("parse %q: %v", expr, err))
	}
	problems = append(problems, checkPromQL(node)...)
	parser.Inspect(node, func(n parser.Node, _ []parser.Node) error {
		switch n := n.(type) {
		case *parser.MatrixSelector:
			if n.Range != sentinelRange {
				problems = append(problems, fmt.Sprintf("range of %s is not $__rate_interval", n))
			}
		case *parser.SubqueryExpr:
			problems = append(problems, fmt.Sprintf("subquery %s: Grafana's step does the same, cheaper", n))
		}
		return nil
	})
	have := labelsOf(node)
	for _, m := range legendLabel.FindAllStringSubmatch(legend, -1) {
		if !have[m[1]] {
			problems = append(problems, fmt.Sprintf("legend uses {{%s}}, which no selected metric carries (join it from an _info metric)", m[1]))
		}
	}
	if label != "" && !have[label] {
		problems = append(problems, fmt.Sprintf("label_values asks for %q, which no selected metric carries", label))
	}
	return problems
}

func TestDashboardsWellFormed(t *testing.T) {
	ds := loadDashboards(t)
	uids := map[string]string{}
	for _, d := range ds {
		if d.UID == "" || d.Title == "" {
			t.Errorf("%s: needs a uid and a title", d.File)
		}
		if o, dup := uids[d.UID]; dup {
			t.Errorf("%s and %s share uid %s", o, d.File, d.UID)
		}
		uids[d.UID] = d.File
		if d.SchemaVersion < 39 {
			t.Errorf("%s: schemaVersion %d, want 39 or later", d.File, d.SchemaVersion)
		}
		var hasDS bool
		for _, v := range d.Templating.List {
			if v.Type == "datasource" && v.Name == "datasource" && string(v.Query) == `"prometheus"` {
				hasDS = true
			}
			if v.Type == "query" && (v.Datasource == nil || v.Datasource.UID != datasourceUID) {
				t.Errorf("%s: variable %s must use %s", d.File, v.Name, datasourceUID)
			}
		}
		if !hasDS {
			t.Errorf("%s: no Prometheus data source variable named datasource", d.File)
		}
		// A query may use only its own dashboard's variables and Grafana's: parsing
		// fills in every dashboard's, so it cannot tell.
		declared := map[string]bool{"__rate_interval": true, "__interval": true, "__range": true}
		for _, v := range d.Templating.List {
			declared[v.Name] = true
		}
		for _, q := range allQueries(t) {
			if q.Dashboard != d.File {
				continue
			}
			for _, m := range grafanaVar.FindAllStringSubmatch(q.Expr, -1) {
				if name := m[1] + m[2]; !declared[name] && !captureRef.MatchString(name) {
					t.Errorf("%s: uses $%s, which this dashboard does not declare", q, name)
				}
			}
		}
		ids := map[int]bool{}
		taken := map[[2]int]string{}
		for _, p := range allPanels(d.Panels) {
			if ids[p.ID] {
				t.Errorf("%s: panel id %d used twice", d.File, p.ID)
			}
			ids[p.ID] = true
			g := p.GridPos
			if g.X < 0 || g.W <= 0 || g.H <= 0 || g.X+g.W > 24 {
				t.Errorf("%s / %s: gridPos %+v is not within the 24 columns", d.File, p.Title, g)
			}
		cells:
			for x := g.X; x < g.X+g.W; x++ {
				for y := g.Y; y < g.Y+g.H; y++ {
					if o, ok := taken[[2]int{x, y}]; ok {
						t.Errorf("%s / %s: gridPos %+v overlaps %s", d.File, p.Title, g, o)
						break cells
					}
					taken[[2]int{x, y}] = p.Title
				}
			}
			if p.Type == "row" {
				continue
			}
			where := d.File + " / " + p.Title
			if p.FieldConfig.Defaults.Unit == "" {
				t.Errorf("%s: no unit (fieldConfig.defaults.unit)", where)
			}
			if p.Description == "" {
				t.Errorf("%s: no description", where)
			}
			if len(p.Targets) == 0 {
				t.Errorf("%s: no query", where)
			}
			if p.Datasource == nil || p.Datasource.UID != datasourceUID {
				t.Errorf("%s: data source must be %s", where, datasourceUID)
			}
			for _, tg := range p.Targets {
				if tg.Datasource == nil || tg.Datasource.UID != datasourceUID {
					t.Errorf("%s / %s: data source must be %s", where, tg.RefID, datasourceUID)
				}
			}
		}
	}
}

func TestQueries(t *testing.T) {
	qs := allQueries(t)
	used := map[string]bool{}
	for _, q := range qs {
		for _, p := range checkExpr(q.Expr, q.Legend, q.Label) {
			t.Errorf("%s: %s", q, p)
		}
		if expr, err := Expand(q.Expr, parseValues); err == nil {
			if node, err := promql.ParseExpr(expr); err == nil {
				parser.Inspect(node, func(n parser.Node, _ []parser.Node) error {
					if vs, ok := n.(*parser.VectorSelector); ok {
						used[vs.Name] = true
					}
					return nil
				})
			}
		}
	}
	// Families left off every dashboard, on purpose; anything else new in the catalog
	// should get a panel.
	unshown := map[string]string{
		"podman_container_net_input_total":                "compat alias of network_receive_bytes_total",
		"podman_container_net_output_total":               "compat alias of network_transmit_bytes_total",
		"podman_container_net_input_packets_total":        "compat alias",
		"podman_container_net_output_packets_total":       "compat alias",
		"podman_container_net_input_errors_total":         "compat alias",
		"podman_container_net_output_errors_total":        "compat alias",
		"podman_container_net_input_dropped_total":        "compat alias",
		"podman_container_net_output_dropped_total":       "compat alias",
		"podman_container_created_seconds":                "a timestamp; uptime and state say more",
		"podman_container_started_seconds":                "a timestamp; uptime says more",
		"podman_container_exited_seconds":                 "a timestamp",
		"podman_container_host_network":                   "explains absent network counters; in the container table via network_mode",
		"podman_container_health_last_exit_code":          "failing streak shows the same",
		"podexporter_podman_label_values_truncated_total": "configuration feedback, in the log too",
	}
	for _, m := range catalog.All() {
		if used[m.Name] {
			continue
		}
		if strings.HasPrefix(m.Name, "podman_pod_") || strings.HasPrefix(m.Name, "podman_image_") ||
			strings.HasPrefix(m.Name, "podman_volume_") || strings.HasPrefix(m.Name, "podman_network_") ||
			strings.HasPrefix(m.Name, "podman_system_") {
			continue // inventory, not health; Explore shows it
		}
		if _, ok := unshown[m.Name]; !ok {
			t.Logf("catalog metric %s is on no dashboard", m.Name)
		}
	}
}

// TestCheckExprCatches makes sure the checks are not vacuous.
func TestCheckExprCatches(t *testing.T) {
	for _, tc := range []struct{ expr, legend, want string }{
		{`rate(podman_container_cpu_seconds_total[5m])`, "", "use [$__rate_interval]"},
		{`podman_container_cpu_secs_total`, "", "not in the catalog"},
		{`podman_container_mem_usage_bytes`, "{{name}}", "join it from an _info metric"},
		{`podman_container_state * on(name) group_left podman_container_info`, "", "not a label of both sides"},
		{`sum(rate(podman_container_cpu_seconds_total{instance=~"$nope"}[$__rate_interval]))`, "", "unknown Grafana variables"},
		{`rate(podman_container_cpu_seconds_total[$__rate_interval])`, "{{id}}", ""},
		{`podman_quadlet_unit_state{status="failed"}`, "", "has no label status"},
		{`sum by (name) (podman_quadlet_unit_state)`, "", "by(name)"},
		{`podman_quadlet_unit_state and on(unit) podexporter_systemd_up`, "", "join on(unit)"},
		{`label_join(podman_container_hardening_passed, "container", " / ", "id", "check")`, "{{container}}", ""},
		{`label_replace(podman_container_info, "unit", "$1", "systemd_unit", "(.+)")`, "{{unit}}", ""},
		{`label_replace(podman_container_info, "unit", "${1}", "systemd_unit", "(.+)")`, "{{unit}}", ""},
	} {
		got := strings.Join(checkExpr(tc.expr, tc.legend, ""), "; ")
		if tc.want == "" && got != "" || !strings.Contains(got, tc.want) {
			t.Errorf("checkExpr(%q) = %q, want %q", tc.expr, got, tc.want)
		}
	}
}

// rule is one alerting rule of alerts.yml.
type rule struct {
	Alert       string            `yaml:"alert"`
	Expr        string            `yaml:"expr"`
	For         string            `yaml:"for"`
	Labels      map[string]string `yaml:"labels"`
	Annotations map[string]string `yaml:"annotations"`
}

type ruleFile struct {
	Groups []struct {
		Name  string `yaml:"name"`
		Rules []rule `yaml:"rules"`
	} `yaml:"groups"`
}

func loadRules(t *testing.T) []rule {
	t.Helper()
	b, err := Files.ReadFile("alerts.yml")
	if err != nil {
		t.Fatal(err)
	}
	var f ruleFile
	if err := yaml.Unmarshal(b, &f); err != nil {
		t.Fatal(err)
	}
	var out []rule
	for _, g := range f.Groups {
		out = append(out, g.Rules...)
	}
	return out
}

// wantAlerts are the alerts issue 7 asks for, those of the service layer (issue 21),
// and those of the limits, pressure and storage (issue 22); more may follow.
var wantAlerts = []string{
	"PodmanContainerUnhealthy", "PodmanContainerRestarting", "PodmanContainerOOMKilled",
	"PodexporterJournalLag", "PodexporterOTLPExportFailing", "PodexporterDown",
	"QuadletUnitFailed", "QuadletUnitRestartLoop", "QuadletFileWithoutUnit",
	"ContainerHealthCheckStale", "SystemdManagerDown",
	"PodmanContainerCPUThrottled", "PodmanContainerMemoryNearLimit", "PodmanContainerOOMKills",
	"PodmanContainerMemoryPressure", "PodmanContainerIOPressure",
	"PodmanGraphrootAlmostFull", "PodmanGraphrootFillingUp", "PodmanImagesReclaimable",
}

func TestAlertRules(t *testing.T) {
	rules := loadRules(t)
	var names []string
	for _, r := range rules {
		names = append(names, r.Alert)
		if r.Labels["severity"] == "" || r.Annotations["summary"] == "" || r.Annotations["description"] == "" {
			t.Errorf("%s: needs a severity label, a summary and a description", r.Alert)
		}
		node, err := promql.ParseExpr(r.Expr)
		if err != nil {
			t.Errorf("%s: %v", r.Alert, err)
			continue
		}
		for _, p := range checkPromQL(node) {
			t.Errorf("%s: %s", r.Alert, p)
		}
		have := labelsOf(node)
		for _, text := range r.Annotations {
			for _, m := range regexp.MustCompile(`\$labels\.([a-zA-Z_][a-zA-Z0-9_]*)`).FindAllStringSubmatch(text, -1) {
				if !have[m[1]] {
					t.Errorf("%s: annotation uses $labels.%s, which the expression does not carry", r.Alert, m[1])
				}
			}
		}
	}
	for _, w := range wantAlerts {
		if !slices.Contains(names, w) {
			t.Errorf("alerts.yml lacks %s", w)
		}
	}
	promtool := testenv.RequireTool(t, "promtool")
	// promtool reads a file; the embedded copy is the shipped one, written out.
	dir := t.TempDir()
	file := filepath.Join(dir, "alerts.yml")
	b, _ := Files.ReadFile("alerts.yml")
	if err := os.WriteFile(file, b, 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(promtool, "check", "rules", file).CombinedOutput(); err != nil {
		t.Fatalf("promtool check rules: %v\n%s", err, out)
	}
}

// ruleTests is the part of a promtool rule test file the coverage check reads.
type ruleTests struct {
	RuleFiles []string `yaml:"rule_files"`
	Tests     []struct {
		Name          string `yaml:"name"`
		AlertRuleTest []struct {
			EvalTime  string           `yaml:"eval_time"`
			Alertname string           `yaml:"alertname"`
			ExpAlerts []map[string]any `yaml:"exp_alerts"`
		} `yaml:"alert_rule_test"`
	} `yaml:"tests"`
}

// TestAlertRuleUnitTests runs the alert rules' unit tests (testdata/alerts_test.yml)
// with the real promtool: each alert fires for its failure input, with its labels and
// rendered annotations, and not for the healthy series beside it. Every alert of
// alerts.yml must have a test that expects it to fire and one that expects it not
// to, so that a new alert cannot ship untested.
func TestAlertRuleUnitTests(t *testing.T) {
	const file = "testdata/alerts_test.yml"
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var rt ruleTests
	if err := yaml.Unmarshal(b, &rt); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(rt.RuleFiles, []string{"../alerts.yml"}) {
		t.Errorf("%s: rule_files %v, want the shipped ../alerts.yml", file, rt.RuleFiles)
	}
	fires, quiet := map[string]bool{}, map[string]bool{}
	for _, tc := range rt.Tests {
		for _, a := range tc.AlertRuleTest {
			if len(a.ExpAlerts) > 0 {
				fires[a.Alertname] = true
			} else {
				quiet[a.Alertname] = true
			}
		}
	}
	for _, r := range loadRules(t) {
		if !fires[r.Alert] {
			t.Errorf("%s: no test in %s expects it to fire", r.Alert, file)
		}
		if !quiet[r.Alert] {
			t.Errorf("%s: no test in %s expects it not to fire (exp_alerts: [])", r.Alert, file)
		}
	}
	promtool := testenv.RequireTool(t, "promtool")
	out, err := exec.Command(promtool, "test", "rules", file).CombinedOutput()
	if err != nil {
		t.Fatalf("promtool test rules %s: %v\n%s", file, err, out)
	}
	t.Logf("%s", out)
}

// serviceLayerSeries are a host's service layer as podexporter would serve it: units
// of the system manager and of user 1000's, their containers (one without a unit, one
// of a remote Podman service, two of one kube unit), a system unit named like the
// rootless container's, and the hardening checks.
const serviceLayerSeries = `
podman_container_info{instance="h:9883", job="podexporter", podman_service="rootful", id="aaaaaaaaaaaa", name="web", systemd_unit="web.service"} 1x10
podman_container_info{instance="h:9883", job="podexporter", podman_service="rootless-1000", id="bbbbbbbbbbbb", name="db", systemd_unit="db.service"} 1x10
podman_container_info{instance="h:9883", job="podexporter", podman_service="rootful", id="cccccccccccc", name="adhoc"} 1x10
podman_container_info{instance="h:9883", job="podexporter", podman_service="tcp://far:8080", id="dddddddddddd", name="far", systemd_unit="far.service"} 1x10
podman_container_info{instance="h:9883", job="podexporter", podman_service="rootful", id="eeeeeeeeeeee", name="kube-a", systemd_unit="app.service"} 1x10
podman_container_info{instance="h:9883", job="podexporter", podman_service="rootful", id="ffffffffffff", name="kube-b", systemd_unit="app.service"} 1x10
podman_quadlet_unit_info{instance="h:9883", job="podexporter", systemd_manager="system", unit="web.service", kind="container", source_path="/etc/containers/systemd/web.container", restart="always"} 1x10
podman_quadlet_unit_info{instance="h:9883", job="podexporter", systemd_manager="user-1000", unit="db.service", kind="container", source_path="/home/app/.config/containers/systemd/db.container", restart="on-failure"} 1x10
podman_quadlet_unit_info{instance="h:9883", job="podexporter", systemd_manager="system", unit="app.service", kind="kube", source_path="/etc/containers/systemd/app.kube", restart="no"} 1x10
podman_quadlet_unit_info{instance="h:9883", job="podexporter", systemd_manager="system", unit="db.service", kind="container", source_path="/etc/containers/systemd/db.container", restart="no"} 1x10
podman_quadlet_unit_info{instance="h:9883", job="podexporter", systemd_manager="system", unit="far.service", kind="container", source_path="/etc/containers/systemd/far.container", restart="no"} 1x10
podman_quadlet_unit_state{instance="h:9883", job="podexporter", systemd_manager="system", unit="web.service", state="active"} 1x10
podman_quadlet_unit_state{instance="h:9883", job="podexporter", systemd_manager="system", unit="web.service", state="failed"} 0x10
podman_quadlet_unit_state{instance="h:9883", job="podexporter", systemd_manager="user-1000", unit="db.service", state="active"} 0x10
podman_quadlet_unit_state{instance="h:9883", job="podexporter", systemd_manager="user-1000", unit="db.service", state="failed"} 1x10
podman_quadlet_unit_state{instance="h:9883", job="podexporter", systemd_manager="system", unit="app.service", state="active"} 1x10
podman_quadlet_unit_state{instance="h:9883", job="podexporter", systemd_manager="system", unit="db.service", state="active"} 1x10
podman_quadlet_unit_state{instance="h:9883", job="podexporter", systemd_manager="system", unit="far.service", state="active"} 1x10
podman_quadlet_unit_result{instance="h:9883", job="podexporter", systemd_manager="user-1000", unit="db.service", result="exit-code"} 1x10
podman_quadlet_unit_restarts_total{instance="h:9883", job="podexporter", systemd_manager="system", unit="web.service"} 0+1x10
podman_quadlet_unit_restarts_total{instance="h:9883", job="podexporter", systemd_manager="user-1000", unit="db.service"} 0x10
podman_quadlet_unit_restarts_total{instance="h:9883", job="podexporter", systemd_manager="system", unit="app.service"} 0x10
podman_quadlet_unit_main_exit_status{instance="h:9883", job="podexporter", systemd_manager="user-1000", unit="db.service", how="exited"} 3x10
podman_container_hardening_passed{instance="h:9883", job="podexporter", podman_service="rootful", id="aaaaaaaaaaaa", check="rootless"} 0x10
podman_container_hardening_passed{instance="h:9883", job="podexporter", podman_service="rootful", id="aaaaaaaaaaaa", check="seccomp"} 1x10
`

// TestServiceLayerQueries evaluates the dashboards' joins of units and containers with
// the real promtool on the series above, as the dashboards ship them: a container
// finds its unit under the manager that runs its Podman service's units (system for
// rootful, user-UID for rootless-UID), never a same-named unit of another manager or
// one of a remote service; a kube unit shows once per container; the hardening table's
// rows are named. This test host has no systemd, so the end-to-end test cannot show
// it; the systemd host of make systemd-e2e checks the queries against real units.
func TestServiceLayerQueries(t *testing.T) {
	web := `instance="h:9883", name="web", podman_service="rootful", systemd_manager="system", systemd_unit="web.service", unit="web.service"`
	db := `instance="h:9883", name="db", podman_service="rootless-1000", systemd_manager="user-1000", systemd_unit="db.service", unit="db.service"`
	kube := func(name string) string {
		return `instance="h:9883", name="` + name + `", podman_service="rootful", systemd_manager="system", systemd_unit="app.service", unit="app.service"`
	}
	unit := func(manager, unit, kind, path, restart, state string) string {
		return `instance="h:9883", kind="` + kind + `", restart="` + restart + `", source_path="` + path + `", state="` + state + `", systemd_manager="` + manager + `", unit="` + unit + `"`
	}
	evalQueries(t, serviceLayerSeries, []queryCase{
		{"container.json", "Unit", "A", []sample{
			{"{" + web + `, state="active"}`, 1}, {"{" + db + `, state="failed"}`, 1},
			{"{" + kube("kube-a") + `, state="active"}`, 1}, {"{" + kube("kube-b") + `, state="active"}`, 1},
		}},
		{"container.json", "Unit", "B", []sample{{"{" + db + `, result="exit-code"}`, 1}}},
		{"container.json", "Unit", "C", []sample{{"{" + web + "}", 10}, {"{" + db + "}", 0}, {"{" + kube("kube-a") + "}", 0}, {"{" + kube("kube-b") + "}", 0}}},
		{"container.json", "Unit", "D", []sample{
			{"{" + web + `, kind="container", restart="always", source_path="/etc/containers/systemd/web.container"}`, 1},
			{"{" + db + `, kind="container", restart="on-failure", source_path="/home/app/.config/containers/systemd/db.container"}`, 1},
			{"{" + kube("kube-a") + `, kind="kube", restart="no", source_path="/etc/containers/systemd/app.kube"}`, 1},
			{"{" + kube("kube-b") + `, kind="kube", restart="no", source_path="/etc/containers/systemd/app.kube"}`, 1},
		}},
		{"container.json", "Unit restarts", "A", []sample{{"{" + web + "}", 5}, {"{" + db + "}", 0}, {"{" + kube("kube-a") + "}", 0}, {"{" + kube("kube-b") + "}", 0}}},
		{"host-overview.json", "Quadlet units", "A", []sample{
			{"{" + unit("system", "web.service", "container", "/etc/containers/systemd/web.container", "always", "active") + "}", 1},
			{"{" + unit("user-1000", "db.service", "container", "/home/app/.config/containers/systemd/db.container", "on-failure", "failed") + "}", 1},
			{"{" + unit("system", "app.service", "kube", "/etc/containers/systemd/app.kube", "no", "active") + "}", 1},
			{"{" + unit("system", "db.service", "container", "/etc/containers/systemd/db.container", "no", "active") + "}", 1},
			{"{" + unit("system", "far.service", "container", "/etc/containers/systemd/far.container", "no", "active") + "}", 1},
		}},
		{"host-overview.json", "Quadlet units", "D", []sample{{`{how="exited", instance="h:9883", systemd_manager="user-1000", unit="db.service"}`, 3}}},
		{"host-overview.json", "Failed units", "A", []sample{{"{}", 1}}},
		{"host-overview.json", "Hardening", "A", []sample{
			{`{check="rootless", container="web / rootful / h:9883", id="aaaaaaaaaaaa", instance="h:9883", job="podexporter", name="web", podman_service="rootful"}`, 0},
			{`{check="seccomp", container="web / rootful / h:9883", id="aaaaaaaaaaaa", instance="h:9883", job="podexporter", name="web", podman_service="rootful"}`, 1},
		}},
	})
}

// sample is one series a query is expected to return, as promtool writes it.
type sample struct {
	Labels string  `yaml:"labels"`
	Value  float64 `yaml:"value"`
}

// queryCase is a shipped dashboard query and the series it must return.
type queryCase struct {
	dashboard, panel, refID string
	want                    []sample
}

// evalQueries evaluates the shipped queries of cases with the real promtool on series
// (one "selector values" line each, promtool's expanding notation, a minute apart), at
// 10m, with the dashboards' variables as "All" and a rate interval of 5m.
func evalQueries(t *testing.T, seriesText string, cases []queryCase) {
	t.Helper()
	promtool := testenv.RequireTool(t, "promtool")
	values := map[string]string{"__rate_interval": "5m", "instance": ".*", "podman_service": ".*", "job": ".*", "container": ".*", "systemd_manager": ".*"}
	qs := allQueries(t)
	type exprTest struct {
		Expr       string   `yaml:"expr"`
		EvalTime   string   `yaml:"eval_time"`
		ExpSamples []sample `yaml:"exp_samples"`
	}
	var series []map[string]string
	for line := range strings.Lines(strings.TrimSpace(seriesText)) {
		i := strings.LastIndex(line, "} ")
		series = append(series, map[string]string{"series": line[:i+1], "values": strings.TrimSpace(line[i+2:])})
	}
	var tests []exprTest
	for _, c := range cases {
		i := slices.IndexFunc(qs, func(q Query) bool { return q.Dashboard == c.dashboard && q.Panel == c.panel && q.RefID == c.refID })
		if i < 0 {
			t.Fatalf("no query %s / %s / %s", c.dashboard, c.panel, c.refID)
		}
		expr, err := Expand(qs[i].Expr, values)
		if err != nil {
			t.Fatal(err)
		}
		tests = append(tests, exprTest{Expr: expr, EvalTime: "10m", ExpSamples: c.want})
	}
	file := map[string]any{
		"evaluation_interval": "1m",
		"tests": []map[string]any{{
			"name": t.Name(), "interval": "1m",
			"input_series": series, "promql_expr_test": tests,
		}},
	}
	b, err := yaml.Marshal(file)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "queries_test.yml")
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(promtool, "test", "rules", path).CombinedOutput(); err != nil {
		t.Fatalf("promtool test rules: %v\n%s", err, out)
	}
}

// limitsStorageSeries: a container throttled in half its periods and one without a
// CPU limit; a Podman service whose graphroot podexporter sees (90 of 100 GiB used)
// and a remote one it does not (88 GiB used, no available bytes); eleven volumes of
// 1 to 11 MiB, the largest measured last.
var limitsStorageSeries = func() string {
	var b strings.Builder
	b.WriteString(`
podman_container_info{instance="h:9883", job="podexporter", podman_service="rootful", id="aaaaaaaaaaaa", name="web"} 1x10
podman_container_info{instance="h:9883", job="podexporter", podman_service="rootful", id="bbbbbbbbbbbb", name="free"} 1x10
podman_container_cpu_periods_total{instance="h:9883", job="podexporter", podman_service="rootful", id="aaaaaaaaaaaa"} 0+600x10
podman_container_cpu_throttled_periods_total{instance="h:9883", job="podexporter", podman_service="rootful", id="aaaaaaaaaaaa"} 0+300x10
podman_container_cpu_periods_total{instance="h:9883", job="podexporter", podman_service="rootful", id="bbbbbbbbbbbb"} 0x10
podman_container_cpu_throttled_periods_total{instance="h:9883", job="podexporter", podman_service="rootful", id="bbbbbbbbbbbb"} 0x10
podman_storage_graphroot_used_bytes{instance="h:9883", job="podexporter", podman_service="rootful"} 96636764160x10
podman_storage_graphroot_available_bytes{instance="h:9883", job="podexporter", podman_service="rootful"} 10737418240x10
podman_storage_graphroot_size_bytes{instance="h:9883", job="podexporter", podman_service="rootful"} 107374182400x10
podman_storage_graphroot_used_bytes{instance="h:9883", job="podexporter", podman_service="tcp://far:8080"} 94489280512x10
podman_storage_graphroot_size_bytes{instance="h:9883", job="podexporter", podman_service="tcp://far:8080"} 107374182400x10
`)
	for i := 1; i <= 11; i++ {
		fmt.Fprintf(&b, "podman_volume_size_bytes{instance=\"h:9883\", job=\"podexporter\", podman_service=\"rootful\", name=\"v%02d\"} %dx10\n", i, i<<20)
		fmt.Fprintf(&b, "podman_volume_size_measured_timestamp_seconds{instance=\"h:9883\", job=\"podexporter\", podman_service=\"rootful\", name=\"v%02d\"} %dx10\n", i, 500+i)
	}
	return b.String()
}()

// TestLimitsAndStorageQueries evaluates the throttling and storage panels' queries
// with the real promtool: the throttled share is throttled periods over periods, and a
// container without a CPU limit (no periods) is left out rather than shown as 0/0; the
// graphroot's use is df's (used over used plus available), or used over size where
// podexporter does not see the graphroot; the largest volumes are the ten largest,
// each with its measurement's age and no other volume's.
func TestLimitsAndStorageQueries(t *testing.T) {
	web := `instance="h:9883", job="podexporter", id="aaaaaaaaaaaa", name="web", podman_service="rootful"`
	var sizes, ages []sample
	for i := 11; i >= 2; i-- {
		v := fmt.Sprintf(`instance="h:9883", job="podexporter", name="v%02d", podman_service="rootful"`, i)
		sizes = append(sizes, sample{"podman_volume_size_bytes{" + v + "}", float64(i << 20)})
		ages = append(ages, sample{"{" + v + "}", float64(600 - 500 - i)})
	}
	evalQueries(t, limitsStorageSeries, []queryCase{
		{"container.json", "CPU throttled", "A", []sample{{"{" + web + "}", 0.5}}},
		{"host-overview.json", "Top containers by CPU throttling", "A", []sample{{"{" + web + "}", 0.5}}},
		{"host-overview.json", "Graphroot used", "A", []sample{
			{`{instance="h:9883", job="podexporter", podman_service="rootful"}`, 0.9},
			{`{instance="h:9883", job="podexporter", podman_service="tcp://far:8080"}`, 0.88},
		}},
		{"host-overview.json", "Largest volumes", "A", sizes},
		{"host-overview.json", "Largest volumes", "B", ages},
	})
}
