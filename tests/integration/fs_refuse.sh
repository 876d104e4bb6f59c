# fs_refuse.sh - what the mount refuses, and that a refusal changes
# nothing: hard links and symbolic links, fifos, sockets and device nodes,
# chmod, chown and chgrp (EPERM); mkdir, create, rmdir, rm and mv in the
# mount root or in .shale (EPERM); rename with RENAME_EXCHANGE (EINVAL),
# RENAME_NOREPLACE over a stream (EEXIST); rmdir
# of a non-empty directory (ENOTEMPTY); names over 255 bytes (ENAMETOOLONG;
# 255 bytes work, bytes and not characters count); moving a directory into
# its own subtree (EINVAL); writing .shale/status (EACCES or EPERM);
# truncating to a size other than 0 or the current one, and writing
# anywhere but at the end (EPERM). After each, the tree is unchanged:
# the listing, every stream's size, mode, mtime and md5sum. What is allowed
# next to them works: touch (the mtime stays the last append), truncate to
# the same size, a write at exactly the end. The daemon is still up at
# the end. Last, a --read-only mount refuses every change (EROFS). On
# file://.
. "$top_srcdir/tests/lib/common.sh"

need_fuse
trap cleanup_mounts EXIT

mnt="$TEST_TMP/mnt"
store="file://$TEST_TMP/store"
mount_shale "$store" "$mnt" || { fail "mount"; finish; }
pid=$(mount_pid "$mnt")
L="$mnt/logs"

printf 'one\ntwo\n' >>"$L/s" || fail "create s"
mkdir -p "$L/d/sub" "$L/e/f" || fail "mkdir -p d/sub e/f"
echo "inner" >>"$L/d/inner.log" || fail "create d/inner.log"
seq 1 1000 >>"$L/other.log" || fail "create other.log"
sleep 1.1	# so that a change of mtime would show

# snap: the whole tree as the tools see it
snap() {
	(
		cd "$mnt" || exit 1
		find . -path ./.shale -prune -o -print | LC_ALL=C sort
		find logs -type f | LC_ALL=C sort | xargs stat -c '%n %F %s %a %u %g %Y'
		find logs -type d | LC_ALL=C sort | xargs stat -c '%n %F %a %u %g'
		find logs -type f | LC_ALL=C sort | xargs md5sum
	)
}

# refuse WHAT REGEX CMD...: CMD fails, says REGEX on stderr, and the tree
# is as it was.
refuse() {
	local what=$1 re=$2 rc before after
	shift 2
	before=$(snap)
	"$@" >"$TEST_TMP/out" 2>"$TEST_TMP/err" </dev/null
	rc=$?
	if [ "$rc" -eq 0 ]; then
		fail "$what: succeeded ($*)"
	else
		expect_match "$what: refused" "$re" "$(cat "$TEST_TMP/err")"
	fi
	after=$(snap)
	if [ "$before" = "$after" ]; then
		ok "$what: nothing changed"
	else
		fail "$what: the tree changed (< before, > after):"
		diff <(echo "$before") <(echo "$after") | head -20
	fi
}

# The exact errno of one system call, by name (python3, or perl without
# renameat2).
have_py=0
command -v python3 >/dev/null 2>&1 && python3 -c 'import ctypes' 2>/dev/null && have_py=1
sys_errno() {	# OP ARGS...
	python3 - "$@" <<'EOF'
import ctypes, errno, os, socket, sys
op, a = sys.argv[1], sys.argv[2:]
try:
    if op == "rename":
        os.rename(a[0], a[1])
    elif op == "exchange":
        libc = ctypes.CDLL(None, use_errno=True)
        AT_FDCWD, RENAME_EXCHANGE = -100, 2
        if libc.renameat2(AT_FDCWD, a[0].encode(), AT_FDCWD, a[1].encode(), RENAME_EXCHANGE) != 0:
            e = ctypes.get_errno()
            raise OSError(e, os.strerror(e))
    elif op == "noreplace":
        libc = ctypes.CDLL(None, use_errno=True)
        AT_FDCWD, RENAME_NOREPLACE = -100, 1
        if libc.renameat2(AT_FDCWD, a[0].encode(), AT_FDCWD, a[1].encode(), RENAME_NOREPLACE) != 0:
            e = ctypes.get_errno()
            raise OSError(e, os.strerror(e))
    elif op == "pwrite":	# FILE OFFSET TEXT, opened O_WRONLY
        fd = os.open(a[0], os.O_WRONLY)
        try:
            os.pwrite(fd, a[2].encode(), int(a[1]))
        finally:
            os.close(fd)
    elif op == "socket":
        s = socket.socket(socket.AF_UNIX)
        s.bind(a[0])
    elif op == "open_w":
        os.close(os.open(a[0], os.O_WRONLY))
    elif op == "mkdir":
        os.mkdir(a[0])
    print("0")
except OSError as e:
    print(errno.errorcode.get(e.errno, str(e.errno)))
EOF
}
# refuse_errno WHAT ERRNO OP ARGS...: like refuse, by the errno's name.
refuse_errno() {
	local what=$1 want=$2 before after
	shift 2
	if [ "$have_py" = 0 ]; then
		echo "($what: no python3, errno not checked)"
		return
	fi
	before=$(snap)
	expect_eq "$what: errno" "$want" "$(sys_errno "$@")"
	after=$(snap)
	[ "$before" = "$after" ] && ok "$what: nothing changed" ||
		{ fail "$what: the tree changed:"; diff <(echo "$before") <(echo "$after") | head -20; }
}

