#!/bin/sh
# SPDX-License-Identifier: MIT
# Fuzzing: AFL++ campaigns (make fuzz), corpus replay (make fuzz-replay), the ctest smoke run.
#
# Usage:
#   scripts/fuzz.sh run    [--seconds N] [--build-dir DIR] [--jobs J]
#       Build the AFL++ harnesses with ASan+UBSan in DIR (build-fuzz), fuzz
#       every target for N seconds (60), J at a time (2), and print one line
#       per target. Exit 1 when a target found crashes or hangs.
#   scripts/fuzz.sh replay [--build-dir DIR]
#       Build the plain replay harnesses in DIR (build) and replay every
#       corpus, every saved crash (fuzz/regressions/<t>/) and, for image,
#       the golden vectors. Exit 1 on any failure.
#   scripts/fuzz.sh smoke  --build-dir DIR [--seconds N]
#       The ctest fuzz_afl_smoke: like run, but exits 77 (skip) when this
#       machine cannot run afl-fuzz at all, after proving that the harness
#       itself builds and runs its seeds.
set -eu

root=$(cd "$(dirname "$0")/.." && pwd)
mode=${1:-}
[ $# -gt 0 ] && shift
seconds=60
build_dir=
jobs=2
while [ $# -gt 0 ]; do
  case "$1" in
    --seconds) seconds=$2; shift 2 ;;
    --build-dir) build_dir=$2; shift 2 ;;
    --jobs) jobs=$2; shift 2 ;;
    *) echo "fuzz.sh: unknown option '$1'" >&2; exit 2 ;;
  esac
done
case "$seconds" in ''|*[!0-9]*) echo "fuzz.sh: --seconds needs a number, not '$seconds'" >&2; exit 2 ;; esac
case "$jobs" in ''|0|*[!0-9]*) echo "fuzz.sh: --jobs needs a positive number, not '$jobs'" >&2; exit 2 ;; esac

say() { echo "fuzz.sh: $*" >&2; }

# Dictionary of a target, if it has one.
dict_of() {
  case "$1" in
    # A sequence is mostly images: the image tokens serve it too.
    image|sequence) echo "$root/fuzz/dict/segment.dict" ;;
    *) if [ -f "$root/fuzz/dict/$1.dict" ]; then echo "$root/fuzz/dict/$1.dict"; fi ;;
  esac
}

# Inputs replayed for a target: its corpus, its saved crashes, for image the
# golden vectors. Directories that do not exist yet are left out.
inputs_of() {
  for d in "$root/fuzz/corpus/$1" "$root/fuzz/regressions/$1"; do
    [ -d "$d" ] && printf '%s\n' "$d"
  done
  if [ "$1" = global ] && [ -d "$root/conformance/vectors_global" ]; then
    printf '%s\n' "$root/conformance/vectors_global"
  fi
  if [ "$1" = image ] && [ -d "$root/conformance/vectors" ] &&
     [ -n "$(ls -A "$root/conformance/vectors")" ]; then
    printf '%s\n' "$root/conformance/vectors"
  fi
}

# Configure and build the AFL++ harnesses in $1. AFL_USE_ASAN/UBSAN must be
# in the environment of every compiler call, so both steps get them.
afl_build() {
  dir=$1
  export AFL_USE_ASAN=1 AFL_USE_UBSAN=1 AFL_QUIET=1
  cmake -S "$root" -B "$dir" -DCMAKE_C_COMPILER=afl-clang-fast \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSHMCHOP_FUZZ_ENGINE=afl \
    -DSHMCHOP_BUILD_TESTS=OFF -DSHMCHOP_BUILD_BENCH=OFF -DBUILD_TESTING=OFF \
    -DSHMCHOP_WERROR=OFF >"$dir.configure.log" 2>&1 ||
    { cat "$dir.configure.log" >&2; say "configuring $dir failed"; return 1; }
  targets=$(cat "$dir/fuzz/targets.txt")
  set --
  for t in $targets; do set -- "$@" "fuzz_$t"; done
  cmake --build "$dir" -j 2 --target "$@" >"$dir.build.log" 2>&1 ||
    { tail -n 40 "$dir.build.log" >&2; say "building the AFL++ harnesses failed"; return 1; }
  unset AFL_USE_ASAN AFL_USE_UBSAN AFL_QUIET
}

