/* files.c — open→close file timelines per process (see files.h). Owns only its fd tables
 * (one per process while it is processed, and the copies waiting for fork children). */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>

#include "files.h"
#include "hostpath.h"
#include "merge.h"
#include "path.h"

/* One open file description as one process sees it: every fd of the process that refers to
 * it (dup, dup2, dup3, fcntl F_DUPFD*) shares it, and its entry ends when the last of them is
 * closed. */
struct ofd {
	int file; /* index into m->files; -1: inherited at fork and not written here yet */
	int src;  /* inherited: the parent's entry it stands for (path, flags); else -1 */
	int refs; /* fds of the process referring to it */
};

struct fdslot {
	int64_t fd;
	int ofd; /* index into fdtab.o */
	bool cloexec;
};

struct fdtab {
	struct fdslot *v;
	size_t n, cap;
	struct ofd *o;
	size_t no, capo;
};

/* A fork child's copy of its parent's table at the fork, waiting for the child's turn. */
struct inh {
	int64_t fd;
	int src;   /* the entry the fd stands for in the parent */
	int group; /* fds with the same group were aliases in the parent */
	bool cloexec;
};

struct inhtab {
	struct inh *v;
	size_t n;
};

static int fdt_find(const struct fdtab *t, int64_t fd)
{
	for (size_t i = 0; i < t->n; i++)
		if (t->v[i].fd == fd)
			return (int)i;
	return -1;
}

static void fdt_del(struct fdtab *t, int i)
{
	t->v[i] = t->v[--t->n];
}

static int ofd_new(struct fdtab *t, int file, int src)
{
	struct ofd *o = MODEL_PUSH(t->o, t->no, t->capo);

	o->file = file;
	o->src = src;
	return (int)t->no++;
}

static void slot_add(struct fdtab *t, int64_t fd, int ofd, bool cloexec)
{
	*MODEL_PUSH(t->v, t->n, t->cap) = (struct fdslot){ .fd = fd, .ofd = ofd, .cloexec = cloexec };
	t->n++;
	t->o[ofd].refs++;
}

/* The entry whose path and flags an fd stands for (its own or the inherited one), -1 none. */
static int slot_entry(const struct fdtab *t, int s)
{
	const struct ofd *o = &t->o[t->v[s].ofd];

	return o->file >= 0 ? o->file : o->src;
}

static void file_add_fd(struct model *m, struct m_file *f, int64_t fd)
{
	for (size_t i = 0; i < f->nfds; i++)
		if (f->fds[i] == fd)
			return;
	if (f->nfds >= MODEL_MAX_FILE_FDS)
		return;
	if (f->nfds == f->cap_fds) {
		size_t cap = f->cap_fds ? 2 * f->cap_fds : 2;
		int64_t *v = model_alloc(m, cap * sizeof(*v));

		if (f->nfds)
			memcpy(v, f->fds, f->nfds * sizeof(*v));
		f->fds = v;
		f->cap_fds = cap;
	}
	f->fds[f->nfds++] = fd;
}

static bool is(const struct m_event *e, const char *name)
{
	return e->syscall && strcmp(e->syscall, name) == 0;
}

static bool ok(const struct m_event *e)
{
	return e->has_success ? e->success : (e->has_exit && e->exit >= 0);
}

static bool has_flag(const struct m_file *f, const char *name)
{
	for (size_t i = 0; i < f->nflags; i++)
		if (f->flags[i] && strcmp(f->flags[i], name) == 0)
			return true;
	return false;
}

