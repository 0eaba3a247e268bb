#!/usr/bin/env bash
# Builds Podman 5 (the version go.mod pins) and its Quadlet generator once and prints the
# directory that holds them; scripts/podman-build.sh does the work for every major
# version this project builds.
exec "$(dirname "$0")/podman-build.sh" 5
