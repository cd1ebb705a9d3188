/* chain_format.h — the canonical encoding of lineage's evidence chain (issue 21), shared by
 * the listener (which builds links, listener/chain.c) and by whoever verifies them
 * (common/chain_verify.c): document digests, link members, link hashes.
 *
 * SHA-256 from OpenSSL's libcrypto: libmongoc on Debian already links it (the process loads
 * it anyway), and it uses the CPU's SHA instructions (0.46–0.59 µs for a 750-byte document on
 * this VM, against 1.04 µs for the one-shot SHA256() that fetches the algorithm every call).
 *
 * What is hashed, and why replay and spooling cannot change it:
 * - a document's digest is SHA-256 of its BSON bytes exactly as the listener built them; the
 *   spool stores and replays those bytes unchanged and the store returns them unchanged (checked
 *   by the tests on FerretDB 1.24/PostgreSQL for every type the listener writes);
 * - a link's hash is SHA-256 of a fixed byte string built from its values (never from the link
 *   document's BSON), so a store that reorders or retypes the link's fields changes nothing.
 * Pure functions, thread safe, no allocation except chainfmt_buf's. */
#ifndef LINEAGE_CHAIN_FORMAT_H
#define LINEAGE_CHAIN_FORMAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CHAINFMT_DIGEST_LEN 32
#define CHAINFMT_VERSION 1
#define CHAINFMT_ALGO "sha256"

/* Collection codes in a link's members: the chained collections. */
enum { CHAINFMT_EVENTS = 0, CHAINFMT_PROC_EVENTS = 1, CHAINFMT_SNAPSHOT = 2,
       CHAINFMT_CONTAINER_FACTS = 3, CHAINFMT_NCOLL = 4 };

/* Code of a collection name, or -ENOENT for a collection the chain does not cover. */
int chainfmt_coll_code(const char *collection);
/* Name of a code (NULL when out of range). Static string. */
const char *chainfmt_coll_name(int code);

/* SHA-256 of len bytes. 0, or -EIO when libcrypto fails. */
int chainfmt_digest(const void *data, size_t len, uint8_t out[CHAINFMT_DIGEST_LEN]);

/* A growable byte buffer. Zero-initialise; release with chainfmt_buf_release(). */
struct chainfmt_buf {
	uint8_t *data;
	size_t len, cap;
};
void chainfmt_buf_release(struct chainfmt_buf *b);

/* Append one member: seq relative to *prev_seq (updated), collection code, digest.
 * 0 or -ENOMEM. */
int chainfmt_member_append(struct chainfmt_buf *b, int64_t *prev_seq, int64_t seq, int coll,
			   const uint8_t digest[CHAINFMT_DIGEST_LEN]);

struct chainfmt_member {
	int64_t seq;
	int coll;
	const uint8_t *digest; /* points into the decoded buffer */
};

/* Decode the member at *pos of data[len] (relative to *prev_seq, updated). Returns 1 with
 * *ret filled and *pos advanced, 0 at the end, -EBADMSG on a malformed encoding. */
int chainfmt_member_next(const uint8_t *data, size_t len, size_t *pos, int64_t *prev_seq,
			 struct chainfmt_member *ret);

/* The hash of link number link of session (12 bytes of its ObjectId). 0 or -EIO. */
int chainfmt_link_hash(const uint8_t session[12], uint64_t link,
		       const uint8_t prev[CHAINFMT_DIGEST_LEN], bool final, const uint8_t *members,
		       size_t members_len, uint8_t out[CHAINFMT_DIGEST_LEN]);

#endif
