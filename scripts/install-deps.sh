#!/bin/sh
# SPDX-License-Identifier: MIT
# Installs the Debian 12 packages shmchop needs, only those missing.
# Usage: scripts/install-deps.sh [build|test|bench|fuzz]...
set -eu

need="cmake make gcc pkg-config libc6-dev check libsubunit-dev libjansson-dev libisal-dev"
for set in "$@"; do
  case "$set" in
    build) ;;
    test) need="$need clang libclang-rt-14-dev valgrind afl++ python3 python3-numpy g++ groff lintian dpkg-dev file" ;;
    fuzz) need="$need clang libclang-rt-14-dev afl++" ;;
    bench) need="$need hyperfine gnuplot-nox liblo-dev libzmq3-dev libiceoryx-binding-c-dev iceoryx python3 python3-numpy" ;;
    *) echo "install-deps: unknown package set '$set' (build, test, fuzz, bench)" >&2; exit 2 ;;
  esac
done

missing=""
for pkg in $need; do
  status=$(dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null || true)
  [ "$status" = installed ] || missing="$missing $pkg"
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
  echo "install-deps: missing Debian packages:$missing" >&2
  echo "install-deps: run as root, or: sudo apt-get install -y$missing" >&2
  exit 1
fi
echo "install-deps: installing$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing
