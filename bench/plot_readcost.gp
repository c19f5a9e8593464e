# SPDX-License-Identifier: MIT
# Cost of a read (validate + copy of a frame another process just published)
# against the bytes per frame, with the plain cross-process copy as the floor.
# Variables: tsv (--table readcost), png.
reset
load dir."/plot_common.gp"
set output png
set title "shmchop-bench: p50 of read_<shape> vs baseline_copy_<shape>"
set logscale x
set logscale y
set xlabel "bytes per frame (header, names, samples; log scale)"
set ylabel "p50 ns (log scale)"
set key top left
plot tsv using 1:3 with linespoints lw 2 pt 7 title columnheader(3), \
     '' using 1:3:2 with labels offset 0,1 notitle, \
     '' using 1:4 with linespoints lw 2 pt 5 title columnheader(4)
