/* enrich.c — the listener's enrichment policy and its caches (see enrich.h): per-process
 * lifetimes {start, exit, container, mnt_ns, pid_ns, when read} in a bounded chained hash
 * keyed by tgid with the pid's previous lifetime beside the current one, a direct-mapped
 * cgroup-text → container-id cache, a cgroup-v2-id → container-id cache (issue 16), and the
 * set of container ids already announced. procfs.c and cgroup2.c do the reading; this file
 * decides when. */
#include "enrich.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "audit_parse.h"
#include "cgroup2.h"
#include "syscalls.h"

/* Audit times are the coarse wall clock at syscall entry, in ms (a jiffy, 4 ms here, behind);
 * /proc start times are 10 ms ticks; the proc connector's are exact. Two lifetimes of one pid
 * closer than this are not told apart (pids wrap after pid_max forks, 32768 here). */
#define SLACK_NS (20 * 1000000LL)
/* An exec the proc connector saw counts as the audit execve's when it is this close. */
#define EXEC_PAIR_NS (50 * 1000000LL)

#define NIL UINT32_MAX
#define CG_SLOTS 256
#define CG2_SLOTS 256
#define CG_TEXT_MAX 2048
#define SEEN_MAX 1024

struct life {
	bool used;
	bool have_ids;
	uint64_t start_ticks;  /* /proc start time, 0 unknown */
	int64_t start_ns;      /* monotonic: fork (or /proc start time), 0 unknown */
	int64_t exit_ns;       /* monotonic: exit, 0 alive or unknown */
	int64_t read_ns;       /* monotonic: when the ids were read (start of the read), 0 never */
	int64_t exec_ns;       /* monotonic: the proc connector's exec these ids were read for */
	char container[CONTAINER_ID_LEN + 1];
	uint64_t mnt_ns, pid_ns;
};

struct slot {
	pid_t tgid;
	bool used;
	uint32_t next; /* bucket chain, or free list */
	struct life cur, prev;
};

struct cg_slot {
	uint64_t hash;
	size_t len;
	int r; /* container_id_from_cgroup's answer */
	char id[CONTAINER_ID_LEN + 1];
	char text[CG_TEXT_MAX];
};

/* A v2 cgroup id and what its path says: CG2_CONTAINER (id), or CG2_TEXT (no container in the
 * v2 path: only the whole cgroup file can tell, a v1 hierarchy may name one) */
enum { CG2_EMPTY, CG2_CONTAINER, CG2_TEXT };
struct cg2_slot {
	uint64_t cgid;
	int state;
	char id[CONTAINER_ID_LEN + 1];
};

struct enrich {
	pthread_mutex_t lock, cg_lock;
	struct enrich_config cfg;
	char *proc_root;
	struct slot *slots;
	uint32_t *buckets;
	size_t max, nbuckets, size;
	uint32_t free_head, hand;
	struct cg_slot *cg;
	struct cgroup2 *cg2; /* NULL: not on this kernel, or a proc_root other than /proc */
	struct cg2_slot *cg2_cache;
	char (*seen)[CONTAINER_ID_LEN + 1];
	size_t nseen, seen_hand;
	long nr_exec[2], nr_execat[2], nr_setns[2], nr_unshare[2];
	struct enrich_stats st;
};

static int64_t mono_now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

/* /proc start ticks (CLOCK_BOOTTIME) → monotonic ns, through the wall-clock offsets */
static int64_t ticks_to_mono(const struct enrich *e, uint64_t ticks)
{
	long tck = e->cfg.clk.clk_tck > 0 ? e->cfg.clk.clk_tck : 100;
	int64_t boot_ns = (int64_t)(ticks / (uint64_t)tck) * 1000000000 +
			  (int64_t)(ticks % (uint64_t)tck) * (1000000000 / tck);

	return boot_ns + e->cfg.clk.boot_wall_ns - e->cfg.clk.mono_wall_ns;
}

