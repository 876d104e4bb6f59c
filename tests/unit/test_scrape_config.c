/*
 * test_scrape_config.c - the scrape config (scrape_config.c) and targets
 * (scrape_sd.c): a whole prometheus.yml read back (global defaults and
 * their rules, every job key), each error naming the file, the line and
 * the key (unknown and unsupported keys, bad values, a timeout past its
 * interval, a job name twice, bad relabel rules), keys of prometheus.yml
 * that are ignored; Prometheus durations both ways; a target's labels
 * and URL as Prometheus makes them (defaults, __param_*, a default port,
 * __meta_* dropped, instance, relabelling that drops or rewrites); and
 * file_sd files in JSON and YAML.
 */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "model/labels.h"
#include "scrape/scrape_int.h"
#include "util/error.h"

static struct scrape_config *
parse_ok(const char *yaml)
{
	struct scrape_config *c;

	if (scrape_config_parse(yaml, strlen(yaml), "p.yml", &c) != 0)
		fail_msg("parse: %s", err_detail());
	return c;
}

static void
parse_bad(const char *yaml, const char *want)
{
	struct scrape_config *c;

	assert_int_equal(scrape_config_parse(yaml, strlen(yaml), "p.yml", &c),
	    -EINVAL);
	assert_null(c);
	if (strstr(err_detail(), want) == NULL)
		fail_msg("detail '%s' lacks '%s'", err_detail(), want);
}

static void
test_full(void **state)
{
	struct scrape_config *c;
	const struct scrape_job *j;

	(void)state;
	c = parse_ok(
	    "global:\n"
	    "  scrape_interval: 30s\n"
	    "  evaluation_interval: 1m\n"
	    "  external_labels:\n"
	    "    region: eu\n"
	    "rule_files: [a.yml]\n"
	    "alerting:\n"
	    "  alertmanagers: []\n"
	    "scrape_configs:\n"
	    "  - job_name: node\n"
	    "    scrape_interval: 1s\n"
	    "    metrics_path: /m\n"
	    "    scheme: https\n"
	    "    honor_labels: true\n"
	    "    honor_timestamps: false\n"
	    "    params:\n"
	    "      module: [a, b]\n"
	    "    basic_auth:\n"
	    "      username: u\n"
	    "      password_file: /p\n"
	    "    tls_config:\n"
	    "      insecure_skip_verify: true\n"
	    "    static_configs:\n"
	    "      - targets: ['h1:9100', 'h2:9100']\n"
	    "        labels: {env: prod}\n"
	    "    file_sd_configs:\n"
	    "      - files: [/etc/t/*.json]\n"
	    "        refresh_interval: 10s\n"
	    "    relabel_configs:\n"
	    "      - source_labels: [__address__]\n"
	    "        regex: '([^:]+):.*'\n"
	    "        target_label: host\n"
	    "      - action: labeldrop\n"
	    "        regex: env\n"
	    "    metric_relabel_configs:\n"
	    "      - source_labels: [__name__]\n"
	    "        regex: 'go_.*'\n"
	    "        action: drop\n"
	    "  - job_name: other\n"
	    "    bearer_token: secret\n");
	assert_int_equal(scrape_config_jobs(c), 2);
	assert_int_equal(c->interval_ms, 30000);
	assert_int_equal(c->timeout_ms, 10000);
	assert_string_equal(relabel_labels_get(&c->external_labels, "region",
	    6, NULL), "eu");
	j = &c->jobs[0];
	assert_string_equal(j->name, "node");
	assert_int_equal(j->interval_ms, 1000);
	assert_int_equal(j->timeout_ms, 1000);	/* the interval: shorter */
	assert_string_equal(j->metrics_path, "/m");
	assert_string_equal(j->scheme, "https");
	assert_true(j->honor_labels);
	assert_false(j->honor_timestamps);
	assert_int_equal(j->nparams, 2);
	assert_string_equal(j->params[1].value, "b");
	assert_string_equal(j->username, "u");
	assert_string_equal(j->password_file, "/p");
	assert_true(j->insecure_skip_verify);
	assert_int_equal(j->ngroups, 1);
	assert_int_equal(j->groups[0].ntargets, 2);
	assert_int_equal(j->nfile_sd, 1);
	assert_int_equal(j->file_sd[0].refresh_ms, 10000);
	assert_int_equal(j->nrelabel, 2);
	assert_int_equal(j->nmetric_relabel, 1);
	j = &c->jobs[1];
	assert_int_equal(j->interval_ms, 30000);
	assert_int_equal(j->timeout_ms, 10000);
	assert_string_equal(j->metrics_path, "/metrics");
	assert_string_equal(j->scheme, "http");
	assert_true(j->honor_timestamps);
	assert_string_equal(j->bearer_token, "secret");
	scrape_config_free(c);

	/* nothing at all, and the defaults */
	c = parse_ok("");
	assert_int_equal(scrape_config_jobs(c), 0);
	scrape_config_free(c);
	c = parse_ok("scrape_configs:\n  - job_name: a\n");
	assert_int_equal(c->jobs[0].interval_ms, 60000);
	assert_int_equal(c->jobs[0].timeout_ms, 10000);
	scrape_config_free(c);
	c = parse_ok("global: {scrape_interval: 5s}\n"
	    "scrape_configs:\n  - job_name: a\n");
	assert_int_equal(c->jobs[0].timeout_ms, 5000);
	scrape_config_free(c);
}

