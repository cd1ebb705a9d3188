/* event_doc.c — builds the `events` document of one assembled audit event (see event_doc.h).
 * Interprets SYSCALL, EXECVE, PATH, CWD, PROCTITLE and EOE records; keeps the text of the
 * others in raw[]. Owns nothing beyond the call; the caller owns the bson_t. */
#include "event_doc.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "macro.h"
#include "schema.h"
#include "syscalls.h"
#include "utf8.h"

#define AT_FDCWD_VAL (-100)

/* A document under construction: the first failed append sticks. */
struct builder {
	bson_t *doc;
	bool ok;
	int err;
};

/* Append s[0..len) losslessly: valid UTF-8 as is, else U+FFFD-repaired plus key_hex (utf8.h). */
static void put_str(struct builder *b, bson_t *doc, const char *key, const char *s, size_t len)
{
	int r = utf8_append(doc, key, s, len);

	if (r < 0) {
		b->ok = false;
		if (r != -EMSGSIZE && !b->err)
			b->err = r;
	}
}

/* Syscalls whose arguments a0..a3 hold int file descriptors (bit i: a<i>), by name. An fd of
 * AT_FDCWD arrives as ffffff9c and is stored sign-extended (-100). */
static const struct {
	const char *name;
	unsigned mask;
} fd_args[] = {
	{ "openat", 1 },     { "openat2", 1 },    { "unlinkat", 1 },   { "execveat", 1 },
	{ "mkdirat", 1 },    { "mknodat", 1 },    { "fchownat", 1 },   { "futimesat", 1 },
	{ "newfstatat", 1 }, { "fstatat64", 1 },  { "readlinkat", 1 }, { "fchmodat", 1 },
	{ "fchmodat2", 1 },  { "faccessat", 1 },  { "faccessat2", 1 }, { "statx", 1 },
	{ "utimensat", 1 },  { "name_to_handle_at", 1 },               { "open_tree", 1 },
	{ "renameat", 5 },   { "renameat2", 5 },  { "linkat", 5 },     { "move_mount", 5 },
	{ "symlinkat", 2 },  { "close", 1 },      { "write", 1 },      { "read", 1 },
	{ "fchdir", 1 },     { "dup", 1 },        { "dup2", 3 },       { "dup3", 3 },
	{ "fstat", 1 },      { "lseek", 1 },      { "pread64", 1 },    { "pwrite64", 1 },
	{ "readv", 1 },      { "writev", 1 },     { "fsync", 1 },      { "fdatasync", 1 },
	{ "ftruncate", 1 },  { "fchmod", 1 },     { "fchown", 1 },     { "getdents64", 1 },
	{ "ioctl", 1 },      { "fcntl", 1 },      { "setns", 1 },
	{ "fcntl64", 1 },    { "pwritev", 1 },    { "pwritev2", 1 },   { "sendfile", 3 },
	{ "sendfile64", 3 }, { "copy_file_range", 5 },                 { "splice", 5 },
};

static unsigned fd_arg_mask(const char *syscall)
{
	if (!syscall)
		return 0;
	for (size_t i = 0; i < sizeof(fd_args) / sizeof(fd_args[0]); i++)
		if (strcmp(fd_args[i].name, syscall) == 0)
			return fd_args[i].mask;
	return 0;
}

/* A register value as int64: 64-bit values keep their bits; 32-bit fds are sign-extended. */
static int64_t reg_value(uint64_t v, bool is_fd)
{
	if (v > 0xffffffffull)
		return (int64_t)v;
	if (is_fd && (v & 0x80000000ull))
		return (int64_t)(int32_t)(uint32_t)v;
	return (int64_t)v;
}

