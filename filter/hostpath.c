/* hostpath.c — host paths through the container's mounts (see hostpath.h). Owns only the
 * sort buffer of hostpath_run; everything it keeps is in the model's arena. */
#include "hostpath.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "mounts.h"
#include "path.h"
#include "schema.h"

static const char *doc_s(struct model *m, const bson_t *d, const char *key)
{
	bson_iter_t it;

	if (!bson_iter_init_find(&it, d, key) || !BSON_ITER_HOLDS_UTF8(&it))
		return NULL;
	return model_strdup(m, bson_iter_utf8(&it, NULL));
}

static size_t count_docs(const bson_iter_t *arr)
{
	bson_iter_t it = *arr;
	size_t n = 0;

	while (bson_iter_next(&it))
		n += BSON_ITER_HOLDS_DOCUMENT(&it);
	return n;
}

int hostpath_facts_doc(struct model *m, struct m_cfacts *f, const bson_t *doc)
{
	bson_iter_t it, arr, ov;
	size_t n;

	if (bson_iter_init_find(&it, doc, SCHEMA_F_MOUNTS) && BSON_ITER_HOLDS_ARRAY(&it) &&
	    bson_iter_recurse(&it, &arr) && (n = count_docs(&arr)) > 0 && n <= MOUNTS_MAX) {
		f->mounts = model_alloc(m, n * sizeof(*f->mounts));
		while (bson_iter_next(&arr)) {
			struct m_mount *mt = &f->mounts[f->nmounts];
			uint32_t len = 0;
			const uint8_t *data = NULL;
			bson_t el;
			bson_iter_t ro;

			if (!BSON_ITER_HOLDS_DOCUMENT(&arr))
				continue;
			bson_iter_document(&arr, &len, &data);
			if (!bson_init_static(&el, data, len))
				continue;
			mt->dest = doc_s(m, &el, SCHEMA_F_MOUNT_DEST);
			if (!mt->dest || !path_is_absolute(mt->dest))
				continue;
			mt->source = doc_s(m, &el, SCHEMA_F_MOUNT_SOURCE);
			if (mt->source && !path_is_absolute(mt->source))
				mt->source = NULL;
			mt->kind = doc_s(m, &el, SCHEMA_F_MOUNT_KIND);
			mt->fstype = doc_s(m, &el, SCHEMA_F_MOUNT_FSTYPE);
			mt->propagation = doc_s(m, &el, SCHEMA_F_MOUNT_PROPAGATION);
			mt->name = doc_s(m, &el, SCHEMA_F_MOUNT_NAME);
			mt->origin = doc_s(m, &el, SCHEMA_F_MOUNT_ORIGIN);
			mt->ro = bson_iter_init_find(&ro, &el, SCHEMA_F_MOUNT_RO) &&
				 BSON_ITER_HOLDS_BOOL(&ro) && bson_iter_bool(&ro);
			if (!mt->kind)
				mt->kind = mt->source ? "bind" : "special";
			f->nmounts++;
		}
	}
	if (bson_iter_init_find(&it, doc, SCHEMA_F_OVERLAY) && BSON_ITER_HOLDS_DOCUMENT(&it)) {
		uint32_t len = 0;
		const uint8_t *data = NULL;
		bson_t o;

		bson_iter_document(&it, &len, &data);
		if (!bson_init_static(&o, data, len))
			return 0;
		f->upper = doc_s(m, &o, SCHEMA_F_OVERLAY_UPPER);
		if (f->upper && !path_is_absolute(f->upper))
			f->upper = NULL;
		f->overlay_src = doc_s(m, &o, SCHEMA_F_OVERLAY_SOURCE);
		if (bson_iter_init_find(&ov, &o, SCHEMA_F_OVERLAY_LOWERS) &&
		    BSON_ITER_HOLDS_ARRAY(&ov) && bson_iter_recurse(&ov, &arr) &&
		    (n = count_docs(&arr)) > 0 && n <= MOUNTS_MAX_LOWERS) {
			f->lowers = model_alloc(m, n * sizeof(*f->lowers));
			while (bson_iter_next(&arr)) {
				struct m_layer *l = &f->lowers[f->nlowers];
				bson_t el;

				if (!BSON_ITER_HOLDS_DOCUMENT(&arr))
					continue;
				bson_iter_document(&arr, &len, &data);
				if (!bson_init_static(&el, data, len))
					continue;
				l->dir = doc_s(m, &el, SCHEMA_F_LAYER_DIR);
				if (!l->dir || !path_is_absolute(l->dir))
					continue;
				l->layer = doc_s(m, &el, SCHEMA_F_LAYER);
				l->cache_id = doc_s(m, &el, SCHEMA_F_LAYER_CACHE_ID);
				f->nlowers++;
			}
		}
	}
	return 0;
}

