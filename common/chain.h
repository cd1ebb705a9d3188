/* chain.h — the evidence chain over segments (issues 21, 33): every segment the
 * writer seals carries a link number and the SHA-256 of the previous segment document of the
 * session (`link`, `prev`, common/segment.h); the head is the SHA-256 of the last one, and
 * the session document's `chain` gets the head and the counts at a clean stop. A changed
 * byte of a segment (header or data) changes its hash, which the next segment (or the head)
 * names; a removed, inserted or reordered segment breaks the numbering or the prev links.
 * Verified by common/chain_verify.c.
 *
 * Thread safe (one mutex; a seal holds it while compressing, so that the numbering and the
 * head follow the order the segments are made in). */
#ifndef LINEAGE_CHAIN_H
#define LINEAGE_CHAIN_H

#include <bson/bson.h>
#include <stdbool.h>
#include <stdint.h>

#define CHAIN_VERSION 2 /* 1: links of document digests in a `chain` collection (issue 21) */

struct chain;
struct seg_builder;

/* session_hex is the session's 24-hex id. On success *ret is owned by the caller:
 * chain_free(). */
int chain_new(const bson_oid_t *session, const char *session_hex, struct chain **ret);
void chain_free(struct chain *c);

/* Seal what b holds into a segment document carrying the next link (segment.h's
 * seg_builder_seal; zctx the calling thread's compression context or NULL). *ret_doc is the
 * caller's. -EPIPE after chain_finish(); otherwise seg_builder_seal's errors. */
int chain_seal(struct chain *c, struct seg_builder *b, void *zctx, bson_t **ret_doc);

/* No more segments: the head is final. Idempotent. */
void chain_finish(struct chain *c);

/* Append the session document's `chain` sub-document: {algo, version} and, once finished,
 * links, head (binary 32), docs, counts {stream: n} and complete. */
void chain_append_info(struct chain *c, bson_t *doc, bool complete);

/* Documents and segments chained so far, and the head (64 hex digits and NUL; zeros before
 * the first segment). */
void chain_get_counts(struct chain *c, uint64_t *ret_docs, uint64_t *ret_links,
		      char ret_head_hex[65]);

#endif
