package journald

import (
	"github.com/podexporter/podexporter/internal/selector"
	"github.com/podexporter/podexporter/logrecord"
)

// maxSelected bounds the remembered selection decisions; past it they are
// forgotten together and made again from the Enricher, line by line.
const maxSelected = 4096

// choice is Config.Select's decision on one container.
type choice uint8

const (
	// unsure: the Enricher could not ask its sources in time, so the container's
	// labels and image are unknown for now; asked again at the next line.
	unsure choice = iota
	chosen
	leftOut
)

// enrich asks the Enricher about container id; answered is false only when an
// AnsweringEnricher says it could not ask its sources in time.
func (t *tail) enrich(id string) (info logrecord.ContainerInfo, found, answered bool) {
	if a, ok := t.cfg.Enricher.(logrecord.AnsweringEnricher); ok {
		return a.ContainerAnswered(id)
	}
	info, found = t.cfg.Enricher.Container(id)
	return info, found, true
}

// noteSelected remembers Config.Select's decision on the container with the 12-
// character id from what the Enricher answered. A container's labels and image
// never change, so a decision made from them is final; record calls this for
// every line because it has the Enricher's answer at hand, and wanted reads it.
func (t *tail) noteSelected(id string, info logrecord.ContainerInfo, found, answered bool) {
	if t.cfg.Select == nil || id == "" {
		return
	}
	if c, ok := t.selected[id]; ok && c != unsure {
		return
	}
	if t.selected == nil || len(t.selected) >= maxSelected {
		t.selected = map[string]choice{}
	}
	switch {
	case found:
		t.selected[id] = leftOut
		if t.cfg.Select.Selects(selector.Container{Image: info.Image, Labels: info.Labels}) {
			t.selected[id] = chosen
		}
	case !answered:
		t.selected[id] = unsure
	default:
		delete(t.selected, id)
	}
}

// containerSelected says whether Config.Select takes the line's container.
//
// The Podman source inspects a container at its first event, before its first
// line, and the Enricher asks it about any container it has not seen, so a
// container of a watched service is judged by its own labels and image from its
// first line. One whose service could not answer in time (busy, down) is kept:
// its labels are unknown, and a line lost is worse than a line too many. One that
// no watched service has (another runtime's, an unwatched service's) is judged by
// SelectsUnknown: left out by an include label or image, which it cannot be shown
// to have, kept otherwise.
func (t *tail) containerSelected(rec *logrecord.Record) bool {
	if rec.ContainerID == "" {
		return true // the host's own entry: not a container's to select
	}
	switch c, ok := t.selected[rec.ContainerID]; {
	case !ok:
		return t.cfg.Select.SelectsUnknown(rec.ContainerName)
	case c == unsure:
		return true
	default:
		return c == chosen
	}
}
