/* test_audit_parse.c — audit_parse.c and syscalls.c: fixture records (every line of both
 * captured sessions parses), hex decoding, (null)/?, quoting, and hostile inputs (truncated at
 * every length in exact-size heap buffers, no header, unterminated quote, bad hex, huge field,
 * embedded NUL, 10k fields). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "audit_parse.h"
#include "syscalls.h"

/* Parse text from an exact-size heap copy (no NUL after it: ASan catches any overread). */
static int parse_exact(int type, const char *text, size_t len, struct audit_record **ret)
{
	char *copy = malloc(len ? len : 1);
	int r;

	assert_non_null(copy);
	memcpy(copy, text, len);
	r = audit_record_parse(type, copy, len, ret);
	free(copy);
	return r;
}

static struct audit_record *parse_ok(int type, const char *text)
{
	struct audit_record *r = NULL;

	assert_int_equal(parse_exact(type, text, strlen(text), &r), 0);
	assert_non_null(r);
	return r;
}

static const char *openat_motd =
	"audit(1795434348.160:395971): arch=c000003e syscall=257 success=yes exit=3 a0=ffffff9c "
	"a1=7ffd9e9dbf72 a2=0 a3=0 items=1 ppid=10892 pid=10920 auid=4294967295 uid=0 gid=0 "
	"euid=0 suid=0 fsuid=0 egid=0 sgid=0 fsgid=0 tty=(none) ses=4294967295 comm=\"cat\" "
	"exe=\"/bin/busybox\" key=\"lineage\"";

static void test_syscall_record(void **state)
{
	struct audit_record *r = parse_ok(1300, openat_motd);
	uint64_t u;
	int64_t i;

	(void)state;
	assert_int_equal(r->type, 1300);
	assert_int_equal(r->sec, 1795434348);
	assert_int_equal(r->msec, 160);
	assert_int_equal(r->serial, 395971);
	assert_int_equal(r->nfields, 25);
	assert_int_equal(audit_record_u64(r, "arch", 16, &u), 0);
	assert_int_equal(u, 0xc000003e);
	assert_int_equal(audit_record_i64(r, "syscall", 10, &i), 0);
	assert_int_equal(i, 257);
	assert_int_equal(audit_record_u64(r, "a1", 16, &u), 0);
	assert_int_equal(u, 0x7ffd9e9dbf72ull);
	assert_int_equal(audit_record_i64(r, "auid", 10, &i), 0);
	assert_int_equal(i, 4294967295ll);
	assert_string_equal(audit_record_str(r, "comm"), "cat");
	assert_int_equal(audit_record_field(r, "comm")->kind, AUDIT_VAL_QUOTED);
	assert_string_equal(audit_record_str(r, "exe"), "/bin/busybox");
	assert_string_equal(audit_record_str(r, "key"), "lineage");
	assert_string_equal(audit_record_str(r, "tty"), "(none)");
	assert_null(audit_record_str(r, "nosuch"));
	assert_int_equal(audit_record_i64(r, "nosuch", 10, &i), -ENOENT);
	assert_int_equal(audit_record_i64(r, "comm", 10, &i), -EINVAL);
	/* the text after "): " is kept whole */
	assert_true(strncmp(r->body, "arch=c000003e ", 14) == 0);
	assert_int_equal(r->body_len, strlen(openat_motd) - strlen("audit(1795434348.160:395971): "));
	audit_record_free(r);
}

static void test_exit_group_no_success(void **state)
{
	struct audit_record *r = parse_ok(1300,
		"audit(1795434347.884:395112): arch=c000003e syscall=231 a0=0 a1=1 a2=0 a3=36 "
		"items=0 ppid=3406 pid=10864 comm=\"containerd-shim\" key=\"lineage\"");
	int64_t i;

	(void)state;
	assert_null(audit_record_field(r, "success"));
	assert_int_equal(audit_record_i64(r, "exit", 10, &i), -ENOENT);
	assert_int_equal(audit_record_i64(r, "pid", 10, &i), 0);
	assert_int_equal(i, 10864);
	audit_record_free(r);
}

