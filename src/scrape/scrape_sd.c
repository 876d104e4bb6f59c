/*
 * scrape_sd.c - targets: the groups of a file_sd file, and a target's
 * labels and URL from an address, its group and its job, before and
 * after relabel_configs, as Prometheus 2.42 makes them
 * (scrape/target.go, PopulateLabels).
 *
 * Reading files: *.json with jansson, *.yml and *.yaml with libyaml;
 * both are a list of {targets: [...], labels: {...}}. Every group of a
 * file gets __meta_filepath, the file's path, as Prometheus gives it.
 */
#include "config.h"

#include <curl/curl.h>
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scrape/scrape_int.h"
#include "util/buf.h"
#include "util/error.h"
#include "util/xmalloc.h"

static int
json_groups(const char *data, size_t n, const char *path,
    struct scrape_group **out, size_t *nout)
{
	json_error_t je;
	json_t *root, *grp, *t, *ls, *v;
	struct scrape_group *gv = NULL, *g;
	const char *k;
	size_t i, j, ng = 0;
	int rc = 0;

	root = json_loadb(data, n, JSON_REJECT_DUPLICATES, &je);
	if (root == NULL)
		return err_set(-EINVAL, "%s:%d: %s", path, je.line, je.text);
	if (!json_is_array(root)) {
		rc = err_set(-EINVAL, "%s: expected a list of target groups",
		    path);
		goto out;
	}
	json_array_foreach(root, i, grp) {
		if (!json_is_object(grp)) {
			rc = err_set(-EINVAL, "%s: target group %zu is not an "
			    "object", path, i + 1);
			goto out;
		}
		gv = xrealloc(gv, (ng + 1) * sizeof(*gv));
		g = &gv[ng++];
		memset(g, 0, sizeof(*g));
		json_object_foreach(grp, k, v) {
			if (strcmp(k, "targets") == 0 && json_is_array(v)) {
				json_array_foreach(v, j, t) {
					if (!json_is_string(t)) {
						rc = err_set(-EINVAL, "%s: target "
						    "group %zu: a target that is "
						    "not a string", path, i + 1);
						goto out;
					}
					g->targets = xrealloc(g->targets,
					    (g->ntargets + 1) * sizeof(char *));
					g->targets[g->ntargets++] =
					    xstrdup(json_string_value(t));
				}
			} else if (strcmp(k, "labels") == 0 &&
			    json_is_object(v)) {
				const char *ln;

				json_object_foreach(v, ln, ls) {
					if (!json_is_string(ls) ||
					    labels_check_name(ln, strlen(ln),
					    LABELS_RESERVED) != 0) {
						rc = err_set(-EINVAL, "%s: target "
						    "group %zu: label '%s' is not "
						    "a name with a string value",
						    path, i + 1, ln);
						goto out;
					}
					relabel_labels_set(&g->labels, ln,
					    strlen(ln), json_string_value(ls),
					    json_string_length(ls));
				}
			} else {
				rc = err_set(-EINVAL, "%s: target group %zu: "
				    "unknown key '%s' or not of its type", path,
				    i + 1, k);
				goto out;
			}
		}
	}
out:
	json_decref(root);
	if (rc != 0) {
		for (i = 0; i < ng; i++)
			scrape_group_release(&gv[i]);
		free(gv);
		return rc;
	}
	*out = gv;
	*nout = ng;
	return 0;
}

int
scrape_sd_read_file(const char *path, struct scrape_group **out, size_t *n)
{
	const char *dot = strrchr(path, '.');
	char *data;
	size_t len, i;
	int rc;

	*out = NULL;
	*n = 0;
	if ((rc = scrape_read_file(path, SCRAPE_FILE_MAX, &data, &len)) != 0)
		return rc;
	if (dot != NULL && strcmp(dot, ".json") == 0)
		rc = json_groups(data, len, path, out, n);
	else
		rc = scrape_sd_parse_yaml(data, len, path, out, n);
	free(data);
	if (rc != 0)
		return rc;
	for (i = 0; i < *n; i++) {
		relabel_labels_set(&(*out)[i].labels, "__meta_filepath", 15,
		    path, strlen(path));
		(*out)[i].source = xstrdup(path);
	}
	return 0;
}