const char **files_open_flags(struct model *m, const struct m_event *e, size_t *ret_n)
{
	static const struct {
		int64_t bit;
		const char *name;
	} bits[] = {
		{ O_CREAT, "O_CREAT" },       { O_EXCL, "O_EXCL" },
		{ O_NOCTTY, "O_NOCTTY" },     { O_TRUNC, "O_TRUNC" },
		{ O_APPEND, "O_APPEND" },     { O_NONBLOCK, "O_NONBLOCK" },
		{ O_DSYNC, "O_DSYNC" },       { O_DIRECTORY, "O_DIRECTORY" },
		{ O_NOFOLLOW, "O_NOFOLLOW" }, { O_CLOEXEC, "O_CLOEXEC" },
		{ O_PATH, "O_PATH" },         { O_TMPFILE & ~O_DIRECTORY, "O_TMPFILE" },
	};
	static const char *const acc[] = { "O_RDONLY", "O_WRONLY", "O_RDWR", "O_ACCMODE" };
	const char **v;
	int64_t fl;
	size_t n = 0;

	if (e->nflags) {
		*ret_n = e->nflags;
		return e->flags;
	}
	if (is(e, "creat"))
		fl = O_WRONLY | O_CREAT | O_TRUNC;
	else if (is(e, "open"))
		fl = e->a[1];
	else if (is(e, "openat"))
		fl = e->a[2];
	else { /* openat2: flags are in a struct in the process's memory */
		*ret_n = 0;
		return NULL;
	}
	v = model_alloc(m, (sizeof(bits) / sizeof(bits[0]) + 2) * sizeof(*v));
	v[n++] = acc[fl & 3];
	for (size_t i = 0; i < sizeof(bits) / sizeof(bits[0]); i++)
		if (bits[i].bit && (fl & bits[i].bit) == bits[i].bit)
			v[n++] = bits[i].name;
	*ret_n = n;
	return v;
}

static bool at_fdcwd(int64_t a0)
{
	return a0 == MODEL_AT_FDCWD || (a0 & 0xffffffffLL) == 0xffffff9cLL;
}

/* The name the process passed: the first PATH item that is not a PARENT and has a name. */
static const char *open_name(const struct m_event *e)
{
	for (size_t i = 0; i < e->npaths; i++)
		if (e->paths[i].name && (!e->paths[i].nametype ||
					 strcmp(e->paths[i].nametype, "PARENT") != 0))
			return e->paths[i].name;
	for (size_t i = 0; i < e->npaths; i++)
		if (e->paths[i].name)
			return e->paths[i].name;
	return NULL;
}

static void end_file(struct model *m, int fi, int64_t ts, bool inferred, const char *reason)
{
	struct m_file *f = &m->files[fi];

	f->close = ts;
	f->close_inferred = inferred;
	f->close_reason = reason;
	if (inferred && ts != MODEL_NO_TIME)
		m->n.inferred_closes++;
}

/* fd s stops referring to its file; the last fd of a file ends its entry (inherited ones
 * never written here have none). */
static void slot_release(struct model *m, struct fdtab *t, int s, int64_t ts, bool inferred,
			 const char *reason)
{
	struct ofd *o = &t->o[t->v[s].ofd];

	if (--o->refs == 0 && o->file >= 0)
		end_file(m, o->file, ts, inferred, reason);
	fdt_del(t, s);
}

/* fd becomes a new reference to what slot `old` refers to (-1: to something the filter does
 * not follow, a pipe or socket). Whatever fd referred to before is released first:
 * `replaced` says how (the kernel closed it at this time for dup2/dup3; for dup/F_DUPFD,
 * which return a free fd, a close the filter missed). */
static void slot_alias(struct model *m, struct fdtab *t, int old, int64_t fd, bool cloexec,
		       const struct m_event *e, bool replaced_inferred, const char *replaced)
{
	int ofd = old >= 0 ? t->v[old].ofd : -1;
	int s = fdt_find(t, fd);

	if (s >= 0)
		slot_release(m, t, s, e->ts, replaced_inferred, replaced);
	if (ofd < 0)
		return;
	slot_add(t, fd, ofd, cloexec);
	if (t->o[ofd].file >= 0)
		file_add_fd(m, &m->files[t->o[ofd].file], fd);
	m->n.fd_aliases++;
}

