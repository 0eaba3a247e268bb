package podman

import "testing"

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
