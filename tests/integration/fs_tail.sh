# fs_tail.sh - tail(1) on the mount: tail -f and tail -F follow a stream
# that another process appends to, 50 lines one every 50 to 100 ms with a
# separate echo >> each; every line must reach tail's output once and in
# order within 15 s (GNU tail polls a FUSE file each second, and the mount
# drops the kernel's cached size after every append). tail -F also follows
# the stream through a copytruncate (: >) and through a rename with a new
# stream made under the old name (tail -f and tail -F side by side, on
# streams of their own). tail -n 5 and tail -c of a stream of 200,000
# lines are right. On file://.
. "$top_srcdir/tests/lib/common.sh"

need_fuse
trap 'stop_tail; cleanup_mounts' EXIT

mnt="$TEST_TMP/mnt"
mount_shale "file://$TEST_TMP/store" "$mnt" || { fail "mount"; finish; }
L="$mnt/logs"
mkdir -p "$L/app" || fail "mkdir"

tail_pid=""
stop_tail() {
	if [ -n "$tail_pid" ]; then
		kill "$tail_pid" 2>/dev/null
		wait "$tail_pid" 2>/dev/null
		tail_pid=""
	fi
}

# append FILE FROM TO TAG: one echo >> per line, 50 to 100 ms apart
append() {
	local i
	for i in $(seq "$2" "$3"); do
		echo "$4 line $i @$(date +%s%N)" >>"$1" || fail "append $i to $1"
		sleep "$(printf '0.%03d' $((50 + RANDOM % 51)))"
	done
}

# wait_lines FILE N SECONDS: until FILE has N lines; false on timeout
wait_lines() {
	local i=0
	while [ "$(wc -l <"$1")" -lt "$2" ]; do
		i=$((i + 1))
		[ "$i" -gt $(($3 * 10)) ] && return 1
		sleep 0.1
	done
	return 0
}

# wait_said FILE TEXT SECONDS: until tail said TEXT (on its stderr, FILE)
wait_said() {
	local i=0
	while ! grep -q -- "$2" "$1"; do
		i=$((i + 1))
		[ "$i" -gt $(($3 * 10)) ] && return 1
		sleep 0.1
	done
	return 0
}

# expected TAG FROM TO: the lines append wrote, without their times
expected() {
	local i
	for i in $(seq "$2" "$3"); do echo "$1 line $i"; done
}
strip_times() {
	sed -E 's/ @[0-9]+//; s/ \^[0-9]+$//' "$1"
}

# stamp: each line read, with the time it was read
stamp() {
	local l
	while IFS= read -r l; do echo "$l ^$(date +%s%N)"; done
}

# lag WHAT FILE: from each append to tail's output, in ms, reported; the
# longest must stay under 10 s, far above tail's one-second poll, so a
# busy machine does not fail it but a stream that stops being followed does
lag() {
	local max
	max=$(awk '/ @[0-9]+ \^[0-9]+$/ {
		w = $(NF - 1); sub(/^@/, "", w); r = $NF; sub(/^\^/, "", r)
		d = (r - w) / 1000000; if (d > max) max = d
	} END { printf "%d\n", max }' "$2")
	echo "$1: tail printed each line at most $max ms after it was written"
	[ "$max" -lt 10000 ] && ok "$1: every line within 10 s" ||
		fail "$1: a line took $max ms to reach tail's output"
}