void
scrape_target_def_release(struct scrape_target_def *t)
{
	labels_free(t->full);
	labels_free(t->labels);
	free(t->url);
	memset(t, 0, sizeof(*t));
}

static void
set_default(struct relabel_labels *rl, const char *name, const char *value)
{
	if (relabel_labels_get(rl, name, strlen(name), NULL) == NULL)
		relabel_labels_set(rl, name, strlen(name), value, strlen(value));
}

/* A query string component, %-escaped as Go's url.QueryEscape does. */
static void
put_escaped(struct buf *b, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	unsigned char c;

	for (; *s != '\0'; s++) {
		c = (unsigned char)*s;
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '_' ||
		    c == '.' || c == '~')
			buf_putc(b, (char)c);
		else if (c == ' ')
			buf_putc(b, '+');
		else {
			buf_putc(b, '%');
			buf_putc(b, hex[c >> 4]);
			buf_putc(b, hex[c & 15]);
		}
	}
}

static int
str_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/*
 * The URL: scheme://address/path?query, the query of the job's params
 * with each __param_NAME label's value in place of NAME's first value,
 * names sorted as Go's url.Values.Encode() sorts them.
 */
static char *
make_url(const struct scrape_job *j, const struct relabel_labels *rl)
{
	struct buf b;
	const char **names = NULL, *pv;
	size_t nn = 0, i, k, first;
	char lname[LABELS_NAME_MAX + 16];

	buf_init(&b, 0);
	buf_printf(&b, "%s://%s%s", relabel_labels_get(rl, "__scheme__", 10,
	    NULL), relabel_labels_get(rl, "__address__", 11, NULL),
	    relabel_labels_get(rl, "__metrics_path__", 16, NULL) ?
	    relabel_labels_get(rl, "__metrics_path__", 16, NULL) : "");
	names = xcalloc(j->nparams + rl->n + 1, sizeof(*names));
	for (i = 0; i < j->nparams; i++)
		names[nn++] = j->params[i].name;
	for (i = 0; i < rl->n; i++)
		if (strncmp(rl->v[i].name, "__param_", 8) == 0)
			names[nn++] = rl->v[i].name + 8;
	qsort(names, nn, sizeof(*names), str_cmp);
	for (i = 0; i < nn; i++) {
		if (i > 0 && strcmp(names[i], names[i - 1]) == 0)
			continue;
		snprintf(lname, sizeof(lname), "__param_%s", names[i]);
		pv = relabel_labels_get(rl, lname, strlen(lname), NULL);
		first = 1;
		for (k = 0; k < j->nparams; k++) {
			if (strcmp(j->params[k].name, names[i]) != 0)
				continue;
			buf_putc(&b, strchr(b.data, '?') ? '&' : '?');
			put_escaped(&b, names[i]);
			buf_putc(&b, '=');
			put_escaped(&b, first && pv ? pv : j->params[k].value);
			first = 0;
		}
		if (first && pv != NULL) {
			buf_putc(&b, strchr(b.data, '?') ? '&' : '?');
			put_escaped(&b, names[i]);
			buf_putc(&b, '=');
			put_escaped(&b, pv);
		}
	}
	free(names);
	return buf_detach(&b, NULL);
}

/* Does the address name a port? host:port or [v6]:port. */
static int
has_port(const char *a)
{
	const char *c = strrchr(a, ':');

	if (c == NULL)
		return 0;
	if (a[0] == '[')
		return c > strchr(a, ']');
	/* a bare IPv6 address has more than one colon and no port */
	return strchr(a, ':') == c;
}

