/* filter_session.c — test support for the filter unit tests (see filter_session.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "filter_session.h"
#include "load.h"

bson_t *json(const char *j)
{
	bson_error_t e;
	bson_t *b = bson_new_from_json((const uint8_t *)j, -1, &e);

	if (!b)
		fail_msg("bad json %s: %s", j, e.message);
	return b;
}

/* "seq" from the snippet when it has one (documents arriving out of order), else the
 * arrival count */
static int64_t seq_of(const bson_t *b, size_t count)
{
	bson_iter_t it;

	if (bson_iter_init_find(&it, b, "seq"))
		return bson_iter_as_int64(&it);
	return (int64_t)count + 1;
}

/* a proc_events doc; its ts_ns is in ms since boot here (multiplied to ns) */
void pe(struct model *m, const char *j)
{
	bson_t *b = json(j), *c = bson_new();
	bson_iter_t it;
	int64_t t;

	assert_true(bson_iter_init_find(&it, b, "t"));
	t = bson_iter_as_int64(&it);
	bson_copy_to_excluding_noinit(b, c, "t", "seq", NULL);
	BSON_APPEND_INT64(c, "ts_ns", t * MS);
	BSON_APPEND_DATE_TIME(c, "ts", BASE_MS + t);
	BSON_APPEND_INT64(c, "seq", seq_of(b, m->npevents));
	assert_int_equal(load_proc_event_doc(m, c), 0);
	bson_destroy(b);
	bson_destroy(c);
}

/* an events doc at "t" ms */
void ev(struct model *m, const char *j)
{
	bson_t *b = json(j), *c = bson_new();
	bson_iter_t it;

	assert_true(bson_iter_init_find(&it, b, "t"));
	bson_copy_to_excluding_noinit(b, c, "t", "seq", NULL);
	BSON_APPEND_DATE_TIME(c, "ts", BASE_MS + bson_iter_as_int64(&it));
	BSON_APPEND_INT64(c, "seq", seq_of(b, m->nevents));
	assert_int_equal(load_event_doc(m, c), 0);
	bson_destroy(b);
	bson_destroy(c);
}
