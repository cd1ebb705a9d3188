/* test_event_doc.c — event_doc.c: documents of chosen captured events (openat /etc/motd, the
 * hex-encoded "/tmp/sp ace.txt", pivot_root, execve with argv, exit_group, close) and of the
 * synthetic ones (i386, fragments, AVC raw, USER event), field by field; path_abs. The expected
 * values are read off the fixture text (tests/fixtures/audit/README.md says which serials). */
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

#define MAX_DOCS 16

struct docs {
	struct doc_meta meta;
	uint64_t serial[MAX_DOCS];
	bson_t *doc[MAX_DOCS];
	size_t n;
};

static void build(void *opaque, const struct audit_event *ev)
{
	struct docs *d = opaque;
	bson_t doc = BSON_INITIALIZER;

	assert_true(d->n < MAX_DOCS);
	d->meta.seq++;
	assert_int_equal(event_doc_build(ev, &d->meta, &doc), 0);
	d->serial[d->n] = ev->serial;
	d->doc[d->n++] = bson_copy(&doc);
	bson_destroy(&doc);
}

static void load(const char *name, struct docs *d)
{
	char path[4096], *line = NULL;
	size_t cap = 0;
	ssize_t n;
	FILE *f;
	struct asm_ctx *ctx;

	memset(d, 0, sizeof(*d));
	bson_oid_init_from_string(&d->meta.session, "65a1b2c3d4e5f60718293a4b");
	bson_oid_to_string(&d->meta.session, d->meta.session_hex);
	d->meta.host = "h1";
	d->meta.container = "83081e260a3673e8cf3d113dd2a57735ef60d0ad6e7e266d9d57ca43ce370efe";
	snprintf(path, sizeof(path), "%s/audit/%s", getenv("FIXTURES"), name);
	f = fopen(path, "r");
	assert_non_null(f);
	assert_int_equal(asm_new(1000, 64, build, d, &ctx), 0);
	while ((n = getline(&line, &cap, f)) > 0)
		assert_int_equal(asm_feed_line(ctx, line, (size_t)n, 0), 0);
	asm_flush(ctx);
	asm_free(ctx);
	free(line);
	fclose(f);
}

static void release(struct docs *d)
{
	for (size_t i = 0; i < d->n; i++)
		bson_destroy(d->doc[i]);
}

static const bson_t *doc_of(const struct docs *d, uint64_t serial)
{
	for (size_t i = 0; i < d->n; i++)
		if (d->serial[i] == serial)
			return d->doc[i];
	fail_msg("no document for serial %llu", (unsigned long long)serial);
	return NULL;
}

/* Lookup by dotted path ("paths.0.name"); asserts the key exists. */
static void find(const bson_t *doc, const char *path, bson_iter_t *it)
{
	bson_iter_t root;

	assert_true(bson_iter_init(&root, doc));
	if (!bson_iter_find_descendant(&root, path, it))
		fail_msg("missing %s", path);
}

static bool has(const bson_t *doc, const char *path)
{
	bson_iter_t root, it;

	assert_true(bson_iter_init(&root, doc));
	return bson_iter_find_descendant(&root, path, &it);
}

static void expect_i64(const bson_t *doc, const char *path, int64_t v)
{
	bson_iter_t it;

	find(doc, path, &it);
	assert_int_equal(bson_iter_type(&it), BSON_TYPE_INT64);
	if (bson_iter_int64(&it) != v)
		fail_msg("%s: %lld != %lld", path, (long long)bson_iter_int64(&it), (long long)v);
}

static void expect_str(const bson_t *doc, const char *path, const char *v)
{
	bson_iter_t it;

	find(doc, path, &it);
	assert_int_equal(bson_iter_type(&it), BSON_TYPE_UTF8);
	assert_string_equal(bson_iter_utf8(&it, NULL), v);
}

static void expect_bool(const bson_t *doc, const char *path, bool v)
{
	bson_iter_t it;

	find(doc, path, &it);
	assert_int_equal(bson_iter_type(&it), BSON_TYPE_BOOL);
	assert_int_equal(bson_iter_bool(&it), v);
}

