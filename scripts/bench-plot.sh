#!/bin/sh
# SPDX-License-Identifier: MIT
# Draws the PNG plots of one shmchop-bench result file with gnuplot.
# Usage: scripts/bench-plot.sh RESULTS.json OUTDIR [SHMCHOP_BENCH]
set -eu

json=${1:?usage: bench-plot.sh RESULTS.json OUTDIR [SHMCHOP_BENCH]}
out=${2:?usage: bench-plot.sh RESULTS.json OUTDIR [SHMCHOP_BENCH]}
bin=${3:-build/bin/shmchop-bench}
here=$(cd "$(dirname "$0")/.." && pwd)

command -v gnuplot >/dev/null || { echo "bench-plot: gnuplot is missing (scripts/install-deps.sh bench)" >&2; exit 1; }
[ -x "$bin" ] || { echo "bench-plot: $bin is not built" >&2; exit 1; }
mkdir -p "$out"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM
# The JSON is the record; the TSV is only gnuplot's view of it.
"$bin" --tsv-from "$json" --table latency >"$tmp/latency.tsv"
"$bin" --tsv-from "$json" --table throughput >"$tmp/throughput.tsv"
gnuplot -e "lat='$tmp/latency.tsv'; thr='$tmp/throughput.tsv'; out='$out'" "$here/bench/plot.gp"
echo "bench-plot: $out/latency_percentiles.png $out/read_throughput.png"
