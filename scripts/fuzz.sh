#!/usr/bin/env bash
# Runs every go test -fuzz target for FUZZTIME each (default 10s; CI uses the default)
# and prints a table. New failing inputs land in the package's testdata/fuzz directory,
# where `go test` replays them from then on.
set -euo pipefail
cd "$(dirname "$0")/.."
tags='remote exclude_graphdriver_btrfs exclude_graphdriver_devicemapper containers_image_openpgp'
fuzztime=${FUZZTIME:-10s}
printf '%-48s %-22s %s\n' package target result
status=0
while IFS= read -r line; do
	file=${line%%:*}
	target=$(sed -E 's/.*func (Fuzz[A-Za-z0-9_]+).*/\1/' <<<"$line")
	pkg=$(dirname "$file")
	if out=$(go test -tags "$tags" "$pkg" -run '^$' -fuzz "^${target}\$" -fuzztime "$fuzztime" 2>&1); then
		execs=$(grep -oE 'execs: [0-9]+' <<<"$out" | tail -1 | awk '{print $2}')
		printf '%-48s %-22s ok (%s execs in %s)\n' "$pkg" "$target" "${execs:-?}" "$fuzztime"
	else
		printf '%-48s %-22s FAILED\n' "$pkg" "$target"
		tail -20 <<<"$out"
		status=1
	fi
done < <(grep -rn --include='*_test.go' -E '^func Fuzz[A-Za-z0-9_]+\(f \*testing\.F\)' . | grep -v '^./tools/' | sort)
exit $status
