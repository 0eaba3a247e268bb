package multiline

import "testing"

func TestPythonSamples(t *testing.T) {
	testSamples(t, python{}, []sample{
		// logging.exception: the ERROR line, then its traceback.
		{"python_logging_exception.txt", []int{1, 2, 21}},
		// Both chain headers, three tracebacks, one record.
		{"python_chained.txt", []int{1, 2, 29}},
		// An exception group's box (Python 3.11+), written indented.
		{"python_exception_group.txt", []int{1, 2, 20}},
		// Documented: an uncaught exception's traceback joins whatever line the
		// program wrote before it, as logging.exception's would (the reader's
		// timeout keeps lines written long before apart). The restarted
		// program's first line begins a record.
		{"python_uncaught.txt", []int{1, 10}},
	})
}

func TestPython(t *testing.T) {
	testJoin(t, python{}, []joinCase{{
		name:  "ordinary lines stay apart",
		lines: ordinary,
		want:  ordinary,
	}, {
		name:  "indented lines outside a traceback stay apart",
		lines: []string{"totals:", "  orders   42", "  refunds  3"},
		want:  []string{"totals:", "  orders   42", "  refunds  3"},
	}, {
		name: "a traceback that begins the record",
		lines: []string{
			"Traceback (most recent call last):",
			`  File "/app/main.py", line 1, in <module>`,
			"KeyboardInterrupt",
			"worker 2 exited",
		},
		want: []string{
			"Traceback (most recent call last):\n  File \"/app/main.py\", line 1, in <module>\nKeyboardInterrupt",
			"worker 2 exited",
		},
	}, {
		name: "a dotted exception, a message's indented lines, a second traceback",
		lines: []string{
			"ERROR:app:validation failed",
			"Traceback (most recent call last):",
			`  File "/app/main.py", line 9, in <module>`,
			"pydantic_core._pydantic_core.ValidationError: 1 validation error for Order",
			"  qty: Input should be a valid integer",
			"Traceback (most recent call last):",
			`  File "/app/main.py", line 12, in <module>`,
			"mypkg.errors.Custom: x",
		},
		want: []string{
			"ERROR:app:validation failed\nTraceback (most recent call last):\n  File \"/app/main.py\", line 9, in <module>\n" +
				"pydantic_core._pydantic_core.ValidationError: 1 validation error for Order\n  qty: Input should be a valid integer",
			"Traceback (most recent call last):\n  File \"/app/main.py\", line 12, in <module>\nmypkg.errors.Custom: x",
		},
	}, {
		// Documented: without look-ahead the empty line after an exception is
		// joined in case a chain header follows; the reader trims it when the
		// record is flushed.
		name: "an empty line, then an ordinary line",
		lines: []string{
			"Traceback (most recent call last):",
			`  File "/app/main.py", line 1, in <module>`,
			"ValueError: boom",
			"",
			"INFO:app:restarting",
		},
		want: []string{
			"Traceback (most recent call last):\n  File \"/app/main.py\", line 1, in <module>\nValueError: boom",
			"INFO:app:restarting",
		},
	}, {
		name: "two empty lines",
		lines: []string{
			"Traceback (most recent call last):",
			`  File "/app/main.py", line 1, in <module>`,
			"ValueError: boom",
			"",
			"",
			"During handling of the above exception, another exception occurred:",
		},
		want: []string{
			"Traceback (most recent call last):\n  File \"/app/main.py\", line 1, in <module>\nValueError: boom",
			"",
			"During handling of the above exception, another exception occurred:",
		},
	}, {
		name: "a traceback cut short by an empty line",
		lines: []string{
			"Traceback (most recent call last):",
			`  File "/app/main.py", line 1, in <module>`,
			"",
			"next",
		},
		want: []string{
			"Traceback (most recent call last):\n  File \"/app/main.py\", line 1, in <module>",
			"",
			"next",
		},
	}})
}

// TestPythonBlankLine pins the limitation the rule documents: the empty line
// after an exception is joined, whatever follows it.
func TestPythonBlankLine(t *testing.T) {
	r := python{}
	s := r.Start("Traceback (most recent call last):")
	for _, line := range []string{`  File "/app/main.py", line 1, in <module>`, "ValueError: boom", ""} {
		var ok bool
		if s, ok = r.Continue(s, line); !ok {
			t.Fatalf("Continue(%q) = false", line)
		}
	}
	if _, ok := r.Continue(s, "INFO:app:restarting"); ok {
		t.Error("an ordinary line after the empty line continued the traceback")
	}
}
