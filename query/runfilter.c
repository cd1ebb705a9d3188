/* runfilter.c — what to do when a query needs the filter's output and the session has none:
 * the exact lineage-filter command line to run (same --uri/--db as this query), and with
 * --filter, running it: the lineage-filter beside this program (the build tree's
 * ../filter/, or the same directory once installed), else the one on PATH; $LINEAGE_FILTER
 * overrides both. Owns nothing beyond the child it waits for. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "query.h"
#include "store.h"

void q_filter_command(const struct qctx *ctx, const char *hex, char *buf, size_t len)
{
	const struct qargs *a = ctx->args;
	size_t pos = 0;

	pos += (size_t)snprintf(buf, len, "lineage-filter");
	if (a->uri && pos < len)
		pos += (size_t)snprintf(buf + pos, len - pos, " --uri '%s'", store_uri(ctx->st));
	if (a->db && pos < len)
		pos += (size_t)snprintf(buf + pos, len - pos, " --db %s", a->db);
	if (pos < len)
		snprintf(buf + pos, len - pos, " --session %s", hex);
}

/* The lineage-filter to run, into buf. */
static void filter_path(char *buf, size_t len)
{
	const char *env = getenv("LINEAGE_FILTER");
	char self[PATH_MAX], *slash;
	ssize_t n;

	if (env && *env) {
		snprintf(buf, len, "%s", env);
		return;
	}
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n > 0) {
		self[n] = '\0';
		slash = strrchr(self, '/');
		if (slash) {
			*slash = '\0';
			snprintf(buf, len, "%s/../filter/lineage-filter", self);
			if (access(buf, X_OK) == 0)
				return;
			snprintf(buf, len, "%s/lineage-filter", self);
			if (access(buf, X_OK) == 0)
				return;
		}
	}
	snprintf(buf, len, "lineage-filter");
}

int q_run_filter(struct qctx *ctx, const char *hex)
{
	const struct qargs *a = ctx->args;
	char path[PATH_MAX + 32];
	const char *argv[10];
	int n = 0, status;
	pid_t pid;

	filter_path(path, sizeof(path));
	argv[n++] = path;
	if (a->uri) {
		argv[n++] = "--uri";
		argv[n++] = a->uri;
	}
	if (a->db) {
		argv[n++] = "--db";
		argv[n++] = a->db;
	}
	argv[n++] = "--session";
	argv[n++] = hex;
	argv[n] = NULL;
	fprintf(stderr, "lineage-query: session %s has not been filtered: running %s\n", hex, path);
	fflush(NULL);
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		dup2(STDERR_FILENO, STDOUT_FILENO); /* the filter's words go to stderr, not to
						     * the query's output */
		execvp(path, (char *const *)argv);
		fprintf(stderr, "lineage-query: cannot run %s: %s\n", path, strerror(errno));
		_exit(127);
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -errno;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		snprintf(ctx->err, sizeof(ctx->err), "lineage-filter failed on session %s (%s %d)",
			 hex, WIFEXITED(status) ? "exit status" : "signal",
			 WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
		ctx->status = QEXIT_DB_ERROR;
		return -EIO;
	}
	return 0;
}
