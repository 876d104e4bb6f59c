/*
 * test_s3_xml.c - the S3 XML parsers and request builders.
 *
 * Exercises: ListObjectsV2 pages (namespaced, truncated, url-encoded keys,
 * prefix stripping, bad sizes and dates), <Error> bodies, DeleteResult,
 * InitiateMultipartUploadResult, refusal of DTDs and entities, wrong roots
 * and broken documents, the Delete and CompleteMultipartUpload builders'
 * escaping, and s3_xml_text_ok().
 */
#include "config.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "engine/objstore/objstore.h"
#include "engine/objstore/s3_xml.h"
#include "util/buf.h"

#define S3NS	"http://s3.amazonaws.com/doc/2006-03-01/"
#define DECL	"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"

static int
parse_list(const char *xml, const char *prefix, int url,
    struct objstore_list *l, int *trunc, char **token)
{
	memset(l, 0, sizeof *l);
	return s3_xml_parse_list(xml, strlen(xml), prefix, url, l, trunc,
	    token);
}

/* A page as AWS sends it: namespace, indentation, owner, storage class. */
static const char list_page[] = DECL
    "<ListBucketResult xmlns=\"" S3NS "\">\n"
    "  <Name>example-bucket</Name>\n"
    "  <Prefix>vol/</Prefix>\n"
    "  <KeyCount>3</KeyCount>\n"
    "  <MaxKeys>1000</MaxKeys>\n"
    "  <IsTruncated>false</IsTruncated>\n"
    "  <Contents>\n"
    "    <Key>vol/manifest</Key>\n"
    "    <LastModified>2009-10-12T17:50:30.000Z</LastModified>\n"
    "    <ETag>&quot;fba9dede5f27731c9771645a39863328&quot;</ETag>\n"
    "    <Size>434234</Size>\n"
    "    <StorageClass>STANDARD</StorageClass>\n"
    "  </Contents>\n"
    "  <Contents>\n"
    "    <Key>vol/seg/000001</Key>\n"
    "    <LastModified>2024-02-29T23:59:59Z</LastModified>\n"
    "    <ETag>\"a\"</ETag>\n"
    "    <Size>0</Size>\n"
    "    <Owner><ID>abc</ID><DisplayName>me</DisplayName></Owner>\n"
    "    <StorageClass>STANDARD</StorageClass>\n"
    "  </Contents>\n"
    "  <Contents>\n"
    "    <Key>vol/seg/000002</Key>\n"
    "    <Size>18446744073709551615</Size>\n"
    "  </Contents>\n"
    "</ListBucketResult>\n";

static void
test_list_page(void **state)
{
	struct objstore_list l;
	char *token;
	int trunc;

	(void)state;
	assert_int_equal(parse_list(list_page, "vol/", 0, &l, &trunc, &token),
	    0);
	assert_int_equal(trunc, 0);
	assert_null(token);
	assert_int_equal(l.n, 3);
	assert_string_equal(l.entries[0].key, "manifest");
	assert_int_equal(l.entries[0].size, 434234);
	assert_int_equal(l.entries[0].mtime, 1255369830);
	assert_string_equal(l.entries[1].key, "seg/000001");
	assert_int_equal(l.entries[1].size, 0);
	assert_int_equal(l.entries[1].mtime, 1709251199);
	assert_string_equal(l.entries[2].key, "seg/000002");
	assert_true(l.entries[2].size == UINT64_MAX);
	assert_int_equal(l.entries[2].mtime, 0);
	objstore_list_release(&l);

	/* No prefix: keys come back whole. A NULL prefix is "". */
	assert_int_equal(parse_list(list_page, NULL, 0, &l, &trunc, &token),
	    0);
	assert_int_equal(l.n, 3);
	assert_string_equal(l.entries[0].key, "vol/manifest");
	objstore_list_release(&l);
}

