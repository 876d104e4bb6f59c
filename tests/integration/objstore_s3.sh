# objstore_s3.sh - the object store conformance suite on the s3:// backend
# against Ceph RGW: the same checks as on file://, plus multipart uploads,
# once at the bucket's root and once under a prefix.
. "$top_srcdir/tests/lib/common.sh"
need_rgw

b=$(new_bucket) || { fail "create bucket"; finish; }
"$top_builddir/tests/integration/objstore_conformance" --big "s3://$b" ||
	fail "conformance on s3://$b"
b2=$(new_bucket) || { fail "create bucket"; finish; }
"$top_builddir/tests/integration/objstore_conformance" "s3://$b2/some/prefix" ||
	fail "conformance on s3://$b2/some/prefix"
# the prefix store kept everything under its prefix
n=$("$SHALE" store ls "s3://$b2/" | grep -vc '^some/prefix/' || true)
expect_eq "nothing written outside the prefix" 0 "$n"
finish
