/*
 * s3_xml.c - the XML that S3 sends and expects (see s3_xml.h).
 *
 * Every parser goes through doc_read(), which is where the defences are:
 * a size limit, no network (XML_PARSE_NONET), no entity substitution and no
 * DTD loading (neither XML_PARSE_NOENT nor XML_PARSE_DTDLOAD), and a
 * document with a DOCTYPE is refused outright: the parser is stopped as
 * soon as it sees "<!DOCTYPE", before any entity is declared, and the tree
 * is checked once more for an internal or external subset afterwards.
 * Elements are matched by local name, so both S3's namespaced answers and
 * the bare <Error> bodies read the same.
 *
 * The builders write the requests by hand, escaping every key, and refuse
 * text that cannot stand in an XML 1.0 document (s3_xml_text_ok()).
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xmlerror.h>
#include <libxml/xmlversion.h>

#include "engine/objstore/objstore_int.h"
#include "engine/objstore/s3_xml.h"
#include "util/buf.h"
#include "util/coding.h"
#include "util/xmalloc.h"

#define S3_XML_NS	"http://s3.amazonaws.com/doc/2006-03-01/"
#define S3_XML_DECL	"<?xml version=\"1.0\" encoding=\"UTF-8\"?>"
#define S3_XML_MAX	((size_t)64 << 20)	/* largest document we parse */
#define S3_DELETE_MAX	1000			/* keys in one DeleteObjects */
#define S3_PARTS_MAX	10000			/* parts in one upload */

/*
 * NOERROR and NOWARNING as well as the quiet handler: the generic handler
 * is per thread in libxml2, the options are per parse.
 */
#define S3_XML_OPTIONS	(XML_PARSE_NONET | XML_PARSE_NOBLANKS | \
	XML_PARSE_NOERROR | XML_PARSE_NOWARNING)

static pthread_once_t s3_xml_once = PTHREAD_ONCE_INIT;

static void
s3_xml_quiet(void *ctx, const char *msg, ...)
{
	(void)ctx;
	(void)msg;
}

static void
s3_xml_init_once(void)
{
	xmlInitParser();
	/* This thread, and the default for threads that start using libxml2. */
	xmlSetGenericErrorFunc(NULL, s3_xml_quiet);
#if LIBXML_VERSION < 21200	/* deprecated, and global, from 2.12 on */
	xmlThrDefSetGenericErrorFunc(NULL, s3_xml_quiet);
#endif
}

void
s3_xml_init(void)
{
	pthread_once(&s3_xml_once, s3_xml_init_once);
}

/* SAX internalSubset: called at "<!DOCTYPE"; stop before the subset is read. */
static void
s3_xml_refuse_dtd(void *ctx, const xmlChar *name, const xmlChar *external_id,
    const xmlChar *system_id)
{
	(void)name;
	(void)external_id;
	(void)system_id;
	xmlStopParser(ctx);
}

static int
s3_xml_is(const xmlNode *node, const char *name)
{
	return node->type == XML_ELEMENT_NODE &&
	    strcmp((const char *)node->name, name) == 0;
}

/* The first child element of `parent` called `name`, or NULL. */
static xmlNode *
s3_xml_child(const xmlNode *parent, const char *name)
{
	xmlNode *c;

	for (c = parent->children; c != NULL; c = c->next) {
		if (s3_xml_is(c, name))
			return c;
	}
	return NULL;
}

/*
 * Parse a document whose root element must be `root_name`. On success the
 * caller frees *docp with xmlFreeDoc().
 */
static int
s3_xml_read(const char *xml, size_t n, const char *root_name, xmlDoc **docp,
    xmlNode **rootp)
{
	xmlParserCtxt *ctxt = NULL;
	xmlDoc *doc = NULL;
	xmlNode *root;
	int rc;

	*docp = NULL;
	*rootp = NULL;
	s3_xml_init();
	rc = -EINVAL;
	if (xml == NULL)
		goto fail;
	rc = -EFBIG;
	if (n > S3_XML_MAX)
		goto fail;
	rc = -EBADMSG;
	if (n == 0)
		goto fail;

	rc = -ENOMEM;
	if ((ctxt = xmlNewParserCtxt()) == NULL || ctxt->sax == NULL)
		goto fail;
	ctxt->sax->internalSubset = s3_xml_refuse_dtd;
	doc = xmlCtxtReadMemory(ctxt, xml, (int)n, NULL, NULL, S3_XML_OPTIONS);

	rc = -EBADMSG;
	if (doc == NULL || !ctxt->wellFormed || ctxt->disableSAX ||
	    ctxt->errNo == XML_ERR_USER_STOP)
		goto fail;
	if (doc->intSubset != NULL || doc->extSubset != NULL)
		goto fail;
	if ((root = xmlDocGetRootElement(doc)) == NULL ||
	    !s3_xml_is(root, root_name))
		goto fail;

	xmlFreeParserCtxt(ctxt);
	*docp = doc;
	*rootp = root;
	return 0;

fail:
	xmlFreeDoc(doc);
	xmlFreeParserCtxt(ctxt);
	return rc;
}

