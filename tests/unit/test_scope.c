/* test_scope.c — scope.c without the kernel: option values (and their errors), the process
 * tree of --pid (descendants, reparented grandchildren), held fork/exec/exit stored when a
 * descendant becomes kept (ancestry), uid and path decisions on real audit record text. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "scope.h"

static char err[256];

static void test_options(void **state)
{
	struct scope_config c = { 0 };

	(void)state;
	assert_int_equal(scope_config_set(&c, "scope", "containers", err, sizeof(err)), 0);
	assert_int_equal(c.kind, SCOPE_CONTAINERS);
	assert_int_equal(scope_config_set(&c, "scope", "everything", err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "everything"));
	assert_int_equal(scope_config_set(&c, "uid", "nobody", err, sizeof(err)), 0);
	assert_int_equal(c.uids[0], 65534);
	assert_int_equal(scope_config_set(&c, "exclude-uid", "0", err, sizeof(err)), 0);
	assert_int_equal(c.exclude_uids[0], 0);
	assert_int_equal(scope_config_set(&c, "uid", "no-such-user-here", err, sizeof(err)),
			 -EINVAL);
	assert_int_equal(scope_config_set(&c, "path-prefix", "relative/x", err, sizeof(err)), -EINVAL);
	assert_int_equal(scope_config_set(&c, "path-prefix", "/tmp//x/", err, sizeof(err)), 0);
	assert_string_equal(c.path_prefixes[0], "/tmp/x");
	assert_int_equal(scope_config_set(&c, "pid", "0", err, sizeof(err)), -EINVAL);
	assert_int_equal(scope_config_set(&c, "no-write", NULL, err, sizeof(err)), -ENOENT);
	assert_int_equal(scope_config_check(&c, err, sizeof(err)), 0);
	assert_true(scope_config_active(&c));
	assert_int_equal(scope_config_set(&c, "scope", "host", err, sizeof(err)), 0);
	assert_int_equal(scope_config_set(&c, "container", "web", err, sizeof(err)), 0);
	assert_int_equal(scope_config_check(&c, err, sizeof(err)), -EINVAL);
	scope_config_set(&c, "command", NULL, err, sizeof(err));
	assert_int_equal(scope_config_check(&c, err, sizeof(err)), -EINVAL); /* no argv */
	scope_config_release(&c);
	assert_false(scope_config_active(&c));
}

/* ---- a fake store: what the scope flushes ---- */
struct flushed {
	int n;
	enum cn_proc_what what[32];
	pid_t pid[32];
	char exe[32][32];
};

static void on_flush(void *opaque, const struct cn_proc_event *ev, const struct procfs_proc *info)
{
	struct flushed *f = opaque;

	if (f->n >= 32)
		return;
	f->what[f->n] = ev->what;
	f->pid[f->n] = ev->what == CN_PROC_FORK ? ev->child_tgid : ev->tgid;
	snprintf(f->exe[f->n], sizeof(f->exe[0]), "%s", info && info->exe ? info->exe : "");
	f->n++;
}

static void snap(struct scope *s, pid_t pid, pid_t ppid, uid_t uid, const char *comm,
		 const char *container)
{
	struct procfs_proc p = { .pid = pid, .tgid = pid, .ppid = ppid, .uid = uid };

	snprintf(p.comm, sizeof(p.comm), "%s", comm);
	snprintf(p.container, sizeof(p.container), "%s", container ? container : "");
	scope_snapshot_proc(s, &p);
}

static enum scope_verdict fork_ev(struct scope *s, pid_t parent, pid_t child)
{
	struct cn_proc_event ev = { .what = CN_PROC_FORK, .parent_pid = parent,
				    .parent_tgid = parent, .child_pid = child, .child_tgid = child,
				    .pid = child, .tgid = child };

	return scope_proc_event(s, &ev, NULL);
}

static enum scope_verdict exec_ev(struct scope *s, pid_t pid, const char *exe,
				  const char *container)
{
	struct cn_proc_event ev = { .what = CN_PROC_EXEC, .pid = pid, .tgid = pid };
	struct procfs_proc info = { .pid = pid, .tgid = pid };
	enum scope_verdict v;

	info.exe = strdup(exe);
	snprintf(info.comm, sizeof(info.comm), "%s", strrchr(exe, '/') + 1);
	snprintf(info.container, sizeof(info.container), "%s", container ? container : "");
	v = scope_proc_event(s, &ev, &info);
	procfs_proc_release(&info);
	return v;
}

static enum scope_verdict exit_ev(struct scope *s, pid_t pid, pid_t parent)
{
	struct cn_proc_event ev = { .what = CN_PROC_EXIT, .pid = pid, .tgid = pid,
				    .parent_pid = parent, .parent_tgid = parent };

