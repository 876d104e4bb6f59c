# fs_fence.sh - two writer mounts of one store: a mount that fails on a
# bad option fences nobody; the second mount fences the first, whose
# status then says "fenced: yes", whose appends fail
# with EROFS and change nothing, and which stays readable; nothing either
# mount acknowledged with fsync before (the first) or after (the second)
# is lost. On RGW, and on file://.
. "$top_srcdir/tests/lib/common.sh"
need_fuse
trap cleanup_mounts EXIT

lines() {	# TAG N: N numbered lines
	awk -v t="$1" -v n="$2" 'BEGIN { for (i = 0; i < n; i++) printf "%s %d\n", t, i }'
}

fence_pair() {	# STORE
	local store=$1 a="$TEST_TMP/a" b="$TEST_TMP/b" i out
	: >"$TEST_TMP/mount.log"
	mount_shale "$store" "$a" || { fail "$store: mount a"; return; }
	mkdir -p "$a/logs/app"
	lines first 500 | dd of="$a/logs/app/s" oflag=append conv=notrunc,fsync status=none ||
		fail "$store: fsynced append on the first mount"
	# a second mount that fails on its options must not fence the first
	if "$SHALE" mount --log-file "$TEST_TMP/bad.log" -o no_such_option "$store" "$b" 2>/dev/null; then
		fail "$store: a mount with an unknown option succeeded"
	else
		ok "$store: a mount with an unknown option fails"
	fi
	echo "still the writer" | dd of="$a/logs/app/t" oflag=append conv=notrunc,fsync status=none &&
	    grep -q '^fenced: no' "$a/.shale/status" &&
	    ok "$store: the failed mount fenced nobody" || fail "$store: the failed mount fenced the first"
	mount_shale "$store" "$b" || { fail "$store: mount b"; return; }
	expect_eq "$store: the second mount sees the first's fsynced lines" \
		"$(lines first 500 | md5sum)" "$(md5sum <"$b/logs/app/s")"

	# the first notices within a manifest poll (1 s) or at its next store write
	echo "probe" >>"$a/logs/app/probe" 2>/dev/null
	i=0
	while ! grep -q '^fenced: yes' "$a/.shale/status" && [ $i -lt 300 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	expect_eq "$store: the first mount says it is fenced" "fenced: yes" \
		"$(grep '^fenced:' "$a/.shale/status")"
	out=$(echo "late" 2>&1 >>"$a/logs/app/s")
	expect_match "$store: an append on the fenced mount fails" "Read-only file system" "$out"
	out=$(mkdir "$a/logs/new" 2>&1)
	expect_match "$store: mkdir on the fenced mount fails" "Read-only file system" "$out"
	expect_eq "$store: the fenced mount stays readable" \
		"$(lines first 500 | md5sum)" "$(md5sum <"$a/logs/app/s")"

	lines second 500 | dd of="$b/logs/app/s" oflag=append conv=notrunc,fsync status=none ||
		fail "$store: fsynced append on the second mount"
	umount_shale "$b" || fail "$store: unmount b"
	umount_shale "$a" || fail "$store: unmount a"
	grep -q 'newer writer' "$TEST_TMP/mount.log" &&
		ok "$store: the fenced daemon logged why its writes fail" ||
		fail "$store: no log line about the fence in mount.log"

	mount_shale "$store" "$b" || { fail "$store: remount"; return; }
	expect_eq "$store: everything acknowledged by both is there, nothing refused" \
		"$( (lines first 500; lines second 500) | md5sum)" "$(md5sum <"$b/logs/app/s")"
	umount_shale "$b" || fail "$store: unmount"
}

fence_pair "file://$TEST_TMP/store"
if [ -z "${SHALE_TEST_RGW_MISSING:-}" ]; then
	need_rgw
	bucket=$(new_bucket) || { fail "create bucket"; finish; }
	fence_pair "s3://$bucket/fence"
else
	echo "RGW part skipped: $SHALE_TEST_RGW_MISSING"
fi
finish