/*
 * The text of an element: its text and CDATA children joined (comments
 * and processing instructions skipped). An element inside is -EBADMSG.
 * The result is a NUL-terminated copy the caller frees.
 */
static int
s3_xml_text(const xmlNode *node, char **out)
{
	const xmlNode *c;
	struct buf b;
	int rc;

	*out = NULL;
	buf_init(&b, S3_XML_MAX);
	for (c = node->children; c != NULL; c = c->next) {
		switch (c->type) {
		case XML_TEXT_NODE:
		case XML_CDATA_SECTION_NODE:
			if (c->content == NULL)
				break;
			if ((rc = buf_puts(&b, (const char *)c->content)) != 0)
				goto fail;
			break;
		case XML_COMMENT_NODE:
		case XML_PI_NODE:
			break;
		default:
			rc = -EBADMSG;
			goto fail;
		}
	}
	*out = buf_detach(&b, NULL);
	return 0;

fail:
	buf_release(&b);
	return rc;
}

/* The text of the first child `name` of `parent`; *out NULL if absent. */
static int
s3_xml_child_text(const xmlNode *parent, const char *name, char **out)
{
	const xmlNode *c;

	*out = NULL;
	if ((c = s3_xml_child(parent, name)) == NULL)
		return 0;
	return s3_xml_text(c, out);
}

/*
 * Undo encoding-type=url in place: "%XX" is a byte and '+' a space (S3
 * and MinIO write a space as '+' and a '+' as "%2B"). A bad escape or a
 * NUL is -EBADMSG. *lenp is the decoded length.
 */
static int
s3_xml_url_decode(char *s, size_t *lenp)
{
	char *r, *w;
	int hi, lo;

	for (r = w = s; *r != '\0'; r++) {
		if (*r == '+') {
			*w++ = ' ';
			continue;
		}
		if (*r != '%') {
			*w++ = *r;
			continue;
		}
		if ((hi = hex_value((unsigned char)r[1])) < 0)
			return -EBADMSG;
		if ((lo = hex_value((unsigned char)r[2])) < 0)
			return -EBADMSG;
		if (hi == 0 && lo == 0)
			return -EBADMSG;
		*w++ = (char)(hi << 4 | lo);
		r += 2;
	}
	*w = '\0';
	*lenp = (size_t)(w - s);
	return 0;
}

/* A size: decimal digits only, no sign, no space, no overflow. */
static int
s3_xml_parse_size(const char *s, uint64_t *out)
{
	unsigned long long v;
	char *end;

	if (*s < '0' || *s > '9')
		return -EBADMSG;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0 || *end != '\0')
		return -EBADMSG;
	*out = v;
	return 0;
}

/* Read exactly `width` digits. */
static int
s3_xml_digits(const char **sp, int width, int *out)
{
	const char *s = *sp;
	int i, v = 0;

	for (i = 0; i < width; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -EBADMSG;
		v = v * 10 + (s[i] - '0');
	}
	*sp = s + width;
	*out = v;
	return 0;
}

