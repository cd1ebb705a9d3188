/* chain_format.c — digests, member codec and link hash of the evidence chain (see
 * chain_format.h). Owns one reusable digest context per thread. */
#include "chain_format.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "grow.h"
#include "schema.h"

#define LINK_TAG "lineage-chain-v1"

static const char *const coll_names[CHAINFMT_NCOLL] = {
	[CHAINFMT_EVENTS] = SCHEMA_EVENTS,
	[CHAINFMT_PROC_EVENTS] = SCHEMA_PROC_EVENTS,
	[CHAINFMT_SNAPSHOT] = SCHEMA_SNAPSHOT,
	[CHAINFMT_CONTAINER_FACTS] = SCHEMA_CONTAINER_FACTS, /* raw evidence too (issue 17) */
};

int chainfmt_coll_code(const char *collection)
{
	for (int i = 0; i < CHAINFMT_NCOLL; i++)
		if (!strcmp(collection, coll_names[i]))
			return i;
	return -ENOENT;
}

const char *chainfmt_coll_name(int code)
{
	return code >= 0 && code < CHAINFMT_NCOLL ? coll_names[code] : NULL;
}

/* The algorithm fetched once per thread (OpenSSL 3's implicit fetch in SHA256() costs
 * about as much as hashing the document), and a context reused for every digest. They hang
 * on a thread-specific key whose destructor frees them when the thread exits (the listener's
 * reader threads end before the process does: LeakSanitizer saw their contexts otherwise). */
struct tl_digest {
	EVP_MD *md;
	EVP_MD_CTX *ctx;
	bool ready;
};

static pthread_key_t tl_key;
static pthread_once_t tl_once = PTHREAD_ONCE_INIT;
static bool tl_key_ok;

static void tl_free(void *p)
{
	struct tl_digest *t = p;

	EVP_MD_CTX_free(t->ctx);
	EVP_MD_free(t->md);
	free(t);
}

static void tl_key_make(void)
{
	tl_key_ok = pthread_key_create(&tl_key, tl_free) == 0;
}

static EVP_MD_CTX *ctx_begin(void)
{
	struct tl_digest *t;

	pthread_once(&tl_once, tl_key_make);
	if (!tl_key_ok)
		return NULL;
	t = pthread_getspecific(tl_key);
	if (!t) {
		if (!(t = calloc(1, sizeof(*t))))
			return NULL;
		if (pthread_setspecific(tl_key, t) != 0) {
			free(t);
			return NULL;
		}
	}
	if (!t->md && !(t->md = EVP_MD_fetch(NULL, "SHA256", NULL)))
		return NULL;
	if (!t->ctx && !(t->ctx = EVP_MD_CTX_new()))
		return NULL;
	/* NULL reuses the digest already set and its provider context (no reallocation) */
	if (!EVP_DigestInit_ex2(t->ctx, t->ready ? NULL : t->md, NULL)) {
		t->ready = false;
		return NULL;
	}
	t->ready = true;
	return t->ctx;
}

static int ctx_end(EVP_MD_CTX *c, uint8_t out[CHAINFMT_DIGEST_LEN])
{
	unsigned int n = 0;

	if (!EVP_DigestFinal_ex(c, out, &n) || n != CHAINFMT_DIGEST_LEN)
		return -EIO;
	return 0;
}

int chainfmt_digest(const void *data, size_t len, uint8_t out[CHAINFMT_DIGEST_LEN])
{
	EVP_MD_CTX *c = ctx_begin();

	if (!c || !EVP_DigestUpdate(c, data, len))
		return -EIO;
	return ctx_end(c, out);
}

void chainfmt_buf_release(struct chainfmt_buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}

static int buf_reserve(struct chainfmt_buf *b, size_t more)
{
	return grow_bytes((void **)&b->data, &b->cap, b->len, more);
}

int chainfmt_member_append(struct chainfmt_buf *b, int64_t *prev_seq, int64_t seq, int coll,
			   const uint8_t digest[CHAINFMT_DIGEST_LEN])
{
	/* zigzag: two threads submit, so a member's seq can be below the one before it */
	uint64_t d = (uint64_t)seq - (uint64_t)*prev_seq;
	uint64_t z = (d << 1) ^ (uint64_t)((int64_t)d >> 63);

	if (buf_reserve(b, 10 + 1 + CHAINFMT_DIGEST_LEN) < 0)
		return -ENOMEM;
	do {
		uint8_t byte = z & 0x7f;

		z >>= 7;
		b->data[b->len++] = byte | (z ? 0x80 : 0);
	} while (z);
	b->data[b->len++] = (uint8_t)coll;
	memcpy(b->data + b->len, digest, CHAINFMT_DIGEST_LEN);
	b->len += CHAINFMT_DIGEST_LEN;
	*prev_seq = seq;
	return 0;
}

int chainfmt_member_next(const uint8_t *data, size_t len, size_t *pos, int64_t *prev_seq,
			 struct chainfmt_member *ret)
{
	size_t p = *pos;
	uint64_t z = 0, d;
	int shift = 0;

	if (p == len)
		return 0;
	for (;;) {
		/* the 10th byte holds bit 63 alone: more would be silently dropped */
		if (p >= len || shift > 63 || (shift == 63 && (data[p] & 0x7e)))
			return -EBADMSG;
		z |= (uint64_t)(data[p] & 0x7f) << shift;
		if (!(data[p++] & 0x80))
			break;
		shift += 7;
	}
	if (len - p < 1 + CHAINFMT_DIGEST_LEN)
		return -EBADMSG;
	d = (z >> 1) ^ (0 - (z & 1));
	ret->seq = (int64_t)((uint64_t)*prev_seq + d);
	ret->coll = data[p++];
	ret->digest = data + p;
	p += CHAINFMT_DIGEST_LEN;
	*prev_seq = ret->seq;
	*pos = p;
	return 1;
}

static void le64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

int chainfmt_link_hash(const uint8_t session[12], uint64_t link,
		       const uint8_t prev[CHAINFMT_DIGEST_LEN], bool final, const uint8_t *members,
		       size_t members_len, uint8_t out[CHAINFMT_DIGEST_LEN])
{
	/* tag · session · link (LE64) · prev · final (1 byte) · members length (LE64) · members */
	uint8_t head[sizeof(LINK_TAG) + 12 + 8 + CHAINFMT_DIGEST_LEN + 1 + 8], *p = head;
	EVP_MD_CTX *c = ctx_begin();

	if (!c)
		return -EIO;
	memcpy(p, LINK_TAG, sizeof(LINK_TAG)); /* with its NUL */
	p += sizeof(LINK_TAG);
	memcpy(p, session, 12);
	p += 12;
	le64(p, link);
	p += 8;
	memcpy(p, prev, CHAINFMT_DIGEST_LEN);
	p += CHAINFMT_DIGEST_LEN;
	*p++ = final ? 1 : 0;
	le64(p, members_len);
	if (!EVP_DigestUpdate(c, head, sizeof(head)) ||
	    (members_len && !EVP_DigestUpdate(c, members, members_len)))
		return -EIO;
	return ctx_end(c, out);
}
