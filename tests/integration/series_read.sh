# series_read.sh - the read side of the metric series API of 'shale
# serve' on file://, against what Prometheus's HTTP API documents. Known
# series are put in with 'shale series STORE import' (text format, with
# timestamps), then the store is served and every answer is checked
# with jq:
#   /api/v1/series: the matchers = != =~ (anchored) !~, several match[]
#   (a union, each series once), sorted label sets, start and end as unix
#   seconds with decimals and as RFC 3339, limit and its warning, the
#   same by POST with a form body;
#   /api/v1/labels and /api/v1/label/NAME/values: sorted, with and
#   without match[], __name__, an unknown label, a bad name;
#   /api/v1/metadata (metric, limit), /api/v1/status/buildinfo (the
#   version of 'shale version'), /api/v1/status/tsdb (head and top lists);
#   /api/v1/export: one JSON line a series, values and timestamps in
#   [start, end], NaN and infinities as strings;
#   errors: 400 bad_data with the selector's column, no match[], a bad
#   time, end before start, a negative limit, a selector matching
#   everything; 404 for a route not there.
# The served store is stopped by PID. Skips without curl or jq.
. "$top_srcdir/tests/lib/common.sh"
for t in curl jq; do
	command -v $t >/dev/null 2>&1 || skip "$t not installed (apt-get install curl jq)"
done
trap stop_serves EXIT

T0=1700000000000		# 2023-11-14T22:13:20Z
T1=$((T0 + 60000))
TOLD=1600000000000		# 2020-09-13T12:26:40Z

store="file://$TEST_TMP/store"

# import TEXT: the text format into the store, not served yet
import() {
	printf '%s' "$1" | "$SHALE" series "$store" import - >>"$TEST_TMP/import.log" 2>&1 ||
		{ fail "import: $(tail -3 "$TEST_TMP/import.log")"; finish; }
}

