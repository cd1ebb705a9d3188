/* pages.h — the filter's page writer (issue 15, common/page_format.h): the processes and
 * files documents of each container (and of the host) packed into pages of SCHEMA_PAGES,
 * written as they fill. */
#ifndef LINEAGE_FILTER_PAGES_H
#define LINEAGE_FILTER_PAGES_H

#include <bson/bson.h>
#include <stddef.h>

struct store;
struct pages;

/* A writer into coll (a fresh output collection of kind SCHEMA_PAGES); NULL on -ENOMEM.
 * err/errlen receive the reason of a failing pages_add/pages_finish. Free with pages_free. */
struct pages *pages_new(struct store *st, const char *coll, const bson_oid_t *session,
			char *err, size_t errlen);
/* Add doc (an output document of kind) to the page of its container, writing the page when
 * it is full. 0 or negative. */
int pages_add(struct pages *pw, const char *kind, const bson_t *doc);
/* Write every page still open; *ndocs gets the number of pages written in all. */
int pages_finish(struct pages *pw, size_t *ndocs);
void pages_free(struct pages *pw);

#endif
