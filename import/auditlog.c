/* auditlog.c — node prefix, rotation generations and the reading order of auditd log files
 * (auditlog.h). Pure. */
#include "auditlog.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int auditlog_line_node(const char *line, size_t len, const char **ret_node, size_t *ret_len)
{
	const char *sp;
	size_t n;

	if (len < 5 || memcmp(line, "node=", 5) != 0)
		return 0;
	sp = memchr(line + 5, ' ', len - 5);
	if (!sp)
		return -EINVAL;
	n = (size_t)(sp - (line + 5));
	if (n == 0 || n > AUDITLOG_NODE_MAX)
		return -EINVAL;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)line[5 + i] < 0x20 || line[5 + i] == 0x7f)
			return -EINVAL;
	*ret_node = line + 5;
	*ret_len = n;
	return 1;
}

unsigned auditlog_generation(const char *path, size_t *ret_base_len)
{
	size_t len = strlen(path), end, i;
	unsigned long gen = 0;

	end = len;
	if (end >= 3 && memcmp(path + end - 3, ".gz", 3) == 0)
		end -= 3;
	i = end;
	while (i > 0 && path[i - 1] >= '0' && path[i - 1] <= '9')
		i--;
	/* ".N" with 1 to 9 digits after a non-empty name */
	if (i < end && end - i <= 9 && i >= 2 && path[i - 1] == '.' && path[i - 2] != '/') {
		for (size_t k = i; k < end; k++)
			gen = gen * 10 + (unsigned long)(path[k] - '0');
		end = i - 1;
	}
	*ret_base_len = end;
	return (unsigned)gen;
}

struct item {
	const char *path;
	size_t base_len;
	unsigned gen;
	size_t group; /* first position of its base on the command line */
	size_t pos;
};

static int cmp_item(const void *a, const void *b)
{
	const struct item *x = a, *y = b;

	if (x->group != y->group)
		return x->group < y->group ? -1 : 1;
	if (x->gen != y->gen)
		return x->gen > y->gen ? -1 : 1; /* older (higher N) first */
	return (x->pos > y->pos) - (x->pos < y->pos);
}

int auditlog_order(const char **paths, size_t n)
{
	struct item *it;

	if (n < 2)
		return 0;
	it = calloc(n, sizeof(*it));
	if (!it)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		it[i].path = paths[i];
		it[i].pos = i;
		it[i].gen = auditlog_generation(paths[i], &it[i].base_len);
		it[i].group = i;
		for (size_t k = 0; k < i; k++)
			if (it[k].base_len == it[i].base_len &&
			    memcmp(it[k].path, it[i].path, it[i].base_len) == 0 &&
			    strcmp(it[i].path, "-") != 0) {
				it[i].group = it[k].group;
				break;
			}
	}
	qsort(it, n, sizeof(*it), cmp_item);
	for (size_t i = 0; i < n; i++)
		paths[i] = it[i].path;
	free(it);
	return 0;
}