static void test_path_hex_and_null(void **state)
{
	struct audit_record *r;
	uint64_t mode;
	int64_t v;

	(void)state;
	r = parse_ok(1302, "audit(1795434349.252:396246): item=1 name=2F746D702F7370206163652E747874 "
			   "inode=1220693 dev=00:27 mode=0100644 ouid=0 ogid=0 rdev=00:00 "
			   "nametype=CREATE cap_fp=0");
	assert_string_equal(audit_record_str(r, "name"), "/tmp/sp ace.txt");
	assert_int_equal(audit_record_field(r, "name")->kind, AUDIT_VAL_HEX);
	assert_int_equal(audit_record_field(r, "name")->val_len, 15);
	assert_int_equal(audit_record_u64(r, "mode", 8, &mode), 0);
	assert_int_equal(mode, 0100644);
	assert_int_equal(audit_record_i64(r, "inode", 10, &v), 0);
	assert_int_equal(v, 1220693);
	assert_string_equal(audit_record_str(r, "dev"), "00:27");
	assert_string_equal(audit_record_str(r, "nametype"), "CREATE");
	audit_record_free(r);

	r = parse_ok(1302, "audit(1795434349.252:396246): item=2 name=(null) inode=1220687 "
			   "dev=fe:00 mode=040755 nametype=PARENT obj=?");
	assert_null(audit_record_str(r, "name"));
	assert_int_equal(audit_record_field(r, "name")->kind, AUDIT_VAL_NULL);
	assert_int_equal(audit_record_field(r, "obj")->kind, AUDIT_VAL_UNSET);
	audit_record_free(r);

	/* a deleted binary: " (deleted)" forces hex */
	r = parse_ok(1300, "audit(1.000:1): syscall=59 exe=2F746D702F78202864656C6574656429");
	assert_string_equal(audit_record_str(r, "exe"), "/tmp/x (deleted)");
	audit_record_free(r);
}

static void test_proctitle_and_execve(void **state)
{
	struct audit_record *r;
	const struct audit_field *f;

	(void)state;
	r = parse_ok(1327, "audit(1795434348.160:395971): proctitle=636174002F6574632F6D6F7464");
	assert_string_equal(audit_record_str(r, "proctitle"), "cat /etc/motd");
	audit_record_free(r);
	r = parse_ok(1327, "audit(1.000:2): proctitle=\"bash\"");
	assert_string_equal(audit_record_str(r, "proctitle"), "bash");
	audit_record_free(r);

	r = parse_ok(1309, "audit(1795434348.152:395956): argc=3 a0=\"sh\" a1=\"-c\" a2=6563686F2064617461203E202F746D702F6F75742E7478743B20636174202F6574632F6D6F74643B20736C65657020333B20636174202F746D702F6F75742E7478743B207368202D632022736C65657020312026207761697422");
	assert_string_equal(audit_record_str(r, "argc"), "3");
	assert_string_equal(audit_record_str(r, "a0"), "sh");
	assert_string_equal(audit_record_str(r, "a2"),
			    "echo data > /tmp/out.txt; cat /etc/motd; sleep 3; cat /tmp/out.txt; "
			    "sh -c \"sleep 1 & wait\"");
	audit_record_free(r);

	/* fragments: aN_len is a number, aN[i] is encoded */
	r = parse_ok(1309, "audit(1.000:3): a1_len=10 a1[0]=68656C6C6F a12[3]=\"x\" a1[z]=41");
	assert_string_equal(audit_record_str(r, "a1_len"), "10");
	assert_string_equal(audit_record_str(r, "a1[0]"), "hello");
	assert_string_equal(audit_record_str(r, "a12[3]"), "x");
	f = audit_record_field(r, "a1[z]");
	assert_int_equal(f->kind, AUDIT_VAL_BARE); /* not an argv key: kept as written */
	assert_string_equal(f->val, "41");
	audit_record_free(r);

	/* in a SYSCALL record a0..a3 are registers, not strings */
	r = parse_ok(1300, "audit(1.000:4): a1=3a032880");
	assert_string_equal(audit_record_str(r, "a1"), "3a032880");
	audit_record_free(r);
}

