/* container_facts.c — container facts at first sight (see container_facts.h): a bounded queue
 * of announced ids, one thread that looks each up in the runtime's on-disk state and the
 * member's mountinfo, and the container_facts document. Owns the queue and the thread. */
#include "container_facts.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "docker_meta.h"
#include "mounts.h"
#include "schema.h"
#include "utf8.h"

#define QUEUE_MAX 256
#define MOUNTINFO_MAX (1u << 20)
#define CGROUP_MAX 8192
/* the member's mountinfo until "/" is the container's overlay: 20 × 50 ms at most */
#define MOUNTS_WAIT_TRIES 20
#define MOUNTS_WAIT_NS 50000000L

struct item {
	char id[CONTAINER_ID_LEN + 1];
	pid_t pid;
	int64_t seen_ms;
};

struct cf {
	struct cf_config cfg;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	pthread_t thread;
	bool started, stop;
	struct item q[QUEUE_MAX];
	size_t head, n;
	struct cf_stats st;
};

static int64_t wall_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_REALTIME, &t);
	return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* At most max bytes of a /proc file (NUL-terminated) into a new buffer. */
static int slurp(const char *path, size_t max, char **ret, size_t *ret_len)
{
	char *buf = malloc(max + 1);
	size_t len = 0;
	int fd;

	if (!buf)
		return -ENOMEM;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NOFOLLOW);
	if (fd < 0) {
		free(buf);
		return -errno;
	}
	while (len < max) {
		ssize_t n = read(fd, buf + len, max - len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	buf[len] = '\0';
	*ret = buf;
	*ret_len = len;
	return 0;
}

/* The runtime from the cgroup path form (container.h lists them). */
static const char *runtime_of_cgroup(const char *text, const char *id)
{
	static const struct {
		const char *prefix, *runtime;
	} forms[] = {
		{ "docker-", "docker" },        { "/docker/", "docker" },
		{ "cri-containerd-", "containerd" }, { "crio-", "cri-o" },
		{ "libpod-", "podman" },
	};
	char pat[96];

	for (size_t i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
		snprintf(pat, sizeof(pat), "%s%s", forms[i].prefix, id);
		if (strstr(text, pat))
			return forms[i].runtime;
	}
	return NULL;
}

static char *prefixed(const struct cf_config *cfg, const char *path)
{
	char *s;

	if (asprintf(&s, "%s%s", cfg->run_root ? cfg->run_root : "", path) < 0)
		return NULL;
	return s;
}

/* OCI bundles of the runtimes, while the container runs. */
static int rootfs_from_bundles(const struct cf_config *cfg, const char *id, char **ret)
{
	static const char *const fmts[] = {
		"/run/docker/containerd/daemon/io.containerd.runtime.v2.task/moby/%s",
		"/run/containerd/io.containerd.runtime.v2.task/moby/%s",
		"/run/containerd/io.containerd.runtime.v2.task/k8s.io/%s",
		"/run/containerd/io.containerd.runtime.v2.task/default/%s",
		"/run/containers/storage/overlay-containers/%s/userdata",
		"/var/lib/containers/storage/overlay-containers/%s/userdata",
	};
	char rel[256];

	for (size_t i = 0; i < sizeof(fmts) / sizeof(fmts[0]); i++) {
		char *bundle;
		int r;

		snprintf(rel, sizeof(rel), fmts[i], id);
		bundle = prefixed(cfg, rel);
		if (!bundle)
			return -ENOMEM;
		r = docker_meta_bundle_rootfs(bundle, ret);
		free(bundle);
		if (r == 0 || r == -ENOMEM)
			return r;
	}
	return -ENOENT;
}

/* --- issue 28: the mount table ---------------------------------------------------------- */

static bool add_mount(struct cf_facts *f, struct cf_mount *m)
{
	struct cf_mount *nv;

	if (f->nmounts >= MOUNTS_MAX)
		return false;
	nv = realloc(f->mounts, (f->nmounts + 1) * sizeof(*nv));
	if (!nv)
		return false;
	f->mounts = nv;
	nv[f->nmounts++] = *m;
	return true;
}

static void mount_release(struct cf_mount *m)
{
	free(m->dest);
	free(m->source);
	free(m->fstype);
	free(m->name);
	free(m->propagation);
}

static struct cf_mount *mount_at(struct cf_facts *f, const char *dest)
{
	for (size_t i = 0; i < f->nmounts; i++)
		if (!strcmp(f->mounts[i].dest, dest))
			return &f->mounts[i];
	return NULL;
}

static char *dup_or_null(const char *s)
{
	return s ? strdup(s) : NULL;
}

/* docker's own record of the mounts it made: authoritative for kind, source and name */
static void mounts_from_runtime(const char *droot, struct cf_facts *f)
{
	struct docker_meta_mount *v = NULL;
	size_t n = 0;

	if (docker_meta_mounts_read(droot, f->id, &v, &n) < 0)
		return;
	for (size_t i = 0; i < n; i++) {
		struct cf_mount m = { 0 };
		const char *t = v[i].type ? v[i].type : "bind";

		m.kind = !strcmp(t, "volume") ? "volume" : !strcmp(t, "tmpfs") ? "tmpfs" :
			 !strcmp(t, "bind") ? "bind" : "special";
		m.dest = v[i].dest;
		m.source = strcmp(m.kind, "tmpfs") ? v[i].source : NULL;
		if (!m.source)
			free(v[i].source);
		m.name = v[i].name;
		m.propagation = v[i].propagation;
		m.ro = v[i].ro;
		m.origin = "runtime-config";
		v[i].dest = v[i].source = v[i].name = v[i].propagation = NULL;
		if (!add_mount(f, &m))
			mount_release(&m);
	}
	docker_meta_mounts_free(v, n);
}

/* Filesystems whose files are no host files (a host mount of the same cgroup hierarchy or
 * tmpfs would otherwise look like a bind source) */
static bool pseudo_fs(const char *t)
{
	static const char *const v[] = { "tmpfs", "devtmpfs", "proc", "sysfs", "cgroup", "cgroup2",
					 "devpts", "mqueue", "securityfs", "debugfs", "tracefs",
					 "bpf", "fusectl", "configfs", "pstore", "hugetlbfs" };

	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++)
		if (!strcmp(t, v[i]))
			return true;
	return false;
}