static void
test_list_truncated(void **state)
{
	static const char page[] = DECL
	    "<ListBucketResult xmlns=\"" S3NS "\">"
	    "<Name>b</Name><Prefix></Prefix><KeyCount>1</KeyCount>"
	    "<MaxKeys>1</MaxKeys><IsTruncated>true</IsTruncated>"
	    "<ContinuationToken>1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM="
	    "</ContinuationToken>"
	    "<NextContinuationToken>1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4v"
	    "bOwM=&amp;x</NextContinuationToken>"
	    "<Contents><Key>a</Key><Size>1</Size></Contents>"
	    "</ListBucketResult>";
	static const char notoken[] =
	    "<ListBucketResult><IsTruncated>true</IsTruncated>"
	    "<Contents><Key>a</Key><Size>1</Size></Contents>"
	    "</ListBucketResult>";
	static const char noflag[] =
	    "<ListBucketResult>"
	    "<Contents><Key>a</Key><Size>1</Size></Contents>"
	    "</ListBucketResult>";
	static const char badflag[] =
	    "<ListBucketResult><IsTruncated>yes</IsTruncated>"
	    "</ListBucketResult>";
	static const char empty[] =
	    "<ListBucketResult><IsTruncated>false</IsTruncated>"
	    "</ListBucketResult>";
	struct objstore_list l;
	char *token;
	int trunc;

	(void)state;
	assert_int_equal(parse_list(page, "", 0, &l, &trunc, &token), 0);
	assert_int_equal(trunc, 1);
	assert_non_null(token);
	assert_string_equal(token,
	    "1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=&x");
	assert_int_equal(l.n, 1);
	free(token);
	objstore_list_release(&l);

	assert_int_equal(parse_list(notoken, "", 0, &l, &trunc, &token),
	    -EBADMSG);
	assert_int_equal(l.n, 0);
	assert_null(token);
	assert_int_equal(trunc, 0);
	assert_int_equal(parse_list(noflag, "", 0, &l, &trunc, &token),
	    -EBADMSG);
	assert_int_equal(l.n, 0);
	assert_int_equal(parse_list(badflag, "", 0, &l, &trunc, &token),
	    -EBADMSG);

	assert_int_equal(parse_list(empty, "", 0, &l, &trunc, &token), 0);
	assert_int_equal(l.n, 0);
	assert_int_equal(trunc, 0);
	assert_null(token);
	objstore_list_release(&l);
}

static void
test_list_url_encoded(void **state)
{
	static const char page[] =
	    "<ListBucketResult xmlns=\"" S3NS "\">"
	    "<EncodingType>url</EncodingType>"
	    "<IsTruncated>false</IsTruncated>"
	    "<Contents><Key>data%2Fa+b</Key><Size>1</Size></Contents>"
	    "<Contents><Key>data/c%2Bd</Key><Size>2</Size></Contents>"
	    "<Contents><Key>data/x%2fy%2Fz</Key><Size>3</Size></Contents>"
	    "<Contents><Key>data/%C3%A9t%C3%A9%20%E2%82%AC</Key>"
	    "<Size>4</Size></Contents>"
	    "<Contents><Key>data/100%25</Key><Size>5</Size></Contents>"
	    "</ListBucketResult>";
	struct objstore_list l;
	char *token;
	int trunc;

	(void)state;
	assert_int_equal(parse_list(page, "data/", 1, &l, &trunc, &token), 0);
	assert_int_equal(l.n, 5);
	assert_string_equal(l.entries[0].key, "a b");
	assert_string_equal(l.entries[1].key, "c+d");
	assert_string_equal(l.entries[2].key, "x/y/z");
	assert_string_equal(l.entries[3].key, "\xc3\xa9t\xc3\xa9 \xe2\x82\xac");
	assert_string_equal(l.entries[4].key, "100%");
	assert_int_equal(l.entries[4].size, 5);
	objstore_list_release(&l);

	/* Without url_encoded the same bytes are the key (and miss the prefix). */
	assert_int_equal(parse_list(page, "", 0, &l, &trunc, &token), 0);
	assert_string_equal(l.entries[0].key, "data%2Fa+b");
	objstore_list_release(&l);
	assert_int_equal(parse_list(page, "data/", 0, &l, &trunc, &token),
	    -EBADMSG);
	assert_int_equal(l.n, 0);
}

