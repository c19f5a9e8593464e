#!/bin/sh
# SPDX-License-Identifier: MIT
# Regenerates the fuzz seed corpora: fuzz/corpus/image/ from `shmchop-out image`, fuzz/corpus/scope/ from PATTERNS.md.
#
# Usage: scripts/mkcorpus.sh [SHMCHOP_OUT]
#   SHMCHOP_OUT defaults to the first of build/bin/shmchop-out and
#   build-*/bin/shmchop-out that exists. Image seeds are named <shape>.img,
#   scope seeds patternNN.txt. The afl-NNNN files beside them are inputs
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

echo "mkcorpus: $count image seeds in $img_dir, $n scope seeds in $scope_dir"
