/*
 * fuzz_s3_xml.c - libFuzzer harness for the S3 XML parsers and builders.
 *
 * The first byte picks what runs (its low three bits, so the ASCII digits
 * '0' to '7' in the seed files name the target); the rest is the input:
 *
 *   0  s3_xml_parse_error
 *   1  s3_xml_parse_list, no prefix, keys as they are
 *   2  s3_xml_parse_list, no prefix, url-encoded keys
 *   3  s3_xml_parse_list, prefix "data/", url-encoded keys
 *   4  s3_xml_parse_upload_id
 *   5  s3_xml_parse_delete_result
 *   6  s3_xml_delete_request over NUL-separated keys, read back
 *   7  s3_xml_complete_request over NUL-separated ETags, read back
 *
 * The builders' output is parsed again with libxml2 and must give back
 * exactly the keys that went in: a mismatch aborts.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/tree.h>

#include "engine/objstore/objstore.h"
#include "engine/objstore/s3_xml.h"
#include "util/buf.h"
#include "util/xmalloc.h"

#define FUZZ_MAX_ITEMS	1000

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_error(const char *doc, size_t n)
{
	struct s3_error e;

	if (s3_xml_parse_error(doc, n, &e) == 0)
		s3_error_release(&e);
	else if (e.code != NULL || e.message != NULL)
		abort();
}

static void
check_list(const char *doc, size_t n, const char *prefix, int url)
{
	struct objstore_list l;
	char *token;
	size_t i;
	int trunc, rc;

	memset(&l, 0, sizeof l);
	rc = s3_xml_parse_list(doc, n, prefix, url, &l, &trunc, &token);
	if (rc != 0 && (l.n != 0 || token != NULL || trunc != 0))
		abort();
	if (rc == 0 && trunc && token == NULL)
		abort();
	for (i = 0; i < l.n; i++) {
		/* Keys are non-empty, NUL-free and bounded. */
		if (l.entries[i].key[0] == '\0' ||
		    strlen(l.entries[i].key) > OBJSTORE_KEY_MAX)
			abort();
	}
	free(token);
	objstore_list_release(&l);
}

static void
check_upload_id(const char *doc, size_t n)
{
	char *id;

	if (s3_xml_parse_upload_id(doc, n, &id) == 0) {
		if (id == NULL || *id == '\0')
			abort();
		free(id);
	} else if (id != NULL)
		abort();
}

static void
check_delete_result(const char *doc, size_t n)
{
	struct s3_error e;
	size_t nerr;
	char *key;

	if (s3_xml_parse_delete_result(doc, n, &nerr, &e, &key) != 0) {
		if (nerr != 0 || key != NULL || e.code != NULL)
			abort();
		return;
	}
	if (nerr == 0 && (key != NULL || e.code != NULL))
		abort();
	free(key);
	s3_error_release(&e);
}

/* Split a NUL-terminated copy of the input on NUL bytes. */
static size_t
split(char *s, size_t n, char **items)
{
	size_t i, count = 0;

	items[count++] = s;
	for (i = 0; i < n && count < FUZZ_MAX_ITEMS; i++) {
		if (s[i] == '\0')
			items[count++] = s + i + 1;
	}
	return count;
}

/* The first element called `name` from `c` on, or NULL. */
static xmlNode *
next_elem(xmlNode *c, const char *name)
{
	for (; c != NULL; c = c->next) {
		if (c->type == XML_ELEMENT_NODE &&
		    strcmp((const char *)c->name, name) == 0)
			return c;
	}
	return NULL;
}

static xmlDoc *
reread(const struct buf *b)
{
	xmlDoc *doc;

	doc = xmlReadMemory(b->data, (int)b->len, NULL, NULL,
	    XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
	if (doc == NULL || xmlDocGetRootElement(doc) == NULL)
		abort();
	return doc;
}

static void
check_text(xmlNode *node, const char *want)
{
	xmlChar *got;

	if (node == NULL)
		abort();
	got = xmlNodeGetContent(node);
	if (got == NULL || strcmp((const char *)got, want) != 0)
		abort();
	xmlFree(got);
}

static void
check_delete_request(char *s, size_t n)
{
	char *items[FUZZ_MAX_ITEMS];
	struct buf b;
	xmlDoc *doc;
	xmlNode *obj;
	size_t count, i;
	int ok = 1;

	count = split(s, n, items);
	for (i = 0; i < count; i++) {
		if (items[i][0] == '\0' || !s3_xml_text_ok(items[i]))
			ok = 0;
	}
	buf_init(&b, 0);
	if (s3_xml_delete_request(&b, (const char *const *)items, count) != 0) {
		if (ok)
			abort();
		buf_release(&b);
		return;
	}
	if (!ok)
		abort();
	doc = reread(&b);
	obj = xmlDocGetRootElement(doc)->children;
	for (i = 0; i < count; i++) {
		obj = next_elem(obj, "Object");
		if (obj == NULL)
			abort();
		check_text(next_elem(obj->children, "Key"), items[i]);
		obj = obj->next;
	}
	if (next_elem(obj, "Object") != NULL)
		abort();
	xmlFreeDoc(doc);
	buf_release(&b);
}

static void
check_complete_request(char *s, size_t n)
{
	char *items[FUZZ_MAX_ITEMS], *want;
	struct buf b;
	xmlDoc *doc;
	xmlNode *part;
	size_t count, i, len;

	count = split(s, n, items);
	buf_init(&b, 0);
	if (s3_xml_complete_request(&b, items, count) != 0) {
		buf_release(&b);
		return;
	}
	doc = reread(&b);
	part = xmlDocGetRootElement(doc)->children;
	for (i = 0; i < count; i++) {
		part = next_elem(part, "Part");
		if (part == NULL)
			abort();
		len = strlen(items[i]);
		if (len >= 2 && items[i][0] == '"' && items[i][len - 1] == '"')
			want = xstrdup(items[i]);
		else
			want = xasprintf("\"%s\"", items[i]);
		check_text(next_elem(part->children, "ETag"), want);
		free(want);
		part = part->next;
	}
	xmlFreeDoc(doc);
	buf_release(&b);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *doc;
	char *s;
	size_t n;

	if (size < 1)
		return 0;
	s3_xml_init();
	/* The parsers read the fuzzer's own buffer: no NUL after the end. */
	doc = (const char *)data + 1;
	n = size - 1;

	switch (data[0] & 7) {
	case 0:
		check_error(doc, n);
		break;
	case 1:
		check_list(doc, n, "", 0);
		break;
	case 2:
		check_list(doc, n, "", 1);
		break;
	case 3:
		check_list(doc, n, "data/", 1);
		break;
	case 4:
		check_upload_id(doc, n);
		break;
	case 5:
		check_delete_result(doc, n);
		break;
	case 6:
		s = xstrndup(doc, n);
		check_delete_request(s, n);
		free(s);
		break;
	case 7:
		s = xstrndup(doc, n);
		check_complete_request(s, n);
		free(s);
		break;
	}
	return 0;
}
