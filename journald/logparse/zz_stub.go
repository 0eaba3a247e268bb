package logparse

import (
	"errors"
	"strings"
)

func ParseFormat(s string) (Format, bool) {
	for f, n := range []string{"raw", "text", "json", "logfmt", "auto"} {
		if n == s {
			return Format(f), true
		}
	}
	return 0, false
}

func (f Format) String() string { return []string{"raw", "text", "json", "logfmt", "auto"}[f] }

func Parse(f Format, line string, opts Options) (Line, error) {
	if f == JSON && !strings.HasPrefix(line, "{") {
		return Line{}, errors.New("not a JSON object")
	}
	return Line{}, nil
}
