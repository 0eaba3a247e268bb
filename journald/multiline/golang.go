package multiline

import "strings"

// golang joins what the Go runtime writes when a program dies (a panic, a fatal
// error, a fatal signal, SIGQUIT's dump) into one record, and a goroutine's stack
// to the line before it (net/http's "http: panic serving ..." and debug.PrintStack
// after a message). Other Go log lines are single lines: they never continue a
// record, nor does anything continue them.
type golang struct{}

const (
	// goLine: an ordinary line; only a goroutine's stack continues it.
	goLine State = iota
	// goHead: a crash's first lines, before any stack: further "panic: ",
	// "fatal error: " and "runtime: " lines describe the same crash.
	goHead
	// goStack: stacks are being written; an unindented "panic: " or
	// "fatal error: " is another crash (nested panics are written indented).
	goStack
)

func (golang) String() string { return "go" }

func (golang) Start(line string) State {
	switch {
	case goCrash(line):
		return goHead
	case goroutineHeader(line), line != "" && line[0] == '\t':
		// A stack whose record was flushed (timeout, size) before it ended.
		return goStack
	}
	return goLine
}

func (golang) Continue(s State, line string) (State, bool) {
	switch s {
	case goHead:
		if goCrash(line) || goHeadLine(line) {
			return goHead, true
		}
		return goStack, goroutineHeader(line) || strings.HasPrefix(line, "runtime stack:")
	case goStack:
		return goStack, goStackLine(line)
	}
	return goStack, goroutineHeader(line)
}

// goCrash reports whether line is the first line the runtime writes about a
// crash.
func goCrash(line string) bool {
	return strings.HasPrefix(line, "panic: ") ||
		strings.HasPrefix(line, "fatal error: ") ||
		// Before "fatal error: stack overflow", "fatal error: out of memory"...
		strings.HasPrefix(line, "runtime: ") ||
		strings.HasPrefix(line, "unexpected fault address ") ||
		goSignal(line)
}

// goSignal reports whether line names the signal that killed the program, as
// "SIGQUIT: quit" or "SIGSEGV: segmentation violation".
func goSignal(line string) bool {
	if !strings.HasPrefix(line, "SIG") {
		return false
	}
	i := 3
	for i < len(line) && 'A' <= line[i] && line[i] <= 'Z' {
		i++
	}
	return i > 3 && strings.HasPrefix(line[i:], ": ")
}

// goHeadLine reports whether line describes the crash between its first line and
// the stacks.
func goHeadLine(line string) bool {
	return line == "" ||
		line[0] == '\t' ||
		strings.HasPrefix(line, "[signal ") ||
		strings.HasPrefix(line, "PC=") ||
		strings.HasPrefix(line, "signal arrived during cgo execution") ||
		strings.HasPrefix(line, "panic during panic") ||
		strings.HasPrefix(line, "stack trace unavailable") ||
		strings.HasPrefix(line, "exit status ")
}

// goStackLine reports whether line belongs to the stacks of a dying program.
func goStackLine(line string) bool {
	if line == "" || line[0] == '\t' {
		return true
	}
	switch {
	case goroutineHeader(line), goFunc(line), goRegister(line):
		return true
	}
	for _, p := range goStackPrefixes {
		if strings.HasPrefix(line, p) {
			return true
		}
	}
	return false
}

var goStackPrefixes = []string{
	"created by ",
	"runtime stack:",
	"runtime: ",
	"...", // "...additional frames elided...", "...44739045 frames elided..."
	"[originating from goroutine ",
	"[signal ",
	"PC=",
	"signal arrived during cgo execution",
	"non-Go function at pc=",
	"exit status ", // go run's last word
}

// goroutineHeader reports whether line heads a goroutine's stack:
// "goroutine 7 [chan receive, 2 minutes]:", or with GOTRACEBACK=system
// "goroutine 1 gp=0xc000002380 m=0 mp=0x5a6aa0 [running]:".
func goroutineHeader(line string) bool {
	const p = "goroutine "
	return len(line) > len(p) && strings.HasPrefix(line, p) &&
		'0' <= line[len(p)] && line[len(p)] <= '9' && strings.HasSuffix(line, "]:")
}

// goFunc reports whether line names a called function in a stack: a package path
// and a name without spaces, then the arguments, as in main.main(),
// net/http.(*conn).serve(0xc000128000, {0x77bbe0, 0xc00011d020}),
// main.(*order).item(...) or the runtime's panic({0x6f8ee0?, 0x9fdca0?}).
func goFunc(line string) bool {
	open := strings.IndexByte(line, '(')
	if open <= 0 || line[len(line)-1] != ')' {
		return false
	}
	name := line[:open]
	if strings.IndexByte(name, ' ') >= 0 {
		return false
	}
	return name == "panic" || strings.IndexByte(name, '.') >= 0
}

// goRegister reports whether line is a register in a fatal signal's dump, as
// "rax    0xfffffffffffffffc" or "rflags 0x246".
func goRegister(line string) bool {
	i := 0
	for i < len(line) && ('a' <= line[i] && line[i] <= 'z' || '0' <= line[i] && line[i] <= '9') {
		i++
	}
	if i == 0 || i > 8 {
		return false
	}
	j := i
	for j < len(line) && line[j] == ' ' {
		j++
	}
	if j == i || !strings.HasPrefix(line[j:], "0x") || j+2 == len(line) {
		return false
	}
	for j += 2; j < len(line); j++ {
		if c := line[j]; !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}
