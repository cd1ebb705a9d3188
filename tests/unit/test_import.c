/* test_import.c — lineage-import's pieces (issue 30) on hand-written auditd logs
 * (tests/fixtures/import): the node prefix, rotation order, the gzip line reader, and the
 * filter's audit-only rebuild of what the listener's replay seam (asm_feed_line →
 * event_doc_build, as import/main.c feeds it) makes of those logs. Expected values are read
 * off the fixtures by hand (their README), not from the code. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include <cmocka.h>

#include "assemble.h"
#include "auditlog.h"
#include "event_doc.h"
#include "files.h"
#include "load.h"
#include "logread.h"
#include "merge.h"
#include "model.h"
#include "rootfs.h"
#include "tree.h"

static struct model M;

struct feed {
	struct doc_meta meta;
	size_t failed, events;
	const char *node; /* only lines of this node (NULL: lines without node=) */
};

static void on_event(void *opaque, const struct audit_event *ev)
{
	struct feed *f = opaque;
	bson_t doc = BSON_INITIALIZER;

	f->meta.seq++;
	f->events++;
	if (event_doc_build(ev, &f->meta, &doc) < 0 || load_event_doc(&M, &doc) < 0)
		f->failed++;
	bson_destroy(&doc);
}

/* The files (in the order given) through logread and the assembler, the way main.c does. */
static void feed_files(struct feed *f, const char **names, size_t n)
{
	const char *dir = getenv("FIXTURES");
	struct asm_ctx *ctx;
	uint64_t clock = 0;

	assert_non_null(dir);
	bson_oid_init_from_string(&f->meta.session, "0123456789abcdef01234567");
	f->meta.host = "h1";
	assert_int_equal(asm_new(2000, 4000, on_event, f, &ctx), 0);
	for (size_t i = 0; i < n; i++) {
		struct logread *lr;
		const char *line, *node;
		size_t len, nlen;
		bool too_long;
		char path[1024];
		int r;

		snprintf(path, sizeof(path), "%s/import/%s", dir, names[i]);
		assert_int_equal(logread_open(path, &lr), 0);
		while ((r = logread_next(lr, &line, &len, &too_long)) > 0) {
			int k = auditlog_line_node(line, len, &node, &nlen);

			if (f->node ? k != 1 || nlen != strlen(f->node) || memcmp(node, f->node, nlen)
				    : k != 0)
				continue;
			asm_feed_line(ctx, line, len, ++clock);
		}
		assert_int_equal(r, 0);
		logread_free(lr);
	}
	asm_flush(ctx);
	asm_free(ctx);
	load_finish(&M);
	merge_run(&M);
	tree_run(&M);
	rootfs_run(&M);
	files_run(&M);
}

static int setup(void **state)
{
	(void)state;
	model_init(&M);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	model_release(&M);
	return 0;
}

static const struct m_proc *proc_of(int tgid, int nth)
{
	for (size_t i = 0; i < M.nprocs; i++)
		if (M.procs[i].tgid == tgid && nth-- == 0)
			return &M.procs[i];
	return NULL;
}

static void assert_argv(const struct m_exec *x, size_t argc, ...)
{
	va_list ap;

	assert_int_equal(x->argc, argc);
	va_start(ap, argc);
	for (size_t i = 0; i < argc; i++)
		assert_string_equal(x->argv[i], va_arg(ap, const char *));
	va_end(ap);
}

static void test_node_prefix(void **state)
{
	const char *n;
	size_t len;

	(void)state;
	assert_int_equal(auditlog_line_node("node=web-1 type=SYSCALL msg=x", 29, &n, &len), 1);
	assert_int_equal(len, 5);
	assert_memory_equal(n, "web-1", 5);
	assert_int_equal(auditlog_line_node("type=SYSCALL msg=x", 18, &n, &len), 0);
	assert_int_equal(auditlog_line_node("node= type=SYSCALL", 18, &n, &len), -EINVAL);
	assert_int_equal(auditlog_line_node("node=abc", 8, &n, &len), -EINVAL);
	assert_int_equal(auditlog_line_node("node=a\tb type=X", 15, &n, &len), -EINVAL);
}

