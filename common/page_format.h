/* page_format.h — pages (issue 15): the filter's processes and files documents of one
 * container (or of the host), packed as their BSON bytes back to back and compressed
 * (zlib), a few MiB per page, in a SCHEMA_PAGES collection beside the documents themselves.
 * lineage-query reads a container's pages instead of its documents: a MongoDB-wire server
 * like FerretDB pays per document and per field (~7k documents/s: a 130k-line timeline took
 * 14 s), while a page is one binary value. The documents stay the queryable truth (mongosh,
 * other tools); pages are a read cache of them, written in the same filter run.
 *
 * page_pack/page_unpack own nothing: the caller frees what they return. */
#ifndef LINEAGE_PAGE_FORMAT_H
#define LINEAGE_PAGE_FORMAT_H

#include <stddef.h>
#include <stdint.h>

/* A page is closed when its documents reach this many bytes (one larger document gets a
 * page of its own; a document is at most 16 MiB, and so is a page after compression). */
#define PAGE_RAW_MAX (4u << 20)
#define PAGE_CODEC_ZLIB "zlib"
/* The most a page can hold uncompressed (PAGE_RAW_MAX and one 16 MiB document): a reader
 * refuses a larger raw_len rather than allocating it. */
#define PAGE_RAW_LIMIT (PAGE_RAW_MAX + (16u << 20))

/* Compress raw[0..len) into *out (malloc'd) and *outlen. 0 or -ENOMEM, -EIO. */
int page_pack(const uint8_t *raw, size_t len, uint8_t **out, size_t *outlen);

/* Decompress data into *out (malloc'd, raw_len bytes) and check that it is a chain of BSON
 * documents filling it exactly. 0, -ENOMEM, or -EBADMSG (damaged, wrong length or codec). */
int page_unpack(const uint8_t *data, size_t len, size_t raw_len, uint8_t **out);

/* The next document of an unpacked page: 1 with *doc and *doclen, 0 at the end, -EBADMSG. */
int page_next(const uint8_t *raw, size_t len, size_t *pos, const uint8_t **doc,
	      uint32_t *doclen);

#endif