static void do_open(struct model *m, int pi, const struct m_event *e, struct fdtab *t,
		    bool in_root)
{
	const struct m_proc *p = &m->procs[pi];
	const char *name = open_name(e), *dir = e->cwd;
	bool resolved = true;
	struct m_file *f;
	char *abs = NULL, *host = NULL;
	int fi;

	if (!name)
		name = "";
	if (!path_is_absolute(name) && (is(e, "openat") || is(e, "openat2")) && !at_fdcwd(e->a[0])) {
		int s = fdt_find(t, e->a[0]);

		if (s >= 0) {
			dir = m->files[slot_entry(t, s)].path;
		} else {
			resolved = false;
			m->n.unresolved_dirfd++;
		}
	}
	if (path_join(dir, name, &abs) < 0)
		abs = NULL;
	f = MODEL_PUSH(m->files, m->nfiles, m->cap_files);
	fi = (int)m->nfiles++;
	f->proc = pi;
	f->origin = -1;
	f->path = model_strdup(m, abs ? abs : name);
	f->path_resolved = resolved && abs && path_is_absolute(abs);
	f->in_root = in_root;
	if (p->cont >= 0 && !p->runtime) {
		if (in_root && p->rootfs && abs && path_in_root(p->rootfs, abs, &host) == 0)
			f->host_path = model_strdup(m, host);
		else if (!in_root)
			f->host_path = f->path; /* before pivot_root the init still sees the host */
	} else {
		f->host_path = f->path;
	}
	free(abs);
	free(host);
	f->open = e->ts;
	f->close = MODEL_NO_TIME;
	f->open_seq = e->seq;
	f->syscall = e->syscall;
	f->flags = files_open_flags(m, e, &f->nflags);
	f->write = has_flag(f, "O_WRONLY") || has_flag(f, "O_RDWR") || has_flag(f, "O_CREAT") ||
		   has_flag(f, "O_TRUNC") || has_flag(f, "O_APPEND");
	if (!ok(e)) {
		f->failed = true;
		f->error = e->exit;
		f->fd = -1;
		m->n.failed_opens++;
		return;
	}
	f->fd = e->has_fd ? e->fd : e->exit;
	file_add_fd(m, f, f->fd);
	{
		int s = fdt_find(t, f->fd);

		if (s >= 0) /* its close was not recorded */
			slot_release(m, t, s, e->ts, true, "fd-reused");
	}
	slot_add(t, f->fd, ofd_new(t, fi, -1), has_flag(f, "O_CLOEXEC"));
}

/* The entry a write through slot s counts in: an fd inherited at fork gets an entry of this
 * process at its first write (open = the fork), shared by its aliases from then on. */
static int written_entry(struct model *m, int pi, struct fdtab *t, int s,
			 const struct m_event *e)
{
	struct ofd *o = &t->o[t->v[s].ofd];
	const struct m_file *src;
	struct m_file *f;
	int fi;

	if (o->file >= 0)
		return o->file;
	f = MODEL_PUSH(m->files, m->nfiles, m->cap_files);
	fi = (int)m->nfiles++;
	src = &m->files[o->src];
	f->proc = pi;
	f->path = src->path;
	f->host_path = src->host_path;
	f->in_root = src->in_root;
	f->path_resolved = src->path_resolved;
	f->syscall = src->syscall;
	f->flags = src->flags;
	f->nflags = src->nflags;
	f->write = src->write;
	f->fd = t->v[s].fd;
	f->open = m->procs[pi].start != MODEL_NO_TIME ? m->procs[pi].start : e->ts;
	f->close = MODEL_NO_TIME;
	f->open_seq = e->seq;
	f->inherited = true;
	f->origin = src->origin >= 0 ? src->origin : o->src;
	o->file = fi;
	file_add_fd(m, f, t->v[s].fd);
	for (size_t k = 0; k < t->n; k++)
		if (&t->o[t->v[k].ofd] == o)
			file_add_fd(m, f, t->v[k].fd);
	m->n.inherited_files++;
	return fi;
}

/* The fd a write-family event writes to. */
static bool written_fd(const struct m_event *e, int64_t *ret)
{
	static const char *const a0[] = { "write", "pwrite64", "writev", "pwritev",
					  "pwritev2", "sendfile", "sendfile64" };

	for (size_t i = 0; i < sizeof(a0) / sizeof(a0[0]); i++)
		if (is(e, a0[i])) {
			*ret = e->has_fd ? e->fd : e->a[0];
			return true;
		}
	if (is(e, "copy_file_range") || is(e, "splice")) {
		*ret = e->has_fd ? e->fd : e->a[2];
		return true;
	}
	return false;
}

/* 32-bit fd registers come sign-extended or not depending on the listener's version. */
static int64_t fd_reg(int64_t v)
{
	return (v & 0xffffffffLL) == v && (v & 0x80000000LL) ? (int64_t)(int32_t)v : v;
}

