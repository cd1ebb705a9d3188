/* emit.c — model → processes/containers/files documents, and their replacement in the store
 * (see emit.h). Owns the bson documents of the batch it is writing. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "emit.h"
#include "hostpath.h"
#include "insert_pool.h"
#include "integrity.h"
#include "pages.h"
#include "schema.h"
#include "search_index.h"
#include "store.h"

#define BATCH 1000
/* An array of one output document stops growing past this many bytes, flagged
 * "<name>_truncated": a document is at most 16 MiB, and a long session's container can hold
 * hundreds of thousands of processes (a 10M-event synthetic session made a `tree` over
 * 16 MiB and the whole filter run failed). The processes collection keeps everything; each
 * document has at most 4 such arrays plus bounded fields. */
#define ARRAY_SOFT_MAX (3u << 20)

/* A container's `tree` is a summary (the processes collection has every process and is what
 * lineage-query's tree reads): kept small, since every read of a session's containers (their
 * list, resolving an id prefix) decodes it, and a MongoDB-wire server like FerretDB pays per
 * field (store_scale: 3 MiB trees made resolving a container take seconds). */
#define TREE_SOFT_MAX (256u << 10)

static bool array_over(const bson_t *arr, uint32_t max, bool *truncated)
{
	if (arr->len <= max)
		return false;
	*truncated = true;
	return true;
}

static bool array_full(const bson_t *arr, bool *truncated)
{
	return array_over(arr, ARRAY_SOFT_MAX, truncated);
}

static void put_truncated(bson_t *d, const char *name, bool truncated)
{
	char k[64];

	if (truncated) {
		snprintf(k, sizeof(k), "%s_truncated", name);
		BSON_APPEND_BOOL(d, k, true);
	}
}

static void put_date(bson_t *d, const char *k, int64_t ns)
{
	if (ns == MODEL_NO_TIME)
		bson_append_null(d, k, -1);
	else
		bson_append_date_time(d, k, -1, ns / 1000000LL);
}

static void put_str(bson_t *d, const char *k, const char *s)
{
	if (s)
		bson_append_utf8(d, k, -1, s, -1);
	else
		bson_append_null(d, k, -1);
}

static void put_key(bson_t *d, const char *k, const struct model *m, int idx)
{
	put_str(d, k, idx >= 0 ? m->procs[idx].key : NULL);
}

static void put_strv(bson_t *d, const char *k, const char **v, size_t n)
{
	bson_t arr;
	char ib[16];
	const char *ik;

	bson_append_array_begin(d, k, -1, &arr);
	for (size_t i = 0; i < n; i++) {
		bson_uint32_to_string((uint32_t)i, &ik, ib, sizeof(ib));
		put_str(&arr, ik, v[i]);
	}
	bson_append_array_end(d, &arr);
}

static void put_head(bson_t *d, const bson_oid_t *session, const char *host, const char *id)
{
	char hex[25];
	char buf[160];

	bson_oid_to_string(session, hex);
	snprintf(buf, sizeof(buf), "%s:%s", hex, id);
	BSON_APPEND_UTF8(d, "_id", buf);
	BSON_APPEND_OID(d, "session", session);
	put_str(d, "host", host);
}

static const char *const parent_src[] = { NULL, "fork", "snapshot", "audit-clone", "audit-ppid" };
static const char *const exit_src[] = { NULL, "proc_connector", "audit", "inferred-last-event" };
static const char *const entry_name[] = { NULL, "init", "exec" };

const char *emit_entry_name(const struct m_proc *p)
{
	return entry_name[p->entry];
}

size_t emit_proc_uids(const struct model *m, const struct m_proc *p, int64_t *out, size_t max)
{
	size_t n = 0;

	for (size_t k = 0; k < p->nevents; k++) {
		const struct m_event *e = &m->events[p->events[k]];
		int64_t v[2] = { e->uid, e->euid };

		for (size_t j = 0; j < 2; j++) {
			size_t i;

			if (v[j] < 0)
				continue;
			for (i = 0; i < n && out[i] != v[j]; i++)
				;
			if (i == n && n < max)
				out[n++] = v[j];
		}
	}
	return n;
}

