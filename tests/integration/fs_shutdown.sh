# fs_shutdown.sh - stopping the daemon stores what was written: SIGTERM,
# SIGINT and 'fusermount3 -u' each end 'shale mount -f' with status 0
# after appends that were never fsynced, and they are all there after a
# remount, including a partial line still held by an open handle (a
# reader, a directory and a .shale file left open are closed too, no
# leak); more signals during a slow flush do not cut it short; with the
# store gone
# the daemon gives up after --shutdown-timeout with status 1 and says so
# instead of hanging.
. "$top_srcdir/tests/lib/common.sh"
need_fuse
trap cleanup_mounts EXIT

mnt="$TEST_TMP/mnt"
mkdir -p "$mnt"
awk 'BEGIN { for (i = 0; i < 50000; i++) printf "line %d of the shutdown test\n", i }' >"$TEST_TMP/text"

# start_fg STORE [OPTIONS]: 'shale mount -f' in the background; sets fg_pid.
start_fg() {
	local store=$1 i=0
	shift
	"$SHALE" mount -f --log-file "$TEST_TMP/mount.log" "$@" "$store" "$mnt" &
	fg_pid=$!
	MOUNT_PIDS="$MOUNT_PIDS $fg_pid"
	MOUNT_DIRS="$MOUNT_DIRS $mnt"
	while [ ! -r "$mnt/.shale/status" ] && [ $i -lt 1200 ]; do
		sleep 0.05
		i=$((i + 1))
	done
	[ -r "$mnt/.shale/status" ]
}

# stop_with HOW: stop the foreground daemon; its exit status in fg_status.
stop_with() {
	case $1 in
	TERM|INT) kill -"$1" "$fg_pid" ;;
	umount) fusermount3 -u "$mnt" ;;
	esac
	wait "$fg_pid"
	fg_status=$?
}

# the store taken away: shutdown is bounded and says what was not stored
# (beside the rest, in a directory of its own: its 2 s of timeout come
# after the retries of a write under way, 10 s and more)
store_gone() {
	local mnt="$TEST_TMP/mnt" store="file://$TEST_TMP/store" gone t0 t1
	mkdir -p "$mnt"
	gone="$TEST_TMP/outage"
	start_fg "fault:errors=503,rate=1,while=$gone:$store" --shutdown-timeout 2 ||
		fail "mount on a store that will fail"
	touch "$gone"
	echo "never stored" >>"$mnt/logs/lost"
	t0=$(date +%s)
	stop_with TERM
	t1=$(date +%s)
	expect_eq "store gone: exit status 1" 1 "$fg_status"
	[ $((t1 - t0)) -le 25 ] && ok "store gone: gave up after $((t1 - t0)) s" ||
		fail "store gone: took $((t1 - t0)) s to exit"
	grep -q 'not everything written was stored' "$TEST_TMP/mount.log" &&
		ok "store gone: the log says what was lost" || fail "store gone: nothing in the log"
	rm -f "$gone"
}
part -d gone store_gone

store="file://$TEST_TMP/store"
for how in TERM INT umount; do
	start_fg "$store" || { fail "mount for $how"; continue; }
	cat "$TEST_TMP/text" >>"$mnt/logs/$how"
	if [ "$how" = TERM ]; then
		# a partial line held by a handle still open at the signal
		exec 3>>"$mnt/logs/held"
		printf 'no newline yet' >&3
		# and a reader, a directory and a file of .shale/ left open
		exec 4<"$mnt/logs/$how" 5<"$mnt/logs" 6<"$mnt/.shale/status"
	fi
	stop_with "$how"
	expect_eq "$how: the daemon stored everything and exited 0" 0 "$fg_status"
	[ "$how" = TERM ] && exec 3>&- 4<&- 5<&- 6<&-
	start_fg "$store" || { fail "remount after $how"; continue; }
	cmp -s "$TEST_TMP/text" "$mnt/logs/$how" && ok "$how: all appends are there" ||
		fail "$how: the stream differs from what was appended"
	[ "$how" = TERM ] && expect_eq "TERM: the held partial line was committed" \
		"no newline yet" "$(cat "$mnt/logs/held")"
	stop_with TERM
done

# a slow store: the flush takes a while; more signals must not cut it short
slow="fault:latency=400,ops=put+put_if_absent:$store"
start_fg "$slow" || fail "mount on a slow store"
cat "$TEST_TMP/text" >>"$mnt/logs/slow"
kill -TERM "$fg_pid"
# the daemon left the FUSE loop and unmounts only once it answers the
# next signals with 'still storing': they come after that
i=0
while grep -q " $mnt fuse" /proc/self/mounts && [ $i -lt 600 ]; do
	sleep 0.05
	i=$((i + 1))
done
kill -TERM "$fg_pid" 2>/dev/null
kill -INT "$fg_pid" 2>/dev/null
wait "$fg_pid"
expect_eq "repeated signals: exited 0" 0 $?
grep -q 'still storing' "$TEST_TMP/mount.log" && ok "the extra signals were answered in the log" ||
	fail "no 'still storing' line in the log"
start_fg "$store" || fail "remount after the slow flush"
cmp -s "$TEST_TMP/text" "$mnt/logs/slow" && ok "repeated signals: all appends are there" ||
	fail "repeated signals: the stream differs"
stop_with TERM

parts_wait
finish
