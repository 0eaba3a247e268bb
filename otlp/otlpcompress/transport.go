package otlpcompress

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"sync"
)

// Transport compresses each request's body with Encoding before handing the request
// to Next, for the OTLP/HTTP exporters, whose own gzip is the standard library's (and
// which know no zstd); give them NoCompression. The compressed body is held whole,
// with its Content-Length and a GetBody for the redirects and connection retries that
// net/http makes on its own.
type Transport struct {
	// Encoding is Gzip or Zstd.
	Encoding string
	Next     http.RoundTripper
}

// plainBufs holds the uncompressed bodies that zstd, which takes its input whole,
// reads requests into.
var plainBufs = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// RoundTrip implements http.RoundTripper. A request without a body, or whose body is
// already encoded, passes unchanged.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Body == nil || req.Body == http.NoBody || req.Header.Get("Content-Encoding") != "" {
		return t.Next.RoundTrip(req)
	}
	body, err := t.compress(req.Body, req.ContentLength)
	// RoundTrip owns the body, whatever happens.
	if cerr := req.Body.Close(); err == nil && cerr != nil {
		err = cerr
	}
	if err != nil {
		return nil, fmt.Errorf("compress otlp request to %s: %w", req.URL.Redacted(), err)
	}
	// A RoundTripper must not change the request it was given.
	out := req.Clone(req.Context())
	out.Header.Set("Content-Encoding", t.Encoding)
	out.ContentLength = int64(len(body))
	out.Body = io.NopCloser(bytes.NewReader(body))
	out.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
	return t.Next.RoundTrip(out)
}

// compress reads body whole and returns it compressed, in a slice of its own that
// the request keeps until net/http is done with it. size is the body's length, or -1
// when unknown.
func (t *Transport) compress(body io.Reader, size int64) ([]byte, error) {
	// OTLP protobuf shrinks to a fifth or less; a fourth avoids most regrowth.
	dst := make([]byte, 0, max(size, 4096)/4)
	switch t.Encoding {
	case Gzip:
		// The exporters' bodies are bytes.Readers, which io.Copy drains with one
		// WriteTo: no copy of the plain body.
		return appendGzip(dst, body)
	case Zstd:
		plain := plainBufs.Get().(*bytes.Buffer)
		defer plainBufs.Put(plain)
		plain.Reset()
		if _, err := plain.ReadFrom(body); err != nil {
			return nil, fmt.Errorf("read body: %w", err)
		}
		return appendZstd(dst, plain.Bytes()), nil
	}
	return nil, fmt.Errorf("compression %q is not gzip or zstd", t.Encoding)
}
