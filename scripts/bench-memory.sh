#!/usr/bin/env bash
# Memory and idle CPU of the real daemon against real Podman containers, with default
# settings: at each container count (BENCH_CONTAINERS, default "100 300 1000") a fresh
# daemon is started, left idle, then scraped once a second. It prints resident memory
# (VmRSS, its anonymous and file-backed parts), idle CPU-seconds per minute, scrape
# p50, and the anonymous memory each container adds between counts. The baseline,
# measured in the same run, is the same binary with every Podman collector off.
# BENCH_BINARIES="before=path after=path" compares builds side by side.
set -euo pipefail
cd "$(dirname "$0")/.."
counts=${BENCH_CONTAINERS:-100 300 1000}
idle=${BENCH_IDLE_SECONDS:-60}
scraped=${BENCH_SCRAPED_SECONDS:-30}
if [ -z "${BENCH_BINARIES:-}" ]; then
	make -s build
	BENCH_BINARIES="podexporter=bin/podexporter"
fi
port=19895
state=$(mktemp -d)
daemon=""
cleanup() {
	[ -n "$daemon" ] && kill "$daemon" 2>/dev/null || true
	podman ps -aq --filter label=podexporter-bench-memory | xargs -r podman rm -f -t 0 >/dev/null 2>&1 || true
	rm -rf "$state"
}
trap cleanup EXIT

start_containers() { # until $1 run; in parallel, Podman takes a while per container
	local have
	have=$(podman ps -q --filter label=podexporter-bench-memory | wc -l)
	seq $((have + 1)) "$1" | xargs -P 4 -I{} podman run -d --label podexporter-bench-memory=1 \
		--name "pe-mem-{}" localhost/busybox:test sleep 1000000 >/dev/null
}

status_kib() { awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status"; }
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
median() { sort -n | awk '{ v[NR] = $1 } END { if (NR) print v[int((NR + 1) / 2)]; else print 0 }'; }

# sample PID SECONDS SCRAPE: medians of VmRSS, RssAnon, RssFile (KiB) over the window,
# scraping once a second when SCRAPE is 1.
sample() {
	local rss=() anon=() file=()
	for _ in $(seq "$2"); do
		[ "$3" = 1 ] && curl -s -o /dev/null "http://127.0.0.1:$port/metrics"
		rss+=("$(status_kib "$1" VmRSS)"); anon+=("$(status_kib "$1" RssAnon)"); file+=("$(status_kib "$1" RssFile)")
		sleep 1
	done
	printf '%s %s %s\n' "$(printf '%s\n' "${rss[@]}" | median)" "$(printf '%s\n' "${anon[@]}" | median)" "$(printf '%s\n' "${file[@]}" | median)"
}

p50_ms() {
	wrk -t1 -c1 -d10s --latency "http://127.0.0.1:$port/metrics" |
		awk '/^ +50%/ { v = $2 } END { if (v ~ /us$/) v = v / 1000; else if (v ~ /ms$/) v = v + 0; else if (v ~ /s$/) v = v * 1000; printf "%.2f", v }'
}

# run NAME BINARY CONTAINERS [FLAGS...]: one fresh daemon, one table row.
run() {
	local name=$1 bin=$2 n=$3
	shift 3
	rm -rf "$state/s" && mkdir -p "$state/s"
	"$bin" --web.listen-address=127.0.0.1:$port --state.directory="$state/s" --log.level=warn "$@" &
	daemon=$!
	for _ in $(seq 600); do
		[ "$(curl -s "http://127.0.0.1:$port/metrics" | grep -c '^podman_container_state{')" -ge "$n" ] && break
		[ "$#" -gt 0 ] && curl -sf -o /dev/null "http://127.0.0.1:$port/metrics" && break
		sleep 1
	done
	sleep 20 # past the first stats and slow rounds
	local c0 t0 c1 t1 cpu
	c0=$(cpu_ticks "$daemon"); t0=$(date +%s.%N)
	read -r irss ianon ifile < <(sample "$daemon" "$idle" 0)
	c1=$(cpu_ticks "$daemon"); t1=$(date +%s.%N)
	cpu=$(awk -v a="$c0" -v b="$c1" -v s="$t0" -v e="$t1" -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.3f", (b - a) / hz * 60 / (e - s) }')
	read -r srss sanon sfile < <(sample "$daemon" "$scraped" 1)
	local p50
	p50=$(p50_ms)
	kill "$daemon"; wait "$daemon" 2>/dev/null || true; daemon=""
	printf '%-12s %-10s %10.1f %10.1f %10.1f %10.1f %10.1f %10.1f %12s %10s\n' "$name" "$n" \
		"$(echo "$irss / 1024" | bc -l)" "$(echo "$ianon / 1024" | bc -l)" "$(echo "$ifile / 1024" | bc -l)" \
		"$(echo "$srss / 1024" | bc -l)" "$(echo "$sanon / 1024" | bc -l)" "$(echo "$sfile / 1024" | bc -l)" "$cpu" "$p50"
	echo "$name $n $ianon $sanon" >>"$state/anon"
}

printf '\n%-12s %-10s %10s %10s %10s %10s %10s %10s %12s %10s\n' binary containers RSS_MiB anon_MiB file_MiB RSS_MiB anon_MiB file_MiB CPU_s/min p50_ms
printf '%-12s %-10s %10s %10s %10s %10s %10s %10s %12s %10s\n' "" "" "(idle)" "(idle)" "(idle)" "(scraped)" "(scraped)" "(scraped)" "(idle)" ""
first_bin=${BENCH_BINARIES%% *}
first_bin=${first_bin#*=}
run baseline "$first_bin" 0 --no-collector.podman --no-collector.container --no-collector.pod \
	--no-collector.image --no-collector.volume --no-collector.network --no-collector.system
for n in $counts; do
	start_containers "$n"
	for b in $BENCH_BINARIES; do
		run "${b%%=*}" "${b#*=}" "$n"
	done
done
echo
echo "anonymous memory added per container (KiB), idle / scraped, between successive counts:"
awk '$1 != "baseline" {
	if (($1 in last)) printf "  %-12s %5s -> %-5s %8.1f / %.1f\n", $1, lastn[$1], $2, ($3 - last[$1]) / ($2 - lastn[$1]), ($4 - lasts[$1]) / ($2 - lastn[$1])
	last[$1] = $3; lasts[$1] = $4; lastn[$1] = $2
}' "$state/anon"