static void do_dup(struct model *m, struct fdtab *t, const struct m_event *e)
{
	int64_t old = fd_reg(e->has_old_fd ? e->old_fd : e->a[0]), fd;
	bool cloexec = false, fixed = !is(e, "dup");

	if (is(e, "fcntl") || is(e, "fcntl64")) {
		const char *cmd = e->fcntl_cmd;
		int64_t c = e->a[1];

		if (cmd ? !strcmp(cmd, "F_SETFD") : c == F_SETFD) {
			int s = fdt_find(t, e->has_fd ? e->fd : fd_reg(e->a[0]));

			if (s >= 0)
				t->v[s].cloexec = e->has_cloexec ? e->cloexec : (e->a[2] & FD_CLOEXEC);
			return;
		}
		if (cmd ? strcmp(cmd, "F_DUPFD") && strcmp(cmd, "F_DUPFD_CLOEXEC")
			: c != F_DUPFD && c != F_DUPFD_CLOEXEC)
			return;
		cloexec = cmd ? !strcmp(cmd, "F_DUPFD_CLOEXEC") : c == F_DUPFD_CLOEXEC;
		fixed = false;
	} else if (is(e, "dup3")) {
		cloexec = e->has_cloexec ? e->cloexec : (e->a[2] & O_CLOEXEC) != 0;
	}
	if (fixed) /* dup2, dup3: the target is a1 */
		fd = fd_reg(e->has_new_fd ? e->new_fd : e->a[1]);
	else /* dup, F_DUPFD*: the lowest free fd, returned */
		fd = e->has_new_fd ? e->new_fd : e->exit;
	if (fd == old) /* dup2(fd, fd): nothing changes, not even FD_CLOEXEC */
		return;
	/* dup2/dup3 close what the target referred to; a free fd that the filter believes
	 * open means its close was missed */
	slot_alias(m, t, fdt_find(t, old), fd, cloexec, e, !fixed, fixed ? "dup-replaced"
									  : "fd-reused");
}

static void do_close_range(struct model *m, struct fdtab *t, const struct m_event *e)
{
	uint64_t first = (uint64_t)(e->has_fd_range ? e->fd_first : e->a[0]) & 0xffffffffu;
	uint64_t last = (uint64_t)(e->has_fd_range ? e->fd_last : e->a[1]) & 0xffffffffu;
	bool cloexec = e->has_cloexec ? e->cloexec : (e->a[2] & 4) != 0; /* CLOSE_RANGE_CLOEXEC */

	/* CLOSE_RANGE_UNSHARE gives the calling thread a private table first: the filter
	 * keeps one table per process and applies the close to it */
	for (size_t s = 0; s < t->n;) {
		uint64_t fd = (uint64_t)t->v[s].fd;

		if (t->v[s].fd < 0 || fd < first || fd > last) {
			s++;
		} else if (cloexec) {
			t->v[s++].cloexec = true;
		} else {
			slot_release(m, t, (int)s, e->ts, false, "close_range");
		}
	}
}

/* Where each fork child's fd table comes from: the process that called clone (not always
 * the parent: runc's nsexec clones with CLONE_PARENT) and the point in that caller's events.
 * Only a child whose clone was audited inherits: a fork point guessed from times (audit's
 * are coarse, a jiffy) could hand the child fds the caller opened or closed around it, and a
 * write through a wrong fd is worse than one not attributed. */
struct forksrc {
	int caller; /* process index, -1: the child starts with an empty table */
	size_t pos; /* the child's table is the caller's before its events[pos] */
};

struct forkev {
	int tgid; /* the clone's return value: a host pid, or one in the caller's pid namespace */
	int proc; /* the caller */
	size_t k; /* index in the caller's events */
	int64_t ts;
	bool used;
	bool maybe_thread; /* clone3 (its flags are in memory) of a multi-threaded caller */
};

static int cmp_forkev_tgid(const void *a, const void *b)
{
	const struct forkev *x = a, *y = b;

	if (x->tgid != y->tgid)
		return (x->tgid > y->tgid) - (x->tgid < y->tgid);
	if (x->proc != y->proc)
		return x->proc - y->proc;
	return (x->k > y->k) - (x->k < y->k);
}

