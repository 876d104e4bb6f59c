# fs_shell.sh - the mount under everyday shell tools: one sequence of
# commands (echo >>, printf without and then with a newline, cat >, dd bs=1M
# and dd oflag=append conv=notrunc, cp in and out and over a stream, > and
# : > and truncate -s 0, open(O_RDONLY|O_TRUNC), tee -a, mkdir -p 40 levels deep, mv of a stream,
# across directories, over another stream and of a directory, rm, rmdir, a
# copytruncate under an open O_APPEND handle) is run in a local directory
# and under MNT/logs, and the two trees must then be the same byte for
# byte: every file (cmp), find | sort, the ls -l sizes, wc -l, grep -c,
# tail -n 100, head -c 1000, tail -c 100, reads at odd offsets. A stream
# of lines of every length (empty, around 4 KiB and 64 KiB, 200 KiB) reads
# back as written, by cat, dd bs=1M and dd bs=4096. Then the store is
# unmounted with SIGTERM, mounted again and everything compared once more;
# the daemon logged no error. On file://, and on RGW with smaller sizes.
. "$top_srcdir/tests/lib/common.sh"

need_fuse
trap cleanup_mounts EXIT

# gen_text FILE BYTES SEED: lines of 1 to ~300 bytes, some ERROR, until
# the file has about BYTES bytes; the same arguments give the same file.
gen_text() {
	awk -v want="$2" -v seed="$3" 'BEGIN {
		srand(seed)
		pad = "abcdefghijklmnopqrstuvwxyz0123456789 "
		while (length(pad) < 400) pad = pad pad
		for (i = 1; n < want; i++) {
			lvl = (i % 17 == 0) ? "ERROR" : (i % 5 == 0) ? "WARN" : "INFO"
			l = sprintf("%07d %s %s", i, lvl, substr(pad, 1 + int(rand() * 30), int(rand() * 280)))
			print l
			n += length(l) + 1
		}
	}' >"$1"
}

# gen_long FILE BYTES: lines of every awkward length (empty, 1, around
# 4 KiB and 64 KiB, 200 KiB), some bytes outside ASCII, no newline at
# the very end.
gen_long() {
	awk -v want="$2" 'BEGIN {
		split("0 1 79 4095 4096 4097 65535 65536 65537 204800 131071 3 1000 300000", len, " ")
		blk = "The quick brown fox jumps over the lazy dog \t caf\303\251 "
		while (length(blk) < 310000) blk = blk blk
		for (i = 0; n < want; i++) {
			k = len[1 + i % 14]
			l = sprintf("%06d:", i) substr(blk, 1 + i % 50, k)
			printf "%s\n", l
			n += length(l) + 1
		}
		printf "end without a newline"
	}' >"$1"
}

# step WHAT CMD: run CMD (a shell string, with its redirections); a
# failure is a failed check.
step() {
	eval "$2" || fail "$1: '$2' failed (exit $?)"
}

