/* chain_format.c — the evidence chain's digest (see chain_format.h). Owns one reusable
 * digest context per thread. */
#include "chain_format.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>


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
