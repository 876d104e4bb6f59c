# fs_readrace.sh - on a mount with -o page_cache, no read ever returns a
# byte that was not written while the stream grows, on file://.
#  - fs_readrace: one thread appends lines to a stream (each in one
#    write(2), then each in two, the first ending inside the line) while
#    4 threads read its last KiBs over and over and one reads it from the
#    start as it grows, for 4 s each: no read holds a NUL byte. (Readers
#    that open while a writer has the stream open use direct I/O.)
#  - With readers in the page cache opened first, opening the stream to
#    write fails with EBUSY (fs_readrace, and echo >>), an HTTP append is
#    answered 503, a truncation fails; once they close, all three work
#    and the stream holds exactly what was written.
. "$top_srcdir/tests/lib/common.sh"

need_fuse
race="$top_builddir/tests/integration/fs_readrace"
[ -x "$race" ] || { fail "$race not built (make check-programs)"; finish; }
trap 'exec 4<&- 2>/dev/null; kill $(jobs -p) 2>/dev/null; cleanup_mounts' EXIT

mnt="$TEST_TMP/mnt"
port=$(pick_port) || { fail "a free port"; finish; }
mount_shale "file://$TEST_TMP/store" "$mnt" -o page_cache --port "$port" ||
	{ fail "mount"; finish; }
L="$mnt/logs"

for mode in whole split; do
	arg=""
	[ "$mode" = split ] && arg=split
	out=$("$race" "$L/race-$mode" 4 4 $arg 2>&1)
	rc=$?
	echo "$out"
	case $rc in
	0) ok "$mode lines: no NUL byte in any read ($(echo "$out" | tail -n 1))" ;;
	*) fail "$mode lines: exit $rc: $(echo "$out" | tail -n 1)" ;;
	esac
	n=$(grep -c '^line [0-9]* of the race$' "$L/race-$mode")
	expect_eq "$mode lines: every line appended is whole" \
	    "$(echo "$out" | sed -n 's/^\([0-9]*\) lines appended.*/\1/p')" "$n"
done

# readers in the page cache first: the stream does not change under them
s="$L/quiet"
echo "first line" >"$s"
"$race" "$s" 1 2 readers-first >"$TEST_TMP/rf.out" 2>&1
expect_eq "a writer opened after readers in the page cache: EBUSY (exit 3)" 3 $?
exec 4<"$s"		# a reader in the page cache, held open
cat <&4 >/dev/null
if echo "refused" 2>"$TEST_TMP/echo.err" >>"$s"; then
	fail "echo >> succeeded while a reader holds the stream in the page cache"
else
	expect_match "echo >> meanwhile: busy" "busy" "$(cat "$TEST_TMP/echo.err")"
fi
code=$(curl -s -o "$TEST_TMP/http.out" -w '%{http_code}' --data-binary 'over http' \
    "http://127.0.0.1:$port/api/v1/log/append?key=quiet")
expect_eq "an HTTP append meanwhile: 503" 503 "$code"
expect_match "its message says why" "page cache" "$(cat "$TEST_TMP/http.out")"
truncate -s 0 "$s" 2>/dev/null && fail "truncate succeeded meanwhile" ||
	ok "truncate meanwhile fails"
# a cat, then an append at once, 20 times: the cat is gone by then
bad=0
for i in $(seq 1 20); do
	cat "$L/race-whole" >/dev/null
	echo "line after cat $i" >>"$L/race-whole" || bad=$((bad + 1))
done
expect_eq "echo >> right after a cat of the stream: never busy (20 times)" 0 "$bad"
exec 4<&-
# at once: the kernel sends a file's release after close(2) returns, and
# an open to write waits a moment for it
echo "second line" >>"$s" || fail "echo >> right after the reader closed"
code=$(curl -s -o /dev/null -w '%{http_code}' --data-binary 'third line' \
    "http://127.0.0.1:$port/api/v1/log/append?key=quiet")
expect_eq "the HTTP append once the reader closed: 200" 200 "$code"
expect_eq "the stream holds what was written, nothing refused" \
    "$(printf 'first line\nsecond line\nthird line')" "$(cat "$s")"
umount_shale "$mnt" || fail "unmount"
finish
