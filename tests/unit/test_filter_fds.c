/* test_filter_fds.c — issue 17: the filter's fd aliases (files.c) on hand-made sessions whose
 * syscalls are the ones strace shows for busybox sh 1.35 (the image's shell) and for runtimes:
 * shell redirections (open, fcntl F_DUPFD_CLOEXEC to save, dup2 onto 1, close, write, dup2
 * back), `exec 3>f`, `2>&1`, pipes between forked children, fork inheritance, close_range
 * (plain and CLOSE_RANGE_CLOEXEC), F_SETFD, dup3 O_CLOEXEC, dup2 over a followed fd, and
 * documents of a listener that did not decode the fields yet (registers only). Every
 * expected value is worked out by hand from the scenario in the test's comment. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "files.h"
#include "filter_session.h"
#include "load.h"
#include "merge.h"
#include "model.h"
#include "rootfs.h"
#include "tree.h"

static void run(struct model *m)
{
	load_finish(m);
	merge_run(m);
	tree_run(m);
	rootfs_run(m);
	files_run(m);
}

/* One audit event of pid at t ms: a successful syscall returning exitv, plus `more` (JSON
 * members without the leading comma, or ""). */
static void sc(struct model *m, int t, int pid, const char *syscall, long long exitv,
	       const char *more)
{
	char j[1024];

	snprintf(j, sizeof(j),
		 "{\"t\":%d,\"syscall\":\"%s\",\"pid\":%d,\"success\":%s,\"exit\":%lld,"
		 "\"cwd\":\"/\"%s%s}",
		 t, syscall, pid, exitv < 0 ? "false" : "true", exitv, *more ? "," : "", more);
	ev(m, j);
}

/* openat(AT_FDCWD, path, O_WRONLY|O_CREAT|O_TRUNC) = fd, as busybox redirects; ro: O_RDONLY */
static void op(struct model *m, int t, int pid, const char *path, int fd, bool ro)
{
	char more[512];

	snprintf(more, sizeof(more),
		 "\"fd\":%d,\"a0\":-100,\"flags\":%s,\"paths\":[{\"name\":\"%s\",\"nametype\":\"%s\"}]",
		 fd, ro ? "[\"O_RDONLY\"]" : "[\"O_WRONLY\",\"O_CREAT\",\"O_TRUNC\"]", path,
		 ro ? "NORMAL" : "CREATE");
	sc(m, t, pid, "openat", fd, more);
}

static void wr(struct model *m, int t, int pid, int fd, int n)
{
	char more[64];

	snprintf(more, sizeof(more), "\"fd\":%d,\"a0\":%d", fd, fd);
	sc(m, t, pid, "write", n, more);
}

static void cl(struct model *m, int t, int pid, int fd)
{
	char more[64];

	snprintf(more, sizeof(more), "\"fd\":%d,\"a0\":%d", fd, fd);
	sc(m, t, pid, "close", 0, more);
}

static void dup2_(struct model *m, int t, int pid, int old, int fd)
{
	char more[128];

	snprintf(more, sizeof(more), "\"a0\":%d,\"a1\":%d,\"old_fd\":%d,\"new_fd\":%d,\"cloexec\":false",
		 old, fd, old, fd);
	sc(m, t, pid, "dup2", fd, more);
}

/* fcntl(old, F_DUPFD_CLOEXEC, 10) = fd: busybox saves the fd it redirects over */
static void save(struct model *m, int t, int pid, int old, int fd)
{
	char more[160];

	snprintf(more, sizeof(more),
		 "\"a0\":%d,\"a1\":1030,\"a2\":10,\"fcntl_cmd\":\"F_DUPFD_CLOEXEC\",\"old_fd\":%d,"
		 "\"new_fd\":%d,\"cloexec\":true", old, old, fd);
	sc(m, t, pid, "fcntl", fd, more);
}

static void fork_(struct model *m, int t, int parent, int child)
{
	char j[256];

	snprintf(j, sizeof(j),
		 "{\"t\":%d,\"what\":\"fork\",\"parent_pid\":%d,\"parent_tgid\":%d,\"child_pid\":%d,"
		 "\"child_tgid\":%d}", t, parent, parent, child, child);
	pe(m, j);
}