void emit_process_doc(const struct model *m, size_t i, const bson_oid_t *session,
		      const char *host, bson_t *d)
{
	const struct m_proc *p = &m->procs[i];
	bson_t arr, sub;
	char ib[16], id[64];
	const char *ik;
	bool reparented, cut = false;

	snprintf(id, sizeof(id), "p:%s", p->key);
	put_head(d, session, host, id);
	BSON_APPEND_UTF8(d, "key", p->key);
	BSON_APPEND_INT32(d, "tgid", p->tgid);
	put_key(d, "parent", m, p->parent);
	BSON_APPEND_INT32(d, "parent_tgid", p->parent_tgid);
	put_str(d, "parent_source", parent_src[p->parent_src]);
	reparented = p->parent_at_exit_tgid > 0 &&
		     (p->parent_at_exit != p->parent || p->parent_at_exit_tgid != p->parent_tgid);
	put_key(d, "parent_at_exit", m, p->parent_at_exit);
	BSON_APPEND_BOOL(d, "reparented", reparented);
	bson_append_array_begin(d, "threads", -1, &arr);
	for (size_t k = 0; k < p->nthreads && !array_full(&arr, &cut); k++) {
		bson_uint32_to_string((uint32_t)k, &ik, ib, sizeof(ib));
		BSON_APPEND_INT32(&arr, ik, p->threads[k]);
	}
	bson_append_array_end(d, &arr);
	put_truncated(d, "threads", cut);
	cut = false;
	put_date(d, "start", p->start);
	put_str(d, "start_source", p->start_src);
	put_date(d, "exit", p->exited ? p->exit : MODEL_NO_TIME);
	BSON_APPEND_BOOL(d, "running", !p->exited);
	put_str(d, "exit_source", exit_src[p->exit_src]);
	if (p->has_exit_code && p->exit_code >= 0)
		BSON_APPEND_INT32(d, "exit_code", p->exit_code);
	else
		bson_append_null(d, "exit_code", -1);
	if (p->signal)
		BSON_APPEND_INT32(d, "signal", p->signal);
	else
		bson_append_null(d, "signal", -1);
	bson_append_array_begin(d, "execs", -1, &arr);
	for (size_t k = 0; k < p->nexecs && !array_full(&arr, &cut); k++) {
		bson_uint32_to_string((uint32_t)k, &ik, ib, sizeof(ib));
		bson_append_document_begin(&arr, ik, -1, &sub);
		put_date(&sub, "ts", p->execs[k].ts);
		put_str(&sub, "exe", p->execs[k].exe);
		put_strv(&sub, "argv", p->execs[k].argv, p->execs[k].argc);
		bson_append_document_end(&arr, &sub);
	}
	bson_append_array_end(d, &arr);
	put_truncated(d, "execs", cut);
	cut = false;
	put_str(d, "comm", p->comm);
	put_str(d, "cwd", p->cwd);
	put_str(d, "container", p->container);
	put_str(d, "container_source", p->container ? p->container_src : NULL);
	BSON_APPEND_BOOL(d, "runtime_helper", p->runtime);
	put_str(d, "rootfs", p->rootfs);
	if (p->depth >= 0)
		BSON_APPEND_INT32(d, "depth", p->depth);
	else
		bson_append_null(d, "depth", -1);
	put_str(d, "entry", entry_name[p->entry]);
	bson_append_array_begin(d, "children", -1, &arr);
	for (size_t k = 0; k < p->nchildren && !array_full(&arr, &cut); k++) {
		bson_uint32_to_string((uint32_t)k, &ik, ib, sizeof(ib));
		BSON_APPEND_UTF8(&arr, ik, m->procs[p->children[k]].key);
	}
	bson_append_array_end(d, &arr);
	put_truncated(d, "children", cut);
	BSON_APPEND_INT64(d, "events", (int64_t)p->nevents);
	{
		int64_t uids[EMIT_UIDS_MAX];
		size_t nu = emit_proc_uids(m, p, uids, EMIT_UIDS_MAX);

		bson_append_array_begin(d, SCHEMA_F_UIDS, -1, &arr);
		for (size_t k = 0; k < nu; k++) {
			bson_uint32_to_string((uint32_t)k, &ik, ib, sizeof(ib));
			BSON_APPEND_INT64(&arr, ik, uids[k]);
		}
		bson_append_array_end(d, &arr);
	}
}

