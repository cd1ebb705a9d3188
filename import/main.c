/* main.c — lineage-import: auditd log files → sessions like the listener's. Each line goes
 * through the listener's replay seam (asm_feed_line → asm_feed, the function the socket's
 * records go through), each assembled event through event_doc_build with a doc_meta of the
 * node's session, and the document to the listener's writer (writer_submit), so an imported
 * session is stored in the raw layout of the day. One session per `node=` name (logs
 * without node= get --host). Files are read oldest generation first (auditlog_order).
 *
 * The assembler's clock is the node's record count, not time: auditd logs carry no EOE
 * (ended by the next serials instead), and a record count bounds what is held open. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "assemble.h"
#include "audit_parse.h"
#include "auditlog.h"
#include "chain.h"
#include "doc_common.h"
#include "event_doc.h"
#include "log.h"
#include "logread.h"
#include "schema.h"
#include "store.h"
#include "syscalls.h"
#include "version.h"
#include "writer.h"

enum {
	EXIT_OK = 0,
	EXIT_USAGE = 1,
	EXIT_STORE = 2,   /* database unreachable or refusing: (part of) the sessions spooled */
	EXIT_INPUT = 3,   /* a file could not be opened or read to its end */
};

/* An event is emitted IMPORT_ASM_WINDOW records after its first record (no EOE in auditd
 * logs); records of one event lie a few lines apart, interleaving between CPUs included. */
#define IMPORT_ASM_WINDOW 2000
#define IMPORT_MAX_NODES 256
#define IMPORT_QUEUE_HIGH 20000  /* writer queue depth at which reading waits */
#define IMPORT_DEFAULT_SPOOL "/var/lib/lineage/import-spool"

/* what the records of a log show, for "what the log lacked" */
enum seen {
	SEEN_CLONE, SEEN_THREAD_CLONE, SEEN_EXEC, SEEN_EXIT, SEEN_OPEN, SEEN_CLOSE, SEEN_WRITE,
	SEEN_DUP, SEEN_CWD_CHANGE, SEEN_PIVOT, SEEN_SETNS, SEEN_MAX
};

struct node {
	char name[AUDITLOG_NODE_MAX + 1];
	struct asm_ctx *asm_ctx;
	struct writer *writer;
	struct chain *chain;     /* seals the session's segments (common/chain.h) */
	struct doc_meta meta;
	uint64_t clock;          /* records fed: the assembler's clock */
	uint64_t lines, records, events, malformed, doc_errors, submit_failed;
	uint64_t truncated, cut, without_syscall;
	uint64_t first_ms, last_ms; /* audit times of the first and last event */
	uint64_t seen[SEEN_MAX];
	uint64_t syscall_events;
	char kernel[128], format[32];
};

struct import {
	const char *uri, *db, *host, *spool;
	bool dry, quiet;
	unsigned max_errors;
	const char **files;
	size_t nfiles;
	struct node *nodes[IMPORT_MAX_NODES];
	size_t nnodes;
	struct node *cur;        /* the node of the event being emitted */
	uint64_t errors_shown, malformed_total;
	uint64_t bytes_done, lines_total, events_total;
	bool input_failed, store_failed;
	double t0;
	uint64_t file_bytes;     /* size of the file being read */
};

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: lineage-import [--uri URI] [--db NAME] [--host NAME] [--spool DIR]\n"
		"                      [--dry-run] [--max-errors N] [-q] FILE...\n"
		"Import auditd logs (RAW or ENRICHED format, plain or gzip, '-' for stdin) as\n"
		"lineage sessions, one per node= name, through the listener's own parser and\n"
		"assembler. Rotated generations (audit.log.3 ... audit.log) are read oldest first,\n"
		"whatever their order on the command line. Then run lineage-filter --session ID.\n"
		"  --uri URI        MongoDB URI (default $LINEAGE_MONGODB_URI or %s)\n"
		"  --db NAME        database (default %s)\n"
		"  --host NAME      host name of records without a node= prefix (default: unknown)\n"
		"  --spool DIR      where documents wait while the database is away; one directory\n"
		"                   per node below it (default %s)\n"
		"  --dry-run        parse, assemble and build the documents, store nothing\n"
		"  --max-errors N   malformed lines reported one by one (default 20; all counted)\n"
		"  -q, --quiet      no progress on stderr\n"
		"  -h, --help       this text\n"
		"  --version        the version\n"
		"Exit status: 0 imported, 1 usage, 2 the database could not take everything (the\n"
		"rest is in the spool and is stored by the next run), 3 a file could not be read.\n",
		STORE_DEFAULT_URI, STORE_DEFAULT_DB, IMPORT_DEFAULT_SPOOL);
}

