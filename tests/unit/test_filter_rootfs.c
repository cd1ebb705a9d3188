/* test_filter_rootfs.c — the filter's rootfs fallback and container name/image from docker's
 * on-disk state (docker_meta.c, rootfs.c), on the fake docker root tests/fixtures/docker
 * ($FIXTURES/docker; its run/ is the containerd state dir) and on files made in a temporary
 * directory (too large, symlink, directory). Container ids of the fixture tree, 64 times one
 * hex digit:
 *   a  running: bundle root.path "rootfs" (relative), mount-id, config.v2.json full
 *   b  stopped: no bundle, mount-id, config.v2.json without Config.Image
 *   c  bundle with an absolute root.path only
 *   d  mount-id with a trailing newline, config.v2.json cut short, root.path "../../../../etc"
 *   e  mount-id "../x", config.json not JSON, Name and Config.Image not strings
 *   f  mount-id "abc/def", root without path, config.v2.json empty
 *   0  empty mount-id, root.path "", Name "/", Config.Image with an embedded NUL */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "docker_meta.h"
#include "files.h"
#include "filter_session.h"
#include "load.h"
#include "merge.h"
#include "model.h"
#include "rootfs.h"
#include "tree.h"

#define ID(c) c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c \
	c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c
#define IA ID("a")
#define IB ID("b")
#define IC ID("c")
#define ID_D ID("d")
#define IE ID("e")
#define IF ID("f")
#define I0 ID("0")
#define I9 ID("9")
#define MOUNT_A "ef7205ffe083b284deffa97010b19b338a1273666155024d93fe799e60d6b8d6"
#define MOUNT_B "b0d32a114a703e775ca5d452d3e45405e880093fd1674fa57168a12b96ed33af"
#define SENTINEL ((char *)"untouched")

static char droot[4096], rroot[4096];

static int setup(void **state)
{
	const char *fx = getenv("FIXTURES");

	(void)state;
	if (!fx)
		return -1;
	snprintf(droot, sizeof(droot), "%s/docker", fx);
	snprintf(rroot, sizeof(rroot), "%s/docker/run", fx);
	return 0;
}

static void assert_path(const char *got, const char *a, const char *b)
{
	char *want = NULL;

	assert_true(asprintf(&want, "%s%s", a, b) > 0);
	assert_string_equal(got, want);
	free(want);
}

/* --- OCI bundle ------------------------------------------------------------------------ */

static void test_oci_config(void **state)
{
	char *p = SENTINEL;

	(void)state;
	assert_int_equal(docker_meta_oci_rootfs(rroot, IA, &p), 0);
	assert_path(p, rroot, "/io.containerd.runtime.v2.task/moby/" IA "/rootfs");
	free(p);
	p = SENTINEL;
	assert_int_equal(docker_meta_oci_rootfs(rroot, IC, &p), 0);
	assert_string_equal(p, "/var/lib/docker/overlay2/078b42a49b8e/merged");
	free(p);

	p = SENTINEL;
	assert_int_equal(docker_meta_oci_rootfs(rroot, IB, &p), -ENOENT); /* not running */
	assert_int_equal(docker_meta_oci_rootfs(rroot, ID_D, &p), -EINVAL); /* climbs out */
	assert_int_equal(docker_meta_oci_rootfs(rroot, IE, &p), -EINVAL); /* not JSON */
	assert_int_equal(docker_meta_oci_rootfs(rroot, IF, &p), -ENOENT); /* no root.path */
	assert_int_equal(docker_meta_oci_rootfs(rroot, I0, &p), -EINVAL); /* "" */
	assert_int_equal(docker_meta_oci_rootfs("/nonexistent", IA, &p), -ENOENT);
	assert_ptr_equal(p, SENTINEL);
}

/* --- overlay2 mount-id ------------------------------------------------------------------- */

