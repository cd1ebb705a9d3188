/* assemble.c — records → events by serial (EOE, timeout, overflow), and the execve argv join.
 * Owns the open events: a hash by serial for lookup and a list by age for timeout/overflow.
 * Pure: no bson, no logging; the emit callback decides what an event becomes. */
#include "assemble.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct pending {
	struct audit_event ev;     /* first: the callback sees &p->ev */
	size_t cap;
	size_t bytes;              /* record text held, bounded by ASM_EVENT_MAX_BYTES */
	uint64_t born_ms;
	struct pending *hnext;     /* hash chain */
	struct pending *prev, *next; /* age list, oldest at head */
	/* records of most events (SYSCALL, CWD, PATHs, PROCTITLE): no second allocation */
	struct audit_record *inline_records[8];
};

struct asm_ctx {
	unsigned timeout_ms;
	size_t max_pending;
	asm_emit_fn emit;
	void *opaque;
	struct pending **buckets;
	size_t nbuckets;           /* power of two */
	struct pending *head, *tail;
	size_t npending;
	uint64_t max_serial;
	bool have_serial;
	struct asm_stats st;
};

int asm_new(unsigned timeout_ms, size_t max_pending, asm_emit_fn emit, void *opaque,
	    struct asm_ctx **ret)
{
	struct asm_ctx *ctx;
	size_t nb = 16;

	if (!emit || max_pending == 0 || max_pending > (1u << 24))
		return -EINVAL;
	while (nb < max_pending * 2 && nb < (1u << 16))
		nb <<= 1;
	ctx = calloc(1, sizeof(*ctx));
	if (!ctx)
		return -ENOMEM;
	ctx->buckets = calloc(nb, sizeof(*ctx->buckets));
	if (!ctx->buckets) {
		free(ctx);
		return -ENOMEM;
	}
	ctx->nbuckets = nb;
	ctx->timeout_ms = timeout_ms;
	ctx->max_pending = max_pending;
	ctx->emit = emit;
	ctx->opaque = opaque;
	*ret = ctx;
	return 0;
}

static size_t bucket_of(const struct asm_ctx *ctx, uint64_t serial)
{
	return (size_t)((serial * 0x9E3779B97F4A7C15ull) >> 40) & (ctx->nbuckets - 1);
}

static struct pending *lookup(const struct asm_ctx *ctx, uint64_t serial)
{
	struct pending *p = ctx->buckets[bucket_of(ctx, serial)];

	while (p && p->ev.serial != serial)
		p = p->hnext;
	return p;
}

static void pending_free(struct pending *p)
{
	for (size_t i = 0; i < p->ev.nrecords; i++)
		audit_record_free(p->ev.records[i]);
	if (p->ev.records != p->inline_records)
		free(p->ev.records);
	free(p);
}

static void unlink_pending(struct asm_ctx *ctx, struct pending *p)
{
	struct pending **pp = &ctx->buckets[bucket_of(ctx, p->ev.serial)];

	while (*pp != p)
		pp = &(*pp)->hnext;
	*pp = p->hnext;
	if (p->prev)
		p->prev->next = p->next;
	else
		ctx->head = p->next;
	if (p->next)
		p->next->prev = p->prev;
	else
		ctx->tail = p->prev;
	ctx->npending--;
}

static void emit_pending(struct asm_ctx *ctx, struct pending *p)
{
	unlink_pending(ctx, p);
	ctx->st.events++;
	ctx->emit(ctx->opaque, &p->ev);
	pending_free(p);
}

void asm_free(struct asm_ctx *ctx)
{
	struct pending *p, *n;

	if (!ctx)
		return;
	for (p = ctx->head; p; p = n) {
		n = p->next;
		pending_free(p);
	}
	free(ctx->buckets);
	free(ctx);
}

static void note_serial(struct asm_ctx *ctx, uint64_t serial)
{
	uint64_t d;

	if (!ctx->have_serial) {
		ctx->have_serial = true;
		ctx->max_serial = serial;
		return;
	}
	if (serial <= ctx->max_serial)
		return; /* interleaving, or an older event: not a gap */
	d = serial - ctx->max_serial;
	if (d > 1 && d < (1ull << 31)) {
		ctx->st.serial_gaps++;
		ctx->st.serials_missing += d - 1;
	}
	ctx->max_serial = serial; /* a jump of 2^31 or more is a restart, not a gap */
}

