/* load.c — the raw documents of one session (decoded from its segments, common/
 * segment_read.h) → model.h structs (events, proc_events, snapshot, container facts), plus
 * the session look-ups main needs. The only filter file besides emit.c that knows bson;
 * every later step works on the structs. Owns nothing: strings go to the model's arena. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "load.h"
#include "chain_verify.h"
#include "hostpath.h"
#include "schema.h"
#include "segment_read.h"
#include "store.h"

#define CLK_TCK_NS 10000000LL /* /proc start_ticks are USER_HZ = 100 on Linux */
#define MAX_ARGV 4096
#define MAX_PATHS 64
#define MAX_FLAGS 64

static bool get_i64(const bson_t *doc, const char *key, int64_t *ret)
{
	bson_iter_t it;

	if (!bson_iter_init_find(&it, doc, key))
		return false;
	switch (bson_iter_type(&it)) {
	case BSON_TYPE_INT32:
	case BSON_TYPE_INT64:
	case BSON_TYPE_DOUBLE:
	case BSON_TYPE_BOOL:
		*ret = bson_iter_as_int64(&it);
		return true;
	case BSON_TYPE_DATE_TIME:
		*ret = bson_iter_date_time(&it);
		return true;
	default:
		return false;
	}
}

static int get_int(const bson_t *doc, const char *key, int dflt)
{
	int64_t v;

	return get_i64(doc, key, &v) ? (int)v : dflt;
}

static bool get_bool(const bson_t *doc, const char *key, bool *ret)
{
	bson_iter_t it;

	if (!bson_iter_init_find(&it, doc, key))
		return false;
	if (BSON_ITER_HOLDS_BOOL(&it)) {
		*ret = bson_iter_bool(&it);
		return true;
	}
	if (BSON_ITER_HOLDS_NUMBER(&it)) {
		*ret = bson_iter_as_int64(&it) != 0;
		return true;
	}
	return false;
}

static const char *get_str(struct model *m, const bson_t *doc, const char *key)
{
	bson_iter_t it;
	uint32_t len;
	const char *s;

	if (!bson_iter_init_find(&it, doc, key) || !BSON_ITER_HOLDS_UTF8(&it))
		return NULL;
	s = bson_iter_utf8(&it, &len);
	return model_strndup(m, s, len);
}

/* Wall time in ns of a date field (ms) — MODEL_NO_TIME when absent. */
static int64_t get_date_ns(const bson_t *doc, const char *key)
{
	bson_iter_t it;

	if (!bson_iter_init_find(&it, doc, key))
		return MODEL_NO_TIME;
	if (BSON_ITER_HOLDS_DATE_TIME(&it))
		return bson_iter_date_time(&it) * 1000000LL;
	if (BSON_ITER_HOLDS_DOUBLE(&it)) /* seconds, as some tools write */
		return (int64_t)(bson_iter_double(&it) * 1e9);
	return MODEL_NO_TIME;
}

/* A string array: *ret_n strings into the arena. */
static const char **get_strv(struct model *m, const bson_t *doc, const char *key, size_t max,
			     size_t *ret_n)
{
	bson_iter_t it, sub;
	const char **v;
	size_t n = 0;

	*ret_n = 0;
	if (!bson_iter_init_find(&it, doc, key) || !BSON_ITER_HOLDS_ARRAY(&it) ||
	    !bson_iter_recurse(&it, &sub))
		return NULL;
	while (bson_iter_next(&sub))
		n++;
	if (n > max)
		n = max;
	v = model_alloc(m, (n + 1) * sizeof(*v));
	bson_iter_recurse(&it, &sub);
	for (size_t i = 0; i < n && bson_iter_next(&sub);) {
		uint32_t len;
		const char *s;

		if (!BSON_ITER_HOLDS_UTF8(&sub))
			continue;
		s = bson_iter_utf8(&sub, &len);
		v[i++] = model_strndup(m, s, len);
		*ret_n = i;
	}
	return v;
}