int enrich_new(const struct enrich_config *cfg, struct enrich **ret)
{
	struct enrich *e;
	static const uint32_t arches[2] = { SYSCALLS_ARCH_X86_64, SYSCALLS_ARCH_I386 };

	if (!cfg || cfg->cache_max == 0 || cfg->cache_max >= NIL / 2)
		return -EINVAL;
	e = calloc(1, sizeof(*e));
	if (!e)
		return -ENOMEM;
	pthread_mutex_init(&e->lock, NULL);
	pthread_mutex_init(&e->cg_lock, NULL);
	e->cfg = *cfg;
	e->max = cfg->cache_max;
	e->nbuckets = 16;
	while (e->nbuckets < e->max * 2)
		e->nbuckets *= 2;
	e->slots = calloc(e->max, sizeof(*e->slots));
	e->buckets = malloc(e->nbuckets * sizeof(*e->buckets));
	e->cg = calloc(CG_SLOTS, sizeof(*e->cg));
	e->cg2_cache = calloc(CG2_SLOTS, sizeof(*e->cg2_cache));
	e->seen = calloc(SEEN_MAX, sizeof(*e->seen));
	e->proc_root = strdup(cfg->proc_root && *cfg->proc_root ? cfg->proc_root
							   : PROCFS_DEFAULT_ROOT);
	if (!e->slots || !e->buckets || !e->cg || !e->cg2_cache || !e->seen || !e->proc_root) {
		enrich_free(e);
		return -ENOMEM;
	}
	/* the pidfd path reads the live system: only when /proc is the real one */
	if (strcmp(e->proc_root, PROCFS_DEFAULT_ROOT) == 0 && !cfg->no_cgroup2) {
		int r = cgroup2_open(&e->cg2);

		e->st.cgroup2_open = r;
	} else {
		e->st.cgroup2_open = -ENOTSUP;
	}
	e->cfg.proc_root = e->proc_root;
	for (size_t i = 0; i < e->nbuckets; i++)
		e->buckets[i] = NIL;
	for (size_t i = 0; i < e->max; i++)
		e->slots[i].next = i + 1 < e->max ? (uint32_t)(i + 1) : NIL;
	for (int i = 0; i < 2; i++) {
		e->nr_exec[i] = syscalls_number(arches[i], "execve");
		e->nr_execat[i] = syscalls_number(arches[i], "execveat");
		e->nr_setns[i] = syscalls_number(arches[i], "setns");
		e->nr_unshare[i] = syscalls_number(arches[i], "unshare");
	}
	*ret = e;
	return 0;
}

void enrich_free(struct enrich *e)
{
	if (!e)
		return;
	pthread_mutex_destroy(&e->lock);
	pthread_mutex_destroy(&e->cg_lock);
	free(e->slots);
	free(e->buckets);
	free(e->cg);
	cgroup2_close(e->cg2);
	free(e->cg2_cache);
	free(e->seen);
	free(e->proc_root);
	free(e);
}

/* ---- cgroup text → container id ---- */

static uint64_t fnv1a(const char *s, size_t len)
{
	uint64_t h = 1469598103934665603ull;

	for (size_t i = 0; i < len; i++) {
		h ^= (unsigned char)s[i];
		h *= 1099511628211ull;
	}
	return h;
}