	return scope_proc_event(s, &ev, NULL);
}

static void test_pid_tree(void **state)
{
	struct scope_config c = { 0 };
	struct flushed f = { 0 };
	struct scope *s;

	(void)state;
	scope_config_set(&c, "pid", "100", err, sizeof(err));
	assert_int_equal(scope_new(&c, on_flush, &f, &s), 0);
	snap(s, 1, 0, 0, "init", NULL);
	snap(s, 101, 100, 0, "sh", NULL); /* a child listed before its parent */
	snap(s, 100, 50, 0, "sh", NULL);
	snap(s, 50, 1, 0, "bash", NULL);
	snap(s, 200, 1, 0, "other", NULL);
	scope_snapshot_done(s);
	assert_false(scope_roots_gone(s));
	assert_int_equal(fork_ev(s, 101, 300), SCOPE_KEEP);       /* grandchild alive at start */
	assert_int_equal(fork_ev(s, 200, 400), SCOPE_DROP_TREE);
	assert_int_equal(exec_ev(s, 400, "/bin/true", NULL), SCOPE_DROP_TREE);
	assert_int_equal(fork_ev(s, 300, 500), SCOPE_KEEP);
	assert_int_equal(exit_ev(s, 300, 101), SCOPE_KEEP);       /* 500 is an orphan now */
	assert_int_equal(fork_ev(s, 500, 600), SCOPE_KEEP);       /* still in the tree */
	assert_int_equal(exit_ev(s, 400, 200), SCOPE_DROP_TREE);
	/* 100's ancestors were snapshot processes: nothing held, nothing flushed */
	assert_int_equal(f.n, 0);
	assert_int_equal(exit_ev(s, 100, 50), SCOPE_KEEP);
	assert_true(scope_roots_gone(s));
	scope_free(s);
	scope_config_release(&c);
}

#define CID "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define CID2 "fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210"

/* --container: the runtime's forks and execs are held, then stored when the container's
 * init appears; another container's are never stored. */
static void test_container_ancestry(void **state)
{
	struct scope_config c = { 0 };
	struct flushed f = { 0 };
	struct scope *s;

	(void)state;
	scope_config_set(&c, "container", "0123456789ab", err, sizeof(err));
	c.docker_root = "/nonexistent";
	assert_int_equal(scope_new(&c, on_flush, &f, &s), 0);
	snap(s, 1, 0, 0, "init", NULL);
	snap(s, 10, 1, 0, "containerd-shim", NULL);
	scope_snapshot_done(s);
	/* shim → runc (20) → runc init (30) → the container's sh */
	assert_int_equal(fork_ev(s, 10, 20), SCOPE_DROP_CONTAINER);
	assert_int_equal(exec_ev(s, 20, "/usr/sbin/runc", NULL), SCOPE_DROP_CONTAINER);
	assert_int_equal(fork_ev(s, 20, 30), SCOPE_DROP_CONTAINER);
	assert_int_equal(exec_ev(s, 30, "/usr/sbin/runc", NULL), SCOPE_DROP_CONTAINER);
	assert_int_equal(fork_ev(s, 30, 31), SCOPE_DROP_CONTAINER); /* runc:[1:CHILD] */
	assert_int_equal(exit_ev(s, 30, 20), SCOPE_DROP_CONTAINER);
	assert_int_equal(f.n, 0);
	/* 31 joined the cgroup and execs the container's command */
	assert_int_equal(exec_ev(s, 31, "/bin/sh", CID), SCOPE_KEEP);
	/* held: 31's fork, 30's fork, exec and exit, 20's fork and exec */
	assert_int_equal(f.n, 6);
	assert_int_equal(f.what[0], CN_PROC_FORK);
	assert_int_equal(f.pid[0], 31);
	assert_int_equal(f.pid[1], 30);
	assert_int_equal(f.what[2], CN_PROC_EXEC);
	assert_string_equal(f.exe[2], "/usr/sbin/runc");
	assert_int_equal(f.what[3], CN_PROC_EXIT);
	assert_int_equal(f.pid[4], 20);
	/* the runtime is ancestry now: its exit is kept */
	assert_int_equal(exit_ev(s, 20, 10), SCOPE_KEEP);
	/* another container: nothing stored */
	assert_int_equal(fork_ev(s, 10, 40), SCOPE_DROP_CONTAINER);
	assert_int_equal(exec_ev(s, 40, "/bin/sh", CID2), SCOPE_DROP_CONTAINER);
	assert_int_equal(exit_ev(s, 40, 10), SCOPE_DROP_CONTAINER);
	assert_int_equal(f.n, 6);
	scope_free(s);
	scope_config_release(&c);
}