static void
test_errors(void **state)
{
	(void)state;
	parse_bad("scrape_configs:\n  - job_name: a\n    scrape_intervall: 1s\n",
	    "p.yml:3: unknown key 'scrape_intervall' in scrape config 'a'");
	parse_bad("scrapeconfigs: []\n", "p.yml:1: unknown key 'scrapeconfigs'");
	parse_bad("global:\n  foo: 1\n", "p.yml:2: unknown key 'foo' in global");
	parse_bad("scrape_configs:\n  - job_name: a\n    kubernetes_sd_configs: []\n",
	    "p.yml:3: scrape config 'a': 'kubernetes_sd_configs' is not supported");
	parse_bad("scrape_configs:\n  - job_name: a\n    sample_limit: 5\n",
	    "'sample_limit' is not supported");
	parse_bad("scrape_configs:\n  - job_name: a\n    scrape_interval: 1x\n",
	    "p.yml:3: scrape_interval: '1x' is not a duration");
	parse_bad("scrape_configs:\n  - job_name: a\n    scrape_interval: 1s\n"
	    "    scrape_timeout: 2s\n", "scrape timeout greater than scrape "
	    "interval for scrape config with job name \"a\"");
	parse_bad("global: {scrape_interval: 1s, scrape_timeout: 2s}\n",
	    "global scrape timeout greater");
	parse_bad("scrape_configs:\n  - job_name: a\n  - job_name: a\n",
	    "p.yml:3: found multiple scrape configs with job name \"a\" "
	    "(first at line 2)");
	parse_bad("scrape_configs:\n  - scrape_interval: 1s\n", "job_name is empty");
	parse_bad("scrape_configs:\n  - job_name: a\n    scheme: ftp\n",
	    "scheme: 'ftp' is not http or https");
	parse_bad("scrape_configs:\n  - job_name: a\n    honor_labels: yes please\n",
	    "is not a boolean");
	parse_bad("scrape_configs:\n  - job_name: a\n    relabel_configs:\n"
	    "      - action: hashmod\n        target_label: x\n",
	    "p.yml:4: relabel_configs: relabel configuration for hashmod "
	    "requires non-zero modulus");
	parse_bad("scrape_configs:\n  - job_name: a\n    relabel_configs:\n"
	    "      - action: nope\n", "unknown relabel action 'nope'");
	parse_bad("scrape_configs:\n  - job_name: a\n    relabel_configs:\n"
	    "      - regex: x\n        typo: 1\n",
	    "p.yml:5: unknown key 'typo' in relabel_configs");
	parse_bad("scrape_configs:\n  - job_name: a\n    basic_auth:\n"
	    "      username: u\n      password: p\n      password_file: f\n",
	    "at most one of basic_auth password & password_file");
	parse_bad("scrape_configs:\n  - job_name: a\n    bearer_token: t\n"
	    "    basic_auth: {username: u}\n", "at most one of basic_auth");
	parse_bad("scrape_configs:\n  - job_name: a\n    file_sd_configs:\n"
	    "      - files: [x.txt]\n", "is not valid for file discovery");
	parse_bad("scrape_configs:\n  - job_name: a\n    static_configs:\n"
	    "      - targets: [a]\n        labels: {'bad-name': x}\n",
	    "'bad-name' is not a valid label name");
	parse_bad("scrape_configs:\n  - job_name: a\n    job_name: b\n",
	    "p.yml:3: duplicate key 'job_name' (first at line 2)");
	parse_bad("- a\n", "the top level must be a mapping");
	parse_bad("a: [\n", "p.yml:");
	parse_bad("a: &x 1\nb: *x\n", "aliases are not supported");
	parse_bad("---\na: 1\n---\nb: 2\n", "more than one YAML document");
}