# ---- tail -f ----
# tail_mode MODE: tail MODE follows appends (and, with -F, a
# copytruncate and a rename); -f and -F run side by side, each on its
# own stream of the mount
tail_mode() {
	local mode=$1 s out
	s="$L/app/follow$mode.log"
	out="$TEST_TMP/out$mode"
	printf 'before 1\nbefore 2\n' >>"$s" || fail "tail $mode: first lines"
	# -F looks for a new stream under the name only after
	# --max-unchanged-stats polls without a change (5 by default)
	tail -n +1 "$mode" --max-unchanged-stats=1 "$s" 2>"$TEST_TMP/err$mode" > >(stamp >"$out") &
	tail_pid=$!
	# tail has read the stream as it was (its first lines are out) and
	# follows it from there: every line appended now must come by following
	wait_lines "$out" 2 30 || fail "tail $mode: the first lines not printed after 30 s"
	append "$s" 1 50 "$mode"
	if wait_lines "$out" 52 15; then
		ok "tail $mode: all 50 appended lines arrived"
	else
		fail "tail $mode: only $(($(wc -l <"$out") - 2)) of 50 lines after 15 s"
	fi
	expect_eq "tail $mode: every line once, in order" \
		"$(printf 'before 1\nbefore 2\n'; expected "$mode" 1 50)" "$(strip_times "$out")"
	if [ "$mode" = -F ]; then
		# copytruncate, as logrotate does it
		cp "$s" "$s.1" || fail "tail -F: copy for copytruncate"
		: >"$s" || fail "tail -F: truncate"
		# appended only once tail saw the stream shrink, so that it
		# follows the new lines from the truncation, not by chance
		wait_said "$TEST_TMP/err$mode" 'file truncated' 15 ||
			fail "tail -F: did not see the truncation in 15 s"
		append "$s" 51 60 "$mode"
		if wait_lines "$out" 62 15; then
			ok "tail -F: followed the stream through a copytruncate"
		else
			fail "tail -F: only $(($(wc -l <"$out") - 52)) of 10 lines after the copytruncate"
		fi
		expect_eq "tail -F: after the copytruncate, every line once, in order" \
			"$(printf 'before 1\nbefore 2\n'; expected "$mode" 1 60)" "$(strip_times "$out")"
		expect_eq "tail -F: the truncated stream holds the new lines" \
			"$(expected "$mode" 51 60)" "$(strip_times "$s")"
		expect_eq "tail -F: the copy holds the old ones" \
			"$(printf 'before 1\nbefore 2\n'; expected "$mode" 1 50)" "$(strip_times "$s.1")"
		# rotation by rename: a new stream under the old name
		mv "$s" "$s.2" || fail "tail -F: mv for rotation"
		# the new stream is made once tail saw the name go
		wait_said "$TEST_TMP/err$mode" 'has become inaccessible' 15 ||
			fail "tail -F: did not see the name go in 15 s"
		append "$s" 61 70 "$mode"
		if wait_lines "$out" 72 15; then
			ok "tail -F: followed the name to the new stream"
		else
			fail "tail -F: only $(($(wc -l <"$out") - 62)) of 10 lines in the new stream"
		fi
		expect_eq "tail -F: after the rotation, every line once, in order" \
			"$(printf 'before 1\nbefore 2\n'; expected "$mode" 1 70)" "$(strip_times "$out")"
	fi
	stop_tail
	lag "tail $mode" "$out"
	if grep -v -e 'file truncated' -e 'has been replaced' -e 'has become inaccessible' \
		-e 'has appeared' "$TEST_TMP/err$mode" | grep -q .; then
		fail "tail $mode complained: $(cat "$TEST_TMP/err$mode")"
	fi
	echo "tail $mode said: $(tr '\n' ';' <"$TEST_TMP/err$mode")"
}
part f tail_mode -f
part F tail_mode -F
parts_wait

# ---- tail -n 5 on a long stream ----
seq -f 'entry %06g of the long stream' 1 200000 >"$TEST_TMP/long"
cat "$TEST_TMP/long" >>"$L/app/long.log" || fail "write the long stream"
expect_eq "long stream: size" "$(stat -c %s "$TEST_TMP/long")" "$(stat -c %s "$L/app/long.log")"
expect_eq "long stream: wc -l" 200000 "$(wc -l <"$L/app/long.log")"
t0=$(date +%s%N)
expect_eq "long stream: tail -n 5" "$(tail -n 5 "$TEST_TMP/long")" "$(tail -n 5 "$L/app/long.log")"
echo "tail -n 5 took $(( ($(date +%s%N) - t0) / 1000000 )) ms"
expect_eq "long stream: tail -n 1" "entry 200000 of the long stream" "$(tail -n 1 "$L/app/long.log")"
expect_eq "long stream: tail -c 31" "$(tail -c 31 "$TEST_TMP/long")" "$(tail -c 31 "$L/app/long.log")"
expect_eq "long stream: tail -n +199998" "$(tail -n +199998 "$TEST_TMP/long")" "$(tail -n +199998 "$L/app/long.log")"
echo "one more" >>"$L/app/long.log"
expect_eq "long stream: tail -n 2 after one more append" \
	"$(printf 'entry 200000 of the long stream\none more')" "$(tail -n 2 "$L/app/long.log")"

umount_shale "$mnt" || fail "the daemon did not exit on SIGTERM"
finish
