package bpf

import "testing"

func TestKernelAtLeast(t *testing.T) {
	for _, c := range []struct {
		rel  string
		want bool
	}{
		{"5.11.0", true}, {"5.10.209-1", false}, {"6.1.0-18-amd64", true}, {"6.18", true},
		{"4.19.0", false}, {"5.11-rc1", true}, {"", false}, {"garbage", false}, {"5", false},
	} {
		if got := kernelAtLeast(c.rel, 5, 11); got != c.want {
			t.Errorf("kernelAtLeast(%q, 5, 11) = %v, want %v", c.rel, got, c.want)
		}
	}
}