/* Every mount of the member's namespace: fills what docker's config lacks (fstype, the
 * propagation the kernel shows) and adds what the runtime did not record (proc, sys, a mount
 * made inside a privileged container, another runtime's binds), each bind's host source
 * found through the host's mountinfo. */
static void mounts_from_mountinfo(const struct mounts_info *mi, const struct mounts_info *host,
				  struct cf_facts *f)
{
	for (size_t i = 0; i < mi->n; i++) {
		const struct mounts_line *l = &mi->v[i];
		struct cf_mount m = { 0 }, *have = mount_at(f, l->point);
		char *src = NULL;

		if (have) {
			if (!have->fstype)
				have->fstype = dup_or_null(l->fstype);
			if (!have->propagation)
				have->propagation = dup_or_null(l->propagation);
			have->ro |= l->ro;
			continue;
		}
		if (!strcmp(l->point, "/"))
			continue; /* the root: the rootfs entry */
		if (host && !pseudo_fs(l->fstype) && mounts_host_source(host, l, &src) == 0) {
			m.kind = "bind";
			m.source = src;
		} else {
			free(src);
			m.kind = !strcmp(l->fstype, "tmpfs") ? "tmpfs" : "special";
		}
		m.dest = strdup(l->point);
		m.fstype = strdup(l->fstype);
		m.propagation = strdup(l->propagation);
		m.ro = l->ro;
		m.origin = "mountinfo";
		if (!m.dest || !m.fstype || !add_mount(f, &m))
			mount_release(&m);
	}
}

