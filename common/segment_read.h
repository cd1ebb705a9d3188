/* segment_read.h — reading a session's raw documents from the store's segments (issue 33):
 * which segments are asked for (by stream, and pruned by the header: tgid, container,
 * syscall, time and seq range), in which order, and decoding them into documents. The one
 * raw reader of the filter, lineage-query and the chain check, so that they all know one
 * layout. Reads through common/store; logs nothing: a segment that does not decode is
 * handed to the caller's bad() with its _id and the reason, and the rest is read.
 *
 * Pruning asks the server for top-level equalities only ({session, stream, tgids: N}: what
 * FerretDB pushes down to an index) plus, for a capped header field, the segments whose
 * field is capped; ranges are checked on the header here, before any decompression. */
#ifndef LINEAGE_SEGMENT_READ_H
#define LINEAGE_SEGMENT_READ_H

#include <bson/bson.h>
#include <stdbool.h>
#include <stdint.h>

struct store;

struct segread_query {
	const char *stream;    /* SCHEMA_EVENTS, …; NULL: every stream */
	int64_t tgid;          /* > 0: only segments that may hold this pid/tgid */
	const char *container; /* a full id: only segments that may hold it */
	const char *syscall;   /* only segments that may hold this syscall (or proc `what`) */
	int64_t since_ms, until_ms; /* 0: unbounded; else segments overlapping [since, until] */
	int64_t seq_min;       /* > 0: only segments whose seq_last >= seq_min */
	bool ordered;          /* segments by (seq_first) and each one's documents by seq; else
				* both in the store's order */
};

struct segread_ops {
	/* Each segment document as stored, before decoding (the chain check); may be NULL.
	 * A negative return stops the read with that value. */
	int (*segment)(void *opaque, const bson_t *segdoc);
	/* Each decoded document, in the segment's order; NULL: segments are not decoded.
	 * A negative return stops the read with that value. */
	int (*doc)(void *opaque, const char *stream, const bson_t *doc);
	/* A segment that does not decode: its _id and why. May be NULL. */
	void (*bad)(void *opaque, const char *id, const char *why);
	void *opaque;
};

struct segread_stats {
	uint64_t segments, docs, bad, bytes; /* bytes: compressed data read */
};

/* Read the segments of session that q selects, through ops. 0, a callback's negative
 * return, or a store failure (negative errno, err says why). stats may be NULL. */
int segread_each(struct store *st, const bson_oid_t *session, const struct segread_query *q,
		 const struct segread_ops *ops, struct segread_stats *stats, char *err,
		 size_t errlen);

/* Whether session has any segment (a find with limit 1). */
int segread_any(struct store *st, const bson_oid_t *session, bool *ret, char *err,
		size_t errlen);

#endif
