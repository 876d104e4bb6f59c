/* scratch.c - a unit test's own directory and store (scratch.h). */
#include "config.h"

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/objstore/objstore.h"
#include "tests/unit/scratch.h"
#include "util/metrics.h"
#include "util/xmalloc.h"

int
scratch_make(char *dir, size_t len, const char *name)
{
	const char *tmp = getenv("TEST_TMP");
	int n;

	n = snprintf(dir, len, "%s/shale-test-%s.XXXXXX",
	    tmp != NULL && *tmp != '\0' ? tmp : "/tmp", name);
	if (n < 0 || (size_t)n >= len)
		return -1;
	return mkdtemp(dir) != NULL ? 0 : -1;
}

static int
rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

int
scratch_remove(const char *dir)
{
	return nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

int
scratch_open(struct scratch *sc, const char *name)
{
	struct objstore_opts o;
	char uri[300];

	memset(sc, 0, sizeof(*sc));
	if (scratch_make(sc->dir, sizeof(sc->dir), name) != 0)
		return -1;
	sc->m = metrics_new();
	memset(&o, 0, sizeof(o));
	o.no_fsync = 1;
	o.max_retries = -1;
	o.metrics = sc->m;
	snprintf(uri, sizeof(uri), "file://%s", sc->dir);
	return objstore_open(uri, &o, &sc->os) == 0 ? 0 : -1;
}

int
scratch_close(struct scratch *sc)
{
	objstore_close(sc->os);
	metrics_free(sc->m);
	return scratch_remove(sc->dir);
}

int
scratch_setup(void **state)
{
	struct scratch *sc = xcalloc(1, sizeof(*sc));

	if (scratch_open(sc, "store") != 0) {
		free(sc);
		return -1;
	}
	*state = sc;
	return 0;
}

int
scratch_teardown(void **state)
{
	struct scratch *sc = *state;
	int rc = scratch_close(sc);

	free(sc);
	return rc;
}