/* The kernel's O_* values (x86: the generic ones), so decoding does not depend on the host. */
static const struct {
	uint64_t bit;
	const char *name;
} open_flags[] = {
	{ 0100, "O_CREAT" },       { 0200, "O_EXCL" },         { 0400, "O_NOCTTY" },
	{ 01000, "O_TRUNC" },      { 02000, "O_APPEND" },      { 04000, "O_NONBLOCK" },
	{ 010000, "O_DSYNC" },     { 020000, "O_ASYNC" },      { 040000, "O_DIRECT" },
	{ 0100000, "O_LARGEFILE" }, { 0200000, "O_DIRECTORY" }, { 0400000, "O_NOFOLLOW" },
	{ 01000000, "O_NOATIME" }, { 02000000, "O_CLOEXEC" },  { 04000000, "O_SYNC" },
	{ 010000000, "O_PATH" },   { 020000000, "O_TMPFILE" },
};

static void put_flags(struct builder *b, uint64_t flags)
{
	static const char *const acc[] = { "O_RDONLY", "O_WRONLY", "O_RDWR", "O_ACCMODE" };
	bson_t arr;
	char kbuf[16], hex[32];
	const char *key;
	uint32_t i = 0;

	b->ok &= bson_append_array_begin(b->doc, "flags", -1, &arr);
	bson_uint32_to_string(i++, &key, kbuf, sizeof(kbuf));
	b->ok &= bson_append_utf8(&arr, key, -1, acc[flags & 3], -1);
	flags &= ~3ull;
	for (size_t j = 0; j < sizeof(open_flags) / sizeof(open_flags[0]); j++) {
		if (!(flags & open_flags[j].bit))
			continue;
		flags &= ~open_flags[j].bit;
		bson_uint32_to_string(i++, &key, kbuf, sizeof(kbuf));
		b->ok &= bson_append_utf8(&arr, key, -1, open_flags[j].name, -1);
	}
	if (flags) {
		snprintf(hex, sizeof(hex), "0x%llx", (unsigned long long)flags);
		bson_uint32_to_string(i++, &key, kbuf, sizeof(kbuf));
		b->ok &= bson_append_utf8(&arr, key, -1, hex, -1);
	}
	b->ok &= bson_append_array_end(b->doc, &arr);
}

int event_doc_path_abs(const char *cwd, const char *name, char *buf, size_t size)
{
	const char *parts[2] = { NULL, name };
	size_t n = 1;

	if (size < 2)
		return -ENAMETOOLONG;
	if (name[0] != '/') {
		if (!cwd || cwd[0] != '/')
			return -EINVAL;
		parts[0] = cwd;
	}
	n = 0;
	buf[n++] = '/';
	for (size_t i = 0; i < 2; i++) {
		const char *p = parts[i];

		if (!p)
			continue;
		while (*p) {
			const char *s;
			size_t len;

			while (*p == '/')
				p++;
			for (s = p; *p && *p != '/'; p++)
				;
			len = (size_t)(p - s);
			if (len == 0 || (len == 1 && s[0] == '.'))
				continue;
			if (len == 2 && s[0] == '.' && s[1] == '.') {
				/* drop the last component, never above "/" */
				while (n > 1 && buf[n - 1] != '/')
					n--;
				if (n > 1)
					n--;
				continue;
			}
			if (n + (n > 1) + len + 1 > size)
				return -ENAMETOOLONG;
			if (n > 1)
				buf[n++] = '/';
			memcpy(buf + n, s, len);
			n += len;
		}
	}
	buf[n] = '\0';
	return 0;
}

/* A numeric field from the SYSCALL record, else from the first record that has it. */
static int ev_num(const struct audit_event *ev, const struct audit_record *sc, const char *key,
		  int64_t *ret)
{
	if (sc)
		return audit_record_i64(sc, key, 10, ret);
	for (size_t i = 0; i < ev->nrecords; i++)
		if (audit_record_i64(ev->records[i], key, 10, ret) == 0)
			return 0;
	return -ENOENT;
}

