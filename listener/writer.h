/* writer.h — the listener's path from the kernel readers to MongoDB: a bounded queue, one
 * writer thread that packs the raw streams' documents into segments (common/segment.h:
 * closed at segment_events documents or segment_ms, compressed, chained) and inserts them
 * (store.c), and the durable spool (spool.c) for whatever the database cannot take right
 * now: the spool holds the same segment documents, so a replay inserts the same bytes and a
 * segment already stored counts as stored. Counters count raw documents, not segments.
 *
 * writer_submit() never blocks a reader: queue, else spool, else (disk full) count the
 * document as dropped and return the error. The writer thread spools every batch while the
 * database is away, pings it with exponential backoff (250 ms → 8 s) and, once it answers,
 * replays the spool oldest segment first, alongside new batches, deleting replayed
 * segments. A spool left by a previous run is replayed the same way. _ids are deterministic,
 * so a batch sent twice (a retry after a half-done insert) yields duplicates, not copies.
 *
 * The run's sessions document goes the same way (issue 18): stored before any other document
 * of the run, or spooled first when the database cannot be reached at start; its close is
 * an update applied directly, or a close record in the spool that the replay applies after
 * everything older. When the database answers again every open segment is closed first, so
 * the replay follows segment numbers: the order the documents were spooled in. Indexes are
 * created the first time the database answers, whenever that is. */
#ifndef LINEAGE_WRITER_H
#define LINEAGE_WRITER_H

#include <bson/bson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct writer;
struct chain;

struct writer_config {
	const char *uri;         /* NULL: store_default_uri() */
	const char *db;          /* NULL: STORE_DEFAULT_DB */
	const char *spool_dir;   /* required; created when missing */
	size_t queue_max_items;  /* 0: 65536 */
	size_t queue_max_bytes;  /* 0: 256 MiB */
	size_t batch_max;        /* 0: 500 documents per insert */
	unsigned batch_age_ms;   /* 0: 200 ms, the longest a document waits in a batch */
	size_t spool_segment_docs;  /* 0: SPOOL_DEFAULT_SEGMENT_DOCS */
	size_t spool_segment_bytes; /* 0: SPOOL_DEFAULT_SEGMENT_BYTES */
	bool create_indexes;     /* store_create_indexes() when the database first answers */
	/* issue 33: documents of the raw streams (events, proc_events, snapshot,
	 * container_facts) are stored in segments (common/segment.h) of this session */
	const bson_oid_t *session; /* required for segments; copied */
	struct chain *chain;       /* seals the segments (listener/chain.h); not owned, must
				    * outlive the writer; NULL: unchained */
	size_t segment_events;     /* 0: SEG_DEFAULT_EVENTS documents per segment */
	unsigned segment_ms;       /* 0: SEG_DEFAULT_MS, the longest a document waits unsealed */
};

struct writer_stats {
	uint64_t submitted;     /* writer_submit() calls */
	uint64_t inserted;      /* documents the database took (live and replayed; those of a
				 * segment it already had included) */
	uint64_t duplicates;    /* documents already there (a resent batch): not errors */
	uint64_t spooled;       /* documents written to the spool */
	uint64_t replayed;      /* documents read back from the spool and taken by the database */
	uint64_t dropped;       /* documents lost because even the spool failed (disk full) */
	uint64_t torn_records;  /* spool records found torn or corrupt at replay */
	uint64_t insert_errors; /* failed insert calls (each then spooled its batch) */
	uint64_t batches;       /* successful insert calls */
	uint64_t rejected_segments; /* segments the server refused repeatedly: set aside */
	uint64_t rejected_docs; /* documents the server refused one by one (over 16 MiB, invalid
				 * for it): set aside in DIR/<coll>.<n>.bson.rejected, never retried */
	size_t queue_depth, queue_bytes, queue_hwm;
	uint64_t segments;        /* segments sealed */
	uint64_t segments_stored; /* segments the database took (or had already) */
	uint64_t seal_errors;     /* segments that could not be sealed (their documents dropped) */
	uint64_t raw_bytes, packed_bytes; /* documents' bytes sealed, segment documents' bytes */
	double last_insert_ms; /* duration of the last successful insert call */
	double avg_batch;      /* documents per successful insert call */
	bool db_up;
};

/* Check cfg, create the queue, open (and lock) the spool directory, make the store client.
 * Does not connect yet. cfg's strings are copied. On success *ret is owned by the caller:
 * release with writer_free(). */
int writer_new(const struct writer_config *cfg, struct writer **ret);

/* Start the writer thread (it owns the struct store from then on). */
int writer_start(struct writer *w);

/* Hand doc (heap, bson_new'd) over for collection (a static string matching
 * [A-Za-z0-9_-]+). Takes ownership of doc in every case. Never blocks: 0 when the doc is
 * queued or spooled; -errno when even the spool failed (the doc is counted as dropped and
 * freed). Thread safe; may be called before writer_start() and after writer_stop(). */
int writer_submit(struct writer *w, const char *collection, bson_t *doc);

/* Stop: refuse new queue entries (later submits go to the spool), drain the queue, insert
 * or spool the batches, and replay the spool while the database answers, for at most
 * timeout_ms (plus at most one insert in flight, bounded by socketTimeoutMS, 10 s unless the
 * URI says otherwise). Returns 0 when everything reached the database, -ETIMEDOUT when
 * something had to stay in the spool (for the next run). A second call returns the first
 * result. On a writer never started it returns 0 and writer_free() spools the queue. */
int writer_stop(struct writer *w, unsigned timeout_ms);

/* Before writer_start(): the run's sessions document {_id: *id, started_at: now, ended_at:
 * null, ...info} (info copied; may be NULL). The writer thread stores it before anything
 * else it takes, or spools it first. -EALREADY after writer_start() or a second call. */
int writer_session_open(struct writer *w, const bson_oid_t *id, const bson_t *info);

/* After writer_stop(): close the sessions document: $set ended_at (now) and every field of
 * fields (counters; may be NULL). Directly when the writer ended with an empty spool and the
 * database up; otherwise (or when that update fails) as a close record appended to the
 * spool and flushed, newer than the session document, applied by the next replay. Returns 0
 * (stored), 1 (spooled) or -errno with err[errlen] set (then the close is lost). */
int writer_session_close(struct writer *w, const bson_oid_t *id, const bson_t *fields,
			 char *err, size_t errlen);

/* Stops the thread if still running (timeout 0), closes the spool. Accepts NULL. */
void writer_free(struct writer *w);

/* A consistent-enough snapshot of the counters (each read atomically). Thread safe. */
void writer_get_stats(struct writer *w, struct writer_stats *ret);

#endif
