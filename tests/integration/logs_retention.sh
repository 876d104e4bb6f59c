# logs_retention.sh - retention of log streams (shale-mount(1), RETENTION;
# shale-settings(5), logs_options): a mount with logs_options.retention
# of 2 s and a filter that keeps one stream for ever; a stream's own
# user.shale.retention set, read back, refused when not a duration, and
# winning over the default; once their time is past, old lines are gone
# from cat (read as blank lines, the size unchanged) while lines
# appended later are there; a retention lengthened later (SHALE_ env on
# a remount) applies to what is stored, until 'shale compact' drops
# what expired for good. On file://.
. "$top_srcdir/tests/lib/common.sh"

need_fuse
command -v setfattr >/dev/null && command -v getfattr >/dev/null ||
	skip "no setfattr/getfattr (Debian package attr)"
trap cleanup_mounts EXIT

# wait_for WHAT SECONDS COMMAND...: until the command succeeds
wait_for() {
	local what=$1 limit=$2 i=0
	shift 2
	while ! "$@" >/dev/null 2>&1; do
		i=$((i + 1))
		if [ $i -gt $((limit * 10)) ]; then
			fail "$what: not within $limit s"
			return 1
		fi
		sleep 0.1
	done
	ok "$what"
}

lines() {	# FILE: its lines but the blank ones
	grep -v '^$' "$1"
}

gone() {	# FILE TEXT: TEXT is not in FILE any more
	! grep -q "$2" "$1"
}

store="file://$TEST_TMP/store"
m="$TEST_TMP/m"
cfg="$TEST_TMP/settings.yaml"
cat >"$cfg" <<'EOF'
logs_options:
  retention: 2s
  retention_filters: |
    # kept for ever
    {stream="keep"}:0
EOF
mount_shale "$store" "$m" --config "$cfg" || { fail "mount"; finish; }
echo "old short" >"$m/logs/short" || fail "write short"
echo "old keep" >"$m/logs/keep" || fail "write keep"
echo "old own" >"$m/logs/own" || fail "write own"
setfattr -n user.shale.retention -v 1h "$m/logs/own" || fail "setfattr"
expect_eq "own retention read back" "1h" \
	"$(getfattr --only-values -n user.shale.retention "$m/logs/own")"
if out=$(setfattr -n user.shale.retention -v soon "$m/logs/own" 2>&1); then
	fail "'soon' taken as a retention"
else
	expect_match "a bad retention refused" 'Invalid argument' "$out"
fi
expect_match "listed" 'user.shale.retention="1h"' \
	"$(getfattr -d -m - "$m/logs/own" 2>/dev/null)"

wait_for "the old line of short gone from cat" 15 gone "$m/logs/short" "old short"
echo "new short" >>"$m/logs/short" || fail "append"
expect_eq "new lines there" "new short" "$(lines "$m/logs/short")"
expect_eq "the size unchanged" 20 "$(stat -c %s "$m/logs/short")"
expect_eq "the expired bytes read as newlines" 10 \
	"$(head -c 10 "$m/logs/short" | tr -d -c '\n' | wc -c)"
expect_eq "the filter's stream kept" "old keep" "$(lines "$m/logs/keep")"
expect_eq "its own retention wins" "old own" "$(lines "$m/logs/own")"
umount_shale "$m" || fail "umount"

# a longer retention applies to what is stored: nothing was dropped yet
export SHALE_LOGS_OPTIONS_RETENTION=1h
mount_shale "$store" "$m" --config "$cfg" || { fail "mount again"; finish; }
expect_match "a longer retention brings the old line back" "old short" \
	"$(lines "$m/logs/short")"
umount_shale "$m" || fail "umount"

unset SHALE_LOGS_OPTIONS_RETENTION
out=$("$SHALE" compact --config "$cfg" "$store" 2>&1) || fail "shale compact: $out"
export SHALE_LOGS_OPTIONS_RETENTION=1h
mount_shale "$store" "$m" --config "$cfg" || { fail "mount after compact"; finish; }
if grep -q "old short" "$m/logs/short"; then
	fail "the old line still stored after shale compact"
else
	ok "shale compact dropped the expired line"
fi
expect_eq "the filter's stream still there" "old keep" "$(lines "$m/logs/keep")"
expect_eq "the stream of its own retention still there" "old own" \
	"$(lines "$m/logs/own")"
expect_eq "its own retention kept" "1h" \
	"$(getfattr --only-values -n user.shale.retention "$m/logs/own")"
setfattr -x user.shale.retention "$m/logs/own" || fail "setfattr -x"
expect_eq "removed" "" \
	"$(getfattr --only-values -n user.shale.retention "$m/logs/own" 2>/dev/null)"
umount_shale "$m" || fail "umount"
log_clean "retention"
finish