static void overlay_layers(const char *droot, struct cf_facts *f, char **lowers, size_t n)
{
	f->lowers = calloc(n, sizeof(*f->lowers));
	if (!f->lowers) {
		for (size_t i = 0; i < n; i++)
			free(lowers[i]);
		free(lowers);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		f->lowers[i].dir = lowers[i];
		(void)docker_meta_layer_of(droot, lowers[i], &f->lowers[i].layer,
					   &f->lowers[i].cache_id);
	}
	f->nlowers = n;
	free(lowers);
}

/* Another member of container id: the first pid of its pids (v1) or unified (v2) cgroup,
 * whose path is the line of /proc/<seen>/cgroup that names the id; 0 none. */
static pid_t other_member(const char *proot, const char *cgroup_text, const char *id)
{
	static const char *const hier[][2] = { { "pids:", "pids" }, { "0::", "" } };
	const char *root = proot && strcmp(proot, "/proc") ? NULL : "/sys/fs/cgroup";
	char path[512], *buf = NULL;
	size_t len = 0;
	pid_t r = 0;

	if (!cgroup_text || !root)
		return 0; /* a test's fake /proc has no cgroupfs beside it */
	for (size_t i = 0; i < 2 && !r; i++) {
		const char *l = strstr(cgroup_text, hier[i][0]), *e;

		if (!l || !(e = strchr(l, '\n')))
			continue;
		l += strlen(hier[i][0]);
		if ((size_t)(e - l) > 300 || !memmem(l, (size_t)(e - l), id, strlen(id)))
			continue;
		snprintf(path, sizeof(path), "%s/%s%.*s/cgroup.procs", root, hier[i][1],
			 (int)(e - l), l);
		if (slurp(path, 4096, &buf, &len) == 0)
			r = (pid_t)atoi(buf);
		free(buf);
		buf = NULL;
	}
	return r;
}

static void lookup_mounts(const struct cf_config *cfg, const char *droot, const char *proot,
			  const char *cgroup_text, struct cf_facts *f)
{
	struct mounts_info mi = { 0 }, host = { 0 };
	bool have_mi = false, have_host = false;
	char path[256], *text = NULL, **lowers = NULL, *upper = NULL, *base = NULL;
	size_t len = 0, n = 0;

	(void)cfg;
	/* First sight is often the runtime's init before its pivot_root: its mountinfo is still
	 * the host's copy, and docker writes HostsPath into config.v2.json only once the
	 * container started. Wait for the container's own root (an overlay on "/"), bounded. */
	for (int tries = 0; f->pid > 0 && tries < MOUNTS_WAIT_TRIES; tries++) {
		char *u = NULL, **lw = NULL;
		size_t nlw = 0;
		pid_t other;

		mounts_info_release(&mi);
		have_mi = false;
		snprintf(path, sizeof(path), "%s/%d/mountinfo", proot, (int)f->pid);
		if (tries > 0 && (other = other_member(proot, cgroup_text, f->id)) > 0)
			snprintf(path, sizeof(path), "%s/%d/mountinfo", proot, (int)other);
		if (slurp(path, MOUNTINFO_MAX, &text, &len) < 0) {
			if (tries + 1 < MOUNTS_WAIT_TRIES)
				nanosleep(&(struct timespec){ .tv_nsec = MOUNTS_WAIT_NS }, NULL);
			continue; /* gone: another member, if one comes */
		}
		have_mi = mounts_info_parse(text, len, &mi, NULL) == 0;
		free(text);
		text = NULL;
		if (!have_mi || mounts_overlay_dirs(&mi, NULL, &u, &lw, &nlw) != -ENOENT) {
			free(u);
			for (size_t i = 0; i < nlw; i++)
				free(lw[i]);
			free(lw);
			break;
		}
		if (tries + 1 == MOUNTS_WAIT_TRIES) { /* never pivoted: not the container's table */
			mounts_info_release(&mi);
			have_mi = false;
			break;
		}
		nanosleep(&(struct timespec){ .tv_nsec = MOUNTS_WAIT_NS }, NULL);
	}
	mounts_from_runtime(droot, f);
	snprintf(path, sizeof(path), "%s/self/mountinfo", proot);
	if (have_mi && slurp(path, MOUNTINFO_MAX, &text, &len) == 0)
		have_host = mounts_info_parse(text, len, &host, NULL) == 0;
	free(text);
	if (have_mi)
		mounts_from_mountinfo(&mi, have_host ? &host : NULL, f);

	if (docker_meta_overlay_dirs(droot, f->id, &upper, &lowers, &n) == 0) {
		f->overlay_source = "overlay2-lower";
	} else if (have_mi && asprintf(&base, "%s/overlay2", droot) >= 0 &&
		   mounts_overlay_dirs(&mi, base, &upper, &lowers, &n) == 0) {
		/* docker's "l/<short>" links: the layer dir each names, while it exists */
		for (size_t i = 0; i < n; i++) {
			char *real = realpath(lowers[i], NULL);

			if (real) {
				free(lowers[i]);
				lowers[i] = real;
			}
		}
		f->overlay_source = "mountinfo";
	}
	free(base);
	if (f->overlay_source) {
		f->upper = upper;
		overlay_layers(droot, f, lowers, n);
	}
	if (f->rootfs) {
		struct cf_mount m = { .kind = "rootfs", .origin = f->rootfs_source };

		m.dest = strdup("/");
		m.source = strdup(f->rootfs);
		m.fstype = f->overlay_source ? strdup("overlay") : NULL;
		if (!m.dest || !m.source || !add_mount(f, &m))
			mount_release(&m);
	}
	mounts_info_release(&mi);
	mounts_info_release(&host);
}

