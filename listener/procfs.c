/* procfs.c — reads /proc/PID (or a fixture tree laid out the same way) into struct
 * procfs_proc or struct procfs_ids, and walks all pids for the start-up snapshot (see
 * procfs.h). Owns nothing beyond the strings it hands to the caller.
 *
 * Every file of one process is opened relative to one directory fd of /proc/PID, so a pid
 * reused between two reads cannot mix two processes: the old fd then fails with ESRCH.
 *
 * Cost (issue 16): an exec's read is the listener's largest cost per exec, and a /proc file's
 * text is generated anew by every read(2): stat's text is made again even for a read at its
 * end. /proc files are generated whole by one read (seq_file single_open, cmdline), so a read
 * shorter than asked is the whole file: no second read to see the end. */
#include "procfs.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "macro.h"

#define STAT_BUF 2048
#define STATUS_BUF 8192
#define CGROUP_BUF 8192

static const char *root_or_default(const char *proc_root)
{
	return proc_root && *proc_root ? proc_root : PROCFS_DEFAULT_ROOT;
}

static bool is_gone_errno(int e)
{
	return e == ENOENT || e == ESRCH;
}

/* A read of n bytes where want were asked ends the file: shorter, and not a whole number of
 * pages (an older kernel hands cmdline out a page per read). */
static bool short_read_ends(size_t n, size_t want)
{
	return n < want && (n == 0 || n % 4096 != 0);
}

/* Read at most cap bytes of dirfd/name into buf; *ret_len gets the count. 0 or -errno. A
 * short read ends it (see the top of the file). */
static int read_at(int dirfd, const char *name, char *buf, size_t cap, size_t *ret_len)
{
	size_t len = 0;
	int fd, r = 0;

	fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return -errno;
	while (len < cap) {
		size_t want = cap - len;
		ssize_t n = read(fd, buf + len, want);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			r = -errno;
			goto out;
		}
		len += (size_t)n;
		if (short_read_ends((size_t)n, want))
			break;
	}
	*ret_len = len;
out:
	close(fd);
	return r;
}

/* Read at most cap bytes of fd from offset 0 (a /proc file generates its text anew; a short
 * read is the whole file, see the top). */
