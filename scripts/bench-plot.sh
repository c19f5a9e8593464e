#!/bin/sh
# SPDX-License-Identifier: MIT
# Draws the PNG plots of one shmchop-bench result file with gnuplot
# (bench/plot_*.gp, bench/README.md "Plots"): latency_<shape>.png per shape,
# contention.png, read_cost.png, read_throughput.png. A plot whose rows did
# not run (skipped, filtered out, not in this build) is left out, not drawn empty.
# Usage: bench-plot.sh RESULTS.json OUTDIR [SHMCHOP_BENCH]
set -eu

json=${1:?usage: bench-plot.sh RESULTS.json OUTDIR [SHMCHOP_BENCH]}
out=${2:?usage: bench-plot.sh RESULTS.json OUTDIR [SHMCHOP_BENCH]}
bin=${3:-build/bin/shmchop-bench}
gp=$(cd "$(dirname "$0")/../bench" && pwd)

command -v gnuplot >/dev/null || { echo "bench-plot: gnuplot is missing (scripts/install-deps.sh bench)" >&2; exit 1; }
[ -x "$bin" ] || { echo "bench-plot: $bin is not built" >&2; exit 1; }
mkdir -p "$out"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM
drawn=""

# plot TABLE SCRIPT PNG [GNUPLOT-ASSIGNMENTS [NEED]]: the JSON is the record,
# the TSV only gnuplot's view of it. A table with no data line, or only its
# first column, or (given NEED) no column whose name ends in NEED, has
# nothing to draw.
plot() {
  tsv="$tmp/$1.tsv"
  "$bin" --tsv-from "$json" --table "$1" >"$tsv"
  if [ "$(awk -F'\t' -v need="${5:-}" '
        NR == 1 { ok = NF > 1; if (need != "") { ok = 0; for (i = 2; i <= NF; i++)
                  if (substr($i, length($i) - length(need) + 1) == need) ok = 1 } }
        NR > 1 { n++ } END { print (n > 0 && ok) }' "$tsv")" != 1 ]; then
    echo "bench-plot: no rows for $3, not drawn" >&2
    return 0
  fi
  gnuplot -e "dir='$gp'; tsv='$tsv'; png='$out/$3'; ${4:-}" "$gp/$2"
  drawn="$drawn $out/$3"
}

for shape in 64x1 2x735 16x1000 1000x1000; do
  plot "percentiles-$shape" plot_latency.gp "latency_$shape.png" "shape='$shape'" "_$shape"
done
plot contention plot_contention.gp contention.png
plot readcost plot_readcost.gp read_cost.png
plot throughput plot_throughput.gp read_throughput.png
echo "bench-plot:${drawn:- nothing drawn}"
