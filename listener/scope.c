/* scope.c — what to record (see scope.h): the scope options, the keep/drop decision for
 * every event before its document is built, the per-process table those decisions read
 * (parent, uid, container, "descends from a root", "in a runtime's tree", "kept"), the
 * fork/exec/exit events held back as possible ancestry, the drop counters, and the audit
 * rule fields handed to the kernel. Owns the table, the held events and a cache of which
 * container ids match --container. */
#include "scope.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <pwd.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "docker_meta.h"
#include "event_doc.h"
#include "macro.h"
#include "num.h"
#include "path.h"
#include "schema.h"
#include "syscalls.h"

const struct option scope_options[] = {
	{ "scope", required_argument, NULL, SCOPE_OPT_SCOPE },
	{ "container", required_argument, NULL, SCOPE_OPT_CONTAINER },
	{ "uid", required_argument, NULL, SCOPE_OPT_UID },
	{ "exclude-uid", required_argument, NULL, SCOPE_OPT_EXCLUDE_UID },
	{ "command", no_argument, NULL, SCOPE_OPT_COMMAND },
	{ "pid", required_argument, NULL, SCOPE_OPT_PID },
	{ "path-prefix", required_argument, NULL, SCOPE_OPT_PATH_PREFIX },
	{ "exclude-path-prefix", required_argument, NULL, SCOPE_OPT_EXCLUDE_PATH_PREFIX },
	{ NULL, 0, NULL, 0 },
};

static const char *const verdict_names[SCOPE_NVERDICTS] = {
	[SCOPE_KEEP] = "kept", [SCOPE_DROP_TREE] = "tree", [SCOPE_DROP_UID] = "uid",
	[SCOPE_DROP_KIND] = "kind", [SCOPE_DROP_CONTAINER] = "container",
	[SCOPE_DROP_PATH] = "path",
};

static const char *const kind_names[] = { "all", "host", "containers" };

/* Where container runtimes keep their data: a kernel dir= exclusion above one of these would
 * also match every file of every container (their rootfs lives there), whatever name the
 * container process used. */
static const char *const runtime_dirs[] = {
	"/var/lib/docker", "/var/lib/containerd", "/run/containerd", "/run/docker",
	"/var/lib/containers", "/run/containers",
};

/* ---- configuration ---- */

static int cerr(char *err, size_t errlen, int r, const char *fmt, const char *a, const char *b)
{
	if (err && errlen)
		snprintf(err, errlen, fmt, a, b);
	return r;
}

static int parse_uid(const char *opt, const char *v, uint32_t *ret, char *err, size_t errlen)
{
	struct passwd *pw;
	uint64_t n;

	if (num_parse_u64(v, UINT32_MAX - 1, &n) == 0) {
		*ret = (uint32_t)n;
		return 0;
	}
	pw = getpwnam(v);
	if (!pw)
		return cerr(err, errlen, -EINVAL, "--%s: no such user or uid: '%s'", opt, v);
	*ret = pw->pw_uid;
	return 0;
}

static int add_prefix(char **arr, size_t *n, const char *opt, const char *v, char *err,
		      size_t errlen)
{
	char *clean = NULL;

	if (!v || v[0] != '/')
		return cerr(err, errlen, -EINVAL, "--%s: an absolute path is needed, not '%s'", opt,
			    v ? v : "");
	if (*n >= SCOPE_MAX_ITEMS)
		return cerr(err, errlen, -E2BIG, "--%s: at most 16 (%s)", opt, v);
	if (path_clean(v, &clean) < 0 || !clean)
		return cerr(err, errlen, -EINVAL, "--%s: cannot use '%s'", opt, v);
	arr[(*n)++] = clean;
	return 0;
}

int scope_config_set(struct scope_config *c, const char *name, const char *v, char *err,
		     size_t errlen)
{
	uint64_t n;
	int r;

	if (!strcmp(name, "command")) {
		c->command = true;
		return 0;
	}
	if (strcmp(name, "scope") && strcmp(name, "container") && strcmp(name, "uid") &&
	    strcmp(name, "exclude-uid") && strcmp(name, "pid") && strcmp(name, "path-prefix") &&
	    strcmp(name, "exclude-path-prefix"))
		return -ENOENT;
	if (!v)
		return cerr(err, errlen, -EINVAL, "--%s needs a value%s", name, "");
	if (!strcmp(name, "scope")) {
		for (size_t i = 0; i < ARRAY_SIZE(kind_names); i++)
			if (!strcmp(v, kind_names[i])) {
				c->kind = (enum scope_kind)i;
				return 0;
			}
		return cerr(err, errlen, -EINVAL, "--scope: host, containers or all, not '%s'%s", v,
			    "");
	}
	if (!strcmp(name, "container")) {
		if (!*v || strlen(v) > 128 || strchr(v, '/'))
			return cerr(err, errlen, -EINVAL, "--container: not an id or name: '%s'%s", v,
				    "");
		if (c->n_containers >= SCOPE_MAX_ITEMS)
			return cerr(err, errlen, -E2BIG, "--container: at most 16 (%s)%s", v, "");
		if (!(c->containers[c->n_containers] = strdup(v)))
			return -ENOMEM;
		c->n_containers++;
		return 0;
	}
	if (!strcmp(name, "uid") || !strcmp(name, "exclude-uid")) {
		bool ex = name[0] == 'e';
		uint32_t uid;

		if ((ex ? c->n_exclude_uids : c->n_uids) >= SCOPE_MAX_ITEMS)
			return cerr(err, errlen, -E2BIG, "--%s: at most 16 (%s)", name, v);
		if ((r = parse_uid(name, v, &uid, err, errlen)) < 0)
			return r;
		if (ex)
			c->exclude_uids[c->n_exclude_uids++] = uid;
		else
			c->uids[c->n_uids++] = uid;
		return 0;
	}
	if (!strcmp(name, "pid")) {
		if (num_parse_u64(v, INT_MAX, &n) < 0 || n < 1)
			return cerr(err, errlen, -EINVAL, "--pid: not a process id: '%s'%s", v, "");
		if (c->n_pids >= SCOPE_MAX_ITEMS)
			return cerr(err, errlen, -E2BIG, "--pid: at most 16 (%s)%s", v, "");
		c->pids[c->n_pids++] = (pid_t)n;
		return 0;
	}
	if (!strcmp(name, "path-prefix"))
		return add_prefix(c->path_prefixes, &c->n_path_prefixes, name, v, err, errlen);
	return add_prefix(c->exclude_path_prefixes, &c->n_exclude_path_prefixes, name, v, err,
			  errlen);
}

