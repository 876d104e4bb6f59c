/*
 * re.c - pcre2's contexts, made once (re.h).
 */
#include "config.h"

#include <pthread.h>
#include <stdlib.h>

#include "util/re.h"
#include "util/xmalloc.h"

static pthread_once_t once = PTHREAD_ONCE_INIT;
static struct re_contexts ctx;

static void *
re_alloc(size_t n, void *arg)
{
	(void)arg;
	return xmalloc(n ? n : 1);
}

static void
re_free(void *p, void *arg)
{
	(void)arg;
	free(p);
}

static void
make(void)
{
	ctx.general = pcre2_general_context_create(re_alloc, re_free, NULL);
	ctx.compile = pcre2_compile_context_create(ctx.general);
	ctx.match = pcre2_match_context_create(ctx.general);
	if (ctx.general == NULL || ctx.compile == NULL || ctx.match == NULL)
		abort();
	pcre2_set_max_pattern_length(ctx.compile, RE_PATTERN_MAX);
	pcre2_set_match_limit(ctx.match, RE_MATCH_LIMIT);
}

const struct re_contexts *
re_contexts(void)
{
	pthread_once(&once, make);
	return &ctx;
}
