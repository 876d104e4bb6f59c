# objstore_file.sh - the object store conformance suite on the file:// backend:
# round trips up to 64 MiB, ranges, odd keys, byte-order listing with pages,
# 8 put_if_absent racers, deletes and batch deletes.
. "$top_srcdir/tests/lib/common.sh"

"$top_builddir/tests/integration/objstore_conformance" --big "file://$TEST_TMP/store" ||
	fail "conformance on file://"
# a relative path and a bare absolute path name the same kind of store
( cd "$TEST_TMP" && "$SHALE" store put 'file://rel-store#k' /etc/hostname ) || fail "relative store path"
"$SHALE" store get "$TEST_TMP/rel-store#k" "$TEST_TMP/k.out" || fail "absolute store path"
cmp -s /etc/hostname "$TEST_TMP/k.out" && ok "relative and absolute paths agree" ||
	fail "relative and absolute paths differ"
finish
