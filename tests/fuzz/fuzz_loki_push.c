/*
 * fuzz_loki_push.c - libFuzzer harness for Loki push bodies
 * (loki_push.h), decoding only.
 *
 * The first byte picks the way in: bits 0-1 the body's format and its
 * Content-Encoding (0: snappy protobuf, 1: JSON, 2: gzip JSON, 3: gzip
 * protobuf), bit 2 deflate in place of gzip; the rest is the body.
 * Small limits keep the bounds in play. What comes out must hold to the
 * header: every stream with a label set and at least one entry, the
 * counts adding up, every line readable; a refusal must be -EINVAL or
 * -EFBIG, leave a detail, and leave the push empty.
 */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "model/labels.h"
#include "model/logs.h"
#include "model/loki_push.h"
#include "util/error.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const struct loki_push_limits limits = {
	.max_size = 1 << 20, .max_entries = 1 << 12, .max_memory = 8 << 20,
};

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const types[] = {
		"application/x-protobuf", "application/json",
		"application/json", NULL,
	};
	struct loki_push p;
	const char *ce;
	volatile unsigned sum = 0;
	size_t entries = 0, bytes = 0;
	uint8_t *body;
	int rc;

	if (size == 0)
		return 0;
	ce = (data[0] & 3) >= 2 ? (data[0] & 4 ? "deflate" : "gzip") : NULL;
	/* a copy of exactly the rest, so a read past it is caught */
	body = malloc(size - 1 ? size - 1 : 1);
	memcpy(body, data + 1, size - 1);
	err_clear();
	rc = loki_push_decode(types[data[0] & 3], ce, body, size - 1, &limits,
	    &p);
	if (rc != 0) {
		if ((rc != -EINVAL && rc != -EFBIG) || err_detail()[0] == '\0' ||
		    p.n != 0 || p.v != NULL || p.entries != 0)
			abort();
	} else {
		for (size_t i = 0; i < p.n; i++) {
			if (p.v[i].n == 0 || labels_count(p.v[i].ls) == 0)
				abort();
			for (size_t k = 0; k < p.v[i].n; k++) {
				const struct logs_entry *e = &p.v[i].e[k];

				/* read every byte, so a sanitizer sees a bad pointer */
				for (size_t j = 0; j < e->len; j++)
					sum += (unsigned char)e->line[j];
				bytes += e->len;
			}
			entries += p.v[i].n;
		}
		if (entries != p.entries || bytes != p.bytes || entries == 0 ||
		    entries > limits.max_entries)
			abort();
	}
	loki_push_release(&p);
	free(body);
	return 0;
}