/* An array of strings, exactly. */
static void expect_strs(const bson_t *doc, const char *path, const char *const *v, size_t n)
{
	bson_iter_t it, child;
	size_t i = 0;

	find(doc, path, &it);
	assert_int_equal(bson_iter_type(&it), BSON_TYPE_ARRAY);
	assert_true(bson_iter_recurse(&it, &child));
	while (bson_iter_next(&child)) {
		assert_true(i < n);
		assert_int_equal(bson_iter_type(&child), BSON_TYPE_UTF8);
		assert_string_equal(bson_iter_utf8(&child, NULL), v[i]);
		i++;
	}
	assert_int_equal(i, n);
}

static size_t array_len(const bson_t *doc, const char *path)
{
	bson_iter_t it, child;
	size_t n = 0;

	find(doc, path, &it);
	assert_int_equal(bson_iter_type(&it), BSON_TYPE_ARRAY);
	assert_true(bson_iter_recurse(&it, &child));
	while (bson_iter_next(&child))
		n++;
	return n;
}

static void test_openat_motd(void **state)
{
	struct docs d;
	const bson_t *doc;
	bson_iter_t it;
	const char *flags[] = { "O_RDONLY" };
	const char *types[] = { "SYSCALL", "CWD", "PATH", "PROCTITLE", "EOE" };
	char id[64];

	(void)state;
	load("session1-chosen.log", &d);
	assert_int_equal(d.n, 6);
	doc = doc_of(&d, 395971);
	/* type=1300 msg=audit(1795434348.160:395971): arch=c000003e syscall=257 success=yes
	 * exit=3 a0=ffffff9c a1=7ffd9e9dbf72 a2=0 a3=0 items=1 ppid=10892 pid=10920 ... */
	/* events are emitted in file order: 395971 is the 5th (seq 5) */
	snprintf(id, sizeof(id), "65a1b2c3d4e5f60718293a4b:%d", 5);
	expect_str(doc, "_id", id);
	expect_i64(doc, "seq", 5);
	find(doc, "session", &it);
	assert_int_equal(bson_iter_type(&it), BSON_TYPE_OID);
	assert_int_equal(bson_oid_compare(bson_iter_oid(&it), &d.meta.session), 0);
	assert_false(has(doc, "host")); /* in the sessions document only */
	expect_i64(doc, "serial", 395971);
	find(doc, "ts", &it);
	assert_int_equal(bson_iter_type(&it), BSON_TYPE_DATE_TIME);
	assert_int_equal(bson_iter_date_time(&it), 1795434348160ll);
	expect_str(doc, "syscall", "openat");
	assert_false(has(doc, "arch")); /* the session default (event_doc.h) */
	expect_bool(doc, "success", true);
	expect_i64(doc, "exit", 3);
	expect_i64(doc, "pid", 10920);
	expect_i64(doc, "ppid", 10892);
	expect_i64(doc, "uid", 0);
	expect_i64(doc, "euid", 0);
	expect_i64(doc, "gid", 0);
	expect_i64(doc, "auid", 4294967295ll);
	expect_i64(doc, "ses", 4294967295ll);
	assert_false(has(doc, "tty"));
	expect_str(doc, "comm", "cat");
	expect_str(doc, "exe", "/bin/busybox");
	expect_str(doc, "cwd", "/");
	assert_false(has(doc, "key"));
	expect_i64(doc, "a0", -100);
	expect_i64(doc, "a1", 0x7ffd9e9dbf72ll);
	expect_i64(doc, "a2", 0);
	expect_i64(doc, "a3", 0);
	expect_i64(doc, "fd", 3);
	expect_strs(doc, "flags", flags, 1);
	assert_int_equal(array_len(doc, "paths"), 1);
	expect_str(doc, "paths.0.name", "/etc/motd");
	assert_false(has(doc, "paths.0.abs")); /* == name */
	expect_str(doc, "paths.0.nametype", "NORMAL");
	expect_i64(doc, "paths.0.inode", 1090135);
	expect_str(doc, "paths.0.dev", "00:27");
	expect_i64(doc, "paths.0.mode", 0100644);
	expect_str(doc, "proctitle", "cat /etc/motd");
	expect_strs(doc, "types", types, 5);
	assert_false(has(doc, "raw"));
	assert_false(has(doc, "argv"));
	expect_str(doc, "container", d.meta.container);
	release(&d);
}

