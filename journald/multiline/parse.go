package multiline

import (
	"errors"
	"fmt"
	"regexp"
	"regexp/syntax"
	"strconv"
	"strings"
)

// Parse reads a rule spec: "java", "python", "go" (built-in rules), or else a Go
// regular expression that matches the first line of a record (lines that do not
// match it continue the record before them). "" returns nil, nil (no joining).
// An invalid expression returns an error naming it and saying what to write.
//
// The built-in rules, which cannot look ahead, join:
//   - java: every indented line (frames, "... 3 more", and any other indented
//     line an application writes), "Caused by: " and "Suppressed: " lines, and an
//     exception header ("com.example.FooException: message") right after a line
//     with no trace yet, as logback and log4j write it after the message.
//   - python: a traceback to the line before it (logging.exception's message),
//     its frames, its exception line, and chained tracebacks; the empty line
//     after an exception joins in case a chain header follows it.
//   - go: a panic, fatal error or fatal signal with every goroutine's stack, and
//     a goroutine's stack to the line before it (net/http's "http: panic
//     serving"); no other Go line is ever joined.
//
// The expression is matched anywhere in the line, as regexp does: anchor it with
// ^ to match the start. A built-in name in other case ("Java") is an error rather
// than an expression, which would make nearly every line a continuation.
func Parse(spec string) (Rule, error) {
	switch spec {
	case "":
		return nil, nil
	case "java":
		return java{}, nil
	case "python":
		return python{}, nil
	case "go":
		return golang{}, nil
	}
	for _, name := range []string{"java", "python", "go"} {
		if strings.EqualFold(spec, name) {
			return nil, fmt.Errorf("multiline rule %s: the built-in rules are written in lower case: write %q", quote(spec), name)
		}
	}
	re, err := regexp.Compile(spec)
	if err != nil {
		reason := err.Error()
		var se *syntax.Error
		if errors.As(err, &se) {
			// Name the expression once: the syntax error repeats it.
			reason = string(se.Code)
			if se.Expr != spec {
				reason += " at " + quote(se.Expr)
			}
		}
		return nil, fmt.Errorf("multiline rule %s: not a valid regular expression (%s): write java, python, go, "+
			"or a Go (RE2) regular expression that matches the first line of a record, such as `^\\d{4}-\\d{2}-\\d{2}`", quote(spec), reason)
	}
	return regex{re}, nil
}

// quote shows an expression as written, in backquotes, where it can: %q would
// double every backslash in it.
func quote(s string) string {
	if strconv.CanBackquote(s) {
		return "`" + s + "`"
	}
	return strconv.Quote(s)
}
