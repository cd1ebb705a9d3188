/* test_container.c — container ids from /proc/PID/cgroup lines of every runtime form, host
 * lines, malformed lines, whole files (fixtures in tests/fixtures/proc), and hostile input. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "container.h"

#define ID "83081e260a3673e8cf3d113dd2a57735ef60d0ad6e7e266d9d57ca43ce370efe"
#define ID2 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static int line(const char *s, char *out)
{
	return container_id_from_line(s, strlen(s), out);
}

static void test_forms(void **state)
{
	static const char *const lines[] = {
		"9:name=systemd:/docker/" ID,
		"4:memory:/docker/" ID "\n",
		"0::/system.slice/docker-" ID ".scope",
		"1:name=systemd:/system.slice/docker-" ID ".scope\n",
		"0::/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod1234abcd_5678.slice/"
		"cri-containerd-" ID ".scope",
		"0::/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-podaa_bb.slice/crio-" ID
		".scope",
		"0::/machine.slice/libpod-" ID ".scope",
		"0::/user.slice/user-1000.slice/user@1000.service/user.slice/libpod-" ID ".scope/container",
		"11:cpuset:/kubepods/besteffort/pod0f2b4e1c-8c6f-4c1c-9a53-0a0b0c0d0e0f/" ID,
		"0::/kubepods/burstable/pod0f2b4e1c-8c6f-4c1c-9a53-0a0b0c0d0e0f/" ID,
		"0::/docker/" ID "\r\n",
		"12:pids:/docker/" ID2 "/docker/" ID, /* nested: innermost */
	};
	char out[CONTAINER_ID_LEN + 1];

	(void)state;
	for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
		memset(out, 'X', sizeof(out));
		if (line(lines[i], out) != 0)
			fail_msg("no id in line %zu: %s", i, lines[i]);
		assert_string_equal(out, ID);
	}
}

static void test_host_and_monitors(void **state)
{
	static const char *const lines[] = {
		"0::/",
		"9:name=systemd:/",
		"4:memory:/process_api/a5c934d549383b033763802878c38565", /* 32 hex: not an id */
		"0::/user.slice/user-0.slice/session-3.scope",
		"0::/system.slice/docker.service",
		"0::/system.slice/containerd.service",
		"0::/machine.slice/libpod-conmon-" ID ".scope",
		"0::/kubepods.slice/crio-conmon-" ID ".scope",
		"0::/docker/" ID "0",                     /* 65 hex */
		"0::/docker/" "83081E260A3673E8CF3D113DD2A57735EF60D0AD6E7E266D9D57CA43CE370EFE",
		"0::/system.slice/docker-" ID ".scopex",
		"0::/system.slice/docker-" ID,
	};
	char out[CONTAINER_ID_LEN + 1] = "untouched";

	(void)state;
	for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
		if (line(lines[i], out) != -ENOENT)
			fail_msg("line %zu should have no id: %s", i, lines[i]);
	}
	assert_string_equal(out, "untouched");
}

static void test_malformed(void **state)
{
	char out[CONTAINER_ID_LEN + 1];

	(void)state;
	assert_int_equal(line("", out), -EINVAL);
	assert_int_equal(line("garbage", out), -EINVAL);
	assert_int_equal(line("9:memory", out), -EINVAL);
	assert_int_equal(line("9:memory:", out), -EINVAL);
	assert_int_equal(line("9:memory:docker/" ID, out), -EINVAL); /* not absolute */
	assert_int_equal(container_id_from_line(NULL, 0, out), -EINVAL);
	/* the length bounds the read: an id beyond len is not seen */
	assert_int_equal(container_id_from_line("0::/docker/" ID, 11 + 63, out), -ENOENT);
	/* path containing ':' */
	assert_int_equal(line("0::/a:b/docker-" ID ".scope", out), 0);
	assert_string_equal(out, ID);
}

static void test_whole_file(void **state)
{
	const char *v1 = "12:hugetlb:/\n11:pids:/docker/" ID "\n9:name=systemd:/docker/" ID "\n0::/\n";
	const char *host = "9:name=systemd:/\n8:pids:/\n0::/\n";
	char out[CONTAINER_ID_LEN + 1];

	(void)state;
	assert_int_equal(container_id_from_cgroup(v1, strlen(v1), out), 0);
	assert_string_equal(out, ID);
	assert_int_equal(container_id_from_cgroup(host, strlen(host), out), -ENOENT);
	assert_int_equal(container_id_from_cgroup("", 0, out), -ENOENT);
	assert_int_equal(container_id_from_cgroup("junk\n\n\n::\n", 10, out), -ENOENT);
}

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "r");
	char *buf;

	if (!f)
		return NULL;
	buf = calloc(1, 65536);
	*len = fread(buf, 1, 65535, f);
	fclose(f);
	return buf;
}

/* every fixture pid dir's cgroup file against its expected id (file "expect_container") */
static void test_fixture_files(void **state)
{
	static const struct {
		const char *pid;
		const char *expect;
	} cases[] = {
		{ "100", ID }, { "200", ID }, { "300", ID2 }, { "400", ID2 },
		{ "500", ID2 }, { "600", ID2 }, { "1", "" },
	};
	const char *fx = getenv("FIXTURES");
	char path[4096], out[CONTAINER_ID_LEN + 1];

	(void)state;
	if (!fx)
		fx = "tests/fixtures";
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t len = 0;
		char *text;
		int r;

		snprintf(path, sizeof(path), "%s/proc/%s/cgroup", fx, cases[i].pid);
		text = slurp(path, &len);
		if (!text)
			fail_msg("cannot read %s", path);
		r = container_id_from_cgroup(text, len, out);
		if (cases[i].expect[0]) {
			assert_int_equal(r, 0);
			assert_string_equal(out, cases[i].expect);
		} else {
			assert_int_equal(r, -ENOENT);
		}
		free(text);
	}
}

/* bytes with no NUL terminator right at the end of an allocation (ASan checks the bounds) */
static void test_unterminated(void **state)
{
	const char *src = "0::/docker/" ID;
	size_t len = strlen(src);
	char *buf = malloc(len), out[CONTAINER_ID_LEN + 1];

	(void)state;
	memcpy(buf, src, len);
	assert_int_equal(container_id_from_cgroup(buf, len, out), 0);
	assert_string_equal(out, ID);
	for (size_t cut = 0; cut < len; cut++)
		(void)container_id_from_cgroup(buf + cut, len - cut, out);
	free(buf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_forms),
		cmocka_unit_test(test_host_and_monitors),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_whole_file),
		cmocka_unit_test(test_fixture_files),
		cmocka_unit_test(test_unterminated),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
