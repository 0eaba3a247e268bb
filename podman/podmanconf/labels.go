package podmanconf

import (
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/podexporter/podexporter/internal/catalog"
	"github.com/podexporter/podexporter/internal/setting"
)

// LabelName makes a container label key a valid metric label name that cannot shadow
// one of podman_container_info's fixed labels: characters outside [a-zA-Z0-9_]
// become _, a name that would start with a digit or __ (reserved) gets the prefix
// label_, and so does a name equal to a fixed label.
func LabelName(key string) string {
	s := strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' {
			return r
		}
		return '_'
	}, key)
	if s == "" || (s[0] >= '0' && s[0] <= '9') || strings.HasPrefix(s, "__") {
		s = "label_" + strings.TrimLeft(s, "_")
	}
	if slices.Contains(catalog.ContainerInfoLabels, s) {
		s = "label_" + s
	}
	return s
}

// LabelNames returns the metric label names of the allowlisted keys, in order, with
// keys given twice left out. Two keys that would become the same name are refused:
// a scrape could not carry both, and picking one silently would show one team's
// value under another's key.
func LabelNames(keys []string) (unique, names []string, err error) {
	byName := map[string]string{}
	for _, k := range keys {
		if slices.Contains(unique, k) {
			continue
		}
		n := LabelName(k)
		if other, ok := byName[n]; ok {
			return nil, nil, &setting.Error{Setting: "--podman.container-label",
				Problem: fmt.Sprintf("%q and %q both become the metric label %s", other, k, n),
				Fix:     "allowlist only one of them (characters other than letters, digits and _ become _, and a fixed label's name gets the prefix label_)"}
		}
		byName[n] = k
		unique = append(unique, k)
		names = append(names, n)
	}
	return unique, names, nil
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