static void test_overlay_mount(void **state)
{
	char *p = SENTINEL;

	(void)state;
	assert_int_equal(docker_meta_overlay_rootfs(droot, IA, &p), 0);
	assert_path(p, droot, "/overlay2/" MOUNT_A "/merged");
	free(p);
	p = SENTINEL;
	assert_int_equal(docker_meta_overlay_rootfs(droot, IB, &p), 0);
	assert_path(p, droot, "/overlay2/" MOUNT_B "/merged");
	free(p);

	p = SENTINEL;
	assert_int_equal(docker_meta_overlay_rootfs(droot, ID_D, &p), -EINVAL); /* newline */
	assert_int_equal(docker_meta_overlay_rootfs(droot, IE, &p), -EINVAL);   /* ../x */
	assert_int_equal(docker_meta_overlay_rootfs(droot, IF, &p), -EINVAL);   /* abc/def */
	assert_int_equal(docker_meta_overlay_rootfs(droot, I0, &p), -EINVAL);   /* empty */
	assert_int_equal(docker_meta_overlay_rootfs(droot, IC, &p), -ENOENT);   /* removed */
	assert_ptr_equal(p, SENTINEL);
}

/* --- config.v2.json ------------------------------------------------------------------------ */

static void test_name_image(void **state)
{
	char *n = SENTINEL, *i = SENTINEL;

	(void)state;
	assert_int_equal(docker_meta_name_image(droot, IA, &n, &i), 0);
	assert_string_equal(n, "web_1");
	assert_string_equal(i, "lineage-busybox:latest"); /* Config.Image, not the top "Image" */
	free(n);
	free(i);
	n = i = SENTINEL;
	assert_int_equal(docker_meta_name_image(droot, IB, &n, &i), 0);
	assert_string_equal(n, "db");
	assert_null(i);
	free(n);

	n = i = SENTINEL;
	assert_int_equal(docker_meta_name_image(droot, IC, &n, &i), -ENOENT); /* removed */
	assert_int_equal(docker_meta_name_image(droot, ID_D, &n, &i), -EINVAL); /* cut short */
	assert_int_equal(docker_meta_name_image(droot, IE, &n, &i), -ENOENT); /* not strings */
	assert_int_equal(docker_meta_name_image(droot, IF, &n, &i), -EINVAL); /* empty file */
	assert_int_equal(docker_meta_name_image(droot, I0, &n, &i), -EINVAL); /* "/", NUL */
	assert_ptr_equal(n, SENTINEL);
	assert_ptr_equal(i, SENTINEL);
}

static void test_bad_ids(void **state)
{
	static const char *const bad[] = {
		NULL, "", "abc", ID("A"), "../" ID("a"), ID("a") "a", ID("g"),
	};
	char *p = SENTINEL, *q = SENTINEL;

	(void)state;
	for (size_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
		assert_int_equal(docker_meta_oci_rootfs(rroot, bad[k], &p), -EINVAL);
		assert_int_equal(docker_meta_overlay_rootfs(droot, bad[k], &p), -EINVAL);
		assert_int_equal(docker_meta_name_image(droot, bad[k], &p, &q), -EINVAL);
	}
	assert_int_equal(docker_meta_overlay_rootfs(NULL, IA, &p), -EINVAL);
	assert_int_equal(docker_meta_oci_rootfs(NULL, IA, &p), -EINVAL);
	assert_ptr_equal(p, SENTINEL);
	assert_ptr_equal(q, SENTINEL);
}

/* --- files that are not what they should be ----------------------------------------------- */

static void put(const char *dir, const char *rel, const char *content, size_t len)
{
	char path[8192], *slash;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, rel);
	for (slash = strchr(path + strlen(dir) + 1, '/'); slash; slash = strchr(slash + 1, '/')) {
		*slash = '\0';
		mkdir(path, 0700);
		*slash = '/';
	}
	f = fopen(path, "w");
	assert_non_null(f);
	if (len)
		assert_int_equal(fwrite(content, 1, len, f), len);
	fclose(f);
}

