/* container.c — container id from /proc/PID/cgroup lines (see container.h). Pure: works on
 * (pointer, length) pairs and owns nothing. */
#include "container.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>

static bool is_id(const char *s, size_t len)
{
	if (len != CONTAINER_ID_LEN)
		return false;
	for (size_t i = 0; i < len; i++) {
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	}
	return true;
}

static bool has_prefix(const char *s, size_t len, const char *p)
{
	size_t n = strlen(p);

	return len >= n && memcmp(s, p, n) == 0;
}

/* One path component: bare id, or <runtime>-<id>.scope. Returns a pointer to the id or NULL. */
static const char *component_id(const char *s, size_t len)
{
	static const char *const prefixes[] = { "docker-", "cri-containerd-", "crio-", "libpod-" };
	static const char suffix[] = ".scope";
	const size_t slen = sizeof(suffix) - 1;

	if (is_id(s, len))
		return s;
	if (len < slen || memcmp(s + len - slen, suffix, slen) != 0)
		return NULL;
	len -= slen;
	for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++) {
		size_t plen = strlen(prefixes[i]);

		if (has_prefix(s, len, prefixes[i]) && is_id(s + plen, len - plen))
			return s + plen;
	}
	return NULL;
}

int container_id_from_line(const char *line, size_t len, char ret[CONTAINER_ID_LEN + 1])
{
	const char *p, *end, *colon, *found = NULL;

	if (!line)
		return -EINVAL;
	while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
		len--;
	end = line + len;
	/* hierarchy-id ':' controllers ':' path — the path itself may contain ':' */
	colon = memchr(line, ':', len);
	if (!colon)
		return -EINVAL;
	colon = memchr(colon + 1, ':', (size_t)(end - colon - 1));
	if (!colon)
		return -EINVAL;
	p = colon + 1;
	if (p >= end || *p != '/')
		return -EINVAL;
	while (p < end) {
		const char *slash, *id;

		while (p < end && *p == '/')
			p++;
		slash = memchr(p, '/', (size_t)(end - p));
		if (!slash)
			slash = end;
		id = component_id(p, (size_t)(slash - p));
		if (id)
			found = id; /* keep going: the innermost (nested container) wins */
		p = slash;
	}
	if (!found)
		return -ENOENT;
	memcpy(ret, found, CONTAINER_ID_LEN);
	ret[CONTAINER_ID_LEN] = '\0';
	return 0;
}

int container_id_from_cgroup(const char *text, size_t len, char ret[CONTAINER_ID_LEN + 1])
{
	const char *p = text, *end = text + len;

	if (!text)
		return -ENOENT;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);

		if (container_id_from_line(p, n, ret) == 0)
			return 0;
		p += n + 1;
	}
	return -ENOENT;
}
