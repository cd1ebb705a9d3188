/* test_container_facts.c — listener/container_facts.c on the fake docker root
 * tests/fixtures/docker and a /proc-like tree in /tmp: runtime from the cgroup form, name,
 * image, image id, Kubernetes labels, rootfs from the overlay2 mount-id, else from the
 * member's mountinfo; the document's fields; the facts thread emits once per announcement
 * and drains at free. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "container_facts.h"

#define ID(c) c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c \
	c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c
#define IB ID("b")
#define I9 ID("9")
#define IX ID("7")

static char droot[4096], proot[64];
static int emitted;

static void put(pid_t pid, const char *name, const char *text)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%d", proot, (int)pid);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/%d/%s", proot, (int)pid, name);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static int setup(void **state)
{
	const char *fx = getenv("FIXTURES");

	(void)state;
	if (!fx)
		return -1;
	snprintf(droot, sizeof(droot), "%s/docker", fx);
	snprintf(proot, sizeof(proot), "/tmp/lineage-cf-XXXXXX");
	if (!mkdtemp(proot))
		return -1;
	put(10, "cgroup", "0::/system.slice/docker-" I9 ".scope\n");
	put(20, "cgroup", "0::/kubepods/pod1/crio-" IX ".scope\n");
	put(20, "mountinfo", "1 0 0:50 / / rw - overlay overlay rw,upperdir=/var/lib/containers/storage/overlay/abc/diff,workdir=/w\n");
	return 0;
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", proot);
	return system(cmd) == 0 ? 0 : -1;
}

static void test_lookup(void **state)
{
	struct cf_config cfg = { .docker_root = droot, .proc_root = proot, .run_root = "/nonexistent" };
	struct cf_facts f;
	struct doc_meta m = { .host = "h", .seq = 7 };
	bson_iter_t it;
	bson_t doc;

	(void)state;
	cf_lookup(&cfg, I9, 10, &f);
	assert_string_equal(f.runtime, "docker");
	assert_string_equal(f.name, "k8s_app_web-0_shop_0123-4567_0");
	assert_string_equal(f.image, "registry.example/web:1.2");
	assert_string_equal(f.pod_name, "web-0");
	assert_string_equal(f.pod_namespace, "shop");
	assert_string_equal(f.k8s_container, "app");
	assert_null(f.rootfs); /* no mount-id, no bundle, pid 10 has no mountinfo */
	cf_doc(&f, &m, &doc);
	assert_true(bson_iter_init_find(&it, &doc, "container") && !strcmp(bson_iter_utf8(&it, NULL), I9));
	assert_true(bson_iter_init_find(&it, &doc, "seen_pid") && bson_iter_int32(&it) == 10);
	assert_true(bson_iter_init_find(&it, &doc, "rootfs") && BSON_ITER_HOLDS_NULL(&it));
	assert_true(bson_iter_init_find(&it, &doc, "seq") && bson_iter_int64(&it) == 7);
	bson_destroy(&doc);
	cf_facts_release(&f);

	/* cri-o: runtime from the cgroup, rootfs from the member's mountinfo */
	cf_lookup(&cfg, IX, 20, &f);
	assert_string_equal(f.runtime, "cri-o");
	assert_null(f.name);
	assert_string_equal(f.rootfs, "/var/lib/containers/storage/overlay/abc/merged");
	assert_string_equal(f.rootfs_source, "mountinfo");
	cf_facts_release(&f);

	/* docker's overlay2 mount-id; the process is gone: no runtime from cgroup, docker's
	 * config says docker */
	cf_lookup(&cfg, IB, 4242, &f);
	assert_string_equal(f.runtime, "docker");
	assert_string_equal(f.name, "db");
	assert_string_equal(f.rootfs_source, "overlay-mount");
	cf_facts_release(&f);
	cf_facts_release(NULL);
}

static void on_facts(void *opaque, const struct cf_facts *f)
{
	(void)opaque;
	if (!strcmp(f->id, I9) || !strcmp(f->id, IB))
		emitted++;
}

static void test_thread(void **state)
{
	struct cf_config cfg = { .docker_root = droot, .proc_root = proot, .run_root = "/nonexistent",
				 .emit = on_facts };
	struct cf_stats st;
	struct cf *c;

	(void)state;
	assert_int_equal(cf_new(&cfg, &c), 0);
	cf_announce(c, I9, 10);
	cf_announce(c, IB, 0);
	cf_free(c); /* drains what was queued */
	assert_int_equal(emitted, 2);
	assert_int_equal(cf_new(&cfg, &c), 0);
	for (int i = 0; i < 300; i++)
		cf_announce(c, IB, 0);
	cf_get_stats(c, &st);
	assert_true(st.announced == 300 && st.looked_up + st.dropped <= 300);
	cf_free(c);
	cf_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lookup),
		cmocka_unit_test(test_thread),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