static void exit_(struct model *m, int t, int pid, int parent)
{
	char j[256];

	snprintf(j, sizeof(j),
		 "{\"t\":%d,\"what\":\"exit\",\"pid\":%d,\"tgid\":%d,\"exit_code\":0,\"parent_pid\":%d,"
		 "\"parent_tgid\":%d}", t, pid, pid, parent, parent);
	pe(m, j);
}

/* The audited clone of parent that returned child (the fork point in the parent's events). */
static void clone_(struct model *m, int t, int parent, int child)
{
	sc(m, t, parent, "clone", child, "\"a0\":18874385");
}

static const struct m_file *one(const struct model *m, const char *path, int tgid)
{
	const struct m_file *r = NULL;

	for (size_t i = 0; i < m->nfiles; i++)
		if (!strcmp(m->files[i].path, path) && m->procs[m->files[i].proc].tgid == tgid) {
			if (r)
				fail_msg("two entries for %s of %d", path, tgid);
			r = &m->files[i];
		}
	if (!r)
		fail_msg("no entry for %s of %d", path, tgid);
	return r;
}

static size_t count_path(const struct model *m, const char *path)
{
	size_t n = 0;

	for (size_t i = 0; i < m->nfiles; i++)
		n += !strcmp(m->files[i].path, path);
	return n;
}

/* a process alive when the listener started */
static void snap(struct model *m, int pid, int ppid)
{
	char j[256];
	bson_t *b;

	snprintf(j, sizeof(j), "{\"pid\":%d,\"tgid\":%d,\"ppid\":%d,\"exe\":\"/bin/sh\"}", pid,
		 pid, ppid);
	b = json(j);
	assert_int_equal(load_snapshot_doc(m, b), 0);
	bson_destroy(b);
}

#define AT(t) ((BASE_MS + (t)) * MS)
/* proc-connector times once audited clones calibrate the clock: audit stamps the clone's
 * entry, so merge puts the offset half a millisecond after audit_ts - fork_mono */
#define PAT(t) (AT(t) + MS / 2)

/* sh -c 'echo hello > /tmp/r.txt' (busybox): open = 3, save 1 as 11, dup2(3, 1), close(3),
 * write(1, 6), dup2(11, 1) — the last alias goes here —, close(11), exit at 20. */
static void test_redirection(void **state)
{
	struct model m;
	const struct m_file *f;

	(void)state;
	model_init(&m);
	fork_(&m, 1, 1, 70);
	op(&m, 2, 70, "/tmp/r.txt", 3, false);
	save(&m, 3, 70, 1, 11);
	dup2_(&m, 4, 70, 3, 1);
	cl(&m, 5, 70, 3);
	wr(&m, 6, 70, 1, 6);
	dup2_(&m, 7, 70, 11, 1);
	cl(&m, 8, 70, 11);
	exit_(&m, 20, 70, 1);
	run(&m);
	assert_int_equal(m.nfiles, 1);
	f = one(&m, "/tmp/r.txt", 70);
	assert_int_equal(f->bytes_written, 6);
	assert_true(f->write);
	assert_int_equal(f->open, AT(2));
	assert_int_equal(f->close, AT(7));
	assert_false(f->close_inferred);
	assert_string_equal(f->close_reason, "dup-replaced");
	assert_int_equal(f->fd, 3);
	assert_int_equal(f->nfds, 2);
	assert_int_equal(f->fds[0], 3);
	assert_int_equal(f->fds[1], 1);
	assert_false(f->inherited);
	model_release(&m);
}

/* exec 3>/tmp/a; echo 12 >&3; echo x 2>&1 >/tmp/b; echo late >&2 — as busybox does it:
 *   open a = 3; save 1 → 11; dup2(3, 1); write(1, 3); dup2(11, 1); close(11)
 *   save 2 → 11; dup2(1, 2) (fd 1 is the pipe again: fd 2 follows nothing); open b = 4;
 *   save 1 → 12; dup2(4, 1); close(4); write(1, 2); write(2, 5) — the pipe, not b —;
 *   dup2(11, 2); close(11); dup2(12, 1); close(12); write(2, 5) (the pipe); exit at 40.
 * a: 3 bytes, still open as fd 3 at the exit (inferred); b: 2 bytes, ends at dup2(12, 1). */
