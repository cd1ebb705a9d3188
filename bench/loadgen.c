/* loadgen.c — lineage-loadgen: the benchmark's workload, run as an unprivileged user so that
 * a recorder's output can be counted by uid. Three modes:
 *   exec --rate N --seconds S   fork + execve(/bin/true) at N per second for S seconds
 *   files --count N             open/write/close on a few files in a temporary directory
 *   forkstorm --count N         a burst of N forks whose children _exit at once
 * Started as root with --user NAME (or --user UID:GID) it prepares what needs root (the
 * temporary directory, owned by the user), then drops to the user's gid and uid before the
 * workload. It prints exactly what it did as one JSON line on stdout, written with a single
 * write(2) that the line itself counts ("report_writes"), so that a driver can compare with
 * what was recorded.
 *
 * In a container (bench/driver.py's container-* workloads) the same modes run from a
 * statically linked copy, lineage-loadgen-static (built with LOADGEN_STATIC: no NSS, so
 * --user takes UID:GID only; docker run --user usually does the switch instead), bind-mounted
 * into the busybox test image. Its pid there is that of the container's pid namespace, not the
 * host pid the recorders see: with --wait-start it reads one byte from stdin before the
 * workload, so that the driver can look up the host pid (docker inspect) in between. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <inttypes.h>
#include <limits.h>
#include <pwd.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "num.h"

#define LOADGEN_FILES 4
#define LOADGEN_WRITE_BYTES 64
#ifdef LOADGEN_STATIC
#define LOADGEN_IS_STATIC "true"
#define LOADGEN_USER_FORMS "UID:GID (a static build cannot look names up)"
#else
#define LOADGEN_IS_STATIC "false"
#define LOADGEN_USER_FORMS "a user name or UID:GID"
#endif

struct options {
	const char *mode, *user, *program, *dir;
	unsigned long rate, count;
	double seconds;
	bool wait_start;
};

/* Who to become: from --user, by name (getpwnam) or as a numeric UID:GID. */
struct identity {
	uid_t uid;
	gid_t gid;
};

struct counts {
	uint64_t forks, fork_failures, execs, exec_failures, opens, writes, closes, reaped,
		child_errors;
	double elapsed;
};

static double mono_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: lineage-loadgen [--user NAME|UID:GID] [--dir DIR] [--wait-start] MODE [OPTIONS]\n"
		"  exec --rate N --seconds S [--program PATH]   spawn PATH (default /bin/true) at N/s\n"
		"  files --count N                              open/write/close N times on %d files\n"
		"  forkstorm --count N                          N forks that _exit at once\n"
		"  --user NAME|UID:GID   when started as root, run the workload as this user\n"
		"  --dir DIR     parent of the temporary directory of the files mode (default /tmp)\n"
		"  --wait-start  read one byte from stdin before the workload starts\n"
		"Prints one JSON line with the counts of what was done.\n", LOADGEN_FILES);
}

/* Parse a count or rate option into an unsigned long (common/num.c does the checking). */
static int parse_ul(const char *s, unsigned long *ret)
{
	uint64_t v;

	if (num_parse_u64(s, ULONG_MAX, &v) < 0)
		return -EINVAL;
	*ret = (unsigned long)v;
	return 0;
}

/* Can s go into a JSON string without escaping? */
static bool json_safe(const char *s)
{
	for (; *s; s++)
		if (*s == '"' || *s == '\\' || (unsigned char)*s < 0x20)
			return false;
	return true;
}

/* --user: "UID:GID" (numbers, no lookup) or a user name (its uid and primary gid). */
static int parse_user(const char *s, struct identity *ret)
{
	const char *colon = strchr(s, ':');
	uint64_t uid, gid;
	char num[32];

	if (colon) {
		if ((size_t)(colon - s) >= sizeof(num))
			return -EINVAL;
		memcpy(num, s, (size_t)(colon - s));
		num[colon - s] = '\0';
		if (num_parse_u64(num, UINT32_MAX - 1, &uid) < 0 ||
		    num_parse_u64(colon + 1, UINT32_MAX - 1, &gid) < 0)
			return -EINVAL;
		ret->uid = (uid_t)uid;
		ret->gid = (gid_t)gid;
		return 0;
	}
#ifdef LOADGEN_STATIC
	/* getpwnam in a static binary needs the host's NSS libraries at run time */
	return -EINVAL;
#else
	{
		struct passwd *pw = getpwnam(s);

		if (!pw)
			return -ENOENT;
		ret->uid = pw->pw_uid;
		ret->gid = pw->pw_gid;
		return 0;
	}
#endif
}

