/* doc_common.h — the fields every document the listener writes starts with:
 * _id "<session hex>:<seq>" (deterministic, so a replayed insert is a duplicate, not a copy),
 * session (ObjectId), seq (the host is in the sessions document). Shared by event_doc.c, proc_doc.c and main.c. */
#ifndef LINEAGE_DOC_COMMON_H
#define LINEAGE_DOC_COMMON_H

#include <bson/bson.h>
#include <stdint.h>

struct doc_meta {
	bson_oid_t session;
	char session_hex[25];
	const char *host;      /* borrowed, lives as long as the listener; not written per document */
	uint64_t seq;          /* the listener's own monotonic number, unique within the session */
	const char *container; /* 64-hex container id or NULL (host); borrowed */
};

/* Append _id, session, seq to doc (which the caller owns and has initialised). */
void doc_meta_append(bson_t *doc, const struct doc_meta *m);

/* Append "container" (string, or null when m->container is NULL). */
void doc_meta_append_container(bson_t *doc, const struct doc_meta *m);

#endif
