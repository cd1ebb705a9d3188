/* chain_verify.h — recompute a session's evidence chain (issue 21) from what the store holds
 * and say what is wrong with it: documents altered (by _id), removed (seq ranges), inserted,
 * links altered, removed or out of order, or a chain that stops because the listener died.
 * Used by `lineage-query verify` and by the filter (its verdict in the session's filter
 * info). Reads through common/store; logs nothing (the caller prints the report).
 *
 * Cost: every raw document of the session is read and digested once, and kept as 48 bytes
 * (seq, collection, digest) until the report is made. */
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
	uint64_t links;         /* link documents found */
	uint64_t linked;        /* documents the links name */
	uint64_t stored;        /* raw documents of the session in the store */
	uint64_t verified;      /* linked documents found unchanged */
	uint64_t altered, removed, inserted, link_problems;
	uint64_t unlinked;      /* not closed: documents after the last link (not verifiable) */
	uint64_t lost;          /* not closed: linked documents missing after truncated_at */
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

/* "ok", "recording", "truncated", "TAMPERED", "unchained", "pending". Static string. */
const char *chainv_status_name(enum chainv_status s);

#endif
