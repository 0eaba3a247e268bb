package podman

import (
	"log/slog"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// FuzzParseNetDev: any /proc/net/dev text is parsed or refused without panic.
func FuzzParseNetDev(f *testing.F) {
	const header = "Inter-|   Receive |  Transmit\n face |bytes packets|bytes packets\n"
	f.Add(header + "  eth0: 1000 10 1 2 0 0 0 0 500 5 3 4 0 0 0 0\n")
	f.Add(header + "    lo: 1 1 0 0 0 0 0 0 1 1 0 0 0 0 0 0\n")
	f.Add("x")
	f.Add(header + "eth0:18446744073709551615 1 0 0 0 0 0 0 1 1 0 0 0 0 0 0\n")
	f.Fuzz(func(t *testing.T, content string) {
		n, err := parseNetDev([]byte(content))
		if err == nil && n == nil {
			t.Fatal("nil counters without an error")
		}
	})
}

// FuzzInspectLabels: whatever a container's name, image and labels hold (any local
// user with rootless Podman chooses them), the allowlisted labels the source exports
// are valid UTF-8, at most LabelValueMax bytes, and a prefix of the label's value;
// the first seed is issue 19's crash, a two-byte character across byte 128.
func FuzzInspectLabels(f *testing.F) {
	f.Add(strings.Repeat("A", 127)+"é", "x", "localhost/busybox:test", 128)
	f.Add("ab😀", "a\xffb", "img\x00", 3)
	f.Add(strings.Repeat("é", 64), "", "", 1)
	f.Fuzz(func(t *testing.T, value, name, image string, max int) {
		if max < 1 || max > 1<<16 {
			return
		}
		api := newFakeAPI()
		id := strings.Repeat("a", 64)
		api.put(id, name, "created", 0, time.Time{})
		api.containers[id].ImageName = image
		api.containers[id].Config.Labels = map[string]string{"team": value, "other": value}
		e := New(Options{Dial: api.dial, LabelKeys: []string{"team", "absent"}, LabelValueMax: max, Logger: slog.New(slog.DiscardHandler)})
		if err := e.inspect(api, id); err != nil {
			t.Fatal(err)
		}
		c := e.containers[id]
		got, ok := c.ExportedLabels["team"]
		if !ok || len(c.ExportedLabels) != 1 {
			t.Fatalf("exported %q, want team alone", c.ExportedLabels)
		}
		valid := strings.ToValidUTF8(value, "\uFFFD")
		if !utf8.ValidString(got) || len(got) > max || !strings.HasPrefix(valid, got) {
			t.Fatalf("label value %q exported as %q (max %d)", value, got, max)
		}
		if cut := len(c.LabelsCut) == 1 && c.LabelsCut[0] == "team"; cut != (got != valid) {
			t.Fatalf("LabelsCut %q for %q -> %q", c.LabelsCut, value, got)
		}
	})
}
