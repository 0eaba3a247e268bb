#!/usr/bin/env bash
# Steady-state cost of shipping container logs (issue 24): what podexporter pays per
# line on a host whose journal holds gigabytes, beside the OpenTelemetry Collector's
# journald receiver and a baseline, all measured in the same run.
#
# Where: inside a booted systemd host (Debian 12, systemd as PID 1 with its own
# journald and /var/log/journal, Podman 5.7; scripts/systemd-host.sh prepares it), so
# the VM's own journal, which other tests read, is never grown. Every shipper sends
# OTLP/HTTP with gzip to `steady sink` (bench/steady), a minimal OTLP receiver in the
# host that counts each writer's lines, duplicates and end-to-end latency, so lines are
# counted the same way for every shipper: at the receiver, once acknowledged.
#
#   live    the host's journal is an overlay of a cached journal of BENCH_STEADY_JOURNAL_MIB
#           (2400) MiB in files of BENCH_STEADY_FILE_MIB (100) MiB, made by `steady
#           fill` (conmon-shaped entries of the live containers' names and 200 old
#           ones, incompressible messages) once and kept under $PODMAN5_CACHE (default
#           /var/cache/podexporter) keyed by what made it. Five containers log through
#           conmon: steady-busy at 1,800 lines/s, steady-small-1..4 at 125 each. Each
#           shipper starts at the tail; after BENCH_STEADY_WARMUP (15) s it is measured
#           from /proc over BENCH_STEADY_WINDOW (60) s: CPU per delivered line
#           (utime+stime of its processes / lines the sink counted), RSS and anonymous
#           memory (medians of 2 s samples), wake-ups per second (voluntary plus
#           involuntary context switches of all its threads), latency p50/p99 (write
#           to receipt). Shippers: podexporter with --journal.include-container
#           '^steady-busy$' and without a filter; the Collector's journald receiver
#           (tools/otelcol-journald: journald → batch → otlphttp gzip) with the same
#           match and without; baseline: `journalctl -f -o export >/dev/null` with the
#           same match and without (its lines: the writers' sequence numbers in the
#           journal at both ends). BENCH_STEADY_RUNS (1) repeats them, interleaved.
#   profile podexporter built with symbols and net/http/pprof (an overlay, see
#           bench/steady/pprof_overlay.go.in), in the same live host, with and without
#           the filter: perf record with DWARF call graphs and the Go allocation profile
#           for BENCH_STEADY_PERF_SECONDS (30; 0 skips), then page faults, perf stat
#           (context switches, syscalls) and strace -c. Reports in the output directory;
#           not part of the table (sampling costs CPU).
#   head    a fresh journal (written once by a container through conmon, then cached
#           like the live one): 300,000 short lines (BENCH_STEADY_HEAD_SHORT), then
#           another with 100,000 lines of which 2% are 20 KiB (BENCH_STEADY_HEAD_BIG;
#           conmon splits them); each
#           shipper from the head until the sink has every line, and journalctl -o
#           export over the same journal. Start-up CPU (a start with nothing to read,
#           8 s) is shown and subtracted. BENCH_STEADY_HEAD=0 skips.
#   scrape  scripts/bench-memory.sh at 100 containers on the VM's Podman: RSS and scrape
#           p50 (BENCH_STEADY_SCRAPE=0 skips).
#
# BENCH_STEADY_BEFORE names a second daemon binary (the code before a change): it then
# runs beside bin/podexporter in every live and head round, interleaved, as
# "podexporter (before)", so a change is measured against its baseline in one run.
# BENCH_STEADY_HEAD_OTEL=0 leaves the Collector out of the head rows (the slowest).
# BENCH_STEADY_ZSTD=1 adds the daemon with --otlp.compression=zstd to the live and head
# rounds, as "podexporter, zstd": what the cheaper compression buys where the receiver
# takes it (every shipper else sends gzip, the OTLP exporters' default).
#
# Prints one markdown table (and the daemon's allocation and scrape figures) with the
# VM's load average; everything else (unit logs, sink answers, profiles) stays in
# BENCH_STEADY_OUT. The daemon is bin/podexporter from `make build` unless
# BENCH_STEADY_BINARY names another. About 25 minutes on a 2-vCPU VM under a load
# average of 10-20 once the journals are cached (the Collector's journald receiver
# reading 300,000 lines from the head is 3-5 of them); the first run builds the 2.4 GB
# journal (3 minutes), the head journals (about 7) and the Collector (up to 8) first.
set -euo pipefail
shopt -s inherit_errexit
cd "$(dirname "$0")/.."

window=${BENCH_STEADY_WINDOW:-60}
warmup=${BENCH_STEADY_WARMUP:-10}
runs=${BENCH_STEADY_RUNS:-1}
journal_mib=${BENCH_STEADY_JOURNAL_MIB:-2400}
file_mib=${BENCH_STEADY_FILE_MIB:-100}
perf_secs=${BENCH_STEADY_PERF_SECONDS:-30}
head_short=${BENCH_STEADY_HEAD_SHORT:-300000}
head_big=${BENCH_STEADY_HEAD_BIG:-100000}
do_head=${BENCH_STEADY_HEAD:-1}
do_scrape=${BENCH_STEADY_SCRAPE:-1}
cache=${PODMAN5_CACHE:-/var/cache/podexporter}
busy_rate=1800
small_rate=125
filter='^steady-busy$'
tags='remote exclude_graphdriver_btrfs exclude_graphdriver_devicemapper containers_image_openpgp'
# A fixed machine id: journald keeps a machine's files in a directory named after it,
# and readers of the local journal read only their machine's, so the cached journal
# and every host that mounts it must agree.
machine_id=5e4dbe4c0a1e4d5c9e2b7f1a6c3d8e90