void emit_container_doc(const struct model *m, size_t i, const bson_oid_t *session,
			const char *host, bson_t *d)
{
	const struct m_cont *c = &m->conts[i];
	bson_t arr, sub;
	char ib[16], id[80];
	const char *ik;
	bool cut = false;

	snprintf(id, sizeof(id), "c:%s", c->id);
	put_head(d, session, host, id);
	BSON_APPEND_UTF8(d, "container", c->id);
	put_str(d, "name", c->name);   /* listener's facts, else filter time: see rootfs.h */
	put_str(d, "image", c->image);
	put_str(d, "rootfs", c->rootfs);
	put_str(d, "rootfs_source", c->rootfs_src);
	/* issue 17: where name and image came from, and the rest of the listener's facts */
	put_str(d, SCHEMA_F_NAME_SOURCE, c->name_src);
	put_str(d, SCHEMA_F_IMAGE_SOURCE, c->image_src);
	put_str(d, SCHEMA_F_RUNTIME, c->facts ? c->facts->runtime : NULL);
	put_str(d, SCHEMA_F_IMAGE_ID, c->facts ? c->facts->image_id : NULL);
	put_str(d, SCHEMA_F_CREATED, c->facts ? c->facts->created : NULL);
	put_str(d, SCHEMA_F_POD_NAME, c->facts ? c->facts->pod_name : NULL);
	put_str(d, SCHEMA_F_POD_NAMESPACE, c->facts ? c->facts->pod_namespace : NULL);
	put_str(d, SCHEMA_F_K8S_CONTAINER, c->facts ? c->facts->k8s_container : NULL);
	put_str(d, SCHEMA_F_SCOPE, m->scope); /* issue 19: recorded with this scope */
	hostpath_emit_container(c, d);         /* issue 28: mounts and overlay */
	put_key(d, "init", m, c->init);
	put_date(d, "start", c->start);
	put_date(d, "end", c->end);
	BSON_APPEND_BOOL(d, "running", c->end == MODEL_NO_TIME);
	BSON_APPEND_INT64(d, "processes", (int64_t)c->ntree);
	BSON_APPEND_INT64(d, SCHEMA_F_FILES_COUNT, (int64_t)c->nfiles);
	if (m->integrity) /* issue 21: so a query on this container can warn */
		integrity_append(m->integrity, SCHEMA_F_FILTER_INTEGRITY, d);
	bson_append_array_begin(d, "exec_roots", -1, &arr);
	for (size_t k = 0; k < c->nexec_roots && !array_full(&arr, &cut); k++) {
		bson_uint32_to_string((uint32_t)k, &ik, ib, sizeof(ib));
		BSON_APPEND_UTF8(&arr, ik, m->procs[c->exec_roots[k]].key);
	}
	bson_append_array_end(d, &arr);
	put_truncated(d, "exec_roots", cut);
	cut = false;
	/* breadth first: what a cut leaves out is the deepest part */
	bson_append_array_begin(d, "tree", -1, &arr);
	for (size_t k = 0; k < c->ntree && !array_over(&arr, TREE_SOFT_MAX, &cut); k++) {
		const struct m_proc *p = &m->procs[c->tree[k]];
		const struct m_exec *x = p->nexecs ? &p->execs[p->nexecs - 1] : NULL;

		bson_uint32_to_string((uint32_t)k, &ik, ib, sizeof(ib));
		bson_append_document_begin(&arr, ik, -1, &sub);
		BSON_APPEND_UTF8(&sub, "key", p->key);
		BSON_APPEND_INT32(&sub, "tgid", p->tgid);
		put_key(&sub, "parent", m, p->parent);
		BSON_APPEND_INT32(&sub, "depth", p->depth);
		put_str(&sub, "entry", entry_name[p->entry]);
		put_str(&sub, "exe", x ? x->exe : NULL);
		put_strv(&sub, "argv", x ? x->argv : NULL, x ? x->argc : 0);
		bson_append_document_end(&arr, &sub);
	}
	bson_append_array_end(d, &arr);
	put_truncated(d, "tree", cut);
}

/* Issue 17: the fds of an entry, and where an inherited one comes from. */
static void emit_file_aliases(const struct model *m, const struct m_file *f, bson_t *d)
{
	bson_t arr;
	char kbuf[16];
	const char *key;

	if (!f->failed) {
		BSON_APPEND_ARRAY_BEGIN(d, SCHEMA_F_FDS, &arr);
		for (size_t k = 0; k < f->nfds; k++) {
			bson_uint32_to_string((uint32_t)k, &key, kbuf, sizeof(kbuf));
			BSON_APPEND_INT64(&arr, key, f->fds[k]);
		}
		bson_append_array_end(d, &arr);
	}
	if (f->inherited) {
		BSON_APPEND_BOOL(d, SCHEMA_F_INHERITED, true);
		put_key(d, SCHEMA_F_INHERITED_FROM, m,
			f->origin >= 0 ? m->files[f->origin].proc : -1);
	}
}

