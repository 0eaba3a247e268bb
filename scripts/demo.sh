#!/usr/bin/env bash
# Starts five small demo containers (a web server, a plain logger, a JSON logger, a Java-
# style service printing stack traces, an idle worker) so that a fresh host has metrics
# and logs to show; the JSON and Java ones say through their labels how their lines are
# read. Idempotent: running ones are left alone.
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
# JSON lines with a level, a trace context and typed fields: parsed per the label.
start podexporter-demo-json --label io.podexporter.log.format=json $image sh -c 'i=0; while true; do i=$((i+1)); lvl=info; [ $((i % 5)) -eq 0 ] && lvl=warn; [ $((i % 13)) -eq 0 ] && lvl=error; printf "{\"time\":\"%s\",\"level\":\"%s\",\"msg\":\"order processed\",\"order_id\":%d,\"duration_ms\":%d,\"trace_id\":\"%032x\",\"span_id\":\"%016x\"}\n" "$(date -u +%Y-%m-%dT%H:%M:%SZ)" $lvl $i $((i % 97)) $i $i; sleep 2; done'
# Text lines with a leading level and, every tenth request, a Java stack trace that
# the multiline label joins into the record of the ERROR line before it.
start podexporter-demo-java --label io.podexporter.log.format=text --label io.podexporter.log.multiline=java $image sh -c 'i=0; while true; do i=$((i+1)); echo "INFO request $i served"; if [ $((i % 10)) -eq 0 ]; then echo "ERROR request $i failed"; echo "java.lang.IllegalStateException: no stock for item $i"; printf "\tat com.example.shop.Cart.checkout(Cart.java:42)\n\tat com.example.shop.Api.handle(Api.java:17)\nCaused by: java.io.IOException: connection reset\n\tat com.example.db.Pool.get(Pool.java:88)\n\t... 2 more\n"; fi; sleep 2; done'
