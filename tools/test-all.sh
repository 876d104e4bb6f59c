#!/bin/sh
# test-all.sh - the second command of README.md, and what CI runs: install
# what the tests need (Ceph RGW among it), build with every warning as an
# error and run the whole suite, then build with AddressSanitizer and
# UndefinedBehaviorSanitizer and run it again. The last line adds up both
# runs ("total: N passed, N failed, N skipped"); the exit status is 1 if anything
# failed.
#
#   SHALE_NO_SANITIZE=1 tools/test-all.sh    skips the sanitizer run
#   SHALE_TESTS="store_cli objstore_s3" ...  runs only the tests named
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
"$top/tools/deps.sh" test

status=0 pass=0 failed=0 skipped=0
suite() {	# DIR CONFIGURE-OPTIONS...
	dir=$1
	shift
	echo "== $(basename "$dir"): $*"
	BUILD_TARGETS="all check-programs" "$top/tools/build.sh" "$dir" "$@" || {
		status=1 failed=$((failed + 1))
		return
	}
	make -C "$dir" -s --no-print-directory check 2>&1 | tee "$dir/check.out" || status=1
	set -- $(sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed, \([0-9]*\) skipped$/\1 \2 \3/p' "$dir/check.out" | tail -n 1)
	if [ $# -eq 3 ]; then
		pass=$((pass + $1)) failed=$((failed + $2)) skipped=$((skipped + $3))
	else
		status=1 failed=$((failed + 1))
	fi
}

suite "$top/build/test" --enable-debug
if [ -z "${SHALE_NO_SANITIZE:-}" ]; then
	export ASAN_OPTIONS=detect_leaks=1
	export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
	suite "$top/build/asan" --enable-debug --enable-asan --enable-ubsan
fi
[ "$failed" -eq 0 ] || status=1
echo "total: $pass passed, $failed failed, $skipped skipped"
exit $status
