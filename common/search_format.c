/* search_format.c — encoding and decoding of the search index's parts (search_format.h).
 * Owns nothing but the part buffers the caller hands it. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdbool.h>
#include <string.h>

#include "search_format.h"

static int reserve(struct search_part *p, size_t n)
{
	size_t cap = p->cap ? p->cap : 4096;
	uint8_t *nb;

	if (p->len + n <= p->cap)
		return 0;
	while (cap < p->len + n)
		cap *= 2;
	nb = realloc(p->buf, cap);
	if (!nb)
		return -ENOMEM;
	p->buf = nb;
	p->cap = cap;
	return 0;
}

/* put(NULL, …) only counts: the size and the bytes come from the same code. */
static size_t put(struct search_part *p, const char *s)
{
	size_t n = strlen(s ? s : "") + 1;

	if (p) {
		memcpy(p->buf + p->len, s ? s : "", n);
		p->len += n;
	}
	return n;
}

static size_t put_num(struct search_part *p, int64_t v)
{
	char num[24] = "";

	if (v != SEARCH_NO_TIME)
		snprintf(num, sizeof(num), "%" PRId64, v);
	return put(p, num);
}

static size_t put_proc(struct search_part *p, const struct search_proc *r,
		       const struct search_exec *x)
{
	size_t n = put(p, r->key) + put_num(p, r->tgid) + put(p, r->parent) + put(p, r->entry) +
		   put_num(p, r->start_ms) + put_num(p, r->exit_ms) + put(p, r->container) +
		   put(p, r->runtime_helper ? "r" : "") + put(p, r->comm) + put(p, r->uids) +
		   put_num(p, (int64_t)r->nexecs);

	for (size_t k = 0; k < r->nexecs; k++) {
		n += put_num(p, x[k].ts_ms) + put(p, x[k].exe) + put_num(p, (int64_t)x[k].argc);
		for (size_t i = 0; i < x[k].argc; i++)
			n += put(p, x[k].argv[i]);
	}
	return n;
}

size_t search_path_size(const char *path)
{
	return put(NULL, path);
}

size_t search_proc_size(const struct search_proc *proc, const struct search_exec *execs)
{
	return put_proc(NULL, proc, execs);
}

int search_part_full(const struct search_part *p, size_t n)
{
	return p->len && p->len + n > SEARCH_PART_MAX;
}

int search_part_add_path(struct search_part *p, const char *path)
{
	if (reserve(p, search_path_size(path)) < 0)
		return -ENOMEM;
	put(p, path);
	return 0;
}

int search_part_add_proc(struct search_part *p, const struct search_proc *proc,
			 const struct search_exec *execs)
{
	if (reserve(p, search_proc_size(proc, execs)) < 0)
		return -ENOMEM;
	put_proc(p, proc, execs);
	return 0;
}

void search_part_reset(struct search_part *p)
{
	p->len = 0;
}

void search_part_free(struct search_part *p)
{
	free(p->buf);
	p->buf = NULL;
	p->len = p->cap = 0;
}

/* The NUL-terminated string at *pos, or NULL when the bytes end without a NUL. */
static const char *take(const uint8_t *buf, size_t len, size_t *pos)
{
	const uint8_t *s = buf + *pos, *nul;

	if (*pos >= len)
		return NULL;
	nul = memchr(s, '\0', len - *pos);
	if (!nul)
		return NULL;
	*pos += (size_t)(nul - s) + 1;
	return (const char *)s;
}

/* A decimal (or "" when empty_ok: SEARCH_NO_TIME); -EBADMSG otherwise. */
static int take_num(const uint8_t *buf, size_t len, size_t *pos, bool empty_ok, int64_t *v)
{
	const char *s = take(buf, len, pos);
	char *end;
	long long n;

	if (!s || (!*s && !empty_ok))
		return -EBADMSG;
	if (!*s) {
		*v = SEARCH_NO_TIME;
		return 0;
	}
	errno = 0;
	n = strtoll(s, &end, 10);
	if (errno || *end)
		return -EBADMSG;
	*v = n;
	return 0;
}

int search_next_path(const uint8_t *buf, size_t len, size_t *pos, const char **path)
{
	if (*pos >= len)
		return 0;
	*path = take(buf, len, pos);
	return *path ? 1 : -EBADMSG;
}

int search_next_exec(const uint8_t *buf, size_t len, size_t *epos, int64_t *ts_ms,
		     const char **exe, const char **argv, size_t argv_max, size_t *argc)
{
	int64_t n;

	if (take_num(buf, len, epos, true, ts_ms) < 0)
		return -EBADMSG;
	*exe = take(buf, len, epos);
	if (!*exe || take_num(buf, len, epos, false, &n) < 0 || n < 0 || (uint64_t)n > len)
		return -EBADMSG;
	for (int64_t i = 0; i < n; i++) {
		const char *a = take(buf, len, epos);

		if (!a)
			return -EBADMSG;
		if ((size_t)i < argv_max)
			argv[i] = a;
	}
	*argc = (size_t)n;
	return 1;
}

int search_next_proc(const uint8_t *buf, size_t len, size_t *pos, struct search_proc *p)
{
	const char *flags;
	int64_t n;

	if (*pos >= len)
		return 0;
	memset(p, 0, sizeof(*p));
	p->key = take(buf, len, pos);
	if (!p->key || !*p->key || take_num(buf, len, pos, false, &p->tgid) < 0)
		return -EBADMSG;
	p->parent = take(buf, len, pos);
	p->entry = take(buf, len, pos);
	if (!p->parent || !p->entry || take_num(buf, len, pos, true, &p->start_ms) < 0 ||
	    take_num(buf, len, pos, true, &p->exit_ms) < 0)
		return -EBADMSG;
	p->container = take(buf, len, pos);
	flags = take(buf, len, pos);
	p->comm = take(buf, len, pos);
	p->uids = take(buf, len, pos);
	if (!p->container || !flags || !p->comm || !p->uids ||
	    take_num(buf, len, pos, false, &n) < 0 ||
	    n < 0 || (uint64_t)n > len)
		return -EBADMSG;
	p->runtime_helper = strchr(flags, 'r') != NULL;
	p->nexecs = (size_t)n;
	p->execs_pos = *pos;
	for (size_t k = 0; k < p->nexecs; k++) {
		int64_t ts;
		const char *exe;
		size_t argc;

		if (search_next_exec(buf, len, pos, &ts, &exe, NULL, 0, &argc) < 0)
			return -EBADMSG;
	}
	return 1;
}