static const struct audit_field *ev_field(const struct audit_event *ev,
					  const struct audit_record *sc, const char *key)
{
	const struct audit_field *f;

	if (sc)
		return audit_record_field(sc, key);
	for (size_t i = 0; i < ev->nrecords; i++) {
		f = audit_record_field(ev->records[i], key);
		if (f)
			return f;
	}
	return NULL;
}

static void put_field_str(struct builder *b, const char *key, const struct audit_field *f)
{
	if (!f || f->kind == AUDIT_VAL_NULL || f->kind == AUDIT_VAL_UNSET)
		return;
	put_str(b, b->doc, key, f->val, f->val_len);
}

static void put_key(struct builder *b, const struct audit_field *f)
{
	char *k;

	if (!f || f->kind == AUDIT_VAL_NULL || f->kind == AUDIT_VAL_UNSET)
		return;
	if (!memchr(f->val, 0x01, f->val_len)) {
		if (f->val_len == strlen(EVENT_DOC_DEFAULT_KEY) &&
		    !memcmp(f->val, EVENT_DOC_DEFAULT_KEY, f->val_len))
			return; /* the session's default (event_doc.h) */
		put_str(b, b->doc, "key", f->val, f->val_len);
		return;
	}
	/* several rule keys are joined by \x01 (AUDIT_KEY_SEPARATOR): store them joined by ',' */
	k = malloc(f->val_len + 1);
	if (!k) {
		b->ok = false;
		b->err = -ENOMEM;
		return;
	}
	for (size_t i = 0; i < f->val_len; i++)
		k[i] = f->val[i] == 0x01 ? ',' : f->val[i];
	put_str(b, b->doc, "key", k, f->val_len);
	free(k);
}

static void put_paths(struct builder *b, const struct audit_event *ev, const char *cwd,
		      bool cwd_relative_ok)
{
	bson_t arr, item;
	char kbuf[16], abs[8192];
	const char *key;
	uint32_t i = 0;

	if (!audit_event_record(ev, AUDIT_T_PATH))
		return;
	b->ok &= bson_append_array_begin(b->doc, "paths", -1, &arr);
	for (size_t r = 0; r < ev->nrecords; r++) {
		const struct audit_record *p = ev->records[r];
		const struct audit_field *name;
		const char *s;
		int64_t v;
		uint64_t mode;

		if (p->type != AUDIT_T_PATH)
			continue;
		bson_uint32_to_string(i++, &key, kbuf, sizeof(kbuf));
		b->ok &= bson_append_document_begin(&arr, key, -1, &item);
		name = audit_record_field(p, "name");
		if (name && name->kind != AUDIT_VAL_NULL && name->kind != AUDIT_VAL_UNSET) {
			put_str(b, &item, "name", name->val, name->val_len);
			if (strlen(name->val) == name->val_len &&
			    (name->val[0] == '/' || cwd_relative_ok) &&
			    event_doc_path_abs(cwd, name->val, abs, sizeof(abs)) == 0 &&
			    strcmp(abs, name->val) != 0) /* abs absent, name absolute: abs = name */
				put_str(b, &item, "abs", abs, strlen(abs));
		} else {
			b->ok &= bson_append_null(&item, "name", -1);
		}
		s = audit_record_str(p, "nametype");
		if (s)
			put_str(b, &item, "nametype", s, strlen(s));
		if (audit_record_i64(p, "inode", 10, &v) == 0)
			b->ok &= bson_append_int64(&item, "inode", -1, v);
		s = audit_record_str(p, "dev");
		if (s)
			put_str(b, &item, "dev", s, strlen(s));
		if (audit_record_u64(p, "mode", 8, &mode) == 0 && mode <= INT64_MAX)
			b->ok &= bson_append_int64(&item, "mode", -1, (int64_t)mode);
		b->ok &= bson_append_document_end(&arr, &item);
	}
	b->ok &= bson_append_array_end(b->doc, &arr);
}

/* Whether an execve's PROCTITLE (the kernel's copy of the first 128 bytes of the argument
 * area, NULs as spaces) says what argv a says: then it is left out. */
