#!/usr/bin/env bash
# Runs the systemd end-to-end test (deploy/systemd_e2e_test.go, built with the
# systemd_e2e tag): every unit in deploy/ installed as the README says under a real
# systemd with Podman 5, and prints its table; then the service layer's table: Quadlet
# fixtures for the system manager and a lingering user's, each value podexporter
# reports compared with systemctl show and podman inspect (deploy/systemd_e2e_service_test.go).
# SYSTEMD_E2E_REPORT=1 writes docs/platforms.md; SYSTEMD_E2E_ONLY=regexp picks rows by
# name (the service layer's are named "service layer: ...").
# Afterwards it checks, whatever happened to the test, that the VM is as it was: no
# systemd container left, /sys/fs/cgroup writable.
set -euo pipefail
cd "$(dirname "$0")/.."
start=$(date +%s)
tags='remote exclude_graphdriver_btrfs exclude_graphdriver_devicemapper containers_image_openpgp systemd_e2e'
vars=$(scripts/systemd-host.sh)
prepared=$(date +%s)
log=$(mktemp)
trap 'rm -f "$log"' EXIT
status=0
env $vars go test -tags "$tags" -count=1 -run '^TestSystemdE2E$' -timeout 30m -v ./deploy/ >"$log" 2>&1 || status=$?
grep -E '^\|' "$log" || true
if [ "$status" -ne 0 ]; then
	grep -vE '^\|' "$log" | tail -80
fi

# A test killed by its timeout runs no cleanup: remove what it may have left.
for c in $(podman ps -a --format '{{.Names}}' | grep '^podexporter-test-systemd-' || true); do
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
