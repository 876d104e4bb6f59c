# common.sh - sourced by every shell test: paths, skips, checks, RGW access.
#
# The harness exports top_srcdir, top_builddir, SHALE (the binary), TEST_TMP
# (a fresh directory for this test), TEST_SHM (another, in memory where
# /dev/shm is) and, when the RGW test server runs, the
# SHALE_TEST_S3_* variables; otherwise SHALE_TEST_RGW_MISSING says why.
# Exit 77 skips a test, with the reason as its last line.

set -u
: "${top_srcdir:?run tests through tests/harness.sh}"
: "${SHALE:=$top_builddir/shale}"
: "${TEST_TMP:=$(mktemp -d)}"
: "${TEST_SHM:=$TEST_TMP/shm}"

failures=0
. "$top_srcdir/tests/lib/ports.sh"

skip() {
	echo "SKIP: $*"
	exit 77
}

fail() {
	echo "FAIL: $*"
	failures=$((failures + 1))
}

ok() {
	echo "ok: $*"
}

# expect_eq WHAT EXPECTED ACTUAL
expect_eq() {
	if [ "$2" = "$3" ]; then
		ok "$1"
	else
		fail "$1: expected '$2', got '$3'"
	fi
}

# expect_match WHAT REGEX TEXT
expect_match() {
	if printf '%s' "$3" | grep -Eq -- "$2"; then
		ok "$1"
	else
		fail "$1: '$3' does not match /$2/"
	fi
}

