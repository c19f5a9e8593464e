#!/bin/sh
# SPDX-License-Identifier: MIT
# Builds shmchop-bench, runs it, keeps the text and JSON results and draws the plots
# into OUT (default BUILD/bench: results.txt, results.json, *.png, hyperfine.*);
# --save then copies them into bench/results/ (results.* as bench.*), the
# record the README's tables come from (`make bench BENCH_SAVE=1`).
# Usage: scripts/bench.sh [--build-dir DIR] [--out DIR] [--save] [--quick] [--filter S]
#                         [--seconds S] [--budget S] [--jobs N] [--pin] [--no-hyperfine]
set -eu

here=$(cd "$(dirname "$0")/.." && pwd)
build="$here/build"
out=""
save=0
quick=""
filter=""
seconds=""
# Measured seconds (plus the S/5 warm-up) the whole run may spend when
# --seconds is not given: keeps a full run, set-up, python and hyperfine
# included, within about 10 minutes however many rows there are.
budget=420
jobs=$(nproc 2>/dev/null || echo 2)
pin=""
hyper=1

while [ $# -gt 0 ]; do
  case "$1" in
    --build-dir) build=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --save) save=1; shift ;;
    --budget) budget=$2; shift 2 ;;
    --jobs) jobs=$2; shift 2 ;;
    --quick) quick=--quick; hyper=0; shift ;;
    --filter) filter=$2; shift 2 ;;
    --seconds) seconds=$2; shift 2 ;;
    --pin) pin=--pin; shift ;;
    --no-hyperfine) hyper=0; shift ;;
    *) echo "bench.sh: unknown option '$1'" >&2; exit 2 ;;
  esac
done

# Numbers from a debug or sanitizer build would mean nothing.
if [ ! -f "$build/CMakeCache.txt" ]; then
  cmake -S "$here" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo
fi
if grep -q '^SHMCHOP_SANITIZE:STRING=.\+' "$build/CMakeCache.txt" ||
   grep -q '^CMAKE_BUILD_TYPE:STRING=Debug' "$build/CMakeCache.txt"; then
  echo "bench.sh: $build is a Debug or sanitizer build; use another --build-dir" >&2
  exit 2
fi
# shmchop (the shared library) is what the Python cook below loads.
cmake --build "$build" -j "$jobs" --target shmchop-bench shmchop-in shmchop-out shmchop

out=${out:-$build/bench}
mkdir -p "$out"
bin="$build/bin"

# Default time per row: 1 s, or less when the rows would not fit the budget.
if [ -z "$quick" ] && [ -z "$seconds" ]; then
  rows=$("$bin/shmchop-bench" --list | grep -c .)
  seconds=$(awk -v b="$budget" -v n="$rows" 'BEGIN { s = b / (1.2 * n); if (s > 1) s = 1;
                                                    if (s < 0.2) s = 0.2; printf "%.2f", s }')
  echo "bench.sh: $rows rows, --seconds $seconds each (budget ${budget} s)"
fi
load=$(cut -d' ' -f1-3 /proc/loadavg)
echo "bench.sh: load average before the run: $load (both cores are shared with whatever else runs)"

set -- --json "$out/results.json"
[ -n "$quick" ] && set -- "$@" "$quick"
[ -n "$pin" ] && set -- "$@" "$pin"
[ -n "$filter" ] && set -- "$@" --filter "$filter"
[ -n "$seconds" ] && set -- "$@" --seconds "$seconds"
# Plain sh has no pipefail: the bench's status travels through a file.
rcfile=$(mktemp)
{ "$bin/shmchop-bench" "$@"; echo $? >"$rcfile"; } | tee "$out/results.txt"
status=$(cat "$rcfile")
rm -f "$rcfile"
[ -s "$out/results.json" ] || { echo "bench.sh: no results written" >&2; exit 1; }

# The same cook from Python (numpy view), with Debian's interpreter and numpy.
if /usr/bin/python3 -c 'import numpy' 2>/dev/null; then
  if PYTHONPATH="$build/python" /usr/bin/python3 "$here/python/bench/bench_cook.py" \
       --name "bench_python_$$" --json "$out/python_bench.json" >/dev/null; then
    tee -a "$out/results.txt" <"$out/python_bench.json"
  else
    status=1
  fi
  "$bin/shmchop-in" gc "bench_python_$$" >/dev/null || true
fi

rm -f "$out"/*.png
"$here/scripts/bench-plot.sh" "$out/results.json" "$out" "$bin/shmchop-bench"

# Start-up and whole-file cost of the tools, for scripts that call them.
if [ "$hyper" = 1 ] && command -v hyperfine >/dev/null; then
  img=$(mktemp /tmp/shmchop-bench-XXXXXX.img)
  trap 'rm -f "$img"' EXIT INT TERM
  "$bin/shmchop-out" image -o "$img" --chans 8 --length 32768 --rate 60 --ext on >/dev/null
  hyperfine -N --warmup 5 --min-runs 30 --export-json "$out/hyperfine.json" \
    "$bin/shmchop-in check --image $img" \
    "$bin/shmchop-in dump --image $img --json" >"$out/hyperfine.txt"
  cat "$out/hyperfine.txt"
fi

if [ "$save" = 1 ]; then
  keep="$here/bench/results"
  mkdir -p "$keep"
  cp "$out/results.json" "$keep/bench.json"
  cp "$out/results.txt" "$keep/bench.txt"
  for f in "$out"/*.png "$out"/python_bench.json "$out"/hyperfine.txt "$out"/hyperfine.json; do
    if [ -f "$f" ]; then cp "$f" "$keep/"; fi
  done
  echo "bench.sh: saved into $keep"
fi
echo "bench.sh: results in $out"
exit "$status"
