/* chain.c — the listener's evidence chain over segments (see chain.h). Owns the running
 * head (hash of the last segment document sealed) and the counts. */
#include "chain.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chain_format.h"
#include "schema.h"
#include "segment.h"


struct chain {
	pthread_mutex_t lock;
	bson_oid_t session;
	char session_hex[25];
	uint64_t link; /* number of the next segment */
	uint8_t head[CHAINFMT_DIGEST_LEN]; /* hash of segment link − 1; zeros before link 0 */
	uint64_t docs, counts[SEG_NSTREAMS + 1]; /* by seg_stream_index, then any other */
	bool finished;
};

int chain_new(const bson_oid_t *session, const char *session_hex, struct chain **ret)
{
	struct chain *c = calloc(1, sizeof(*c));

	if (!c)
		return -ENOMEM;
	pthread_mutex_init(&c->lock, NULL);
	bson_oid_copy(session, &c->session);
	snprintf(c->session_hex, sizeof(c->session_hex), "%s", session_hex);
	*ret = c;
	return 0;
}

void chain_free(struct chain *c)
{
	if (!c)
		return;
	pthread_mutex_destroy(&c->lock);
	free(c);
}

int chain_seal(struct chain *c, struct seg_builder *b, void *zctx, bson_t **ret_doc)
{
	struct seg_link link;
	uint8_t hash[CHAINFMT_DIGEST_LEN];
	int code = seg_stream_index(seg_builder_stream(b));
	size_t n = seg_builder_count(b), si = code < 0 ? SEG_NSTREAMS : (size_t)code;
	bson_t *d = NULL;
	int r;

	pthread_mutex_lock(&c->lock);
	if (c->finished) {
		r = -EPIPE;
		goto out;
	}
	link.link = (int64_t)c->link;
	memcpy(link.prev, c->head, sizeof(link.prev));
	r = seg_builder_seal(b, &c->session, c->session_hex, &link, zctx, &d);
	if (r < 0)
		goto out;
	/* the segment document's bytes as built: the spool and the store keep them unchanged */
	r = chainfmt_digest(bson_get_data(d), d->len, hash);
	if (r < 0) {
		bson_destroy(d);
		goto out;
	}
	memcpy(c->head, hash, sizeof(hash));
	c->link++;
	c->docs += n;
	c->counts[si] += n;
	*ret_doc = d;
out:
	pthread_mutex_unlock(&c->lock);
	return r;
}

void chain_finish(struct chain *c)
{
	pthread_mutex_lock(&c->lock);
	c->finished = true;
	pthread_mutex_unlock(&c->lock);
}

void chain_append_info(struct chain *c, bson_t *doc, bool complete)
{
	bson_t sub, counts;

	pthread_mutex_lock(&c->lock);
	BSON_APPEND_DOCUMENT_BEGIN(doc, SCHEMA_F_CHAIN, &sub);
	BSON_APPEND_UTF8(&sub, SCHEMA_F_CHAIN_ALGO, CHAINFMT_ALGO);
	BSON_APPEND_INT32(&sub, SCHEMA_F_CHAIN_VERSION, CHAIN_VERSION);
	if (c->finished) {
		BSON_APPEND_INT64(&sub, SCHEMA_F_CHAIN_LINKS, (int64_t)c->link);
		bson_append_binary(&sub, SCHEMA_F_CHAIN_HEAD, -1, BSON_SUBTYPE_BINARY, c->head,
				   sizeof(c->head));
		BSON_APPEND_INT64(&sub, SCHEMA_F_CHAIN_DOCS, (int64_t)c->docs);
		BSON_APPEND_DOCUMENT_BEGIN(&sub, SCHEMA_F_CHAIN_COUNTS, &counts);
		for (size_t i = 0; i < SEG_NSTREAMS; i++)
			BSON_APPEND_INT64(&counts, seg_streams[i], (int64_t)c->counts[i]);
		bson_append_document_end(&sub, &counts);
		BSON_APPEND_BOOL(&sub, SCHEMA_F_CHAIN_COMPLETE, complete);
	}
	bson_append_document_end(doc, &sub);
	pthread_mutex_unlock(&c->lock);
}

void chain_get_counts(struct chain *c, uint64_t *ret_docs, uint64_t *ret_links,
		      char ret_head_hex[65])
{
	pthread_mutex_lock(&c->lock);
	*ret_docs = c->docs;
	*ret_links = c->link;
	for (int i = 0; i < CHAINFMT_DIGEST_LEN; i++)
		snprintf(ret_head_hex + 2 * i, 3, "%02x", c->head[i]);
	pthread_mutex_unlock(&c->lock);
}
