/*
 * fuzz_scrape_config.c - libFuzzer harness for scrape_config_parse().
 *
 * The input is a prometheus.yml. A parse that fails must say why and
 * give no config; one that succeeds must give jobs within the rules
 * (names, a positive interval, a timeout not past it, relabel rules
 * made), and every static target must either make a target or be
 * dropped or refused with a reason.
 */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "scrape/scrape_int.h"
#include "util/error.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct scrape_config *c = NULL;
	struct scrape_target_def t;
	const struct scrape_job *j;
	size_t i, g, k;
	int rc;

	err_clear();
	rc = scrape_config_parse((const char *)data, size, "fuzz", &c);
	if (rc != 0) {
		if ((rc != -EINVAL && rc != -ENOMEM) || c != NULL ||
		    err_detail()[0] == '\0')
			abort();
		return 0;
	}
	for (i = 0; i < c->njobs; i++) {
		j = &c->jobs[i];
		if (j->name == NULL || j->interval_ms <= 0 ||
		    j->timeout_ms <= 0 || j->timeout_ms > j->interval_ms ||
		    j->metrics_path == NULL || j->scheme == NULL)
			abort();
		for (g = 0; g < j->ngroups; g++)
			for (k = 0; k < j->groups[g].ntargets && k < 8; k++) {
				err_clear();
				rc = scrape_target_make(j, j->groups[g].targets[k],
				    &j->groups[g], &t);
				if (rc == 1) {
					if (t.url == NULL || t.full == NULL ||
					    t.labels == NULL)
						abort();
					scrape_target_def_release(&t);
				} else if (rc < 0 && err_detail()[0] == '\0')
					abort();
			}
	}
	scrape_config_free(c);
	return 0;
}
