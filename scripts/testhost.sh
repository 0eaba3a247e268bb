#!/usr/bin/env bash
# Prepares this machine as a real podexporter test host: Debian packages, containers.conf,
# a running journald (rate limit off), the Podman API service, and the offline busybox image.
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
	podman runc busybox-static catatonit
	libsystemd-dev systemd-journal-remote
	prometheus
	clang llvm libbpf-dev bpftool
	iproute2 procps wrk
	uidmap
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
	if grep -q 'podexporter scripts/testhost.sh' "$conf" 2>/dev/null; then
		return
	fi
	log "writing $conf"
	cat >"$conf" <<'CONF'
# written by podexporter scripts/testhost.sh
[containers]
default_ulimits = ["nofile=1024:1024","nproc=1024:1024"]
log_driver = "journald"
[engine]
runtime = "runc"
events_logger = "journald"
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

need_root
command -v curl >/dev/null || packages+=(curl)
install_packages
write_containers_conf
start_journald
start_podman_service
build_busybox_image
start_rootless_service
log "ready: journald pid $(host_journald_pid), podman $(podman --version | awk '{print $3}')"
