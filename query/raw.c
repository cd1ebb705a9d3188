/* raw.c — one-line renderings and predicates over the listener's raw events (see raw.h).
 * Owns nothing. */
#include "raw.h"

#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "format.h"
#include "query.h"

char *raw_result(const bson_t *ev, char *buf, size_t len)
{
	const char *sc = doc_str(ev, "syscall");
	bson_iter_t it;
	int64_t ex;

	if (!sc)
		sc = "?";
	if (!bson_iter_init_find(&it, ev, "exit") || !BSON_ITER_HOLDS_NUMBER(&it)) {
		snprintf(buf, len, "%s", sc);
		return buf;
	}
	ex = bson_iter_as_int64(&it);
	if (ex < 0 && ex > -4096) {
		const char *name = strerrorname_np((int)-ex);

		if (name)
			snprintf(buf, len, "%s -%s", sc, name);
		else
			snprintf(buf, len, "%s %lld", sc, (long long)ex);
	} else if (doc_bool(ev, "success")) {
		snprintf(buf, len, "%s ok %lld", sc, (long long)ex);
	} else {
		snprintf(buf, len, "%s %lld", sc, (long long)ex);
	}
	return buf;
}

/* Run fn over every paths[] entry of ev as (name, abs, nametype). */
static void each_path(const bson_t *ev,
		      void (*fn)(const char *name, const char *abs, const char *nt, void *data),
		      void *data)
{
	bson_iter_t it, arr;

	if (!bson_iter_init_find(&it, ev, "paths") || !BSON_ITER_HOLDS_ARRAY(&it) ||
	    !bson_iter_recurse(&it, &arr))
		return;
	while (bson_iter_next(&arr)) {
		const uint8_t *b;
		uint32_t l;
		bson_t pd;

		if (!BSON_ITER_HOLDS_DOCUMENT(&arr))
			continue;
		bson_iter_document(&arr, &l, &b);
		if (!bson_init_static(&pd, b, l))
			continue;
		fn(doc_str(&pd, "name"), doc_str(&pd, "abs"), doc_str(&pd, "nametype"), data);
	}
}

struct pathbuf {
	char *buf;
	size_t len, pos;
	int n;
	bool rename;
};

static void add_path(const char *name, const char *abs, const char *nt, void *data)
{
	struct pathbuf *p = data;
	const char *s = abs ? abs : name;

	if (!s || (nt && !strcmp(nt, "PARENT")) || p->pos >= p->len)
		return;
	p->pos += (size_t)snprintf(p->buf + p->pos, p->len - p->pos, "%s%s",
				   p->n++ ? (p->rename ? " -> " : " ") : "", s);
}

char *raw_detail(const bson_t *ev, char *buf, size_t len)
{
	const char *sc = doc_str(ev, "syscall");
	const char **argv = NULL;
	struct pathbuf p = { .buf = buf, .len = len };
	int n;

	buf[0] = '\0';
	if (sc && !strncmp(sc, "execve", 6)) {
		n = doc_strv(ev, "argv", &argv);
		if (n > 0) {
			fmt_argv(argv, (size_t)n, buf, len);
			free(argv);
			return buf;
		}
		free(argv);
	}
	p.rename = sc && !strncmp(sc, "rename", 6);
	each_path(ev, add_path, &p);
	return buf;
}

struct pathwant {
	const char *want;
	bool found;
};

static void match_path(const char *name, const char *abs, const char *nt, void *data)
{
	struct pathwant *w = data;

	(void)nt;
	if ((name && !strcmp(name, w->want)) || (abs && !strcmp(abs, w->want)))
		w->found = true;
}

bool raw_has_path(const bson_t *ev, const char *path)
{
	struct pathwant w = { .want = path };

	each_path(ev, match_path, &w);
	return w.found;
}

char *raw_container_label(const char *id, char *buf, size_t len)
{
	if (!id || !*id)
		snprintf(buf, len, "host");
	else
		snprintf(buf, len, "%.12s", id);
	return buf;
}

bool raw_container_match(const char *id, const char *want)
{
	if (!want)
		return true;
	if (!strcmp(want, "host"))
		return !id || !*id;
	return id && !strncmp(id, want, strlen(want));
}

bool raw_path_wanted(const char *path, const struct qargs *a)
{
	size_t n;

	if (!path)
		return false;
	if (a->path && strcmp(path, a->path))
		return false;
	if (a->path_prefix) {
		n = strlen(a->path_prefix);
		while (n > 1 && a->path_prefix[n - 1] == '/')
			n--;
		if (strncmp(path, a->path_prefix, n) ||
		    (path[n] && path[n] != '/' && !(n == 1 && a->path_prefix[0] == '/')))
			return false;
	}
	if (a->path_glob && fnmatch(a->path_glob, path, 0) != 0)
		return false;
	return true;
}

struct pathq {
	const struct qargs *a;
	bool found;
};

static void match_wanted(const char *name, const char *abs, const char *nt, void *data)
{
	struct pathq *q = data;

	if (nt && !strcmp(nt, "PARENT"))
		return;
	if (raw_path_wanted(abs ? abs : name, q->a) || (abs && raw_path_wanted(name, q->a)))
		q->found = true;
}

bool raw_paths_match(const bson_t *ev, const struct qargs *a)
{
	struct pathq q = { .a = a };

	each_path(ev, match_wanted, &q);
	return q.found;
}
