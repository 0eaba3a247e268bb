// Package multiline decides which log lines continue the record of a line before
// them: a Java stack trace, a Python traceback, a Go panic, or anything whose first
// line a regular expression recognises. It holds only the rules; the journal reader
// keeps the records being joined, per container stream.
package multiline

// State is a rule's memory of the record so far (for example "inside a Python
// traceback"); its meaning is the rule's own. A record starts in the state Start
// returns.
type State uint8

// Rule says which lines continue a record.
type Rule interface {
	// Start returns the state of a record that line begins.
	Start(line string) State
	// Continue reports whether line continues a record whose state is s, and the
	// record's state after it. A line that does not continue begins a new record.
	Continue(s State, line string) (State, bool)
	// String is the rule as configured: "java", "python", "go" or the expression.
	String() string
}
