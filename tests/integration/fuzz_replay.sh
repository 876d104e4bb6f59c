# fuzz_replay.sh - every fuzz harness over its seed corpus (the S3 XML
# parsers, the store URI parser, tables, WAL objects, manifests and
# settings files, the stream model's records, the HTTP route, bearer
# token and listen address; for metric series, the sample chunks, label
# sets and selectors, the exposition formats, remote write requests), so
# the harnesses build and the seeds stay clean in every build, and no
# corpus directory is left without its harness; 'configure
# --enable-fuzzing' builds the real libFuzzer programs.
. "$top_srcdir/tests/lib/common.sh"

harnesses="s3_xml uri sst wal manifest settings logs http"
harnesses="$harnesses chunk labels expfmt remote_write"
harnesses="$harnesses loki_push"
harnesses="$harnesses scrape_config"
harnesses="$harnesses promql promql_eval"
harnesses="$harnesses logql_pipe"
harnesses="$harnesses loki_params"
harnesses="$harnesses logql"
for d in "$top_srcdir"/tests/fuzz/corpus/*/; do
	d=$(basename "$d")
	case " $harnesses " in
	*" $d "*) ;;
	*) fail "corpus $d is replayed by no harness" ;;
	esac
done
for h in $harnesses; do
	out=$("$top_builddir/tests/fuzz/replay_$h" "$top_srcdir/tests/fuzz/corpus/$h") ||
		fail "replay of $h corpus"
	expect_match "$h corpus replayed" "replayed [1-9][0-9]* inputs" "$out"
done
finish
