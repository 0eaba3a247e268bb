package journald

import (
	"testing"
	"time"

	"github.com/podexporter/podexporter/journald/journalconf"
)

// TestFromSettings: the reader gets compiled filters, no priority cap at 7 (so entries
// without PRIORITY stay), and the start mode the setting names.
func TestFromSettings(t *testing.T) {
	s := journalconf.Settings{Directory: "/j", Start: "2h", MaxPriority: 7, IncludeContainer: "^web", ExcludeUnit: "db", BatchSize: 5}
	c, err := FromSettings(s)
	if err != nil {
		t.Fatal(err)
	}
	if c.Directory != "/j" || c.BatchSize != 5 || c.MaxPriority != nil || c.Start != StartSince || c.Since != 2*time.Hour {
		t.Errorf("config = %+v", c)
	}
	if c.IncludeContainer == nil || !c.IncludeContainer.MatchString("web-1") || c.ExcludeContainer != nil || c.ExcludeUnit == nil || c.IncludeUnit != nil {
		t.Errorf("filters = %v %v %v %v", c.IncludeContainer, c.ExcludeContainer, c.IncludeUnit, c.ExcludeUnit)
	}
	if c.Select == nil || c.Select.OptOut != journalconf.OptOutLabel || c.Select.IncludeName != nil {
		t.Errorf("selection = %+v, want the opt-out label and no name filter (the reader's own)", c.Select)
	}
	s.Start, s.MaxPriority = "head", 4
	if c, _ = FromSettings(s); c.Start != StartHead || c.MaxPriority == nil || *c.MaxPriority != 4 {
		t.Errorf("head, priority 4: start %v, priority %v", c.Start, c.MaxPriority)
	}
	s.IncludeUnit = "("
	if _, err := FromSettings(s); err == nil {
		t.Error("a bad filter was compiled")
	}
}
