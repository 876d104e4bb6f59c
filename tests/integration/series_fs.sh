# series_fs.sh - metric series as files, under MNT/series, with the
# shell's own tools. A series is made by echo >> (or touch) to its path
# without a mkdir; ls shows metric directories and series files named by
# their label sets ({} for none); mkdir -p of a metric name succeeds; a
# name that is no label set is ENOENT to stat and EINVAL to create, a
# name that is no metric ENOENT, each said in the log. Appends of "VALUE"
# and "SECONDS VALUE" lines, a partial line completed by the next write
# and one committed at close; a bad line refuses its whole write (EINVAL,
# nothing taken), as do an out-of-order sample and another value at a
# time held, while the same sample again is taken once. Writes not at the
# end, > over a series with samples, rm, mv and rmdir are EPERM. cat,
# grep, wc: st_size is the bytes read, the mtime the last sample. 100,000
# samples appended through a pipe, then tail -n 100 and tail -n 1
# (seeks). tail -f shows a new sample.
#
# Imports: prometheus-node-exporter's /metrics by curl > series/.import
# (its metrics then are directories, the values those of the text, the
# result readable in series/.import); a malformed text refused by the
# write that holds the bad line (EINVAL, named in the log and the result,
# nothing imported); a text refused only at the close (dd says so); a
# text of 4.6 MB through a pipe, one with a bad line near its end and one
# with a second TYPE there (found at the close).
#
# After a restart everything reads the same. A --read-only follower shows
# the series, new series and new samples (tail -f on it too) and refuses
# appends with EROFS. A sample appended just before a SIGKILL is there
# after it (close(2) waited until it was stored). On file://; a writer, an
# import, a follower with tail -f and a restart on RGW too. The node
# exporter part is skipped without the exporter or curl.
. "$top_srcdir/tests/lib/common.sh"

need_fuse
NE_PID=""
TAIL_PID=""
cleanup() {
	[ -n "$TAIL_PID" ] && kill "$TAIL_PID" 2>/dev/null
	[ -n "$NE_PID" ] && kill "$NE_PID" 2>/dev/null && wait_gone "$NE_PID" 10
	cleanup_mounts
}
trap cleanup EXIT

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

same() {	# FILE EXPECTED-TEXT
	[ "$(cat "$1" 2>/dev/null)" = "$2" ]
}

same_ls() {	# DIR1 DIR2: the same names
	[ "$(ls -A "$1" 2>/dev/null)" = "$(ls -A "$2" 2>/dev/null)" ]
}

has_lines() {	# FILE N
	[ "$(wc -l <"$1" 2>/dev/null)" -ge "$2" ]
}

logged() {	# TEXT: the daemons' log holds it
	grep -qF -- "$1" "$TEST_TMP/mount.log"
}

# fails WHAT ERRNO-TEXT COMMAND...: the command fails saying ERRNO-TEXT
fails() {
	local what=$1 want=$2 out
	shift 2
	if out=$("$@" 2>&1); then
		fail "$what: succeeded"
	else
		expect_match "$what" "$want" "$out"
	fi
}

# values FILE: the samples' times and values as awk reads them (so that
# how a number is spelled does not matter)
values() {
	awk '{ printf "%.3f %.17g\n", $1, $2 }' "$1"
}

export SHALE_LOG_LEVEL=info
store="file://$TEST_TMP/store"
mnt="$TEST_TMP/mnt"
mount_shale "$store" "$mnt" || { fail "mount"; finish; }
S="$mnt/series"

# ---- names ----
expect_eq "the root holds series and query" "$(printf '.shale\nlogs\nquery\nseries')" "$(ls -A "$mnt")"
expect_eq "series/ starts with .import alone" ".import" "$(ls -A "$S")"
echo 1 >>"$S/newmetric/{a=\"b\"}" || fail "echo >> a new series of a new metric"
expect_eq "ls series/ shows the metric" "newmetric" "$(ls "$S")"
expect_eq "ls series/newmetric/ shows the series" '{a="b"}' "$(ls "$S/newmetric")"
expect_eq "the series holds one sample" 1 "$(wc -l <"$S/newmetric/{a=\"b\"}")"
printf '1700000000 5\n' >>"$S/newmetric/{}" || fail "echo >> a series without labels"
printf '1700000000 6\n' >>"$S/newmetric/{a=\"b\",c=\"d%2Fe\"}" ||
	fail "echo >> a series with a / in a value (%2F)"