static struct pending *open_event(struct asm_ctx *ctx, const struct audit_record *r,
				  uint64_t now_ms)
{
	struct pending *p;
	size_t b;

	if (ctx->npending >= ctx->max_pending) {
		ctx->st.overflowed++;
		emit_pending(ctx, ctx->head);
	}
	p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	p->cap = sizeof(p->inline_records) / sizeof(p->inline_records[0]);
	p->ev.records = p->inline_records;
	p->ev.serial = r->serial;
	p->ev.sec = r->sec;
	p->ev.msec = r->msec;
	p->born_ms = now_ms;
	b = bucket_of(ctx, r->serial);
	p->hnext = ctx->buckets[b];
	ctx->buckets[b] = p;
	p->prev = ctx->tail;
	if (ctx->tail)
		ctx->tail->next = p;
	else
		ctx->head = p;
	ctx->tail = p;
	ctx->npending++;
	return p;
}

/* Append r to p (which then owns it); drops it when the event is full. */
static int append_record(struct asm_ctx *ctx, struct pending *p, struct audit_record *r)
{
	if (p->ev.nrecords == ASM_EVENT_MAX_RECORDS ||
	    p->bytes + r->body_len > ASM_EVENT_MAX_BYTES) {
		ctx->st.dropped_records++;
		p->ev.truncated = true;
		audit_record_free(r);
		return 0;
	}
	if (p->ev.nrecords == p->cap) {
		size_t cap = p->cap * 2;
		struct audit_record **v;

		if (p->ev.records == p->inline_records) {
			v = malloc(cap * sizeof(*v));
			if (v)
				memcpy(v, p->inline_records, sizeof(p->inline_records));
		} else {
			v = realloc(p->ev.records, cap * sizeof(*v));
		}
		if (!v) {
			audit_record_free(r);
			return -ENOMEM;
		}
		p->ev.records = v;
		p->cap = cap;
	}
	p->ev.records[p->ev.nrecords++] = r;
	p->bytes += r->body_len;
	return 0;
}

int asm_feed(struct asm_ctx *ctx, int type, const char *text, size_t len, uint64_t now_ms)
{
	struct audit_record *r;
	struct pending *p;
	int err;

	err = audit_record_parse(type, text, len, &r);
	if (err < 0) {
		ctx->st.parse_errors++;
		return err;
	}
	ctx->st.records++;
	note_serial(ctx, r->serial);
	p = lookup(ctx, r->serial);
	if (type == AUDIT_T_EOE) {
		if (!p) {
			ctx->st.stray_eoe++;
			audit_record_free(r);
			return 0;
		}
		err = append_record(ctx, p, r);
		p->ev.complete = true;
		emit_pending(ctx, p);
		return err;
	}
	if (!p) {
		p = open_event(ctx, r, now_ms);
		if (!p) {
			audit_record_free(r);
			return -ENOMEM;
		}
	}
	return append_record(ctx, p, r);
}

int asm_feed_line(struct asm_ctx *ctx, const char *line, size_t len, uint64_t now_ms)
{
	const char *text;
	size_t tlen, i;
	int type;

	for (i = 0; i < len && (line[i] == ' ' || line[i] == '\n' || line[i] == '\r'); i++)
		;
	if (i == len)
		return 0;
	if (audit_line_split(line, len, &type, &text, &tlen) < 0) {
		ctx->st.parse_errors++;
		return -EINVAL;
	}
	return asm_feed(ctx, type, text, tlen, now_ms);
}

void asm_expire(struct asm_ctx *ctx, uint64_t now_ms)
{
	while (ctx->head && now_ms >= ctx->head->born_ms &&
	       now_ms - ctx->head->born_ms >= ctx->timeout_ms) {
		ctx->st.timed_out++;
		emit_pending(ctx, ctx->head);
	}
}

void asm_flush(struct asm_ctx *ctx)
{
	while (ctx->head) {
		ctx->st.flushed++;
		emit_pending(ctx, ctx->head);
	}
}

size_t asm_pending(const struct asm_ctx *ctx)
{
	return ctx->npending;
}

void asm_get_stats(const struct asm_ctx *ctx, struct asm_stats *ret)
{
	*ret = ctx->st;
}

const struct audit_record *audit_event_record(const struct audit_event *ev, int type)
{
	for (size_t i = 0; i < ev->nrecords; i++)
		if (ev->records[i]->type == type)
			return ev->records[i];
	return NULL;
}

long audit_event_pid(const struct audit_event *ev)
{
	const struct audit_record *sc = audit_event_record(ev, AUDIT_T_SYSCALL);
	int64_t pid;

	if (sc && audit_record_i64(sc, "pid", 10, &pid) == 0)
		return (long)pid;
	for (size_t i = 0; i < ev->nrecords; i++)
		if (audit_record_i64(ev->records[i], "pid", 10, &pid) == 0)
			return (long)pid;
	return -1;
}