static void test_eoe_user_avc(void **state)
{
	struct audit_record *r;

	(void)state;
	/* EOE: empty body; the netlink payload may carry a trailing NUL and newline */
	r = NULL;
	assert_int_equal(parse_exact(1320, "audit(1795434347.784:394817): \0\n", 33, &r), 0);
	assert_int_equal(r->nfields, 0);
	assert_int_equal(r->body_len, 0);
	assert_int_equal(r->serial, 394817);
	audit_record_free(r);
	r = parse_ok(1320, "audit(1795434347.784:394817):");
	assert_int_equal(r->nfields, 0);
	audit_record_free(r);

	r = parse_ok(1107, "audit(1700000000.500:502): pid=777 uid=0 auid=1000 ses=3 "
			   "msg='op=PAM:session_open acct=\"u\" exe=\"/usr/sbin/sshd\" hostname=? res=success'");
	assert_int_equal(r->nfields, 5);
	assert_int_equal(audit_record_field(r, "msg")->kind, AUDIT_VAL_SQUOTED);
	assert_string_equal(audit_record_str(r, "msg"),
			    "op=PAM:session_open acct=\"u\" exe=\"/usr/sbin/sshd\" hostname=? res=success");
	assert_null(audit_record_field(r, "exe")); /* inside msg='...', not a field */
	audit_record_free(r);

	/* AVC: words without '=' are skipped, fields are still found by key */
	r = parse_ok(1400, "audit(1.001:500): avc:  denied  { read } for  pid=4242 comm=\"cat\" "
			   "name=\"secret\" ino=42 permissive=1");
	assert_int_equal(r->nfields, 5);
	assert_string_equal(audit_record_str(r, "name"), "secret");
	audit_record_free(r);

	/* fields in unexpected places (per=) are found by key, not position */
	r = parse_ok(1300, "audit(1.000:5): arch=c000003e syscall=59 per=400000 success=yes exit=0");
	assert_string_equal(audit_record_str(r, "per"), "400000");
	assert_string_equal(audit_record_str(r, "success"), "yes");
	audit_record_free(r);

	/* several keys: hex with \x01 separators */
	r = parse_ok(1300, "audit(1.000:6): key=6C696E6561676501666F6F");
	assert_int_equal(audit_record_field(r, "key")->val_len, 11);
	assert_memory_equal(audit_record_field(r, "key")->val, "lineage\001foo", 11);
	audit_record_free(r);
}

static void test_timestamps(void **state)
{
	struct audit_record *r;

	(void)state;
	r = parse_ok(1300, "audit(1795434347.7:1): a=1");
	assert_int_equal(r->msec, 700);
	audit_record_free(r);
	r = parse_ok(1300, "audit(1795434347.123456:18446744073709551615): a=1");
	assert_int_equal(r->msec, 123);
	assert_true(r->serial == UINT64_MAX);
	audit_record_free(r);
	assert_int_equal(parse_exact(1300, "audit(1.000:18446744073709551616): a=1", 38, &r), -EINVAL);
	assert_int_equal(parse_exact(1300, "audit(.000:1): a=1", 18, &r), -EINVAL);
	assert_int_equal(parse_exact(1300, "audit(1.:1): a=1", 16, &r), -EINVAL);
	assert_int_equal(parse_exact(1300, "audit(1.000:): a=1", 18, &r), -EINVAL);
	assert_int_equal(parse_exact(1300, "audit(1.000:1) a=1", 18, &r), -EINVAL);
	assert_int_equal(parse_exact(1300, "audit(1.000:1x): a=1", 20, &r), -EINVAL);
	assert_int_equal(parse_exact(1300, "audit(1-000:1): a=1", 19, &r), -EINVAL);
}

