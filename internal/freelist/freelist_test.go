package freelist

import "testing"

// A list hands back what was put, up to its size, and makes values past that.
func TestList(t *testing.T) {
	made := 0
	l := New(2, func() *int { made++; v := -made; return &v })
	a, b, c := 1, 2, 3
	l.Put(&a)
	l.Put(&b)
	l.Put(&c) // past the size: dropped
	for i, want := range []int{1, 2, -1} {
		if got := *l.Get(); got != want {
			t.Fatalf("get %d: %d, want %d", i, got, want)
		}
	}
	if made != 1 {
		t.Fatalf("made %d values, want 1 (only once the kept ones ran out)", made)
	}
}
