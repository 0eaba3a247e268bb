package journald

import (
	"maps"
	"regexp"
	"slices"
	"strconv"
	"time"
)

// Container-name filters are regular expressions, which libsystemd cannot apply. But
// the names a journal holds are few and listed in its field index, so the names that
// pass can be matched exactly (CONTAINER_NAME=a OR CONTAINER_NAME=b, AND _COMM=conmon),
// and libsystemd then skips other containers' entries through its entry arrays
// instead of the reader decoding every one. The per-entry filters stay the final word:
// matches only narrow what is read.
//
// A container that appears later is not in the set, so the set is listed again when
// the journal changes and before a cursor is saved. When it grew, the reader goes back
// to where the previous listing was taken (all entries up to there had names in that
// listing) and reads again with the larger set, handling only the entries the old set
// did not match, up to where it was: a new container's first lines may already lie
// behind the position the reader reached with the old set. Until a listing taken after
// reading an entry found no new name, no cursor past the previous listing is saved, so
// a restart never skips them either.

const (
	// maxMatchedNames caps the matched set; past it (hosts that churn uniquely named
	// containers through a broad filter) filtering goes back to per entry only.
	maxMatchedNames = 1000
	// A listing walks every file's CONTAINER_NAME values: microseconds on a small
	// journal, milliseconds on one of many files and names. Listings are spaced
	// listingShare times their own duration apart, so that they take at most about
	// 1% of the reader's time, and at most maxNamesEvery: a new container's first
	// lines wait that long (plus one journal wait) while the reader is caught up, and
	// cursors saved meanwhile stay at the last listing.
	listingShare  = 100
	maxNamesEvery = time.Second
)

// nameMatches is the state of matching container names, owned by the read loop.
type nameMatches struct {
	// names are matched; nil when names are no longer matched (fallback).
	names   map[string]bool
	queried time.Time
	// took is how long the last listing took.
	took time.Duration
	// dirty: the journal changed since the last listing.
	dirty bool
	// at is the entry read last when a listing found no new name ("" for the start
	// position); safe the cursor that was safe to save then, the cap on saved cursors
	// until the next such listing.
	at, safe string
	// until is, while re-reading after the set grew, the entry read last before going
	// back ("" when not re-reading); old the names matched before.
	until string
	old   map[string]bool
	// want is the cursor the last sealed batch would have carried, had the names
	// been listed after reading it; "" when it carried it, or was held back for
	// another reason.
	want string
}

// nameAllowed applies the container-name filters to one name.
func nameAllowed(inc, exc *regexp.Regexp, name string) bool {
	return (inc == nil || inc.MatchString(name)) && (exc == nil || !exc.MatchString(name))
}

// namesMatchable says whether the name filters can be turned into name matches. An
// entry without CONTAINER_NAME is filtered as the empty name, and a match cannot
// select entries that lack a field, so filters that let the empty name through
// (every exclude-only filter) stay per entry.
func namesMatchable(cfg *Config) bool {
	if cfg.IncludeContainer == nil && cfg.ExcludeContainer == nil {
		return false
	}
	return !nameAllowed(cfg.IncludeContainer, cfg.ExcludeContainer, "")
}

// newNames returns, sorted, the names in all that pass the filters and are not in
// have.
func newNames(have map[string]bool, all []string, inc, exc *regexp.Regexp) []string {
	var add []string
	for _, n := range all {
		if !have[n] && nameAllowed(inc, exc, n) {
			add = append(add, n)
		}
	}
	slices.Sort(add)
	return slices.Compact(add)
}

// matchTerms are the journal matches: conmon's entries (of the named containers when
// names is not nil) or, as further terms, the host selections' entries (hostTerms),
// each at a priority the cap lets through. Within a term, values of one field OR and
// fields AND; terms OR (sd_journal_add_match(3)).
func matchTerms(names []string, matchNames bool, host [][]string, maxPriority *int) [][]string {
	var prio []string
	if maxPriority != nil {
		for p := 0; p <= *maxPriority; p++ {
			prio = append(prio, "PRIORITY="+strconv.Itoa(p))
		}
	}
	conmon := []string{"_COMM=conmon"}
	if matchNames {
		if len(names) == 0 {
			// No name passes yet. CONTAINER_NAME= alone keeps the term from matching
			// every conmon entry; an entry with that empty name is filtered out anyway.
			conmon = append(conmon, "CONTAINER_NAME=")
		}
		for _, n := range names {
			conmon = append(conmon, "CONTAINER_NAME="+n)
		}
	}
	terms := [][]string{append(conmon, prio...)}
	for _, term := range host {
		if term, ok := withPriority(term, prio); ok {
			terms = append(terms, term)
		}
	}
	return terms
}

