/* emit.h — the filter's output: bson documents for `processes`, `containers` and `files`
 * (DESIGN.md field names), and their replacement in the store: this session's previous
 * output is deleted, the new documents inserted in batches, the indexes created.
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

/* Replace session's processes, containers and files with those of m. host may be NULL.
 * On failure the collections may hold a partial output: re-run the filter. */
int emit_session(struct store *st, const struct model *m, const bson_oid_t *session,
		 const char *host, struct emit_result *ret, char *err, size_t errlen);

#endif
