#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# `make demo`: an image made, checked and dumped; then a live writer and a reader for ~5 s, summed up.
#
# Usage: scripts/demo.sh BIN_DIR
# Everything is bounded by `timeout` (--foreground, so that a Ctrl-C reaches
# the tools, which stop cleanly), and the trap removes the writer, its
# shared memory objects and the scratch directory on any exit.
set -euo pipefail

BIN=${1:?usage: demo.sh BIN_DIR}
OUT=$BIN/shmchop-out
IN=$BIN/shmchop-in
for tool in "$OUT" "$IN"; do
    [[ -x $tool ]] || { echo "demo: $tool is missing: build first" >&2; exit 2; }
done

NAME=shmchop_demo_$$
TMP=$(mktemp -d "${TMPDIR:-/tmp}/shmchop-demo.XXXXXX")
WRITER_PID=

cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    if [[ -n $WRITER_PID ]] && kill -0 "$WRITER_PID" 2>/dev/null; then
        kill -TERM "$WRITER_PID" 2>/dev/null || true
        # The writer unlinks its objects on SIGTERM; give it a moment.
        for _ in 1 2 3 4 5 6 7 8 9 10; do
            kill -0 "$WRITER_PID" 2>/dev/null || break
            sleep 0.1
        done
        kill -KILL "$WRITER_PID" 2>/dev/null || true
    fi
    [[ -n $WRITER_PID ]] && wait "$WRITER_PID" 2>/dev/null || true
    # The mutex objects stay after a clean exit (SPEC R2.8): collect them.
    timeout --foreground 10 "$IN" gc "$NAME" >/dev/null 2>&1 || true
    rm -rf "$TMP"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

step() { printf '\n== %s\n' "$*"; }

# A JSON field of a one-line object, without jq: "key":value.
json_field() { sed -n "s/.*\"$2\":\([^,}]*\).*/\1/p" "$1" | head -n 1; }

step "1. an image file: 4 channels of 64 sine samples at 60 Hz"
timeout --foreground 10 "$OUT" image -o "$TMP/demo.img" --chans 4 --length 64 --rate 60 --wave sine
timeout --foreground 10 "$IN" check --image "$TMP/demo.img"
timeout --foreground 10 "$IN" dump --image "$TMP/demo.img" | head -n 12

step "2. a live writer: $NAME, counter wave, 60 fps for 5 s"
timeout --foreground 30 "$OUT" run --name "$NAME" --wave counter --chans 4 --length 256 --fps 60 \
    --seconds 5 --json >"$TMP/writer.json" 2>"$TMP/writer.err" &
WRITER_PID=$!
for _ in $(seq 50); do
    [[ -e /dev/shm/TouchSHM$NAME ]] && break
    sleep 0.1
done
[[ -e /dev/shm/TouchSHM$NAME ]] || { echo "demo: the writer did not start:" >&2; cat "$TMP/writer.err" >&2; exit 1; }
timeout --foreground 10 "$IN" ls | grep -A4 "^$NAME " || true

step "3. a reader: shmchop-in watch --json --verify-counter, 4 s at 60 fps"
# A few plain lines first (through cat: never the full-screen table here).
timeout --foreground 10 "$IN" watch "$NAME" --frames 3 --fps 60 2>/dev/null | cat
timeout --foreground 20 "$IN" watch "$NAME" --json --verify-counter --frames 240 --fps 60 \
    >"$TMP/watch.jsonl" 2>"$TMP/watch.err"
echo "last line: $(tail -n 1 "$TMP/watch.jsonl" | cut -c1-160)..."

wait "$WRITER_PID" || { echo "demo: the writer failed:" >&2; cat "$TMP/writer.err" >&2; exit 1; }
WRITER_PID=

step "4. summary"
published=$(json_field "$TMP/writer.json" frames_published)
seconds=$(json_field "$TMP/writer.json" seconds)
read_total=$(grep -c '"cook":' "$TMP/watch.jsonl" || true)
read_ok=$(grep -c '"ok":true' "$TMP/watch.jsonl" || true)
summary=$(tail -n 1 "$TMP/watch.err")
torn=$(sed -n 's/.* \([0-9]*\) torn.*/\1/p' <<<"$summary")
p50=$(sed -n 's/.*latency p50 \([0-9.]*\) ms.*/\1/p' <<<"$summary")
p99=$(sed -n 's/.*p99 \([0-9.]*\) ms.*/\1/p' <<<"$summary")
stopped_by=$(json_field "$TMP/writer.json" stopped_by)
printf 'writer: %s frames published in %.2f s\n' "$published" "$seconds"
printf 'reader: %s frames read, %s ok, torn %s, latency p50 %s ms, p99 %s ms\n' \
    "$read_total" "$read_ok" "${torn:-?}" "${p50:-?}" "${p99:-?}"
# A Ctrl-C reaches the tools too (timeout --foreground): they stop cleanly,
# and bash then skips its INT trap, so tell an interrupted run here.
if [[ $stopped_by != null || $read_total -lt 240 ]]; then
    echo "demo: interrupted"
    exit 130
fi
if [[ ${torn:-x} != 0 || $read_ok -eq 0 ]]; then
    echo "demo: FAILED (torn frames or no frame read)" >&2
    exit 1
fi
echo "demo: ok"