# daemons log to files: a sanitizer's report there fails the test too
sanitizer_reports() {	# DIR
	local f
	for f in "$1"/*.log; do
		[ -f "$f" ] || continue
		if grep -Eq 'ERROR: [A-Za-z]+Sanitizer|runtime error:' "$f"; then
			fail "a sanitizer reported in $(basename "$f"):"
			grep -E -A20 'ERROR: [A-Za-z]+Sanitizer|runtime error:' "$f" | head -40
		fi
	done
}

finish() {
	sanitizer_reports "$TEST_TMP"
	if [ "$failures" -ne 0 ]; then
		echo "$failures check(s) failed"
		exit 1
	fi
	exit 0
}

# Tests that need RGW: skip only when it is not installed; if it is
# installed but did not start, fail loudly.
need_rgw() {
	if [ -n "${SHALE_TEST_RGW_MISSING:-}" ]; then
		skip "$SHALE_TEST_RGW_MISSING"
	fi
	if [ -z "${SHALE_TEST_S3_ENDPOINT:-}" ]; then
		echo "FAIL: the RGW test server is installed but did not start (see tests/logs/rgw-start.log)"
		exit 1
	fi
	export AWS_ACCESS_KEY_ID=$SHALE_TEST_S3_ACCESS_KEY
	export AWS_SECRET_ACCESS_KEY=$SHALE_TEST_S3_SECRET_KEY
	export AWS_ENDPOINT_URL=$SHALE_TEST_S3_ENDPOINT
	export AWS_REGION=us-east-1
	unset AWS_PROFILE AWS_SESSION_TOKEN AWS_ENDPOINT_URL_S3 || true
}

# A fresh bucket, created with curl's own signing (a plain PUT, which it
# signs right). Prints the bucket's name.
new_bucket() {
	local name="t-$(basename "$0" .sh | tr '_' '-')-$$-$RANDOM"
	local code
	code=$(curl -s -o "$TEST_TMP/mb.out" -w '%{http_code}' -X PUT \
		--aws-sigv4 "aws:amz:us-east-1:s3" \
		--user "$SHALE_TEST_S3_ACCESS_KEY:$SHALE_TEST_S3_SECRET_KEY" \
		-H "x-amz-content-sha256: e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" \
		"$SHALE_TEST_S3_ENDPOINT/$name")
	if [ "$code" != 200 ]; then
		echo "cannot create bucket $name: HTTP $code $(cat "$TEST_TMP/mb.out")" >&2
		return 1
	fi
	echo "$name"
}

# ---- mounts ----
# Tests that mount: skip when FUSE cannot work here; every mount made with
# mount_shale is stopped by PID when the test exits, whatever happens.
MOUNT_PIDS=""
MOUNT_DIRS=""

# log_text FILE: 30 MB of log lines, 400,000 of them, the same every time
log_text() {
	awk 'BEGIN { for (i = 0; i < 400000; i++)
		printf "2026-01-01T00:00:%02d.%06dZ INFO api[%d]: GET /v1/items/%d status=200\n",
		    i % 60, i, 1000 + i % 64, i * 7 }' >"$1"
}

need_fuse() {
	[ -c /dev/fuse ] || skip "no /dev/fuse"
	command -v fusermount3 >/dev/null 2>&1 || skip "fusermount3 not installed (apt-get install fuse3)"
}

# pid_gone PID: true once the process has exited (a zombie counts: its
# parent, not us, reaps it).
pid_gone() {
	[ ! -e "/proc/$1" ] && return 0
	grep -q '^State:.*Z' "/proc/$1/status" 2>/dev/null
}

# wait_gone PID SECONDS: wait for a process to exit; false if it did not.
wait_gone() {
	local i=0
	while ! pid_gone "$1"; do
		i=$((i + 1))
		[ "$i" -gt $(($2 * 20)) ] && return 1
		sleep 0.05
	done
	return 0
}

# mount_pid MNT: the daemon's PID, from its status file.
mount_pid() {
	sed -n 's/^pid: //p' "$1/.shale/status" 2>/dev/null
}

# A daemon with an HTTP endpoint scrapes its own /metrics into its store
# (shale-scrape(5)); a test that looks at what a store holds does not
# want those series, so mount_shale and serve_shale turn that off unless
# SELF_SCRAPE=1.
self_scrape_opt() {
	[ "${SELF_SCRAPE:-0}" = 1 ] || echo --no-self-scrape
}

# mount_shale STORE MNT [OPTIONS...]: mount (as a daemon) and remember
# the daemon's PID. Returns the mount command's status.
mount_shale() {
	local store=$1 mnt=$2 pid
	shift 2
	mkdir -p "$mnt"
	"$SHALE" mount --log-file "$TEST_TMP/mount.log" $(self_scrape_opt) "$@" \
		"$store" "$mnt" || return $?
	pid=$(mount_pid "$mnt")
	if [ -z "$pid" ]; then
		echo "mounted $mnt but no pid in its status" >&2
		return 1
	fi
	MOUNT_PIDS="$MOUNT_PIDS $pid"
	MOUNT_DIRS="$MOUNT_DIRS $mnt"
	return 0
}

# umount_shale MNT: stop the daemon with SIGTERM and wait (30 s) for it
# to store everything and exit.
umount_shale() {
	local pid
	pid=$(mount_pid "$1")
	[ -n "$pid" ] || return 1
	kill -TERM "$pid" 2>/dev/null
	wait_gone "$pid" 30
}

# kill_shale MNT: SIGKILL the daemon, and clear the dead mount.
kill_shale() {
	local pid
	pid=$(mount_pid "$1")
	[ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null && wait_gone "$pid" 10
	fusermount3 -u -z "$1" 2>/dev/null || umount -l "$1" 2>/dev/null || true
}

# log_clean WHAT: the daemons' log has no error or warning
log_clean() {
	if grep -E ' shale (error|warn): ' "$TEST_TMP/mount.log" 2>/dev/null; then
		fail "$1: the daemon logged errors or warnings (above)"
	else
		ok "$1: nothing logged as an error or warning"
	fi
}

cleanup_mounts() {
	local p d
	for p in $MOUNT_PIDS; do
		pid_gone "$p" || kill -TERM "$p" 2>/dev/null
	done
	for p in $MOUNT_PIDS; do
		wait_gone "$p" 30 || kill -KILL "$p" 2>/dev/null
	done
	for d in $MOUNT_DIRS; do
		if grep -q " $d fuse" /proc/self/mounts 2>/dev/null; then
			fusermount3 -u -z "$d" 2>/dev/null || umount -l "$d" 2>/dev/null || true
		fi
	done
}

# code URL [CURL-OPTIONS...]: the HTTP status of a request; its body in
# $TEST_TMP/body, its head in $TEST_TMP/headers
code() {
	local u=$1
	shift
	curl -s -o "$TEST_TMP/body" -D "$TEST_TMP/headers" -w '%{http_code}' "$@" "$u"
}

# serve_shale STORE PORT [OPTIONS...]: 'shale serve' in the background
# ($SERVE_PID, its log $TEST_TMP/${SERVE_LOG:-serve.log}) until /-/ready
# answers 200; stop_serves stops every one started
SERVE_PIDS=""
serve_shale() {
	local store=$1 port=$2 log="$TEST_TMP/${SERVE_LOG:-serve.log}" i
	shift 2
	"$SHALE" serve --port "$port" $(self_scrape_opt) "$@" "$store" >>"$log" 2>&1 &
	SERVE_PID=$!
	SERVE_PIDS="$SERVE_PIDS $SERVE_PID"
	for i in $(seq 1 600); do	# 60 s: a sanitizer build replaying a WAL
		[ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/-/ready")" = 200 ] &&
			return 0
		pid_gone "$SERVE_PID" && break
		sleep 0.1
	done
	echo "serve $store on port $port did not become ready; its log ends:"
	tail -n 8 "$log" | sed 's/^/  /'
	return 1
}

stop_serves() {
	local p
	for p in $SERVE_PIDS; do
		pid_gone "$p" || kill -TERM "$p" 2>/dev/null
	done
	for p in $SERVE_PIDS; do
		wait_gone "$p" 30 || kill -KILL "$p" 2>/dev/null
	done
}

# ---- parts side by side ----
# Parts of a test that wait more than they compute (kills at random
# moments, scrape intervals, the same checks on file:// and on RGW) may
# run at the same time, each on its own store, mount points and files.
#   part [-d] NAME COMMAND...
#                          runs COMMAND in a subshell in the background,
#                          its output in $TEST_TMP/part.NAME, with its own
#                          failure count, mounts and serves (stopped when
#                          it ends, whatever happens); with -d, in a
#                          $TEST_TMP of its own ($TEST_TMP/NAME), whose
#                          logs it checks for sanitizer reports
#   parts_wait             waits for every part, in the order started,
#                          prints its output and adds its failures
PARTS=""
part() {
	local own=0 name
	[ "$1" = -d ] && { own=1; shift; }
	name=$1
	shift
	(
		MOUNT_PIDS="" MOUNT_DIRS="" SERVE_PIDS="" failures=0
		if [ "$own" = 1 ]; then
			TEST_TMP="$TEST_TMP/$name"
			mkdir -p "$TEST_TMP"
		fi
		trap 'stop_serves; cleanup_mounts' EXIT
		"$@"
		# the daemons have stopped: their logs are whole
		stop_serves
		cleanup_mounts
		[ "$own" = 1 ] && sanitizer_reports "$TEST_TMP"
		[ "$failures" -gt 100 ] && failures=100
		exit "$failures"
	) >"$TEST_TMP/part.$name" 2>&1 &
	PARTS="$PARTS $!:$name"
}

parts_wait() {
	local p rc
	for p in $PARTS; do
		wait "${p%%:*}"
		rc=$?
		echo "-- ${p#*:}"
		cat "$TEST_TMP/part.${p#*:}"
		if [ "$rc" -gt 100 ]; then
			fail "${p#*:}: ended with status $rc"
		else
			failures=$((failures + rc))
		fi
	done
	PARTS=""
}