static void test_sp_ace(void **state)
{
	struct docs d;
	const bson_t *doc;
	const char *flags[] = { "O_WRONLY", "O_CREAT", "O_TRUNC" };
	bson_iter_t it;

	(void)state;
	load("session1-chosen.log", &d);
	/* openat a2=241 a3=1b6; PATH item=1 name=2F746D702F7370206163652E747874 CREATE;
	 * items 2, 3 name=(null) dev=fe:00 */
	doc = doc_of(&d, 396246);
	expect_str(doc, "syscall", "openat");
	expect_strs(doc, "flags", flags, 3);
	expect_i64(doc, "a2", 0x241);
	expect_i64(doc, "a3", 0x1b6);
	expect_i64(doc, "a1", 0x3a032880);
	expect_i64(doc, "fd", 3);
	expect_i64(doc, "pid", 10942);
	expect_str(doc, "comm", "sh");
	expect_str(doc, "proctitle", "runc init");
	assert_int_equal(array_len(doc, "paths"), 4);
	expect_str(doc, "paths.0.name", "/tmp/");
	expect_str(doc, "paths.0.abs", "/tmp");
	expect_str(doc, "paths.0.nametype", "PARENT");
	expect_i64(doc, "paths.0.mode", 040755);
	expect_str(doc, "paths.1.name", "/tmp/sp ace.txt");
	assert_false(has(doc, "paths.1.abs"));
	expect_str(doc, "paths.1.nametype", "CREATE");
	expect_i64(doc, "paths.1.inode", 1220693);
	find(doc, "paths.2.name", &it);
	assert_int_equal(bson_iter_type(&it), BSON_TYPE_NULL);
	assert_false(has(doc, "paths.2.abs"));
	expect_str(doc, "paths.2.dev", "fe:00");
	expect_i64(doc, "paths.3.inode", 1220687);
	release(&d);
}

static void test_pivot_root_execve_exit(void **state)
{
	struct docs d;
	const bson_t *doc;
	const char *argv[] = { "sh", "-c",
			       "echo data > /tmp/out.txt; cat /etc/motd; sleep 3; cat /tmp/out.txt; "
			       "sh -c \"sleep 1 & wait\"" };
	const char *types[] = { "SYSCALL", "BPRM_FCAPS", "EXECVE", "CWD", "PATH", "PROCTITLE",
				"EOE" };
	bson_iter_t it;

	(void)state;
	load("session1-chosen.log", &d);
	/* syscall=155 a0=c0000f8a0e a1=c0000f8a10 items=2 pid=10892 comm="runc:[2:INIT]" exe="/" */
	doc = doc_of(&d, 395808);
	expect_str(doc, "syscall", "pivot_root");
	expect_str(doc, "exe", "/");
	expect_str(doc, "comm", "runc:[2:INIT]");
	expect_i64(doc, "a0", 0xc0000f8a0ell);
	expect_i64(doc, "a1", 0xc0000f8a10ll);
	expect_i64(doc, "exit", 0);
	assert_false(has(doc, "fd"));
	assert_false(has(doc, "flags"));
	assert_int_equal(array_len(doc, "paths"), 2);
	for (int i = 0; i < 2; i++) {
		char p[32];

		snprintf(p, sizeof(p), "paths.%d.name", i);
		expect_str(doc, p, ".");
		snprintf(p, sizeof(p), "paths.%d.abs", i);
		expect_str(doc, p, "/");
		snprintf(p, sizeof(p), "paths.%d.inode", i);
		expect_i64(doc, p, 1220628);
		snprintf(p, sizeof(p), "paths.%d.mode", i);
		expect_i64(doc, p, 040755);
	}
	expect_str(doc, "proctitle", "runc init");

	/* execve: argc=3 a0="sh" a1="-c" a2=<hex> */
	doc = doc_of(&d, 395956);
	expect_str(doc, "syscall", "execve");
	expect_i64(doc, "argc", 3);
	expect_strs(doc, "argv", argv, 3);
	assert_false(has(doc, "argv_truncated"));
	expect_strs(doc, "types", types, 7);
	assert_int_equal(array_len(doc, "raw"), 1);
	expect_str(doc, "raw.0.type", "BPRM_FCAPS");
	find(doc, "raw.0.text", &it);
	assert_true(strncmp(bson_iter_utf8(&it, NULL), "fver=0 fp=0 fi=0 fe=0 old_pp=", 29) == 0);
	expect_str(doc, "paths.0.name", "/bin/sh");

	/* exit_group: syscall=231 a0=0 a1=1 a2=0 a3=36, no success= nor exit= */
	doc = doc_of(&d, 395112);
	expect_str(doc, "syscall", "exit_group");
	assert_false(has(doc, "success"));
	assert_false(has(doc, "exit"));
	assert_false(has(doc, "paths"));
	assert_false(has(doc, "cwd"));
	expect_i64(doc, "a3", 0x36);
	expect_i64(doc, "pid", 10864);
	expect_i64(doc, "ppid", 3406);
	/* proctitle is capped at 128 bytes by the kernel */
	find(doc, "proctitle", &it);
	assert_int_equal(strlen(bson_iter_utf8(&it, NULL)), 128);
	assert_true(strncmp(bson_iter_utf8(&it, NULL),
			    "/usr/bin/containerd-shim-runc-v2 -namespace moby -address ", 58) == 0);

	/* close: syscall=3 a0=3 → fd 3 */
	doc = doc_of(&d, 394823);
	expect_str(doc, "syscall", "close");
	expect_i64(doc, "fd", 3);
	expect_str(doc, "exe", "/usr/local/bin/docker");
	expect_str(doc, "proctitle", "bash /dev/fd/3");
	release(&d);
}

