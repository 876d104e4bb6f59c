/*
 * scrape_config.c - the scrape part of a prometheus.yml (scrape.h,
 * shale-scrape(5)): read with libyaml, walked as engine/lsm's settings
 * are, every error naming the file, the line and the key.
 *
 * The input is parsed once as events, to check its syntax and its depth
 * (libyaml's scanner takes time quadratic in the depth of flow
 * collections), then loaded as a document and walked: global first,
 * wherever it stands, so that the jobs can take its defaults; then
 * scrape_configs. Keys of prometheus.yml that mean nothing to a scraper
 * (alerting, rule_files, remote_write ...) are ignored with one log
 * line; keys of a job that Prometheus has and shale does not (other
 * service discoveries, limits) are errors, as a silently ignored limit
 * would mislead; anything else is an unknown key.
 *
 * The defaults and checks are Prometheus 2.42's: scrape_interval 1m,
 * scrape_timeout 10s (or the interval, if shorter), a timeout longer
 * than its interval refused, job names unique, metrics_path /metrics,
 * scheme http, honor_timestamps true, basic_auth's password and
 * password_file exclusive, and so are basic_auth and a bearer token.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <yaml.h>

#include "scrape/scrape_int.h"
#include "util/error.h"
#include "util/log.h"
#include "util/xmalloc.h"

#define MSG_MAX		512

struct walk {
	yaml_document_t	*doc;
	const char	*name;
};

static size_t
line_of(const yaml_node_t *n)
{
	return n->start_mark.line + 1;
}

/* "name:line: message" as the detail; -EINVAL. */
static int __attribute__((format(printf, 3, 4)))
fail(struct walk *w, const yaml_node_t *n, const char *fmt, ...)
{
	char msg[MSG_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return err_set(-EINVAL, "%s:%zu: %s", w->name, line_of(n), msg);
}

static const char *
kind(const yaml_node_t *n)
{
	switch (n->type) {
	case YAML_SCALAR_NODE:		return "a scalar";
	case YAML_SEQUENCE_NODE:	return "a sequence";
	case YAML_MAPPING_NODE:		return "a mapping";
	case YAML_NO_NODE:		break;
	}
	return "nothing";
}

static int
is_null(const yaml_node_t *n)
{
	const char *v;

	if (n->type != YAML_SCALAR_NODE ||
	    n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return 0;
	v = (const char *)n->data.scalar.value;
	return *v == '\0' || strcmp(v, "~") == 0 || strcasecmp(v, "null") == 0;
}

static yaml_node_t *
node(struct walk *w, int id)
{
	return yaml_document_get_node(w->doc, id);
}

/* A scalar without NUL bytes: 0 and *s (borrowed), or -EINVAL. */
static int
scalar(struct walk *w, yaml_node_t *n, const char *key, const char **s)
{
	if (n->type != YAML_SCALAR_NODE)
		return fail(w, n, "%s: expected a string, found %s", key, kind(n));
	if (strlen((const char *)n->data.scalar.value) != n->data.scalar.length)
		return fail(w, n, "%s: a NUL byte in a string", key);
	*s = (const char *)n->data.scalar.value;
	return 0;
}

static int
str_dup(struct walk *w, yaml_node_t *n, const char *key, char **out)
{
	const char *s = NULL;
	int rc;

	if (is_null(n))
		return 0;
	if ((rc = scalar(w, n, key, &s)) != 0)
		return rc;
	free(*out);
	*out = xstrdup(s);
	return 0;
}

static int
boolean(struct walk *w, yaml_node_t *n, const char *key, int *out)
{
	const char *s = NULL;
	int rc;

	if ((rc = scalar(w, n, key, &s)) != 0)
		return rc;
	if (strcmp(s, "true") == 0 || strcmp(s, "True") == 0 ||
	    strcmp(s, "TRUE") == 0)
		*out = 1;
	else if (strcmp(s, "false") == 0 || strcmp(s, "False") == 0 ||
	    strcmp(s, "FALSE") == 0)
		*out = 0;
	else
		return fail(w, n, "%s: '%s' is not a boolean", key, s);
	return 0;
}

static int
duration(struct walk *w, yaml_node_t *n, const char *key, int64_t *ms)
{
	const char *s = NULL;
	int rc;

	if ((rc = scalar(w, n, key, &s)) != 0)
		return rc;
	if (scrape_parse_duration(s, strlen(s), ms) != 0)
		return fail(w, n, "%s: '%s' is not a duration (e.g. 15s, 1m30s, "
		    "500ms)", key, s);
	return 0;
}

static int
mapping(struct walk *w, yaml_node_t *n, const char *key)
{
	if (n->type != YAML_MAPPING_NODE)
		return fail(w, n, "%s: expected a mapping, found %s", key,
		    kind(n));
	return 0;
}

static int
sequence(struct walk *w, yaml_node_t *n, const char *key)
{
	if (n->type != YAML_SEQUENCE_NODE)
		return fail(w, n, "%s: expected a sequence, found %s", key,
		    kind(n));
	return 0;
}

/* The key of a pair: a string not seen before in mapping m. */
static int
pair_key(struct walk *w, yaml_node_t *m, yaml_node_pair_t *p, const char **k)
{
	yaml_node_pair_t *q;
	yaml_node_t *kn, *qk;
	int rc;

	kn = node(w, p->key);
	if ((rc = scalar(w, kn, "a key", k)) != 0)
		return rc;
	for (q = m->data.mapping.pairs.start; q < p; q++) {
		qk = node(w, q->key);
		if (strcmp((const char *)qk->data.scalar.value, *k) == 0)
			return fail(w, kn, "duplicate key '%s' (first at line "
			    "%zu)", *k, line_of(qk));
	}
	return 0;
}

#define EACH_PAIR(m, p) \
	for ((p) = (m)->data.mapping.pairs.start; \
	    (p) < (m)->data.mapping.pairs.top; (p)++)
#define EACH_ITEM(s, it) \
	for ((it) = (s)->data.sequence.items.start; \
	    (it) < (s)->data.sequence.items.top; (it)++)

static int
unknown(struct walk *w, yaml_node_t *m, yaml_node_pair_t *p, const char *k,
    const char *where)
{
	(void)m;
	return fail(w, node(w, p->key), "unknown key '%s' in %s", k, where);
}

/* Label names and values of a labels: or external_labels: mapping. */
static int
label_map(struct walk *w, yaml_node_t *m, const char *key,
    struct relabel_labels *out)
{
	yaml_node_pair_t *p;
	const char *k, *v;
	int rc;

	if (is_null(m))
		return 0;
	if ((rc = mapping(w, m, key)) != 0)
		return rc;
	EACH_PAIR(m, p) {
		if ((rc = pair_key(w, m, p, &k)) != 0)
			return rc;
		if (labels_check_name(k, strlen(k), LABELS_RESERVED) != 0)
			return fail(w, node(w, p->key), "%s: '%s' is not a valid "
			    "label name", key, k);
		if ((rc = scalar(w, node(w, p->value), k, &v)) != 0)
			return rc;
		if (labels_check_value(k, v, strlen(v)) != 0)
			return fail(w, node(w, p->value), "%s: %s", key,
			    err_detail());
		relabel_labels_set(out, k, strlen(k), v, strlen(v));
	}
	return 0;
}

/* A sequence of strings into a new array. */
static int
str_list(struct walk *w, yaml_node_t *s, const char *key, char ***out,
    size_t *n)
{
	yaml_node_item_t *it;
	const char *v;
	int rc;

	if (is_null(s))
		return 0;
	if ((rc = sequence(w, s, key)) != 0)
		return rc;
	EACH_ITEM(s, it) {
		if ((rc = scalar(w, node(w, *it), key, &v)) != 0)
			return rc;
		*out = xrealloc(*out, (*n + 1) * sizeof(char *));
		(*out)[(*n)++] = xstrdup(v);
	}
	return 0;
}

/* ---- durations ---- */

int
scrape_parse_duration(const char *s, size_t n, int64_t *ms)
{
	static const struct { const char *u; int64_t ms; } units[] = {
		{ "y", 365LL * 86400000 }, { "w", 7LL * 86400000 },
		{ "d", 86400000 }, { "h", 3600000 }, { "m", 60000 },
		{ "s", 1000 }, { "ms", 1 },
	};
	size_t i = 0, u = 0, k, ul;
	int64_t total = 0, v;

	if (n == 1 && s[0] == '0') {
		*ms = 0;
		return 0;
	}
	if (n == 0)
		return -EINVAL;
	while (i < n) {
		if (s[i] < '0' || s[i] > '9')
			return -EINVAL;
		for (v = 0; i < n && s[i] >= '0' && s[i] <= '9'; i++) {
			if (v > INT64_MAX / 10)
				return -EINVAL;
			v = v * 10 + (s[i] - '0');
		}
		/* the longest unit that is spelt here, largest first */
		for (k = u; k < sizeof(units) / sizeof(units[0]); k++) {
			ul = strlen(units[k].u);
			if (i + ul <= n && memcmp(s + i, units[k].u, ul) == 0 &&
			    !(ul == 1 && units[k].u[0] == 'm' && i + 1 < n &&
			    s[i + 1] == 's'))
				break;
		}
		if (k == sizeof(units) / sizeof(units[0]))
			return -EINVAL;
		if (v > (INT64_MAX - total) / units[k].ms)
			return -EINVAL;
		total += v * units[k].ms;
		i += strlen(units[k].u);
		u = k + 1;
	}
	*ms = total;
	return 0;
}

void
scrape_format_duration(int64_t ms, char *out, size_t size)
{
	static const struct { const char *u; int64_t ms; int exact; } units[] = {
		{ "y", 365LL * 86400000, 1 }, { "w", 7LL * 86400000, 1 },
		{ "d", 86400000, 0 }, { "h", 3600000, 0 }, { "m", 60000, 0 },
		{ "s", 1000, 0 }, { "ms", 1, 0 },
	};
	size_t i, len = 0;
	int64_t v;

	if (ms <= 0) {
		snprintf(out, size, "0s");
		return;
	}
	out[0] = '\0';
	for (i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (units[i].exact && ms % units[i].ms != 0)
			continue;
		if ((v = ms / units[i].ms) > 0 && len < size) {
			len += (size_t)snprintf(out + len, size - len, "%lld%s",
			    (long long)v, units[i].u);
			ms -= v * units[i].ms;
		}
	}
}

/* ---- freeing ---- */

void
scrape_group_release(struct scrape_group *g)
{
	size_t i;

	for (i = 0; i < g->ntargets; i++)
		free(g->targets[i]);
	free(g->targets);
	relabel_labels_release(&g->labels);
	free(g->source);
	memset(g, 0, sizeof(*g));
}

static void
job_release(struct scrape_job *j)
{
	size_t i, k;

	free(j->name);
	free(j->metrics_path);
	free(j->scheme);
	for (i = 0; i < j->nparams; i++) {
		free(j->params[i].name);
		free(j->params[i].value);
	}
	free(j->params);
	free(j->username);
	free(j->password);
	free(j->password_file);
	free(j->bearer_token);
	free(j->bearer_token_file);
	free(j->ca_file);
	free(j->cert_file);
	free(j->key_file);
	for (i = 0; i < j->ngroups; i++)
		scrape_group_release(&j->groups[i]);
	free(j->groups);
	for (i = 0; i < j->nfile_sd; i++) {
		for (k = 0; k < j->file_sd[i].nfiles; k++)
			free(j->file_sd[i].files[k]);
		free(j->file_sd[i].files);
	}
	free(j->file_sd);
	for (i = 0; i < j->nrelabel; i++)
		relabel_free(j->relabel[i]);
	free(j->relabel);
	for (i = 0; i < j->nmetric_relabel; i++)
		relabel_free(j->metric_relabel[i]);
	free(j->metric_relabel);
}

void
scrape_config_free(struct scrape_config *c)
{
	size_t i;

	if (c == NULL)
		return;
	for (i = 0; i < c->njobs; i++)
		job_release(&c->jobs[i]);
	free(c->jobs);
	relabel_labels_release(&c->external_labels);
	free(c->name);
	free(c);
}

size_t
scrape_config_jobs(const struct scrape_config *c)
{
	return c->njobs;
}

/* ---- the parts of a job ---- */

static int
relabel_list(struct walk *w, yaml_node_t *s, const char *key,
    struct relabel ***out, size_t *n)
{
	yaml_node_item_t *it;
	yaml_node_pair_t *p;
	yaml_node_t *m, *v;
	struct relabel_config rc;
	const char *k, *str, *src[RELABEL_SOURCES_MAX];
	struct relabel *r;
	int e, have_action;
	yaml_node_item_t *si;
	char *end;

	if (is_null(s))
		return 0;
	if ((e = sequence(w, s, key)) != 0)
		return e;
	EACH_ITEM(s, it) {
		m = node(w, *it);
		if ((e = mapping(w, m, key)) != 0)
			return e;
		memset(&rc, 0, sizeof(rc));
		rc.source_labels = src;
		have_action = 0;
		EACH_PAIR(m, p) {
			if ((e = pair_key(w, m, p, &k)) != 0)
				return e;
			v = node(w, p->value);
			if (strcmp(k, "source_labels") == 0) {
				if (is_null(v))
					continue;
				if ((e = sequence(w, v, k)) != 0)
					return e;
				EACH_ITEM(v, si) {
					if (rc.nsource == RELABEL_SOURCES_MAX)
						return fail(w, v, "more than %d "
						    "source_labels",
						    RELABEL_SOURCES_MAX);
					if ((e = scalar(w, node(w, *si), k,
					    &src[rc.nsource])) != 0)
						return e;
					rc.nsource++;
				}
				continue;
			}
			if (strcmp(k, "modulus") == 0) {
				if ((e = scalar(w, v, k, &str)) != 0)
					return e;
				errno = 0;
				rc.modulus = strtoull(str, &end, 10);
				if (*str == '\0' || *str == '-' || *end != '\0' ||
				    errno != 0)
					return fail(w, v, "modulus: '%s' is not "
					    "a number", str);
				continue;
			}
			if (is_null(v))
				continue;
			if ((e = scalar(w, v, k, &str)) != 0)
				return e;
			if (strcmp(k, "separator") == 0)
				rc.separator = str;
			else if (strcmp(k, "regex") == 0)
				rc.regex = str;
			else if (strcmp(k, "target_label") == 0)
				rc.target_label = str;
			else if (strcmp(k, "replacement") == 0)
				rc.replacement = str;
			else if (strcmp(k, "action") == 0) {
				if (relabel_action_parse(str, strlen(str),
				    &rc.action) != 0)
					return fail(w, v, "%s", err_detail());
				have_action = 1;
			} else
				return unknown(w, m, p, k, key);
		}
		(void)have_action;
		if (relabel_new(&rc, &r) != 0)
			return fail(w, m, "%s: %s", key, err_detail());
		*out = xrealloc(*out, (*n + 1) * sizeof(**out));
		(*out)[(*n)++] = r;
	}
	return 0;
}

static int
static_configs(struct walk *w, yaml_node_t *s, struct scrape_job *j)
{
	yaml_node_item_t *it;
	yaml_node_pair_t *p;
	yaml_node_t *m;
	struct scrape_group *g;
	const char *k;
	int rc;

	if (is_null(s))
		return 0;
	if ((rc = sequence(w, s, "static_configs")) != 0)
		return rc;
	EACH_ITEM(s, it) {
		m = node(w, *it);
		if ((rc = mapping(w, m, "static_configs")) != 0)
			return rc;
		j->groups = xrealloc(j->groups, (j->ngroups + 1) *
		    sizeof(*j->groups));
		g = &j->groups[j->ngroups++];
		memset(g, 0, sizeof(*g));
		EACH_PAIR(m, p) {
			if ((rc = pair_key(w, m, p, &k)) != 0)
				return rc;
			if (strcmp(k, "targets") == 0)
				rc = str_list(w, node(w, p->value), k,
				    &g->targets, &g->ntargets);
			else if (strcmp(k, "labels") == 0)
				rc = label_map(w, node(w, p->value), k,
				    &g->labels);
			else
				rc = unknown(w, m, p, k, "static_configs");
			if (rc != 0)
				return rc;
		}
	}
	return 0;
}

static int
file_sd_configs(struct walk *w, yaml_node_t *s, struct scrape_job *j)
{
	yaml_node_item_t *it;
	yaml_node_pair_t *p;
	yaml_node_t *m, *v;
	struct scrape_file_sd *f;
	const char *k, *dot;
	size_t i;
	int rc;

	if (is_null(s))
		return 0;
	if ((rc = sequence(w, s, "file_sd_configs")) != 0)
		return rc;
	EACH_ITEM(s, it) {
		m = node(w, *it);
		if ((rc = mapping(w, m, "file_sd_configs")) != 0)
			return rc;
		j->file_sd = xrealloc(j->file_sd, (j->nfile_sd + 1) *
		    sizeof(*j->file_sd));
		f = &j->file_sd[j->nfile_sd++];
		memset(f, 0, sizeof(*f));
		f->refresh_ms = SCRAPE_DEFAULT_REFRESH_MS;
		EACH_PAIR(m, p) {
			if ((rc = pair_key(w, m, p, &k)) != 0)
				return rc;
			v = node(w, p->value);
			if (strcmp(k, "files") == 0) {
				if ((rc = str_list(w, v, k, &f->files,
				    &f->nfiles)) != 0)
					return rc;
				for (i = 0; i < f->nfiles; i++) {
					dot = strrchr(f->files[i], '.');
					if (dot == NULL || (strcmp(dot, ".json") &&
					    strcmp(dot, ".yml") &&
					    strcmp(dot, ".yaml")))
						return fail(w, v, "path name "
						    "\"%s\" is not valid for "
						    "file discovery (*.json, "
						    "*.yml or *.yaml)",
						    f->files[i]);
				}
			} else if (strcmp(k, "refresh_interval") == 0) {
				if ((rc = duration(w, v, k, &f->refresh_ms)) != 0)
					return rc;
				if (f->refresh_ms <= 0)
					return fail(w, v, "refresh_interval "
					    "must be positive");
			} else
				return unknown(w, m, p, k, "file_sd_configs");
		}
		if (f->nfiles == 0)
			return fail(w, m, "file service discovery config must "
			    "contain at least one path name");
	}
	return 0;
}

static int
params(struct walk *w, yaml_node_t *m, struct scrape_job *j)
{
	yaml_node_pair_t *p;
	yaml_node_item_t *it;
	yaml_node_t *v;
	const char *k, *s;
	int rc;

	if (is_null(m))
		return 0;
	if ((rc = mapping(w, m, "params")) != 0)
		return rc;
	EACH_PAIR(m, p) {
		if ((rc = pair_key(w, m, p, &k)) != 0)
			return rc;
		v = node(w, p->value);
		if (is_null(v))
			continue;
		if ((rc = sequence(w, v, k)) != 0)
			return rc;
		EACH_ITEM(v, it) {
			if ((rc = scalar(w, node(w, *it), k, &s)) != 0)
				return rc;
			j->params = xrealloc(j->params, (j->nparams + 1) *
			    sizeof(*j->params));
			j->params[j->nparams].name = xstrdup(k);
			j->params[j->nparams++].value = xstrdup(s);
		}
	}
	return 0;
}

static int
basic_auth(struct walk *w, yaml_node_t *m, struct scrape_job *j)
{
	yaml_node_pair_t *p;
	const char *k;
	int rc;

	if (is_null(m))
		return 0;
	if ((rc = mapping(w, m, "basic_auth")) != 0)
		return rc;
	EACH_PAIR(m, p) {
		if ((rc = pair_key(w, m, p, &k)) != 0)
			return rc;
		if (strcmp(k, "username") == 0)
			rc = str_dup(w, node(w, p->value), k, &j->username);
		else if (strcmp(k, "password") == 0)
			rc = str_dup(w, node(w, p->value), k, &j->password);
		else if (strcmp(k, "password_file") == 0)
			rc = str_dup(w, node(w, p->value), k, &j->password_file);
		else
			rc = unknown(w, m, p, k, "basic_auth");
		if (rc != 0)
			return rc;
	}
	if (j->password != NULL && j->password_file != NULL)
		return fail(w, m, "at most one of basic_auth password & "
		    "password_file must be configured");
	if (j->username == NULL)
		j->username = xstrdup("");
	return 0;
}

static int
authorization(struct walk *w, yaml_node_t *m, struct scrape_job *j)
{
	yaml_node_pair_t *p;
	yaml_node_t *v;
	const char *k, *s;
	int rc;

	if (is_null(m))
		return 0;
	if ((rc = mapping(w, m, "authorization")) != 0)
		return rc;
	EACH_PAIR(m, p) {
		if ((rc = pair_key(w, m, p, &k)) != 0)
			return rc;
		v = node(w, p->value);
		if (strcmp(k, "type") == 0) {
			if ((rc = scalar(w, v, k, &s)) != 0)
				return rc;
			if (strcasecmp(s, "Bearer") != 0)
				return fail(w, v, "authorization type '%s' is "
				    "not supported (only Bearer)", s);
		} else if (strcmp(k, "credentials") == 0)
			rc = str_dup(w, v, k, &j->bearer_token);
		else if (strcmp(k, "credentials_file") == 0)
			rc = str_dup(w, v, k, &j->bearer_token_file);
		else
			rc = unknown(w, m, p, k, "authorization");
		if (rc != 0)
			return rc;
	}
	return 0;
}

static int
tls_config(struct walk *w, yaml_node_t *m, struct scrape_job *j)
{
	yaml_node_pair_t *p;
	yaml_node_t *v;
	const char *k;
	int rc;

	if (is_null(m))
		return 0;
	if ((rc = mapping(w, m, "tls_config")) != 0)
		return rc;
	EACH_PAIR(m, p) {
		if ((rc = pair_key(w, m, p, &k)) != 0)
			return rc;
		v = node(w, p->value);
		if (strcmp(k, "ca_file") == 0)
			rc = str_dup(w, v, k, &j->ca_file);
		else if (strcmp(k, "cert_file") == 0)
			rc = str_dup(w, v, k, &j->cert_file);
		else if (strcmp(k, "key_file") == 0)
			rc = str_dup(w, v, k, &j->key_file);
		else if (strcmp(k, "server_name") == 0 ||
		    strcmp(k, "min_version") == 0)
			rc = fail(w, node(w, p->key), "tls_config: '%s' is not "
			    "supported", k);
		else if (strcmp(k, "insecure_skip_verify") == 0)
			rc = boolean(w, v, k, &j->insecure_skip_verify);
		else
			rc = unknown(w, m, p, k, "tls_config");
		if (rc != 0)
			return rc;
	}
	if ((j->cert_file == NULL) != (j->key_file == NULL))
		return fail(w, m, "tls_config needs both cert_file and "
		    "key_file, or neither");
	return 0;
}

/* Keys of a Prometheus job that shale does not implement. */
static int
unsupported(const char *k)
{
	static const char *const keys[] = {
		"sample_limit", "label_limit", "label_name_length_limit",
		"label_value_length_limit", "target_limit", "body_size_limit",
		"proxy_url", "no_proxy", "proxy_from_environment",
		"proxy_connect_header", "oauth2", "scrape_classic_histograms",
		"native_histogram_bucket_limit",
	};
	size_t i, n = strlen(k);

	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (strcmp(k, keys[i]) == 0)
			return 1;
	/* every discovery but static and file */
	return n > 11 && strcmp(k + n - 11, "_sd_configs") == 0 &&
	    strcmp(k, "file_sd_configs") != 0;
}

static int
job(struct walk *w, yaml_node_t *m, const struct scrape_config *c,
    struct scrape_job *j)
{
	yaml_node_pair_t *p;
	yaml_node_t *v;
	const char *k;
	int64_t interval = -1, timeout = -1;
	int rc, have_bearer = 0;
	char where[96];

	j->line = line_of(m);
	j->honor_timestamps = 1;
	/* job_name first, for the messages about the rest */
	EACH_PAIR(m, p) {
		if ((rc = pair_key(w, m, p, &k)) != 0)
			return rc;
		if (strcmp(k, "job_name") == 0 &&
		    (rc = str_dup(w, node(w, p->value), k, &j->name)) != 0)
			return rc;
	}
	if (j->name == NULL || *j->name == '\0')
		return fail(w, m, "job_name is empty");
	snprintf(where, sizeof(where), "scrape config '%.64s'", j->name);
	EACH_PAIR(m, p) {
		(void)pair_key(w, m, p, &k);
		v = node(w, p->value);
		rc = 0;
		if (strcmp(k, "job_name") == 0)
			continue;
		else if (strcmp(k, "scrape_interval") == 0)
			rc = duration(w, v, k, &interval);
		else if (strcmp(k, "scrape_timeout") == 0)
			rc = duration(w, v, k, &timeout);
		else if (strcmp(k, "metrics_path") == 0)
			rc = str_dup(w, v, k, &j->metrics_path);
		else if (strcmp(k, "scheme") == 0) {
			if ((rc = str_dup(w, v, k, &j->scheme)) == 0 &&
			    j->scheme != NULL && strcmp(j->scheme, "http") &&
			    strcmp(j->scheme, "https"))
				rc = fail(w, v, "scheme: '%s' is not http or "
				    "https", j->scheme);
		} else if (strcmp(k, "params") == 0)
			rc = params(w, v, j);
		else if (strcmp(k, "honor_labels") == 0)
			rc = boolean(w, v, k, &j->honor_labels);
		else if (strcmp(k, "honor_timestamps") == 0)
			rc = boolean(w, v, k, &j->honor_timestamps);
		else if (strcmp(k, "basic_auth") == 0)
			rc = basic_auth(w, v, j);
		else if (strcmp(k, "authorization") == 0) {
			rc = authorization(w, v, j);
			have_bearer = 1;
		} else if (strcmp(k, "bearer_token") == 0) {
			rc = str_dup(w, v, k, &j->bearer_token);
			have_bearer = 1;
		} else if (strcmp(k, "bearer_token_file") == 0) {
			rc = str_dup(w, v, k, &j->bearer_token_file);
			have_bearer = 1;
		} else if (strcmp(k, "tls_config") == 0)
			rc = tls_config(w, v, j);
		else if (strcmp(k, "static_configs") == 0)
			rc = static_configs(w, v, j);
		else if (strcmp(k, "file_sd_configs") == 0)
			rc = file_sd_configs(w, v, j);
		else if (strcmp(k, "relabel_configs") == 0)
			rc = relabel_list(w, v, k, &j->relabel, &j->nrelabel);
		else if (strcmp(k, "metric_relabel_configs") == 0)
			rc = relabel_list(w, v, k, &j->metric_relabel,
			    &j->nmetric_relabel);
		else if (strcmp(k, "follow_redirects") == 0 ||
		    strcmp(k, "enable_http2") == 0) {
			int b;

			rc = boolean(w, v, k, &b);
		} else if (unsupported(k))
			rc = fail(w, node(w, p->key), "%s: '%s' is not "
			    "supported", where, k);
		else
			rc = unknown(w, m, p, k, where);
		if (rc != 0)
			return rc;
	}
	if (j->bearer_token != NULL && j->bearer_token_file != NULL)
		return fail(w, m, "%s: at most one of bearer_token & "
		    "bearer_token_file must be configured", where);
	if (have_bearer && j->username != NULL)
		return fail(w, m, "%s: at most one of basic_auth, oauth2, "
		    "bearer_token & bearer_token_file must be configured", where);
	if (j->metrics_path == NULL)
		j->metrics_path = xstrdup("/metrics");
	if (j->scheme == NULL)
		j->scheme = xstrdup("http");
	/* Prometheus's rules for the defaults (config.go) */
	j->interval_ms = interval > 0 ? interval : c->interval_ms;
	if (timeout > j->interval_ms)
		return fail(w, m, "scrape timeout greater than scrape interval "
		    "for scrape config with job name \"%s\"", j->name);
	if (timeout <= 0)
		timeout = c->timeout_ms > j->interval_ms ? j->interval_ms :
		    c->timeout_ms;
	j->timeout_ms = timeout;
	if (j->interval_ms <= 0 || j->timeout_ms <= 0)
		return fail(w, m, "%s: scrape_interval and scrape_timeout must "
		    "be positive", where);
	if (j->interval_ms > SCRAPE_INTERVAL_MAX_MS)
		return fail(w, m, "%s: scrape_interval past 30d", where);
	return 0;
}

static int
global(struct walk *w, yaml_node_t *m, struct scrape_config *c)
{
	yaml_node_pair_t *p;
	yaml_node_t *v;
	const char *k;
	int64_t interval = -1, timeout = -1, ignored;
	int rc;

	if (is_null(m))
		return 0;
	if ((rc = mapping(w, m, "global")) != 0)
		return rc;
	EACH_PAIR(m, p) {
		if ((rc = pair_key(w, m, p, &k)) != 0)
			return rc;
		v = node(w, p->value);
		if (strcmp(k, "scrape_interval") == 0)
			rc = duration(w, v, k, &interval);
		else if (strcmp(k, "scrape_timeout") == 0)
			rc = duration(w, v, k, &timeout);
		else if (strcmp(k, "evaluation_interval") == 0)
			rc = duration(w, v, k, &ignored);
		else if (strcmp(k, "external_labels") == 0)
			rc = label_map(w, v, k, &c->external_labels);
		else if (strcmp(k, "query_log_file") == 0)
			rc = 0;
		else
			rc = unknown(w, m, p, k, "global");
		if (rc != 0)
			return rc;
	}
	if (interval > 0)
		c->interval_ms = interval;
	if (timeout > c->interval_ms)
		return fail(w, m, "global scrape timeout greater than scrape "
		    "interval");
	if (timeout > 0)
		c->timeout_ms = timeout;
	else if (c->timeout_ms > c->interval_ms)
		c->timeout_ms = c->interval_ms;
	return 0;
}

/* Top-level keys of prometheus.yml that a scraper has no use for. */
static int
ignored_top(const char *k)
{
	static const char *const keys[] = {
		"alerting", "rule_files", "remote_write", "remote_read",
		"storage", "tracing", "scrape_config_files",
	};
	size_t i;

	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (strcmp(k, keys[i]) == 0)
			return 1;
	return 0;
}

static int
walk_root(struct walk *w, yaml_node_t *root, struct scrape_config *c)
{
	yaml_node_pair_t *p;
	yaml_node_item_t *it;
	yaml_node_t *v, *m;
	const char *k;
	size_t i;
	int rc;

	EACH_PAIR(root, p) {
		if ((rc = pair_key(w, root, p, &k)) != 0)
			return rc;
		if (strcmp(k, "global") == 0 &&
		    (rc = global(w, node(w, p->value), c)) != 0)
			return rc;
	}
	EACH_PAIR(root, p) {
		(void)pair_key(w, root, p, &k);
		v = node(w, p->value);
		if (strcmp(k, "global") == 0)
			continue;
		if (ignored_top(k)) {
			log_info("%s:%zu: '%s' ignored: shale only scrapes",
			    w->name, line_of(node(w, p->key)), k);
			continue;
		}
		if (strcmp(k, "scrape_configs") != 0)
			return unknown(w, root, p, k, "the top level");
		if (is_null(v))
			continue;
		if ((rc = sequence(w, v, k)) != 0)
			return rc;
		EACH_ITEM(v, it) {
			m = node(w, *it);
			if ((rc = mapping(w, m, "scrape_configs")) != 0)
				return rc;
			c->jobs = xrealloc(c->jobs, (c->njobs + 1) *
			    sizeof(*c->jobs));
			memset(&c->jobs[c->njobs], 0, sizeof(c->jobs[0]));
			c->njobs++;
			if ((rc = job(w, m, c, &c->jobs[c->njobs - 1])) != 0)
				return rc;
			for (i = 0; i + 1 < c->njobs; i++)
				if (strcmp(c->jobs[i].name,
				    c->jobs[c->njobs - 1].name) == 0)
					return fail(w, m, "found multiple "
					    "scrape configs with job name "
					    "\"%s\" (first at line %zu)",
					    c->jobs[i].name, c->jobs[i].line);
		}
	}
	return 0;
}

/* A libyaml parser error as the detail. */
static int
syntax_error(const yaml_parser_t *p, const char *name)
{
	if (p->error == YAML_MEMORY_ERROR)
		return err_set(-ENOMEM, "%s: out of memory parsing YAML", name);
	if (p->error == YAML_READER_ERROR)
		return err_set(-EINVAL, "%s: %s (byte %zu)", name,
		    p->problem ? p->problem : "cannot read", p->problem_offset);
	return err_set(-EINVAL, "%s:%zu: %s", name, p->problem_mark.line + 1,
	    p->problem ? p->problem : "syntax error");
}

/* Syntax and depth, by events, before libyaml builds a document. */
static int
check_depth(const char *in, size_t n, const char *name)
{
	yaml_parser_t p;
	yaml_event_t ev;
	int depth = 0, done = 0, rc = 0;

	if (!yaml_parser_initialize(&p))
		return err_set(-ENOMEM, "%s: cannot start a YAML parser", name);
	yaml_parser_set_input_string(&p, (const unsigned char *)in, n);
	while (!done && rc == 0) {
		if (!yaml_parser_parse(&p, &ev)) {
			rc = syntax_error(&p, name);
			break;
		}
		if (ev.type == YAML_SEQUENCE_START_EVENT ||
		    ev.type == YAML_MAPPING_START_EVENT) {
			if (++depth > SCRAPE_DEPTH_MAX)
				rc = err_set(-EINVAL, "%s:%zu: nested more "
				    "than %d deep", name,
				    ev.start_mark.line + 1, SCRAPE_DEPTH_MAX);
		} else if (ev.type == YAML_SEQUENCE_END_EVENT ||
		    ev.type == YAML_MAPPING_END_EVENT)
			depth--;
		else if (ev.type == YAML_STREAM_END_EVENT)
			done = 1;
		else if (ev.type == YAML_ALIAS_EVENT)
			/* aliases would let a small file stand for a huge one */
			rc = err_set(-EINVAL, "%s:%zu: YAML aliases are not "
			    "supported", name, ev.start_mark.line + 1);
		yaml_event_delete(&ev);
	}
	yaml_parser_delete(&p);
	return rc;
}

int
scrape_yaml_load(const char *in, size_t n, const char *name,
    yaml_document_t *doc)
{
	yaml_parser_t parser;
	yaml_document_t extra;
	int rc = 0;

	if (in == NULL)
		in = "";
	if ((rc = check_depth(in, n, name)) != 0)
		return rc;
	if (!yaml_parser_initialize(&parser))
		return err_set(-ENOMEM, "%s: cannot start a YAML parser", name);
	yaml_parser_set_input_string(&parser, (const unsigned char *)in, n);
	if (!yaml_parser_load(&parser, doc)) {
		rc = syntax_error(&parser, name);
		yaml_parser_delete(&parser);
		return rc;
	}
	if (!yaml_parser_load(&parser, &extra)) {
		rc = syntax_error(&parser, name);
		yaml_document_delete(doc);
	} else {
		if (yaml_document_get_root_node(&extra) != NULL) {
			rc = err_set(-EINVAL, "%s:%zu: more than one YAML "
			    "document", name,
			    yaml_document_get_root_node(&extra)->start_mark.line + 1);
			yaml_document_delete(doc);
		}
		yaml_document_delete(&extra);
	}
	yaml_parser_delete(&parser);
	return rc;
}

int
scrape_sd_parse_yaml(const char *data, size_t n, const char *name,
    struct scrape_group **out, size_t *nout)
{
	yaml_document_t doc;
	yaml_node_t *root, *m;
	yaml_node_item_t *it;
	yaml_node_pair_t *p;
	struct scrape_group *v = NULL, *g;
	struct walk w;
	const char *k;
	size_t nv = 0, i;
	int rc;

	*out = NULL;
	*nout = 0;
	if ((rc = scrape_yaml_load(data, n, name, &doc)) != 0)
		return rc;
	w.doc = &doc;
	w.name = name;
	root = yaml_document_get_root_node(&doc);
	if (root == NULL || is_null(root))
		goto done;
	if ((rc = sequence(&w, root, "a file_sd file")) != 0)
		goto done;
	EACH_ITEM(root, it) {
		m = node(&w, *it);
		if ((rc = mapping(&w, m, "a target group")) != 0)
			break;
		v = xrealloc(v, (nv + 1) * sizeof(*v));
		g = &v[nv++];
		memset(g, 0, sizeof(*g));
		EACH_PAIR(m, p) {
			if ((rc = pair_key(&w, m, p, &k)) != 0)
				break;
			if (strcmp(k, "targets") == 0)
				rc = str_list(&w, node(&w, p->value), k,
				    &g->targets, &g->ntargets);
			else if (strcmp(k, "labels") == 0)
				rc = label_map(&w, node(&w, p->value), k,
				    &g->labels);
			else
				rc = unknown(&w, m, p, k, "a target group");
			if (rc != 0)
				break;
		}
		if (rc != 0)
			break;
	}
done:
	yaml_document_delete(&doc);
	if (rc != 0) {
		for (i = 0; i < nv; i++)
			scrape_group_release(&v[i]);
		free(v);
		return rc;
	}
	*out = v;
	*nout = nv;
	return 0;
}

static struct scrape_config *
config_new(const char *name)
{
	struct scrape_config *c = xcalloc(1, sizeof(*c));

	c->name = xstrdup(name);
	c->interval_ms = SCRAPE_DEFAULT_INTERVAL_MS;
	c->timeout_ms = SCRAPE_DEFAULT_TIMEOUT_MS;
	relabel_labels_init(&c->external_labels);
	return c;
}

int
scrape_config_parse(const char *yaml, size_t n, const char *name,
    struct scrape_config **out)
{
	struct scrape_config *c;
	yaml_document_t doc;
	yaml_node_t *root;
	struct walk w;
	int rc;

	*out = NULL;
	if (name == NULL)
		name = "scrape config";
	if ((rc = scrape_yaml_load(yaml, n, name, &doc)) != 0)
		return rc;
	c = config_new(name);
	w.doc = &doc;
	w.name = name;
	root = yaml_document_get_root_node(&doc);
	if (root != NULL && !is_null(root)) {
		if (root->type != YAML_MAPPING_NODE)
			rc = fail(&w, root, "the top level must be a mapping, "
			    "found %s", kind(root));
		else
			rc = walk_root(&w, root, c);
	}
	yaml_document_delete(&doc);
	if (rc != 0) {
		scrape_config_free(c);
		return rc;
	}
	*out = c;
	return 0;
}

int
scrape_read_file(const char *path, size_t max, char **data, size_t *len)
{
	struct stat sb;
	char *d;
	size_t n = 0;
	ssize_t r;
	int fd, rc;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		rc = -errno;
		return err_set(rc, "cannot open '%s': %s", path, strerror(-rc));
	}
	if (fstat(fd, &sb) == -1 || !S_ISREG(sb.st_mode)) {
		close(fd);
		return err_set(-EINVAL, "'%s' is not a regular file", path);
	}
	d = xmalloc(max + 1);
	for (;;) {
		r = read(fd, d + n, max + 1 - n);
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1) {
			rc = -errno;
			close(fd);
			free(d);
			return err_set(rc, "cannot read '%s': %s", path,
			    strerror(-rc));
		}
		if (r == 0)
			break;
		n += (size_t)r;
		if (n > max) {
			close(fd);
			free(d);
			return err_set(-EFBIG, "'%s' is larger than %zu bytes",
			    path, max);
		}
	}
	close(fd);
	d[n] = '\0';
	*data = d;
	*len = n;
	return 0;
}

