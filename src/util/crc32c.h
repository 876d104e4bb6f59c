/*
 * crc32c.h - CRC-32C (Castagnoli), the checksum of every block shale writes.
 *
 * Debian has no C library for it, so it is here: the SSE 4.2 instruction
 * where the processor has it, a table otherwise. Thread-safe.
 */
#ifndef SHALE_CRC32C_H
#define SHALE_CRC32C_H

#include <stddef.h>
#include <stdint.h>

/* Extend `crc` (0 to start) over the bytes. */
uint32_t crc32c(uint32_t crc, const void *data, size_t n);

#endif
