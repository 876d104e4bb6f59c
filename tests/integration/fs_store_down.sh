# fs_store_down.sh - a mount whose object store refuses writes (every put
# fails with EIO while a flag file exists; reads still answer, as with
# read-only credentials or an immutable directory):
#  - an fsync(2) blocked on the store ends when its process is killed
#    (FUSE interrupts), and another writer of the stream is not held;
#  - /-/ready is 503 while writes fail, though reads succeed, and 200
#    once a put succeeds again;
#  - with store_failure_timeout 2 s, fsync fails with EIO after about
#    that, and an awaitDurable append is answered 503;
#  - once the store is back, fsync succeeds, and after a remount every
#    line written is there, also those whose fsync failed;
#  - a read-only mount holding a checkpoint stops within its
#    --shutdown-timeout while the store refuses to remove it.
. "$top_srcdir/tests/lib/common.sh"
need_fuse
command -v curl >/dev/null 2>&1 || skip "curl not installed"
trap cleanup_mounts EXIT

store="file://$TEST_TMP/store"
down="$TEST_TMP/down"
writes="ops=put+put_if_absent+delete+delete_batch"
faulty="fault:while=$down,rate=1,errors=eio,$writes:$store"
mnt="$TEST_TMP/mnt"
p=$(pick_port) || { fail "a free port"; finish; }
u="http://127.0.0.1:$p"
expected="$TEST_TMP/expected"
: >"$expected"

# fsync_append FILE LINE: append LINE and fsync; dd's status, its
# complaint in $TEST_TMP/dd.err; 124 if it did not end within 30 s (it is
# left to the end of the mount)
fsync_append() {
	local pid
	echo "$2" >>"$expected"
	printf '%s\n' "$2" | dd of="$1" oflag=append conv=notrunc,fsync \
		status=none 2>"$TEST_TMP/dd.err" &
	pid=$!
	if ! wait_gone "$pid" 30; then
		echo "fsync still waiting after 30 s" >"$TEST_TMP/dd.err"
		return 124
	fi
	wait "$pid"
}

# in_fsync PID: true while the process sits in fsync(2) or fdatasync(2)
in_fsync() {
	local nr
	nr=$(cut -d' ' -f1 "/proc/$1/syscall" 2>/dev/null)
	case $(uname -m):$nr in
	x86_64:74|x86_64:75|aarch64:82|aarch64:83) return 0 ;;
	esac
	return 1
}

# wait_ready WHAT CODE REGEX SECONDS: poll /-/ready for that answer
wait_ready() {
	local i=0 body code
	while :; do
		body=$(curl -s -o - -w '\n%{http_code}' "$u/-/ready" 2>/dev/null)
		code=$(printf '%s' "$body" | tail -n 1)
		body=$(printf '%s' "$body" | head -n 1)
		if [ "$code" = "$2" ] && printf '%s' "$body" | grep -Eq -- "$3"; then
			ok "$1 ($code $body)"
			return 0
		fi
		i=$((i + 1))
		if [ $i -gt $(($4 * 10)) ]; then
			fail "$1: /-/ready answered $code '$body'"
			return 1
		fi
		sleep 0.1
	done
}

# ---- a long store_failure_timeout: an fsync that waits, and is killed ----
export SHALE_STORE_FAILURE_TIMEOUT=60s
mount_shale "$faulty" "$mnt" --listen "$p" || { fail "mount"; finish; }
fsync_append "$mnt/logs/s" "line 1" && ok "fsync while the store works" ||
	fail "fsync while the store works: $(cat "$TEST_TMP/dd.err")"
wait_ready "ready while the store works" 200 '^OK$' 10

touch "$down"
echo "line 2" >>"$expected"
echo "line 2" >>"$mnt/logs/s" && ok "a write is taken in memory while the store fails" ||
	fail "a write while the store fails"
wait_ready "not ready while writes fail (reads still answer)" 503 \
	'^the object store has refused writes for [0-9]+ s$' 20

echo "line 3" >>"$expected"
printf 'line 3\n' | dd of="$mnt/logs/s" oflag=append conv=notrunc,fsync \
	status=none 2>/dev/null &
dd_pid=$!
i=0
while ! in_fsync "$dd_pid" && ! pid_gone "$dd_pid" && [ $i -lt 200 ]; do
	sleep 0.05
	i=$((i + 1))
done
if in_fsync "$dd_pid"; then
	ok "an fsync waits for the failing store"
else
	case $(uname -m) in
	x86_64|aarch64) fail "dd did not sit in fsync (gone: $(pid_gone "$dd_pid" && echo yes || echo no))" ;;
	*) echo "cannot tell fsync from /proc/PID/syscall here: killing dd all the same" ;;
	esac
fi
kill -KILL "$dd_pid" 2>/dev/null
if wait_gone "$dd_pid" 10; then
	ok "the process waiting in fsync died of SIGKILL"
	wait "$dd_pid" 2>/dev/null
else
	fail "the process waiting in fsync survived SIGKILL for 10 s"
fi

# another writer of the stream is not held by what was left of that fsync
echo "line 4" >>"$expected"
(echo "line 4" >>"$mnt/logs/s") &
w_pid=$!
if wait_gone "$w_pid" 10; then
	ok "another writer of the stream goes on"
	wait "$w_pid" 2>/dev/null
else
	fail "another writer of the stream hangs"
