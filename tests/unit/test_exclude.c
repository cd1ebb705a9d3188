/* test_exclude.c — exclude.c: which processes are store servers (a postmaster, not its
 * children; mongod, mongos, ferretdb), the set's add/widen/remove, its limit, and a pid
 * forgotten at its process's end. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "exclude.h"

static void test_server(void **state)
{
	(void)state;
	assert_int_equal(exclude_server("ferretdb", "runuser"), EXCLUDE_PROCESS);
	assert_int_equal(exclude_server("mongod", NULL), EXCLUDE_PROCESS);
	assert_int_equal(exclude_server("mongos", "systemd"), EXCLUDE_PROCESS);
	/* pg_ctl's shell execs the postmaster; its backends are forks of it */
	assert_int_equal(exclude_server("postgres", "pg_ctl"), EXCLUDE_TREE);
	assert_int_equal(exclude_server("postgres", NULL), EXCLUDE_TREE);
	assert_int_equal(exclude_server("postgres", "postgres"), EXCLUDE_NONE);
	assert_int_equal(exclude_server("psql", "bash"), EXCLUDE_NONE);
	assert_int_equal(exclude_server("ferretdb2", "bash"), EXCLUDE_NONE);
	assert_int_equal(exclude_server(NULL, NULL), EXCLUDE_NONE);
}

static void test_set(void **state)
{
	struct exclude *x;
	size_t n = 0;

	(void)state;
	assert_int_equal(exclude_new(&x), 0);
	assert_int_equal(exclude_add(x, 100, EXCLUDE_PROCESS), 0);
	assert_int_equal(exclude_add(x, 100, EXCLUDE_PROCESS), 1);
	assert_true(exclude_has(x, 100));
	assert_false(exclude_has_parent(x, 100));
	/* a TREE entry widens the process one */
	assert_int_equal(exclude_add(x, 100, EXCLUDE_TREE), 0);
	assert_true(exclude_has_parent(x, 100));
	assert_int_equal(exclude_add(x, 200, EXCLUDE_TREE), 0);
	assert_int_equal(exclude_add(x, 0, EXCLUDE_PROCESS), -EINVAL);
	assert_int_equal(exclude_add(x, 5, EXCLUDE_NONE), -EINVAL);
	assert_true(exclude_has(x, 200) && exclude_has_parent(x, 200));
	assert_false(exclude_has(x, 300) || exclude_has_parent(x, 300));
	/* the process ended: its pid is anyone's again */
	assert_int_equal(exclude_remove(x, 100), EXCLUDE_TREE);
	assert_false(exclude_has(x, 100));
	assert_false(exclude_has_parent(x, 100));
	assert_int_equal(exclude_remove(x, 100), EXCLUDE_NONE);
	assert_true(exclude_has(x, 200));
	assert_int_equal(exclude_add(x, 300, EXCLUDE_PROCESS), 0);
	assert_int_equal(exclude_remove(x, 300), EXCLUDE_PROCESS);
	/* full: an error, never an overwrite */
	for (pid_t p = 1000; exclude_add(x, p, EXCLUDE_PROCESS) == 0; p++)
		n++;
	assert_int_equal(n, EXCLUDE_MAX - 1); /* 200 holds the first place */
	assert_true(exclude_has(x, 1000) && exclude_has(x, (pid_t)(1000 + n - 1)));
	assert_int_equal(exclude_add(x, 99999, EXCLUDE_PROCESS), -ENOSPC);
	assert_true(exclude_has(x, 200));
	exclude_free(x);
	exclude_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_server),
		cmocka_unit_test(test_set),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
