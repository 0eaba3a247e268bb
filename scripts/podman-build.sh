#!/usr/bin/env bash
# Builds the podman CLI and the Quadlet generator of one Podman major version, once: the
# binaries are cached under $PODMAN5_CACHE (default /var/cache/podexporter) in a
# directory named after the version, so a second call costs nothing. Prints that
# directory.
#
#   podman-build.sh 5   the version go.mod pins for the bindings (the VM's second test
#                       service and the Debian 12 booted host run it)
#   podman-build.sh 6   Podman 6, from its new module path, at the release pinned below
#                       (the booted Debian testing host runs it: Podman 6 needs cgroup v2
#                       and a netavark newer than Debian 12's)
#
# Debian 12 ships Podman 4.3 (no Quadlet); building from the module needs nothing but
# Go, cgo and libseccomp-dev.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf 'podman-build: %s\n' "$*" >&2; }

# Podman 6.0.0 is the release the module proxy serves and the one the e2e is proven
# against; a newer one is a deliberate bump here (and a new row in docs/platforms.md).
podman6_version=v6.0.0

case "${1:-5}" in
5)
	module=github.com/containers/podman/v5
	version=$(awk -v m="$module" '$1 == m { print $2 }' go.mod)
	[ -n "$version" ] || { log "go.mod pins no $module"; exit 1; }
	# CNI: the VM's Podman 5 service shares the host with Debian's 4.3 and its CNI
	# networks, and Podman 5 still has the backend behind this tag.
	tags="seccomp exclude_graphdriver_btrfs exclude_graphdriver_devicemapper containers_image_openpgp systemd cni"
	;;
6)
	module=go.podman.io/podman/v6
	version=$podman6_version
	# Podman 6 removed CNI (netavark only), so there is no cni tag to give.
	tags="seccomp exclude_graphdriver_btrfs exclude_graphdriver_devicemapper containers_image_openpgp systemd"
	;;
*)
	log "usage: podman-build.sh [5|6]"
	exit 2
	;;
esac

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
	go mod init podman-build >/dev/null 2>&1
	go get "$module/cmd/podman@$version" >/dev/null 2>&1 ||
		go get "$module/cmd/podman@$version"
	CGO_ENABLED=1 go build -trimpath -tags "$tags" -o "$out/podman.tmp" "$module/cmd/podman"
	CGO_ENABLED=1 go build -trimpath -tags "$tags" -o "$out/quadlet.tmp" "$module/cmd/quadlet"
)
mv "$out/podman.tmp" "$out/podman"
mv "$out/quadlet.tmp" "$out/quadlet"
log "built $("$out/podman" --version)"
echo "$out"
