package multiline

import "testing"

func TestJavaSamples(t *testing.T) {
	testSamples(t, java{}, []sample{
		// Two log lines, the uncaught exception with its cause, "... 3 more" and a
		// suppressed exception, the line after it.
		{"java_uncaught.txt", []int{1, 2, 3, 16}},
		// logback: the ERROR line and its exception are one record.
		{"java_logback.txt", []int{1, 2, 11}},
		// A coroutine's exception, then the restarted program's first line.
		{"kotlin_coroutine.txt", []int{1, 2, 23}},
	})
}

func TestJava(t *testing.T) {
	testJoin(t, java{}, []joinCase{{
		name:  "ordinary lines stay apart",
		lines: ordinary,
		want:  ordinary,
	}, {
		name: "an exception header joins the line that logged it",
		lines: []string{
			"2024-05-01 12:00:00 ERROR c.e.Main - failed",
			"java.lang.IllegalStateException: boom",
			"\tat com.example.Main.main(Main.java:10)",
			"2024-05-01 12:00:01 INFO  c.e.Main - next",
		},
		want: []string{
			"2024-05-01 12:00:00 ERROR c.e.Main - failed\njava.lang.IllegalStateException: boom\n\tat com.example.Main.main(Main.java:10)",
			"2024-05-01 12:00:01 INFO  c.e.Main - next",
		},
	}, {
		name: "a header without a message, a Scala error, an unindented Suppressed",
		lines: []string{
			"request failed",
			"java.lang.NullPointerException",
			"    at Main.main(Main.java:3)",
			"Caused by: scala.MatchError: 3 (of class java.lang.Integer)",
			"Suppressed: java.io.IOException: close",
			"Wrapped by: org.apache.logging.log4j.LoggingException: wrapped",
			"done",
		},
		want: []string{
			"request failed\njava.lang.NullPointerException\n    at Main.main(Main.java:3)\n" +
				"Caused by: scala.MatchError: 3 (of class java.lang.Integer)\n" +
				"Suppressed: java.io.IOException: close\n" +
				"Wrapped by: org.apache.logging.log4j.LoggingException: wrapped",
			"done",
		},
	}, {
		// Without look-ahead a second header cannot be told from a cause, so
		// printStackTrace called twice gives two records, not one.
		name: "a header after a trace begins another",
		lines: []string{
			"java.io.IOException: first",
			"\tat A.a(A.java:1)",
			"java.io.IOException: second",
			"\tat A.b(A.java:2)",
		},
		want: []string{
			"java.io.IOException: first\n\tat A.a(A.java:1)",
			"java.io.IOException: second\n\tat A.b(A.java:2)",
		},
	}, {
		name: "Exception in thread begins a record",
		lines: []string{
			"2024-05-01 12:00:00 INFO  c.e.Main - started",
			`Exception in thread "main" java.lang.RuntimeException: boom`,
			"\tat Main.main(Main.java:5)",
		},
		want: []string{
			"2024-05-01 12:00:00 INFO  c.e.Main - started",
			"Exception in thread \"main\" java.lang.RuntimeException: boom\n\tat Main.main(Main.java:5)",
		},
	}, {
		// Documented: the rule joins every indented line, so a JVM application's
		// own indented output (a table, pretty-printed JSON) joins the line
		// before it.
		name: "an indented line joins",
		lines: []string{
			"2024-05-01 12:00:00 INFO  c.e.Report - totals:",
			"  orders   42",
			"\trefunds  3",
			"2024-05-01 12:00:01 INFO  c.e.Report - done",
		},
		want: []string{
			"2024-05-01 12:00:00 INFO  c.e.Report - totals:\n  orders   42\n\trefunds  3",
			"2024-05-01 12:00:01 INFO  c.e.Report - done",
		},
	}, {
		name: "lines that only look like exceptions stay apart",
		lines: []string{
			"2024-05-01 12:00:00 INFO  c.e.Main - started",
			"ValidationError: email is required",           // no package
			"com.example.ErrorHandler: handled 3 requests", // not an exception class
			"com.example.FooException - not a message",     // no ": "
			"WARN com.example.FooException: logged inline", // level word first
			"Caused by nothing in particular",
		},
		want: []string{
			"2024-05-01 12:00:00 INFO  c.e.Main - started",
			"ValidationError: email is required",
			"com.example.ErrorHandler: handled 3 requests",
			"com.example.FooException - not a message",
			"WARN com.example.FooException: logged inline",
			"Caused by nothing in particular",
		},
	}})
}

func TestJavaHeader(t *testing.T) {
	for line, want := range map[string]bool{
		"java.lang.IllegalStateException: boom":                      true,
		"java.lang.NullPointerException":                             true,
		"java.lang.OutOfMemoryError: Java heap space":                true,
		"java.lang.Throwable":                                        true,
		"java.lang.ExceptionInInitializerError":                      true,
		"com.example.Outer$InnerException: x":                        true,
		"kotlinx.coroutines.TimeoutCancellationException: Timed out": true,
		"java.lang.Exception: ":                                      true,
		"java.lang.Exception:":                                       false,
		"Exception: x":                                               false,
		"RuntimeError: x":                                            false,
		".Exception: x":                                              false,
		"com.example.ExceptionMapper: x":                             false,
		"com.example.Exception.: x":                                  false,
		"2024-05-01 12:00:00.123 ERROR x.y.FooException: z":          false,
		"": false,
	} {
		if got := javaHeader(line); got != want {
			t.Errorf("javaHeader(%q) = %v, want %v", line, got, want)
		}
	}
}