fi

rm -f "$down"
wait_ready "ready again once a put succeeds" 200 '^OK$' 30
fsync_append "$mnt/logs/s" "line 5" && ok "fsync once the store is back" ||
	fail "fsync once the store is back: $(cat "$TEST_TMP/dd.err")"
umount_shale "$mnt" || fail "unmount"

# ---- store_failure_timeout 2 s: fsync and awaitDurable fail, nothing lost ----
export SHALE_STORE_FAILURE_TIMEOUT=2s
mount_shale "$faulty" "$mnt" --listen "$p" || { fail "remount"; finish; }
touch "$down"
t0=$(date +%s%N)
fsync_append "$mnt/logs/s" "line 6"
rc=$?
t1=$(date +%s%N)
ms=$(((t1 - t0) / 1000000))
[ "$rc" -ne 0 ] && ok "fsync fails while the store refuses writes" ||
	fail "fsync succeeded while the store refused writes"
expect_match "... with EIO" 'Input/output error' "$(cat "$TEST_TMP/dd.err")"
[ "$ms" -ge 1500 ] && [ "$ms" -le 12000 ] &&
	ok "... after store_failure_timeout (2 s): $ms ms" ||
	fail "fsync failed after $ms ms (2000 expected)"

echo "line 7" >>"$expected"
code=$(curl -s -o "$TEST_TMP/body" -w '%{http_code}' -X POST \
	--max-time 60 --data-binary 'line 7' "$u/api/v1/log/append?key=s&awaitDurable=true")
expect_eq "an awaitDurable append is answered 503" 503 "$code"
expect_match "... saying the store is failing" 'the object store is failing' \
	"$(cat "$TEST_TMP/body")"
wait_ready "not ready while writes fail" 503 'refused writes' 10

rm -f "$down"
fsync_append "$mnt/logs/s" "line 8" && ok "fsync succeeds once the store is back" ||
	fail "fsync once the store is back: $(cat "$TEST_TMP/dd.err")"
wait_ready "ready again" 200 '^OK$' 30
umount_shale "$mnt" || fail "unmount after the outage"
mount_shale "$store" "$mnt" || { fail "remount the store itself"; finish; }
if cmp -s "$expected" "$mnt/logs/s"; then
	ok "after a remount every line is there, those whose fsync failed too"
else
	fail "the stream differs from what was written:"
	diff "$expected" "$mnt/logs/s" | head
fi

# ---- a reader's checkpoint, and a store that will not let it go ----
# checkpoints STORE: how many the newest manifest holds
checkpoints() {
	"$SHALE" inspect "$1" manifest 2>/dev/null |
		sed -n 's/^checkpoints: *\([0-9]*\)$/\1/p'
}
export SHALE_GARBAGE_COLLECTOR_OPTIONS_WAL_OPTIONS_MIN_AGE=2s
export SHALE_GARBAGE_COLLECTOR_OPTIONS_COMPACTED_OPTIONS_MIN_AGE=2s
export SHALE_MANIFEST_POLL_INTERVAL=200ms
export SHALE_L0_SST_SIZE_BYTES=64KiB
umount_shale "$mnt" || fail "unmount before the reader part"
mount_shale "$store" "$mnt" || { fail "writer mount"; finish; }
rmnt="$TEST_TMP/rmnt"
mkdir -p "$rmnt"
down2="$TEST_TMP/down2"
"$SHALE" mount -f --read-only --shutdown-timeout 1 --log-file "$TEST_TMP/reader.log" \
	"fault:while=$down2,rate=1,errors=503,ops=put_if_absent:$store" "$rmnt" &
r_pid=$!
MOUNT_PIDS="$MOUNT_PIDS $r_pid"
MOUNT_DIRS="$MOUNT_DIRS $rmnt"
i=0
while [ ! -s "$rmnt/logs/s" ] && [ $i -lt 200 ]; do
	sleep 0.05
	i=$((i + 1))
done
exec 7<"$rmnt/logs/s"
head -c 1 <&7 >/dev/null	# its reader now holds this version
awk 'BEGIN { for (i = 0; i < 4000; i++) printf "filler line %d of the reader part\n", i }' \
	>>"$mnt/logs/f"
sync "$mnt/logs/f"
i=0
while [ "$(checkpoints "$store")" = 0 ] && [ $i -lt 300 ]; do
	sleep 0.1
	i=$((i + 1))
done
c=$(checkpoints "$store")
[ "${c:-0}" -gt 0 ] && ok "the reader pins the version it reads ($c checkpoint)" ||
	fail "no checkpoint in the newest manifest"
touch "$down2"
t0=$(date +%s%N)
kill -TERM "$r_pid"
exec 7<&-
wait_gone "$r_pid" 30 && wait "$r_pid" 2>/dev/null
t1=$(date +%s%N)
ms=$(((t1 - t0) / 1000000))
[ "$ms" -le 4000 ] && ok "the reader stopped within its --shutdown-timeout: $ms ms" ||
	fail "the reader took $ms ms to stop (--shutdown-timeout 1)"
grep -q 'checkpoints were not removed in time' "$TEST_TMP/reader.log" &&
	ok "... and says it left its checkpoints to expire" ||
	fail "nothing in the reader's log about its checkpoints"
rm -f "$down2"
umount_shale "$mnt" || fail "unmount the writer"
finish
