package logparse

import (
	"strings"
	"testing"
	"time"
)

func TestParseJSON(t *testing.T) {
	tid, sid := traceID(t, traceHex), spanID(t, spanHex)
	tests := []struct {
		name string
		line string
		want Line
	}{{
		name: "zap",
		line: `{"level":"info","ts":1714567890.1234567,"caller":"server/main.go:42","msg":"listening","addr":":8080"}`,
		want: Line{Message: "listening", HasMessage: true, Severity: 9, SeverityText: "info",
			Time:   time.Unix(1714567890, 123456700),
			Fields: Object{{"caller", "server/main.go:42"}, {"addr", ":8080"}}},
	}, {
		name: "zap error with stack trace",
		line: `{"level":"error","ts":1714567890.5,"caller":"db/conn.go:88","msg":"query failed","error":"context deadline exceeded","stacktrace":"main.run\n\t/app/main.go:20"}`,
		want: Line{Message: "query failed", HasMessage: true, Severity: 17, SeverityText: "error",
			Time: time.Unix(1714567890, 5e8),
			Fields: Object{{"caller", "db/conn.go:88"}, {"error", "context deadline exceeded"},
				{"stacktrace", "main.run\n\t/app/main.go:20"}}},
	}, {
		name: "zap dpanic",
		line: `{"level":"dpanic","msg":"impossible"}`,
		want: Line{Message: "impossible", HasMessage: true, Severity: 18, SeverityText: "dpanic"},
	}, {
		name: "logrus",
		line: `{"level":"warning","msg":"disk almost full","time":"2024-05-01T12:00:00+02:00","used":0.93}`,
		want: Line{Message: "disk almost full", HasMessage: true, Severity: 13, SeverityText: "warning",
			Time: rfc3339(t, "2024-05-01T10:00:00Z"), Fields: Object{{"used", 0.93}}},
	}, {
		name: "slog JSONHandler, a level between the named ones",
		line: `{"time":"2024-05-01T12:00:00.123456789+02:00","level":"WARN+2","msg":"slow request","dur":1500000,"req":{"method":"GET","path":"/"}}`,
		want: Line{Message: "slow request", HasMessage: true, Severity: 15, SeverityText: "WARN+2",
			Time: rfc3339(t, "2024-05-01T10:00:00.123456789Z"),
			Fields: Object{{"dur", int64(1500000)},
				{"req", Object{{"method", "GET"}, {"path", "/"}}}}},
	}, {
		name: "pino",
		line: `{"level":30,"time":1714567890123,"pid":7,"hostname":"web-1","msg":"request completed","responseTime":12}`,
		want: Line{Message: "request completed", HasMessage: true, Severity: 9, SeverityText: "30",
			Time:   time.UnixMilli(1714567890123),
			Fields: Object{{"pid", int64(7)}, {"hostname", "web-1"}, {"responseTime", int64(12)}}},
	}, {
		name: "bunyan",
		line: `{"name":"api","hostname":"web-1","pid":1,"level":50,"msg":"boom","time":"2024-05-01T12:00:00.000Z","v":0}`,
		want: Line{Message: "boom", HasMessage: true, Severity: 17, SeverityText: "50",
			Time:   rfc3339(t, "2024-05-01T12:00:00Z"),
			Fields: Object{{"name", "api"}, {"hostname", "web-1"}, {"pid", int64(1)}, {"v", int64(0)}}},
	}, {
		name: "Serilog compact: no rendered message, the template stays a field",
		line: `{"@t":"2024-05-01T12:00:00.1234567Z","@mt":"Processed {@Position} in {Elapsed} ms","@l":"Warning","Position":{"Latitude":25,"Longitude":134},"Elapsed":34}`,
		want: Line{Severity: 13, SeverityText: "Warning", Time: rfc3339(t, "2024-05-01T12:00:00.1234567Z"),
			Fields: Object{{"@mt", "Processed {@Position} in {Elapsed} ms"},
				{"Position", Object{{"Latitude", int64(25)}, {"Longitude", int64(134)}}},
				{"Elapsed", int64(34)}}},
	}, {
		name: "Serilog rendered compact",
		line: `{"@t":"2024-05-01T12:00:00Z","@m":"Hello, \"world\"","@i":"a1b2c3d4","@l":"Error","@x":"System.Exception: x"}`,
		want: Line{Message: `Hello, "world"`, HasMessage: true, Severity: 17, SeverityText: "Error",
			Time: rfc3339(t, "2024-05-01T12:00:00Z"), Fields: Object{{"@i", "a1b2c3d4"}, {"@x", "System.Exception: x"}}},
	}, {
		name: "python-json-logger",
		line: `{"asctime": "2024-05-01 12:00:00,123", "levelname": "CRITICAL", "name": "app.db", "message": "query failed", "exc_info": "Traceback (most recent call last):\n  File \"x.py\""}`,
		want: Line{Message: "query failed", HasMessage: true, Severity: 18, SeverityText: "CRITICAL",
			Time:   rfc3339(t, "2024-05-01T12:00:00.123Z"),
			Fields: Object{{"name", "app.db"}, {"exc_info", "Traceback (most recent call last):\n  File \"x.py\""}}},
	}, {
		name: "nginx log_format escape=json: no level, no message",
		line: `{"time":"2024-05-01T12:00:00+00:00","remote_addr":"10.88.0.1","request":"GET /healthz HTTP/1.1","status":"200","request_time":"0.000","http_user_agent":"kube-probe/1.29"}`,
		want: Line{Time: rfc3339(t, "2024-05-01T12:00:00Z"),
			Fields: Object{{"remote_addr", "10.88.0.1"}, {"request", "GET /healthz HTTP/1.1"}, {"status", "200"},
				{"request_time", "0.000"}, {"http_user_agent", "kube-probe/1.29"}}},
	}, {
		name: "ECS dotted keys",
		line: `{"@timestamp":"2024-05-01T12:00:00.000Z","log.level":"info","message":"hi","ecs.version":"1.6.0","trace.id":"` + traceHex + `","span.id":"` + spanHex + `","service.name":"shop"}`,
		want: Line{Message: "hi", HasMessage: true, Severity: 9, SeverityText: "info", Time: rfc3339(t, "2024-05-01T12:00:00Z"),
			TraceID: tid, SpanID: sid, Fields: Object{{"ecs.version", "1.6.0"}, {"service.name", "shop"}}},
	}, {
		name: "ECS nested keys, upper-case hex; emptied objects leave",
		line: `{"@timestamp":"2024-05-01T12:00:00Z","log":{"level":"DEBUG","logger":"app"},"trace":{"id":"` + strings.ToUpper(traceHex) + `"},"span":{"id":"` + spanHex + `"},"message":"m"}`,
		want: Line{Message: "m", HasMessage: true, Severity: 5, SeverityText: "DEBUG", Time: rfc3339(t, "2024-05-01T12:00:00Z"),
			TraceID: tid, SpanID: sid, Fields: Object{{"log", Object{{"logger", "app"}}}}},
	}, {
		name: "OpenTelemetry names",
		line: `{"timestamp":"2024-05-01T12:00:00Z","severity_text":"INFO2","body":"x","trace_id":"` + traceHex + `","span_id":"` + spanHex + `","trace_flags":"01"}`,
		want: Line{Severity: 10, SeverityText: "INFO2", Time: rfc3339(t, "2024-05-01T12:00:00Z"),
			TraceID: tid, SpanID: sid, TraceFlags: 1, Fields: Object{{"body", "x"}}},
	}, {
		name: "camelCase trace context, numeric flags",
		line: `{"msg":"x","traceId":"` + traceHex + `","spanId":"` + spanHex + `","traceFlags":1}`,
		want: Line{Message: "x", HasMessage: true, TraceID: tid, SpanID: sid, TraceFlags: 1},
	}, {
		name: "traceparent",
		line: `{"msg":"call","traceparent":"00-` + traceHex + `-` + spanHex + `-01"}`,
		want: Line{Message: "call", HasMessage: true, TraceID: tid, SpanID: sid, TraceFlags: 1},
	}, {
		name: "traceparent with an all-zero trace id stays",
		line: `{"msg":"call","traceparent":"00-00000000000000000000000000000000-` + spanHex + `-01"}`,
		want: Line{Message: "call", HasMessage: true,
			Fields: Object{{"traceparent", "00-00000000000000000000000000000000-" + spanHex + "-01"}}},
	}, {
		name: "invalid trace id stays, and a span id without one is not read",
		line: `{"msg":"x","trace_id":"xyz","span_id":"` + spanHex + `"}`,
		want: Line{Message: "x", HasMessage: true, Fields: Object{{"trace_id", "xyz"}, {"span_id", spanHex}}},
	}, {
		name: "unknown level: text kept, field stays",
		line: `{"level":"chatty","msg":"x"}`,
		want: Line{Message: "x", HasMessage: true, SeverityText: "chatty", Fields: Object{{"level", "chatty"}}},
	}, {
		name: "syslog priority as a number and as a string",
		line: `{"severity":3,"lvl":"6","msg":"x"}`,
		want: Line{Message: "x", HasMessage: true, Severity: 17, SeverityText: "3", Fields: Object{{"lvl", "6"}}},
	}, {
		name: "a non-string message stays a field",
		line: `{"msg":42,"message":"real"}`,
		want: Line{Message: "real", HasMessage: true, Fields: Object{{"msg", int64(42)}}},
	}, {
		name: "msg before message, whatever the line's order",
		line: `{"message":"second","msg":"first"}`,
		want: Line{Message: "first", HasMessage: true, Fields: Object{{"message", "second"}}},
	}, {
		name: "duplicate keys: the first is read, the other kept",
		line: `{"msg":"a","level":"info","msg":"b","level":"error"}`,
		want: Line{Message: "a", HasMessage: true, Severity: 9, SeverityText: "info",
			Fields: Object{{"msg", "b"}, {"level", "error"}}},
	}, {
		name: "a time that does not parse stays; the next key is read",
		line: `{"time":"12ms","timestamp":"2024-05-01T12:00:00Z","t":"x"}`,
		want: Line{Time: rfc3339(t, "2024-05-01T12:00:00Z"), Fields: Object{{"time", "12ms"}, {"t", "x"}}},
	}, {
		name: "docker json-file: log is not the message",
		line: `{"log":"hello\n","stream":"stdout","time":"2024-05-01T12:00:00.123456789Z"}`,
		want: Line{Time: rfc3339(t, "2024-05-01T12:00:00.123456789Z"),
			Fields: Object{{"log", "hello\n"}, {"stream", "stdout"}}},
	}, {
		name: "empty object",
		line: ` {} `,
		want: Line{},
	}, {
		name: "all value types",
		line: "\t{\"s\":\"\\u00e9\\ud83d\\ude00\",\"i\":-12,\"f\":1.5e3,\"big\":12345678901234567890,\"huge\":1e400,\"t\":true,\"n\":null,\"a\":[1,\"x\",[],{}],\"o\":{}}\r\n",
		want: Line{Fields: Object{{"s", "é😀"}, {"i", int64(-12)}, {"f", 1500.0}, {"big", 1.2345678901234567e19},
			{"huge", "1e400"}, {"t", true}, {"n", nil}, {"a", []any{int64(1), "x", []any{}, Object{}}}, {"o", Object{}}}},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want := tt.want
			want.Format = JSON
			got, err := Parse(JSON, tt.line, Options{})
			if err != nil {
				t.Fatal(err)
			}
			if d := lineDiff(got, want); d != "" {
				t.Error(d)
			}
			auto, err := Parse(Auto, tt.line, Options{})
			if err != nil {
				t.Fatal(err)
			}
			if d := lineDiff(auto, want); d != "" {
				t.Errorf("Auto: %s", d)
			}
		})
	}
}

