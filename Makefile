# podexporter: `make run` and `make test` are the two commands that matter; both prepare
# this machine (scripts/testhost.sh) when journald or the Podman service is missing.

GO          ?= go
BIN         := bin/podexporter
# Tags the Podman bindings need to build without C storage drivers or gpgme.
GO_TAGS     := remote exclude_graphdriver_btrfs exclude_graphdriver_devicemapper containers_image_openpgp
VERSION     ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
REVISION    ?= $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)
LDFLAGS     := -s -w \
	-X github.com/prometheus/common/version.Version=$(VERSION) \
	-X github.com/prometheus/common/version.Revision=$(REVISION) \
	-X github.com/prometheus/common/version.Branch=main
STATICCHECK := bin/staticcheck
RUN_ARGS    ?=

.PHONY: all build run test unit bench lint docs testhost demo clean

all: build

build:
	$(GO) build -tags '$(GO_TAGS)' -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/podexporter

# testhost prepares the machine only when something is missing, so it is cheap to repeat.
# Journald and the Podman 5 service are asked, not just looked for: a socket file
# outlives its service, and a systemd container's journald is visible here too.
testhost:
	@if ! systemd-cat true 2>/dev/null || ! [ -S /run/podman/podman.sock ] \
		|| ! command -v promtool >/dev/null || ! podman image exists localhost/busybox:test 2>/dev/null \
		|| ! curl -fsS --unix-socket /run/podman5/podman.sock http://d/_ping >/dev/null 2>&1 \
		|| ! podman5 image exists localhost/busybox:test 2>/dev/null; then \
		scripts/testhost.sh; \
	fi

# demo starts a few long-running containers so a fresh host has something to show.
demo: testhost
	scripts/demo.sh

# run ships the demo containers' lines, read per their labels, to a JSON lines file it
# names when it starts (RUN_LOGS moves it). RUN_ARGS adds flags; when they say where
# logs go (--journal.sink, --journal.output, --journal.start or --otlp.endpoint), they
# replace that default, e.g. RUN_ARGS='--otlp.endpoint=http://127.0.0.1:4318'.
RUN_LOGS ?= $(CURDIR)/run/containers.jsonl
RUN_LOG_ARGS = $(if $(or $(findstring --journal.sink,$(RUN_ARGS)),$(findstring --journal.output,$(RUN_ARGS)),$(findstring --journal.start,$(RUN_ARGS)),$(findstring --otlp.endpoint,$(RUN_ARGS))),,--journal.sink=jsonl --journal.output=$(RUN_LOGS) --journal.start=5m)
run: build demo
	@if [ -n "$(RUN_LOG_ARGS)" ]; then mkdir -p $(dir $(RUN_LOGS)); echo "make run: container log lines go to $(RUN_LOGS) (try: tail -f $(RUN_LOGS)); metrics on http://localhost:9883/metrics"; fi
	./$(BIN) --log.level=info $(RUN_LOG_ARGS) $(RUN_ARGS)

# The packages that run the daemon against the real services take 4-7 minutes each on a
# quiet 2-core machine and went past go test's default 10-minute bound under load.
test: testhost
	$(GO) test -tags '$(GO_TAGS)' -count=1 -timeout 30m ./...

# unit runs only what needs no real component: testenv skips, under -short, every
# test that needs journald, a Podman service, a Collector, the daemon or a booted host.
unit:
	$(GO) test -tags '$(GO_TAGS)' -count=1 -short ./...

# bench runs every benchmark (scripts/bench.sh) and then the steady-state log scenario
# (scripts/bench-steady.sh, below); BENCH_STEADY=0 leaves the scenario out.
bench: testhost
	scripts/bench.sh
	if [ "$${BENCH_STEADY:-1}" != 0 ]; then scripts/bench-steady.sh; fi

# bench-steady is the steady-state log scenario (issue 24, scripts/bench-steady.sh):
# podexporter beside the OpenTelemetry Collector's journald receiver in a booted systemd
# host whose journal holds 2.4 GB; about 20 minutes once that journal is cached.
.PHONY: bench-steady
bench-steady: testhost
	scripts/bench-steady.sh

$(STATICCHECK):
	GOBIN=$(CURDIR)/bin $(GO) install honnef.co/go/tools/cmd/staticcheck@v0.8.2

# lint also insists on tidy modules: go mod tidy looks at every build tag and test, so
# it needs no GO_TAGS; tools/otelcol is a module of its own, which the root's tidy does
# not cover.
lint: $(STATICCHECK)
	@fmt=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$fmt" ]; then echo "gofmt needed: $$fmt"; exit 1; fi
	$(GO) vet -tags '$(GO_TAGS)' ./...
	$(STATICCHECK) -tags '$(GO_TAGS)' ./...
	@$(GO) mod tidy -diff || { echo "go.mod/go.sum are not tidy: run 'go mod tidy' and commit the result"; exit 1; }
	@GOWORK=off $(GO) -C tools/otelcol mod tidy -diff || { echo "tools/otelcol: go.mod/go.sum are not tidy: run 'go -C tools/otelcol mod tidy' and commit the result"; exit 1; }
	@$(MAKE) --no-print-directory generate && git diff --exit-code --stat -- 'bpf/*_bpfel.go' 'bpf/*_bpfel.o' || { echo "bpf: generated files are stale: run 'make generate' and commit them"; exit 1; }

