/* test_filter_steps.c — each filter step on small hand-made sessions: documents written as
 * JSON the way the listener stores them (DESIGN.md names), converted with bson_new_from_json,
 * run through load → merge → tree → rootfs → files. Times: proc events at ts_ns = t ms since
 * boot, audit events at "t" ms; wall = BASE + t. Every expected value is worked out by hand
 * from the little scenario in the test's comment. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "emit.h"
#include "files.h"
#include "filter_session.h"
#include "load.h"
#include "merge.h"
#include "model.h"
#include "rootfs.h"
#include "tree.h"

#define CA "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define CB "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"


static void run(struct model *m)
{
	load_finish(m);
	merge_run(m);
	tree_run(m);
	rootfs_run(m);
	files_run(m);
}

static const struct m_proc *byk(const struct model *m, const char *key)
{
	for (size_t i = 0; i < m->nprocs; i++)
		if (strcmp(m->procs[i].key, key) == 0)
			return &m->procs[i];
	fail_msg("no process %s", key);
	return NULL;
}

static int ix(const struct model *m, const struct m_proc *p)
{
	return (int)(p - m->procs);
}

/* 100 forks 200 at 10 ms; 200 exits at 20 (under 100); PID 200 comes back at 30 as a child
 * of 100 and runs to the end. Two lifetimes, audit events land in the right one. */
static void test_pid_reuse(void **state)
{
	struct model m;

	(void)state;
	model_init(&m);
	pe(&m, "{\"t\":10,\"what\":\"fork\",\"parent_pid\":100,\"parent_tgid\":100,\"child_pid\":200,\"child_tgid\":200}");
	pe(&m, "{\"t\":20,\"what\":\"exit\",\"pid\":200,\"tgid\":200,\"exit_code\":256,\"parent_pid\":100,\"parent_tgid\":100}");
	pe(&m, "{\"t\":30,\"what\":\"fork\",\"parent_pid\":100,\"parent_tgid\":100,\"child_pid\":200,\"child_tgid\":200}");
	ev(&m, "{\"t\":15,\"syscall\":\"chdir\",\"success\":true,\"exit\":0,\"pid\":200,\"ppid\":100,\"cwd\":\"/first\"}");
	ev(&m, "{\"t\":35,\"syscall\":\"chdir\",\"success\":true,\"exit\":0,\"pid\":200,\"ppid\":100,\"cwd\":\"/second\"}");
	run(&m);
	assert_int_equal(m.nprocs, 3); /* 100 (placeholder) and two lifetimes of 200 */
	{
		const struct m_proc *a = byk(&m, "200@10000000"), *b = byk(&m, "200@30000000");

		assert_true(a->exited);
		assert_int_equal(a->exit, (BASE_MS + 20) * MS);
		assert_int_equal(a->exit_code, 1); /* wait status 256 = exit(1) */
		assert_int_equal(a->nevents, 1);
		assert_string_equal(a->cwd, "/first");
		assert_false(b->exited);          /* still running: no invented exit */
		assert_int_equal(b->exit, MODEL_NO_TIME);
		assert_int_equal(b->nevents, 1);
		assert_string_equal(b->cwd, "/second");
		assert_int_equal(byk(&m, "100@?1")->nchildren, 2);
	}
	model_release(&m);
}

/* 100 forks 200; 200 creates thread 201 (a thread fork reports the group's parent, 100, as
 * parent); 100 dies, 200 is reparented to 1 and later reports ppid=1 in audit. */