void hostpath_facts_merge(struct m_cfacts *o, const struct m_cfacts *f)
{
	if (!o->nmounts && f->nmounts) {
		o->mounts = f->mounts;
		o->nmounts = f->nmounts;
	}
	if (!o->upper && !o->nlowers && (f->upper || f->nlowers)) {
		o->upper = f->upper;
		o->overlay_src = f->overlay_src;
		o->lowers = f->lowers;
		o->nlowers = f->nlowers;
	}
}

/* dir joined with the container path p (absolute): arena string, NULL when it escapes */
static const char *under(struct model *m, const char *dir, const char *p)
{
	char *host = NULL;
	const char *r = NULL;

	if (path_in_root(dir, p, &host) == 0)
		r = model_strdup(m, host);
	free(host);
	return r;
}

/* Is there a file (not a whiteout) at host path p now? */
static bool exists(const char *p)
{
	struct stat st;

	if (!p || lstat(p, &st) < 0)
		return false;
	return !(S_ISCHR(st.st_mode) && st.st_rdev == 0); /* overlay's whiteout */
}

struct key {
	int cont;
	const char *path;
	int64_t seq;
	size_t file;
};

static int cmp_key(const void *a, const void *b)
{
	const struct key *x = a, *y = b;
	int c;

	if (x->cont != y->cont)
		return x->cont < y->cont ? -1 : 1;
	c = strcmp(x->path, y->path);
	if (c)
		return c;
	return (x->seq > y->seq) - (x->seq < y->seq);
}

/* The overlay part: where a file of the container's own root stays. */
static void resolve_overlay(struct model *m, const struct m_cfacts *fc, struct m_file *f,
			    bool wrote_before, bool write_after)
{
	const char *up = fc->upper ? under(m, fc->upper, f->path) : NULL;
	bool look = m->docker_root != NULL; /* the layers of this host, not of another */

	f->host_kind = "rootfs";
	if (f->write || wrote_before) {
		if (up) {
			f->host_kind = "upper";
			f->stored_path = up;
		}
		return;
	}
	if (!look)
		return;
	/* read only: the upper dir's copy, unless it was copied up later in the recording */
	if (up && exists(up) && !write_after) {
		f->host_kind = "upper";
		f->stored_path = up;
		return;
	}
	for (size_t i = 0; i < fc->nlowers; i++) {
		const char *lp = under(m, fc->lowers[i].dir, f->path);

		if (lp && exists(lp)) {
			f->host_kind = "lower";
			f->stored_path = lp;
			f->layer = fc->lowers[i].layer ? fc->lowers[i].layer : fc->lowers[i].cache_id;
			return;
		}
	}
	if (up && exists(up)) {
		f->host_kind = "upper";
		f->stored_path = up;
	}
}

static void resolve(struct model *m, struct m_file *f, bool wrote_before, bool write_after)
{
	const struct m_proc *p = &m->procs[f->proc];
	const struct m_cfacts *fc = m->conts[p->cont].facts;
	const char *dests[MOUNTS_MAX], *rest = NULL;
	const struct m_mount *mt;
	size_t n = fc ? fc->nmounts : 0;
	int k;

	for (size_t i = 0; i < n; i++)
		dests[i] = fc->mounts[i].dest;
	k = n ? mounts_longest(dests, n, f->path, &rest) : -1;
	mt = k >= 0 ? &fc->mounts[k] : NULL;
	if (!mt || !strcmp(mt->kind, "rootfs") || !strcmp(mt->dest, "/")) {
		f->mount = mt ? mt->dest : NULL;
		if (fc)
			resolve_overlay(m, fc, f, wrote_before, write_after);
		else
			f->host_kind = "rootfs";
		return;
	}
	f->mount = mt->dest;
	f->host_kind = mt->kind;
	if (!strcmp(mt->kind, "bind") || !strcmp(mt->kind, "volume")) {
		char *host = NULL, *clean = NULL;

		f->host_path = NULL;
		if (mt->source && asprintf(&host, "%s%s", mt->source, rest) >= 0 &&
		    path_clean(host, &clean) == 0)
			f->host_path = model_strdup(m, clean);
		free(host);
		free(clean);
	} else {
		f->host_path = NULL; /* tmpfs, proc, …: no host file */
	}
}

