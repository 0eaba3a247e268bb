#!/usr/bin/env bash
# The service layer's cost (issue 21): the real daemon inside a booted systemd host with
# Podman 5 and Quadlet (what `make systemd-e2e` boots; scripts/systemd-host.sh prepares
# it), 50 Quadlet .container units and 50 plain containers, the service layer off (A:
# --no-collector.systemd --no-collector.hardening) against on (B: the defaults), a fresh
# daemon per run, interleaved A B A B A B. Prints every run and the medians with B/A:
# idle CPU over 60 s with no scrape, RSS and anonymous memory after it, scrape p50 (one
# scraper back to back for 10 s, as Prometheus asks and as curl asks), scrapes after a
# new Podman snapshot (11 s apart, as Prometheus's interval meets them), series per
# scrape, and systemd's signals and the source's resyncs during the idle window.
# Settings (environment): BENCH_SERVICE_UNITS, BENCH_SERVICE_PLAIN, BENCH_SERVICE_RUNS,
# BENCH_SERVICE_IDLE_SECONDS, BENCH_SERVICE_SCRAPE_SECONDS, BENCH_SERVICE_CADENCE_SCRAPES,
# BENCH_SERVICE_HEALTH (a HealthInterval= for the units, e.g. 1m), BENCH_SERVICE_MAX_LOAD
# (wait before each A/B pair, at most 15 minutes, until the 1-minute load average is
# below it), BENCH_SERVICE_PERF (a directory for a perf profile of one more daemon,
# service layer on); the test, deploy/bench_service_test.go, describes them.
# About 20 minutes on a 2-vCPU VM. Shares the CPU with whatever else runs: look at
# `uptime` first, or set BENCH_SERVICE_MAX_LOAD=1.
set -euo pipefail
cd "$(dirname "$0")/.."
tags='remote exclude_graphdriver_btrfs exclude_graphdriver_devicemapper containers_image_openpgp systemd_e2e'
make -s build
vars=$(scripts/systemd-host.sh)
echo "bench-service: load average before: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
# The whole test output (every run's figures, the witness's, the daemons' logs on a
# failure) stays in BENCH_SERVICE_LOG.
log=${BENCH_SERVICE_LOG:-$(mktemp /tmp/bench-service.XXXXXX.log)}
echo "bench-service: full output in $log" >&2
status=0
env $vars BENCH_SERVICE=1 BENCH_SERVICE_MAX_LOAD="${BENCH_SERVICE_MAX_LOAD:-0}" BENCH_SERVICE_BINARY="$PWD/bin/podexporter" \
	go test -tags "$tags" -count=1 -run '^TestBenchService$' -timeout 120m -v ./deploy/ >"$log" 2>&1 || status=$?
grep -E '^(\||bench-service:|$)' "$log" || true
if [ "$status" -ne 0 ]; then
	grep -vE '^\|' "$log" | tail -80
fi
# A test killed by its timeout runs no cleanup: remove its host container (only ours,
# by the name it printed; other runs' hosts may be up).
name=$(sed -n 's/^bench-service: host container //p' "$log" | head -1)
if [ -n "$name" ] && podman container exists "$name" 2>/dev/null; then
	echo "bench-service: removing leftover container $name" >&2
	podman --events-backend=file rm -f -t 20 "$name" >/dev/null || true
	status=1
fi
for m in /sys/fs/cgroup /sys/fs/cgroup/unified; do
	if findmnt -no OPTIONS "$m" | grep -qE '(^|,)ro(,|$)'; then
		echo "bench-service: $m was left read-only; remounting it rw" >&2
		mount -o remount,rw "$m"
		status=1
	fi
done
exit "$status"
