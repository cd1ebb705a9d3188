/* main.c — lineage-listener: command line, threads and signals. One thread reads audit
 * (audit_source → assemble → event_doc), one reads the proc connector (proc_connector →
 * proc_doc, with /proc enrichment), the writer thread stores; the main thread handles
 * signals, prints stats, polls the kernel's lost counter and owns the session document. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "assemble.h"
#include "audit_source.h"
#include "chain.h"
#include "doc_common.h"
#include "event_doc.h"
#include "jsonl_out.h"
#include "log.h"
#include "num.h"
#include "proc_connector.h"
#include "proc_doc.h"
#include "procfs.h"
#include "schema.h"
#include "store.h"
#include "syscalls.h"
#include "writer.h"

#define LISTENER_VERSION "0.1.0"

struct options {
	const char *uri, *db, *spool_dir, *jsonl;
	bool multicast, audit_write, no_db, no_proc, no_audit, no_chain;
	uint32_t backlog_limit, backlog_wait;
	int rcvbuf, proc_rcvbuf;
	unsigned stats_interval, asm_timeout_ms, stop_timeout_ms;
	size_t queue_max, queue_bytes, batch_max, cache_max;
	unsigned batch_age_ms;
	pid_t exclude[AUDIT_SOURCE_MAX_EXCLUDE];
	size_t n_exclude;
};

struct counters {
	atomic_uint_fast64_t records, events, parse_errors, audit_enobufs, audit_foreign, audit_runts,
		proc_events, proc_enobufs, proc_malformed, dropped_scope, doc_errors, submit_failed,
		resyncs, snapshot, chain_errors;
};

struct listener {
	struct options opt;
	struct doc_meta meta;       /* session, host; seq and container set per document */
	atomic_uint_fast64_t seq;
	struct counters c;
	struct writer *writer;
	struct jsonl_out *jsonl;
	struct chain *chain;        /* NULL with --no-chain */
	struct audit_source *audit;
	struct asm_ctx *asm_ctx;
	struct pc *pc;
	struct pcache *cache;
	struct proc_doc_clock clk;  /* kernel clocks → wall clock, sampled at start */
	uint32_t lost_at_start, lost_now;
	atomic_bool stop;
};

static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static bool excluded(const struct listener *l, long tgid)
{
	for (size_t i = 0; i < l->opt.n_exclude; i++)
		if (l->opt.exclude[i] == tgid)
			return true;
	return false;
}

/* Hand a finished document on: JSON lines copy, then the writer (which owns it after). */
static void submit_doc(struct listener *l, const char *collection, bson_t *doc)
{
	if (l->jsonl && jsonl_out_write(l->jsonl, collection, doc) < 0)
		atomic_fetch_add(&l->c.submit_failed, 1);
	if (!l->writer) {
		bson_destroy(doc);
		return;
	}
	if (writer_submit(l->writer, collection, doc) < 0)
		atomic_fetch_add(&l->c.submit_failed, 1);
}

/* The evidence chain sees every document in submit order before it leaves; a completed
 * link goes the same way as the documents it covers (chain.h). */
static void submit(struct listener *l, const char *collection, bson_t *doc)
{
	bson_t *link = NULL;

	if (l->chain && chain_add(l->chain, collection, doc, &link) < 0)
		atomic_fetch_add(&l->c.chain_errors, 1);
	submit_doc(l, collection, doc);
	if (link)
		submit_doc(l, SCHEMA_CHAIN, link);
}

static void next_meta(struct listener *l, struct doc_meta *m, const char *container)
{
	*m = l->meta;
	m->seq = atomic_fetch_add(&l->seq, 1) + 1;
	m->container = container && *container ? container : NULL;
}

/* ---- audit thread ---- */

/* Did this event move its process to another container: execve (runc init becomes the
 * container's process; it joined the cgroup just before) or setns (docker exec)? */
static bool changes_container(const struct audit_record *sc)
{
	uint64_t arch = 0;
	int64_t nr = -1;
	const char *name;

	if (!sc || audit_record_u64(sc, "arch", 16, &arch) < 0 ||
	    audit_record_i64(sc, "syscall", 10, &nr) < 0)
		return false;
	name = syscalls_name((uint32_t)arch, nr);
	return name && (!strcmp(name, "execve") || !strcmp(name, "execveat") ||
			!strcmp(name, "setns"));
}

/* The container of an audit event's process, from the per-tgid cache. The kernel does not
 * say which cgroup a syscall ran in, so this is the best /proc can tell, in this order:
 * after an exec or setns, /proc now (the cached entry may be the parent's, inherited at
 * fork); else the cache (read from /proc on a miss); else, when the process is already gone
 * and its fork not yet handled by the proc thread, its parent's entry. Returns NULL for the
 * host or when nothing is known; the string lives in *ce. */