static int pread_all(int fd, char *buf, size_t cap, size_t *ret_len)
{
	size_t len = 0;

	while (len < cap) {
		size_t want = cap - len;
		ssize_t n = pread(fd, buf + len, want, (off_t)len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		len += (size_t)n;
		if (short_read_ends((size_t)n, want))
			break;
	}
	*ret_len = len;
	return 0;
}

/* readlinkat into a new string; 0 or -errno (-ENAMETOOLONG beyond PROCFS_PATH_MAX). */
static int link_at(int dirfd, const char *name, char **ret)
{
	char buf[PROCFS_PATH_MAX + 1];
	ssize_t n;
	char *s;

	n = readlinkat(dirfd, name, buf, sizeof(buf));
	if (n < 0)
		return -errno;
	if ((size_t)n >= sizeof(buf))
		return -ENAMETOOLONG;
	s = malloc((size_t)n + 1);
	if (!s)
		return -ENOMEM;
	memcpy(s, buf, (size_t)n);
	s[n] = '\0';
	*ret = s;
	return 0;
}

/* "mnt:[4026531840]" → 4026531840 */
static int ns_at(int dirfd, const char *name, uint64_t *ret)
{
	char buf[64], *open, *end;
	unsigned long long v;
	ssize_t n;

	n = readlinkat(dirfd, name, buf, sizeof(buf) - 1);
	if (n < 0)
		return -errno;
	buf[n] = '\0';
	open = strchr(buf, '[');
	if (!open || !isdigit((unsigned char)open[1]))
		return -EINVAL;
	errno = 0;
	v = strtoull(open + 1, &end, 10);
	if (errno || *end != ']')
		return -EINVAL;
	*ret = v;
	return 0;
}

/* Unsigned decimal at [*pp, end) after skipping spaces; advances *pp. */
static int parse_u64(const char **pp, const char *end, uint64_t *ret)
{
	const char *p = *pp;
	uint64_t v = 0;
	bool neg = false;

	while (p < end && *p == ' ')
		p++;
	if (p < end && *p == '-') {
		neg = true; /* some stat fields are signed: keep the magnitude, report 0 */
		p++;
	}
	if (p >= end || !isdigit((unsigned char)*p))
		return -EINVAL;
	while (p < end && isdigit((unsigned char)*p)) {
		unsigned d = (unsigned)(*p - '0');

		if (v > (UINT64_MAX - d) / 10)
			return -EINVAL;
		v = v * 10 + d;
		p++;
	}
	*pp = p;
	*ret = neg ? 0 : v;
	return 0;
}

int procfs_parse_stat(const char *text, size_t len, char ret_comm[17], char *ret_state,
		      pid_t *ret_ppid, uint64_t *ret_start_ticks)
{
	const char *end = text + len, *open, *close = NULL, *p;
	uint64_t v = 0, ppid = 0;
	size_t clen;
	char state;

	if (!text)
		return -EINVAL;
	open = memchr(text, '(', len);
	if (!open)
		return -EINVAL;
	/* comm may contain ')' and spaces: the last ')' closes it */
	for (p = end; p > open; p--) {
		if (p[-1] == ')') {
			close = p - 1;
			break;
		}
	}
	if (!close || close <= open)
		return -EINVAL;
	p = close + 1;
	if (p + 2 > end || p[0] != ' ')
		return -EINVAL;
	state = p[1];
	p += 2;
	/* fields 4 (ppid) … 22 (starttime) */
	for (int field = 4; field <= 22; field++) {
		if (parse_u64(&p, end, &v) < 0)
			return -EINVAL;
		if (field == 4)
			ppid = v;
	}
	if (ppid > INT_MAX)
		return -EINVAL;
	clen = MIN((size_t)(close - open - 1), (size_t)16);
	memcpy(ret_comm, open + 1, clen);
	ret_comm[clen] = '\0';
	*ret_state = state;
	*ret_ppid = (pid_t)ppid;
	*ret_start_ticks = v;
	return 0;
}

/* status lines we need: Tgid, Uid (real), Threads. Missing ones stay as they were. */
static void parse_status(const char *text, size_t len, struct procfs_proc *p)
{
	const char *s = text, *end = text + len;

	while (s < end) {
		const char *nl = memchr(s, '\n', (size_t)(end - s));
		const char *eol = nl ? nl : end, *q;
		uint64_t v;

		if (eol - s > 5 && !memcmp(s, "Tgid:", 5)) {
			q = s + 5;
			while (q < eol && *q == '\t')
				q++;
			if (parse_u64(&q, eol, &v) == 0 && v <= INT_MAX)
				p->tgid = (pid_t)v;
		} else if (eol - s > 4 && !memcmp(s, "Uid:", 4)) {
			q = s + 4;
			while (q < eol && *q == '\t')
				q++;
			if (parse_u64(&q, eol, &v) == 0 && v <= UINT32_MAX)
				p->uid = (uid_t)v;
		} else if (eol - s > 8 && !memcmp(s, "Threads:", 8)) {
			q = s + 8;
			while (q < eol && *q == '\t')
				q++;
			if (parse_u64(&q, eol, &v) == 0 && v <= INT_MAX)
				p->threads = (int)v;
		}
		s = eol + 1;
	}
}

/* cmdline: NUL-separated; one allocation holds the pointer array and the strings. */
static int read_argv(int dirfd, struct procfs_proc *p)
{
	char *buf, **argv, *strings;
	size_t len = 0, argc = 0, i, off;
	int r;

	buf = malloc(PROCFS_CMDLINE_MAX + 1);
	if (!buf)
		return -ENOMEM;
	r = read_at(dirfd, "cmdline", buf, PROCFS_CMDLINE_MAX + 1, &len);
	if (r < 0)
		goto out;
	if (len > PROCFS_CMDLINE_MAX) {
		len = PROCFS_CMDLINE_MAX;
		p->argv_truncated = true;
	}
	if (len == 0)
		goto out; /* kernel thread or zombie */
	if (buf[len - 1] != '\0')
		buf[len++] = '\0'; /* room: buf has PROCFS_CMDLINE_MAX + 1 bytes */
	for (i = 0; i < len; i++) {
		if (buf[i] == '\0')
			argc++;
	}
	if (argc > PROCFS_ARGV_MAX) {
		argc = PROCFS_ARGV_MAX;
		p->argv_truncated = true;
	}
	argv = malloc((argc + 1) * sizeof(char *) + len);
	if (!argv) {
		r = -ENOMEM;
		goto out;
	}
	strings = (char *)(argv + argc + 1);
	memcpy(strings, buf, len);
	for (i = 0, off = 0; i < argc; i++) {
		argv[i] = strings + off;
		off += strlen(strings + off) + 1;
	}
	argv[argc] = NULL;
	p->argv = argv;
	p->argc = argc;
out:
	free(buf);
	return r;
}

static int open_pid_dir(const char *proc_root, pid_t pid)
{
	char path[PATH_MAX];
	int fd;

	if (snprintf(path, sizeof(path), "%s/%d", root_or_default(proc_root), (int)pid) >=
	    (int)sizeof(path))
		return -ENAMETOOLONG;
	fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	return fd;
}

static int cgroup_to_id(const struct procfs_read_opts *o, const char *text, size_t len,
			char container[CONTAINER_ID_LEN + 1])
{
	if (o && o->cgroup_id)
		return o->cgroup_id(o->opaque, text, len, container);
	return container_id_from_cgroup(text, len, container);
}

/* cgroup and the two ns links; *ret_live (may be NULL) says the last link was read, so the
 * process was not reaped before that point. */
static int ids_at(int dirfd, pid_t pid, const struct procfs_read_opts *o,
		  char container[CONTAINER_ID_LEN + 1], uint64_t *mnt_ns, uint64_t *pid_ns,
		  bool *ret_live)
{
	char buf[CGROUP_BUF];
	size_t len = 0;
	int r;

	container[0] = '\0';
	if (!(o && o->container_fast && o->container_fast(o->opaque, pid, container) == 0)) {
		container[0] = '\0';
		r = read_at(dirfd, "cgroup", buf, sizeof(buf), &len);
		if (r == 0 && cgroup_to_id(o, buf, len, container) < 0)
			container[0] = '\0';
		if (r < 0 && is_gone_errno(-r))
			return r;
	}
	*mnt_ns = 0;
	*pid_ns = 0;
	(void)ns_at(dirfd, "ns/mnt", mnt_ns);
	r = ns_at(dirfd, "ns/pid", pid_ns);
	if (ret_live)
		*ret_live = r == 0;
	return 0;
}

void procfs_proc_release(struct procfs_proc *p)
{
	if (!p)
		return;
	free(p->exe);
	free(p->cwd);
	free(p->root);
	free(p->argv);
	p->exe = p->cwd = p->root = NULL;
	p->argv = NULL;
	p->argc = 0;
}

int procfs_read(const char *proc_root, pid_t pid, struct procfs_proc *ret)
{
	return procfs_read_ex(proc_root, pid, NULL, ret);
}

int procfs_read_ex(const char *proc_root, pid_t pid, const struct procfs_read_opts *o,
		   struct procfs_proc *ret)
{
	unsigned flags = o ? o->flags : 0;
	struct procfs_proc p;
	char buf[STATUS_BUF];
	size_t len = 0;
	bool vanished = false, live = false;
	int dirfd, statfd = -1, r;

	memset(ret, 0, sizeof(*ret));
	if (pid <= 0)
		return -EINVAL;
	memset(&p, 0, sizeof(p));
	p.pid = pid;
	dirfd = open_pid_dir(proc_root, pid);
	if (dirfd < 0) {
		if (is_gone_errno(-dirfd))
			goto gone;
		return dirfd;
	}
	/* stat stays open: read again at the end, unless the last read said the process was still
	 * there, it says whether the process was reaped */
	statfd = openat(dirfd, "stat", O_RDONLY | O_CLOEXEC | O_NOCTTY);
	r = statfd < 0 ? -errno : pread_all(statfd, buf, STAT_BUF, &len);
	if (r < 0) {
		if (is_gone_errno(-r))
			goto gone_close;
		goto fail;
	}
	r = procfs_parse_stat(buf, len, p.comm, &p.state, &p.ppid, &p.start_ticks);
	if (r < 0)
		goto fail;
	p.tgid = pid;
	if (!(flags & PROCFS_SKIP_STATUS)) {
		r = read_at(dirfd, "status", buf, sizeof(buf), &len);
		if (r < 0 && is_gone_errno(-r))
			goto gone_close;
		if (r == 0)
			parse_status(buf, len, &p);
	}

	/* The rest may fail for kernel threads, zombies or a process exiting right now. */
	r = link_at(dirfd, "exe", &p.exe);
	if (r == -ENOMEM)
		goto fail;
	vanished |= r == -ESRCH;
	r = link_at(dirfd, "cwd", &p.cwd);
	if (r == -ENOMEM)
		goto fail;
	vanished |= r == -ESRCH;
	r = link_at(dirfd, "root", &p.root);
	if (r == -ENOMEM)
		goto fail;
	vanished |= r == -ESRCH;
	r = read_argv(dirfd, &p);
	if (r == -ENOMEM)
		goto fail;
	vanished |= r == -ESRCH;
	live = r == 0 && p.argv; /* a zombie's or reaped process's cmdline is empty */
	if (!(flags & PROCFS_SKIP_IDS)) {
		r = ids_at(dirfd, pid, o, p.container, &p.mnt_ns, &p.pid_ns, &live);
		vanished |= is_gone_errno(-r);
	}
	/* Did it exit while we read? stat of a reaped process's dir fd fails. Not asked when the
	 * last read succeeded: everything before it was read from the live process. */
	if (vanished || (!live && pread_all(statfd, buf, 1, &len) < 0))
		p.gone = true;
	close(statfd);
	close(dirfd);
	*ret = p;
	return 0;

gone_close:
	if (statfd >= 0)
		close(statfd);
	close(dirfd);
gone:
	procfs_proc_release(&p);
	memset(ret, 0, sizeof(*ret));
	ret->pid = pid;
	ret->gone = true;
	return 0;
fail:
	if (statfd >= 0)
		close(statfd);
	close(dirfd);
	procfs_proc_release(&p);
	return r;
}

int procfs_read_ids(const char *proc_root, pid_t pid, const struct procfs_read_opts *o,
		    struct procfs_ids *ret)
{
	struct procfs_ids ids;
	char buf[STAT_BUF], comm[17], state;
	size_t len = 0;
	int dirfd, r;

	if (pid <= 0)
		return -EINVAL;
	memset(&ids, 0, sizeof(ids));
	dirfd = open_pid_dir(proc_root, pid);
	if (dirfd < 0)
		return is_gone_errno(-dirfd) ? -ESRCH : dirfd;
	r = 0;
	if (!(o && (o->flags & PROCFS_SKIP_STAT))) {
		r = read_at(dirfd, "stat", buf, sizeof(buf), &len);
		if (r == 0)
			r = procfs_parse_stat(buf, len, comm, &state, &ids.ppid, &ids.start_ticks);
	}
	if (r == 0)
		r = ids_at(dirfd, pid, o, ids.container, &ids.mnt_ns, &ids.pid_ns, NULL);
	close(dirfd);
	if (r < 0)
		return is_gone_errno(-r) ? -ESRCH : r;
	*ret = ids;
	return 0;
}

int procfs_snapshot(const char *proc_root, int (*fn)(void *opaque, const struct procfs_proc *p),
		    void *opaque)
{
	struct dirent *de;
	DIR *d;
	int n = 0, r = 0;

	d = opendir(root_or_default(proc_root));
	if (!d)
		return -errno;
	while ((errno = 0, de = readdir(d))) {
		struct procfs_proc p;
		char *end;
		long v;

		if (!isdigit((unsigned char)de->d_name[0]))
			continue;
		errno = 0;
		v = strtol(de->d_name, &end, 10);
		if (errno || *end || v <= 0 || v > INT_MAX)
			continue;
		r = procfs_read(proc_root, (pid_t)v, &p);
		if (r < 0) {
			if (r == -ENOMEM)
				goto out;
			r = 0; /* unreadable (permissions, garbage): skip it */
			continue;
		}
		if (!p.gone && p.tgid == p.pid) {
			r = fn(opaque, &p);
			n++;
		}
		procfs_proc_release(&p);
		if (r < 0)
			goto out;
	}
	if (errno)
		r = -errno;
out:
	closedir(d);
	return r < 0 ? r : n;
}