int scope_config_check(const struct scope_config *c, char *err, size_t errlen)
{
	if (c->kind == SCOPE_HOST && c->n_containers)
		return cerr(err, errlen, -EINVAL, "--scope host and --container exclude each other%s%s",
			    "", "");
	if (c->command && (!c->command_argv || !c->command_argv[0]))
		return cerr(err, errlen, -EINVAL, "--command needs the command after it: "
			    "--command -- CMD ARGS...%s%s", "", "");
	if (!c->command && c->command_argv && c->command_argv[0])
		return cerr(err, errlen, -EINVAL, "unexpected argument '%s' (see --help)%s",
			    c->command_argv[0], "");
	return 0;
}

bool scope_config_active(const struct scope_config *c)
{
	return c->kind != SCOPE_ALL || c->n_containers || c->n_uids || c->n_exclude_uids ||
	       c->n_pids || c->command || c->n_path_prefixes || c->n_exclude_path_prefixes;
}

void scope_config_usage(FILE *f)
{
	fputs("Scope (what to record; every condition given must hold; default: everything):\n"
	      "  --scope host|containers|all  host processes only, or processes in any container\n"
	      "                       and the runtime's tree from the shim down, or all (default)\n"
	      "  --container ID|NAME  only this container (id prefix or name, also one started\n"
	      "                       later under that name; repeatable)\n"
	      "  --uid UID|NAME       only processes of this real uid (repeatable)\n"
	      "  --exclude-uid UID|NAME  never this uid (repeatable)\n"
	      "  --pid PID            only this running process and its descendants, also\n"
	      "                       reparented ones; stop when it exits (repeatable)\n"
	      "  --command -- CMD ARGS...  run CMD as the listener's child, record it and all its\n"
	      "                       descendants, stop when it exits, exit with its status\n"
	      "  --path-prefix P      file events (open, creat, rename, unlink) only under P\n"
	      "                       (repeatable; default: every path)\n"
	      "  --exclude-path-prefix P  no file events under P (repeatable; default none:\n"
	      "                       /proc, /sys and /dev are kept)\n"
	      "  Process events needed for a kept process's ancestry are always kept; the\n"
	      "  start-up snapshot is always whole; drops are counted per reason.\n", f);
}

void scope_config_release(struct scope_config *c)
{
	for (size_t i = 0; i < c->n_containers; i++)
		free(c->containers[i]);
	for (size_t i = 0; i < c->n_path_prefixes; i++)
		free(c->path_prefixes[i]);
	for (size_t i = 0; i < c->n_exclude_path_prefixes; i++)
		free(c->exclude_path_prefixes[i]);
	memset(c, 0, sizeof(*c));
}

/* ---- run time ---- */

#define TABLE_BUCKETS 8192
#define TABLE_MAX 65536     /* processes known at once; beyond, new ones are judged unknown */
#define EXITED_RING 4096    /* exited processes kept (with what they hold) for late descendants */
#define HELD_MAX 8          /* events held per process; beyond, the oldest after fork goes */
#define CONT_CACHE 128
#define CONT_RECHECK_MS 1000 /* a container whose name docker's state did not give yet */
#define ANCESTRY_DEPTH 256

enum {
	SP_TREE = 1,     /* descends from a --pid or the --command */
	SP_RUNTIME = 2,  /* a container runtime's shim or one of its descendants */
	SP_KEPT = 4,     /* ancestor of a process in scope: its proc events are kept */
	SP_EXITED = 8,
	SP_EARLY = 16,   /* made by the audit side before the proc connector's fork came */
	SP_ROOT = 32,
};

struct held {
	struct cn_proc_event ev;
	struct procfs_proc info;
	bool has_info;
};

struct sproc {
	struct sproc *next;
	pid_t tgid, ppid;
	uint32_t uid;
	bool uid_known;
	unsigned flags;
	char container[CONTAINER_ID_LEN + 1];
	struct held *held;
	size_t n_held;
};