expect_eq "files are named by label sets, / as %2F" \
	"$(printf '%s\n' '{a="b",c="d%2Fe"}' '{a="b"}' '{}' | LC_ALL=C sort)" \
	"$(ls "$S/newmetric" | LC_ALL=C sort)"
touch "$S/touched/{a=\"1\"}" && ok "touch makes a series" || fail "touch of a new series"
expect_eq "an empty one" 0 "$(stat -c %s "$S/touched/{a=\"1\"}")"
[ -d "$S/nothing_yet" ] && ok "any metric name is a directory" ||
	fail "series/nothing_yet is not a directory"
expect_eq "an empty one until it has series" "" "$(ls -A "$S/nothing_yet")"
mkdir -p "$S/made_by_mkdir" && ok "mkdir -p of a metric name" || fail "mkdir -p of a metric name"
fails "mkdir of a name that is no metric" "Invalid argument" mkdir "$S/1bad"
logged "series/1bad: not a metric name" && ok "the log says why" ||
	fail "no message for mkdir series/1bad"
fails "stat of a name that is no label set" "No such file" stat "$S/newmetric/{a=b}"
fails "stat of a series not made" "No such file" stat "$S/newmetric/{a=\"zz\"}"
fails "create of a name that is no label set" "Invalid argument" \
	bash -c "echo 1 >>'$S/newmetric/{a=b}'"
logged "'{a=b}' in series/newmetric/ names no series" && ok "the log names the name" ||
	fail "no message for the bad name"
fails "stat of a metric name that is none" "No such file" stat "$S/1bad"
fails "a file in series/ itself" "Is a directory|Operation not permitted" \
	bash -c "echo 1 >>'$S/newmetric'"

# ---- appending and reading ----
f="$S/temp/{room=\"kitchen\"}"
printf '1700000000 20.5\n1700000001.250 21\n' >>"$f" || fail "two samples in one write"
# one open file, a line in two writes
{ printf '1700000002 Na'; printf 'N\n1700000002.5 22\n'; } >>"$f" ||
	fail "a line split over two writes"
printf '1700000003 -1.5e3' >>"$f" || fail "a partial line committed at close"
want='1700000000.000 20.5
1700000001.250 21
1700000002.000 nan
1700000002.500 22
1700000003.000 -1500'
cat "$f" >"$TEST_TMP/temp.txt"
expect_eq "cat: the samples, in order" "$want" \
	"$(awk '{ printf "%s %.17g\n", $1, $2 }' "$TEST_TMP/temp.txt" | sed 's/ -nan$/ nan/; s/ NaN$/ nan/')"
expect_eq "st_size is the bytes read" "$(wc -c <"$TEST_TMP/temp.txt")" "$(stat -c %s "$f")"
expect_eq "mtime is the last sample's" 1700000003 "$(stat -c %Y "$f")"
expect_eq "grep finds a sample" "1700000002.500" "$(grep -E ' 22$' "$f" | cut -d' ' -f1)"
before=$(cat "$f")
# cat: one write(2) of both lines
printf '1700000005 1\nnot a number\n' >"$TEST_TMP/badline"
fails "a bad line refuses its write" "Invalid argument" \
	bash -c "cat '$TEST_TMP/badline' >>'$f'"
expect_eq "and takes nothing of it" "$before" "$(cat "$f")"
logged "line 2" && ok "the log names the bad line" || fail "no message for the bad line"
fails "an out-of-order sample is refused" "Invalid argument" \
	bash -c "echo '1600000000 1' >>'$f'"
fails "another value at a time held is refused" "Invalid argument" \
	bash -c "echo '1700000003 7' >>'$f'"