static void test_generations(void **state)
{
	const char *v[] = { "/l/audit.log", "other.log", "/l/audit.log.10.gz", "/l/audit.log.2",
			    "-", "/l/audit.log.1", "other.log.1" };
	size_t base;

	(void)state;
	assert_int_equal(auditlog_generation("/var/log/audit/audit.log", &base), 0);
	assert_int_equal(base, strlen("/var/log/audit/audit.log"));
	assert_int_equal(auditlog_generation("audit.log.3.gz", &base), 3);
	assert_int_equal(base, strlen("audit.log"));
	assert_int_equal(auditlog_generation("audit.log.gz", &base), 0);
	assert_int_equal(base, strlen("audit.log"));
	assert_int_equal(auditlog_generation("/logs/7", &base), 0); /* a name, not a generation */
	assert_int_equal(auditlog_order(v, 7), 0);
	assert_string_equal(v[0], "/l/audit.log.10.gz");
	assert_string_equal(v[1], "/l/audit.log.2");
	assert_string_equal(v[2], "/l/audit.log.1");
	assert_string_equal(v[3], "/l/audit.log");
	assert_string_equal(v[4], "other.log.1");
	assert_string_equal(v[5], "other.log");
	assert_string_equal(v[6], "-");
}

/* gzip, a line over LOGREAD_LINE_MAX (cut, reported, its tail skipped), no final newline */
static void test_logread_gzip(void **state)
{
	char path[] = "/tmp/lineage-test-import-XXXXXX";
	int fd = mkstemp(path);
	gzFile gz;
	char *big = malloc(LOGREAD_LINE_MAX + 10);
	struct logread *lr;
	const char *line;
	size_t len;
	bool too_long;

	(void)state;
	assert_true(fd >= 0);
	gz = gzdopen(fd, "wb");
	assert_non_null(gz);
	memset(big, 'x', LOGREAD_LINE_MAX + 9);
	big[LOGREAD_LINE_MAX + 9] = '\n';
	gzputs(gz, "first\n");
	gzwrite(gz, big, LOGREAD_LINE_MAX + 10);
	gzputs(gz, "third");
	gzclose(gz);
	assert_int_equal(logread_open(path, &lr), 0);
	assert_int_equal(logread_next(lr, &line, &len, &too_long), 1);
	assert_int_equal(len, 5);
	assert_false(too_long);
	assert_int_equal(logread_next(lr, &line, &len, &too_long), 1);
	assert_true(too_long);
	assert_int_equal(logread_lineno(lr), 2);
	assert_int_equal(logread_next(lr, &line, &len, &too_long), 1);
	assert_int_equal(len, 5);
	assert_memory_equal(line, "third", 5);
	assert_int_equal(logread_lineno(lr), 3);
	assert_true(logread_compressed(lr));
	assert_int_equal(logread_next(lr, &line, &len, &too_long), 0);
	logread_free(lr);
	unlink(path);
	free(big);
}

/* tree.log: clone → child, split hex argv, hex cwd and path, a thread clone, a child seen
 * only by ppid, interleaved events, a child logged before its parent's clone */
