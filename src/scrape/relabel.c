/*
 * relabel.c - relabelling rules (relabel.h): checking and making a rule,
 * the set being relabelled, and running rules over it.
 *
 * A rule's regex is checked by matcher_new() (RE2 syntax, the same
 * refusals as a PromQL matcher), then compiled here with its groups, for
 * the replacement needs them. The template expansion is Go's
 * Regexp.Expand, which Prometheus uses: $1, ${1}, $name, ${name}, $$; a
 * group that did not take part or does not exist is "", and a $ not
 * followed by a name is itself.
 *
 * pcre2 allocates through one general context that calls xmalloc, made
 * once; compiled code is shared, each match makes its own match data.
 */
#include "config.h"

#define PCRE2_CODE_UNIT_WIDTH 8

#include <errno.h>
#include <openssl/evp.h>
#include <pcre2.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/labels.h"
#include "model/matcher.h"
#include "scrape/relabel.h"
#include "util/buf.h"
#include "util/error.h"
#include "util/re.h"
#include "util/xmalloc.h"

#define DEFAULT_REGEX	"(.*)"
#define DEFAULT_SEP	";"
#define DEFAULT_REPL	"$1"

/* Go's regexp without (?s), anchored at both ends as Prometheus does. */
#define RE_OPTIONS	(PCRE2_UTF | PCRE2_ANCHORED | PCRE2_ENDANCHORED | \
	PCRE2_DOLLAR_ENDONLY | PCRE2_NEVER_BACKSLASH_C)

struct relabel {
	enum relabel_action	 action;
	char			**sources;
	size_t			 nsource;
	char			*separator;
	char			*regex;
	char			*target;
	char			*replacement;
	uint64_t		 modulus;
	pcre2_code		*re;
};

static const char *const action_names[] = {
	[RELABEL_REPLACE] = "replace",
	[RELABEL_KEEP] = "keep",
	[RELABEL_DROP] = "drop",
	[RELABEL_KEEPEQUAL] = "keepequal",
	[RELABEL_DROPEQUAL] = "dropequal",
	[RELABEL_HASHMOD] = "hashmod",
	[RELABEL_LOWERCASE] = "lowercase",
	[RELABEL_UPPERCASE] = "uppercase",
	[RELABEL_LABELMAP] = "labelmap",
	[RELABEL_LABELDROP] = "labeldrop",
	[RELABEL_LABELKEEP] = "labelkeep",
};
#define NACTIONS	(sizeof(action_names) / sizeof(action_names[0]))

static pthread_once_t ctx_once = PTHREAD_ONCE_INIT;
static pcre2_general_context *gctx;
static pcre2_compile_context *cctx;
static pcre2_match_context *mctx;

static void
ctx_init(void)
{
	const struct re_contexts *c = re_contexts();

	gctx = c->general;
	cctx = c->compile;
	mctx = c->match;
}

int
relabel_action_parse(const char *s, size_t n, enum relabel_action *out)
{
	size_t i;

	/* Prometheus reads the action in any case */
	for (i = 0; i < NACTIONS; i++)
		if (strlen(action_names[i]) == n &&
		    strncasecmp(action_names[i], s, n) == 0) {
			*out = (enum relabel_action)i;
			return 0;
		}
	return err_set(-EINVAL, "unknown relabel action '%.*s' (expected "
	    "replace, keep, drop, keepequal, dropequal, hashmod, lowercase, "
	    "uppercase, labelmap, labeldrop or labelkeep)",
	    n > 64 ? 64 : (int)n, s);
}

const char *
relabel_action_name(enum relabel_action a)
{
	return (size_t)a < NACTIONS ? action_names[a] : "?";
}

static int
is_word(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '_';
}

/* A $name or ${name} at s: its length, or 0. */
static size_t
ref_len(const char *s)
{
	size_t i = 1;

	if (s[0] != '$')
		return 0;
	if (s[1] == '{') {
		for (i = 2; is_word((unsigned char)s[i]); i++)
			;
		return i > 2 && s[i] == '}' ? i + 1 : 0;
	}
	while (is_word((unsigned char)s[i]))
		i++;
	return i > 1 ? i : 0;
}

/*
 * Prometheus's check of a replace target or labelmap replacement:
 * ^(?:(?:[a-zA-Z_]|\$(?:\{\w+\}|\w+))+\w*)+$, a label name in which
 * group references may stand.
 */
