package otlp

import (
	"context"
	"errors"
	"log/slog"
	"regexp"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/podexporter/podexporter/internal/backoff"
	"go.opentelemetry.io/otel"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Stats are one signal's export counters, read by the otlp collector.
type Stats struct {
	// Sent counts records or points in exports the receiver acknowledged, including any
	// it then rejected in a partial success (see Rejected).
	Sent uint64
	// Failed counts records or points in export attempts that failed.
	Failed uint64
	// Retried counts records or points sent again after a failure.
	Retried uint64
	// Rejected counts what a receiver refused in a partial success.
	Rejected uint64
	// Dropped counts what was given up on: lifecycle events beyond the buffer, metric
	// pushes that failed (the next push carries the cumulative values).
	Dropped uint64
	// InFlight is how many batches are being exported or retried now.
	InFlight int64
	// Backoff is the wait before the next retry, 0 when exports succeed.
	Backoff time.Duration
	// LastSuccess is when an export last succeeded.
	LastSuccess time.Time
}

type counters struct {
	sent, failed, retried, rejected, dropped atomic.Uint64
	inFlight, backoff, lastSuccess           atomic.Int64
}

func (c *counters) snapshot() Stats {
	s := Stats{
		Sent: c.sent.Load(), Failed: c.failed.Load(), Retried: c.retried.Load(),
		Rejected: c.rejected.Load(), Dropped: c.dropped.Load(),
		InFlight: c.inFlight.Load(), Backoff: time.Duration(c.backoff.Load()),
	}
	if t := c.lastSuccess.Load(); t != 0 {
		s.LastSuccess = time.Unix(0, t)
	}
	return s
}

// Backoff bounds: a collector restart is usually seconds, a long outage should not
// make recovery wait minutes.
const (
	minBackoff = 250 * time.Millisecond
	maxBackoff = 15 * time.Second
)

// retry runs export until it succeeds or ctx ends, backing off between attempts. It
// logs the first failure of an outage and the recovery, nothing in between. A batch
// the receiver refuses as invalid is counted as rejected and skipped: retrying it
// would stall the pipeline forever. It returns how many attempts it made.
func (c *counters) retry(ctx context.Context, logger *slog.Logger, what string, n int, export func(context.Context) error) (int, error) {
	c.inFlight.Add(1)
	defer c.inFlight.Add(-1)
	failing := false
	attempts := 0
	err := backoff.Retry(ctx, backoff.Policy{Min: minBackoff, Max: maxBackoff}, func(ctx context.Context) error {
		if attempts++; attempts > 1 {
			c.retried.Add(uint64(n))
		}
		err := export(ctx)
		if err == nil {
			return nil
		}
		c.failed.Add(uint64(n))
		if permanent(err) {
			return backoff.Permanent(err)
		}
		return err
	}, func(_ int, err error, wait time.Duration) {
		if !failing {
			logger.Warn("otlp export failing; holding the batch and retrying until the receiver is back", "signal", what, "err", err)
			failing = true
		}
		c.backoff.Store(int64(wait))
	})
	switch {
	case err == nil:
		c.sent.Add(uint64(n))
		c.lastSuccess.Store(time.Now().UnixNano())
		c.backoff.Store(0)
		if failing {
			logger.Info("otlp export recovered", "signal", what, "attempts", attempts)
		}
		return attempts, nil
	case backoff.IsPermanent(err):
		c.rejected.Add(uint64(n))
		logger.Error("otlp receiver refused a batch as invalid; counted as rejected and skipped", "signal", what, "records", n, "err", err)
		return attempts, nil
	}
	return attempts, err
}

var httpBadRequest = regexp.MustCompile(`\b400 Bad Request\b`)

// permanent says the receiver refused the data itself (gRPC InvalidArgument, HTTP 400),
// as opposed to being unavailable, overloaded or misconfigured (auth), which a retry
// can outlast.
func permanent(err error) bool {
	if s, ok := status.FromError(err); ok && s.Code() == codes.InvalidArgument {
		return true
	}
	var se interface{ GRPCStatus() *status.Status }
	if errors.As(err, &se) && se.GRPCStatus().Code() == codes.InvalidArgument {
		return true
	}
	return httpBadRequest.MatchString(err.Error())
}

// The metric exporters report partial success to the global error handler, not to
// the caller; this one turns the report into the MetricPusher's Rejected counter. (Log
// requests are sent by podexporter itself, which reads the response: logexport.go.)
var (
	partialMetrics = regexp.MustCompile(`(\d+) (?:metric )?data points? rejected`)

	partialMu     sync.Mutex
	partialTarget *counters
	partialLogged bool
	partialLogger *slog.Logger
	installOnce   sync.Once
)

// watchPartialSuccess sends the metric exporters' partial successes to c.
func watchPartialSuccess(c *counters, logger *slog.Logger) {
	partialMu.Lock()
	partialTarget = c
	partialLogger = logger
	partialMu.Unlock()
	installErrorHandler()
}

// installErrorHandler replaces the global handler, which prints to the standard
// logger, before the first exporter is built: building one reports its options there
// (the gRPC metric exporter calls the "none" compressor that we choose invalid).
func installErrorHandler() {
	installOnce.Do(func() { otel.SetErrorHandler(otel.ErrorHandlerFunc(handleOTelError)) })
}

func handleOTelError(err error) {
	if err == nil {
		return
	}
	partialMu.Lock()
	defer partialMu.Unlock()
	if m := partialMetrics.FindStringSubmatch(err.Error()); m != nil && partialTarget != nil {
		n, _ := strconv.ParseUint(m[1], 10, 64)
		partialTarget.rejected.Add(n)
		if !partialLogged && partialLogger != nil {
			partialLogger.Warn("otlp receiver rejected part of a batch (counted; logged once)", "err", err)
			partialLogged = true
		}
		return
	}
	if partialLogger != nil && !errors.Is(err, context.Canceled) {
		partialLogger.Debug("opentelemetry error", "err", err)
	}
}
