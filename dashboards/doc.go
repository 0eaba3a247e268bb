// Package dashboards ships podexporter's Grafana dashboards (*.json, Grafana's JSON
// model, importable as they are) and Prometheus alert rules (alerts.yml). Its tests
// check every query against the metric catalog and, end to end, against a real
// Prometheus that scrapes the real daemon, so a renamed metric cannot leave a panel
// silently empty.
package dashboards

import "embed"

// Files holds the dashboards and the alert rules, so that tests (and any tool that
// wants to provision them) read exactly what is shipped.
//
//go:embed *.json alerts.yml
var Files embed.FS