static int
target_ok(const char *s)
{
	size_t k;

	if (*s == '\0' || (*s >= '0' && *s <= '9'))
		return 0;
	while (*s != '\0') {
		if (is_word((unsigned char)*s))
			s++;
		else if ((k = ref_len(s)) != 0)
			s += k;
		else
			return 0;
	}
	return 1;
}

static int
name_ok(const char *s)
{
	size_t i;

	if (!((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z') ||
	    s[0] == '_'))
		return 0;
	for (i = 1; s[i] != '\0'; i++)
		if (!is_word((unsigned char)s[i]))
			return 0;
	return i <= LABELS_NAME_MAX;
}

void
relabel_free(struct relabel *r)
{
	size_t i;

	if (r == NULL)
		return;
	for (i = 0; i < r->nsource; i++)
		free(r->sources[i]);
	free(r->sources);
	free(r->separator);
	free(r->regex);
	free(r->target);
	free(r->replacement);
	pcre2_code_free(r->re);
	free(r);
}

int
relabel_new(const struct relabel_config *c, struct relabel **out)
{
	struct relabel *r;
	struct matcher *m;
	struct buf pat;
	PCRE2_UCHAR msg[256];
	PCRE2_SIZE off;
	const char *act = relabel_action_name(c->action);
	enum relabel_action a = c->action;
	int rc, err;
	size_t i;

	*out = NULL;
	if ((size_t)a >= NACTIONS)
		return err_set(-EINVAL, "no such relabel action: %d", (int)a);
	if (c->nsource > RELABEL_SOURCES_MAX)
		return err_set(-EINVAL, "more than %d source_labels",
		    RELABEL_SOURCES_MAX);
	for (i = 0; i < c->nsource; i++)
		if (!name_ok(c->source_labels[i]))
			return err_set(-EINVAL, "'%s' is not a valid label "
			    "name in source_labels", c->source_labels[i]);
	if (a == RELABEL_HASHMOD && c->modulus == 0)
		return err_set(-EINVAL, "relabel configuration for hashmod "
		    "requires non-zero modulus");
	if ((a == RELABEL_REPLACE || a == RELABEL_HASHMOD ||
	    a == RELABEL_LOWERCASE || a == RELABEL_UPPERCASE ||
	    a == RELABEL_KEEPEQUAL || a == RELABEL_DROPEQUAL) &&
	    (c->target_label == NULL || *c->target_label == '\0'))
		return err_set(-EINVAL, "relabel configuration for %s action "
		    "requires 'target_label' value", act);
	if ((a == RELABEL_REPLACE && !target_ok(c->target_label)) ||
	    ((a == RELABEL_LOWERCASE || a == RELABEL_UPPERCASE ||
	    a == RELABEL_KEEPEQUAL || a == RELABEL_DROPEQUAL ||
	    a == RELABEL_HASHMOD) && !name_ok(c->target_label)))
		return err_set(-EINVAL, "\"%s\" is invalid 'target_label' for "
		    "%s action", c->target_label, act);
	if ((a == RELABEL_KEEPEQUAL || a == RELABEL_DROPEQUAL) &&
	    (c->regex != NULL || c->modulus != 0 || c->separator != NULL ||
	    c->replacement != NULL))
		return err_set(-EINVAL, "%s action requires only "
		    "'source_labels' and 'target_label', and no other fields",
		    act);
	if (a == RELABEL_LABELMAP && c->replacement != NULL &&
	    !target_ok(c->replacement))
		return err_set(-EINVAL, "\"%s\" is invalid 'replacement' for "
		    "%s action", c->replacement, act);
	if ((a == RELABEL_LABELDROP || a == RELABEL_LABELKEEP) &&
	    (c->nsource != 0 || c->target_label != NULL || c->modulus != 0 ||
	    c->separator != NULL || c->replacement != NULL))
		return err_set(-EINVAL, "%s action requires only 'regex', and "
		    "no other fields", act);

	/* the RE2 check a PromQL matcher makes; its code is not kept */
	if (c->regex != NULL) {
		if ((rc = matcher_new(MATCHER_RE, "regex", 5, c->regex,
		    strlen(c->regex), &m)) != 0)
			return rc;
		matcher_free(m);
	}

	pthread_once(&ctx_once, ctx_init);
	r = xcalloc(1, sizeof(*r));
	r->action = a;
	r->sources = xcalloc(c->nsource ? c->nsource : 1, sizeof(char *));
	for (i = 0; i < c->nsource; i++)
		r->sources[i] = xstrdup(c->source_labels[i]);
	r->nsource = c->nsource;
	r->separator = xstrdup(c->separator ? c->separator : DEFAULT_SEP);
	r->regex = xstrdup(c->regex ? c->regex : DEFAULT_REGEX);
	r->target = c->target_label ? xstrdup(c->target_label) : NULL;
	r->replacement = xstrdup(c->replacement ? c->replacement : DEFAULT_REPL);
	r->modulus = c->modulus;

	buf_init(&pat, 0);
	buf_printf(&pat, "(?:%s)", r->regex);
	r->re = pcre2_compile((PCRE2_SPTR)pat.data, pat.len, RE_OPTIONS, &err,
	    &off, cctx);
	buf_release(&pat);
	if (r->re == NULL) {
		pcre2_get_error_message(err, msg, sizeof(msg));
		rc = err_set(-EINVAL, "regex '%s': %s", r->regex,
		    (const char *)msg);
		relabel_free(r);
		return rc;
	}
	(void)pcre2_jit_compile(r->re, PCRE2_JIT_COMPLETE);
	*out = r;
	return 0;
}

enum relabel_action
relabel_action(const struct relabel *r)
{
	return r->action;
}

/* ---- the set ---- */

void
relabel_labels_init(struct relabel_labels *rl)
{
	memset(rl, 0, sizeof(*rl));
}

void
relabel_labels_reset(struct relabel_labels *rl)
{
	size_t i;

	for (i = 0; i < rl->n; i++) {
		free((char *)rl->v[i].name);
		free((char *)rl->v[i].value);
	}
	rl->n = 0;
}

void
relabel_labels_release(struct relabel_labels *rl)
{
	relabel_labels_reset(rl);
	free(rl->v);
	memset(rl, 0, sizeof(*rl));
}

static int
name_cmp(const char *a, size_t an, const char *b, size_t bn)
{
	int c = memcmp(a, b, an < bn ? an : bn);

	return c != 0 ? c : an < bn ? -1 : an > bn;
}

/* The index of name, or where it would go (*found 0). */
static size_t
find(const struct relabel_labels *rl, const char *name, size_t len,
    int *found)
{
	size_t lo = 0, hi = rl->n, mid;
	int c;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		c = name_cmp(rl->v[mid].name, rl->v[mid].name_len, name, len);
		if (c == 0) {
			*found = 1;
			return mid;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	*found = 0;
	return lo;
}

void
relabel_labels_set(struct relabel_labels *rl, const char *name,
    size_t name_len, const char *value, size_t value_len)
{
	size_t i;
	int found;

	i = find(rl, name, name_len, &found);
	if (value_len == 0) {
		if (!found)
			return;
		free((char *)rl->v[i].name);
		free((char *)rl->v[i].value);
		memmove(&rl->v[i], &rl->v[i + 1], (rl->n - i - 1) *
		    sizeof(rl->v[0]));
		rl->n--;
		return;
	}
	if (found) {
		free((char *)rl->v[i].value);
	} else {
		rl->v = xgrow(rl->v, &rl->cap, rl->n + 1, sizeof(rl->v[0]));
		memmove(&rl->v[i + 1], &rl->v[i], (rl->n - i) *
		    sizeof(rl->v[0]));
		rl->n++;
		rl->v[i].name = xstrndup(name, name_len);
		rl->v[i].name_len = name_len;
	}
	rl->v[i].value = xstrndup(value, value_len);
	rl->v[i].value_len = value_len;
}

const char *
relabel_labels_get(const struct relabel_labels *rl, const char *name,
    size_t name_len, size_t *len)
{
	size_t i;
	int found;

	i = find(rl, name, name_len, &found);
	if (!found)
		return NULL;
	if (len != NULL)
		*len = rl->v[i].value_len;
	return rl->v[i].value;
}

void
relabel_labels_add(struct relabel_labels *rl, const struct labels *ls)
{
	const struct label *l;
	size_t i;

	for (i = 0; i < labels_count(ls); i++) {
		l = labels_at(ls, i);
		relabel_labels_set(rl, l->name, l->name_len, l->value,
		    l->value_len);
	}
}

int
relabel_labels_build(const struct relabel_labels *rl, int reserved,
    struct labels **out)
{
	struct label *v;
	size_t i, n = 0;
	int rc;

	if (reserved)
		return labels_new(rl->v, rl->n, LABELS_RESERVED, out);
	v = xcalloc(rl->n ? rl->n : 1, sizeof(*v));
	for (i = 0; i < rl->n; i++)
		if (!(rl->v[i].name_len >= 2 && rl->v[i].name[0] == '_' &&
		    rl->v[i].name[1] == '_') ||
		    strcmp(rl->v[i].name, LABELS_METRIC_NAME) == 0)
			v[n++] = rl->v[i];
	rc = labels_new(v, n, 0, out);
	free(v);
	return rc;
}

/* ---- running rules ---- */

/* Match r's regex over s: 1 (groups in md), 0, or -ERANGE. */
static int
re_run(const struct relabel *r, const char *s, size_t n, pcre2_match_data *md)
{
	int rc;

	rc = pcre2_match(r->re, (PCRE2_SPTR)s, n, 0, 0, md, mctx);
	if (rc >= 0)
		return 1;
	if (rc == PCRE2_ERROR_NOMATCH)
		return 0;
	if (rc == PCRE2_ERROR_MATCHLIMIT || rc == PCRE2_ERROR_DEPTHLIMIT ||
	    rc == PCRE2_ERROR_HEAPLIMIT || rc == PCRE2_ERROR_JIT_STACKLIMIT)
		return err_set(-ERANGE, "relabel regex '%s' gave up on a value "
		    "(match limit)", r->regex);
	/* a value that is not UTF-8 matches nothing, as in Go it would not */
	return 0;
}

/* Append group `g` of the last match over s to b, if it took part. */
static void
put_group(struct buf *b, pcre2_match_data *md, uint32_t g, const char *s)
{
	PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);

	if (g >= pcre2_get_ovector_count(md) || ov[2 * g] == PCRE2_UNSET)
		return;
	buf_append(b, s + ov[2 * g], ov[2 * g + 1] - ov[2 * g]);
}

/* Go's Regexp.Expand of template t over the match of s into b. */
static void
expand(const struct relabel *r, const char *t, pcre2_match_data *md,
    const char *s, struct buf *b)
{
	const char *d, *name;
	size_t nlen, i;
	int brace, num;
	char tmp[LABELS_NAME_MAX + 1];

	buf_reset(b);
	while ((d = strchr(t, '$')) != NULL) {
		buf_append(b, t, (size_t)(d - t));
		t = d + 1;
		if (*t == '$') {
			buf_putc(b, '$');
			t++;
			continue;
		}
		brace = *t == '{';
		name = t + brace;
		for (nlen = 0; is_word((unsigned char)name[nlen]) ||
		    (unsigned char)name[nlen] >= 0x80; nlen++)
			;
		if (nlen == 0 || (brace && name[nlen] != '}')) {
			buf_putc(b, '$');	/* malformed: the $ is itself */
			continue;
		}
		t = name + nlen + brace;
		num = 0;
		for (i = 0; i < nlen; i++) {
			if (name[i] < '0' || name[i] > '9' || num >= 100000000) {
				num = -1;
				break;
			}
			num = num * 10 + (name[i] - '0');
		}
		if (name[0] == '0' && nlen > 1)
			num = -1;
		if (num >= 0) {
			put_group(b, md, (uint32_t)num, s);
		} else if (nlen < sizeof(tmp)) {
			memcpy(tmp, name, nlen);
			tmp[nlen] = '\0';
			num = pcre2_substring_number_from_name(r->re,
			    (PCRE2_SPTR)tmp);
			if (num > 0)
				put_group(b, md, (uint32_t)num, s);
		}
	}
	buf_puts(b, t);
}

static uint64_t
hash_mod(const char *s, size_t n, uint64_t modulus)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	uint64_t v = 0;
	int i;

	EVP_Digest(s, n, md, &mdlen, EVP_md5(), NULL);
	/* Prometheus's sum64: the bytes past the first 8 shift out */
	for (i = 8; i < 16; i++)
		v = v << 8 | md[i];
	return v % modulus;
}

