package podman

import "testing"

func TestRecent(t *testing.T) {
	type step struct {
		put     string
		at, now int64
		have    []string // remembered after the step
		gone    []string // forgotten after the step
	}
	cases := []struct {
		name  string
		steps []step
	}{
		{"window", []step{
			{put: "a", at: 0, now: 0, have: []string{"a"}},
			{put: "b", at: 5, now: 5, have: []string{"a", "b"}},
			{put: "c", at: 10, now: 10, have: []string{"a", "b", "c"}}, // a is exactly window old
			{put: "d", at: 11, now: 11, have: []string{"b", "c", "d"}, gone: []string{"a"}},
			{put: "e", at: 30, now: 30, have: []string{"e"}, gone: []string{"b", "c", "d"}},
		}},
		{"max", []step{
			{put: "a", at: 0, now: 0},
			{put: "b", at: 1, now: 1},
			{put: "c", at: 2, now: 2, have: []string{"a", "b", "c"}},
			{put: "d", at: 3, now: 3, have: []string{"b", "c", "d"}, gone: []string{"a"}},
		}},
		{"put again keeps the newer time", []step{
			{put: "a", at: 0, now: 0},
			{put: "b", at: 1, now: 1},
			{put: "a", at: 8, now: 8},
			{put: "c", at: 15, now: 15, have: []string{"a", "c"}, gone: []string{"b"}},
			{put: "d", at: 19, now: 19, have: []string{"c", "d"}, gone: []string{"a", "b"}},
		}},
		{"an old time among new ones leaves with its turn", []step{
			{put: "new", at: 100, now: 100},
			{put: "old", at: 50, now: 100, have: []string{"new", "old"}},
			{put: "x", at: 111, now: 111, have: []string{"x"}, gone: []string{"new", "old"}},
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := newRecent[string, int](10, 3)
			for i, s := range c.steps {
				r.put(s.put, i, s.at, s.now)
				for _, k := range s.have {
					if _, ok := r.get(k); !ok {
						t.Fatalf("step %d: %q forgotten", i, k)
					}
				}
				for _, k := range s.gone {
					if _, ok := r.get(k); ok {
						t.Fatalf("step %d: %q still remembered", i, k)
					}
				}
			}
		})
	}
}

// Under steady churn (a container removed every few seconds for days) what is kept,
// map and queue alike, stays near what one window holds.
func TestRecentStaysBoundedUnderChurn(t *testing.T) {
	const window, every = 600, 5 // a 10-minute window, one put per 5 s
	r := newRecent[int, struct{}](window, 4096)
	for i := range 100_000 {
		now := int64(i * every)
		r.put(i, struct{}{}, now, now)
		if len(r.m) > window/every+1 {
			t.Fatalf("after %d puts: %d remembered, want at most %d", i+1, len(r.m), window/every+1)
		}
		if cap(r.queue) > 4*(window/every+1)+128 {
			t.Fatalf("after %d puts: queue capacity %d keeps growing", i+1, cap(r.queue))
		}
	}
	if v, ok := r.get(99_999); !ok {
		t.Fatalf("the newest entry is forgotten (%v)", v)
	}
}
