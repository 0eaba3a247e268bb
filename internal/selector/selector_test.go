package selector

import (
	"errors"
	"regexp"
	"strings"
	"testing"

	"github.com/podexporter/podexporter/internal/setting"
)

func TestParseLabel(t *testing.T) {
	tests := []struct {
		in      string
		want    Label
		problem string // part of the error; "" for none
	}{
		{"app", Label{Key: "app"}, ""},
		{"app=shop", Label{Key: "app", Value: "shop", Exact: true}, ""},
		{"app=", Label{Key: "app", Exact: true}, ""},
		{"io.podexporter.metrics=false", Label{Key: "io.podexporter.metrics", Value: "false", Exact: true}, ""},
		{"com.example/team=a=b", Label{Key: "com.example/team", Value: "a=b", Exact: true}, ""},
		{"app=with space", Label{Key: "app", Value: "with space", Exact: true}, ""},
		{"", Label{}, "empty"},
		{"=shop", Label{}, "empty"},
		{"my app", Label{}, "holds"},
		{"app\t=x", Label{}, "holds"},
		{"app\x00", Label{}, "holds"},
		{"app\xff", Label{}, "UTF-8"},
	}
	for _, tc := range tests {
		got, err := ParseLabel(tc.in)
		if tc.problem != "" {
			if err == nil || !strings.Contains(err.Error(), tc.problem) {
				t.Errorf("ParseLabel(%q) = %v, %v; want an error saying %q", tc.in, got, err, tc.problem)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("ParseLabel(%q) = %+v, %v; want %+v", tc.in, got, err, tc.want)
		}
		if got.String() != tc.in {
			t.Errorf("ParseLabel(%q).String() = %q", tc.in, got.String())
		}
	}
}

func labels(t *testing.T, vs ...string) []Label {
	t.Helper()
	ls, err := Labels("--test", vs)
	if err != nil {
		t.Fatal(err)
	}
	return ls
}

func TestSelects(t *testing.T) {
	web := Container{Name: "web-1", Image: "localhost/nginx:1.27", Labels: map[string]string{"app": "shop", "tier": "front"}}
	db := Container{Name: "db", Image: "localhost/postgres:17", Labels: map[string]string{"app": "shop", "tier": "back"}}
	infra := Container{Name: "abc123-infra", Image: "localhost/podman-pause:4.3.1", Infra: true}
	optedOut := Container{Name: "noisy", Image: "localhost/nginx:1.27", Labels: map[string]string{"io.podexporter.metrics": "FALSE"}}
	optedIn := Container{Name: "keen", Image: "localhost/nginx:1.27", Labels: map[string]string{"io.podexporter.metrics": "true"}}
	all := []Container{web, db, infra, optedOut, optedIn}
	names := func(s *Selector) string {
		var out []string
		for _, c := range all {
			if s.Selects(c) {
				out = append(out, c.Name)
			}
		}
		return strings.Join(out, ",")
	}
	re := regexp.MustCompile
	tests := []struct {
		name string
		s    *Selector
		want string
	}{
		{"nil takes all", nil, "web-1,db,abc123-infra,noisy,keen"},
		{"zero takes all", &Selector{}, "web-1,db,abc123-infra,noisy,keen"},
		{"opt-out label", &Selector{OptOut: "io.podexporter.metrics"}, "web-1,db,abc123-infra,keen"},
		{"infra", &Selector{ExcludeInfra: true}, "web-1,db,noisy,keen"},
		{"include name", &Selector{IncludeName: re(`^web-`)}, "web-1"},
		{"exclude name", &Selector{ExcludeName: re(`^(db|keen)$`)}, "web-1,abc123-infra,noisy"},
		{"include label present", &Selector{IncludeLabels: labels(t, "tier")}, "web-1,db"},
		{"include label value", &Selector{IncludeLabels: labels(t, "tier=back")}, "db"},
		{"include labels any one", &Selector{IncludeLabels: labels(t, "tier=back", "io.podexporter.metrics")}, "db,noisy,keen"},
		{"exclude label", &Selector{ExcludeLabels: labels(t, "tier=front")}, "db,abc123-infra,noisy,keen"},
		{"exclude label empty value is not absent", &Selector{ExcludeLabels: labels(t, "tier=")}, "web-1,db,abc123-infra,noisy,keen"},
		{"include image", &Selector{IncludeImage: re(`/nginx:`)}, "web-1,noisy,keen"},
		{"exclude image", &Selector{ExcludeImage: re(`pause`)}, "web-1,db,noisy,keen"},
		{"exclude wins over include", &Selector{IncludeImage: re(`nginx`), ExcludeName: re(`^web`)}, "noisy,keen"},
		{"opt-out wins over include", &Selector{IncludeImage: re(`nginx`), OptOut: "io.podexporter.metrics"}, "web-1,keen"},
		{"kinds must all hold", &Selector{IncludeImage: re(`nginx`), IncludeLabels: labels(t, "app")}, "web-1"},
	}
	for _, tc := range tests {
		if got := names(tc.s); got != tc.want {
			t.Errorf("%s: selects %q, want %q", tc.name, got, tc.want)
		}
	}
}

func TestSelectsUnknown(t *testing.T) {
	re := regexp.MustCompile
	tests := []struct {
		s    *Selector
		want bool
	}{
		{nil, true},
		{&Selector{OptOut: "io.podexporter.logs"}, true},
		{&Selector{ExcludeLabels: labels(t, "app"), ExcludeImage: re(`x`)}, true},
		{&Selector{IncludeLabels: labels(t, "app")}, false},
		{&Selector{IncludeImage: re(`.`)}, false},
		{&Selector{IncludeName: re(`^web`)}, true},
		{&Selector{IncludeName: re(`^db`)}, false},
		{&Selector{ExcludeName: re(`^web`)}, false},
	}
	for i, tc := range tests {
		if got := tc.s.SelectsUnknown("web-1"); got != tc.want {
			t.Errorf("%d: SelectsUnknown = %v, want %v", i, got, tc.want)
		}
	}
}

func TestOptedOut(t *testing.T) {
	for v, want := range map[string]bool{"false": true, "False": true, "0": true, "no": true, "OFF": true, " false ": true,
		"": false, "true": false, "1": false, "extended": false, "disabled": false} {
		if OptedOut(v) != want {
			t.Errorf("OptedOut(%q) = %v, want %v", v, !want, want)
		}
	}
}

// TestSettingErrors: a bad value is a *setting.Error naming the flag and a fix.
func TestSettingErrors(t *testing.T) {
	_, err := Regexp("--podman.include-image", "nginx(")
	var se *setting.Error
	if !errors.As(err, &se) || se.Setting != "--podman.include-image" || !strings.Contains(se.Fix, "regular expression") {
		t.Errorf("Regexp error = %v", err)
	}
	if re, err := Regexp("--x", ""); re != nil || err != nil {
		t.Errorf("empty expression = %v, %v; want no filter", re, err)
	}
	_, err = Labels("--journal.exclude-label", []string{"app", "my app=x"})
	if !errors.As(err, &se) || se.Setting != "--journal.exclude-label" || !strings.Contains(se.Problem, `"my app=x"`) || !strings.Contains(se.Fix, "key=value") {
		t.Errorf("Labels error = %v", err)
	}
}

// FuzzParseLabel: any text parses or is refused without a panic, and what parses
// reads back the same from its String.
func FuzzParseLabel(f *testing.F) {
	for _, s := range []string{"app", "app=shop", "=x", "a=b=c", "", "k\x00", "io.podexporter.metrics=false"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		l, err := ParseLabel(s)
		if err != nil {
			return
		}
		if l.String() != s {
			t.Fatalf("ParseLabel(%q).String() = %q", s, l.String())
		}
		again, err := ParseLabel(l.String())
		if err != nil || again != l {
			t.Fatalf("ParseLabel(%q) again = %+v, %v; want %+v", s, again, err, l)
		}
		if !l.Matches(map[string]string{l.Key: l.Value}) {
			t.Fatalf("%+v does not match its own key and value", l)
		}
	})
}