static void
test_durations(void **state)
{
	static const struct { const char *s; int64_t ms; const char *back; } ok[] = {
		{ "0", 0, "0s" }, { "0s", 0, "0s" }, { "15s", 15000, "15s" },
		{ "1m", 60000, "1m" }, { "90s", 90000, "1m30s" },
		{ "1m30s", 90000, "1m30s" }, { "500ms", 500, "500ms" },
		{ "1h2m3s4ms", 3723004, "1h2m3s4ms" }, { "2w", 1209600000, "2w" },
		{ "1y", 31536000000LL, "1y" }, { "10d", 864000000, "10d" }, { "14d", 1209600000, "2w" },
	};
	static const char *bad[] = { "", "s", "1", "1.5s", "-1s", "1s1m",
	    "1ss", "1 s", "99999999999999999999s", "1M" };
	char out[32];
	int64_t ms;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		assert_int_equal(scrape_parse_duration(ok[i].s, strlen(ok[i].s),
		    &ms), 0);
		assert_int_equal(ms, ok[i].ms);
		scrape_format_duration(ms, out, sizeof(out));
		assert_string_equal(out, ok[i].back);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (scrape_parse_duration(bad[i], strlen(bad[i]), &ms) == 0)
			fail_msg("'%s' read as %lld ms", bad[i], (long long)ms);
}

static void
test_targets(void **state)
{
	struct scrape_config *c;
	struct scrape_target_def t;
	const struct scrape_job *j;

	(void)state;
	c = parse_ok(
	    "scrape_configs:\n"
	    "  - job_name: node\n"
	    "    scrape_interval: 15s\n"
	    "    params: {module: [if_mib], x: ['a b']}\n"
	    "    static_configs:\n"
	    "      - targets: [h1, 'h2:9100', 'drop:1']\n"
	    "        labels: {__meta_zone: z1, env: prod}\n"
	    "    relabel_configs:\n"
	    "      - source_labels: [__address__]\n"
	    "        regex: 'drop:.*'\n"
	    "        action: drop\n"
	    "      - source_labels: [__meta_zone]\n"
	    "        target_label: zone\n"
	    "      - source_labels: [__address__]\n"
	    "        target_label: __param_target\n"
	    "  - job_name: tls\n"
	    "    scheme: https\n"
	    "    metrics_path: /x\n"
	    "    static_configs:\n"
	    "      - targets: [h3]\n"
	    "        labels: {instance: mine, job: theirs}\n");
	j = &c->jobs[0];
	assert_int_equal(scrape_target_make(j, "h1", &j->groups[0], &t), 1);
	assert_string_equal(labels_get(t.full, "__address__"), "h1:80");
	assert_string_equal(labels_get(t.full, "__scrape_interval__"), "15s");
	assert_string_equal(labels_get(t.full, "__scrape_timeout__"), "10s");
	assert_string_equal(labels_get(t.full, "__param_module"), "if_mib");
	assert_null(labels_get(t.full, "__meta_zone"));
	assert_string_equal(labels_get(t.labels, "instance"), "h1:80");
	assert_string_equal(labels_get(t.labels, "job"), "node");
	assert_string_equal(labels_get(t.labels, "zone"), "z1");
	assert_string_equal(labels_get(t.labels, "env"), "prod");
	assert_int_equal(labels_count(t.labels), 4);
	assert_string_equal(t.url,
	    "http://h1:80/metrics?module=if_mib&target=h1&x=a+b");
	assert_int_equal(t.interval_ms, 15000);
	scrape_target_def_release(&t);
	assert_int_equal(scrape_target_make(j, "h2:9100", &j->groups[0], &t), 1);
	assert_string_equal(labels_get(t.labels, "instance"), "h2:9100");
	scrape_target_def_release(&t);
	assert_int_equal(scrape_target_make(j, "drop:1", &j->groups[0], &t), 0);

	j = &c->jobs[1];
	assert_int_equal(scrape_target_make(j, "h3", &j->groups[0], &t), 1);
	assert_string_equal(t.url, "https://h3:443/x");
	assert_string_equal(labels_get(t.labels, "instance"), "mine");
	assert_string_equal(labels_get(t.labels, "job"), "theirs");
	scrape_target_def_release(&t);
	scrape_config_free(c);

	c = scrape_config_self("127.0.0.1:8080", "tok", 0);
	j = &c->jobs[0];
	assert_int_equal(scrape_target_make(j, j->groups[0].targets[0],
	    &j->groups[0], &t), 1);
	assert_string_equal(labels_get(t.labels, "job"), "shale");
	assert_string_equal(labels_get(t.labels, "instance"), "127.0.0.1:8080");
	assert_string_equal(t.url, "http://127.0.0.1:8080/metrics");
	assert_int_equal(t.interval_ms, SCRAPE_SELF_INTERVAL_MS);
	scrape_target_def_release(&t);
	scrape_config_free(c);
}

