package logparse

import "testing"

func TestParseText(t *testing.T) {
	tests := []struct {
		name string
		line string
		sev  int
		text string // "" for no level
	}{
		{"klog", "E0101 12:00:00.000000       1 main.go:1] msg", 17, "E"},
		{"klog info", "I0502 08:09:10.123456    7 server.go:99] Serving", 9, "I"},
		{"glog warning, indented", "  W1231 23:59:59.999999 42 x.go:3] careful", 13, "W"},
		{"not klog: no digits", "Error: E01 happened", 17, "Error"},
		{"logback default pattern", "12:00:00.123 [main] INFO  com.example.App - Started App in 2.1 seconds", 9, "INFO"},
		{"logback with a date", "2024-05-01 12:00:00.123 [http-nio-8080-exec-1] ERROR c.e.Web - request failed", 17, "ERROR"},
		{"Spring Boot", "2024-05-01T12:00:00.123Z  WARN 1 --- [           main] o.s.b.StartupInfoLogger : slow start", 13, "WARN"},
		{"zap console, tabs", "2024-05-01T12:00:00.000Z\tDEBUG\tserver/main.go:42\tlistening\t{\"addr\": \":8080\"}", 5, "DEBUG"},
		{"Go log package: no level", "2024/05/01 12:00:00 listening on :8080", 0, ""},
		{"Go log package, bracketed level", "2024/05/01 12:00:00 [ERROR] database down", 17, "ERROR"},
		{"nginx error log", `2024/05/01 12:00:00 [error] 29#29: *1 open() "/x" failed (2: No such file or directory)`, 17, "error"},
		{"nginx emerg", `2024/05/01 12:00:00 [emerg] 1#1: bind() to 0.0.0.0:80 failed`, 21, "emerg"},
		{"nginx notice", `2024/05/01 12:00:00 [notice] 1#1: using the "epoll" event method`, 10, "notice"},
		{"Python logging default", "WARNING:root:low disk space", 13, "WARNING"},
		{"level and colon", "error: could not open file", 17, "error"},
		{"bracket and colon", "[Fatal]: out of memory", 21, "Fatal"},
		{"zerolog console", "2024-05-01T12:00:00Z INF listening addr=:8080", 9, "INF"},
		{"zerolog console, error", "12:00PM ERR failed error=\"x\"", 17, "ERR"},
		{"critical", "CRITICAL something broke", 18, "CRITICAL"},
		{"panic", "panic: runtime error: index out of range", 21, "panic"},
		{"trace", "TRACE entering f()", 1, "TRACE"},
		{"status code then level", "404 warning not found", 13, "warning"},
		{"word alone", "info", 9, "info"},
		// Not levels.
		{"plain", "Starting nginx 1.25", 0, ""},
		{"a word that starts like a level", "Errors: 0", 0, ""},
		{"a level inside a word", "information follows", 0, ""},
		{"lower-case abbreviation", "err := f()", 0, ""},
		{"letters only in fields", "I think so", 0, ""},
		{"three digit tokens", "1 2 3 ERROR x", 0, ""},
		{"level later in the line", "request failed with ERROR 500", 0, ""},
		{"logfmt is not text", "level=warn msg=x", 0, ""},
		{"slog TextHandler", "time=2024-05-01T12:00:00Z level=ERROR msg=x", 0, ""},
		{"unclosed bracket", "[ERROR failed", 0, ""},
		{"bracket then a word", "[main] started", 0, ""},
		{"two brackets", "[main] [worker] ERROR x", 0, ""},
		{"level glued to punctuation", "ERROR, failed", 0, ""},
		{"empty", "", 0, ""},
		{"blank", " \t ", 0, ""},
		{"digits only", "2024-05-01 12:00:00", 0, ""},
		{"lone bracket", "[", 0, ""},
		{"bracket at end", "12:00 [", 0, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want := Line{}
			if tt.text != "" {
				want = Line{Format: Text, Severity: tt.sev, SeverityText: tt.text}
			}
			got, err := Parse(Text, tt.line, Options{})
			if err != nil {
				t.Fatal(err)
			}
			if d := lineDiff(got, want); d != "" {
				t.Error(d)
			}
		})
	}
}