static void test_synthetic(void **state)
{
	struct docs d;
	const bson_t *doc;
	const char *flags[] = { "O_WRONLY", "O_CREAT", "O_TRUNC", "O_LARGEFILE" };
	const char *argv[] = { "cat", "helloworld", "-n", "\xc3\xa9\xc3\xa9 t" };
	const char *types[] = { "AVC", "SYSCALL", "EXECVE", "EXECVE", "CWD", "PATH", "PROCTITLE",
				"EOE" };
	bson_iter_t it;

	(void)state;
	load("synthetic.log", &d);
	assert_int_equal(d.n, 3);
	/* i386 openat(AT_FDCWD, ..., 0x8241) failing with ENOENT; two keys; cwd hex */
	doc = doc_of(&d, 501);
	expect_str(doc, "arch", "i386");
	expect_str(doc, "syscall", "openat");
	expect_bool(doc, "success", false);
	expect_i64(doc, "exit", -2);
	expect_i64(doc, "a0", -100);
	expect_strs(doc, "flags", flags, 4);
	assert_false(has(doc, "fd"));
	expect_str(doc, "key", "lineage,foo");
	expect_str(doc, "tty", "pts0");
	expect_i64(doc, "uid", 1000);
	expect_str(doc, "cwd", "/home/u x/d");
	expect_str(doc, "paths.0.name", "../e/./f");
	expect_str(doc, "paths.0.abs", "/home/u x/e/f");
	expect_i64(doc, "paths.0.mode", 0100600);
	find(doc, "ts", &it);
	assert_int_equal(bson_iter_date_time(&it), 1700000000001ll);

	doc = doc_of(&d, 500);
	expect_str(doc, "syscall", "execve");
	expect_i64(doc, "argc", 4);
	expect_strs(doc, "argv", argv, 4);
	expect_strs(doc, "types", types, 8);
	expect_str(doc, "raw.0.type", "AVC");
	find(doc, "raw.0.text", &it);
	assert_true(strncmp(bson_iter_utf8(&it, NULL), "avc:  denied  { read } for  pid=4242", 36) == 0);
	expect_str(doc, "proctitle", "cat -n");
	expect_i64(doc, "pid", 4242);
	expect_str(doc, "comm", "cat"); /* from SYSCALL, even though AVC came first */

	/* a USER event: no SYSCALL; ids from its own fields, text kept raw */
	doc = doc_of(&d, 502);
	assert_false(has(doc, "syscall"));
	expect_i64(doc, "pid", 777);
	expect_i64(doc, "auid", 1000);
	expect_i64(doc, "ses", 3);
	expect_str(doc, "raw.0.type", "USER_START");
	find(doc, "raw.0.text", &it);
	assert_true(strstr(bson_iter_utf8(&it, NULL), "msg='op=PAM:session_open") != NULL);
	release(&d);
}

