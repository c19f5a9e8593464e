#!/bin/sh
# SPDX-License-Identifier: MIT
# ctest consumer_package: install the build into a temporary prefix, then
# build and run a consumer with find_package(shmchop 0.2) and with
# pkg-config; the installed shared library exports no fault hook.
# Usage: consumer-package.sh BUILD_DIR SOURCE_DIR CC
set -eu
build=$1 src=$2 cc=$3
tmp=$(mktemp -d "${TMPDIR:-/tmp}/shmchop-consumer.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM
prefix="$tmp/prefix"

cmake --install "$build" --prefix "$prefix" >"$tmp/install.log" || { cat "$tmp/install.log"; exit 1; }
lib=$(find "$prefix" -name 'libshmchop.so' | head -n 1)
pcdir=$(dirname "$(find "$prefix" -name shmchop.pc | head -n 1)")
[ -n "$lib" ] && [ -d "$pcdir" ] || { echo "consumer_package: no libshmchop.so or shmchop.pc under $prefix" >&2; exit 1; }

# R5.5 fault hooks are for the simulator and the tests only.
if nm -D --defined-only "$lib" | grep -E 'shmchop_writer_(lock|unlock|mapping|write_unlocked|truncate|unlink_data|resize|abandon)$'; then
  echo "consumer_package: the installed $lib exports fault hooks" >&2; exit 1
fi

cmake -S "$src" -B "$tmp/cmake-build" -DCMAKE_C_COMPILER="$cc" \
  -DCMAKE_PREFIX_PATH="$prefix" >"$tmp/cmake.log" 2>&1 || { cat "$tmp/cmake.log"; exit 1; }
cmake --build "$tmp/cmake-build" >"$tmp/build.log" 2>&1 || { cat "$tmp/build.log"; exit 1; }
LD_LIBRARY_PATH="$(dirname "$lib")" "$tmp/cmake-build/consumer_cmake"
"$tmp/cmake-build/consumer_cmake_static"

export PKG_CONFIG_PATH="$pcdir"
pkg-config --exists 'shmchop >= 0.2'
# shellcheck disable=SC2046
"$cc" -std=c11 -Wall -Wextra -Werror -o "$tmp/consumer_pc" "$src/consumer.c" $(pkg-config --cflags --libs shmchop)
LD_LIBRARY_PATH="$(dirname "$lib")" "$tmp/consumer_pc"
echo "consumer_package: find_package and pkg-config consumers built and ran from $prefix"