static int parse_args(int argc, char **argv, struct options *o)
{
	enum { OPT_RATE = 256, OPT_SECONDS, OPT_COUNT, OPT_USER, OPT_PROGRAM, OPT_DIR,
	       OPT_WAIT_START };
	static const struct option opts[] = {
		{ "rate", required_argument, NULL, OPT_RATE },
		{ "seconds", required_argument, NULL, OPT_SECONDS },
		{ "count", required_argument, NULL, OPT_COUNT },
		{ "user", required_argument, NULL, OPT_USER },
		{ "program", required_argument, NULL, OPT_PROGRAM },
		{ "dir", required_argument, NULL, OPT_DIR },
		{ "wait-start", no_argument, NULL, OPT_WAIT_START },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	char *end;
	int c;

	*o = (struct options){ .program = "/bin/true", .dir = "/tmp", .rate = 100,
			       .seconds = 5, .count = 1000 };
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case OPT_RATE:
			if (parse_ul(optarg, &o->rate) < 0 || o->rate == 0 || o->rate > 1000000)
				goto bad;
			break;
		case OPT_COUNT:
			if (parse_ul(optarg, &o->count) < 0 || o->count > 100000000)
				goto bad;
			break;
		case OPT_SECONDS:
			errno = 0;
			o->seconds = strtod(optarg, &end);
			if (errno || end == optarg || *end || !(o->seconds > 0 && o->seconds < 86400))
				goto bad;
			break;
		case OPT_USER: o->user = optarg; break;
		case OPT_PROGRAM: o->program = optarg; break;
		case OPT_DIR: o->dir = optarg; break;
		case OPT_WAIT_START: o->wait_start = true; break;
		case 'h': usage(stdout); exit(0);
		default: usage(stderr); return -EINVAL;
		}
	}
	if (optind != argc - 1) {
		usage(stderr);
		return -EINVAL;
	}
	/* both are printed in the JSON report as they are */
	if (!json_safe(o->program) || !json_safe(o->dir)) {
		fprintf(stderr, "lineage-loadgen: --program and --dir may not hold '\"', '\\' or "
			"control characters\n");
		return -EINVAL;
	}
	o->mode = argv[optind];
	if (strcmp(o->mode, "exec") && strcmp(o->mode, "files") && strcmp(o->mode, "forkstorm")) {
		fprintf(stderr, "lineage-loadgen: unknown mode '%s'\n", o->mode);
		return -EINVAL;
	}
	return 0;
bad:
	fprintf(stderr, "lineage-loadgen: --%s: bad value '%s'\n", opts[c - OPT_RATE].name, optarg);
	return -EINVAL;
}

/* Become the user for good: groups, gid, then uid (the order that cannot be undone). */
static int drop_privileges(const struct identity *id)
{
	if (setgroups(0, NULL) < 0 || setgid(id->gid) < 0 || setuid(id->uid) < 0)
		return -errno;
	if (setuid(0) == 0 && id->uid != 0)
		return -EPERM;
	return 0;
}

/* --wait-start: block until the driver sends a byte (it closes stdin to abort). */
static int wait_start(void)
{
	char c;
	ssize_t n;

	do
		n = read(STDIN_FILENO, &c, 1);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	return n == 1 ? 0 : -ECANCELED;
}

/* Reap what has exited without blocking (block = wait for every child). */
static void reap(struct counts *n, bool block)
{
	int status;
	pid_t p;

	while ((p = waitpid(-1, &status, block ? 0 : WNOHANG)) > 0) {
		n->reaped++;
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
			n->child_errors++;
	}
}

static void run_exec(const struct options *o, struct counts *n)
{
	char *const child_argv[] = { (char *)o->program, NULL };
	char *const child_env[] = { NULL };
	uint64_t total = (uint64_t)(o->rate * o->seconds + 0.5);
	struct timespec t0, due;
	double start = mono_s();

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (uint64_t i = 0; i < total; i++) {
		/* due time of spawn i, absolute, so that lateness never accumulates as drift */
		uint64_t ns = (uint64_t)t0.tv_nsec + i * 1000000000ULL / o->rate;
		pid_t p;

		due.tv_sec = t0.tv_sec + (time_t)(ns / 1000000000ULL);
		due.tv_nsec = (long)(ns % 1000000000ULL);
		while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &due, NULL) == EINTR)
			;
		p = fork();
		if (p < 0) {
			n->fork_failures++;
			reap(n, false);
			continue;
		}
		if (p == 0) {
			execve(o->program, child_argv, child_env);
			_exit(127);
		}
		n->forks++;
		n->execs++;
		reap(n, false);
	}
	reap(n, true);
	n->exec_failures = n->child_errors;
	n->elapsed = mono_s() - start;
}

