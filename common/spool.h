/* spool.h — the listener's durable spool: an append-only BSON journal on disk, per
 * collection, in segments, for documents the database could not take (yet).
 *
 * Files: DIR/<collection>.<16-digit segment number>.bson, each a plain concatenation of BSON
 * documents. A segment being appended is named "….bson.open"; it is fsync'd and renamed to
 * ".bson" when closed (after segment_max_docs documents or segment_max_bytes bytes, on
 * spool_flush() and on spool_free()). Only closed segments are listed for replay, so a
 * reader never races a writer. Segment numbers grow across all collections: replaying in
 * number order replays oldest first. ".open" files left by a crash are closed by
 * spool_open(), so a previous run's spool is replayed at the next start.
 *
 * Appending is thread safe (one mutex). Errors (ENOSPC, EIO, …) are returned, never hidden:
 * a failed append leaves nothing of the failed call in the segment. common/ does not log:
 * the caller counts and reports the dropped documents. */
#ifndef LINEAGE_SPOOL_H
#define LINEAGE_SPOOL_H

#include <bson/bson.h>
#include <stddef.h>
#include <stdint.h>

#define SPOOL_DEFAULT_SEGMENT_DOCS 2000
#define SPOOL_DEFAULT_SEGMENT_BYTES (4u << 20)
/* Largest record accepted when reading: MongoDB's 16 MiB document limit plus headroom.
 * A length field beyond it (or below 5) is corrupt. */
#define SPOOL_MAX_DOC_BYTES ((16u << 20) + (16u << 10))
#define SPOOL_MAX_COLLECTION 64

struct spool;
struct spool_reader;

struct spool_segment {
	uint64_t number;
	char collection[SPOOL_MAX_COLLECTION + 1];
	char *path; /* owned by the array spool_list() returns */
};

struct spool_stats {
	uint64_t appended;        /* documents written since spool_open() */
	uint64_t append_errors;   /* failed spool_append*() calls */
	uint64_t segments_closed; /* since spool_open() (recovered ".open" files included) */
	uint64_t open_docs;       /* documents in segments still open (not yet listable) */
};

/* Open (creating it, mode 0700, when missing) the spool directory dir and lock it (flock on
 * DIR/.lock: -EBUSY when another process holds it). 0 for a limit means its default.
 * Closes ".open" segments a previous run left. On success *ret is owned by the caller:
 * release with spool_free(), which closes (fsyncs) the open segments. */
int spool_open(const char *dir, size_t segment_max_docs, size_t segment_max_bytes,
	       struct spool **ret);
void spool_free(struct spool *sp);

/* The directory, as given. Valid while sp lives. */
const char *spool_dir(const struct spool *sp);

/* Append one document / n documents (one call: all or nothing, in one segment) to the
 * collection's open segment. Documents stay owned by the caller. collection must match
 * [A-Za-z0-9_-]{1,64} (-EINVAL otherwise). Returns 0 or -errno (ENOSPC when the disk is
 * full): then none of the call's documents are in the spool. */
int spool_append(struct spool *sp, const char *collection, const bson_t *doc);
int spool_append_many(struct spool *sp, const char *collection, const bson_t *const *docs,
		      size_t n);

/* Close (fsync, rename) every open segment so that it becomes listable. */
int spool_flush(struct spool *sp);

/* The closed segments in the directory, oldest (lowest number) first. On success *ret is an
 * array of *ret_n segments owned by the caller: release with spool_segments_free(). */
int spool_list(struct spool *sp, struct spool_segment **ret, size_t *ret_n);
void spool_segments_free(struct spool_segment *segs, size_t n);

/* Delete a replayed segment (and fsync the directory). */
int spool_remove(struct spool *sp, const struct spool_segment *seg);

/* Set a segment aside that the database keeps refusing: rename it to "<path>.rejected",
 * which spool_list() no longer shows (kept on disk for a person to look at). */
int spool_quarantine(struct spool *sp, const struct spool_segment *seg);

/* Set documents aside that the database refused one by one (too large, invalid for the
 * server): write them, fsync'd, to a new file "<coll>.<number>.bson.rejected" that
 * spool_list() never shows (kept for a person to look at; any size is written, also beyond
 * SPOOL_MAX_DOC_BYTES). Documents stay owned by the caller. Returns 0 or -errno. */
int spool_set_aside(struct spool *sp, const char *collection, const bson_t *const *docs,
		    size_t n);

void spool_get_stats(struct spool *sp, struct spool_stats *ret);

/* Read one segment file, document by document. Distrusts the file: a truncated final
 * record (a crash mid-write), a length field below 5 or above SPOOL_MAX_DOC_BYTES, or a
 * record that is not valid BSON is counted in spool_reader_torn(), never fatal. After a bad
 * length or a truncation the rest of the file cannot be framed and is skipped (its size in
 * spool_reader_skipped_bytes()); an invalid document with a sane length is skipped alone.
 * On success *ret is owned by the caller: release with spool_reader_free(). */
int spool_reader_open(const char *path, struct spool_reader **ret);

/* Next document: 1 and *ret_doc (valid until the next call or free), 0 at the end of the
 * file, -errno on a read error. */
int spool_reader_next(struct spool_reader *rd, const bson_t **ret_doc);
uint64_t spool_reader_torn(const struct spool_reader *rd);
uint64_t spool_reader_skipped_bytes(const struct spool_reader *rd);
void spool_reader_free(struct spool_reader *rd);

#endif