EPERM_RE="Operation not permitted"

# ---- links and special files ----
refuse "hard link" "$EPERM_RE" ln "$L/s" "$L/s.link"
refuse "hard link into a subdirectory" "$EPERM_RE" ln "$L/s" "$L/d/s"
refuse "symbolic link" "$EPERM_RE" ln -s s "$L/sym"
refuse "symbolic link to a directory" "$EPERM_RE" ln -s d "$L/d/sub/sym"
refuse "symbolic link in the root" "$EPERM_RE" ln -s logs "$mnt/l"
refuse "mkfifo" "$EPERM_RE" mkfifo "$L/fifo"
refuse "mknod c" "$EPERM_RE" mknod "$L/null" c 1 3
refuse "mknod b" "$EPERM_RE" mknod "$L/d/blk" b 7 0
refuse "mknod p" "$EPERM_RE" mknod "$L/d/sub/p" p
refuse_errno "unix socket" EPERM socket "$L/sock"

# ---- modes and owners ----
refuse "chmod of a stream" "$EPERM_RE" chmod 600 "$L/s"
refuse "chmod +x of a stream" "$EPERM_RE" chmod +x "$L/other.log"
refuse "chmod of a directory" "$EPERM_RE" chmod 700 "$L/d"
refuse "chown of a stream" "$EPERM_RE" chown 65534 "$L/s"
refuse "chown of a directory" "$EPERM_RE" chown 65534:65534 "$L/d"
refuse "chgrp of a stream" "$EPERM_RE" chgrp 65534 "$L/s"

# ---- the mount root and .shale ----
refuse "mkdir in the root" "$EPERM_RE" mkdir "$mnt/newdir"
refuse "create in the root (touch)" "$EPERM_RE" touch "$mnt/newfile"
refuse "create in the root (>)" "$EPERM_RE" sh -c 'echo x >"$1"' sh "$mnt/newfile"
refuse "rmdir logs" "$EPERM_RE" rmdir "$mnt/logs"
refuse "rmdir .shale" "$EPERM_RE" rmdir "$mnt/.shale"
refuse "rm .shale/status" "$EPERM_RE" rm -f "$mnt/.shale/status"
refuse "mv logs" "$EPERM_RE" mv "$mnt/logs" "$mnt/logs2"
refuse "mv a stream into the root" "$EPERM_RE" mv "$L/s" "$mnt/s"
refuse "mv a directory into the root" "$EPERM_RE" mv "$L/d" "$mnt/d"
refuse "mv .shale/status into logs" "$EPERM_RE" mv "$mnt/.shale/status" "$L/status"
refuse "mv a stream into .shale" "$EPERM_RE" mv "$L/s" "$mnt/.shale/s"
refuse "mkdir in .shale" "$EPERM_RE" mkdir "$mnt/.shale/x"
refuse "create in .shale" "$EPERM_RE" touch "$mnt/.shale/x"
refuse_errno "rename(2) of logs" EPERM rename "$mnt/logs" "$mnt/other"
refuse_errno "rename(2) of a stream to the root" EPERM rename "$L/s" "$mnt/s"

