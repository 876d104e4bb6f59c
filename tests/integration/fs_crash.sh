# fs_crash.sh - the daemon killed with SIGKILL at random moments while a
# loop appends batches of 100 lines, each batch one write(2) followed by
# fsync(2) (dd oflag=append conv=fsync): after every remount each batch
# whose fsync returned is there exactly once and whole, no line is torn or
# repeated, and the stale mount left by the killed daemon is cleared by
# the next 'shale mount' with a message. 20 cycles on file://, 5 on RGW.
# A bulk write (dd of 30 MB, whose data the WAL leaves to the L0
# tables) killed midway, 3 times on each: what the stream holds after the
# remount is a prefix of what dd wrote, read back whole. The parts (the
# cycles and the bulk cycles on file://, those on RGW) run side by side:
# each waits mostly on its kill moments.
. "$top_srcdir/tests/lib/common.sh"
need_fuse
trap cleanup_mounts EXIT

# One cycle's writer: batches until the mount dies; prints each batch
# number once its fsync has returned.
writer() {	# FILE CYCLE
	local b=0 l
	while :; do
		l=0
		while [ $l -lt 100 ]; do
			printf 'c%d b%d l%d %s\n' "$2" "$b" "$l" "payload-$2-$b-$l-xxxxxxxxxxxxxxxx"
			l=$((l + 1))
		done | dd of="$1" oflag=append conv=notrunc,fsync bs=1M status=none 2>/dev/null || return 0
		echo "$2 $b"
		b=$((b + 1))
	done
}

# check FILE ACKED: every line well formed and unique; every acked batch whole.
check() {
	awk -v acked="$2" '
		BEGIN {
			while ((getline line < acked) > 0) { split(line, f, " "); want[f[1] " " f[2]] = 1 }
		}
		!/^c[0-9]+ b[0-9]+ l[0-9]+ payload-[0-9]+-[0-9]+-[0-9]+-xxxxxxxxxxxxxxxx$/ { bad++; next }
		{
			if (seen[$1 " " $2 " " $3]++) dup++
			c = substr($1, 2); b = substr($2, 2)
			n[c " " b]++
		}
		END {
			missing = 0
			for (k in want) if (n[k] != 100) missing++
			printf "%d lines, %d malformed, %d repeated, %d acked batches, %d of them not whole\n",
			    NR, bad, dup, length(want), missing
			exit (bad + dup + missing) > 0
		}' "$1"
}

crash_cycles() {	# STORE CYCLES TAG
	local store=$1 cycles=$2 mnt="$TEST_TMP/mnt-$3" acked="$TEST_TMP/acked-$3" c wpid out
	local log="$TEST_TMP/mount-$3.log"
	mkdir -p "$mnt"
	: >"$acked"
	c=1
	while [ $c -le "$cycles" ]; do
		out=$("$SHALE" mount --log-file "$log" "$store" "$mnt" 2>&1)
		if [ $? -ne 0 ]; then
			fail "cycle $c: mount: $out"
			return
		fi
		if [ $c -gt 1 ]; then
			expect_match "cycle $c: the stale mount was cleared with a message" \
				"stale mount" "$out"
		fi
		MOUNT_PIDS="$MOUNT_PIDS $(mount_pid "$mnt")"
		MOUNT_DIRS="$MOUNT_DIRS $mnt"
		if [ $c -gt 1 ]; then
			out=$(check "$mnt/logs/crash" "$acked") ||
				fail "cycle $c: after the crash: $out"
		fi
		writer "$mnt/logs/crash" "$c" >>"$acked" &
		wpid=$!
		sleep "$(awk -v s="$RANDOM" 'BEGIN { srand(s); printf "%.2f", 0.3 + rand() * 1.2 }')"
		kill -KILL "$(mount_pid "$mnt")"
		wait "$wpid"
		# leave the dead mount for the next 'shale mount' to find
		c=$((c + 1))
	done
	"$SHALE" mount --log-file "$log" "$store" "$mnt" >/dev/null 2>&1 ||
		{ fail "final mount"; return; }
	MOUNT_PIDS="$MOUNT_PIDS $(mount_pid "$mnt")"
	if out=$(check "$mnt/logs/crash" "$acked"); then
		ok "$store: after $cycles kills: $out"
	else
		fail "$store: after $cycles kills: $out"
	fi
	umount_shale "$mnt" || fail "unmount"
}