long audit_event_ppid(const struct audit_event *ev)
{
	const struct audit_record *sc = audit_event_record(ev, AUDIT_T_SYSCALL);
	int64_t ppid;

	return sc && audit_record_i64(sc, "ppid", 10, &ppid) == 0 ? (long)ppid : -1;
}

/* "a<N>" → 0 with *n, *frag = -1; "a<N>[<I>]" → 0 with *frag = I; else -1. */
static int argv_key(const char *k, size_t *n, long *frag)
{
	size_t v = 0, f = 0;
	const char *p = k + 1;

	if (k[0] != 'a' || *p < '0' || *p > '9')
		return -1;
	for (; *p >= '0' && *p <= '9'; p++) {
		if (v > 100000000)
			return -1;
		v = v * 10 + (size_t)(*p - '0');
	}
	*n = v;
	*frag = -1;
	if (*p == '\0')
		return 0;
	if (*p++ != '[' || *p < '0' || *p > '9')
		return -1;
	for (; *p >= '0' && *p <= '9'; p++) {
		if (f > 100000000)
			return -1;
		f = f * 10 + (size_t)(*p - '0');
	}
	if (p[0] != ']' || p[1] != '\0')
		return -1;
	*frag = (long)f;
	return 0;
}

void audit_argv_release(struct audit_argv *a)
{
	if (!a)
		return;
	for (size_t i = 0; a->v && i < a->n; i++)
		free(a->v[i]);
	free(a->v);
	free(a->len);
	a->v = NULL;
	a->len = NULL;
	a->n = 0;
}

int audit_event_argv(const struct audit_event *ev, struct audit_argv *ret)
{
	struct audit_argv a = { 0 };
	const struct audit_record *first = audit_event_record(ev, AUDIT_T_EXECVE);
	long *next_frag = NULL;
	size_t bytes = 0;
	int64_t argc;
	int err = -ENOMEM;

	if (!first)
		return -ENOENT;
	if (audit_record_i64(first, "argc", 10, &argc) < 0 || argc < 0) {
		/* no usable argc: count the aN fields of all EXECVE records */
		size_t max = 0, n;
		long frag;

		for (size_t i = 0; i < ev->nrecords; i++) {
			const struct audit_record *r = ev->records[i];

			if (r->type != AUDIT_T_EXECVE)
				continue;
			for (size_t j = 0; j < r->nfields; j++)
				if (argv_key(r->fields[j].key, &n, &frag) == 0 && n + 1 > max)
					max = n + 1;
		}
		argc = (int64_t)max;
		a.truncated = true;
	}
	a.argc = (size_t)argc;
	a.n = a.argc < ASM_ARGV_MAX ? a.argc : ASM_ARGV_MAX;
	if (a.n < a.argc)
		a.truncated = true;
	a.v = calloc(a.n ? a.n : 1, sizeof(*a.v));
	a.len = calloc(a.n ? a.n : 1, sizeof(*a.len));
	next_frag = calloc(a.n ? a.n : 1, sizeof(*next_frag));
	if (!a.v || !a.len || !next_frag)
		goto out;

	for (size_t i = 0; i < ev->nrecords; i++) {
		const struct audit_record *r = ev->records[i];

		if (r->type != AUDIT_T_EXECVE)
			continue;
		for (size_t j = 0; j < r->nfields; j++) {
			const struct audit_field *f = &r->fields[j];
			size_t n;
			long frag;
			char *s;

			if (argv_key(f->key, &n, &frag) < 0 || n >= a.n)
				continue;
			if (bytes + f->val_len > ASM_ARGV_MAX_BYTES) {
				a.truncated = true;
				continue;
			}
			if (frag < 0) {
				if (a.v[n]) /* a repeated aN: keep the first */
					continue;
				s = malloc(f->val_len + 1);
				if (!s)
					goto out;
				memcpy(s, f->val, f->val_len);
				s[f->val_len] = '\0';
				a.v[n] = s;
				a.len[n] = f->val_len;
			} else {
				if (frag != next_frag[n]) /* a lost or repeated fragment */
					a.truncated = true;
				next_frag[n] = frag + 1;
				s = realloc(a.v[n], a.len[n] + f->val_len + 1);
				if (!s)
					goto out;
				memcpy(s + a.len[n], f->val, f->val_len);
				a.len[n] += f->val_len;
				s[a.len[n]] = '\0';
				a.v[n] = s;
			}
			bytes += f->val_len;
		}
	}
	for (size_t n = 0; n < a.n; n++) {
		if (a.v[n])
			continue;
		a.truncated = true;
		a.v[n] = calloc(1, 1);
		if (!a.v[n])
			goto out;
	}
	free(next_frag);
	*ret = a;
	return 0;
out:
	free(next_frag);
	audit_argv_release(&a);
	return err;
}