static void test_hostile(void **state)
{
	struct audit_record *r = NULL;
	size_t len = strlen(openat_motd), hdr = strlen("audit(1795434348.160:395971):");
	char *big;

	(void)state;
	/* every prefix: the header prefixes fail, the rest parse or fail cleanly */
	for (size_t n = 0; n <= len; n++) {
		int err = parse_exact(1300, openat_motd, n, &r);

		if (n < hdr) {
			assert_int_equal(err, -EINVAL);
		} else if (err == 0) {
			audit_record_free(r);
			r = NULL;
		} else {
			assert_int_equal(err, -EBADMSG); /* cut inside a quoted value */
		}
	}
	assert_int_equal(audit_record_parse(1300, NULL, 0, &r), -EINVAL);
	assert_int_equal(parse_exact(1300, "", 0, &r), -EINVAL);
	assert_int_equal(parse_exact(1300, "arch=c000003e syscall=257", 25, &r), -EINVAL);
	assert_int_equal(parse_exact(1300, "type=1300 msg=audit(1.000:1): a=1", 33, &r), -EINVAL);
	assert_int_equal(parse_exact(1300, "audit(1.000:1): comm=\"cat", 25, &r), -EBADMSG);
	assert_int_equal(parse_exact(1300, "audit(1.000:1): msg='op=x", 25, &r), -EBADMSG);
	assert_int_equal(parse_exact(1302, "audit(1.000:1): name=2F746", 26, &r), -EBADMSG);
	assert_int_equal(parse_exact(1302, "audit(1.000:1): name=2G", 23, &r), -EBADMSG);
	assert_int_equal(parse_exact(1302, "audit(1.000:1): =x", 18, &r), -EBADMSG);
	assert_int_equal(parse_exact(1302, "audit(1.000:1): a=1\0b=2", 23, &r), -EBADMSG);
	assert_int_equal(parse_exact(1302, "audit(1.0\0:1): a=1", 18, &r), -EBADMSG);

	/* a huge field within the record limit parses; over it, -E2BIG */
	big = malloc(AUDIT_RECORD_MAX_LEN + 100);
	assert_non_null(big);
	memcpy(big, "audit(1.000:1): name=", 21);
	memset(big + 21, 'A', 65492);
	assert_int_equal(parse_exact(1302, big, 21 + 65492, &r), 0);
	assert_int_equal(audit_record_field(r, "name")->val_len, 65492 / 2);
	assert_int_equal((unsigned char)audit_record_field(r, "name")->val[0], 0xAA);
	audit_record_free(r);
	memset(big + 21, 'x', AUDIT_RECORD_MAX_LEN + 100 - 21);
	big[19] = '2'; /* "nam2=": a field audit does not encode */
	assert_int_equal(parse_exact(1300, big, AUDIT_RECORD_MAX_LEN + 100, &r), -E2BIG);
	assert_int_equal(parse_exact(1300, big, AUDIT_RECORD_MAX_LEN, &r), 0);
	assert_int_equal(r->nfields, 1);
	audit_record_free(r);

	/* 10k fields: over AUDIT_RECORD_MAX_FIELDS; exactly the limit is fine */
	{
		size_t n = strlen("audit(1.000:1):");

		memcpy(big, "audit(1.000:1):", n);
		for (int i = 0; i < 10000 && n + 8 < AUDIT_RECORD_MAX_LEN; i++)
			n += (size_t)sprintf(big + n, " k%d=%d", i % 10, i % 10);
		assert_int_equal(parse_exact(1300, big, n, &r), -E2BIG);
		n = strlen("audit(1.000:1):");
		for (int i = 0; i < AUDIT_RECORD_MAX_FIELDS; i++)
			n += (size_t)sprintf(big + n, " k=");
		assert_int_equal(parse_exact(1300, big, n, &r), 0);
		assert_int_equal(r->nfields, AUDIT_RECORD_MAX_FIELDS);
		assert_string_equal(r->fields[0].val, "");
		audit_record_free(r);
	}
	free(big);
}

