package podman

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"sync"

	"github.com/podexporter/podexporter/internal/statefile"
)

// EventPositions keeps, per Podman service, the time of the newest container event a
// sink acknowledged. An engine started with them subscribes from there, so Podman
// replays what happened while podexporter was down; what was sent but not yet
// acknowledged at a crash comes again (at most the batch in flight).
type EventPositions struct {
	path string
	mu   sync.Mutex
	at   map[string]int64 // service -> event time, Unix nanoseconds
}

// LoadEventPositions reads the positions kept in the file at path; a missing file is
// a first start. A file that cannot be read or parsed is reported, and the engines
// then start from now, as on a first start.
func LoadEventPositions(path string) (*EventPositions, error) {
	p := &EventPositions{path: path, at: map[string]int64{}}
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return p, nil
	}
	if err != nil {
		return p, fmt.Errorf("read event positions: %w", err)
	}
	if err := json.Unmarshal(b, &p.at); err != nil {
		p.at = map[string]int64{}
		return p, fmt.Errorf("event positions %s: %w", path, err)
	}
	return p, nil
}

// Since returns where the service's event stream was acknowledged, 0 when never.
func (p *EventPositions) Since(service string) int64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.at[service]
}

// Ack records that the service's events up to nano reached the sink and saves the
// positions when that moved one forward.
func (p *EventPositions) Ack(service string, nano int64) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if nano <= p.at[service] {
		return nil
	}
	p.at[service] = nano
	b, err := json.Marshal(p.at)
	if err != nil {
		return err
	}
	return statefile.Write(p.path, b)
}