struct cont_entry {
	char id[CONTAINER_ID_LEN + 1];
	bool selected, final;
	uint64_t checked_ms;
};

struct scope {
	const struct scope_config *cfg;
	bool active, tree, paths;
	scope_flush_fn flush;
	void *opaque;
	pthread_mutex_t lock;
	struct sproc *buckets[TABLE_BUCKETS];
	size_t n_procs;
	pid_t exited[EXITED_RING];
	size_t exited_head, n_exited;
	struct cont_entry conts[CONT_CACHE];
	size_t n_conts, next_cont;
	size_t roots_alive;
	char summary[512];
	/* what went to the kernel (for the session document) */
	const char *k_dirs[SCOPE_MAX_ITEMS], *k_exclude_dirs[SCOPE_MAX_ITEMS];
	size_t n_k_dirs, n_k_exclude_dirs;
	bool k_uids;
	atomic_uint_fast64_t drop_audit[SCOPE_NVERDICTS], drop_proc[SCOPE_NVERDICTS];
	atomic_uint_fast64_t ancestry_kept, ancestry_evicted, table_full;
};

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void append_summary(struct scope *s, const char *a, const char *b)
{
	size_t len = strlen(s->summary);

	if (len + 8 >= sizeof(s->summary))
		return;
	snprintf(s->summary + len, sizeof(s->summary) - len, "%s%s%s", len ? "," : "", a, b);
}

static void build_summary(struct scope *s)
{
	const struct scope_config *c = s->cfg;
	char num[24];

	s->summary[0] = '\0';
	if (c->kind != SCOPE_ALL)
		append_summary(s, kind_names[c->kind], "");
	for (size_t i = 0; i < c->n_containers; i++)
		append_summary(s, "container=", c->containers[i]);
	for (size_t i = 0; i < c->n_uids; i++) {
		snprintf(num, sizeof(num), "%u", c->uids[i]);
		append_summary(s, "uid=", num);
	}
	for (size_t i = 0; i < c->n_exclude_uids; i++) {
		snprintf(num, sizeof(num), "%u", c->exclude_uids[i]);
		append_summary(s, "exclude-uid=", num);
	}
	for (size_t i = 0; i < c->n_pids; i++) {
		snprintf(num, sizeof(num), "%d", (int)c->pids[i]);
		append_summary(s, "pid=", num);
	}
	if (c->command && c->command_argv && c->command_argv[0])
		append_summary(s, "command=", c->command_argv[0]);
	for (size_t i = 0; i < c->n_path_prefixes; i++)
		append_summary(s, "path=", c->path_prefixes[i]);
	for (size_t i = 0; i < c->n_exclude_path_prefixes; i++)
		append_summary(s, "exclude-path=", c->exclude_path_prefixes[i]);
	if (!s->summary[0])
		snprintf(s->summary, sizeof(s->summary), "all");
}

int scope_new(const struct scope_config *cfg, scope_flush_fn flush, void *opaque,
	      struct scope **ret)
{
	struct scope *s = calloc(1, sizeof(*s));

	if (!s)
		return -ENOMEM;
	s->cfg = cfg;
	s->active = scope_config_active(cfg);
	s->tree = cfg->n_pids || cfg->command;
	s->paths = cfg->n_path_prefixes || cfg->n_exclude_path_prefixes;
	s->flush = flush;
	s->opaque = opaque;
	pthread_mutex_init(&s->lock, NULL);
	build_summary(s);
	*ret = s;
	return 0;
}

static void held_release(struct sproc *p)
{
	for (size_t i = 0; i < p->n_held; i++)
		if (p->held[i].has_info)
			procfs_proc_release(&p->held[i].info);
	free(p->held);
	p->held = NULL;
	p->n_held = 0;
}

void scope_free(struct scope *s)
{
	if (!s)
		return;
	for (size_t b = 0; b < TABLE_BUCKETS; b++) {
		struct sproc *p = s->buckets[b], *n;

		for (; p; p = n) {
			n = p->next;
			held_release(p);
			free(p);
		}
	}
	pthread_mutex_destroy(&s->lock);
	free(s);
}

static size_t bucket(pid_t tgid)
{
	return ((uint32_t)tgid * 2654435761u) % TABLE_BUCKETS;
}

static struct sproc *lookup(struct scope *s, pid_t tgid)
{
	struct sproc *p;

	if (tgid <= 0)
		return NULL;
	for (p = s->buckets[bucket(tgid)]; p; p = p->next)
		if (p->tgid == tgid)
			return p;
	return NULL;
}

static void remove_proc(struct scope *s, pid_t tgid)
{
	struct sproc **pp = &s->buckets[bucket(tgid)];

	for (; *pp; pp = &(*pp)->next)
		if ((*pp)->tgid == tgid) {
			struct sproc *p = *pp;

			*pp = p->next;
			held_release(p);
			free(p);
			s->n_procs--;
			return;
		}
}

/* The entry of tgid, made (zeroed) when absent; NULL when the table is full. */
static struct sproc *get_proc(struct scope *s, pid_t tgid)
{
	struct sproc *p = lookup(s, tgid);