/* Every record of both captured sessions parses, its serial matches the line's text. */
static void parse_file(const char *name, int expect_lines)
{
	char path[4096], *line = NULL;
	size_t cap = 0;
	ssize_t n;
	FILE *f;
	int lines = 0, syscalls = 0;
	const char *dir = getenv("CAPTURED_FIXTURES");

	assert_non_null(dir);
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "r");
	assert_non_null(f);
	while ((n = getline(&line, &cap, f)) > 0) {
		struct audit_record *r = NULL;
		const char *text;
		size_t tlen;
		int type;

		assert_int_equal(audit_line_split(line, (size_t)n, &type, &text, &tlen), 0);
		assert_int_equal(parse_exact(type, text, tlen, &r), 0);
		assert_int_equal(r->type, type);
		if (type == AUDIT_T_SYSCALL) {
			assert_non_null(audit_record_field(r, "syscall"));
			assert_non_null(audit_record_str(r, "key"));
			syscalls++;
		}
		audit_record_free(r);
		lines++;
	}
	free(line);
	fclose(f);
	assert_int_equal(lines, expect_lines);
	assert_true(syscalls > 1000);
}

static void test_fixture_files(void **state)
{
	(void)state;
	parse_file("docker-session-1/audit.log", 4502); /* wc -l */
	parse_file("docker-run-exec.audit.log", 4479);
}

static void test_line_split_and_types(void **state)
{
	const char *text;
	size_t len;
	int type;
	char buf[32];

	(void)state;
	assert_int_equal(audit_type_from_name("SYSCALL", 7), 1300);
	assert_int_equal(audit_type_from_name("EOE", 3), 1320);
	assert_int_equal(audit_type_from_name("1309", 4), 1309);
	assert_int_equal(audit_type_from_name("UNKNOWN[1999]", 13), 1999);
	assert_int_equal(audit_type_from_name("SYSCALLX", 8), -1);
	assert_int_equal(audit_type_from_name("99999999", 8), -1);
	assert_string_equal(audit_type_name(1327, buf, sizeof(buf)), "PROCTITLE");
	assert_string_equal(audit_type_name(1999, buf, sizeof(buf)), "UNKNOWN[1999]");

	assert_int_equal(audit_line_split("type=1300 msg=audit(1.000:1): a=1\n", 34, &type, &text,
					  &len), 0);
	assert_int_equal(type, 1300);
	assert_int_equal(len, strlen("audit(1.000:1): a=1"));
	assert_memory_equal(text, "audit(1.000:1): a=1", len);
	/* auditd: names, node=, and the enriched part after 0x1d */
	text = "node=h1 type=SYSCALL msg=audit(1.000:1): uid=0\x1dUID=\"root\"";
	assert_int_equal(audit_line_split(text, strlen(text), &type, &text, &len), 0);
	assert_int_equal(type, 1300);
	assert_memory_equal(text, "audit(1.000:1): uid=0", len);
	assert_int_equal(len, 21);
	assert_int_equal(audit_line_split("type=NOPE msg=audit(1.000:1):", 29, &type, &text, &len),
			 -EINVAL);
	assert_int_equal(audit_line_split("type=1300 audit(1.000:1):", 25, &type, &text, &len),
			 -EINVAL);
	assert_int_equal(audit_line_split("garbage", 7, &type, &text, &len), -EINVAL);
	assert_int_equal(audit_line_split("node=h1", 7, &type, &text, &len), -EINVAL);
}

