#!/usr/bin/env bash
# Prepares what `make systemd-e2e` boots: a Debian bookworm root file system with systemd
# and Podman's dependencies (made with mmdebstrap, cached as a tar keyed by its package
# list), imported as a local image, and Podman 5 with its Quadlet generator
# (scripts/podman5-build.sh, cached by version). A second call reuses both.
#
# Prints two lines for the test: SYSTEMD_E2E_IMAGE=<image> and PODMAN5_DIR=<directory>.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf 'systemd-host: %s\n' "$*" >&2; }

cache=${PODMAN5_CACHE:-/var/cache/podexporter}
mkdir -p "$cache"

# What the booted host needs: systemd as init, a user bus for `systemctl --user`,
# Debian's Podman 4.3 for its units, conmon, runc, CNI plugins and containers-common
# (the podman binary itself is replaced by 5.7), uidmap for the rootless user, curl to
# ask the endpoints, procps for pgrep.
packages=systemd,systemd-sysv,dbus,dbus-user-session,libpam-systemd,podman,runc,conmon,containernetworking-plugins,uidmap,iproute2,curl,ca-certificates,procps
key=$(printf 'bookworm minbase %s\n' "$packages" | sha256sum | cut -c1-12)
tarball=$cache/systemd-bookworm-$key.tar
image=localhost/podexporter-systemd:$key

# The imported image is what the test boots; the tar is kept to import it again (into a
# fresh Podman storage) without fetching packages.
if ! podman image exists "$image" && [ ! -s "$tarball" ]; then
	if ! command -v mmdebstrap >/dev/null; then
		log "installing mmdebstrap"
		export DEBIAN_FRONTEND=noninteractive
		apt-get update -qq
		# With its recommends (libdistro-info-perl maps suite names, arch-test): the set
		# this script was tested with.
		apt-get install -y -qq mmdebstrap >/dev/null
	fi
	log "building the bookworm root file system (once; about a minute)"
	# No mirror argument: mmdebstrap takes Debian's archive, the one the host's apt uses.
	mmdebstrap --quiet --variant=minbase --include="$packages" bookworm "$cache/partial-$key.tar" >&2
	mv "$cache/partial-$key.tar" "$tarball"
fi

if ! podman image exists "$image"; then
	log "importing $tarball as $image"
	podman import --quiet --change 'CMD ["/lib/systemd/systemd"]' "$tarball" "$image" >/dev/null
fi

podman5=$(scripts/podman5-build.sh)
echo "SYSTEMD_E2E_IMAGE=$image"
echo "PODMAN5_DIR=$podman5"
