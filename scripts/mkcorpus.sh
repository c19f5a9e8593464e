#!/bin/sh
# SPDX-License-Identifier: MIT
# Regenerates the fuzz seed corpora: image/ and sequence/ from `shmchop-out image`, scope/ from PATTERNS.md.
#
# Usage: scripts/mkcorpus.sh [SHMCHOP_OUT]
#   SHMCHOP_OUT defaults to the first of build/bin/shmchop-out and
#   build-*/bin/shmchop-out that exists. Image seeds are named <shape>.img,
#   scope seeds patternNN.txt, sequence seeds <what>.seq (the format is in
#   fuzz/fuzz_sequence.c: parameter bytes, then one record per frame made
#   from `shmchop-out image --frame K --start ...`). The afl-NNNN files beside them are inputs
#   AFL++ found (queues minimised with afl-cmin, crashing ones left out):
#   this script leaves them alone. Every image seed must stay below 4 KiB:
#   small seeds keep the fuzzers fast.
set -eu

root=$(cd "$(dirname "$0")/.." && pwd)
out_tool=${1:-}
if [ -z "$out_tool" ]; then
  for c in "$root"/build/bin/shmchop-out "$root"/build-*/bin/shmchop-out; do
    [ -x "$c" ] && { out_tool=$c; break; }
  done
fi
if [ -z "$out_tool" ] || [ ! -x "$out_tool" ]; then
  echo "mkcorpus: no shmchop-out; build it (make build) or pass its path" >&2
  exit 2
fi

