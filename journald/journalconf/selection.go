package journalconf

import (
	"github.com/podexporter/podexporter/internal/selector"
	"github.com/podexporter/podexporter/internal/setting"
)

// OptOutLabel is the label with which a container leaves itself out of the logs
// (io.podexporter.logs=false), whatever the selection flags say.
const OptOutLabel = "io.podexporter.logs"

// declareSelection declares the label and image selection of containers, the
// metrics' --podman.include-label and its kin for the logs.
func (s *Settings) declareSelection(set *setting.Set) {
	const doc = "exclusions win; the label `io.podexporter.logs=false` always leaves a container out; see [Choosing containers](#choosing-containers)"
	set.Strings(&s.IncludeLabels, "journal.include-label", "Read only containers with this label: key (present, any value) or key=value (exactly); repeat for several, any one suffices.").
		WithKey("journal.include_labels").WithDoc(doc)
	set.Strings(&s.ExcludeLabels, "journal.exclude-label", "Skip containers with this label: key or key=value; repeat for several.").
		WithKey("journal.exclude_labels").WithDoc(doc)
	set.String(&s.IncludeImage, "journal.include-image", "Read only containers whose image, as podman ps shows it, matches this regular expression.", "").
		WithDoc(doc)
	set.String(&s.ExcludeImage, "journal.exclude-image", "Skip containers whose image, as podman ps shows it, matches this regular expression.", "").
		WithDoc(doc)
}

// Selector is the label and image selection of containers, with the opt-out label,
// checked; a problem is a *setting.Error naming the flag. The name and unit filters
// stay apart (--journal.include-container and its kin): the journal can apply names
// itself, while labels and images are known only through the Podman source.
func (s *Settings) Selector() (*selector.Selector, error) {
	sel := &selector.Selector{OptOut: OptOutLabel}
	if err := sel.Compile("--journal.", selector.Conditions{IncludeImage: s.IncludeImage, ExcludeImage: s.ExcludeImage,
		IncludeLabels: s.IncludeLabels, ExcludeLabels: s.ExcludeLabels}); err != nil {
		return nil, err
	}
	return sel, nil
}