# ---- writing the virtual files ----
refuse "echo > .shale/status" "Permission denied|$EPERM_RE" sh -c 'echo x >"$1"' sh "$mnt/.shale/status"
refuse "echo >> .shale/metrics" "Permission denied|$EPERM_RE" sh -c 'echo x >>"$1"' sh "$mnt/.shale/metrics"
refuse "truncate .shale/status" "Permission denied|$EPERM_RE" truncate -s 0 "$mnt/.shale/status"
refuse_errno "open(2) .shale/status for writing" EACCES open_w "$mnt/.shale/status"
expect_match ".shale/status still reads" "^pid: $pid\$" "$(grep '^pid:' "$mnt/.shale/status")"

# ---- renames ----
refuse_errno "RENAME_EXCHANGE of two streams" EINVAL exchange "$L/s" "$L/other.log"
refuse_errno "RENAME_EXCHANGE of two directories" EINVAL exchange "$L/d" "$L/d/sub"
refuse_errno "RENAME_EXCHANGE of a stream and a directory" EINVAL exchange "$L/s" "$L/d"
refuse_errno "RENAME_NOREPLACE over an existing stream" EEXIST noreplace "$L/s" "$L/other.log"
refuse "mv a directory into itself" "subdirectory of itself|Invalid argument" mv "$L/d" "$L/d/sub/d"
refuse_errno "rename(2) of a directory into its subtree" EINVAL rename "$L/d" "$L/d/sub/d"
refuse_errno "rename(2) of a directory to its child" EINVAL rename "$L/d" "$L/d/x"
refuse "rmdir of a non-empty directory" "Directory not empty" rmdir "$L/d"
refuse "rmdir of a directory holding only a directory" "Directory not empty" rmdir "$L/e"
refuse_errno "rename(2) of a directory over a non-empty one" ENOTEMPTY rename "$L/d/sub" "$L/d"

# ---- names ----
n255=$(printf 'a%.0s' $(seq 1 255))
n256=${n255}b
# 127 two-byte characters and one byte: 255 bytes; one more character: 256
u255=$(printf '\303\251%.0s' $(seq 1 127))x
u256=$(printf '\303\251%.0s' $(seq 1 128))
refuse "create with a 256-byte name" "File name too long" touch "$L/$n256"
refuse "append with a 256-byte name" "File name too long" sh -c 'echo x >>"$1"' sh "$L/d/$n256"
refuse "mkdir with a 256-byte name" "File name too long" mkdir "$L/$n256"
refuse "mv to a 256-byte name" "File name too long" mv "$L/s" "$L/$n256"
refuse "create with a 128-character, 256-byte name" "File name too long" touch "$L/$u256"
echo "255" >>"$L/$n255" && ok "create with a 255-byte name" || fail "create with a 255-byte name"
echo "u255" >>"$L/d/$u255" && ok "create with a 255-byte UTF-8 name" || fail "create with a 255-byte UTF-8 name"
expect_eq "read back the 255-byte name" "255" "$(cat "$L/$n255")"
expect_eq "ls shows the 255-byte name" "$n255" "$(ls "$L" | grep '^aaa')"
expect_eq "read back the 255-byte UTF-8 name" "u255" "$(cat "$L/d/$u255")"
rm "$L/$n255" "$L/d/$u255" || fail "rm of the 255-byte names"

# ---- truncating and writing elsewhere than the end ----
refuse "truncate -s 3 (shorter)" "$EPERM_RE" truncate -s 3 "$L/s"
refuse "truncate -s 100 (longer)" "$EPERM_RE" truncate -s 100 "$L/s"
refuse "truncate -s -1" "$EPERM_RE" truncate -s -1 "$L/other.log"
printf 'XYZ' >"$TEST_TMP/xyz"
refuse "dd seek=3 conv=notrunc" "$EPERM_RE" dd if="$TEST_TMP/xyz" of="$L/s" bs=1 seek=3 conv=notrunc status=none
refuse "dd at offset 0 conv=notrunc" "$EPERM_RE" dd if="$TEST_TMP/xyz" of="$L/s" conv=notrunc status=none
refuse "dd past the end" "$EPERM_RE" dd if="$TEST_TMP/xyz" of="$L/s" bs=1 seek=100 conv=notrunc status=none
refuse_errno "pwrite(2) in the middle" EPERM pwrite "$L/other.log" 10 "xx"
refuse_errno "pwrite(2) past the end" EPERM pwrite "$L/other.log" 100000 "xx"

