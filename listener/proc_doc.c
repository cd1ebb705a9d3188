/* proc_doc.c — proc_events and snapshot documents (see proc_doc.h). Owns nothing beyond the
 * bson_t it initialises for the caller. */
#include "proc_doc.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "utf8.h"

static int64_t ts_ns(const struct timespec *t)
{
	return (int64_t)t->tv_sec * 1000000000 + t->tv_nsec;
}

int proc_doc_clock_init(struct proc_doc_clock *ret)
{
	struct timespec real, mono, boot, real2;
	long tck;

	/* bracket the two other clocks by two realtime reads and take the middle */
	if (clock_gettime(CLOCK_REALTIME, &real) < 0 || clock_gettime(CLOCK_MONOTONIC, &mono) < 0 ||
	    clock_gettime(CLOCK_BOOTTIME, &boot) < 0 || clock_gettime(CLOCK_REALTIME, &real2) < 0)
		return -errno;
	tck = sysconf(_SC_CLK_TCK);
	if (tck <= 0)
		tck = 100;
	ret->mono_wall_ns = (ts_ns(&real) + ts_ns(&real2)) / 2 - ts_ns(&mono);
	ret->boot_wall_ns = (ts_ns(&real) + ts_ns(&real2)) / 2 - ts_ns(&boot);
	ret->clk_tck = tck;
	return 0;
}

int64_t proc_doc_event_wall_ms(const struct proc_doc_clock *clk, uint64_t timestamp_ns)
{
	return (clk->mono_wall_ns + (int64_t)timestamp_ns) / 1000000;
}

int64_t proc_doc_start_wall_ms(const struct proc_doc_clock *clk, uint64_t start_ticks)
{
	long tck = clk->clk_tck > 0 ? clk->clk_tck : 100;

	return clk->boot_wall_ns / 1000000 + (int64_t)(start_ticks * 1000 / (uint64_t)tck);
}

/* The server (and mongoc's insert validation) refuses invalid UTF-8, which argv, paths and
 * comm may well contain: store them losslessly (U+FFFD in the field, exact bytes in key_hex,
 * see utf8.h). A failed append leaves the field out, like the BSON_APPEND_* calls here. */
static void append_utf8(bson_t *doc, const char *key, const char *s)
{
	(void)utf8_append(doc, key, s, strlen(s));
}

static void append_str_or_null(bson_t *doc, const char *key, const char *s)
{
	if (s)
		append_utf8(doc, key, s);
	else
		bson_append_null(doc, key, -1);
}

static void append_argv(bson_t *doc, const struct procfs_proc *p)
{
	if (!p->argv) {
		BSON_APPEND_NULL(doc, "argv");
		return;
	}
	(void)utf8_append_array(doc, "argv", (const char *const *)p->argv, NULL, p->argc);
	if (p->argv_truncated)
		BSON_APPEND_BOOL(doc, "argv_truncated", true);
}

static void append_container(bson_t *doc, const char *id)
{
	append_str_or_null(doc, "container", id && *id ? id : NULL);
}

static void append_exec_info(bson_t *doc, const struct procfs_proc *info, const struct doc_meta *m)
{
	if (!info || (info->gone && !info->exe && !info->argv)) {
		BSON_APPEND_BOOL(doc, "gone", true);
		if (m->container)
			doc_meta_append_container(doc, m);
		return;
	}
	/* what /proc showed; a process that exited mid-read keeps what was read, marked gone */
	append_str_or_null(doc, "exe", info->exe);
	append_argv(doc, info);
	append_str_or_null(doc, "cwd", info->cwd);
	append_str_or_null(doc, "root", info->root);
	append_container(doc, info->container);
	BSON_APPEND_INT64(doc, "mnt_ns", (int64_t)info->mnt_ns);
	BSON_APPEND_INT64(doc, "pid_ns", (int64_t)info->pid_ns);
	BSON_APPEND_INT32(doc, "ppid", info->ppid);
	if (info->gone)
		BSON_APPEND_BOOL(doc, "gone", true);
}