static void get_paths(struct model *m, const bson_t *doc, struct m_event *e)
{
	bson_iter_t it, sub;
	size_t n = 0;

	if (!bson_iter_init_find(&it, doc, "paths") || !BSON_ITER_HOLDS_ARRAY(&it) ||
	    !bson_iter_recurse(&it, &sub))
		return;
	while (bson_iter_next(&sub))
		n++;
	if (n > MAX_PATHS)
		n = MAX_PATHS;
	e->paths = model_alloc(m, (n + 1) * sizeof(*e->paths));
	bson_iter_recurse(&it, &sub);
	while (e->npaths < n && bson_iter_next(&sub)) {
		const uint8_t *data;
		uint32_t len;
		bson_t item;
		struct m_path *p;

		if (!BSON_ITER_HOLDS_DOCUMENT(&sub))
			continue;
		bson_iter_document(&sub, &len, &data);
		if (!bson_init_static(&item, data, len))
			continue;
		p = &e->paths[e->npaths++];
		p->name = get_str(m, &item, "name");
		p->nametype = get_str(m, &item, "nametype");
		p->dev = get_str(m, &item, "dev");
		if (!get_i64(&item, "inode", &p->inode))
			p->inode = -1;
		if (!get_i64(&item, "mode", &p->mode))
			p->mode = -1;
	}
}

int load_event_doc(struct model *m, const bson_t *doc)
{
	struct m_event *e;
	int64_t v;
	char key[4] = "a0";

	if (!get_i64(doc, "pid", &v))
		return -EINVAL;
	e = MODEL_PUSH(m->events, m->nevents, m->cap_events);
	e->pid = (int)v;
	e->proc = -1;
	if (!get_i64(doc, "seq", &e->seq))
		e->seq = (int64_t)m->nevents;
	if (!get_i64(doc, "serial", &e->serial))
		e->serial = -1;
	e->ts = get_date_ns(doc, "ts");
	e->syscall = get_str(m, doc, "syscall");
	e->has_success = get_bool(doc, "success", &e->success);
	e->has_exit = get_i64(doc, "exit", &e->exit);
	e->ppid = get_int(doc, "ppid", -1);
	if (!get_i64(doc, SCHEMA_F_UID, &e->uid))
		e->uid = -1;
	if (!get_i64(doc, SCHEMA_F_EUID, &e->euid))
		e->euid = -1;
	e->comm = get_str(m, doc, "comm");
	e->exe = get_str(m, doc, "exe");
	e->cwd = get_str(m, doc, "cwd");
	e->container = get_str(m, doc, "container");
	for (int i = 0; i < 4; i++) {
		key[1] = (char)('0' + i);
		if (!get_i64(doc, key, &e->a[i]))
			e->a[i] = 0;
	}
	e->has_fd = get_i64(doc, SCHEMA_F_FD, &e->fd);
	e->has_old_fd = get_i64(doc, SCHEMA_F_OLD_FD, &e->old_fd);
	e->has_new_fd = get_i64(doc, SCHEMA_F_NEW_FD, &e->new_fd);
	e->has_fd_range = get_i64(doc, SCHEMA_F_FD_FIRST, &e->fd_first) &&
			  get_i64(doc, SCHEMA_F_FD_LAST, &e->fd_last);
	e->has_cloexec = get_bool(doc, SCHEMA_F_CLOEXEC, &e->cloexec);
	e->fcntl_cmd = get_str(m, doc, SCHEMA_F_FCNTL_CMD);
	e->flags = get_strv(m, doc, "flags", MAX_FLAGS, &e->nflags);
	e->argv = get_strv(m, doc, "argv", MAX_ARGV, &e->argc);
	get_paths(m, doc, e);
	m->nevents++;
	return 0;
}

static enum m_what what_of(const char *s)
{
	if (!s)
		return W_OTHER;
	if (strcmp(s, "fork") == 0)
		return W_FORK;
	if (strcmp(s, "exec") == 0)
		return W_EXEC;
	if (strcmp(s, "exit") == 0)
		return W_EXIT;
	if (strcmp(s, "comm") == 0)
		return W_COMM;
	return W_OTHER;
}