int enrich_cgroup_id(void *opaque, const char *text, size_t len, char ret[CONTAINER_ID_LEN + 1])
{
	struct enrich *e = opaque;
	uint64_t h = fnv1a(text, len);
	struct cg_slot *s = &e->cg[h % CG_SLOTS];
	char id[CONTAINER_ID_LEN + 1];
	int r;

	pthread_mutex_lock(&e->cg_lock);
	if (s->len == len && s->hash == h && memcmp(s->text, text, len) == 0) {
		r = s->r;
		if (r == 0)
			memcpy(ret, s->id, sizeof(s->id));
		e->st.cgroup_hits++;
		pthread_mutex_unlock(&e->cg_lock);
		return r;
	}
	e->st.cgroup_misses++;
	pthread_mutex_unlock(&e->cg_lock);

	r = container_id_from_cgroup(text, len, id);
	if (r == 0)
		memcpy(ret, id, sizeof(id));
	if (len <= CG_TEXT_MAX && len > 0) {
		pthread_mutex_lock(&e->cg_lock);
		s->hash = h;
		s->len = len;
		s->r = r;
		memcpy(s->id, r == 0 ? id : "", r == 0 ? sizeof(id) : 1);
		memcpy(s->text, text, len);
		pthread_mutex_unlock(&e->cg_lock);
	}
	return r;
}

/* procfs_read_opts.container_fast: the container of pid from its v2 cgroup id, without
 * reading /proc/PID/cgroup, when the v2 cgroup's path names a container (then every
 * hierarchy does: runtimes put a container in all of them, and the cgroup file's first id
 * wins). A v2 path without a container says nothing of the v1 hierarchies (a v1-only runtime
 * leaves its containers in the v2 root): the file is read (-ENOENT). The id → path answer is
 * cached: a v2 cgroup keeps its path for its life (no rename) and ids are never reused. */
static int container_fast(void *opaque, pid_t pid, char ret[CONTAINER_ID_LEN + 1])
{
	struct enrich *e = opaque;
	char path[1024 + 4], id[CONTAINER_ID_LEN + 1]; /* longer paths: the file is read */
	struct cg2_slot *s;
	uint64_t cgid;
	int state, r;

	if (!e->cg2)
		return -EOPNOTSUPP;
	r = cgroup2_pid_id(e->cg2, pid, &cgid);
	if (r < 0)
		return r; /* gone, or a thread: the file says it */
	s = &e->cg2_cache[(cgid * 0x9E3779B97F4A7C15ull) >> 56];
	pthread_mutex_lock(&e->cg_lock);
	state = s->cgid == cgid ? s->state : CG2_EMPTY;
	if (state == CG2_CONTAINER)
		memcpy(ret, s->id, sizeof(s->id));
	if (state == CG2_CONTAINER)
		e->st.cgroup2_hits++;
	else if (state == CG2_TEXT)
		e->st.cgroup2_text++;
	pthread_mutex_unlock(&e->cg_lock);
	if (state == CG2_CONTAINER)
		return 0;
	if (state == CG2_TEXT)
		return -ENOENT;

	/* first sight of this cgroup: its path, as a "0::" line of the cgroup file */
	memcpy(path, "0::", 3);
	r = cgroup2_path(e->cg2, cgid, path + 3, sizeof(path) - 3);
	if (r < 0)
		return r; /* not cached: maybe gone meanwhile */
	state = container_id_from_line(path, strlen(path), id) == 0 ? CG2_CONTAINER : CG2_TEXT;
	pthread_mutex_lock(&e->cg_lock);
	s->cgid = cgid;
	s->state = state;
	memcpy(s->id, state == CG2_CONTAINER ? id : "", state == CG2_CONTAINER ? sizeof(id) : 1);
	e->st.cgroup2_misses++;
	pthread_mutex_unlock(&e->cg_lock);
	if (state != CG2_CONTAINER)
		return -ENOENT;
	memcpy(ret, id, sizeof(id));
	return 0;
}

/* Announce a container id the first time it is seen (bounded set: a forgotten id is
 * announced again, which the receiver must tolerate). Called without e->lock. */