static void test_exec_and_2to1(void **state)
{
	struct model m;
	const struct m_file *a, *b;

	(void)state;
	model_init(&m);
	fork_(&m, 1, 1, 70);
	op(&m, 2, 70, "/tmp/a", 3, false);
	save(&m, 3, 70, 1, 11);
	dup2_(&m, 4, 70, 3, 1);
	wr(&m, 5, 70, 1, 3);
	dup2_(&m, 6, 70, 11, 1);
	cl(&m, 7, 70, 11);
	save(&m, 8, 70, 2, 11);
	dup2_(&m, 9, 70, 1, 2);
	op(&m, 10, 70, "/tmp/b", 4, false);
	save(&m, 11, 70, 1, 12);
	dup2_(&m, 12, 70, 4, 1);
	cl(&m, 13, 70, 4);
	wr(&m, 14, 70, 1, 2);
	wr(&m, 15, 70, 2, 5);
	dup2_(&m, 16, 70, 11, 2);
	cl(&m, 17, 70, 11);
	dup2_(&m, 18, 70, 12, 1);
	cl(&m, 19, 70, 12);
	wr(&m, 20, 70, 2, 5);
	exit_(&m, 40, 70, 1);
	run(&m);
	assert_int_equal(m.nfiles, 2);
	a = one(&m, "/tmp/a", 70);
	assert_int_equal(a->bytes_written, 3);
	assert_int_equal(a->close, AT(40));
	assert_true(a->close_inferred);
	assert_string_equal(a->close_reason, "exit");
	b = one(&m, "/tmp/b", 70);
	assert_int_equal(b->bytes_written, 2);
	assert_int_equal(b->close, AT(18));
	assert_false(b->close_inferred);
	assert_string_equal(b->close_reason, "dup-replaced");
	model_release(&m);
}

/* echo p | cat > /tmp/c; { echo y; cat /tmp/b; } > /tmp/d, with `exec 3>/tmp/a` before.
 * sh 70 (pipe fds 4, 5 unaudited) forks 71 (echo: close 4, dup2(5, 1), close 5, write 2 to
 * the pipe) and 72 (cat: dup2(4, 0), close 4, open c = 4, save 1, dup2(4, 1), close 4,
 * execve, write 2). 70 then opens d = 4, dup2(4, 1), close 4, writes 2 itself, forks 73
 * (cat /tmp/b: execve, open b = 4, sendfile(1, 4) = 2, close 4, exit), restores fd 1.
 * Every child inherits fd 3 = /tmp/a and never writes it: no entry for /tmp/a but 70's.
 * 73 writes d through the fd it inherited: an entry of its own, from its fork to its exit,
 * inherited from 70; 70's own entry has only its own 2 bytes. */
