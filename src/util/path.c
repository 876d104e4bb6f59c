/*
 * path.c - local directories (path.h).
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "util/error.h"
#include "util/path.h"
#include "util/xmalloc.h"

int
path_mkdirs(const char *dir, mode_t mode)
{
	char *p = xstrdup(dir), *s;
	struct stat st;
	int rc = 0;

	/* each prefix that ends before a '/', then the whole */
	for (s = p + 1; ; s++) {
		if (*s != '/' && *s != '\0')
			continue;
		char c = *s;

		*s = '\0';
		if (mkdir(p, mode) != 0 && errno != EEXIST) {
			rc = err_set(-errno, "cannot create '%s': %s", p,
			    strerror(errno));
			goto out;
		}
		*s = c;
		if (c == '\0')
			break;
	}
	if (stat(dir, &st) != 0)
		rc = err_set(-errno, "cannot stat '%s': %s", dir,
		    strerror(errno));
	else if (!S_ISDIR(st.st_mode))
		rc = err_set(-ENOTDIR, "'%s' is not a directory", dir);
out:
	free(p);
	return rc;
}