static bool proctitle_is_argv(const struct audit_argv *a, const struct audit_field *pt)
{
	size_t off = 0;
	bool same = !a->truncated;

	if (!pt || pt->kind == AUDIT_VAL_NULL || pt->kind == AUDIT_VAL_UNSET)
		return false;
	for (size_t i = 0; i < a->n && same && off < pt->val_len; i++) {
		size_t l = a->len[i];

		if (i > 0)
			same = pt->val[off++] == ' ';
		if (l > pt->val_len - off)
			l = pt->val_len - off;
		same = same && memcmp(pt->val + off, a->v[i], l) == 0;
		off += l;
	}
	return same && off == pt->val_len;
}

/* argc, argv[] (and *ret_pt_same: whether proctitle pt repeats them) */
static void put_argv(struct builder *b, const struct audit_event *ev,
		     const struct audit_field *pt, bool *ret_pt_same)
{
	struct audit_argv a;
	int err;

	err = audit_event_argv(ev, &a);
	if (err == -ENOENT)
		return;
	if (err < 0) {
		b->ok = false;
		b->err = err;
		return;
	}
	b->ok &= bson_append_int64(b->doc, "argc", -1, (int64_t)a.argc);
	err = utf8_append_array(b->doc, "argv", (const char *const *)a.v, a.len, a.n);
	if (err < 0) {
		b->ok = false;
		if (err != -EMSGSIZE && !b->err)
			b->err = err;
	}
	if (a.truncated)
		b->ok &= bson_append_bool(b->doc, "argv_truncated", -1, true);
	*ret_pt_same = proctitle_is_argv(&a, pt);
	audit_argv_release(&a);
}

static bool interpreted(int type)
{
	return type == AUDIT_T_SYSCALL || type == AUDIT_T_PATH || type == AUDIT_T_CWD ||
	       type == AUDIT_T_EXECVE || type == AUDIT_T_EOE || type == AUDIT_T_PROCTITLE;
}

static void put_types_raw(struct builder *b, const struct audit_event *ev)
{
	bson_t arr, item;
	char kbuf[16], tbuf[32];
	const char *key;
	uint32_t nraw = 0;

	b->ok &= bson_append_array_begin(b->doc, "types", -1, &arr);
	for (size_t i = 0; i < ev->nrecords; i++) {
		bson_uint32_to_string((uint32_t)i, &key, kbuf, sizeof(kbuf));
		b->ok &= bson_append_utf8(&arr, key, -1,
					  audit_type_name(ev->records[i]->type, tbuf, sizeof(tbuf)), -1);
	}
	b->ok &= bson_append_array_end(b->doc, &arr);

	for (size_t i = 0; i < ev->nrecords; i++)
		if (!interpreted(ev->records[i]->type))
			nraw++;
	if (!nraw)
		return;
	nraw = 0;
	b->ok &= bson_append_array_begin(b->doc, "raw", -1, &arr);
	for (size_t i = 0; i < ev->nrecords && nraw < EVENT_DOC_RAW_MAX; i++) {
		const struct audit_record *r = ev->records[i];

		if (interpreted(r->type))
			continue;
		bson_uint32_to_string(nraw++, &key, kbuf, sizeof(kbuf));
		b->ok &= bson_append_document_begin(&arr, key, -1, &item);
		b->ok &= bson_append_utf8(&item, "type", -1, audit_type_name(r->type, tbuf, sizeof(tbuf)),
					  -1);
		put_str(b, &item, "text", r->body, MIN(r->body_len, (size_t)EVENT_DOC_RAW_MAX_LEN));
		b->ok &= bson_append_document_end(&arr, &item);
	}
	b->ok &= bson_append_array_end(b->doc, &arr);
}

static bool is_one_of(const char *s, const char *const *names, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(s, names[i]) == 0)
			return true;
	return false;
}

