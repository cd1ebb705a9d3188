/* chain.h — the listener's evidence chain (issue 21): every document handed to the writer
 * is digested (SHA-256 of its BSON bytes) in submit order; every link_docs documents, every
 * CHAIN_LINK_AGE_MS, and once at a clean stop (final), the digests become a link document
 * of collection SCHEMA_CHAIN, chained to the previous link by its hash, which the caller
 * submits like any other document (queue, spool, replay: the same bytes). Encoding and
 * field names: common/chain_format.h and common/schema.h.
 *
 * Thread safe (one mutex around the current link; digests are computed outside it). A link
 * returned in *ret_link is a heap bson_t the caller owns (normally: gives to the writer). */
#ifndef LINEAGE_CHAIN_H
#define LINEAGE_CHAIN_H

#include <bson/bson.h>
#include <stdbool.h>
#include <stdint.h>

#define CHAIN_DEFAULT_LINK_DOCS 1000
#define CHAIN_LINK_AGE_MS 1000 /* a partial link waits at most this long (bounds what a
				* crash leaves unlinked) */

struct chain;

/* session_hex is the session's 24-hex id. link_docs 0: CHAIN_DEFAULT_LINK_DOCS.
 * On success *ret is owned by the caller: chain_free(). */
int chain_new(const bson_oid_t *session, const char *session_hex, size_t link_docs,
	      struct chain **ret);
void chain_free(struct chain *c);

/* Record doc (of collection, which must be a chained collection) — it needs an int64 `seq`.
 * *ret_link = a completed link or NULL. -EINVAL for a document the chain cannot take
 * (unknown collection, no seq), -ENOMEM, -EIO (libcrypto), -EPIPE after chain_finish(). */
int chain_add(struct chain *c, const char *collection, const bson_t *doc, bson_t **ret_link);

/* The current link when it is older than CHAIN_LINK_AGE_MS (now_ms: CLOCK_MONOTONIC), else
 * *ret_link = NULL. */
int chain_tick(struct chain *c, uint64_t now_ms, bson_t **ret_link);

/* The final link (also when empty); later chain_add() calls fail with -EPIPE. */
int chain_finish(struct chain *c, bson_t **ret_link);

/* Append the session document's `chain` sub-document: {algo, version, link_docs} and, once
 * finished, links, head, docs, counts and complete. */
void chain_append_info(struct chain *c, bson_t *doc, bool complete);

/* Documents chained and links made so far, and the head (hash of the last link, 64 hex
 * digits and NUL; zeros before the first link). */
void chain_get_counts(struct chain *c, uint64_t *ret_docs, uint64_t *ret_links,
		      char ret_head_hex[65]);

#endif