static void note_container(struct enrich *e, const char *id, pid_t pid)
{
	bool fresh = true;

	if (!id[0] || !e->cfg.on_new_container)
		return;
	pthread_mutex_lock(&e->cg_lock);
	for (size_t i = 0; i < e->nseen; i++) {
		if (memcmp(e->seen[i], id, CONTAINER_ID_LEN) == 0) {
			fresh = false;
			break;
		}
	}
	if (fresh) {
		size_t i = e->nseen < SEEN_MAX ? e->nseen++ : (e->seen_hand++ % SEEN_MAX);

		memcpy(e->seen[i], id, CONTAINER_ID_LEN + 1);
		e->st.containers_seen++;
	}
	pthread_mutex_unlock(&e->cg_lock);
	if (fresh)
		e->cfg.on_new_container(e->cfg.opaque, id, pid);
}

/* ---- process lifetimes ---- */

static size_t bucket_of(const struct enrich *e, pid_t tgid)
{
	return ((uint32_t)tgid * 2654435761u) & (e->nbuckets - 1);
}

static struct slot *find_locked(struct enrich *e, pid_t tgid)
{
	for (uint32_t i = e->buckets[bucket_of(e, tgid)]; i != NIL; i = e->slots[i].next)
		if (e->slots[i].tgid == tgid)
			return &e->slots[i];
	return NULL;
}

static void unlink_locked(struct enrich *e, uint32_t idx)
{
	uint32_t *pp = &e->buckets[bucket_of(e, e->slots[idx].tgid)];

	while (*pp != NIL && *pp != idx)
		pp = &e->slots[*pp].next;
	if (*pp == idx)
		*pp = e->slots[idx].next;
	e->slots[idx].used = false;
	e->size--;
}

/* The slot of tgid, made (empty) when absent: evicts round-robin when full. */
static struct slot *get_locked(struct enrich *e, pid_t tgid)
{
	struct slot *s = find_locked(e, tgid);
	uint32_t idx;
	size_t b;

	if (s)
		return s;
	if (e->free_head != NIL) {
		idx = e->free_head;
		e->free_head = e->slots[idx].next;
	} else {
		idx = e->hand;
		e->hand = (uint32_t)((e->hand + 1) % e->max);
		unlink_locked(e, idx);
		e->st.evictions++;
	}
	s = &e->slots[idx];
	memset(s, 0, sizeof(*s));
	b = bucket_of(e, tgid);
	s->tgid = tgid;
	s->used = true;
	s->next = e->buckets[b];
	e->buckets[b] = idx;
	e->size++;
	return s;
}

/* Did the lifetime l exist at monotonic time t (within the clocks' slack)? */
static bool life_covers(const struct life *l, int64_t t)
{
	if (!l->used)
		return false;
	if (l->start_ns && t + SLACK_NS < l->start_ns)
		return false;
	if (l->exit_ns && t > l->exit_ns + SLACK_NS)
		return false;
	return true;
}

/* The lifetime of s an event at t belongs to, or NULL. */
static struct life *life_at(struct slot *s, int64_t t)
{
	if (!s)
		return NULL;
	/* before the current one started: the previous one, if it was alive then */
	if (s->cur.used && s->cur.start_ns && t < s->cur.start_ns && life_covers(&s->prev, t))
		return &s->prev;
	if (life_covers(&s->cur, t))
		return &s->cur;
	if (life_covers(&s->prev, t))
		return &s->prev;
	return NULL;
}

/* A new lifetime starts in s (the pid was reused): the current one becomes the previous. */
static void new_life_locked(struct slot *s, int64_t start_ns)
{
	if (s->cur.used) {
		s->prev = s->cur;
		if (!s->prev.exit_ns && start_ns)
			s->prev.exit_ns = start_ns; /* it was gone before its pid came back */
	}
	memset(&s->cur, 0, sizeof(s->cur));
	s->cur.used = true;
	s->cur.start_ns = start_ns;
}

static void set_ids(struct life *l, const char *container, uint64_t mnt_ns, uint64_t pid_ns,
		    int64_t read_ns)
{
	memcpy(l->container, container, sizeof(l->container));
	l->mnt_ns = mnt_ns;
	l->pid_ns = pid_ns;
	l->read_ns = read_ns;
	l->have_ids = true;
}

