package journald

import (
	"github.com/podexporter/podexporter/journald/logparse"
	"github.com/podexporter/podexporter/journald/multiline"
	"github.com/podexporter/podexporter/logrecord"
)

// Container labels by which a container says how its lines are to be read; they
// win over Config.Format and Config.Multiline.
const (
	// LabelFormat holds raw, text, json, logfmt or auto.
	LabelFormat = "io.podexporter.log.format"
	// LabelMultiline holds java, python, go, a regular expression matching a
	// record's first line, or none.
	LabelMultiline = "io.podexporter.log.multiline"
)

// hints say how a container's lines are read.
type hints struct {
	format logparse.Format
	rule   multiline.Rule
}

func (t *tail) defaults() hints { return hints{format: t.cfg.Format, rule: t.cfg.Multiline} }

// hintsFor applies a container's labels over the defaults. An invalid label value
// is logged once and counted, and the default stays: a typo in one container's
// label must not stop its lines.
func (t *tail) hintsFor(labels map[string]string) hints {
	h := t.defaults()
	if v, ok := labels[LabelFormat]; ok {
		if f, ok := logparse.ParseFormat(v); ok {
			h.format = f
		} else {
			t.badHint(LabelFormat, v, "not raw, text, json, logfmt or auto")
		}
	}
	if v, ok := labels[LabelMultiline]; ok {
		c, known := t.rules[v]
		if !known {
			if v != "" && v != "none" {
				c.rule, c.err = multiline.Parse(v)
			}
			if len(t.rules) >= 256 {
				clear(t.rules)
			}
			t.rules[v] = c
		}
		if c.err != nil {
			t.badHint(LabelMultiline, v, c.err.Error())
		} else {
			h.rule = c.rule
		}
	}
	return h
}

// labelRule is a multiline label value, compiled once.
type labelRule struct {
	rule multiline.Rule
	err  error
}

func (t *tail) badHint(label, value, problem string) {
	t.r.badHints.Add(1)
	key := label + "=" + value
	if t.hintWarned[key] {
		return
	}
	if len(t.hintWarned) >= 256 {
		clear(t.hintWarned)
	}
	t.hintWarned[key] = true
	t.r.log.Warn("container label ignored; its lines are read per the flags", "label", label, "value", value, "problem", problem)
}

// finish parses a complete record per its format and adds it to the batch.
func (t *tail) finish(rec logrecord.Record, f logparse.Format) {
	if f != logparse.Raw {
		t.parse(&rec, f)
	}
	t.add(rec)
}

func (t *tail) parse(rec *logrecord.Record, f logparse.Format) {
	l, err := logparse.Parse(f, rec.Body, logparse.Options{KeepObject: t.cfg.MapBody})
	if err != nil {
		t.r.parseFailures[f].Add(1)
		id := rec.ContainerID
		if !t.parseWarned[id] {
			if len(t.parseWarned) >= 1024 {
				clear(t.parseWarned)
			}
			t.parseWarned[id] = true
			t.r.log.Warn("a line did not parse in its container's log format; it is sent as it came (logged once per container, counted in podexporter_journal_parse_failures_total)",
				"container", rec.ContainerName, "format", f.String(), "err", err)
		}
		return
	}
	if l.Format == logparse.Raw {
		return // auto or text found nothing to read
	}
	t.r.parsed[l.Format].Add(1)
	if l.HasMessage && !t.cfg.MapBody {
		rec.Body = l.Message
	}
	if l.Severity != 0 {
		rec.Severity = logrecord.Severity(l.Severity)
	}
	if !l.Time.IsZero() {
		rec.Time = l.Time
	}
	rec.Parsed = &l
}
