/*
 * fuzz_settings.c - libFuzzer harness for engine_settings_load_yaml().
 *
 * The input is a settings file. It is loaded over the defaults and the
 * settings released. A load that fails must say why and leave the defaults
 * as they were; one that succeeds must give settings within the rules (the
 * checks below are a few of them, cheap to state).
 */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "engine/lsm/settings.h"
#include "util/error.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct engine_settings s, d;
	int rc;

	engine_settings_default(&s);
	engine_settings_default(&d);
	err_clear();
	rc = engine_settings_load_yaml(&s, (const char *)data, size, "fuzz");
	if (rc != 0) {
		if (rc != -EINVAL && rc != -ENOMEM)
			abort();
		if (err_detail()[0] == '\0')
			abort();
		if (s.cache_root_folder != NULL ||
		    s.zstd_level != d.zstd_level ||
		    s.flush_interval_ms != d.flush_interval_ms ||
		    s.max_unflushed_bytes != d.max_unflushed_bytes)
			abort();
	} else {
		if (s.flush_interval_ms < 1 || s.zstd_level < 1 ||
		    s.zstd_level > 19 || s.bloom_bits_per_key < 0 ||
		    s.bloom_bits_per_key > 30 ||
		    s.l0_sst_size_bytes > s.max_unflushed_bytes ||
		    s.default_ttl_ms < 0)
			abort();
		if (s.cache_root_folder != NULL &&
		    s.cache_root_folder[0] == '\0')
			abort();
	}
	engine_settings_release(&s);
	return 0;
}
