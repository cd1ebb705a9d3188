/* files.c — open→close file timelines per process (see files.h). Owns only its fd table. */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>

#include "files.h"
#include "path.h"

struct fdslot {
	int64_t fd;
	int file; /* index into m->files */
};

struct fdtab {
	struct fdslot *v;
	size_t n, cap;
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
			dir = m->files[t->v[s].file].path;
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
	f->path = model_strdup(m, abs ? abs : name);
	f->path_resolved = resolved && abs && path_is_absolute(abs);
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
	{
		int s = fdt_find(t, f->fd);

		if (s >= 0) { /* its close was not recorded */
			end_file(m, t->v[s].file, e->ts, true, "fd-reused");
			t->v[s].file = fi;
			return;
		}
	}
	*MODEL_PUSH(t->v, t->n, t->cap) = (struct fdslot){ .fd = f->fd, .file = fi };
	t->n++;
}

static void one_process(struct model *m, int pi, struct fdtab *t)
{
	struct m_proc *p = &m->procs[pi];
	/* The init's paths are host paths until its pivot_root; every other member entered an
	 * existing container (setns) or descends from the init after it. */
	bool in_root = !(p->cont >= 0 && p->pivot_event >= 0);

	t->n = 0;
	for (size_t k = 0; k < p->nevents; k++) {
		const struct m_event *e = &m->events[p->events[k]];

		if (is(e, "open") || is(e, "openat") || is(e, "openat2") || is(e, "creat")) {
			do_open(m, pi, e, t, in_root);
		} else if (is(e, "close")) {
			int64_t fd = e->has_fd ? e->fd : e->a[0];
			int s = fdt_find(t, fd);

			/* close releases the fd on every error but EBADF */
			if (s >= 0 && (ok(e) || e->exit != -9)) {
				end_file(m, t->v[s].file, e->ts, false, "close");
				fdt_del(t, s);
			}
		} else if (is(e, "write") || is(e, "pwrite64") || is(e, "writev") ||
			   is(e, "pwritev") || is(e, "pwritev2")) {
			int s = fdt_find(t, e->has_fd ? e->fd : e->a[0]);

			if (s >= 0) {
				struct m_file *f = &m->files[t->v[s].file];

				f->write = true;
				if (ok(e) && e->exit > 0)
					f->bytes_written += e->exit;
			}
		} else if ((is(e, "execve") || is(e, "execveat")) && ok(e)) {
			for (size_t s = 0; s < t->n;) {
				if (has_flag(&m->files[t->v[s].file], "O_CLOEXEC")) {
					end_file(m, t->v[s].file, e->ts, true, "exec-cloexec");
					fdt_del(t, (int)s);
				} else {
					s++;
				}
			}
		} else if (is(e, "pivot_root") && p->events[k] == p->pivot_event) {
			in_root = true;
		}
	}
	for (size_t s = 0; s < t->n; s++) {
		if (p->exited && p->exit != MODEL_NO_TIME)
			end_file(m, t->v[s].file, p->exit, true, "exit");
		else
			end_file(m, t->v[s].file, MODEL_NO_TIME, false,
				 p->exited ? "exit-time-unknown" : "running");
	}
}

int files_run(struct model *m)
{
	struct fdtab t = { 0 };

	for (size_t i = 0; i < m->nprocs; i++)
		one_process(m, (int)i, &t);
	free(t.v);
	return 0;
}
