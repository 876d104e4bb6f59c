# layers.sh - every #include of the tree goes down the floors that
# tools/layers.txt sets (tools/check-layers.sh), and the check catches
# what it is for: on a copy of the tree, an include against the direction,
# a private header of a lower floor, a folder with no floor, and an
# include of a header that does not exist.
. "$top_srcdir/tests/lib/common.sh"

check="$top_srcdir/tools/check-layers.sh"
if out=$(sh "$check" "$top_srcdir" 2>&1) && [ -z "$out" ]; then
	ok "the tree keeps its floors"
else
	fail "the tree breaks its floors: $out"
fi

# a copy of what the check reads, to plant mistakes in
copy="$TEST_TMP/tree"
mkdir -p "$copy/tools"
(cd "$top_srcdir" && tar cf - src engine fs tools/layers.txt \
	$(cd "$top_srcdir" && find tools -name '*.[ch]')) | (cd "$copy" && tar xf -)
expect_eq "the copy checks clean" "" "$(sh "$check" "$copy" 2>&1)"

planted() {	# FILE LINE: add LINE after the file's first #include, check
	cp "$copy/$1" "$TEST_TMP/saved"
	sed -i "0,/^#include/s|^#include.*|&\n$2|" "$copy/$1"
	out=$(sh "$check" "$copy" 2>&1)
	rc=$?
	cp "$TEST_TMP/saved" "$copy/$1"
}

planted engine/lsm/kv.c '#include "model/logs.h"'
expect_eq "the engine including a model fails" 1 "$rc"
expect_match "... naming the file and the floors" \
	"engine/lsm/kv.c:[0-9]*: engine/lsm may not include src/model/logs.h" "$out"

planted src/util/buf.c '#include "engine/objstore/objstore.h"'
expect_eq "a helper including the object store fails" 1 "$rc"
expect_match "... naming it" "src/util/buf.c:[0-9]*: src/util may not include" "$out"

planted fs/fs.c '#include "engine/lsm/engine.h"'
expect_eq "the mount reaching past the model into the engine fails" 1 "$rc"
expect_match "... naming it" "fs/fs.c:[0-9]*: fs may not include engine/lsm/engine.h" "$out"

planted src/model/logs.c '#include "engine/lsm/sst.h"'
expect_eq "a private header of the engine fails" 1 "$rc"
expect_match "... naming it private" "engine/lsm/sst.h is private to engine/lsm" "$out"

planted tools/cmd_store.c '#include "engine/objstore/objstore_int.h"'
expect_eq "the command using a backend's insides fails" 1 "$rc"
expect_match "... naming it private" "objstore_int.h is private to engine/objstore" "$out"

planted fs/fs.c '#include "fs/nowhere.h"'
expect_eq "an include of no file fails" 1 "$rc"
expect_match "... naming it" "include \"fs/nowhere.h\" is not in the tree" "$out"

mkdir -p "$copy/src/nofloor"
echo '#include "util/buf.h"' >"$copy/src/nofloor/q.c"
out=$(sh "$check" "$copy" 2>&1)
expect_eq "a folder with no floor fails" 1 "$?"
expect_match "... naming it" "folder src/nofloor has no floor" "$out"
rm -r "$copy/src/nofloor"

expect_eq "with the mistakes gone the copy checks clean again" "" \
	"$(sh "$check" "$copy" 2>&1)"
finish
