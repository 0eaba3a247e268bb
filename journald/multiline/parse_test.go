package multiline

import (
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		spec string
		want Rule
	}{
		{"", nil},
		{"java", java{}},
		{"python", python{}},
		{"go", golang{}},
	} {
		r, err := Parse(tc.spec)
		if err != nil || r != tc.want {
			t.Errorf("Parse(%q) = %v, %v; want %v", tc.spec, r, err, tc.want)
		}
		if r != nil && r.String() != tc.spec {
			t.Errorf("Parse(%q).String() = %q", tc.spec, r.String())
		}
	}
	for _, spec := range []string{`^\d{4}-\d{2}-\d{2}`, `^[^\s]`, "^(INFO|WARN|ERROR) ", "javascript", "gopher"} {
		r, err := Parse(spec)
		if err != nil {
			t.Errorf("Parse(%q): %v", spec, err)
			continue
		}
		if _, ok := r.(regex); !ok || r.String() != spec {
			t.Errorf("Parse(%q) = %T %q, want the expression", spec, r, r.String())
		}
	}
}

func TestParseErrors(t *testing.T) {
	for _, tc := range []struct {
		spec string
		want []string // in the message
	}{
		{`^(\d{4}`, []string{"`^(\\d{4}`", "missing closing )", "regular expression", "java, python, go"}},
		{`^\d{4}**`, []string{"invalid nested repetition operator at `{4}*`", "first line of a record"}},
		{`^(?=x)`, []string{"invalid or unsupported Perl syntax at `(?=`", "RE2"}},
		{"a`(", []string{`"a` + "`" + `("`, "missing closing )"}},
		{`\`, []string{"trailing backslash"}},
		{"Java", []string{"`Java`", `write "java"`}},
		{"PYTHON", []string{`write "python"`}},
		{"Go", []string{`write "go"`}},
	} {
		r, err := Parse(tc.spec)
		if err == nil {
			t.Errorf("Parse(%q) = %v, want an error", tc.spec, r)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("Parse(%q) error %q: want %q in it", tc.spec, err, w)
			}
		}
	}
}