// addMatches sets the matches for the current name set on j.
func (t *tail) addMatches(j *journal) error {
	var names []string
	matchNames := t.nm != nil && t.nm.names != nil
	if matchNames {
		names = slices.Sorted(maps.Keys(t.nm.names))
	}
	for i, term := range matchTerms(names, matchNames, t.r.hostMatches, t.cfg.MaxPriority) {
		if i > 0 {
			if err := j.addDisjunction(); err != nil {
				return err
			}
		}
		for _, m := range term {
			if err := j.addMatch(m); err != nil {
				return err
			}
		}
	}
	return nil
}

// initNames lists the names at the first open, deciding whether names are matched.
func (t *tail) initNames(j *journal) {
	if t.r.noMatches || !namesMatchable(t.cfg) {
		return
	}
	if t.names == nil {
		t.names = newNameLister("CONTAINER_NAME", t.r.log)
		// Given files may have any name, and the lister finds the reader's files by
		// their journal file names: they are listed through the reader's handle.
		t.names.fallback = len(t.cfg.Files) > 0
	}
	all, err := t.names.list(j)
	if err != nil {
		t.r.log.Info("cannot list the container names in the journal; filtering every entry by name instead", "err", err)
		t.dropNames()
		return
	}
	add := newNames(nil, all, t.cfg.IncludeContainer, t.cfg.ExcludeContainer)
	if len(add) > maxMatchedNames {
		t.r.log.Info("too many container names pass the filters to match them in the journal; filtering every entry by name instead", "names", len(add), "max", maxMatchedNames)
		t.dropNames()
		return
	}
	t.nm = &nameMatches{names: map[string]bool{}}
	for _, n := range add {
		t.nm.names[n] = true
	}
	t.r.log.Debug("reading only the entries of the container names the filters let through", "names", len(add))
}

// dropNames closes the name lister once names are no longer matched.
func (t *tail) dropNames() {
	t.names.close()
	t.names = nil
}

// started records the start position as the first verified one: at the cursor,
// and safe the checkpoint's text there (resume.go).
func (nm *nameMatches) started(cursor, text string) {
	if nm != nil {
		nm.at, nm.safe = cursor, text
	}
}

func (nm *nameMatches) rereading() bool { return nm != nil && nm.until != "" }

// reread ends re-reading.
func (nm *nameMatches) reread() {
	if nm != nil {
		nm.until, nm.old = "", nil
	}
}

// changed notes that the journal changed: a new container may have written.
func (nm *nameMatches) changed() {
	if nm != nil {
		nm.dirty = true
	}
}

// verifiedCursor returns the cursor a batch sealed now may carry, given c, the
// reader's safe cursor: c once a listing taken after reading the last entry found no
// new name, else the cursor that was safe at the last listing that did. It lists the
// names when due, and goes back to re-read when the set grew.
func (t *tail) verifiedCursor(c string, now time.Time) (string, error) {
	nm := t.nm
	if nm == nil {
		return c, nil
	}
	nm.want = ""
	if nm.until != "" {
		return nm.safe, nil
	}
	if nm.names != nil && (t.lastCursor != nm.at || nm.dirty) && now.Sub(nm.queried) >= t.sealNamesEvery() {
		if grown, err := t.listNames(now); err != nil || grown {
			return nm.safe, err
		}
	}
	if nm.names != nil && t.lastCursor != nm.at {
		nm.want = c
		return nm.safe, nil
	}
	// A line being joined that began while re-reading has an order that does not
	// compare with the others' (see safeCursor): wait until it is out.
	for _, from := range t.openLines() {
		if from.reread {
			return nm.safe, nil
		}
	}
	nm.safe = c
	return c, nil
}

// heldFor is how long, at most d, the caught-up reader may wait for the journal:
// when the batch it sealed last was held back for want of a listing, only until the
// next listing is due, so that the cursor is saved then and a crash meanwhile
// repeats little.
func (nm *nameMatches) heldFor(now time.Time, every, d time.Duration) time.Duration {
	if nm == nil || nm.want == "" {
		return d
	}
	return min(d, max(0, every-now.Sub(nm.queried)))
}

