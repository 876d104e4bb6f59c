# engine_corrupt.sh - damaged objects: a byte flipped in a table's data
# block is reported on read, naming the table and the block's offset; one
# flipped in a table's footer, or in a WAL object still to be replayed,
# stops the store from opening with a message naming the object; and
# 'shale inspect STORE check' reports each, exiting 1.
. "$top_srcdir/tests/lib/common.sh"

drv="$top_builddir/tests/integration/engine_driver"
st="file://$TEST_TMP/store"

# flip KEY OFFSET: invert one byte of an object, through 'shale store'
flip() {
	"$SHALE" store get "$st#$1" "$TEST_TMP/obj" || return 1
	local size=$(stat -c %s "$TEST_TMP/obj") off=$2
	[ "$off" -lt 0 ] && off=$((size + off))
	local b=$(od -An -tu1 -j "$off" -N1 "$TEST_TMP/obj" | tr -d ' ')
	printf "\\$(printf %03o $((255 - b)))" |
		dd of="$TEST_TMP/obj" bs=1 seek="$off" conv=notrunc status=none
	"$SHALE" store put "$st#$1" "$TEST_TMP/obj"
}

"$drv" fill "$st" 3000 >/dev/null || { fail "fill"; finish; }
out=$("$SHALE" inspect "$st" check) && ok "clean store checks clean: $out" || fail "clean store: $out"
# a table the newest manifest lists (the compactor leaves others behind)
table=$("$SHALE" inspect "$st" tables | awk '{ print $2; exit }')
[ -n "$table" ] || { fail "no table was written"; finish; }
wal=$("$SHALE" inspect "$st" wal | grep -v fence | head -n 1 | cut -d' ' -f1)
[ -n "$wal" ] || { fail "no WAL object to replay"; finish; }

# a data block: found on read, with object and offset
cp -r "$TEST_TMP/store" "$TEST_TMP/pristine"
flip "$table" 100
out=$("$drv" scan "$st" 2>&1)
expect_eq "scan over a damaged block fails" 1 $?
expect_match "the read error names the table and the offset" "'$table'.*offset [0-9]+" "$out"
out=$("$SHALE" inspect "$st" check 2>&1)
expect_eq "inspect check exits 1" 1 $?
expect_match "inspect check names the table" "$table" "$out"

# the footer: found on open
rm -rf "$TEST_TMP/store"; cp -r "$TEST_TMP/pristine" "$TEST_TMP/store"
flip "$table" -3
out=$("$drv" scan "$st" 2>&1)
expect_eq "open with a damaged footer fails" 1 $?
expect_match "the open error names the table" "open.*'$table'" "$out"

# a WAL object: found on open (replay)
rm -rf "$TEST_TMP/store"; cp -r "$TEST_TMP/pristine" "$TEST_TMP/store"
flip "$wal" 60
out=$("$drv" scan "$st" 2>&1)
expect_eq "open with a damaged WAL object fails" 1 $?
expect_match "the open error names the WAL object" "'$wal'" "$out"
out=$("$SHALE" inspect "$st" check 2>&1)
expect_eq "inspect check exits 1 for the WAL object" 1 $?
expect_match "inspect check names the WAL object" "$wal" "$out"
finish
