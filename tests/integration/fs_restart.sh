# fs_restart.sh - a daemon restarted at once after a crash comes up, the
# way a supervisor (systemd's Restart=, a container restart) does it, on
# file://.
#  - 12 rounds: mount, stat(2) the mount point (so the kernel caches its
#    attributes, which a dead daemon's mount then answers from), append
#    and fsync a line, SIGKILL the daemon, and mount again on the same
#    directory at once: every mount succeeds and says it cleared a stale
#    mount; half the rounds run the daemon in the foreground (-f), as a
#    supervisor's child.
#  - Every fsynced line is in the stream afterwards, in order.
#  - A mount on a live shale mount is still refused, and leaves the live
#    one serving.
. "$top_srcdir/tests/lib/common.sh"

need_fuse
trap 'kill $(jobs -p) 2>/dev/null; cleanup_mounts' EXIT

store="file://$TEST_TMP/store"
mnt="$TEST_TMP/mnt"
mkdir -p "$mnt"
rounds=12 failed_mounts=0 cleared=0 expected=""

for i in $(seq 1 $rounds); do
	if [ $((i % 2)) -eq 0 ]; then
		# as a supervisor's child: in the foreground
		"$SHALE" mount -f --log-file "$TEST_TMP/mount.log" "$store" "$mnt" \
		    2>"$TEST_TMP/mount.err" &
		fpid=$!
		MOUNT_PIDS="$MOUNT_PIDS $fpid"
		MOUNT_DIRS="$MOUNT_DIRS $mnt"
		n=0
		until [ "$(mount_pid "$mnt")" = "$fpid" ] || pid_gone "$fpid"; do
			n=$((n + 1))
			[ "$n" -gt 600 ] && break
			sleep 0.05
		done
		if [ "$(mount_pid "$mnt")" != "$fpid" ]; then
			failed_mounts=$((failed_mounts + 1))
			echo "round $i: foreground mount did not come up:"
			cat "$TEST_TMP/mount.err"
			continue
		fi
	else
		if ! mount_shale "$store" "$mnt" 2>"$TEST_TMP/mount.err"; then
			failed_mounts=$((failed_mounts + 1))
			echo "round $i: mount failed:"
			cat "$TEST_TMP/mount.err"
			continue
		fi
	fi
	grep -q 'was a stale mount' "$TEST_TMP/mount.err" && cleared=$((cleared + 1))
	stat "$mnt" >/dev/null
	stat "$mnt/logs" >/dev/null
	echo "round $i" >>"$mnt/logs/restarts" || echo "round $i: append failed"
	sync "$mnt/logs/restarts" || echo "round $i: fsync failed"
	expected="${expected}round $i
"
	pid=$(mount_pid "$mnt")
	stat "$mnt" >/dev/null
	kill -KILL "$pid"
	wait_gone "$pid" 10 || echo "round $i: daemon $pid did not die"
done
expect_eq "$rounds mounts at once after SIGKILL, the stale mount cleared by each" 0 "$failed_mounts"
expect_eq "each mount after the first said it cleared a stale mount" $((rounds - 1 - failed_mounts)) "$cleared"

mount_shale "$store" "$mnt" 2>"$TEST_TMP/mount.err" || fail "the last mount"
printf '%s' "$expected" >"$TEST_TMP/expected"
cmp -s "$TEST_TMP/expected" "$mnt/logs/restarts" &&
	ok "all $rounds fsynced lines are there, in order" ||
	fail "the stream is not the $rounds fsynced lines: $(head -c 300 "$mnt/logs/restarts")"

# a live mount is not taken for a stale one
pid=$(mount_pid "$mnt")
stat "$mnt" >/dev/null
if "$SHALE" mount "$store" "$mnt" 2>"$TEST_TMP/second.err"; then
	fail "a second mount on a live shale mount succeeded"
else
	expect_match "a second mount on a live one is refused" \
	    "already a shale mount" "$(cat "$TEST_TMP/second.err")"
fi
expect_eq "the live daemon still serves" "$pid" "$(mount_pid "$mnt")"
echo "after" >>"$mnt/logs/restarts" || fail "append after the refused mount"
umount_shale "$mnt" || fail "unmount"
finish