	if (p || tgid <= 0)
		return p;
	if (s->n_procs >= TABLE_MAX) {
		atomic_fetch_add(&s->table_full, 1);
		return NULL;
	}
	p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	p->tgid = tgid;
	p->next = s->buckets[bucket(tgid)];
	s->buckets[bucket(tgid)] = p;
	s->n_procs++;
	return p;
}

/* Reset an entry for a new process with this pid, keeping the table links. */
static void reset_proc(struct sproc *p)
{
	struct sproc *next = p->next;
	pid_t tgid = p->tgid;

	held_release(p);
	memset(p, 0, sizeof(*p));
	p->next = next;
	p->tgid = tgid;
}

static void inherit(struct sproc *child, const struct sproc *parent)
{
	child->ppid = parent->tgid;
	child->uid = parent->uid;
	child->uid_known = parent->uid_known;
	child->flags |= parent->flags & (SP_TREE | SP_RUNTIME);
	memcpy(child->container, parent->container, sizeof(child->container));
}

static bool is_runtime_comm(const char *comm)
{
	/* comm is at most 15 characters: "containerd-shim" covers -runc-v2 and v1 */
	return !strncmp(comm, "containerd-shim", 15) || !strcmp(comm, "conmon");
}

static bool uid_in(const uint32_t *v, size_t n, uint32_t uid)
{
	for (size_t i = 0; i < n; i++)
		if (v[i] == uid)
			return true;
	return false;
}

static bool is_hex(const char *s)
{
	for (; *s; s++)
		if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f')))
			return false;
	return true;
}

/* Does container id match one of --container: an id prefix now, or a name docker's state
 * gives for it (read at first sight, cached; looked at again after a while while absent). */
static bool container_selected(struct scope *s, const char *id)
{
	const struct scope_config *c = s->cfg;
	struct cont_entry *e = NULL;
	uint64_t now = now_ms();
	char *name = NULL, *image = NULL;
	bool sel = false, final = false;

	for (size_t i = 0; i < s->n_conts; i++)
		if (!strcmp(s->conts[i].id, id)) {
			e = &s->conts[i];
			if (e->final || now - e->checked_ms < CONT_RECHECK_MS)
				return e->selected;
			break;
		}
	for (size_t i = 0; i < c->n_containers && !sel; i++)
		if (is_hex(c->containers[i]) &&
		    !strncmp(id, c->containers[i], strlen(c->containers[i])))
			sel = final = true;
	if (!sel && docker_meta_name_image(c->docker_root ? c->docker_root : DOCKER_META_DOCKER_ROOT,
					   id, &name, &image) == 0) {
		final = name != NULL;
		for (size_t i = 0; name && i < c->n_containers && !sel; i++)
			sel = !strcmp(name, c->containers[i]) ||
			      (name[0] == '/' && !strcmp(name + 1, c->containers[i]));
	}
	free(name);
	free(image);
	if (!e) {
		if (s->n_conts < CONT_CACHE)
			e = &s->conts[s->n_conts++];
		else
			e = &s->conts[s->next_cont++ % CONT_CACHE];
		snprintf(e->id, sizeof(e->id), "%s", id);
	}
	e->selected = sel;
	e->final = final;
	e->checked_ms = now;
	return sel;
}

static enum scope_verdict judge(struct scope *s, unsigned flags, bool uid_known, uint32_t uid,
				const char *container)
{
	const struct scope_config *c = s->cfg;
	bool in_container = container && container[0];

	if (s->tree && !(flags & SP_TREE))
		return SCOPE_DROP_TREE;
	if (c->n_uids && (!uid_known || !uid_in(c->uids, c->n_uids, uid)))
		return SCOPE_DROP_UID;
	if (c->n_exclude_uids && uid_known && uid_in(c->exclude_uids, c->n_exclude_uids, uid))
		return SCOPE_DROP_UID;
	if (c->kind == SCOPE_HOST && in_container)
		return SCOPE_DROP_KIND;
	if (c->kind == SCOPE_CONTAINERS && !in_container && !(flags & SP_RUNTIME))
		return SCOPE_DROP_KIND;
	if (c->n_containers && (!in_container || !container_selected(s, container)))
		return SCOPE_DROP_CONTAINER;
	return SCOPE_KEEP;
}

static enum scope_verdict judge_proc(struct scope *s, const struct sproc *p)
{
	if (!p)
		return judge(s, 0, false, 0, NULL);
	return judge(s, p->flags, p->uid_known, p->uid, p->container);
}

static void flush_held(struct scope *s, struct sproc *p)
{
	for (size_t i = 0; i < p->n_held; i++) {
		s->flush(s->opaque, &p->held[i].ev, p->held[i].has_info ? &p->held[i].info : NULL);
		atomic_fetch_add(&s->ancestry_kept, 1);
	}
	held_release(p);
}

/* p is in scope now: what it held back is stored, and its ancestors keep their process
 * events from now on (SP_KEPT: ancestry), storing what they held. p itself is judged again
 * at each event: a process that leaves the scope (setuid to an excluded uid, exec into a
 * container under --scope host) is dropped from then on unless it is somebody's ancestor. */
