package catalog

import (
	"maps"
	"strings"
	"testing"
)

// Families pushed as one OpenTelemetry instrument must agree on what it is, and be
// told apart by their fixed attributes, or a push would merge their points.
func TestSharedInstrumentsAgree(t *testing.T) {
	byName := map[string][]*Metric{}
	for _, m := range All() {
		if m.OTelName != "" {
			byName[m.OTelName] = append(byName[m.OTelName], m)
		}
	}
	for name, ms := range byName {
		for i, m := range ms[1:] {
			if m.Kind != ms[0].Kind || m.Unit != ms[0].Unit {
				t.Errorf("%s: %s is %s in %s, %s is %s in %s", name, ms[0].Name, ms[0].Kind, ms[0].Unit, m.Name, m.Kind, m.Unit)
			}
			for _, o := range ms[:i+1] {
				if maps.Equal(o.OTelAttributes, m.OTelAttributes) && strings.Join(o.Labels, ",") == strings.Join(m.Labels, ",") {
					t.Errorf("%s: %s and %s cannot be told apart", name, o.Name, m.Name)
				}
			}
		}
	}
}

// Every family read from cgroup files says which, in its help and in the docs' table.
func TestCgroupFamiliesNameTheirFiles(t *testing.T) {
	doc := Markdown()
	n := 0
	for _, m := range All() {
		if m.Group != limitsGroup {
			continue
		}
		n++
		if m.Cgroup == nil || m.Cgroup.V2 == "" {
			t.Errorf("%s names no cgroup v2 file", m.Name)
			continue
		}
		if !strings.Contains(m.Help, m.Cgroup.V2) || m.Cgroup.V1 != "" && !strings.Contains(m.Help, m.Cgroup.V1) {
			t.Errorf("%s: help %q does not name %q and %q", m.Name, m.Help, m.Cgroup.V2, m.Cgroup.V1)
		}
		v1 := m.Cgroup.V1
		if v1 == "" {
			v1 = "none"
		}
		if row := "| `" + m.Name + "` | " + m.Cgroup.V2 + " | " + v1 + " |"; !strings.Contains(doc, row) {
			t.Errorf("the docs lack the row %s", row)
		}
	}
	if n < 20 {
		t.Errorf("only %d families in %q", n, limitsGroup)
	}
	if !strings.Contains(doc, "## "+limitsGroup+"\n\n"+groupDocs[limitsGroup].note) {
		t.Error("the docs lack the group's note")
	}
	if strings.Index(doc, "## podman containers\n") > strings.Index(doc, "## "+limitsGroup+"\n") ||
		strings.Index(doc, "## "+limitsGroup+"\n") > strings.Index(doc, "## podman pods\n") {
		t.Error("the group is not between the containers' and the pods'")
	}
}
