package otlp

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/podexporter/podexporter/internal/otelcoltest"
	"github.com/podexporter/podexporter/logrecord"
	"github.com/podexporter/podexporter/otlp/otlpcompress"
)

// TestHTTPClientKeepsExporterSettings: WithHTTPClient makes the HTTP exporters
// ignore their TLS, proxy and timeout options, so our client must carry them.
func TestHTTPClientKeepsExporterSettings(t *testing.T) {
	tlsCfg := &tls.Config{MinVersion: tls.VersionTLS12}
	for _, compression := range []string{"gzip", "zstd", "none"} {
		hc := Config{Compression: compression, Timeout: 7 * time.Second}.httpClient(tlsCfg)
		if hc.Timeout != 7*time.Second {
			t.Errorf("%s: timeout %s, want the export timeout", compression, hc.Timeout)
		}
		rt := hc.Transport
		if ct, ok := rt.(*otlpcompress.Transport); ok {
			if ct.Encoding != compression {
				t.Errorf("%s: transport compresses with %q", compression, ct.Encoding)
			}
			rt = ct.Next
		} else if compression != "none" {
			t.Errorf("%s: transport %T does not compress", compression, rt)
		}
		tr, ok := rt.(*http.Transport)
		if !ok {
			t.Fatalf("%s: transport %T, want *http.Transport", compression, rt)
		}
		if tr.Proxy == nil || tr.TLSClientConfig != tlsCfg || tr.DialContext == nil {
			t.Errorf("%s: transport lost the proxy from the environment or the TLS configuration", compression)
		}
	}
}

// selfSignedCert writes a certificate for 127.0.0.1 that is its own CA, and its key.
func selfSignedCert(t *testing.T) (certFile, keyFile string) {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "server.crt"), filepath.Join(dir, "server.key")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile
}

// TestHTTPTLSWithCompression exports over OTLP/HTTP to a TLS Collector: delivered
// with the CA file, refused without it, so the client's TLS configuration is ours.
func TestHTTPTLSWithCompression(t *testing.T) {
	cert, key := selfSignedCert(t)
	c := otelcoltest.StartCollectorTLS(t, cert, key)
	endpoint := "https://" + c.HTTPEndpoint[len("http://"):]
	for _, tc := range []struct {
		name   string
		caFile string
		ok     bool
	}{{"ca file", cert, true}, {"unknown ca", "", false}} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := Config{Endpoint: endpoint, Protocol: ProtocolHTTP, Compression: "zstd", Timeout: 2 * time.Second}
			cfg.CAFile = tc.caFile
			exp, err := NewLogExporter(context.Background(), cfg)
			if err != nil {
				t.Fatal(err)
			}
			s := NewLogSink(exp, Host{ServiceName: "podexporter-test", HostName: "h"}, quiet())
			defer func() { _ = s.Close(context.Background()) }()
			id := fmt.Sprintf("%064x", len(tc.name))
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
			defer cancel()
			err = s.Deliver(ctx, []logrecord.Record{record(1, id)})
			if tc.ok != (err == nil) {
				t.Fatalf("Deliver = %v, want delivered %v", err, tc.ok)
			}
			n := 0
			for _, r := range c.Logs() {
				if r.Resource["container.id"] == id {
					n++
				}
			}
			if want := map[bool]int{true: 1, false: 0}[tc.ok]; n != want {
				t.Fatalf("collector holds %d records, want %d", n, want)
			}
		})
	}
}
