# fsck.sh - 'shale fsck' on stores the engine wrote, on file:// and on RGW:
# a clean store checks clean and its tables are counted; a byte flipped in
# a table's data block is found (exit 1, naming the table and the block)
# and --quick, which reads no block, passes over it; a deleted table is
# "missing" with and without --quick; an extra table is garbage, not
# damage, and -v lists it; a WAL object cut short past the replay point
# is damage; a store that fails is one error, not damage of each object.
# On file:// also: a sorted run whose tables are out of key order, and
# checkpoints that pin a manifest, a missing one, or have expired.
. "$top_srcdir/tests/lib/common.sh"

drv="$top_builddir/tests/integration/engine_driver"

# flip_byte FILE OFFSET: invert one byte of a file in place
flip_byte() {
	local b
	b=$(od -An -tu1 -j "$2" -N1 "$1" | tr -d ' ')
	[ -n "$b" ] || return 1
	printf "\\$(printf %03o $((255 - b)))" |
		dd of="$1" bs=1 seek="$2" conv=notrunc status=none
}

# field NAME TEXT: a number from fsck's summary ("tables: 16 checked" -> 16)
field() {
	printf '%s\n' "$2" | sed -n "s/^$1: \\([0-9]*\\) .*/\\1/p"
}

# garbage_tables TEXT: the tables counted as garbage in fsck's summary
garbage_tables() {
	local n
	n=$(printf '%s\n' "$1" | sed -n 's/^garbage: \([0-9]*\) tables\{0,1\} .*/\1/p')
	echo "${n:-0}"
}

