/*
 * re.h - pcre2 as shale uses it: one set of contexts for the process,
 * made at first use and only read after, with allocations through
 * xmalloc (a failure aborts, as everywhere), a bound on a pattern's
 * length and one on the steps of a match, so that no regex from outside
 * (a matcher, a relabelling rule) can run away. Compiling and matching
 * stay with the callers, who each know the options they want.
 *
 * Threading: the contexts may be used from any number of threads.
 */
#ifndef SHALE_RE_H
#define SHALE_RE_H

#ifndef PCRE2_CODE_UNIT_WIDTH
#define PCRE2_CODE_UNIT_WIDTH 8
#endif
#include <pcre2.h>

#define RE_PATTERN_MAX	65536		/* bytes of a pattern */
#define RE_MATCH_LIMIT	1000000		/* pcre2's steps for one match */

struct re_contexts {
	pcre2_general_context	*general;	/* for match data */
	pcre2_compile_context	*compile;
	pcre2_match_context	*match;
};

/* The process's contexts, made at the first call. */
const struct re_contexts *re_contexts(void);

#endif
