// Package faults holds the fault matrix: the real podexporter binary, the real
// journald, Podman API service and OpenTelemetry Collector, a steady logging load
// with container churn, and one fault injected per row (see matrix_test.go, built
// with the faults tag, run by make faults).
package faults
