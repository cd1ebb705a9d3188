/* query.h — what every lineage-query subcommand shares: the context (store, session,
 * arguments, output) and small readers of fields of the filter's documents.
 *
 * A struct qctx is owned by main.c; subcommands borrow it. The doc_* readers return
 * pointers into the bson document they read (valid as long as that document). */
#ifndef LINEAGE_QUERY_H
#define LINEAGE_QUERY_H

#include <bson/bson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "args.h"
#include "format.h"
#include "schema.h"

struct store;

struct qctx {
	struct store *st;
	const struct qargs *args;
	bson_oid_t session;  /* resolved --session / --last (not used by sessions, diff) */
	FILE *out;
	bool color;          /* colour the text output (term_color) */
	char err[1024];      /* reason of the last failure, for main.c to print */
	int status;          /* QEXIT_* chosen by the failing step */
	bool integrity_warned; /* the evidence warning of q_out_coll was printed */
	/* pages.c: the run ("<hex>.<gen>") last looked up, and its pages collection ("": none) */
	char pages_run[SCHEMA_OUT_NAME_MAX];
	char pages_name[SCHEMA_OUT_NAME_MAX];
};

/* Field readers: NULL / FMT_NO_TIME / dflt when the field is absent, null or of another
 * type. doc_date reads a BSON date as ms since the epoch. */
const char *doc_str(const bson_t *d, const char *key);
int64_t doc_int(const bson_t *d, const char *key, int64_t dflt);
bool doc_bool(const bson_t *d, const char *key);
/* A binary field (any subtype): true with *buf (into d) and *len. */
bool doc_bin(const bson_t *d, const char *key, const uint8_t **buf, uint32_t *len);
int64_t doc_date(const bson_t *d, const char *key);
bool doc_is_null(const bson_t *d, const char *key);

/* An array of strings of d (NULL entries for non-strings) as a newly allocated vector whose
 * strings point into d: free(*ret) only. Returns the count, or -ENOMEM. */
int doc_strv(const bson_t *d, const char *key, const char ***ret);

/* Print d as one line of relaxed Extended JSON on ctx->out. */
void doc_print_json(struct qctx *ctx, const bson_t *d);

/* Set ctx->err and ctx->status from a store error r (-ENOTCONN → unreachable, else db
 * error) and return r. */
int q_store_error(struct qctx *ctx, int r, const char *what, const char *msg);

/* Run every document of coll matching filter (sorted by sort, may be NULL) through fn;
 * stops at fn's first negative return. Store failures set ctx->err/status. */
int q_each(struct qctx *ctx, const char *coll, const bson_t *filter, const bson_t *sort,
	   int (*fn)(struct qctx *ctx, const bson_t *doc, void *data), void *data);

/* The name of the collection that holds the filter's output of kind (SCHEMA_PROCESSES,
 * SCHEMA_CONTAINERS, SCHEMA_FILES, SCHEMA_SEARCH) for session, read from the session
 * document's `filter` field, into buf. 0, or negative with ctx->err/status set:
 * QEXIT_NOT_FOUND, with the command to run, when the filter has not processed the session. */
int q_out_coll(struct qctx *ctx, const bson_oid_t *session, const char *kind,
	       char buf[SCHEMA_OUT_NAME_MAX]);

/* The same without guidance or --filter: *found tells whether the session's filter output
 * names kind (sessions filtered before a kind existed lack it). 0 or a store failure. */
int q_out_coll_opt(struct qctx *ctx, const bson_oid_t *session, const char *kind,
		   char buf[SCHEMA_OUT_NAME_MAX], bool *found);

/* issue 20 (runfilter.c): the lineage-filter command line for session hex, with this
 * query's --uri (password hidden) and --db; and running it (--filter): 0 when it exited 0,
 * else negative with ctx->err/status set. */
void q_filter_command(const struct qctx *ctx, const char *hex, char *buf, size_t len);
int q_run_filter(struct qctx *ctx, const char *hex);

/* The same with a projection (NULL: whole documents): fn sees only those fields. */
int q_each_proj(struct qctx *ctx, const char *coll, const bson_t *filter, const bson_t *sort,
		const bson_t *projection,
		int (*fn)(struct qctx *ctx, const bson_t *doc, void *data), void *data);

/* q_each_proj reads the filter's pages (pages.c) when they can answer the read exactly,
 * else the server: q_each_server. q_pages_each returns 1 when it cannot answer (nothing
 * done), else what q_each would. */
int q_pages_each(struct qctx *ctx, const char *coll, const bson_t *filter, const bson_t *sort,
		 int (*fn)(struct qctx *ctx, const bson_t *doc, void *data), void *data);
/* Whether d matches filter's plain top-level equalities with MongoDB's meaning (null = missing
 * or null, an array field by element). */
bool q_match(const bson_t *d, const bson_t *filter);
/* issue 33 (segments.c): the raw streams (events, proc_events, snapshot, container_facts)
 * are read from the session's segments: filter must hold `session`; its pid, a full
 * container id and syscall prune the segments, and every equality of it is checked on the
 * decoded documents. Documents come in seq order. A segment that does not decode is named
 * on stderr and skipped. Returns what q_each would. */
bool q_is_raw(const char *coll);
int q_raw_each(struct qctx *ctx, const char *stream, const bson_t *filter,
	       int (*fn)(struct qctx *ctx, const bson_t *doc, void *data), void *data);
/* Did the run that wrote coll (an output collection) write pages of it? */
bool q_pages_exist(struct qctx *ctx, const char *coll);
int q_each_server(struct qctx *ctx, const char *coll, const bson_t *filter, const bson_t *sort,
		  const bson_t *projection,
		  int (*fn)(struct qctx *ctx, const bson_t *doc, void *data), void *data);

/* Resolve the session of ctx->args (--session ID|prefix, --last or default: latest) into
 * *ret. 0, or negative with ctx->err/status set (QEXIT_NOT_FOUND when none matches or a
 * prefix is ambiguous). */
int q_resolve_session(struct qctx *ctx, const char *arg, bson_oid_t *ret);

/* Resolve CONTAINER (full id, unique id prefix or name) among the containers of session
 * into *ret (a newly allocated full id: free it). Same failures as q_resolve_session. */
int q_resolve_container(struct qctx *ctx, const bson_oid_t *session, const char *arg,
			char **ret);

/* Pure part of container resolution, for the unit tests: among n (id, name) pairs (names
 * may be NULL), the exact id, else the exact name, else the unique id prefix. Returns the
 * index, -ENOENT when nothing matches, -ENOTUNIQ when a prefix or name matches several. */
int q_match_container(const char *const *ids, const char *const *names, size_t n,
		      const char *arg);

/* Subcommands: 0 or negative with ctx->err/status set. */
int cmd_sessions(struct qctx *ctx);
int cmd_containers(struct qctx *ctx);
int cmd_tree(struct qctx *ctx);
int cmd_timeline(struct qctx *ctx);
int cmd_files(struct qctx *ctx);
int cmd_diff(struct qctx *ctx);
/* issue 20 */
int cmd_events(struct qctx *ctx);
int cmd_search(struct qctx *ctx);
int cmd_follow(struct qctx *ctx); /* timeline --follow, search --follow */

/* One text line for an audit event document on ctx->out (events.c; follow.c uses it). */
void q_event_line(struct qctx *ctx, const bson_t *d);
int cmd_verify(struct qctx *ctx); /* verify.c (issue 21) */
int cmd_export(struct qctx *ctx); /* export.c (issue 33) */
int cmd_convert(struct qctx *ctx);

#endif