# check_store URI FILE_DIR: the checks that work on any store; FILE_DIR
# is the directory of a file:// store (damage is done to its files
# directly), empty for S3 (damage goes through 'shale store')
check_store() {
	local st=$1 dir=$2 out table wal tables key n base
	# no compactor: the tables stay in L0, for the runs made by hand below
	SHALE_COMPACTOR_OPTIONS_MAX_CONCURRENT_COMPACTIONS=0 \
		"$drv" fill "$st" 3000 >/dev/null || { fail "$st: fill"; return; }

	out=$("$SHALE" fsck "$st" 2>&1)
	expect_eq "$st: a clean store: exit 0" 0 $?
	echo "$out"
	tables=$("$SHALE" inspect "$st" tables | wc -l)
	[ "$tables" -ge 2 ] && ok "$st: several tables ($tables)" ||
		fail "$st: only $tables tables"
	expect_eq "$st: every table of the manifest is checked" "$tables" "$(field tables "$out")"
	n=$(field wal "$out")
	[ "${n:-0}" -ge 1 ] && ok "$st: WAL objects checked ($n)" ||
		fail "$st: no WAL object checked: $out"
	expect_match "$st: blocks are counted" "^tables: $tables checked, [1-9][0-9]* blocks" "$out"
	expect_match "$st: no problem" "^problems: 0$" "$out"
	base=$(garbage_tables "$out")

	table=$("$SHALE" inspect "$st" tables | head -n 1 | awk '{ print $2 }')
	wal=$("$SHALE" inspect "$st" wal | grep -v fence | head -n 1 | cut -d' ' -f1)
	[ -n "$table" ] && [ -n "$wal" ] || { fail "$st: no table or WAL object"; return; }
	"$SHALE" store get "$st#$table" "$TEST_TMP/table.orig" || { fail "$st: get $table"; return; }
	"$SHALE" store get "$st#$wal" "$TEST_TMP/wal.orig" || { fail "$st: get $wal"; return; }

	# a byte of a data block
	if [ -n "$dir" ]; then
		flip_byte "$dir/$(echo "$table" | sed 's|/|%2F/|g')" 100
	else
		cp "$TEST_TMP/table.orig" "$TEST_TMP/obj"
		flip_byte "$TEST_TMP/obj" 100 && "$SHALE" store put "$st#$table" "$TEST_TMP/obj"
	fi || { fail "$st: flip a byte of $table"; return; }
	out=$("$SHALE" fsck "$st" 2>&1)
	expect_eq "$st: a flipped byte: exit 1" 1 $?
	expect_match "$st: the damaged table and block are named" \
		"^damaged: '$table': block at offset [0-9]+: " "$out"
	expect_match "$st: one problem" "^problems: 1$" "$out"
	out=$("$SHALE" fsck --quick "$st" 2>&1)
	expect_eq "$st: --quick reads no block: exit 0" 0 $?
	expect_match "$st: --quick checks every table" "^tables: $tables checked, existence and size only" "$out"
	"$SHALE" store put "$st#$table" "$TEST_TMP/table.orig"
	out=$("$SHALE" fsck "$st" 2>&1)
	expect_eq "$st: restored: exit 0" 0 $?

	# a referenced table deleted
	"$SHALE" store rm "$st#$table"
	out=$("$SHALE" fsck "$st" 2>&1)
	expect_eq "$st: a deleted table: exit 1" 1 $?
	expect_match "$st: it is missing" "^missing: '$table' \\(referenced by manifest [0-9]+\\)" "$out"
	out=$("$SHALE" fsck --quick "$st" 2>&1)
	expect_eq "$st: --quick: a deleted table: exit 1" 1 $?
	expect_match "$st: --quick: it is missing" "^missing: '$table'" "$out"
	"$SHALE" store put "$st#$table" "$TEST_TMP/table.orig"

	# an unreferenced table is garbage, not damage
	head -c 4096 /dev/urandom >"$TEST_TMP/extra"
	"$SHALE" store put "$st#compacted/extra.sst" "$TEST_TMP/extra"
	out=$("$SHALE" fsck "$st" 2>&1)
	expect_eq "$st: an extra table: exit 0" 0 $?
	expect_eq "$st: it is counted as garbage" $((base + 1)) "$(garbage_tables "$out")"
	expect_match "$st: with 'shale gc' named" "run 'shale gc'" "$out"
	if printf '%s\n' "$out" | grep -q 'extra\.sst'; then
		fail "$st: without -v garbage is not listed: $out"
	else
		ok "$st: without -v garbage is not listed"
	fi
	out=$("$SHALE" fsck -v "$st" 2>&1)
	expect_match "$st: -v lists it" "^unreferenced: compacted/extra\\.sst \\(4096 bytes\\)" "$out"
	"$SHALE" store rm "$st#compacted/extra.sst"

	# a WAL object to replay, cut short
	if [ -n "$dir" ]; then
		truncate -s -10 "$dir/$(echo "$wal" | sed 's|/|%2F/|g')"
	else
		head -c $(($(stat -c %s "$TEST_TMP/wal.orig") - 10)) "$TEST_TMP/wal.orig" >"$TEST_TMP/obj"
		"$SHALE" store put "$st#$wal" "$TEST_TMP/obj"
	fi
	out=$("$SHALE" fsck "$st" 2>&1)
	expect_eq "$st: a WAL object cut short: exit 1" 1 $?
	expect_match "$st: it is named" "^damaged: '$wal'" "$out"
	"$SHALE" store put "$st#$wal" "$TEST_TMP/wal.orig"
	out=$("$SHALE" fsck "$st" 2>&1)
	expect_eq "$st: all restored: exit 0" 0 $?

	# the store failing: one error, no object reported
	out=$("$SHALE" fsck "fault:rate=1,ops=head,errors=eio:$st" 2>&1)
	expect_eq "$st: a failing store: exit 1" 1 $?
	expect_match "$st: the store's error is said" "^shale: head '.*': I/O error" "$out"
	if printf '%s\n' "$out" | grep -Eq '^(damaged|missing|mismatch):'; then
		fail "$st: a failing store is reported as damage: $out"
	else
		ok "$st: a failing store is not reported as damage"
	fi
	rm -f "$TEST_TMP/table.orig" "$TEST_TMP/wal.orig" "$TEST_TMP/obj" "$TEST_TMP/extra"
}

# derive URI FROM TO FN: store manifest TO as manifest FROM changed by
# the shell function FN (JSON on stdin and stdout), with its id set
derive() {
	local json
	json=$("$SHALE" store get "$1#manifest/$(printf %020d "$2")") || return 1
	printf '%s' "$json" | sed "s/^{\"format\":1,\"id\":$2,/{\"format\":1,\"id\":$3,/" | "$4" |
		"$SHALE" store put --if-absent "$1#manifest/$(printf %020d "$3")"
}