static void test_pipe_and_fork(void **state)
{
	struct model m;
	const struct m_file *f;

	(void)state;
	model_init(&m);
	fork_(&m, 1, 1, 70);
	op(&m, 2, 70, "/tmp/a", 3, false);
	clone_(&m, 3, 70, 71);
	fork_(&m, 3, 70, 71);
	cl(&m, 4, 70, 5);
	clone_(&m, 5, 70, 72);
	fork_(&m, 5, 70, 72);
	cl(&m, 6, 70, 4);
	/* 71: echo p into the pipe */
	cl(&m, 4, 71, 4);
	dup2_(&m, 5, 71, 5, 1);
	cl(&m, 6, 71, 5);
	wr(&m, 7, 71, 1, 2);
	exit_(&m, 8, 71, 70);
	/* 72: cat > /tmp/c */
	dup2_(&m, 6, 72, 4, 0);
	cl(&m, 7, 72, 4);
	op(&m, 8, 72, "/tmp/c", 4, false);
	save(&m, 9, 72, 1, 11);
	dup2_(&m, 10, 72, 4, 1);
	cl(&m, 11, 72, 4);
	sc(&m, 12, 72, "execve", 0, "\"exe\":\"/bin/busybox\",\"argv\":[\"cat\"]");
	wr(&m, 13, 72, 1, 2);
	exit_(&m, 14, 72, 70);
	/* 70: { echo y; cat /tmp/b; } > /tmp/d */
	op(&m, 20, 70, "/tmp/d", 4, false);
	save(&m, 21, 70, 1, 11);
	dup2_(&m, 22, 70, 4, 1);
	cl(&m, 23, 70, 4);
	wr(&m, 24, 70, 1, 2);
	clone_(&m, 25, 70, 73);
	fork_(&m, 25, 70, 73);
	sc(&m, 26, 73, "execve", 0, "\"exe\":\"/bin/busybox\",\"argv\":[\"cat\",\"/tmp/b\"]");
	op(&m, 27, 73, "/tmp/b", 4, true);
	sc(&m, 28, 73, "sendfile", 2, "\"fd\":1,\"a0\":1,\"a1\":4");
	cl(&m, 29, 73, 4);
	exit_(&m, 30, 73, 70);
	dup2_(&m, 31, 70, 11, 1);
	cl(&m, 32, 70, 11);
	exit_(&m, 50, 70, 1);
	run(&m);
	assert_int_equal(count_path(&m, "/tmp/a"), 1);
	f = one(&m, "/tmp/a", 70);
	assert_int_equal(f->bytes_written, 0);
	assert_int_equal(f->close, PAT(50));
	f = one(&m, "/tmp/c", 72);
	assert_int_equal(f->bytes_written, 2);
	assert_int_equal(f->close, PAT(14)); /* fd 1 survives the execve, ends at the exit */
	assert_string_equal(f->close_reason, "exit");
	f = one(&m, "/tmp/d", 70);
	assert_int_equal(f->bytes_written, 2);
	assert_int_equal(f->close, AT(31));
	assert_string_equal(f->close_reason, "dup-replaced");
	f = one(&m, "/tmp/d", 73);
	assert_true(f->inherited);
	assert_int_equal(f->bytes_written, 2);
	assert_int_equal(f->open, PAT(25));
	assert_int_equal(f->close, PAT(30));
	assert_true(f->close_inferred);
	assert_int_equal(f->fd, 1);
	assert_int_equal(m.procs[m.files[f->origin].proc].tgid, 70);
	assert_string_equal(m.files[f->origin].path, "/tmp/d");
	f = one(&m, "/tmp/b", 73);
	assert_int_equal(f->bytes_written, 0);
	assert_false(f->write);
	assert_int_equal(f->close, AT(29));
	/* nothing the pipes carried went into a file */
	assert_int_equal(m.nfiles, 5);
	model_release(&m);
}

/* close_range(4, ~0U, 0) ends /b (4) and /c (5) and fd 6 (a dup of 3: /a stays open as 3);
 * close(3) ends /a. Then /d = 3, close_range(3, ~0U, CLOSE_RANGE_CLOEXEC): still written to,
 * ends at the execve (exec-cloexec, inferred). A failed close_range changes nothing. */