# ---- what is allowed next to it ----
m0=$(stat -c %Y "$L/s")
md0=$(md5sum <"$L/s")
touch "$L/s" && ok "touch of a stream succeeds" || fail "touch of a stream"
touch -d '2001-02-03 04:05:06' "$L/s" && ok "touch -d of a stream succeeds" || fail "touch -d of a stream"
expect_eq "touch keeps the mtime of the last append" "$m0" "$(stat -c %Y "$L/s")"
expect_eq "touch keeps the content" "$md0" "$(md5sum <"$L/s")"
touch "$L/d" && ok "touch of a directory succeeds" || fail "touch of a directory"
truncate -s 8 "$L/s" && ok "truncate to the same size succeeds" || fail "truncate -s 8 (the same size)"
expect_eq "truncate to the same size changes nothing" "$md0" "$(md5sum <"$L/s")"
expect_eq "truncate to the same size keeps the mtime" "$m0" "$(stat -c %Y "$L/s")"
printf 'three\n' >"$TEST_TMP/three"
dd if="$TEST_TMP/three" of="$L/s" bs=1 seek=8 conv=notrunc status=none &&
	ok "dd bs=1 exactly at the end" || fail "dd bs=1 seek=8 conv=notrunc (at the end)"
expect_eq "after the write at the end" "$(printf 'one\ntwo\nthree')" "$(cat "$L/s")"
expect_eq "its size" 14 "$(stat -c %s "$L/s")"
[ "$have_py" = 1 ] && expect_eq "pwrite(2) at the end" 0 "$(sys_errno pwrite "$L/s" 14 "four
")"
[ "$have_py" = 1 ] && expect_eq "after pwrite at the end" "$(printf 'one\ntwo\nthree\nfour')" "$(cat "$L/s")"

# ---- the daemon is still up ----
if [ -e "/proc/$pid" ] && ! pid_gone "$pid"; then
	ok "the daemon is still running"
else
	fail "the daemon (pid $pid) has exited"
fi
expect_eq "a read works" "$(seq 1 1000 | md5sum)" "$(md5sum <"$L/other.log")"
expect_eq "not fenced" "fenced: no" "$(grep '^fenced:' "$mnt/.shale/status")"
echo "still appending" >>"$L/d/inner.log" || fail "append at the end"
expect_eq "an append works" "$(printf 'inner\nstill appending')" "$(cat "$L/d/inner.log")"

# ---- a removed stream held open: readable, but writes fail ----
printf 'kept\n' >"$L/gone.log"
exec 5<"$L/gone.log" 6>>"$L/gone.log"
rm "$L/gone.log"
expect_eq "a removed stream stays readable through an open file" "kept" "$(cat <&5)"
out=$( (echo "after rm" >&6) 2>&1)
expect_match "a write to a removed stream fails" "No such file or directory" "$out"
exec 5<&- 6>&-
[ -e "$L/gone.log" ] && fail "the removed stream came back" || ok "the removed stream stays removed"

# ---- a read-only mount refuses every change ----
# (modes are 0444 and 0555 on a read-only mount: compare the rest)
content() {
	(cd "$mnt" && find logs | LC_ALL=C sort &&
		find logs -type f | LC_ALL=C sort | xargs stat -c '%n %s %Y' &&
		find logs -type f | LC_ALL=C sort | xargs md5sum)
}
final=$(content)
umount_shale "$mnt" || fail "the daemon did not exit on SIGTERM"
mount_shale "$store" "$mnt" --read-only || { fail "mount --read-only"; finish; }
expect_eq "read-only: status says so" "mode: read-only" "$(grep '^mode:' "$mnt/.shale/status")"
expect_eq "read-only: the tree as it was left" "$final" "$(content)"
ROFS="Read-only file system"
refuse "read-only: append" "$ROFS" sh -c 'echo x >>"$1"' sh "$L/s"
refuse "read-only: create" "$ROFS" touch "$L/new"
refuse "read-only: mkdir" "$ROFS" mkdir "$L/newdir"
refuse "read-only: rm" "$ROFS" rm "$L/s"
refuse "read-only: mv" "$ROFS" mv "$L/s" "$L/t"
refuse "read-only: truncate -s 0" "$ROFS" truncate -s 0 "$L/s"
refuse "read-only: rmdir" "$ROFS" rmdir "$L/d/sub"
umount_shale "$mnt" || fail "the read-only daemon did not exit on SIGTERM"
finish
