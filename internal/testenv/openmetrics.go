package testenv

import (
	"errors"
	"io"
	"testing"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/textparse"
)

// OpenMetricsFamilies parses an OpenMetrics exposition with Prometheus's own parser,
// which fails the test on anything Prometheus would refuse, and counts each family's
// # TYPE and # HELP lines.
func OpenMetricsFamilies(t testing.TB, body []byte) (types, helps map[string]int) {
	t.Helper()
	types, helps = map[string]int{}, map[string]int{}
	p := textparse.NewOpenMetricsParser(body, labels.NewSymbolTable())
	for {
		e, err := p.Next()
		if errors.Is(err, io.EOF) {
			return types, helps
		}
		if err != nil {
			t.Fatalf("Prometheus's OpenMetrics parser: %v", err)
		}
		switch e {
		case textparse.EntryType:
			name, _ := p.Type()
			types[string(name)]++
		case textparse.EntryHelp:
			name, _ := p.Help()
			helps[string(name)]++
		}
	}
}