static const char *audit_event_container(struct listener *l, const struct audit_event *ev,
					 pid_t pid, struct pcache_entry *ce)
{
	const struct audit_record *sc = audit_event_record(ev, AUDIT_T_SYSCALL);
	int64_t ppid = 0;

	if (changes_container(sc)) {
		memset(ce, 0, sizeof(*ce));
		if (procfs_read_ids(NULL, pid, ce->container, &ce->mnt_ns, &ce->pid_ns) == 0) {
			ce->tgid = pid;
			pcache_put(l->cache, ce);
			return ce->container;
		}
	}
	if (pcache_lookup(l->cache, pid, ce) == 0)
		return ce->container;
	if (sc && audit_record_i64(sc, "ppid", 10, &ppid) == 0 && ppid > 1 &&
	    pcache_lookup(l->cache, (pid_t)ppid, ce) == 0) {
		ce->tgid = pid;
		pcache_put(l->cache, ce);
		return ce->container;
	}
	return NULL;
}

static void on_audit_event(void *opaque, const struct audit_event *ev)
{
	struct listener *l = opaque;
	struct pcache_entry ce;
	struct doc_meta m;
	const char *container = NULL;
	long pid = audit_event_pid(ev);
	bson_t *doc;

	atomic_fetch_add(&l->c.events, 1);
	if (pid > 0 && excluded(l, pid)) {
		atomic_fetch_add(&l->c.dropped_scope, 1);
		return;
	}
	if (pid > 0 && l->cache)
		container = audit_event_container(l, ev, (pid_t)pid, &ce);
	next_meta(l, &m, container);
	doc = bson_sized_new(1024); /* an event document is ~750 B: no regrowth for most */
	if (event_doc_build(ev, &m, doc) < 0) {
		atomic_fetch_add(&l->c.doc_errors, 1);
		bson_destroy(doc);
		return;
	}
	submit(l, "events", doc);
}

static void on_audit_record(void *opaque, int type, const char *text, size_t len)
{
	struct listener *l = opaque;

	atomic_fetch_add(&l->c.records, 1);
	if (asm_feed(l->asm_ctx, type, text, len, mono_ms()) < 0)
		atomic_fetch_add(&l->c.parse_errors, 1);
}

static void *audit_thread(void *arg)
{
	struct listener *l = arg;
	struct pollfd p = { .fd = audit_source_fd(l->audit), .events = POLLIN };
	struct audit_source_skips skips = { 0, 0 };
	uint64_t last_enobufs_log = 0, runts_logged = 0;

	while (!atomic_load(&l->stop)) {
		int r = poll(&p, 1, 100);

		if (r > 0) {
			/* drain what is there before expiring, so EOEs are not overtaken */
			for (int i = 0; i < 256; i++) {
				r = audit_source_read(l->audit, on_audit_record, l, &skips);
				if (skips.runts != runts_logged) {
					log_warn("audit: %" PRIu64 " datagram(s) shorter than a netlink "
						 "header skipped", skips.runts - runts_logged);
					runts_logged = skips.runts;
					atomic_store(&l->c.audit_runts, skips.runts);
				}
				if (r == -EAGAIN)
					break;
				if (r == -ENOBUFS) {
					uint64_t n = atomic_fetch_add(&l->c.audit_enobufs, 1) + 1;

					if (mono_ms() - last_enobufs_log > 5000) {
						log_warn("audit: socket overrun (ENOBUFS): records lost, "
							 "%" PRIu64 " overruns so far", n);
						last_enobufs_log = mono_ms();
					}
					continue;
				}
				if (r < 0 && r != -EINTR) {
					log_err("audit: recv failed: %s", strerror(-r));
					break;
				}
			}
		}
		asm_expire(l->asm_ctx, mono_ms());
	}
	asm_flush(l->asm_ctx);
	atomic_store(&l->c.audit_foreign, skips.foreign);
	atomic_store(&l->c.audit_runts, skips.runts);
	return NULL;
}

/* ---- proc connector thread ---- */

static int write_snapshot_doc(struct listener *l, const struct procfs_proc *p, bool resync)
{
	struct doc_meta m;
	bson_t tmp;

	if (excluded(l, p->tgid))
		return 0;
	next_meta(l, &m, p->container);
	/* proc_doc initialises its output itself: build on the stack, hand on a heap copy */
	if (proc_doc_snapshot(p, &m, &l->clk, &tmp) < 0) {
		atomic_fetch_add(&l->c.doc_errors, 1);
		bson_destroy(&tmp);
		return 0;
	}
	if (resync)
		BSON_APPEND_BOOL(&tmp, "resync", true);
	atomic_fetch_add(&l->c.snapshot, 1);
	submit(l, "snapshot", bson_copy(&tmp));
	bson_destroy(&tmp);
	return 0;
}

static int on_snapshot_proc(void *opaque, const struct procfs_proc *p)
{
	return write_snapshot_doc(opaque, p, false);
}

