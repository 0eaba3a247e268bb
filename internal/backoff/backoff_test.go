package backoff

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestRetry(t *testing.T) {
	fail := errors.New("unavailable")
	refused := errors.New("refused")
	cases := []struct {
		name     string
		results  []error // what op returns, attempt by attempt; nil after the last
		want     error
		attempts int
		waits    []time.Duration
	}{
		{"first attempt succeeds", nil, nil, 1, nil},
		{"succeeds after failures, waits double up to the cap", []error{fail, fail, fail, fail}, nil, 5,
			[]time.Duration{time.Millisecond, 2 * time.Millisecond, 4 * time.Millisecond, 4 * time.Millisecond}},
		{"a permanent error ends it at once", []error{fail, Permanent(refused)}, refused, 2, []time.Duration{time.Millisecond}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			attempts := 0
			var waits []time.Duration
			err := Retry(context.Background(), Policy{Min: time.Millisecond, Max: 4 * time.Millisecond},
				func(context.Context) error {
					attempts++
					if attempts <= len(c.results) {
						return c.results[attempts-1]
					}
					return nil
				},
				func(attempt int, err error, wait time.Duration) { waits = append(waits, wait) })
			if !errors.Is(err, c.want) || (c.want == nil) != (err == nil) {
				t.Fatalf("err %v, want %v", err, c.want)
			}
			if attempts != c.attempts || len(waits) != len(c.waits) {
				t.Fatalf("%d attempts, waits %v; want %d and %v", attempts, waits, c.attempts, c.waits)
			}
			for i := range waits {
				if waits[i] != c.waits[i] {
					t.Fatalf("waits %v, want %v", waits, c.waits)
				}
			}
		})
	}
}

func TestRetryStopsWithContext(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	err := Retry(ctx, Policy{Min: time.Millisecond, Max: 10 * time.Millisecond},
		func(context.Context) error { return errors.New("down") }, nil)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err %v, want the context's", err)
	}
}