static void test_tree(void **state)
{
	const char *files[] = { "tree.log" };
	struct feed f = { 0 };
	const struct m_proc *sh, *cat, *sleep_, *tru;
	const struct m_file *fl = NULL;

	(void)state;
	feed_files(&f, files, 1);
	assert_int_equal(f.failed, 0);
	assert_int_equal(f.events, 12);
	assert_true(M.audit_only);
	sh = proc_of(100, 0);
	cat = proc_of(101, 0);
	sleep_ = proc_of(200, 0);
	tru = proc_of(103, 0);
	assert_non_null(sh);
	assert_non_null(cat);
	assert_non_null(sleep_);
	assert_non_null(tru);
	assert_null(proc_of(102, 0)); /* a thread, not a process */
	assert_int_equal(sh->nthreads, 2);
	assert_int_equal(sh->threads[1], 102);
	assert_int_equal(sh->exit_src, XSRC_INFERRED);

	assert_ptr_equal(&M.procs[cat->parent], sh);
	assert_int_equal(cat->parent_src, PSRC_AUDIT_CLONE);
	assert_string_equal(cat->start_src, "audit-clone");
	assert_int_equal(cat->nexecs, 1);
	assert_argv(&cat->execs[0], 2, "cat", "/etc/hostname");
	assert_string_equal(cat->cwd, "/tmp/a b");
	assert_int_equal(cat->exit_src, XSRC_AUDIT);
	assert_int_equal(cat->exit_code, 0);
	assert_non_null(strchr(cat->key, '@'));

	assert_ptr_equal(&M.procs[sleep_->parent], sh);
	assert_int_equal(sleep_->parent_src, PSRC_AUDIT_PPID);
	assert_argv(&sleep_->execs[0], 2, "sleep", "1");

	assert_ptr_equal(&M.procs[tru->parent], sh); /* its execve was logged first */
	assert_int_equal(tru->parent_src, PSRC_AUDIT_CLONE);
	assert_argv(&tru->execs[0], 1, "true");

	for (size_t i = 0; i < M.nfiles; i++)
		if (&M.procs[M.files[i].proc] == cat && !M.files[i].failed)
			fl = &M.files[i];
	assert_non_null(fl);
	assert_string_equal(fl->path, "/tmp/a b/x y");
	assert_true(fl->write);
	assert_int_equal(fl->bytes_written, 5);
	assert_string_equal(fl->close_reason, "close");
	assert_int_equal(M.nconts, 0); /* nothing in the log says container: none invented */
}

/* rot/: event 30 starts in audit.log.1.gz and ends in audit.log; given newest first */
static void test_rotation(void **state)
{
	const char *files[] = { "rot/audit.log", "rot/audit.log.1.gz" };
	struct feed f = { 0 };
	const struct m_proc *ls;

	(void)state;
	assert_int_equal(auditlog_order(files, 2), 0);
	assert_string_equal(files[0], "rot/audit.log.1.gz");
	feed_files(&f, files, 2);
	assert_int_equal(f.failed, 0);
	assert_int_equal(f.events, 3);
	ls = proc_of(301, 0);
	assert_non_null(ls);
	assert_argv(&ls->execs[0], 3, "ls", "-l", "/tmp/z");
	assert_int_equal(ls->parent_src, PSRC_AUDIT_CLONE);
	assert_int_equal(ls->exit_code, 2);
}

/* enriched.log: two nodes; the interpreted part after 0x1d is not taken for fields */
static void test_enriched(void **state)
{
	const char *files[] = { "enriched.log" };
	struct feed f = { .node = "alpha" };
	const struct m_proc *id;

	(void)state;
	feed_files(&f, files, 1);
	assert_int_equal(f.failed, 0);
	assert_int_equal(f.events, 2); /* execve + USER_START */
	id = proc_of(400, 0);
	assert_non_null(id);
	assert_null(proc_of(500, 0)); /* beta's */
	assert_argv(&id->execs[0], 2, "id", "-u");
	assert_string_equal(id->execs[0].exe, "/bin/busybox");
	assert_int_equal(M.nevents, 2);
	assert_string_equal(M.events[0].syscall, "execve");
	assert_int_equal(M.events[0].uid, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_node_prefix),
		cmocka_unit_test(test_generations),
		cmocka_unit_test(test_logread_gzip),
		cmocka_unit_test_setup_teardown(test_tree, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rotation, setup, teardown),
		cmocka_unit_test_setup_teardown(test_enriched, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
