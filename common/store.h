/* store.h — lineage's only door to MongoDB (libmongoc): connect, ping, unordered bulk
 * inserts, indexes, queries and the per-run `sessions` document.
 *
 * A struct store wraps one mongoc client and is used by one thread at a time.
 * Every function returns 0 (or a count) on success and a negative errno on failure, and on
 * failure writes a one-line reason into err[errlen] (never logged here: the caller logs).
 * -ENOTCONN means the server could not be reached (callers spool and retry); other errors
 * mean the server answered and refused. */
#ifndef LINEAGE_STORE_H
#define LINEAGE_STORE_H

#include <bson/bson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define STORE_DEFAULT_URI "mongodb://%2Frun%2Flineage%2Fmongodb.sock"
#define STORE_DEFAULT_DB "lineage"

struct store;
struct store_cursor;

struct store_insert_result {
	size_t inserted;   /* new documents */
	size_t duplicates; /* documents whose _id was already there (E11000): not an error */
	size_t refused;    /* documents refused one by one: over STORE_MAX_DOC_BYTES (never
			    * sent) or answered with a write error other than E11000 */
};

/* MongoDB's maxBsonObjectSize: a larger document is refused without being sent. */
#define STORE_MAX_DOC_BYTES (16u << 20)

/* Once per process, before any other call / at exit. */
void store_global_init(void);
void store_global_cleanup(void);

/* The URI to use when none is given: $LINEAGE_MONGODB_URI, else STORE_DEFAULT_URI.
 * Returns a static or environment string: do not free. */
const char *store_default_uri(void);

/* Parse uri (NULL: store_default_uri()) and make a client for database dbname (NULL:
 * STORE_DEFAULT_DB). Does not touch the network: call store_ping() to check.
 * On success *ret is owned by the caller: release with store_free(). */
int store_open(const char *uri, const char *dbname, struct store **ret, char *err, size_t errlen);
void store_free(struct store *st);

/* A second client for the same server and database (its own connection: another thread's).
 * *ret is the caller's: store_free(). */
int store_clone(const struct store *st, struct store **ret, char *err, size_t errlen);

/* The URI with any password removed, for messages. Valid while st lives. */
const char *store_uri(const struct store *st);

/* "ping" the server. Failure: -ENOTCONN and "cannot reach MongoDB at URI: reason". */
int store_ping(struct store *st, char *err, size_t errlen);

/* Insert n documents into coll with one unordered bulk write. Documents are not modified
 * and stay owned by the caller. Duplicate-key errors count as duplicates, not failures, so
 * a retried batch with deterministic _ids is idempotent. On failure *ret is still filled
 * with what the server reported as done. -EBADMSG: the server answered and took every
 * document except the ret->refused ones: resending those cannot help. Other failures
 * (-ENOTCONN, -EACCES, -EIO) may succeed later. */
int store_insert_many(struct store *st, const char *coll, const bson_t *const *docs, size_t n,
		      struct store_insert_result *ret, char *err, size_t errlen);

/* The same, and refused_at (caller-owned, n flags, all false on entry) gets refused_at[i]
 * set for each refused docs[i]. */
int store_insert_many_marked(struct store *st, const char *coll, const bson_t *const *docs,
			     size_t n, bool *refused_at, struct store_insert_result *ret,
			     char *err, size_t errlen);

/* Create one index (idempotent). keys is e.g. {session: 1, pid: 1}; name may be NULL
 * (the server derives it). */
int store_create_index(struct store *st, const char *coll, const bson_t *keys, const char *name,
		       bool unique, char *err, size_t errlen);

/* Create the indexes of the raw layer (segments) and of sessions. */
int store_create_indexes(struct store *st, char *err, size_t errlen);

/* Create the indexes of one filter output collection coll of kind SCHEMA_PROCESSES,
 * SCHEMA_CONTAINERS, SCHEMA_FILES, SCHEMA_SEARCH or SCHEMA_PAGES (-EINVAL for another kind). */
int store_create_output_indexes(struct store *st, const char *kind, const char *coll, char *err,
				size_t errlen);

/* *ret = whether coll has an index named name. */
int store_index_exists(struct store *st, const char *coll, const char *name, bool *ret,
		       char *err, size_t errlen);

/* Query coll with filter and find options (sort, projection, limit; opts may be NULL).
 * On success *ret is owned by the caller: iterate with store_cursor_next(), release with
 * store_cursor_free(). */
int store_find(struct store *st, const char *coll, const bson_t *filter, const bson_t *opts,
	       struct store_cursor **ret, char *err, size_t errlen);

/* Next document: returns 1 and sets *ret_doc (valid until the next call or free), 0 at the
 * end, negative errno on error. */
int store_cursor_next(struct store_cursor *cur, const bson_t **ret_doc, char *err, size_t errlen);
void store_cursor_free(struct store_cursor *cur);

/* Count documents of coll matching filter (NULL: all). */
int store_count(struct store *st, const char *coll, const bson_t *filter, int64_t *ret,
		char *err, size_t errlen);

/* Delete documents of coll matching filter; *ret (may be NULL) gets the number deleted. */
int store_delete_many(struct store *st, const char *coll, const bson_t *filter, int64_t *ret,
		      char *err, size_t errlen);

/* Update the first document of coll matching selector with update ($set etc.); upsert
 * inserts one when none matches. */
int store_update_one(struct store *st, const char *coll, const bson_t *selector,
		     const bson_t *update, bool upsert, char *err, size_t errlen);

/* Drop coll (one cheap operation whatever its size); a missing collection is not an error. */
int store_drop(struct store *st, const char *coll, char *err, size_t errlen);

/* The names of the collections whose name starts with prefix (NULL: all). On success *ret is
 * a NULL-terminated vector of *ret_n strings owned by the caller: free each and the vector. */
int store_list_collections(struct store *st, const char *prefix, char ***ret, size_t *ret_n,
			   char *err, size_t errlen);

/* Insert the run's sessions document: {_id: *id, started_at: now, ended_at: null} plus every
 * field of info (may be NULL). The caller makes the id (bson_oid_init) so that documents can
 * carry it before the server has answered. */
int store_session_open(struct store *st, const bson_oid_t *id, const bson_t *info, char *err,
		       size_t errlen);

/* Close it: set ended_at = now and every field of fields (counters; may be NULL). */
int store_session_close(struct store *st, const bson_oid_t *id, const bson_t *fields, char *err,
			size_t errlen);

/* Set every field of fields (dotted keys allowed; e.g. ended_at and counters of a closing
 * run, as recorded then, or the filter's verdict of issue 21) on the sessions document with
 * _id *id, nothing else; *ret_matched (may be NULL) says whether it was there. Idempotent: a
 * close record replayed twice sets the same values (issue 18). */
int store_session_set(struct store *st, const bson_oid_t *id, const bson_t *fields,
		      bool *ret_matched, char *err, size_t errlen);

#endif
