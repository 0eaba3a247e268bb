package journald

import (
	"strings"
	"testing"

	"github.com/podexporter/podexporter/journald/journalconf"
	"github.com/podexporter/podexporter/logrecord"
)

// infoEnricher knows the containers it holds and no other.
type infoEnricher map[string]logrecord.ContainerInfo

func (e infoEnricher) Container(id string) (logrecord.ContainerInfo, bool) {
	info, ok := e[id]
	return info, ok
}

// TestLabelImageSelection: the label and image selection of the logs, with the
// opt-out label, on lines of known containers, and on a container the Enricher does
// not know, which only an include label or image leaves out. A line split by conmon
// goes or stays whole.
func TestLabelImageSelection(t *testing.T) {
	const shop, other, quiet, unknown = "aaaaaaaaaaaa", "bbbbbbbbbbbb", "cccccccccccc", "dddddddddddd"
	enricher := infoEnricher{
		shop:  {Image: "localhost/nginx:1.27", Labels: map[string]string{"app": "shop"}},
		other: {Image: "localhost/postgres:17", Labels: map[string]string{"app": "other"}},
		quiet: {Image: "localhost/nginx:1.27", Labels: map[string]string{"app": "shop", journalconf.OptOutLabel: "false"}},
	}
	tests := []struct {
		name string
		s    journalconf.Settings
		want string // the containers whose lines pass
	}{
		{"opt-out label only", journalconf.Settings{}, "shop,other,unknown"},
		{"include label value", journalconf.Settings{IncludeLabels: []string{"app=shop"}}, "shop"},
		{"include label present", journalconf.Settings{IncludeLabels: []string{"app"}}, "shop,other"},
		{"exclude label", journalconf.Settings{ExcludeLabels: []string{"app=shop"}}, "other,unknown"},
		{"include image", journalconf.Settings{IncludeImage: `/nginx:`}, "shop"},
		{"exclude image", journalconf.Settings{ExcludeImage: `postgres`}, "shop,unknown"},
		{"exclusion wins", journalconf.Settings{IncludeLabels: []string{"app"}, ExcludeImage: `nginx`}, "other"},
	}
	names := map[string]string{shop: "shop", other: "other", quiet: "quiet", unknown: "unknown"}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			sel, err := tc.s.Selector()
			if err != nil {
				t.Fatal(err)
			}
			f := newFeeder(t, Config{Enricher: enricher, Select: sel})
			for _, id := range []string{shop, other, quiet, unknown} {
				f.line(id, "6", names[id]+" whole\n", false)
				f.line(id, "6", names[id]+" split ", true)
				f.line(id, "6", "end\n", false)
			}
			var got []string
			for _, r := range f.tl.batch {
				got = append(got, names[r.ContainerID]+": "+r.Body)
			}
			var want []string
			for _, n := range strings.Split(tc.want, ",") {
				want = append(want, n+": "+n+" whole", n+": "+n+" split end")
			}
			if strings.Join(got, "|") != strings.Join(want, "|") {
				t.Errorf("records\n%q\nwant\n%q", got, want)
			}
		})
	}
}

// Without a selection in the Config every line passes, the opt-out label included:
// the reader selects only what it is told to.
func TestNoSelection(t *testing.T) {
	f := newFeeder(t, Config{Enricher: infoEnricher{ctrA: {Labels: map[string]string{journalconf.OptOutLabel: "false"}}}})
	f.line(ctrA, "6", "kept\n", false)
	if got := f.bodies(); len(got) != 1 {
		t.Errorf("records %q, want the line", got)
	}
}

// busyEnricher knows its containers once ready; before, it could not ask its source
// in time, as the daemon's enricher says of a Podman service that is busy or down.
type busyEnricher struct {
	infoEnricher
	ready bool
}

func (e *busyEnricher) ContainerAnswered(id string) (logrecord.ContainerInfo, bool, bool) {
	if !e.ready {
		return logrecord.ContainerInfo{}, false, false
	}
	info, ok := e.infoEnricher.Container(id)
	return info, ok, true
}

// A container whose labels could not be looked up in time is kept, not judged as one
// without labels, and judged by its own labels once they are known; one that no
// source has is left out by an include label.
func TestSelectionUnanswered(t *testing.T) {
	s := journalconf.Settings{IncludeLabels: []string{"app=shop"}}
	sel, err := s.Selector()
	if err != nil {
		t.Fatal(err)
	}
	e := &busyEnricher{infoEnricher: infoEnricher{ctrA: {Labels: map[string]string{"app": "other"}}}}
	f := newFeeder(t, Config{Enricher: e, Select: sel})
	f.line(ctrA, "6", "while busy\n", false)
	e.ready = true
	f.line(ctrA, "6", "once known\n", false)
	f.line(ctrB, "6", "of no source\n", false)
	if got := f.bodies(); len(got) != 1 || got[0] != "while busy" {
		t.Errorf("records %q, want only the line read while the source was busy", got)
	}
}