started=$(date +%s)
log() { printf 'bench-steady: [%dm%02ds] %s\n' $((($(date +%s) - started) / 60)) $((($(date +%s) - started) % 60)) "$*" >&2; }
load() { cut -d' ' -f1 /proc/loadavg; }

mkdir -p "$cache"
work=$(mktemp -d "${TMPDIR:-/tmp}/bench-steady.XXXXXX")
out=${BENCH_STEADY_OUT:-$work.out}
mkdir -p "$out" "$work/e2e"
chmod 755 "$work" "$work/e2e"
echo "$machine_id" >"$work/machine-id"
hosts=()
cleanup() {
	local status=$? h m
	for h in "${hosts[@]}"; do
		podman --events-backend=file rm -f -t 20 "$h" >/dev/null 2>&1 || true
	done
	# A booted host can leave the VM's cgroup mounts read-only (see deploy/systemdhost_test.go).
	for m in /sys/fs/cgroup /sys/fs/cgroup/unified; do
		if findmnt -no OPTIONS "$m" 2>/dev/null | grep -qE '(^|,)ro(,|$)'; then
			log "$m was left read-only; remounting it rw"
			mount -o remount,rw "$m" || true
		fi
	done
	rm -rf "$work"
	exit "$status"
}
trap cleanup EXIT

# --- what runs ---------------------------------------------------------------------
if [ -n "${BENCH_STEADY_BINARY:-}" ]; then
	bin=$BENCH_STEADY_BINARY
else
	make -s build
	bin=bin/podexporter
fi
cp "$bin" "$work/e2e/podexporter"
daemons=(podexporter)
if [ -n "${BENCH_STEADY_BEFORE:-}" ]; then
	cp "$BENCH_STEADY_BEFORE" "$work/e2e/podexporter-before"
	daemons=(podexporter-before podexporter)
fi
[ "${BENCH_STEADY_ZSTD:-0}" = 1 ] && daemons+=(podexporter-zstd)
CGO_ENABLED=0 go build -trimpath -o "$work/e2e/steady" ./bench/steady