static void test_close_range(void **state)
{
	struct model m;
	const struct m_file *f;

	(void)state;
	model_init(&m);
	fork_(&m, 1, 1, 70);
	op(&m, 2, 70, "/a", 3, false);
	op(&m, 3, 70, "/b", 4, false);
	op(&m, 4, 70, "/c", 5, false);
	sc(&m, 5, 70, "dup", 6, "\"a0\":3,\"old_fd\":3,\"new_fd\":6,\"cloexec\":false");
	sc(&m, 6, 70, "close_range", -22, "\"a0\":0,\"a1\":4294967295,\"a2\":255,\"fd_first\":0,\"fd_last\":4294967295,\"cloexec\":true");
	sc(&m, 7, 70, "close_range", 0, "\"a0\":4,\"a1\":4294967295,\"a2\":0,\"fd_first\":4,\"fd_last\":4294967295,\"flags\":[],\"cloexec\":false");
	wr(&m, 8, 70, 6, 9); /* EBADF in reality: fd 6 is closed, nothing counted */
	wr(&m, 9, 70, 3, 1);
	cl(&m, 10, 70, 3);
	op(&m, 11, 70, "/d", 3, false);
	sc(&m, 12, 70, "close_range", 0, "\"a0\":3,\"a1\":4294967295,\"a2\":4,\"fd_first\":3,\"fd_last\":4294967295,\"flags\":[\"CLOSE_RANGE_CLOEXEC\"],\"cloexec\":true");
	wr(&m, 13, 70, 3, 4);
	sc(&m, 14, 70, "execve", 0, "\"exe\":\"/bin/true\",\"argv\":[\"true\"]");
	wr(&m, 15, 70, 3, 100); /* a new program's fd 3 (a pipe): not /d */
	exit_(&m, 20, 70, 1);
	run(&m);
	f = one(&m, "/b", 70);
	assert_int_equal(f->close, AT(7));
	assert_string_equal(f->close_reason, "close_range");
	assert_false(f->close_inferred);
	f = one(&m, "/c", 70);
	assert_int_equal(f->close, AT(7));
	f = one(&m, "/a", 70);
	assert_int_equal(f->close, AT(10));
	assert_string_equal(f->close_reason, "close");
	assert_int_equal(f->bytes_written, 1);
	assert_int_equal(f->nfds, 2);
	f = one(&m, "/d", 70);
	assert_int_equal(f->bytes_written, 4);
	assert_int_equal(f->close, AT(14));
	assert_string_equal(f->close_reason, "exec-cloexec");
	assert_true(f->close_inferred);
	model_release(&m);
}

/* FD_CLOEXEC is per fd: F_SETFD on /e (3) makes it end at the execve; F_SETFD 0 on /f
 * (opened O_CLOEXEC as 4) keeps it past the execve; dup3(5, 7, O_CLOEXEC) of /g: fd 5 closed,
 * fd 7 ends at the execve; F_DUPFD_CLOEXEC's copy of /h (6 → 12) ends there too while 6
 * survives. dup2 of /x (8) over /y (9) ends /y at that moment; writes to 9 then count for /x. */
static void test_cloexec_and_dup_over(void **state)
{
	struct model m;
	const struct m_file *f;

	(void)state;
	model_init(&m);
	fork_(&m, 1, 1, 70);
	op(&m, 2, 70, "/e", 3, false);
	sc(&m, 3, 70, "fcntl", 0, "\"a0\":3,\"a1\":2,\"a2\":1,\"fcntl_cmd\":\"F_SETFD\",\"fd\":3,\"cloexec\":true");
	ev(&m, "{\"t\":4,\"syscall\":\"openat\",\"success\":true,\"exit\":4,\"fd\":4,\"pid\":70,\"cwd\":\"/\",\"a0\":-100,\"flags\":[\"O_RDONLY\",\"O_CLOEXEC\"],\"paths\":[{\"name\":\"/f\",\"nametype\":\"NORMAL\"}]}");
	sc(&m, 5, 70, "fcntl", 0, "\"a0\":4,\"a1\":2,\"a2\":0,\"fcntl_cmd\":\"F_SETFD\",\"fd\":4,\"cloexec\":false");
	op(&m, 6, 70, "/g", 5, false);
	sc(&m, 7, 70, "dup3", 7, "\"a0\":5,\"a1\":7,\"a2\":524288,\"old_fd\":5,\"new_fd\":7,\"flags\":[\"O_CLOEXEC\"],\"cloexec\":true");
	cl(&m, 8, 70, 5);
	op(&m, 9, 70, "/h", 6, false);
	save(&m, 10, 70, 6, 12);
	op(&m, 11, 70, "/x", 8, false);
	op(&m, 12, 70, "/y", 9, false);
	dup2_(&m, 13, 70, 8, 9);
	wr(&m, 14, 70, 9, 10);
	wr(&m, 15, 70, 7, 3);
	sc(&m, 16, 70, "execve", 0, "\"exe\":\"/bin/true\",\"argv\":[\"true\"]");
	wr(&m, 17, 70, 6, 2);
	exit_(&m, 30, 70, 1);
	run(&m);
	f = one(&m, "/e", 70);
	assert_int_equal(f->close, AT(16));
	assert_string_equal(f->close_reason, "exec-cloexec");
	f = one(&m, "/f", 70);
	assert_int_equal(f->close, AT(30));
	assert_string_equal(f->close_reason, "exit");
	f = one(&m, "/g", 70);
	assert_int_equal(f->bytes_written, 3);
	assert_int_equal(f->close, AT(16));
	assert_string_equal(f->close_reason, "exec-cloexec");
	f = one(&m, "/h", 70);
	assert_int_equal(f->bytes_written, 2);
	assert_int_equal(f->close, AT(30));
	f = one(&m, "/y", 70);
	assert_int_equal(f->close, AT(13));
	assert_string_equal(f->close_reason, "dup-replaced");
	assert_false(f->close_inferred);
	assert_int_equal(f->bytes_written, 0);
	f = one(&m, "/x", 70);
	assert_int_equal(f->bytes_written, 10);
	assert_int_equal(f->close, AT(30));
	model_release(&m);
}

