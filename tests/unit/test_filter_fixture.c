/* test_filter_fixture.c — the whole filter pipeline (load → merge → tree → rootfs → files) on
 * the captured docker-session-1 fixture: audit.log through the listener's own assembler and
 * event_doc_build (the replay seam), proc.jsonl through bson_new_from_json with the wall time
 * the fixture README gives (wall ≈ boot 1795433593.59 s + ts_ns). Expected values come from
 * the README's script and ids and from reading proc.jsonl by hand, not from the filter. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "assemble.h"
#include "event_doc.h"
#include "files.h"
#include "load.h"
#include "merge.h"
#include "model.h"
#include "rootfs.h"
#include "tree.h"

#define CID "83081e260a3673e8cf3d113dd2a57735ef60d0ad6e7e266d9d57ca43ce370efe"
#define ROOTFS "/var/lib/docker/overlay2/a164e09872440208a720b2ba4b2b6b8a9eac61d2a2c9b0f6ddf354a4ff2ed5cb/merged"
#define BOOT_MS 1795433593590LL

static struct model M;

struct feed {
	struct doc_meta meta;
	size_t failed;
};

static void on_event(void *opaque, const struct audit_event *ev)
{
	struct feed *f = opaque;
	bson_t doc = BSON_INITIALIZER;

	f->meta.seq++;
	if (event_doc_build(ev, &f->meta, &doc) < 0 || load_event_doc(&M, &doc) < 0)
		f->failed++;
	bson_destroy(&doc);
}

static void load_fixture(void)
{
	const char *dir = getenv("CAPTURED_FIXTURES");
	char path[1024], *line = NULL;
	struct feed f = { 0 };
	struct asm_ctx *ctx;
	size_t cap = 0;
	ssize_t n;
	int64_t seq = 0;
	FILE *fp;

	assert_non_null(dir);
	model_init(&M);
	bson_oid_init_from_string(&f.meta.session, "0123456789abcdef01234567");
	f.meta.host = "h1";
	snprintf(path, sizeof(path), "%s/docker-session-1/audit.log", dir);
	fp = fopen(path, "r");
	assert_non_null(fp);
	assert_int_equal(asm_new(1000, 256, on_event, &f, &ctx), 0);
	while ((n = getline(&line, &cap, fp)) > 0) {
		while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
			line[--n] = '\0';
		asm_feed_line(ctx, line, (size_t)n, 0);
	}
	asm_flush(ctx);
	asm_free(ctx);
	fclose(fp);
	assert_int_equal(f.failed, 0);

	snprintf(path, sizeof(path), "%s/docker-session-1/proc.jsonl", dir);
	fp = fopen(path, "r");
	assert_non_null(fp);
	while ((n = getline(&line, &cap, fp)) > 0) {
		bson_error_t e;
		bson_t *doc = bson_new_from_json((const uint8_t *)line, n, &e);
		bson_iter_t it;
		int64_t ts_ns;

		assert_non_null(doc);
		assert_true(bson_iter_init_find(&it, doc, "ts_ns"));
		ts_ns = bson_iter_as_int64(&it);
		BSON_APPEND_INT64(doc, "seq", ++seq);
		BSON_APPEND_DATE_TIME(doc, "ts", BOOT_MS + ts_ns / 1000000);
		assert_int_equal(load_proc_event_doc(&M, doc), 0);
		bson_destroy(doc);
	}
	free(line);
	fclose(fp);
	load_finish(&M);
}

static void dump(void)
{
	for (size_t i = 0; i < M.nprocs; i++) {
		const struct m_proc *p = &M.procs[i];

		fprintf(stderr, "P %s par=%s src=%d pae=%s cont=%d c=%.8s/%s rt=%d d=%d e=%d ex=%zu last=%s ev=%zu\n",
			p->key, p->parent >= 0 ? M.procs[p->parent].key : "-", p->parent_src,
			p->parent_at_exit >= 0 ? M.procs[p->parent_at_exit].key : "-", p->cont,
			p->container ? p->container : "-", p->container_src ? p->container_src : "-",
			p->runtime, p->depth, p->entry, p->nexecs,
			p->nexecs && p->execs[p->nexecs - 1].exe ? p->execs[p->nexecs - 1].exe : "-",
			p->nevents);
	}
	for (size_t i = 0; i < M.nfiles; i++) {
		const struct m_file *f = &M.files[i];

		if (M.procs[f->proc].cont < 0)
			continue;
		fprintf(stderr, "F %s fd=%lld %s -> %s w=%d inf=%d %s err=%lld\n", M.procs[f->proc].key,
			(long long)f->fd, f->path, f->host_path ? f->host_path : "-", f->write,
			f->close_inferred, f->close_reason ? f->close_reason : "-", (long long)f->error);
	}
}

static int setup(void **state)
{
	(void)state;
	load_fixture();
	merge_run(&M);
	tree_run(&M);
	rootfs_run(&M);
	files_run(&M);
	if (getenv("FILTER_DUMP"))
		dump();
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	model_release(&M);
	return 0;
}

/* The lifetime of tgid that started by fork at fork_ns (monotonic, from proc.jsonl). */
static const struct m_proc *proc_by_key(int tgid, long long fork_ns)
{
	char key[48];

	snprintf(key, sizeof(key), "%d@%lld", tgid, fork_ns);
	for (size_t i = 0; i < M.nprocs; i++)
		if (strcmp(M.procs[i].key, key) == 0)
			return &M.procs[i];
	fail_msg("no process %s", key);
	return NULL;
}

