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
	ID          int            `json:"id"`
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

// query is one PromQL query of a dashboard: a panel target or a variable's query.
type query struct {
	Dashboard string
	Panel     string
	RefID     string
	// Expr is the query as Grafana stores it, with its variables.
	Expr   string
	Legend string
	// Label is set for a variable's label_values(Expr, Label).
	Label string
}

func (q query) String() string {
	if q.RefID == "" {
		return fmt.Sprintf("%s / %s", q.Dashboard, q.Panel)
	}
	return fmt.Sprintf("%s / %s / %s", q.Dashboard, q.Panel, q.RefID)
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

var labelValuesRE = regexp.MustCompile(`^\s*label_values\(\s*(.+?)\s*,\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*\)\s*$`)

// variableQuery returns the PromQL inside a query variable's label_values(expr, label),
// the only variable query form the dashboards use: label_values(label) alone would ask
// every series of the data source.
func variableQuery(d dashboard, v variable) (query, error) {
	text := v.Definition
	var obj struct {
		Query string `json:"query"`
	}
	if err := json.Unmarshal(v.Query, &obj); err == nil && obj.Query != "" {
		text = obj.Query
	} else if s := ""; json.Unmarshal(v.Query, &s) == nil && s != "" {
		text = s
	}
	m := labelValuesRE.FindStringSubmatch(text)
	if m == nil {
		return query{}, fmt.Errorf("variable %s: query %q is not label_values(<selector>, <label>)", v.Name, text)
	}
	return query{Dashboard: d.File, Panel: "variable " + v.Name, Expr: m[1], Label: m[2]}, nil
}

func allQueries(t *testing.T, ds []dashboard) []query {
	t.Helper()
	var out []query
	for _, d := range ds {
		for _, v := range d.Templating.List {
			if v.Type != "query" {
				continue
			}
			q, err := variableQuery(d, v)
			if err != nil {
				t.Errorf("%s: %v", d.File, err)
				continue
			}
			out = append(out, q)
		}
		for _, p := range allPanels(d.Panels) {
			for _, tg := range p.Targets {
				out = append(out, query{Dashboard: d.File, Panel: p.Title, RefID: tg.RefID, Expr: tg.Expr, Legend: tg.LegendFormat})
			}
		}
	}
	return out
}

// grafanaVar matches $name, ${name} and ${name:format}.
var grafanaVar = regexp.MustCompile(`\$\{([a-zA-Z0-9_]+)(?::[a-zA-Z]+)?\}|\$([a-zA-Z0-9_]+)`)

// expand replaces Grafana's variables with values; a variable without a value is an
// error, so a typo in a variable name cannot slip through.
func expand(expr string, values map[string]string) (string, error) {
	var missing []string
	out := grafanaVar.ReplaceAllStringFunc(expr, func(s string) string {
		m := grafanaVar.FindStringSubmatch(s)
		name := m[1] + m[2]
		v, ok := values[name]
		if !ok {
			missing = append(missing, name)
			return s
		}
		return v
	})
	if len(missing) > 0 {
		return "", fmt.Errorf("unknown Grafana variables %v", missing)
	}
	return out, nil
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
}

const sentinelRange = time.Minute

// standardFamily reports metric names that are not in the catalog but are served all
// the same: Prometheus's own up, and client_golang's Go and process collectors.
func standardFamily(name string) bool {
	return name == "up" || strings.HasPrefix(name, "go_") || strings.HasPrefix(name, "process_")
}

// labelsOf is every label the series an expression selects can carry: the catalog's
// labels of each metric it names, the target labels Prometheus adds, and labels that
// count_values or label_replace create. It is a union, not a flow analysis, which is
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
			if n.Func.Name == "label_replace" && len(n.Args) > 1 {
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
	expr, err := expand(raw, parseValues)
	if err != nil {
		return append(problems, err.Error())
	}
	node, err := promql.ParseExpr(expr)
	if err != nil {
		return append(problems, fmt.Sprintf("parse %q: %v", expr, err))
	}
	parser.Inspect(node, func(n parser.Node, _ []parser.Node) error {
		switch n := n.(type) {
		case *parser.VectorSelector:
			if n.Name == "" {
				problems = append(problems, fmt.Sprintf("selector %s names no metric", n))
			} else if _, ok := catalog.Lookup(n.Name); !ok && !standardFamily(n.Name) {
				problems = append(problems, fmt.Sprintf("metric %s is not in the catalog", n.Name))
			}
		case *parser.MatrixSelector:
			if n.Range != sentinelRange {
				problems = append(problems, fmt.Sprintf("range of %s is not $__rate_interval", n))
			}
		case *parser.SubqueryExpr:
			problems = append(problems, fmt.Sprintf("subquery %s: Grafana's step does the same, cheaper", n))
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
		ids := map[int]bool{}
		for _, p := range allPanels(d.Panels) {
			if ids[p.ID] {
				t.Errorf("%s: panel id %d used twice", d.File, p.ID)
			}
			ids[p.ID] = true
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
	qs := allQueries(t, loadDashboards(t))
	used := map[string]bool{}
	for _, q := range qs {
		for _, p := range checkExpr(q.Expr, q.Legend, q.Label) {
			t.Errorf("%s: %s", q, p)
		}
		if expr, err := expand(q.Expr, parseValues); err == nil {
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

// wantAlerts are the alerts issue 7 asks for; more may follow.
var wantAlerts = []string{
	"PodmanContainerUnhealthy", "PodmanContainerRestarting", "PodmanContainerOOMKilled",
	"PodexporterJournalLag", "PodexporterOTLPExportFailing", "PodexporterDown",
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
		parser.Inspect(node, func(n parser.Node, _ []parser.Node) error {
			if vs, ok := n.(*parser.VectorSelector); ok {
				if _, ok := catalog.Lookup(vs.Name); !ok && !standardFamily(vs.Name) {
					t.Errorf("%s: metric %s is not in the catalog", r.Alert, vs.Name)
				}
			}
			return nil
		})
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