# ops DIR LABEL: the sequence of shell commands, run inside DIR.
ops() {
	local where=$2
	(
		cd "$1" || exit 1
		step "$where" 'mkdir -p app/web/2024/11 sys/kern misc/a/b/c'
		step "$where" 'echo "first line" >>app/web/access.log'
		step "$where" 'echo "second line" >>app/web/access.log'
		step "$where" 'echo "deep" >>app/web/2024/11/day.log'
		step "$where" 'for i in $(seq 1 150); do echo "loop $i $((i * i)) ERROR?" >>app/loop.log; done'
		step "$where" 'printf abc >>app/partial.log'
		step "$where" 'printf "def\n" >>app/partial.log'
		step "$where" 'printf "ghi\njkl" >>app/partial.log'
		step "$where" 'printf "mno\n" >>app/partial.log'
		step "$where" 'printf "no newline at the end" >>app/partial.log'
		step "$where" 'cat "$big" >app/cat.log'
		step "$where" 'cat "$small" "$small" >app/cat2.log'
		step "$where" 'dd if="$big" of=app/dd.log bs=1M status=none'
		step "$where" 'dd if="$small" of=app/dd.log bs=1M oflag=append conv=notrunc status=none'
		step "$where" 'dd if="$small" of=app/dd.log bs=4000 oflag=append conv=notrunc status=none'
		step "$where" 'cp "$big" sys/cp.log'
		step "$where" 'cp sys/cp.log "$out/cp-out"'
		step "$where" 'cp "$small" misc/over.log'
		step "$where" 'cp "$big" misc/over.log'
		step "$where" 'cp "$small" misc/over.log'
		step "$where" 'echo "to be replaced" >misc/redirect.log'
		step "$where" 'echo "replaced by >" >misc/redirect.log'
		step "$where" 'cat "$small" >>misc/emptied.log'
		step "$where" ': >misc/emptied.log'
		step "$where" 'echo "after : >" >>misc/emptied.log'
		step "$where" 'cat "$small" >>misc/trunc.log'
		step "$where" 'truncate -s 0 misc/trunc.log'
		step "$where" 'echo "after truncate -s 0" >>misc/trunc.log'
		# O_TRUNC empties a file whatever the access mode, as open(2) does
		step "$where" 'cat "$small" >>misc/rdtrunc.log'
		step "$where" "perl -MFcntl -e 'sysopen(F, \"misc/rdtrunc.log\", O_RDONLY|O_TRUNC) or die \"\$!\"'"
		step "$where" 'echo "after O_RDONLY|O_TRUNC" >>misc/rdtrunc.log'
		step "$where" 'echo "via tee" | tee -a misc/tee.log >/dev/null'
		step "$where" 'echo "via tee again" | tee -a misc/tee.log >/dev/null'
		step "$where" 'grep ERROR app/cat.log >misc/errors.log'
		step "$where" 'mv app/cat2.log app/renamed.log'
		step "$where" 'mv app/web sys/web'
		step "$where" 'mv app/loop.log sys/kern/loop.log'
		step "$where" 'echo "victim" >misc/victim.log'
		step "$where" 'mv app/renamed.log misc/victim.log'
		step "$where" 'echo "gone soon" >>misc/gone.log'
		step "$where" 'rm misc/gone.log'
		step "$where" 'mkdir -p misc/empty/dir'
		step "$where" 'rmdir misc/empty/dir'
		step "$where" 'echo "appended after the move" >>sys/web/access.log'
		step "$where" 'mv misc/a sys/kern/a'
		step "$where" 'echo "in a moved tree" >>sys/kern/a/b/c/x.log'
		step "$where" 'mkdir -p deep/$(seq -s / 1 40) && echo bottom >>deep/$(seq -s / 1 40)/b.log'
		step "$where" 'mv deep/1/2/3 deep/three && echo moved >>deep/three/4/5/m.log'
		# copytruncate under a writer that keeps its O_APPEND handle open
		step "$where" 'exec 3>>misc/rot.log && echo "before rotation" >&3 && cp misc/rot.log misc/rot.log.1 && truncate -s 0 misc/rot.log && echo "after rotation" >&3; exec 3>&-'
	)
}

# queries DIR: what the tools say about the tree, the same for both.
queries() {
	(
		cd "$1" || exit 1
		echo "== find"
		find . | LC_ALL=C sort
		echo "== ls -l sizes"
		ls -lR . | awk '$1 ~ /^-/ { print $5, $NF }'
		echo "== wc -l"
		find . -type f | LC_ALL=C sort | xargs wc -l
		echo "== wc -c"
		find . -type f | LC_ALL=C sort | xargs wc -c
		echo "== grep -c"
		find . -type f | LC_ALL=C sort | xargs grep -c ERROR
		echo "== stat size"
		find . -type f | LC_ALL=C sort | xargs stat -c '%n %s'
		for f in app/cat.log app/dd.log sys/cp.log misc/over.log app/partial.log sys/kern/loop.log; do
			echo "== tail -n 100 $f"
			tail -n 100 "$f"
			echo "== head -c 1000 $f"
			head -c 1000 "$f"
			echo "== tail -c 100 $f"
			tail -c 100 "$f"
			echo "== cat | md5sum $f"
			md5sum <"$f"
			echo "== dd skip $f"
			dd if="$f" bs=4099 skip=17 count=5 status=none | md5sum
			echo "== tail -c +1235 | head -c 777 $f"
			tail -c +1235 "$f" | head -c 777
		done
		echo "== grep -c INFO app/dd.log"
		grep -c INFO app/dd.log
	)
}

# compare REF DIR WHAT: the tree under DIR is the one under REF.
compare() {
	local ref=$1 dir=$2 what=$3 f bad=0
	queries "$ref" >"$TEST_TMP/q.ref" 2>&1
	queries "$dir" >"$TEST_TMP/q.mnt" 2>&1
	if cmp -s "$TEST_TMP/q.ref" "$TEST_TMP/q.mnt"; then
		ok "$what: listings, sizes, wc, grep, tail, head agree"
	else
		fail "$what: the tools' answers differ (< local, > mount):"
		diff "$TEST_TMP/q.ref" "$TEST_TMP/q.mnt" | head -40
	fi
	while IFS= read -r f; do
		if ! cmp "$ref/$f" "$dir/$f"; then
			bad=$((bad + 1))
		fi
	done < <(cd "$ref" && find . -type f | LC_ALL=C sort)
	[ "$bad" -eq 0 ] && ok "$what: every file is the same (cmp)" ||
		fail "$what: $bad file(s) differ"
}

