#!/bin/sh
# mandoc -Tlint on the manual pages in doc/: every message fails the test,
# except cross references to pages that are not installed on this machine
# (our own pages, before `cmake --install`) and a stale mandoc.db note.
# Exit 77 (skipped) when mandoc is missing: tests/packages/packaging.txt
# installs it for CI, and tests/packaging/deb.sh lints the pages again.
src=${1:?usage: mandoc_lint.sh SRC_DIR}
command -v mandoc >/dev/null || { echo "mandoc not installed: skipped"; exit 77; }
out=$(mandoc -Tlint "$src"/doc/*.[0-9] 2>&1 |
	grep -v -e 'STYLE: referenced manual not found' -e 'outdated mandoc.db')
if [ -n "$out" ]; then
	printf '%s\n' "$out"
	echo "mandoc_lint: 0 passed, 1 failed"
	exit 1
fi
echo "mandoc_lint: 1 passed, 0 failed"
