/* search_index.h — the filter's search index of one model (issue 20): the distinct paths of
 * its files and every exec of its processes, packed by common/search_format.h into
 * SCHEMA_SEARCH documents that lineage-query search matches in memory. */
#ifndef LINEAGE_FILTER_SEARCH_INDEX_H
#define LINEAGE_FILTER_SEARCH_INDEX_H

#include <bson/bson.h>

#include "model.h"

struct store;

/* Write the index of m into coll (a fresh output collection of kind SCHEMA_SEARCH), in
 * model order; *ndocs gets the number of documents written. 0, or negative with err set. */
int search_index_write(struct store *st, const char *coll, const struct model *m,
		       const bson_oid_t *session, size_t *ndocs, char *err, size_t errlen);

#endif
