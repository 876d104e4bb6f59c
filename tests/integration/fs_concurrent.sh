# fs_concurrent.sh - eight processes append to one stream at once, racing
# to create it, each its own way: awk and cat straight into >> (big
# buffered writes), dd oflag=append with blocks of 4 KiB, 64 KiB, 1000 and
# 333 bytes (blocks that cut lines in the middle, some smaller than a
# line), a shell loop writing one line per echo on one handle, and one
# open per line for part of a writer. Each line is "wN SEQ PAD LEN", 20 to
# 300 bytes, its padding one letter repeated LEN times. Afterwards: the
# right number of lines, each whole and well formed, each writer's lines
# exactly once and in its order (the lines of wN are its input, byte for
# byte), and the size is the sum of the inputs; again after unmounting
# with fusermount3 -u and mounting again. A reader that cats the stream over and over while it
# grows sees only whole lines each time; two more read .shale/status and
# .shale/metrics a few bytes at a time meanwhile. On file:// with 8 x 10,000 lines, on RGW with 8 x 2,000.
. "$top_srcdir/tests/lib/common.sh"

need_fuse
trap cleanup_mounts EXIT

# gen W N: writer W's N lines
gen() {
	awk -v w="$1" -v n="$2" 'BEGIN {
		letters = "abcdefghijklmnopqrstuvwxyz"
		for (s = 1; s <= n; s++) {
			c = substr(letters, 1 + (s + w) % 26, 1)
			k = 10 + (s * 7919 + w * 104729) % 275
			pad = c
			while (length(pad) < k) pad = pad pad
			pad = substr(pad, 1, k)
			printf "w%d %06d %s %d\n", w, s, pad, k
		}
	}'
}

# check_lines FILE: "bad=N order=N w1=COUNT/LAST ...": lines not whole
# (the form, the length and the one letter of the pad), and lines of a
# writer not right after its previous one
check_lines() {
	awk '
	BEGIN { letters = "abcdefghijklmnopqrstuvwxyz" }
	{
		if ($0 !~ /^w[1-8] [0-9][0-9][0-9][0-9][0-9][0-9] [a-z]+ [0-9]+$/ ||
		    length($3) != $4 + 0 || length($0) < 20 || length($0) > 300) {
			if (bad++ < 3)
				print "malformed line " NR ": " substr($0, 1, 100) > "/dev/stderr"
			next
		}
		w = substr($1, 2) + 0; s = $2 + 0
		c = substr(letters, 1 + (s + w) % 26, 1)
		if ($3 !~ ("^" c "+$")) {
			if (bad++ < 3)
				print "mixed pad at line " NR ": " substr($0, 1, 100) > "/dev/stderr"
			next
		}
		if (s != last[w] + 1) {
			if (order++ < 3)
				print "w" w ": " s " after " last[w] " at line " NR > "/dev/stderr"
		}
		last[w] = s; count[w]++
	}
	END {
		printf "bad=%d order=%d", bad, order
		for (w = 1; w <= 8; w++) printf " w%d=%d/%d", w, count[w], last[w]
		printf "\n"
	}' "$1"
}

# verify FILE N WHAT
verify() {
	local f=$1 n=$2 what=$3 total w summary expect
	total=$(wc -l <"$f")
	expect_eq "$what: line count" $((8 * n)) "$total"
	expect_eq "$what: size is the sum of the inputs" "$(cat "$TEST_TMP"/in.* | wc -c)" "$(stat -c %s "$f")"
	expect_eq "$what: ends with a newline" "0a" "$(tail -c 1 "$f" | od -An -tx1 | tr -d ' ')"
	summary=$(check_lines "$f")
	expect="bad=0 order=0"
	for w in 1 2 3 4 5 6 7 8; do expect="$expect w$w=$n/$n"; done
	expect_eq "$what: every line whole, each writer's once and in order" "$expect" "$summary"
	for w in 1 2 3 4 5 6 7 8; do
		if ! grep "^w$w " "$f" | cmp -s - "$TEST_TMP/in.$w"; then
			fail "$what: the lines of writer $w are not its input"
			return
		fi
	done
	ok "$what: each writer's lines are its input, byte for byte"
}