int hostpath_run(struct model *m)
{
	struct key *v = calloc(m->nfiles ? m->nfiles : 1, sizeof(*v));
	bool *before = calloc(m->nfiles ? m->nfiles : 1, sizeof(bool));
	bool *after = calloc(m->nfiles ? m->nfiles : 1, sizeof(bool));
	size_t n = 0;

	for (size_t i = 0; i < m->nfiles; i++) {
		struct m_file *f = &m->files[i];
		const struct m_proc *p = &m->procs[f->proc];

		if (p->cont < 0 || p->runtime || !f->in_root) {
			f->host_kind = "host";
			continue;
		}
		if (!f->path || !path_is_absolute(f->path))
			continue;
		if (v)
			v[n++] = (struct key){ p->cont, f->path, f->open_seq, i };
	}
	if (v && before && after) {
		qsort(v, n, sizeof(*v), cmp_key);
		for (size_t a = 0, b; a < n; a = b) {
			bool w = false;

			for (b = a; b < n && v[b].cont == v[a].cont && !strcmp(v[b].path, v[a].path); b++) {
				before[v[b].file] = w;
				w |= m->files[v[b].file].write && !m->files[v[b].file].failed;
			}
			w = false;
			for (size_t c = b; c-- > a;) {
				after[v[c].file] = w;
				w |= m->files[v[c].file].write && !m->files[v[c].file].failed;
			}
		}
	}
	for (size_t k = 0; k < n; k++)
		resolve(m, &m->files[v[k].file], before && before[v[k].file],
			after && after[v[k].file]);
	free(v);
	free(before);
	free(after);
	return 0;
}

static void put(bson_t *d, const char *key, const char *s)
{
	if (s)
		BSON_APPEND_UTF8(d, key, s);
	else
		bson_append_null(d, key, -1);
}

void hostpath_emit_container(const struct m_cont *c, bson_t *d)
{
	const struct m_cfacts *f = c->facts;
	bson_t arr, el, ov;
	char kbuf[16];
	const char *key;

	BSON_APPEND_ARRAY_BEGIN(d, SCHEMA_F_MOUNTS, &arr);
	for (size_t i = 0; f && i < f->nmounts; i++) {
		const struct m_mount *mt = &f->mounts[i];

		bson_uint32_to_string((uint32_t)i, &key, kbuf, sizeof(kbuf));
		BSON_APPEND_DOCUMENT_BEGIN(&arr, key, &el);
		put(&el, SCHEMA_F_MOUNT_DEST, mt->dest);
		put(&el, SCHEMA_F_MOUNT_SOURCE, mt->source);
		put(&el, SCHEMA_F_MOUNT_KIND, mt->kind);
		put(&el, SCHEMA_F_MOUNT_FSTYPE, mt->fstype);
		BSON_APPEND_BOOL(&el, SCHEMA_F_MOUNT_RO, mt->ro);
		put(&el, SCHEMA_F_MOUNT_PROPAGATION, mt->propagation);
		put(&el, SCHEMA_F_MOUNT_NAME, mt->name);
		put(&el, SCHEMA_F_MOUNT_ORIGIN, mt->origin);
		bson_append_document_end(&arr, &el);
	}
	bson_append_array_end(d, &arr);
	if (!f || (!f->upper && !f->nlowers)) {
		bson_append_null(d, SCHEMA_F_OVERLAY, -1);
		return;
	}
	BSON_APPEND_DOCUMENT_BEGIN(d, SCHEMA_F_OVERLAY, &ov);
	put(&ov, SCHEMA_F_OVERLAY_UPPER, f->upper);
	BSON_APPEND_ARRAY_BEGIN(&ov, SCHEMA_F_OVERLAY_LOWERS, &arr);
	for (size_t i = 0; i < f->nlowers; i++) {
		bson_uint32_to_string((uint32_t)i, &key, kbuf, sizeof(kbuf));
		BSON_APPEND_DOCUMENT_BEGIN(&arr, key, &el);
		put(&el, SCHEMA_F_LAYER_DIR, f->lowers[i].dir);
		put(&el, SCHEMA_F_LAYER, f->lowers[i].layer);
		put(&el, SCHEMA_F_LAYER_CACHE_ID, f->lowers[i].cache_id);
		bson_append_document_end(&arr, &el);
	}
	bson_append_array_end(&ov, &arr);
	put(&ov, SCHEMA_F_OVERLAY_SOURCE, f->overlay_src);
	bson_append_document_end(d, &ov);
}