static void test_hostile_files(void **state)
{
	char tmp[] = "/tmp/lineage_rootfs_XXXXXX", path[8192], cmd[8300];
	char *big, *p = SENTINEL, *q = SENTINEL;
	size_t n = DOCKER_META_MAX_JSON + 1;

	(void)state;
	assert_non_null(mkdtemp(tmp));
	/* a config.v2.json one byte over the limit: refused before parsing */
	big = malloc(n);
	assert_non_null(big);
	memset(big, ' ', n);
	memcpy(big, "{\"Name\":\"/x\"}", 13);
	put(tmp, "containers/" IA "/config.v2.json", big, n);
	free(big);
	assert_int_equal(docker_meta_name_image(tmp, IA, &p, &q), -EFBIG);
	/* exactly at the limit: read */
	snprintf(path, sizeof(path), "%s/containers/" IA "/config.v2.json", tmp);
	assert_int_equal(truncate(path, DOCKER_META_MAX_JSON), 0);
	assert_int_equal(docker_meta_name_image(tmp, IA, &p, &q), 0);
	assert_string_equal(p, "x");
	assert_null(q);
	free(p);
	p = q = SENTINEL;
	/* config.v2.json a symlink to another container's: not followed */
	put(tmp, "containers/" IB "/x", "{\"Name\":\"/y\"}", 13);
	snprintf(path, sizeof(path), "%s/containers/" IB "/config.v2.json", tmp);
	assert_int_equal(symlink("x", path), 0);
	assert_int_equal(docker_meta_name_image(tmp, IB, &p, &q), -EINVAL);
	/* mount-id a directory, then a mount-id over the length limit */
	snprintf(path, sizeof(path), "%s/image/overlay2/layerdb/mounts/" IB "/mount-id", tmp);
	put(tmp, "image/overlay2/layerdb/mounts/" IB "/mount-id/z", "", 0);
	assert_int_equal(docker_meta_overlay_rootfs(tmp, IB, &p), -EINVAL);
	put(tmp, "image/overlay2/layerdb/mounts/" IA "/mount-id", ID("a") ID("b") "c", 129);
	assert_int_equal(docker_meta_overlay_rootfs(tmp, IA, &p), -EINVAL);
	put(tmp, "image/overlay2/layerdb/mounts/" IA "/mount-id", ID("a") ID("b"), 128);
	assert_int_equal(docker_meta_overlay_rootfs(tmp, IA, &p), 0);
	free(p);
	p = SENTINEL;
	/* a bundle whose config.json is a fifo would block a plain open: refused as not regular */
	snprintf(path, sizeof(path), "%s/io.containerd.runtime.v2.task/moby/" IC, tmp);
	put(tmp, "io.containerd.runtime.v2.task/moby/" IC "/y", "", 0);
	snprintf(path, sizeof(path), "%s/io.containerd.runtime.v2.task/moby/" IC "/config.json",
		 tmp);
	assert_int_equal(mkfifo(path, 0600), 0);
	assert_int_equal(docker_meta_oci_rootfs(tmp, IC, &p), -EINVAL);
	assert_ptr_equal(p, SENTINEL);
	assert_ptr_equal(q, SENTINEL);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmp);
	assert_int_equal(system(cmd), 0);
}

/* --- rootfs_run on a small session --------------------------------------------------------- */


static const struct m_cont *cont(const struct model *m, const char *id)
{
	for (size_t i = 0; i < m->nconts; i++)
		if (strcmp(m->conts[i].id, id) == 0)
			return &m->conts[i];
	fail_msg("no container %s", id);
	return NULL;
}

static const struct m_file *file_of(const struct model *m, int tgid)
{
	for (size_t i = 0; i < m->nfiles; i++)
		if (m->procs[m->files[i].proc].tgid == tgid)
			return &m->files[i];
	fail_msg("no file of %d", tgid);
	return NULL;
}

/* One process per container, each known by its cgroup (no pivot_root recorded), opening
 * /etc/motd: pid 10 in a (bundle → "oci-config"), 20 in b (mount-id → "overlay-mount"),
 * 30 in e (everything refused → unknown). Container c is started by a runtime whose
 * chdir + pivot_root was recorded (pid 40, child 41): that wins over c's bundle. Each
 * container process forks a child (11, 21) that inherits the rootfs. */
