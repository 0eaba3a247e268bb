#!/usr/bin/env bash
# Runs the fault matrix (cmd/podexporter/internal/faults, built with the faults tag) against the real
# journald, Podman API service and OpenTelemetry Collector, and prints its table.
# FAULTS=full (default) or short (CI: without the 10-minute collector outage);
# FAULTS_ONLY=regexp picks rows by name; FAULTS_REPORT=1 writes docs/reliability.md.
# It kills and restarts journald and the Podman service: run it on a test host only.
# MATRIX=TestHostileInput runs the hostile-input matrix instead (make hostile; its
# HOSTILE_ONLY and HOSTILE_REPORT do the same for it).
set -euo pipefail
cd "$(dirname "$0")/.."
tags='remote exclude_graphdriver_btrfs exclude_graphdriver_devicemapper containers_image_openpgp faults'
export FAULTS=${FAULTS:-full}
log=$(mktemp)
trap 'rm -f "$log"' EXIT
status=0
go test -tags "$tags" -count=1 -run "^${MATRIX:-TestFaultMatrix}\$" -timeout 45m -v ./cmd/podexporter/internal/faults/ >"$log" 2>&1 || status=$?
# The table, then on failure what went wrong.
grep -E '^\|' "$log" || true
if [ "$status" -ne 0 ]; then
	grep -vE '^\|' "$log" | tail -80
fi
exit "$status"
