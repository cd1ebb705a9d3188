/* test_mounts.c — common/mounts.c (issue 28): mountinfo lines, a bind's host source through
 * the host's mountinfo, the overlay's dirs, the longest mount; docker_meta's MountPoints. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "docker_meta.h"
#include "mounts.h"

static const char CONT[] =
	"75 51 0:40 / / rw,relatime master:2 - overlay overlay rw,lowerdir=/var/lib/docker/"
	"overlay2/l/AAA:l/BBB,upperdir=/var/lib/docker/overlay2/x1/diff,workdir=/w\n"
	"76 75 0:43 / /proc rw,nosuid - proc proc rw\n"
	"92 75 254:0 /tmp/src\\040dir /data rw,relatime - ext4 /dev/vda rw\n"
	"93 75 254:0 /srv/one /single ro,relatime shared:7 - ext4 /dev/vda rw\n"
	"94 75 8:1 /vol/_data /vol rw - xfs /dev/sdb1 rw\n"
	"95 75 0:49 / /scratch rw - tmpfs tmpfs rw\n"
	"garbage line\n"
	"96 75 0:49 /bad\\9 /x rw - tmpfs tmpfs rw\n";
static const char HOST[] = "22 1 254:0 / / rw - ext4 /dev/vda rw\n"
			   "30 22 8:1 / /mnt/big rw - xfs /dev/sdb1 rw\n"
			   "31 22 8:1 /vol /var/lib/docker/volumes rw - xfs /dev/sdb1 rw\n";

static void test_parse(void **state)
{
	struct mounts_info mi;
	size_t refused = 0;

	(void)state;
	assert_int_equal(mounts_info_parse(CONT, strlen(CONT), &mi, &refused), 0);
	assert_int_equal(mi.n, 6);
	assert_int_equal(refused, 2);
	assert_string_equal(mi.v[2].root, "/tmp/src dir");
	assert_string_equal(mi.v[2].point, "/data");
	assert_int_equal(mi.v[2].major, 254);
	assert_true(mi.v[3].ro);
	assert_string_equal(mi.v[3].propagation, "shared");
	assert_string_equal(mi.v[0].propagation, "slave");
	assert_string_equal(mi.v[5].fstype, "tmpfs");
	mounts_info_release(&mi);
}

static void test_host_source(void **state)
{
	struct mounts_info mi, host;
	char *p = NULL;

	(void)state;
	assert_int_equal(mounts_info_parse(CONT, strlen(CONT), &mi, NULL), 0);
	assert_int_equal(mounts_info_parse(HOST, strlen(HOST), &host, NULL), 0);
	assert_int_equal(mounts_host_source(&host, &mi.v[2], &p), 0);
	assert_string_equal(p, "/tmp/src dir");
	free(p);
	/* the longest host root of that device wins */
	assert_int_equal(mounts_host_source(&host, &mi.v[4], &p), 0);
	assert_string_equal(p, "/var/lib/docker/volumes/_data");
	free(p);
	/* a tmpfs of the container is nowhere on the host */
	assert_int_equal(mounts_host_source(&host, &mi.v[5], &p), -ENOENT);
	mounts_info_release(&mi);
	mounts_info_release(&host);
}

static void test_overlay(void **state)
{
	struct mounts_info mi;
	char *up = NULL, **lw = NULL;
	size_t n = 0;

	(void)state;
	assert_int_equal(mounts_info_parse(CONT, strlen(CONT), &mi, NULL), 0);
	/* "l/BBB" is relative: refused without a base */
	assert_int_equal(mounts_overlay_dirs(&mi, NULL, &up, &lw, &n), -EINVAL);
	assert_int_equal(mounts_overlay_dirs(&mi, "/var/lib/docker/overlay2", &up, &lw, &n), 0);
	assert_string_equal(up, "/var/lib/docker/overlay2/x1/diff");
	assert_int_equal(n, 2);
	assert_string_equal(lw[0], "/var/lib/docker/overlay2/l/AAA");
	assert_string_equal(lw[1], "/var/lib/docker/overlay2/l/BBB");
	free(up);
	for (size_t i = 0; i < n; i++)
		free(lw[i]);
	free(lw);
	mounts_info_release(&mi);
	/* escaping with ".." stays clean, "/" alone is refused */
	assert_int_equal(mounts_split_dirs("/a/../..", 8, NULL, &lw, &n), -EINVAL);
}

static void test_longest(void **state)
{
	const char *d[] = { "/", "/data", "/data/sub", "/etc/hosts", "/dat" };
	const char *rest = NULL;

	(void)state;
	assert_int_equal(mounts_longest(d, 5, "/data/sub/x", &rest), 2);
	assert_string_equal(rest, "/x");
	assert_int_equal(mounts_longest(d, 5, "/data", &rest), 1);
	assert_string_equal(rest, "");
	assert_int_equal(mounts_longest(d, 5, "/datax/y", &rest), 0);
	assert_string_equal(rest, "/datax/y");
	assert_int_equal(mounts_longest(d, 5, "/etc/hostsx", &rest), 0);
	assert_int_equal(mounts_longest(d, 5, "/etc/hosts", &rest), 3);
	assert_int_equal(mounts_longest(d, 1, "relative", &rest), -1);
}

static void test_docker_mounts(void **state)
{
	static const char cfg[] =
		"{\"MountPoints\":{\"/data\":{\"Source\":\"/srv/d\",\"Destination\":\"/data\","
		"\"RW\":true,\"Type\":\"bind\",\"Propagation\":\"rprivate\"},"
		"\"/v\":{\"Source\":\"/var/lib/docker/volumes/v/_data\",\"Destination\":\"/v\","
		"\"RW\":false,\"Name\":\"v\",\"Type\":\"volume\"},"
		"\"/bad\":{\"Source\":\"rel\",\"Destination\":\"/bad\"}},"
		"\"HostsPath\":\"/var/lib/docker/containers/x/hosts\"}";
	static const char hc[] = "{\"Tmpfs\":{\"/run\":\"rw,noexec\",\"/ro\":\"size=1m,ro\"}}";
	struct docker_meta_mount *v = NULL;
	size_t n = 0;

	(void)state;
	assert_int_equal(docker_meta_mounts_parse(cfg, strlen(cfg), hc, strlen(hc), &v, &n), 0);
	assert_int_equal(n, 5);
	assert_string_equal(v[0].dest, "/data");
	assert_string_equal(v[0].source, "/srv/d");
	assert_false(v[0].ro);
	assert_string_equal(v[1].type, "volume");
	assert_string_equal(v[1].name, "v");
	assert_true(v[1].ro);
	assert_string_equal(v[2].dest, "/etc/hosts");
	assert_string_equal(v[3].type, "tmpfs");
	assert_false(v[3].ro);
	assert_true(v[4].ro);
	docker_meta_mounts_free(v, n);
	assert_int_equal(docker_meta_mounts_parse("{", 1, NULL, 0, &v, &n), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),	     cmocka_unit_test(test_host_source),
		cmocka_unit_test(test_overlay),	     cmocka_unit_test(test_longest),
		cmocka_unit_test(test_docker_mounts),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
