package journald

import (
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/podexporter/podexporter/logrecord"
)

// Fields the reader always reads, by index into rawEntry.fields.
const (
	fMessage = iota
	fPriority
	fContainerIDFull
	fContainerID
	fContainerName
	fContainerTag
	fPartial
	fSourceTime
	fHostname
	fBootID
	fUnit
	fIdentifier
	nFixed
)

var fixedFields = [nFixed]string{
	"MESSAGE", "PRIORITY", "CONTAINER_ID_FULL", "CONTAINER_ID", "CONTAINER_NAME", "CONTAINER_TAG",
	"CONTAINER_PARTIAL_MESSAGE", "_SOURCE_REALTIME_TIMESTAMP", "_HOSTNAME", "_BOOT_ID", "_SYSTEMD_UNIT", "SYSLOG_IDENTIFIER",
}

// intern returns b as a string, one string per distinct value for the fields that
// repeat on every entry of a container (ids, names, hostname), so that a batch holds
// one copy of each rather than one per record.
func (t *tail) intern(b []byte) string {
	if b == nil {
		return ""
	}
	if s, ok := t.interned[string(b)]; ok {
		return s
	}
	s := string(b)
	if len(t.interned) < 4096 {
		t.interned[s] = s
	}
	return s
}

func parsePriority(b []byte) int {
	if len(b) == 1 && b[0] >= '0' && b[0] <= '7' {
		return int(b[0] - '0')
	}
	return -1
}

// handle turns the current entry into a record, or into a piece of one.
func (t *tail) handle(now time.Time) {
	e := &t.e
	f := e.fields
	prevCursor := t.lastCursor
	t.lastCursor = e.cursor
	t.order++
	t.r.entriesRead.Add(1)
	t.r.newestUsec.Store(int64(e.realtime))
	if t.skip != nil && t.skipped() {
		return
	}

	prio := parsePriority(f[fPriority])
	// Like journalctl -p, a priority filter drops entries that have no PRIORITY.
	if mp := t.cfg.MaxPriority; mp != nil && (prio > *mp || prio < 0) {
		return
	}
	id := f[fContainerIDFull]
	if id == nil {
		id = f[fContainerID]
	}
	if id == nil {
		// Not a container line: wanted when a host selection chose it (conmon's own
		// messages, read through conmon's term, are not). Its line is sent as it
		// came: the log format and multiline flags are the containers'.
		if !t.hostSelected() {
			return
		}
		rec, _ := t.record(now, prio)
		rec.Host = t.hostEntry()
		t.emit(rec, hints{}, prevCursor, f[fMessage])
		return
	}
	// stdout and stderr pieces interleave: conmon reads the two pipes apart.
	key := lineID{t.intern(id), prio}
	p := t.pending[key]
	partial := string(f[fPartial]) == "true"
	if p == nil && !partial {
		rec, h := t.record(now, prio)
		if !t.wanted(&rec) {
			return
		}
		t.emit(rec, h, prevCursor, f[fMessage])
		return
	}
	if p == nil {
		rec, h := t.record(now, prio)
		if !t.wanted(&rec) {
			return
		}
		p = &partialLine{rec: rec, hints: h, from: origin{resume: prevCursor, first: e.cursor, order: t.order, reread: t.nm.rereading()}}
		t.pending[key] = p
	}
	p.add(f[fMessage], t.cfg.MaxLineBytes)
	p.rec.Cursor = e.cursor
	p.rec.Observed = now
	p.lastUsec = e.realtime
	if !partial {
		t.flush(key, p)
	}
}

// wanted applies the container and unit filters, remembering name decisions
// since regular expressions are the costliest thing per entry, and the label and
// image selection (select.go).
func (t *tail) wanted(rec *logrecord.Record) bool {
	if t.cfg.IncludeContainer != nil || t.cfg.ExcludeContainer != nil {
		ok, seen := t.nameOK[rec.ContainerName]
		if !seen {
			ok = nameAllowed(t.cfg.IncludeContainer, t.cfg.ExcludeContainer, rec.ContainerName)
			if t.nameOK == nil || len(t.nameOK) > 4096 {
				t.nameOK = map[string]bool{}
			}
			t.nameOK[rec.ContainerName] = ok
		}
		if !ok {
			return false
		}
	}
	if t.cfg.IncludeUnit != nil || t.cfg.ExcludeUnit != nil {
		unit := rec.Unit
		if unit == "" {
			unit = rec.QuadletUnit
		}
		if t.cfg.IncludeUnit != nil && !t.cfg.IncludeUnit.MatchString(unit) {
			return false
		}
		if t.cfg.ExcludeUnit != nil && t.cfg.ExcludeUnit.MatchString(unit) {
			return false
		}
	}
	return t.cfg.Select == nil || t.containerSelected(rec)
}

