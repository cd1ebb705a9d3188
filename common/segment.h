/* segment.h — the raw layout (issue 33): a segment is a run of the listener's documents of
 * one stream (events, proc_events, snapshot, container_facts: the documents schema.h
 * describes, unchanged), back to back as BSON and compressed (zstd), stored as ONE document
 * with a small header that indexes can serve:
 *
 *   {_id: "<session hex>:<stream>:<seq_first>", session, stream, seq_first, seq_last, n,
 *    ts_first, ts_last, tgids[], tgids_capped, containers[], containers_capped, syscalls[],
 *    syscalls_capped, raw_bytes, codec, data (binary), [link, prev]}
 *
 * seq_first/seq_last and ts_first/ts_last are the least and greatest of the documents'
 * (two reader threads submit, so a stream's documents are in submit order, nearly but not
 * always in seq order). tgids: every pid/tgid/parent_tgid/child_tgid in it; containers:
 * every container id (null for host documents); syscalls: every events syscall and every
 * proc_events `what`; each capped at SEG_MAX_* distinct values (then `<name>_capped: true`
 * and a reader must not prune by that field). link/prev: the evidence chain (chain.h): link
 * number and the SHA-256 of the previous segment document of the session, absent when
 * recorded with --no-chain. The same document is what the spool holds and what a replay
 * inserts: one format on disk and in the store.
 *
 * Pure: libbson and libzstd, no store, no logging. A builder is used by one thread at a
 * time; seg_* decoding functions are thread safe. */
#ifndef LINEAGE_SEGMENT_H
#define LINEAGE_SEGMENT_H

#include <bson/bson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SEG_CODEC_ZSTD "zstd"
#define SEG_ZSTD_LEVEL 3	    /* measured: notes.md "Segments" */
#define SEG_DEFAULT_EVENTS 1024   /* a segment closes at this many documents … */
#define SEG_DEFAULT_MS 250	    /* … or when its oldest document is this old */
#define SEG_RAW_MAX (8u << 20)    /* … or before its documents pass this many bytes */
/* The most a segment can hold uncompressed: SEG_RAW_MAX and one document of 16 MiB. A reader
 * refuses a larger raw_bytes rather than allocating it. */
#define SEG_RAW_LIMIT (SEG_RAW_MAX + (16u << 20) + (64u << 10))
#define SEG_MAX_TGIDS 256
#define SEG_MAX_CONTAINERS 32
#define SEG_MAX_SYSCALLS 64
#define SEG_ID_MAX 80 /* "<24 hex>:<stream>:<seq>" and NUL */

/* The raw streams, in one place: SCHEMA_EVENTS, SCHEMA_PROC_EVENTS, SCHEMA_SNAPSHOT,
 * SCHEMA_CONTAINER_FACTS (indexes 0..SEG_NSTREAMS-1, in that order). */
#define SEG_NSTREAMS 4
extern const char *const seg_streams[SEG_NSTREAMS];
/* The index of stream name s in seg_streams, or -1 for a name that is not a raw stream. */
int seg_stream_index(const char *s);

struct seg_builder;

/* A builder for stream (a static string: SCHEMA_EVENTS, …). *ret owned by the caller:
 * seg_builder_free(). */
int seg_builder_new(const char *stream, struct seg_builder **ret);
void seg_builder_free(struct seg_builder *b);

/* Append a copy of doc's bytes and note its header values (seq, ts, ids, container,
 * syscall). doc stays the caller's. -EINVAL for a document without an integer seq,
 * -ENOMEM. */
int seg_builder_add(struct seg_builder *b, const bson_t *doc);

size_t seg_builder_count(const struct seg_builder *b);
size_t seg_builder_bytes(const struct seg_builder *b);
const char *seg_builder_stream(const struct seg_builder *b);

/* The chain fields of a sealed segment (chain.h): link number and the previous hash. */
struct seg_link {
	int64_t link;
	uint8_t prev[32];
};

/* Compress what b holds into a segment document of session (its ObjectId and 24-hex form);
 * link may be NULL (unchained). On success *ret_doc (heap, the caller's: bson_destroy) and b
 * is empty again; on failure b is unchanged. -ENODATA when b is empty, -ENOMEM, -EIO (zstd).
 * zctx: a ZSTD_CCtx reused by the caller's thread (seg_cctx_new), or NULL for a one-shot. */
int seg_builder_seal(struct seg_builder *b, const bson_oid_t *session, const char *session_hex,
		     const struct seg_link *link, void *zctx, bson_t **ret_doc);

/* A compression context for one thread (NULL on failure); seg_cctx_free accepts NULL. */
void *seg_cctx_new(void);
void seg_cctx_free(void *zctx);

/* What a reader needs of a segment document's header. Pointers point into the document. */
struct seg_header {
	const char *id;
	const char *stream;
	int64_t seq_first, seq_last, ts_first, ts_last; /* ts in ms since the epoch */
	int64_t n, raw_bytes;
	const char *codec;
	const uint8_t *data;
	uint32_t data_len;
	bool has_link;
	int64_t link;
	const uint8_t *prev; /* 32 bytes when has_link */
};

/* Read the header of a segment document. 0, or -EBADMSG naming the first missing or
 * mistyped field in why[whylen] (may be NULL). */
int seg_header_read(const bson_t *doc, struct seg_header *ret, char *why, size_t whylen);

/* Decompress a segment's data and check it: the codec is known (-ENOTSUP otherwise),
 * raw_bytes is within SEG_RAW_LIMIT, the data decodes to exactly raw_bytes bytes that are
 * exactly n BSON documents, each valid (-EBADMSG otherwise, why says what). On success
 * *ret_raw (malloc'd, the caller frees) holds raw_bytes bytes for seg_next(). */
int seg_unpack(const struct seg_header *h, uint8_t **ret_raw, char *why, size_t whylen);

/* The same on bare values: what the fuzz target and the tests drive. */
int seg_unpack_raw(const char *codec, const uint8_t *data, size_t len, int64_t raw_bytes,
		   int64_t n, uint8_t **ret_raw, char *why, size_t whylen);

/* The next document of an unpacked segment (checked by seg_unpack): 1 with *ret_doc
 * initialised statically over raw (valid while raw lives), 0 at the end. */
int seg_next(const uint8_t *raw, size_t len, size_t *pos, bson_t *ret_doc);

/* Where one document of an unpacked segment is (a bson_t made with bson_init_static points
 * into itself and must not be copied or sorted: these are the bytes to make one from). */
struct seg_doc {
	const uint8_t *data;
	uint32_t len;
	int64_t seq;
};

/* The documents of an unpacked segment (raw[0..len), checked by seg_unpack) in seq order
 * (a segment holds them in submit order: nearly, not always, seq order). On success *ret is
 * a malloc'd array of *ret_n entries pointing into raw (valid while raw lives; free() the
 * array only). 0 or -ENOMEM. */
int seg_docs_by_seq(const uint8_t *raw, size_t len, struct seg_doc **ret, size_t *ret_n);

/* "<session hex>:<stream>:<seq>" into buf[SEG_ID_MAX]. */
void seg_make_id(char *buf, const char *session_hex, const char *stream, int64_t seq);

#endif
