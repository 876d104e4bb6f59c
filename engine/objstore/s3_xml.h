/*
 * s3_xml.h - the XML that S3 sends and expects, read and written with
 * libxml2.
 *
 * Parsers take bytes from the network and must not trust them: they never
 * crash, never read outside the input, refuse DTDs and entity expansion
 * (no network, no external entities), and return -EBADMSG for a document
 * that is not what they expect. Results are owned by the caller.
 * Thread-safe (libxml2 is initialised once, in s3_xml_init()).
 */
#ifndef SHALE_S3_XML_H
#define SHALE_S3_XML_H

#include <stddef.h>
#include <stdint.h>

#include "engine/objstore/objstore.h"
#include "util/buf.h"

/* Call once before any other function here (idempotent, thread-safe). */
void	s3_xml_init(void);

/* <Error><Code/><Message/><RequestId/><Resource/></Error>; absent fields are NULL. */
struct s3_error {
	char	*code;
	char	*message;
	char	*request_id;
	char	*resource;
};
int	s3_xml_parse_error(const char *xml, size_t n, struct s3_error *e);
void	s3_error_release(struct s3_error *e);

/*
 * A ListObjectsV2 result page. Each <Contents> becomes an entry of `out`
 * (appended with objstore_list_add) whose key has its first `strip` bytes
 * removed (the store's prefix; a key shorter than that, or not starting
 * with `prefix`, is -EBADMSG). With url_encoded (the request said
 * encoding-type=url) keys are percent-decoded first. *truncated is set
 * from <IsTruncated>, *token to a copy of <NextContinuationToken> or NULL.
 */
int	s3_xml_parse_list(const char *xml, size_t n, const char *prefix,
	    int url_encoded, struct objstore_list *out, int *truncated,
	    char **token);

/* <InitiateMultipartUploadResult><UploadId/>: *upload_id is a copy. */
int	s3_xml_parse_upload_id(const char *xml, size_t n, char **upload_id);

/*
 * <DeleteResult>: the number of <Error> elements in *nerrors, and the
 * first one's key, code and message in *first (fields NULL if none).
 */
int	s3_xml_parse_delete_result(const char *xml, size_t n, size_t *nerrors,
	    struct s3_error *first, char **first_key);

/* <Delete><Quiet>true</Quiet><Object><Key/></Object>...</Delete> */
int	s3_xml_delete_request(struct buf *out, const char *const *keys, size_t n);
/* <CompleteMultipartUpload><Part><PartNumber/><ETag/></Part>...; parts numbered from 1. */
int	s3_xml_complete_request(struct buf *out, char *const *etags, size_t n);

/* True if every byte of `s` may stand in an XML 1.0 document (as text). */
int	s3_xml_text_ok(const char *s);

#endif