static void
test_list_bad_escapes(void **state)
{
	static const char *const keys[] = {
		"a%", "a%2", "a%G0", "a%0g", "%00", "a%00b", "a%%41",
	};
	struct objstore_list l;
	struct buf b;
	char *token;
	size_t i;
	int trunc;

	(void)state;
	for (i = 0; i < sizeof keys / sizeof keys[0]; i++) {
		buf_init(&b, 0);
		assert_int_equal(buf_printf(&b, "<ListBucketResult>"
		    "<IsTruncated>false</IsTruncated>"
		    "<Contents><Key>ok</Key><Size>1</Size></Contents>"
		    "<Contents><Key>%s</Key><Size>1</Size></Contents>"
		    "</ListBucketResult>", keys[i]), 0);
		assert_int_equal(parse_list(b.data, "", 1, &l, &trunc, &token),
		    -EBADMSG);
		/* A bad page adds nothing, not even the good entry before. */
		assert_int_equal(l.n, 0);
		assert_null(token);
		/* The same key, not url-encoded, is a plain key. */
		assert_int_equal(parse_list(b.data, "", 0, &l, &trunc, &token),
		    0);
		assert_int_equal(l.n, 2);
		objstore_list_release(&l);
		buf_release(&b);
	}
}

static void
test_list_prefix(void **state)
{
	static const char page[] =
	    "<ListBucketResult><IsTruncated>false</IsTruncated>"
	    "<Contents><Key>pre/</Key><Size>0</Size></Contents>"
	    "<Contents><Key>pre/a</Key><Size>1</Size></Contents>"
	    "</ListBucketResult>";
	static const char other[] =
	    "<ListBucketResult><IsTruncated>false</IsTruncated>"
	    "<Contents><Key>pre/a</Key><Size>1</Size></Contents>"
	    "<Contents><Key>prf/a</Key><Size>1</Size></Contents>"
	    "</ListBucketResult>";
	static const char shorter[] =
	    "<ListBucketResult><IsTruncated>false</IsTruncated>"
	    "<Contents><Key>pr</Key><Size>1</Size></Contents>"
	    "</ListBucketResult>";
	struct objstore_list l;
	char *token;
	int trunc;

	(void)state;
	/* The object named like the prefix itself is a marker: skipped. */
	assert_int_equal(parse_list(page, "pre/", 0, &l, &trunc, &token), 0);
	assert_int_equal(l.n, 1);
	assert_string_equal(l.entries[0].key, "a");
	objstore_list_release(&l);

	assert_int_equal(parse_list(other, "pre/", 0, &l, &trunc, &token),
	    -EBADMSG);
	assert_int_equal(l.n, 0);
	assert_int_equal(parse_list(shorter, "pre/", 0, &l, &trunc, &token),
	    -EBADMSG);
}

static void
test_list_bad_entries(void **state)
{
	static const char *const bad[] = {
		/* sizes */
		"<Key>a</Key><Size>12a</Size>",
		"<Key>a</Key><Size>-1</Size>",
		"<Key>a</Key><Size>+1</Size>",
		"<Key>a</Key><Size> 1</Size>",
		"<Key>a</Key><Size>1 </Size>",
		"<Key>a</Key><Size></Size>",
		"<Key>a</Key><Size>0x10</Size>",
		"<Key>a</Key><Size>18446744073709551616</Size>",
		"<Key>a</Key><Size>99999999999999999999999</Size>",
		"<Key>a</Key>",
		"<Size>1</Size>",
		"<Key>a</Key><Size><b>1</b></Size>",
		/* dates */
		"<Key>a</Key><Size>1</Size><LastModified>yesterday</LastModified>",
		"<Key>a</Key><Size>1</Size>"
		    "<LastModified>2009-10-12T17:50:30.000</LastModified>",
		"<Key>a</Key><Size>1</Size>"
		    "<LastModified>2009-13-12T17:50:30.000Z</LastModified>",
		"<Key>a</Key><Size>1</Size>"
		    "<LastModified>2009-10-12T17:50:30.Z</LastModified>",
		"<Key>a</Key><Size>1</Size>"
		    "<LastModified>2009-10-12 17:50:30Z</LastModified>",
		"<Key>a</Key><Size>1</Size><LastModified></LastModified>",
	};
	struct objstore_list l;
	struct buf b;
	char *token;
	size_t i;
	int trunc;

	(void)state;
	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		buf_init(&b, 0);
		assert_int_equal(buf_printf(&b, "<ListBucketResult>"
		    "<IsTruncated>false</IsTruncated>"
		    "<Contents>%s</Contents></ListBucketResult>", bad[i]), 0);
		assert_int_equal(parse_list(b.data, "", 0, &l, &trunc, &token),
		    -EBADMSG);
		assert_int_equal(l.n, 0);
		buf_release(&b);
	}
}