/* After a proc connector overrun: what /proc shows now, so processes born meanwhile exist. */
static int on_resync_proc(void *opaque, const struct procfs_proc *p)
{
	return write_snapshot_doc(opaque, p, true);
}

static void on_proc_event(void *opaque, const struct cn_proc_event *ev)
{
	struct listener *l = opaque;
	struct procfs_proc info, *infop = NULL;
	struct pcache_entry ce;
	struct doc_meta m;
	const char *container = NULL;
	bson_t tmp;
	pid_t who = ev->what == CN_PROC_FORK ? ev->parent_tgid : ev->tgid;

	atomic_fetch_add(&l->c.proc_events, 1);
	if (excluded(l, who) || (ev->what == CN_PROC_FORK && excluded(l, ev->child_tgid))) {
		atomic_fetch_add(&l->c.dropped_scope, 1);
		return;
	}
	memset(&info, 0, sizeof(info));
	if (ev->what == CN_PROC_FORK && !ev->thread && l->cache) {
		/* Forget what a previous process with this pid left. Not the parent's entry: the
		 * audit thread may already have read this child's own (this stream can lag behind
		 * audit), and a runtime's child changes cgroup before its exec. */
		pcache_invalidate(l->cache, ev->child_tgid);
	} else if (ev->what == CN_PROC_EXEC) {
		/* what /proc still shows: a race with the process, recorded as such */
		if (procfs_read(NULL, ev->pid, &info) == 0 && !info.gone) {
			infop = &info;
			container = info.container;
			if (l->cache) {
				memset(&ce, 0, sizeof(ce));
				ce.tgid = ev->tgid;
				memcpy(ce.container, info.container, sizeof(ce.container));
				ce.mnt_ns = info.mnt_ns;
				ce.pid_ns = info.pid_ns;
				pcache_put(l->cache, &ce);
			}
		}
	}
	/* No invalidation at exit: the audit records of the exiting process (exit_group, its
	 * last closes) may come after the proc connector's exit; the next fork of the pid
	 * replaces the entry and the cache is bounded. */
	next_meta(l, &m, container);
	if (proc_doc_event(ev, infop, &m, &l->clk, &tmp) < 0)
		atomic_fetch_add(&l->c.doc_errors, 1);
	else
		submit(l, "proc_events", bson_copy(&tmp));
	bson_destroy(&tmp);
	procfs_proc_release(&info);
}

static void *proc_thread(void *arg)
{
	struct listener *l = arg;
	struct pollfd p = { .fd = pc_fd(l->pc), .events = POLLIN };

	while (!atomic_load(&l->stop)) {
		int r = poll(&p, 1, 100);

		if (r <= 0)
			continue;
		for (int i = 0; i < 256; i++) {
			r = pc_read(l->pc, on_proc_event, l);
			if (r == -EAGAIN)
				break;
			if (r == -ENOBUFS) {
				atomic_fetch_add(&l->c.proc_enobufs, 1);
				atomic_fetch_add(&l->c.resyncs, 1);
				log_warn("proc connector: overrun (ENOBUFS): fork/exec/exit events lost; "
					 "resyncing from /proc");
				procfs_snapshot(NULL, on_resync_proc, l);
				continue;
			}
			if (r < 0 && r != -EINTR) {
				log_err("proc connector: recv failed: %s", strerror(-r));
				break;
			}
		}
	}
	return NULL;
}

/* ---- set-up ---- */

static void usage(FILE *f)
{
	fprintf(f,
		"usage: lineage-listener [OPTIONS]\n"
		"Record process and file activity of this host and its containers into MongoDB.\n"
		"Needs root. Stop with SIGINT/SIGTERM; SIGHUP reopens the --jsonl file.\n\n"
		"  --uri URI            MongoDB URI (default $LINEAGE_MONGODB_URI or %s)\n"
		"  --db NAME            database (default %s)\n"
		"  --no-db              do not write to MongoDB (use with --jsonl)\n"
		"  --jsonl FILE         also write every document as a JSON line to FILE (- = stdout)\n"
		"  --spool DIR          where batches wait while MongoDB is away (default %s)\n"
		"  --multicast          read a copy of audit beside another audit daemon; change nothing\n"
		"  --no-write           leave write(2) out of the audit rules\n"
		"  --no-proc            do not read the proc connector\n"
		"  --backlog-limit N    kernel audit queue length (default 8192)\n"
		"  --backlog-wait J     jiffies an audited task may block when the queue is full\n"
		"                       (default 60; 0 = never block, the kernel counts lost instead)\n"
		"  --rcvbuf BYTES       socket receive buffers (default 16777216)\n"
		"  --proc-rcvbuf BYTES  the proc connector's alone (default: --rcvbuf)\n"
		"  --exclude-pid PID    never record this process (repeatable; the listener and local\n"
		"                       mongod/ferretdb servers are always excluded)\n"
		"  --stats-interval S   seconds between stats lines on stderr (default 10; 0 = off)\n"
		"  --batch N            documents per insert (default 500)\n"
		"  --batch-age MS       oldest document age before a batch is sent (default 200)\n"
		"  --queue-max N        documents queued in memory before spooling (default 100000)\n"
		"  --no-chain           no evidence chain (SHA-256 links in 'chain'; for measuring its\n"
		"                       cost: lineage-query verify then says 'unchained')\n"
		"  --print-audit-config print the kernel audit status and rules, then exit\n"
		"  -v, --verbose        debug logging\n"
		"  -h, --help           this text\n"
		"  --version            version\n\n"
		"Exit status: 0 after a clean stop, 1 on a runtime error, 2 on a usage error.\n",
		STORE_DEFAULT_URI, STORE_DEFAULT_DB, "/var/lib/lineage/spool");
}

