#!/bin/sh
# SPDX-License-Identifier: MIT
# ctest man_pages: groff -man -ww -z reports nothing for each page, and
# every command and every option a tool's --help prints appears in its page.
# Usage: check-man.sh BIN_DIR MAN_DIR
set -eu
bin=$1 man=$2
fail=0
for page in "$man"/shmchop-in.1 "$man"/shmchop-out.1 "$man"/shmchop.7; do
  out=$(groff -man -ww -z "$page" 2>&1) || { echo "man_pages: groff failed on $page" >&2; fail=1; }
  [ -z "$out" ] || { echo "man_pages: groff -ww on $page:" >&2; echo "$out" >&2; fail=1; }
done

# Long options as printed by --help, short ones too (-o), from each command.
options() {
  "$@" --help | grep -oE -- '(^|[ [(,|])--?[a-z][a-z-]*' | sed 's/^[ [(,|]//' | sort -u
}
for tool in shmchop-in shmchop-out; do
  # The page's text with roff's \- turned into plain hyphens.
  text=$(sed 's/\\-/-/g' "$man/$tool.1")
  cmds=$("$bin/$tool" --help | sed -n '/^Commands:/,/^$/p' | awk 'NF && $1 != "Commands:" {print $1}')
  [ -n "$cmds" ] || { echo "man_pages: $tool --help lists no command" >&2; exit 1; }
  for cmd in $cmds; do
    printf '%s\n' "$text" | grep -q "^\.SS $cmd\$" || { echo "man_pages: $tool.1 has no section for '$cmd'" >&2; fail=1; }
    for opt in $(options "$bin/$tool" "$cmd"); do
      [ "$opt" = --help ] || [ "$opt" = -h ] && continue
      printf '%s\n' "$text" | grep -qe "$opt\\([^a-z-]\\|\$\\)" ||
        { echo "man_pages: $tool $cmd --help prints $opt, $tool.1 does not" >&2; fail=1; }
    done
  done
done
[ "$fail" = 0 ] && echo "man_pages: 3 pages clean under groff -ww; every --help option documented"
exit "$fail"