static void session(struct model *m)
{
	static const struct {
		int pid;
		const char *id;
	} in[] = { { 10, IA }, { 20, IB }, { 30, IE } };
	char j[1024];

	model_init(m);
	for (size_t k = 0; k < 3; k++) {
		int p = in[k].pid, t = (int)k * 10 + 1;

		snprintf(j, sizeof(j), "{\"t\":%d,\"what\":\"fork\",\"parent_pid\":1,\"parent_tgid\":1,\"child_pid\":%d,\"child_tgid\":%d}", t, p, p);
		pe(m, j);
		snprintf(j, sizeof(j), "{\"t\":%d,\"what\":\"exec\",\"pid\":%d,\"tgid\":%d,\"exe\":\"/bin/sh\",\"argv\":[\"sh\"],\"container\":\"%s\"}", t + 1, p, p, in[k].id);
		pe(m, j);
		snprintf(j, sizeof(j), "{\"t\":%d,\"what\":\"fork\",\"parent_pid\":%d,\"parent_tgid\":%d,\"child_pid\":%d,\"child_tgid\":%d}", t + 2, p, p, p + 1, p + 1);
		pe(m, j);
		snprintf(j, sizeof(j), "{\"t\":%d,\"syscall\":\"openat\",\"success\":true,\"exit\":3,\"fd\":3,\"pid\":%d,\"cwd\":\"/\",\"a0\":-100,\"flags\":[\"O_RDONLY\"],\"paths\":[{\"name\":\"etc/motd\",\"nametype\":\"NORMAL\"}]}", t + 3, p + 1);
		ev(m, j);
	}
	pe(m, "{\"t\":40,\"what\":\"fork\",\"parent_pid\":1,\"parent_tgid\":1,\"child_pid\":40,\"child_tgid\":40}");
	pe(m, "{\"t\":41,\"what\":\"comm\",\"pid\":40,\"tgid\":40,\"comm\":\"runc:[2:INIT]\"}");
	ev(m, "{\"t\":42,\"syscall\":\"chdir\",\"success\":true,\"exit\":0,\"pid\":40,\"cwd\":\"/run/x\",\"paths\":[{\"name\":\"/var/lib/r/merged\",\"inode\":77,\"dev\":\"00:27\"}]}");
	ev(m, "{\"t\":43,\"syscall\":\"pivot_root\",\"success\":true,\"exit\":0,\"pid\":40,\"cwd\":\"/\",\"paths\":[{\"name\":\".\",\"inode\":77,\"dev\":\"00:27\"},{\"name\":\".\",\"inode\":77,\"dev\":\"00:27\"}]}");
	pe(m, "{\"t\":44,\"what\":\"exec\",\"pid\":40,\"tgid\":40,\"exe\":\"/bin/sh\",\"argv\":[\"sh\"],\"container\":\"" IC "\"}");
	pe(m, "{\"t\":45,\"what\":\"fork\",\"parent_pid\":40,\"parent_tgid\":40,\"child_pid\":41,\"child_tgid\":41}");
	ev(m, "{\"t\":46,\"syscall\":\"openat\",\"success\":true,\"exit\":3,\"fd\":3,\"pid\":41,\"cwd\":\"/\",\"a0\":-100,\"flags\":[\"O_RDONLY\"],\"paths\":[{\"name\":\"/etc/motd\",\"nametype\":\"NORMAL\"}]}");
	load_finish(m);
}

static void run(struct model *m)
{
	merge_run(m);
	tree_run(m);
	rootfs_run(m);
	files_run(m);
}

static void test_rootfs_run_fallback(void **state)
{
	struct model m;
	const struct m_cont *a, *b, *c, *e;
	char oci[8192], ovl[8192];

	(void)state;
	session(&m);
	m.docker_root = droot;
	m.runtime_roots[0] = "/nonexistent/containerd"; /* skipped: nothing there */
	m.runtime_roots[1] = rroot;
	run(&m);
	assert_int_equal(m.nconts, 4);
	a = cont(&m, IA);
	b = cont(&m, IB);
	c = cont(&m, IC);
	e = cont(&m, IE);
	snprintf(oci, sizeof(oci), "%s/io.containerd.runtime.v2.task/moby/" IA "/rootfs", rroot);
	snprintf(ovl, sizeof(ovl), "%s/overlay2/" MOUNT_B "/merged", droot);

	assert_string_equal(a->rootfs, oci);
	assert_string_equal(a->rootfs_src, "oci-config");
	assert_string_equal(a->name, "web_1");
	assert_string_equal(a->image, "lineage-busybox:latest");
	assert_string_equal(b->rootfs, ovl);
	assert_string_equal(b->rootfs_src, "overlay-mount");
	assert_string_equal(b->name, "db");
	assert_null(b->image);
	assert_string_equal(c->rootfs, "/var/lib/r/merged"); /* the recorded pivot_root wins */
	assert_string_equal(c->rootfs_src, "chdir+pivot_root");
	assert_null(c->name); /* no config.v2.json: removed */
	assert_null(e->rootfs);
	assert_null(e->rootfs_src);
	assert_null(e->name);
	assert_null(e->image);
	assert_int_equal(m.n.containers_without_rootfs, 1);

	/* every member carries its container's rootfs; files get host paths through it */
	for (size_t i = 0; i < m.nprocs; i++) {
		const struct m_proc *p = &m.procs[i];

		if (p->cont >= 0)
			assert_ptr_equal(p->rootfs, m.conts[p->cont].rootfs);
	}
	assert_path(file_of(&m, 11)->host_path, oci, "/etc/motd");
	assert_path(file_of(&m, 21)->host_path, ovl, "/etc/motd");
	assert_null(file_of(&m, 31)->host_path);
	assert_string_equal(file_of(&m, 41)->host_path, "/var/lib/r/merged/etc/motd");
	model_release(&m);
}