static void mark_kept(struct scope *s, struct sproc *p)
{
	if (p->n_held)
		flush_held(s, p);
	for (int depth = 0; depth < ANCESTRY_DEPTH; depth++) {
		struct sproc *q;
		bool was;

		if (p->ppid <= 0 || p->ppid == p->tgid || !(q = lookup(s, p->ppid)))
			break;
		was = q->flags & SP_KEPT;
		q->flags |= SP_KEPT;
		if (q->n_held)
			flush_held(s, q);
		if (was)
			break;
		p = q;
	}
}

static void hold(struct scope *s, struct sproc *p, const struct cn_proc_event *ev,
		 struct procfs_proc *info)
{
	struct held *h;

	if (!p->held && !(p->held = calloc(HELD_MAX, sizeof(*p->held))))
		return;
	if (p->n_held == HELD_MAX) {
		/* keep the fork (the first): the tree needs the parent link most */
		if (p->held[1].has_info)
			procfs_proc_release(&p->held[1].info);
		memmove(&p->held[1], &p->held[2], (HELD_MAX - 2) * sizeof(*p->held));
		p->n_held--;
		atomic_fetch_add(&s->ancestry_evicted, 1);
	}
	h = &p->held[p->n_held++];
	h->ev = *ev;
	h->has_info = false;
	if (info) {
		h->info = *info;  /* take its strings */
		h->has_info = true;
		memset(info, 0, sizeof(*info));
	}
}

/* An exited process stays (with what it holds) until EXITED_RING later exits: an orphan or
 * a double-forked grandchild kept after its parent exited still finds its ancestry. */
static void note_exit(struct scope *s, struct sproc *p)
{
	size_t slot;

	p->flags |= SP_EXITED;
	if (s->n_exited == EXITED_RING) {
		struct sproc *old = lookup(s, s->exited[s->exited_head]);

		if (old && (old->flags & SP_EXITED)) {
			atomic_fetch_add(&s->ancestry_evicted, old->n_held);
			remove_proc(s, old->tgid);
		}
		s->exited_head = (s->exited_head + 1) % EXITED_RING;
		s->n_exited--;
	}
	slot = (s->exited_head + s->n_exited) % EXITED_RING;
	s->exited[slot] = p->tgid;
	s->n_exited++;
}

void scope_snapshot_proc(struct scope *s, const struct procfs_proc *p)
{
	struct sproc *e;

	if (!s->active || p->gone)
		return;
	pthread_mutex_lock(&s->lock);
	if ((e = get_proc(s, p->tgid))) {
		e->ppid = p->ppid;
		e->uid = p->uid;
		e->uid_known = true;
		memcpy(e->container, p->container, sizeof(e->container));
		if (is_runtime_comm(p->comm))
			e->flags |= SP_RUNTIME;
		for (size_t i = 0; i < s->cfg->n_pids; i++)
			if (s->cfg->pids[i] == p->tgid)
				e->flags |= SP_TREE | SP_ROOT;
	}
	pthread_mutex_unlock(&s->lock);
}

void scope_snapshot_done(struct scope *s)
{
	if (!s->active)
		return;
	pthread_mutex_lock(&s->lock);
	s->roots_alive = 0; /* recounted: --pid roots and a --command child added before */
	/* flags flow down: a root's or a shim's descendants alive now (parents may come after
	 * their children in the table, so walk each one's chain up) */
	for (size_t b = 0; b < TABLE_BUCKETS; b++)
		for (struct sproc *p = s->buckets[b]; p; p = p->next) {
			struct sproc *q = p;

			if (p->flags & SP_ROOT)
				s->roots_alive++;
			for (int d = 0; q && d < ANCESTRY_DEPTH; d++) {
				p->flags |= q->flags & (SP_TREE | SP_RUNTIME);
				if (q->ppid <= 0 || q->ppid == q->tgid)
					break;
				q = lookup(s, q->ppid);
			}
		}
	pthread_mutex_unlock(&s->lock);
}

int scope_add_root(struct scope *s, pid_t pid)
{
	struct sproc *p;
	int r = 0;

	pthread_mutex_lock(&s->lock);
	p = get_proc(s, pid);
	if (p) {
		p->flags |= SP_TREE | SP_ROOT;
		s->roots_alive++;
	} else {
		r = -ENOMEM;
	}
	pthread_mutex_unlock(&s->lock);
	return r;
}

bool scope_roots_gone(struct scope *s)
{
	bool gone;

	pthread_mutex_lock(&s->lock);
	gone = s->tree && s->roots_alive == 0;
	pthread_mutex_unlock(&s->lock);
	return gone;
}

/* ---- audit events ---- */

static bool under(const char *path, const char *prefix)
{
	size_t n = strlen(prefix);

	if (n == 1 && prefix[0] == '/')
		return path[0] == '/';
	return !strncmp(path, prefix, n) && (path[n] == '\0' || path[n] == '/');
}

static bool under_any(const char *path, char *const *prefixes, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (under(path, prefixes[i]))
			return true;
	return false;
}

static bool is_file_syscall(const char *name)
{
	static const char *const file_calls[] = {
		"open", "openat", "openat2", "creat", "rename", "renameat", "renameat2",
		"unlink", "unlinkat",
	};

	for (size_t i = 0; name && i < ARRAY_SIZE(file_calls); i++)
		if (!strcmp(name, file_calls[i]))
			return true;
	return false;
}