/* One rule over rl: 1 kept, 0 dropped, or -ERANGE. */
static int
relabel_one(const struct relabel *r, struct relabel_labels *rl,
    pcre2_match_data *md, struct buf *val, struct buf *t1, struct buf *t2)
{
	struct relabel_labels snap;
	const char *v;
	size_t i, vlen;
	char num[32];
	int rc = 1, m;

	buf_reset(val);
	for (i = 0; i < r->nsource; i++) {
		if (i > 0)
			buf_puts(val, r->separator);
		v = relabel_labels_get(rl, r->sources[i], strlen(r->sources[i]),
		    &vlen);
		if (v != NULL)
			buf_append(val, v, vlen);
	}
	v = buf_str(val);
	switch (r->action) {
	case RELABEL_DROP:
	case RELABEL_KEEP:
		if ((m = re_run(r, v, val->len, md)) < 0)
			return m;
		return r->action == RELABEL_DROP ? !m : m;
	case RELABEL_DROPEQUAL:
	case RELABEL_KEEPEQUAL: {
		const char *tv;
		size_t tlen = 0;

		tv = relabel_labels_get(rl, r->target, strlen(r->target), &tlen);
		m = tlen == val->len && (tlen == 0 || memcmp(tv, v, tlen) == 0);
		return r->action == RELABEL_DROPEQUAL ? !m : m;
	}
	case RELABEL_REPLACE:
		if ((m = re_run(r, v, val->len, md)) <= 0)
			return m < 0 ? m : 1;
		expand(r, r->target, md, v, t1);
		expand(r, r->replacement, md, v, t2);
		/* as Prometheus: nothing to set deletes the unexpanded name */
		if (!name_ok(buf_str(t1)) || t2->len == 0)
			relabel_labels_set(rl, r->target, strlen(r->target),
			    "", 0);
		else
			relabel_labels_set(rl, t1->data, t1->len, t2->data,
			    t2->len);
		return 1;
	case RELABEL_LOWERCASE:
	case RELABEL_UPPERCASE:
		for (i = 0; i < val->len; i++) {
			char c = val->data[i];

			if (r->action == RELABEL_LOWERCASE && c >= 'A' && c <= 'Z')
				val->data[i] = (char)(c - 'A' + 'a');
			else if (r->action == RELABEL_UPPERCASE && c >= 'a' &&
			    c <= 'z')
				val->data[i] = (char)(c - 'a' + 'A');
		}
		relabel_labels_set(rl, r->target, strlen(r->target), v, val->len);
		return 1;
	case RELABEL_HASHMOD:
		snprintf(num, sizeof(num), "%llu", (unsigned long long)
		    hash_mod(v, val->len, r->modulus));
		relabel_labels_set(rl, r->target, strlen(r->target), num,
		    strlen(num));
		return 1;
	case RELABEL_LABELMAP:
		/* over the set as it was: a mapped name is not mapped again */
		relabel_labels_init(&snap);
		for (i = 0; i < rl->n; i++)
			relabel_labels_set(&snap, rl->v[i].name,
			    rl->v[i].name_len, rl->v[i].value,
			    rl->v[i].value_len);
		for (i = 0; i < snap.n && rc == 1; i++) {
			if ((m = re_run(r, snap.v[i].name, snap.v[i].name_len,
			    md)) < 0) {
				rc = m;
				break;
			}
			if (m == 0)
				continue;
			expand(r, r->replacement, md, snap.v[i].name, t1);
			relabel_labels_set(rl, buf_str(t1), t1->len,
			    snap.v[i].value, snap.v[i].value_len);
		}
		relabel_labels_release(&snap);
		return rc;
	case RELABEL_LABELDROP:
	case RELABEL_LABELKEEP:
		for (i = 0; i < rl->n;) {
			if ((m = re_run(r, rl->v[i].name, rl->v[i].name_len,
			    md)) < 0)
				return m;
			if (m == (r->action == RELABEL_LABELDROP))
				relabel_labels_set(rl, rl->v[i].name,
				    rl->v[i].name_len, "", 0);
			else
				i++;
		}
		return 1;
	}
	return 1;
}

int
relabel_process(struct relabel *const *rules, size_t n,
    struct relabel_labels *rl)
{
	pcre2_match_data *md = NULL;
	struct buf val, t1, t2;
	size_t i;
	int rc = 1;

	if (n == 0)
		return 1;
	buf_init(&val, 0);
	buf_init(&t1, 0);
	buf_init(&t2, 0);
	for (i = 0; i < n && rc == 1; i++) {
		md = pcre2_match_data_create_from_pattern(rules[i]->re, gctx);
		if (md == NULL)
			abort();
		rc = relabel_one(rules[i], rl, md, &val, &t1, &t2);
		pcre2_match_data_free(md);
	}
	buf_release(&val);
	buf_release(&t1);
	buf_release(&t2);
	return rc;
}
