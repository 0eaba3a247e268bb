package multiline

import "regexp"

// regex joins every line that its expression does not match to the record
// before it: the expression recognises a record's first line.
type regex struct {
	re *regexp.Regexp
}

func (r regex) String() string { return r.re.String() }

// Start returns 0: the rule keeps no memory of a record.
func (regex) Start(string) State { return 0 }

func (r regex) Continue(s State, line string) (State, bool) {
	return s, !r.re.MatchString(line)
}