static void
test_list_text_forms(void **state)
{
	static const char page[] =
	    "<ListBucketResult><IsTruncated>false</IsTruncated>"
	    "<Contents><Key>   </Key><Size>1</Size></Contents>"
	    "<Contents><Key><![CDATA[a<b]]>&amp;c<!-- x --></Key>"
	    "<Size>2</Size></Contents>"
	    "<Contents><Key>cr&#13;lf&#10;tab&#9;</Key><Size>3</Size></Contents>"
	    "</ListBucketResult>";
	struct objstore_list l;
	char *token;
	int trunc;

	(void)state;
	assert_int_equal(parse_list(page, "", 0, &l, &trunc, &token), 0);
	assert_int_equal(l.n, 3);
	assert_string_equal(l.entries[0].key, "   ");
	assert_string_equal(l.entries[1].key, "a<b&c");
	assert_string_equal(l.entries[2].key, "cr\rlf\ntab\t");
	objstore_list_release(&l);
}

static void
test_wrong_root(void **state)
{
	static const char err[] = "<Error><Code>NoSuchKey</Code></Error>";
	struct objstore_list l;
	struct s3_error e;
	size_t nerr;
	char *s, *token;
	int trunc;

	(void)state;
	assert_int_equal(parse_list(err, "", 0, &l, &trunc, &token), -EBADMSG);
	assert_int_equal(s3_xml_parse_error(list_page, strlen(list_page), &e),
	    -EBADMSG);
	assert_null(e.code);
	assert_int_equal(s3_xml_parse_upload_id(err, strlen(err), &s),
	    -EBADMSG);
	assert_null(s);
	assert_int_equal(s3_xml_parse_delete_result(err, strlen(err), &nerr,
	    &e, &s), -EBADMSG);
	assert_null(s);
	/* A nested <Error> is not the root. */
	assert_int_equal(s3_xml_parse_error("<x><Error/></x>", 15, &e),
	    -EBADMSG);
}

static void
test_dtd_refused(void **state)
{
	static const char *const docs[] = {
		"<!DOCTYPE Error [<!ENTITY x \"boom\">]>"
		    "<Error><Code>&x;</Code></Error>",
		"<?xml version=\"1.0\"?><!DOCTYPE Error SYSTEM "
		    "\"file:///etc/passwd\"><Error><Code>a</Code></Error>",
		"<!DOCTYPE Error [<!ENTITY x SYSTEM \"file:///etc/passwd\">]>"
		    "<Error><Code>&x;</Code></Error>",
		"<!DOCTYPE Error [<!ENTITY % p SYSTEM \"http://127.0.0.1:1/x\">"
		    "%p;]><Error/>",
		"<!DOCTYPE Error [<!ENTITY a \"aaaaaaaaaa\">"
		    "<!ENTITY b \"&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;\">"
		    "<!ENTITY c \"&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;\">"
		    "<!ENTITY d \"&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;\">]>"
		    "<Error><Code>&d;&d;&d;&d;</Code></Error>",
		"<!DOCTYPE Error><Error><Code>a</Code></Error>",
		/* An entity without a DTD is not well-formed. */
		"<Error><Code>&x;</Code></Error>",
	};
	struct s3_error e;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof docs / sizeof docs[0]; i++) {
		assert_int_equal(s3_xml_parse_error(docs[i], strlen(docs[i]),
		    &e), -EBADMSG);
		assert_null(e.code);
	}
}

static void
test_malformed(void **state)
{
	static const char *const docs[] = {
		"",
		"not xml",
		"<Error><Code>NoSuchKey</Code>",
		"<Error><Code>NoSuchKey</Error></Code>",
		"<Error><Code>a</Code></Error><Error/>",
		"<Error><Code>a\x01</Code></Error>",
		"<Error><Code>&#0;</Code></Error>",
		"<Error><Code>\xff\xfe</Code></Error>",
	};
	struct s3_error e;
	struct buf b;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof docs / sizeof docs[0]; i++) {
		assert_int_equal(s3_xml_parse_error(docs[i], strlen(docs[i]),
		    &e), -EBADMSG);
		assert_null(e.code);
	}
	/* The length is what counts, not a NUL. */
	assert_int_equal(s3_xml_parse_error("<Error/>", 5, &e), -EBADMSG);
	assert_int_equal(s3_xml_parse_error(NULL, 0, &e), -EINVAL);
	/* Too large is refused before a byte is read. */
	assert_int_equal(s3_xml_parse_error("<Error/>", ((size_t)64 << 20) + 1,
	    &e), -EFBIG);

	/* Deep nesting stops at libxml2's depth limit. */
	buf_init(&b, 0);
	assert_int_equal(buf_puts(&b, "<Error>"), 0);
	for (i = 0; i < 5000; i++)
		assert_int_equal(buf_puts(&b, "<a>"), 0);
	for (i = 0; i < 5000; i++)
		assert_int_equal(buf_puts(&b, "</a>"), 0);
	assert_int_equal(buf_puts(&b, "</Error>"), 0);
	assert_int_equal(s3_xml_parse_error(b.data, b.len, &e), -EBADMSG);
	buf_release(&b);
}

