package multiline

import "strings"

// python joins a Python traceback to the line that logged it (logging.exception
// writes the message, then the traceback), and chained exceptions to the first.
type python struct{}

const (
	// pyLine: the record holds no traceback; only a traceback header continues
	// it.
	pyLine State = iota
	// pyFrames: inside a traceback, before its exception line: indented lines
	// are frames and source, the first line that is not is the exception.
	pyFrames
	// pyDone: the exception line (or an exception group's indented box) has
	// been written; indented lines still belong to it (a message's later lines,
	// as pydantic writes them), an empty line may open a chain.
	pyDone
	// pyBlank: an empty line after the exception: a chain header may follow.
	pyBlank
	// pyChain: after a chain header, before the traceback it announces.
	pyChain
)

const (
	pyTraceback      = "Traceback (most recent call last):"
	pyGroupTraceback = "+ Exception Group Traceback (most recent call last):"
	pyContext        = "During handling of the above exception, another exception occurred:"
	pyCause          = "The above exception was the direct cause of the following exception:"
)

func (python) String() string { return "python" }

func (python) Start(line string) State {
	switch {
	case strings.HasPrefix(line, pyTraceback):
		return pyFrames
	case pyGroup(line):
		return pyDone
	}
	return pyLine
}

// Continue cannot look ahead, so the empty line after an exception is joined in
// case a chain header follows it; when an ordinary line follows instead, the
// record ends with that empty line (an empty line at its end, which the reader
// trims when it flushes).
func (python) Continue(s State, line string) (State, bool) {
	switch s {
	case pyFrames:
		if indented(line) {
			return pyFrames, true
		}
		// An empty line is no exception line: the traceback was cut short.
		return pyDone, line != ""
	case pyDone:
		if indented(line) {
			return pyDone, true
		}
		return pyBlank, line == ""
	case pyBlank:
		return pyChain, strings.HasPrefix(line, pyContext) || strings.HasPrefix(line, pyCause)
	case pyChain:
		switch {
		case line == "":
			return pyChain, true
		case strings.HasPrefix(line, pyTraceback):
			return pyFrames, true
		case pyGroup(line):
			return pyDone, true
		}
		return s, false
	}
	if strings.HasPrefix(line, pyTraceback) {
		return pyFrames, true
	}
	if pyGroup(line) {
		return pyDone, true
	}
	return s, false
}

// pyGroup reports whether line heads an exception group's traceback (Python
// 3.11+), which is written indented, inside a box of '+' and '|'.
func pyGroup(line string) bool {
	return indented(line) && strings.HasPrefix(strings.TrimLeft(line, " "), pyGroupTraceback)
}