static void mark_seen(struct node *n, const char *sc, const struct audit_record *sys)
{
	int64_t a0;

	if (!strcmp(sc, "clone") || !strcmp(sc, "clone3") || !strcmp(sc, "fork") ||
	    !strcmp(sc, "vfork")) {
		/* clone3's flags are in a struct: only clone's a0 tells a thread */
		if (!strcmp(sc, "clone") && audit_record_i64(sys, "a0", 16, &a0) == 0 &&
		    (a0 & 0x10000))
			n->seen[SEEN_THREAD_CLONE]++;
		else
			n->seen[SEEN_CLONE]++;
	} else if (!strcmp(sc, "execve") || !strcmp(sc, "execveat")) {
		n->seen[SEEN_EXEC]++;
	} else if (!strcmp(sc, "exit_group") || !strcmp(sc, "exit")) {
		n->seen[SEEN_EXIT]++;
	} else if (!strcmp(sc, "open") || !strcmp(sc, "openat") || !strcmp(sc, "openat2") ||
		   !strcmp(sc, "creat")) {
		n->seen[SEEN_OPEN]++;
	} else if (!strcmp(sc, "close") || !strcmp(sc, "close_range")) {
		n->seen[SEEN_CLOSE]++;
	} else if (!strncmp(sc, "write", 5) || !strncmp(sc, "pwrite", 6) ||
		   !strcmp(sc, "sendfile") || !strcmp(sc, "splice") ||
		   !strcmp(sc, "copy_file_range")) {
		n->seen[SEEN_WRITE]++;
	} else if (!strncmp(sc, "dup", 3) || !strncmp(sc, "fcntl", 5)) {
		n->seen[SEEN_DUP]++;
	} else if (!strcmp(sc, "chdir") || !strcmp(sc, "fchdir")) {
		n->seen[SEEN_CWD_CHANGE]++;
	} else if (!strcmp(sc, "pivot_root") || !strcmp(sc, "chroot")) {
		n->seen[SEEN_PIVOT]++;
	} else if (!strcmp(sc, "setns") || !strcmp(sc, "unshare")) {
		n->seen[SEEN_SETNS]++;
	}
}

/* Per-event bookkeeping: truncation, an event cut by rotation, what kind of syscall. */
static void account(struct node *n, const struct audit_event *ev)
{
	const struct audit_record *sys = audit_event_record(ev, AUDIT_T_SYSCALL);
	uint64_t ms = ev->sec * 1000 + ev->msec, arch, nr;
	const struct audit_record *ds;
	char buf[32];

	if (!n->first_ms || ms < n->first_ms)
		n->first_ms = ms;
	if (ms > n->last_ms)
		n->last_ms = ms;
	n->truncated += ev->truncated;
	if (!sys) {
		/* the records of a syscall event after its SYSCALL: its start was in a file
		 * that was not given (an earlier rotation) or was lost */
		for (size_t i = 0; i < ev->nrecords; i++) {
			int t = ev->records[i]->type;

			if (t == AUDIT_T_PATH || t == AUDIT_T_CWD || t == AUDIT_T_EXECVE ||
			    t == AUDIT_T_PROCTITLE) {
				n->cut++;
				break;
			}
		}
		n->without_syscall++;
		/* auditd's own start record says the kernel and the log format */
		ds = ev->nrecords ? ev->records[0] : NULL;
		if (ds && ds->type == 1200 /* DAEMON_START */) {
			const char *k = audit_record_str(ds, "kernel");
			const char *f = audit_record_str(ds, "format");

			if (k && !n->kernel[0])
				snprintf(n->kernel, sizeof(n->kernel), "%s", k);
			if (f && !n->format[0])
				snprintf(n->format, sizeof(n->format), "%s", f);
		}
		return;
	}
	n->syscall_events++;
	if (audit_record_u64(sys, "arch", 16, &arch) == 0 &&
	    audit_record_u64(sys, "syscall", 10, &nr) == 0)
		mark_seen(n, syscalls_format((uint32_t)arch, (long)nr, buf, sizeof(buf)), sys);
}

