#!/usr/bin/env bash
# Runs the systemd end-to-end test (deploy/systemd_e2e_test.go, built with the
# systemd_e2e tag) on each kind of booted host, one after another: every unit in deploy/
# installed as the README says under a real systemd, with what podexporter reports of
# the host's own Podman compared with podman inspect, events and logs; then the service
# layer's table: Quadlet fixtures for the system manager and a lingering user's, each
# value podexporter reports compared with systemctl show and podman inspect
# (deploy/systemd_e2e_service_test.go). Prints each host's tables and a host x check
# summary.
#
# Settings (environment):
#   SYSTEMD_E2E_HOSTS          host kinds, comma separated (default: all of them:
#                              bookworm,trixie,forky,podman6; scripts/systemd-host.sh)
#   SYSTEMD_E2E_SERVICE_HOSTS  the kinds that run the service layer's rows (default: all)
#   SYSTEMD_E2E_SIGNED_HOSTS   the kinds that run the signed release path's rows
#                              (deploy/systemd_e2e_signed_test.go; default: bookworm;
#                              "all" for every kind)
#   SYSTEMD_E2E_ONLY           a regexp picking rows by name (the service layer's are
#                              named "service layer: ..."; the signed release path's
#                              table is "signed release")
#   SYSTEMD_E2E_REPORT=1       writes docs/platforms.md
#
# Afterwards it checks, whatever happened to the test, that the VM is as it was: no
# systemd container of this run left, /sys/fs/cgroup writable. Its host containers are
# named after a run id it prints (SYSTEMD_HOST_RUN), so that it removes only its own:
# a benchmark or another run may have its booted host up on the same VM.
set -euo pipefail
cd "$(dirname "$0")/.."
start=$(date +%s)
tags='remote exclude_graphdriver_btrfs exclude_graphdriver_devicemapper containers_image_openpgp systemd_e2e'
hosts=${SYSTEMD_E2E_HOSTS:-bookworm,trixie,forky,podman6}
# shellcheck disable=SC2086 # one kind per word
vars=$(scripts/systemd-host.sh ${hosts//,/ })
prepared=$(date +%s)
run=$(od -An -N4 -tx1 /dev/urandom | tr -d ' \n')
echo "systemd-e2e: run $run (host containers podexporter-test-systemd-$run-*)" >&2
log=$(mktemp)
trap 'rm -f "$log"' EXIT
status=0
env $vars SYSTEMD_HOST_RUN="$run" go test -tags "$tags" -count=1 -run '^TestSystemdE2E$' -timeout 100m -v ./deploy/ >"$log" 2>&1 || status=$?
# The tables and their headings (each host's, then the summary).
report='^(\||### |Runtime: |Service layer: |\*\*Did not run)'
grep -E "$report" "$log" || true
if [ "$status" -ne 0 ]; then
	grep -vE "$report" "$log" | tail -80
fi

# A test killed by its timeout runs no cleanup: remove what it may have left (only
# this run's hosts).
for c in $(podman ps -a --format '{{.Names}}' | grep "^podexporter-test-systemd-$run-" || true); do
	echo "systemd-e2e: removing leftover container $c" >&2
	podman rm -f -t 20 "$c" >/dev/null || true
	status=1
done
for m in /sys/fs/cgroup /sys/fs/cgroup/unified; do
	if findmnt -no OPTIONS "$m" | grep -qE '(^|,)ro(,|$)'; then
		echo "systemd-e2e: $m was left read-only; remounting it rw" >&2
		mount -o remount,rw "$m"
		status=1
	fi
done
echo "systemd-e2e: host preparation $((prepared - start)) s, test $(( $(date +%s) - prepared )) s"
exit "$status"
