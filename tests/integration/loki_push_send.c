/*
 * loki_push_send.c - the protobuf side of tests/integration/loki_push.sh:
 *
 *	loki_push_send proto LABELS NS LINE...
 *		a snappy-compressed logproto.PushRequest on stdout: one
 *		stream of LABELS ({a="b"}, as Loki's clients write them)
 *		whose entries are the LINEs, at NS, NS+1, ... nanoseconds
 *	loki_push_send path LABELS
 *		the path under /logs of the stream of LABELS, as
 *		logs_push_path() makes it
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <snappy-c.h>

#include "model/labels.h"
#include "model/logproto.pb-c.h"
#include "model/logs.h"
#include "model/loki_push.h"
#include "util/buf.h"
#include "util/error.h"
#include "util/xmalloc.h"

static int
usage(void)
{
	fprintf(stderr, "usage: loki_push_send proto LABELS NS LINE...\n"
	    "       loki_push_send path LABELS\n");
	return 2;
}

static ProtobufCBinaryData
bin(const char *s)
{
	ProtobufCBinaryData d = { strlen(s), (uint8_t *)(uintptr_t)s };

	return d;
}

static int
proto(const char *labels, long long ns, char **lines, size_t n)
{
	Logproto__PushRequest req = LOGPROTO__PUSH_REQUEST__INIT;
	Logproto__StreamAdapter s = LOGPROTO__STREAM_ADAPTER__INIT;
	Logproto__StreamAdapter *ss = &s;
	Logproto__EntryAdapter *es = xcalloc(n, sizeof(*es));
	Logproto__EntryAdapter **ep = xcalloc(n, sizeof(*ep));
	Logproto__Timestamp *ts = xcalloc(n, sizeof(*ts));
	size_t len, clen;
	uint8_t *raw;
	char *out;

	for (size_t i = 0; i < n; i++) {
		logproto__timestamp__init(&ts[i]);
		ts[i].seconds = (ns + (long long)i) / 1000000000;
		ts[i].nanos = (int32_t)((ns + (long long)i) % 1000000000);
		logproto__entry_adapter__init(&es[i]);
		es[i].timestamp = &ts[i];
		es[i].line = bin(lines[i]);
		ep[i] = &es[i];
	}
	s.labels = bin(labels);
	s.n_entries = n;
	s.entries = ep;
	req.n_streams = 1;
	req.streams = &ss;
	len = logproto__push_request__get_packed_size(&req);
	raw = xmalloc(len + 1);
	logproto__push_request__pack(&req, raw);
	clen = snappy_max_compressed_length(len);
	out = xmalloc(clen);
	if (snappy_compress((char *)raw, len, out, &clen) != SNAPPY_OK ||
	    fwrite(out, 1, clen, stdout) != clen || fflush(stdout) != 0) {
		fprintf(stderr, "loki_push_send: cannot write the body\n");
		return 1;
	}
	free(out);
	free(raw);
	free(ts);
	free(ep);
	free(es);
	return 0;
}

static int
path(const char *labels)
{
	struct labels *ls;
	struct buf b;
	int rc;

	if ((rc = loki_push_labels(labels, strlen(labels), &ls)) != 0) {
		fprintf(stderr, "loki_push_send: %s\n", err_message(rc));
		return 1;
	}
	buf_init(&b, 0);
	if ((rc = logs_push_path(NULL, ls, &b)) != 0) {
		fprintf(stderr, "loki_push_send: %s\n", err_message(rc));
		return 1;
	}
	printf("%.*s\n", (int)b.len, b.data != NULL ? b.data : "");
	buf_release(&b);
	labels_free(ls);
	return 0;
}

int
main(int argc, char **argv)
{
	if (argc >= 5 && strcmp(argv[1], "proto") == 0)
		return proto(argv[2], strtoll(argv[3], NULL, 10), argv + 4,
		    (size_t)(argc - 4));
	if (argc == 3 && strcmp(argv[1], "path") == 0)
		return path(argv[2]);
	return usage();
}