static void
test_error(void **state)
{
	static const char nosuchkey[] = DECL
	    "<Error><Code>NoSuchKey</Code>"
	    "<Message>The resource you requested does not exist</Message>"
	    "<Resource>/mybucket/myfoto.jpg</Resource>"
	    "<RequestId>4442587FB7D0A2F9</RequestId></Error>";
	static const char sig[] =
	    "<Error xmlns=\"" S3NS "\"><Code>SignatureDoesNotMatch</Code>"
	    "<Message>The request signature we calculated does not match "
	    "the signature you provided.</Message>"
	    "<AWSAccessKeyId>AKIA</AWSAccessKeyId>"
	    "<StringToSign>AWS4-HMAC-SHA256\n20240101T000000Z</StringToSign>"
	    "<RequestId>TX1</RequestId><HostId>h</HostId></Error>";
	struct s3_error e;

	(void)state;
	s3_xml_init();
	s3_xml_init();
	assert_int_equal(s3_xml_parse_error(nosuchkey, strlen(nosuchkey), &e),
	    0);
	assert_string_equal(e.code, "NoSuchKey");
	assert_string_equal(e.message,
	    "The resource you requested does not exist");
	assert_string_equal(e.resource, "/mybucket/myfoto.jpg");
	assert_string_equal(e.request_id, "4442587FB7D0A2F9");
	s3_error_release(&e);
	assert_null(e.code);

	assert_int_equal(s3_xml_parse_error(sig, strlen(sig), &e), 0);
	assert_string_equal(e.code, "SignatureDoesNotMatch");
	assert_string_equal(e.request_id, "TX1");
	assert_null(e.resource);
	s3_error_release(&e);

	assert_int_equal(s3_xml_parse_error("<Error/>", 8, &e), 0);
	assert_null(e.code);
	assert_null(e.message);
	s3_error_release(&e);
	/* Releasing twice is harmless. */
	s3_error_release(&e);
}

static void
test_delete_result(void **state)
{
	static const char res[] = DECL
	    "<DeleteResult xmlns=\"" S3NS "\">"
	    "<Deleted><Key>a</Key></Deleted>"
	    "<Error><Key>vol/x&amp;y</Key><Code>AccessDenied</Code>"
	    "<Message>Access Denied</Message></Error>"
	    "<Deleted><Key>b</Key></Deleted>"
	    "<Error><Key>vol/z</Key><Code>InternalError</Code>"
	    "<Message>We encountered an internal error.</Message></Error>"
	    "</DeleteResult>";
	static const char clean[] =
	    "<DeleteResult xmlns=\"" S3NS "\"></DeleteResult>";
	struct s3_error e;
	size_t nerr;
	char *key;

	(void)state;
	assert_int_equal(s3_xml_parse_delete_result(res, strlen(res), &nerr,
	    &e, &key), 0);
	assert_int_equal(nerr, 2);
	assert_string_equal(key, "vol/x&y");
	assert_string_equal(e.code, "AccessDenied");
	assert_string_equal(e.message, "Access Denied");
	assert_null(e.request_id);
	free(key);
	s3_error_release(&e);

	/* The caller may not want the details. */
	assert_int_equal(s3_xml_parse_delete_result(res, strlen(res), &nerr,
	    NULL, NULL), 0);
	assert_int_equal(nerr, 2);

	assert_int_equal(s3_xml_parse_delete_result(clean, strlen(clean),
	    &nerr, &e, &key), 0);
	assert_int_equal(nerr, 0);
	assert_null(key);
	assert_null(e.code);
}