static int run_files(const struct options *o, const char *dir, struct counts *n)
{
	char path[LOADGEN_FILES][PATH_MAX];
	char buf[LOADGEN_WRITE_BYTES];
	double start = mono_s();

	memset(buf, 'x', sizeof(buf));
	buf[sizeof(buf) - 1] = '\n';
	for (int i = 0; i < LOADGEN_FILES; i++)
		if (snprintf(path[i], sizeof(path[i]), "%s/f%d", dir, i) >= (int)sizeof(path[i]))
			return -ENAMETOOLONG;
	for (unsigned long i = 0; i < o->count; i++) {
		int fd = open(path[i % LOADGEN_FILES], O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC,
			      0600);

		if (fd < 0)
			return -errno;
		n->opens++;
		if (write(fd, buf, sizeof(buf)) != (ssize_t)sizeof(buf)) {
			close(fd);
			return errno ? -errno : -EIO;
		}
		n->writes++;
		close(fd);
		n->closes++;
	}
	n->elapsed = mono_s() - start;
	return 0;
}

static void run_forkstorm(const struct options *o, struct counts *n)
{
	double start = mono_s();

	for (unsigned long i = 0; i < o->count; i++) {
		pid_t p = fork();

		if (p < 0) {
			n->fork_failures++;
			reap(n, false);
			continue;
		}
		if (p == 0)
			_exit(0);
		n->forks++;
		if ((i & 63) == 63)
			reap(n, false);
	}
	reap(n, true);
	n->elapsed = mono_s() - start;
}

int main(int argc, char **argv)
{
	struct options o;
	struct counts n = { 0 };
	struct identity id, *user = NULL;
	char dir[PATH_MAX] = "";
	char out[1024];
	int len, r = 0;

	if (parse_args(argc, argv, &o) < 0)
		return 2;
	if (o.user) {
		r = parse_user(o.user, &id);
		if (r < 0) {
			fprintf(stderr, "lineage-loadgen: --user %s: %s; give %s\n", o.user,
				r == -ENOENT ? "no such user" : "bad value", LOADGEN_USER_FORMS);
			return 2;
		}
		user = &id;
	}
	if (strcmp(o.mode, "files") == 0) {
		if (snprintf(dir, sizeof(dir), "%s/lineage-loadgen.XXXXXX", o.dir) >= (int)sizeof(dir) ||
		    !mkdtemp(dir)) {
			fprintf(stderr, "lineage-loadgen: cannot create a directory in %s\n", o.dir);
			return 1;
		}
		if (user && geteuid() == 0 && chown(dir, user->uid, user->gid) < 0) {
			fprintf(stderr, "lineage-loadgen: chown %s: %s\n", dir, strerror(errno));
			return 1;
		}
	}
	/* stdout is flushed by one write at the end: nothing buffered may leak into a child */
	fflush(NULL);
	if (user && geteuid() == 0) {
		r = drop_privileges(user);
		if (r < 0) {
			fprintf(stderr, "lineage-loadgen: cannot become %s: %s\n", o.user,
				strerror(-r));
			return 1;
		}
	}
	if (o.wait_start && (r = wait_start()) < 0) {
		fprintf(stderr, "lineage-loadgen: no start byte on stdin: %s\n", strerror(-r));
		if (dir[0])
			rmdir(dir);
		return 1;
	}
	if (strcmp(o.mode, "exec") == 0) {
		run_exec(&o, &n);
	} else if (strcmp(o.mode, "files") == 0) {
		r = run_files(&o, dir, &n);
	} else {
		run_forkstorm(&o, &n);
	}
	len = snprintf(out, sizeof(out),
		       "{\"mode\": \"%s\", \"pid\": %d, \"uid\": %u, \"gid\": %u, \"rate\": %lu, "
		       "\"seconds\": %g, \"count\": %lu, \"elapsed\": %.6f, \"forks\": %" PRIu64 ", "
		       "\"fork_failures\": %" PRIu64 ", \"execs\": %" PRIu64 ", "
		       "\"exec_failures\": %" PRIu64 ", \"opens\": %" PRIu64 ", \"writes\": %" PRIu64
		       ", \"closes\": %" PRIu64 ", \"reaped\": %" PRIu64 ", \"report_writes\": 1, "
		       "\"dir\": \"%s\", \"program\": \"%s\", \"static\": %s, \"error\": %d}\n",
		       o.mode, (int)getpid(), (unsigned)getuid(), (unsigned)getgid(),
		       strcmp(o.mode, "exec") == 0 ? o.rate : 0,
		       strcmp(o.mode, "exec") == 0 ? o.seconds : 0,
		       strcmp(o.mode, "exec") == 0 ? 0 : o.count, n.elapsed, n.forks,
		       n.fork_failures, n.execs, n.exec_failures, n.opens, n.writes, n.closes,
		       n.reaped, dir, strcmp(o.mode, "exec") == 0 ? o.program : "", LOADGEN_IS_STATIC,
		       r);
	if (len < 0 || len >= (int)sizeof(out) || write(STDOUT_FILENO, out, (size_t)len) != len)
		return 1;
	if (r < 0) {
		fprintf(stderr, "lineage-loadgen: %s: %s\n", o.mode, strerror(-r));
		return 1;
	}
	return 0;
}
