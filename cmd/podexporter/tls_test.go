package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"
)

type certs struct {
	caPool                *x509.CertPool
	caFile                string
	serverCert, serverKey string
	client                tls.Certificate
	// Signed by the same CA, but expired an hour ago.
	expiredServerCert, expiredServerKey string
	expiredClient                       tls.Certificate
}

// newCerts makes a CA, a server certificate for 127.0.0.1 and a client certificate,
// all signed by that CA, written as PEM files where the web config needs them.
func newCerts(t *testing.T) certs {
	t.Helper()
	dir := t.TempDir()
	key := func() *ecdsa.PrivateKey {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	writePEM := func(name, typ string, der []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	caKey := key()
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "podexporter test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	issue := func(serial int64, usage x509.ExtKeyUsage) ([]byte, *ecdsa.PrivateKey) {
		k := key()
		notAfter := time.Now().Add(time.Hour)
		if serial >= 100 {
			notAfter = time.Now().Add(-time.Hour)
		}
		tmpl := &x509.Certificate{
			SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: "127.0.0.1"},
			NotBefore: time.Now().Add(-2 * time.Hour), NotAfter: notAfter,
			IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, ExtKeyUsage: []x509.ExtKeyUsage{usage},
			KeyUsage: x509.KeyUsageDigitalSignature,
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &k.PublicKey, caKey)
		if err != nil {
			t.Fatal(err)
		}
		return der, k
	}
	c := certs{caPool: x509.NewCertPool(), caFile: writePEM("ca.crt", "CERTIFICATE", caDER)}
	c.caPool.AddCert(ca)
	// Serials from 100 on are expired.
	server := func(serial int64, name string) (certFile, keyFile string) {
		der, k := issue(serial, x509.ExtKeyUsageServerAuth)
		keyDER, _ := x509.MarshalECPrivateKey(k)
		return writePEM(name+".crt", "CERTIFICATE", der), writePEM(name+".key", "EC PRIVATE KEY", keyDER)
	}
	client := func(serial int64) tls.Certificate {
		der, k := issue(serial, x509.ExtKeyUsageClientAuth)
		return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: k}
	}
	c.serverCert, c.serverKey = server(2, "server")
	c.client = client(3)
	c.expiredServerCert, c.expiredServerKey = server(100, "expired-server")
	c.expiredClient = client(101)
	return c
}

func tlsClient(roots *x509.CertPool, clientCerts ...tls.Certificate) *http.Client {
	return &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: roots, Certificates: clientCerts},
	}}
}

func status(t *testing.T, c *http.Client, url, user, pass string) (int, error) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	if user != "" {
		req.SetBasicAuth(user, pass)
	}
	resp, err := c.Do(req)
	if err != nil {
		return 0, err
	}
	resp.Body.Close()
	return resp.StatusCode, nil
}

func TestTLSAndBasicAuth(t *testing.T) {
	c := newCerts(t)
	hash, err := bcrypt.GenerateFromPassword([]byte("s3cret"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(t.TempDir(), "web.yml")
	content := "tls_server_config:\n  cert_file: " + c.serverCert + "\n  key_file: " + c.serverKey +
		"\nbasic_auth_users:\n  prometheus: " + string(hash) + "\n"
	if err := os.WriteFile(cfg, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	d := startDaemon(t, nil, "--web.config.file="+cfg)
	url := "https://" + d.addr + "/metrics"
	trusted := tlsClient(c.caPool)

	tests := []struct {
		name       string
		client     *http.Client
		url        string
		user, pass string
		want       int // 0: the request must fail before any HTTP status
	}{
		{"no credentials", trusted, url, "", "", http.StatusUnauthorized},
		{"wrong password", trusted, url, "prometheus", "guess", http.StatusUnauthorized},
		{"unknown user", trusted, url, "admin", "s3cret", http.StatusUnauthorized},
		{"right credentials", trusted, url, "prometheus", "s3cret", http.StatusOK},
		{"untrusted server certificate", tlsClient(x509.NewCertPool()), url, "prometheus", "s3cret", 0},
		{"plain HTTP to the TLS port", &http.Client{Timeout: 5 * time.Second}, "http://" + d.addr + "/metrics", "prometheus", "s3cret", http.StatusBadRequest},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := status(t, tc.client, tc.url, tc.user, tc.pass)
			if tc.want == 0 {
				if err == nil {
					t.Fatalf("request succeeded with status %d, want a TLS failure", got)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("status %d, err %v; want %d", got, err, tc.want)
			}
		})
	}
	// The healthcheck holds no password: a 401 from the daemon still proves it alive.
	if out, err := exec.Command(binary, "healthcheck", "--web.listen-address="+d.addr, "--web.config.file="+cfg).CombinedOutput(); err != nil {
		t.Errorf("healthcheck against the TLS daemon: %v %s", err, out)
	}
}

func TestClientCertificates(t *testing.T) {
	c := newCerts(t)
	cfg := filepath.Join(t.TempDir(), "web.yml")
	content := "tls_server_config:\n  cert_file: " + c.serverCert + "\n  key_file: " + c.serverKey +
		"\n  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: " + c.caFile + "\n"
	if err := os.WriteFile(cfg, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	d := startDaemon(t, nil, "--web.config.file="+cfg)
	url := "https://" + d.addr + "/metrics"
	if got, err := status(t, tlsClient(c.caPool), url, "", ""); err == nil {
		t.Errorf("no client certificate: status %d, want a TLS failure", got)
	}
	if got, err := status(t, tlsClient(c.caPool, c.expiredClient), url, "", ""); err == nil {
		t.Errorf("expired client certificate: status %d, want a TLS failure", got)
	}
	if got, err := status(t, tlsClient(c.caPool, c.client), url, "", ""); err != nil || got != http.StatusOK {
		t.Errorf("with a client certificate: status %d, err %v; want 200", got, err)
	}
}

// TestExpiredServerCertificate: a scraper that verifies refuses the daemon's
// expired certificate; nothing in podexporter masks it.
func TestExpiredServerCertificate(t *testing.T) {
	c := newCerts(t)
	cfg := filepath.Join(t.TempDir(), "web.yml")
	content := "tls_server_config:\n  cert_file: " + c.expiredServerCert + "\n  key_file: " + c.expiredServerKey + "\n"
	if err := os.WriteFile(cfg, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	d := startDaemon(t, nil, "--web.config.file="+cfg)
	_, err := status(t, tlsClient(c.caPool), "https://"+d.addr+"/metrics", "", "")
	var invalid x509.CertificateInvalidError
	if !errors.As(err, &invalid) || invalid.Reason != x509.Expired {
		t.Fatalf("scrape with the expired server certificate: %v; want an x509 expiry error", err)
	}
}
