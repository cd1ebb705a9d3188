/* filter_session.h — test support: build a small raw session in a filter model from JSON
 * snippets, with times given as "t" (ms after BASE_MS). Shared by the filter unit tests.
 * Each call parses, converts and loads one document; a bad snippet fails the test. */
#ifndef LINEAGE_TEST_FILTER_SESSION_H
#define LINEAGE_TEST_FILTER_SESSION_H

#include <bson/bson.h>

#include "model.h"

#define BASE_MS 1700000000000LL
#define MS 1000000LL

/* Parse j; the caller destroys the result. */
bson_t *json(const char *j);
/* A proc_events document whose "t" becomes ts_ns (t ms since boot) and ts; "seq" is the
 * snippet's own when given, else the arrival count. */
void pe(struct model *m, const char *j);
/* An events document whose "t" becomes ts; "seq" as for pe(). */
void ev(struct model *m, const char *j);

#endif