/* Local database servers (mongod, mongos, ferretdb) would otherwise be recorded while they
 * store what we record: a feedback loop. */
static int scan_db_servers(void *opaque, const struct procfs_proc *p)
{
	struct options *o = opaque;

	if ((strcmp(p->comm, "mongod") == 0 || strcmp(p->comm, "mongos") == 0 ||
	     strcmp(p->comm, "ferretdb") == 0) && o->n_exclude < AUDIT_SOURCE_MAX_EXCLUDE)
		o->exclude[o->n_exclude++] = p->tgid;
	return 0;
}

static int parse_args(int argc, char **argv, struct options *o)
{
	enum { OPT_URI = 256, OPT_DB, OPT_NODB, OPT_JSONL, OPT_SPOOL, OPT_MCAST, OPT_NOWRITE, OPT_NOPROC,
	       OPT_BLIMIT, OPT_BWAIT, OPT_RCVBUF, OPT_EXCL, OPT_STATS, OPT_BATCH, OPT_BAGE, OPT_QMAX, OPT_PRINT,
	       OPT_VERSION, OPT_PRCVBUF, OPT_NOCHAIN };
	static const struct option opts[] = {
		{ "uri", required_argument, NULL, OPT_URI },
		{ "db", required_argument, NULL, OPT_DB },
		{ "no-db", no_argument, NULL, OPT_NODB },
		{ "jsonl", required_argument, NULL, OPT_JSONL },
		{ "spool", required_argument, NULL, OPT_SPOOL },
		{ "multicast", no_argument, NULL, OPT_MCAST },
		{ "no-write", no_argument, NULL, OPT_NOWRITE },
		{ "no-proc", no_argument, NULL, OPT_NOPROC },
		{ "backlog-limit", required_argument, NULL, OPT_BLIMIT },
		{ "backlog-wait", required_argument, NULL, OPT_BWAIT },
		{ "rcvbuf", required_argument, NULL, OPT_RCVBUF },
		{ "exclude-pid", required_argument, NULL, OPT_EXCL },
		{ "stats-interval", required_argument, NULL, OPT_STATS },
		{ "batch", required_argument, NULL, OPT_BATCH },
		{ "batch-age", required_argument, NULL, OPT_BAGE },
		{ "queue-max", required_argument, NULL, OPT_QMAX },
		{ "print-audit-config", no_argument, NULL, OPT_PRINT },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, OPT_VERSION },
		{ "proc-rcvbuf", required_argument, NULL, OPT_PRCVBUF },
		{ "no-chain", no_argument, NULL, OPT_NOCHAIN },
		{ NULL, 0, NULL, 0 },
	};
	uint64_t v;
	int c;

	*o = (struct options){
		.spool_dir = "/var/lib/lineage/spool",
		.audit_write = true,
		.backlog_limit = 8192,
		.backlog_wait = 60,
		.rcvbuf = 16 << 20,
		.stats_interval = 10,
		.asm_timeout_ms = 2000,
		.stop_timeout_ms = 20000,
		.queue_max = 100000,
		.queue_bytes = 256u << 20,
		.batch_max = 500,
		.batch_age_ms = 200,
		.cache_max = 4096,
	};
	while ((c = getopt_long(argc, argv, "vh", opts, NULL)) != -1) {
		switch (c) {
		case OPT_URI: o->uri = optarg; break;
		case OPT_DB: o->db = optarg; break;
		case OPT_NODB: o->no_db = true; break;
		case OPT_JSONL: o->jsonl = optarg; break;
		case OPT_SPOOL: o->spool_dir = optarg; break;
		case OPT_MCAST: o->multicast = true; break;
		case OPT_NOWRITE: o->audit_write = false; break;
		case OPT_NOPROC: o->no_proc = true; break;
		case OPT_NOCHAIN: o->no_chain = true; break;
		case OPT_PRINT: return 3;
		case 'v': log_init("lineage-listener", LOG_DEBUG); break;
		case 'h': usage(stdout); return 1;
		case OPT_VERSION: printf("lineage-listener %s\n", LISTENER_VERSION); return 1;
		case OPT_BLIMIT: case OPT_BWAIT: case OPT_RCVBUF: case OPT_EXCL: case OPT_STATS:
		case OPT_BATCH: case OPT_BAGE: case OPT_QMAX: case OPT_PRCVBUF:
			if (num_parse_u64(optarg, INT_MAX, &v) < 0) {
				const struct option *op = opts;

				while (op->name && op->val != c)
					op++;
				fprintf(stderr, "lineage-listener: --%s: not a number in range: '%s'\n",
					op->name ? op->name : "?", optarg);
				return -1;
			}
			if (c == OPT_BLIMIT) o->backlog_limit = v;
			else if (c == OPT_BWAIT) o->backlog_wait = v;
			else if (c == OPT_RCVBUF) o->rcvbuf = v;
			else if (c == OPT_STATS) o->stats_interval = v;
			else if (c == OPT_BATCH) o->batch_max = v ? v : 1;
			else if (c == OPT_BAGE) o->batch_age_ms = v;
			else if (c == OPT_QMAX) o->queue_max = v ? v : 1;
			else if (c == OPT_PRCVBUF) o->proc_rcvbuf = v;
			else if (o->n_exclude < AUDIT_SOURCE_MAX_EXCLUDE - 2)
				o->exclude[o->n_exclude++] = v;
			break;
		default:
			usage(stderr);
			return -1;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "lineage-listener: unexpected argument '%s' (see --help)\n", argv[optind]);
		return -1;
	}
	if (o->no_db && !o->jsonl) {
		fprintf(stderr, "lineage-listener: --no-db needs --jsonl FILE, or nothing is recorded\n");
		return -1;
	}
	return 0;
}

