/* test_path.c — common/path.c: textual cleaning, joining with a cwd, mapping through a
 * container rootfs. Expected values are worked out by hand from the rules in path.h. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "path.h"

static void check_clean(const char *in, const char *want)
{
	char *out = NULL;

	assert_int_equal(path_clean(in, &out), 0);
	assert_string_equal(out, want);
	free(out);
}

static void check_join(const char *dir, const char *name, const char *want)
{
	char *out = NULL;

	assert_int_equal(path_join(dir, name, &out), 0);
	assert_string_equal(out, want);
	free(out);
}

static void check_root(const char *root, const char *p, const char *want)
{
	char *out = NULL;

	assert_int_equal(path_in_root(root, p, &out), 0);
	assert_string_equal(out, want);
	free(out);
}

static void test_clean(void **state)
{
	(void)state;
	check_clean("/a/./b/../c", "/a/c");
	check_clean("/", "/");
	check_clean("//", "/");
	check_clean("", ".");
	check_clean(".", ".");
	check_clean("/..", "/");
	check_clean("/../../etc//motd/", "/etc/motd");
	check_clean("a/b/..", "a");
	check_clean("a/..", ".");
	check_clean("../a/../..", "../..");
	check_clean("a/../../b", "../b");
	check_clean("./x/./", "x");
	check_clean("/tmp/sp ace.txt", "/tmp/sp ace.txt");
	check_clean("/a/b/c/../../d/.", "/a/d");
	check_clean("/...", "/...");
	check_clean("/a/..b/c", "/a/..b/c");
}

static void test_join(void **state)
{
	(void)state;
	check_join("/", "etc/motd", "/etc/motd");
	check_join("/home/u", "../v/./f", "/home/v/f");
	check_join("/home/u", "/abs/../x", "/x");
	check_join(NULL, "rel/f", "rel/f");
	check_join("", "rel/../f", "f");
	check_join("/var/lib/docker/overlay2/a164/merged", ".", "/var/lib/docker/overlay2/a164/merged");
	check_join("/w", "../../..", "/");
}

static void test_in_root(void **state)
{
	const char *root = "/var/lib/docker/overlay2/a164e09872440208a720b2ba4b2b6b8a9eac61d2a2c9b0f6ddf354a4ff2ed5cb/merged";
	char *out = NULL;

	(void)state;
	check_root(root, "/etc/motd",
		   "/var/lib/docker/overlay2/a164e09872440208a720b2ba4b2b6b8a9eac61d2a2c9b0f6ddf354a4ff2ed5cb/merged/etc/motd");
	check_root("/r/", "/../../etc/passwd", "/r/etc/passwd");
	check_root("/r", "tmp/x", "/r/tmp/x");
	check_root("/r", "/", "/r");
	check_root("/", "/a/../b", "/b");
	assert_int_equal(path_in_root("rel", "/x", &out), -EINVAL);
	assert_null(out);
	assert_int_equal(path_clean(NULL, &out), -EINVAL);
}

static void test_too_long(void **state)
{
	char *big = malloc(PATH_MAX_LEN + 10), *out = NULL;

	(void)state;
	memset(big, 'a', PATH_MAX_LEN + 9);
	big[PATH_MAX_LEN + 9] = '\0';
	assert_int_equal(path_clean(big, &out), -ENAMETOOLONG);
	assert_int_equal(path_join("/x", big, &out), -ENAMETOOLONG);
	assert_null(out);
	free(big);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_clean),
		cmocka_unit_test(test_join),
		cmocka_unit_test(test_in_root),
		cmocka_unit_test(test_too_long),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
