package otlp

import (
	"context"
	"crypto/tls"
	"net"
	"net/http"
	"time"

	"github.com/podexporter/podexporter/otlp/otlpcompress"
)

// dialFunc opens a connection; Config.dial replaces net.Dialer in tests that count
// the bytes sent.
type dialFunc func(ctx context.Context, network, addr string) (net.Conn, error)

// httpClient is what the OTLP/HTTP exporters send with, compressing request bodies
// through otlpcompress. The exporters' WithHTTPClient takes precedence over their
// WithTLSClientConfig, WithProxy and WithTimeout, so this client carries all three
// itself, as the exporters' own transport would: tlsCfg (nil for plaintext),
// proxies from the environment, and the export timeout.
func (c Config) httpClient(tlsCfg *tls.Config) *http.Client {
	dial := c.dial
	if dial == nil {
		dial = (&net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}).DialContext
	}
	// The exporters' own transport's settings (net/http's DefaultTransport's).
	var rt http.RoundTripper = &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           dial,
		TLSClientConfig:       tlsCfg,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          100,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: time.Second,
	}
	if otlpcompress.Supported(c.Compression) {
		rt = &otlpcompress.Transport{Encoding: c.Compression, Next: rt}
	}
	return &http.Client{Transport: rt, Timeout: c.Timeout}
}