static void test_threads_and_reparenting(void **state)
{
	struct model m;
	const struct m_proc *p;

	(void)state;
	model_init(&m);
	pe(&m, "{\"t\":1,\"what\":\"fork\",\"parent_pid\":1,\"parent_tgid\":1,\"child_pid\":100,\"child_tgid\":100}");
	pe(&m, "{\"t\":2,\"what\":\"fork\",\"parent_pid\":100,\"parent_tgid\":100,\"child_pid\":200,\"child_tgid\":200}");
	pe(&m, "{\"t\":3,\"what\":\"fork\",\"parent_pid\":100,\"parent_tgid\":100,\"child_pid\":201,\"child_tgid\":200}");
	pe(&m, "{\"t\":4,\"what\":\"exit\",\"pid\":100,\"tgid\":100,\"exit_code\":9,\"parent_pid\":1,\"parent_tgid\":1}");
	ev(&m, "{\"t\":6,\"syscall\":\"openat\",\"success\":true,\"exit\":3,\"pid\":200,\"ppid\":1,\"cwd\":\"/\",\"a0\":-100,\"paths\":[{\"name\":\"/x\",\"nametype\":\"NORMAL\"}]}");
	pe(&m, "{\"t\":8,\"what\":\"exit\",\"pid\":200,\"tgid\":200,\"exit_code\":0,\"parent_pid\":1,\"parent_tgid\":1}");
	pe(&m, "{\"t\":9,\"what\":\"exit\",\"pid\":201,\"tgid\":200,\"exit_code\":0,\"parent_pid\":0,\"parent_tgid\":0}");
	run(&m);
	p = byk(&m, "200@2000000");
	assert_int_equal(p->nthreads, 2);
	assert_int_equal(p->threads[1], 201);
	assert_int_equal(p->parent, ix(&m, byk(&m, "100@1000000"))); /* from the fork */
	assert_int_equal(p->parent_src, PSRC_FORK);
	assert_int_equal(p->parent_at_exit, ix(&m, byk(&m, "1@?1")));  /* reparented */
	assert_int_equal(p->exit, (BASE_MS + 9) * MS); /* the last thread's exit */
	/* the thread fork is no edge: 100 has one child */
	assert_int_equal(byk(&m, "100@1000000")->nchildren, 1);
	/* killed by SIGKILL: wait status 9 */
	assert_int_equal(byk(&m, "100@1000000")->signal, 9);
	/* the file never closed: closed by the process exit, inferred */
	assert_int_equal(m.nfiles, 1);
	assert_true(m.files[0].close_inferred);
	assert_int_equal(m.files[0].close, (BASE_MS + 9) * MS);
	model_release(&m);
}

/* One exec is seen twice, by the proc connector (exec event, what /proc showed) and by audit
 * (execve): one m_exec, not two (real runs: every exec was doubled). 100 runs
 * `sh -c "A; cat f"`, which execs cat in place (busybox does): proc execs at 20 (sh) and 25
 * (cat), audit execves at 23 (sh: closer in time to the proc cat than to the proc sh, so only
 * the argv tells them apart) and 26 (cat). 101's exec event says gone (no exe, no argv, no
 * container): audit's execve fills it, and its container comes from audit. */
static void test_exec_seen_twice(void **state)
{
	struct model m;
	const struct m_proc *p;

	(void)state;
	model_init(&m);
	pe(&m, "{\"t\":10,\"what\":\"fork\",\"parent_pid\":1,\"parent_tgid\":1,\"child_pid\":100,\"child_tgid\":100}");
	pe(&m, "{\"t\":20,\"what\":\"exec\",\"pid\":100,\"tgid\":100,\"exe\":\"/bin/busybox\",\"argv\":[\"sh\",\"-c\",\"A; cat f\"],\"container\":\"" CA "\"}");
	pe(&m, "{\"t\":21,\"what\":\"fork\",\"parent_pid\":100,\"parent_tgid\":100,\"child_pid\":101,\"child_tgid\":101}");
	pe(&m, "{\"t\":22,\"what\":\"exec\",\"pid\":101,\"tgid\":101,\"exe\":null,\"argv\":null,\"gone\":true}");
	pe(&m, "{\"t\":25,\"what\":\"exec\",\"pid\":100,\"tgid\":100,\"exe\":\"/bin/busybox\",\"argv\":[\"cat\",\"f\"],\"container\":\"" CA "\"}");
	ev(&m, "{\"t\":21,\"syscall\":\"execve\",\"success\":true,\"exit\":0,\"pid\":101,\"ppid\":100,\"exe\":\"/bin/busybox\",\"argv\":[\"ls\",\"/etc\"],\"container\":\"" CA "\"}");
	ev(&m, "{\"t\":23,\"syscall\":\"execve\",\"success\":true,\"exit\":0,\"pid\":100,\"ppid\":1,\"exe\":\"/bin/busybox\",\"argv\":[\"sh\",\"-c\",\"A; cat f\"],\"container\":\"" CA "\"}");
	ev(&m, "{\"t\":26,\"syscall\":\"execve\",\"success\":true,\"exit\":0,\"pid\":100,\"ppid\":1,\"exe\":\"/bin/busybox\",\"argv\":[\"cat\",\"f\"],\"container\":\"" CA "\"}");
	run(&m);
	p = byk(&m, "100@10000000");
	assert_int_equal(p->nexecs, 2);
	assert_int_equal(p->execs[0].ts, (BASE_MS + 20) * MS); /* the proc connector's time */
	assert_string_equal(p->execs[0].argv[0], "sh");
	assert_string_equal(p->execs[1].argv[0], "cat");
	assert_true(p->execs[0].from_proc && p->execs[0].from_audit);
	assert_true(p->execs[1].from_proc && p->execs[1].from_audit);
	p = byk(&m, "101@21000000");
	assert_int_equal(p->nexecs, 1);
	assert_string_equal(p->execs[0].exe, "/bin/busybox");
	assert_int_equal(p->execs[0].argc, 2);
	assert_string_equal(p->execs[0].argv[0], "ls");
	assert_string_equal(p->container, CA);
	assert_int_equal(p->depth, 1); /* a child in 100's container tree */
	model_release(&m);
}

