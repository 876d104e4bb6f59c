/*
 * log.h - leveled logging to stderr.
 *
 * The macros test the level before they evaluate their arguments, so a
 * debug line in a hot path costs one comparison when debug is off.
 * Messages are lower case with no full stop, and quote their subject:
 * log_warn("cannot open '%s'", path). Thread-safe: each line is written with
 * one call.
 */
#ifndef SHALE_LOG_H
#define SHALE_LOG_H

enum log_level { LOG_ERROR, LOG_WARN, LOG_INFO, LOG_DEBUG };

extern enum log_level log_level_current;

void	log_set_level(enum log_level l);
/* Parse "error", "warn", "info", "debug"; -1 if none of them. */
int	log_level_parse(const char *s);
void	log_write(enum log_level l, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));

#define LOG_AT(l, ...) do {						\
	if ((l) <= log_level_current)					\
		log_write((l), __VA_ARGS__);				\
} while (0)
#define log_error(...)	LOG_AT(LOG_ERROR, __VA_ARGS__)
#define log_warn(...)	LOG_AT(LOG_WARN, __VA_ARGS__)
#define log_info(...)	LOG_AT(LOG_INFO, __VA_ARGS__)
#define log_debug(...)	LOG_AT(LOG_DEBUG, __VA_ARGS__)

/* An impossible state: log it and abort, in release builds too. */
#define BUG(...) do {							\
	log_write(LOG_ERROR, "BUG at %s:%d: ", __FILE__, __LINE__);	\
	log_write(LOG_ERROR, __VA_ARGS__);				\
	abort();							\
} while (0)
#define BUG_ON(c) do { if (c) BUG("%s", #c); } while (0)

#endif