static void
test_upload_id(void **state)
{
	static const char res[] = DECL
	    "<InitiateMultipartUploadResult xmlns=\"" S3NS "\">"
	    "<Bucket>example-bucket</Bucket><Key>example-object</Key>"
	    "<UploadId>VXBsb2FkIElEIGZvciA2aWWpbmcncyBteS1tb3ZpZS5tMnRzIHVwbG9h"
	    "ZA</UploadId></InitiateMultipartUploadResult>";
	static const char none[] =
	    "<InitiateMultipartUploadResult><Bucket>b</Bucket>"
	    "</InitiateMultipartUploadResult>";
	static const char empty[] =
	    "<InitiateMultipartUploadResult><UploadId/>"
	    "</InitiateMultipartUploadResult>";
	char *id;

	(void)state;
	assert_int_equal(s3_xml_parse_upload_id(res, strlen(res), &id), 0);
	assert_string_equal(id, "VXBsb2FkIElEIGZvciA2aWWpbmcncyBteS1tb3ZpZS5t"
	    "MnRzIHVwbG9hZA");
	free(id);
	assert_int_equal(s3_xml_parse_upload_id(none, strlen(none), &id),
	    -EBADMSG);
	assert_null(id);
	assert_int_equal(s3_xml_parse_upload_id(empty, strlen(empty), &id),
	    -EBADMSG);
	assert_null(id);
}

static void
test_delete_request(void **state)
{
	static const char *const keys[] = {
		"plain", "a&b<c>d\"e'f", "cr\rlf\n\ttab", "\xc3\xa9t\xc3\xa9",
	};
	static const char *const badkey[] = { "ok", "bad\x01" };
	static const char *const badutf8[] = { "\xc3(" };
	static const char *const emptykey[] = { "" };
	static const char *const nullkey[] = { NULL };
	const char *many[1001];
	struct buf b;
	size_t i;

	(void)state;
	buf_init(&b, 0);
	assert_int_equal(s3_xml_delete_request(&b, keys, 4), 0);
	assert_string_equal(b.data,
	    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>"
	    "<Delete xmlns=\"" S3NS "\"><Quiet>true</Quiet>"
	    "<Object><Key>plain</Key></Object>"
	    "<Object><Key>a&amp;b&lt;c&gt;d&quot;e&apos;f</Key></Object>"
	    "<Object><Key>cr&#13;lf&#10;\ttab</Key></Object>"
	    "<Object><Key>\xc3\xa9t\xc3\xa9</Key></Object>"
	    "</Delete>");

	/* Refusals leave the buffer as it was. */
	buf_reset(&b);
	assert_int_equal(buf_puts(&b, "keep"), 0);
	assert_int_equal(s3_xml_delete_request(&b, badkey, 2), -EINVAL);
	assert_int_equal(s3_xml_delete_request(&b, badutf8, 1), -EINVAL);
	assert_int_equal(s3_xml_delete_request(&b, emptykey, 1), -EINVAL);
	assert_int_equal(s3_xml_delete_request(&b, nullkey, 1), -EINVAL);
	assert_int_equal(s3_xml_delete_request(&b, keys, 0), -EINVAL);
	for (i = 0; i < 1001; i++)
		many[i] = "k";
	assert_int_equal(s3_xml_delete_request(&b, many, 1001), -EINVAL);
	assert_string_equal(b.data, "keep");
	assert_int_equal(s3_xml_delete_request(&b, many, 1000), 0);
	buf_release(&b);

	/* A buffer's ceiling is respected. */
	buf_init(&b, 64);
	assert_int_equal(s3_xml_delete_request(&b, keys, 1), -EFBIG);
	assert_int_equal(b.len, 0);
	buf_release(&b);
}

