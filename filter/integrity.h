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

/* Verify session sid and fill *ret. 0, or negative errno (err says why; the caller warns
 * and goes on without a verdict). */
int integrity_check(struct store *st, const bson_oid_t *sid, struct integrity *ret, char *err,
		    size_t errlen);

/* Append {status, summary} as key to doc. */
void integrity_append(const struct integrity *v, const char *key, bson_t *doc);

/* Record the verdict in the session document: filter.integrity = {status, summary, at}. */
int integrity_record(struct store *st, const bson_oid_t *sid, const struct integrity *v,
		     char *err, size_t errlen);

#endif