# docs regenerates docs/metrics.md from the metric catalog and the settings table of
# docs/configuration.md from the settings' declarations.
docs:
	$(GO) test ./internal/catalog -run TestDocsUpToDate -update -count=1
	$(GO) test ./cmd/podexporter/internal/config -run TestSettingsDocUpToDate -update -count=1

.PHONY: generate
# generate rebuilds the eBPF objects and their Go bindings from bpf/*.c (needs clang,
# libbpf-dev); the output is committed so that go build needs no clang.
generate:
	$(GO) generate ./bpf/...

clean:
	rm -rf bin

# image builds localhost/podexporter:latest offline from bin/podexporter and this host's
# libraries (the release image comes from the Containerfile, which needs registries).
.PHONY: image
image: build
	scripts/image-offline.sh localhost/podexporter:latest

# fuzz runs every fuzz target for FUZZTIME (default 10s) and prints a table.
.PHONY: fuzz
fuzz:
	FUZZTIME=$(or $(FUZZTIME),10s) scripts/fuzz.sh

# faults runs the fault matrix and prints its table (scripts/faults.sh): FAULTS=short
# leaves out the 10-minute collector outage (CI runs that form); FAULTS_REPORT=1 writes
# docs/reliability.md. It kills journald and the Podman service: test hosts only.
.PHONY: faults
faults: testhost
	FAULTS=$(or $(FAULTS),full) scripts/faults.sh

# hostile runs the hostile-input matrix (cmd/podexporter/internal/faults, TestHostileInput) and prints
# its table: label values, journal fields, cursors and settings built to break
# podexporter, each against the real journald, Podman and Collector; HOSTILE_ONLY=regexp
# picks rows, HOSTILE_REPORT=1 writes docs/reliability.md.
.PHONY: hostile
hostile: testhost
	MATRIX=TestHostileInput scripts/faults.sh

# soak runs 50 logging containers with churn for DURATION (default 5m) and checks that
# RSS, goroutines and open files stop growing; SOAK_REPORT=1 writes docs/reliability.md.
.PHONY: soak
soak: testhost
	DURATION=$(or $(DURATION),5m) scripts/soak.sh

# systemd-e2e installs every unit in deploy/ as the README says under a real systemd (a
# privileged container booted from a Debian root file system), on each kind of host one
# after another: Debian 12 with Podman 5 built, Debian 13 and Debian testing with their
# own Podman, Podman 6 built on Debian testing; it compares what podexporter reports of
# each host's Podman with that Podman's inspect, events and logs, and prints tables per
# host and a host x check summary (scripts/systemd-e2e.sh). SYSTEMD_E2E_HOSTS picks hosts
# (comma separated), SYSTEMD_E2E_SERVICE_HOSTS the hosts of the service layer's rows,
# SYSTEMD_E2E_SIGNED_HOSTS those of the signed release path's (default bookworm),
# SYSTEMD_E2E_REPORT=1 writes docs/platforms.md. The root file systems and the Podman
# builds are made once and cached under /var/cache/podexporter.
.PHONY: systemd-e2e
systemd-e2e: testhost
	scripts/systemd-e2e.sh

# bench-service measures the service layer's cost (issue 21) inside the booted systemd
# host of systemd-e2e: 50 Quadlet units and 50 plain containers, the daemon with the
# service layer off (--no-collector.systemd --no-collector.hardening) and on, interleaved
# three times each: idle CPU, memory, scrape p50, series, D-Bus signals during the idle
# window (scripts/bench-service.sh; about 20 minutes). BENCH_SERVICE_MAX_LOAD=1 waits for
# a quiet VM before each pair. Never part of test or systemd-e2e: the test skips unless
# BENCH_SERVICE=1.
.PHONY: bench-service
bench-service: testhost
	scripts/bench-service.sh

# The Prometheus OTLP recipe against a real Prometheus with the OTLP receiver (3.x):
# Debian's is 2.42, so this builds one (about 17 minutes on 2 cores, cached), which is
# more than CI spends on a recipe; make test skips the check where none exists.
PROMETHEUS_OTLP_VERSION := v0.316.0
.PHONY: interop-prometheus
interop-prometheus: testhost
	test -x /var/cache/podexporter/prometheus-$(PROMETHEUS_OTLP_VERSION)/prometheus || \
		GOFLAGS= GOBIN=/var/cache/podexporter/prometheus-$(PROMETHEUS_OTLP_VERSION) $(GO) install \
		-ldflags=-X=github.com/prometheus/common/version.Version=3.16.0 \
		github.com/prometheus/prometheus/cmd/prometheus@$(PROMETHEUS_OTLP_VERSION)
	$(GO) test -tags '$(GO_TAGS)' -count=1 -run 'TestExamplePrometheusOTLP' -v ./cmd/podexporter