/* ---- audit events from record text ---- */
struct fake_event {
	struct audit_event ev;
	struct audit_record *recs[8];
};

static void make_event(struct fake_event *fe, const char *const *texts, const int *types,
		       size_t n)
{
	memset(fe, 0, sizeof(*fe));
	for (size_t i = 0; i < n; i++)
		assert_int_equal(audit_record_parse(types[i], texts[i], strlen(texts[i]), &fe->recs[i]),
				 0);
	fe->ev.records = fe->recs;
	fe->ev.nrecords = n;
}

static void free_event(struct fake_event *fe)
{
	for (size_t i = 0; i < fe->ev.nrecords; i++)
		audit_record_free(fe->recs[i]);
}


static enum scope_verdict open_ev(struct scope *s, const char *uid, const char *cwd,
				  const char *name)
{
	char sc[512], cw[256], path[256];
	const char *t[3] = { sc, cw, path };
	const int ty[3] = { AUDIT_T_SYSCALL, AUDIT_T_CWD, AUDIT_T_PATH };
	struct fake_event fe;
	enum scope_verdict v;

	snprintf(sc, sizeof(sc), "audit(1795434300.444:1): arch=c000003e syscall=257 success=yes "
		 "exit=3 a0=ffffff9c a1=7ffd a2=0 a3=0 items=1 ppid=1 pid=77 auid=4294967295 "
		 "uid=%s gid=0 euid=0 comm=\"cat\" exe=\"/bin/cat\" key=\"lineage\"", uid);
	snprintf(cw, sizeof(cw), "audit(1795434300.444:1): cwd=\"%s\"", cwd);
	snprintf(path, sizeof(path), "audit(1795434300.444:1): item=0 name=\"%s\" inode=1 "
		 "dev=00:01 mode=0100644 nametype=NORMAL", name);
	make_event(&fe, t, ty, 3);
	v = scope_audit_event(s, &fe.ev, 77, NULL);
	free_event(&fe);
	return v;
}

static void test_audit_uid_path(void **state)
{
	struct scope_config c = { 0 };
	struct flushed f = { 0 };
	struct scope *s;
	bson_t counters = BSON_INITIALIZER;
	bson_iter_t it;

	(void)state;
	scope_config_set(&c, "exclude-uid", "1000", err, sizeof(err));
	scope_config_set(&c, "exclude-path-prefix", "/proc", err, sizeof(err));
	scope_config_set(&c, "path-prefix", "/home", err, sizeof(err));
	assert_int_equal(scope_new(&c, on_flush, &f, &s), 0);
	assert_int_equal(open_ev(s, "0", "/", "/home/a"), SCOPE_KEEP);
	assert_int_equal(open_ev(s, "1000", "/", "/home/a"), SCOPE_DROP_UID);
	assert_int_equal(open_ev(s, "0", "/", "/etc/passwd"), SCOPE_DROP_PATH);
	assert_int_equal(open_ev(s, "0", "/home/u", "notes.txt"), SCOPE_KEEP); /* relative */
	assert_int_equal(open_ev(s, "0", "/", "/homework/x"), SCOPE_DROP_PATH); /* not a prefix */
	assert_int_equal(open_ev(s, "0", "/proc", "self/status"), SCOPE_DROP_PATH);
	scope_append_counters(s, &counters);
	assert_true(bson_iter_init(&it, &counters) &&
		    bson_iter_find_descendant(&it, "scope_dropped.audit.path", &it));
	assert_int_equal(bson_iter_as_int64(&it), 3);
	assert_true(bson_iter_init_find(&it, &counters, "scope_dropped_total"));
	assert_int_equal(bson_iter_as_int64(&it), 4);
	assert_string_equal(scope_summary(s), "exclude-uid=1000,path=/home,exclude-path=/proc");
	bson_destroy(&counters);
	scope_free(s);
	scope_config_release(&c);
}

/* Nothing asked: everything kept, nothing tracked. */
static void test_inactive(void **state)
{
	struct scope_config c = { 0 };
	struct flushed f = { 0 };
	struct scope *s;

	(void)state;
	assert_int_equal(scope_new(&c, on_flush, &f, &s), 0);
	assert_int_equal(fork_ev(s, 1, 2), SCOPE_KEEP);
	assert_int_equal(open_ev(s, "1000", "/", "/proc/x"), SCOPE_KEEP);
	assert_string_equal(scope_summary(s), "all");
	scope_free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_options),
		cmocka_unit_test(test_pid_tree),
		cmocka_unit_test(test_container_ancestry),
		cmocka_unit_test(test_audit_uid_path),
		cmocka_unit_test(test_inactive),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