printf '1700000003 -1500\n' >>"$f" && ok "the same sample again is taken" ||
	fail "the same sample again refused"
expect_eq "... once" "$before" "$(cat "$f")"
fails "a write not at the end" "Operation not permitted" \
	bash -c "printf '1700000009 1\n' | dd of='$f' bs=1 seek=3 conv=notrunc status=none"
fails "> over a series with samples" "Operation not permitted" \
	bash -c "echo 1700000010 1 >'$f'"
echo 1700000010 1 >"$S/temp/{room=\"hall\"}" && ok "> makes a new series" ||
	fail "> to a new series"
fails "truncate" "Operation not permitted" truncate -s 0 "$f"
fails "rm of a series" "Operation not permitted" rm -f "$f"
fails "mv of a series" "Operation not permitted" mv "$f" "$S/temp/{room=\"x\"}"
fails "rmdir of a metric" "Operation not permitted|not empty" rmdir "$S/temp"
dd if=/dev/null of="$f" conv=notrunc,fsync oflag=append status=none &&
	ok "fsync of a series" || fail "fsync of a series"

# ---- 100,000 samples, tail -n ----
big="$S/big/{}"
seq 1 100000 | awk '{ print 1700000000 + $1, $1 }' >>"$big" || fail "100,000 samples through a pipe"
expect_eq "100,000 samples: wc -l" 100000 "$(wc -l <"$big")"
cat "$big" >"$TEST_TMP/big.txt"
expect_eq "100,000 samples: st_size is the bytes read" \
	"$(wc -c <"$TEST_TMP/big.txt")" "$(stat -c %s "$big")"
tail -n 100 "$big" >"$TEST_TMP/tail100"
expect_eq "tail -n 100 is the end of cat" "$(tail -n 100 "$TEST_TMP/big.txt")" \
	"$(cat "$TEST_TMP/tail100")"
expect_eq "tail -n 100: the last 100 samples" \
	"$(seq 99901 100000 | awk '{ printf "%.3f %.17g\n", 1700000000 + $1, $1 }')" \
	"$(values "$TEST_TMP/tail100")"
expect_eq "tail -n 1" "1700100000.000 100000" "$(tail -n 1 "$big" | awk '{ printf "%.3f %d\n", $1, $2 }')"

# ---- tail -f ----
tf="$S/temp/{room=\"cellar\"}"
echo 1700000000 1 >>"$tf"
tail -n +1 -f "$tf" >"$TEST_TMP/tailf.out" 2>"$TEST_TMP/tailf.err" &
TAIL_PID=$!
wait_for "tail -f printed the series" 30 has_lines "$TEST_TMP/tailf.out" 1
echo 1700000001 2 >>"$tf"
wait_for "tail -f shows a new sample" 30 has_lines "$TEST_TMP/tailf.out" 2
echo 3 >>"$tf"
wait_for "tail -f shows a sample at now" 30 has_lines "$TEST_TMP/tailf.out" 3
kill "$TAIL_PID" 2>/dev/null
wait "$TAIL_PID" 2>/dev/null
TAIL_PID=""
expect_eq "tail -f: each sample once, in order" "$(cat "$tf")" "$(cat "$TEST_TMP/tailf.out")"