/* Store a read of tgid's ids made at read_ns; the read's start time says which lifetime it
 * belongs to. */
static void store_read_locked(struct enrich *e, pid_t tgid, const struct procfs_ids *ids,
			      int64_t read_ns, int64_t exec_ns)
{
	struct slot *s = get_locked(e, tgid);
	int64_t start = ids->start_ticks ? ticks_to_mono(e, ids->start_ticks) : 0;

	if (!s->cur.used) {
		new_life_locked(s, start);
	} else if (s->cur.start_ticks && ids->start_ticks) {
		if (s->cur.start_ticks != ids->start_ticks)
			new_life_locked(s, start);
		else
			s->cur.exit_ns = 0; /* still there: the leader thread's exit, not the group's */
	} else if (s->cur.start_ns && start) {
		if (start + SLACK_NS < s->cur.start_ns)
			return; /* an older lifetime than the one the proc thread started */
		if (start > s->cur.start_ns + SLACK_NS)
			new_life_locked(s, start); /* a newer one, whose fork is still to come */
	}
	if (ids->start_ticks)
		s->cur.start_ticks = ids->start_ticks;
	if (!s->cur.start_ns)
		s->cur.start_ns = start;
	set_ids(&s->cur, ids->container, ids->mnt_ns, ids->pid_ns, read_ns);
	s->cur.exec_ns = exec_ns;
}

void enrich_snapshot_proc(struct enrich *e, const struct procfs_proc *p)
{
	struct procfs_ids ids;

	memset(&ids, 0, sizeof(ids));
	memcpy(ids.container, p->container, sizeof(ids.container));
	ids.mnt_ns = p->mnt_ns;
	ids.pid_ns = p->pid_ns;
	ids.start_ticks = p->start_ticks;
	ids.ppid = p->ppid;
	pthread_mutex_lock(&e->lock);
	store_read_locked(e, p->tgid, &ids, mono_now(), 0);
	pthread_mutex_unlock(&e->lock);
	note_container(e, p->container, p->tgid);
}

void enrich_proc_fork(struct enrich *e, const struct cn_proc_event *ev)
{
	struct slot *s;
	int64_t t = (int64_t)ev->timestamp_ns;

	if (ev->thread)
		return;
	pthread_mutex_lock(&e->lock);
	s = get_locked(e, ev->child_tgid);
	/* The audit thread may have read this child already (this stream can lag): a read made
	 * after the fork is the child's own; keep it. Anything else is an earlier process's. */
	if (s->cur.used && s->cur.have_ids && s->cur.read_ns >= t &&
	    (!s->cur.start_ns || s->cur.start_ns + SLACK_NS >= t))
		s->cur.start_ns = t;
	else
		new_life_locked(s, t);
	pthread_mutex_unlock(&e->lock);
}

void enrich_proc_exit(struct enrich *e, const struct cn_proc_event *ev)
{
	struct slot *s;
	int64_t t = (int64_t)ev->timestamp_ns;

	if (ev->pid != ev->tgid)
		return; /* a thread */
	pthread_mutex_lock(&e->lock);
	s = find_locked(e, ev->tgid);
	if (s && s->cur.used && (!s->cur.start_ns || s->cur.start_ns <= t) && !s->cur.exit_ns)
		s->cur.exit_ns = t;
	pthread_mutex_unlock(&e->lock);
}

