/* doc_common.c — the common head of every listener document (see doc_common.h). */
#include "doc_common.h"

#include <inttypes.h>
#include <stdio.h>

void doc_meta_append(bson_t *doc, const struct doc_meta *m)
{
	char id[64];

	snprintf(id, sizeof(id), "%s:%" PRIu64, m->session_hex, m->seq);
	BSON_APPEND_UTF8(doc, "_id", id);
	BSON_APPEND_OID(doc, "session", &m->session);
	BSON_APPEND_INT64(doc, "seq", (int64_t)m->seq);
}

void doc_meta_append_container(bson_t *doc, const struct doc_meta *m)
{
	if (m->container)
		BSON_APPEND_UTF8(doc, "container", m->container);
	else
		BSON_APPEND_NULL(doc, "container");
}
