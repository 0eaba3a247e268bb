#!/usr/bin/env bash
# Builds the podexporter container image without any registry: the locally built binary
# plus exactly the shared libraries ldd lists for it, taken from this host, imported as a
# one-layer image. The release image comes from the Containerfile; this one exists so
# that tests (and hosts without registry access) can run podexporter as a container with
# the same options as the Quadlet units.
#
# Usage: scripts/image-offline.sh [IMAGE]   (default localhost/podexporter:latest)
#   BIN=path/to/podexporter overrides the binary (default bin/podexporter).
#
# Idempotent: the image carries the SHA-256 of its root filesystem as a label, and an
# existing image with the same content is left alone. A rebuilt image replaces the tag
# and the previous image is removed when nothing else uses it.
set -euo pipefail

image=${1:-localhost/podexporter:latest}
bin=${BIN:-bin/podexporter}

log() { printf 'image-offline: %s\n' "$*" >&2; }

if [ ! -x "$bin" ]; then
	log "$bin is missing; run 'make build' first (or set BIN=)"
	exit 1
fi
command -v podman >/dev/null || { log "podman is not installed"; exit 1; }

root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT

# The binary sits at /podexporter: the Quadlet units' HealthCmd and the release
# Containerfile use the same path.
install -m 0755 "$bin" "$root/podexporter"

# Every library the dynamic loader resolves, at the path it resolves it under (the
# loader itself is listed by absolute path without "=>"). cp -L copies the target of
# each symlink under the symlink's name, which is the name the loader asks for.
# libsystemd is among them: the journal reader links it.
ldd "$bin" | awk '/=>/ && $3 ~ /^\// {print $3} /^\t\// {print $1}' | sort -u | while read -r lib; do
	mkdir -p "$root$(dirname "$lib")"
	cp -L "$lib" "$root$lib"
done

# libsystemd from systemd 256 on (Debian 13 and later) loads its compression libraries
# with dlopen when it first meets a compressed journal entry, so ldd does not list them;
# without them every read of a compressed entry fails with EOPNOTSUPP ("operation not
# supported"), and journald compresses with zstd by default. Those the host has, with
# what they link.
for so in libzstd.so.1 liblz4.so.1 liblzma.so.5; do
	# awk reads to the end: exiting at the first match would leave ldconfig writing to
	# a closed pipe, and SIGPIPE (exit 141) fails the script under pipefail.
	lib=$(ldconfig -p | awk -v so="$so" '!found && $1 == so && $NF ~ /^\// {print $NF; found = 1}')
	[ -n "$lib" ] || continue
	for dep in "$lib" $(ldd "$lib" | awk '/=>/ && $3 ~ /^\// {print $3}'); do
		[ -e "$root$dep" ] && continue
		mkdir -p "$root$(dirname "$dep")"
		cp -L "$dep" "$root$dep"
	done
done

# CA certificates for OTLP over TLS, when the host has them.
if [ -f /etc/ssl/certs/ca-certificates.crt ]; then
	mkdir -p "$root/etc/ssl/certs"
	cp -L /etc/ssl/certs/ca-certificates.crt "$root/etc/ssl/certs/"
fi

# Minimal identity files: libc and Go look users up by id, and "files dns" keeps Go on
# its own resolver instead of loading NSS modules the image does not have.
mkdir -p "$root/etc"
printf 'root:x:0:0:root:/:/sbin/nologin\nnobody:x:65534:65534:nobody:/:/sbin/nologin\n' >"$root/etc/passwd"
printf 'root:x:0:\nsystemd-journal:x:999:\nnobody:x:65534:\n' >"$root/etc/group"
printf 'hosts: files dns\n' >"$root/etc/nsswitch.conf"

# Mount points the units use, present in the image so that a read-only root needs no
# directory created at run time; /tmp for Go's os.TempDir.
for d in host/proc run/podman var/log/journal run/log/journal var/lib/podexporter tmp; do
	mkdir -p "$root/$d"
done
chmod 1777 "$root/tmp"

# A fixed mtime, owner and order make the tar, and so its digest, depend on content only.
tarball="$root.tar"
trap 'rm -rf "$root" "$tarball"' EXIT
tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -C "$root" -cf "$tarball" .
digest=$(sha256sum "$tarball" | cut -d' ' -f1)

if have=$(podman image inspect --format '{{index .Labels "io.podexporter.rootfs.sha256"}}' "$image" 2>/dev/null) && [ "$have" = "$digest" ]; then
	log "$image is up to date ($(podman image inspect --format '{{.Size}}' "$image") bytes)"
	exit 0
fi
old=$(podman image inspect --format '{{.Id}}' "$image" 2>/dev/null || true)

podman import --quiet \
	--change 'ENTRYPOINT ["/podexporter"]' \
	--change 'CMD []' \
	--change 'EXPOSE 9883/tcp' \
	--change 'STOPSIGNAL SIGTERM' \
	--change "LABEL io.podexporter.rootfs.sha256=$digest" \
	--change 'LABEL org.opencontainers.image.title=podexporter' \
	"$tarball" "$image" >/dev/null

if [ -n "$old" ]; then
	# Only when no container uses it; a running test container keeps the old one alive.
	podman image rm "$old" >/dev/null 2>&1 || true
fi
log "built $image ($(podman image inspect --format '{{.Size}}' "$image") bytes)"
