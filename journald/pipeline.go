package journald

import (
	"context"
	"sync"
)

// inFlight is a batch handed to the sink; done gets Deliver's result.
type inFlight struct {
	b    batch
	done chan error
}

// deliverPipelined keeps up to depth batches in the sink at once, so that the sink
// can build and send one while the receiver is still taking the one before, and
// acknowledges them strictly in the order they were read: a cursor is saved only
// once its batch and all before it were accepted, whatever order they finish in.
func (r *Reader) deliverPipelined(ctx context.Context, batches <-chan batch, depth int) error {
	// Ended when the acknowledging below stops, so that the batches still in
	// the sink give up and the dispatcher stops handing out more.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	// order holds the batches in flight, oldest first; the acknowledging loop
	// holds one more, so depth-1 here keeps depth in the sink.
	order := make(chan *inFlight, depth-1)
	var wg sync.WaitGroup
	wg.Go(func() {
		defer close(order)
		for {
			var b batch
			var ok bool
			// Not only batches: after a sink gave up, Run closes them only once
			// this returned.
			select {
			case b, ok = <-batches:
			case <-ctx.Done():
				return
			}
			if !ok {
				return
			}
			f := &inFlight{b: b, done: make(chan error, 1)}
			select {
			case order <- f:
			case <-ctx.Done():
				return
			}
			if len(b.records) == 0 {
				f.done <- nil
				continue
			}
			wg.Go(func() { f.done <- r.cfg.Sink.Deliver(ctx, b.records) })
		}
	})
	a := acker{r: r}
	var err error
	for f := range order {
		if err = a.ack(ctx, f.b, <-f.done); err != nil || a.stopped {
			break
		}
	}
	// Whatever is still in flight is not acknowledged: its cursor is never saved
	// and it is read again on the next start. Wait for the sink to let go of it.
	cancel()
	for range order {
	}
	wg.Wait()
	return err
}
