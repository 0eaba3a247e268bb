package podmanconf

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/podexporter/podexporter/internal/catalog"
	"github.com/podexporter/podexporter/internal/setting"
)

// AllLabels in an allowlist takes every label the object has, as
// prometheus-podman-exporter's --collector.store_labels does: each object's info
// series then carries its own labels, and only those.
const AllLabels = "*"

// LabelName makes a container label key a valid metric label name that cannot shadow
// one of podman_container_info's fixed labels: characters outside [a-zA-Z0-9_]
// become _, a name that would start with a digit or __ (reserved) gets the prefix
// label_, and so does a name equal to a fixed label.
func LabelName(key string) string { return LabelNameFor(key, catalog.ContainerInfoLabels) }

// LabelNameFor is LabelName for an info family whose fixed labels are fixed.
func LabelNameFor(key string, fixed []string) string {
	s := strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' {
			return r
		}
		return '_'
	}, key)
	if s == "" || (s[0] >= '0' && s[0] <= '9') || strings.HasPrefix(s, "__") {
		s = "label_" + strings.TrimLeft(s, "_")
	}
	if slices.Contains(fixed, s) {
		s = "label_" + s
	}
	return s
}

// LabelNames returns the metric label names of the allowlisted container label keys,
// in order, with keys given twice left out. Two keys that would become the same name
// are refused: a scrape could not carry both, and picking one silently would show one
// team's value under another's key.
func LabelNames(keys []string) (unique, names []string, err error) {
	a, err := NewAllowlist("--podman.container-label", keys, catalog.ContainerInfoLabels)
	return a.Keys, a.Names, err
}

// Allowlist is one kind's label allowlist (containers, pods or images), checked: the
// keys given, each once, their metric label names, and whether every label is taken.
type Allowlist struct {
	// All is set when the list holds AllLabels; Keys and Names then hold the other
	// entries, which All already covers.
	All   bool
	Keys  []string
	Names []string
	fixed []string
}

// NewAllowlist checks keys, the values of the setting flag, for the info family whose
// fixed labels are fixed: an empty key, or two keys that would become the same label
// name, are a *setting.Error naming flag.
func NewAllowlist(flag string, keys, fixed []string) (Allowlist, error) {
	a := Allowlist{fixed: fixed}
	byName := map[string]string{}
	for _, k := range keys {
		switch {
		case k == "":
			return Allowlist{}, &setting.Error{Setting: flag, Problem: "empty label key",
				Fix: "give the label's key, such as app or io.containers.autoupdate, or " + AllLabels + " for every label"}
		case k == AllLabels:
			a.All = true
			continue
		case slices.Contains(a.Keys, k):
			continue
		}
		n := LabelNameFor(k, fixed)
		if other, ok := byName[n]; ok {
			return Allowlist{}, &setting.Error{Setting: flag,
				Problem: fmt.Sprintf("%q and %q both become the metric label %s", other, k, n),
				Fix:     "allowlist only one of them (characters other than letters, digits and _ become _, and a fixed label's name gets the prefix label_)"}
		}
		byName[n] = k
		a.Keys = append(a.Keys, k)
		a.Names = append(a.Names, n)
	}
	return a, nil
}

// Empty says the allowlist takes no label.
func (a Allowlist) Empty() bool { return !a.All && len(a.Keys) == 0 }

// ExportKeys is what the source copies of each object's labels: the keys, or
// AllLabels alone when every label is taken.
func (a Allowlist) ExportKeys() []string {
	if a.All {
		return []string{AllLabels}
	}
	return a.Keys
}

// Labels returns the extra label names and values of one object's info series, from
// its exported labels (the source's, values already cut). A fixed allowlist gives the
// same names for every object, with "" where the object lacks the label. With All,
// the object's own labels are given, sorted by key; when two of its keys become the
// same name, the first key keeps it and the other is left out (a series cannot carry
// a label twice), and skipped says how many were.
func (a Allowlist) Labels(exported map[string]string) (names, values []string, skipped int) {
	if !a.All {
		values = make([]string, len(a.Keys))
		for i, k := range a.Keys {
			values[i] = exported[k]
		}
		return a.Names, values, 0
	}
	keys := make([]string, 0, len(exported))
	for k := range exported {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	names, values = make([]string, 0, len(keys)), make([]string, 0, len(keys))
	seen := make(map[string]bool, len(keys))
	for _, k := range keys {
		n := LabelNameFor(k, a.fixed)
		if seen[n] {
			skipped++
			continue
		}
		seen[n] = true
		names, values = append(names, n), append(values, exported[k])
	}
	return names, values, skipped
}

// CutValue cuts a label value to at most max bytes, at a character boundary, and
// replaces invalid UTF-8 (which no exposition format can carry) with U+FFFD. Every
// output (metrics, log records, OTLP resources) shows the value this returns; cut
// says whether it is shorter than the label's value.
func CutValue(v string, max int) (out string, cut bool) {
	if !utf8.ValidString(v) {
		v = strings.ToValidUTF8(v, "\uFFFD")
	}
	if len(v) <= max {
		return v, false
	}
	i := max
	for i > 0 && !utf8.RuneStart(v[i]) {
		i--
	}
	return v[:i], true
}