int load_proc_event_doc(struct model *m, const bson_t *doc)
{
	struct m_pevent *e;
	bson_iter_t it;
	const char *what;
	int64_t v;
	bool b;

	if (!bson_iter_init_find(&it, doc, "what") || !BSON_ITER_HOLDS_UTF8(&it))
		return -EINVAL;
	what = bson_iter_utf8(&it, NULL);
	e = MODEL_PUSH(m->pevents, m->npevents, m->cap_pevents);
	e->what = what_of(what);
	if (!get_i64(doc, "seq", &e->seq))
		e->seq = (int64_t)m->npevents;
	e->ts = get_date_ns(doc, "ts");
	if (!get_i64(doc, "ts_ns", &e->mono))
		e->mono = MODEL_NO_TIME;
	e->pid = get_int(doc, "pid", -1);
	e->tgid = get_int(doc, "tgid", e->pid);
	e->parent_pid = get_int(doc, "parent_pid", -1);
	e->parent_tgid = get_int(doc, "parent_tgid", e->parent_pid);
	e->child_pid = get_int(doc, "child_pid", -1);
	e->child_tgid = get_int(doc, "child_tgid", e->child_pid);
	if (get_bool(doc, "thread", &b))
		e->thread = b;
	else
		e->thread = e->what == W_FORK && e->child_pid != e->child_tgid;
	e->exe = get_str(m, doc, "exe");
	e->cwd = get_str(m, doc, "cwd");
	e->root = get_str(m, doc, "root");
	e->comm = get_str(m, doc, "comm");
	e->has_container = bson_iter_init_find(&it, doc, "container");
	e->container = get_str(m, doc, "container");
	e->argv = get_strv(m, doc, "argv", MAX_ARGV, &e->argc);
	if (!get_i64(doc, "mnt_ns", &e->mnt_ns))
		e->mnt_ns = 0;
	if (!get_i64(doc, "pid_ns", &e->pid_ns))
		e->pid_ns = 0;
	e->gone = get_bool(doc, "gone", &b) && b;
	if (e->what == W_EXIT) {
		int64_t code = 0, sig;

		if (get_i64(doc, "status", &v)) {
			e->has_status = true;
			e->status = v;
		} else if (!get_i64(doc, "signal", &sig) && get_i64(doc, "exit_code", &code)) {
			/* a bare exit_code is the kernel's wait status */
			e->has_status = true;
			e->status = code;
		}
		if (e->has_status) {
			if ((e->status & 0x7f) == 0) {
				e->exit_code = (int)((e->status >> 8) & 0xff);
				e->signal = 0;
			} else {
				e->exit_code = -1;
				e->signal = (int)(e->status & 0x7f);
			}
		} else {
			e->exit_code = get_int(doc, "exit_code", -1);
			e->signal = get_int(doc, "signal", 0);
			e->has_status = true;
			e->status = e->signal ? e->signal : (int64_t)e->exit_code << 8;
		}
	}
	m->npevents++;
	return 0;
}

int load_snapshot_doc(struct model *m, const bson_t *doc)
{
	struct m_snap *s;
	int64_t v;

	if (!get_i64(doc, "pid", &v))
		return -EINVAL;
	s = MODEL_PUSH(m->snaps, m->nsnaps, m->cap_snaps);
	s->pid = (int)v;
	s->tgid = get_int(doc, "tgid", s->pid);
	s->ppid = get_int(doc, "ppid", -1);
	s->threads = get_int(doc, "threads", 1);
	s->start = get_date_ns(doc, "start");
	s->start_mono = get_i64(doc, "start_ticks", &v) ? v * CLK_TCK_NS : MODEL_NO_TIME;
	s->exe = get_str(m, doc, "exe");
	s->cwd = get_str(m, doc, "cwd");
	s->root = get_str(m, doc, "root");
	s->container = get_str(m, doc, "container");
	s->argv = get_strv(m, doc, "argv", MAX_ARGV, &s->argc);
	m->nsnaps++;
	return 0;
}

/* container_facts (issue 17): several documents of one id (an id announced again) merge,
 * the first value of each field wins. */