void emit_file_doc(const struct model *m, size_t i, const bson_oid_t *session,
		   const char *host, bson_t *d)
{
	const struct m_file *f = &m->files[i];
	const struct m_proc *p = &m->procs[f->proc];
	bool rd = false;
	char id[48];

	snprintf(id, sizeof(id), "f:%lld", (long long)f->open_seq);
	put_head(d, session, host, id);
	BSON_APPEND_UTF8(d, "process", p->key);
	BSON_APPEND_INT32(d, "tgid", p->tgid);
	put_str(d, "container", p->runtime ? NULL : p->container);
	put_str(d, "path", f->path);
	put_str(d, "host_path", f->host_path);
	/* issue 28: how (filter/hostpath.h) */
	put_str(d, SCHEMA_F_HOST_PATH_KIND, f->host_kind);
	if (f->stored_path)
		put_str(d, SCHEMA_F_STORED_PATH, f->stored_path);
	if (f->layer)
		put_str(d, SCHEMA_F_LAYER, f->layer);
	if (f->mount)
		put_str(d, SCHEMA_F_MOUNT, f->mount);
	BSON_APPEND_BOOL(d, "path_resolved", f->path_resolved);
	put_str(d, "syscall", f->syscall);
	BSON_APPEND_INT64(d, "fd", f->fd);
	put_date(d, "open", f->open);
	put_date(d, "close", f->close);
	BSON_APPEND_BOOL(d, "close_inferred", f->close_inferred);
	put_str(d, "close_reason", f->close_reason);
	put_strv(d, "flags", f->flags, f->nflags);
	for (size_t k = 0; k < f->nflags; k++)
		if (f->flags[k] && (!strcmp(f->flags[k], "O_RDONLY") || !strcmp(f->flags[k], "O_RDWR")))
			rd = true;
	BSON_APPEND_BOOL(d, "read", rd);
	BSON_APPEND_BOOL(d, "write", f->write);
	BSON_APPEND_INT64(d, "bytes_written", f->bytes_written);
	if (f->close != MODEL_NO_TIME && f->open != MODEL_NO_TIME)
		BSON_APPEND_DOUBLE(d, "duration", (double)(f->close - f->open) / 1e9);
	else
		bson_append_null(d, "duration", -1);
	if (f->failed) {
		BSON_APPEND_BOOL(d, "failed", true);
		BSON_APPEND_INT64(d, "error", f->error);
	}
	emit_file_aliases(m, f, d);
}

#define NKINDS 5
static const char *const output_kinds[NKINDS] = { SCHEMA_PROCESSES, SCHEMA_CONTAINERS, SCHEMA_FILES,
						   SCHEMA_SEARCH, SCHEMA_PAGES };

typedef void (*build_fn)(const struct model *, size_t, const bson_oid_t *, const char *, bson_t *);

/* Build the n documents of one kind and hand them to the insert pool in batches; pw (NULL:
 * none) gets each one for its page. */
static int write_all(struct ipool *pool, const char *coll, const struct model *m, size_t n,
		     build_fn fn, const bson_oid_t *session, const char *host, struct pages *pw,
		     const char *kind)
{
	int r = 0;

	for (size_t i = 0; i < n && r == 0; i += BATCH) {
		size_t k, cnt = (n - i < BATCH ? n - i : BATCH);
		bson_t **docs = calloc(cnt, sizeof(*docs));

		if (!docs)
			return -ENOMEM;
		for (k = 0; k < cnt; k++) {
			docs[k] = bson_new();
			if (!docs[k]) {
				r = -ENOMEM;
				break;
			}
			fn(m, i + k, session, host, docs[k]);
			if (pw && r == 0)
				r = pages_add(pw, kind, docs[k]);
		}
		if (r < 0) {
			for (size_t j = 0; j < k; j++)
				bson_destroy(docs[j]);
			free(docs);
			return r;
		}
		r = ipool_submit(pool, coll, docs, cnt); /* the pool owns docs now */
	}
	return r;
}

static int64_t wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Point the session document at the new output: one update, so a reader sees the previous
 * output or this one, never a mix. Upserted: a session without a sessions document (raw
 * documents only) gets one that says where its output is. */
