package multiline

import "regexp"

type re struct{ *regexp.Regexp }

func (r re) Start(string) State { return 0 }
func (r re) Continue(s State, l string) (State, bool) { return 0, !r.MatchString(l) }

func Parse(spec string) (Rule, error) {
	if spec == "" {
		return nil, nil
	}
	x, err := regexp.Compile(spec)
	return re{x}, err
}