# check_long FILE WHAT: the stream of long lines reads back as written.
check_long() {
	local f=$1 what=$2
	cmp "$long" "$f" && ok "$what: long-line stream reads back identically" ||
		fail "$what: long-line stream differs"
	expect_eq "$what: long-line stream size" "$(stat -c %s "$long")" "$(stat -c %s "$f")"
	expect_eq "$what: tail -c 100" "$(tail -c 100 "$long" | md5sum)" "$(tail -c 100 "$f" | md5sum)"
	expect_eq "$what: wc -l" "$(wc -l <"$long")" "$(wc -l <"$f")"
	expect_eq "$what: tail -n 3" "$(tail -n 3 "$long" | md5sum)" "$(tail -n 3 "$f" | md5sum)"
	expect_eq "$what: 200 KiB line by grep" "$(grep -c '^000008:' "$long")" "$(grep -c '^000008:' "$f")"
}

# suite STORE LABEL BIG_BYTES LONG_BYTES
suite() {
	local store=$1 label=$2 mnt="$TEST_TMP/mnt-$2" ref="$TEST_TMP/ref-$2"
	local t0=$(date +%s) n
	big="$TEST_TMP/big-$label.txt" small="$TEST_TMP/small-$label.txt"
	long="$TEST_TMP/long-$label.txt"
	gen_text "$big" "$3" 1
	gen_text "$small" 20000 2
	gen_long "$long" "$4"
	echo "$label: big $(stat -c %s "$big") bytes, long $(stat -c %s "$long") bytes"

	mkdir -p "$ref" "$TEST_TMP/out-$label-ref" "$TEST_TMP/out-$label-mnt"
	mount_shale "$store" "$mnt" || { fail "$label: mount"; return; }
	out="$TEST_TMP/out-$label-ref" ops "$ref" "$label local"
	out="$TEST_TMP/out-$label-mnt" ops "$mnt/logs" "$label mount"
	compare "$ref" "$mnt/logs" "$label"
	cmp "$big" "$TEST_TMP/out-$label-mnt/cp-out" && ok "$label: cp out of the mount" ||
		fail "$label: cp out of the mount differs"

	# the long lines: by cat (128 KiB writes that cut lines), and by
	# dd bs=1M oflag=append
	cat "$long" >"$mnt/logs/long-cat.log" || fail "$label: cat of the long-line file"
	dd if="$long" of="$mnt/logs/long-dd.log" bs=1M oflag=append conv=notrunc status=none ||
		fail "$label: dd of the long-line file"
	# and in 4 KiB writes: a 300 KB line is held across 75 of them
	dd if="$long" of="$mnt/logs/long-4k.log" bs=4096 oflag=append conv=notrunc status=none ||
		fail "$label: dd bs=4096 of the long-line file"
	cp "$long" "$ref/long-cat.log"
	cp "$long" "$ref/long-dd.log"
	cp "$long" "$ref/long-4k.log"
	check_long "$mnt/logs/long-cat.log" "$label cat"
	check_long "$mnt/logs/long-dd.log" "$label dd"
	check_long "$mnt/logs/long-4k.log" "$label dd bs=4096"

	n=$(find "$mnt/logs" -type f | wc -l)
	expect_eq "$label: .shale/status counts the streams" "streams: $n" \
		"$(grep '^streams:' "$mnt/.shale/status")"

	umount_shale "$mnt" || fail "$label: the daemon did not exit on SIGTERM"
	if grep -q " $mnt fuse" /proc/self/mounts; then
		fail "$label: still mounted after the daemon exited"
		fusermount3 -u -z "$mnt"
	fi
	mount_shale "$store" "$mnt" || { fail "$label: mount again"; return; }
	compare "$ref" "$mnt/logs" "$label after remount"
	check_long "$mnt/logs/long-cat.log" "$label cat after remount"
	check_long "$mnt/logs/long-dd.log" "$label dd after remount"
	check_long "$mnt/logs/long-4k.log" "$label dd bs=4096 after remount"
	expect_eq "$label: .shale/status after remount" "streams: $n" \
		"$(grep '^streams:' "$mnt/.shale/status")"
	# appending still works after the remount
	echo "after remount" >>"$mnt/logs/app/partial.log" || fail "$label: append after remount"
	echo "after remount" >>"$ref/app/partial.log"
	cmp "$ref/app/partial.log" "$mnt/logs/app/partial.log" &&
		ok "$label: append after remount" || fail "$label: append after remount differs"
	umount_shale "$mnt" || fail "$label: the daemon did not exit on SIGTERM"
	log_clean "$label"
	echo "$label: $(($(date +%s) - t0)) s"
}

suite "file://$TEST_TMP/store" file 3500000 4300000
if [ -z "${SHALE_TEST_RGW_MISSING:-}" ]; then
	need_rgw
	b=$(new_bucket) || { fail "create bucket"; finish; }
	suite "s3://$b/x" rgw 1200000 1300000
else
	echo "RGW part skipped: $SHALE_TEST_RGW_MISSING"
fi
finish
