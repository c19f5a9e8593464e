#!/bin/sh
# SPDX-License-Identifier: MIT
# Valgrind memcheck over the reader paths: check and dump of every golden
# vector and fuzz regression input, and the cook suites in one process.
# Usage: scripts/valgrind-reader.sh BIN_DIR VECTORS_DIR FUZZ_DIR
set -eu

bin=$1 vectors=$2 fuzz=$3
command -v valgrind >/dev/null || { echo "valgrind-reader: valgrind is not installed" >&2; exit 1; }
vg="valgrind --quiet --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite,indirect"
runs=0

# Exit codes 0/1 are verdicts (valid/invalid), 2 a usage or read problem;
# 99 is valgrind's own: an error it found.
run() {
    runs=$((runs + 1))
    set +e
    $vg "$@" >/dev/null 2>/tmp/valgrind-reader.$$
    rc=$?
    set -e
    if [ "$rc" -eq 99 ] || [ "$rc" -gt 2 ]; then
        echo "valgrind-reader: FAILED ($rc): $*" >&2
        cat /tmp/valgrind-reader.$$ >&2
        rm -f /tmp/valgrind-reader.$$
        exit 1
    fi
}

# The tools on a few vectors of each kind (the whole manifest goes through
# the library in check_image/check_vectors below, in one process).
for img in "$vectors"/valid_ext_on.img "$vectors"/valid_ext_size_60.img "$vectors"/valid_nonfinite*.img \
           "$vectors"/invalid_rate_nan.img "$vectors"/invalid_empty*.img \
           "$fuzz"/regressions/image/*; do
    [ -f "$img" ] || continue
    run "$bin/shmchop-in" check --image "$img" --json
    run "$bin/shmchop-in" dump --image "$img" --json --samples
done
# The cook, time slicing and resampling suites, unforked so valgrind sees them.
for suite in check_image check_vectors check_cook check_timeslice check_resample check_info \
             check_export check_scope; do
    [ -x "$bin/$suite" ] || continue
    runs=$((runs + 1))
    CK_FORK=no $vg "$bin/$suite" >/tmp/valgrind-reader.$$ 2>&1 || {
        echo "valgrind-reader: FAILED: $suite" >&2
        tail -n 40 /tmp/valgrind-reader.$$ >&2
        rm -f /tmp/valgrind-reader.$$
        exit 1
    }
done
rm -f /tmp/valgrind-reader.$$
echo "valgrind-reader: $runs runs, 0 errors"
echo "$runs passed, 0 failed"