img_dir="$root/fuzz/corpus/image"
mkdir -p "$img_dir"
rm -f "$img_dir"/*.img
count=0

# seed NAME SHAPE-OPTIONS...
seed() {
  name=$1
  shift
  "$out_tool" image -o "$img_dir/$name.img" "$@" >/dev/null
  bytes=$(wc -c <"$img_dir/$name.img")
  if [ "$bytes" -ge 4096 ]; then
    echo "mkcorpus: $name.img is $bytes bytes, seeds must stay below 4096" >&2
    exit 1
  fi
  count=$((count + 1))
}

long_prefix=$(printf '%0200d' 0 | tr 0 p)

# No channels, no samples: the smallest images, with and without names/ext.
seed empty_plain         --chans 0 --length 0 --names off --ext off
seed empty_names         --chans 0 --length 0 --names on  --ext off
seed empty_ext           --chans 0 --length 0 --names off --ext on
seed empty_names_ext     --chans 0 --length 0 --names on  --ext on
# Channels of length 0 (names but no data), and samples of one channel.
seed len0_3ch_names      --chans 3 --length 0 --names on --ext off
seed len0_3ch_nonames    --chans 3 --length 0 --names off --ext off
seed len0_300ch_nonames  --chans 300 --length 0 --names off --ext on
seed one_const           --chans 1 --length 1 --wave const --ext off
seed one_const_nonames   --chans 1 --length 1 --wave const --names off --ext off
seed one_const_ext       --chans 1 --length 1 --wave const --ext on
seed one_len512_ramp     --chans 1 --length 512 --wave ramp --ext on
# Every wave, names on/off/prefix, ext on/off (the tool's default is on,
# so every seed says which).
seed sine_2x16_r60       --chans 2 --length 16 --wave sine --rate 60 --ext off
seed sine_2x16_r60_ext   --chans 2 --length 16 --wave sine --rate 60 --ext on
seed ramp_4x8_r44100     --chans 4 --length 8 --wave ramp --rate 44100 --names off --ext off
seed ramp_4x8_r44100_ext --chans 4 --length 8 --wave ramp --rate 44100 --ext on
seed square_3x5_prefix   --chans 3 --length 5 --wave square --names t --ext off
seed square_3x5_punct    --chans 3 --length 5 --wave square --names 'a:b/c-d_' --ext on
seed noise_2x10_seed1    --chans 2 --length 10 --wave noise --seed 1 --ext off
seed noise_2x10_seed7    --chans 2 --length 10 --wave noise --seed 7 --ext on --names off
seed const_5x3_r48000    --chans 5 --length 3 --wave const --rate 48000 --ext off
seed counter_3x4_ext     --chans 3 --length 4 --wave counter --ext on --frame 5 --start 100
seed counter_8x2_nonames --chans 8 --length 2 --wave counter --ext on --names off --frame 9
seed counter_2x3_negstart --chans 2 --length 3 --wave counter --ext on --start -5
# Shapes near the edges: many short names, long names, odd rates.
seed many_64x1_names     --chans 64 --length 1 --wave ramp --ext off
seed long_names_2x1      --chans 2 --length 1 --names "$long_prefix" --ext off
seed rate_half           --chans 1 --length 4 --wave sine --rate 0.5 --ext off
seed rate_192k_ext       --chans 2 --length 4 --wave sine --rate 192000 --ext on
seed rate_huge           --chans 1 --length 2 --wave const --rate 3.4e38 --ext off
seed bigframe_ext        --chans 1 --length 2 --wave counter --ext on --frame 18446744073709551614

# Stage 4 of fuzz_image cooks the image with parameters taken from the
# bytes after its `size` (SPEC 1.4 allows them; see fuzz/fuzz_image.c).
# cook_seed NAME BASE BYTE...: BASE.img with those trailing bytes.
cook_seed() {
  name=$1 base=$2
  shift 2
  cp "$img_dir/$base.img" "$img_dir/$name.img"
  for b in "$@"; do printf "\\$(printf %03o "$b")" >>"$img_dir/$name.img"; done
  count=$((count + 1))
}
cook_seed cook_ts_8cooks        counter_3x4_ext 0 0 1 7 1 2 3 4 5 6 7
cook_seed cook_ts_24fps_q1      ramp_4x8_r44100_ext 0 0 67 3 0 3 4
cook_seed cook_ts_1000fps_clip5 sine_2x16_r60_ext 1 0 29 5 6 7 0 1 2
cook_seed cook_resample_44100   sine_2x16_r60 0 3 0 1
cook_seed cook_resample_half_ts noise_2x10_seed7 0 4 1 4 0 2 3 4
cook_seed cook_triple_3src_max  const_5x3_r48000 5 53 0 1
cook_seed cook_strict_4src_err  counter_8x2_nonames 2 248 1 2 0 1
cook_seed cook_scope_setops     square_3x5_prefix 4 0 0
cook_seed cook_rate1_ts         one_len512_ramp 0 1 1 3 6 6 6

# Scope patterns: the examples of PATTERNS.md, then error cases; each seed
# is a pattern line followed by the example channel names, one a line.
scope_dir="$root/fuzz/corpus/scope"
mkdir -p "$scope_dir"
rm -f "$scope_dir"/*.txt
names='tx ty tz rx ry rz sx chan1 chan2 chan3 chan5 chan10 blend2 blend3 blend4 blend5 blend7 blend13'
n=0
while IFS= read -r pattern; do
  n=$((n + 1))
  # shellcheck disable=SC2086 # one name a line: split on purpose
  { printf '%s\n' "$pattern"; printf '%s\n' $names; } >"$scope_dir/$(printf 'pattern%02d' "$n").txt"
done <<'EOF'
*
t?
t* r*
r[xz]
chan[1-3]
chan[1-20]
blend[2-3,5,13]
blend[3-7:2]
* ^chan*
^chan* ^blend*
^t? | ^r?
* ~ chan[1,5]
blend* & *[3-9]
(t* | r*) ~ ?y
zz*
chan[
((t*) & (^ty))
[0-2147483647]
chan[5-2]
chan[1-9:0]
(a | b
 	
EOF

# Sequences: one reader cooks frame after frame (fuzz/fuzz_sequence.c).
seq_dir="$root/fuzz/corpus/sequence"
mkdir -p "$seq_dir"
rm -f "$seq_dir"/*.seq
tmp_img=$(mktemp)
trap 'rm -f "$tmp_img"' EXIT
nseq=0

# Little-endian u16/u32 as raw bytes (octal escapes: POSIX printf).
le16() { printf "\\$(printf %03o $(($1 & 255)))\\$(printf %03o $(($1 >> 8 & 255)))"; }
le32() { le16 $(($1 & 65535)); le16 $(($1 >> 16 & 65535)); }
byte() { printf "\\$(printf %03o "$1")"; }

# record STEP_US SHAPE-OPTIONS...: append one frame to the current sequence.
record() {
  step=$1
  shift
  "$out_tool" image -o "$tmp_img" "$@" >/dev/null
  le16 "$(wc -c <"$tmp_img")" >>"$seq_file"
  le32 "$step" >>"$seq_file"
  cat "$tmp_img" >>"$seq_file"
}

# sequence NAME P0 P1 P2 FLAGS: start a sequence with its parameter bytes
# (scope, rate/sources/srselect/strict, timeslice/fps/maxslice/maxqueue,
# bit 0 counter mode; see fuzz/fuzz_cook.h).
sequence() {
  seq_file="$seq_dir/$1.seq"
  : >"$seq_file"
  for b in "$2" "$3" "$4" "$5"; do byte "$b" >>"$seq_file"; done
  nseq=$((nseq + 1))
}

# frames N STEP_US ADVANCE SHAPE-OPTIONS...: N frames of one writer whose
# start moves on by ADVANCE samples per frame.
frames() {
  nf=$1 fstep=$2 adv=$3
  shift 3
  k=1
  while [ "$k" -le "$nf" ]; do
    record "$fstep" "$@" --frame "$k" --start $((k * adv))
    k=$((k + 1))
  done
}

counter='--chans 2 --length 10 --wave counter --rate 600 --ext on'
# A time-slicing writer at 600 Hz, one 10-sample slice per 60 fps frame.
sequence ts_counter_ext 0 0 1 0
frames 8 16667 10 $counter
sequence ts_counter_ext_countermode 0 0 1 1
frames 8 16667 10 $counter
# Frames that skip (start jumps), stall (start stays) and jitter in time.
sequence ts_counter_gaps 0 0 1 0
record 16667 $counter --frame 1 --start 0
record 16667 $counter --frame 2 --start 25
record 0 $counter --frame 3 --start 25
record 50000 $counter --frame 4 --start 35
record 1000000 $counter --frame 5 --start 1000
record 1000 $counter --frame 7 --start 1010
# A writer restart: frame and start go back.
sequence ts_counter_restart 0 0 1 0
frames 3 16667 10 $counter
record 16667 $counter --frame 1 --start 0
# Time slicing at 24 fps with a short queue, 1000 fps with a long one.
sequence ts_counter_24fps_q0 0 0 35 0
frames 6 41667 25 $counter
sequence ts_counter_1000fps 0 0 165 1
frames 6 1000 1 $counter
# Resampled slices: forced 3x, 0.5x, 44100 Hz; two sources, srselect max.
sequence ts_resample_triple 0 5 1 0
frames 6 16667 10 $counter
sequence ts_resample_half 0 4 1 0
frames 6 16667 10 $counter
sequence whole_resample_44100 0 3 0 0
frames 3 16667 10 $counter
sequence ts_two_sources_max 5 40 1 0
frames 5 16667 10 $counter
# Without the block: new content counts as new samples (R4.5).
sequence ts_noext_changes 0 0 1 0
k=1
while [ "$k" -le 5 ]; do
  record 16667 --chans 1 --length 10 --wave noise --seed "$k" --rate 600 --ext off
  k=$((k + 1))
done
# R1.15: names, then frames without them keep them; more channels get chan<i>.
sequence names_kept 0 0 0 0
record 16667 --chans 2 --length 3 --names t --ext off
record 16667 --chans 2 --length 3 --names off --ext off
record 16667 --chans 4 --length 3 --names off --ext off
record 16667 --chans 1 --length 3 --names r --ext off
sequence names_kept_scope 3 8 0 0
record 16667 --chans 3 --length 2 --names t --ext on
record 16667 --chans 3 --length 2 --names off --ext on --frame 1
# Channel count and rate changing under a time-sliced reader.
sequence ts_shape_changes 0 0 1 0
record 16667 --chans 2 --length 10 --wave counter --rate 600 --ext on --frame 1 --start 0
record 16667 --chans 3 --length 10 --wave counter --rate 600 --ext on --frame 2 --start 10
record 16667 --chans 3 --length 20 --wave counter --rate 1200 --ext on --frame 3 --start 40
record 16667 --chans 0 --length 0 --ext on --frame 4
# Strict, srselect err, an invalid frame between valid ones.
sequence strict_err_invalid 0 224 1 0
record 16667 $counter --frame 1 --start 0
printf 'not an image' >"$tmp_img"
le16 12 >>"$seq_file"; le32 16667 >>"$seq_file"; cat "$tmp_img" >>"$seq_file"
record 16667 $counter --frame 2 --start 10
# A record cut short by the end of the input.
sequence truncated 0 0 1 0
record 16667 $counter --frame 1 --start 0
le16 4000 >>"$seq_file"; le32 16667 >>"$seq_file"; printf 'short' >>"$seq_file"

echo "mkcorpus: $count image seeds in $img_dir, $n scope seeds in $scope_dir, $nseq sequences in $seq_dir"