/* "2009-10-12T17:50:30.000Z" (fraction optional) to seconds since the epoch. */
static int
s3_xml_parse_time(const char *s, int64_t *out)
{
	static const int	 width[6] = { 4, 2, 2, 2, 2, 2 };
	static const char	 sep[6] = { '-', '-', 'T', ':', ':', '\0' };
	struct tm		 tm;
	int			 v[6], i;

	for (i = 0; i < 6; i++) {
		if (s3_xml_digits(&s, width[i], &v[i]) != 0)
			return -EBADMSG;
		if (sep[i] != '\0' && *s++ != sep[i])
			return -EBADMSG;
	}
	if (*s == '.') {
		s++;
		if (*s < '0' || *s > '9')
			return -EBADMSG;
		while (*s >= '0' && *s <= '9')
			s++;
	}
	if (strcmp(s, "Z") != 0)
		return -EBADMSG;
	if (v[1] < 1 || v[1] > 12 || v[2] < 1 || v[2] > 31 || v[3] > 23 ||
	    v[4] > 59 || v[5] > 60)
		return -EBADMSG;

	memset(&tm, 0, sizeof tm);
	tm.tm_year = v[0] - 1900;
	tm.tm_mon = v[1] - 1;
	tm.tm_mday = v[2];
	tm.tm_hour = v[3];
	tm.tm_min = v[4];
	tm.tm_sec = v[5];
	*out = (int64_t)timegm(&tm);
	return 0;
}

/*
 * One <Contents>: check it and, if `out` is not NULL, add it. An object
 * named exactly `prefix` (a "directory" marker left by some other tool)
 * has no key of its own in the store and is skipped.
 */
static int
s3_xml_contents(const xmlNode *node, const char *prefix, size_t plen,
    int url_encoded, struct objstore_list *out)
{
	char *key = NULL, *size = NULL, *mtime = NULL;
	uint64_t sz;
	int64_t mt = 0;
	size_t klen;
	int rc;

	if ((rc = s3_xml_child_text(node, "Key", &key)) != 0)
		goto fail;
	if ((rc = s3_xml_child_text(node, "Size", &size)) != 0)
		goto fail;
	if ((rc = s3_xml_child_text(node, "LastModified", &mtime)) != 0)
		goto fail;

	rc = -EBADMSG;
	if (key == NULL || size == NULL)
		goto fail;
	klen = strlen(key);
	if (url_encoded && (rc = s3_xml_url_decode(key, &klen)) != 0)
		goto fail;
	rc = -EBADMSG;
	if (klen < plen || memcmp(key, prefix, plen) != 0)
		goto fail;
	if (klen - plen > OBJSTORE_KEY_MAX)
		goto fail;
	if ((rc = s3_xml_parse_size(size, &sz)) != 0)
		goto fail;
	if (mtime != NULL && (rc = s3_xml_parse_time(mtime, &mt)) != 0)
		goto fail;

	if (out != NULL && klen > plen)
		objstore_list_add(out, key + plen, klen - plen, sz, mt);
	rc = 0;

fail:
	free(mtime);
	free(size);
	free(key);
	return rc;
}

int
s3_xml_parse_list(const char *xml, size_t n, const char *prefix,
    int url_encoded, struct objstore_list *out, int *truncated, char **token)
{
	xmlDoc *doc = NULL;
	xmlNode *root, *c;
	char *trunc = NULL, *tok = NULL;
	size_t plen;
	int pass, is_trunc, rc;

	*truncated = 0;
	*token = NULL;
	if (prefix == NULL)
		prefix = "";
	plen = strlen(prefix);

	if ((rc = s3_xml_read(xml, n, "ListBucketResult", &doc, &root)) != 0)
		goto fail;
	if ((rc = s3_xml_child_text(root, "IsTruncated", &trunc)) != 0)
		goto fail;
	if ((rc = s3_xml_child_text(root, "NextContinuationToken", &tok)) != 0)
		goto fail;

	rc = -EBADMSG;
	if (trunc != NULL && strcmp(trunc, "true") == 0)
		is_trunc = 1;
	else if (trunc != NULL && strcmp(trunc, "false") == 0)
		is_trunc = 0;
	else
		goto fail;
	if (is_trunc && (tok == NULL || *tok == '\0'))
		goto fail;

	/* Check every entry before adding any, so a bad page adds nothing. */
	for (pass = 0; pass < 2; pass++) {
		for (c = root->children; c != NULL; c = c->next) {
			if (!s3_xml_is(c, "Contents"))
				continue;
			rc = s3_xml_contents(c, prefix, plen, url_encoded,
			    pass ? out : NULL);
			if (rc != 0)
				goto fail;
		}
	}

	*truncated = is_trunc;
	if (is_trunc) {
		*token = tok;
		tok = NULL;
	}
	rc = 0;

fail:
	free(tok);
	free(trunc);
	xmlFreeDoc(doc);
	return rc;
}

