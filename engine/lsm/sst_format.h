/*
 * sst_format.h - the bytes of a sorted table, as sst_build.c writes them
 * and sst_read.c reads them. shale-format(5) says the same in prose; keep
 * the two in step.
 *
 * Integers: "LE32"/"LE64" are fixed-width little-endian; "varint" is
 * unsigned LEB128 (7 bits a byte, least significant group first, high bit
 * set on every byte but the last; a reader accepts at most 10 bytes and
 * values that fit in 64 bits); "svarint" is a signed value zigzag-encoded
 * ((v << 1) ^ (v >> 63)) and then written as a varint. A CRC is CRC-32C
 * (util/crc32c.h).
 *
 * A table is one object:
 *
 *	+----------------------+  offset 0
 *	| data block 0         |
 *	| trailer              |
 *	+----------------------+
 *	| ...                  |
 *	+----------------------+
 *	| data block N-1       |
 *	| trailer              |
 *	+----------------------+  props.cf_offset (version 2; absent: no block)
 *	| content filter block |
 *	| trailer              |
 *	+----------------------+  footer.index.offset
 *	| index block          |
 *	| trailer              |
 *	+----------------------+  footer.filter.offset (absent: offset=size=0)
 *	| filter block         |
 *	| trailer              |
 *	+----------------------+  footer.props.offset
 *	| properties block     |
 *	| trailer              |
 *	+----------------------+  object size - SST_FOOTER_SIZE
 *	| footer (64 bytes)    |
 *	+----------------------+
 *
 * Every part follows the one before it with no gap, and the footer ends the
 * object. The content filters come before the index so that an open,
 * which reads the end of the object, does not read them; they are read at
 * the first scan that can use them. A block handle (offset, size) names the stored bytes of a block;
 * its trailer follows them, so the block takes size + SST_TRAILER_SIZE
 * bytes of the object.
 *
 * Block trailer (5 bytes), after the stored bytes of every block:
 *
 *	type	1 byte	SST_COMP_NONE (stored bytes are the contents) or
 *			SST_COMP_ZSTD (stored bytes are one zstd frame whose
 *			header records the contents' size)
 *	crc	LE32	CRC-32C of the stored bytes followed by the type byte
 *
 * A writer stores a block compressed only if that makes it smaller.
 *
 * Record blocks (data and index) hold records followed by a restart array:
 *
 *	record*
 *	restart	LE32 * n	offsets of the records that start a restart
 *				run, ascending, the first 0
 *	n	LE32		count of restarts; 0 only in an empty block
 *
 * A record is
 *
 *	shared		varint	bytes of the key shared with the previous
 *				record's key (0 at a restart point)
 *	unshared	varint	bytes of the key that follow
 *	vlen		varint	bytes of the value
 *	seq		varint	sequence number, at most KV_SEQ_MAX
 *	kind		1 byte	KV_DELETE (0) or KV_PUT (1); a delete has vlen 0
 *	expire		svarint	ms since the epoch, 0 never
 *	key		unshared bytes
 *	value		vlen bytes
 *
 * A restart point is every SST_RESTART_INTERVAL-th record of a block,
 * starting with the first. Records are in strictly increasing kv order
 * (user key ascending, seq descending) within a block and across blocks.
 *
 * The index block has one record per data block, in order: the key and seq
 * of the block's last record, kind KV_PUT, expire 0, and as value the data
 * block's handle:
 *
 *	offset	varint
 *	size	varint		stored bytes, without the trailer
 *
 * The filter block (contents, uncompressed in practice) is a bloom filter
 * over the distinct user keys:
 *
 *	bits	m / 8 bytes	m >= 64, a multiple of 8; bit j is
 *				bits[j / 8] >> (j % 8) & 1
 *	k	1 byte		probes, 1 ... SST_BLOOM_K_MAX
 *
 * For a key, h = XXH3_64bits(key); h1 = h & 0xffffffff; h2 = h >> 32; the
 * probes are bits (h1 + i * h2) mod m for i = 0 ... k-1, in 64-bit
 * arithmetic. A writer with b bits per key and n keys uses m = max(64, n*b)
 * rounded up to a multiple of 8 and k = round(b * 0.69), at least 1.
 *
 * The properties block (contents):
 *
 *	entries		varint	records in the table
 *	min_seq		varint	0 in an empty table
 *	max_seq		varint
 *	min_expire	svarint	smallest non-zero expire; 0 if no record expires
 *	max_expire	svarint	largest expire; 0 if some record never expires
 *	first_klen	varint	then the smallest user key
 *	last_klen	varint	then the largest user key
 *
 * with nothing after the last key in version 1. Version 2 adds
 *
 *	cf_offset	varint	handle of the content filter block; both
 *	cf_size		varint	0 when there is none
 *
 * and nothing after them.
 *
 * The content filter block (version 2, stored uncompressed) tells which
 * 3-byte strings (trigrams) may occur in the values of a group of
 * consecutive data blocks, so that a scan for a string can pass over the
 * blocks that cannot hold it without reading them. A writer gives a group
 * a filter only if every record of its blocks is a put whose key starts
 * with one of the prefixes it was asked to filter (for logs: their
 * records); other groups have none and are always read.
 *
 *	k		1 byte	probes, 1 ... SST_CF_K_MAX
 *	groups		varint	count of groups, at least 1
 *	then for each group, in table order:
 *	blocks		varint	data blocks it covers, at least 1; the
 *				groups' sum is the table's data blocks
 *	bytes		varint	bytes of its filter, 0 for none, else
 *				at least 8
 *	bits		bytes	bit j is bits[j / 8] >> (j % 8) & 1
 *
 * with nothing after the last group. A filter of m = 8 * bytes bits holds
 * every distinct trigram t of the group's values: with h = XXH3_64bits(t,
 * 3), h1 and h2 as for the key filter, bits (h1 + i * h2) mod m are set for
 * i = 0 ... k-1. A string of 3 bytes or more occurs in no value of the
 * group if one of its trigrams misses a bit; shorter ones tell nothing.
 * A writer with b bits per trigram and n distinct trigrams uses m =
 * max(64, n*b) rounded up to a multiple of 8.
 *
 * Footer (SST_FOOTER_SIZE bytes, the end of the object):
 *
 *	 0	index offset	LE64
 *	 8	index size	LE64
 *	16	filter offset	LE64	both 0 when there is no filter
 *	24	filter size	LE64
 *	32	props offset	LE64
 *	40	props size	LE64
 *	48	version		LE32	SST_FORMAT_VERSION (2), or 1: a
 *					table with no content filters
 *	52	crc		LE32	CRC-32C of bytes 0 ... 51
 *	56	magic		8 bytes	SST_MAGIC
 */