static void on_event(void *opaque, const struct audit_event *ev)
{
	struct import *im = opaque;
	struct node *n = im->cur;
	struct doc_meta m;
	bson_t *doc;

	n->events++;
	im->events_total++;
	account(n, ev);
	m = n->meta;
	m.seq = n->events;
	m.container = NULL; /* a log says nothing of cgroups: the filter infers, never invents */
	doc = bson_sized_new(1024);
	if (event_doc_build(ev, &m, doc) < 0) {
		n->doc_errors++;
		bson_destroy(doc);
		return;
	}
	if (!n->writer) {
		bson_destroy(doc);
		return;
	}
	if (writer_submit(n->writer, SCHEMA_EVENTS, doc) < 0)
		n->submit_failed++;
}

/* The sessions document at open: what the listener writes that a log can give, and what
 * was imported. Fields known only at the end are in the close (close_fields). */
static void session_info(const struct import *im, const struct node *n, bson_t *info)
{
	bson_t dflt, imp, files, f;
	char k[24];

	BSON_APPEND_UTF8(info, "host", n->name);
	BSON_APPEND_UTF8(info, "mode", SCHEMA_MODE_IMPORT);
	BSON_APPEND_UTF8(info, "version", LINEAGE_VERSION);
	BSON_APPEND_DOCUMENT_BEGIN(info, SCHEMA_F_DEFAULTS, &dflt);
	BSON_APPEND_UTF8(&dflt, "arch", EVENT_DOC_DEFAULT_ARCH);
	BSON_APPEND_UTF8(&dflt, "tty", EVENT_DOC_DEFAULT_TTY);
	BSON_APPEND_UTF8(&dflt, "key", EVENT_DOC_DEFAULT_KEY);
	bson_append_document_end(info, &dflt);
	BSON_APPEND_DOCUMENT_BEGIN(info, SCHEMA_F_IMPORTED, &imp);
	BSON_APPEND_UTF8(&imp, "tool", "lineage-import " LINEAGE_VERSION);
	BSON_APPEND_ARRAY_BEGIN(&imp, SCHEMA_F_IMPORTED_FILES, &files);
	for (size_t i = 0; i < im->nfiles; i++) {
		struct stat stt;
		size_t base;

		snprintf(k, sizeof(k), "%zu", i);
		BSON_APPEND_DOCUMENT_BEGIN(&files, k, &f);
		BSON_APPEND_UTF8(&f, "path", strcmp(im->files[i], "-") ? im->files[i] : "(stdin)");
		BSON_APPEND_INT32(&f, "generation", (int32_t)auditlog_generation(im->files[i], &base));
		if (strcmp(im->files[i], "-") && stat(im->files[i], &stt) == 0) {
			BSON_APPEND_INT64(&f, "size", (int64_t)stt.st_size);
			BSON_APPEND_DATE_TIME(&f, "mtime", (int64_t)stt.st_mtime * 1000);
		}
		bson_append_document_end(&files, &f);
	}
	bson_append_array_end(&imp, &files);
	bson_append_document_end(info, &imp);
	/* no audit rules were installed by lineage: what the log holds is what auditd's rules
	 * recorded (unknown here) */
	BSON_APPEND_DOCUMENT_BEGIN(info, "scope", &f);
	BSON_APPEND_UTF8(&f, "summary", "all");
	bson_append_document_end(info, &f);
}

/* What the log lacked for the filter, as sentences (also printed in the summary). */
static size_t lacks(const struct node *n, const char **v)
{
	size_t k = 0;

	if (!n->seen[SEEN_CLONE])
		v[k++] = "no clone/fork records: parents from ppid only, starts unknown";
	if (!n->seen[SEEN_EXEC])
		v[k++] = "no execve records: no argv";
	if (!n->seen[SEEN_EXIT])
		v[k++] = "no exit_group records: exits inferred from the last event";
	if (!n->seen[SEEN_OPEN])
		v[k++] = "no open records: no file accesses";
	else if (!n->seen[SEEN_CLOSE])
		v[k++] = "no close records: closes inferred at exit";
	if (n->seen[SEEN_OPEN] && !n->seen[SEEN_WRITE])
		v[k++] = "no write records: bytes written unknown";
	if (!n->seen[SEEN_PIVOT] && !n->seen[SEEN_SETNS])
		v[k++] = "no pivot_root/setns records: containers only from runtime command lines";
	return k;
}