static int cmp_forkev_seq(const void *a, const void *b)
{
	const struct forkev *x = a, *y = b;

	if (x->proc != y->proc)
		return x->proc - y->proc;
	return (x->k > y->k) - (x->k < y->k);
}

static bool is_fork(const struct m_event *e)
{
	if (is(e, "clone"))
		return !(e->a[0] & 0x10000); /* CLONE_THREAD */
	return is(e, "clone3") || is(e, "fork") || is(e, "vfork");
}

/* A clone inside a pid namespace returns the child's pid there, not the host pid the proc
 * connector gives: pair those in order (the k-th such clone of a process made its k-th
 * forked child not paired otherwise), within this window around the child's start. */
#define FORK_BEFORE_NS (100 * 1000000LL)
#define FORK_AFTER_NS (20 * 1000000LL)

static void fork_sources(const struct model *m, struct forksrc *src)
{
	struct forkev *fe = NULL;
	size_t nfe = 0, cap = 0;

	for (size_t i = 0; i < m->nprocs; i++)
		src[i] = (struct forksrc){ .caller = -1 };
	for (size_t i = 0; i < m->nprocs; i++) {
		const struct m_proc *p = &m->procs[i];

		for (size_t k = 0; k < p->nevents; k++) {
			const struct m_event *e = &m->events[p->events[k]];

			if (!is_fork(e) || !ok(e) || e->exit <= 0 || e->exit > INT32_MAX)
				continue;
			*MODEL_PUSH(fe, nfe, cap) = (struct forkev){
				.tgid = (int)e->exit, .proc = (int)i, .k = k, .ts = e->ts,
				.maybe_thread = is(e, "clone3") && p->nthreads > 1 };
			nfe++;
		}
	}
	if (!nfe)
		return;
	/* 1: the clone that returned the child's own (host) pid, closest to its start */
	qsort(fe, nfe, sizeof(*fe), cmp_forkev_tgid);
	for (size_t i = 0; i < m->nprocs; i++) {
		const struct m_proc *c = &m->procs[i];
		size_t lo = 0, hi = nfe, best = SIZE_MAX;
		int64_t best_d = 1000000000LL;

		/* a process that was there before the recording forked before it too */
		if (c->from_snapshot || c->start == MODEL_NO_TIME)
			continue;
		while (lo < hi) {
			size_t mid = (lo + hi) / 2;

			if (fe[mid].tgid < c->tgid)
				lo = mid + 1;
			else
				hi = mid;
		}
		for (size_t j = lo; j < nfe && fe[j].tgid == c->tgid; j++) {
			if (fe[j].used || fe[j].proc == (int)i || fe[j].ts == MODEL_NO_TIME ||
			    llabs(fe[j].ts - c->start) >= best_d)
				continue;
			best = j;
			best_d = llabs(fe[j].ts - c->start);
		}
		if (best != SIZE_MAX) {
			fe[best].used = true;
			src[i] = (struct forksrc){ .caller = fe[best].proc, .pos = fe[best].k + 1 };
		}
	}
	/* 2: namespaced clones in order against the parent's forked children in start order;
	 * a clone whose value is a host process starting then belongs to that one (its pairing
	 * failed for another reason): never used here; nor a clone3 of a multi-threaded
	 * process, which may have made a thread (its namespaced tid looks like any pid) */
	qsort(fe, nfe, sizeof(*fe), cmp_forkev_seq);
	for (size_t j = 0; j < nfe; j++) {
		int other = merge_find_lifetime(m, fe[j].tgid, fe[j].ts);

		if (fe[j].maybe_thread)
			fe[j].used = true;
		else if (other >= 0 && m->procs[other].start != MODEL_NO_TIME &&
		    llabs(m->procs[other].start - fe[j].ts) < 1000000000LL)
			fe[j].used = true;
	}
	for (size_t j0 = 0; j0 < nfe;) {
		const struct m_proc *p = &m->procs[fe[j0].proc];
		size_t j1 = j0, j = j0;

		while (j1 < nfe && fe[j1].proc == fe[j0].proc)
			j1++;
		for (size_t ci = 0; ci < p->nchildren && j < j1; ci++) { /* children by start */
			int c = p->children[ci];
			const struct m_proc *cp = &m->procs[c];

			if (src[c].caller >= 0 || cp->from_snapshot || cp->start == MODEL_NO_TIME ||
			    cp->parent_src != PSRC_FORK)
				continue;
			while (j < j1 && (fe[j].used || fe[j].ts == MODEL_NO_TIME ||
					  fe[j].ts < cp->start - FORK_BEFORE_NS))
				j++;
			if (j < j1 && fe[j].ts <= cp->start + FORK_AFTER_NS) {
				fe[j].used = true;
				src[c] = (struct forksrc){ .caller = fe[j].proc, .pos = fe[j].k + 1 };
				j++;
			}
		}
		j0 = j1;
	}
	free(fe);
}

