/*
 * settings_yaml.c - settings from a YAML file or string (libyaml), in the
 * format of SlateDB's settings.
 *
 * The input is parsed once as events, to check its syntax and its depth,
 * then loaded as a document whose top-level mapping is walked with the
 * key path so far: a key is looked up in the table (settings.c), a group
 * is walked in turn, and anything else is an error whose detail names
 * the file, the line and the key path, and for an unknown key the keys
 * that were expected. A duration may be serde's {secs: N, nanos: M}
 * mapping; a scalar goes to the parser of its row's type
 * (settings_value.c). One document only: a second one is an error.
 *
 * Not here: the table and the rules across keys (settings.c), the syntax
 * of values (settings_value.c).
 *
 * Not thread-safe, as settings.h says: load settings once, before the
 * engine starts.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <yaml.h>

#include "engine/lsm/settings.h"
#include "engine/lsm/settings_int.h"
#include "util/error.h"
#include "util/xmalloc.h"

#define SETTINGS_FILE_MAX	(1024 * 1024)	/* bytes in a settings file */
#define SETTINGS_DEPTH_MAX	8		/* nested collections in YAML */

/* What a YAML load carries along. */
struct yaml_walk {
	yaml_document_t		*doc;
	const char		*name;
	struct engine_settings	*s;
	size_t			*line;		/* by row; 0: not set here */
};

static int	yaml_walk_mapping(struct yaml_walk *, yaml_node_t *,
		    const char *);

static size_t
node_line(const yaml_node_t *n)
{
	return n->start_mark.line + 1;
}

