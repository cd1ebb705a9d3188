/* search_index.c — builds and writes the search index of a model (search_index.h, format in
 * common/search_format.h). Owns the set of paths seen and the part buffer while it writes. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "emit.h"
#include "hash.h"
#include "schema.h"
#include "search_format.h"
#include "search_index.h"
#include "store.h"

struct pathset {
	const char **v; /* borrowed from the model */
	size_t cap, n;
};

static size_t hash(const char *s)
{
	return hash_str(HASH_STR_INIT, s);
}

static int set_grow(struct pathset *s)
{
	size_t cap = s->cap ? s->cap * 2 : 4096;
	const char **v = calloc(cap, sizeof(*v));

	if (!v)
		return -ENOMEM;
	for (size_t i = 0; i < s->cap; i++) {
		size_t k;

		if (!s->v[i])
			continue;
		for (k = hash(s->v[i]) & (cap - 1); v[k]; k = (k + 1) & (cap - 1))
			;
		v[k] = s->v[i];
	}
	free(s->v);
	s->v = v;
	s->cap = cap;
	return 0;
}

/* 1 when path was added, 0 when it was there, -ENOMEM. */
static int set_add(struct pathset *s, const char *path)
{
	size_t k;

	if ((s->n + 1) * 2 > s->cap && set_grow(s) < 0)
		return -ENOMEM;
	for (k = hash(path) & (s->cap - 1); s->v[k]; k = (k + 1) & (s->cap - 1))
		if (!strcmp(s->v[k], path))
			return 0;
	s->v[k] = path;
	s->n++;
	return 1;
}

struct writer {
	struct store *st;
	const char *coll;
	const bson_oid_t *session;
	const char *what;
	struct search_part part;
	int64_t nparts;
	size_t nrec;
	size_t *ndocs;
	char *err;
	size_t errlen;
};

static int flush(struct writer *w)
{
	bson_t d = BSON_INITIALIZER;
	const bson_t *one = &d;
	struct store_insert_result res;
	char hex[25], id[96];
	int r;

	if (!w->part.len)
		return 0;
	bson_oid_to_string(w->session, hex);
	snprintf(id, sizeof(id), "%s:s:%s:%lld", hex, w->what, (long long)w->nparts);
	BSON_APPEND_UTF8(&d, SCHEMA_F_ID, id);
	BSON_APPEND_OID(&d, SCHEMA_F_SESSION, w->session);
	BSON_APPEND_UTF8(&d, SCHEMA_F_SEARCH_WHAT, w->what);
	BSON_APPEND_INT64(&d, SCHEMA_F_SEARCH_PART, w->nparts);
	BSON_APPEND_INT64(&d, SCHEMA_F_SEARCH_N, (int64_t)w->nrec);
	BSON_APPEND_BINARY(&d, SCHEMA_F_SEARCH_DATA, BSON_SUBTYPE_BINARY, w->part.buf,
			   (uint32_t)w->part.len);
	r = store_insert_many(w->st, w->coll, &one, 1, &res, w->err, w->errlen);
	if (r == 0 && res.inserted != 1) {
		snprintf(w->err, w->errlen, "search index part %s was refused by the store", id);
		r = -EIO;
	}
	bson_destroy(&d);
	if (r < 0)
		return r;
	(*w->ndocs)++;
	w->nparts++;
	w->nrec = 0;
	search_part_reset(&w->part);
	return 0;
}

static int write_paths(struct writer *w, const struct model *m)
{
	struct pathset set = { 0 };
	int r = 0;

	w->what = SCHEMA_SEARCH_PATHS;
	for (size_t i = 0; i < m->nfiles && r == 0; i++) {
		const char *path = m->files[i].path;

		if (!path || (r = set_add(&set, path)) <= 0)
			continue;
		r = 0;
		if (search_part_full(&w->part, search_path_size(path)))
			r = flush(w);
		if (r == 0)
			r = search_part_add_path(&w->part, path);
		w->nrec++;
	}
	if (r == 0)
		r = flush(w);
	free(set.v);
	return r;
}

static int64_t ms_of(int64_t ns)
{
	return ns == MODEL_NO_TIME ? SEARCH_NO_TIME : ns / 1000000LL;
}

static int write_procs(struct writer *w, const struct model *m)
{
	struct search_exec *xs = NULL;
	size_t cap = 0;
	char uids[EMIT_UIDS_MAX * 21];
	int r = 0;

	w->what = SCHEMA_SEARCH_PROCS;
	w->nparts = 0;
	for (size_t i = 0; i < m->nprocs && r == 0; i++) {
		const struct m_proc *p = &m->procs[i];
		struct search_proc rec = {
			.key = p->key, .tgid = p->tgid,
			.parent = p->parent >= 0 ? m->procs[p->parent].key : NULL,
			.entry = emit_entry_name(p), .start_ms = ms_of(p->start),
			.exit_ms = p->exited ? ms_of(p->exit) : SEARCH_NO_TIME,
			.container = p->container, .runtime_helper = p->runtime, .comm = p->comm,
			.uids = uids, .nexecs = p->nexecs,
		};
		int64_t v[EMIT_UIDS_MAX];
		size_t nu = emit_proc_uids(m, p, v, EMIT_UIDS_MAX), pos = 0;

		uids[0] = '\0';
		for (size_t k = 0; k < nu; k++)
			pos += (size_t)snprintf(uids + pos, sizeof(uids) - pos, "%s%lld", k ? "," : "",
						(long long)v[k]);

		if (p->nexecs > cap) {
			struct search_exec *nx = realloc(xs, p->nexecs * sizeof(*nx));

			if (!nx) {
				r = -ENOMEM;
				break;
			}
			xs = nx;
			cap = p->nexecs;
		}
		for (size_t k = 0; k < p->nexecs; k++)
			xs[k] = (struct search_exec){ .ts_ms = ms_of(p->execs[k].ts),
						      .exe = p->execs[k].exe,
						      .argv = (const char *const *)p->execs[k].argv,
						      .argc = p->execs[k].argc };
		if (search_part_full(&w->part, search_proc_size(&rec, xs)))
			r = flush(w);
		if (r == 0)
			r = search_part_add_proc(&w->part, &rec, xs);
		w->nrec++;
	}
	if (r == 0)
		r = flush(w);
	free(xs);
	return r;
}

int search_index_write(struct store *st, const char *coll, const struct model *m,
		       const bson_oid_t *session, size_t *ndocs, char *err, size_t errlen)
{
	struct writer w = { .st = st, .coll = coll, .session = session, .ndocs = ndocs,
			    .err = err, .errlen = errlen };
	int r;

	*ndocs = 0;
	r = write_paths(&w, m);
	if (r == 0)
		r = write_procs(&w, m);
	if (r == -ENOMEM)
		snprintf(err, errlen, "search index: out of memory");
	search_part_free(&w.part);
	return r;
}
