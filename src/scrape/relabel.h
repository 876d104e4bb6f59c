/*
 * relabel.h - Prometheus's relabelling: rules that rewrite, keep or drop
 * a label set, as relabel_configs and metric_relabel_configs have them
 * (and as remote write's write_relabel_configs would). The scraper runs
 * them over targets and over samples; nothing here knows of either.
 *
 * A rule joins the values of its source_labels with its separator (a
 * missing label is ""), and then, by action:
 *
 *	replace		if the regex matches the joined value: target_label
 *			(with $1, ${1}, $name, ${name} expanded) is set to
 *			the replacement, expanded the same way; an empty
 *			result deletes it, a target that is not a label
 *			name changes nothing
 *	keep, drop	keep the set only if the regex matches, or drop it if
 *	keepequal,	the joined value equals (or not) target_label's value
 *	 dropequal
 *	hashmod		target_label = (the last 8 bytes of the value's MD5,
 *			big-endian) % modulus
 *	lowercase,	target_label = the joined value in lower (upper) case
 *	 uppercase	(ASCII letters only; Go changes others too)
 *	labelmap	every label whose name the regex matches is copied to
 *			the expanded replacement, its value unchanged
 *	labeldrop,	labels whose name matches are dropped (are all but
 *	 labelkeep	dropped)
 *
 * Regexes are RE2 syntax as matcher.h checks it, fully anchored
 * (^(?:regex)$) and, as in Go, without (?s): . does not match a newline.
 * The defaults and the checks of a rule are Prometheus 2.42's: regex
 * "(.*)", separator ";", replacement "$1", action replace; replace and
 * hashmod need a target_label, hashmod a modulus, labeldrop and
 * labelkeep nothing but a regex, keepequal and dropequal no regex,
 * separator or replacement.
 *
 * The set being relabelled is a struct relabel_labels: it may hold the
 * reserved "__" names (__address__, __meta_*) that targets carry until
 * their relabelling ends; relabel_labels_build() makes a labels.h set of
 * it, with or without them.
 *
 * Memory: a rule is immutable once made and owns its strings; a
 * relabel_labels owns copies of what is set in it. Threading: any number
 * of threads may run one rule at once (each match has its own match
 * data); a relabel_labels belongs to one thread at a time.
 */
#ifndef SHALE_RELABEL_H
#define SHALE_RELABEL_H

#include <stddef.h>
#include <stdint.h>

struct label;
struct labels;
struct relabel;

#define RELABEL_SOURCES_MAX	64	/* source_labels of a rule */

enum relabel_action {
	RELABEL_REPLACE = 0,
	RELABEL_KEEP,
	RELABEL_DROP,
	RELABEL_KEEPEQUAL,
	RELABEL_DROPEQUAL,
	RELABEL_HASHMOD,
	RELABEL_LOWERCASE,
	RELABEL_UPPERCASE,
	RELABEL_LABELMAP,
	RELABEL_LABELDROP,
	RELABEL_LABELKEEP,
};

/* An action by its configuration name ("replace"...): 0, or -EINVAL. */
int	relabel_action_parse(const char *s, size_t n, enum relabel_action *out);
const char *relabel_action_name(enum relabel_action a);

/* A rule as written; NULL (or 0) for what was not given. */
struct relabel_config {
	enum relabel_action	 action;
	const char *const	*source_labels;
	size_t			 nsource;
	const char		*separator;
	const char		*regex;
	const char		*target_label;
	const char		*replacement;
	uint64_t		 modulus;
};

/*
 * Make a rule, checked as Prometheus checks it: 0, or -EINVAL with
 * err_set() saying why (the caller adds where).
 */
int	relabel_new(const struct relabel_config *c, struct relabel **out);
void	relabel_free(struct relabel *r);
enum relabel_action relabel_action(const struct relabel *r);

/* ---- the set being relabelled ---- */

struct relabel_labels {
	struct label	*v;		/* sorted by name; strings owned */
	size_t		 n;
	size_t		 cap;
};

void	relabel_labels_init(struct relabel_labels *rl);
void	relabel_labels_release(struct relabel_labels *rl);
void	relabel_labels_reset(struct relabel_labels *rl);
/* Set a label; an empty value deletes it. Names are not checked here. */
void	relabel_labels_set(struct relabel_labels *rl, const char *name,
	    size_t name_len, const char *value, size_t value_len);
/* The value of a label, or NULL; *len (may be NULL) its length. */
const char *relabel_labels_get(const struct relabel_labels *rl,
	    const char *name, size_t name_len, size_t *len);
/* Set every pair of ls. */
void	relabel_labels_add(struct relabel_labels *rl, const struct labels *ls);
/*
 * A labels.h set of rl: with `reserved`, names starting with "__" are
 * kept (LABELS_RESERVED); without, they are left out, __name__ aside.
 * 0, or labels_new()'s -EINVAL (a name or value that is not valid).
 */
int	relabel_labels_build(const struct relabel_labels *rl, int reserved,
	    struct labels **out);

/*
 * Run n rules over rl in order: 1 when the set is kept, 0 when a rule
 * dropped it (rl is then undefined), or -ERANGE (a regex past its match
 * limit) with err_set().
 */
int	relabel_process(struct relabel *const *rules, size_t n,
	    struct relabel_labels *rl);

#endif
