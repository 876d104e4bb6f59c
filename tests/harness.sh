#!/bin/bash
# harness.sh - run shale's tests and count them.
#
#   harness.sh TEST...    each TEST is a unit test program or a shell script
#
# Starts the RGW test server once (tests/lib/rgw.sh) when it is installed and
# we are root, runs every test with a time limit, its output in
# tests/logs/NAME.log, and stops RGW by PID on the way out, whatever happens.
# A test passes with exit 0, is skipped with 77 (its last line says why) and
# fails otherwise. The last line is "N passed, N failed, N skipped"; the exit
# status is 1 if anything failed.
#
# Each test has a fresh TEST_TMP, and TEST_SHM, in memory where /dev/shm
# is (for stores whose disk the test does not check).
# SHALE_TEST_TIMEOUT (seconds, default 900) bounds each test;
# SHALE_TESTS="name1 name2" runs only the tests with those names.
# SHALE_TEST_SANITIZED=1 is exported to the tests when the build has a
# sanitizer (2-5x slower; set it to 0 or 1 to say otherwise): a test may
# then repeat less of what it only repeats.
set -u

: "${top_srcdir:?}" "${top_builddir:?}"
export top_srcdir top_builddir
export SHALE="$top_builddir/shale"
if [ -z "${SHALE_TEST_SANITIZED:-}" ]; then
	SHALE_TEST_SANITIZED=0
	grep -q '^SAN_CFLAGS = .*-fsanitize=' "$top_builddir/Makefile" 2>/dev/null &&
		SHALE_TEST_SANITIZED=1
fi
export SHALE_TEST_SANITIZED
logs="$top_builddir/tests/logs"
tmp="$top_builddir/tests/tmp"
rm -rf "$logs" "$tmp"
mkdir -p "$logs" "$tmp"
# TEST_SHM: a directory in memory (/dev/shm) for a test's stores whose
# disk is not what it checks (a model's store, made and deleted by the
# thousand tables: on ext4, creating files among so many deleted ones
# costs more than the engine's work); in $TEST_TMP where there is none
shm=""
if [ -d /dev/shm ] && [ -w /dev/shm ]; then
	shm=$(mktemp -d /dev/shm/shale-tests.XXXXXX) || shm=""
fi

rgw_dir="$tmp/rgw"
rgw_started=0
cleanup() {
	[ -n "$shm" ] && rm -rf "$shm"
	if [ "$rgw_started" = 1 ]; then
		"$top_srcdir/tests/lib/rgw.sh" stop "$rgw_dir" || true
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if ! command -v radosgw >/dev/null 2>&1; then
	export SHALE_TEST_RGW_MISSING="radosgw not installed (apt-get install ceph-mon ceph-osd radosgw)"
elif [ "$(id -u)" != 0 ]; then
	export SHALE_TEST_RGW_MISSING="the RGW test server needs root"
else
	t0=$(date +%s%N)
	rgw_started=1
	if "$top_srcdir/tests/lib/rgw.sh" start "$rgw_dir" >"$logs/rgw-start.log" 2>&1; then
		. "$rgw_dir/env"
		echo "rgw: started on $SHALE_TEST_S3_ENDPOINT in" \
			"$(( ($(date +%s%N) - t0) / 1000000 )) ms"
	else
		echo "rgw: FAILED to start; tests that need it will fail (tests/logs/rgw-start.log):"
		tail -5 "$logs/rgw-start.log" | sed 's/^/  /'
	fi
fi

pass=0 failed=0 skipped=0 failed_names=""
for t in "$@"; do
	name=$(basename "$t")
	name=${name%.sh}
	if [ -n "${SHALE_TESTS:-}" ] && ! printf ' %s ' "$SHALE_TESTS" | grep -q " $name "; then
		continue
	fi
	export TEST_TMP="$tmp/$name" XDG_CACHE_HOME="$tmp/$name/cache"
	if [ -n "$shm" ]; then
		export TEST_SHM="$shm/$name"
	else
		export TEST_SHM="$TEST_TMP/shm"
	fi
	mkdir -p "$TEST_TMP" "$TEST_SHM"
	start=$(date +%s)
	case "$t" in
	*.sh) timeout -k 10 "${SHALE_TEST_TIMEOUT:-900}" bash "$t" >"$logs/$name.log" 2>&1 ;;
	*) timeout -k 10 "${SHALE_TEST_TIMEOUT:-900}" "$t" >"$logs/$name.log" 2>&1 ;;
	esac
	rc=$?
	secs=$(($(date +%s) - start))
	case $rc in
	0)	pass=$((pass + 1)); printf 'PASS: %-28s %4ds\n' "$name" "$secs" ;;
	77)	skipped=$((skipped + 1))
		printf 'SKIP: %-28s (%s)\n' "$name" "$(tail -n 1 "$logs/$name.log" | sed 's/^SKIP: //')" ;;
	*)	failed=$((failed + 1)); failed_names="$failed_names $name"
		[ $rc = 124 ] && echo "timed out after ${SHALE_TEST_TIMEOUT:-900}s" >>"$logs/$name.log"
		printf 'FAIL: %-28s %4ds (exit %d)\n' "$name" "$secs" "$rc"
		# the failed checks first, then how the log ends
		grep -m 10 '^FAIL: ' "$logs/$name.log" | sed 's/^/    /'
		echo "    ... the log's last lines:"
		tail -n 20 "$logs/$name.log" | sed 's/^/    /' ;;
	esac
	# a test killed at its time limit leaves its mounts: lift them (their
	# daemons then exit) before removing the directory they are in
	awk -v t="$TEST_TMP/" '$3 ~ /^fuse/ && index($2, t) == 1 { print $2 }' /proc/self/mounts |
		while read -r d; do
			fusermount3 -u -z "$d" 2>/dev/null || umount -l "$d" 2>/dev/null
		done
	rm -rf "$TEST_TMP" "$TEST_SHM"
done

[ -n "$failed_names" ] && echo "failed:$failed_names (logs in tests/logs/)"
echo "$pass passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