/* mkdir -p, with mode for every directory it makes (the spool holds what the host did). */
static int mkdir_p(const char *path, mode_t mode)
{
	char buf[PATH_MAX];
	size_t len = strlen(path);

	if (len == 0 || len >= sizeof(buf))
		return -ENAMETOOLONG;
	memcpy(buf, path, len + 1);
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, mode) < 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(buf, mode) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

static void read_boot_id(char *buf, size_t len)
{
	FILE *f = fopen("/proc/sys/kernel/random/boot_id", "re");

	buf[0] = '\0';
	if (f) {
		if (fgets(buf, len, f))
			buf[strcspn(buf, "\n")] = '\0';
		fclose(f);
	}
}

static void append_counters(struct listener *l, bson_t *b)
{
	struct writer_stats ws;
	bson_t c;

	BSON_APPEND_DOCUMENT_BEGIN(b, "counters", &c);
	BSON_APPEND_INT64(&c, "records", atomic_load(&l->c.records));
	BSON_APPEND_INT64(&c, "events", atomic_load(&l->c.events));
	BSON_APPEND_INT64(&c, "parse_errors", atomic_load(&l->c.parse_errors));
	BSON_APPEND_INT64(&c, "audit_lost", (int64_t)(l->lost_now - l->lost_at_start));
	BSON_APPEND_INT64(&c, "audit_enobufs", atomic_load(&l->c.audit_enobufs));
	BSON_APPEND_INT64(&c, "audit_foreign", atomic_load(&l->c.audit_foreign));
	BSON_APPEND_INT64(&c, "audit_runts", atomic_load(&l->c.audit_runts));
	BSON_APPEND_INT64(&c, "proc_events", atomic_load(&l->c.proc_events));
	BSON_APPEND_INT64(&c, "proc_enobufs", atomic_load(&l->c.proc_enobufs));
	BSON_APPEND_INT64(&c, "proc_resyncs", atomic_load(&l->c.resyncs));
	BSON_APPEND_INT64(&c, "snapshot", atomic_load(&l->c.snapshot));
	BSON_APPEND_INT64(&c, "dropped_scope", atomic_load(&l->c.dropped_scope));
	BSON_APPEND_INT64(&c, "doc_errors", atomic_load(&l->c.doc_errors));
	BSON_APPEND_INT64(&c, "submit_failed", atomic_load(&l->c.submit_failed));
	BSON_APPEND_INT64(&c, "chain_errors", atomic_load(&l->c.chain_errors));
	if (l->asm_ctx) {
		struct asm_stats as;

		asm_get_stats(l->asm_ctx, &as);
		/* serial gaps are a hint only: other rules' and excluded events use serials too */
		BSON_APPEND_INT64(&c, "audit_serial_gaps", as.serial_gaps);
		BSON_APPEND_INT64(&c, "events_timed_out", as.timed_out);
		BSON_APPEND_INT64(&c, "events_overflowed", as.overflowed);
		BSON_APPEND_INT64(&c, "records_dropped", as.dropped_records);
	}
	if (l->pc) {
		struct pc_stats ps;

		pc_get_stats(l->pc, &ps);
		BSON_APPEND_INT64(&c, "proc_seq_gaps", ps.seq_gaps);
		BSON_APPEND_INT64(&c, "proc_malformed", ps.malformed);
	}
	if (l->writer) {
		writer_get_stats(l->writer, &ws);
		BSON_APPEND_INT64(&c, "stored", ws.inserted);
		BSON_APPEND_INT64(&c, "duplicates", ws.duplicates);
		BSON_APPEND_INT64(&c, "spooled", ws.spooled);
		BSON_APPEND_INT64(&c, "replayed", ws.replayed);
		BSON_APPEND_INT64(&c, "dropped", ws.dropped);
		BSON_APPEND_INT64(&c, "torn_spool_records", ws.torn_records);
		BSON_APPEND_INT64(&c, "rejected", ws.rejected_docs);
		BSON_APPEND_INT64(&c, "rejected_segments", ws.rejected_segments);
	}
	bson_append_document_end(b, &c);
}