void
s3_error_release(struct s3_error *e)
{
	free(e->code);
	free(e->message);
	free(e->request_id);
	free(e->resource);
	memset(e, 0, sizeof *e);
}

int
s3_xml_parse_error(const char *xml, size_t n, struct s3_error *e)
{
	xmlDoc *doc = NULL;
	xmlNode *root;
	int rc;

	memset(e, 0, sizeof *e);
	if ((rc = s3_xml_read(xml, n, "Error", &doc, &root)) != 0)
		goto fail;
	if ((rc = s3_xml_child_text(root, "Code", &e->code)) != 0)
		goto fail;
	if ((rc = s3_xml_child_text(root, "Message", &e->message)) != 0)
		goto fail;
	if ((rc = s3_xml_child_text(root, "RequestId", &e->request_id)) != 0)
		goto fail;
	if ((rc = s3_xml_child_text(root, "Resource", &e->resource)) != 0)
		goto fail;
	xmlFreeDoc(doc);
	return 0;

fail:
	s3_error_release(e);
	xmlFreeDoc(doc);
	return rc;
}

int
s3_xml_parse_upload_id(const char *xml, size_t n, char **upload_id)
{
	xmlDoc *doc = NULL;
	xmlNode *root;
	char *id = NULL;
	int rc;

	*upload_id = NULL;
	if ((rc = s3_xml_read(xml, n, "InitiateMultipartUploadResult", &doc,
	    &root)) != 0)
		goto fail;
	if ((rc = s3_xml_child_text(root, "UploadId", &id)) != 0)
		goto fail;
	rc = -EBADMSG;
	if (id == NULL || *id == '\0')
		goto fail;
	*upload_id = id;
	xmlFreeDoc(doc);
	return 0;

fail:
	free(id);
	xmlFreeDoc(doc);
	return rc;
}

int
s3_xml_parse_delete_result(const char *xml, size_t n, size_t *nerrors,
    struct s3_error *first, char **first_key)
{
	struct s3_error e;
	xmlDoc *doc = NULL;
	xmlNode *root, *c;
	char *key = NULL;
	size_t count = 0;
	int rc;

	memset(&e, 0, sizeof e);
	*nerrors = 0;
	if (first != NULL)
		memset(first, 0, sizeof *first);
	if (first_key != NULL)
		*first_key = NULL;

	if ((rc = s3_xml_read(xml, n, "DeleteResult", &doc, &root)) != 0)
		goto fail;
	for (c = root->children; c != NULL; c = c->next) {
		if (!s3_xml_is(c, "Error"))
			continue;
		if (count++ != 0)
			continue;
		if ((rc = s3_xml_child_text(c, "Key", &key)) != 0)
			goto fail;
		if ((rc = s3_xml_child_text(c, "Code", &e.code)) != 0)
			goto fail;
		if ((rc = s3_xml_child_text(c, "Message", &e.message)) != 0)
			goto fail;
	}

	*nerrors = count;
	if (first != NULL)
		*first = e;
	else
		s3_error_release(&e);
	if (first_key != NULL)
		*first_key = key;
	else
		free(key);
	xmlFreeDoc(doc);
	return 0;

fail:
	free(key);
	s3_error_release(&e);
	xmlFreeDoc(doc);
	return rc;
}

/*
 * Append `s` escaped for element content: the five markup characters as
 * entities, CR and LF as character references (a parser would otherwise
 * turn a CR into a LF, and S3 asks for both to be escaped).
 */
static int
s3_xml_put_escaped(struct buf *b, const char *s)
{
	const char *p, *ent;
	int rc;

	for (p = s; *p != '\0'; p++) {
		switch (*p) {
		case '&':
			ent = "&amp;";
			break;
		case '<':
			ent = "&lt;";
			break;
		case '>':
			ent = "&gt;";
			break;
		case '"':
			ent = "&quot;";
			break;
		case '\'':
			ent = "&apos;";
			break;
		case '\r':
			ent = "&#13;";
			break;
		case '\n':
			ent = "&#10;";
			break;
		default:
			continue;
		}
		if ((rc = buf_append(b, s, (size_t)(p - s))) != 0)
			return rc;
		if ((rc = buf_puts(b, ent)) != 0)
			return rc;
		s = p + 1;
	}
	return buf_append(b, s, (size_t)(p - s));
}

