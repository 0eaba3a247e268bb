#!/usr/bin/env bash
# Prepares the booted hosts `make systemd-e2e` runs podexporter on: for each host kind
# asked for, a Debian root file system with systemd and Podman from Debian's packages
# (made with mmdebstrap, cached as a tar keyed by its suite and package list) imported
# as a local image, and, where the kind runs a Podman we build, that Podman with its
# Quadlet generator (scripts/podman-build.sh, cached by version). A second call reuses
# all of it.
#
#   systemd-host.sh [KIND...]   KIND: bookworm (the default), trixie, forky, podman6, or all
#
#   bookworm  Debian 12 (systemd 252) with Podman 5 built at the version go.mod pins:
#             Debian's 4.3 has no Quadlet
#   trixie    Debian 13 with its own podman, netavark, crun, runc and systemd
#   forky     Debian testing with its own Podman
#   podman6   Debian testing with Podman 6 built from its module: the host whose
#             netavark serves Podman 6 (Debian 12's is too old for it)
#
# Prints, for the test (deploy/systemdhost_test.go): SYSTEMD_E2E_HOSTS=<kinds, comma
# separated>, and per kind SYSTEMD_E2E_IMAGE_<kind>=<image> and, for a built Podman,
# SYSTEMD_E2E_PODMAN_<kind>=<directory with podman and quadlet>; and
# SYSTEMD_E2E_REGISTRY=<the distribution registry's binary> for the signed release
# path's rows (scripts/registry-build.sh; static, so one build serves every kind).
set -euo pipefail
# rootfs runs in a command substitution: without this, a failed mmdebstrap there would
# go on to import a partial tar.
shopt -s inherit_errexit
cd "$(dirname "$0")/.."

log() { printf 'systemd-host: %s\n' "$*" >&2; }

cache=${PODMAN5_CACHE:-/var/cache/podexporter}
mkdir -p "$cache"

# What every booted host needs: systemd as init, a user bus for `systemctl --user`,
# Podman with conmon, uidmap for the rootless user, catatonit for pods' infra
# containers, curl to ask the endpoints, procps for pgrep.
common=systemd,systemd-sysv,dbus,dbus-user-session,libpam-systemd,podman,conmon,uidmap,iproute2,curl,ca-certificates,procps,catatonit

# rootfs SUITE PACKAGES prints the image of a root file system of SUITE with PACKAGES,
# building and importing it first when it is not there.
rootfs() {
	local suite=$1 packages=$2 key tarball image
	key=$(printf '%s minbase %s\n' "$suite" "$packages" | sha256sum | cut -c1-12)
	tarball=$cache/systemd-$suite-$key.tar
	image=localhost/podexporter-systemd:$suite-$key
	# The imported image is what the test boots; the tar is kept to import it again
	# (into a fresh Podman storage) without fetching packages.
	if ! podman image exists "$image" && [ ! -s "$tarball" ]; then
		if ! command -v mmdebstrap >/dev/null; then
			log "installing mmdebstrap"
			export DEBIAN_FRONTEND=noninteractive
			apt-get update -qq
			# With its recommends (libdistro-info-perl maps suite names, arch-test):
			# the set this script was tested with.
			apt-get install -y -qq mmdebstrap >/dev/null
		fi
		log "building the $suite root file system (once; about a minute)"
		# No mirror argument: mmdebstrap takes Debian's archive, the one the host's apt
		# uses; it serves bookworm, trixie and forky alike.
		rm -f "$cache/partial-$suite-$key.tar"
		# Check-Valid-Until off: testing's Release files expire a week after they are
		# signed, and the archive a machine is given may be a snapshot older than its
		# clock (the signatures are still checked).
		if ! mmdebstrap --quiet --variant=minbase --aptopt='Acquire::Check-Valid-Until "false"' \
			--include="$packages" "$suite" "$cache/partial-$suite-$key.tar" >&2 ||
			[ ! -s "$cache/partial-$suite-$key.tar" ]; then
			rm -f "$cache/partial-$suite-$key.tar"
			log "mmdebstrap of $suite failed"
			return 1
		fi
		mv "$cache/partial-$suite-$key.tar" "$tarball"
	fi
	if ! podman image exists "$image"; then
		log "importing $tarball as $image"
		podman import --quiet --change 'CMD ["/lib/systemd/systemd"]' "$tarball" "$image" >/dev/null
	fi
	echo "$image"
}

kinds=("$@")
[ ${#kinds[@]} -gt 0 ] || kinds=(bookworm)
if [ "${kinds[*]}" = all ]; then
	kinds=(bookworm trixie forky podman6)
fi

# Debian 12: Debian's 4.3 installation (its units, conmon, containers-common) with the
# podman binary replaced by the one built; runc and CNI, since 4.3's netavark (1.4) is
# too old for Podman 5's netavark setup to be the tested path here.
bookworm=$common,runc,containernetworking-plugins
# Debian 13 and testing as a user installs them: Podman with netavark and aardvark-dns,
# crun (Debian's default runtime) and runc beside it.
newer=$common,crun,runc,netavark,aardvark-dns

names=()
for kind in "${kinds[@]}"; do
	case $kind in
	bookworm)
		image=$(rootfs bookworm "$bookworm")
		dir=$(scripts/podman-build.sh 5)
		;;
	trixie)
		image=$(rootfs trixie "$newer")
		dir=
		;;
	forky)
		image=$(rootfs forky "$newer")
		dir=
		;;
	podman6)
		# The same root file system as forky (one build serves both): Podman 6 goes
		# over Debian's Podman as Podman 5 does on bookworm.
		image=$(rootfs forky "$newer")
		dir=$(scripts/podman-build.sh 6)
		;;
	*)
		log "unknown host kind $kind (bookworm, trixie, forky, podman6, all)"
		exit 2
		;;
	esac
	names+=("$kind")
	echo "SYSTEMD_E2E_IMAGE_$kind=$image"
	if [ -n "$dir" ]; then
		echo "SYSTEMD_E2E_PODMAN_$kind=$dir"
	fi
done
echo "SYSTEMD_E2E_REGISTRY=$(scripts/registry-build.sh)"
(
	IFS=,
	echo "SYSTEMD_E2E_HOSTS=${names[*]}"
)