# The Collector with the journald receiver, cached by the hash of its module.
okey=$({
	go env GOVERSION
	cat tools/otelcol-journald/go.mod tools/otelcol-journald/go.sum tools/otelcol-journald/*.go
} | sha256sum | cut -c1-16)
otelcol=$cache/otelcol-journald-$okey/otelcol-journald
if [ ! -x "$otelcol" ]; then
	log "building the Collector with the journald receiver (once; several minutes)"
	mkdir -p "$(dirname "$otelcol")"
	GOWORK=off CGO_ENABLED=0 go -C tools/otelcol-journald build -trimpath -o "$otelcol.tmp" .
	mv "$otelcol.tmp" "$otelcol"
fi
cp "$otelcol" "$work/e2e/otelcol-journald"

if [ "$perf_secs" -gt 0 ]; then
	if ! command -v perf >/dev/null; then
		log "installing linux-perf for the profile"
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq linux-perf >/dev/null
	fi
	# Symbols kept (no -s -w), for perf, and net/http/pprof added through an overlay
	# (bench/steady/pprof_overlay.go.in) for the allocation profile.
	printf '{"Replace": {"%s": "%s"}}\n' "$PWD/cmd/podexporter/zz_steady_pprof.go" "$PWD/bench/steady/pprof_overlay.go.in" >"$work/overlay.json"
	go build -tags "$tags" -overlay "$work/overlay.json" -o "$work/e2e/podexporter-symbols" ./cmd/podexporter
fi

# The booted host's image and Podman 5 (older and newer systemd-host.sh print
# different names).
vars=$(scripts/systemd-host.sh bookworm)
image=$(sed -n 's/^SYSTEMD_E2E_IMAGE\(_bookworm\)\{0,1\}=//p' <<<"$vars" | head -1)
podman_dir=$(sed -n -e 's/^SYSTEMD_E2E_PODMAN_bookworm=//p' -e 's/^PODMAN5_DIR=//p' <<<"$vars" | head -1)
[ -n "$image" ] && [ -x "$podman_dir/podman" ] || {
	log "scripts/systemd-host.sh gave no image or Podman: $vars"
	exit 1
}
cp "$podman_dir/podman" "$work/e2e/podman"
podman --events-backend=file save -q -o "$work/e2e/busybox.tar" localhost/busybox:test
chmod -R a+r "$work/e2e"
cg2=$(findmnt -t cgroup2 -no TARGET | head -1)

# --- the booted host -----------------------------------------------------------------
hp() { podman --events-backend=file "$@"; }
hx() {
	local h=$1
	shift
	hp exec -e PODMAN_IGNORE_CGROUPSV1_WARNING=1 "$h" "$@"
}

# boot NAME JOURNAL_DIR [O]: boots a host whose /var/log/journal is JOURNAL_DIR (with O,
# an overlay of it that the host's journald writes to and JOURNAL_DIR never sees), as deploy/systemdhost_test.go
# does: a private cgroup namespace with cgroup2 mounted inside, Podman's storage on the
# VM's disk. Sets host_pid and host_cg (the host's cgroup2 directory on the VM).
boot() {
	local name=$1 vol=$2:/var/log/journal state
	[ "${3:-}" = O ] && vol=$vol:O
	mkdir -p "$work/$name/storage" "$work/$name/home"
	hp run -d --name "$name" --hostname steady --privileged --systemd=always --cgroupns=private \
		--log-driver=k8s-file -v "$work/$name/storage:/var/lib/containers" -v "$work/$name/home:/home" \
		-v "$work/e2e:/e2e" -v "$vol" -v "$work/machine-id:/etc/machine-id:ro" \
		"$image" sh -c 'umount -R /sys/fs/cgroup && mount -t cgroup2 cgroup2 /sys/fs/cgroup && exec /lib/systemd/systemd' >/dev/null
	hosts+=("$name")
	for _ in $(seq 180); do
		state=$(hx "$name" systemctl is-system-running 2>/dev/null || true)
		[ "$state" = running ] || [ "$state" = degraded ] && break
		sleep 0.5
	done
	[ "$state" = running ] || [ "$state" = degraded ] || {
		log "$name did not boot ($state)"
		exit 1
	}
	host_pid=$(hp inspect -f '{{.State.Pid}}' "$name")
	host_cg=$cg2$(sed -n 's|^0::\(.*\)/init.scope$|\1|p' "/proc/$host_pid/cgroup")
	[ -d "$host_cg/system.slice" ] || {
		log "no cgroup of $name at $host_cg"
		exit 1
	}
}

# setup NAME: journald with files of file_mib and no rate limit (a 1,800 lines/s
# container passes journald's default burst), Podman 5 over Debian's 4.3 as the
# bookworm kind of `make systemd-e2e` installs it, the busybox image, the sink.
setup() {
	local name=$1
	hx "$name" sh -c "set -e
mkdir -p /etc/systemd/journald.conf.d
printf '[Journal]\nStorage=persistent\nSystemMaxFileSize=${file_mib}M\nSystemMaxUse=$((journal_mib * 3))M\nSystemKeepFree=1G\nRateLimitBurst=0\n' >/etc/systemd/journald.conf.d/steady.conf
systemctl restart systemd-journald
install -m 0755 /e2e/podman /usr/bin/podman
rm -f /usr/share/containers/seccomp.json
mkdir -p /etc/containers
cat >/etc/containers/containers.conf <<'EOF'
[containers]
default_ulimits = [\"nofile=1024:1024\",\"nproc=1024:1024\"]
log_driver = \"journald\"
pids_limit = 0
[engine]
events_logger = \"journald\"
runtime = \"runc\"
network_backend = \"cni\"
database_backend = \"sqlite\"
EOF
systemctl stop podman.service podman.socket
systemctl start podman.socket
podman load -q -i /e2e/busybox.tar >/dev/null
systemd-run --quiet --unit=steady-sink --property=StandardOutput=append:/e2e/$name-sink.log --property=StandardError=append:/e2e/$name-sink.log /e2e/steady sink -listen 127.0.0.1:4318
for i in \$(seq 50); do curl -fs -o /dev/null http://127.0.0.1:4318/stats && exit 0; sleep 0.1; done
exit 1"
}

# in_host NAME CMD...: runs CMD on the VM in the host's network namespace (cheaper
# than podman exec, which would cost the measured machine CPU of its own).
in_net() { nsenter -t "$host_pid" -n "$@"; }
sink() { in_net curl -fsS "http://127.0.0.1:4318/$1" "${@:2}"; }

# unit NAME UNIT STDOUT CMD...: starts CMD as a transient service of the host.
unit() {
	local name=$1 u=$2 stdout=$3
	shift 3
	hx "$name" systemd-run --quiet --unit="$u" --property="StandardOutput=$stdout" \
		--property="StandardError=append:/e2e/$u.log" "${unit_env[@]}" "$@"
	unit_env=()
}
unit_env=()
stop_unit() { hx "$1" systemctl stop "$2" >/dev/null 2>&1 || true; }
unit_cg() { echo "$host_cg/system.slice/$1.service"; }

# snap CG: "seconds ticks switches usage_usec" for the unit's processes: utime+stime
# (clock ticks) from /proc/PID/stat, voluntary+involuntary context switches of every
# thread from /proc/PID/task/*/status, the cgroup's CPU time as a cross-check.
snap() {
	local cg=$1 p t=0 s=0 v
	for p in $(cat "$cg/cgroup.procs"); do
		v=$(sed 's/^.*) //' "/proc/$p/stat" 2>/dev/null | awk '{ print $12 + $13 }') || v=0
		t=$((t + ${v:-0}))
		v=$(cat "/proc/$p"/task/*/status 2>/dev/null | awk '/^(non)?voluntary_ctxt_switches:/ { n += $2 } END { print n + 0 }') || v=0
		s=$((s + ${v:-0}))
	done
	echo "$(date +%s.%N) $t $s $(awk '$1 == "usage_usec" { print $2 }' "$cg/cpu.stat")"
}
# mem CG: VmRSS, RssAnon and VmHWM (KiB) summed over the unit's processes.
mem() {
	local p
	for p in $(cat "$1/cgroup.procs" 2>/dev/null); do cat "/proc/$p/status" 2>/dev/null || true; done |
		awk '$1 == "VmRSS:" { r += $2 } $1 == "RssAnon:" { a += $2 } $1 == "VmHWM:" { h += $2 } END { print r + 0, a + 0, h + 0 }'
}
median() { sort -n | awk '{ v[NR] = $1 } END { if (NR) print v[int((NR + 1) / 2)]; else print 0 }'; }
# metric NAME: the sum of a daemon metric's series (its /metrics on 127.0.0.1:9883).
metrics() { in_net curl -fs http://127.0.0.1:9883/metrics || true; }
metric() { awk -v n="$1" '$1 == n || index($1, n "{") == 1 { s += $NF } END { print s + 0 }'; }

hz=$(getconf CLK_TCK)
rows=$out/rows.tsv
internals=$out/internals.tsv
: >"$rows"
: >"$internals"
# row SCENARIO SHIPPER FILTER LINES SECONDS CPU_S SWITCHES RSS_KIB ANON_KIB P50 P99 DUPS LOAD
#     STARTUP_S CGROUP_CPU_S REQUESTS: one line of rows.tsv ("-" for what does not apply).
row() { printf '%s\t' "$@" >>"$rows" && printf '\n' >>"$rows"; }

# --- live --------------------------------------------------------------------------
# The journal: built in a host of its own the first time, then kept.
jkey=$({
	echo "mib=$journal_mib file=$file_mib image=$image id=$machine_id"
	cat bench/steady/fill.go
} | sha256sum | cut -c1-12)
journal=$cache/steady-journal-$jkey
if [ ! -d "$journal/journal" ]; then
	log "building the ${journal_mib} MiB journal (once; kept in $journal)"
	rm -rf "$journal.partial"
	mkdir -p "$journal.partial/journal"
	h=pe-steady-fill-$$
	boot "$h" "$journal.partial/journal"
	setup "$h"
	hx "$h" /e2e/steady fill -dir /var/log/journal -mib "$journal_mib" \
		-live steady-busy,steady-small-1,steady-small-2,steady-small-3,steady-small-4 >&2
	hx "$h" journalctl --rotate
	hx "$h" systemctl stop systemd-journald.socket systemd-journald-dev-log.socket systemd-journald-audit.socket systemd-journald.service || true
	hp rm -f -t 20 "$h" >/dev/null
	mv "$journal.partial" "$journal"
fi

h=pe-steady-live-$$
log "booting the live host $h (journal: an overlay of $journal)"
boot "$h" "$journal/journal" O
setup "$h"
jfiles=$(hx "$h" sh -c 'ls /var/log/journal/*/*.journal | wc -l')
jusage=$(hx "$h" journalctl --disk-usage | grep -o '[0-9.]*[KMGT]' | head -1)
log "journal: $jusage in $jfiles files"
hx "$h" podman run -d -q --name steady-busy -v /e2e/steady:/steady:ro localhost/busybox:test \
	/steady write -name steady-busy -rate "$busy_rate" >/dev/null
for i in 1 2 3 4; do
	hx "$h" podman run -d -q --name "steady-small-$i" -v /e2e/steady:/steady:ro localhost/busybox:test \
		/steady write -name "steady-small-$i" -rate "$small_rate" -seed "$((i + 1))" >/dev/null
done

cat >"$work/e2e/otel-all.yaml" <<'EOF'
receivers:
  journald:
    start_at: end
    # Without it journalctl prints fields over 4096 bytes as null: conmon's 8 KiB
    # pieces of a long line would arrive without their text.
    all: true
exporters:
  otlphttp:
    endpoint: http://127.0.0.1:4318
    compression: gzip
processors:
  batch: {}
service:
  pipelines:
    logs:
      receivers: [journald]
      processors: [batch]
      exporters: [otlphttp]
EOF
sed 's/    start_at: end/    start_at: end\n    matches:\n      - CONTAINER_NAME: steady-busy/' "$work/e2e/otel-all.yaml" >"$work/e2e/otel-busy.yaml"
sed 's/start_at: end/start_at: beginning/' "$work/e2e/otel-all.yaml" >"$work/e2e/otel-head.yaml"
chmod a+r "$work"/e2e/*.yaml

# start_shipper HOST UNIT KIND FILTER START: podexporter, otel or journalctl, reading
# from START (tail or head) with FILTER (all or busy).
start_shipper() {
	local host=$1 u=$2 kind=$3 f=$4 start=$5 args=()
	case $kind in
	podexporter | podexporter-symbols | podexporter-before | podexporter-zstd)
		# The daemon turns heap profiling off unless GODEBUG names a rate (cmd/podexporter/main.go).
		[ "$kind" = podexporter-symbols ] && unit_env=(--setenv=GODEBUG=memprofilerate=65536)
		args=(--podman.socket=unix:///run/podman/podman.sock "--state.directory=/var/lib/$u"
			"--journal.start=$start" --otlp.endpoint=http://127.0.0.1:4318 --web.listen-address=127.0.0.1:9883)
		[ "$f" = busy ] && args+=("--journal.include-container=$filter")
		local binary=/e2e/$kind
		[ "$kind" = podexporter-zstd ] && binary=/e2e/podexporter && args+=(--otlp.compression=zstd)
		unit "$host" "$u" "append:/e2e/$u.log" "$binary" "${args[@]}"
		;;
	otel)
		local conf=otel-$f.yaml
		[ "$start" = head ] && conf=otel-head.yaml
		unit "$host" "$u" "append:/e2e/$u.log" /e2e/otelcol-journald "--config=file:/e2e/$conf"
		;;
	journalctl)
		args=(--follow --lines=0 -o export)
		[ "$f" = busy ] && args+=(CONTAINER_NAME=steady-busy)
		unit "$host" "$u" null journalctl "${args[@]}"
		;;
	esac
}

# written HOST FILTER: the sequence numbers the live writers (FILTER busy: steady-busy
# alone) last wrote to the journal, summed; two of them bracket the lines written in
# between, without reading a minute of the journal back.
written() {
	local names=steady-busy
	[ "$2" = all ] && names="steady-busy steady-small-1 steady-small-2 steady-small-3 steady-small-4"
	hx "$1" sh -c "for n in $names; do journalctl -q -n 1 -o cat CONTAINER_NAME=\$n; done" |
		awk '{ for (i = 1; i <= NF; i++) if ($i ~ /^seq=/) { sub(/^seq=/, "", $i); s += $i } } END { print s + 0 }'
}

# live KIND FILTER N: one shipper through warm-up and the window.
live() {
	local kind=$1 f=$2 n=$3 u cg s0 s1 m0="" m1="" st0 st j0=0 j1=0 lines reqs rssf=$work/rss ld
	u=steady-$kind-$f-$n
	start_shipper "$h" "$u" "$kind" "$f" tail
	sleep "$warmup"
	cg=$(unit_cg "$u")
	[ -d "$cg" ] || {
		log "$u is not running: $(tail -5 "$work/e2e/$u.log" 2>/dev/null)"
		return 1
	}
	[ "${kind%-before}" = podexporter ] && m0=$(metrics)
	ld=$(load)
	# The sink is read right after each /proc snapshot, so that its count and the CPU
	# cover the same stretch; its latency figures cover the window from the reset.
	sink reset -X POST
	s0=$(snap "$cg")
	st0=$(sink stats)
	[ "$kind" = journalctl ] && j0=$(written "$h" "$f")
	: >"$rssf"
	local end=$(($(date +%s) + window))
	while [ "$(date +%s)" -lt "$end" ]; do
		mem "$cg" >>"$rssf"
		sleep 2
	done
	s1=$(snap "$cg")
	st=$(sink stats)
	[ "$kind" = journalctl ] && j1=$(written "$h" "$f")
	[ "${kind%-before}" = podexporter ] && m1=$(metrics)
	stop_unit "$h" "$u"
	echo "$st" >"$out/$u.stats.json"
	read -r t0 c0 w0 u0 <<<"$s0"
	read -r t1 c1 w1 u1 <<<"$s1"
	lines=$(($(jq -r '.records' <<<"$st") - $(jq -r '.records' <<<"$st0")))
	reqs=$(($(jq -r '.requests' <<<"$st") - $(jq -r '.requests' <<<"$st0")))
	[ "$kind" = journalctl ] && lines=$((j1 - j0)) && reqs=-
	local secs cpu
	secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')
	cpu=$(awk -v a="$c0" -v b="$c1" -v hz="$hz" 'BEGIN { print (b - a) / hz }')
	row live "$kind" "$f" "$lines" "$secs" "$cpu" "$((w1 - w0))" \
		"$(awk '{ print $1 }' "$rssf" | median)" "$(awk '{ print $2 }' "$rssf" | median)" \
		"$(jq -r '.p50_ms' <<<"$st")" "$(jq -r '.p99_ms' <<<"$st")" "$(jq -r '.dups' <<<"$st")" "$ld" \
		"" "$(awk -v a="$u0" -v b="$u1" 'BEGIN { print (b - a) / 1e6 }')" "$reqs"
	if [ "${kind%-before}" = podexporter ]; then
		local k
		printf '%s\t%s\t%s\t%s' "$kind" "$f" "$lines" "$secs" >>"$internals"
		for k in go_memstats_mallocs_total go_memstats_alloc_bytes_total go_gc_duration_seconds_count \
			podexporter_journal_entries_read_total podexporter_journal_records_delivered_total \
			podexporter_journal_cursor_commits_total podexporter_journal_name_rematches_total; do
			printf '\t%s' "$(awk -v a="$(metric "$k" <<<"$m0")" -v b="$(metric "$k" <<<"$m1")" 'BEGIN { print b - a }')" >>"$internals"
		done
		printf '\n' >>"$internals"
	fi
	log "$u: $lines lines in ${secs%.*} s, CPU ${cpu} s, load $ld"
}

log "live: load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
live_load0=$(cut -d' ' -f1-3 /proc/loadavg)
sleep 5 # the containers' first lines past
for n in $(seq "$runs"); do
	vs=()
	for d in "${daemons[@]}"; do vs+=("$d busy" "$d all"); done
	for v in "${vs[@]}" "otel busy" "otel all" "journalctl busy" "journalctl all"; do
		# shellcheck disable=SC2086 # two words: kind and filter
		live $v "$n"
	done
done
live_load1=$(cut -d' ' -f1-3 /proc/loadavg)
hx "$h" sh -c 'podman ps --format "{{.Names}} {{.Status}}"' >"$out/live-containers.txt"

# --- profile -----------------------------------------------------------------------
if [ "$perf_secs" -gt 0 ]; then
	for f in busy all; do
		u=steady-profile-$f
		start_shipper "$h" "$u" podexporter-symbols "$f" tail
		sleep "$warmup"
		pid=$(head -1 "$(unit_cg "$u")/cgroup.procs")
		d=$out/profile-$f
		mkdir -p "$d"
		log "profile ($f): perf record and the Go allocation profile for $perf_secs s, then page faults for 5 s, perf stat and strace -c for 10 s each"
		# DWARF call graphs: libsystemd is built without frame pointers, so only they
		# carry its samples back to the Go function that called it.
		in_net curl -fsS -o "$d/allocs.pb.gz" "http://127.0.0.1:6060/debug/pprof/allocs?seconds=$perf_secs" &
		a0=$(sink stats)
		perf record -q --call-graph dwarf,16384 -F 499 -p "$pid" -o "$d/perf.data" -- sleep "$perf_secs" >/dev/null 2>&1
		wait
		a1=$(sink stats)
		echo "lines delivered during the CPU and allocation profiles: $(($(jq -r .records <<<"$a1") - $(jq -r .records <<<"$a0")))" >"$d/lines.txt"
		perf record -q -e page-faults --call-graph dwarf,16384 -p "$pid" -o "$d/faults.data" -- sleep 5 >/dev/null 2>&1 || true
		perf stat -e task-clock,context-switches,cpu-migrations,page-faults,raw_syscalls:sys_enter \
			-p "$pid" -o "$d/perf-stat.txt" -- sleep 10 >/dev/null 2>&1 || true
		timeout -s INT 10 strace -c -f -p "$pid" -o "$d/strace-c.txt" >/dev/null 2>&1 || true
		# Reports while the daemon runs: perf finds its binary and libraries through
		# /proc/PID/root, inside the host's mount namespace.
		perf report -i "$d/perf.data" --stdio --no-children --sort dso,symbol -g none --percent-limit 0.3 >"$d/perf-self.txt" 2>/dev/null || true
		perf report -i "$d/perf.data" --stdio --children --sort symbol -g none --percent-limit 1 >"$d/perf-children.txt" 2>/dev/null || true
		perf report -i "$d/perf.data" --stdio --no-children --sort dso -g none >"$d/perf-dso.txt" 2>/dev/null || true
		perf report -i "$d/faults.data" --stdio --children --sort symbol -g none --percent-limit 2 >"$d/faults-children.txt" 2>/dev/null || true
		for i in alloc_space alloc_objects; do
			go tool pprof -sample_index="$i" -top -nodecount=30 "$d/allocs.pb.gz" >"$d/allocs-$i.txt" 2>/dev/null || true
			go tool pprof -sample_index="$i" -top -cum -nodecount=40 "$d/allocs.pb.gz" >"$d/allocs-$i-cum.txt" 2>/dev/null || true
		done
		stop_unit "$h" "$u"
	done
fi
hp rm -f -t 20 "$h" >/dev/null

# --- head --------------------------------------------------------------------------
# head LABEL N WRITE_ARGS...: a host on a fresh journal with N lines written by one
# container as fast as conmon takes them (cached), then each shipper from the head.
head_scenario() {
	local label=$1 n=$2 w=head-$1 hh c prev=-1 kind u cg t0 t1 done_at s m anon st ld
	shift 2
	hh=pe-steady-$label-$$
	# The journal is written once and kept, as the live one is: conmon takes a few
	# thousand lines a second on a busy VM, minutes for these counts.
	local key dir
	key=$({
		echo "$label $n $* image=$image id=$machine_id"
		cat bench/steady/write.go
	} | sha256sum | cut -c1-12)
	dir=$cache/steady-head-$key
	if [ ! -d "$dir/journal" ]; then
		log "head ($label): writing $n lines into a fresh journal (once; kept in $dir)"
		rm -rf "$dir.partial"
		mkdir -p "$dir.partial/journal"
		boot "$hh" "$dir.partial/journal"
		setup "$hh"
		hx "$hh" podman run -q --rm --name "$w" -v /e2e/steady:/steady:ro localhost/busybox:test \
			/steady write -name "$w" -rate 0 -count "$n" "$@" >/dev/null
		# journald may still be writing what conmon sent.
		for _ in $(seq 60); do
			c=$(hx "$hh" sh -c "journalctl -q -o json --output-fields=CONTAINER_NAME | wc -l")
			[ "$c" = "$prev" ] && break
			prev=$c
			sleep 1
		done
		hx "$hh" systemctl stop systemd-journald.socket systemd-journald-dev-log.socket systemd-journald-audit.socket systemd-journald.service || true
		hp rm -f -t 20 "$hh" >/dev/null
		mv "$dir.partial" "$dir"
	fi
	log "head ($label): booting $hh on an overlay of the journal of $n lines"
	boot "$hh" "$dir/journal" O
	h=$hh
	setup "$hh"
	local entries usage
	entries=$(hx "$hh" sh -c "journalctl -q -o json --output-fields=CONTAINER_NAME | wc -l")
	usage=$(hx "$hh" journalctl --disk-usage | grep -o '[0-9.]*[KMGT]' | head -1)
	log "head ($label): $entries journal entries, $usage"
	local kinds=("${daemons[@]}")
	[ "${BENCH_STEADY_HEAD_OTEL:-1}" = 1 ] && kinds+=(otel)
	for kind in "${kinds[@]}"; do
		# Start-up alone: a start with nothing to read (tail), 8 s.
		u=steady-$label-$kind-startup
		start_shipper "$hh" "$u" "$kind" all tail
		sleep 8
		s=$(snap "$(unit_cg "$u")")
		stop_unit "$hh" "$u"
		local startup
		startup=$(awk -v t="$(cut -d' ' -f2 <<<"$s")" -v hz="$hz" 'BEGIN { print t / hz }')

		u=steady-$label-$kind
		sink reset -X POST
		ld=$(load)
		t0=$(date +%s.%N)
		start_shipper "$hh" "$u" "$kind" all head
		cg=$(unit_cg "$u")
		anon=0
		done_at=""
		# Until the sink has every line, or nothing came for 30 s (a shipper that drops
		# lines: the row is then left out and the sink's count logged).
		local got last=-1 still=0
		while :; do
			if [ -d "$cg" ]; then
				m=$(mem "$cg")
				anon=$(awk -v a="$anon" -v b="$(cut -d' ' -f2 <<<"$m")" 'BEGIN { print (b > a) ? b : a }')
			fi
			got=$(sink stats | jq -r --arg w "$w" '.writers[$w] // 0')
			if [ "$got" -ge "$n" ]; then
				s=$(snap "$cg")
				m=$(mem "$cg")
				done_at=$(date +%s.%N)
				break
			fi
			if [ "$got" = "$last" ]; then
				still=$((still + 1))
				[ "$still" -ge 60 ] && break
			else
				still=0
				last=$got
			fi
			sleep 0.5
		done
		st=$(sink stats)
		stop_unit "$hh" "$u"
		echo "$st" >"$out/$u.stats.json"
		[ -n "$done_at" ] || {
			log "$u stopped short of $n lines (nothing new for 30 s): $(jq -c '{records, writers}' <<<"$st")"
			continue
		}
		read -r _ c1 w1 _ <<<"$s"
		row "head-$label" "$kind" all "$n" "$(awk -v a="$t0" -v b="$done_at" 'BEGIN { print b - a }')" \
			"$(awk -v t="$c1" -v hz="$hz" 'BEGIN { print t / hz }')" "$w1" "$(cut -d' ' -f3 <<<"$m")" "$anon" \
			- - "$(jq -r '.dups' <<<"$st")" "$ld" "$startup" "" "$(jq -r '.requests' <<<"$st")"
		log "$u: $n lines, records $(jq -r '.records' <<<"$st")"
	done
	# Baseline: journalctl over the same journal (every entry), CPU from its rusage.
	ld=$(load)
	read -r real user sys < <(hx "$hh" bash -c 'TIMEFORMAT="%3R %3U %3S"; { time journalctl -o export >/dev/null; } 2>&1')
	row "head-$label" journalctl all "$n" "$real" "$(awk -v a="$user" -v b="$sys" 'BEGIN { print a + b }')" - - - - - - "$ld" 0 "" -
	echo "$entries $usage" >"$out/head-$label-journal.txt"
	hp rm -f -t 20 "$hh" >/dev/null
}
if [ "$do_head" = 1 ]; then
	head_scenario short "$head_short" -size 60
	head_scenario big "$head_big" -size 120 -big-every 50 -big-size 20480
fi

# --- scrape ------------------------------------------------------------------------
scrape_out=""
if [ "$do_scrape" = 1 ]; then
	log "scrape: scripts/bench-memory.sh at 100 containers"
	scrape_out=$(BENCH_CONTAINERS=100 BENCH_IDLE_SECONDS="${BENCH_STEADY_SCRAPE_IDLE:-20}" BENCH_SCRAPED_SECONDS=10 \
		BENCH_BINARIES="podexporter=$bin" scripts/bench-memory.sh 2>&1 | tee "$out/bench-memory.txt") ||
		log "scripts/bench-memory.sh failed (its port taken by another run?); the table goes on without it"
fi

# --- the table -----------------------------------------------------------------------
{
	echo
	echo "## Steady state ($(date -u +%Y-%m-%d), $(git describe --tags --always --dirty 2>/dev/null || echo unknown))"
	echo
	[ "$do_head" = 1 ] && echo "Head: fresh journals of $(cat "$out/head-short-journal.txt" 2>/dev/null) (short) and $(cat "$out/head-big-journal.txt" 2>/dev/null) (big): entries, disk usage."
	echo "Live: journal $jusage in $jfiles files (an overlay of the cached one), steady-busy ${busy_rate} lines/s and 4 × ${small_rate} lines/s through conmon, ${window} s windows after ${warmup} s; VM load average (1, 5, 15 min) $live_load0 before and $live_load1 after; 2 vCPUs."
	echo "CPU is utime+stime of the shipper's processes (the Collector's includes its journalctl) per line the sink counted; × baseline divides by journalctl's CPU per line with the same filter in the same run. RSS and anonymous memory: medians of 2 s samples (head rows: peaks). Wake-ups: voluntary plus involuntary context switches of all threads. Latency: from the line's write in its container to the sink. Head rows: CPU from start to the last line at the sink, less the start-up CPU (a start with nothing to read, 8 s), per line written; lines/s includes the start-up."
	echo
	echo "| scenario | shipper | filter | lines | lines/s | CPU µs/line | × baseline | CPU % of a core | RSS MiB | anon MiB | wake-ups/s | wake-ups/line | OTLP requests/s | latency p50 / p99 ms | dups | load (1 min) |"
	echo "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
	awk -F'\t' '
	function name(k) { return k == "podexporter" ? "podexporter" : k == "podexporter-before" ? "podexporter (before)" : k == "podexporter-zstd" ? "podexporter, zstd" : k == "otel" ? "OTel journald receiver" : "journalctl -o export >/dev/null (baseline)" }
	function na(v) { return v == "" || v == "-" }
	{
		sc[NR] = $1; kind[NR] = $2; f[NR] = $3; lines[NR] = $4; secs[NR] = $5; cpu[NR] = $6; sw[NR] = $7
		rss[NR] = $8; anon[NR] = $9; p50[NR] = $10; p99[NR] = $11; dups[NR] = $12; ld[NR] = $13; start[NR] = $14; req[NR] = $16
		per[NR] = lines[NR] > 0 ? 1e6 * (cpu[NR] - (na(start[NR]) ? 0 : start[NR])) / lines[NR] : 0
		if (kind[NR] == "journalctl") { bs[sc[NR] " " f[NR]] += per[NR]; bn[sc[NR] " " f[NR]]++ }
	}
	END {
		for (i = 1; i <= NR; i++) {
			k = sc[i] " " f[i]
			b = bn[k] ? bs[k] / bn[k] : 0
			peak = sc[i] == "live" ? "" : " (peak)"
			filt = f[i] == "busy" ? "steady-busy only" : (sc[i] == "live" ? "every container" : "none")
			printf "| %s | %s | %s | %d | %.0f | **%.1f** | %s | %.1f | %s | %s | %s | %s | %s | %s | %s | %s |\n", \
				sc[i], name(kind[i]), filt, lines[i], lines[i] / secs[i], per[i], b ? sprintf("%.2f", per[i] / b) : "–", \
				100 * cpu[i] / secs[i], \
				na(rss[i]) ? "–" : sprintf("%.1f%s", rss[i] / 1024, peak), \
				na(anon[i]) ? "–" : sprintf("%.1f%s", anon[i] / 1024, peak), \
				na(sw[i]) ? "–" : sprintf("%.0f", sw[i] / secs[i]), \
				na(sw[i]) || lines[i] == 0 ? "–" : sprintf("%.2f", sw[i] / lines[i]), \
				na(req[i]) ? "–" : sprintf("%.1f", req[i] / secs[i]), \
				na(p50[i]) || p50[i] < 0 ? "–" : sprintf("%d / %d", p50[i], p99[i]), \
				na(dups[i]) ? "–" : dups[i], ld[i]
		}
	}' "$rows"
	echo
	echo "podexporter inside, per line delivered in the live windows (its own /metrics):"
	echo
	echo "| binary | filter | allocations/line | bytes allocated/line | GC cycles/s | entries read/line | cursor commits/s | name rematches |"
	echo "|---|---|---|---|---|---|---|---|"
	awk -F'\t' '{ printf "| %s | %s | %.1f | %.0f | %.2f | %.2f | %.2f | %d |\n", $1 == "podexporter" ? "podexporter" : "podexporter (before)", $2 == "busy" ? "steady-busy only" : "every container", $5 / $3, $6 / $3, $7 / $4, $8 / $3, $10 / $4, $11 }' "$internals"
	if [ -n "$scrape_out" ]; then
		echo
		echo "Scrape at 100 containers (scripts/bench-memory.sh, the VM's Podman 4.3):"
		echo
		echo "| binary | containers | RSS MiB idle | anon MiB idle | RSS MiB scraped | anon MiB scraped | CPU s/min idle | scrape p50 ms |"
		echo "|---|---|---|---|---|---|---|---|"
		awk '$2 ~ /^[0-9]+$/ && NF == 10 { printf "| %s | %s | %s | %s | %s | %s | %s | %s |\n", $1, $2, $3, $4, $6, $7, $9, $10 }' <<<"$scrape_out"
	fi
	echo
	echo "VM load average at the end: $(cut -d' ' -f1-3 /proc/loadavg). Unit logs, sink answers and profiles: $out"
} | tee "$out/table.md"
if [ "$perf_secs" -gt 0 ]; then
	for f in busy all; do
		echo
		echo "perf, podexporter ($f): share of samples by library, then inclusive share by function (at least 2%; $out/profile-$f):"
		grep -E '^ +[0-9]' "$out/profile-$f/perf-dso.txt" | head -6 || true
		awk '/^ +[0-9.]+%/ && $1 + 0 >= 2 { print "  " $1, $4, $5 }' "$out/profile-$f/perf-children.txt" | head -60 || true
	done
fi
# Unit logs into the output directory before the scratch directory goes.
cp "$work"/e2e/*.log "$out/" 2>/dev/null || true