// finalCursor is, at a clean stop, the cursor the last sealed batch was held back
// from for want of a listing, when a listing now finds no new name: without it, a
// stop soon after a batch would make the next start send that batch again.
func (t *tail) finalCursor() string {
	nm := t.nm
	if nm == nil || t.names == nil || nm.want == "" || nm.want == t.sealed {
		return ""
	}
	all, err := t.names.list(t.j)
	if err != nil || len(newNames(nm.names, all, t.cfg.IncludeContainer, t.cfg.ExcludeContainer)) > 0 {
		return ""
	}
	return nm.want
}

// namesEvery is how long after a listing the next one may be taken.
func (t *tail) namesEvery() time.Duration {
	if t.nm == nil {
		return 0
	}
	if t.r.namesEvery > 0 {
		return t.r.namesEvery
	}
	return min(maxNamesEvery, listingShare*t.nm.took)
}

// sealNamesEvery is how long after a listing a batch being sealed may list again:
// no time at all (unless a test sets the spacing). A batch sealed without a listing
// keeps its cursor back, and a crash would repeat it besides the batch in flight; one
// listing per batch costs microseconds on small journals and a few milliseconds on a
// host's many large files, against the milliseconds it takes to read a batch. Spacing
// them by their cost let CI's kill test repeat more than four batches under load.
func (t *tail) sealNamesEvery() time.Duration {
	if t.nm == nil {
		return 0
	}
	return t.r.namesEvery
}

// listNames lists the names in the journal, and when new ones pass the filters, goes
// back to the last verified entry to read theirs.
func (t *tail) listNames(now time.Time) (bool, error) {
	nm := t.nm
	nm.queried, nm.dirty = now, false
	all, err := t.names.list(t.j)
	nm.took = time.Since(now)
	if err != nil {
		t.r.log.Warn("cannot list the container names in the journal; filtering every entry by name from here on", "err", err)
		t.dropNames()
		return true, t.rematch(nil)
	}
	add := newNames(nm.names, all, t.cfg.IncludeContainer, t.cfg.ExcludeContainer)
	if len(add) == 0 {
		nm.at = t.lastCursor
		return false, nil
	}
	if len(nm.names)+len(add) > maxMatchedNames {
		t.r.log.Info("too many container names pass the filters to match them in the journal; filtering every entry by name from here on", "names", len(nm.names)+len(add), "max", maxMatchedNames)
		t.dropNames()
		return true, t.rematch(nil)
	}
	names := maps.Clone(nm.names)
	for _, n := range add {
		names[n] = true
	}
	t.r.log.Info("new container names pass the filters; reading their entries from the last verified position", "names", add, "from", nm.at)
	return true, t.rematch(names)
}

// rematch replaces the name set (nil: names no longer matched) and goes back to the
// last verified entry, to re-read up to the entry read last.
func (t *tail) rematch(names map[string]bool) error {
	nm := t.nm
	t.r.rematches.Add(1)
	// The position first: a reopen after a failure below goes on from there.
	nm.old, nm.names = nm.names, names
	// unverified stays: when the entry read last is gone, so may be at's, and the
	// first entry read again shows it.
	nm.until = t.lastCursor
	t.lastCursor = nm.at
	t.j.flushMatches()
	if err := t.addMatches(t.j); err != nil {
		return err
	}
	if nm.at == "" {
		return t.seekStart()
	}
	// The next read lands on at's entry again (or the first after it when it is
	// gone); rereadSkip passes over it as the old set matched it.
	return t.j.seekCursor(nm.at)
}

// rereadSkip says, while re-reading after the set grew, whether the entry just read
// was handled before: one the old set matched, up to the entry read last then. An
// entry past that ends the re-reading, whether or not that entry is still there.
func (t *tail) rereadSkip() bool {
	nm := t.nm
	if !nm.rereading() {
		return false
	}
	e := &t.e
	if e.cursor == nm.until {
		nm.reread()
		return true
	}
	if cursorAfter(e.cursor, nm.until) {
		nm.reread()
		return false
	}
	f := e.fields
	// The host terms were matched before as now.
	if t.hostSelected() {
		return true
	}
	return f[fContainerName] != nil && nm.old[string(f[fContainerName])]
}

// cursorAfter says whether the entry at cursor a comes after the one at b: by
// sequence number in one series, else by time. When either cannot be read it says
// yes, so that re-reading ends (a duplicate rather than a loss).
func cursorAfter(a, b string) bool {
	id1, s1, ok1 := cursorSeqnum(a)
	id2, s2, ok2 := cursorSeqnum(b)
	if !ok1 || !ok2 {
		return true
	}
	if id1 == id2 {
		return s1 > s2
	}
	t1, ok1 := cursorRealtime(a)
	t2, ok2 := cursorRealtime(b)
	return !ok1 || !ok2 || t1 > t2
}
