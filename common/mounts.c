/* mounts.c — mountinfo text, host sources of a container's mounts, overlay directories and
 * the longest mount of a path (see mounts.h). Owns the tables it returns. */
#include "mounts.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "path.h"

/* n bytes of s with mountinfo's octal escapes decoded, into a new string: 0, -EINVAL any other
 * backslash, an escaped NUL or too long, -ENOMEM. */
static int unescape(const char *s, size_t n, char **ret)
{
	char *out, *o;

	if (n > MOUNTS_MAX_STR)
		return -EINVAL;
	out = malloc(n + 1);
	if (!out)
		return -ENOMEM;
	o = out;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '\0')
			goto bad;
		if (s[i] != '\\') {
			*o++ = s[i];
			continue;
		}
		if (i + 3 >= n || s[i + 1] < '0' || s[i + 1] > '3' || s[i + 2] < '0' ||
		    s[i + 2] > '7' || s[i + 3] < '0' || s[i + 3] > '7')
			goto bad;
		*o = (char)((s[i + 1] - '0') * 64 + (s[i + 2] - '0') * 8 + (s[i + 3] - '0'));
		if (!*o)
			goto bad;
		o++;
		i += 3;
	}
	*o = '\0';
	*ret = out;
	return 0;
bad:
	free(out);
	return -EINVAL;
}

static void line_release(struct mounts_line *l)
{
	free(l->root);
	free(l->point);
	free(l->fstype);
	free(l->source);
	free(l->super);
	memset(l, 0, sizeof(*l));
}

void mounts_info_release(struct mounts_info *mi)
{
	if (!mi)
		return;
	for (size_t i = 0; i < mi->n; i++)
		line_release(&mi->v[i]);
	free(mi->v);
	mi->v = NULL;
	mi->n = 0;
}

static bool parse_uint(const char *s, size_t n, unsigned *ret)
{
	unsigned long v = 0;

	if (n == 0 || n > 9)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (unsigned long)(s[i] - '0');
	}
	*ret = (unsigned)v;
	return true;
}

/* Does the comma list s (n bytes) hold the word w? */
static bool has_opt(const char *s, size_t n, const char *w)
{
	size_t wl = strlen(w);
	const char *end = s + n;

	while (s < end) {
		const char *c = memchr(s, ',', (size_t)(end - s));
		size_t l = (size_t)((c ? c : end) - s);

		if (l == wl && !memcmp(s, w, wl))
			return true;
		s += l + 1;
	}
	return false;
}

/* One line (no newline) into *l: 0, -EINVAL malformed, -ENOMEM. */
static int parse_line(const char *s, size_t n, struct mounts_line *l)
{
	const char *f[16], *end = s + n, *p = s;
	size_t fl[16], nf = 0, dash = 0;
	const char *maj, *colon;
	int r;

	memset(l, 0, sizeof(*l));
	while (p < end && nf < 16) {
		const char *sp = memchr(p, ' ', (size_t)(end - p));
		const char *e = sp ? sp : end;

		f[nf] = p;
		fl[nf] = (size_t)(e - p);
		if (fl[nf] == 1 && *p == '-' && nf >= 6 && !dash)
			dash = nf;
		nf++;
		p = sp ? sp + 1 : end;
	}
	if (!dash || nf < dash + 4 || p < end)
		return -EINVAL;
	maj = f[2];
	colon = memchr(maj, ':', fl[2]);
	if (!parse_uint(f[0], fl[0], &l->id) || !parse_uint(f[1], fl[1], &l->parent) || !colon ||
	    !parse_uint(maj, (size_t)(colon - maj), &l->major) ||
	    !parse_uint(colon + 1, fl[2] - (size_t)(colon - maj) - 1, &l->minor))
		return -EINVAL;
	l->ro = has_opt(f[5], fl[5], "ro");
	for (size_t k = 6; k < dash; k++) {
		static const char *const kinds[] = { "shared:", "master:", "propagate_from:" };

		for (size_t j = 0; j < 3; j++)
			if (fl[k] > strlen(kinds[j]) && !memcmp(f[k], kinds[j], strlen(kinds[j])) &&
			    !l->propagation[0])
				snprintf(l->propagation, sizeof(l->propagation), "%s",
					 j == 0 ? "shared" : "slave");
	}
	if (!l->propagation[0])
		snprintf(l->propagation, sizeof(l->propagation), "private");
	if ((r = unescape(f[3], fl[3], &l->root)) < 0 || (r = unescape(f[4], fl[4], &l->point)) < 0 ||
	    (r = unescape(f[dash + 1], fl[dash + 1], &l->fstype)) < 0 ||
	    (r = unescape(f[dash + 2], fl[dash + 2], &l->source)) < 0 ||
	    (r = unescape(f[dash + 3], fl[dash + 3], &l->super)) < 0) {
		line_release(l);
		return r;
	}
	if (!path_is_absolute(l->root) || !path_is_absolute(l->point)) {
		line_release(l);
		return -EINVAL;
	}
	return 0;
}

