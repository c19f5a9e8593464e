#!/bin/sh
# SPDX-License-Identifier: MIT
# `make test-package`: the .deb holds every part (tools, shared library,
# headers, pkg-config and CMake files, man pages, Python module, copyright),
# depends on what its ELF files link, and lintian reports no error.
# Usage: check-package.sh DEB
set -eu
deb=$1
[ -f "$deb" ] || { echo "check-package: no $deb" >&2; exit 1; }
list=$(dpkg-deb -c "$deb" | awk '{print $6}' | sed 's|^\./|/|')
fail=0
for want in /usr/bin/shmchop-in /usr/bin/shmchop-out \
    '/usr/lib/[^/]*/libshmchop\.so\.0$' '/usr/lib/[^/]*/libshmchop\.so$' \
    /usr/include/shmchop/reader.h /usr/include/shmchop/segment.h /usr/include/shmchop/image.h \
    /usr/include/shmchop/global.h \
    '/usr/lib/[^/]*/pkgconfig/shmchop\.pc' '/usr/lib/[^/]*/cmake/shmchop/shmchopConfig\.cmake' \
    '/usr/lib/[^/]*/cmake/shmchop/shmchopConfigVersion\.cmake' \
    /usr/share/man/man1/shmchop-in.1.gz /usr/share/man/man1/shmchop-out.1.gz \
    /usr/share/man/man7/shmchop.7.gz \
    /usr/lib/python3/dist-packages/shmchop/__init__.py \
    /usr/lib/python3/dist-packages/shmchop/_paths.py \
    /usr/share/doc/shmchop/copyright; do
  printf '%s\n' "$list" | grep -q -e "^$want" || { echo "check-package: $deb lacks $want" >&2; fail=1; }
done
deps=$(dpkg-deb -f "$deb" Depends)
for dep in libc6 libjansson4 python3-numpy; do
  printf '%s\n' "$deps" | grep -q "$dep" || { echo "check-package: Depends lacks $dep: $deps" >&2; fail=1; }
done
if command -v lintian >/dev/null; then
  out=$(mktemp)
  lintian "$deb" >"$out" 2>&1 || true
  if grep "^E:" "$out"; then
    echo "check-package: lintian reports errors" >&2; fail=1
  fi
  rm -f "$out"
else
  echo "check-package: lintian not installed" >&2; fail=1
fi
[ "$fail" = 0 ] && echo "check-package: $deb has every part, Depends: $deps; lintian: no errors"
exit "$fail"