void cf_lookup(const struct cf_config *cfg, const char *id, pid_t pid, struct cf_facts *f)
{
	const char *droot = cfg->docker_root ? cfg->docker_root : DOCKER_META_DOCKER_ROOT;
	const char *proot = cfg->proc_root ? cfg->proc_root : "/proc";
	struct docker_meta_config dc;
	char path[256], *text = NULL, *cgroup = NULL;
	size_t len = 0;

	memset(f, 0, sizeof(*f));
	snprintf(f->id, sizeof(f->id), "%s", id);
	f->pid = pid;
	f->seen_ms = wall_ms();
	snprintf(path, sizeof(path), "%s/%d/cgroup", proot, (int)pid);
	if (pid > 0 && slurp(path, CGROUP_MAX, &text, &len) == 0)
		f->runtime = runtime_of_cgroup(text, id);
	cgroup = text; /* kept for lookup_mounts: another member's mountinfo */
	text = NULL;

	if (docker_meta_config_read(droot, id, &dc) == 0) {
		if (!f->runtime)
			f->runtime = "docker";
		f->name = dc.name;
		f->image = dc.image;
		f->image_id = dc.image_id;
		f->created = dc.created;
		f->pod_name = dc.pod_name;
		f->pod_namespace = dc.pod_namespace;
		f->k8s_container = dc.k8s_container;
		memset(&dc, 0, sizeof(dc));
	}
	docker_meta_config_release(&dc);

	if (rootfs_from_bundles(cfg, id, &f->rootfs) == 0) {
		f->rootfs_source = "oci-config";
	} else if (docker_meta_overlay_rootfs(droot, id, &f->rootfs) == 0) {
		f->rootfs_source = "overlay-mount";
	} else {
		snprintf(path, sizeof(path), "%s/%d/mountinfo", proot, (int)pid);
		if (pid > 0 && slurp(path, MOUNTINFO_MAX, &text, &len) == 0 &&
		    docker_meta_mountinfo_rootfs(text, len, &f->rootfs) == 0)
			f->rootfs_source = "mountinfo";
		free(text);
	}
	lookup_mounts(cfg, droot, proot, cgroup, f);
	free(cgroup);
}