# as_run, as_run_reversed: the L0 tables as one sorted run, in L0 order
# (newest first, so keys go down) or in key order
run_of() {
	local json pre post tables
	json=$(cat)
	pre=${json%%\"l0\":\[*}
	post=${json#*\],\"runs\":\[\]}
	tables=${json#*\"l0\":\[}
	tables=${tables%%\],\"runs\":\[\]*}
	tables=$(printf '%s\n' "$tables" | sed 's/},{/}\n{/g' | $1 | paste -sd, -)
	printf '%s"l0":[],"runs":[{"id":1,"tables":[%s]}]%s' "$pre" "$tables" "$post"
}
as_run() { run_of cat; }
as_run_reversed() { run_of tac; }
pin_2() { sed 's/"checkpoints":\[\]/"checkpoints":[{"id":"c","manifest_id":2,"expire_ms":9000000000000}]/'; }
pin_missing() { sed 's/"checkpoints":\[\]/"checkpoints":[{"id":"c","manifest_id":99999,"expire_ms":9000000000000}]/'; }
pin_expired() { sed 's/"checkpoints":\[\]/"checkpoints":[{"id":"c","manifest_id":99999,"expire_ms":1}]/'; }

# manifests made by hand: runs in and out of key order, checkpoints
check_manifests() {
	local st=$1 id out tables
	id=$("$SHALE" inspect "$st" | sed -n 's/^manifest: *//p')
	tables=$("$SHALE" inspect "$st" tables | wc -l)

	derive "$st" "$id" $((id + 1)) as_run || { fail "derive a run"; return; }
	out=$("$SHALE" fsck "$st" 2>&1)
	expect_eq "a run out of key order: exit 1" 1 $?
	expect_match "a run out of key order: the run and its tables are named" \
		"^mismatch: manifest $((id + 1)): run 1: 'compacted/[^']*' ends at 'f[0-9]+', not before 'compacted/[^']*' starts at 'f[0-9]+'" "$out"
	derive "$st" "$id" $((id + 2)) as_run_reversed || { fail "derive a run"; return; }
	out=$("$SHALE" fsck "$st" 2>&1)
	expect_eq "a run in key order: exit 0" 0 $?
	expect_eq "a run in key order: its tables are checked" "$tables" "$(field tables "$out")"
	expect_match "a run in key order: older manifests are garbage" " $((id + 1)) manifests " "$out"

	derive "$st" $((id + 2)) $((id + 3)) pin_2 || { fail "derive a checkpoint"; return; }
	out=$("$SHALE" fsck -v "$st" 2>&1)
	expect_eq "a pinned manifest: exit 0" 0 $?
	expect_match "a pinned manifest: is said" "^manifest: $((id + 3)), and 1 pinned by checkpoint$" "$out"
	expect_match "a pinned manifest: is not garbage" " $((id + 1)) manifests " "$out"
	if printf '%s\n' "$out" | grep -q "^unreferenced: manifest/$(printf %020d 2) "; then
		fail "a pinned manifest is listed as unreferenced"
	else
		ok "a pinned manifest is not listed as unreferenced"
	fi
	derive "$st" $((id + 2)) $((id + 4)) pin_missing || { fail "derive a checkpoint"; return; }
	out=$("$SHALE" fsck "$st" 2>&1)
	expect_eq "a checkpoint of a missing manifest: exit 1" 1 $?
	expect_match "a checkpoint of a missing manifest: it is named" \
		"^missing: 'manifest/$(printf %020d 99999)' \\(pinned by checkpoint 'c' of manifest $((id + 4))\\)" "$out"
	derive "$st" $((id + 2)) $((id + 5)) pin_expired || { fail "derive a checkpoint"; return; }
	out=$("$SHALE" fsck "$st" 2>&1)
	expect_eq "an expired checkpoint pins nothing: exit 0" 0 $?
}

if [ -z "${SHALE_TEST_RGW_MISSING:-}" ]; then
	need_rgw
	b=$(new_bucket) || { fail "create bucket"; finish; }
	check_store "s3://$b/fsck" ""
else
	echo "RGW part skipped: $SHALE_TEST_RGW_MISSING"
fi
check_store "file://$TEST_TMP/store" "$TEST_TMP/store"
check_manifests "file://$TEST_TMP/store"

out=$("$SHALE" fsck "file://$TEST_TMP/empty" 2>&1)
expect_eq "an empty store: exit 1" 1 $?
expect_match "an empty store: says so" "holds no manifest" "$out"
"$SHALE" fsck >/dev/null 2>&1
expect_eq "no store: usage, exit 2" 2 $?
"$SHALE" fsck --bogus "file://$TEST_TMP/store" >/dev/null 2>&1
expect_eq "an unknown option: usage, exit 2" 2 $?
finish
