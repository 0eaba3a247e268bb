package journald

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"
)

func TestNamesMatchable(t *testing.T) {
	re := regexp.MustCompile
	for _, tc := range []struct {
		inc, exc string
		want     bool
	}{
		{"", "", false},
		{"^web$", "", true},
		{"web", "", true},
		{"", "^web", false}, // an entry without a name passes an exclude-only filter
		{".*", "", false},
		{"^(web)?$", "", false},
		{"^app-", "-debug$", true},
		{"", "^$", true}, // excluding the empty name leaves only named entries
	} {
		cfg := Config{}
		if tc.inc != "" {
			cfg.IncludeContainer = re(tc.inc)
		}
		if tc.exc != "" {
			cfg.ExcludeContainer = re(tc.exc)
		}
		if got := namesMatchable(&cfg); got != tc.want {
			t.Errorf("include %q exclude %q: matchable %v, want %v", tc.inc, tc.exc, got, tc.want)
		}
	}
}

func TestNewNames(t *testing.T) {
	inc, exc := regexp.MustCompile("^app-"), regexp.MustCompile("-debug$")
	all := []string{"db", "app-2", "app-1", "app-1-debug", "app-1", "", "app-3"}
	got := newNames(map[string]bool{"app-3": true}, all, inc, exc)
	if want := []string{"app-1", "app-2"}; !slices.Equal(got, want) {
		t.Errorf("new names %q, want %q", got, want)
	}
	if got := newNames(map[string]bool{"app-1": true, "app-2": true, "app-3": true}, all, inc, exc); len(got) != 0 {
		t.Errorf("nothing new, got %q", got)
	}
}

func TestMatchTerms(t *testing.T) {
	three := 3
	units := [][]string{{"_SYSTEMD_UNIT=a.service", "_SYSTEMD_UNIT=b.service"}}
	for _, tc := range []struct {
		name       string
		names      []string
		matchNames bool
		host       [][]string
		prio       *int
		want       string
	}{
		{"no filters: conmon's entries, as before", nil, false, nil, nil, "_COMM=conmon"},
		{"units", nil, false, units, nil, "_COMM=conmon | _SYSTEMD_UNIT=a.service _SYSTEMD_UNIT=b.service"},
		{"names", []string{"a", "b"}, true, nil, nil, "_COMM=conmon CONTAINER_NAME=a CONTAINER_NAME=b"},
		{"no name passes yet", nil, true, nil, nil, "_COMM=conmon CONTAINER_NAME="},
		{"priority in every term", []string{"a"}, true, [][]string{{"_SYSTEMD_UNIT=u.service"}}, &three,
			"_COMM=conmon CONTAINER_NAME=a PRIORITY=0 PRIORITY=1 PRIORITY=2 PRIORITY=3 | _SYSTEMD_UNIT=u.service PRIORITY=0 PRIORITY=1 PRIORITY=2 PRIORITY=3"},
		{"host terms stay apart", []string{"a"}, true, [][]string{{"SYSLOG_IDENTIFIER=sudo"}, {"_TRANSPORT=kernel"}, {"_UID=0", "_COMM=sshd"}}, nil,
			"_COMM=conmon CONTAINER_NAME=a | SYSLOG_IDENTIFIER=sudo | _TRANSPORT=kernel | _UID=0 _COMM=sshd"},
		{"a term's own priorities narrowed by the cap", nil, false, [][]string{{"PRIORITY=2", "_COMM=x", "PRIORITY=5"}}, &three,
			"_COMM=conmon PRIORITY=0 PRIORITY=1 PRIORITY=2 PRIORITY=3 | _COMM=x PRIORITY=2"},
		{"a term the cap leaves nothing of is dropped", nil, false, [][]string{{"PRIORITY=6", "_COMM=x"}, {"_COMM=y"}}, &three,
			"_COMM=conmon PRIORITY=0 PRIORITY=1 PRIORITY=2 PRIORITY=3 | _COMM=y PRIORITY=0 PRIORITY=1 PRIORITY=2 PRIORITY=3"},
		{"a term's own priorities without a cap", nil, false, [][]string{{"PRIORITY=6", "_COMM=x"}}, nil,
			"_COMM=conmon | PRIORITY=6 _COMM=x"},
	} {
		var terms []string
		for _, term := range matchTerms(tc.names, tc.matchNames, tc.host, tc.prio) {
			terms = append(terms, strings.Join(term, " "))
		}
		if got := strings.Join(terms, " | "); got != tc.want {
			t.Errorf("%s: %s, want %s", tc.name, got, tc.want)
		}
	}
}

func TestCursorAfter(t *testing.T) {
	cur := func(id string, seq, usec uint64) string {
		return fmt.Sprintf("s=%s;i=%x;b=%s;m=1;t=%x;x=0", id, seq, bootA, usec)
	}
	for _, tc := range []struct {
		a, b string
		want bool
	}{
		{cur("aa", 5, 100), cur("aa", 4, 200), true}, // one series: by sequence number
		{cur("aa", 4, 200), cur("aa", 5, 100), false},
		{cur("aa", 4, 100), cur("aa", 4, 100), false},
		{cur("aa", 1, 300), cur("bb", 9, 200), true}, // two series: by time
		{cur("aa", 9, 100), cur("bb", 1, 200), false},
		{"garbage", cur("aa", 1, 1), true}, // unreadable: end re-reading
	} {
		if got := cursorAfter(tc.a, tc.b); got != tc.want {
			t.Errorf("cursorAfter(%s, %s) = %v, want %v", tc.a, tc.b, got, tc.want)
		}
	}
	if us, ok := cursorRealtime(cur("aa", 1, 0x5f)); !ok || us != 0x5f {
		t.Errorf("cursorRealtime: %d %v", us, ok)
	}
}