static void close_fields(struct node *n, bson_t *b)
{
	struct asm_stats as;
	const char *lk[SEEN_MAX];
	size_t nl = lacks(n, lk);
	bson_t c, a;
	char key[24];

	asm_get_stats(n->asm_ctx, &as);
	BSON_APPEND_DOCUMENT_BEGIN(b, "counters", &c);
	BSON_APPEND_INT64(&c, "lines", (int64_t)n->lines);
	BSON_APPEND_INT64(&c, "records", (int64_t)n->records);
	BSON_APPEND_INT64(&c, "events", (int64_t)n->events);
	BSON_APPEND_INT64(&c, "malformed_lines", (int64_t)n->malformed);
	BSON_APPEND_INT64(&c, "parse_errors", (int64_t)as.parse_errors);
	BSON_APPEND_INT64(&c, "audit_serial_gaps", (int64_t)as.serial_gaps);
	BSON_APPEND_INT64(&c, "audit_serials_missing", (int64_t)as.serials_missing);
	BSON_APPEND_INT64(&c, "events_truncated", (int64_t)n->truncated);
	BSON_APPEND_INT64(&c, "events_cut", (int64_t)n->cut);
	BSON_APPEND_INT64(&c, "events_without_syscall", (int64_t)n->without_syscall);
	BSON_APPEND_INT64(&c, "records_dropped", (int64_t)as.dropped_records);
	BSON_APPEND_INT64(&c, "events_overflowed", (int64_t)as.overflowed);
	BSON_APPEND_INT64(&c, "stray_eoe", (int64_t)as.stray_eoe);
	BSON_APPEND_INT64(&c, "doc_errors", (int64_t)n->doc_errors);
	BSON_APPEND_INT64(&c, "submit_failed", (int64_t)n->submit_failed);
	bson_append_document_end(b, &c);
	if (n->first_ms) {
		BSON_APPEND_DATE_TIME(b, SCHEMA_F_IMPORT_FIRST, (int64_t)n->first_ms);
		BSON_APPEND_DATE_TIME(b, SCHEMA_F_IMPORT_LAST, (int64_t)n->last_ms);
	}
	if (n->kernel[0])
		BSON_APPEND_UTF8(b, "kernel", n->kernel);
	if (n->format[0])
		BSON_APPEND_UTF8(b, SCHEMA_F_IMPORT_FORMAT, n->format);
	BSON_APPEND_ARRAY_BEGIN(b, SCHEMA_F_IMPORT_LACKS, &a);
	for (size_t i = 0; i < nl; i++) {
		snprintf(key, sizeof(key), "%zu", i);
		BSON_APPEND_UTF8(&a, key, lk[i]);
	}
	bson_append_array_end(b, &a);
}

/* A directory name from a node name: [A-Za-z0-9._-], the rest '_'. */
static void spool_name(const char *node, char *buf, size_t size)
{
	size_t i;

	for (i = 0; node[i] && i + 1 < size; i++) {
		char c = node[i];

		buf[i] = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
			 c == '-' || c == '_' || (c == '.' && i > 0) ? c : '_';
	}
	buf[i] = '\0';
}

