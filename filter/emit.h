/* emit.h — the filter's output: bson documents for `processes`, `containers` and `files`
 * (DESIGN.md field names), and their replacement in the store: the new documents go into
 * fresh collections of this run (schema.h: `<kind>.<session hex>.<gen>`), indexed, then the
 * session document's `filter` field is switched to them in one update and the previous
 * run's collections are dropped: time linear in the session, no delete per document.
 *
 * emit_*_doc() append the fields of one record to doc, which the caller owns and has
 * initialised; they are the seam unit tests use. emit_session() is the only writer. */
#ifndef LINEAGE_FILTER_EMIT_H
#define LINEAGE_FILTER_EMIT_H

#include <bson/bson.h>

#include "model.h"

struct store;

struct emit_result {
	size_t processes, containers, files;
};

void emit_process_doc(const struct model *m, size_t i, const bson_oid_t *session,
		      const char *host, bson_t *doc);
void emit_container_doc(const struct model *m, size_t i, const bson_oid_t *session,
			const char *host, bson_t *doc);
void emit_file_doc(const struct model *m, size_t i, const bson_oid_t *session,
		   const char *host, bson_t *doc);

/* How p entered its container, as the documents say it: "init", "exec" or NULL. */
const char *emit_entry_name(const struct m_proc *p);

/* The distinct uid and euid values of p's audit events (processes.uids), at most max of
 * them (EMIT_UIDS_MAX in the documents: a process that changes ids more often is rare and
 * keeps its first ones), into out; returns the count. */
#define EMIT_UIDS_MAX 16
size_t emit_proc_uids(const struct model *m, const struct m_proc *p, int64_t *out, size_t max);

/* Replace session's processes, containers, files and search index (search_index.h) with
 * those of m. host may be NULL.
 * On failure before the switch the previous output stays in place (the partial new
 * collections are dropped by the next run); a reader never sees a mix. */
int emit_session(struct store *st, const struct model *m, const bson_oid_t *session,
		 const char *host, struct emit_result *ret, char *err, size_t errlen);

#endif