#ifndef SHALE_SST_FORMAT_H
#define SHALE_SST_FORMAT_H

#include "engine/lsm/kv.h"

#define SST_FORMAT_VERSION	2		/* the one written */
#define SST_FORMAT_VERSION_MIN	1		/* the oldest read */
#define SST_MAGIC		"shaleSST"	/* 8 bytes, no NUL */
#define SST_MAGIC_SIZE		8
#define SST_FOOTER_SIZE		64
#define SST_FOOTER_CRC_OFF	52		/* covers the bytes before it */
#define SST_TRAILER_SIZE	5		/* type byte + LE32 CRC */

enum sst_comp {
	SST_COMP_NONE	= 0,
	SST_COMP_ZSTD	= 1,
};

#define SST_RESTART_INTERVAL	16
#define SST_BLOOM_K_MAX		30
#define SST_CF_K_MAX		8
#define SST_CF_GRAM		3		/* bytes of a trigram */
#define SST_VARINT_MAX		10		/* bytes of a 64-bit varint */
/* Bytes of a record besides its key and value, at most. */
#define SST_RECORD_OVERHEAD	(3 * 5 + SST_VARINT_MAX + 1 + SST_VARINT_MAX)

/*
 * Ceilings a reader enforces before it allocates. A data block holds
 * records up to the block size (at most SST_BLOCK_SIZE_MAX) or a single
 * record, so it cannot pass SST_DATA_RAW_MAX; the index, filter,
 * content filter and properties blocks stay under SST_META_RAW_MAX (a writer fails with
 * -EFBIG rather than make a bigger one).
 */
#define SST_BLOCK_SIZE_MAX	((size_t)64 << 20)
#define SST_DATA_RAW_MAX	((size_t)KV_VALUE_MAX + KV_KEY_MAX + \
				    SST_RECORD_OVERHEAD + 8)
#define SST_META_RAW_MAX	((size_t)256 << 20)

/* The footer and what precedes it that sst_open() reads in one request. */
#define SST_OPEN_READ		((size_t)64 << 10)

#endif