static bool is_at_fdcwd(const struct audit_record *sc, const char *reg)
{
	uint64_t v;

	return audit_record_u64(sc, reg, 16, &v) == 0 &&
	       (v == 0xffffff9cull || v == 0xffffffffffffff9cull);
}

/* A file event under the path prefixes? Paths as the process named them, made absolute
 * against its cwd; a relative name under a directory fd cannot be placed: kept. */
static enum scope_verdict path_verdict(struct scope *s, const struct audit_event *ev,
				       const struct audit_record *sc, const char *syscall)
{
	const struct scope_config *c = s->cfg;
	const struct audit_record *cwdr = audit_event_record(ev, AUDIT_T_CWD);
	const char *cwd = cwdr ? audit_record_str(cwdr, "cwd") : NULL;
	bool dirfd_ok = true, any_in = false, unknown = false, seen = false;
	char abs[PATH_MAX];

	if (!strncmp(syscall, "openat", 6) || !strcmp(syscall, "unlinkat"))
		dirfd_ok = is_at_fdcwd(sc, "a0");
	else if (!strncmp(syscall, "renameat", 8))
		dirfd_ok = is_at_fdcwd(sc, "a0") && is_at_fdcwd(sc, "a2");
	for (size_t i = 0; i < ev->nrecords; i++) {
		const struct audit_record *r = ev->records[i];
		const char *name;

		if (r->type != AUDIT_T_PATH || !(name = audit_record_str(r, "name")))
			continue;
		if (name[0] != '/') {
			if (!cwd || !dirfd_ok || event_doc_path_abs(cwd, name, abs, sizeof(abs)) < 0) {
				unknown = true;
				continue;
			}
			name = abs;
		}
		seen = true;
		if (under_any(name, c->exclude_path_prefixes, c->n_exclude_path_prefixes))
			return SCOPE_DROP_PATH;
		any_in |= under_any(name, c->path_prefixes, c->n_path_prefixes);
	}
	if (c->n_path_prefixes && seen && !any_in && !unknown)
		return SCOPE_DROP_PATH;
	return SCOPE_KEEP;
}

enum scope_verdict scope_audit_event(struct scope *s, const struct audit_event *ev, pid_t pid,
				     const char *container)
{
	const struct audit_record *sc;
	struct sproc *p;
	uint64_t u64 = 0, arch = 0;
	int64_t ppid = 0, nr = -1;
	bool uid_known = false;
	uint32_t uid = 0;
	enum scope_verdict v;

	if (!s->active)
		return SCOPE_KEEP;
	sc = audit_event_record(ev, AUDIT_T_SYSCALL);
	if (sc && audit_record_u64(sc, "uid", 10, &u64) == 0) {
		uid = (uint32_t)u64;
		uid_known = true;
	}
	pthread_mutex_lock(&s->lock);
	p = lookup(s, pid);
	if (!p && sc && audit_record_i64(sc, "ppid", 10, &ppid) == 0 && ppid > 0) {
		/* audit can be ahead of the proc connector: a child whose fork is not handled
		 * yet is its parent's */
		struct sproc *parent = lookup(s, (pid_t)ppid);

		if (parent && (p = get_proc(s, pid))) {
			inherit(p, parent);
			p->flags |= SP_EARLY;
		}
	}
	if (!sc && !uid_known && p) {
		uid_known = p->uid_known;
		uid = p->uid;
	}
	v = judge(s, p ? p->flags : 0, uid_known, uid, container);
	if (v == SCOPE_KEEP && p)
		mark_kept(s, p);
	pthread_mutex_unlock(&s->lock);
	if (v == SCOPE_KEEP && s->paths && sc && audit_record_u64(sc, "arch", 16, &arch) == 0 &&
	    audit_record_i64(sc, "syscall", 10, &nr) == 0) {
		const char *name = syscalls_name((uint32_t)arch, nr);

		if (is_file_syscall(name))
			v = path_verdict(s, ev, sc, name);
	}
	if (v != SCOPE_KEEP)
		atomic_fetch_add(&s->drop_audit[v], 1);
	return v;
}

bool scope_needs_container(const struct scope *s)
{
	return s->cfg->kind != SCOPE_ALL || s->cfg->n_containers;
}

/* ---- proc connector events ---- */

static enum scope_verdict proc_fork(struct scope *s, const struct cn_proc_event *ev)
{
	struct sproc *parent = lookup(s, ev->parent_tgid), *child;
	enum scope_verdict v;

	if (ev->thread) {
		/* a thread of parent_tgid's process: kept with it, never needed as ancestry */
		v = judge_proc(s, parent);
		if (v == SCOPE_KEEP || (parent && (parent->flags & SP_KEPT))) {
			if (parent)
				mark_kept(s, parent);
			return SCOPE_KEEP;
		}
		return v;
	}
	child = get_proc(s, ev->child_tgid);
	if (!child)
		return judge_proc(s, parent);
	if (!(child->flags & SP_EARLY) || (child->flags & SP_EXITED))
		reset_proc(child);
	child->flags &= ~SP_EARLY;
	if (parent)
		inherit(child, parent);
	else
		child->ppid = ev->parent_tgid;
	v = judge_proc(s, child);
	if (v == SCOPE_KEEP || (child->flags & SP_KEPT)) {
		mark_kept(s, child);
		return SCOPE_KEEP;
	}
	hold(s, child, ev, NULL);
	return v;
}

