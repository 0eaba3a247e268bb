package dashboards

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"regexp"

	"github.com/prometheus/prometheus/promql/parser"
)

// Query is one PromQL query of a shipped dashboard: a panel's target, or the selector
// inside a query variable's label_values(selector, label). Tests that run the
// dashboards' queries against a Prometheus of their own (this package's end-to-end
// test, the systemd host's in deploy/) read them here, so that they check exactly
// what is shipped.
type Query struct {
	// Dashboard is the dashboard's file name.
	Dashboard string
	// Panel is the panel's title, or "variable NAME" for a variable's query.
	Panel string
	RefID string
	// Expr is the query as Grafana stores it, with its variables; Expand fills them in.
	Expr   string
	Legend string
	// Label is set for a variable's label_values(Expr, Label): the query has data only
	// when a series carries this label.
	Label string
}

func (q Query) String() string {
	if q.RefID == "" {
		return fmt.Sprintf("%s / %s", q.Dashboard, q.Panel)
	}
	return fmt.Sprintf("%s / %s / %s", q.Dashboard, q.Panel, q.RefID)
}

// The part of Grafana's JSON model that holds queries.
type queryPanel struct {
	Title   string `json:"title"`
	Targets []struct {
		Expr         string `json:"expr"`
		RefID        string `json:"refId"`
		LegendFormat string `json:"legendFormat"`
	} `json:"targets"`
	// Panels are those of a collapsed row.
	Panels []queryPanel `json:"panels"`
}

type queryVariable struct {
	Name       string          `json:"name"`
	Type       string          `json:"type"`
	Query      json.RawMessage `json:"query"`
	Definition string          `json:"definition"`
}

var labelValuesRE = regexp.MustCompile(`^\s*label_values\(\s*(.+?)\s*,\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*\)\s*$`)

// Queries returns every query of every shipped dashboard, in file order, each
// dashboard's variables first. A variable whose query is not label_values(<selector>,
// <label>) is an error: label_values(label) alone would ask every series of the data
// source.
func Queries() ([]Query, error) {
	names, err := fs.Glob(Files, "*.json")
	if err != nil {
		return nil, err
	}
	var out []Query
	var errs []error
	for _, n := range names {
		b, err := Files.ReadFile(n)
		if err != nil {
			return nil, err
		}
		var d struct {
			Panels     []queryPanel `json:"panels"`
			Templating struct {
				List []queryVariable `json:"list"`
			} `json:"templating"`
		}
		if err := json.Unmarshal(b, &d); err != nil {
			return nil, fmt.Errorf("%s: %w", n, err)
		}
		for _, v := range d.Templating.List {
			if v.Type != "query" {
				continue
			}
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
				errs = append(errs, fmt.Errorf("%s: variable %s: query %q is not label_values(<selector>, <label>)", n, v.Name, text))
				continue
			}
			out = append(out, Query{Dashboard: n, Panel: "variable " + v.Name, Expr: m[1], Label: m[2]})
		}
		var walk func([]queryPanel)
		walk = func(ps []queryPanel) {
			for _, p := range ps {
				for _, tg := range p.Targets {
					out = append(out, Query{Dashboard: n, Panel: p.Title, RefID: tg.RefID, Expr: tg.Expr, Legend: tg.LegendFormat})
				}
				walk(p.Panels)
			}
		}
		walk(d.Panels)
	}
	return out, errors.Join(errs...)
}

// grafanaVar matches $name, ${name} and ${name:format}.
var grafanaVar = regexp.MustCompile(`\$\{([a-zA-Z0-9_]+)(?::[a-zA-Z]+)?\}|\$([a-zA-Z0-9_]+)`)

// captureRef is a label_replace replacement's $1 or ${1}: Grafana leaves a name that
// is no variable as it is, and these are none.
var captureRef = regexp.MustCompile(`^[0-9]+$`)

// Expand replaces Grafana's variables in expr with values. A variable without a value
// is an error, so that a typo in a variable's name cannot slip through; $1 and ${1},
// label_replace's references to its expression's groups, stay as they are.
func Expand(expr string, values map[string]string) (string, error) {
	var missing []string
	out := grafanaVar.ReplaceAllStringFunc(expr, func(s string) string {
		m := grafanaVar.FindStringSubmatch(s)
		name := m[1] + m[2]
		if captureRef.MatchString(name) {
			return s
		}
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

// Metrics lists the metric names the query selects, in order of appearance.
func (q Query) Metrics() ([]string, error) {
	// Any value parses: a range for Grafana's own interval variables, a regular
	// expression for the dashboards' variables.
	expr := grafanaVar.ReplaceAllStringFunc(q.Expr, func(s string) string {
		m := grafanaVar.FindStringSubmatch(s)
		switch name := m[1] + m[2]; {
		case captureRef.MatchString(name):
			return s
		case len(name) > 2 && name[:2] == "__":
			return "1m"
		}
		return ".*"
	})
	node, err := parser.NewParser(parser.Options{}).ParseExpr(expr)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", q, err)
	}
	var names []string
	parser.Inspect(node, func(n parser.Node, _ []parser.Node) error {
		if vs, ok := n.(*parser.VectorSelector); ok {
			names = append(names, vs.Name)
		}
		return nil
	})
	return names, nil
}