static void print_stats(struct listener *l)
{
	static uint64_t last_stored, last_ms;
	struct writer_stats ws = { 0 };
	uint64_t now = mono_ms();
	double rate = 0;

	if (l->writer)
		writer_get_stats(l->writer, &ws);
	if (last_ms && now > last_ms)
		rate = (double)(ws.inserted - last_stored) * 1000.0 / (double)(now - last_ms);
	last_stored = ws.inserted;
	last_ms = now;
	log_info("stats: records %" PRIu64 " events %" PRIu64 " parse_errors %" PRIu64
		 " lost(kernel) %u enobufs(audit) %" PRIu64 " proc_events %" PRIu64
		 " enobufs(proc) %" PRIu64 " dropped_scope %" PRIu64 " | queue %zu (hwm %zu, %zu KiB) "
		 "stored %" PRIu64 " (%.0f/s) spooled %" PRIu64 " replayed %" PRIu64
		 " dropped %" PRIu64 " avg_batch %.1f insert_ms %.1f db %s",
		 (uint64_t)atomic_load(&l->c.records), (uint64_t)atomic_load(&l->c.events),
		 (uint64_t)atomic_load(&l->c.parse_errors), l->lost_now - l->lost_at_start,
		 (uint64_t)atomic_load(&l->c.audit_enobufs), (uint64_t)atomic_load(&l->c.proc_events),
		 (uint64_t)atomic_load(&l->c.proc_enobufs), (uint64_t)atomic_load(&l->c.dropped_scope),
		 ws.queue_depth, ws.queue_hwm, ws.queue_bytes >> 10, ws.inserted, rate, ws.spooled, ws.replayed, ws.dropped,
		 ws.avg_batch, ws.last_insert_ms, ws.db_up ? "up" : "down");
}

static int print_audit_config(void)
{
	char err[512], *dump = NULL;

	if (audit_source_dump_config(&dump, err, sizeof(err)) < 0) {
		log_err("%s", err);
		return 1;
	}
	fputs(dump, stdout);
	free(dump);
	return 0;
}