# One value from an afl fuzzer_stats file ("key : value").
stat_of() {
  sed -n "s/^$2 *: *//p" "$1" | head -n 1
}

# Run afl-fuzz on target $1 for $seconds into $findings/$1; log beside it.
# Called in the background: it exec()s, so $! is afl-fuzz itself.
# An execution longer than this is a hang (ms); the smoke run raises it.
hang_ms=1000

afl_run() {
  t=$1
  out="$findings/$t"
  rm -rf "$out"
  set -- -i "$root/fuzz/corpus/$t" -o "$out" -m none -t "${hang_ms}+" -V "$seconds"
  d=$(dict_of "$t")
  [ -n "$d" ] && set -- "$@" -x "$d"
  # The environment of a fresh CI machine run as root: no CPU governor
  # control, core dumps piped to a handler, no free core to pin, no tty.
  # None of these changes what a crash is.
  export AFL_SKIP_CPUFREQ=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 AFL_NO_UI=1 \
    AFL_NO_AFFINITY=1
  exec afl-fuzz "$@" -- "$build_dir/bin/fuzz_$t" >"$findings/$t.log" 2>&1
}

# Wait for the afl-fuzz runs in $batch ("target:pid ..."), saving each
# exit code as $findings/<target>.rc.
afl_wait() {
  for tp in $batch; do
    rc=0
    wait "${tp#*:}" || rc=$?
    echo "$rc" >"$findings/${tp%%:*}.rc"
  done
  batch=
}

stop_all() {
  for tp in $batch; do kill "${tp#*:}" 2>/dev/null || true; done
  exit 130
}

# Run every target, $jobs at a time; remember each exit code in $findings.
afl_run_all() {
  mkdir -p "$findings"
  # afl-fuzz refuses custom sanitizer options without its required flags;
  # its own defaults are right for fuzzing.
  unset ASAN_OPTIONS UBSAN_OPTIONS LSAN_OPTIONS MSAN_OPTIONS
  batch=
  trap stop_all INT TERM
  running=0
  for t in $targets; do
    say "fuzzing $t for ${seconds}s"
    afl_run "$t" &
    batch="$batch $t:$!"
    running=$((running + 1))
    if [ "$running" -ge "$jobs" ]; then
      afl_wait
      running=0
    fi
  done
  afl_wait
  trap - INT TERM
}

# Print one line per target from fuzzer_stats; return 1 if any target found
# crashes or hangs, 3 if some afl-fuzz did not run at all (no stats).
report() {
  status=0
  for t in $targets; do
    st="$findings/$t/default/fuzzer_stats"
    if [ ! -f "$st" ]; then
      echo "fuzz $t: afl-fuzz did not run (exit $(cat "$findings/$t.rc")), log $findings/$t.log"
      [ "$status" -eq 0 ] && status=3
      continue
    fi
    execs=$(stat_of "$st" execs_done)
    secs=$(stat_of "$st" run_time)
    [ -n "$secs" ] || secs=$(( $(stat_of "$st" last_update) - $(stat_of "$st" start_time) ))
    [ "$secs" -gt 0 ] 2>/dev/null || secs=1
    corpus=$(stat_of "$st" corpus_count)
    crashes=$(stat_of "$st" saved_crashes)
    [ -n "$crashes" ] || crashes=$(stat_of "$st" unique_crashes)
    hangs=$(stat_of "$st" saved_hangs)
    [ -n "$hangs" ] || hangs=$(stat_of "$st" unique_hangs)
    echo "fuzz $t: $execs execs, $((execs / secs)) execs/s, corpus $corpus, crashes $crashes, hangs $hangs (${secs}s, $findings/$t)"
    if [ "$crashes" != 0 ] || [ "$hangs" != 0 ]; then
      status=1
      for f in "$findings/$t/default/crashes"/id* "$findings/$t/default/hangs"/id*; do
        [ -f "$f" ] && echo "  $f"
      done
      echo "  reproduce: $build_dir/bin/fuzz_$t FILE; minimize: afl-tmin -m none -i FILE -o fuzz/regressions/$t/NAME -- $build_dir/bin/fuzz_$t"
    elif [ "$(cat "$findings/$t.rc")" != 0 ]; then
      echo "  afl-fuzz exited $(cat "$findings/$t.rc"): see $findings/$t.log"
      status=1
    fi
  done
  return "$status"
}

