#!/usr/bin/env bash
# Starts three small demo containers (a web server, a logger, an idle worker) so that a
# fresh host has metrics and logs to show. Idempotent: running ones are left alone.
set -euo pipefail
image=localhost/busybox:test
start() {
	local name=$1
	shift
	# A container Podman still records as running after the host restarted without
	# clearing its state has no process: start that one afresh.
	local pid
	pid=$(podman inspect -f '{{if .State.Running}}{{.State.Pid}}{{end}}' "$name" 2>/dev/null || true)
	if [ -n "$pid" ] && [ "$pid" != 0 ] && kill -0 "$pid" 2>/dev/null; then
		return
	fi
	podman rm -f -t 0 "$name" >/dev/null 2>&1 || true
	podman run -d --name "$name" --label app=podexporter-demo "$@" >/dev/null
	echo "demo: started $name" >&2
}
start podexporter-demo-web $image httpd -f -p 8080 -h /
start podexporter-demo-logger $image sh -c 'i=0; while true; do i=$((i+1)); echo "demo line $i"; [ $((i % 10)) -eq 0 ] && echo "demo warning $i" >&2; sleep 1; done'
start podexporter-demo-worker $image sleep 1000000