static int idx_of(const struct m_proc *p)
{
	return (int)(p - M.procs);
}

static void test_container_and_rootfs(void **state)
{
	const struct m_cont *c;

	(void)state;
	assert_int_equal(M.nconts, 1);
	c = &M.conts[0];
	assert_string_equal(c->id, CID);
	assert_non_null(c->rootfs);
	assert_string_equal(c->rootfs, ROOTFS);
	assert_string_equal(c->rootfs_src, "chdir+pivot_root");
	/* init: runc:[2:INIT] forked at 754355567163, which then exec'd the script's sh */
	assert_int_equal(c->init, idx_of(proc_by_key(10892, 754355567163LL)));
}

static void test_container_tree(void **state)
{
	const struct m_cont *c = &M.conts[0];
	const struct m_proc *init = proc_by_key(10892, 754355567163LL);
	/* the script's children of sh, by fork time: cat /etc/motd, sleep 3, cat /tmp/out.txt,
	 * and "sleep 1 &" of the sh that replaced it by exec (same pid) */
	static const struct { int tgid; long long fork; } kids[] = {
		{ 10920, 754583988693LL }, { 10921, 754586097690LL },
		{ 10987, 757588230604LL }, { 10988, 757590942008LL },
	};
	const struct m_proc *ex = proc_by_key(10942, 755644141946LL);
	const struct m_proc *ls = proc_by_key(10948, 755674086359LL);

	(void)state;
	assert_int_equal(init->depth, 0);
	assert_int_equal(init->entry, ENTRY_INIT);
	assert_int_equal(init->nchildren, 4);
	for (size_t i = 0; i < 4; i++) {
		const struct m_proc *k = proc_by_key(kids[i].tgid, kids[i].fork);

		assert_int_equal(init->children[i], idx_of(k));
		assert_int_equal(k->depth, 1);
		assert_int_equal(k->cont, 0);
		assert_string_equal(k->container, CID);
	}
	/* docker exec: one entry, sh (10942, runc exec's init stage) with its ls child */
	assert_int_equal(c->nexec_roots, 1);
	assert_int_equal(c->exec_roots[0], idx_of(ex));
	assert_int_equal(ex->entry, ENTRY_EXEC);
	assert_int_equal(ex->depth, 0);
	assert_int_equal(ex->pivot_event, -1); /* it never called pivot_root */
	assert_int_equal(ls->depth, 1);
	assert_int_equal(ls->parent, idx_of(ex));
	assert_int_equal(c->ntree, 7);
	/* runc's helper stages are not in the tree */
	assert_true(proc_by_key(10890, 754336806002LL)->runtime);
	assert_int_equal(proc_by_key(10890, 754336806002LL)->cont, -1);
}

static void test_parents_and_reparenting(void **state)
{
	const struct m_proc *init = proc_by_key(10892, 754355567163LL);
	const struct m_proc *ex = proc_by_key(10942, 755644141946LL);
	const struct m_proc *docker = proc_by_key(10856, 754209768940LL);

	(void)state;
	/* forked by runc create (10882) with CLONE_PARENT, exited under the shim (10872) */
	assert_int_equal(init->parent_src, PSRC_FORK);
	assert_int_equal(init->parent, idx_of(proc_by_key(10882, 754320383157LL)));
	assert_int_equal(init->parent_at_exit, idx_of(proc_by_key(10872, 754308742662LL)));
	assert_int_equal(ex->parent, idx_of(proc_by_key(10931, 755626526313LL)));
	assert_true(init->parent_at_exit != init->parent);
	assert_int_equal(ex->parent_at_exit, idx_of(proc_by_key(10872, 754308742662LL)));
	/* threads: the docker CLI's 8 thread forks group under it and are not children */
	assert_int_equal(docker->nthreads, 9);
	assert_int_equal(docker->threads[0], 10856);
	assert_int_equal(docker->nchildren, 0);
	assert_int_equal(docker->parent_src, PSRC_FORK);
	assert_int_equal(M.procs[docker->parent].tgid, 10850);
	for (size_t i = 0; i < M.nprocs; i++)
		assert_true(M.procs[i].tgid != 10857 && M.procs[i].tgid != 10922);
}

