#!/usr/bin/env bash
# Prepares this machine as a real podexporter test host: Debian packages, containers.conf,
# a running journald (rate limit off), the Podman API service, and the offline busybox image;
# beside Debian's Podman 4.3, a Podman 5 API service on its own storage (setup_podman5).
# Idempotent: every step checks before it acts, so running it twice is safe and fast.
set -euo pipefail

log() { printf 'testhost: %s\n' "$*" >&2; }

need_root() {
	if [ "$(id -u)" -ne 0 ]; then
		log "must run as root (it installs packages and starts system services)"
		exit 1
	fi
}

packages=(
	podman runc containernetworking-plugins busybox-static catatonit
	libsystemd-dev systemd-journal-remote
	prometheus
	clang llvm libbpf-dev bpftool
	iproute2 procps wrk
	uidmap
	netavark aardvark-dns
)

install_packages() {
	local missing=()
	for p in "${packages[@]}"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
	done
	if [ ${#missing[@]} -eq 0 ]; then
		return
	fi
	log "installing: ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	# The prometheus package would start its own service through policy-rc.d-less
	# invoke-rc.d; without systemd that is a no-op, so no override is needed.
	apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

write_containers_conf() {
	local conf=/etc/containers/containers.conf
	mkdir -p /etc/containers
	# network_backend is pinned: with netavark installed (for Podman 5, below), a 4.3 on
	# fresh storage would pick netavark instead of the CNI it has always used here.
	containers_conf "" 'network_backend = "cni"' "" | write_if_changed "$conf"
}

# containers_conf prints the containers.conf of one test service: what both services
# share (the ulimits this VM allows, journald for logs and events, runc: crun refuses
# hybrid cgroups), the [network] lines $2 and more [engine] lines $3; $1 ends the
# header comment.
containers_conf() {
	cat <<CONF
# written by podexporter scripts/testhost.sh$1
[containers]
default_ulimits = ["nofile=1024:1024","nproc=1024:1024"]
log_driver = "journald"
[network]
$2
[engine]
runtime = "runc"
events_logger = "journald"
$3
CONF
}

# host_journald_pid prints the pid of this host's journald: a container booted with
# systemd (make systemd-e2e) runs its own, visible here but in another mount namespace.
host_journald_pid() {
	local pid ns
	ns=$(readlink /proc/self/ns/mnt)
	for pid in $(pgrep -f '^/lib/systemd/systemd-journald'); do
		if [ "$(readlink "/proc/$pid/ns/mnt" 2>/dev/null)" = "$ns" ]; then
			echo "$pid"
			return
		fi
	done
}

# write_if_changed writes stdin to $1 (mode $2, default 644) unless it already holds
# exactly that, so a rerun changes nothing and an older version is replaced.
write_if_changed() {
	local want
	want=$(cat)
	if [ -f "$1" ] && [ "$(cat "$1")" = "$want" ]; then
		return
	fi
	log "writing $1"
	mkdir -p "$(dirname "$1")"
	printf '%s\n' "$want" >"$1.tmp"
	chmod "${2:-644}" "$1.tmp"
	mv "$1.tmp" "$1"
}

start_journald() {
	mkdir -p /etc/systemd/journald.conf.d
	if [ ! -f /etc/systemd/journald.conf.d/podexporter-testhost.conf ]; then
		cat >/etc/systemd/journald.conf.d/podexporter-testhost.conf <<'CONF'
# written by podexporter scripts/testhost.sh: tests write many lines quickly
[Journal]
RateLimitBurst=0
RateLimitIntervalSec=0
CONF
	fi
	mkdir -p /var/log/journal
	if [ -n "$(host_journald_pid)" ] && [ -S /run/systemd/journal/socket ]; then
		journal_group_access
		return
	fi
	log "starting systemd-journald"
	setsid /lib/systemd/systemd-journald </dev/null >/dev/null 2>&1 &
	for _ in $(seq 50); do
		[ -S /run/systemd/journal/socket ] && [ -S /run/systemd/journal/stdout ] && break
		sleep 0.1
	done
	[ -S /run/systemd/journal/socket ] || { log "journald did not create its socket"; exit 1; }
	# Without systemd nobody runs systemd-journal-flush.service: move to /var/log/journal
	# ourselves so tests see a persistent journal as on a real host.
	journalctl --flush >/dev/null 2>&1 || true
	journal_group_access
}

# journal_group_access gives the systemd-journal group read access to the runtime
# journal, as systemd-tmpfiles does on a real host (tmpfiles.d/systemd.conf): tests of
# a reader or a rootless Podman whose user is in that group then see what they would.
journal_group_access() {
	[ -d /run/log/journal ] || return 0
	chgrp -R systemd-journal /run/log/journal
	chmod 2755 /run/log/journal
	find /run/log/journal -mindepth 1 -type d -exec chmod 2750 {} +
	find /run/log/journal -type f -exec chmod g+r {} +
}

podman_answers() { curl -fsS --unix-socket "$1" http://d/_ping >/dev/null 2>&1; }

# wait_podman waits up to 10 s for the service on socket $1 (named $2, logging to $3).
wait_podman() {
	for _ in $(seq 100); do
		podman_answers "$1" && return
		sleep 0.1
	done
	log "$2 did not answer on $1; see $3"
	exit 1
}

start_podman_service() {
	local sock=/run/podman/podman.sock
	if [ -S "$sock" ] && podman_answers "$sock"; then
		return
	fi
	log "starting the Podman API service on $sock"
	mkdir -p /run/podman
	rm -f "$sock"
	setsid podman system service --time=0 "unix://$sock" </dev/null >/var/log/podman-service.log 2>&1 &
	wait_podman "$sock" "the Podman API service" /var/log/podman-service.log
}

build_busybox_image() {
	if podman image exists localhost/busybox:test 2>/dev/null; then
		return
	fi
	log "building localhost/busybox:test from the static busybox"
	local root
	root=$(mktemp -d)
	mkdir -p "$root/bin"
	cp /bin/busybox "$root/bin/"
	for c in sh sleep echo cat wget nc httpd yes head printf seq dd tr; do
		ln -s busybox "$root/bin/$c"
	done
	tar -C "$root" -c . | podman import - localhost/busybox:test >/dev/null
	rm -rf "$root"
}

# The least-privilege test runs podexporter as this user: a member of
# systemd-journal with subordinate ids for rootless Podman and its own Podman API
# service. Rootless containers use host networking (no /dev/net/tun for slirp4netns
# on these VMs).
rootless_user=podexporter-rootless

start_rootless_service() {
	if ! id "$rootless_user" >/dev/null 2>&1; then
		log "adding user $rootless_user (group systemd-journal)"
		useradd -m -s /usr/sbin/nologin -G systemd-journal "$rootless_user"
	fi
	grep -q "^$rootless_user:" /etc/subuid || echo "$rootless_user:300000:65536" >>/etc/subuid
	grep -q "^$rootless_user:" /etc/subgid || echo "$rootless_user:300000:65536" >>/etc/subgid
	local uid run sock
	uid=$(id -u "$rootless_user")
	run=/run/user/$uid
	sock=$run/podman/podman.sock
	install -d -m 700 -o "$rootless_user" -g "$rootless_user" "$run" "$run/podman"
	as_rootless() { (cd / && runuser -u "$rootless_user" -- env XDG_RUNTIME_DIR="$run" HOME="/home/$rootless_user" "$@"); }
	if ! as_rootless podman image exists localhost/busybox:test; then
		log "loading localhost/busybox:test for $rootless_user"
		podman save localhost/busybox:test 2>/dev/null | as_rootless podman load >/dev/null 2>&1
	fi
	if podman_answers "$sock"; then
		return
	fi
	log "starting $rootless_user's Podman API service on $sock"
	as_rootless setsid podman system service --time=0 "unix://$sock" </dev/null >/var/log/podman-rootless-service.log 2>&1 &
	wait_podman "$sock" "$rootless_user's Podman API service" /var/log/podman-rootless-service.log
}

# Podman 5 runs as a second rootful API service beside Debian's 4.3, so that the
# integration tests check podexporter against both. Nothing of 4.3 is shared: its own
# storage (--root/--runroot), its own containers.conf (CONTAINERS_CONF replaces the
# system one), its own libpod tmp_dir, and file locks in it (the default SHM lock
# segment /libpod_lock is the one 4.3 allocates its locks from). Logs and events go to
# the same journald as 4.3's, as they do on a host that runs both.
#
# Network backend: netavark (Debian's netavark and aardvark-dns 1.4), Podman 5's
# default and the only backend upstream still supports; CNI is deprecated in 5 and
# works only because podman5-build.sh builds with the cni tag. Netavark 1.4 is older
# than what 5.7 ships with, but 5.7 passes it only options 1.4 knows (no plugin
# directories for the built-in bridge driver) and sets up the bridge and iptables
# rules here; the integration tests prove it (stats, /proc/PID/net/dev, container to
# container HTTP). The default network gets its own subnet and the netavark bridge
# (podman0) differs from CNI's (cni-podman0), so the two never route over each other.
podman5_sock=/run/podman5/podman.sock
podman5_conf=/etc/containers/podman5/containers.conf
podman5_cli=/usr/local/bin/podman5

setup_podman5() {
	local dir
	dir=$("$(dirname "$0")/podman5-build.sh")
	containers_conf ": the Podman 5 test service only" \
		'network_backend = "netavark"
network_config_dir = "/etc/containers/podman5/networks"
default_subnet = "10.90.0.0/16"
default_subnet_pools = [{"base" = "10.91.0.0/16", "size" = 24}]' \
		'cgroup_manager = "cgroupfs"
tmp_dir = "/run/podman5/libpod"
lock_type = "file"' | write_if_changed "$podman5_conf"
	# The CLI for the tests and for people: the same binary, configuration and storage
	# as the service, so `podman5 ps` shows the service's containers.
	write_if_changed "$podman5_cli" 755 <<WRAPPER
#!/bin/sh
# written by podexporter scripts/testhost.sh: Podman 5 on the second test service's storage
export CONTAINERS_CONF=$podman5_conf
# hybrid cgroups count as v1 to Podman 5, which warns on every command
export PODMAN_IGNORE_CGROUPSV1_WARNING=1
exec $dir/podman --root /var/lib/podman5/storage --runroot /run/podman5/runroot "\$@"
WRAPPER
	mkdir -p /run/podman5 /etc/containers/podman5/networks
	if ! podman_answers "$podman5_sock" || ! podman5_current; then
		log "starting the Podman 5 API service on $podman5_sock"
		podman5_stop
		rm -f "$podman5_sock"
		# From /, so that the service does not hold the checkout as its working directory.
		(cd / && exec setsid "$podman5_cli" system service --time=0 "unix://$podman5_sock" </dev/null >/var/log/podman5-service.log 2>&1) &
		wait_podman "$podman5_sock" "the Podman 5 API service" /var/log/podman5-service.log
	fi
	if ! "$podman5_cli" image exists localhost/busybox:test; then
		log "loading localhost/busybox:test into Podman 5"
		podman save localhost/busybox:test | "$podman5_cli" load -q >/dev/null
	fi
}

# podman5_current says whether the service on the socket runs the binary built for
# the version go.mod pins now (after a bump the old service must go).
podman5_current() {
	local want
	want=$("$podman5_cli" --version | awk '{print $3}')
	curl -fsS --unix-socket "$podman5_sock" http://d/version 2>/dev/null | grep -q "\"Version\":\"$want\""
}

# podman5_stop ends a Podman 5 service left from an earlier run (by its pid, only
# the one serving our socket), so that the new one can bind the socket.
podman5_stop() {
	local pid
	for pid in $(pgrep -f "system service --time=0 unix://$podman5_sock" || true); do
		kill "$pid" 2>/dev/null || true
	done
}

# remove_bench_leftovers removes the containers a benchmark or a test left when it was
# killed before its cleanup ran: benchmarks' by their labels, tests' by their names
# (testenv.UniqueName) when over an hour old, older than any test run. Nothing else is
# touched. Hundreds of idle containers slow every stats round the tests wait for (a CI
# machine taken from a developer's once failed eight tests this way), and a test's
# restart loop or OOM hog left running adds events and load to every later run.
remove_bench_leftovers() {
	local cli ids
	for cli in podman "$podman5_cli"; do
		# Label filters given together must all match: one call per label.
		ids="$("$cli" ps -aq --filter label=podexporter-bench 2>/dev/null || true)"
		ids+=" $("$cli" ps -aq --filter label=podexporter-bench-memory 2>/dev/null || true)"
		ids+=" $("$cli" ps -aq --filter name=^podexporter-test- --filter until=1h 2>/dev/null || true)"
		# shellcheck disable=SC2086
		set -- $ids
		if [ $# -gt 0 ]; then
			log "removing $# containers a benchmark or a killed test left ($cli)"
			printf '%s\n' "$@" | sort -u | xargs -r "$cli" rm -f -t 0 >/dev/null 2>&1 || true
		fi
	done
}

need_root
command -v curl >/dev/null || packages+=(curl)
install_packages
write_containers_conf
start_journald
start_podman_service
build_busybox_image
start_rootless_service
setup_podman5
remove_bench_leftovers
log "ready: journald pid $(host_journald_pid), podman $(podman --version | awk '{print $3}') and $("$podman5_cli" --version | awk '{print $3}')"
