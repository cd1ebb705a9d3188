/* json_write.h — relaxed extended JSON of a BSON document without libbson's encoder: the same
 * bytes bson_as_relaxed_extended_json() gives (libbson 1.23), written into a buffer the caller
 * reuses, so that the JSON-lines output costs no allocation per document once warm.
 *
 * Only what the listener's documents hold is written here: UTF-8 strings that are well-formed
 * (utf8.h's RFC 3629 rule) without NUL bytes, int32, int64, bool, null, ObjectId, dates from
 * 1970 to 9999, documents and arrays. Anything else (a double, binary, a date outside that
 * range, a string or key libbson would escape or refuse differently) makes the call return
 * -ENOTSUP, and the caller uses libbson's encoder for that document. Pure: no I/O, no log. */
#ifndef LINEAGE_JSON_WRITE_H
#define LINEAGE_JSON_WRITE_H

#include <bson/bson.h>
#include <stddef.h>

/* A growing byte buffer. Zero-initialise it; data is malloc'd and owned by the buffer until
 * json_write_buf_release(). The caller may set len = 0 to reuse it. Not NUL-terminated. */
struct json_write_buf {
	char *data;
	size_t len, cap;
};

/* Make room for n more bytes. 0 or -ENOMEM (the buffer is unchanged then). */
int json_write_reserve(struct json_write_buf *b, size_t n);

/* Append the relaxed extended JSON of doc to b. 0, -ENOTSUP (see above; b->len is back to
 * what it was), -ENOMEM or -EINVAL (doc is corrupt). doc is not taken. */
int json_write_relaxed(struct json_write_buf *b, const bson_t *doc);

/* Free b's memory; b is zeroed and can be used again. NULL is fine. */
void json_write_buf_release(struct json_write_buf *b);

#endif