int mounts_info_parse(const char *text, size_t len, struct mounts_info *ret, size_t *ret_refused)
{
	struct mounts_info mi = { 0 };
	const char *line = text, *end = text + len;
	size_t refused = 0, cap = 0;

	while (line < end) {
		const char *nl = memchr(line, '\n', (size_t)(end - line));
		const char *eol = nl ? nl : end;
		struct mounts_line l;
		int r;

		if (eol == line) {
			line = eol + 1;
			continue;
		}
		if (mi.n == MOUNTS_MAX) {
			refused++;
			line = eol + 1;
			continue;
		}
		r = parse_line(line, (size_t)(eol - line), &l);
		if (r == -ENOMEM) {
			mounts_info_release(&mi);
			return r;
		}
		if (r < 0) {
			refused++;
		} else {
			if (mi.n == cap) {
				size_t nc = cap ? cap * 2 : 32;
				struct mounts_line *nv = realloc(mi.v, nc * sizeof(*nv));

				if (!nv) {
					line_release(&l);
					mounts_info_release(&mi);
					return -ENOMEM;
				}
				mi.v = nv;
				cap = nc;
			}
			mi.v[mi.n++] = l;
		}
		line = eol + 1;
	}
	*ret = mi;
	if (ret_refused)
		*ret_refused = refused;
	return 0;
}

/* Is prefix a path prefix of s by whole components? *ret_rest: what follows. */
static bool comp_prefix(const char *prefix, const char *s, const char **ret_rest)
{
	size_t n = strlen(prefix);

	if (n == 1 && prefix[0] == '/') {
		*ret_rest = s[0] == '/' && s[1] ? s : "";
		return s[0] == '/';
	}
	if (strncmp(prefix, s, n) || (s[n] != '\0' && s[n] != '/'))
		return false;
	*ret_rest = s + n;
	return true;
}

int mounts_host_source(const struct mounts_info *host, const struct mounts_line *l,
		       char **ret_path)
{
	const struct mounts_line *best = NULL;
	const char *best_rest = NULL;
	size_t best_len = 0;
	char *out = NULL, *clean = NULL;
	int r;

	for (size_t i = 0; i < host->n; i++) {
		const struct mounts_line *h = &host->v[i];
		const char *rest;
		size_t hl = strlen(h->root);

		if (h->major != l->major || h->minor != l->minor)
			continue;
		if (!comp_prefix(h->root, l->root, &rest))
			continue;
		/* the longest root; of equal roots the first (the one mounted earliest) */
		if (!best || hl > best_len) {
			best = h;
			best_len = hl;
			best_rest = rest;
		}
	}
	if (!best)
		return -ENOENT;
	if (asprintf(&out, "%s%s", best->point, best_rest) < 0)
		return -ENOMEM;
	r = path_clean(out, &clean);
	free(out);
	if (r < 0)
		return r;
	*ret_path = clean;
	return 0;
}