/* Fork points: 70 opens /k = 3 at 2 and forks 71 (clone at 3: the child's write lands in an
 * entry of its own, from its fork to its exit), closes 3 at 5, opens /l = 3 at 6 and forks 72
 * with no audited clone: a fork point guessed from times could be wrong, so 72 inherits
 * nothing and its write to 3 counts nowhere. 74 closes its inherited fd 3 without writing: no
 * entry. 75 (registers only, a listener before issue 17) does dup2(3, 1), writes 1: /l.
 * 73 came from the snapshot as a child of 60 (forked before the recording): it inherits
 * nothing from 60's later open of /s = 3, its write to 3 counts nowhere.
 * In a pid namespace clone returns 6 and 7, not the host pids 81 and 82: paired in order,
 * 81 gets /n (3 at its fork), 82 gets /o (3 after /n's close).
 * A multi-threaded process in a pid namespace (85, thread 87) whose clone3 returned 9 (a
 * thread? a child? its flags are in memory) and 10: not paired, 86 inherits nothing.
 * runc's nsexec clones with CLONE_PARENT: 91 (forked by 90) opens /q = 5 and clones 92,
 * whose fork event names 90 as the parent; 90 has /p = 5 open then. 92's fd 5 is /q, the
 * caller's (the clone that returned 92 says who), never /p. */
