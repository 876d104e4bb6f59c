# fs_follow_open.sh - a read-only mount opened while the writer makes
# streams misses none of them, on file://.
#  - The writer makes 2,000 streams, then keeps making more (a WAL object
#    every 10 ms) while 8 read-only mounts open one after another, each
#    polling the store every 10 ms, so that objects are applied while a
#    follower loads its namespace.
#  - Once the writer stops and has stored everything, every follower
#    lists every stream: one made in the window between a follower's
#    load and the start of its reports would otherwise be missing there
#    until a remount.
#  - No follower warns of a name without its inode: each loads its inodes
#    and names from one snapshot.
. "$top_srcdir/tests/lib/common.sh"

need_fuse
trap 'kill $(jobs -p) 2>/dev/null; cleanup_mounts' EXIT

store="file://$TEST_TMP/store"
w="$TEST_TMP/w"
export SHALE_FLUSH_INTERVAL=10ms
mount_shale "$store" "$w" || { fail "writer mount"; finish; }
mkdir -p "$w/logs/s" || fail "mkdir"
for i in $(seq 1 2000); do
	: >"$w/logs/s/a$i"
done
sync "$w/logs/s/a2000"

# more streams while the followers open
( i=0; while [ ! -e "$TEST_TMP/stop" ]; do
	i=$((i + 1)); echo "$i" >"$w/logs/s/b$i"; done; echo "$i" >"$TEST_TMP/made" ) &
maker=$!

export SHALE_MANIFEST_POLL_INTERVAL=10ms
nf=8
for k in $(seq 1 $nf); do
	# each opens while streams are being made
	before=$(ls "$w/logs/s" | wc -l)
	mount_shale "$store" "$TEST_TMP/r$k" --read-only || fail "follower $k: mount"
	n=0
	while [ "$(ls "$w/logs/s" | wc -l)" -lt $((before + 20)) ] && [ "$n" -lt 600 ]; do
		n=$((n + 1))
		sleep 0.05
	done
done
touch "$TEST_TMP/stop"
wait "$maker"
made=$(cat "$TEST_TMP/made")
sync "$w/logs/s/b$made"
total=$((2000 + made))
expect_eq "the writer lists 2000 + $made streams" "$total" "$(ls "$w/logs/s" | wc -l)"

for k in $(seq 1 $nf); do
	r="$TEST_TMP/r$k"
	n=0
	while [ "$(ls "$r/logs/s" 2>/dev/null | wc -l)" -lt "$total" ] && [ "$n" -lt 600 ]; do
		n=$((n + 1))
		sleep 0.1
	done
	have=$(ls "$r/logs/s" 2>/dev/null | wc -l)
	if [ "$have" -eq "$total" ]; then
		ok "follower $k lists all $total streams"
	else
		fail "follower $k lists $have of $total streams; missing: $(ls "$w/logs/s" |
		    sort >"$TEST_TMP/all"; ls "$r/logs/s" | sort | comm -23 "$TEST_TMP/all" - | head -5 | tr '\n' ' ')"
	fi
done
log_clean "writer and followers"
finish