/* The children a caller hands its table to, by position: (caller, pos, child) sorted. */
struct forkpos {
	int caller;
	size_t pos;
	int child;
};

static int cmp_forkpos(const void *a, const void *b)
{
	const struct forkpos *x = a, *y = b;

	if (x->caller != y->caller)
		return x->caller - y->caller;
	if (x->pos != y->pos)
		return (x->pos > y->pos) - (x->pos < y->pos);
	return x->child - y->child;
}

/* The child's copy of t (only fds that stand for an entry). */
static void save_for_child(const struct fdtab *t, struct inhtab *dst)
{
	size_t n = 0;

	free(dst->v);
	dst->v = NULL;
	dst->n = 0;
	for (size_t s = 0; s < t->n; s++)
		if (slot_entry(t, (int)s) >= 0)
			n++;
	if (!n)
		return;
	dst->v = malloc(n * sizeof(*dst->v));
	if (!dst->v)
		abort();
	for (size_t s = 0; s < t->n; s++) {
		int src = slot_entry(t, (int)s);

		if (src < 0)
			continue;
		dst->v[dst->n++] = (struct inh){ .fd = t->v[s].fd, .src = src,
						 .group = t->v[s].ofd, .cloexec = t->v[s].cloexec };
	}
}

/* A fresh table for a process: empty, or its parent's at the fork (aliases kept). */
static void table_init(struct fdtab *t, struct inhtab *in)
{
	t->n = 0;
	t->no = 0;
	if (!in || !in->n)
		goto out;
	for (size_t i = 0; i < in->n; i++) {
		int ofd = -1;

		for (size_t j = 0; j < i && ofd < 0; j++)
			if (in->v[j].group == in->v[i].group)
				ofd = t->v[fdt_find(t, in->v[j].fd)].ofd;
		if (ofd < 0)
			ofd = ofd_new(t, -1, in->v[i].src);
		slot_add(t, in->v[i].fd, ofd, in->v[i].cloexec);
	}
out:
	if (in) {
		free(in->v);
		in->v = NULL;
		in->n = 0;
	}
}

static void one_process(struct model *m, int pi, struct fdtab *t, struct inhtab *inherit,
			const struct forkpos *fp, size_t nfp)
{
	struct m_proc *p = &m->procs[pi];
	/* The init's paths are host paths until its pivot_root; every other member entered an
	 * existing container (setns) or descends from the init after it. */
	bool in_root = !(p->cont >= 0 && p->pivot_event >= 0);
	size_t next = 0;
	int64_t wfd;

	table_init(t, &inherit[pi]);
	for (size_t k = 0; k <= p->nevents; k++) {
		const struct m_event *e;

		for (; next < nfp && fp[next].pos == k; next++)
			save_for_child(t, &inherit[fp[next].child]);
		if (k == p->nevents)
			break;
		e = &m->events[p->events[k]];
		if (is(e, "open") || is(e, "openat") || is(e, "openat2") || is(e, "creat")) {
			do_open(m, pi, e, t, in_root);
		} else if (is(e, "close")) {
			int s = fdt_find(t, e->has_fd ? e->fd : e->a[0]);

			/* close releases the fd on every error but EBADF */
			if (s >= 0 && (ok(e) || e->exit != -9))
				slot_release(m, t, s, e->ts, false, "close");
		} else if (written_fd(e, &wfd)) {
			int s = fdt_find(t, wfd);

			if (s >= 0) {
				/* the index first: written_entry may move m->files (a new entry),
				 * and C leaves open whether m->files is read before the call */
				int fi = written_entry(m, pi, t, s, e);
				struct m_file *f = &m->files[fi];

				f->write = true;
				if (ok(e) && e->exit > 0)
					f->bytes_written += e->exit;
			}
		} else if (is(e, "dup") || is(e, "dup2") || is(e, "dup3") || is(e, "fcntl") ||
			   is(e, "fcntl64")) {
			if (ok(e))
				do_dup(m, t, e);
		} else if (is(e, "close_range")) {
			if (ok(e))
				do_close_range(m, t, e);
		} else if ((is(e, "execve") || is(e, "execveat")) && ok(e)) {
			for (size_t s = 0; s < t->n;) {
				if (t->v[s].cloexec)
					slot_release(m, t, (int)s, e->ts, true, "exec-cloexec");
				else
					s++;
			}
		} else if (is(e, "pivot_root") && p->events[k] == p->pivot_event) {
			in_root = true;
		}
	}
	for (size_t o = 0; o < t->no; o++) {
		int fi = t->o[o].file;

		if (t->o[o].refs <= 0 || fi < 0)
			continue;
		if (p->exited && p->exit != MODEL_NO_TIME)
			end_file(m, fi, p->exit, true, "exit");
		else
			end_file(m, fi, MODEL_NO_TIME, false,
				 p->exited ? "exit-time-unknown" : "running");
	}
}

