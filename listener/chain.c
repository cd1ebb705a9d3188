/* chain.c — the listener's evidence chain (see chain.h). Owns the current link's members
 * buffer and the running head (hash of the last link made). */
#include "chain.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "chain_format.h"
#include "schema.h"

struct chain {
	pthread_mutex_t lock;
	bson_oid_t session;
	char session_hex[25];
	size_t link_docs;

	/* the current link */
	struct chainfmt_buf members;
	size_t n;
	int64_t prev_seq, first_seq, last_seq;
	uint64_t started_ms;

	uint64_t link;  /* number of the next link */
	uint8_t head[CHAINFMT_DIGEST_LEN]; /* hash of link − 1; zeros before link 0 */
	uint64_t docs, counts[CHAINFMT_NCOLL];
	bool finished;
};

static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int chain_new(const bson_oid_t *session, const char *session_hex, size_t link_docs,
	      struct chain **ret)
{
	struct chain *c = calloc(1, sizeof(*c));

	if (!c)
		return -ENOMEM;
	pthread_mutex_init(&c->lock, NULL);
	bson_oid_copy(session, &c->session);
	snprintf(c->session_hex, sizeof(c->session_hex), "%s", session_hex);
	c->link_docs = link_docs ? link_docs : CHAIN_DEFAULT_LINK_DOCS;
	*ret = c;
	return 0;
}

void chain_free(struct chain *c)
{
	if (!c)
		return;
	chainfmt_buf_release(&c->members);
	pthread_mutex_destroy(&c->lock);
	free(c);
}

static void append_bin(bson_t *d, const char *key, const uint8_t *data, size_t len)
{
	bson_append_binary(d, key, -1, BSON_SUBTYPE_BINARY, data, (uint32_t)len);
}

/* Close the current link into a document (lock held). */
static int make_link(struct chain *c, bool final, bson_t **ret_link)
{
	uint8_t hash[CHAINFMT_DIGEST_LEN];
	char id[64];
	bson_t *d;
	int r;

	r = chainfmt_link_hash(c->session.bytes, c->link, c->head, final, c->members.data,
			       c->members.len, hash);
	if (r < 0)
		return r;
	d = bson_sized_new(128 + c->members.len);
	if (!d)
		return -ENOMEM;
	snprintf(id, sizeof(id), "%s:link:%" PRIu64, c->session_hex, c->link);
	BSON_APPEND_UTF8(d, SCHEMA_F_ID, id);
	BSON_APPEND_OID(d, SCHEMA_F_SESSION, &c->session);
	BSON_APPEND_INT64(d, SCHEMA_F_LINK, (int64_t)c->link);
	BSON_APPEND_DATE_TIME(d, SCHEMA_F_TS, wall_ms());
	BSON_APPEND_INT64(d, SCHEMA_F_LINK_N, (int64_t)c->n);
	if (c->n) {
		BSON_APPEND_INT64(d, SCHEMA_F_LINK_FIRST, c->first_seq);
		BSON_APPEND_INT64(d, SCHEMA_F_LINK_LAST, c->last_seq);
	}
	BSON_APPEND_BOOL(d, SCHEMA_F_LINK_FINAL, final);
	append_bin(d, SCHEMA_F_LINK_PREV, c->head, sizeof(c->head));
	append_bin(d, SCHEMA_F_LINK_MEMBERS, c->members.data ? c->members.data : (uint8_t *)"",
		   c->members.len);
	append_bin(d, SCHEMA_F_LINK_HASH, hash, sizeof(hash));
	memcpy(c->head, hash, sizeof(hash));
	c->link++;
	c->members.len = 0;
	c->n = 0;
	c->prev_seq = 0;
	*ret_link = d;
	return 0;
}

int chain_add(struct chain *c, const char *collection, const bson_t *doc, bson_t **ret_link)
{
	uint8_t digest[CHAINFMT_DIGEST_LEN];
	int code = chainfmt_coll_code(collection), r;
	bson_iter_t it;
	int64_t seq;

	*ret_link = NULL;
	if (code < 0 || !bson_iter_init_find(&it, doc, SCHEMA_F_SEQ) || !BSON_ITER_HOLDS_INT64(&it))
		return -EINVAL;
	seq = bson_iter_int64(&it);
	/* the expensive part, outside the lock: both reader threads digest at once */
	r = chainfmt_digest(bson_get_data(doc), doc->len, digest);
	if (r < 0)
		return r;
	pthread_mutex_lock(&c->lock);
	if (c->finished) {
		r = -EPIPE;
		goto out;
	}
	r = chainfmt_member_append(&c->members, &c->prev_seq, seq, code, digest);
	if (r < 0)
		goto out;
	if (c->n == 0) {
		c->first_seq = c->last_seq = seq;
		c->started_ms = mono_ms();
	}
	c->first_seq = seq < c->first_seq ? seq : c->first_seq;
	c->last_seq = seq > c->last_seq ? seq : c->last_seq;
	c->n++;
	c->docs++;
	c->counts[code]++;
	if (c->n >= c->link_docs)
		r = make_link(c, false, ret_link);
out:
	pthread_mutex_unlock(&c->lock);
	return r;
}

int chain_tick(struct chain *c, uint64_t now_ms, bson_t **ret_link)
{
	int r = 0;

	*ret_link = NULL;
	pthread_mutex_lock(&c->lock);
	if (!c->finished && c->n > 0 && now_ms - c->started_ms >= CHAIN_LINK_AGE_MS)
		r = make_link(c, false, ret_link);
	pthread_mutex_unlock(&c->lock);
	return r;
}

int chain_finish(struct chain *c, bson_t **ret_link)
{
	int r;

	*ret_link = NULL;
	pthread_mutex_lock(&c->lock);
	if (c->finished) {
		r = -EALREADY;
		goto out;
	}
	r = make_link(c, true, ret_link);
	if (r == 0)
		c->finished = true;
out:
	pthread_mutex_unlock(&c->lock);
	return r;
}

void chain_append_info(struct chain *c, bson_t *doc, bool complete)
{
	bson_t sub, counts;

	pthread_mutex_lock(&c->lock);
	BSON_APPEND_DOCUMENT_BEGIN(doc, SCHEMA_F_CHAIN, &sub);
	BSON_APPEND_UTF8(&sub, SCHEMA_F_CHAIN_ALGO, CHAINFMT_ALGO);
	BSON_APPEND_INT32(&sub, SCHEMA_F_CHAIN_VERSION, CHAINFMT_VERSION);
	BSON_APPEND_INT64(&sub, SCHEMA_F_CHAIN_LINK_DOCS, (int64_t)c->link_docs);
	if (c->finished) {
		BSON_APPEND_INT64(&sub, SCHEMA_F_CHAIN_LINKS, (int64_t)c->link);
		append_bin(&sub, SCHEMA_F_CHAIN_HEAD, c->head, sizeof(c->head));
		BSON_APPEND_INT64(&sub, SCHEMA_F_CHAIN_DOCS, (int64_t)c->docs);
		BSON_APPEND_DOCUMENT_BEGIN(&sub, SCHEMA_F_CHAIN_COUNTS, &counts);
		for (int i = 0; i < CHAINFMT_NCOLL; i++)
			BSON_APPEND_INT64(&counts, chainfmt_coll_name(i), (int64_t)c->counts[i]);
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
