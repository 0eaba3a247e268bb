package podman

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
)

func (e *Engine) count(endpoint string) {
	e.reqMu.Lock()
	e.requests[endpoint]++
	e.reqMu.Unlock()
}

func (e *Engine) requestCounts() map[string]uint64 {
	e.reqMu.Lock()
	defer e.reqMu.Unlock()
	return cloneCounts(e.requests)
}

// countingTransport counts API calls by endpoint, for podexporter_podman_api_requests_total:
// the proof that scrapes cause no API load.
type countingTransport struct {
	next  http.RoundTripper
	count func(string)
}

func (t *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	t.count(endpoint(r.URL))
	return t.next.RoundTrip(r)
}

var versionPrefix = regexp.MustCompile(`^/v[0-9.]+/`)

// endpoint reduces a request path to a bounded label value: ids become {id}.
func endpoint(u *url.URL) string {
	p := versionPrefix.ReplaceAllString(u.Path, "/")
	parts := strings.Split(strings.Trim(p, "/"), "/")
	if len(parts) >= 4 && parts[0] == "libpod" {
		parts[2] = "{id}" // libpod/containers/{id}/json and the like
	}
	return strings.Join(parts, "/")
}
