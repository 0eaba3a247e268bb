#!/usr/bin/env bash
# Runs every Go benchmark and prints a table of each one's time per operation as a
# ratio to the baseline benchmark of its package (the one named *Baseline*), measured
# in the same run, since these machines are shared and absolute numbers drift.
set -euo pipefail
cd "$(dirname "$0")/.."
tags='remote exclude_graphdriver_btrfs exclude_graphdriver_devicemapper containers_image_openpgp'
out=$(mktemp)
go test -tags "$tags" -run '^$' -bench . -benchmem -count "${BENCH_COUNT:-3}" ./... | tee "$out" >&2
awk '
/^pkg: / { pkg = $2 }
/^Benchmark/ {
	name = $1; sub(/-[0-9]+$/, "", name)
	key = pkg " " name
	ns[key] += $3; n[key]++
	if (!(key in seen)) { order[++count] = key; seen[key] = 1 }
	if (name ~ /Baseline/) base[pkg] = key
}
END {
	printf "\n%-40s %-48s %14s %10s\n", "package", "benchmark", "ns/op", "x baseline"
	for (i = 1; i <= count; i++) {
		key = order[i]; split(key, p, " ")
		avg = ns[key] / n[key]
		ratio = "-"
		if (p[1] in base) { b = base[p[1]]; ratio = sprintf("%.2f", avg / (ns[b] / n[b])) }
		sub(/.*podexporter\//, "", p[1])
		printf "%-40s %-48s %14.0f %10s\n", p[1], p[2], avg, ratio
	}
}' "$out"
rm -f "$out"

# The Podman collector's scrape benchmark runs the real daemon against real containers.
if [ "${BENCH_PODMAN:-1}" = 1 ]; then
	scripts/bench-podman.sh
fi
# Memory, idle CPU and scrape p50 of the real daemon at 100, 300 and 1,000 real
# containers (about 20 minutes; BENCH_CONTAINERS="100 300" for a shorter run).
if [ "${BENCH_MEMORY:-1}" = 1 ]; then
	scripts/bench-memory.sh
fi