static void test_inheritance(void **state)
{
	struct model m;
	const struct m_file *f;

	(void)state;
	model_init(&m);
	snap(&m, 60, 1);
	snap(&m, 73, 60);
	op(&m, 1, 60, "/s", 3, false);
	wr(&m, 2, 73, 3, 4);
	fork_(&m, 1, 1, 70);
	op(&m, 2, 70, "/k", 3, false);
	clone_(&m, 3, 70, 71);
	fork_(&m, 3, 70, 71);
	wr(&m, 4, 71, 3, 7);
	cl(&m, 5, 70, 3);
	op(&m, 6, 70, "/l", 3, false);
	fork_(&m, 7, 70, 72);
	wr(&m, 8, 72, 3, 5);
	wr(&m, 9, 70, 3, 1);
	clone_(&m, 10, 70, 74);
	fork_(&m, 10, 70, 74);
	cl(&m, 11, 74, 3);
	clone_(&m, 12, 70, 75);
	fork_(&m, 12, 70, 75);
	sc(&m, 13, 75, "dup2", 1, "\"a0\":3,\"a1\":1");
	wr(&m, 14, 75, 1, 11);
	exit_(&m, 15, 71, 70);
	exit_(&m, 16, 72, 70);
	exit_(&m, 17, 74, 70);
	exit_(&m, 18, 75, 70);
	exit_(&m, 20, 70, 1);
	/* a pid namespace */
	fork_(&m, 30, 1, 80);
	op(&m, 31, 80, "/n", 3, false);
	clone_(&m, 32, 80, 6);
	fork_(&m, 32, 80, 81);
	cl(&m, 33, 80, 3);
	op(&m, 34, 80, "/o", 3, false);
	clone_(&m, 35, 80, 7);
	fork_(&m, 35, 80, 82);
	wr(&m, 36, 81, 3, 2);
	wr(&m, 37, 82, 3, 3);
	exit_(&m, 38, 81, 80);
	exit_(&m, 39, 82, 80);
	exit_(&m, 40, 80, 1);
	/* multi-threaded, namespaced clone3 */
	fork_(&m, 41, 1, 85);
	pe(&m, "{\"t\":42,\"what\":\"fork\",\"parent_pid\":85,\"parent_tgid\":85,\"child_pid\":87,\"child_tgid\":85}");
	op(&m, 42, 85, "/t", 3, false);
	sc(&m, 43, 85, "clone3", 9, "\"a0\":140000,\"a1\":88");
	sc(&m, 44, 85, "clone3", 10, "\"a0\":140000,\"a1\":88");
	fork_(&m, 44, 85, 86);
	wr(&m, 45, 86, 3, 6);
	exit_(&m, 46, 86, 85);
	exit_(&m, 47, 85, 1);
	/* CLONE_PARENT */
	fork_(&m, 50, 1, 90);
	clone_(&m, 51, 90, 91);
	fork_(&m, 51, 90, 91);
	op(&m, 52, 90, "/p", 5, false);
	op(&m, 53, 91, "/q", 5, false);
	sc(&m, 54, 91, "clone", 92, "\"a0\":32785"); /* CLONE_PARENT|SIGCHLD */
	fork_(&m, 54, 90, 92);
	wr(&m, 55, 92, 5, 8);
	exit_(&m, 56, 92, 90);
	exit_(&m, 57, 91, 90);
	exit_(&m, 58, 90, 1);
	run(&m);
	f = one(&m, "/k", 71);
	assert_true(f->inherited);
	assert_int_equal(f->bytes_written, 7);
	assert_int_equal(f->open, PAT(3));
	assert_int_equal(f->close, PAT(15));
	f = one(&m, "/k", 70);
	assert_int_equal(f->bytes_written, 0);
	assert_int_equal(f->close, AT(5));
	assert_int_equal(count_path(&m, "/k"), 2);
	f = one(&m, "/l", 70);
	assert_int_equal(f->bytes_written, 1);
	f = one(&m, "/l", 75); /* written through fd 1, a dup2 of the inherited fd 3 */
	assert_int_equal(f->bytes_written, 11);
	assert_int_equal(f->fd, 1);
	assert_int_equal(f->nfds, 2);
	assert_int_equal(count_path(&m, "/l"), 2); /* not 72 (no clone), not 74 (unwritten) */
	f = one(&m, "/s", 60);
	assert_int_equal(f->bytes_written, 0);
	assert_int_equal(count_path(&m, "/s"), 1);
	f = one(&m, "/n", 81);
	assert_true(f->inherited);
	assert_int_equal(f->bytes_written, 2);
	f = one(&m, "/o", 82);
	assert_true(f->inherited);
	assert_int_equal(f->bytes_written, 3);
	assert_int_equal(count_path(&m, "/n"), 2);
	assert_int_equal(count_path(&m, "/o"), 2);
	f = one(&m, "/q", 92);
	assert_true(f->inherited);
	assert_int_equal(f->bytes_written, 8);
	assert_int_equal(m.procs[m.files[f->origin].proc].tgid, 91);
	assert_int_equal(count_path(&m, "/p"), 1);
	assert_int_equal(count_path(&m, "/t"), 1);
	model_release(&m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_redirection),
		cmocka_unit_test(test_exec_and_2to1),
		cmocka_unit_test(test_pipe_and_fork),
		cmocka_unit_test(test_close_range),
		cmocka_unit_test(test_cloexec_and_dup_over),
		cmocka_unit_test(test_inheritance),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