static enum scope_verdict proc_exec(struct scope *s, const struct cn_proc_event *ev,
				    struct procfs_proc *info)
{
	struct sproc *p = get_proc(s, ev->tgid);
	enum scope_verdict v;

	if (!p)
		return judge_proc(s, NULL);
	p->flags &= ~SP_EARLY;
	if (info && !info->gone) {
		if (info->ppid > 0 && !p->ppid)
			p->ppid = info->ppid;
		p->uid = info->uid;
		p->uid_known = true;
		memcpy(p->container, info->container, sizeof(p->container));
		if (is_runtime_comm(info->comm))
			p->flags |= SP_RUNTIME;
	}
	v = judge_proc(s, p);
	if (v == SCOPE_KEEP || (p->flags & SP_KEPT)) {
		mark_kept(s, p);
		return SCOPE_KEEP;
	}
	hold(s, p, ev, info);
	return v;
}

enum scope_verdict scope_proc_event(struct scope *s, const struct cn_proc_event *ev,
				    struct procfs_proc *info)
{
	struct sproc *p;
	enum scope_verdict v;

	if (!s->active)
		return SCOPE_KEEP;
	pthread_mutex_lock(&s->lock);
	switch (ev->what) {
	case CN_PROC_FORK:
		v = proc_fork(s, ev);
		break;
	case CN_PROC_EXEC:
		v = proc_exec(s, ev, info);
		break;
	default:
		p = lookup(s, ev->tgid);
		if (p && ev->what == CN_PROC_UID) {
			p->uid = ev->rid;
			p->uid_known = true;
		}
		if (p && ev->what == CN_PROC_COMM && is_runtime_comm(ev->comm))
			p->flags |= SP_RUNTIME;
		v = judge_proc(s, p);
		if (v == SCOPE_KEEP || (p && (p->flags & SP_KEPT))) {
			if (p)
				mark_kept(s, p);
			v = SCOPE_KEEP;
		} else if (p && ev->what == CN_PROC_EXIT && ev->pid == ev->tgid) {
			hold(s, p, ev, NULL); /* the exit time, should it become ancestry */
		}
		if (p && ev->what == CN_PROC_EXIT && ev->pid == ev->tgid) {
			if ((p->flags & SP_ROOT) && s->roots_alive) {
				p->flags &= ~SP_ROOT;
				s->roots_alive--;
			}
			note_exit(s, p);
		}
		break;
	}
	pthread_mutex_unlock(&s->lock);
	if (v != SCOPE_KEEP)
		atomic_fetch_add(&s->drop_proc[v], 1);
	return v;
}

/* ---- kernel rules ---- */

/* A prefix the kernel's dir= can stand for: an existing directory that is its own real path
 * (dir= follows the inode tree, a symlink would move it elsewhere). */
static bool kernel_dir_ok(const char *p)
{
	char real[PATH_MAX];
	struct stat st;

	return stat(p, &st) == 0 && S_ISDIR(st.st_mode) && realpath(p, real) &&
	       !strcmp(real, p);
}

static bool holds_runtime_data(const struct scope_config *c, const char *p)
{
	for (size_t i = 0; i < ARRAY_SIZE(runtime_dirs); i++)
		if (under(runtime_dirs[i], p))
			return true;
	return c->docker_root && under(c->docker_root, p);
}

void scope_audit_config(struct scope *s, struct audit_source_config *a)
{
	const struct scope_config *c = s->cfg;
	bool all_ok = c->n_path_prefixes > 0;

	if (!s->active || a->multicast)
		return; /* multicast installs no rules: userspace does it all */
	for (size_t i = 0; i < c->n_uids && i < AUDIT_SOURCE_MAX_SCOPE; i++)
		a->uids[a->n_uids++] = c->uids[i];
	for (size_t i = 0; i < c->n_exclude_uids && i < AUDIT_SOURCE_MAX_SCOPE; i++)
		a->exclude_uids[a->n_exclude_uids++] = c->exclude_uids[i];
	s->k_uids = a->n_uids || a->n_exclude_uids;
	/* an exclusion: the kernel drops file syscalls whose file lies under the directory,
	 * whatever name was used; never above a runtime's data when containers are recorded */
	for (size_t i = 0; i < c->n_exclude_path_prefixes && i < AUDIT_SOURCE_MAX_SCOPE; i++) {
		const char *p = c->exclude_path_prefixes[i];

		if (!kernel_dir_ok(p) || (c->kind != SCOPE_HOST && holds_runtime_data(c, p)))
			continue;
		a->exclude_dirs[a->n_exclude_dirs++] = p;
		s->k_exclude_dirs[s->n_k_exclude_dirs++] = p;
	}
	/* an inclusion only where paths are host paths, and only when every prefix can go
	 * (else the kernel must send every file event and userspace chooses) */
	for (size_t i = 0; i < c->n_path_prefixes; i++)
		all_ok &= kernel_dir_ok(c->path_prefixes[i]);
	if (c->kind == SCOPE_HOST && all_ok && c->n_path_prefixes <= AUDIT_SOURCE_MAX_SCOPE)
		for (size_t i = 0; i < c->n_path_prefixes; i++) {
			a->include_dirs[a->n_include_dirs++] = c->path_prefixes[i];
			s->k_dirs[s->n_k_dirs++] = c->path_prefixes[i];
		}
}

