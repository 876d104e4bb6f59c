# fs_cache.sh - the kernel's page cache on a mount with -o page_cache, on
# file://: readers are served from it, and it never shows bytes a stream
# does not have, even with attribute timeouts of 0 (every stat(2) sees the
# newest size). Without the option nothing is cached.
#  - Appended bytes are put into the page cache (fincore(1) counts the
#    pages) and read back byte for byte; without -o page_cache nothing is.
#  - After each of 200 appends of 1 to 9000 bytes (whole lines or not),
#    by echo/printf/dd through the mount and by HTTP text appends, a fresh
#    cat equals a local copy built the same way: the page holding the old
#    end, cached by the cat before, never shows its stale zeros.
#  - Truncation (: > and truncate -s 0) with the stream cached, then new
#    bytes shorter and longer than before: cat shows the new ones only.
#  - While 4 writers (each with the stream open throughout) append 1000
#    lines each, a reader cats the stream and its last 8 KiB over and
#    over: no read holds a NUL byte, and the end is all 4000 lines.
#    (fs_readrace races readers and writers harder, and checks the
#    refusals that keep readers in the page cache from ever seeing zeros.)
. "$top_srcdir/tests/lib/common.sh"
. "$top_srcdir/tests/lib/ports.sh"

need_fuse
command -v fincore >/dev/null || { skip "fincore (util-linux) not installed"; finish; }
trap 'kill $(jobs -p) 2>/dev/null; cleanup_mounts' EXIT

src="$TEST_TMP/src"
awk 'BEGIN { srand(7); for (i = 0; i < 250000; i++) {
	printf "%06d %s level=%d", i, substr("abcdefghijklmnopqrstuvwxyz", 1 + i % 20), i % 7
	if (i % 3) printf " some more words here"
	printf "\n" } }' >"$src"
srclen=$(wc -c <"$src")

pages() {	# FILE: pages of it in the page cache
	fincore -n -b -o PAGES "$1" 2>/dev/null | tr -d ' '
}

# chunk N: N bytes of $src from a random place
chunk() {
	tail -c +$((1 + RANDOM * 32768 % (srclen - $1))) "$src" | head -c "$1"
}

mnt="$TEST_TMP/mnt"
port=$(pick_port) || { fail "a free port"; finish; }
# no attribute caching: each stat asks the daemon, the hardest case
mount_shale "file://$TEST_TMP/store" "$mnt" -o page_cache --port "$port" \
    --attr-timeout 0 --entry-timeout 0 || { fail "mount"; finish; }
L="$mnt/logs"
mkdir -p "$L/c" || fail "mkdir"

# ---- appended bytes are cached ----
head -c 8000000 "$src" >"$TEST_TMP/big"
dd if="$TEST_TMP/big" of="$L/c/big" bs=1M oflag=append conv=notrunc status=none ||
	fail "dd 8 MB"
n=0 i=0
while [ "$i" -lt 50 ]; do
	n=$(pages "$L/c/big")
	[ "${n:-0}" -gt 1000 ] && break
	sleep 0.1
	i=$((i + 1))
done
[ "${n:-0}" -gt 1000 ] && ok "8 MB appended: $n pages in the page cache without a read" ||
	fail "8 MB appended: only ${n:-0} pages in the page cache"
cmp -s "$TEST_TMP/big" "$L/c/big" && ok "8 MB read back byte for byte" ||
	fail "8 MB read back differs"
stored=$(awk '/^fuse_page_cache_stored_bytes_total / { print $2 }' "$mnt/.shale/metrics")
# (whole pages only, and as written in batches: most of them)
[ "${stored%%.*}" -ge $((1000 * 4096)) ] 2>/dev/null &&
	ok "fuse_page_cache_stored_bytes_total counts them ($stored)" ||
	fail "fuse_page_cache_stored_bytes_total is '$stored'"

# ---- 200 appends, each followed by a cat of the cached stream ----
f="$L/c/grow" ref="$TEST_TMP/grow"
: >"$ref"
: >"$f"
bad=0
for i in $(seq 1 200); do
	len=$((1 + RANDOM % 9000))
	chunk "$len" >"$TEST_TMP/piece"
	case $((i % 5)) in
	0)	# HTTP: a body without a final newline gets one
		curl -s -o /dev/null -X POST --data-binary @"$TEST_TMP/piece" \
		    "http://127.0.0.1:$port/api/v1/log/append?key=c/grow" || bad=1
		cat "$TEST_TMP/piece" >>"$ref"
		[ "$(tail -c 1 "$TEST_TMP/piece" | od -An -c | tr -d ' ')" = '\n' ] ||
			echo >>"$ref" ;;
	1)	dd if="$TEST_TMP/piece" of="$f" bs=4096 oflag=append conv=notrunc status=none
		cat "$TEST_TMP/piece" >>"$ref" ;;
	2)	# a partial line, then its end from another open
		head -c $((len / 2)) "$TEST_TMP/piece" | tr -d '\n' >"$TEST_TMP/p1"
		printf '%s' "$(cat "$TEST_TMP/p1")" >>"$f"
		echo " end $i" >>"$f"
		{ cat "$TEST_TMP/p1"; echo " end $i"; } >>"$ref" ;;
	*)	cat "$TEST_TMP/piece" >>"$f"
		cat "$TEST_TMP/piece" >>"$ref" ;;
	esac
	if ! cmp -s "$ref" "$f"; then
		bad=$((bad + 1))
		[ "$bad" -le 3 ] && cmp "$ref" "$f" | sed "s/^/append $i: /"
	fi
