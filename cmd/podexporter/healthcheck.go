package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"strings"

	"github.com/prometheus/exporter-toolkit/web"
	"gopkg.in/yaml.v3"

	"github.com/podexporter/podexporter/cmd/podexporter/internal/config"
)

// healthcheck asks the daemon's /healthz on the first listen address, so that images
// without curl can use `HealthCmd=podexporter healthcheck`. A 401 also counts as
// alive: the daemon answered, and the check holds no password to give.
func healthcheck(ctx context.Context, cfg *config.Config) error {
	if len(cfg.Web.ListenAddresses) == 0 {
		return errors.New("no --web.listen-address to check")
	}
	host, port, err := net.SplitHostPort(cfg.Web.ListenAddresses[0])
	if err != nil {
		return fmt.Errorf("--web.listen-address %q: %w", cfg.Web.ListenAddresses[0], err)
	}
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "localhost"
	}
	scheme, client := "http", &http.Client{Timeout: cfg.HealthcheckTimeout}
	if tlsOn, err := webConfigHasTLS(cfg.Web.ConfigFile); err != nil {
		return err
	} else if tlsOn {
		// The check runs beside the daemon; what it proves is liveness, not identity.
		scheme = "https"
		client.Transport = &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}} //nolint:gosec // see above
	}
	url := scheme + "://" + net.JoinHostPort(host, port) + "/healthz"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("GET %s: %w", url, err)
	}
	resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusOK, http.StatusUnauthorized:
		return nil
	}
	return fmt.Errorf("GET %s: %s", url, resp.Status)
}

func webConfigHasTLS(path string) (bool, error) {
	if path == "" {
		return false, nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return false, fmt.Errorf("--web.config.file: %w", err)
	}
	var c web.Config
	if err := yaml.Unmarshal(data, &c); err != nil && !strings.Contains(err.Error(), "cannot unmarshal") {
		return false, fmt.Errorf("--web.config.file %s: %w", path, err)
	}
	return c.TLSConfig.TLSCertPath != "" || c.TLSConfig.TLSCert != "", nil
}
