package otlpcompress

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
)

// recorder is the next RoundTripper: it keeps the request it was given and what
// its body and GetBody read.
type recorder struct {
	req           *http.Request
	body, getBody []byte
}

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	r.req = req
	if req.Body == nil {
		return &http.Response{StatusCode: http.StatusOK, Body: http.NoBody, Request: req}, nil
	}
	var err error
	if r.body, err = io.ReadAll(req.Body); err != nil {
		return nil, err
	}
	if req.GetBody != nil {
		b, err := req.GetBody()
		if err != nil {
			return nil, err
		}
		if r.getBody, err = io.ReadAll(b); err != nil {
			return nil, err
		}
	}
	return &http.Response{StatusCode: http.StatusOK, Body: http.NoBody, Request: req}, nil
}

func decompress(t *testing.T, encoding string, b []byte) []byte {
	t.Helper()
	var r io.Reader
	switch encoding {
	case Gzip:
		z, err := gzip.NewReader(bytes.NewReader(b))
		if err != nil {
			t.Fatalf("gunzip: %v", err)
		}
		r = z
	case Zstd:
		z, err := zstd.NewReader(bytes.NewReader(b))
		if err != nil {
			t.Fatalf("zstd: %v", err)
		}
		defer z.Close()
		r = z
	}
	out, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("decompress %s: %v", encoding, err)
	}
	return out
}

// payload is protobuf-like: repetitive, with some noise.
func payload(n int) []byte {
	var b bytes.Buffer
	for i := range n {
		fmt.Fprintf(&b, "\x0a\x12line %d of container web: GET /api/v1/items?id=%d 200\x1a\x08s=%x;i=%x", i, i*7919, i*2654435761, i)
	}
	return b.Bytes()
}

func newRequest(t *testing.T, body []byte) *http.Request {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, "http://127.0.0.1:4318/v1/logs", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-protobuf")
	return req
}

// TestTransportCompresses checks what the next RoundTripper gets: the body
// compressed, decompressing to the original, with its encoding and exact length
// declared and a GetBody that yields the same bytes; the caller's request unchanged.
func TestTransportCompresses(t *testing.T) {
	plain := payload(2000)
	for _, enc := range []string{Gzip, Zstd} {
		t.Run(enc, func(t *testing.T) {
			rec := &recorder{}
			tr := &Transport{Encoding: enc, Next: rec}
			// Twice: the second takes pooled writers and buffers.
			for range 2 {
				req := newRequest(t, plain)
				if _, err := tr.RoundTrip(req); err != nil {
					t.Fatal(err)
				}
				got := rec.req
				if ce := got.Header.Get("Content-Encoding"); ce != enc {
					t.Errorf("Content-Encoding %q, want %q", ce, enc)
				}
				if ct := got.Header.Get("Content-Type"); ct != "application/x-protobuf" {
					t.Errorf("Content-Type %q lost", ct)
				}
				if got.ContentLength != int64(len(rec.body)) {
					t.Errorf("Content-Length %d, body has %d bytes", got.ContentLength, len(rec.body))
				}
				if len(rec.body) >= len(plain)/2 {
					t.Errorf("compressed %d bytes to %d", len(plain), len(rec.body))
				}
				if !bytes.Equal(rec.getBody, rec.body) {
					t.Error("GetBody reads other bytes than Body")
				}
				if !bytes.Equal(decompress(t, enc, rec.body), plain) {
					t.Error("body does not decompress to what was sent")
				}
				if req.Header.Get("Content-Encoding") != "" || got == req {
					t.Error("the caller's request was changed")
				}
			}
		})
	}
}

// TestTransportPassesThrough leaves alone what has no body or is already encoded.
func TestTransportPassesThrough(t *testing.T) {
	rec := &recorder{}
	tr := &Transport{Encoding: Zstd, Next: rec}
	get, _ := http.NewRequest(http.MethodGet, "http://127.0.0.1/", nil)
	if _, err := tr.RoundTrip(get); err != nil {
		t.Fatal(err)
	}
	if rec.req != get {
		t.Error("a request without a body was not passed as it is")
	}
	enc := newRequest(t, []byte("already"))
	enc.Header.Set("Content-Encoding", "gzip")
	if _, err := tr.RoundTrip(enc); err != nil {
		t.Fatal(err)
	}
	if rec.req != enc || string(rec.body) != "already" {
		t.Error("an encoded request was encoded again")
	}
}

// failingBody fails its read and records that it was closed.
type failingBody struct{ closed bool }

func (f *failingBody) Read([]byte) (int, error) { return 0, io.ErrUnexpectedEOF }
func (f *failingBody) Close() error             { f.closed = true; return nil }

// TestTransportBodyError returns a body that cannot be read as an error, sending
// nothing, and closes the body as a RoundTripper must.
func TestTransportBodyError(t *testing.T) {
	for _, enc := range []string{Gzip, Zstd} {
		rec := &recorder{}
		body := &failingBody{}
		req := newRequest(t, nil)
		req.Body = body
		_, err := (&Transport{Encoding: enc, Next: rec}).RoundTrip(req)
		if err == nil || !strings.Contains(err.Error(), "compress otlp request") {
			t.Errorf("%s: err %v, want the compression named", enc, err)
		}
		if rec.req != nil || !body.closed {
			t.Errorf("%s: sent %v, body closed %v", enc, rec.req != nil, body.closed)
		}
	}
}

// TestTransportConcurrent runs requests at once through the pools (go test -race).
func TestTransportConcurrent(t *testing.T) {
	for _, enc := range []string{Gzip, Zstd} {
		var wg sync.WaitGroup
		for i := range 8 {
			wg.Go(func() {
				plain := payload(100 + i*50)
				rec := &recorder{}
				if _, err := (&Transport{Encoding: enc, Next: rec}).RoundTrip(newRequest(t, plain)); err != nil {
					t.Error(err)
					return
				}
				if !bytes.Equal(decompress(t, enc, rec.body), plain) {
					t.Errorf("%s: request %d came out changed", enc, i)
				}
			})
		}
		wg.Wait()
	}
}