static void test_syscalls(void **state)
{
	char buf[32];

	(void)state;
	assert_string_equal(syscalls_name(SYSCALLS_ARCH_X86_64, 257), "openat");
	assert_string_equal(syscalls_name(SYSCALLS_ARCH_X86_64, 59), "execve");
	assert_string_equal(syscalls_name(SYSCALLS_ARCH_X86_64, 155), "pivot_root");
	assert_string_equal(syscalls_name(SYSCALLS_ARCH_X86_64, 308), "setns");
	assert_string_equal(syscalls_name(SYSCALLS_ARCH_X86_64, 231), "exit_group");
	assert_string_equal(syscalls_name(SYSCALLS_ARCH_X86_64, 3), "close");
	assert_string_equal(syscalls_name(SYSCALLS_ARCH_X86_64, 322), "execveat");
	assert_string_equal(syscalls_name(SYSCALLS_ARCH_X86_64, 437), "openat2");
	assert_string_equal(syscalls_name(SYSCALLS_ARCH_X86_64, 435), "clone3");
	assert_string_equal(syscalls_name(SYSCALLS_ARCH_X86_64, 316), "renameat2");
	assert_string_equal(syscalls_name(SYSCALLS_ARCH_X86_64, 272), "unshare");
	assert_string_equal(syscalls_name(SYSCALLS_ARCH_X86_64, 56), "clone");
	assert_string_equal(syscalls_name(SYSCALLS_ARCH_X86_64, 58), "vfork");
	assert_string_equal(syscalls_name(SYSCALLS_ARCH_X86_64, 85), "creat");
	assert_string_equal(syscalls_name(SYSCALLS_ARCH_I386, 11), "execve");
	assert_string_equal(syscalls_name(SYSCALLS_ARCH_I386, 295), "openat");
	assert_string_equal(syscalls_name(SYSCALLS_ARCH_I386, 217), "pivot_root");
	assert_string_equal(syscalls_name(SYSCALLS_ARCH_I386, 6), "close");
	assert_string_equal(syscalls_name(SYSCALLS_ARCH_I386, 5), "open");
	assert_string_equal(syscalls_name(SYSCALLS_ARCH_I386, 120), "clone");
	assert_string_equal(syscalls_name(SYSCALLS_ARCH_I386, 252), "exit_group");
	assert_string_equal(syscalls_name(SYSCALLS_ARCH_I386, 346), "setns");
	assert_null(syscalls_name(SYSCALLS_ARCH_X86_64, 9999));
	assert_null(syscalls_name(SYSCALLS_ARCH_X86_64, -1));
	/* libaudit's tables know more arches than lineage records: aarch64's execve */
	assert_string_equal(syscalls_name(0xc00000b7, 221), "execve");
	assert_string_equal(syscalls_arch_name(0xc00000b7), "aarch64");
	assert_null(syscalls_name(0x12345678, 1));
	assert_int_equal(syscalls_number(SYSCALLS_ARCH_X86_64, "execve"), 59);
	assert_int_equal(syscalls_number(SYSCALLS_ARCH_I386, "setns"), 346);
	assert_int_equal(syscalls_number(SYSCALLS_ARCH_X86_64, "no_such_call"), -1);
	assert_string_equal(syscalls_format(SYSCALLS_ARCH_X86_64, 9999, buf, sizeof(buf)),
			    "syscall_9999");
	assert_string_equal(syscalls_format(SYSCALLS_ARCH_X86_64, 2, buf, sizeof(buf)), "open");
	assert_string_equal(syscalls_arch_name(SYSCALLS_ARCH_I386), "i386");
	assert_null(syscalls_arch_name(1));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_syscall_record),
		cmocka_unit_test(test_exit_group_no_success),
		cmocka_unit_test(test_path_hex_and_null),
		cmocka_unit_test(test_proctitle_and_execve),
		cmocka_unit_test(test_eoe_user_avc),
		cmocka_unit_test(test_timestamps),
		cmocka_unit_test(test_hostile),
		cmocka_unit_test(test_fixture_files),
		cmocka_unit_test(test_line_split_and_types),
		cmocka_unit_test(test_syscalls),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
