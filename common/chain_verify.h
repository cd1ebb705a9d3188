/* chain_verify.h — recompute a session's evidence chain (issues 21, 33: listener/chain.h)
 * from the segments the store holds and say what is wrong with it: a segment altered (its
 * bytes are not what the next link or the session's head names), removed (a gap in the link
 * numbers, or fewer than the session ended with), inserted (no link, or a link another
 * segment holds), or a chain that stops because the listener died. Used by `lineage-query
 * verify` and by the filter (its verdict in the session's filter info; the filter feeds the
 * segments it reads anyway through chainv_add, one read for both). Logs nothing.
 *
 * Cost: every segment document of the session is read and digested once (its compressed
 * bytes: ~30 bytes per event), nothing decompressed; ~100 bytes kept per segment. */
#ifndef LINEAGE_CHAIN_VERIFY_H
#define LINEAGE_CHAIN_VERIFY_H

#include <bson/bson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct store;

enum chainv_status {
	CHAINV_OK,        /* closed and whole: every linked document there and unchanged */
	CHAINV_RECORDING, /* not closed, its listener still runs: whole so far */
	CHAINV_TRUNCATED, /* not closed, listener gone: whole up to truncated_at, then cut */
	CHAINV_TAMPERED,  /* something altered, removed or inserted (findings say what) */
	CHAINV_UNCHAINED, /* recorded without a chain (--no-chain or before issue 21) */
	CHAINV_PENDING,   /* closed, but the listener left documents in its spool (chain
			   * complete: false): whole up to truncated_at, the rest not stored yet */
};

#define CHAINV_MAX_FINDINGS 50 /* then one line "… and N more" */

struct chainv_report {
	enum chainv_status status;
	bool closed, running, pending;
	uint64_t links;         /* segments in the chain (the highest link found + 1) */
	uint64_t linked;        /* unused since issue 33 (0) */
	uint64_t stored;        /* raw documents of the session in the store (segments' n) */
	uint64_t verified;      /* documents of segments whose bytes the chain confirms */
	uint64_t altered, removed, inserted, link_problems; /* segments (inserted: documents) */
	uint64_t unlinked;      /* not closed: documents of the last segment (not verifiable) */
	uint64_t lost;          /* unused since issue 33 (0) */
	int64_t truncated_at;   /* TRUNCATED/RECORDING: highest seq of the whole prefix, or -1 */
	char **findings;        /* one line each, owned */
	size_t nfindings;
	char summary[256];      /* one line: status and counts */
};

/* Verify the session described by session_doc (its sessions document). running: its
 * listener is still alive (chainv_listener_running()). Fills *ret (release it with
 * chainv_report_release() also on failure). Returns 0, or a negative errno when the store
 * failed (err says why). */
int chainv_session(struct store *st, const bson_t *session_doc, bool running,
		   struct chainv_report *ret, char *err, size_t errlen);

/* Whether the listener that recorded session_doc runs now: same host name and boot id as
 * this machine, and its listener_pid is alive and is a lineage-listener. */
bool chainv_listener_running(const bson_t *session_doc);

void chainv_report_release(struct chainv_report *r);

/* The same, fed by the caller one segment document at a time (any order): chainv_new, then
 * chainv_add for each segment of the session, then chainv_finish (the report as
 * chainv_session makes it; release it with chainv_report_release), then chainv_free. */
struct chainv;
int chainv_new(const bson_t *session_doc, bool running, struct chainv **ret, char *err,
	       size_t errlen);
int chainv_add(struct chainv *v, const bson_t *segdoc);
int chainv_finish(struct chainv *v, struct chainv_report *ret);
void chainv_free(struct chainv *v);

/* "ok", "recording", "truncated", "TAMPERED", "unchained", "pending". Static string. */
const char *chainv_status_name(enum chainv_status s);

#endif