# run STORE LABEL N PERLINE
run() {
	local store=$1 label=$2 n=$3 perline=$4 mnt="$TEST_TMP/mnt-$2"
	local f pids="" vpids="" p rc t0 t1
	for w in 1 2 3 4 5 6 7 8; do gen "$w" "$n" >"$TEST_TMP/in.$w"; done
	mount_shale "$store" "$mnt" || { fail "$label: mount"; return; }
	mkdir -p "$mnt/logs/app" || fail "$label: mkdir"
	f="$mnt/logs/app/shared.log"
	in="$TEST_TMP/in"
	t0=$(date +%s%N)
	# no one creates the stream first: the writers race to
	gen 1 "$n" >>"$f" &
	pids="$pids $!"
	cat "$in.2" >>"$f" &
	pids="$pids $!"
	dd if="$in.3" of="$f" bs=4096 iflag=fullblock oflag=append conv=notrunc status=none &
	pids="$pids $!"
	cat "$in.4" | dd of="$f" bs=4096 iflag=fullblock oflag=append conv=notrunc status=none &
	pids="$pids $!"
	dd if="$in.5" of="$f" bs=65536 iflag=fullblock oflag=append conv=notrunc status=none &
	pids="$pids $!"
	dd if="$in.6" of="$f" bs=1000 iflag=fullblock oflag=append conv=notrunc status=none &
	pids="$pids $!"
	while IFS= read -r l; do echo "$l"; done <"$in.7" >>"$f" &
	pids="$pids $!"
	(
		head -n "$perline" "$in.8" | while IFS= read -r l; do echo "$l" >>"$f"; done &&
		tail -n +$((perline + 1)) "$in.8" |
			dd of="$f" bs=333 iflag=fullblock oflag=append conv=notrunc status=none
	) &
	pids="$pids $!"
	# a reader meanwhile: a stream is whole lines at every moment
	rm -f "$TEST_TMP/done"
	(
		reads=0 torn=0
		while [ ! -e "$TEST_TMP/done" ]; do
			cat "$f" >"$TEST_TMP/snap" 2>/dev/null || continue
			reads=$((reads + 1))
			if [ -s "$TEST_TMP/snap" ] &&
				[ "$(tail -c 1 "$TEST_TMP/snap" | od -An -tx1 | tr -d ' ')" != 0a ]; then
				torn=$((torn + 1))
			fi
			check_lines "$TEST_TMP/snap" 2>/dev/null | grep -q '^bad=0 order=0 ' ||
				torn=$((torn + 1))
			for i in $(seq 1 20); do	# and its last byte, often
				reads=$((reads + 1))
				case $(tail -c 1 "$f" | od -An -tx1 | tr -d ' ') in
				0a | "") ;;	# (or still empty)
				*) torn=$((torn + 1)) ;;
				esac
			done
		done
		echo "$reads $torn" >"$TEST_TMP/reader.out"
	) &
	rpid=$!
	# and two that read the mount's own files in small pieces, closing
	# each at once: every read is whole, and the daemon lives through it
	for r in 1 2; do
		(
			vreads=0 vbad=0
			while [ ! -e "$TEST_TMP/done" ]; do
				vreads=$((vreads + 1))
				[ "$(head -c 6 "$mnt/.shale/status")" = "store:" ] ||
					vbad=$((vbad + 1))
				head -c 100 "$mnt/.shale/metrics" | grep -q '^# HELP ' ||
					vbad=$((vbad + 1))
			done
			echo "$vreads $vbad" >"$TEST_TMP/vreader.$r"
		) &
		vpids="$vpids $!"
	done
	rc=0
	for p in $pids; do
		wait "$p" || { rc=$?; fail "$label: writer $p exited with $rc"; }
	done
	t1=$(date +%s%N)
	echo "$label: 8 x $n lines in $(((t1 - t0) / 1000000)) ms"
	touch "$TEST_TMP/done"
	wait "$rpid"
	read -r reads torn <"$TEST_TMP/reader.out"
	echo "$label: the reader read the stream $reads times while it grew"
	expect_eq "$label: no read while writing saw a partial line" 0 "$torn"
	for p in $vpids; do wait "$p"; done
	for r in 1 2; do
		read -r vreads vbad <"$TEST_TMP/vreader.$r"
		echo "$label: reader $r of .shale/ read it $vreads times"
		expect_eq "$label: every read of .shale/status and metrics was right" \
			0 "$vbad"
	done
	verify "$f" "$n" "$label"
	# stopped the other way: fusermount3 -u, and the daemon exits
	p=$(mount_pid "$mnt")
	fusermount3 -u "$mnt" || fail "$label: fusermount3 -u"
	wait_gone "$p" 30 || fail "$label: the daemon did not exit after fusermount3 -u"
	mount_shale "$store" "$mnt" || { fail "$label: mount again"; return; }
	verify "$f" "$n" "$label after remount"
	umount_shale "$mnt" || fail "$label: the daemon did not exit on SIGTERM"
	log_clean "$label"
}

run "file://$TEST_TMP/store" file 10000 1000
if [ -z "${SHALE_TEST_RGW_MISSING:-}" ]; then
	need_rgw
	b=$(new_bucket) || { fail "create bucket"; finish; }
	run "s3://$b/x" rgw 2000 200
else
	echo "RGW part skipped: $SHALE_TEST_RGW_MISSING"
fi
finish
