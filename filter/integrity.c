/* integrity.c — the filter's evidence verdict (see integrity.h). Owns nothing beyond a call. */
#include "integrity.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "chain_verify.h"
#include "schema.h"
#include "store.h"

int integrity_begin(struct store *st, const bson_oid_t *sid, struct chainv **ret, char *err,
		    size_t errlen)
{
	struct store_cursor *cur = NULL;
	bson_t filter = BSON_INITIALIZER;
	const bson_t *sdoc;
	int r;

	BSON_APPEND_OID(&filter, SCHEMA_F_ID, sid);
	r = store_find(st, SCHEMA_SESSIONS, &filter, NULL, &cur, err, errlen);
	if (r < 0)
		goto out;
	r = store_cursor_next(cur, &sdoc, err, errlen);
	if (r == 0) {
		snprintf(err, errlen, "no sessions document: nothing says how its chain ends");
		r = -ENOENT;
	}
	if (r < 0)
		goto out;
	r = chainv_new(sdoc, chainv_listener_running(sdoc), ret, err, errlen);
out:
	store_cursor_free(cur);
	bson_destroy(&filter);
	return r;
}

int integrity_end(struct chainv *v, struct integrity *ret, char *err, size_t errlen)
{
	struct chainv_report rep = { 0 };
	int r = chainv_finish(v, &rep);

	if (r < 0) {
		snprintf(err, errlen, "%s", r == -ENOMEM ? "out of memory" : "SHA-256 failed");
		goto out;
	}
	snprintf(ret->status, sizeof(ret->status), "%s", chainv_status_name(rep.status));
	snprintf(ret->summary, sizeof(ret->summary), "%s", rep.summary);
out:
	chainv_report_release(&rep);
	return r;
}

void integrity_append(const struct integrity *v, const char *key, bson_t *doc)
{
	bson_t sub;

	BSON_APPEND_DOCUMENT_BEGIN(doc, key, &sub);
	BSON_APPEND_UTF8(&sub, SCHEMA_F_INTEGRITY_STATUS, v->status);
	BSON_APPEND_UTF8(&sub, SCHEMA_F_INTEGRITY_SUMMARY, v->summary);
	bson_append_document_end(doc, &sub);
}

int integrity_record(struct store *st, const bson_oid_t *sid, const struct integrity *v,
		     char *err, size_t errlen)
{
	bson_t fields = BSON_INITIALIZER;
	int r;

	/* a dotted key: the rest of the filter sub-document stays as it is */
	integrity_append(v, SCHEMA_F_FILTER "." SCHEMA_F_FILTER_INTEGRITY, &fields);
	r = store_session_set(st, sid, &fields, NULL, err, errlen);
	bson_destroy(&fields);
	return r;
}