int load_container_facts_doc(struct model *m, const bson_t *doc)
{
	struct m_cfacts f = { 0 }, *o = NULL;

	f.id = get_str(m, doc, SCHEMA_F_CONTAINER);
	if (!f.id || !model_is_container_id(f.id))
		return 0; /* not ours to judge: skipped */
	f.runtime = get_str(m, doc, SCHEMA_F_RUNTIME);
	f.name = get_str(m, doc, SCHEMA_F_NAME);
	f.image = get_str(m, doc, SCHEMA_F_IMAGE);
	f.image_id = get_str(m, doc, SCHEMA_F_IMAGE_ID);
	f.created = get_str(m, doc, SCHEMA_F_CREATED);
	f.rootfs = get_str(m, doc, SCHEMA_F_ROOTFS);
	f.rootfs_src = get_str(m, doc, SCHEMA_F_ROOTFS_SOURCE);
	f.pod_name = get_str(m, doc, SCHEMA_F_POD_NAME);
	f.pod_namespace = get_str(m, doc, SCHEMA_F_POD_NAMESPACE);
	f.k8s_container = get_str(m, doc, SCHEMA_F_K8S_CONTAINER);
	hostpath_facts_doc(m, &f, doc); /* issue 28: mounts and overlay */
	for (size_t i = 0; i < m->ncfacts && !o; i++)
		if (strcmp(m->cfacts[i].id, f.id) == 0)
			o = &m->cfacts[i];
	if (!o) {
		o = MODEL_PUSH(m->cfacts, m->ncfacts, m->cap_cfacts);
		*o = f;
		m->ncfacts++;
		return 0;
	}
#define FIRST(x) if (!o->x) o->x = f.x
	FIRST(runtime); FIRST(name); FIRST(image); FIRST(image_id); FIRST(created);
	FIRST(pod_name); FIRST(pod_namespace); FIRST(k8s_container);
#undef FIRST
	hostpath_facts_merge(o, &f);
	if (!o->rootfs && f.rootfs) {
		o->rootfs = f.rootfs;
		o->rootfs_src = f.rootfs_src;
	}
	return 0;
}

static int cmp_event(const void *a, const void *b)
{
	const struct m_event *x = a, *y = b;

	return (x->seq > y->seq) - (x->seq < y->seq);
}

static int cmp_pevent(const void *a, const void *b)
{
	const struct m_pevent *x = a, *y = b;
	int64_t tx = x->mono != MODEL_NO_TIME ? x->mono : x->ts;
	int64_t ty = y->mono != MODEL_NO_TIME ? y->mono : y->ts;

	if (tx != ty)
		return (tx > ty) - (tx < ty);
	return (x->seq > y->seq) - (x->seq < y->seq);
}

void load_finish(struct model *m)
{
	int64_t best = MODEL_NO_TIME;
	size_t i;

	/* ts is taken when the listener receives the message, always after the kernel's ts_ns:
	 * the smallest difference is the closest estimate of the offset. */
	for (i = 0; i < m->npevents; i++) {
		struct m_pevent *e = &m->pevents[i];

		if (e->ts != MODEL_NO_TIME && e->mono != MODEL_NO_TIME &&
		    (best == MODEL_NO_TIME || e->ts - e->mono < best))
			best = e->ts - e->mono;
	}
	m->clock_offset = best;
	for (i = 0; i < m->npevents; i++) {
		struct m_pevent *e = &m->pevents[i];

		if (best != MODEL_NO_TIME && e->mono != MODEL_NO_TIME)
			e->ts = e->mono + best;
	}
	for (i = 0; i < m->nsnaps; i++) {
		struct m_snap *s = &m->snaps[i];

		if (s->start == MODEL_NO_TIME && best != MODEL_NO_TIME && s->start_mono != MODEL_NO_TIME)
			s->start = s->start_mono + best;
	}
	if (m->nevents > 1)
		qsort(m->events, m->nevents, sizeof(*m->events), cmp_event);
	if (m->npevents > 1)
		qsort(m->pevents, m->npevents, sizeof(*m->pevents), cmp_pevent);
}

/* Each decoded raw document to its loader; each segment to the chain check. */
struct load_ctx {
	struct model *m;
	struct chainv *chain;
	void (*progress)(const char *, size_t, bool);
	size_t done;
};

static int load_doc(void *opaque, const char *stream, const bson_t *doc)
{
	struct load_ctx *c = opaque;

	/* unusable documents are skipped, not fatal */
	if (!strcmp(stream, SCHEMA_EVENTS))
		load_event_doc(c->m, doc);
	else if (!strcmp(stream, SCHEMA_PROC_EVENTS))
		load_proc_event_doc(c->m, doc);
	else if (!strcmp(stream, SCHEMA_SNAPSHOT))
		load_snapshot_doc(c->m, doc);
	else if (!strcmp(stream, SCHEMA_CONTAINER_FACTS))
		load_container_facts_doc(c->m, doc);
	if (c->progress && ++c->done % 4096 == 0)
		c->progress("raw documents", c->done, false);
	return 0;
}

static int load_segment(void *opaque, const bson_t *segdoc)
{
	struct load_ctx *c = opaque;

	return c->chain ? chainv_add(c->chain, segdoc) : 0;
}

