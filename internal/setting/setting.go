// Package setting holds the error every configuration problem is reported with, so
// that each component's settings package can validate its own section while the
// binary still turns any of them into one line and exit code 2.
package setting

import "fmt"

// Error is a configuration problem. Its message names the setting, what is wrong with
// it, and how to fix it.
type Error struct {
	Setting string
	Problem string
	Fix     string
}

func (e *Error) Error() string {
	msg := fmt.Sprintf("invalid %s: %s", e.Setting, e.Problem)
	if e.Fix != "" {
		msg += "; fix: " + e.Fix
	}
	return msg
}
