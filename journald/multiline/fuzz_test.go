package multiline

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// fuzzRules are the rules FuzzRules runs, with how many states each may return.
var fuzzRules = []struct {
	spec   string
	states State
}{
	{"java", 2},
	{"python", 5},
	{"go", 3},
	{`^\d{4}-\d{2}-\d{2} `, 1},
	{`^\S`, 1},
}

// FuzzRules checks that Start and Continue never panic, whatever the line and the
// state (even one no rule returns), that what they return depends only on their
// arguments, and that they return only states the rule has.
func FuzzRules(f *testing.F) {
	files, err := filepath.Glob(filepath.Join("testdata", "*.txt"))
	if err != nil {
		f.Fatal(err)
	}
	for i := range fuzzRules {
		for _, file := range files {
			b, err := os.ReadFile(file)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(uint8(i), uint8(0), string(b))
		}
		f.Add(uint8(i), uint8(255), strings.Join(ordinary, "\n"))
	}
	f.Fuzz(func(t *testing.T, which, s uint8, text string) {
		fr := fuzzRules[int(which)%len(fuzzRules)]
		r, err := Parse(fr.spec)
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(text, "\n")
		for _, line := range lines {
			r.Continue(State(s), line)
		}
		st := r.Start(lines[0])
		if again := r.Start(lines[0]); again != st || st >= fr.states {
			t.Fatalf("%s: Start(%q) = %d, then %d", r, lines[0], st, again)
		}
		for _, line := range lines[1:] {
			next, ok := r.Continue(st, line)
			if next2, ok2 := r.Continue(st, line); next2 != next || ok2 != ok {
				t.Fatalf("%s: Continue(%d, %q) = %d, %v, then %d, %v", r, st, line, next, ok, next2, ok2)
			}
			if re, isRegex := r.(regex); isRegex && ok == re.re.MatchString(line) {
				t.Fatalf("%s: Continue(%q) = %v, yet the expression's match is %v", r, line, ok, !ok)
			}
			if !ok {
				next = r.Start(line)
			}
			if next >= fr.states {
				t.Fatalf("%s: state %d after %q: the rule has %d", r, next, line, fr.states)
			}
			st = next
		}
	})
}

// FuzzParse checks that Parse never panics, errs exactly for what is neither a
// rule's name nor a valid expression, and names the spec when it does.
func FuzzParse(f *testing.F) {
	for _, spec := range []string{"", "java", "python", "go", "Java", `^\d{4}-`, `^(\d`, `\`, "a`(", `(?=x)`, "[[:alpha:]", `\p{Greek}`, "x{1001}"} {
		f.Add(spec)
	}
	f.Fuzz(func(t *testing.T, spec string) {
		r, err := Parse(spec)
		_, reErr := regexp.Compile(spec)
		builtin := spec == "java" || spec == "python" || spec == "go"
		folded := !builtin && (strings.EqualFold(spec, "java") || strings.EqualFold(spec, "python") || strings.EqualFold(spec, "go"))
		switch {
		case spec == "":
			if r != nil || err != nil {
				t.Fatalf("Parse(\"\") = %v, %v", r, err)
			}
		case builtin || reErr == nil && !folded:
			if err != nil || r == nil || r.String() != spec {
				t.Fatalf("Parse(%q) = %v, %v", spec, r, err)
			}
			r.Continue(r.Start(spec), spec)
		default:
			if err == nil || r != nil {
				t.Fatalf("Parse(%q) = %v, %v; want an error", spec, r, err)
			}
			if !strings.Contains(err.Error(), quote(spec)) {
				t.Fatalf("Parse(%q): the error %q does not name it", spec, err)
			}
		}
	})
}