static void load_bad(void *opaque, const char *id, const char *why)
{
	struct load_ctx *c = opaque;

	c->m->n.bad_segments++;
	fprintf(stderr, "lineage-filter: segment %s does not decode (%s): its documents are "
		"left out, the rest of the session is read\n", id, why);
}

/* Every stream in one read of the session's segments, in the store's order: load_finish
 * sorts (a server-side sort of a whole session is a blocking sort no index serves). */
int load_session(struct store *st, const bson_oid_t *session, struct model *m,
		 struct chainv *chain, void (*progress)(const char *, size_t, bool), char *err,
		 size_t errlen)
{
	struct load_ctx c = { .m = m, .chain = chain, .progress = progress };
	struct segread_ops ops = { .segment = load_segment, .doc = load_doc, .bad = load_bad,
				   .opaque = &c };
	struct segread_query q = { 0 };
	int r;

	r = segread_each(st, session, &q, &ops, NULL, err, errlen);
	if (progress && r == 0)
		progress("raw documents", c.done, true);
	if (r == 0)
		load_finish(m);
	return r;
}

int load_session_info(struct store *st, const bson_oid_t *session, bool *ret_found,
		      char **ret_host, char *err, size_t errlen)
{
	bson_t filter = BSON_INITIALIZER;
	struct store_cursor *cur = NULL;
	const bson_t *doc;
	bson_iter_t it;
	int r;

	BSON_APPEND_OID(&filter, "_id", session);
	r = store_find(st, "sessions", &filter, NULL, &cur, err, errlen);
	if (r < 0)
		goto out;
	r = store_cursor_next(cur, &doc, err, errlen);
	if (r < 0)
		goto out;
	*ret_found = r == 1;
	if (ret_host) {
		*ret_host = NULL;
		if (r == 1 && bson_iter_init_find(&it, doc, "host") && BSON_ITER_HOLDS_UTF8(&it))
			*ret_host = strdup(bson_iter_utf8(&it, NULL));
	}
	r = 0;
out:
	store_cursor_free(cur);
	bson_destroy(&filter);
	return r;
}

int load_session_scope(struct store *st, const bson_oid_t *session, char **ret, char *err,
		       size_t errlen)
{
	bson_t filter = BSON_INITIALIZER;
	struct store_cursor *cur = NULL;
	const bson_t *doc;
	bson_iter_t it;
	int r;

	*ret = NULL;
	BSON_APPEND_OID(&filter, "_id", session);
	r = store_find(st, SCHEMA_SESSIONS, &filter, NULL, &cur, err, errlen);
	if (r < 0)
		goto out;
	r = store_cursor_next(cur, &doc, err, errlen);
	if (r == 1 && bson_iter_init(&it, doc) &&
	    bson_iter_find_descendant(&it, SCHEMA_F_SCOPE "." SCHEMA_F_SCOPE_SUMMARY, &it) &&
	    BSON_ITER_HOLDS_UTF8(&it))
		*ret = strdup(bson_iter_utf8(&it, NULL));
	r = r < 0 ? r : 0;
out:
	store_cursor_free(cur);
	bson_destroy(&filter);
	return r;
}

int load_latest_session(struct store *st, bson_oid_t *ret, char *err, size_t errlen)
{
	bson_t opts = BSON_INITIALIZER, sort;
	struct store_cursor *cur = NULL;
	const bson_t *doc;
	bson_iter_t it;
	int r;

	BSON_APPEND_DOCUMENT_BEGIN(&opts, "sort", &sort);
	BSON_APPEND_INT32(&sort, "started_at", -1);
	bson_append_document_end(&opts, &sort);
	BSON_APPEND_INT64(&opts, "limit", 1);
	r = store_find(st, "sessions", NULL, &opts, &cur, err, errlen);
	if (r < 0)
		goto out;
	r = store_cursor_next(cur, &doc, err, errlen);
	if (r < 0)
		goto out;
	if (r == 0 || !bson_iter_init_find(&it, doc, "_id") || !BSON_ITER_HOLDS_OID(&it)) {
		snprintf(err, errlen, "no session in the sessions collection");
		r = -ENOENT;
		goto out;
	}
	bson_oid_copy(bson_iter_oid(&it), ret);
	r = 0;
out:
	store_cursor_free(cur);
	bson_destroy(&opts);
	return r;
}

int load_session_has_data(struct store *st, const bson_oid_t *session, bool *ret, char *err,
			  size_t errlen)
{
	return segread_any(st, session, ret, err, errlen);
}
