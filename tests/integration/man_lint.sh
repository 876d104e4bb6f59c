# man_lint.sh - the man pages are clean under 'mandoc -T lint -W warning'.
. "$top_srcdir/tests/lib/common.sh"
command -v mandoc >/dev/null || skip "mandoc not installed (apt-get install mandoc)"

for m in "$top_srcdir"/man/*.[1-9]; do
	if out=$(mandoc -T lint -W warning "$m" 2>&1) && [ -z "$out" ]; then
		ok "$(basename "$m") lints clean"
	else
		fail "$(basename "$m"): $out"
	fi
done
finish