/* processes alive before the session: parents from the snapshot; a process seen only by
 * audit gets its parent from the audited clone, its exit from exit_group */
static void test_snapshot_and_audit_only(void **state)
{
	struct model m;
	bson_t *s;
	const struct m_proc *p;

	(void)state;
	model_init(&m);
	s = json("{\"pid\":1,\"tgid\":1,\"ppid\":0,\"start_ticks\":100,\"exe\":\"/sbin/init\"}");
	load_snapshot_doc(&m, s);
	bson_destroy(s);
	s = json("{\"pid\":50,\"tgid\":50,\"ppid\":1,\"start_ticks\":500,\"exe\":\"/usr/bin/bash\",\"cwd\":\"/root\"}");
	load_snapshot_doc(&m, s);
	bson_destroy(s);
	ev(&m, "{\"t\":10,\"syscall\":\"clone\",\"success\":true,\"exit\":60,\"a0\":18874385,\"pid\":50,\"ppid\":1}");
	ev(&m, "{\"t\":11,\"syscall\":\"execve\",\"success\":true,\"exit\":0,\"pid\":60,\"ppid\":50,\"exe\":\"/usr/bin/cat\",\"argv\":[\"cat\",\"f\"]}");
	ev(&m, "{\"t\":12,\"syscall\":\"exit_group\",\"a0\":3,\"pid\":60,\"ppid\":50}");
	run(&m);
	p = byk(&m, "50@5000000000"); /* 500 ticks of 10 ms */
	assert_int_equal(p->parent_src, PSRC_SNAPSHOT);
	assert_int_equal(p->parent, ix(&m, byk(&m, "1@1000000000")));
	p = byk(&m, "60@?1");
	assert_int_equal(p->parent, ix(&m, byk(&m, "50@5000000000")));
	assert_int_equal(p->parent_src, PSRC_AUDIT_CLONE);
	assert_true(p->exited);
	assert_int_equal(p->exit_src, XSRC_AUDIT);
	assert_int_equal(p->exit_code, 3);
	assert_int_equal(p->nexecs, 1);
	assert_string_equal(p->execs[0].argv[1], "f");
	assert_int_equal(m.n.audit_only_processes, 1);
	model_release(&m);
}