/* ---- reports ---- */

static void put_strs(bson_t *d, const char *key, char *const *v, size_t n)
{
	bson_t arr;
	char k[24];

	bson_append_array_begin(d, key, -1, &arr);
	for (size_t i = 0; i < n; i++) {
		snprintf(k, sizeof(k), "%zu", i);
		bson_append_utf8(&arr, k, -1, v[i], -1);
	}
	bson_append_array_end(d, &arr);
}

static void put_u32s(bson_t *d, const char *key, const uint32_t *v, size_t n)
{
	bson_t arr;
	char k[24];

	bson_append_array_begin(d, key, -1, &arr);
	for (size_t i = 0; i < n; i++) {
		snprintf(k, sizeof(k), "%zu", i);
		bson_append_int64(&arr, k, -1, v[i]);
	}
	bson_append_array_end(d, &arr);
}

void scope_append_bson(struct scope *s, bson_t *d)
{
	const struct scope_config *c = s->cfg;
	uint32_t pids[SCOPE_MAX_ITEMS];
	size_t argc = 0;
	bson_t k;

	for (size_t i = 0; i < c->n_pids; i++)
		pids[i] = (uint32_t)c->pids[i];
	while (c->command && c->command_argv && c->command_argv[argc])
		argc++;
	BSON_APPEND_UTF8(d, SCHEMA_F_SCOPE_KIND, kind_names[c->kind]);
	BSON_APPEND_BOOL(d, SCHEMA_F_SCOPE_WHOLE_HOST, !s->active);
	BSON_APPEND_UTF8(d, SCHEMA_F_SCOPE_SUMMARY, s->summary);
	put_strs(d, "containers", c->containers, c->n_containers);
	put_u32s(d, "uids", c->uids, c->n_uids);
	put_u32s(d, "exclude_uids", c->exclude_uids, c->n_exclude_uids);
	put_u32s(d, "pids", pids, c->n_pids);
	put_strs(d, "command", c->command ? c->command_argv : NULL, argc);
	put_strs(d, "path_prefixes", c->path_prefixes, c->n_path_prefixes);
	put_strs(d, "exclude_path_prefixes", c->exclude_path_prefixes, c->n_exclude_path_prefixes);
	BSON_APPEND_DOCUMENT_BEGIN(d, "kernel", &k);
	BSON_APPEND_BOOL(&k, "uids", s->k_uids);
	put_strs(&k, "dirs", (char *const *)s->k_dirs, s->n_k_dirs);
	put_strs(&k, "exclude_dirs", (char *const *)s->k_exclude_dirs, s->n_k_exclude_dirs);
	bson_append_document_end(d, &k);
}

static uint64_t total_drops(struct scope *s)
{
	uint64_t t = 0;

	for (int i = 1; i < SCOPE_NVERDICTS; i++)
		t += atomic_load(&s->drop_audit[i]) + atomic_load(&s->drop_proc[i]);
	return t;
}

void scope_append_counters(struct scope *s, bson_t *c)
{
	bson_t d, a, p;

	BSON_APPEND_DOCUMENT_BEGIN(c, SCHEMA_F_SCOPE_DROPPED, &d);
	BSON_APPEND_DOCUMENT_BEGIN(&d, "audit", &a);
	for (int i = 1; i < SCOPE_NVERDICTS; i++)
		BSON_APPEND_INT64(&a, verdict_names[i], atomic_load(&s->drop_audit[i]));
	bson_append_document_end(&d, &a);
	BSON_APPEND_DOCUMENT_BEGIN(&d, "proc", &p);
	for (int i = 1; i < SCOPE_NVERDICTS; i++)
		BSON_APPEND_INT64(&p, verdict_names[i], atomic_load(&s->drop_proc[i]));
	bson_append_document_end(&d, &p);
	BSON_APPEND_INT64(&d, "ancestry_kept", atomic_load(&s->ancestry_kept));
	BSON_APPEND_INT64(&d, "ancestry_evicted", atomic_load(&s->ancestry_evicted));
	BSON_APPEND_INT64(&d, "table_full", atomic_load(&s->table_full));
	bson_append_document_end(c, &d);
	BSON_APPEND_INT64(c, SCHEMA_F_SCOPE_DROPPED_TOTAL, total_drops(s));
}

void scope_stats_text(struct scope *s, char *buf, size_t len)
{
	size_t n;

	n = (size_t)snprintf(buf, len, "scope %s dropped %" PRIu64 " (", s->summary,
			     total_drops(s));
	for (int i = 1; i < SCOPE_NVERDICTS && n < len; i++)
		n += (size_t)snprintf(buf + n, len - n, "%s%s %" PRIu64 "/%" PRIu64,
				      i > 1 ? " " : "", verdict_names[i],
				      (uint64_t)atomic_load(&s->drop_audit[i]),
				      (uint64_t)atomic_load(&s->drop_proc[i]));
	if (n < len)
		snprintf(buf + n, len - n, " audit/proc) ancestry_kept %" PRIu64,
			 (uint64_t)atomic_load(&s->ancestry_kept));
}

const char *scope_summary(struct scope *s)
{
	return s->summary;
}