static void free_dirs(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

int mounts_split_dirs(const char *value, size_t len, const char *base, char ***ret_dirs,
		      size_t *ret_n)
{
	const char *end = value + len;
	char **v = NULL;
	size_t n = 0;
	int r = 0;

	while (value < end && r == 0) {
		const char *c = memchr(value, ':', (size_t)(end - value));
		size_t l = (size_t)((c ? c : end) - value);
		char *part = NULL, *abs = NULL, *clean = NULL, **nv;

		if (n == MOUNTS_MAX_LOWERS || l == 0) {
			r = -EINVAL;
			break;
		}
		r = unescape(value, l, &part);
		if (r == 0 && !path_is_absolute(part)) {
			if (!base || !path_is_absolute(base) || path_join(base, part, &abs) < 0)
				r = -EINVAL;
		}
		if (r == 0)
			r = path_clean(abs ? abs : part, &clean);
		if (r == 0 && (!path_is_absolute(clean) || !strcmp(clean, "/")))
			r = -EINVAL;
		free(part);
		free(abs);
		if (r == 0) {
			nv = realloc(v, (n + 1) * sizeof(*v));
			if (!nv) {
				r = -ENOMEM;
			} else {
				v = nv;
				v[n++] = clean;
				clean = NULL;
			}
		}
		free(clean);
		value += l + 1;
	}
	if (r == 0 && n == 0)
		r = -EINVAL;
	if (r < 0) {
		free_dirs(v, n);
		return r;
	}
	*ret_dirs = v;
	*ret_n = n;
	return 0;
}

/* The value of key= in the comma list s, its length in *ret_len; NULL absent. The next comma
 * ends it (a directory whose name holds a comma is cut there: a limit, see notes). */
static const char *opt_value(const char *s, const char *key, size_t *ret_len)
{
	size_t kl = strlen(key);

	while (*s) {
		const char *c = strchr(s, ',');
		size_t l = c ? (size_t)(c - s) : strlen(s);

		if (l > kl && !strncmp(s, key, kl)) {
			*ret_len = l - kl;
			return s + kl;
		}
		s += l + (c ? 1 : 0);
	}
	return NULL;
}

int mounts_overlay_dirs(const struct mounts_info *mi, const char *base, char **ret_upper,
			char ***ret_lowers, size_t *ret_nlowers)
{
	const struct mounts_line *root = NULL;
	const char *v;
	char **lowers = NULL, **up = NULL;
	size_t vl = 0, nl = 0, nu = 0;
	int r;

	/* the last mount on "/" is the one the processes see */
	for (size_t i = 0; i < mi->n; i++)
		if (!strcmp(mi->v[i].point, "/"))
			root = &mi->v[i];
	if (!root || strcmp(root->fstype, "overlay"))
		return -ENOENT;
	v = opt_value(root->super, "lowerdir=", &vl);
	if (!v)
		return -ENOENT;
	r = mounts_split_dirs(v, vl, base, &lowers, &nl);
	if (r < 0)
		return r;
	v = opt_value(root->super, "upperdir=", &vl);
	if (v) {
		r = mounts_split_dirs(v, vl, base, &up, &nu);
		if (r == 0 && nu != 1)
			r = -EINVAL;
		if (r < 0) {
			free_dirs(up, nu);
			free_dirs(lowers, nl);
			return r;
		}
	}
	*ret_upper = up ? up[0] : NULL;
	free(up);
	*ret_lowers = lowers;
	*ret_nlowers = nl;
	return 0;
}

int mounts_longest(const char *const *dests, size_t n, const char *path, const char **ret_rest)
{
	int best = -1;
	size_t best_len = 0;
	const char *best_rest = NULL;

	if (!path || path[0] != '/')
		return -1;
	for (size_t i = 0; i < n; i++) {
		const char *rest;
		size_t dl;

		if (!dests[i] || dests[i][0] != '/' || !comp_prefix(dests[i], path, &rest))
			continue;
		dl = strlen(dests[i]);
		if (best < 0 || dl >= best_len) { /* equal: the later mount hides the earlier */
			best = (int)i;
			best_len = dl;
			best_rest = rest;
		}
	}
	if (best >= 0 && ret_rest)
		*ret_rest = best_rest;
	return best;
}