/* open/close pairing by (tgid, fd) in order, with cwd, dirfd, reuse, failures, cloexec */
static void test_files_pairing(void **state)
{
	struct model m;
	const struct m_file *f;

	(void)state;
	model_init(&m);
	pe(&m, "{\"t\":1,\"what\":\"fork\",\"parent_pid\":1,\"parent_tgid\":1,\"child_pid\":70,\"child_tgid\":70}");
#define OPEN(t, fd, name, fl) \
	"{\"t\":" #t ",\"syscall\":\"openat\",\"success\":true,\"exit\":" #fd ",\"fd\":" #fd \
	",\"pid\":70,\"cwd\":\"/home/u\",\"a0\":-100,\"flags\":" fl ",\"paths\":[{\"name\":\"" name "\",\"nametype\":\"NORMAL\"}]}"
	ev(&m, OPEN(2, 3, "../x/./f", "[\"O_WRONLY\",\"O_CREAT\"]"));
	ev(&m, "{\"t\":3,\"syscall\":\"write\",\"success\":true,\"exit\":5,\"fd\":3,\"pid\":70}");
	ev(&m, "{\"t\":4,\"syscall\":\"close\",\"success\":true,\"exit\":0,\"fd\":3,\"pid\":70}");
	ev(&m, OPEN(5, 3, "/etc/a", "[\"O_RDONLY\"]"));
	ev(&m, OPEN(6, 3, "/etc/b", "[\"O_RDONLY\"]")); /* close of /etc/a not recorded */
	ev(&m, "{\"t\":7,\"syscall\":\"openat\",\"success\":false,\"exit\":-13,\"pid\":70,\"cwd\":\"/\",\"a0\":-100,\"paths\":[{\"name\":\"/root/secret\",\"nametype\":\"NORMAL\"}]}");
	ev(&m, OPEN(8, 4, "/srv", "[\"O_RDONLY\",\"O_DIRECTORY\",\"O_CLOEXEC\"]"));
	ev(&m, "{\"t\":9,\"syscall\":\"openat\",\"success\":true,\"exit\":5,\"fd\":5,\"pid\":70,\"cwd\":\"/home/u\",\"a0\":4,\"flags\":[\"O_RDONLY\"],\"paths\":[{\"name\":\"data/../d.txt\",\"nametype\":\"NORMAL\"}]}");
	ev(&m, "{\"t\":10,\"syscall\":\"openat\",\"success\":true,\"exit\":6,\"fd\":6,\"pid\":70,\"cwd\":\"/home/u\",\"a0\":42,\"flags\":[\"O_RDONLY\"],\"paths\":[{\"name\":\"z\",\"nametype\":\"NORMAL\"}]}");
	ev(&m, "{\"t\":11,\"syscall\":\"execve\",\"success\":true,\"exit\":0,\"pid\":70,\"exe\":\"/bin/true\",\"argv\":[\"true\"]}");
	pe(&m, "{\"t\":20,\"what\":\"exit\",\"pid\":70,\"tgid\":70,\"exit_code\":0,\"parent_pid\":1,\"parent_tgid\":1}");
	run(&m);
	assert_int_equal(m.nfiles, 7);
	f = &m.files[0];
	assert_string_equal(f->path, "/home/x/f");
	assert_true(f->write);
	assert_int_equal(f->bytes_written, 5);
	assert_int_equal(f->close, (BASE_MS + 4) * MS);
	assert_false(f->close_inferred);
	f = &m.files[1]; /* /etc/a: fd 3 reused by /etc/b */
	assert_string_equal(f->path, "/etc/a");
	assert_true(f->close_inferred);
	assert_string_equal(f->close_reason, "fd-reused");
	assert_int_equal(f->close, (BASE_MS + 6) * MS);
	f = &m.files[2]; /* /etc/b: never closed, closed by the exit */
	assert_string_equal(f->close_reason, "exit");
	assert_int_equal(f->close, (BASE_MS + 20) * MS);
	f = &m.files[3]; /* failed open: kept, not paired */
	assert_true(f->failed);
	assert_int_equal(f->error, -13);
	assert_int_equal(f->fd, -1);
	f = &m.files[4]; /* /srv, O_CLOEXEC: ends at the execve */
	assert_string_equal(f->close_reason, "exec-cloexec");
	assert_int_equal(f->close, (BASE_MS + 11) * MS);
	f = &m.files[5]; /* relative to directory fd 4 = /srv */
	assert_string_equal(f->path, "/srv/d.txt");
	assert_true(f->path_resolved);
	f = &m.files[6]; /* directory fd 42 never seen */
	assert_false(f->path_resolved);
	assert_int_equal(m.n.unresolved_dirfd, 1);
	/* not in a container: the host path is the path */
	assert_string_equal(m.files[0].host_path, "/home/x/f");
	model_release(&m);
}

/* container A started by a runtime (pivot_root with chdir), plus a setns'd exec process;
 * container B known only from cgroup enrichment (no pivot_root recorded): rootfs unknown */