void cf_facts_release(struct cf_facts *f)
{
	if (!f)
		return;
	free(f->name);
	free(f->image);
	free(f->image_id);
	free(f->created);
	free(f->pod_name);
	free(f->pod_namespace);
	free(f->k8s_container);
	free(f->rootfs);
	for (size_t i = 0; i < f->nmounts; i++)
		mount_release(&f->mounts[i]);
	free(f->mounts);
	free(f->upper);
	for (size_t i = 0; i < f->nlowers; i++) {
		free(f->lowers[i].dir);
		free(f->lowers[i].layer);
		free(f->lowers[i].cache_id);
	}
	free(f->lowers);
	memset(f, 0, sizeof(*f));
}

static void put(bson_t *d, const char *key, const char *s)
{
	if (s)
		(void)utf8_append(d, key, s, strlen(s));
	else
		bson_append_null(d, key, -1);
}

/* issue 28: mounts [{dest, source, kind, fstype, ro, propagation, name, origin}] and overlay
 * {upper, lowers: [{dir, layer, cache_id}], source} (no overlay: null) */
static void put_mounts(bson_t *d, const struct cf_facts *f)
{
	bson_t arr, el, ov;
	char kbuf[16];
	const char *key;

	BSON_APPEND_ARRAY_BEGIN(d, SCHEMA_F_MOUNTS, &arr);
	for (size_t i = 0; i < f->nmounts; i++) {
		const struct cf_mount *m = &f->mounts[i];

		bson_uint32_to_string((uint32_t)i, &key, kbuf, sizeof(kbuf));
		BSON_APPEND_DOCUMENT_BEGIN(&arr, key, &el);
		put(&el, SCHEMA_F_MOUNT_DEST, m->dest);
		put(&el, SCHEMA_F_MOUNT_SOURCE, m->source);
		put(&el, SCHEMA_F_MOUNT_KIND, m->kind);
		put(&el, SCHEMA_F_MOUNT_FSTYPE, m->fstype);
		BSON_APPEND_BOOL(&el, SCHEMA_F_MOUNT_RO, m->ro);
		put(&el, SCHEMA_F_MOUNT_PROPAGATION, m->propagation);
		put(&el, SCHEMA_F_MOUNT_NAME, m->name);
		put(&el, SCHEMA_F_MOUNT_ORIGIN, m->origin);
		bson_append_document_end(&arr, &el);
	}
	bson_append_array_end(d, &arr);
	if (!f->overlay_source) {
		bson_append_null(d, SCHEMA_F_OVERLAY, -1);
		return;
	}
	BSON_APPEND_DOCUMENT_BEGIN(d, SCHEMA_F_OVERLAY, &ov);
	put(&ov, SCHEMA_F_OVERLAY_UPPER, f->upper);
	BSON_APPEND_ARRAY_BEGIN(&ov, SCHEMA_F_OVERLAY_LOWERS, &arr);
	for (size_t i = 0; i < f->nlowers; i++) {
		bson_uint32_to_string((uint32_t)i, &key, kbuf, sizeof(kbuf));
		BSON_APPEND_DOCUMENT_BEGIN(&arr, key, &el);
		put(&el, SCHEMA_F_LAYER_DIR, f->lowers[i].dir);
		put(&el, SCHEMA_F_LAYER, f->lowers[i].layer);
		put(&el, SCHEMA_F_LAYER_CACHE_ID, f->lowers[i].cache_id);
		bson_append_document_end(&arr, &el);
	}
	bson_append_array_end(&ov, &arr);
	put(&ov, SCHEMA_F_OVERLAY_SOURCE, f->overlay_source);
	bson_append_document_end(d, &ov);
}