done
[ "$bad" -eq 0 ] && ok "200 appends of 1-9000 bytes (mount and HTTP): each cat equals the local copy" ||
	fail "$bad of 200 cats after an append differ from the local copy"
[ "$(pages "$f")" -gt 0 ] && ok "the growing stream is served from the page cache" ||
	fail "no page of the growing stream is cached"

# ---- truncation with the stream cached ----
t="$L/c/trunc"
chunk 20000 >"$TEST_TMP/t1"
cat "$TEST_TMP/t1" >"$t"
cat "$t" >/dev/null
: >"$t"
expect_eq ": > empties the cached stream" 0 "$(cat "$t" | wc -c)"
chunk 5000 >"$TEST_TMP/t2"
cat "$TEST_TMP/t2" >>"$t"
cmp -s "$TEST_TMP/t2" "$t" && ok "then 5000 new bytes read as appended" ||
	fail "after : > and 5000 bytes, the stream reads otherwise"
cat "$t" >/dev/null
truncate -s 0 "$t" || fail "truncate -s 0"
chunk 30000 >"$TEST_TMP/t3"
cat "$TEST_TMP/t3" >>"$t"
cmp -s "$TEST_TMP/t3" "$t" && ok "truncate -s 0, then 30000 new bytes read as appended" ||
	fail "after truncate -s 0 and 30000 bytes, the stream reads otherwise"

# ---- readers while 4 writers append ----
w="$L/c/busy"
: >"$w"
# the writers' files open before any reader's: readers use direct I/O
exec 5>>"$w" 6>>"$w" 7>>"$w" 8>>"$w"
for k in 1 2 3 4; do
	( fd=$((k + 4)); for j in $(seq 1 1000); do
		echo "writer $k line $j of a busy stream" >&$fd; done ) &
	eval "wpid$k=\$!"
done
nul=0 reads=0
while kill -0 $wpid1 2>/dev/null || kill -0 $wpid2 2>/dev/null ||
    kill -0 $wpid3 2>/dev/null || kill -0 $wpid4 2>/dev/null; do
	LC_ALL=C tr -d -c '\000' <"$w" >"$TEST_TMP/nuls"
	[ -s "$TEST_TMP/nuls" ] && nul=$((nul + 1))
	reads=$((reads + 1))
	for j in 1 2 3 4 5 6 7 8; do	# and its end, where new bytes land
		tail -c 8192 "$w" | LC_ALL=C tr -d -c '\000' >"$TEST_TMP/nuls"
		[ -s "$TEST_TMP/nuls" ] && nul=$((nul + 1))
		reads=$((reads + 1))
	done
done
wait $wpid1 $wpid2 $wpid3 $wpid4
exec 5>&- 6>&- 7>&- 8>&-
[ "$nul" -eq 0 ] && ok "$reads reads during 4000 appends: no NUL byte in any" ||
	fail "$nul of $reads reads during the appends held NUL bytes"
expect_eq "all 4000 lines, each whole" 4000 \
    "$(grep -c '^writer [1-4] line [0-9]* of a busy stream$' "$w")"
log_clean "page cache"

# ---- the default: no page cache ----
umount_shale "$mnt" || fail "unmount"
mnt2="$TEST_TMP/mnt2"
mount_shale "file://$TEST_TMP/store" "$mnt2" || { fail "mount without -o page_cache"; finish; }
dd if="$TEST_TMP/big" of="$mnt2/logs/c/big2" bs=1M oflag=append conv=notrunc status=none
cmp -s "$TEST_TMP/big" "$mnt2/logs/c/big2" && ok "default: read back byte for byte" ||
	fail "default: read back differs"
sleep 0.3
expect_eq "default: no page of it cached after a write and a read" 0 "$(pages "$mnt2/logs/c/big2")"
cmp -s "$ref" "$mnt2/logs/c/grow" && ok "the growing stream is whole after a remount" ||
	fail "the growing stream differs after a remount"
finish