# The machine cannot run afl-fuzz when it says so before fuzzing anything.
environment_problem() {
  grep -E -l 'shmget|shmat|Unable to create shared memory|No space left on device|Permission denied|Resource temporarily unavailable|Cannot allocate memory' \
    "$findings"/*.log 2>/dev/null | head -n 1
}

case "$mode" in
  run)
    "$root/scripts/install-deps.sh" build fuzz
    build_dir=${build_dir:-$root/build-fuzz}
    findings="$build_dir/findings"
    afl_build "$build_dir"
    afl_run_all
    report
    ;;

  smoke)
    [ -n "$build_dir" ] || { say "smoke needs --build-dir"; exit 2; }
    if ! command -v afl-fuzz >/dev/null || ! command -v afl-clang-fast >/dev/null; then
      say "afl-fuzz or afl-clang-fast not found: skipped"
      exit 77
    fi
    findings="$build_dir/findings"
    # The smoke run shares the machine with the rest of ctest -j: an input
    # counts as a hang only past 5 s (ASan-instrumented), a real stall.
    hang_ms=5000
    afl_build "$build_dir"
    # The instrumented harness must replay its seeds (file mode) and run
    # one through the persistent loop (stdin, outside afl-fuzz): a failure
    # here is ours, never the machine's.
    for t in $targets; do
      "$build_dir/bin/fuzz_$t" "$root/fuzz/corpus/$t" ||
        { say "the AFL++ build of $t fails on its own seeds (above)"; exit 1; }
      seed=$(find "$root/fuzz/corpus/$t" -type f ! -name '.*' | sort | head -n 1)
      "$build_dir/bin/fuzz_$t" <"$seed" ||
        { say "the AFL++ build of $t fails in its persistent loop on $seed"; exit 1; }
    done
    afl_run_all
    rc=0
    report || rc=$?
    if [ "$rc" -eq 3 ]; then
      why=$(environment_problem)
      if [ -n "$why" ]; then
        tail -n 15 "$why" >&2
        say "afl-fuzz cannot run on this machine (see above): skipped"
        exit 77
      fi
      for t in $targets; do tail -n 30 "$findings/$t.log" >&2; done
      exit 1
    fi
    exit "$rc"
    ;;

  replay)
    "$root/scripts/install-deps.sh" build
    build_dir=${build_dir:-$root/build}
    [ -f "$build_dir/CMakeCache.txt" ] || cmake -S "$root" -B "$build_dir" >/dev/null
    cmake -S "$root" -B "$build_dir" >/dev/null # pick up new targets and corpora
    targets=$(cat "$build_dir/fuzz/targets.txt")
    set --
    for t in $targets; do set -- "$@" "fuzz_${t}_replay"; done
    cmake --build "$build_dir" -j 2 --target "$@" >/dev/null ||
      { say "building the replay harnesses failed"; exit 1; }
    status=0
    for t in $targets; do
      # shellcheck disable=SC2046
      "$build_dir/bin/fuzz_${t}_replay" $(inputs_of "$t") || status=1
    done
    exit "$status"
    ;;

  *)
    sed -n '5,17p' "$0" | sed 's/^# \{0,1\}//' >&2
    exit 2
    ;;
esac
