#!/usr/bin/env bash
# Podman collector benchmark: scrape latency (median, p99) of the real daemon at 30 and
# 100 running containers with 1 and 10 concurrent scrapers (wrk), against a baseline
# scrape of the same binary with the Podman collectors off, measured in the same run;
# Podman API calls per minute idle and under scrape load; RSS and CPU per minute.
set -euo pipefail
cd "$(dirname "$0")/.."
make -s build
bin=bin/podexporter
port=19883
base_port=19884
duration=${BENCH_SECONDS:-10}
state=$(mktemp -d)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	podman ps -aq --filter label=podexporter-bench | xargs -r podman rm -f -t 0 >/dev/null 2>&1 || true
	rm -rf "$state"
}
trap cleanup EXIT

start_containers() { # start containers until $1 run
	local have
	have=$(podman ps -q --filter label=podexporter-bench | wc -l)
	for i in $(seq $((have + 1)) "$1"); do
		podman run -d --label podexporter-bench=1 --name "pe-bench-$i" localhost/busybox:test sleep 100000 >/dev/null
	done
}

metric_sum() { # sum of a family's samples on a port
	curl -s "http://127.0.0.1:$1/metrics" | awk -v n="$2" '$1 ~ "^"n"({|$)" { s += $NF } END { printf "%.0f", s }'
}

cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
rss_mib() { awk '/VmRSS/ { r = $2 } /RssAnon/ { a = $2 } END { printf "%.1f/%.1f", r / 1024, a / 1024 }' "/proc/$1/status"; }

latency() { # wrk run; prints "p50_ms p99_ms"
	wrk -t1 -c"$2" -d"${duration}s" --latency "http://127.0.0.1:$1/metrics" |
		awk '/^ +50%/ { p50 = $2 } /^ +99%/ { p99 = $2 }
		function ms(v) { if (v ~ /us$/) return v / 1000; if (v ~ /ms$/) return v + 0; if (v ~ /s$/) return v * 1000; return v }
		END { printf "%.2f %.2f\n", ms(p50), ms(p99) }'
}

"$bin" --web.listen-address=127.0.0.1:$port --state.directory="$state/a" --log.level=warn &
pids+=($!)
daemon=$!
"$bin" --web.listen-address=127.0.0.1:$base_port --state.directory="$state/b" --log.level=warn \
	--no-collector.podman --no-collector.container --no-collector.pod --no-collector.image \
	--no-collector.volume --no-collector.network --no-collector.system &
pids+=($!)

printf '\n%-10s %-9s %12s %12s %12s %12s %14s %14s %9s %12s\n' containers scrapers p50_ms p99_ms base_p50_ms base_p99_ms api_calls/min api_calls/min RSS_MiB CPU_s/min
printf '%-10s %-9s %12s %12s %12s %12s %14s %14s %9s %12s\n' "" "" "" "" "" "" "(idle)" "(scraped)" "" "(idle)"
for n in 30 100; do
	start_containers "$n"
	for _ in $(seq 100); do
		[ "$(curl -s http://127.0.0.1:$port/metrics | grep -c '^podman_container_state{')" -ge "$n" ] && break
		sleep 0.5
	done
	sleep 12 # a stats poll with every container in it
	# Idle window: API calls and CPU with no scrapes at all.
	a0=$(metric_sum $port podexporter_podman_api_requests_total); c0=$(cpu_ticks "$daemon"); t0=$(date +%s.%N)
	sleep 30
	a1=$(metric_sum $port podexporter_podman_api_requests_total); c1=$(cpu_ticks "$daemon"); t1=$(date +%s.%N)
	idle_calls=$(awk -v a="$a0" -v b="$a1" -v s="$t0" -v e="$t1" 'BEGIN { printf "%.1f", (b - a) * 60 / (e - s) }')
	cpu=$(awk -v a="$c0" -v b="$c1" -v s="$t0" -v e="$t1" -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.2f", (b - a) / hz * 60 / (e - s) }')
	for c in 1 10; do
		a0=$(metric_sum $port podexporter_podman_api_requests_total); t0=$(date +%s.%N)
		read -r p50 p99 < <(latency $port $c)
		a1=$(metric_sum $port podexporter_podman_api_requests_total); t1=$(date +%s.%N)
		read -r b50 b99 < <(latency $base_port $c)
		calls=$(awk -v a="$a0" -v b="$a1" -v s="$t0" -v e="$t1" 'BEGIN { printf "%.1f", (b - a) * 60 / (e - s) }')
		printf '%-10s %-9s %12s %12s %12s %12s %14s %14s %9s %12s\n' "$n" "$c" "$p50" "$p99" "$b50" "$b99" "$idle_calls" "$calls" "$(rss_mib "$daemon")" "$cpu"
	done
done
echo "(api_calls/min counts Podman API requests made by podexporter; scrapes themselves make none)"
