/*
 * loki_push.h - decode the body of a Loki push request (POST
 * /loki/api/v1/push) into streams, each a label set and its entries.
 * Decoding only: storing them is logs_push() (logs.h).
 *
 * Two formats, told apart by the Content-Type (loki_push_format()):
 *
 *	application/json	{"streams":[{"stream":{"name":"value",...},
 *				"values":[["<ns>","line"],
 *				["<ns>","line",{structured metadata}],...]}]}
 *				a time is a string of decimal nanoseconds
 *				since the epoch, as Loki wants it
 *	application/x-protobuf	logproto.PushRequest (src/model/logproto.proto)
 *	(or any other, or none)	compressed in snappy's block format; a
 *				stream's labels are the text {a="b",c="d"}
 *
 * Either body may be compressed once more for HTTP, by its
 * Content-Encoding: gzip, or deflate (zlib's format or raw deflate, which
 * is what Loki's own clients send); "snappy" and none leave it as it is.
 *
 * What comes out: the streams in the order given, each with a label set
 * (labels.h; names as Prometheus's rules want them, reserved "__" names
 * accepted, a label with an empty value dropped, a name given twice
 * refused) and its entries in the order given, each a time and a line.
 * An entry with the time and line of the one before it in its stream is
 * dropped, as Loki drops it. A stream with no entries is left out; a
 * request with no entry at all is refused, as Loki refuses it. An empty line is an entry like any
 * other. Structured metadata is checked for its shape (an object of
 * strings, or name/value pairs) and left out: it is not stored.
 *
 * Refusals, each with err_set() saying what is wrong and where
 * ("streams[2].values[5]: ..."), so the route can answer 400 or 413:
 *	-EINVAL	the body does not decode (gzip, snappy, JSON, protobuf),
 *		a time that is not a decimal integer, bad labels, no
 *		entries, an unknown Content-Encoding
 *	-EFBIG	past a struct loki_push_limits bound; the uncompressed
 *		size is checked as it grows (gzip) or before anything is
 *		allocated (snappy's length header), and what a JSON body
 *		would cost to parse before it is parsed, so a bomb costs
 *		little
 *
 * Memory: a decoded push owns everything it points to (the lines point
 * into the decoded body) until loki_push_release(). Threading: no state;
 * any number of threads may decode at once.
 */
#ifndef SHALE_LOKI_PUSH_H
#define SHALE_LOKI_PUSH_H

#include <stddef.h>
#include <stdint.h>

struct labels;
struct logs_entry;
struct logs_push_stream;

enum loki_push_format {
	LOKI_PUSH_PROTOBUF	= 1,	/* snappy-compressed logproto.PushRequest */
	LOKI_PUSH_JSON		= 2,
};

enum loki_push_encoding {
	LOKI_PUSH_IDENTITY	= 0,	/* none, or "snappy" (the format's own) */
	LOKI_PUSH_GZIP		= 1,
	LOKI_PUSH_DEFLATE	= 2,
};

struct loki_push_limits {
	size_t	max_size;	/* bytes of the body once uncompressed */
	size_t	max_entries;	/* entries in the request, all streams */
	/*
	 * bytes the parser may allocate: protobuf-c's are counted as they
	 * are made; jansson's are bounded from the body before it parses
	 */
	size_t	max_memory;
};

/*
 * A decoded push: v[0..n) as logs_push() takes them. The label sets and
 * entries are the push's own; the fields after `entries` are private.
 */
struct loki_push {
	struct logs_push_stream	*v;
	size_t			 n;
	size_t			 entries;	/* in all streams */
	size_t			 bytes;		/* of their lines */

	struct labels		**sets;
	struct logs_entry	*all;
	void			*body;		/* the uncompressed body */
	void			*json;		/* the parsed JSON, or NULL */
	void			*msg;		/* the unpacked message, or NULL */
	void			*alloc;		/* the parser's allocator */
};

/*
 * The format a Content-Type value names (parameters such as charset
 * ignored): LOKI_PUSH_JSON for application/json, LOKI_PUSH_PROTOBUF for
 * anything else (none, application/x-protobuf, or another type), as Loki
 * reads it.
 */
int	loki_push_format(const char *content_type);
/*
 * The encoding a Content-Encoding value names: an enum loki_push_encoding,
 * or -EINVAL with err_set() for any other (the route answers 415).
 */
/* The same for a Content-Encoding value: an enum loki_push_encoding. */
int	loki_push_encoding(const char *content_encoding);

/*
 * Decode len bytes at body, sent with these Content-Type and
 * Content-Encoding values (each may be NULL), into *p, which the caller
 * releases (also after a refusal, which leaves it empty). 0, or a
 * refusal above.
 */
int	loki_push_decode(const char *content_type, const char *content_encoding,
	    const void *body, size_t len, const struct loki_push_limits *lim,
	    struct loki_push *p);

/* The same for a body already uncompressed (tests, fuzzing). */
int	loki_push_decode_body(enum loki_push_format format, const void *body,
	    size_t len, const struct loki_push_limits *lim,
	    struct loki_push *p);

void	loki_push_release(struct loki_push *p);

/*
 * Parse a stream's labels as the protobuf format gives them,
 * {a="b", c="d"} (PromQL's string syntax; = only), into *out.
 * 0 or -EINVAL with err_set().
 */
int	loki_push_labels(const char *text, size_t len, struct labels **out);

#endif
