package multiline

import "testing"

func TestRegexSamples(t *testing.T) {
	r, err := Parse(`^\d{4}-\d{2}-\d{2} `)
	if err != nil {
		t.Fatal(err)
	}
	// A record begins at each timestamp: the same records the built-in rules make.
	testSamples(t, r, []sample{
		{"java_logback.txt", []int{1, 2, 11}},
		{"java_uncaught.txt", []int{1, 2, 16}},
		{"python_chained.txt", []int{1, 2, 29}},
	})
}

func TestRegex(t *testing.T) {
	r, err := Parse(`^\[\d{2}:\d{2}:\d{2}\]`)
	if err != nil {
		t.Fatal(err)
	}
	testJoin(t, r, []joinCase{{
		name:  "every line matches",
		lines: []string{"[12:00:00] a", "[12:00:01] b"},
		want:  []string{"[12:00:00] a", "[12:00:01] b"},
	}, {
		// The expression, not the indentation, decides: a table's rows join the
		// line that printed them, and an unindented line that does not match
		// joins too.
		name: "lines that do not match continue",
		lines: []string{
			"[12:00:00] totals:",
			"  orders   42",
			"  refunds  3",
			"",
			"footer",
			"[12:00:01] done",
		},
		want: []string{
			"[12:00:00] totals:\n  orders   42\n  refunds  3\n\nfooter",
			"[12:00:01] done",
		},
	}, {
		name:  "lines before the first match join each other",
		lines: []string{"banner", "  v1.2", "[12:00:00] up"},
		want:  []string{"banner\n  v1.2", "[12:00:00] up"},
	}})
}
