package collectors

import (
	"regexp"
	"slices"
	"testing"
)

var labelName = regexp.MustCompile(`^[a-zA-Z_][a-zA-Z0-9_]*$`)

// FuzzSanitizeLabel: any container label key becomes a valid label name that does not
// shadow a fixed one and does not start with the reserved __.
func FuzzSanitizeLabel(f *testing.F) {
	for _, s := range []string{"app", "io.podman/x", "name", "__x", "9", "", "ünïcode", "a b"} {
		f.Add(s)
	}
	taken := []string{"id", "name", "image"}
	f.Fuzz(func(t *testing.T, key string) {
		got := sanitizeLabel(key, taken)
		if !labelName.MatchString(got) || slices.Contains(taken, got) || len(got) >= 2 && got[:2] == "__" {
			t.Fatalf("sanitizeLabel(%q) = %q", key, got)
		}
	})
}