int main(int argc, char **argv)
{
	static struct listener L;
	struct listener *l = &L;
	struct audit_source_config acfg;
	struct writer_config wcfg;
	struct store *st = NULL;
	struct utsname un;
	sigset_t sigs;
	pthread_t at, pt;
	bool at_started = false, pt_started = false, session_open = false;
	bson_t info = BSON_INITIALIZER, rules, scope, closing = BSON_INITIALIZER;
	char err[512], boot_id[64];
	uint64_t last_stats;
	int rc = 1, r;

	log_init("lineage-listener", LOG_INFO);
	r = parse_args(argc, argv, &l->opt);
	if (r == 3)
		return print_audit_config();
	if (r != 0)
		return r > 0 ? 0 : 2;
	if (geteuid() != 0)
		log_warn("not running as root: audit and the proc connector will refuse");

	/* Signals are taken synchronously by the main thread only. */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);

	l->opt.exclude[l->opt.n_exclude++] = getpid();
	procfs_snapshot(NULL, scan_db_servers, &l->opt);
	proc_doc_clock_init(&l->clk);
	uname(&un);
	read_boot_id(boot_id, sizeof(boot_id));
	l->meta.host = un.nodename;
	bson_oid_init(&l->meta.session, NULL);
	bson_oid_to_string(&l->meta.session, l->meta.session_hex);
	if (!l->opt.no_chain &&
	    (r = chain_new(&l->meta.session, l->meta.session_hex, 0, &l->chain)) < 0) {
		log_err("chain: %s", strerror(-r));
		return 1;
	}

	store_global_init();
	if (l->opt.jsonl && (r = jsonl_out_open(l->opt.jsonl, &l->jsonl)) < 0) {
		log_err("cannot open --jsonl %s: %s", l->opt.jsonl, strerror(-r));
		goto out;
	}

	/* The session document first: a listener that cannot tell where it writes says so now. */
	if (!l->opt.no_db) {
		if (store_open(l->opt.uri, l->opt.db, &st, err, sizeof(err)) < 0) {
			log_err("%s", err);
			rc = 2;
			goto out;
		}
		if (store_ping(st, err, sizeof(err)) < 0) {
			log_err("%s", err);
			goto out;
		}
	}

	/* Audit before the writer's first insert, so the kernel already excludes us. */
	memset(&acfg, 0, sizeof(acfg));
	acfg.multicast = l->opt.multicast;
	acfg.audit_write = l->opt.audit_write;
	acfg.backlog_limit = l->opt.backlog_limit;
	acfg.backlog_wait = l->opt.backlog_wait;
	acfg.rcvbuf = l->opt.rcvbuf;
	memcpy(acfg.exclude, l->opt.exclude, sizeof(acfg.exclude));
	acfg.n_exclude = l->opt.n_exclude;
	if (audit_source_open(&acfg, &l->audit, err, sizeof(err)) < 0) {
		log_err("%s", err);
		goto out;
	}
	{
		bool from_state;
		int stale = audit_source_recovered(l->audit, &from_state);

		if (stale > 0 || from_state)
			log_warn("audit: a previous listener died without restoring the audit "
				 "configuration: deleted %d of its rules%s", stale,
				 from_state ? ", will restore the status it had saved" : "");
	}
	if (st && (r = store_create_indexes(st, err, sizeof(err))) < 0)
		log_warn("store: %s", err);
	{
		struct audit_status s;

		if (audit_source_status(l->audit, &s, err, sizeof(err)) == 0)
			l->lost_at_start = l->lost_now = s.lost;
	}
	if ((r = asm_new(l->opt.asm_timeout_ms, 4096, on_audit_event, l, &l->asm_ctx)) < 0) {
		log_err("assembler: %s", strerror(-r));
		goto out;
	}
	if ((r = pcache_new(l->opt.cache_max, NULL, &l->cache)) < 0) {
		log_err("process cache: %s", strerror(-r));
		goto out;
	}
	if (!l->opt.no_proc &&
	    (r = pc_open(l->opt.proc_rcvbuf ? l->opt.proc_rcvbuf : l->opt.rcvbuf, &l->pc)) < 0) {
		log_err("proc connector: cannot open NETLINK_CONNECTOR/CN_IDX_PROC: %s", strerror(-r));
		goto out;
	}

	BSON_APPEND_UTF8(&info, "host", un.nodename);
	BSON_APPEND_UTF8(&info, "boot_id", boot_id);
	BSON_APPEND_UTF8(&info, "kernel", un.release);
	BSON_APPEND_UTF8(&info, "mode", l->opt.multicast ? "multicast" : "unicast");
	BSON_APPEND_UTF8(&info, "version", LISTENER_VERSION);
	BSON_APPEND_INT32(&info, "listener_pid", getpid());
	{
		const char *const *texts;
		size_t n = audit_source_rules(l->audit, &texts);

		BSON_APPEND_ARRAY_BEGIN(&info, "rules", &rules);
		for (size_t i = 0; i < n; i++) {
			char k[24];

			snprintf(k, sizeof(k), "%zu", i);
			BSON_APPEND_UTF8(&rules, k, texts[i]);
		}
		bson_append_array_end(&info, &rules);
	}
	BSON_APPEND_DOCUMENT_BEGIN(&info, "scope", &scope);
	{
		bson_t ex;

		BSON_APPEND_ARRAY_BEGIN(&scope, "excluded_pids", &ex);
		for (size_t i = 0; i < l->opt.n_exclude; i++) {
			char k[24];

			snprintf(k, sizeof(k), "%zu", i);
			BSON_APPEND_INT32(&ex, k, l->opt.exclude[i]);
		}
		bson_append_array_end(&scope, &ex);
		BSON_APPEND_BOOL(&scope, "write", l->opt.audit_write);
		BSON_APPEND_INT32(&scope, "backlog_wait", l->opt.backlog_wait);
		BSON_APPEND_INT32(&scope, "backlog_limit", l->opt.backlog_limit);
	}
	bson_append_document_end(&info, &scope);
	if (l->chain)
		chain_append_info(l->chain, &info, false);

	if (st) {
		if (store_session_open(st, &l->meta.session, &info, err, sizeof(err)) < 0) {
			log_err("store: %s", err);
			goto out;
		}
		session_open = true;

		/* from here on a failure still closes the session document (at stop) */
		if ((r = mkdir_p(l->opt.spool_dir, 0700)) < 0) {
			log_err("spool: cannot create %s: %s", l->opt.spool_dir, strerror(-r));
			goto stop;
		}
		memset(&wcfg, 0, sizeof(wcfg));
		wcfg.uri = l->opt.uri;
		wcfg.db = l->opt.db;
		wcfg.spool_dir = l->opt.spool_dir;
		wcfg.queue_max_items = l->opt.queue_max;
		wcfg.queue_max_bytes = l->opt.queue_bytes;
		wcfg.batch_max = l->opt.batch_max;
		wcfg.batch_age_ms = l->opt.batch_age_ms;
		if ((r = writer_new(&wcfg, &l->writer)) < 0 || (r = writer_start(l->writer)) < 0) {
			log_err("writer: cannot start (spool %s): %s", l->opt.spool_dir, strerror(-r));
			goto stop;
		}
	}
	log_info("session %s: recording (%s mode) into %s", l->meta.session_hex,
		 l->opt.multicast ? "multicast" : "unicast", st ? store_uri(st) : l->opt.jsonl);

	/* Processes that were there before us: parents and containers for the filter. */
	r = procfs_snapshot(NULL, on_snapshot_proc, l);
	if (r < 0)
		log_warn("snapshot of /proc failed: %s", strerror(-r));
	if (pthread_create(&at, NULL, audit_thread, l) != 0) {
		log_err("cannot start the audit thread");
		goto stop;
	}
	at_started = true;
	if (l->pc) {
		if (pthread_create(&pt, NULL, proc_thread, l) != 0) {
			log_err("cannot start the proc connector thread");
			goto stop;
		}
		pt_started = true;
	}

	last_stats = mono_ms();
	for (;;) {
		struct timespec to = { .tv_sec = 1 };
		siginfo_t si;
		struct audit_status s;
		int sig = sigtimedwait(&sigs, &si, &to);

		if (sig == SIGINT || sig == SIGTERM) {
			log_info("%s: stopping", strsignal(sig));
			break;
		}
		if (sig == SIGHUP) {
			if (l->jsonl && (r = jsonl_out_reopen(l->jsonl)) < 0)
				log_err("reopening %s failed: %s", l->opt.jsonl, strerror(-r));
			else
				log_info("SIGHUP: output reopened");
		}
		if (audit_source_status(l->audit, &s, err, sizeof(err)) == 0) {
			if (s.lost != l->lost_now)
				log_warn("audit: the kernel lost %u records since the last check "
					 "(backlog %u/%u)", s.lost - l->lost_now, s.backlog,
					 s.backlog_limit);
			l->lost_now = s.lost;
		}
		if (l->chain) {
			bson_t *link = NULL;

			if (chain_tick(l->chain, mono_ms(), &link) < 0)
				atomic_fetch_add(&l->c.chain_errors, 1);
			if (link)
				submit_doc(l, SCHEMA_CHAIN, link);
		}
		if (l->opt.stats_interval && mono_ms() - last_stats >= l->opt.stats_interval * 1000ULL) {
			print_stats(l);
			last_stats = mono_ms();
		}
	}
	rc = 0;