/* --- issue 17: config.v2.json facts, mountinfo overlay, the listener's facts first ---------- */

static void test_config_read(void **state)
{
	struct docker_meta_config c;

	(void)state;
	assert_int_equal(docker_meta_config_read(droot, I9, &c), 0);
	assert_string_equal(c.name, "k8s_app_web-0_shop_0123-4567_0");
	assert_string_equal(c.image, "registry.example/web:1.2");
	assert_string_equal(c.image_id, "sha256:1111111111111111111111111111111111111111111111111111111111111111");
	assert_string_equal(c.created, "2026-11-30T10:00:00.123456789Z");
	assert_string_equal(c.pod_name, "web-0");
	assert_string_equal(c.pod_namespace, "shop");
	assert_string_equal(c.k8s_container, "app");
	docker_meta_config_release(&c);
	assert_int_equal(docker_meta_config_read(droot, IA, &c), 0);
	assert_string_equal(c.name, "web_1");
	assert_non_null(c.image_id);
	assert_null(c.pod_name);
	docker_meta_config_release(&c);
	assert_int_equal(docker_meta_config_read(droot, IC, &c), -ENOENT);
	docker_meta_config_release(&c);
	assert_int_equal(docker_meta_config_read(droot, "../x", &c), -EINVAL);
	docker_meta_config_release(&c);
	docker_meta_config_release(NULL);
}

static void test_mountinfo_rootfs(void **state)
{
	const char *ok =
		"1001 1000 0:50 / / rw,relatime master:1 - overlay overlay rw,lowerdir=/var/lib/docker/overlay2/l/A:/var/lib/docker/overlay2/l/B,upperdir=/var/lib/docker/overlay2/" MOUNT_A "/diff,workdir=/var/lib/docker/overlay2/" MOUNT_A "/work\n"
		"1002 1001 0:52 / /proc rw,nosuid - proc proc rw\n";
	const char *space = "5 4 0:50 / / rw - overlay overlay rw,upperdir=/srv/a\\040b/diff,workdir=/w\n";
	const char *notroot = "5 4 0:50 / /mnt rw - overlay overlay rw,upperdir=/x/diff\n6 4 8:1 / / rw - ext4 /dev/sda1 rw\n";
	const char *climb = "5 4 0:50 / / rw - overlay overlay rw,upperdir=/x/../etc/diff\n";
	const char *noupper = "5 4 0:50 / / rw - overlay overlay rw,lowerdir=/l\n";
	const char *badesc = "5 4 0:50 / / rw - overlay overlay rw,upperdir=/a\\9/diff\n";
	char *p = SENTINEL;

	(void)state;
	assert_int_equal(docker_meta_mountinfo_rootfs(ok, strlen(ok), &p), 0);
	assert_string_equal(p, "/var/lib/docker/overlay2/" MOUNT_A "/merged");
	free(p);
	assert_int_equal(docker_meta_mountinfo_rootfs(space, strlen(space), &p), 0);
	assert_string_equal(p, "/srv/a b/merged");
	free(p);
	p = SENTINEL;
	assert_int_equal(docker_meta_mountinfo_rootfs(notroot, strlen(notroot), &p), -ENOENT);
	assert_int_equal(docker_meta_mountinfo_rootfs(climb, strlen(climb), &p), -EINVAL);
	assert_int_equal(docker_meta_mountinfo_rootfs(noupper, strlen(noupper), &p), -ENOENT);
	assert_int_equal(docker_meta_mountinfo_rootfs(badesc, strlen(badesc), &p), -EINVAL);
	/* cut in the middle of the line: no read past len */
	assert_int_equal(docker_meta_mountinfo_rootfs(ok, 40, &p), -ENOENT);
	assert_ptr_equal(p, SENTINEL);
}