/* exit times come from the proc connector's exit (ts_ns + the calibrated offset) */
static void test_exit_times(void **state)
{
	const struct m_proc *cat = proc_by_key(10920, 754583988693LL);
	const struct m_proc *docker = proc_by_key(10856, 754209768940LL);

	(void)state;
	assert_true(cat->exited);
	assert_int_equal(cat->exit_src, XSRC_PROC);
	assert_int_equal(cat->exit - M.clock_offset, 754585906827LL);
	assert_int_equal(cat->exit_code, 0);
	/* the group's last thread exit (10856 itself exits last here: 754592417368) */
	assert_int_equal(docker->exit - M.clock_offset, 754592417368LL);
	/* calibrated offset agrees with the README's boot time to within 50 ms */
	assert_true(llabs(M.clock_offset - BOOT_MS * 1000000LL) < 50 * 1000000LL);
}

static const struct m_file *file_of(const struct m_proc *p, const char *path)
{
	for (size_t i = 0; i < M.nfiles; i++)
		if (M.files[i].proc == idx_of(p) && strcmp(M.files[i].path, path) == 0)
			return &M.files[i];
	fail_msg("no file %s for %s", path, p->key);
	return NULL;
}

static void test_files(void **state)
{
	const struct m_proc *init = proc_by_key(10892, 754355567163LL);
	const struct m_proc *sleep1 = proc_by_key(10988, 757590942008LL);
	const struct m_file *f;

	(void)state;
	/* echo data > /tmp/out.txt (in the init's sh) */
	f = file_of(init, "/tmp/out.txt");
	assert_true(f->write);
	assert_false(f->close_inferred);
	assert_string_equal(f->host_path, ROOTFS "/tmp/out.txt");
	assert_true(f->close >= f->open);
	/* cat /etc/motd */
	f = file_of(proc_by_key(10920, 754583988693LL), "/etc/motd");
	assert_false(f->write);
	assert_int_equal(f->fd, 3);
	assert_false(f->close_inferred);
	assert_string_equal(f->close_reason, "close");
	assert_string_equal(f->host_path, ROOTFS "/etc/motd");
	/* cat /tmp/out.txt */
	f = file_of(proc_by_key(10987, 757588230604LL), "/tmp/out.txt");
	assert_false(f->write);
	/* docker exec: echo "a b" > "/tmp/sp ace.txt" (hex-encoded name in the audit text) */
	f = file_of(proc_by_key(10942, 755644141946LL), "/tmp/sp ace.txt");
	assert_true(f->write);
	assert_string_equal(f->host_path, ROOTFS "/tmp/sp ace.txt");
	/* ls /etc */
	f = file_of(proc_by_key(10948, 755674086359LL), "/etc");
	assert_string_equal(f->host_path, ROOTFS "/etc");
	/* sleep 1 &: stdin from /dev/null (fd 0), never closed: closed by the process exit */
	f = file_of(sleep1, "/dev/null");
	assert_int_equal(f->fd, 0);
	assert_true(f->close_inferred);
	assert_string_equal(f->close_reason, "exit");
	assert_int_equal(f->close - M.clock_offset, 758592557054LL);
	/* before its pivot_root runc:[2:INIT] sees host paths: no rootfs prefix */
	f = file_of(init, "/proc/self/mountinfo");
	assert_string_equal(f->host_path, "/proc/self/mountinfo");
	/* failed opens are kept with their error, not paired */
	f = file_of(init, "/etc/passwd");
	assert_true(f->failed);
	assert_int_equal(f->error, -2);
	assert_int_equal(f->fd, -1);
}

static void test_keys_unique(void **state)
{
	(void)state;
	for (size_t i = 0; i < M.nprocs; i++)
		for (size_t k = i + 1; k < M.nprocs; k++)
			assert_true(strcmp(M.procs[i].key, M.procs[k].key) != 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_container_and_rootfs),
		cmocka_unit_test(test_container_tree),
		cmocka_unit_test(test_parents_and_reparenting),
		cmocka_unit_test(test_exit_times),
		cmocka_unit_test(test_files),
		cmocka_unit_test(test_keys_unique),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