# ---- imports ----
import_node() {
	local EXPORTER=/usr/bin/prometheus-node-exporter port body i n m v bad
	if [ ! -x "$EXPORTER" ] || ! command -v curl >/dev/null 2>&1; then
		echo "import of node exporter skipped: prometheus-node-exporter or curl missing"
		return
	fi
	port=$(pick_port 1) || { fail "a free port"; return; }
	"$EXPORTER" --web.listen-address="127.0.0.1:$port" >"$TEST_TMP/node.log" 2>&1 &
	NE_PID=$!
	i=0
	until curl -sf -o /dev/null "http://127.0.0.1:$port/metrics"; do
		i=$((i + 1))
		if [ $i -gt 100 ] || ! kill -0 "$NE_PID" 2>/dev/null; then
			fail "node exporter did not answer on port $port"
			return
		fi
		sleep 0.1
	done
	curl -s "http://127.0.0.1:$port/metrics" >"$S/.import" &&
		ok "curl > series/.import" || fail "curl > series/.import"
	cat "$S/.import" >"$TEST_TMP/import.result"
	expect_match "the import's result" "error: none" "$(cat "$TEST_TMP/import.result")"
	n=$(sed -n 's/^samples: //p' "$TEST_TMP/import.result")
	[ "${n:-0}" -gt 100 ] && ok "the import took $n samples" || fail "the import took ${n:-no} samples"
	# the metric names of a second scrape, against what the first made
	curl -s "http://127.0.0.1:$port/metrics" >"$TEST_TMP/node.txt"
	kill "$NE_PID" 2>/dev/null && wait_gone "$NE_PID" 10
	NE_PID=""
	bad=0
	for m in $(awk '!/^#/ && NF { sub(/[{ ].*/, "", $1); print $1 }' "$TEST_TMP/node.txt" | sort -u); do
		[ -n "$(ls "$S/$m" 2>/dev/null)" ] || { bad=$((bad + 1)); echo "no series/$m"; }
	done
	expect_eq "every metric of the exporter is a directory with series" 0 "$bad"
	# a value the exporter does not change between scrapes
	v=$(awk '$1 == "node_exporter_build_info" || $1 ~ /^node_exporter_build_info\{/ { print $NF }' "$TEST_TMP/node.txt")
	expect_eq "a value as the text had it" "$v" \
		"$(cat "$S/node_exporter_build_info"/* | awk '{ print $2 + 0 }')"
	expect_eq "one sample, at the import's time" 1 \
		"$(awk -v now="$(date +%s)" '$1 > now - 120 && $1 <= now + 1' "$S/go_goroutines/{}" | wc -l)"
}
import_node

printf 'ok_metric 1\nbad_metric{=} 2\n' >"$TEST_TMP/bad.prom"
fails "a malformed import fails the write" "Invalid argument" \
	bash -c "cat '$TEST_TMP/bad.prom' >'$S/.import'"
expect_match "its result names line and column" "error: line 2, column 12" "$(cat "$S/.import")"
logged "series/.import: a write refused: line 2, column 12" && ok "the log names line and column" ||
	fail "no message for the malformed import"
expect_eq "nothing of it imported" "" "$(ls "$S" | grep -x ok_metric)"
printf 'late_metric 1' >"$TEST_TMP/noeol.prom"
fails "a text refused at close fails close(2)" "Invalid argument" \
	dd if="$TEST_TMP/noeol.prom" of="$S/.import" status=none
expect_match "its result says why" "error: .*line feed" "$(cat "$S/.import")"
# two processes on one descriptor: each exit closes it, and imports
printf 'imp_part_a 1\n' >"$TEST_TMP/part_a"
printf 'imp_part_b 2\n' >"$TEST_TMP/part_b"
n=$(sed -n 's/^imports: //p' "$S/.import")
{ cat "$TEST_TMP/part_a"; cat "$TEST_TMP/part_b"; } >"$S/.import" ||
	fail "an import written by two processes"
expect_eq "each process's part is an import" $((n + 2)) "$(sed -n 's/^imports: //p' "$S/.import")"
expect_eq "both parts imported" "1 2" \
	"$(cat "$S/imp_part_a/{}" "$S/imp_part_b/{}" | awk '{ printf "%s%d", (NR > 1 ? " " : ""), $2 }')"
printf '# TYPE imp_g gauge\nimp_g{x="1"} 3 1700000000000\n' >"$S/.import" ||
	fail "an import with a timestamp"
expect_eq "its timestamp is kept" "1700000000.000 3" "$(values "$S/imp_g/{x=\"1\"}" | awk '{ printf "%s %d\n", $1, $2 }')"

