# SPDX-License-Identifier: MIT
# Read throughput against image size, memcpy being the floor of a read.
# Variables: tsv (--table throughput), png.
reset
load dir."/plot_common.gp"
set output png
set title "shmchop-bench: throughput at p50 vs image size (8 channels, extension block, checksum)"
set logscale x 2
set logscale y
set xrange [512:33554432]
set xtics ("1 KiB" 1024, "64 KiB" 65536, "1 MiB" 1048576, "16 MiB" 16777216)
set xlabel "image size"
set ylabel "GB/s of image bytes (log scale)"
set key bottom right box opaque
stats tsv using 1 nooutput
ncol = STATS_columns
plot for [i=2:ncol] tsv using 1:i with linespoints lw 2 pt 7 ps 1.2 title columnheader(i)
