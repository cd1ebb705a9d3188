/* main.c — lineage-listener: command line, threads and signals. One thread reads audit
 * (audit_source → assemble → enrich → event_doc), one reads the proc connector
 * (proc_connector → enrich → proc_doc), the writer thread stores; the main thread handles
 * signals, prints stats, polls the kernel's lost counter and owns the session document.
 * Which facts come from /proc and when is enrich.c's policy, not this file's. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "assemble.h"
#include "container_facts.h"
#include "audit_source.h"
#include "chain.h"
#include "doc_common.h"
#include "enrich.h"
#include "event_doc.h"
#include "exclude.h"
#include "jsonl_out.h"
#include "log.h"
#include "num.h"
#include "options.h"
#include "proc_connector.h"
#include "proc_doc.h"
#include "procfs.h"
#include "schema.h"
#include "scope.h"
#include "store.h"
#include "version.h"
#include "writer.h"

#define LISTENER_VERSION LINEAGE_VERSION

struct counters {
	atomic_uint_fast64_t records, events, parse_errors, audit_enobufs, audit_foreign, audit_runts,
		proc_events, proc_enobufs, proc_malformed, dropped_scope, doc_errors, submit_failed,
		resyncs, snapshot, container_facts, chain_errors, servers_late;
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
	struct enrich *enrich;
	struct exclude *excl;       /* never recorded: us, --exclude-pid, the store's servers */
	struct cf *facts;           /* container facts at first sight (issue 17) */
	struct proc_doc_clock clk;  /* kernel clocks → wall clock, sampled at start */
	uint32_t lost_at_start, lost_now;
	atomic_bool stop;
	struct scope *scope;        /* issue 19: keep/drop decisions, ancestry, drop counters */
	pid_t child;                /* --command: the command, our child (0: none) */
	int nice_found;             /* the nice value before --priority-boost */
	int child_status;
	bool child_done;
};

static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static bool excluded(const struct listener *l, long tgid)
{
	return exclude_has(l->excl, (pid_t)tgid);
}

static bool excluded_parent(const struct listener *l, long ppid)
{
	return exclude_has_parent(l->excl, (pid_t)ppid);
}

/* pid's comm into buf (read from /proc; "" when unreadable). */
static void read_comm(pid_t pid, char *buf, size_t len)
{
	char path[64];
	FILE *f;

	buf[0] = '\0';
	snprintf(path, sizeof(path), "/proc/%d/comm", (int)pid);
	f = fopen(path, "re");
	if (f && fgets(buf, (int)len, f))
		buf[strcspn(buf, "\n")] = '\0';
	if (f)
		fclose(f);
}

/* A store server (exclude.h) as a process of the /proc walk or an exec: what to exclude. */
static enum exclude_what server_kind(const struct procfs_proc *p)
{
	enum exclude_what what = exclude_server(p->comm, NULL);
	char parent[32];

	if (what == EXCLUDE_TREE) {
		/* only a postmaster: the parent's comm tells it from its children */
		read_comm(p->ppid, parent, sizeof(parent));
		what = exclude_server(p->comm, parent);
	}
	return what;
}

/* The store's servers running at start: excluded by the start-up rules (the postmaster's
 * children by ppid: PostgreSQL's work is done by the backends it forks per connection). */
static int scan_db_servers(void *opaque, const struct procfs_proc *p)
{
	struct options *o = opaque;
	enum exclude_what what = server_kind(p);

	if (what != EXCLUDE_NONE && o->n_exclude < AUDIT_SOURCE_MAX_EXCLUDE)
		o->exclude[o->n_exclude++] = p->tgid;
	if (what == EXCLUDE_TREE && o->n_exclude_children < AUDIT_SOURCE_MAX_EXCLUDE)
		o->exclude_children[o->n_exclude_children++] = p->tgid;
	return 0;
}

/* A store server exec'd while we record (restarted after an outage, or started late): from
 * now on it is not recorded either, in the kernel's rules too. True when p is one. */