/* The fd a write-family call writes to: its register index, -1 for other calls. */
static int written_fd_arg(const char *syscall)
{
	static const char *const a0[] = { "write",   "pwrite64", "writev",    "pwritev",
					  "pwritev2", "sendfile", "sendfile64" };
	static const char *const a2[] = { "copy_file_range", "splice" };

	if (is_one_of(syscall, a0, ARRAY_SIZE(a0)))
		return 0;
	if (is_one_of(syscall, a2, ARRAY_SIZE(a2)))
		return 2;
	return -1;
}

static void put_name_array(struct builder *b, const char *key, const char *const *names,
			   size_t n, uint64_t rest)
{
	bson_t arr;
	char kbuf[16], hex[32];
	const char *k;
	uint32_t i = 0;

	b->ok &= bson_append_array_begin(b->doc, key, -1, &arr);
	for (size_t j = 0; j < n; j++) {
		bson_uint32_to_string(i++, &k, kbuf, sizeof(kbuf));
		b->ok &= bson_append_utf8(&arr, k, -1, names[j], -1);
	}
	if (rest) {
		snprintf(hex, sizeof(hex), "0x%llx", (unsigned long long)rest);
		bson_uint32_to_string(i++, &k, kbuf, sizeof(kbuf));
		b->ok &= bson_append_utf8(&arr, k, -1, hex, -1);
	}
	b->ok &= bson_append_array_end(b->doc, &arr);
}

/* Issue 17: what the filter needs to follow fd aliases and closes, in named fields
 * (schema.h): dup/dup2/dup3 and fcntl F_DUPFD(_CLOEXEC) → old_fd, new_fd, cloexec; fcntl
 * F_SETFD → fd, cloexec; close_range → fd_first, fd_last, flags, cloexec. Registers that are
 * missing leave their fields out. */
static void put_fd_ops(struct builder *b, const char *syscall, const uint64_t *regs,
		       const bool *have, bool ok, int64_t exitv)
{
	const uint64_t o_cloexec = 02000000, range_unshare = 2, range_cloexec = 4;
	const char *names[2];
	size_t n = 0;

	if (!strcmp(syscall, "dup") || !strcmp(syscall, "dup2") || !strcmp(syscall, "dup3")) {
		bool cloexec = false;

		if (have[0])
			b->ok &= bson_append_int64(b->doc, SCHEMA_F_OLD_FD, -1, reg_value(regs[0], true));
		if (syscall[3] && have[1])
			b->ok &= bson_append_int64(b->doc, SCHEMA_F_NEW_FD, -1, reg_value(regs[1], true));
		else if (!syscall[3] && ok)
			b->ok &= bson_append_int64(b->doc, SCHEMA_F_NEW_FD, -1, exitv);
		if (syscall[3] == '3' && have[2]) {
			if (regs[2] & o_cloexec)
				names[n++] = "O_CLOEXEC";
			cloexec = n > 0;
			put_name_array(b, SCHEMA_F_FLAGS, names, n, regs[2] & ~o_cloexec);
		}
		b->ok &= bson_append_bool(b->doc, SCHEMA_F_CLOEXEC, -1, cloexec);
	} else if (!strcmp(syscall, "fcntl") || !strcmp(syscall, "fcntl64")) {
		if (!have[1])
			return;
		switch (regs[1]) {
		case 0:    /* F_DUPFD */
		case 1030: /* F_DUPFD_CLOEXEC */
			b->ok &= bson_append_utf8(b->doc, SCHEMA_F_FCNTL_CMD, -1,
						  regs[1] ? "F_DUPFD_CLOEXEC" : "F_DUPFD", -1);
			if (have[0])
				b->ok &= bson_append_int64(b->doc, SCHEMA_F_OLD_FD, -1,
							   reg_value(regs[0], true));
			if (ok)
				b->ok &= bson_append_int64(b->doc, SCHEMA_F_NEW_FD, -1, exitv);
			b->ok &= bson_append_bool(b->doc, SCHEMA_F_CLOEXEC, -1, regs[1] != 0);
			break;
		case 2: /* F_SETFD */
			b->ok &= bson_append_utf8(b->doc, SCHEMA_F_FCNTL_CMD, -1, "F_SETFD", -1);
			if (have[0])
				b->ok &= bson_append_int64(b->doc, SCHEMA_F_FD, -1,
							   reg_value(regs[0], true));
			if (have[2])
				b->ok &= bson_append_bool(b->doc, SCHEMA_F_CLOEXEC, -1, regs[2] & 1);
			break;
		default: /* another rule's fcntl (multicast beside auditd): the number only */
			b->ok &= bson_append_int64(b->doc, SCHEMA_F_FCNTL_CMD, -1,
						   (int64_t)regs[1]);
			break;
		}
	} else if (!strcmp(syscall, "close_range")) {
		/* unsigned int arguments: ~0U means "to the last fd", never -1 */
		if (have[0])
			b->ok &= bson_append_int64(b->doc, SCHEMA_F_FD_FIRST, -1,
						   (int64_t)(regs[0] & 0xffffffffu));
		if (have[1])
			b->ok &= bson_append_int64(b->doc, SCHEMA_F_FD_LAST, -1,
						   (int64_t)(regs[1] & 0xffffffffu));
		if (have[2]) {
			if (regs[2] & range_unshare)
				names[n++] = "CLOSE_RANGE_UNSHARE";
			if (regs[2] & range_cloexec)
				names[n++] = "CLOSE_RANGE_CLOEXEC";
			put_name_array(b, SCHEMA_F_FLAGS, names, n,
				       regs[2] & ~(range_unshare | range_cloexec));
			b->ok &= bson_append_bool(b->doc, SCHEMA_F_CLOEXEC, -1,
						  regs[2] & range_cloexec);
		}
	}
}