/* Records built in the test: dirfd not AT_FDCWD, creat, close(-1), invalid UTF-8. */
static void doc_from(const char *const *recs, const int *types, size_t n, bson_t *doc)
{
	struct audit_record *r[8];
	struct audit_event ev = { .serial = 9, .sec = 1, .msec = 2, .nrecords = n, .records = r };
	struct doc_meta m = { .host = "h", .seq = 1 };

	bson_oid_init_from_string(&m.session, "65a1b2c3d4e5f60718293a4b");
	bson_oid_to_string(&m.session, m.session_hex);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(audit_record_parse(types[i], recs[i], strlen(recs[i]), &r[i]), 0);
	assert_int_equal(event_doc_build(&ev, &m, doc), 0);
	for (size_t i = 0; i < n; i++)
		audit_record_free(r[i]);
}

static void test_built(void **state)
{
	const char *r1[] = { "audit(1.002:9): arch=c000003e syscall=257 success=yes exit=4 "
			     "a0=3 a1=1 a2=90002 a3=0 pid=5",
			     "audit(1.002:9): cwd=\"/w\"",
			     "audit(1.002:9): item=0 name=\"rel/x\" nametype=NORMAL mode=0100644",
			     "audit(1.002:9): item=1 name=2F61FF2F62 nametype=NORMAL" };
	const int t1[] = { 1300, 1307, 1302, 1302 };
	const char *r2[] = { "audit(1.002:9): arch=c000003e syscall=85 success=yes exit=5 a0=1 "
			     "a1=1a4 pid=5" };
	const char *r3[] = { "audit(1.002:9): arch=c000003e syscall=3 success=no exit=-9 "
			     "a0=ffffffff a1=0 pid=5" };
	const char *r4[] = { "audit(1.002:9): arch=c000003e syscall=999 a0=ffffffffffffff9c" };
	const int t0[] = { 1300 };
	const char *flags1[] = { "O_RDWR", "O_DIRECTORY", "O_CLOEXEC" };
	const char *flags2[] = { "O_WRONLY", "O_CREAT", "O_TRUNC" };
	bson_t doc = BSON_INITIALIZER;

	(void)state;
	doc_from(r1, t1, 4, &doc);
	expect_i64(&doc, "a0", 3);
	expect_strs(&doc, "flags", flags1, 3);
	expect_i64(&doc, "fd", 4);
	/* relative to dirfd 3, not to cwd: no abs */
	expect_str(&doc, "paths.0.name", "rel/x");
	assert_false(has(&doc, "paths.0.abs"));
	/* invalid UTF-8 in a decoded name: U+FFFD in the string, exact bytes in *_hex (utf8.h) */
	expect_str(&doc, "paths.1.name", "/a\xef\xbf\xbd/b");
	expect_str(&doc, "paths.1.name_hex", "2F61FF2F62");
	assert_false(has(&doc, "paths.1.abs")); /* == name */
	assert_false(has(&doc, "paths.0.name_hex"));
	assert_true(bson_validate(&doc, BSON_VALIDATE_UTF8, NULL));
	expect_str(&doc, "_id", "65a1b2c3d4e5f60718293a4b:1");
	find(&doc, "container", &(bson_iter_t){ 0 });
	bson_destroy(&doc);

	bson_init(&doc);
	doc_from(r2, t0, 1, &doc);
	expect_str(&doc, "syscall", "creat");
	expect_strs(&doc, "flags", flags2, 3);
	expect_i64(&doc, "fd", 5);
	bson_destroy(&doc);

	bson_init(&doc);
	doc_from(r3, t0, 1, &doc);
	expect_i64(&doc, "fd", -1);
	expect_i64(&doc, "a0", -1);
	expect_bool(&doc, "success", false);
	bson_destroy(&doc);

	bson_init(&doc);
	doc_from(r4, t0, 1, &doc);
	expect_str(&doc, "syscall", "syscall_999");
	expect_i64(&doc, "a0", -100); /* a 64-bit value keeps its bits */
	bson_destroy(&doc);
}