static void test_containers(void **state)
{
	struct model m;
	const struct m_cont *a = NULL, *b = NULL;
	const struct m_proc *init, *sh2, *kid;

	(void)state;
	model_init(&m);
	/* shim 10 → runc create 11 → runc init 12 (pivot_root, then exec sh); sh forks 13 */
	pe(&m, "{\"t\":1,\"what\":\"fork\",\"parent_pid\":1,\"parent_tgid\":1,\"child_pid\":10,\"child_tgid\":10}");
	pe(&m, "{\"t\":2,\"what\":\"fork\",\"parent_pid\":10,\"parent_tgid\":10,\"child_pid\":11,\"child_tgid\":11}");
	pe(&m, "{\"t\":3,\"what\":\"exec\",\"pid\":11,\"tgid\":11,\"exe\":\"/usr/sbin/runc\",\"argv\":[\"runc\",\"create\",\"--bundle\",\"/b\",\"" CA "\"],\"container\":null}");
	pe(&m, "{\"t\":4,\"what\":\"fork\",\"parent_pid\":11,\"parent_tgid\":11,\"child_pid\":12,\"child_tgid\":12}");
	pe(&m, "{\"t\":5,\"what\":\"comm\",\"pid\":12,\"tgid\":12,\"comm\":\"runc:[2:INIT]\"}");
	ev(&m, "{\"t\":6,\"syscall\":\"chdir\",\"success\":true,\"exit\":0,\"pid\":12,\"cwd\":\"/run/x\",\"paths\":[{\"name\":\"/var/lib/r/merged\",\"inode\":77,\"dev\":\"00:27\"}]}");
	ev(&m, "{\"t\":7,\"syscall\":\"pivot_root\",\"success\":true,\"exit\":0,\"pid\":12,\"cwd\":\"/\",\"paths\":[{\"name\":\".\",\"inode\":77,\"dev\":\"00:27\"},{\"name\":\".\",\"inode\":77,\"dev\":\"00:27\"}]}");
	pe(&m, "{\"t\":8,\"what\":\"exec\",\"pid\":12,\"tgid\":12,\"exe\":\"/bin/sh\",\"argv\":[\"sh\"],\"container\":\"" CA "\"}");
	pe(&m, "{\"t\":9,\"what\":\"fork\",\"parent_pid\":12,\"parent_tgid\":12,\"child_pid\":13,\"child_tgid\":13}");
	ev(&m, "{\"t\":10,\"syscall\":\"openat\",\"success\":true,\"exit\":3,\"fd\":3,\"pid\":13,\"cwd\":\"/tmp\",\"a0\":-100,\"flags\":[\"O_RDONLY\"],\"paths\":[{\"name\":\"../etc/motd\",\"nametype\":\"NORMAL\"}]}");
	/* docker exec: runc exec 14 (child of the shim) → 15 setns'd, exec sh, known by cgroup */
	pe(&m, "{\"t\":11,\"what\":\"fork\",\"parent_pid\":10,\"parent_tgid\":10,\"child_pid\":14,\"child_tgid\":14}");
	pe(&m, "{\"t\":12,\"what\":\"fork\",\"parent_pid\":14,\"parent_tgid\":14,\"child_pid\":15,\"child_tgid\":15}");
	pe(&m, "{\"t\":13,\"what\":\"exec\",\"pid\":15,\"tgid\":15,\"exe\":\"/bin/sh\",\"argv\":[\"sh\",\"-c\",\"id\"],\"container\":\"" CA "\"}");
	/* container B: a process whose cgroup says B, parent on the host; child inherits */
	pe(&m, "{\"t\":14,\"what\":\"fork\",\"parent_pid\":1,\"parent_tgid\":1,\"child_pid\":20,\"child_tgid\":20}");
	pe(&m, "{\"t\":15,\"what\":\"exec\",\"pid\":20,\"tgid\":20,\"exe\":\"/app\",\"argv\":[\"app\"],\"container\":\"" CB "\"}");
	pe(&m, "{\"t\":16,\"what\":\"fork\",\"parent_pid\":20,\"parent_tgid\":20,\"child_pid\":21,\"child_tgid\":21}");
	ev(&m, "{\"t\":17,\"syscall\":\"open\",\"success\":true,\"exit\":3,\"pid\":21,\"cwd\":\"/\",\"a1\":0,\"paths\":[{\"name\":\"/data\",\"nametype\":\"NORMAL\"}]}");
	run(&m);
	assert_int_equal(m.nconts, 2);
	for (size_t i = 0; i < 2; i++) {
		if (strcmp(m.conts[i].id, CA) == 0)
			a = &m.conts[i];
		if (strcmp(m.conts[i].id, CB) == 0)
			b = &m.conts[i];
	}
	assert_non_null(a);
	assert_non_null(b);
	init = byk(&m, "12@4000000");
	sh2 = byk(&m, "15@12000000");
	kid = byk(&m, "13@9000000");
	assert_int_equal(a->init, ix(&m, init));
	assert_string_equal(a->rootfs, "/var/lib/r/merged");
	assert_string_equal(a->rootfs_src, "chdir+pivot_root");
	assert_int_equal(a->ntree, 3);
	assert_int_equal(a->nexec_roots, 1);
	assert_int_equal(a->exec_roots[0], ix(&m, sh2));
	assert_int_equal(kid->depth, 1);
	assert_string_equal(kid->container, CA);
	assert_string_equal(kid->container_src, "inherited");
	assert_string_equal(kid->rootfs, "/var/lib/r/merged");
	assert_int_equal(sh2->entry, ENTRY_EXEC);
	assert_int_equal(byk(&m, "11@2000000")->cont, -1); /* the runtime is on the host */
	/* files: cwd-relative, cleaned, then mapped through the rootfs */
	assert_string_equal(m.files[0].path, "/etc/motd");
	assert_string_equal(m.files[0].host_path, "/var/lib/r/merged/etc/motd");
	/* B: init = its first process, rootfs unknown and counted, host path unknown */
	assert_int_equal(b->init, ix(&m, byk(&m, "20@14000000")));
	assert_null(b->rootfs);
	assert_int_equal(m.n.containers_without_rootfs, 1);
	assert_string_equal(m.files[1].path, "/data");
	assert_null(m.files[1].host_path);
	assert_string_equal(m.files[1].flags[0], "O_RDONLY"); /* decoded from a1 */
	model_release(&m);
}