# bulk_cycles STORE CYCLES TAG: kill -9 during a dd of big.src into a
# fresh stream each cycle; after the remount each stream is a prefix of it
bulk_cycles() {
	local store=$1 cycles=$2 mnt="$TEST_TMP/bmnt-$3" c n prefixes=0 some=0 stubbed=0
	local log="$TEST_TMP/mount-$3.log"
	mkdir -p "$mnt"
	for c in $(seq 1 "$cycles"); do
		# a bulk write from 2.6 MB/s, which even a sanitizer build reaches
		SHALE_WAL_MAX_BYTES=256KiB "$SHALE" mount --log-file "$log" \
			"$store" "$mnt" >/dev/null 2>&1 ||
			{ fail "$store: bulk cycle $c: mount"; return; }
		MOUNT_PIDS="$MOUNT_PIDS $(mount_pid "$mnt")"
		MOUNT_DIRS="$MOUNT_DIRS $mnt"
		dd if="$TEST_TMP/big.src" of="$mnt/logs/bulk$c" bs=1M oflag=append \
			conv=notrunc status=none 2>/dev/null &
		sleep "$(awk -v s="$RANDOM" 'BEGIN { srand(s); printf "%.2f", 0.2 + rand() * 0.4 }')"
		awk '$1 == "engine_wal_stubbed_bytes_total" && $2 > 0 { f = 1 } END { exit !f }' \
			"$mnt/.shale/metrics" && stubbed=$((stubbed + 1))
		kill -KILL "$(mount_pid "$mnt")"
		wait
	done
	"$SHALE" mount --log-file "$log" "$store" "$mnt" >/dev/null 2>&1 ||
		{ fail "$store: bulk: final mount"; return; }
	MOUNT_PIDS="$MOUNT_PIDS $(mount_pid "$mnt")"
	for c in $(seq 1 "$cycles"); do
		n=$(stat -c %s "$mnt/logs/bulk$c" 2>/dev/null) || n=0
		# the first n bytes are dd's, and all n can be read
		if [ "$n" -eq 0 ]; then
			prefixes=$((prefixes + 1))
		elif cmp -s -n "$n" "$mnt/logs/bulk$c" "$TEST_TMP/big.src" &&
		    [ "$(wc -c <"$mnt/logs/bulk$c")" -eq "$n" ]; then
			prefixes=$((prefixes + 1))
		else
			fail "$store: bulk cycle $c: the $n bytes after the crash are not what dd wrote"
		fi
		[ "$n" -gt 0 ] && some=$((some + 1))
	done
	expect_eq "$store: after $cycles kills during bulk writes, each stream a prefix" \
		"$cycles" "$prefixes"
	# otherwise nothing was checked
	[ "$some" -gt 0 ] && ok "$store: $some of the bulk streams kept data" ||
		fail "$store: no bulk stream kept any data"
	[ "$stubbed" -gt 0 ] && ok "$store: $stubbed of $cycles bulk writes left data out of the WAL" ||
		fail "$store: no bulk write left data out of the WAL (not a bulk write?)"
	umount_shale "$mnt" || fail "unmount"
}

log_text "$TEST_TMP/big.src"

# the file:// cycles, the file:// bulk cycles and the RGW ones side by
# side, each on its own store: each waits on its kill moments
on_rgw() {
	local b
	b=$(new_bucket) || { fail "create bucket"; return; }
	crash_cycles "s3://$b/crash" 5 rgw
	bulk_cycles "s3://$b/bulk" 3 rgw
}
part file crash_cycles "file://$TEST_TMP/store" 20 file
part bulk bulk_cycles "file://$TEST_TMP/bstore" 3 bulk
if [ -z "${SHALE_TEST_RGW_MISSING:-}" ]; then
	need_rgw
	part rgw on_rgw
else
	echo "RGW part skipped: $SHALE_TEST_RGW_MISSING"
fi
parts_wait
finish
