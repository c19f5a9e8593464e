#!/bin/sh
# SPDX-License-Identifier: MIT
# Builds shmchop-bench, runs it, keeps the text and JSON results and draws the plots.
# Usage: scripts/bench.sh [--build-dir DIR] [--out DIR] [--quick] [--filter S] [--seconds S]
#                         [--pin] [--no-hyperfine]
set -eu

here=$(cd "$(dirname "$0")/.." && pwd)
build="$here/build"
out="$here/bench/results"
quick=""
filter=""
seconds=""
pin=""
hyper=1

while [ $# -gt 0 ]; do
  case "$1" in
    --build-dir) build=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
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
cmake --build "$build" -j "$(nproc 2>/dev/null || echo 2)" --target shmchop-bench shmchop-in shmchop-out

mkdir -p "$out"
bin="$build/bin"
load=$(cut -d' ' -f1-3 /proc/loadavg)
echo "bench.sh: load average before the run: $load (both cores are shared with whatever else runs)"

set -- --json "$out/bench.json"
[ -n "$quick" ] && set -- "$@" "$quick"
[ -n "$pin" ] && set -- "$@" "$pin"
[ -n "$filter" ] && set -- "$@" --filter "$filter"
[ -n "$seconds" ] && set -- "$@" --seconds "$seconds"
# Plain sh has no pipefail: the bench's status travels through a file.
rcfile=$(mktemp)
{ "$bin/shmchop-bench" "$@"; echo $? >"$rcfile"; } | tee "$out/bench.txt"
status=$(cat "$rcfile")
rm -f "$rcfile"
[ -s "$out/bench.json" ] || { echo "bench.sh: no results written" >&2; exit 1; }

# The same cook from Python (numpy view), with Debian's interpreter and numpy.
if /usr/bin/python3 -c 'import numpy' 2>/dev/null; then
  if PYTHONPATH="$build/python" /usr/bin/python3 "$here/python/bench/bench_cook.py" \
       --name "bench_python_$$" --json "$out/python_bench.json" >/dev/null; then
    tee -a "$out/bench.txt" <"$out/python_bench.json"
  else
    status=1
  fi
  "$bin/shmchop-in" gc "bench_python_$$" >/dev/null || true
fi

"$here/scripts/bench-plot.sh" "$out/bench.json" "$out" "$bin/shmchop-bench"

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
exit "$status"
