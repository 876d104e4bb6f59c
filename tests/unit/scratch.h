/*
 * scratch.h - what unit tests share: a fresh directory of their own, a
 * file:// store in it, and removing it with everything below.
 */
#ifndef SHALE_TEST_SCRATCH_H
#define SHALE_TEST_SCRATCH_H

#include <stddef.h>

struct metrics;
struct objstore;

/* A directory and a store over it. */
struct scratch {
	char		 dir[256];
	struct metrics	*m;	/* the store's requests, a registry of its own */
	struct objstore	*os;	/* file://dir, without fsync or retries */
};

/* Make $TEST_TMP/shale-test-<name>.XXXXXX (or under /tmp) in dir: 0 or -1. */
int	scratch_make(char *dir, size_t len, const char *name);
/* Remove dir and everything below it: 0 or -1. */
int	scratch_remove(const char *dir);

/* Make the directory and open the store: 0 or -1. */
int	scratch_open(struct scratch *sc, const char *name);
/* Close the store and remove the directory: 0 or -1. */
int	scratch_close(struct scratch *sc);

/* cmocka setup and teardown with a struct scratch as the state. */
int	scratch_setup(void **state);
int	scratch_teardown(void **state);

#endif
