/*
 * objstore_torture.c - the retrying layer against a failing store.
 *
 *   objstore_torture COUNT URI
 *
 * URI is normally fault:rate=0.2,...:INNER. Does COUNT rounds of: put an
 * object of random size (0-64 KiB) and read it back; every tenth round a
 * put_if_absent of a fresh key, which may answer "outcome unknown" and is
 * then settled by reading the key, as a caller must. At the end every
 * object is read again and compared, and the retry and fault counters are
 * printed: the run fails unless every object is intact and faults were
 * injected and retried.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/objstore/objstore.h"
#include "util/buf.h"
#include "util/error.h"
#include "util/metrics.h"
#include "util/xmalloc.h"

static char *
pattern(size_t n, unsigned seed)
{
	char *p = xmalloc(n ? n : 1);

	for (size_t i = 0; i < n; i++) {
		seed = seed * 1103515245u + 12345u;
		p[i] = (char)(seed >> 16);
	}
	return p;
}

static size_t
size_of(int i)
{
	return (size_t)((unsigned)i * 2654435761u % 65536u);
}

/* Sum every sample of `name` in the rendered registry. */
static double
sum_metric(const char *text, const char *name)
{
	const char *p = text;
	size_t n = strlen(name);
	double sum = 0;

	while ((p = strstr(p, name)) != NULL) {
		if ((p == text || p[-1] == '\n') && (p[n] == '{' || p[n] == ' ')) {
			const char *sp = strchr(p, ' ');

			if (sp != NULL)
				sum += strtod(sp + 1, NULL);
		}
		p += n;
	}
	return sum;
}

int
main(int argc, char **argv)
{
	struct objstore_opts o = { 0 };
	struct objstore *os;
	struct buf b, text;
	char key[64], *data;
	int count, rc, bad = 0, unknown = 0, i;
	double retries, faults;

	if (argc != 3 || (count = atoi(argv[1])) <= 0) {
		fprintf(stderr, "usage: objstore_torture COUNT URI\n");
		return 2;
	}
	o.retry_base_ms = 2;
	o.retry_max_ms = 50;
	o.max_retries = 12;
	o.no_fsync = 1;
	if ((rc = objstore_open(argv[2], &o, &os)) != 0) {
		printf("cannot open '%s': %s\n", argv[2], err_message(rc));
		return 1;
	}
	buf_init(&b, 0);
	for (i = 0; i < count; i++) {
		size_t n = size_of(i);

		snprintf(key, sizeof(key), "t/%06d", i);
		data = pattern(n, (unsigned)i);
		if (i % 10 == 9) {
			rc = objstore_put_if_absent(os, key, data, n);
			if (rc == SHALE_EUNKNOWN) {
				unknown++;
				rc = 0;		/* settled by the read below */
			}
		} else {
			rc = objstore_put(os, key, data, n);
		}
		if (rc != 0) {
			printf("put '%s' failed: %s\n", key, err_message(rc));
			bad++;
		}
		buf_reset(&b);
		rc = objstore_get(os, key, 0, OBJSTORE_TO_END, &b);
		if (rc != 0 || b.len != n || memcmp(buf_str(&b), data, n) != 0) {
			printf("get '%s' failed or differs: %s\n", key,
			    rc ? err_message(rc) : "wrong bytes");
			bad++;
		}
		free(data);
	}
	for (i = 0; i < count; i++) {
		size_t n = size_of(i);

		snprintf(key, sizeof(key), "t/%06d", i);
		data = pattern(n, (unsigned)i);
		buf_reset(&b);
		rc = objstore_get(os, key, 0, OBJSTORE_TO_END, &b);
		if (rc != 0 || b.len != n || memcmp(buf_str(&b), data, n) != 0) {
			printf("final read of '%s' failed or differs\n", key);
			bad++;
		}
		free(data);
	}
	buf_init(&text, 0);
	metrics_render(metrics_global(), &text);
	retries = sum_metric(text.data, "objstore_retries_total");
	faults = sum_metric(text.data, "objstore_faults_injected_total");
	printf("%d objects, %d bad, %d put_if_absent outcomes unknown (settled by "
	    "reading), %.0f faults injected, %.0f retries\n", count, bad, unknown,
	    faults, retries);
	buf_release(&text);
	buf_release(&b);
	objstore_close(os);
	if (strncmp(argv[2], "fault:", 6) == 0 && (faults == 0 || retries < faults)) {
		printf("expected faults, each retried\n");
		return 1;
	}
	return bad ? 1 : 0;
}
