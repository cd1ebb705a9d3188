/* store.c — MongoDB access through libmongoc: the only file that includes <mongoc/mongoc.h>.
 * Owns the mongoc client of a struct store and the cursors it hands out. */
#include "store.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <mongoc/mongoc.h>

#include "macro.h"
#include "schema.h"

struct store {
	mongoc_client_t *client;
	char *dbname;
	char *uri_shown; /* password removed */
};

struct store_cursor {
	mongoc_collection_t *coll;
	mongoc_cursor_t *cursor;
};

/* E11000: the document's _id (or a unique key) is already there. */
#define STORE_DUPLICATE_KEY 11000

/* FerretDB answers "no such command: 'endSessions'" when a client closes (notes.md):
 * harmless, so keep that one out of stderr; pass every other driver message on. */
static void store_log_handler(mongoc_log_level_t level, const char *domain, const char *msg,
			      void *data)
{
	if (strstr(msg, "endSessions"))
		return;
	mongoc_log_default_handler(level, domain, msg, data);
}

void store_global_init(void)
{
	mongoc_init();
	mongoc_log_set_handler(store_log_handler, NULL);
}

void store_global_cleanup(void)
{
	mongoc_cleanup();
}

const char *store_default_uri(void)
{
	const char *env = getenv("LINEAGE_MONGODB_URI");

	return env && *env ? env : STORE_DEFAULT_URI;
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void set_err(char *err, size_t errlen, const char *fmt, const char *a, const char *b)
{
	if (err && errlen)
		snprintf(err, errlen, fmt, a, b);
}

/* Server selection and socket errors mean "not reachable"; the rest are answers. */
static int errno_of(const bson_error_t *e)
{
	if (e->domain == MONGOC_ERROR_SERVER_SELECTION || e->domain == MONGOC_ERROR_STREAM ||
	    (e->domain == MONGOC_ERROR_CLIENT && e->code == MONGOC_ERROR_CLIENT_AUTHENTICATE))
		return e->domain == MONGOC_ERROR_CLIENT ? -EACCES : -ENOTCONN;
	return -EIO;
}

static char *redact_uri(const char *uri)
{
	const char *scheme = strstr(uri, "://");
	const char *at, *colon;
	char *out;

	if (!scheme)
		return strdup(uri);
	at = strchr(scheme + 3, '@');
	colon = strchr(scheme + 3, ':');
	if (!at || !colon || colon > at)
		return strdup(uri);
	/* user:password@host → user:***@host */
	out = malloc(strlen(uri) + 4);
	if (!out)
		return NULL;
	sprintf(out, "%.*s:***%s", (int)(colon - uri), uri, at);
	return out;
}

int store_open(const char *uri, const char *dbname, struct store **ret, char *err, size_t errlen)
{
	bson_error_t e;
	mongoc_uri_t *u;
	struct store *st;

	if (!uri)
		uri = store_default_uri();
	u = mongoc_uri_new_with_error(uri, &e);
	if (!u) {
		char *shown = redact_uri(uri); /* never a password in a message */

		set_err(err, errlen, "invalid MongoDB URI %s: %s", shown ? shown : "(redacted)",
			e.message);
		free(shown);
		return -EINVAL;
	}
	/* Fail fast when nothing listens, unless the URI says otherwise. */
	if (!mongoc_uri_has_option(u, MONGOC_URI_SERVERSELECTIONTIMEOUTMS))
		mongoc_uri_set_option_as_int32(u, MONGOC_URI_SERVERSELECTIONTIMEOUTMS, 5000);
	if (!mongoc_uri_has_option(u, MONGOC_URI_CONNECTTIMEOUTMS))
		mongoc_uri_set_option_as_int32(u, MONGOC_URI_CONNECTTIMEOUTMS, 3000);
	if (!mongoc_uri_has_option(u, MONGOC_URI_APPNAME))
		mongoc_uri_set_appname(u, "lineage");

	st = calloc(1, sizeof(*st));
	if (!st) {
		mongoc_uri_destroy(u);
		return -ENOMEM;
	}
	st->client = mongoc_client_new_from_uri_with_error(u, &e);
	mongoc_uri_destroy(u);
	if (!st->client) {
		char *shown = redact_uri(uri);

		set_err(err, errlen, "cannot make a MongoDB client for %s: %s",
			shown ? shown : "(redacted)", e.message);
		free(shown);
		free(st);
		return -EINVAL;
	}
	mongoc_client_set_error_api(st->client, MONGOC_ERROR_API_VERSION_2);
	st->dbname = strdup(dbname ? dbname : STORE_DEFAULT_DB);
	st->uri_shown = redact_uri(uri);
	if (!st->dbname || !st->uri_shown) {
		store_free(st);
		return -ENOMEM;
	}
	*ret = st;
	return 0;
}

int store_clone(const struct store *st, struct store **ret, char *err, size_t errlen)
{
	const mongoc_uri_t *u = mongoc_client_get_uri(st->client);
	struct store *c = calloc(1, sizeof(*c));
	bson_error_t e;

	if (!c)
		return -ENOMEM;
	c->client = mongoc_client_new_from_uri_with_error(u, &e);
	if (!c->client) {
		set_err(err, errlen, "cannot make a MongoDB client for %s: %s", st->uri_shown,
			e.message);
		free(c);
		return -EINVAL;
	}
	mongoc_client_set_error_api(c->client, MONGOC_ERROR_API_VERSION_2);
	c->dbname = strdup(st->dbname);
	c->uri_shown = strdup(st->uri_shown);
	if (!c->dbname || !c->uri_shown) {
		store_free(c);
		return -ENOMEM;
	}
	*ret = c;
	return 0;
}

void store_free(struct store *st)
{
	if (!st)
		return;
	if (st->client)
		mongoc_client_destroy(st->client);
	free(st->dbname);
	free(st->uri_shown);
	free(st);
}

const char *store_uri(const struct store *st)
{
	return st->uri_shown;
}

int store_ping(struct store *st, char *err, size_t errlen)
{
	bson_t cmd = BSON_INITIALIZER;
	bson_error_t e;
	bool ok;

	BSON_APPEND_INT32(&cmd, "ping", 1);
	ok = mongoc_client_command_simple(st->client, "admin", &cmd, NULL, NULL, &e);
	bson_destroy(&cmd);
	if (!ok) {
		set_err(err, errlen, "cannot reach MongoDB at %s: %s", st->uri_shown, e.message);
		return -ENOTCONN;
	}
	return 0;
}

/* Count duplicate-key write errors in an insert reply; *ret_other gets the rest, each also
 * marked in refused_at (indexed through map, the sent position → the caller's, when given). */
static void count_write_errors(const bson_t *reply, size_t *ret_dups, size_t *ret_other,
			       char *first_other, size_t len, bool *refused_at, const size_t *map,
			       size_t nsent)
{
	bson_iter_t it, arr;

	*ret_dups = *ret_other = 0;
	if (!bson_iter_init_find(&it, reply, "writeErrors") || !BSON_ITER_HOLDS_ARRAY(&it) ||
	    !bson_iter_recurse(&it, &arr))
		return;
	while (bson_iter_next(&arr)) {
		bson_iter_t doc, f;
		int32_t code = 0;
		int64_t idx = -1;

		if (!BSON_ITER_HOLDS_DOCUMENT(&arr) || !bson_iter_recurse(&arr, &doc))
			continue;
		if (bson_iter_find(&doc, "code"))
			code = bson_iter_as_int64(&doc);
		if (code == STORE_DUPLICATE_KEY) {
			(*ret_dups)++;
			continue;
		}
		if (*ret_other == 0 && first_other && bson_iter_recurse(&arr, &f) &&
		    bson_iter_find(&f, "errmsg") && BSON_ITER_HOLDS_UTF8(&f))
			snprintf(first_other, len, "%s", bson_iter_utf8(&f, NULL));
		if (bson_iter_recurse(&arr, &f) && bson_iter_find(&f, "index"))
			idx = bson_iter_as_int64(&f);
		if (refused_at && idx >= 0 && (size_t)idx < nsent)
			refused_at[map ? map[idx] : (size_t)idx] = true;
		(*ret_other)++;
	}
}

int store_insert_many(struct store *st, const char *coll, const bson_t *const *docs, size_t n,
		      struct store_insert_result *ret, char *err, size_t errlen)
{
	return store_insert_many_marked(st, coll, docs, n, NULL, ret, err, errlen);
}

int store_insert_many_marked(struct store *st, const char *coll, const bson_t *const *docs,
			     size_t n, bool *refused_at, struct store_insert_result *ret,
			     char *err, size_t errlen)
{
	mongoc_collection_t *c;
	bson_t opts = BSON_INITIALIZER;
	bson_t reply;
	bson_error_t e;
	bson_iter_t it;
	const bson_t **send = (const bson_t **)docs;
	size_t *map = NULL, nsend = n, big = 0;
	size_t dups = 0, other = 0;
	char first[256] = "";
	int r = 0;
	bool ok;

	memset(ret, 0, sizeof(*ret));
	if (n == 0)
		return 0;
	/* A document over the server's limit would fail the whole call in the driver: refuse it
	 * here, alone, and send the others. */
	for (size_t i = 0; i < n; i++)
		big += docs[i]->len > STORE_MAX_DOC_BYTES;
	if (big) {
		send = calloc(n, sizeof(*send));
		map = calloc(n, sizeof(*map));
		if (!send || !map) {
			free(send);
			free(map);
			set_err(err, errlen, "insert into %s failed: %s", coll, strerror(ENOMEM));
			return -ENOMEM;
		}
		nsend = 0;
		for (size_t i = 0; i < n; i++) {
			if (docs[i]->len > STORE_MAX_DOC_BYTES) {
				if (refused_at)
					refused_at[i] = true;
				continue;
			}
			map[nsend] = i;
			send[nsend++] = docs[i];
		}
		ret->refused = big;
		snprintf(first, sizeof(first), "document over %u bytes", STORE_MAX_DOC_BYTES);
		if (nsend == 0) {
			r = -EBADMSG;
			set_err(err, errlen, "insert into %s failed: %s", coll, first);
			goto out_free;
		}
	}
	c = mongoc_client_get_collection(st->client, st->dbname, coll);
	BSON_APPEND_BOOL(&opts, "ordered", false);
	ok = mongoc_collection_insert_many(c, send, nsend, &opts, &reply, &e);
	if (bson_iter_init_find(&it, &reply, "insertedCount"))
		ret->inserted = bson_iter_as_int64(&it);
	{
		char srv[256] = "";

		count_write_errors(&reply, &dups, &other, srv, sizeof(srv), refused_at, map, nsend);
		if (other && big)
			snprintf(first + strlen(first), sizeof(first) - strlen(first), "; %s", srv);
		else if (other)
			snprintf(first, sizeof(first), "%s", srv);
	}
	ret->duplicates = dups;
	ret->refused += other;
	if (!ok) {
		bson_iter_t wce;
		bool has_wc_error = bson_iter_init_find(&it, &reply, "writeConcernErrors") &&
				    BSON_ITER_HOLDS_ARRAY(&it) && bson_iter_recurse(&it, &wce) &&
				    bson_iter_next(&wce);
		bool answered = e.domain != MONGOC_ERROR_SERVER_SELECTION &&
				e.domain != MONGOC_ERROR_STREAM && !has_wc_error;

		if (answered && other == 0 && dups > 0 && !big) {
			r = 0; /* only duplicates: the batch is all there */
		} else if (answered && (other > 0 || big) &&
			   ret->inserted + dups + other == nsend) {
			r = -EBADMSG; /* every document is accounted for: some were refused */
			set_err(err, errlen, "insert into %s failed: %s", coll, first);
		} else {
			char what[512];

			snprintf(what, sizeof(what), "%s", other ? first : e.message);
			set_err(err, errlen, "insert into %s failed: %s", coll, what);
			r = other ? -EIO : errno_of(&e);
		}
	} else if (big) {
		r = -EBADMSG;
		set_err(err, errlen, "insert into %s failed: %s", coll, first);
	}
	bson_destroy(&reply);
	mongoc_collection_destroy(c);
out_free:
	bson_destroy(&opts);
	if (big) {
		free(send);
		free(map);
	}
	return r;
}

int store_create_index(struct store *st, const char *coll, const bson_t *keys, const char *name,
		       bool unique, char *err, size_t errlen)
{
	bson_t cmd = BSON_INITIALIZER, arr, idx;
	bson_error_t e;
	char *derived = NULL;
	int r = 0;

	if (!name)
		name = derived = mongoc_collection_keys_to_index_string(keys);
	BSON_APPEND_UTF8(&cmd, "createIndexes", coll);
	BSON_APPEND_ARRAY_BEGIN(&cmd, "indexes", &arr);
	BSON_APPEND_DOCUMENT_BEGIN(&arr, "0", &idx);
	BSON_APPEND_DOCUMENT(&idx, "key", keys);
	BSON_APPEND_UTF8(&idx, "name", name);
	if (unique)
		BSON_APPEND_BOOL(&idx, "unique", true);
	bson_append_document_end(&arr, &idx);
	bson_append_array_end(&cmd, &arr);
	if (!mongoc_client_write_command_with_opts(st->client, st->dbname, &cmd, NULL, NULL, &e)) {
		set_err(err, errlen, "create index %s failed: %s", name, e.message);
		r = errno_of(&e);
	}
	bson_destroy(&cmd);
	bson_free(derived);
	return r;
}

/* The indexes every read of lineage needs (notes.md "Store"): raw collections are read by
 * {session, …}; the filter's per-session output by the fields after the session. On FerretDB
 * over PostgreSQL each field of these also gets a GIN index (scripts/store-gin.sql). */
struct index_def {
	const char *coll, *name;
	const char *keys[3];
	bool unique;
};

static int create_defs(struct store *st, const struct index_def *idx, size_t n,
		       const char *coll_override, char *err, size_t errlen)
{
	for (size_t i = 0; i < n; i++) {
		bson_t keys = BSON_INITIALIZER;
		int r;

		for (size_t k = 0; k < 3 && idx[i].keys[k]; k++)
			BSON_APPEND_INT32(&keys, idx[i].keys[k], 1);
		r = store_create_index(st, coll_override ? coll_override : idx[i].coll, &keys,
				       idx[i].name, idx[i].unique, err, errlen);
		bson_destroy(&keys);
		if (r < 0)
			return r;
	}
	return 0;
}

int store_create_indexes(struct store *st, char *err, size_t errlen)
{
	static const struct index_def idx[] = {
		/* issue 33: the raw layer is segments; a session is read by stream in seq order and
		 * pruned by the header's arrays (multikey on MongoDB; on FerretDB/PostgreSQL the
		 * GIN trigger's jsonb_path_ops index serves {f: v} on an array: notes "Segments") */
		{ SCHEMA_SEGMENTS, "session_stream_seq",
		  { SCHEMA_F_SESSION, SCHEMA_F_SEG_STREAM, SCHEMA_F_SEG_SEQ_FIRST }, false },
		{ SCHEMA_SEGMENTS, "session_tgids", { SCHEMA_F_SESSION, SCHEMA_F_SEG_TGIDS }, false },
		{ SCHEMA_SEGMENTS, "session_containers",
		  { SCHEMA_F_SESSION, SCHEMA_F_SEG_CONTAINERS }, false },
		{ SCHEMA_SEGMENTS, "session_syscalls", { SCHEMA_F_SESSION, SCHEMA_F_SEG_SYSCALLS }, false },
		{ SCHEMA_SEGMENTS, "session_ts", { SCHEMA_F_SESSION, SCHEMA_F_SEG_TS_FIRST }, false },
		/* --follow walks the chain by link number (query/segwalk.c) */
		{ SCHEMA_SEGMENTS, "session_link", { SCHEMA_F_SESSION, SCHEMA_F_SEG_LINK }, false },
		{ SCHEMA_SESSIONS, "host_started_at", { SCHEMA_F_HOST, SCHEMA_F_STARTED_AT }, false },
	};

	return create_defs(st, idx, ARRAY_SIZE(idx), NULL, err, errlen);
}

int store_create_output_indexes(struct store *st, const char *kind, const char *coll, char *err,
				size_t errlen)
{
	static const struct index_def procs[] = {
		{ SCHEMA_PROCESSES, "key", { SCHEMA_F_PROC_KEY }, true },
		{ SCHEMA_PROCESSES, "container_start", { SCHEMA_F_CONTAINER, "start" }, false },
		{ SCHEMA_PROCESSES, "tgid", { SCHEMA_F_TGID }, false },
	}, conts[] = {
		{ SCHEMA_CONTAINERS, "container", { SCHEMA_F_CONTAINER }, false },
	}, files[] = {
		{ SCHEMA_FILES, "container_path", { SCHEMA_F_CONTAINER, SCHEMA_F_PATH }, false },
		{ SCHEMA_FILES, "process", { "process" }, false },
		/* search by path alone: a compound index serves only its prefix on MongoDB */
		{ SCHEMA_FILES, "path", { SCHEMA_F_PATH }, false },
	}, search[] = {
		{ SCHEMA_SEARCH, "what_part", { SCHEMA_F_SEARCH_WHAT, SCHEMA_F_SEARCH_PART }, false },
	}, pages[] = {
		{ SCHEMA_PAGES, "kind_key_part",
		  { SCHEMA_F_PAGE_KIND, SCHEMA_F_PAGE_KEY, SCHEMA_F_PAGE_PART }, false },
	};

	if (strcmp(kind, SCHEMA_PROCESSES) == 0)
		return create_defs(st, procs, ARRAY_SIZE(procs), coll, err, errlen);
	if (strcmp(kind, SCHEMA_CONTAINERS) == 0)
		return create_defs(st, conts, ARRAY_SIZE(conts), coll, err, errlen);
	if (strcmp(kind, SCHEMA_FILES) == 0)
		return create_defs(st, files, ARRAY_SIZE(files), coll, err, errlen);
	if (strcmp(kind, SCHEMA_SEARCH) == 0)
		return create_defs(st, search, ARRAY_SIZE(search), coll, err, errlen);
	if (strcmp(kind, SCHEMA_PAGES) == 0)
		return create_defs(st, pages, ARRAY_SIZE(pages), coll, err, errlen);
	set_err(err, errlen, "no output indexes for kind %s%s", kind, "");
	return -EINVAL;
}

int store_index_exists(struct store *st, const char *coll, const char *name, bool *ret,
		       char *err, size_t errlen)
{
	mongoc_collection_t *c = mongoc_client_get_collection(st->client, st->dbname, coll);
	mongoc_cursor_t *cur = mongoc_collection_find_indexes_with_opts(c, NULL);
	const bson_t *doc;
	bson_error_t e;
	bool found = false;
	int r = 0;

	while (mongoc_cursor_next(cur, &doc)) {
		bson_iter_t it;

		if (bson_iter_init_find(&it, doc, "name") && BSON_ITER_HOLDS_UTF8(&it) &&
		    strcmp(bson_iter_utf8(&it, NULL), name) == 0)
			found = true;
	}
	if (mongoc_cursor_error(cur, &e)) {
		set_err(err, errlen, "list indexes of %s failed: %s", coll, e.message);
		r = errno_of(&e);
	}
	mongoc_cursor_destroy(cur);
	mongoc_collection_destroy(c);
	if (r == 0)
		*ret = found;
	return r;
}

int store_find(struct store *st, const char *coll, const bson_t *filter, const bson_t *opts,
	       struct store_cursor **ret, char *err, size_t errlen)
{
	struct store_cursor *cur = calloc(1, sizeof(*cur));
	bson_t empty = BSON_INITIALIZER;

	(void)err;
	(void)errlen;
	if (!cur)
		return -ENOMEM;
	cur->coll = mongoc_client_get_collection(st->client, st->dbname, coll);
	cur->cursor = mongoc_collection_find_with_opts(cur->coll, filter ? filter : &empty, opts,
						       NULL);
	bson_destroy(&empty);
	*ret = cur;
	return 0;
}

int store_cursor_next(struct store_cursor *cur, const bson_t **ret_doc, char *err, size_t errlen)
{
	bson_error_t e;

	if (mongoc_cursor_next(cur->cursor, ret_doc))
		return 1;
	if (mongoc_cursor_error(cur->cursor, &e)) {
		set_err(err, errlen, "query failed: %s%s", e.message, "");
		return errno_of(&e);
	}
	return 0;
}

void store_cursor_free(struct store_cursor *cur)
{
	if (!cur)
		return;
	if (cur->cursor)
		mongoc_cursor_destroy(cur->cursor);
	if (cur->coll)
		mongoc_collection_destroy(cur->coll);
	free(cur);
}

int store_count(struct store *st, const char *coll, const bson_t *filter, int64_t *ret,
		char *err, size_t errlen)
{
	mongoc_collection_t *c = mongoc_client_get_collection(st->client, st->dbname, coll);
	bson_t empty = BSON_INITIALIZER;
	bson_error_t e;
	int64_t n;

	n = mongoc_collection_count_documents(c, filter ? filter : &empty, NULL, NULL, NULL, &e);
	bson_destroy(&empty);
	mongoc_collection_destroy(c);
	if (n < 0) {
		set_err(err, errlen, "count of %s failed: %s", coll, e.message);
		return errno_of(&e);
	}
	*ret = n;
	return 0;
}

int store_delete_many(struct store *st, const char *coll, const bson_t *filter, int64_t *ret,
		      char *err, size_t errlen)
{
	mongoc_collection_t *c = mongoc_client_get_collection(st->client, st->dbname, coll);
	bson_t reply, empty = BSON_INITIALIZER;
	bson_error_t e;
	bson_iter_t it;
	int r = 0;

	if (!mongoc_collection_delete_many(c, filter ? filter : &empty, NULL, &reply, &e)) {
		set_err(err, errlen, "delete from %s failed: %s", coll, e.message);
		r = errno_of(&e);
	} else if (ret) {
		*ret = bson_iter_init_find(&it, &reply, "deletedCount") ? bson_iter_as_int64(&it) : 0;
	}
	bson_destroy(&reply);
	bson_destroy(&empty);
	mongoc_collection_destroy(c);
	return r;
}

int store_session_open(struct store *st, const bson_oid_t *id, const bson_t *info, char *err,
		       size_t errlen)
{
	mongoc_collection_t *c = mongoc_client_get_collection(st->client, st->dbname, SCHEMA_SESSIONS);
	bson_t doc = BSON_INITIALIZER;
	bson_error_t e;
	int r = 0;

	BSON_APPEND_OID(&doc, "_id", id);
	BSON_APPEND_DATE_TIME(&doc, "started_at", now_ms());
	BSON_APPEND_NULL(&doc, "ended_at");
	if (info)
		bson_concat(&doc, info);
	if (!mongoc_collection_insert_one(c, &doc, NULL, NULL, &e)) {
		set_err(err, errlen, "insert into sessions failed: %s%s", e.message, "");
		r = errno_of(&e);
	}
	bson_destroy(&doc);
	mongoc_collection_destroy(c);
	return r;
}

int store_session_close(struct store *st, const bson_oid_t *id, const bson_t *fields, char *err,
			size_t errlen)
{
	mongoc_collection_t *c = mongoc_client_get_collection(st->client, st->dbname, SCHEMA_SESSIONS);
	bson_t sel = BSON_INITIALIZER, upd = BSON_INITIALIZER, set;
	bson_error_t e;
	int r = 0;

	BSON_APPEND_OID(&sel, "_id", id);
	BSON_APPEND_DOCUMENT_BEGIN(&upd, "$set", &set);
	BSON_APPEND_DATE_TIME(&set, "ended_at", now_ms());
	if (fields)
		bson_concat(&set, fields);
	bson_append_document_end(&upd, &set);
	if (!mongoc_collection_update_one(c, &sel, &upd, NULL, NULL, &e)) {
		set_err(err, errlen, "update of sessions failed: %s%s", e.message, "");
		r = errno_of(&e);
	}
	bson_destroy(&sel);
	bson_destroy(&upd);
	mongoc_collection_destroy(c);
	return r;
}

int store_update_one(struct store *st, const char *coll, const bson_t *selector,
		     const bson_t *update, bool upsert, char *err, size_t errlen)
{
	mongoc_collection_t *c = mongoc_client_get_collection(st->client, st->dbname, coll);
	bson_t opts = BSON_INITIALIZER;
	bson_error_t e;
	int r = 0;

	if (upsert)
		BSON_APPEND_BOOL(&opts, "upsert", true);
	if (!mongoc_collection_update_one(c, selector, update, &opts, NULL, &e)) {
		set_err(err, errlen, "update of %s failed: %s", coll, e.message);
		r = errno_of(&e);
	}
	bson_destroy(&opts);
	mongoc_collection_destroy(c);
	return r;
}

int store_drop(struct store *st, const char *coll, char *err, size_t errlen)
{
	mongoc_collection_t *c = mongoc_client_get_collection(st->client, st->dbname, coll);
	bson_error_t e;
	int r = 0;

	/* dropping what is not there is fine: the goal is its absence */
	if (!mongoc_collection_drop_with_opts(c, NULL, &e) &&
	    !(e.code == 26 || strstr(e.message, "ns not found"))) {
		set_err(err, errlen, "drop of %s failed: %s", coll, e.message);
		r = errno_of(&e);
	}
	mongoc_collection_destroy(c);
	return r;
}

int store_list_collections(struct store *st, const char *prefix, char ***ret, size_t *ret_n,
			   char *err, size_t errlen)
{
	mongoc_database_t *db = mongoc_client_get_database(st->client, st->dbname);
	bson_t opts = BSON_INITIALIZER;
	bson_error_t e;
	char **names, **out = NULL;
	size_t n = 0, plen = prefix ? strlen(prefix) : 0;
	int r = 0;

	BSON_APPEND_BOOL(&opts, "nameOnly", true);
	names = mongoc_database_get_collection_names_with_opts(db, &opts, &e);
	bson_destroy(&opts);
	mongoc_database_destroy(db);
	if (!names) {
		set_err(err, errlen, "list collections failed: %s%s", e.message, "");
		return errno_of(&e);
	}
	for (size_t i = 0; names[i]; i++)
		n += !plen || strncmp(names[i], prefix, plen) == 0;
	out = calloc(n + 1, sizeof(*out));
	if (!out) {
		r = -ENOMEM;
		goto out;
	}
	n = 0;
	for (size_t i = 0; names[i]; i++) {
		if (plen && strncmp(names[i], prefix, plen) != 0)
			continue;
		if (!(out[n] = strdup(names[i]))) {
			r = -ENOMEM;
			goto out;
		}
		n++;
	}
	*ret = out;
	*ret_n = n;
	out = NULL;
out:
	if (out) {
		for (size_t i = 0; out[i]; i++)
			free(out[i]);
		free(out);
	}
	bson_strfreev(names);
	return r;
}

int store_session_set(struct store *st, const bson_oid_t *id, const bson_t *fields,
		      bool *ret_matched, char *err, size_t errlen)
{
	mongoc_collection_t *c = mongoc_client_get_collection(st->client, st->dbname, SCHEMA_SESSIONS);
	bson_t sel = BSON_INITIALIZER, upd = BSON_INITIALIZER, reply;
	bson_iter_t it;
	bson_error_t e;
	int r = 0;

	BSON_APPEND_OID(&sel, "_id", id);
	BSON_APPEND_DOCUMENT(&upd, "$set", fields);
	if (!mongoc_collection_update_one(c, &sel, &upd, NULL, &reply, &e)) {
		set_err(err, errlen, "update of sessions failed: %s%s", e.message, "");
		r = errno_of(&e);
	} else if (ret_matched) {
		*ret_matched = bson_iter_init_find(&it, &reply, "matchedCount") &&
			       bson_iter_as_int64(&it) > 0;
	}
	bson_destroy(&reply);
	bson_destroy(&sel);
	bson_destroy(&upd);
	mongoc_collection_destroy(c);
	return r;
}