import "# HELP http_requests_total Requests served.
# TYPE http_requests_total counter
http_requests_total{job=\"api\",method=\"get\",code=\"200\"} 10 $T0
http_requests_total{job=\"api\",method=\"post\",code=\"200\"} 3 $T0
http_requests_total{job=\"api\",method=\"get\",code=\"500\"} 1 $T0
http_requests_total{job=\"web\",method=\"get\",code=\"200\"} 7 $T0
# HELP temperature_celsius Room temperature.
# TYPE temperature_celsius gauge
temperature_celsius{room=\"a b\"} 21.5 $T0
up{job=\"api\",instance=\"h1:9100\"} 1 $T0
odd_values{kind=\"nan\"} NaN $T0
odd_values{kind=\"inf\"} +Inf $T0
odd_values{kind=\"minus_inf\"} -Inf $T0
"
import "old_metric{job=\"gone\"} 5 $TOLD
"
import "http_requests_total{job=\"api\",method=\"get\",code=\"200\"} 11.25 $T1
up{job=\"api\",instance=\"h1:9100\"} 0 $T1
"

port=$(pick_port) || { fail "a free port"; finish; }
u="http://127.0.0.1:$port"
serve_shale "$store" "$port" || { fail "serve"; finish; }

# get WHAT EXPECTED PATH-AND-QUERY [JQ-FILTER]: 200, and the filter (by
# default .data) of the answer, compact, is EXPECTED
get() {
	local what=$1 want=$2 path=$3 filter=${4:-.data} c
	c=$(code "$u$path")
	if [ "$c" != 200 ]; then
		fail "$what: HTTP $c $(cat "$TEST_TMP/body")"
		return
	fi
	expect_eq "$what" "$want" "$(jq -c "$filter" "$TEST_TMP/body")"
}

# bad WHAT STATUS REGEX PATH: an error answer in Prometheus's form
bad() {
	local what=$1 want=$2 re=$3 path=$4 c
	c=$(code "$u$path")
	expect_eq "$what: HTTP status" "$want" "$c"
	expect_eq "$what: status error" error "$(jq -r .status "$TEST_TMP/body")"
	expect_match "$what: the error" "$re" "$(jq -r .error "$TEST_TMP/body")"
	[ "$want" = 400 ] && expect_eq "$what: errorType" bad_data \
		"$(jq -r .errorType "$TEST_TMP/body")"
}

# q SELECTOR: URL-encoded
q() {
	jq -rn --arg s "$1" '$s | @uri'
}

# ---- /api/v1/series ----
get "series: one metric, sorted by label set" \
	'[{"__name__":"http_requests_total","code":"200","job":"api","method":"get"},{"__name__":"http_requests_total","code":"200","job":"api","method":"post"},{"__name__":"http_requests_total","code":"200","job":"web","method":"get"},{"__name__":"http_requests_total","code":"500","job":"api","method":"get"}]' \
	"/api/v1/series?match[]=http_requests_total"
get "series: the envelope" '"success"' "/api/v1/series?match[]=up" .status
get "series: no warnings without a limit" 'null' "/api/v1/series?match[]=up" .warnings
get "series: =" '[{"__name__":"temperature_celsius","room":"a b"}]' \
	"/api/v1/series?match[]=$(q '{room="a b"}')"
get "series: = on a label many have" 4 \
	"/api/v1/series?match[]=$(q '{job="api"}')" '.data | length'
get "series: !=" '["post"]' \
	"/api/v1/series?match[]=$(q 'http_requests_total{method!="get"}')" '[.data[].method]'
get "series: =~ is anchored" '[]' \
	"/api/v1/series?match[]=$(q '{job=~"ap"}')"
get "series: =~" '["500"]' \
	"/api/v1/series?match[]=$(q 'http_requests_total{code=~"5.."}')" '[.data[].code]'
get "series: !~" '["500"]' \
	"/api/v1/series?match[]=$(q 'http_requests_total{code!~"2.*"}')" '[.data[].code]'
get "series: =~ on __name__" '["http_requests_total","old_metric","temperature_celsius"]' \
	"/api/v1/series?match[]=$(q '{__name__=~".*_(total|metric|celsius)"}')" '[.data[].__name__] | unique'
get "series: a missing label matches \"\"" '["old_metric","up"]' \
	"/api/v1/series?match[]=$(q '{__name__=~"up|old_metric",method=""}')" '[.data[].__name__]'
get "series: several match[] are a union" '["temperature_celsius","up"]' \
	"/api/v1/series?match[]=up&match[]=temperature_celsius" '[.data[].__name__]'
get "series: a series two match[] select comes once" 4 \
	"/api/v1/series?match[]=up&match[]=$(q '{job="api"}')" '.data | length'
get "series: nothing matches" '[]' "/api/v1/series?match[]=nothing_here"

# time ranges: old_metric has one sample, at TOLD; the rest at T0 and later
get "series: start after a series' samples leaves it out" '[]' \
	"/api/v1/series?match[]=old_metric&start=1650000000"
get "series: end after its sample keeps it" 1 \
	"/api/v1/series?match[]=old_metric&end=1650000000" '.data | length'
get "series: [start, end] holding the sample exactly (seconds)" 1 \
	"/api/v1/series?match[]=old_metric&start=1600000000&end=1600000000" '.data | length'
get "series: a millisecond later (decimals)" 0 \
	"/api/v1/series?match[]=old_metric&start=1600000000.001" '.data | length'
get "series: RFC 3339" 1 \
	"/api/v1/series?match[]=old_metric&start=2020-09-13T12:26:40Z&end=2020-09-13T12:26:40.000Z" '.data | length'
get "series: RFC 3339 with an offset" 1 \
	"/api/v1/series?match[]=old_metric&start=$(q 2020-09-13T14:26:40+02:00)&end=$(q 2020-09-13T14:26:40+02:00)" '.data | length'
get "series: RFC 3339, a millisecond before" 0 \
	"/api/v1/series?match[]=old_metric&end=2020-09-13T12:26:39.999Z" '.data | length'
get "series: a range picks among the series of one selector" '["old_metric"]' \
	"/api/v1/series?match[]=$(q '{__name__=~"up|old_metric"}')&start=1500000000&end=1650000000" '[.data[].__name__]'

# limit, as Prometheus 2.42 and later
get "series: limit keeps the first" '["200","200"]' \
	"/api/v1/series?match[]=http_requests_total&limit=2" '[.data[].code]'
get "series: limit warns when it cuts" '["results truncated due to limit"]' \
	"/api/v1/series?match[]=http_requests_total&limit=2" .warnings
get "series: a limit that does not cut does not warn" null \
	"/api/v1/series?match[]=http_requests_total&limit=4" .warnings
get "series: limit=0 is no limit" 4 \
	"/api/v1/series?match[]=http_requests_total&limit=0" '.data | length'

# POST with a form body, as Prometheus takes it; the query string too
c=$(code "$u/api/v1/series" -X POST --data-urlencode 'match[]=up' \
	--data-urlencode 'match[]=temperature_celsius{room="a b"}')
expect_eq "series by POST: 200" 200 "$c"
expect_eq "series by POST: the form's match[]" '["temperature_celsius","up"]' \
	"$(jq -c '[.data[].__name__]' "$TEST_TMP/body")"
c=$(code "$u/api/v1/series?match[]=old_metric" -X POST --data-urlencode 'start=1650000000')
expect_eq "series by POST: the form and the query together" '200 []' \
	"$c $(jq -c .data "$TEST_TMP/body")"

# ---- /api/v1/labels ----
get "labels: every name, sorted" '["__name__","code","instance","job","kind","method","room"]' \
	"/api/v1/labels"
get "labels: of the series match[] selects" '["__name__","instance","job"]' \
	"/api/v1/labels?match[]=up"
get "labels: several match[]" '["__name__","instance","job","room"]' \
	"/api/v1/labels?match[]=up&match[]=temperature_celsius"
get "labels: in a range" '["__name__","job"]' \
	"/api/v1/labels?start=1500000000&end=1650000000"
get "labels: limit" '["__name__","code"]' "/api/v1/labels?limit=2"
get "labels: limit's warning" '["results truncated due to limit"]' "/api/v1/labels?limit=2" .warnings
c=$(code "$u/api/v1/labels" -X POST --data-urlencode 'match[]=up')
expect_eq "labels by POST" '200 ["__name__","instance","job"]' "$c $(jq -c .data "$TEST_TMP/body")"

# ---- /api/v1/label/NAME/values ----
get "label values: sorted, each once" '["api","gone","web"]' "/api/v1/label/job/values"
get "label values: __name__ names the metrics" \
	'["http_requests_total","odd_values","old_metric","temperature_celsius","up"]' \
	"/api/v1/label/__name__/values"
get "label values: with match[]" '["api"]' "/api/v1/label/job/values?match[]=up"
get "label values: several match[]" '["200","500"]' \
	"/api/v1/label/code/values?match[]=$(q 'http_requests_total{method="get"}')&match[]=up"
get "label values: in a range" '["gone"]' "/api/v1/label/job/values?end=1650000000"
get "label values: a label no series has" '[]' "/api/v1/label/nope/values"
get "label values: a value with a space" '["a b"]' "/api/v1/label/room/values"
get "label values: limit" '["api"]' "/api/v1/label/job/values?limit=1"
get "label values: limit's warning" '["results truncated due to limit"]' \
	"/api/v1/label/job/values?limit=1" .warnings
bad "label values: a bad label name" 400 'invalid label name: "1x"' "/api/v1/label/1x/values"
expect_eq "label values: an empty name is no route" 404 "$(code "$u/api/v1/label//values")"
expect_eq "label values: a name with a slash is no route" 404 "$(code "$u/api/v1/label/a/b/values")"

# ---- errors ----
bad "a selector that does not parse" 400 '^invalid parameter "match\[\]": .*column [0-9]+' \
	"/api/v1/series?match[]=$(q 'up{job=}')"
bad "a bad regex" 400 '^invalid parameter "match\[\]": ' \
	"/api/v1/series?match[]=$(q 'up{job=~"("}')"
bad "a selector that matches everything" 400 '^invalid parameter "match\[\]": ' \
	"/api/v1/series?match[]=$(q '{job=~".*"}')"
bad "series without match[]" 400 '^no match\[\] parameter provided$' "/api/v1/series"
bad "export without match[]" 400 '^no match\[\] parameter provided$' "/api/v1/export"
bad "a start that is no time" 400 '^invalid parameter "start": cannot parse "yesterday" to a valid timestamp$' \
	"/api/v1/series?match[]=up&start=yesterday"
bad "a time that is not UTF-8, quoted as text" 400 '^invalid parameter "start": cannot parse "a\?b" ' \
	"/api/v1/series?match[]=up&start=a%FFb"
bad "an end that is no time" 400 '^invalid parameter "end": ' \
	"/api/v1/labels?end=2020-13-01T00:00:00Z"
bad "end before start" 400 'end timestamp must not be before start time' \
	"/api/v1/series?match[]=up&start=1700000001&end=1700000000"
bad "a negative limit" 400 'limit must be non-negative' "/api/v1/series?match[]=up&limit=-1"
bad "a limit that is no number" 400 'limit' "/api/v1/labels?limit=ten"
c=$(code "$u/api/v1/labels" -X POST --data-binary 'match%5B%5D=%zz')
expect_eq "a form body with a bad escape" '400 bad_data' "$c $(jq -r .errorType "$TEST_TMP/body")"

# ---- /api/v1/metadata ----
get "metadata: every metric with metadata" \
	'{"http_requests_total":[{"type":"counter","help":"Requests served.","unit":""}],"temperature_celsius":[{"type":"gauge","help":"Room temperature.","unit":""}]}' \
	"/api/v1/metadata"
get "metadata: metric=" '["temperature_celsius"]' "/api/v1/metadata?metric=temperature_celsius" '.data | keys'
get "metadata: an unknown metric" '{}' "/api/v1/metadata?metric=nope"
get "metadata: limit" 1 "/api/v1/metadata?limit=1" '.data | length'
get "metadata: limit_per_metric" 1 "/api/v1/metadata?limit_per_metric=1&metric=http_requests_total" \
	'.data.http_requests_total | length'
bad "metadata: a bad limit" 400 'limit' "/api/v1/metadata?limit=x"

# ---- /api/v1/status/buildinfo and /api/v1/status/tsdb ----
v=$("$SHALE" version | awk '{ print $2 }')
get "buildinfo: the version" "\"$v\"" "/api/v1/status/buildinfo" .data.version
get "buildinfo: Prometheus's fields" '["branch","buildDate","buildUser","goVersion","revision","version"]' \
	"/api/v1/status/buildinfo" '.data | keys'
get "tsdb: headStats.numSeries" 10 "/api/v1/status/tsdb" .data.headStats.numSeries
get "tsdb: the biggest metric first" '{"name":"http_requests_total","value":4}' \
	"/api/v1/status/tsdb" '.data.seriesCountByMetricName[0]'
get "tsdb: values per label name" '{"name":"__name__","value":5}' \
	"/api/v1/status/tsdb" '.data.labelValueCountByLabelName[0]'
get "tsdb: series per pair (job=api and __name__=http_requests_total tie)" 4 \
	"/api/v1/status/tsdb" '.data.seriesCountByLabelValuePair[0].value'
get "tsdb: the four lists" '["headStats","labelValueCountByLabelName","memoryInBytesByLabelName","seriesCountByLabelValuePair","seriesCountByMetricName"]' \
	"/api/v1/status/tsdb" '.data | keys'
get "tsdb: limit" 2 "/api/v1/status/tsdb?limit=2" '.data.seriesCountByMetricName | length'

# ---- /api/v1/export ----
# export WHAT EXPECTED QUERY: the lines, each compact, sorted
export_is() {
	local c
	c=$(code "$u/api/v1/export?$3")
	if [ "$c" != 200 ]; then
		fail "$1: HTTP $c $(cat "$TEST_TMP/body")"
		return
	fi
	expect_eq "$1" "$2" "$(jq -c . "$TEST_TMP/body" | sort | tr '\n' ' ')"
}
export_is "export: one series, its samples" \
	"{\"metric\":{\"__name__\":\"http_requests_total\",\"code\":\"200\",\"job\":\"api\",\"method\":\"get\"},\"values\":[10,11.25],\"timestamps\":[$T0,$T1]} " \
	"match[]=$(q 'http_requests_total{job="api",method="get",code="200"}')"
export_is "export: [start, end] cuts the samples" \
	"{\"metric\":{\"__name__\":\"up\",\"instance\":\"h1:9100\",\"job\":\"api\"},\"values\":[0],\"timestamps\":[$T1]} " \
	"match[]=up&start=$((T1 / 1000))"
export_is "export: series without a sample in the range are left out" "" \
	"match[]=up&end=1650000000"
export_is "export: NaN and the infinities are strings" \
	"{\"metric\":{\"__name__\":\"odd_values\",\"kind\":\"inf\"},\"values\":[\"+Inf\"],\"timestamps\":[$T0]} {\"metric\":{\"__name__\":\"odd_values\",\"kind\":\"minus_inf\"},\"values\":[\"-Inf\"],\"timestamps\":[$T0]} {\"metric\":{\"__name__\":\"odd_values\",\"kind\":\"nan\"},\"values\":[\"NaN\"],\"timestamps\":[$T0]} " \
	"match[]=odd_values"
c=$(code "$u/api/v1/export?match[]=$(q '{__name__=~".+"}')")
expect_eq "export: everything" "200 10" "$c $(wc -l <"$TEST_TMP/body")"
expect_eq "export: each line one series" 10 "$(jq -c .metric "$TEST_TMP/body" | sort -u | wc -l)"
expect_match "export: its type" 'application/stream\+json' "$(grep -i '^content-type' "$TEST_TMP/headers")"

# a route the API does not have
expect_eq "no such route" 404 "$(code "$u/api/v1/query_exemplars_nope")"

stop_serves
SERVE_PIDS=""
finish
