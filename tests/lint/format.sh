#!/usr/bin/env bash
# Every C file in the tree follows the kernel's .clang-format.
set -uo pipefail
cd "$1"
command -v clang-format >/dev/null || { echo "clang-format missing"; exit 77; }
files=$(git ls-files '*.c' '*.h' 2>/dev/null || find include src tests bench fuzz tools -name '*.[ch]')
bad=0
for f in $files; do
	if ! clang-format --dry-run --Werror "$f" >/dev/null 2>&1; then
		echo "not formatted: $f (clang-format -i $f)"
		bad=1
	fi
done
exit $bad
