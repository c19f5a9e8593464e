# SPDX-License-Identifier: MIT
# HdrHistogram-style percentile plot of one shape: x = 1/(1-p) on a log scale
# (labelled as the percentile), y = one-way latency in ns, one line per row.
# Variables: tsv (--table percentiles-SHAPE), shape, png (output file).
reset
load dir."/plot_common.gp"
set output png
set title "shmchop-bench: one-way latency by percentile, ".shape." frames (copy rows: ns per image)"
set logscale x
set logscale y
set xrange [1.8:12000]
set xtics ("50" 2, "90" 10, "99" 100, "99.9" 1000, "99.99" 10000)
set xlabel "percentile"
set ylabel "ns (log scale)"
stats tsv using 1 nooutput
ncol = STATS_columns
# Eleven distinct line types: gnuplot's default cycle has eight colours,
# and iceoryx was drawn like shmchop past them.
set linetype 9 lc rgb "#8c564b" dt 2 pt 5
set linetype 10 lc rgb "#7f7f7f" dt 2 pt 5
set linetype 11 lc rgb "#bcbd22" dt 2 pt 5
plot for [i=2:ncol] tsv using (1.0 / (1.0 - $1 / 100.0)):i with linespoints lw 2 \
     linetype (i - 1) title columnheader(i)
