package main

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/podexporter/podexporter/internal/testenv"
)

// TestLogsEnrichedFromPodman runs the daemon with both sources and checks that a real
// container's line carries what only the Podman source knows: image and an allowlisted
// label, and not a label outside the allowlist.
func TestLogsEnrichedFromPodman(t *testing.T) {
	testenv.RequireJournald(t)
	p := testenv.RequirePodman(t)
	out := filepath.Join(t.TempDir(), "logs.jsonl")
	d := startDaemon(t, nil, "--podman.socket="+p.Socket, "--journal.sink=jsonl", "--journal.output="+out,
		"--journal.start=tail", "--podman.container-label=app")
	name := testenv.UniqueName("enrich")
	// It logs at once: the reader must still learn its image and labels.
	p.Run(t, name, []string{"--label", "app=shop", "--label", "secret=x"}, "sh", "-c", "echo enriched-line; sleep 600")

	type line struct {
		Body   string            `json:"body"`
		Name   string            `json:"container.name"`
		Image  string            `json:"container.image.name"`
		Labels map[string]string `json:"labels"`
	}
	var got line
	testenv.Eventually(t, 20*time.Second, "the container's line in the JSON lines output", func() bool {
		f, err := os.Open(out)
		if err != nil {
			return false
		}
		defer f.Close()
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			var l line
			if json.Unmarshal(sc.Bytes(), &l) == nil && l.Name == name && l.Body == "enriched-line" {
				got = l
				return true
			}
		}
		return false
	})
	if got.Image != testenv.Image {
		t.Errorf("image = %q, want %q", got.Image, testenv.Image)
	}
	if got.Labels["app"] != "shop" || got.Labels["secret"] != "" {
		t.Errorf("labels = %v, want app=shop only", got.Labels)
	}
	// The line is counted per container and stream, as journalctl has it.
	want := float64(len(testenv.Journal(t, "CONTAINER_NAME="+name)))
	testenv.Eventually(t, 10*time.Second, "podman_container_log_lines_total to count the container's line", func() bool {
		return scrapeValue(t, d.addr, "podman_container_log_lines_total", map[string]string{"name": name, "stream": "stdout"}) == want
	})
}