static void
test_complete_request(void **state)
{
	static char e1[] = "\"a54357aff0632cce46d942af68356b38\"";
	static char e2[] = "0c78aef83f66abc1fa1e8477f296d394";
	static char e3[] = "\"3858f62230ac3c915f300c664312c11f-9\"";
	static char amp[] = "x&<y";
	static char bad[] = "\"x\x01\"";
	static char quotes[] = "\"\"";
	char *etags[] = { e1, e2, e3 };
	char *ampv[] = { amp };
	char *badv[] = { e1, bad };
	char *quotesv[] = { quotes };
	struct buf b;

	(void)state;
	buf_init(&b, 0);
	assert_int_equal(s3_xml_complete_request(&b, etags, 3), 0);
	assert_string_equal(b.data,
	    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>"
	    "<CompleteMultipartUpload xmlns=\"" S3NS "\">"
	    "<Part><PartNumber>1</PartNumber>"
	    "<ETag>\"a54357aff0632cce46d942af68356b38\"</ETag></Part>"
	    "<Part><PartNumber>2</PartNumber>"
	    "<ETag>\"0c78aef83f66abc1fa1e8477f296d394\"</ETag></Part>"
	    "<Part><PartNumber>3</PartNumber>"
	    "<ETag>\"3858f62230ac3c915f300c664312c11f-9\"</ETag></Part>"
	    "</CompleteMultipartUpload>");
	buf_reset(&b);
	assert_int_equal(s3_xml_complete_request(&b, ampv, 1), 0);
	assert_non_null(strstr(b.data, "<ETag>\"x&amp;&lt;y\"</ETag>"));
	buf_reset(&b);
	assert_int_equal(s3_xml_complete_request(&b, badv, 2), -EINVAL);
	assert_int_equal(s3_xml_complete_request(&b, quotesv, 1), -EINVAL);
	assert_int_equal(s3_xml_complete_request(&b, etags, 0), -EINVAL);
	assert_int_equal(b.len, 0);
	buf_release(&b);
}

static void
test_text_ok(void **state)
{
	(void)state;
	assert_true(s3_xml_text_ok(""));
	assert_true(s3_xml_text_ok("plain/key-1.txt"));
	assert_true(s3_xml_text_ok("tab\tlf\ncr\r"));
	assert_true(s3_xml_text_ok("\x7f"));
	assert_true(s3_xml_text_ok("\xc3\xa9"));			/* U+00E9 */
	assert_true(s3_xml_text_ok("\xe2\x82\xac"));			/* U+20AC */
	assert_true(s3_xml_text_ok("\xed\x9f\xbf"));			/* U+D7FF */
	assert_true(s3_xml_text_ok("\xee\x80\x80"));			/* U+E000 */
	assert_true(s3_xml_text_ok("\xef\xbf\xbd"));			/* U+FFFD */
	assert_true(s3_xml_text_ok("\xf0\x9f\x98\x80"));		/* U+1F600 */
	assert_true(s3_xml_text_ok("\xf4\x8f\xbf\xbf"));		/* U+10FFFF */

	assert_false(s3_xml_text_ok(NULL));
	assert_false(s3_xml_text_ok("a\x01"));
	assert_false(s3_xml_text_ok("\x1f"));
	assert_false(s3_xml_text_ok("\x80"));				/* lone continuation */
	assert_false(s3_xml_text_ok("\xc3"));				/* cut short */
	assert_false(s3_xml_text_ok("\xe2\x82"));
	assert_false(s3_xml_text_ok("\xc0\xaf"));			/* overlong '/' */
	assert_false(s3_xml_text_ok("\xe0\x80\xaf"));
	assert_false(s3_xml_text_ok("\xed\xa0\x80"));			/* U+D800 */
	assert_false(s3_xml_text_ok("\xef\xbf\xbe"));			/* U+FFFE */
	assert_false(s3_xml_text_ok("\xef\xbf\xbf"));			/* U+FFFF */
	assert_false(s3_xml_text_ok("\xf4\x90\x80\x80"));		/* > U+10FFFF */
	assert_false(s3_xml_text_ok("\xf8\x88\x80\x80\x80"));
	assert_false(s3_xml_text_ok("\xff"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_list_page),
		cmocka_unit_test(test_list_truncated),
		cmocka_unit_test(test_list_url_encoded),
		cmocka_unit_test(test_list_bad_escapes),
		cmocka_unit_test(test_list_prefix),
		cmocka_unit_test(test_list_bad_entries),
		cmocka_unit_test(test_list_text_forms),
		cmocka_unit_test(test_wrong_root),
		cmocka_unit_test(test_dtd_refused),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_error),
		cmocka_unit_test(test_delete_result),
		cmocka_unit_test(test_upload_id),
		cmocka_unit_test(test_delete_request),
		cmocka_unit_test(test_complete_request),
		cmocka_unit_test(test_text_ok),
	};

	s3_xml_init();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