int
s3_xml_delete_request(struct buf *out, const char *const *keys, size_t n)
{
	struct buf b;
	size_t i;
	int rc;

	buf_init(&b, 0);
	rc = -EINVAL;
	if (n == 0 || n > S3_DELETE_MAX || keys == NULL)
		goto fail;
	for (i = 0; i < n; i++) {
		if (keys[i] == NULL || *keys[i] == '\0' ||
		    !s3_xml_text_ok(keys[i]))
			goto fail;
	}

	if ((rc = buf_puts(&b, S3_XML_DECL "<Delete xmlns=\"" S3_XML_NS "\">"
	    "<Quiet>true</Quiet>")) != 0)
		goto fail;
	for (i = 0; i < n; i++) {
		if ((rc = buf_puts(&b, "<Object><Key>")) != 0)
			goto fail;
		if ((rc = s3_xml_put_escaped(&b, keys[i])) != 0)
			goto fail;
		if ((rc = buf_puts(&b, "</Key></Object>")) != 0)
			goto fail;
	}
	if ((rc = buf_puts(&b, "</Delete>")) != 0)
		goto fail;
	rc = buf_append(out, b.data, b.len);

fail:
	buf_release(&b);
	return rc;
}

/*
 * Each ETag is written between double quotes, as S3 returned it; one
 * given without its quotes gets them.
 */
int
s3_xml_complete_request(struct buf *out, char *const *etags, size_t n)
{
	struct buf b;
	const char *tag;
	char *bare = NULL;
	size_t i, len;
	int rc;

	buf_init(&b, 0);
	rc = -EINVAL;
	if (n == 0 || n > S3_PARTS_MAX || etags == NULL)
		goto fail;
	for (i = 0; i < n; i++) {
		if (etags[i] == NULL || !s3_xml_text_ok(etags[i]))
			goto fail;
	}

	if ((rc = buf_puts(&b, S3_XML_DECL "<CompleteMultipartUpload xmlns=\""
	    S3_XML_NS "\">")) != 0)
		goto fail;
	for (i = 0; i < n; i++) {
		tag = etags[i];
		len = strlen(tag);
		if (len >= 2 && tag[0] == '"' && tag[len - 1] == '"') {
			bare = xstrndup(tag + 1, len - 2);
			tag = bare;
		}
		rc = -EINVAL;
		if (*tag == '\0')
			goto fail;
		if ((rc = buf_printf(&b, "<Part><PartNumber>%zu</PartNumber>"
		    "<ETag>\"", i + 1)) != 0)
			goto fail;
		if ((rc = s3_xml_put_escaped(&b, tag)) != 0)
			goto fail;
		if ((rc = buf_puts(&b, "\"</ETag></Part>")) != 0)
			goto fail;
		free(bare);
		bare = NULL;
	}
	if ((rc = buf_puts(&b, "</CompleteMultipartUpload>")) != 0)
		goto fail;
	rc = buf_append(out, b.data, b.len);

fail:
	free(bare);
	buf_release(&b);
	return rc;
}

/*
 * XML 1.0 Char: #x9 | #xA | #xD | [#x20-#xD7FF] | [#xE000-#xFFFD] |
 * [#x10000-#x10FFFF], written as well-formed UTF-8 (no overlong forms,
 * no surrogates).
 */
int
s3_xml_text_ok(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	uint32_t c, min;
	size_t i, len;

	if (s == NULL)
		return 0;
	while (*p != '\0') {
		if (*p < 0x80) {
			if (*p < 0x20 && *p != '\t' && *p != '\n' && *p != '\r')
				return 0;
			p++;
			continue;
		}
		if ((*p & 0xe0) == 0xc0) {
			len = 2;
			c = *p & 0x1f;
			min = 0x80;
		} else if ((*p & 0xf0) == 0xe0) {
			len = 3;
			c = *p & 0x0f;
			min = 0x800;
		} else if ((*p & 0xf8) == 0xf0) {
			len = 4;
			c = *p & 0x07;
			min = 0x10000;
		} else
			return 0;
		/* A NUL fails the test, so this never reads past the end. */
		for (i = 1; i < len; i++) {
			if ((p[i] & 0xc0) != 0x80)
				return 0;
			c = c << 6 | (p[i] & 0x3f);
		}
		if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff) ||
		    c == 0xfffe || c == 0xffff)
			return 0;
		p += len;
	}
	return 1;
}