func TestParseKeepObject(t *testing.T) {
	line := `{"level":"info","ts":1714567890,"msg":"listening","trace_id":"` + traceHex + `","log":{"level":"warn"},"addr":":8080"}`
	got, err := Parse(JSON, line, Options{KeepObject: true})
	if err != nil {
		t.Fatal(err)
	}
	want := Line{Format: JSON, Severity: 9, SeverityText: "info", Time: time.Unix(1714567890, 0),
		TraceID: traceID(t, traceHex),
		Object: Object{{"level", "info"}, {"ts", int64(1714567890)}, {"msg", "listening"},
			{"trace_id", traceHex}, {"log", Object{{"level", "warn"}}}, {"addr", ":8080"}}}
	if d := lineDiff(got, want); d != "" {
		t.Error(d)
	}

	got, err = Parse(Logfmt, `level=warn msg=hi`, Options{KeepObject: true})
	if err != nil {
		t.Fatal(err)
	}
	want = Line{Format: Logfmt, Severity: 13, SeverityText: "warn", Object: Object{{"level", "warn"}, {"msg", "hi"}}}
	if d := lineDiff(got, want); d != "" {
		t.Error(d)
	}

	got, _ = Parse(JSON, `{}`, Options{KeepObject: true})
	if got.Object == nil || len(got.Object) != 0 {
		t.Errorf("KeepObject of {} = %#v, want an empty non-nil Object", got.Object)
	}
}