# a text past 4 MiB, written a pipe's buffer at a time: each write checks
# its own lines, and the whole text once they fail, for the line number
awk 'BEGIN { print "# TYPE imp_big gauge"
	for (i = 1; i <= 80000; i++)
		printf "imp_big{k=\"some value to make the line long\"} %d %.0f\n", i, 1700000000000 + i * 1000 }' >"$TEST_TMP/big.prom"
cat "$TEST_TMP/big.prom" | cat >"$S/.import" || fail "an import of $(wc -c <"$TEST_TMP/big.prom") bytes"
expect_match "its 80,000 samples taken" "samples: 80000" "$(cat "$S/.import")"
expect_eq "they read back" 80000 "$(wc -l <"$S/imp_big/{k=\"some value to make the line long\"}")"
sed '79000s/} /}} /' "$TEST_TMP/big.prom" >"$TEST_TMP/big-bad.prom"
fails "a malformed line past 4 MiB fails its write" "Invalid argument" \
	bash -c "cat '$TEST_TMP/big-bad.prom' | cat >'$S/.import'"
expect_match "the result names its line" "error: line 79000, column" "$(cat "$S/.import")"
# a line wrong only after what came before, alone in its write (cat
# writes each file apart): the write takes it, the close finds it
echo "# TYPE imp_big gauge" >"$TEST_TMP/type.prom"
fails "a second TYPE past 4 MiB fails the close" "Invalid argument" \
	bash -c "cat '$TEST_TMP/big.prom' '$TEST_TMP/type.prom' >'$S/.import'"
expect_match "a second TYPE past 4 MiB, alone in its write, is found at the close" \
	"error: line 80002, column [0-9]+: second TYPE" "$(cat "$S/.import")"
logged "series/.import: line 80002" && ok "the log says so" || fail "no message for the second TYPE"

# ---- a restart keeps everything ----
find "$S" -mindepth 1 -name '.import' -prune -o -type f -print | LC_ALL=C sort >"$TEST_TMP/files.before"
[ "$(wc -l <"$TEST_TMP/files.before")" -gt 100 ] || fail "only $(wc -l <"$TEST_TMP/files.before") series before the restart"
cat "$f" "$big" "$tf" >"$TEST_TMP/data.before"
umount_shale "$mnt" || fail "the daemon did not exit on SIGTERM"
mount_shale "$store" "$mnt" || { fail "mount again"; finish; }
find "$S" -mindepth 1 -name '.import' -prune -o -type f -print | LC_ALL=C sort >"$TEST_TMP/files.after"
cmp -s "$TEST_TMP/files.before" "$TEST_TMP/files.after" && ok "after a restart: the same series" ||
	fail "after a restart: the series differ: $(diff "$TEST_TMP/files.before" "$TEST_TMP/files.after" | head -5)"
cat "$f" "$big" "$tf" >"$TEST_TMP/data.after"
cmp -s "$TEST_TMP/data.before" "$TEST_TMP/data.after" && ok "after a restart: the same samples" ||
	fail "after a restart: the samples differ"
echo 4 >>"$tf" && ok "after a restart: appends go on" || fail "append after a restart"
expect_eq "after a restart: the new sample is there" 4 "$(tail -n 1 "$tf" | awk '{ print $2 }')"

# ---- a follower ----
r="$TEST_TMP/r"
sync "$tf"
mount_shale "$store" "$r" --read-only || { fail "read-only mount"; finish; }
expect_eq "the follower shows the series" "$(cat "$tf")" "$(cat "$r/series/temp/{room=\"cellar\"}")"
tail -n +1 -f "$r/series/temp/{room=\"cellar\"}" >"$TEST_TMP/rtail.out" 2>/dev/null &
TAIL_PID=$!
wait_for "tail -f on the follower printed the series" 30 same "$TEST_TMP/rtail.out" "$(cat "$tf")"
n=$(wc -l <"$TEST_TMP/rtail.out")
echo 5 >>"$tf" || fail "append while the follower follows"
wait_for "tail -f on the follower shows a new sample" 30 has_lines "$TEST_TMP/rtail.out" $((n + 1))
expect_eq "... the writer's" "$(cat "$tf")" "$(cat "$TEST_TMP/rtail.out")"
kill "$TAIL_PID" 2>/dev/null
wait "$TAIL_PID" 2>/dev/null
TAIL_PID=""
echo 1700000000 9 >>"$S/fresh/{k=\"v\"}"
wait_for "a new series shows on the follower" 30 same "$r/series/fresh/{k=\"v\"}" "$(cat "$S/fresh/{k=\"v\"}")"
wait_for "and in its listing" 30 same_ls "$r/series" "$S"
fails "the follower refuses appends" "Read-only file system" \
	bash -c "echo 1 >>'$r/series/temp/{room=\"cellar\"}'"
