// Package backoff retries an operation with capped exponential backoff until it
// succeeds, fails for good, or its context ends. The log path has one owner of
// retries, the sink, and every sink retries through this loop.
package backoff

import (
	"context"
	"errors"
	"time"
)

// Policy bounds the waits between attempts.
type Policy struct {
	Min, Max time.Duration
}

// permanentError marks an error that no retry can fix.
type permanentError struct{ err error }

func (p permanentError) Error() string { return p.err.Error() }
func (p permanentError) Unwrap() error { return p.err }

// Permanent marks err as one that no retry can fix (the receiver refused the data
// itself): Retry returns it at once.
func Permanent(err error) error { return permanentError{err} }

// IsPermanent says whether err was marked Permanent.
func IsPermanent(err error) bool {
	var p permanentError
	return errors.As(err, &p)
}

// Retry calls op until it returns nil or a Permanent error, or ctx ends (then it
// returns ctx's error). Before each wait it calls failed, when set, with the number
// of the attempt that failed (from 1), its error and the wait that follows.
func Retry(ctx context.Context, p Policy, op func(context.Context) error, failed func(attempt int, err error, wait time.Duration)) error {
	wait := p.Min
	for attempt := 1; ; attempt++ {
		err := op(ctx)
		if err == nil || IsPermanent(err) {
			return err
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if failed != nil {
			failed(attempt, err, wait)
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
		wait = min(2*wait, p.Max)
	}
}
