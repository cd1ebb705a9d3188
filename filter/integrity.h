/* integrity.h — the filter's evidence verdict (issue 21): before the filter writes its
 * output it verifies the session's evidence chain (common/chain_verify.c); the verdict goes
 * into every containers document and into the session document's filter info
 * (filter.integrity), so a query over evidence that does not verify can warn. The filter
 * refuses nothing on a broken chain. */
#ifndef LINEAGE_FILTER_INTEGRITY_H
#define LINEAGE_FILTER_INTEGRITY_H

#include <bson/bson.h>
#include <stddef.h>

struct store;

struct integrity {
	char status[16];   /* chainv_status_name(): ok, TAMPERED, truncated, ... */
	char summary[256];
};

/* Start checking session sid: its sessions document is read and *ret (the caller's:
 * chainv_free) is fed the segments while the filter loads them (load_session), then
 * integrity_end() fills the verdict. -ENOENT: no sessions document (err says so); other
 * negative errnos: the store failed. */
struct chainv;
int integrity_begin(struct store *st, const bson_oid_t *sid, struct chainv **ret, char *err,
		    size_t errlen);
int integrity_end(struct chainv *v, struct integrity *ret, char *err, size_t errlen);

/* Append {status, summary} as key to doc. */
void integrity_append(const struct integrity *v, const char *key, bson_t *doc);

/* Record the verdict in the session document: filter.integrity = {status, summary, at}. */
int integrity_record(struct store *st, const bson_oid_t *sid, const struct integrity *v,
		     char *err, size_t errlen);

#endif