static int mkdir_p(const char *path)
{
	char tmp[4096];

	if (snprintf(tmp, sizeof(tmp), "%s", path) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	for (char *p = tmp + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(tmp, 0700) < 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(tmp, 0700) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

static int node_open_store(struct import *im, struct node *n)
{
	struct writer_config wcfg;
	bson_t info = BSON_INITIALIZER;
	char dir[4096], sub[AUDITLOG_NODE_MAX + 1];
	int r;

	spool_name(n->name, sub, sizeof(sub));
	snprintf(dir, sizeof(dir), "%s/%s", im->spool, sub);
	if ((r = mkdir_p(dir)) < 0) {
		log_err("spool: cannot create %s: %s", dir, strerror(-r));
		return r;
	}
	/* an imported session is chained like a recorded one: what is stored is what was read */
	if ((r = chain_new(&n->meta.session, n->meta.session_hex, &n->chain)) < 0) {
		log_err("chain: %s", strerror(-r));
		return r;
	}
	memset(&wcfg, 0, sizeof(wcfg));
	wcfg.uri = im->uri;
	wcfg.db = im->db;
	wcfg.spool_dir = dir;
	wcfg.session = &n->meta.session;
	wcfg.chain = n->chain;
	wcfg.create_indexes = true;
	if ((r = writer_new(&wcfg, &n->writer)) < 0) {
		log_err("writer: cannot start (spool %s): %s", dir, strerror(-r));
		return r;
	}
	session_info(im, n, &info);
	chain_append_info(n->chain, &info, false);
	r = writer_session_open(n->writer, &n->meta.session, &info);
	bson_destroy(&info);
	if (r < 0 || (r = writer_start(n->writer)) < 0) {
		log_err("writer: cannot start: %s", strerror(-r));
		writer_free(n->writer);
		n->writer = NULL;
		return r;
	}
	return 0;
}

/* The node of name[0..len) (len 0: records without node=), made on first sight. */
static struct node *node_get(struct import *im, const char *name, size_t len)
{
	struct node *n;

	if (!len) {
		name = im->host;
		len = strlen(name);
	}
	for (size_t i = 0; i < im->nnodes; i++)
		if (strlen(im->nodes[i]->name) == len && !memcmp(im->nodes[i]->name, name, len))
			return im->nodes[i];
	if (im->nnodes == IMPORT_MAX_NODES)
		return NULL;
	n = calloc(1, sizeof(*n));
	if (!n)
		return NULL;
	memcpy(n->name, name, len);
	n->meta.host = n->name;
	bson_oid_init(&n->meta.session, NULL);
	bson_oid_to_string(&n->meta.session, n->meta.session_hex);
	if (asm_new(IMPORT_ASM_WINDOW, 2 * IMPORT_ASM_WINDOW, on_event, im, &n->asm_ctx) < 0) {
		free(n);
		return NULL;
	}
	if (!im->dry && node_open_store(im, n) < 0)
		im->store_failed = true; /* parsed and counted anyway; nothing stored */
	im->nodes[im->nnodes++] = n;
	if (!im->quiet)
		log_info("node %s: session %s", n->name, n->meta.session_hex);
	return n;
}

static void report(struct import *im, const char *file, uint64_t line, const char *what)
{
	im->malformed_total++;
	if (im->errors_shown < im->max_errors) {
		im->errors_shown++;
		fprintf(stderr, "lineage-import: %s:%" PRIu64 ": %s\n", file, line, what);
	} else if (im->errors_shown == im->max_errors && im->max_errors) {
		im->errors_shown++;
		fprintf(stderr, "lineage-import: more malformed lines: counted, not shown "
			"(--max-errors)\n");
	}
}

static void progress(struct import *im, const char *file, uint64_t off)
{
	double dt = now_s() - im->t0;

	if (im->quiet)
		return;
	if (im->file_bytes)
		fprintf(stderr, "lineage-import: %s: %.1f of %.1f MiB, ", file, off / 1048576.0,
			im->file_bytes / 1048576.0);
	else
		fprintf(stderr, "lineage-import: %s: %.1f MiB, ", file, off / 1048576.0);
	fprintf(stderr, "%" PRIu64 " events, %.1f MiB/s, %.0f events/s\n", im->events_total,
		dt > 0 ? (im->bytes_done + off) / 1048576.0 / dt : 0.0,
		dt > 0 ? im->events_total / dt : 0.0);
}

/* Wait while the writers' queues are long: reading is faster than any store. */
static void throttle(struct import *im)
{
	for (size_t i = 0; i < im->nnodes; i++) {
		struct writer_stats ws;

		if (!im->nodes[i]->writer)
			continue;
		for (;;) {
			writer_get_stats(im->nodes[i]->writer, &ws);
			if (ws.queue_depth < IMPORT_QUEUE_HIGH)
				break;
			usleep(2000);
		}
	}
}

static int import_file(struct import *im, const char *path)
{
	const char *name = strcmp(path, "-") ? path : "(stdin)";
	struct logread *lr;
	const char *line, *node;
	double last_progress = now_s();
	uint64_t nlines = 0;
	size_t nlen, llen;
	bool too_long;
	char msg[160];
	int r;

	if ((r = logread_open(path, &lr)) < 0) {
		log_err("%s: cannot open: %s", name, strerror(-r));
		return r;
	}
	im->file_bytes = logread_size(lr);
	while ((r = logread_next(lr, &line, &llen, &too_long)) > 0) {
		size_t len = llen;
		struct node *n;
		int k;

		nlines++;
		k = auditlog_line_node(line, len, &node, &nlen);
		if (k < 0) {
			/* counted in the session of the records without node= */
			if ((n = node_get(im, NULL, 0)) != NULL) {
				n->lines++;
				n->malformed++;
			}
			report(im, name, logread_lineno(lr), "malformed node= prefix");
			continue;
		}
		n = node_get(im, node, k ? nlen : 0);
		if (!n) {
			report(im, name, logread_lineno(lr), "too many nodes (or out of memory)");
			continue;
		}
		n->lines++;
		if (too_long) {
			n->malformed++;
			report(im, name, logread_lineno(lr), "line longer than 1 MiB: skipped");
			continue;
		}
		im->cur = n;
		n->clock++;
		r = asm_feed_line(n->asm_ctx, line, len, n->clock);
		if (r == -EINVAL && audit_line_split(line, len, &k, &node, &nlen) < 0) {
			/* not `type=… msg=…` (asm_feed_line counted it as a parse error) */
			n->malformed++;
			report(im, name, logread_lineno(lr), "not an audit record (type=... msg=...)");
		} else if (r < 0) {
			snprintf(msg, sizeof(msg), "record does not parse: %s",
				 r == -EINVAL ? "bad audit(SECONDS.MS:SERIAL) header"
				 : r == -EBADMSG ? "bad quoting or hex in a value"
				 : r == -E2BIG ? "record too long or too many fields" : strerror(-r));
			n->malformed++;
			n->records++;
			report(im, name, logread_lineno(lr), msg);
		} else if (len > 0) {
			n->records++;
		}
		if ((n->clock & 1023) == 0) {
			asm_expire(n->asm_ctx, n->clock);
			throttle(im);
			if (now_s() - last_progress >= 1.0) {
				progress(im, name, logread_offset(lr));
				last_progress = now_s();
			}
		}
	}
	if (r < 0) {
		log_err("%s:%" PRIu64 ": read error: %s (the lines before it were imported)", name,
			logread_lineno(lr), logread_error(lr));
		im->input_failed = true;
	}
	im->bytes_done += logread_offset(lr);
	im->lines_total += nlines;
	if (!im->quiet)
		log_info("%s: %" PRIu64 " lines%s", name, nlines,
			 logread_compressed(lr) ? " (gzip)" : "");
	logread_free(lr);
	return r < 0 ? -EIO : 0;
}

/* End of input: emit what is open, stop the writers, close the sessions; print the summary. */
static void finish(struct import *im)
{
	double dt = now_s() - im->t0;

	for (size_t i = 0; i < im->nnodes; i++) {
		struct node *n = im->nodes[i];
		struct asm_stats as;
		const char *lk[SEEN_MAX];
		size_t nl;

		im->cur = n;
		asm_flush(n->asm_ctx);
		asm_get_stats(n->asm_ctx, &as);
		if (n->writer) {
			bson_t closing = BSON_INITIALIZER;
			char err[512];
			int r;

			bool whole = true;

			if (writer_stop(n->writer, 600000) < 0) {
				log_err("node %s: the database did not take everything: the rest is in "
					"the spool %s/…, stored by the next lineage-import", n->name,
					im->spool);
				im->store_failed = true;
				whole = false;
			}
			close_fields(n, &closing);
			chain_finish(n->chain);
			chain_append_info(n->chain, &closing, whole);
			r = writer_session_close(n->writer, &n->meta.session, &closing, err,
						 sizeof(err));
			if (r < 0) {
				log_err("node %s: closing the session document failed: %s", n->name, err);
				im->store_failed = true;
			} else if (r == 1) {
				im->store_failed = true;
			}
			bson_destroy(&closing);
		}
		printf("session %s host %s%s: %" PRIu64 " lines, %" PRIu64 " records, %" PRIu64
		       " events (%" PRIu64 " syscall events)\n", n->meta.session_hex, n->name,
		       im->dry ? " (dry run: nothing stored)" : "", n->lines, n->records, n->events,
		       n->syscall_events);
		printf("  malformed lines %" PRIu64 " (%" PRIu64 " records that do not parse)"
		       ", serial gaps %" PRIu64 " (%" PRIu64 " serials missing), truncated events %"
		       PRIu64 ", events cut (start not in the files) %" PRIu64 ", document errors %"
		       PRIu64 "\n", n->malformed, as.parse_errors, as.serial_gaps, as.serials_missing,
		       n->truncated, n->cut, n->doc_errors + n->submit_failed);
		nl = lacks(n, lk);
		for (size_t k = 0; k < nl; k++)
			printf("  the log lacks: %s\n", lk[k]);
	}
	printf("import: %zu files, %" PRIu64 " lines, %" PRIu64 " events in %.2f s: "
	       "events_per_s=%.0f\n", im->nfiles, im->lines_total, im->events_total, dt,
	       dt > 0 ? im->events_total / dt : 0.0);
}

static void release(struct import *im)
{
	for (size_t i = 0; i < im->nnodes; i++) {
		writer_free(im->nodes[i]->writer);
		chain_free(im->nodes[i]->chain);
		asm_free(im->nodes[i]->asm_ctx);
		free(im->nodes[i]);
	}
	im->nnodes = 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "uri", required_argument, NULL, 'u' },
		{ "db", required_argument, NULL, 'd' },
		{ "host", required_argument, NULL, 'H' },
		{ "spool", required_argument, NULL, 'S' },
		{ "dry-run", no_argument, NULL, 'n' },
		{ "max-errors", required_argument, NULL, 'E' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	static struct import I;
	struct import *im = &I;
	struct store *st = NULL;
	char err[512], *end;
	int c, rc = EXIT_OK;
	size_t nstdin = 0;

	log_init("lineage-import", LOG_INFO);
	im->host = "unknown";
	im->spool = IMPORT_DEFAULT_SPOOL;
	im->max_errors = 20;
	while ((c = getopt_long(argc, argv, "hq", opts, NULL)) != -1) {
		switch (c) {
		case 'u': im->uri = optarg; break;
		case 'd': im->db = optarg; break;
		case 'H':
			if (!optarg[0] || strlen(optarg) > AUDITLOG_NODE_MAX) {
				fprintf(stderr, "lineage-import: --host wants 1 to %d bytes\n",
					AUDITLOG_NODE_MAX);
				return EXIT_USAGE;
			}
			im->host = optarg;
			break;
		case 'S': im->spool = optarg; break;
		case 'n': im->dry = true; break;
		case 'E':
			errno = 0;
			im->max_errors = (unsigned)strtoul(optarg, &end, 10);
			if (errno || *end || !optarg[0]) {
				fprintf(stderr, "lineage-import: --max-errors wants a number, not '%s'\n",
					optarg);
				return EXIT_USAGE;
			}
			break;
		case 'q': im->quiet = true; break;
		case 'h': usage(stdout); return EXIT_OK;
		case 'V': printf("lineage-import %s\n", LINEAGE_VERSION); return EXIT_OK;
		default: usage(stderr); return EXIT_USAGE;
		}
	}
	if (optind == argc) {
		fprintf(stderr, "lineage-import: no FILE given ('-' reads standard input)\n");
		usage(stderr);
		return EXIT_USAGE;
	}
	im->files = (const char **)&argv[optind];
	im->nfiles = (size_t)(argc - optind);
	for (size_t i = 0; i < im->nfiles; i++)
		nstdin += strcmp(im->files[i], "-") == 0;
	if (nstdin > 1) {
		fprintf(stderr, "lineage-import: '-' (standard input) given more than once\n");
		return EXIT_USAGE;
	}
	if (auditlog_order(im->files, im->nfiles) < 0) {
		log_err("out of memory");
		return EXIT_USAGE;
	}
	if (!im->dry) {
		store_global_init();
		if (store_open(im->uri, im->db, &st, err, sizeof(err)) < 0) {
			log_err("%s", err);
			store_global_cleanup();
			return EXIT_USAGE; /* a URI that does not parse */
		}
		if (store_ping(st, err, sizeof(err)) < 0)
			log_warn("%s: importing into the spool %s, stored when it answers", err,
				 im->spool);
	}
	im->t0 = now_s();
	for (size_t i = 0; i < im->nfiles; i++) {
		if (!im->quiet)
			log_info("reading %s", strcmp(im->files[i], "-") ? im->files[i] : "(stdin)");
		if (import_file(im, im->files[i]) < 0)
			im->input_failed = true;
	}
	if (!im->nnodes)
		log_warn("no audit records in the input: no session made");
	finish(im);
	release(im);
	if (!im->dry) {
		store_free(st);
		store_global_cleanup();
	}
	if (im->malformed_total)
		log_warn("%" PRIu64 " malformed lines (counted in the sessions' counters)",
			 im->malformed_total);
	if (im->store_failed)
		rc = EXIT_STORE;
	if (im->input_failed)
		rc = EXIT_INPUT;
	return rc;
}
