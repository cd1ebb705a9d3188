/* load.h — step 1 of the filter: read one session's raw documents (events, proc_events,
 * snapshot) and convert each bson document into the bson-free structs of model.h.
 *
 * The load_*_doc() functions are the seam unit tests use: they take a document the way the
 * listener writes it (DESIGN.md field names) and append one record to the model; unknown or
 * missing fields are left at their "unknown" values, never an error. */
#ifndef LINEAGE_FILTER_LOAD_H
#define LINEAGE_FILTER_LOAD_H

#include <bson/bson.h>

#include "model.h"

struct store;

/* Append one `events` / `proc_events` / `snapshot` document to m. The document stays owned by
 * the caller; strings are copied into m's arena. Return 0, or -EINVAL when the document
 * lacks the fields that make it usable (pid, what). */
int load_event_doc(struct model *m, const bson_t *doc);
int load_proc_event_doc(struct model *m, const bson_t *doc);
int load_snapshot_doc(struct model *m, const bson_t *doc);
/* one container_facts document (issue 17); a document without a container id is skipped */
int load_container_facts_doc(struct model *m, const bson_t *doc);

/* After the documents are in: estimate the wall-minus-monotonic clock offset from proc_events
 * that carry both ts and ts_ns, give every proc event a wall time, and sort events by seq and
 * proc events by (monotonic time, seq). Call once, before merge. */
void load_finish(struct model *m);

/* Read every raw document of session from its segments into m (then calls load_finish).
 * chain, when not NULL, is given every segment document too (chain_verify.h: one read for
 * the load and the evidence check). A segment that does not decode is named on stderr and
 * counted (m->n.bad_segments); the rest is read. progress, when not NULL, is called now and
 * then with the phase name and the count so far, and once more with last = true. */
struct chainv;
int load_session(struct store *st, const bson_oid_t *session, struct model *m,
		 struct chainv *chain, void (*progress)(const char *phase, size_t done, bool last),
		 char *err, size_t errlen);

/* The `sessions` document of session: *ret_found = whether it exists; when it does and has a
 * string `host`, *ret_host (may be NULL) gets a malloc'd copy the caller frees. */
int load_session_info(struct store *st, const bson_oid_t *session, bool *ret_found,
		      char **ret_host, char *err, size_t errlen);

/* issue 19: the session's scope.summary ("all", "containers,uid=1000", ...) as a malloc'd
 * string in *ret (NULL when the session has none: recorded before scopes, the whole host). */
int load_session_scope(struct store *st, const bson_oid_t *session, char **ret, char *err,
		       size_t errlen);

/* The _id of the session with the latest started_at; -ENOENT when there is none. */
int load_latest_session(struct store *st, bson_oid_t *ret, char *err, size_t errlen);

/* Whether session has any segment (a find with limit 1, not a count). */
int load_session_has_data(struct store *st, const bson_oid_t *session, bool *ret,
			  char *err, size_t errlen);

#endif
