# SPDX-License-Identifier: MIT
# p99 of publish and read against the number of reader processes, sequence
# lock and mutex paths. Variables: tsv (--table contention), png.
reset
load dir."/plot_common.gp"
set output png
set title "shmchop-bench: p99 under contention (one writer, n readers)"
set logscale y
set xrange [0.8:9]
set xtics (1, 2, 4, 8)
set xlabel "reader processes"
set ylabel "p99 ns (log scale)"
set key bottom right
plot for [i=2:5] tsv using 1:i with linespoints lw 2 pt 7 title columnheader(i)