int event_doc_build(const struct audit_event *ev, const struct doc_meta *m, bson_t *ret)
{
	struct builder b = { .doc = ret, .ok = true, .err = 0 };
	const struct audit_record *sc = audit_event_record(ev, AUDIT_T_SYSCALL);
	const struct audit_record *cwdr = audit_event_record(ev, AUDIT_T_CWD);
	const struct audit_record *pt = audit_event_record(ev, AUDIT_T_PROCTITLE);
	const char *syscall = NULL, *s, *cwd = NULL;
	static const char *const ids[] = { "pid", "ppid", "uid", "euid", "gid", "auid", "ses" };
	char nbuf[32];
	uint64_t arch = 0, regs[4];
	bool have_reg[4] = { false, false, false, false }, have_arch = false;
	unsigned fdmask;
	int64_t v, exitv = 0;
	bool success = false, have_success = false, have_exit = false, cwd_ok = true;
	bool pt_same = false;
	const struct audit_field *ptf;

	doc_meta_append(ret, m);
	b.ok &= bson_append_int64(ret, "serial", -1, (int64_t)ev->serial);
	b.ok &= bson_append_date_time(ret, "ts", -1,
				      (int64_t)(ev->sec * 1000 + ev->msec));

	if (sc) {
		int64_t nr;

		have_arch = audit_record_u64(sc, "arch", 16, &arch) == 0;
		if (audit_record_i64(sc, "syscall", 10, &nr) == 0) {
			syscall = syscalls_format(have_arch ? (uint32_t)arch : 0, (long)nr, nbuf,
						  sizeof(nbuf));
			b.ok &= bson_append_utf8(ret, "syscall", -1, syscall, -1);
		}
		if (have_arch) {
			s = syscalls_arch_name((uint32_t)arch);
			if (!s) {
				snprintf(nbuf, sizeof(nbuf), "%llx", (unsigned long long)arch);
				s = nbuf;
			}
			if (strcmp(s, EVENT_DOC_DEFAULT_ARCH) != 0)
				b.ok &= bson_append_utf8(ret, "arch", -1, s, -1);
		}
		s = audit_record_str(sc, "success");
		if (s) {
			have_success = true;
			success = strcmp(s, "yes") == 0;
			b.ok &= bson_append_bool(ret, "success", -1, success);
		}
		if (audit_record_i64(sc, "exit", 10, &exitv) == 0) {
			have_exit = true;
			b.ok &= bson_append_int64(ret, "exit", -1, exitv);
		}
	}
	for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++)
		if (ev_num(ev, sc, ids[i], &v) == 0)
			b.ok &= bson_append_int64(ret, ids[i], -1, v);
	{
		const struct audit_field *tty = ev_field(ev, sc, "tty");

		if (!tty || tty->val_len != strlen(EVENT_DOC_DEFAULT_TTY) ||
		    memcmp(tty->val, EVENT_DOC_DEFAULT_TTY, tty->val_len) != 0)
			put_field_str(&b, "tty", tty);
	}
	put_field_str(&b, "comm", ev_field(ev, sc, "comm"));
	put_field_str(&b, "exe", ev_field(ev, sc, "exe"));
	if (cwdr) {
		const struct audit_field *f = audit_record_field(cwdr, "cwd");

		put_field_str(&b, "cwd", f);
		if (f && f->kind != AUDIT_VAL_NULL && f->kind != AUDIT_VAL_UNSET &&
		    strlen(f->val) == f->val_len)
			cwd = f->val;
	}
	put_key(&b, ev_field(ev, sc, "key"));

	fdmask = fd_arg_mask(syscall);
	for (int i = 0; sc && i < 4; i++) {
		char key[3] = { 'a', (char)('0' + i), '\0' };

		if (audit_record_u64(sc, key, 16, &regs[i]) < 0)
			continue;
		have_reg[i] = true;
		v = reg_value(regs[i], fdmask & (1u << i));
		b.ok &= bson_append_int64(ret, key, -1, v);
		/* a relative name under a dirfd other than AT_FDCWD is not relative to cwd */
		if ((fdmask & (1u << i)) && v != AT_FDCWD_VAL && strcmp(syscall, "close") &&
		    strcmp(syscall, "write"))
			cwd_ok = false;
	}
	if (syscall) {
		int wa = written_fd_arg(syscall);

		if (!strcmp(syscall, "close") && have_reg[0])
			b.ok &= bson_append_int64(ret, SCHEMA_F_FD, -1, reg_value(regs[0], true));
		else if (wa >= 0 && have_reg[wa])
			b.ok &= bson_append_int64(ret, SCHEMA_F_FD, -1, reg_value(regs[wa], true));
		else if ((!strcmp(syscall, "open") || !strcmp(syscall, "openat") ||
			  !strcmp(syscall, "openat2") || !strcmp(syscall, "creat")) &&
			 have_success && success && have_exit)
			b.ok &= bson_append_int64(ret, "fd", -1, exitv);
		if (!strcmp(syscall, "open") && have_reg[1])
			put_flags(&b, regs[1]);
		else if (!strcmp(syscall, "openat") && have_reg[2])
			put_flags(&b, regs[2]);
		else if (!strcmp(syscall, "creat"))
			put_flags(&b, 01 | 0100 | 01000);
		put_fd_ops(&b, syscall, regs, have_reg, have_success && success, exitv);
	}
	put_paths(&b, ev, cwd, cwd_ok);
	ptf = pt ? audit_record_field(pt, "proctitle") : NULL;
	put_argv(&b, ev, ptf, &pt_same);
	if (ptf && !pt_same)
		put_field_str(&b, "proctitle", ptf);
	put_types_raw(&b, ev);
	if (ev->truncated)
		b.ok &= bson_append_bool(ret, "truncated", -1, true);
	doc_meta_append_container(ret, m);
	if (!b.ok)
		return b.err ? b.err : -EMSGSIZE;
	return 0;
}
