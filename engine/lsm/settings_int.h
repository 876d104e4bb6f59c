/*
 * settings_int.h - the insides of the settings (settings.h), shared by
 * the module's files:
 *
 *	settings.c		the table of settings, the rules across keys,
 *				defaults, copies, and the environment
 *	settings_value.c	a value as text: parsing durations, sizes,
 *				integers, booleans and strings, range checks,
 *				formatting, and the messages that quote them
 *	settings_yaml.c		a YAML file or string
 *
 * A value travels as a uint64_t: milliseconds, bytes, an integer, 0 or 1,
 * or a string's length beside its text. Nothing outside these files
 * includes this header.
 *
 * Not thread-safe, as settings.h says.
 */
#ifndef SHALE_SETTINGS_INT_H
#define SHALE_SETTINGS_INT_H

#include <stddef.h>
#include <stdint.h>

#include "engine/lsm/settings.h"

#define KIB		(1024ULL)
#define MIB		(1024ULL * KIB)
#define GIB		(1024ULL * MIB)
#define TIB		(1024ULL * GIB)
#define PIB		(1024ULL * TIB)

#define SEC		(1000ULL)
#define MINUTE		(60 * SEC)
#define HOUR		(60 * MINUTE)
#define DAY		(24 * HOUR)

#define nitems(a)	(sizeof(a) / sizeof((a)[0]))

#define SETTINGS_PATH_MAX	128		/* bytes in a key path */
#define SETTINGS_MSG_MAX	512
#define SETTINGS_SHOW_MAX	64		/* bytes of a value in errors */

enum setting_type {
	ST_DURATION,		/* int64_t milliseconds */
	ST_SIZE,		/* uint64_t bytes */
	ST_INT,			/* int */
	ST_STRING,		/* char *, owned by the settings */
	ST_BOOL,		/* int, 0 or 1: true or false */
};

enum {
	SF_NULLABLE	= 1 << 0,	/* null or an empty variable: 0, NULL */
};

struct setting {
	const char		*path;
	enum setting_type	 type;
	size_t			 off;
	uint64_t		 min;
	uint64_t		 max;
	int			 flags;
};

/* The table (settings.c): settings_count rows, indexed as in settings_find(). */
extern const struct setting settings_table[];
extern const size_t settings_count;

/* The table (settings.c) */

/* Store v (a string: `text`, `v` bytes; NULL for null) into st's field. */
void	settings_set_value(struct engine_settings *s, const struct setting *st,
	    uint64_t v, const char *text);
/* The row of path, its index in *idx unless idx is NULL; or NULL. */
const struct setting *settings_find(const char *path, size_t *idx);
/* Is path ("compactor_options") a group, the beginning of some path? */
int	settings_is_group(const char *path);
/* The keys directly under group `prefix` ("" for the top), for hints. */
void	settings_group_keys(const char *prefix, char *buf, size_t sz);
/*
 * Check the rules across keys over s. 0; or -EINVAL with a message in msg
 * and in *blame the index of the setting to name: `hi` if it is set[]
 * (set in this load), else `lo`.
 */
int	settings_check_rules(struct engine_settings *s, const size_t *set,
	    size_t *blame, char *msg, size_t sz);
/* Copy src to dst, with a copy of its string. */
void	settings_copy(struct engine_settings *dst,
	    const struct engine_settings *src);

/* Values (settings_value.c) */

/* *acc = *acc * mul + add, unless that passes max: then -ERANGE. */
int	settings_mul_add(uint64_t *acc, uint64_t mul, uint64_t add, uint64_t max);
/*
 * An integer, with an optional sign: 0 and *neg, *n; -EINVAL; -ERANGE past
 * 2^64 - 1 in magnitude.
 */
int	settings_parse_int(const char *s, int *neg, uint64_t *n);
/*
 * Parse `len` bytes of `text` as a value of st: 0 and *v (for a string,
 * its length); or -EINVAL with a message ("'5 parsecs' is not a
 * duration") in msg.
 */
int	settings_parse_value(const struct setting *st, const char *text, size_t len,
	    uint64_t *v, char *msg, size_t sz);
/* v as st's type writes it: "1h30m", "64MiB", "true". */
void	settings_format_value(const struct setting *st, uint64_t v, char *buf,
	    size_t sz);
/*
 * A value as it may be quoted in a message: at most SETTINGS_SHOW_MAX
 * bytes, cut between characters, control bytes as '?'.
 */
void	settings_show(const char *p, size_t n, char *out, size_t sz);
/* "a duration", "a size"...: what a value of type t is called. */
const char *settings_type_name(enum setting_type t);
/* The message for v outside st's range; `text` is how the user wrote it. */
void	settings_range_msg(const struct setting *st, const char *text, char *msg,
	    size_t sz);

#endif
