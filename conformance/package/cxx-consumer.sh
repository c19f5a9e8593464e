#!/bin/sh
# SPDX-License-Identifier: MIT
# ctest cxx_consumer: every public header compiles as C++17 with -Wall
# -Wextra -Werror -pedantic under g++ and clang++, and the README's C++
# example (built with pkg-config and with find_package, each compiler)
# reads a live segment written by shmchop-out.
# Usage: cxx-consumer.sh BUILD_DIR SOURCE_DIR
set -eu
build=$1 src=$2
bin="$build/bin"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/shmchop-cxx.XXXXXX")
name="cxx_consumer_$$"
writer=""
cleanup() {
  if [ -n "$writer" ]; then kill "$writer" 2>/dev/null || true; wait "$writer" 2>/dev/null || true; fi
  "$bin/shmchop-in" gc "$name" >/dev/null 2>&1 || true
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
prefix="$tmp/prefix"
flags="-std=c++17 -Wall -Wextra -Werror -pedantic"

cmake --install "$build" --prefix "$prefix" >"$tmp/install.log" || { cat "$tmp/install.log"; exit 1; }
pcdir=$(dirname "$(find "$prefix" -name shmchop.pc | head -n 1)")
libdir=$(dirname "$(find "$prefix" -name 'libshmchop.so' | head -n 1)")
export PKG_CONFIG_PATH="$pcdir"

# The README's blocks, exactly as shown there.
example() {
  sed -n "/^<!-- example: $1 -->\$/,/^\`\`\`\$/p" "$src/README.md" | sed '1,2d;$d'
}
example cpp >"$tmp/last.cpp"
example cmake >"$tmp/CMakeLists.txt"
[ -s "$tmp/last.cpp" ] && [ -s "$tmp/CMakeLists.txt" ] || { echo "cxx_consumer: README examples missing" >&2; exit 1; }

headers=$(cd "$prefix/include" && ls shmchop/*.h)
for cxx in g++ clang++; do
  command -v "$cxx" >/dev/null || { echo "cxx_consumer: $cxx not installed" >&2; exit 1; }
  # Each header alone (it must include what it needs), then all together.
  for h in $headers; do
    printf '#include <%s>\nint main() { return 0; }\n' "$h" >"$tmp/one.cpp"
    # shellcheck disable=SC2086
    "$cxx" $flags -fsyntax-only -I"$prefix/include" "$tmp/one.cpp" || { echo "cxx_consumer: $h is not C++17-clean under $cxx" >&2; exit 1; }
  done
  for h in $headers; do printf '#include <%s>\n' "$h"; done >"$tmp/all.cpp"
  echo 'int main() { return 0; }' >>"$tmp/all.cpp"
  # shellcheck disable=SC2086
  "$cxx" $flags -fsyntax-only -I"$prefix/include" "$tmp/all.cpp"
  # shellcheck disable=SC2046,SC2086
  "$cxx" $flags -o "$tmp/last-pc-$cxx" "$tmp/last.cpp" $(pkg-config --cflags --libs shmchop)
  cmake -S "$tmp" -B "$tmp/cmake-$cxx" -DCMAKE_CXX_COMPILER="$cxx" -DCMAKE_CXX_FLAGS="$flags" \
    -DCMAKE_PREFIX_PATH="$prefix" >"$tmp/cmake.log" 2>&1 || { cat "$tmp/cmake.log"; exit 1; }
  cmake --build "$tmp/cmake-$cxx" >"$tmp/build.log" 2>&1 || { cat "$tmp/build.log"; exit 1; }
done

"$bin/shmchop-out" run --name "$name" --chans 3 --length 8 --wave counter --fps 60 --seconds 60 >/dev/null &
writer=$!
i=0
until "$bin/shmchop-in" check "$name" >/dev/null 2>&1; do
  i=$((i + 1))
  [ "$i" -lt 300 ] || { echo "cxx_consumer: segment $name never became valid" >&2; exit 1; }
  sleep 0.05
done
for exe in "$tmp"/last-pc-g++ "$tmp"/last-pc-clang++ "$tmp"/cmake-g++/last "$tmp"/cmake-clang++/last; do
  LD_LIBRARY_PATH="$libdir" "$exe" "$name" >"$tmp/out.txt"
  names=$(cut -d' ' -f1 "$tmp/out.txt" | tr '\n' ' ')
  [ "$names" = "chan1 chan2 chan3 " ] || { echo "cxx_consumer: $exe printed:" >&2; cat "$tmp/out.txt" >&2; exit 1; }
done
echo "cxx_consumer: headers C++17-clean under g++ and clang++; README example read $name 4 ways"