/* container_facts documents (what the listener saw) come before docker's state now; the
 * filter-time lookup fills only what the listener did not have. */
static void test_rootfs_run_listener_facts(void **state)
{
	struct model m;
	bson_error_t be;
	bson_t *d;
	const struct m_cont *a, *b, *e;

	(void)state;
	session(&m);
	d = bson_new_from_json((const uint8_t *)"{\"container\":\"" IE "\",\"runtime\":\"docker\","
			       "\"name\":\"gone_1\",\"image\":\"img:1\",\"image_id\":\"sha256:ab\","
			       "\"rootfs\":\"/var/lib/docker/overlay2/zz/merged\",\"rootfs_source\":"
			       "\"overlay-mount\",\"pod_name\":null}", -1, &be);
	assert_non_null(d);
	assert_int_equal(load_container_facts_doc(&m, d), 0);
	assert_int_equal(load_container_facts_doc(&m, d), 0); /* announced twice: one */
	bson_destroy(d);
	d = bson_new_from_json((const uint8_t *)"{\"container\":\"" IB "\",\"name\":null,"
			       "\"image\":\"seen:2\"}", -1, &be);
	assert_int_equal(load_container_facts_doc(&m, d), 0);
	bson_destroy(d);
	d = bson_new_from_json((const uint8_t *)"{\"container\":\"nope\"}", -1, &be);
	assert_int_equal(load_container_facts_doc(&m, d), 0); /* skipped */
	bson_destroy(d);
	assert_int_equal(m.ncfacts, 2);
	m.docker_root = droot;
	m.runtime_roots[1] = rroot;
	run(&m);
	e = cont(&m, IE);
	assert_string_equal(e->rootfs, "/var/lib/docker/overlay2/zz/merged");
	assert_string_equal(e->rootfs_src, "listener:overlay-mount");
	assert_string_equal(e->name, "gone_1");
	assert_string_equal(e->name_src, "listener");
	assert_string_equal(e->image_src, "listener");
	assert_string_equal(e->facts->image_id, "sha256:ab");
	assert_path(file_of(&m, 31)->host_path, "/var/lib/docker/overlay2/zz/merged", "/etc/motd");
	b = cont(&m, IB);
	assert_string_equal(b->image, "seen:2");
	assert_string_equal(b->image_src, "listener");
	assert_string_equal(b->name, "db"); /* the listener had none: filter time */
	assert_string_equal(b->name_src, "filter-time");
	a = cont(&m, IA);
	assert_string_equal(a->name_src, "filter-time");
	assert_null(a->facts);
	assert_int_equal(m.n.containers_without_rootfs, 0);
	model_release(&m);
}

/* Without docker_root / runtime_roots (model_init's default) nothing is read: as before. */
static void test_rootfs_run_no_docker(void **state)
{
	struct model m;

	(void)state;
	session(&m);
	run(&m);
	assert_null(cont(&m, IA)->rootfs);
	assert_null(cont(&m, IA)->name);
	assert_null(cont(&m, IB)->rootfs);
	assert_string_equal(cont(&m, IC)->rootfs_src, "chdir+pivot_root");
	assert_int_equal(m.n.containers_without_rootfs, 3);
	assert_null(file_of(&m, 11)->host_path);
	model_release(&m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_oci_config),
		cmocka_unit_test(test_overlay_mount),
		cmocka_unit_test(test_name_image),
		cmocka_unit_test(test_bad_ids),
		cmocka_unit_test(test_hostile_files),
		cmocka_unit_test(test_rootfs_run_fallback),
		cmocka_unit_test(test_config_read),
		cmocka_unit_test(test_mountinfo_rootfs),
		cmocka_unit_test(test_rootfs_run_listener_facts),
		cmocka_unit_test(test_rootfs_run_no_docker),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