static void
write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void
test_file_sd(void **state)
{
	char dir[] = "/tmp/test_scrape_config.XXXXXX", p[128];
	struct scrape_group *g;
	size_t n, i;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(p, sizeof(p), "%s/a.json", dir);
	write_file(p, "[{\"targets\": [\"a:1\", \"b:2\"], \"labels\": "
	    "{\"env\": \"x\"}},\n\t{\"targets\": [\"c:3\"]}]\n");
	assert_int_equal(scrape_sd_read_file(p, &g, &n), 0);
	assert_int_equal(n, 2);
	assert_int_equal(g[0].ntargets, 2);
	assert_string_equal(g[0].targets[1], "b:2");
	assert_string_equal(relabel_labels_get(&g[0].labels, "env", 3, NULL), "x");
	assert_string_equal(relabel_labels_get(&g[1].labels, "__meta_filepath",
	    15, NULL), p);
	for (i = 0; i < n; i++)
		scrape_group_release(&g[i]);
	free(g);
	unlink(p);

	snprintf(p, sizeof(p), "%s/b.yml", dir);
	write_file(p, "- targets: ['d:4']\n  labels:\n    team: y\n");
	assert_int_equal(scrape_sd_read_file(p, &g, &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(g[0].targets[0], "d:4");
	assert_string_equal(relabel_labels_get(&g[0].labels, "team", 4, NULL), "y");
	scrape_group_release(&g[0]);
	free(g);

	write_file(p, "- targets: ['d:4']\n  labls: {}\n");
	assert_int_equal(scrape_sd_read_file(p, &g, &n), -EINVAL);
	assert_non_null(strstr(err_detail(), "b.yml:2: unknown key 'labls'"));
	unlink(p);
	snprintf(p, sizeof(p), "%s/c.json", dir);
	write_file(p, "{\"targets\": []}");
	assert_int_equal(scrape_sd_read_file(p, &g, &n), -EINVAL);
	write_file(p, "[{\"targets\": [1]}]");
	assert_int_equal(scrape_sd_read_file(p, &g, &n), -EINVAL);
	unlink(p);
	assert_int_equal(scrape_sd_read_file(p, &g, &n), -ENOENT);
	rmdir(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_full),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_durations),
		cmocka_unit_test(test_targets),
		cmocka_unit_test(test_file_sd),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
