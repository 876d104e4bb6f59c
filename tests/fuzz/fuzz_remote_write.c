/*
 * fuzz_remote_write.c - libFuzzer harness for remote write bodies
 * (remote_write.h).
 *
 * The first byte picks the version (bit 0: 1.0 or 2.0) and the way in
 * (bit 1: a snappy body through rw_decode, or an uncompressed message
 * through rw_decode_message); the rest is the body. Small limits keep
 * the bounds in play. What the callbacks get must hold to the header:
 * a set with a metric name, at least one sample and no more than the
 * limit, metadata with a valid metric name; a refusal must be -EINVAL
 * or -EFBIG and leave a detail.
 */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "model/labels.h"
#include "model/remote_write.h"
#include "util/error.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const struct rw_limits limits = {
	.max_size = 1 << 20, .max_samples = 1 << 12, .max_memory = 8 << 20,
};

static int
on_series(void *arg, const struct labels *ls, const struct rw_sample *s,
    size_t n)
{
	size_t *total = arg;
	volatile double sum = 0;

	if (labels_metric(ls) == NULL || n == 0 ||
	    (*total += n) > limits.max_samples)
		abort();
	for (size_t k = 0; k < n; k++)
		sum += s[k].v + (double)s[k].t;
	return 0;
}

static int
on_metadata(void *arg, const struct rw_metadata *md)
{
	volatile unsigned sum = 0;

	if (labels_check_metric_name(md->name, md->name_len) != 0)
		abort();
	/* read every byte, so a sanitizer sees a bad pointer */
	for (size_t k = 0; k < md->help_len; k++)
		sum += (unsigned char)md->help[k];
	for (size_t k = 0; k < md->unit_len; k++)
		sum += (unsigned char)md->unit[k];
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t total = 0;
	struct rw_handler h = { on_series, on_metadata, &total };
	struct rw_counts c;
	enum rw_version v;
	uint8_t *p;
	int rc;

	if (size == 0)
		return 0;
	v = data[0] & 1 ? RW_V2 : RW_V1;
	/* a copy of exactly the rest, so a read past it is caught */
	p = malloc(size - 1 ? size - 1 : 1);
	memcpy(p, data + 1, size - 1);
	err_clear();
	if (data[0] & 2)
		rc = rw_decode_message(v, p, size - 1, &limits, &h, &c);
	else
		rc = rw_decode(v, p, size - 1, &limits, &h, &c);
	if (rc != 0 && ((rc != -EINVAL && rc != -EFBIG) ||
	    err_detail()[0] == '\0'))
		abort();
	if (rc == 0 && c.samples != total)
		abort();
	free(p);
	return 0;
}