static bool exclude_late_server(struct listener *l, const struct procfs_proc *p)
{
	enum exclude_what what = server_kind(p);
	char err[256];
	int r;

	if (what == EXCLUDE_NONE)
		return false;
	r = exclude_add(l->excl, p->tgid, what);
	if (r < 0) {
		log_warn("store server %s (pid %d) started: cannot exclude it (%s): it is recorded",
			 p->comm, (int)p->tgid, strerror(-r));
		return false;
	}
	if (r == 0 && (r = audit_source_exclude(l->audit, p->tgid, what == EXCLUDE_TREE, err,
						 sizeof(err))) < 0)
		log_warn("store server %s (pid %d): %s (dropped here instead)", p->comm,
			 (int)p->tgid, err);
	atomic_fetch_add(&l->c.servers_late, 1);
	log_info("store server %s (pid %d) started while recording: not recorded%s", p->comm,
		 (int)p->tgid, what == EXCLUDE_TREE ? ", nor the processes it forks" : "");
	return true;
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

/* A raw document: the writer packs it into its stream's segment, which the chain seals
 * (writer.h, chain.h). */
static void submit(struct listener *l, const char *collection, bson_t *doc)
{
	submit_doc(l, collection, doc);
}

static void next_meta(struct listener *l, struct doc_meta *m, const char *container)
{
	*m = l->meta;
	m->seq = atomic_fetch_add(&l->seq, 1) + 1;
	m->container = container && *container ? container : NULL;
}

/* ---- audit thread ---- */

static void on_audit_event(void *opaque, const struct audit_event *ev)
{
	struct listener *l = opaque;
	char container[CONTAINER_ID_LEN + 1] = "";
	struct doc_meta m;
	long pid = audit_event_pid(ev);
	bson_t *doc;

	atomic_fetch_add(&l->c.events, 1);
	if (pid > 0 && (excluded(l, pid) || excluded_parent(l, audit_event_ppid(ev)))) {
		atomic_fetch_add(&l->c.dropped_scope, 1);
		return;
	}
	/* the scope decides before the document is built, and before /proc is asked for the
	 * container when its decision does not need it (counted by reason in the scope) */
	if (!scope_needs_container(l->scope) &&
	    scope_audit_event(l->scope, ev, (pid_t)pid, NULL) != SCOPE_KEEP)
		return;
	if (pid > 0)
		(void)enrich_audit_container(l->enrich, ev, (pid_t)pid, container);
	if (scope_needs_container(l->scope) &&
	    scope_audit_event(l->scope, ev, (pid_t)pid, container[0] ? container : NULL) !=
		    SCOPE_KEEP)
		return;
	next_meta(l, &m, container);
	doc = bson_sized_new(1024); /* an event document is ~750 B: no regrowth for most */
	if (event_doc_build(ev, &m, doc) < 0) {
		atomic_fetch_add(&l->c.doc_errors, 1);
		bson_destroy(doc);
		return;
	}
	submit(l, SCHEMA_EVENTS, doc);
}

static void on_audit_record(void *opaque, int type, const char *text, size_t len)
{
	struct listener *l = opaque;

	atomic_fetch_add(&l->c.records, 1);
	if (asm_feed(l->asm_ctx, type, text, len, mono_ms()) < 0)
		atomic_fetch_add(&l->c.parse_errors, 1);
}

/* Records per read below which the audit thread waits a millisecond before polling again. */
#define AUDIT_GATHER_BELOW 8

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
				bool drained = false;

				r = audit_source_read(l->audit, on_audit_record, l, &skips, &drained);
				if (skips.runts != runts_logged) {
					log_warn("audit: %" PRIu64 " datagram(s) shorter than a netlink "
						 "header skipped", skips.runts - runts_logged);
					runts_logged = skips.runts;
					atomic_store(&l->c.audit_runts, skips.runts);
				}
				/* a short batch: empty now, poll again (not a call for -EAGAIN) */
				if (r == -EAGAIN || (r >= 0 && drained)) {
					/* a trickle: let records gather for a millisecond, one
					 * wake-up for several instead of one each (issue 16: 0 to
					 * -10 % CPU per event, notes.md); never while records come
					 * in bulk */
					struct timespec gather = { 0, 1000000 };

					if (r >= 0 && r < AUDIT_GATHER_BELOW)
						nanosleep(&gather, NULL);
					break;
				}
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

/* ---- container facts (issue 17): enrich announces, the facts thread looks up ---- */

static void on_new_container(void *opaque, const char id[CONTAINER_ID_LEN + 1], pid_t pid)
{
	struct listener *l = opaque;

	if (l->facts)
		cf_announce(l->facts, id, pid);
}

static void on_container_facts(void *opaque, const struct cf_facts *f)
{
	struct listener *l = opaque;
	struct doc_meta m;
	bson_t tmp;

	next_meta(l, &m, f->id);
	if (cf_doc(f, &m, &tmp) < 0) {
		atomic_fetch_add(&l->c.doc_errors, 1);
	} else {
		atomic_fetch_add(&l->c.container_facts, 1);
		submit(l, SCHEMA_CONTAINER_FACTS, bson_copy(&tmp));
	}
	bson_destroy(&tmp);
}

/* ---- proc connector thread ---- */

static int write_snapshot_doc(struct listener *l, const struct procfs_proc *p, bool resync)
{
	struct doc_meta m;
	bson_t tmp;

	if (excluded(l, p->tgid))
		return 0;
	enrich_snapshot_proc(l->enrich, p);
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
	submit(l, SCHEMA_SNAPSHOT, bson_copy(&tmp));
	bson_destroy(&tmp);
	return 0;
}

static int on_snapshot_proc(void *opaque, const struct procfs_proc *p)
{
	struct listener *l = opaque;

	scope_snapshot_proc(l->scope, p);
	return write_snapshot_doc(opaque, p, false);
}

/* After a proc connector overrun: what /proc shows now, so processes born meanwhile exist. */
static int on_resync_proc(void *opaque, const struct procfs_proc *p)
{
	struct listener *l = opaque;

	scope_snapshot_proc(l->scope, p); /* processes born while events were lost */
	return write_snapshot_doc(opaque, p, true);
}

static void on_proc_event(void *opaque, const struct cn_proc_event *ev)
{
	struct listener *l = opaque;
	struct procfs_proc info, *infop = NULL;
	struct doc_meta m;
	const char *container = NULL;
	bson_t tmp;
	pid_t who = ev->what == CN_PROC_FORK ? ev->parent_tgid : ev->tgid;

	atomic_fetch_add(&l->c.proc_events, 1);
	/* an excluded process's end: its pid may come back as anyone's */
	if (ev->what == CN_PROC_EXIT && ev->pid == ev->tgid &&
	    exclude_remove(l->excl, ev->tgid) != EXCLUDE_NONE) {
		audit_source_unexclude(l->audit, ev->tgid);
		atomic_fetch_add(&l->c.dropped_scope, 1);
		return;
	}
	if (excluded(l, who) || (ev->what == CN_PROC_FORK && excluded(l, ev->child_tgid)) ||
	    (ev->what == CN_PROC_FORK && excluded_parent(l, ev->parent_tgid))) {
		atomic_fetch_add(&l->c.dropped_scope, 1);
		return;
	}
	memset(&info, 0, sizeof(info));
	if (ev->what == CN_PROC_FORK) {
		enrich_proc_fork(l->enrich, ev);
	} else if (ev->what == CN_PROC_EXIT) {
		enrich_proc_exit(l->enrich, ev);
	} else if (ev->what == CN_PROC_EXEC) {
		/* what /proc still shows: a race with the process, recorded as such */
		if (enrich_proc_exec(l->enrich, ev, &info) == 0 && !info.gone) {
			infop = &info;
			container = info.container;
			if (exclude_late_server(l, &info)) {
				atomic_fetch_add(&l->c.dropped_scope, 1);
				procfs_proc_release(&info);
				return;
			}
		}
	}
	if (scope_proc_event(l->scope, ev, infop) != SCOPE_KEEP) {
		/* counted; the scope may have taken info's strings (held as ancestry) */
		procfs_proc_release(&info);
		return;
	}
	next_meta(l, &m, container);
	if (proc_doc_event(ev, infop, &m, &l->clk, &tmp) < 0)
		atomic_fetch_add(&l->c.doc_errors, 1);
	else
		submit(l, SCHEMA_PROC_EVENTS, bson_copy(&tmp));
	bson_destroy(&tmp);
	procfs_proc_release(&info);
}

/* A held fork/exec/exit that a kept process needs as ancestry (scope.h): stored now. */
static void on_scope_flush(void *opaque, const struct cn_proc_event *ev,
			   const struct procfs_proc *info)
{
	struct listener *l = opaque;
	struct doc_meta m;
	bson_t tmp;

	next_meta(l, &m, info && !info->gone ? info->container : NULL);
	if (proc_doc_event(ev, info, &m, &l->clk, &tmp) < 0)
		atomic_fetch_add(&l->c.doc_errors, 1);
	else
		submit(l, SCHEMA_PROC_EVENTS, bson_copy(&tmp));
	bson_destroy(&tmp);
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
			bool drained = false;

			r = pc_read(l->pc, on_proc_event, l, &drained);
			if (r == -EAGAIN || (r >= 0 && drained))
				break;
			if (r == -ENOBUFS) {
				atomic_fetch_add(&l->c.proc_enobufs, 1);
				atomic_fetch_add(&l->c.resyncs, 1);
				log_warn("proc connector: overrun (ENOBUFS): fork/exec/exit events lost; "
					 "resyncing from /proc");
				procfs_snapshot(NULL, on_resync_proc, l);
				scope_snapshot_done(l->scope);
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
	BSON_APPEND_INT64(&c, SCHEMA_CONTAINER_FACTS, atomic_load(&l->c.container_facts));
	BSON_APPEND_INT64(&c, "dropped_scope", atomic_load(&l->c.dropped_scope));
	BSON_APPEND_INT64(&c, "servers_started_late", atomic_load(&l->c.servers_late));
	BSON_APPEND_INT64(&c, "doc_errors", atomic_load(&l->c.doc_errors));
	BSON_APPEND_INT64(&c, "submit_failed", atomic_load(&l->c.submit_failed));
	if (l->scope)
		scope_append_counters(l->scope, &c);
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
	if (l->enrich) {
		struct enrich_stats es;

		enrich_get_stats(l->enrich, &es);
		BSON_APPEND_INT64(&c, "enrich_audit_hits", es.audit_hits);
		BSON_APPEND_INT64(&c, "enrich_audit_reads", es.audit_reads);
		BSON_APPEND_INT64(&c, "enrich_exec_reads", es.proc_exec_reads);
		BSON_APPEND_INT64(&c, "enrich_exec_shared", es.exec_shared);
		BSON_APPEND_INT64(&c, "enrich_self_fallback", es.self_fallback);
		BSON_APPEND_INT64(&c, "enrich_parent_fallback", es.parent_fallback);
		BSON_APPEND_INT64(&c, "enrich_stale_rejected", es.stale_rejected);
		BSON_APPEND_INT64(&c, "enrich_gone", es.gone);
		BSON_APPEND_INT64(&c, "enrich_evictions", es.evictions);
		BSON_APPEND_INT64(&c, "enrich_cgroup_hits", es.cgroup_hits);
		BSON_APPEND_INT64(&c, "enrich_cgroup_misses", es.cgroup_misses);
		/* issue 16: containers from the cgroup v2 id (enrich.h) */
		BSON_APPEND_INT64(&c, "enrich_cgroup2_hits", es.cgroup2_hits);
		BSON_APPEND_INT64(&c, "enrich_cgroup2_misses", es.cgroup2_misses);
		BSON_APPEND_INT64(&c, "enrich_cgroup2_text", es.cgroup2_text);
		BSON_APPEND_INT32(&c, "enrich_cgroup2_open", es.cgroup2_open);
		BSON_APPEND_INT64(&c, "containers_seen", es.containers_seen);
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
		/* issue 33: the raw layer's segments (rejected_segments above are spool files) */
		BSON_APPEND_INT64(&c, "segments", ws.segments);
		BSON_APPEND_INT64(&c, "segments_stored", ws.segments_stored);
		BSON_APPEND_INT64(&c, "seal_errors", ws.seal_errors);
		BSON_APPEND_INT64(&c, "segment_raw_bytes", ws.raw_bytes);
		BSON_APPEND_INT64(&c, "segment_bytes", ws.packed_bytes);
	}
	bson_append_document_end(b, &c);
}

static void print_stats(struct listener *l)
{
	static uint64_t last_stored, last_ms;
	struct writer_stats ws = { 0 };
	uint64_t now = mono_ms();
	double rate = 0;
	char scope_text[512] = "";

	if (l->writer)
		writer_get_stats(l->writer, &ws);
	if (last_ms && now > last_ms)
		rate = (double)(ws.inserted - last_stored) * 1000.0 / (double)(now - last_ms);
	last_stored = ws.inserted;
	last_ms = now;
	if (l->scope)
		scope_stats_text(l->scope, scope_text, sizeof(scope_text));
	log_info("stats: records %" PRIu64 " events %" PRIu64 " parse_errors %" PRIu64
		 " lost(kernel) %u enobufs(audit) %" PRIu64 " proc_events %" PRIu64
		 " enobufs(proc) %" PRIu64 " dropped_scope %" PRIu64 " | queue %zu (hwm %zu, %zu KiB) "
		 "stored %" PRIu64 " (%.0f/s) spooled %" PRIu64 " replayed %" PRIu64
		 " dropped %" PRIu64 " segments %" PRIu64 " (%.1f B/doc) insert_ms %.1f db %s | %s",
		 (uint64_t)atomic_load(&l->c.records), (uint64_t)atomic_load(&l->c.events),
		 (uint64_t)atomic_load(&l->c.parse_errors), l->lost_now - l->lost_at_start,
		 (uint64_t)atomic_load(&l->c.audit_enobufs), (uint64_t)atomic_load(&l->c.proc_events),
		 (uint64_t)atomic_load(&l->c.proc_enobufs), (uint64_t)atomic_load(&l->c.dropped_scope),
		 ws.queue_depth, ws.queue_hwm, ws.queue_bytes >> 10, ws.inserted, rate, ws.spooled, ws.replayed, ws.dropped,
		 ws.segments, ws.submitted ? (double)ws.packed_bytes / (double)ws.submitted : 0.0,
		 ws.last_insert_ms, ws.db_up ? "up" : "down", scope_text);
}

/* --command: fork the command now, held at a gate (a pipe) until the listener records, so
 * its first exec is recorded. Called while the main thread is the only one. */
static int spawn_command(struct listener *l, int *ret_gate)
{
	char **argv = l->opt.scope.command_argv;
	int p[2];
	pid_t pid;

	if (pipe2(p, O_CLOEXEC) < 0)
		return -errno;
	pid = fork();
	if (pid < 0) {
		int e = errno;

		close(p[0]);
		close(p[1]);
		return -e;
	}
	if (pid == 0) {
		sigset_t none;
		ssize_t n;
		char c;

		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		signal(SIGPIPE, SIG_DFL);
		/* the command runs as it would without us, not with our --priority-boost */
		(void)setpriority(PRIO_PROCESS, 0, l->nice_found);
		close(p[1]);
		do
			n = read(p[0], &c, 1);
		while (n < 0 && errno == EINTR);
		if (n != 1)
			_exit(127); /* the listener gave up before recording */
		execvp(argv[0], argv);
		fprintf(stderr, "lineage-listener: --command: cannot run %s: %s\n", argv[0],
			strerror(errno));
		_exit(127);
	}
	close(p[0]);
	l->child = pid;
	*ret_gate = p[1];
	return 0;
}

/* --command / --pid: has the recorded tree's root gone (the command reaped, every --pid
 * exited as the proc connector or kill(0) says)? */
static bool tree_finished(struct listener *l)
{
	int st;

	if (l->child > 0) {
		if (!l->child_done && waitpid(l->child, &st, WNOHANG) == l->child) {
			l->child_done = true;
			l->child_status = st;
		}
		return l->child_done;
	}
	if (!l->opt.scope.n_pids)
		return false;
	if (scope_roots_gone(l->scope))
		return true;
	for (size_t i = 0; i < l->opt.scope.n_pids; i++)
		if (kill(l->opt.scope.pids[i], 0) == 0 || errno != ESRCH)
			return false;
	return true;
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

/* Signals are taken synchronously by the main thread only (sigtimedwait in run()). */
static void block_signals(sigset_t *sigs)
{
	sigemptyset(sigs);
	sigaddset(sigs, SIGINT);
	sigaddset(sigs, SIGTERM);
	sigaddset(sigs, SIGHUP);
	sigaddset(sigs, SIGCHLD); /* --command: the command's end */
	pthread_sigmask(SIG_BLOCK, sigs, NULL);
	signal(SIGPIPE, SIG_IGN);
}

/* Like auditd's priority_boost: under a workload that takes every CPU, a listener at the
 * workload's nice level leaves the kernel's audit queue to overflow. Linux's nice value is
 * per thread and inherited: set before any thread of ours (libmongoc's included) exists;
 * --command's child goes back to the nice found (*ret_found). */
static void boost_priority(unsigned boost, int *ret_found)
{
	int now;

	errno = 0;
	now = getpriority(PRIO_PROCESS, 0);
	if (now == -1 && errno)
		now = 0;
	*ret_found = now;
	if (boost && setpriority(PRIO_PROCESS, 0, now - (int)boost) < 0)
		log_warn("--priority-boost %u: cannot set nice %d: %s", boost, now - (int)boost,
			 strerror(errno));
}

/* Who we are and what we never record: our pid, the store's servers; the session id, the
 * clocks, the host and the evidence chain. */
static int identify(struct listener *l, struct utsname *un, char *boot_id, size_t boot_len)
{
	int r;

	l->opt.exclude[l->opt.n_exclude++] = getpid();
	procfs_snapshot(NULL, scan_db_servers, &l->opt);
	if ((r = exclude_new(&l->excl)) < 0) {
		log_err("exclude: %s", strerror(-r));
		return r;
	}
	for (size_t i = 0; i < l->opt.n_exclude; i++)
		(void)exclude_add(l->excl, l->opt.exclude[i], EXCLUDE_PROCESS);
	for (size_t i = 0; i < l->opt.n_exclude_children; i++)
		(void)exclude_add(l->excl, l->opt.exclude_children[i], EXCLUDE_TREE);
	proc_doc_clock_init(&l->clk);
	uname(un);
	read_boot_id(boot_id, boot_len);
	l->meta.host = un->nodename;
	bson_oid_init(&l->meta.session, NULL);
	bson_oid_to_string(&l->meta.session, l->meta.session_hex);
	if (!l->opt.no_chain &&
	    (r = chain_new(&l->meta.session, l->meta.session_hex, &l->chain)) < 0) {
		log_err("chain: %s", strerror(-r));
		return r;
	}
	return 0;
}

/* The kernel's audit side: our rules and status (excluding ourselves before the writer's
 * first insert), the lost counter at start, the assembler. */
static int open_audit(struct listener *l)
{
	struct audit_source_config acfg;
	struct audit_status s;
	char err[512];
	bool from_state;
	int r, stale;

	memset(&acfg, 0, sizeof(acfg));
	acfg.multicast = l->opt.multicast;
	acfg.audit_write = l->opt.audit_write;
	acfg.backlog_limit = l->opt.backlog_limit;
	acfg.backlog_wait = l->opt.backlog_wait;
	acfg.rcvbuf = l->opt.rcvbuf;
	memcpy(acfg.exclude, l->opt.exclude, sizeof(acfg.exclude));
	acfg.n_exclude = l->opt.n_exclude;
	memcpy(acfg.exclude_children, l->opt.exclude_children, sizeof(acfg.exclude_children));
	acfg.n_exclude_children = l->opt.n_exclude_children;
	scope_audit_config(l->scope, &acfg);
	if ((r = audit_source_open(&acfg, &l->audit, err, sizeof(err))) < 0) {
		log_err("%s", err);
		return r;
	}
	stale = audit_source_recovered(l->audit, &from_state);
	if (stale > 0 || from_state)
		log_warn("audit: a previous listener died without restoring the audit "
			 "configuration: deleted %d of its rules%s", stale,
			 from_state ? ", will restore the status it had saved" : "");
	if (audit_source_status(l->audit, &s, err, sizeof(err)) == 0)
		l->lost_at_start = l->lost_now = s.lost;
	if ((r = asm_new(l->opt.asm_timeout_ms, 4096, on_audit_event, l, &l->asm_ctx)) < 0) {
		log_err("assembler: %s", strerror(-r));
		return r;
	}
	return 0;
}

/* enrich (the process cache), container facts and the proc connector. */
static int open_proc_side(struct listener *l)
{
	struct cf_config fcfg = { .emit = on_container_facts, .opaque = l };
	struct enrich_config ecfg = { .cache_max = l->opt.cache_max, .clk = l->clk,
				      .on_new_container = on_new_container, .opaque = l };
	struct enrich_stats es;
	int r;

	if ((r = cf_new(&fcfg, &l->facts)) < 0) {
		log_err("container facts: cannot start: %s", strerror(-r));
		return r;
	}
	if ((r = enrich_new(&ecfg, &l->enrich)) < 0) {
		log_err("enrich: %s", strerror(-r));
		return r;
	}
	enrich_get_stats(l->enrich, &es);
	if (es.cgroup2_open < 0)
		log_info("enrich: containers from /proc/PID/cgroup only (cgroup v2 id: %s)",
			 strerror(-es.cgroup2_open));
	if (!l->opt.no_proc &&
	    (r = pc_open_ex(l->opt.proc_rcvbuf ? l->opt.proc_rcvbuf : l->opt.rcvbuf,
			    l->opt.no_proc_filter, &l->pc)) < 0) {
		log_err("proc connector: cannot open NETLINK_CONNECTOR/CN_IDX_PROC: %s", strerror(-r));
		return r;
	}
	return 0;
}

static void append_int_array(bson_t *parent, const char *key, const pid_t *v, size_t n)
{
	bson_t a;
	char k[24];

	BSON_APPEND_ARRAY_BEGIN(parent, key, &a);
	for (size_t i = 0; i < n; i++) {
		snprintf(k, sizeof(k), "%zu", i);
		BSON_APPEND_INT32(&a, k, v[i]);
	}
	bson_append_array_end(parent, &a);
}

/* The sessions document's fields at start: host, kernel, mode, the per-event defaults, the
 * audit rules, the scope and the chain's start. */
static void session_info(struct listener *l, const struct utsname *un, const char *boot_id,
			 bson_t *info)
{
	const char *const *texts;
	bson_t dflt, rules, scope;
	size_t n;
	char k[24];

	BSON_APPEND_UTF8(info, "host", un->nodename);
	BSON_APPEND_UTF8(info, "boot_id", boot_id);
	BSON_APPEND_UTF8(info, "kernel", un->release);
	BSON_APPEND_UTF8(info, "mode", l->opt.multicast ? "multicast" : "unicast");
	BSON_APPEND_UTF8(info, "version", LISTENER_VERSION);
	BSON_APPEND_INT32(info, "listener_pid", getpid());
	if (l->pc) {
		struct pc_stats ps;

		/* issue 26: the proc connector filtered in the kernel (6.6+), or every type */
		pc_get_stats(l->pc, &ps);
		BSON_APPEND_UTF8(info, "proc_filter", ps.kernel_mask ? "kernel: fork,exec,exit,comm,uid"
								     : "none: kernel before 6.6, every type");
	}
	/* what an event without arch/tty/key had (event_doc.h: not repeated per event) */
	BSON_APPEND_DOCUMENT_BEGIN(info, SCHEMA_F_DEFAULTS, &dflt);
	BSON_APPEND_UTF8(&dflt, "arch", EVENT_DOC_DEFAULT_ARCH);
	BSON_APPEND_UTF8(&dflt, "tty", EVENT_DOC_DEFAULT_TTY);
	BSON_APPEND_UTF8(&dflt, "key", EVENT_DOC_DEFAULT_KEY);
	bson_append_document_end(info, &dflt);

	n = audit_source_rules(l->audit, &texts);
	BSON_APPEND_ARRAY_BEGIN(info, "rules", &rules);
	for (size_t i = 0; i < n; i++) {
		snprintf(k, sizeof(k), "%zu", i);
		BSON_APPEND_UTF8(&rules, k, texts[i]);
	}
	bson_append_array_end(info, &rules);

	BSON_APPEND_DOCUMENT_BEGIN(info, "scope", &scope);
	append_int_array(&scope, "excluded_pids", l->opt.exclude, l->opt.n_exclude);
	append_int_array(&scope, "excluded_children_of", l->opt.exclude_children,
			 l->opt.n_exclude_children);
	BSON_APPEND_BOOL(&scope, "write", l->opt.audit_write);
	BSON_APPEND_INT32(&scope, "backlog_wait", l->opt.backlog_wait);
	BSON_APPEND_INT32(&scope, "backlog_limit", l->opt.backlog_limit);
	scope_append_bson(l->scope, &scope);
	if (l->child > 0)
		BSON_APPEND_INT32(&scope, "command_pid", l->child);
	bson_append_document_end(info, &scope);
	if (l->chain)
		chain_append_info(l->chain, info, false);
}

/* The writer and the session document, stored or spooled before anything else. Once
 * *session_open is set the session must be closed (stop_recording), also on failure. */
static int start_writer(struct listener *l, const bson_t *info, bool *session_open)
{
	struct writer_config wcfg;
	int r;

	if ((r = mkdir_p(l->opt.spool_dir, 0700)) < 0) {
		log_err("spool: cannot create %s: %s", l->opt.spool_dir, strerror(-r));
		return r;
	}
	memset(&wcfg, 0, sizeof(wcfg));
	wcfg.uri = l->opt.uri;
	wcfg.db = l->opt.db;
	wcfg.spool_dir = l->opt.spool_dir;
	wcfg.queue_max_items = l->opt.queue_max;
	wcfg.queue_max_bytes = l->opt.queue_bytes;
	wcfg.batch_max = l->opt.batch_max;
	wcfg.batch_age_ms = l->opt.batch_age_ms;
	wcfg.session = &l->meta.session;
	wcfg.chain = l->chain;
	wcfg.segment_events = l->opt.segment_events;
	wcfg.segment_ms = l->opt.segment_ms;
	wcfg.create_indexes = true;
	if ((r = writer_new(&wcfg, &l->writer)) < 0) {
		log_err("writer: cannot start (spool %s): %s", l->opt.spool_dir, strerror(-r));
		return r;
	}
	if ((r = writer_session_open(l->writer, &l->meta.session, info)) < 0) {
		log_err("writer: session document: %s", strerror(-r));
		return r;
	}
	*session_open = true;
	if ((r = writer_start(l->writer)) < 0) {
		log_err("writer: cannot start (spool %s): %s", l->opt.spool_dir, strerror(-r));
		return r;
	}
	return 0;
}

struct threads {
	pthread_t at, pt;
	bool at_started, pt_started;
};

static int start_threads(struct listener *l, struct threads *t)
{
	if (pthread_create(&t->at, NULL, audit_thread, l) != 0) {
		log_err("cannot start the audit thread");
		return -EAGAIN;
	}
	t->at_started = true;
	if (l->pc) {
		if (pthread_create(&t->pt, NULL, proc_thread, l) != 0) {
			log_err("cannot start the proc connector thread");
			return -EAGAIN;
		}
		t->pt_started = true;
	}
	return 0;
}

/* The main thread while recording: signals, the kernel's lost counter, chain links, stats;
 * returns when asked to stop or when the --command/--pid tree has finished. */
static void run(struct listener *l, const sigset_t *sigs)
{
	uint64_t last_stats = mono_ms(), stop_at = 0;
	bool forwarded = false;
	char err[512];
	int r;

	for (;;) {
		struct timespec to = { .tv_sec = stop_at ? 0 : 1, .tv_nsec = stop_at ? 100000000 : 0 };
		siginfo_t si;
		struct audit_status s;
		int sig;

		/* --command/--pid: once the root is gone, a second for its last events to be read */
		if (!stop_at && tree_finished(l)) {
			log_info("%s exited: stopping", l->child > 0 ? "the command" : "--pid");
			stop_at = mono_ms() + 1000;
		}
		if (stop_at && mono_ms() >= stop_at)
			break;
		sig = sigtimedwait(sigs, &si, &to);
		if ((sig == SIGINT || sig == SIGTERM) && l->child > 0 && !l->child_done && !forwarded) {
			/* the command decides: it gets the signal, we stop when it is gone */
			log_info("%s: passed to the command", strsignal(sig));
			kill(l->child, sig);
			forwarded = true;
			continue;
		}
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
		if (l->opt.stats_interval && mono_ms() - last_stats >= l->opt.stats_interval * 1000ULL) {
			print_stats(l);
			last_stats = mono_ms();
		}
	}
}

/* Stop the readers, write the chain's last link, drain the writer, close the session
 * document (or spool its close). Returns rc, or 1 when the close failed. */
static int stop_recording(struct listener *l, struct threads *t, bool session_open, int rc)
{
	bson_t closing = BSON_INITIALIZER;
	char err[512];
	int r = 0;

	atomic_store(&l->stop, true);
	if (t->at_started)
		pthread_join(t->at, NULL);
	if (t->pt_started)
		pthread_join(t->pt, NULL);
	cf_free(l->facts); /* its queued lookups are written before the writer stops */
	l->facts = NULL;
	if (l->writer && (r = writer_stop(l->writer, l->opt.stop_timeout_ms)) < 0) {
		log_err("writer: gave up draining after %u ms; the rest is in the spool %s",
			l->opt.stop_timeout_ms, l->opt.spool_dir);
	}
	/* the writer sealed its last segments while draining: the head is final now */
	if (l->chain)
		chain_finish(l->chain);
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
			log_info("chain: %" PRIu64 " documents in %" PRIu64 " segments, head %s", docs,
				 links, head);
		}
		r = writer_session_close(l->writer, &l->meta.session, &closing, err, sizeof(err));
		if (r < 0) {
			log_err("store: closing the session document failed: %s", err);
			rc = 1;
		} else if (r == 1) {
			log_warn("session %s: close record spooled in %s; applied when the database "
				 "answers", l->meta.session_hex, l->opt.spool_dir);
		}
	}
	bson_destroy(&closing);
	return rc;
}

/* Release everything (st too); the audit configuration is restored here. Returns rc, or 1
 * when it could not be, or the command's status when it ran and rc was 0. */
static int release(struct listener *l, struct store *st, int rc, int gate)
{
	char err[512];

	if (gate >= 0)
		close(gate); /* the command, still at its gate, exits 127 */
	if (l->child > 0 && !l->child_done && waitpid(l->child, &l->child_status, 0) == l->child)
		l->child_done = true;
	pc_free(l->pc);
	if (audit_source_close(l->audit, err, sizeof(err)) < 0) {
		log_err("%s (the audit configuration may need a manual fix: auditctl -s, -l)", err);
		rc = 1;
	}
	l->audit = NULL;
	writer_free(l->writer);
	asm_free(l->asm_ctx);
	cf_free(l->facts);
	enrich_free(l->enrich);
	exclude_free(l->excl);
	jsonl_out_free(l->jsonl);
	chain_free(l->chain);
	store_free(st);
	store_global_cleanup(); /* after every client (the writer's too) is gone */
	scope_free(l->scope);
	if (rc == 0)
		log_info("session %s: stopped cleanly", l->meta.session_hex);
	if (rc == 0 && l->child > 0 && l->child_done) {
		rc = WIFEXITED(l->child_status) ? WEXITSTATUS(l->child_status)
		     : WIFSIGNALED(l->child_status) ? 128 + WTERMSIG(l->child_status) : 1;
		log_info("the command exited with status %d", rc);
	}
	options_release(&l->opt);
	return rc;
}

int main(int argc, char **argv)
{
	static struct listener L;
	struct listener *l = &L;
	struct threads threads = { 0 };
	struct store *st = NULL;
	struct utsname un;
	sigset_t sigs;
	bson_t info = BSON_INITIALIZER;
	char err[512], boot_id[64];
	bool session_open = false;
	int rc = 1, r, gate = -1;

	log_init("lineage-listener", LOG_INFO);
	r = options_parse(argc, argv, &l->opt, err, sizeof(err));
	if (r < 0)
		fprintf(stderr, "lineage-listener: %s\n", err);
	if (r == OPTIONS_PRINT_AUDIT)
		return print_audit_config();
	if (r != OPTIONS_RUN)
		return r > 0 ? 0 : 2;
	if (l->opt.verbose)
		log_init("lineage-listener", LOG_DEBUG);
	if (scope_new(&l->opt.scope, on_scope_flush, l, &l->scope) < 0) {
		log_err("scope: out of memory");
		options_release(&l->opt);
		return 1;
	}
	if (geteuid() != 0)
		log_warn("not running as root: audit and the proc connector will refuse");
	block_signals(&sigs);
	boost_priority(l->opt.priority_boost, &l->nice_found);
	if (identify(l, &un, boot_id, sizeof(boot_id)) < 0)
		return 1;

	store_global_init();
	if (l->opt.jsonl && (r = jsonl_out_open(l->opt.jsonl, &l->jsonl)) < 0) {
		log_err("cannot open --jsonl %s: %s", l->opt.jsonl, strerror(-r));
		goto out;
	}
	/* A URI that does not parse is a usage error; an unreachable database is not: the
	 * writer spools until it answers (issue 18). */
	if (!l->opt.no_db && store_open(l->opt.uri, l->opt.db, &st, err, sizeof(err)) < 0) {
		log_err("%s", err);
		rc = 2;
		goto out;
	}
	if (open_audit(l) < 0 || open_proc_side(l) < 0)
		goto out;
	/* before any other thread exists; its fork is already on the proc connector */
	if (l->opt.scope.command) {
		if ((r = spawn_command(l, &gate)) < 0) {
			log_err("--command: cannot fork: %s", strerror(-r));
			goto out;
		}
		scope_add_root(l->scope, l->child);
	}
	session_info(l, &un, boot_id, &info);
	if (st && start_writer(l, &info, &session_open) < 0) {
		if (session_open)
			goto stop;
		goto out;
	}
	log_info("session %s: recording (%s mode, scope %s) into %s", l->meta.session_hex,
		 l->opt.multicast ? "multicast" : "unicast", scope_summary(l->scope),
		 st ? store_uri(st) : l->opt.jsonl);

	/* Processes that were there before us: parents and containers for the filter. */
	r = procfs_snapshot(NULL, on_snapshot_proc, l);
	if (r < 0)
		log_warn("snapshot of /proc failed: %s", strerror(-r));
	scope_snapshot_done(l->scope);
	if (start_threads(l, &threads) < 0)
		goto stop;
	if (gate >= 0) {
		/* recording: let the command go */
		if (write(gate, "x", 1) != 1)
			log_warn("--command: could not release the command: %s", strerror(errno));
		close(gate);
		gate = -1;
		log_info("--command: started %s (pid %d)", l->opt.scope.command_argv[0], (int)l->child);
	}
	run(l, &sigs);
	rc = 0;
stop:
	rc = stop_recording(l, &threads, session_open, rc);
out:
	bson_destroy(&info);
	return release(l, st, rc, gate);
}