func TestParseLogfmt(t *testing.T) {
	tests := []struct {
		name string
		line string
		want Line
		auto bool // Auto reads the line as logfmt too
	}{{
		name: "logrus TextFormatter",
		line: `time="2024-05-01T12:00:00Z" level=error msg="connection refused" host=db port=5432`,
		want: Line{Message: "connection refused", HasMessage: true, Severity: 17, SeverityText: "error",
			Time: rfc3339(t, "2024-05-01T12:00:00Z"), Fields: Object{{"host", "db"}, {"port", "5432"}}},
		auto: true,
	}, {
		name: "slog TextHandler",
		line: `time=2024-05-01T12:00:00.123+02:00 level=INFO msg="hello world" user=bob count=3`,
		want: Line{Message: "hello world", HasMessage: true, Severity: 9, SeverityText: "INFO",
			Time: rfc3339(t, "2024-05-01T10:00:00.123Z"), Fields: Object{{"user", "bob"}, {"count", "3"}}},
		auto: true,
	}, {
		name: "go-kit, epoch seconds as a string",
		line: `ts=1714567890.25 caller=main.go:12 level=warn msg=retrying attempt=3 trace_id=` + traceHex,
		want: Line{Message: "retrying", HasMessage: true, Severity: 13, SeverityText: "warn",
			Time: time.Unix(1714567890, 25e7), TraceID: traceID(t, traceHex),
			Fields: Object{{"caller", "main.go:12"}, {"attempt", "3"}}},
		auto: true,
	}, {
		name: "Heroku router: no level or message key",
		line: `at=info method=GET path=/ host=example.com status=200 bytes=1548`,
		want: Line{Fields: Object{{"at", "info"}, {"method", "GET"}, {"path", "/"}, {"host", "example.com"},
			{"status", "200"}, {"bytes", "1548"}}},
	}, {
		name: "flags, empty values, '=' and quotes inside bare values",
		line: "level=debug cached  msg= q=a=b r=x\"y\tz=\"\"",
		want: Line{HasMessage: true, Severity: 5, SeverityText: "debug",
			Fields: Object{{"cached", ""}, {"q", "a=b"}, {"r", `x"y`}, {"z", ""}}},
		auto: true,
	}, {
		name: "escapes, kept when unknown",
		line: `msg="say \"hi\"\n\tbye \u00e9\ud83d\ude00" path="C:\dir" x=1`,
		want: Line{Message: "say \"hi\"\n\tbye é😀", HasMessage: true,
			Fields: Object{{"path", `C:\dir`}, {"x", "1"}}},
		auto: true,
	}, {
		name: "invalid UTF-8 becomes U+FFFD",
		line: "msg=\"a\xffb\" k\xfe=v\xfd",
		want: Line{Message: "a\uFFFDb", HasMessage: true, Fields: Object{{"k\uFFFD", "v\uFFFD"}}},
		auto: true,
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want := tt.want
			want.Format = Logfmt
			got, err := Parse(Logfmt, tt.line, Options{})
			if err != nil {
				t.Fatal(err)
			}
			if d := lineDiff(got, want); d != "" {
				t.Error(d)
			}
			auto, _ := Parse(Auto, tt.line, Options{})
			if (auto.Format == Logfmt) != tt.auto {
				t.Errorf("Auto read it as %v", auto.Format)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	long := strings.Repeat("secret ", 100)
	tests := []struct {
		f    Format
		line string
		want string
	}{
		{JSON, ``, "json: empty line at byte 0"},
		{JSON, `   `, "json: empty line at byte 3"},
		{JSON, `[1,2]`, "json: not a JSON object at byte 0"},
		{JSON, `"str"`, "json: not a JSON object at byte 0"},
		{JSON, `plain text ` + long, "json: not a JSON object at byte 0"},
		{JSON, `{"a":1} x`, "json: data after the object at byte 8"},
		{JSON, `{"a":1}{}`, "json: data after the object at byte 7"},
		{JSON, `{"a":1,}`, "json: expected a string key at byte 7"},
		{JSON, `{"a" 1}`, "json: expected ':' after a key at byte 5"},
		{JSON, `{"a":1 "b":2}`, "json: expected ',' or '}' after an object member at byte 7"},
		{JSON, `{"a":[1 2]}`, "json: expected ',' or ']' after an array element at byte 8"},
		{JSON, `{"a":01}`, "json: expected ',' or '}' after an object member at byte 6"},
		{JSON, `{"a":1.}`, "json: expected a digit after the decimal point at byte 7"},
		{JSON, `{"a":1e}`, "json: expected a digit in the exponent at byte 7"},
		{JSON, `{"a":+1}`, "json: invalid character, expected a value at byte 5"},
		{JSON, `{"a":tru}`, "json: invalid literal at byte 5"},
		{JSON, `{"a":"x` + long, "json: unterminated string at byte 707"},
		{JSON, `{"a":"\x"}`, "json: invalid escape at byte 6"},
		{JSON, `{"a":"\u12"}`, `json: invalid \u escape at byte 6`},
		{JSON, "{\"a\":\"\t\"}", "json: control character in string at byte 6"},
		{JSON, `{"a":1`, "json: expected ',' or '}' after an object member at byte 6"},
		{JSON, `{"a":` + strings.Repeat("[", 64) + strings.Repeat("]", 64) + `}`, "json: nested too deeply at byte 68"},
		{Logfmt, ``, "logfmt: no key=value pair at byte 0"},
		{Logfmt, `GET /index.html 200`, "logfmt: no key=value pair at byte 0"},
		{Logfmt, `msg="unterminated ` + long, "logfmt: unterminated string at byte 718"},
		{Logfmt, `msg="a\"`, "logfmt: unterminated string at byte 8"},
		{Logfmt, `=value`, "logfmt: '=' without a key at byte 0"},
		{Logfmt, `a=1 "b"=2`, "logfmt: quote without a key at byte 4"},
		{Logfmt, `key"x"=1`, "logfmt: quote after a key at byte 3"},
		{Logfmt, `a="b"c`, "logfmt: no space after a quoted value at byte 5"},
		{Format(9), `x`, "logparse: unknown format Format(9)"},
	}
	for _, tt := range tests {
		got, err := Parse(tt.f, tt.line, Options{})
		if err == nil {
			t.Errorf("Parse(%v, %.40q) = %+v, want an error", tt.f, tt.line, got)
			continue
		}
		if err.Error() != tt.want {
			t.Errorf("Parse(%v, %.40q): %q, want %q", tt.f, tt.line, err, tt.want)
		}
		if strings.Contains(err.Error(), "secret") {
			t.Errorf("error %q echoes the line", err)
		}
		if d := lineDiff(got, Line{}); d != "" {
			t.Errorf("Parse(%v, %.40q) = %+v with an error, want the zero Line", tt.f, tt.line, got)
		}
	}
	// Just within the depth limit.
	if _, err := Parse(JSON, `{"a":`+strings.Repeat("[", 63)+strings.Repeat("]", 63)+`}`, Options{}); err != nil {
		t.Errorf("depth 64: %v", err)
	}
}

func TestParseAuto(t *testing.T) {
	tests := []struct {
		line string
		want Line
	}{
		{`{"level":"warn","msg":"x"}`, Line{Format: JSON, Severity: 13, SeverityText: "warn", Message: "x", HasMessage: true}},
		{`{"broken": `, Line{}},
		{`{"broken": ERROR`, Line{}},
		{`level=warn disk`, Line{Format: Logfmt, Severity: 13, SeverityText: "warn", Fields: Object{{"disk", ""}}}},
		{`GET /x?a=b 200`, Line{}},
		{`2024-05-01 12:00:00 ERROR x=1`, Line{Format: Text, Severity: 17, SeverityText: "ERROR"}},
		{`ERROR: failed to connect`, Line{Format: Text, Severity: 17, SeverityText: "ERROR"}},
		{`[warn] msg="quoted" unterminated="`, Line{Format: Text, Severity: 13, SeverityText: "warn"}},
		{`Starting nginx 1.25`, Line{}},
		{``, Line{}},
	}
	for _, tt := range tests {
		got, err := Parse(Auto, tt.line, Options{})
		if err != nil {
			t.Fatal(err)
		}
		if d := lineDiff(got, tt.want); d != "" {
			t.Errorf("Auto %q: %s", tt.line, d)
		}
	}
}

func TestParseRawAndText(t *testing.T) {
	for _, line := range []string{`{"level":"error"}`, `level=error`, `ERROR x`} {
		if got, err := Parse(Raw, line, Options{}); err != nil || lineDiff(got, Line{}) != "" {
			t.Errorf("Raw %q = %+v, %v", line, got, err)
		}
	}
	// Text reads only a leading level, even from a structured line.
	if got, _ := Parse(Text, `{"level":"error"}`, Options{}); lineDiff(got, Line{}) != "" {
		t.Errorf("Text of JSON = %+v", got)
	}
}

func TestFormat(t *testing.T) {
	for _, f := range []Format{Raw, Text, JSON, Logfmt, Auto} {
		got, ok := ParseFormat(f.String())
		if !ok || got != f {
			t.Errorf("ParseFormat(%q) = %v, %v", f.String(), got, ok)
		}
	}
	for _, s := range []string{"", "JSON", "yaml", "raw "} {
		if f, ok := ParseFormat(s); ok {
			t.Errorf("ParseFormat(%q) = %v, want false", s, f)
		}
	}
	if s := Format(7).String(); s != "Format(7)" {
		t.Errorf("Format(7).String() = %q", s)
	}
}
