#!/usr/bin/env bash
# duplicates.sh counts the repeated code in the tree with the `duplicates`
# tool (from the developers' tool library, not installed by this project),
# reading Go's grouped imports as the tool reads single import lines: passed
# over. The tool skips `import "x"` lines but reads the lines inside an
# `import ( ... )` block as code, so two files that import the same six
# packages count as a pair. Issue 15 measures the tree this way.
#
# Usage: scripts/duplicates.sh [duplicates flags, default --most 200 --seconds 120]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$root"
git ls-files -co --exclude-standard | while read -r f; do
  [ -f "$f" ] || continue
  mkdir -p "$tmp/$(dirname "$f")"
  case "$f" in
    # Blank each line of a grouped import, keeping line numbers as they are.
    *.go) awk '/^import \($/ {inimp=1; print ""; next}
               inimp && /^\)$/ {inimp=0; print ""; next}
               inimp {print ""; next}
               {print}' "$f" >"$tmp/$f" ;;
    *) cp "$f" "$tmp/$f" ;;
  esac
done
cd "$tmp"
if [ $# -eq 0 ]; then set -- --most 200 --seconds 120; fi
duplicates "$@"