/* "name:line: path: message" as the detail; -EINVAL. */
static int __attribute__((format(printf, 4, 5)))
yaml_fail(struct yaml_walk *w, const yaml_node_t *n, const char *path,
    const char *fmt, ...)
{
	char msg[SETTINGS_MSG_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return err_set(-EINVAL, "%s:%zu: %s%s%s", w->name, node_line(n),
	    path, *path ? ": " : "", msg);
}

static const char *
node_kind(const yaml_node_t *n)
{
	switch (n->type) {
	case YAML_SCALAR_NODE:		return "a scalar";
	case YAML_SEQUENCE_NODE:	return "a sequence";
	case YAML_MAPPING_NODE:		return "a mapping";
	case YAML_NO_NODE:		break;
	}
	return "nothing";
}

/* A plain scalar that the YAML core schema reads as null. */
static int
node_is_null(const yaml_node_t *n)
{
	const char *v;

	if (n->type != YAML_SCALAR_NODE ||
	    n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return 0;
	v = (const char *)n->data.scalar.value;
	if (strlen(v) != n->data.scalar.length)
		return 0;
	return *v == '\0' || strcmp(v, "~") == 0 || strcmp(v, "null") == 0 ||
	    strcmp(v, "Null") == 0 || strcmp(v, "NULL") == 0;
}

/*
 * Check that the key of pair `pair` in mapping m is a string not seen
 * before in m; 0 and the key in *key, or -EINVAL.
 */
static int
yaml_key(struct yaml_walk *w, yaml_node_t *m, yaml_node_pair_t *pair,
    const char *prefix, yaml_node_t **key)
{
	yaml_node_pair_t *q;
	yaml_node_t *k, *qk;
	char shown[SETTINGS_SHOW_MAX + 4];

	k = yaml_document_get_node(w->doc, pair->key);
	if (k == NULL || k->type != YAML_SCALAR_NODE)
		return yaml_fail(w, k != NULL ? k : m, prefix,
		    "keys must be strings, found %s",
		    k != NULL ? node_kind(k) : "nothing");
	for (q = m->data.mapping.pairs.start; q < pair; q++) {
		qk = yaml_document_get_node(w->doc, q->key);
		if (qk->data.scalar.length == k->data.scalar.length &&
		    memcmp(qk->data.scalar.value, k->data.scalar.value,
		    k->data.scalar.length) == 0) {
			settings_show((const char *)k->data.scalar.value,
			    k->data.scalar.length, shown, sizeof(shown));
			return yaml_fail(w, k, prefix, "duplicate key '%s' "
			    "(first at line %zu)", shown, node_line(qk));
		}
	}
	*key = k;
	return 0;
}

/* A {secs: N, nanos: M} duration: 0 and *v, or -EINVAL. */
static int
yaml_secs_nanos(struct yaml_walk *w, const struct setting *st,
    yaml_node_t *m, const char *path, uint64_t *v)
{
	yaml_node_pair_t *pair;
	yaml_node_t *k, *val;
	const char *ks, *vs;
	char shown[SETTINGS_SHOW_MAX + 4], msg[SETTINGS_MSG_MAX];
	char text[64];
	uint64_t secs = 0, nanos = 0, *dst, n;
	int have_secs = 0, neg, rc;

	for (pair = m->data.mapping.pairs.start;
	    pair < m->data.mapping.pairs.top; pair++) {
		if ((rc = yaml_key(w, m, pair, path, &k)) != 0)
			return rc;
		ks = (const char *)k->data.scalar.value;
		if (strlen(ks) != k->data.scalar.length)
			dst = NULL;
		else if (strcmp(ks, "secs") == 0) {
			dst = &secs;
			have_secs = 1;
		} else if (strcmp(ks, "nanos") == 0)
			dst = &nanos;
		else
			dst = NULL;
		if (dst == NULL) {
			settings_show(ks, k->data.scalar.length, shown, sizeof(shown));
			return yaml_fail(w, k, path, "unknown key '%s' in a "
			    "duration (expected secs, nanos)", shown);
		}
		val = yaml_document_get_node(w->doc, pair->value);
		if (val == NULL || val->type != YAML_SCALAR_NODE ||
		    node_is_null(val))
			return yaml_fail(w, val != NULL ? val : k, path,
			    "%s: expected an integer, found %s", ks,
			    val == NULL ? "nothing" : node_is_null(val) ?
			    "null" : node_kind(val));
		vs = (const char *)val->data.scalar.value;
		settings_show(vs, val->data.scalar.length, shown, sizeof(shown));
		rc = settings_parse_int(vs, &neg, &n);
		if (strlen(vs) != val->data.scalar.length || rc == -EINVAL ||
		    neg)
			return yaml_fail(w, val, path, "%s: '%s' is not a "
			    "number of %s", ks, shown,
			    dst == &secs ? "seconds" : "nanoseconds");
		if (rc != 0 || (dst == &nanos && n >= 1000000000))
			return yaml_fail(w, val, path, "%s: '%s' is out of "
			    "range", ks, shown);
		*dst = n;
	}
	if (!have_secs)
		return yaml_fail(w, m, path, "a {secs, nanos} duration needs "
		    "secs");
	snprintf(text, sizeof(text), "{secs: %llu, nanos: %llu}",
	    (unsigned long long)secs, (unsigned long long)nanos);
	n = secs;
	if (settings_mul_add(&n, SEC, nanos / 1000000, INT64_MAX) != 0)
		return yaml_fail(w, m, path, "'%s' is not a duration: too "
		    "large", text);
	if (nanos % 1000000 != 0)
		return yaml_fail(w, m, path, "'%s' is not a duration: not a "
		    "whole number of milliseconds", text);
	if (n < st->min || n > st->max) {
		settings_range_msg(st, text, msg, sizeof(msg));
		return yaml_fail(w, m, path, "%s", msg);
	}
	*v = n;
	return 0;
}

/* Apply node n to setting st (index idx), at path. */
static int
yaml_apply(struct yaml_walk *w, size_t idx, yaml_node_t *n, const char *path)
{
	const struct setting *st = &settings_table[idx];
	const char *text = NULL;
	char msg[SETTINGS_MSG_MAX];
	uint64_t v = 0;
	int rc;

	if (n->type == YAML_MAPPING_NODE && st->type == ST_DURATION) {
		if ((rc = yaml_secs_nanos(w, st, n, path, &v)) != 0)
			return rc;
	} else if (n->type != YAML_SCALAR_NODE)
		return yaml_fail(w, n, path, "expected %s, found %s",
		    settings_type_name(st->type), node_kind(n));
	else if (node_is_null(n)) {
		if (!(st->flags & SF_NULLABLE))
			return yaml_fail(w, n, path, "expected %s, found null",
			    settings_type_name(st->type));
	} else {
		text = (const char *)n->data.scalar.value;
		if (settings_parse_value(st, text, n->data.scalar.length, &v, msg,
		    sizeof(msg)) != 0)
			return yaml_fail(w, n, path, "%s", msg);
	}
	settings_set_value(w->s, st, v, text);
	w->line[idx] = node_line(n);
	return 0;
}

/* Apply the pairs of mapping m, whose keys are under `prefix`. */
static int
yaml_walk_mapping(struct yaml_walk *w, yaml_node_t *m, const char *prefix)
{
	yaml_node_pair_t *pair;
	yaml_node_t *k, *val;
	char path[SETTINGS_PATH_MAX], shown[SETTINGS_SHOW_MAX + 4];
	char keys[384];
	const char *ks;
	size_t klen, plen = strlen(prefix), idx;
	int rc;

	for (pair = m->data.mapping.pairs.start;
	    pair < m->data.mapping.pairs.top; pair++) {
		if ((rc = yaml_key(w, m, pair, prefix, &k)) != 0)
			return rc;
		ks = (const char *)k->data.scalar.value;
		klen = k->data.scalar.length;
		val = yaml_document_get_node(w->doc, pair->value);
		/* A key is one component: 'a.b' is not a path. */
		if (strlen(ks) == klen && memchr(ks, '.', klen) == NULL &&
		    plen + 1 + klen < sizeof(path)) {
			snprintf(path, sizeof(path), "%s%s%s", prefix,
			    plen ? "." : "", ks);
			if (settings_find(path, &idx) != NULL) {
				if ((rc = yaml_apply(w, idx, val, path)) != 0)
					return rc;
				continue;
			}
			if (settings_is_group(path)) {
				if (node_is_null(val))
					continue;
				if (val->type != YAML_MAPPING_NODE)
					return yaml_fail(w, val, path,
					    "expected a mapping, found %s",
					    node_kind(val));
				if ((rc = yaml_walk_mapping(w, val, path)) != 0)
					return rc;
				continue;
			}
		}
		settings_show(ks, klen, shown, sizeof(shown));
		settings_group_keys(prefix, keys, sizeof(keys));
		return yaml_fail(w, k, prefix, "unknown key '%s' (expected "
		    "one of %s)", shown, keys);
	}
	return 0;
}

/* A libyaml parser error over input `in` (n bytes) as the detail. */
static int
yaml_syntax_error(const yaml_parser_t *p, const char *name, const char *in,
    size_t n)
{
	const char *problem = p->problem ? p->problem : "syntax error";
	size_t i, line = 1, last, ctx;

	switch (p->error) {
	case YAML_MEMORY_ERROR:
		return err_set(-ENOMEM, "%s: out of memory parsing YAML", name);
	case YAML_READER_ERROR:
		/* The reader knows the offset only: count the lines. */
		for (i = 0; i < p->problem_offset && i < n; i++)
			if (in[i] == '\n')
				line++;
		return err_set(-EINVAL, "%s:%zu: %s (byte %zu)", name, line,
		    problem, p->problem_offset);
	default:
		break;
	}
	/* At the end, libyaml is on the line after the last: say the last. */
	for (i = 0; i < n; i++)
		if (in[i] == '\n')
			line++;
	last = n > 0 && in[n - 1] != '\n' ? line : line - 1;
	if (last == 0)
		last = 1;
	line = p->problem_mark.line + 1;
	if (line > last)
		line = last;
	ctx = p->context_mark.line + 1;
	if (ctx > last)
		ctx = last;
	if (p->context != NULL)
		return err_set(-EINVAL, "%s:%zu: %s (%s at line %zu)", name,
		    line, problem, p->context, ctx);
	return err_set(-EINVAL, "%s:%zu: %s", name, line, problem);
}

/*
 * Parse the input once as events, to check the syntax and that nothing is
 * nested deeper than SETTINGS_DEPTH_MAX before libyaml builds a document:
 * its scanner takes time quadratic in the depth of flow collections.
 */
static int
yaml_check_depth(const char *in, size_t n, const char *name)
{
	yaml_parser_t p;
	yaml_event_t ev;
	int depth = 0, done = 0, rc = 0;

	if (!yaml_parser_initialize(&p))
		return err_set(-ENOMEM, "%s: cannot start a YAML parser", name);
	yaml_parser_set_input_string(&p, (const unsigned char *)in, n);
	while (!done) {
		if (!yaml_parser_parse(&p, &ev)) {
			rc = yaml_syntax_error(&p, name, in, n);
			break;
		}
		switch (ev.type) {
		case YAML_SEQUENCE_START_EVENT:
		case YAML_MAPPING_START_EVENT:
			if (++depth > SETTINGS_DEPTH_MAX)
				rc = err_set(-EINVAL, "%s:%zu: nested more "
				    "than %d deep", name,
				    ev.start_mark.line + 1, SETTINGS_DEPTH_MAX);
			break;
		case YAML_SEQUENCE_END_EVENT:
		case YAML_MAPPING_END_EVENT:
			depth--;
			break;
		case YAML_STREAM_END_EVENT:
			done = 1;
			break;
		default:
			break;
		}
		yaml_event_delete(&ev);
		if (rc != 0)
			break;
	}
	yaml_parser_delete(&p);
	return rc;
}

int
engine_settings_load_yaml(struct engine_settings *s, const char *yaml,
    size_t n, const char *name)
{
	struct yaml_walk w;
	struct engine_settings t;
	yaml_parser_t parser;
	yaml_document_t doc, extra;
	yaml_node_t *root;
	char msg[SETTINGS_MSG_MAX];
	size_t blame, *line;
	int rc, have_doc = 0;

	settings_copy(&t, s);
	line = xcalloc(settings_count, sizeof(*line));
	if (name == NULL)
		name = "settings";
	/* libyaml insists on a pointer, even to nothing */
	if (yaml == NULL)
		yaml = "";
	if ((rc = yaml_check_depth(yaml, n, name)) != 0)
		goto fail;
	if (!yaml_parser_initialize(&parser)) {
		rc = err_set(-ENOMEM, "%s: cannot start a YAML parser", name);
		goto fail;
	}
	yaml_parser_set_input_string(&parser, (const unsigned char *)yaml, n);
	if (!yaml_parser_load(&parser, &doc)) {
		rc = yaml_syntax_error(&parser, name, yaml, n);
		goto fail_parser;
	}
	have_doc = 1;
	/* One document: a second one is an error, not ignored. */
	if (!yaml_parser_load(&parser, &extra)) {
		rc = yaml_syntax_error(&parser, name, yaml, n);
		goto fail_parser;
	}
	root = yaml_document_get_root_node(&extra);
	if (root != NULL) {
		rc = err_set(-EINVAL, "%s:%zu: more than one YAML document",
		    name, node_line(root));
		yaml_document_delete(&extra);
		goto fail_parser;
	}
	yaml_document_delete(&extra);

	memset(&w, 0, sizeof(w));
	w.doc = &doc;
	w.name = name;
	w.s = &t;
	w.line = line;
	root = yaml_document_get_root_node(&doc);
	if (root != NULL && !node_is_null(root)) {
		if (root->type != YAML_MAPPING_NODE) {
			rc = err_set(-EINVAL, "%s:%zu: the top level must be a "
			    "mapping, found %s", name, node_line(root),
			    node_kind(root));
			goto fail_parser;
		}
		if ((rc = yaml_walk_mapping(&w, root, "")) != 0)
			goto fail_parser;
	}
	if (settings_check_rules(&t, w.line, &blame, msg, sizeof(msg)) != 0) {
		if (w.line[blame] != 0)
			rc = err_set(-EINVAL, "%s:%zu: %s: %s", name,
			    w.line[blame], settings_table[blame].path, msg);
		else
			rc = err_set(-EINVAL, "%s: %s", name, msg);
		goto fail_parser;
	}

	yaml_document_delete(&doc);
	yaml_parser_delete(&parser);
	free(line);
	engine_settings_release(s);
	*s = t;
	return 0;

fail_parser:
	if (have_doc)
		yaml_document_delete(&doc);
	yaml_parser_delete(&parser);
fail:
	free(line);
	engine_settings_release(&t);
	return rc;
}

int
engine_settings_load_file(struct engine_settings *s, const char *path)
{
	struct stat sb;
	char *data = NULL;
	size_t len = 0;
	ssize_t r;
	int fd, rc;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		rc = -errno;
		if (rc == -ENOENT)
			return err_set(rc, "settings file '%s' does not exist",
			    path);
		return err_set(rc, "cannot open settings file '%s': %s", path,
		    strerror(-rc));
	}
	if (fstat(fd, &sb) == -1) {
		rc = -errno;
		err_set(rc, "cannot stat '%s': %s", path, strerror(-rc));
		goto fail;
	}
	if (!S_ISREG(sb.st_mode)) {
		rc = err_set(-EINVAL, "settings file '%s' is not a regular "
		    "file", path);
		goto fail;
	}
	data = xmalloc(SETTINGS_FILE_MAX + 1);
	for (;;) {
		r = read(fd, data + len, SETTINGS_FILE_MAX + 1 - len);
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1) {
			rc = -errno;
			err_set(rc, "cannot read '%s': %s", path,
			    strerror(-rc));
			goto fail;
		}
		if (r == 0)
			break;
		len += (size_t)r;
		if (len > SETTINGS_FILE_MAX) {
			rc = err_set(-EFBIG, "settings file '%s' is larger "
			    "than %d bytes", path, SETTINGS_FILE_MAX);
			goto fail;
		}
	}
	close(fd);
	fd = -1;
	rc = engine_settings_load_yaml(s, data, len, path);

fail:
	if (fd != -1)
		close(fd);
	free(data);
	return rc;
}