/* The filter asks the server for no order (a server-side sort of a whole session makes the
 * server hold it in memory): documents that arrive in reverse must give the same result.
 * 70 forks 71; 71 opens f as fd 3, writes, closes, opens g as fd 3 and exits. */
static void test_out_of_order_arrival(void **state)
{
	struct model m;
	const struct m_proc *p;

	(void)state;
	model_init(&m);
	pe(&m, "{\"seq\":2,\"t\":9,\"what\":\"exit\",\"pid\":71,\"tgid\":71,\"exit_code\":0,\"parent_pid\":70,\"parent_tgid\":70}");
	pe(&m, "{\"seq\":1,\"t\":1,\"what\":\"fork\",\"parent_pid\":70,\"parent_tgid\":70,\"child_pid\":71,\"child_tgid\":71}");
	ev(&m, "{\"seq\":4,\"t\":6,\"syscall\":\"openat\",\"success\":true,\"exit\":3,\"fd\":3,\"pid\":71,\"cwd\":\"/\",\"a0\":-100,\"flags\":[\"O_RDONLY\"],\"paths\":[{\"name\":\"/g\",\"nametype\":\"NORMAL\"}]}");
	ev(&m, "{\"seq\":3,\"t\":5,\"syscall\":\"close\",\"success\":true,\"exit\":0,\"fd\":3,\"pid\":71}");
	ev(&m, "{\"seq\":2,\"t\":4,\"syscall\":\"write\",\"success\":true,\"exit\":7,\"fd\":3,\"pid\":71}");
	ev(&m, "{\"seq\":1,\"t\":3,\"syscall\":\"openat\",\"success\":true,\"exit\":3,\"fd\":3,\"pid\":71,\"cwd\":\"/\",\"a0\":-100,\"flags\":[\"O_WRONLY\"],\"paths\":[{\"name\":\"/f\",\"nametype\":\"NORMAL\"}]}");
	run(&m);
	p = byk(&m, "71@1000000");
	assert_int_equal(m.procs[p->parent].tgid, 70);
	assert_int_equal(p->exit, (BASE_MS + 9) * MS);
	assert_int_equal(m.nfiles, 2);
	assert_string_equal(m.files[0].path, "/f");
	assert_int_equal(m.files[0].bytes_written, 7);
	assert_int_equal(m.files[0].close, (BASE_MS + 5) * MS);
	assert_false(m.files[0].close_inferred);
	assert_string_equal(m.files[1].path, "/g");
	assert_string_equal(m.files[1].close_reason, "exit");
	model_release(&m);
}