int enrich_proc_exec(struct enrich *e, const struct cn_proc_event *ev, struct procfs_proc *ret)
{
	struct procfs_read_opts o = { .flags = PROCFS_SKIP_STATUS, .cgroup_id = enrich_cgroup_id,
				      .container_fast = container_fast, .opaque = e };
	struct procfs_ids ids;
	struct life *l;
	int64_t t = (int64_t)ev->timestamp_ns, now;
	bool shared = false;
	int r;

	pthread_mutex_lock(&e->lock);
	l = life_at(find_locked(e, ev->tgid), t);
	/* the audit thread read the ids after this exec (its SYSCALL record follows the exec) */
	if (l && l->have_ids && l->read_ns >= t) {
		memcpy(ids.container, l->container, sizeof(ids.container));
		ids.mnt_ns = l->mnt_ns;
		ids.pid_ns = l->pid_ns;
		l->exec_ns = t;
		shared = true;
		o.flags |= PROCFS_SKIP_IDS;
		e->st.exec_shared++;
	}
	e->st.proc_exec_reads++;
	pthread_mutex_unlock(&e->lock);

	now = mono_now();
	r = procfs_read_ex(e->proc_root, ev->pid, &o, ret);
	if (r < 0 || ret->gone)
		return r; /* the caller records it as gone; nothing is cached */
	if (shared) {
		memcpy(ret->container, ids.container, sizeof(ret->container));
		ret->mnt_ns = ids.mnt_ns;
		ret->pid_ns = ids.pid_ns;
		return 0;
	}
	memcpy(ids.container, ret->container, sizeof(ids.container));
	ids.mnt_ns = ret->mnt_ns;
	ids.pid_ns = ret->pid_ns;
	ids.start_ticks = ret->start_ticks;
	ids.ppid = ret->ppid;
	pthread_mutex_lock(&e->lock);
	store_read_locked(e, ev->tgid, &ids, now, t);
	pthread_mutex_unlock(&e->lock);
	note_container(e, ids.container, ev->tgid);
	return 0;
}

enum change { CHANGE_NONE, CHANGE_EXEC, CHANGE_NS };

/* Does this event's syscall change what /proc says of the process: a successful execve or
 * execveat (a runtime's child was moved into the container's cgroup before it), setns or
 * unshare (namespaces; docker exec)? */
static enum change event_change(const struct enrich *e, const struct audit_record *sc)
{
	uint64_t arch = 0;
	int64_t nr = -1;
	const char *ok;
	int a;

	if (!sc || audit_record_i64(sc, "syscall", 10, &nr) < 0 ||
	    audit_record_u64(sc, "arch", 16, &arch) < 0)
		return CHANGE_NONE;
	ok = audit_record_str(sc, "success");
	if (ok && strcmp(ok, "yes") != 0)
		return CHANGE_NONE;
	a = arch == SYSCALLS_ARCH_X86_64 ? 0 : arch == SYSCALLS_ARCH_I386 ? 1 : -1;
	if (a < 0) {
		const char *name = syscalls_name((uint32_t)arch, (long)nr);

		if (!name)
			return CHANGE_NONE;
		if (!strcmp(name, "execve") || !strcmp(name, "execveat"))
			return CHANGE_EXEC;
		return !strcmp(name, "setns") || !strcmp(name, "unshare") ? CHANGE_NS : CHANGE_NONE;
	}
	if (nr == e->nr_exec[a] || nr == e->nr_execat[a])
		return CHANGE_EXEC;
	if (nr == e->nr_setns[a] || nr == e->nr_unshare[a])
		return CHANGE_NS;
	return CHANGE_NONE;
}