int proc_doc_event(const struct cn_proc_event *ev, const struct procfs_proc *info,
		   const struct doc_meta *m, const struct proc_doc_clock *clk, bson_t *ret)
{
	bson_t *doc = ret;

	bson_init(doc);
	if (ev->what == CN_PROC_NONE)
		return -EINVAL;
	doc_meta_append(doc, m);
	BSON_APPEND_DATE_TIME(doc, "ts", proc_doc_event_wall_ms(clk, ev->timestamp_ns));
	BSON_APPEND_INT64(doc, "ts_ns", (int64_t)ev->timestamp_ns);
	BSON_APPEND_INT32(doc, "cpu", (int32_t)ev->cpu);
	BSON_APPEND_INT64(doc, "cn_seq", ev->seq);
	BSON_APPEND_UTF8(doc, "what", cn_proc_what_name(ev->what));
	if (ev->what == CN_PROC_FORK) {
		BSON_APPEND_INT32(doc, "parent_pid", ev->parent_pid);
		BSON_APPEND_INT32(doc, "parent_tgid", ev->parent_tgid);
		BSON_APPEND_INT32(doc, "child_pid", ev->child_pid);
		BSON_APPEND_INT32(doc, "child_tgid", ev->child_tgid);
		BSON_APPEND_BOOL(doc, "thread", ev->thread);
		goto container;
	}
	BSON_APPEND_INT32(doc, "pid", ev->pid);
	BSON_APPEND_INT32(doc, "tgid", ev->tgid);
	switch (ev->what) {
	case CN_PROC_EXEC:
		append_exec_info(doc, info, m);
		return 0;
	case CN_PROC_EXIT:
		if (ev->exited)
			BSON_APPEND_INT32(doc, "exit_code", ev->exit_code);
		else
			BSON_APPEND_NULL(doc, "exit_code");
		if (ev->signaled)
			BSON_APPEND_INT32(doc, "signal", ev->term_signal);
		else
			BSON_APPEND_NULL(doc, "signal");
		if (ev->core_dumped)
			BSON_APPEND_BOOL(doc, "core_dumped", true);
		BSON_APPEND_INT64(doc, "status", ev->status);
		BSON_APPEND_INT32(doc, "exit_signal", ev->exit_signal);
		BSON_APPEND_INT32(doc, "parent_pid", ev->parent_pid);
		BSON_APPEND_INT32(doc, "parent_tgid", ev->parent_tgid);
		break;
	case CN_PROC_COMM:
		append_utf8(doc, "comm", ev->comm);
		break;
	case CN_PROC_UID:
		BSON_APPEND_INT64(doc, "ruid", ev->rid);
		BSON_APPEND_INT64(doc, "euid", ev->eid);
		break;
	case CN_PROC_GID:
		BSON_APPEND_INT64(doc, "rgid", ev->rid);
		BSON_APPEND_INT64(doc, "egid", ev->eid);
		break;
	case CN_PROC_PTRACE:
		BSON_APPEND_INT32(doc, "tracer_pid", ev->tracer_pid);
		BSON_APPEND_INT32(doc, "tracer_tgid", ev->tracer_tgid);
		break;
	case CN_PROC_COREDUMP:
		BSON_APPEND_INT32(doc, "parent_pid", ev->parent_pid);
		BSON_APPEND_INT32(doc, "parent_tgid", ev->parent_tgid);
		break;
	case CN_PROC_SID:
	case CN_PROC_NONE:
	case CN_PROC_FORK:
		break;
	}
container:
	if (m->container)
		doc_meta_append_container(doc, m);
	return 0;
}

int proc_doc_snapshot(const struct procfs_proc *p, const struct doc_meta *m,
		      const struct proc_doc_clock *clk, bson_t *ret)
{
	bson_t *doc = ret;

	bson_init(doc);
	doc_meta_append(doc, m);
	BSON_APPEND_INT32(doc, "pid", p->pid);
	BSON_APPEND_INT32(doc, "tgid", p->tgid);
	BSON_APPEND_INT32(doc, "ppid", p->ppid);
	BSON_APPEND_INT32(doc, "threads", p->threads);
	BSON_APPEND_INT64(doc, "start_ticks", (int64_t)p->start_ticks);
	BSON_APPEND_DATE_TIME(doc, "start", proc_doc_start_wall_ms(clk, p->start_ticks));
	append_str_or_null(doc, "exe", p->exe);
	append_argv(doc, p);
	append_str_or_null(doc, "cwd", p->cwd);
	append_str_or_null(doc, "root", p->root);
	BSON_APPEND_INT64(doc, "uid", p->uid);
	append_container(doc, p->container);
	BSON_APPEND_INT64(doc, "mnt_ns", (int64_t)p->mnt_ns);
	BSON_APPEND_INT64(doc, "pid_ns", (int64_t)p->pid_ns);
	append_utf8(doc, "comm", p->comm);
	return 0;
}
