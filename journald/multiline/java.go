package multiline

import "strings"

// java joins a JVM stack trace (Java, Kotlin, Scala), as Throwable.printStackTrace
// and logback or log4j print it, to the line that logged it.
type java struct{}

const (
	// javaLine: the record holds no stack trace yet, so an exception header is
	// this line's exception (logback and log4j print the message, then the
	// exception on a line of its own).
	javaLine State = iota
	// javaTrace: the record holds a stack trace, so an exception header begins
	// another one (printStackTrace called twice) rather than continuing it; a
	// cause is always written "Caused by: ".
	javaTrace
)

func (java) String() string { return "java" }

func (java) Start(line string) State {
	if indented(line) || javaCause(line) || javaHeader(line) ||
		strings.HasPrefix(line, `Exception in thread "`) {
		return javaTrace
	}
	return javaLine
}

// Continue joins any indented line, whatever the record: frames ("\tat ..."),
// "\t... 3 more", suppressed exceptions and the indented lines of a multi-line
// message alike, so an indented line that a JVM application logs on its own
// joins the record before it too.
func (java) Continue(s State, line string) (State, bool) {
	switch {
	case indented(line):
		return s, true
	case javaCause(line):
		return javaTrace, true
	case s != javaTrace && javaHeader(line):
		return javaTrace, true
	}
	return s, false
}

// javaCause reports whether line starts a cause or a suppressed exception
// (Suppressed is indented when printStackTrace writes it; log4j's %rEx writes
// causes root first, each wrapper as "Wrapped by: ").
func javaCause(line string) bool {
	return strings.HasPrefix(line, "Caused by: ") ||
		strings.HasPrefix(line, "Suppressed: ") ||
		strings.HasPrefix(line, "Wrapped by: ")
}

// javaHeader reports whether line is what Throwable.toString writes: the class
// name with its package, whose simple name ends in Exception, Error or Throwable,
// alone or followed by ": " and the message. Requiring the package and the
// suffix keeps lines that only start with a word like "ValidationError:" or a
// logger named "com.example.ErrorHandler:" from joining the line before them;
// a timestamp or a level word never passes.
func javaHeader(line string) bool {
	dot, end := -1, 0
	for ; end < len(line); end++ {
		c := line[end]
		if c == '.' {
			dot = end
		} else if !javaNameByte(c) {
			break
		}
	}
	if dot <= 0 || (end < len(line) && !strings.HasPrefix(line[end:], ": ")) {
		return false
	}
	name := line[dot+1 : end]
	return strings.HasSuffix(name, "Exception") || strings.HasSuffix(name, "Error") ||
		strings.HasSuffix(name, "Throwable")
}

// javaNameByte reports whether c may appear in a class name segment: the ASCII
// letters, digits, '_' and '$' (inner and synthetic classes).
func javaNameByte(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
		c == '_' || c == '$'
}
