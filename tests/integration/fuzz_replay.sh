# fuzz_replay.sh - every fuzz harness over its seed corpus (the S3 XML
# parsers, the store URI parser, tables, WAL objects, manifests and
# settings files, the stream model's records, the HTTP route, bearer
# token and listen address; for metric series, the sample chunks, label
# sets and selectors, remote write requests), so the harnesses build and
# the seeds stay clean in every build; 'configure --enable-fuzzing'
# builds the real libFuzzer programs.
. "$top_srcdir/tests/lib/common.sh"

for h in s3_xml uri sst wal manifest settings logs http chunk labels remote_write; do
	out=$("$top_builddir/tests/fuzz/replay_$h" "$top_srcdir/tests/fuzz/corpus/$h") ||
		fail "replay of $h corpus"
	expect_match "$h corpus replayed" "replayed [1-9][0-9]* inputs" "$out"
done
finish