/* Issue 17: dup, dup2, dup3, fcntl F_DUPFD(_CLOEXEC) and F_SETFD, close_range and the write family, as the kernel
 * writes their SYSCALL records (x86_64 numbers; a1..a3 hex; fcntl64 on i386). */
static void test_fd_ops(void **state)
{
	static const struct {
		const char *rec;
	} c[] = {
		/* 0 busybox saving fd 1: fcntl(1, F_DUPFD_CLOEXEC, 10) = 11 */
		{ "audit(1.002:9): arch=c000003e syscall=72 success=yes exit=11 a0=1 a1=406 a2=a a3=0 pid=5" },
		/* 1 dup2(3, 1) = 1 */
		{ "audit(1.002:9): arch=c000003e syscall=33 success=yes exit=1 a0=3 a1=1 a2=fffffffe a3=0 pid=5" },
		/* 2 dup3(5, 7, O_CLOEXEC) = 7 */
		{ "audit(1.002:9): arch=c000003e syscall=292 success=yes exit=7 a0=5 a1=7 a2=80000 a3=0 pid=5" },
		/* 3 dup(3) = 4 */
		{ "audit(1.002:9): arch=c000003e syscall=32 success=yes exit=4 a0=3 a1=0 a2=0 a3=0 pid=5" },
		/* 4 close_range(3, ~0U, CLOSE_RANGE_CLOEXEC) */
		{ "audit(1.002:9): arch=c000003e syscall=436 success=yes exit=0 a0=3 a1=ffffffff a2=4 a3=0 pid=5" },
		/* 5 fcntl(255, F_SETFD, FD_CLOEXEC) (bash) */
		{ "audit(1.002:9): arch=c000003e syscall=72 success=yes exit=0 a0=ff a1=2 a2=1 a3=0 pid=5" },
		/* 6 sendfile(1, 4, NULL, 16M) = 2 (busybox cat) */
		{ "audit(1.002:9): arch=c000003e syscall=40 success=yes exit=2 a0=1 a1=4 a2=0 a3=1000000 pid=5" },
		/* 7 splice(4, NULL, 6, NULL, 10, 0) = 10: written fd is a2 */
		{ "audit(1.002:9): arch=c000003e syscall=275 success=yes exit=a a0=4 a1=0 a2=6 a3=0 pid=5" },
		/* 8 i386 fcntl64(1, F_DUPFD, 0) = 3 */
		{ "audit(1.002:9): arch=40000003 syscall=221 success=yes exit=3 a0=1 a1=0 a2=0 a3=0 pid=5" },
		/* 9 dup2(99, 1) failed EBADF: no new fd from exit, new_fd is a1 */
		{ "audit(1.002:9): arch=c000003e syscall=33 success=no exit=-9 a0=63 a1=1 a2=0 a3=0 pid=5" },
		/* 10 fcntl(3, F_GETFL) from another tool's rule: the number only */
		{ "audit(1.002:9): arch=c000003e syscall=72 success=yes exit=2 a0=3 a1=3 a2=0 a3=0 pid=5" },
	};
	const int t0[] = { 1300 };
	const char *cloexec_range[] = { "CLOSE_RANGE_CLOEXEC" };
	const char *o_cloexec[] = { "O_CLOEXEC" };
	bson_t doc[sizeof(c) / sizeof(c[0])];

	(void)state;
	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		const char *r[] = { c[i].rec };

		bson_init(&doc[i]);
		doc_from(r, t0, 1, &doc[i]);
	}
	expect_str(&doc[0], "syscall", "fcntl");
	expect_str(&doc[0], "fcntl_cmd", "F_DUPFD_CLOEXEC");
	expect_i64(&doc[0], "old_fd", 1);
	expect_i64(&doc[0], "new_fd", 11);
	expect_bool(&doc[0], "cloexec", true);
	expect_i64(&doc[0], "a1", 1030);

	expect_str(&doc[1], "syscall", "dup2");
	expect_i64(&doc[1], "old_fd", 3);
	expect_i64(&doc[1], "new_fd", 1);
	expect_bool(&doc[1], "cloexec", false);

	expect_i64(&doc[2], "old_fd", 5);
	expect_i64(&doc[2], "new_fd", 7);
	expect_bool(&doc[2], "cloexec", true);
	expect_strs(&doc[2], "flags", o_cloexec, 1);

	expect_i64(&doc[3], "old_fd", 3);
	expect_i64(&doc[3], "new_fd", 4);
	expect_bool(&doc[3], "cloexec", false);

	expect_str(&doc[4], "syscall", "close_range");
	expect_i64(&doc[4], "fd_first", 3);
	expect_i64(&doc[4], "fd_last", 4294967295LL); /* ~0U, not -1 */
	expect_strs(&doc[4], "flags", cloexec_range, 1);
	expect_bool(&doc[4], "cloexec", true);

	expect_str(&doc[5], "fcntl_cmd", "F_SETFD");
	expect_i64(&doc[5], "fd", 255);
	expect_bool(&doc[5], "cloexec", true);
	assert_false(has(&doc[5], "new_fd"));

	expect_str(&doc[6], "syscall", "sendfile");
	expect_i64(&doc[6], "fd", 1);
	expect_str(&doc[7], "syscall", "splice");
	expect_i64(&doc[7], "fd", 6);

	expect_str(&doc[8], "syscall", "fcntl64");
	expect_str(&doc[8], "fcntl_cmd", "F_DUPFD");
	expect_i64(&doc[8], "new_fd", 3);
	expect_bool(&doc[8], "cloexec", false);

	expect_i64(&doc[9], "old_fd", 99);
	expect_i64(&doc[9], "new_fd", 1);
	expect_bool(&doc[9], "success", false);

	expect_i64(&doc[10], "fcntl_cmd", 3);
	assert_false(has(&doc[10], "old_fd"));
	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++)
		bson_destroy(&doc[i]);
}

