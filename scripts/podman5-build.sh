#!/usr/bin/env bash
# Builds the podman CLI and the Quadlet generator at the Podman version go.mod pins, once:
# the binaries are cached under $PODMAN5_CACHE (default /var/cache/podexporter) keyed by
# version, so a second call costs nothing. Prints the directory that holds them.
#
# Debian 12 ships Podman 4.3 (no Quadlet); users run Podman 5. Building from the module we
# already depend on needs nothing but Go, cgo and libseccomp-dev.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf 'podman5-build: %s\n' "$*" >&2; }

version=$(awk '$1 == "github.com/containers/podman/v5" { print $2 }' go.mod)
[ -n "$version" ] || { log "go.mod pins no github.com/containers/podman/v5"; exit 1; }
out=${PODMAN5_CACHE:-/var/cache/podexporter}/podman-$version
if [ -x "$out/podman" ] && [ -x "$out/quadlet" ]; then
	echo "$out"
	exit 0
fi

if ! dpkg-query -W -f='${Status}' libseccomp-dev 2>/dev/null | grep -q 'install ok installed'; then
	log "installing libseccomp-dev"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends libseccomp-dev >/dev/null
fi

log "building podman $version and quadlet (once; about 3 minutes)"
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
mkdir -p "$out"
(
	cd "$scratch"
	go mod init podman5-build >/dev/null 2>&1
	go get "github.com/containers/podman/v5/cmd/podman@$version" >/dev/null 2>&1 ||
		go get "github.com/containers/podman/v5/cmd/podman@$version"
	tags="seccomp exclude_graphdriver_btrfs exclude_graphdriver_devicemapper containers_image_openpgp systemd cni"
	CGO_ENABLED=1 go build -trimpath -tags "$tags" -o "$out/podman.tmp" github.com/containers/podman/v5/cmd/podman
	CGO_ENABLED=1 go build -trimpath -tags "$tags" -o "$out/quadlet.tmp" github.com/containers/podman/v5/cmd/quadlet
)
mv "$out/podman.tmp" "$out/podman"
mv "$out/quadlet.tmp" "$out/quadlet"
log "built $("$out/podman" --version)"
echo "$out"
