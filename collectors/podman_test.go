package collectors

import "testing"

func TestSanitizeLabel(t *testing.T) {
	taken := []string{"id", "name", "image"}
	tests := []struct{ in, want string }{
		{"app", "app"},
		{"io.containers.autoupdate", "io_containers_autoupdate"},
		{"com.example/team-name", "com_example_team_name"},
		{"name", "label_name"}, // would shadow the fixed label
		{"9lives", "label_9lives"},
		{"__meta", "label_meta"},
		{"", "label_"},
	}
	for _, tc := range tests {
		if got := sanitizeLabel(tc.in, taken); got != tc.want {
			t.Errorf("sanitizeLabel(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
