package journald

import (
	"context"
	"fmt"
	"strings"
)

// LastMessage returns the MESSAGE of the newest entry, among the newest limit
// entries that any of the matches selects (FIELD=value, each an alternative), that
// contains want; "" when none does. directory
// is --journal.directory, "" for this machine's journal. It reads backwards from the
// journal's end, so it costs at most limit entries whatever the journal's size.
func LastMessage(ctx context.Context, directory string, matches []string, want string, limit int) (string, error) {
	j, err := openJournal(location{Directory: directory})
	if err != nil {
		return "", err
	}
	defer j.close()
	j.setFields([]string{"MESSAGE"})
	for i, m := range matches {
		if i > 0 {
			if err := j.addDisjunction(); err != nil {
				return "", err
			}
		}
		if err := j.addMatch(m); err != nil {
			return "", err
		}
	}
	if err := j.seekTail(); err != nil {
		return "", err
	}
	var e rawEntry
	for range limit {
		if ctx.Err() != nil {
			return "", ctx.Err()
		}
		ok, err := j.previous()
		if err != nil || !ok {
			return "", err
		}
		ok, err = j.read(false, &e)
		if err != nil {
			return "", fmt.Errorf("search the journal: %w", err)
		}
		if !ok || len(e.fields) == 0 {
			continue
		}
		msg := strings.TrimPrefix(string(e.fields[0]), "MESSAGE=")
		if strings.Contains(msg, want) {
			return msg, nil
		}
	}
	return "", nil
}