int cf_doc(const struct cf_facts *f, const struct doc_meta *m, bson_t *ret)
{
	bson_init(ret);
	doc_meta_append(ret, m);
	BSON_APPEND_DATE_TIME(ret, SCHEMA_F_TS, f->seen_ms);
	BSON_APPEND_UTF8(ret, SCHEMA_F_CONTAINER, f->id);
	BSON_APPEND_INT32(ret, SCHEMA_F_SEEN_PID, f->pid);
	put(ret, SCHEMA_F_RUNTIME, f->runtime);
	put(ret, SCHEMA_F_NAME, f->name);
	put(ret, SCHEMA_F_IMAGE, f->image);
	put(ret, SCHEMA_F_IMAGE_ID, f->image_id);
	put(ret, SCHEMA_F_CREATED, f->created);
	put(ret, SCHEMA_F_ROOTFS, f->rootfs);
	put(ret, SCHEMA_F_ROOTFS_SOURCE, f->rootfs_source);
	put(ret, SCHEMA_F_POD_NAME, f->pod_name);
	put(ret, SCHEMA_F_POD_NAMESPACE, f->pod_namespace);
	put(ret, SCHEMA_F_K8S_CONTAINER, f->k8s_container);
	put_mounts(ret, f);
	return 0;
}

static void *facts_thread(void *arg)
{
	struct cf *c = arg;

	pthread_mutex_lock(&c->lock);
	for (;;) {
		struct item it;
		struct cf_facts f;

		while (c->n == 0 && !c->stop)
			pthread_cond_wait(&c->cond, &c->lock);
		if (c->n == 0)
			break; /* stopping, and everything queued is done */
		it = c->q[c->head];
		c->head = (c->head + 1) % QUEUE_MAX;
		c->n--;
		pthread_mutex_unlock(&c->lock);

		cf_lookup(&c->cfg, it.id, it.pid, &f);
		f.seen_ms = it.seen_ms;
		if (c->cfg.emit)
			c->cfg.emit(c->cfg.opaque, &f);
		cf_facts_release(&f);

		pthread_mutex_lock(&c->lock);
		c->st.looked_up++;
	}
	pthread_mutex_unlock(&c->lock);
	return NULL;
}

int cf_new(const struct cf_config *cfg, struct cf **ret)
{
	struct cf *c = calloc(1, sizeof(*c));
	int r;

	if (!c)
		return -ENOMEM;
	c->cfg = *cfg;
	pthread_mutex_init(&c->lock, NULL);
	pthread_cond_init(&c->cond, NULL);
	r = pthread_create(&c->thread, NULL, facts_thread, c);
	if (r != 0) {
		cf_free(c);
		return -r;
	}
	c->started = true;
	*ret = c;
	return 0;
}

void cf_free(struct cf *c)
{
	if (!c)
		return;
	if (c->started) {
		pthread_mutex_lock(&c->lock);
		c->stop = true;
		pthread_cond_signal(&c->cond);
		pthread_mutex_unlock(&c->lock);
		pthread_join(c->thread, NULL);
	}
	pthread_cond_destroy(&c->cond);
	pthread_mutex_destroy(&c->lock);
	free(c);
}

void cf_announce(struct cf *c, const char id[CONTAINER_ID_LEN + 1], pid_t pid)
{
	pthread_mutex_lock(&c->lock);
	c->st.announced++;
	if (c->n == QUEUE_MAX || c->stop) {
		c->st.dropped++;
	} else {
		struct item *it = &c->q[(c->head + c->n) % QUEUE_MAX];

		memcpy(it->id, id, CONTAINER_ID_LEN + 1);
		it->pid = pid;
		it->seen_ms = wall_ms();
		c->n++;
		pthread_cond_signal(&c->cond);
	}
	pthread_mutex_unlock(&c->lock);
}

void cf_get_stats(struct cf *c, struct cf_stats *ret)
{
	pthread_mutex_lock(&c->lock);
	*ret = c->st;
	pthread_mutex_unlock(&c->lock);
}