int
scrape_target_make(const struct scrape_job *j, const char *addr,
    const struct scrape_group *g, struct scrape_target_def *t)
{
	struct relabel_labels rl;
	char dur[32], lname[LABELS_NAME_MAX + 16];
	const char *a, *v;
	size_t i;
	int64_t ms;
	int rc;

	memset(t, 0, sizeof(*t));
	relabel_labels_init(&rl);
	for (i = 0; i < g->labels.n; i++)
		relabel_labels_set(&rl, g->labels.v[i].name,
		    g->labels.v[i].name_len, g->labels.v[i].value,
		    g->labels.v[i].value_len);
	relabel_labels_set(&rl, "__address__", 11, addr, strlen(addr));
	set_default(&rl, "job", j->name);
	scrape_format_duration(j->interval_ms, dur, sizeof(dur));
	set_default(&rl, "__scrape_interval__", dur);
	scrape_format_duration(j->timeout_ms, dur, sizeof(dur));
	set_default(&rl, "__scrape_timeout__", dur);
	set_default(&rl, "__metrics_path__", j->metrics_path);
	set_default(&rl, "__scheme__", j->scheme);
	for (i = 0; i < j->nparams; i++) {
		if (i > 0 && strcmp(j->params[i].name, j->params[i - 1].name) == 0)
			continue;
		snprintf(lname, sizeof(lname), "__param_%s", j->params[i].name);
		relabel_labels_set(&rl, lname, strlen(lname),
		    j->params[i].value, strlen(j->params[i].value));
	}
	if ((rc = relabel_process(j->relabel, j->nrelabel, &rl)) <= 0)
		goto out;
	a = relabel_labels_get(&rl, "__address__", 11, NULL);
	if (a == NULL) {
		rc = err_set(-EINVAL, "job '%s': a target with no address "
		    "(__address__) after relabelling", j->name);
		goto out;
	}
	if (strchr(a, '/') != NULL) {
		rc = err_set(-EINVAL, "job '%s': '%s' is not a valid hostname",
		    j->name, a);
		goto out;
	}
	if (!has_port(a)) {
		/* Prometheus 2.42 adds the scheme's port */
		char *p = xasprintf("%s:%s", a, strcmp(relabel_labels_get(&rl,
		    "__scheme__", 10, NULL) ? relabel_labels_get(&rl,
		    "__scheme__", 10, NULL) : "", "https") == 0 ? "443" : "80");

		relabel_labels_set(&rl, "__address__", 11, p, strlen(p));
		free(p);
		a = relabel_labels_get(&rl, "__address__", 11, NULL);
	}
	v = relabel_labels_get(&rl, "__scheme__", 10, NULL);
	if (v == NULL || (strcmp(v, "http") != 0 && strcmp(v, "https") != 0)) {
		rc = err_set(-EINVAL, "job '%s', target '%s': scheme '%s' is "
		    "not http or https", j->name, a, v ? v : "");
		goto out;
	}
	t->interval_ms = j->interval_ms;
	t->timeout_ms = j->timeout_ms;
	if ((v = relabel_labels_get(&rl, "__scrape_interval__", 19, NULL)) &&
	    (scrape_parse_duration(v, strlen(v), &ms) != 0 || ms <= 0 ||
	    ms > SCRAPE_INTERVAL_MAX_MS)) {
		rc = err_set(-EINVAL, "job '%s', target '%s': bad "
		    "__scrape_interval__ '%s'", j->name, a, v);
		goto out;
	} else if (v != NULL)
		t->interval_ms = ms;
	if ((v = relabel_labels_get(&rl, "__scrape_timeout__", 18, NULL)) &&
	    (scrape_parse_duration(v, strlen(v), &ms) != 0 || ms <= 0)) {
		rc = err_set(-EINVAL, "job '%s', target '%s': bad "
		    "__scrape_timeout__ '%s'", j->name, a, v);
		goto out;
	} else if (v != NULL)
		t->timeout_ms = ms;
	if (t->timeout_ms > t->interval_ms) {
		rc = err_set(-EINVAL, "job '%s', target '%s': scrape timeout "
		    "greater than its interval", j->name, a);
		goto out;
	}
	/* __meta_* go now; other "__" labels stay in the identity */
	for (i = 0; i < rl.n;) {
		if (strncmp(rl.v[i].name, "__meta_", 7) == 0)
			relabel_labels_set(&rl, rl.v[i].name, rl.v[i].name_len,
			    "", 0);
		else
			i++;
	}
	set_default(&rl, "instance", a);
	t->url = make_url(j, &rl);
	if ((rc = relabel_labels_build(&rl, 1, &t->full)) != 0 ||
	    (rc = relabel_labels_build(&rl, 0, &t->labels)) != 0) {
		char why[256];

		snprintf(why, sizeof(why), "%s", err_detail());
		rc = err_set(rc, "job '%s', target '%s': %s", j->name, a, why);
		goto out;
	}
	rc = 1;
out:
	relabel_labels_release(&rl);
	if (rc != 1)
		scrape_target_def_release(t);
	return rc;
}
