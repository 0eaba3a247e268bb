// Package selector decides which containers an output takes, by name, label, image
// and infra role, with an opt-out label a container can carry itself. The metrics
// (--podman.include-*, --podman.exclude-*) and the logs (--journal.include-*,
// --journal.exclude-*) use the same rules, so that one spelling means one thing on
// both; the settings packages turn their flags into a Selector here, and a value
// that cannot be used comes back as a *setting.Error naming the flag.
package selector

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/podexporter/podexporter/internal/setting"
)

// Label is one label condition: the key present (key), or present with exactly
// one value (key=value).
type Label struct {
	Key   string
	Value string
	// Exact says Value must match; without it any value, empty included, does.
	Exact bool
}

// String is the condition as it is written on the command line.
func (l Label) String() string {
	if l.Exact {
		return l.Key + "=" + l.Value
	}
	return l.Key
}

// Matches says whether labels satisfy the condition.
func (l Label) Matches(labels map[string]string) bool {
	v, ok := labels[l.Key]
	return ok && (!l.Exact || v == l.Value)
}

// ParseLabel reads key or key=value; the key ends at the first '=', so a value may
// hold more of them. An empty key, or one with spaces, control characters or bytes
// that are not UTF-8, is refused: no container can have it, and the condition would
// silently select nothing.
func ParseLabel(s string) (Label, error) {
	key, value, exact := strings.Cut(s, "=")
	if key == "" {
		return Label{}, errors.New("the label key is empty")
	}
	if !utf8.ValidString(key) {
		return Label{}, fmt.Errorf("the label key %q is not UTF-8", key)
	}
	for _, r := range key {
		if unicode.IsSpace(r) || !unicode.IsPrint(r) {
			return Label{}, fmt.Errorf("the label key %q holds %q, which no label key can", key, r)
		}
	}
	return Label{Key: key, Value: value, Exact: exact}, nil
}

// Container is what a selector looks at: the container's name, its image as
// Podman shows it (podman ps, inspect's ImageName), its labels, and whether it is
// a pod's infra container.
type Container struct {
	Name   string
	Image  string
	Labels map[string]string
	Infra  bool
}

// Selector says which containers an output takes. Every exclusion wins over every
// inclusion; the inclusions of different kinds (name, label, image) must all hold,
// and of several include labels any one is enough. A nil Selector takes every
// container.
type Selector struct {
	IncludeName, ExcludeName     *regexp.Regexp
	IncludeLabels, ExcludeLabels []Label
	IncludeImage, ExcludeImage   *regexp.Regexp
	ExcludeInfra                 bool
	// OptOut is the label a container leaves itself out with (OptedOut values).
	OptOut string
}

// Selects says whether the output takes container c.
func (s *Selector) Selects(c Container) bool {
	if s == nil {
		return true
	}
	if s.OptOut != "" && OptedOut(c.Labels[s.OptOut]) {
		return false
	}
	if s.ExcludeInfra && c.Infra {
		return false
	}
	if s.ExcludeName != nil && s.ExcludeName.MatchString(c.Name) {
		return false
	}
	if s.ExcludeImage != nil && s.ExcludeImage.MatchString(c.Image) {
		return false
	}
	if anyLabel(s.ExcludeLabels, c.Labels) {
		return false
	}
	if s.IncludeName != nil && !s.IncludeName.MatchString(c.Name) {
		return false
	}
	if s.IncludeImage != nil && !s.IncludeImage.MatchString(c.Image) {
		return false
	}
	if len(s.IncludeLabels) > 0 && !anyLabel(s.IncludeLabels, c.Labels) {
		return false
	}
	return true
}

// SelectsUnknown says whether the output takes a container of which only the name
// is known (a log line of a container no Podman service describes). It cannot be
// shown to carry an include label or image, so any of those leaves it out; it
// cannot be shown to carry an exclude label, image or the opt-out label either, so
// those keep it.
func (s *Selector) SelectsUnknown(name string) bool {
	if s == nil {
		return true
	}
	if len(s.IncludeLabels) > 0 || s.IncludeImage != nil {
		return false
	}
	if s.ExcludeName != nil && s.ExcludeName.MatchString(name) {
		return false
	}
	return s.IncludeName == nil || s.IncludeName.MatchString(name)
}

// OptedOut says whether an opt-out label's value leaves the container out: false,
// 0, no or off, in any case. Any other value keeps it, so that a label meant for
// something else (io.podexporter.metrics=extended, say) takes nothing away.
func OptedOut(value string) bool {
	switch strings.ToLower(strings.TrimSpace(value)) {
	case "false", "0", "no", "off":
		return true
	}
	return false
}

func anyLabel(conds []Label, labels map[string]string) bool {
	for _, l := range conds {
		if l.Matches(labels) {
			return true
		}
	}
	return false
}

// Conditions are the image and label settings an output takes containers by, as
// their flags give them.
type Conditions struct {
	IncludeImage, ExcludeImage   string
	IncludeLabels, ExcludeLabels []string
}

// Compile fills s's image and label conditions from c, whose flags are prefix
// followed by include-image, exclude-image, include-label and exclude-label; a bad
// value is a *setting.Error naming its flag.
func (s *Selector) Compile(prefix string, c Conditions) error {
	var err error
	if s.IncludeImage, err = Regexp(prefix+"include-image", c.IncludeImage); err != nil {
		return err
	}
	if s.ExcludeImage, err = Regexp(prefix+"exclude-image", c.ExcludeImage); err != nil {
		return err
	}
	if s.IncludeLabels, err = Labels(prefix+"include-label", c.IncludeLabels); err != nil {
		return err
	}
	s.ExcludeLabels, err = Labels(prefix+"exclude-label", c.ExcludeLabels)
	return err
}

// Regexp compiles the expression of the setting flag; "" is no filter (nil). One
// that does not compile is a *setting.Error naming the flag and the fix.
func Regexp(flag, expr string) (*regexp.Regexp, error) {
	if expr == "" {
		return nil, nil
	}
	re, err := regexp.Compile(expr)
	if err != nil {
		return nil, &setting.Error{Setting: flag, Problem: err.Error(), Fix: "write a Go regular expression, such as ^web- or /nginx:"}
	}
	return re, nil
}

// Labels parses the values of the repeatable label setting flag; a value that is
// not a label condition is a *setting.Error naming the flag and the fix.
func Labels(flag string, values []string) ([]Label, error) {
	var out []Label
	for _, v := range values {
		l, err := ParseLabel(v)
		if err != nil {
			return nil, &setting.Error{Setting: flag, Problem: fmt.Sprintf("%q: %v", v, err), Fix: "give a label key such as app (the label is present) or key=value such as app=shop (exactly that value); repeat the flag for several"}
		}
		out = append(out, l)
	}
	return out, nil
}