/* Each container's number of files entries, as the files documents will name it (a runtime
 * helper's are the host's): `containers` then need not count the documents (FerretDB reads
 * every matching document to count them). */
static void count_per_container(struct model *m)
{
	for (size_t i = 0; i < m->nfiles; i++) {
		const struct m_proc *p = &m->procs[m->files[i].proc];
		int k = p->cont;

		if (p->runtime || !p->container)
			continue;
		if (k < 0 || strcmp(m->conts[k].id, p->container)) /* outside the tree: by id */
			for (k = 0; k < (int)m->nconts && strcmp(m->conts[k].id, p->container); k++)
				;
		if (k < (int)m->nconts)
			m->conts[k].nfiles++;
	}
}

int files_run(struct model *m)
{
	struct fdtab t = { 0 };
	struct inhtab *inherit = calloc(m->nprocs + 1, sizeof(*inherit));
	struct forksrc *src = calloc(m->nprocs + 1, sizeof(*src));
	struct forkpos *fp = calloc(m->nprocs + 1, sizeof(*fp));
	size_t *first = calloc(m->nprocs + 1, sizeof(*first)), nfp = 0;
	char *state = calloc(m->nprocs + 1, 1); /* 0 todo, 1 on the chain, 2 done */
	int *chain = malloc((m->nprocs + 1) * sizeof(*chain));

	if (!inherit || !src || !fp || !first || !state || !chain)
		abort();
	fork_sources(m, src);
	for (size_t i = 0; i < m->nprocs; i++)
		if (src[i].caller >= 0)
			fp[nfp++] = (struct forkpos){ .caller = src[i].caller, .pos = src[i].pos,
						      .child = (int)i };
	if (nfp > 1)
		qsort(fp, nfp, sizeof(*fp), cmp_forkpos);
	/* fp[first[c]..first[c + 1]) are caller c's children */
	for (size_t i = 0, j = 0; i <= m->nprocs; i++) {
		while (j < nfp && fp[j].caller < (int)i)
			j++;
		first[i] = j;
	}
	/* a caller before the children it forked, so that a child starts from the caller's
	 * table at the clone; otherwise in model order */
	for (size_t i = 0; i < m->nprocs; i++) {
		size_t n = 0;

		for (int c = (int)i; c >= 0 && state[c] == 0; c = src[c].caller) {
			state[c] = 1;
			chain[n++] = c;
		}
		while (n--) {
			int c = chain[n];

			one_process(m, c, &t, inherit, fp + first[c], first[c + 1] - first[c]);
			state[c] = 2;
		}
	}
	count_per_container(m);
	hostpath_run(m); /* issue 28: through the container's mounts */
	for (size_t i = 0; i < m->nprocs; i++)
		free(inherit[i].v);
	free(inherit);
	free(src);
	free(fp);
	free(first);
	free(state);
	free(chain);
	free(t.v);
	free(t.o);
	return 0;
}