stop:
	atomic_store(&l->stop, true);
	if (at_started)
		pthread_join(at, NULL);
	if (pt_started)
		pthread_join(pt, NULL);
	if (l->chain) {
		/* the final link, before the writer drains: it is stored like the rest */
		bson_t *link = NULL;

		if (chain_finish(l->chain, &link) < 0)
			atomic_fetch_add(&l->c.chain_errors, 1);
		if (link)
			submit_doc(l, SCHEMA_CHAIN, link);
	}
	r = 0;
	if (l->writer && (r = writer_stop(l->writer, l->opt.stop_timeout_ms)) < 0) {
		log_err("writer: gave up draining after %u ms; the rest is in the spool %s",
			l->opt.stop_timeout_ms, l->opt.spool_dir);
	}
	print_stats(l);
	if (session_open) {
		append_counters(l, &closing);
		if (l->chain) {
			uint64_t docs, links;
			char head[65];

			/* complete: nothing of the session stayed in the spool. The head in the
			 * log is a copy of the chain's end outside the database. */
			chain_append_info(l->chain, &closing, r == 0);
			chain_get_counts(l->chain, &docs, &links, head);
			log_info("chain: %" PRIu64 " documents in %" PRIu64 " links, head %s", docs,
				 links, head);
		}
		if (store_session_close(st, &l->meta.session, &closing, err, sizeof(err)) < 0) {
			log_err("store: closing the session document failed: %s", err);
			rc = 1;
		}
	}
out:
	pc_free(l->pc);
	if (audit_source_close(l->audit, err, sizeof(err)) < 0) {
		log_err("%s (the audit configuration may need a manual fix: auditctl -s, -l)", err);
		rc = 1;
	}
	l->audit = NULL;
	writer_free(l->writer);
	asm_free(l->asm_ctx);
	pcache_free(l->cache);
	jsonl_out_free(l->jsonl);
	chain_free(l->chain);
	bson_destroy(&info);
	bson_destroy(&closing);
	store_free(st);
	store_global_cleanup();
	if (rc == 0)
		log_info("session %s: stopped cleanly", l->meta.session_hex);
	return rc;
}
