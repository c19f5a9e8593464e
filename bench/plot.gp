# SPDX-License-Identifier: MIT
# Plots of a shmchop-bench run, drawn by scripts/bench-plot.sh from the JSON
# (through `shmchop-bench --tsv-from`). Variables: lat, thr (TSV files), out (dir).

set datafile separator "\t"
set datafile missing "NaN"
set terminal pngcairo noenhanced size 1800,900 font "sans,10"
set grid ytics mytics
set key top left

# 1. Percentiles of every benchmark, log scale.
set output out."/latency_percentiles.png"
set title "shmchop-bench: percentiles per benchmark (copy: ns per image; latency: one-way ns = RTT/2)"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set logscale y
set yrange [1:*]
set ylabel "ns (log scale)"
set xtics rotate by -50 scale 0 font ",9"
set bmargin 12
set rmargin 10
plot lat using 3:xtic(1) title "p50", \
     '' using 4 title "p90", \
     '' using 5 title "p99", \
     '' using 6 title "max"

# 2. Read throughput against image size, memcpy being the floor of a read.
reset
set datafile separator "\t"
set datafile missing "NaN"
set terminal pngcairo noenhanced size 1200,800 font "sans,11"
set output out."/read_throughput.png"
set title "shmchop-bench: throughput at p50 vs image size (8 channels, extension block, checksum)"
set logscale x 2
set logscale y
set xrange [512:33554432]
set xtics ("1 KiB" 1024, "64 KiB" 65536, "1 MiB" 1048576, "16 MiB" 16777216)
set xlabel "image size"
set ylabel "GB/s of image bytes (log scale)"
set grid xtics ytics mytics
set key bottom right box opaque
stats thr using 1 nooutput
ncol = STATS_columns
plot for [i=2:ncol] thr using 1:i with linespoints lw 2 pt 7 ps 1.2 title columnheader(i)