// record builds a record from the current entry, without its body, and says how
// its line is to be read.
func (t *tail) record(now time.Time, prio int) (logrecord.Record, hints) {
	e := &t.e
	f := e.fields
	rec := logrecord.Record{
		Observed:        now,
		Priority:        prio,
		Severity:        logrecord.SeverityFromPriority(prio),
		ContainerIDFull: t.intern(f[fContainerIDFull]),
		ContainerID:     t.intern(f[fContainerID]),
		ContainerName:   t.intern(f[fContainerName]),
		ContainerTag:    t.intern(f[fContainerTag]),
		Unit:            t.intern(f[fUnit]),
		Identifier:      t.intern(f[fIdentifier]),
		Hostname:        t.intern(f[fHostname]),
		BootID:          t.intern(f[fBootID]),
		Cursor:          e.cursor,
		Pieces:          1,
	}
	usec := int64(e.realtime)
	if v, err := strconv.ParseInt(string(f[fSourceTime]), 10, 64); err == nil && v > 0 {
		usec = v
	}
	rec.Time = time.UnixMicro(usec)
	if rec.ContainerID == "" && len(rec.ContainerIDFull) >= 12 {
		rec.ContainerID = rec.ContainerIDFull[:12]
	}
	if rec.ContainerID != "" {
		switch prio {
		case 6:
			rec.Stream = "stdout"
		case 3:
			rec.Stream = "stderr"
		}
	}
	for i, name := range t.cfg.ExtraFields {
		if v := t.e.field(t.r.fields.extra[i]); v != nil {
			if rec.Extra == nil {
				rec.Extra = map[string]string{}
			}
			rec.Extra[name] = string(v)
		}
	}
	h := t.defaults()
	if t.cfg.Enricher != nil && rec.ContainerID != "" {
		id := rec.ContainerIDFull
		if id == "" {
			id = rec.ContainerID
		}
		info, ok, answered := t.enrich(id)
		if ok {
			rec.Image, rec.PodID, rec.PodName, rec.QuadletUnit = info.Image, info.PodID, info.PodName, info.QuadletUnit
			rec.Labels = info.ExportedLabels
			h = t.hintsFor(info.Labels)
		}
		t.noteSelected(rec.ContainerID, info, ok, answered)
	}
	return rec, h
}

// emit completes a one-entry line; resume is the entry read before it.
func (t *tail) emit(rec logrecord.Record, h hints, resume string, msg []byte) {
	if len(msg) > 0 && msg[len(msg)-1] == '\n' {
		msg = msg[:len(msg)-1]
	}
	if len(msg) > t.cfg.MaxLineBytes {
		msg = msg[:cutLen(msg, t.cfg.MaxLineBytes, false)]
		rec.Truncated = true
		t.r.linesCut.Add(1)
	}
	rec.Body = string(msg)
	t.complete(rec, h, origin{resume: resume, first: t.e.cursor, order: t.order, reread: t.nm.rereading()}, t.e.realtime)
}

// cutLen is where a line longer than limit bytes is cut: at limit, or before the
// character that straddles it, so that a line of valid UTF-8 stays valid (an OTLP
// body that is not becomes bytes, and the JSON-lines sink shows U+FFFD). Where the
// bytes at the limit are not UTF-8 anyway, at limit. more says b is not all of the
// line: a character begun at its end may end in the next piece, so it is cut too.
func cutLen(b []byte, limit int, more bool) int {
	if len(b) <= limit || utf8.RuneStart(b[limit]) {
		return min(len(b), limit)
	}
	// b[limit] continues a character: it began at most UTFMax-1 bytes before.
	for i := limit - 1; i >= 0 && i > limit-utf8.UTFMax; i-- {
		if !utf8.RuneStart(b[i]) {
			continue
		}
		if _, n := utf8.DecodeRune(b[i:]); n > 1 && i+n > limit || more && !utf8.FullRune(b[i:]) {
			return i
		}
		return limit
	}
	return limit
}

func (t *tail) add(rec logrecord.Record) {
	if len(t.batch) == 0 {
		t.batchStart = rec.Observed
	}
	t.batch = append(t.batch, rec)
}