int enrich_audit_container(struct enrich *e, const struct audit_event *ev, pid_t pid,
			   char ret[CONTAINER_ID_LEN + 1])
{
	const struct audit_record *sc = audit_event_record(ev, AUDIT_T_SYSCALL);
	struct procfs_read_opts o = { .cgroup_id = enrich_cgroup_id, .container_fast = container_fast,
				      .opaque = e };
	struct procfs_ids ids;
	enum change ch = event_change(e, sc);
	int64_t t = (int64_t)ev->sec * 1000000000 + (int64_t)ev->msec * 1000000 -
		    e->cfg.clk.mono_wall_ns;
	int64_t ppid = 0, now;
	struct life *l;
	int r;

	pthread_mutex_lock(&e->lock);
	l = life_at(find_locked(e, pid), t);
	if (l && l->have_ids &&
	    (ch == CHANGE_NONE ||
	     /* the proc thread's read for this exec (it comes after the syscall's entry) */
	     (ch == CHANGE_EXEC && l->exec_ns && l->exec_ns + SLACK_NS >= t &&
	      l->exec_ns <= t + EXEC_PAIR_NS))) {
		memcpy(ret, l->container, CONTAINER_ID_LEN + 1);
		if (ch == CHANGE_EXEC)
			e->st.exec_shared++;
		else
			e->st.audit_hits++;
		pthread_mutex_unlock(&e->lock);
		return 0;
	}
	/* a lifetime whose fork the proc thread saw: /proc/PID is that process (its next fork
	 * would have to come and go in between); else stat says which process it is */
	if (l && l->start_ns && !l->exit_ns && l == &find_locked(e, pid)->cur)
		o.flags |= PROCFS_SKIP_STAT;
	e->st.audit_reads++;
	pthread_mutex_unlock(&e->lock);

	now = mono_now();
	r = procfs_read_ids(e->proc_root, pid, &o, &ids);
	if (r == 0 && ids.start_ticks && ticks_to_mono(e, ids.start_ticks) > t + SLACK_NS) {
		/* a newer process has the pid: ours is gone */
		pthread_mutex_lock(&e->lock);
		e->st.stale_rejected++;
		pthread_mutex_unlock(&e->lock);
		r = -ESRCH;
	}
	if (r == 0) {
		pthread_mutex_lock(&e->lock);
		store_read_locked(e, pid, &ids, now, 0);
		pthread_mutex_unlock(&e->lock);
		note_container(e, ids.container, pid);
		memcpy(ret, ids.container, CONTAINER_ID_LEN + 1);
		return 0;
	}
	/* Gone before the re-read an exec or setns asked for: what this lifetime had before.
	 * Neither call moves a process to another cgroup, and the parent's is no better: a
	 * shell that execs its last command in place (busybox sh -c) is a container's init
	 * whose parent is the runtime's shim, on the host. */
	pthread_mutex_lock(&e->lock);
	l = life_at(find_locked(e, pid), t);
	if (l && l->have_ids) {
		memcpy(ret, l->container, CONTAINER_ID_LEN + 1);
		e->st.self_fallback++;
		pthread_mutex_unlock(&e->lock);
		return 0;
	}
	pthread_mutex_unlock(&e->lock);
	/* gone before we could read it (short-lived): its parent's, which it had at fork */
	if (sc && audit_record_i64(sc, "ppid", 10, &ppid) == 0 && ppid > 1) {
		pthread_mutex_lock(&e->lock);
		l = life_at(find_locked(e, (pid_t)ppid), t);
		if (l && l->have_ids) {
			struct life copy = *l;
			struct slot *s;

			e->st.parent_fallback++;
			memcpy(ret, copy.container, CONTAINER_ID_LEN + 1);
			s = get_locked(e, pid);
			if (!life_at(s, t)) {
				new_life_locked(s, 0);
				l = &s->cur;
			} else {
				l = life_at(s, t);
			}
			set_ids(l, copy.container, copy.mnt_ns, copy.pid_ns, 0);
			pthread_mutex_unlock(&e->lock);
			return 0;
		}
		pthread_mutex_unlock(&e->lock);
	}
	pthread_mutex_lock(&e->lock);
	e->st.gone++;
	pthread_mutex_unlock(&e->lock);
	return -ENOENT;
}

void enrich_get_stats(struct enrich *e, struct enrich_stats *ret)
{
	pthread_mutex_lock(&e->lock);
	pthread_mutex_lock(&e->cg_lock);
	*ret = e->st;
	ret->size = e->size;
	ret->max = e->max;
	pthread_mutex_unlock(&e->cg_lock);
	pthread_mutex_unlock(&e->lock);
}