/* A document is at most 16 MiB: a container of 300k processes (init and its children) gets a
 * tree cut short and flagged, init's children likewise; a child's document is whole. */
static void test_emit_caps(void **state)
{
	const size_t N = 300000;
	struct model m;
	struct m_cont *c;
	bson_oid_t sid;
	bson_t d;
	bson_iter_t it, sub;
	size_t n;

	(void)state;
	model_init(&m);
	bson_oid_init(&sid, NULL);
	for (size_t k = 0; k < N; k++) {
		int i = model_proc_new(&m, 1000 + (int)k);

		snprintf(m.procs[i].key, sizeof(m.procs[i].key), "%zu@%zu", 1000 + k, k * 1000);
		m.procs[i].depth = k ? 1 : 0;
		if (k) {
			m.procs[i].parent = 0;
			model_proc_add_child(&m.procs[0], i);
		}
	}
	c = MODEL_PUSH(m.conts, m.nconts, m.cap_conts);
	m.nconts++;
	c->id = CA;
	c->init = 0;
	c->start = c->end = MODEL_NO_TIME;
	for (size_t k = 0; k < N; k++) {
		*MODEL_PUSH(c->tree, c->ntree, c->cap_tree) = (int)k;
		c->ntree++;
	}

	bson_init(&d);
	emit_container_doc(&m, 0, &sid, "h", &d);
	assert_true(d.len < 16u * 1024 * 1024);
	assert_true(bson_iter_init_find(&it, &d, "tree_truncated") && bson_iter_as_bool(&it));
	assert_true(bson_iter_init_find(&it, &d, "processes"));
	assert_int_equal(bson_iter_as_int64(&it), N);
	assert_true(bson_iter_init_find(&it, &d, "tree") && bson_iter_recurse(&it, &sub));
	for (n = 0; bson_iter_next(&sub); n++)
		;
	assert_true(n > 500 && n < N); /* the tree stops at 256 KiB (emit.c TREE_SOFT_MAX) */
	assert_false(bson_iter_init_find(&it, &d, "exec_roots_truncated"));
	bson_destroy(&d);

	bson_init(&d);
	emit_process_doc(&m, 0, &sid, "h", &d);
	assert_true(d.len < 16u * 1024 * 1024);
	assert_true(bson_iter_init_find(&it, &d, "children_truncated") && bson_iter_as_bool(&it));
	assert_false(bson_iter_init_find(&it, &d, "threads_truncated"));
	bson_destroy(&d);

	bson_init(&d);
	emit_process_doc(&m, 1, &sid, "h", &d);
	assert_false(bson_iter_init_find(&it, &d, "children_truncated"));
	assert_false(bson_iter_init_find(&it, &d, "execs_truncated"));
	bson_destroy(&d);
	model_release(&m);
}

static void test_runtime_arg(void **state)
{
	const char *create[] = { "runc", "--root", "/r", "create", "--bundle", "/b", CA };
	const char *state_[] = { "runc", "state", CA };
	const char *other[] = { "sh", "-c", CA };

	(void)state;
	assert_string_equal(tree_runtime_container_arg(create, 7), CA);
	assert_null(tree_runtime_container_arg(state_, 3));
	assert_null(tree_runtime_container_arg(other, 3));
	assert_true(model_is_container_id(CB));
	assert_false(model_is_container_id("abc"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pid_reuse),
		cmocka_unit_test(test_threads_and_reparenting),
		cmocka_unit_test(test_exec_seen_twice),
		cmocka_unit_test(test_snapshot_and_audit_only),
		cmocka_unit_test(test_files_pairing),
		cmocka_unit_test(test_containers),
		cmocka_unit_test(test_out_of_order_arrival),
		cmocka_unit_test(test_emit_caps),
		cmocka_unit_test(test_runtime_arg),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
