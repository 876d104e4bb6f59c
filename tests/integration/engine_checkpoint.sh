# engine_checkpoint.sh - a reader pins what it reads: a reader process
# scans the store with one iterator, slowly (8 s), while a writer process
# rewrites every table again and again (writes, compacts everything) and
# collects garbage every 100 ms with min_ages of 4 s, half the scan. The
# reader's checkpoints keep the tables of its old version: the scan reads
# every record to the end, refreshing its checkpoint several times (a 4 s
# lifetime). The reader polls every 100 ms, so it has about 2 s to pin a
# version once it is due (half min_age), on a slow build too; the newest manifest holds a checkpoint while the
# scan runs and none once the reader closed; the writer is never fenced;
# fsck finds the store whole afterwards. On file:// and RGW, side by side.
. "$top_srcdir/tests/lib/common.sh"

drv="$top_builddir/tests/integration/engine_driver"
export SHALE_GARBAGE_COLLECTOR_OPTIONS_MANIFEST_OPTIONS_MIN_AGE=0s
export SHALE_GARBAGE_COLLECTOR_OPTIONS_WAL_OPTIONS_MIN_AGE=4s
export SHALE_GARBAGE_COLLECTOR_OPTIONS_COMPACTED_OPTIONS_MIN_AGE=4s
export SHALE_GARBAGE_COLLECTOR_OPTIONS_MANIFEST_OPTIONS_INTERVAL=100ms
export SHALE_GARBAGE_COLLECTOR_OPTIONS_WAL_OPTIONS_INTERVAL=100ms
export SHALE_GARBAGE_COLLECTOR_OPTIONS_COMPACTED_OPTIONS_INTERVAL=100ms
export SHALE_CHECKPOINT_LIFETIME=4s
export SHALE_MANIFEST_POLL_INTERVAL=100ms
N=3000

# checkpoints STORE: how many the newest manifest holds ("" if unknown)
checkpoints() {
	"$SHALE" inspect "$1" manifest 2>/dev/null |
		sed -n 's/^checkpoints: *\([0-9]*\)$/\1/p'
}

wait_file() {	# PATH SECONDS
	local i=0
	while [ ! -e "$1" ]; do
		i=$((i + 1))
		[ $i -gt $(($2 * 10)) ] && return 1
		sleep 0.1
	done
}

pin_scan() {	# STORE
	local st=$1 d="$TEST_TMP/flags-$RANDOM" wpid rpid seen=0 c out
	mkdir -p "$d"
	"$drv" fillrand "$st" $N >/dev/null || { fail "$st: fill"; return; }
	"$drv" churn "$st" "$d" >"$d/churn.out" 2>&1 &
	wpid=$!
	wait_file "$d/ready" 180 || { fail "$st: the writer did not compact in 180 s"; kill "$wpid"; return; }
	"$drv" pinscan "$st" "$d" $N 8000 >"$d/scan.out" 2>&1 &
	rpid=$!
	while kill -0 "$rpid" 2>/dev/null; do
		c=$(checkpoints "$st")
		[ "${c:-0}" -gt "$seen" ] && seen=$c
		sleep 0.3
	done
	wait "$rpid"
	rc=$?
	cat "$d/scan.out"
	expect_eq "$st: the scan read every record to the end" 0 "$rc"
	[ "$seen" -gt 0 ] && ok "$st: the newest manifest held the reader's checkpoint during the scan" ||
		fail "$st: no checkpoint seen in the newest manifest during the scan"
	out=$(sed -n 's/^\([0-9]*\) checkpoint writes$/\1/p' "$d/scan.out")
	[ "${out:-0}" -ge 3 ] && ok "$st: the reader wrote its checkpoint, refreshed it and removed it ($out writes)" ||
		fail "$st: $out checkpoint writes (3 or more expected)"
	expect_eq "$st: no checkpoint left after the reader closed" 0 "$(checkpoints "$st")"
	touch "$d/done"
	wait "$wpid"
	expect_eq "$st: the writer ran to the end, never fenced" 0 $?
	cat "$d/churn.out"
	grep -q '^[1-9][0-9]* rounds' "$d/churn.out" &&
		ok "$st: the writer replaced the tables while the scan ran" ||
		fail "$st: the writer did not churn"
	out=$("$SHALE" fsck "$st" 2>&1)
	expect_eq "$st: fsck finds the store whole" 0 $?
	echo "$out" | tail -n 3
	rm -rf "$d"
}

# file:// and RGW side by side, each on its own store: the scans take
# their 8 s whatever runs beside them
part file pin_scan "file://$TEST_TMP/store"
if [ -z "${SHALE_TEST_RGW_MISSING:-}" ]; then
	need_rgw
	b=$(new_bucket) || { fail "create bucket"; finish; }
	part rgw pin_scan "s3://$b/pin"
else
	echo "RGW part skipped: $SHALE_TEST_RGW_MISSING"
fi
parts_wait
finish