fails "the follower refuses imports" "Read-only file system" \
	bash -c "echo 'm 1' >'$r/series/.import'"
umount_shale "$r" || fail "unmount the follower"

# ---- close(2) returns once stored: SIGKILL right after loses nothing ----
echo 6 >>"$tf" || fail "append before a SIGKILL"
kill_shale "$mnt"
mount_shale "$store" "$mnt" || { fail "mount after SIGKILL"; finish; }
expect_eq "after SIGKILL: the sample of the last close is there" 6 \
	"$(tail -n 1 "$tf" | awk '{ print $2 }')"
umount_shale "$mnt" || fail "unmount the writer"
# ---- on RGW: a writer and its follower ----
s3_pair() {	# STORE
	local store=$1 w="$TEST_TMP/s3w" r="$TEST_TMP/s3r" sf
	mount_shale "$store" "$w" || { fail "$store: writer mount"; return; }
	sf="$w/series/s3_metric/{k=\"v\"}"
	printf '1700000000 1\n1700000001 2\n' >>"$sf" || fail "$store: append"
	printf 's3_imported{a="b"} 7\n' >"$w/series/.import" || fail "$store: import"
	mount_shale "$store" "$r" --read-only || { fail "$store: read-only mount"; return; }
	expect_eq "$store: the follower shows the series" "$(cat "$sf")" \
		"$(cat "$r/series/s3_metric/{k=\"v\"}")"
	expect_eq "$store: and the imported one" "$(cat "$w/series/s3_imported/{a=\"b\"}")" \
		"$(cat "$r/series/s3_imported/{a=\"b\"}")"
	tail -n +1 -f "$r/series/s3_metric/{k=\"v\"}" >"$TEST_TMP/s3tail.out" 2>/dev/null &
	TAIL_PID=$!
	wait_for "$store: tail -f on the follower printed the series" 30 has_lines "$TEST_TMP/s3tail.out" 2
	echo 3 >>"$sf" || fail "$store: append while followed"
	wait_for "$store: tail -f on the follower shows a new sample" 30 has_lines "$TEST_TMP/s3tail.out" 3
	kill "$TAIL_PID" 2>/dev/null
	wait "$TAIL_PID" 2>/dev/null
	TAIL_PID=""
	expect_eq "$store: the writer's samples, once" "$(cat "$sf")" "$(cat "$TEST_TMP/s3tail.out")"
	umount_shale "$r" || fail "$store: unmount the follower"
	umount_shale "$w" || fail "$store: unmount the writer"
	mount_shale "$store" "$w" || { fail "$store: mount again"; return; }
	expect_eq "$store: after a restart, the samples" 3 "$(wc -l <"$sf")"
	umount_shale "$w" || fail "$store: unmount the writer"
}
if [ -z "${SHALE_TEST_RGW_MISSING:-}" ]; then
	need_rgw
	b=$(new_bucket) || { fail "create bucket"; finish; }
	s3_pair "s3://$b/series"
else
	echo "RGW part skipped: $SHALE_TEST_RGW_MISSING"
fi

echo "what the daemons said of series:"
grep -E 'series' "$TEST_TMP/mount.log" | grep -E ' shale (warn|info): ' | sed 's/^/  /' | cut -c1-200 | head -40
if grep -E ' shale error: ' "$TEST_TMP/mount.log"; then
	fail "the daemons logged errors (above)"
else
	ok "the daemons logged no error"
fi
finish
