/* live_container.h — test support for the kernel tests: start a real container of the local
 * image (scripts/test-image.sh) and learn its id and init pid. Header-only (static). */
#ifndef LINEAGE_TEST_LIVE_CONTAINER_H
#define LINEAGE_TEST_LIVE_CONTAINER_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

/* Run cmd, its stdout (trailing blanks cut) into out[cap]. 0, or -1 (not run, non-zero). */
static inline int live_run(const char *cmd, char *out, size_t cap)
{
	FILE *f = popen(cmd, "r");
	size_t n;

	if (!f)
		return -1;
	n = fread(out, 1, cap - 1, f);
	out[n] = '\0';
	while (n > 0 && (out[n - 1] == '\n' || out[n - 1] == ' '))
		out[--n] = '\0';
	return pclose(f) == 0 ? 0 : -1;
}

/* `docker run -d … sleep 30` of lineage-busybox: its 64-hex id into id[65] and its init's
 * host pid into *pid. 0; -1 when docker or the image is not there (the caller skips); -2
 * when the container started but docker inspect gave no pid above 1 (the caller fails).
 * Remove it with live_container_rm(). */
static inline int live_container_start(char id[65], pid_t *pid)
{
	char out[256], cmd[512];

	if (live_run("/usr/bin/docker run -d --rm --network none lineage-busybox sleep 30 "
		     "2>/dev/null", out, sizeof(out)) < 0 || strlen(out) != 64)
		return -1;
	memcpy(id, out, 65);
	snprintf(cmd, sizeof(cmd), "/usr/bin/docker inspect -f '{{.State.Pid}}' %s", id);
	if (live_run(cmd, out, sizeof(out)) < 0)
		return -2;
	*pid = (pid_t)atoi(out);
	return *pid > 1 ? 0 : -2;
}

static inline int live_container_rm(const char *id)
{
	char cmd[512];

	snprintf(cmd, sizeof(cmd), "/usr/bin/docker rm -f %s >/dev/null 2>&1", id);
	return system(cmd);
}

#endif
