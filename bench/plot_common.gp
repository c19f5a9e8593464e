# SPDX-License-Identifier: MIT
# Settings shared by the plot_*.gp scripts (loaded after `reset`): tab-separated
# tables from `shmchop-bench --tsv-from`, NaN for a row that did not run.
set datafile separator "\t"
set datafile missing "NaN"
set terminal pngcairo noenhanced size 1200,800 font "sans,11"
set grid xtics ytics mytics
set key top left box opaque
