#!/bin/sh
# SPDX-License-Identifier: MIT
# ctest bench_tsv_tables: prints every table that has an expected file
# (TABLE.tsv) from the hand-written tsv_fixture.json (failed, skipped and
# missing rows included) and fails on the first difference.
# Usage: check_tsv.sh SHMCHOP_BENCH
set -eu
bin=${1:?usage: check_tsv.sh SHMCHOP_BENCH}
dir=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT INT TERM
for want in "$dir"/*.tsv; do
  table=$(basename "$want" .tsv)
  "$bin" --tsv-from "$dir/tsv_fixture.json" --table "$table" >"$tmp"
  diff -u "$want" "$tmp" || { echo "check_tsv: --table $table differs" >&2; exit 1; }
done
# An unknown shape is refused rather than printing an empty table.
if "$bin" --tsv-from "$dir/tsv_fixture.json" --table percentiles-3x3 >/dev/null 2>&1; then
  echo "check_tsv: --table percentiles-3x3 was accepted" >&2
  exit 1
fi
echo "check_tsv: $(ls "$dir"/*.tsv | wc -l) tables match"