int
scrape_config_load(const char *path, struct scrape_config **out)
{
	char *data;
	size_t len;
	int rc;

	*out = NULL;
	if ((rc = scrape_read_file(path, SCRAPE_FILE_MAX, &data, &len)) != 0)
		return rc;
	rc = scrape_config_parse(data, len, path, out);
	free(data);
	return rc;
}

struct scrape_config *
scrape_config_self(const char *addr, const char *token, int64_t interval_ms)
{
	struct scrape_config *c = config_new("self-scrape");
	struct scrape_job *j;

	c->jobs = xcalloc(1, sizeof(*c->jobs));
	c->njobs = 1;
	j = &c->jobs[0];
	j->name = xstrdup(SCRAPE_SELF_JOB);
	j->interval_ms = interval_ms > 0 ? interval_ms : SCRAPE_SELF_INTERVAL_MS;
	j->timeout_ms = j->interval_ms < SCRAPE_DEFAULT_TIMEOUT_MS ?
	    j->interval_ms : SCRAPE_DEFAULT_TIMEOUT_MS;
	j->metrics_path = xstrdup("/metrics");
	j->scheme = xstrdup("http");
	j->honor_timestamps = 1;
	/* our own endpoint busy is no news for the operator */
	j->quiet = 1;
	if (token != NULL)
		j->bearer_token = xstrdup(token);
	j->groups = xcalloc(1, sizeof(*j->groups));
	j->ngroups = 1;
	j->groups[0].targets = xcalloc(1, sizeof(char *));
	j->groups[0].targets[0] = xstrdup(addr);
	j->groups[0].ntargets = 1;
	relabel_labels_init(&j->groups[0].labels);
	return c;
}