static int switch_output(struct store *st, const bson_oid_t *session, int64_t gen,
			 char names[][SCHEMA_OUT_NAME_MAX], const size_t *counts, char *err,
			 size_t errlen)
{
	bson_t sel = BSON_INITIALIZER, upd = BSON_INITIALIZER, set, f, c;
	int r;

	BSON_APPEND_OID(&sel, SCHEMA_F_ID, session);
	BSON_APPEND_DOCUMENT_BEGIN(&upd, "$set", &set);
	BSON_APPEND_DOCUMENT_BEGIN(&set, SCHEMA_F_FILTER, &f);
	BSON_APPEND_INT64(&f, SCHEMA_F_FILTER_GEN, gen);
	BSON_APPEND_DATE_TIME(&f, SCHEMA_F_FILTER_AT, wall_ms());
	for (size_t i = 0; i < NKINDS; i++)
		BSON_APPEND_UTF8(&f, output_kinds[i], names[i]);
	BSON_APPEND_DOCUMENT_BEGIN(&f, SCHEMA_F_FILTER_COUNTS, &c);
	for (size_t i = 0; i < NKINDS; i++)
		BSON_APPEND_INT64(&c, output_kinds[i], (int64_t)counts[i]);
	bson_append_document_end(&f, &c);
	bson_append_document_end(&set, &f);
	bson_append_document_end(&upd, &set);
	r = store_update_one(st, SCHEMA_SESSIONS, &sel, &upd, true, err, errlen);
	bson_destroy(&sel);
	bson_destroy(&upd);
	return r;
}

/* Drop every output collection of the session other than keep[]: the previous run's, and
 * those of a run that died before its switch. */
static int drop_other_outputs(struct store *st, const char *hex, char keep[][SCHEMA_OUT_NAME_MAX],
			      char *err, size_t errlen)
{
	for (size_t i = 0; i < NKINDS; i++) {
		char prefix[SCHEMA_OUT_NAME_MAX], **names = NULL;
		size_t n = 0;
		int r;

		snprintf(prefix, sizeof(prefix), "%s.%s.", output_kinds[i], hex);
		r = store_list_collections(st, prefix, &names, &n, err, errlen);
		if (r < 0)
			return r;
		for (size_t k = 0; k < n; k++) {
			if (r == 0 && strcmp(names[k], keep[i]) != 0)
				r = store_drop(st, names[k], err, errlen);
			free(names[k]);
		}
		free(names);
		if (r < 0)
			return r;
	}
	return 0;
}

int emit_session(struct store *st, const struct model *m, const bson_oid_t *session,
		 const char *host, struct emit_result *ret, char *err, size_t errlen)
{
	static const build_fn build[3] = { emit_process_doc, emit_container_doc, emit_file_doc };
	size_t counts[NKINDS] = { m->nprocs, m->nconts, m->nfiles, 0, 0 };
	struct pages *pw;
	struct ipool *pool = NULL;
	char hex[25], names[NKINDS][SCHEMA_OUT_NAME_MAX];
	int64_t gen = wall_ms(); /* unique per run and increasing: names never collide */
	int r = 0;

	bson_oid_to_string(session, hex);
	for (size_t i = 0; i < NKINDS; i++)
		snprintf(names[i], sizeof(names[i]), SCHEMA_OUT_FMT, output_kinds[i], hex,
			 (long long)gen);
	pw = pages_new(st, names[4], session, err, errlen);
	if (!pw) {
		snprintf(err, errlen, "pages: out of memory");
		return -ENOMEM;
	}
	r = ipool_new(st, 0, &pool, err, errlen);
	for (size_t i = 0; i < 3 && r == 0; i++) {
		/* containers are few and read whole: no pages */
		r = write_all(pool, names[i], m, counts[i], build[i], session, host,
			      i == 1 ? NULL : pw, output_kinds[i]);
	}
	if (pool) {
		int f = ipool_finish(pool, err, errlen);

		r = r < 0 ? r : f;
		if (r == -ENOMEM)
			snprintf(err, errlen, "out of memory building the output");
		ipool_free(pool);
	}
	/* indexes after the inserts: one bulk build instead of an update per document */
	for (size_t i = 0; i < 3 && r == 0; i++)
		r = store_create_output_indexes(st, output_kinds[i], names[i], err, errlen);
	if (r == 0)
		r = pages_finish(pw, &counts[4]);
	pages_free(pw);
	if (r == 0)
		r = store_create_output_indexes(st, SCHEMA_PAGES, names[4], err, errlen);
	if (r == 0)
		r = search_index_write(st, names[3], m, session, &counts[3], err, errlen);
	if (r == 0)
		r = store_create_output_indexes(st, SCHEMA_SEARCH, names[3], err, errlen);
	if (r == 0)
		r = switch_output(st, session, gen, names, counts, err, errlen);
	if (r == 0)
		r = drop_other_outputs(st, hex, names, err, errlen);
	if (r == 0 && ret) {
		ret->processes = m->nprocs;
		ret->containers = m->nconts;
		ret->files = m->nfiles;
	}
	return r;
}