static void test_path_abs(void **state)
{
	char buf[64];

	(void)state;
	assert_int_equal(event_doc_path_abs("/", "etc/motd", buf, sizeof(buf)), 0);
	assert_string_equal(buf, "/etc/motd");
	assert_int_equal(event_doc_path_abs("/a/b", "../c/./d//e/", buf, sizeof(buf)), 0);
	assert_string_equal(buf, "/a/c/d/e");
	assert_int_equal(event_doc_path_abs("/", "../../x", buf, sizeof(buf)), 0);
	assert_string_equal(buf, "/x");
	assert_int_equal(event_doc_path_abs("/tmp/", ".", buf, sizeof(buf)), 0);
	assert_string_equal(buf, "/tmp");
	assert_int_equal(event_doc_path_abs(NULL, "//x/../..//y/.", buf, sizeof(buf)), 0);
	assert_string_equal(buf, "/y");
	assert_int_equal(event_doc_path_abs("/a", "..", buf, sizeof(buf)), 0);
	assert_string_equal(buf, "/");
	assert_int_equal(event_doc_path_abs("/a/bb/c", "../../..", buf, sizeof(buf)), 0);
	assert_string_equal(buf, "/");
	assert_int_equal(event_doc_path_abs("rel", "x", buf, sizeof(buf)), -EINVAL);
	assert_int_equal(event_doc_path_abs(NULL, "x", buf, sizeof(buf)), -EINVAL);
	assert_int_equal(event_doc_path_abs("/", "0123456789", buf, 11), -ENAMETOOLONG);
	assert_int_equal(event_doc_path_abs("/", "0123456789", buf, 12), 0);
	assert_string_equal(buf, "/0123456789");
	assert_int_equal(event_doc_path_abs("/", "x", buf, 1), -ENAMETOOLONG);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_openat_motd),
		cmocka_unit_test(test_sp_ace),
		cmocka_unit_test(test_pivot_root_execve_exit),
		cmocka_unit_test(test_synthetic),
		cmocka_unit_test(test_built),
		cmocka_unit_test(test_path_abs),
		cmocka_unit_test(test_fd_ops),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
