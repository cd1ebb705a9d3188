/* seqwalk.c — reading a session's raw documents in seq order by _id lookups, in parallel,
 * with gap skipping and catch-up jumps (see seqwalk.h). Owns its worker threads, their store
 * connections and the documents they fetched. */
#include "seqwalk.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "schema.h"
#include "store.h"
#include "when.h"

static const char *const colls[] = { SCHEMA_EVENTS, SCHEMA_PROC_EVENTS, SCHEMA_SNAPSHOT };
#define NCOLLS 3

struct worker {
	struct seqwalk *walk;
	struct store *st;
	pthread_t th;
	int64_t seq;
	int hint;  /* collection to try first */
	int found; /* collection index, -ENOENT, or a store error */
	bson_t doc;
	char err[400];
};

struct seqwalk {
	struct qctx *ctx;
	volatile sig_atomic_t *stop;
	char hex[25];
	int64_t next_seq;    /* the next seq to hand on */
	int last_coll;       /* collection of the last hit: tried first */
	int64_t stall_since; /* when next_seq was first found missing, or 0 */
	int64_t last_ts;     /* ts of the latest document handed on */
	int64_t skipped, jumped;
	void (*fn)(void *data, int coll, const bson_t *doc);
	void *data;
	struct worker w[SEQWALK_WORKERS];
	size_t nworkers;
	pthread_barrier_t start, done;
	bool quit;
};


/* Look seq up in collection c on st: 1 and a copy in *ret (bson_destroy it), 0 when
 * absent, negative with err set on a store failure. */
static int lookup_on(struct store *st, const char *hex, int c, int64_t seq, bson_t *ret,
		     char *err, size_t errlen)
{
	struct store_cursor *cur = NULL;
	bson_t q = BSON_INITIALIZER, opts = BSON_INITIALIZER;
	const bson_t *doc;
	char id[64];
	int r;

	snprintf(id, sizeof(id), "%s:%lld", hex, (long long)seq);
	BSON_APPEND_UTF8(&q, SCHEMA_F_ID, id);
	BSON_APPEND_INT64(&opts, "limit", 1);
	r = store_find(st, colls[c], &q, &opts, &cur, err, errlen);
	if (r == 0) {
		r = store_cursor_next(cur, &doc, err, errlen);
		if (r == 1)
			bson_copy_to(doc, ret);
	}
	store_cursor_free(cur);
	bson_destroy(&q);
	bson_destroy(&opts);
	return r;
}

static int lookup(struct seqwalk *w, int c, int64_t seq, bson_t *ret)
{
	char err[400];
	int r = lookup_on(w->ctx->st, w->hex, c, seq, ret, err, sizeof(err));

	if (r < 0)
		q_store_error(w->ctx, r, colls[c], err);
	return r;
}

/* Find seq in any raw collection: the index of the collection (doc in *ret), -ENOENT, or a
 * store error. */
static int find_seq(struct seqwalk *w, int64_t seq, bson_t *ret, bool with_snapshot)
{
	int n = with_snapshot ? NCOLLS : NCOLLS - 1;

	for (int k = 0; k < n; k++) {
		int c = (w->last_coll + k) % n;
		int r = lookup(w, c, seq, ret);

		if (r < 0)
			return r;
		if (r == 1)
			return c;
	}
	return -ENOENT;
}

/* The highest seq recorded so far (approximately: gaps may hide a few): doubling, then a
 * binary search on "exists". */
static int last_seq(struct seqwalk *w, int64_t *ret)
{
	int64_t lo = 0, hi = 1;
	bson_t d;
	int r;

	for (;;) {
		r = find_seq(w, hi, &d, true);
		/* a missing seq may be a gap (a refused document): look a few further */
		for (int64_t k = 1; r == -ENOENT && k <= 4; k++)
			r = find_seq(w, hi + k, &d, true);
		if (r == -ENOENT)
			break;
		if (r < 0)
			return r;
		bson_destroy(&d);
		lo = hi;
		if (hi > INT64_MAX / 4)
			break;
		hi *= 2;
	}
	while (hi - lo > 1) {
		int64_t mid = lo + (hi - lo) / 2;

		r = find_seq(w, mid, &d, true);
		if (r < 0 && r != -ENOENT)
			return r;
		if (r >= 0) {
			bson_destroy(&d);
			lo = mid;
		} else {
			hi = mid;
		}
	}
	*ret = lo;
	return 0;
}

static void handle(struct seqwalk *w, int c, const bson_t *d)
{
	int64_t ts = doc_date(d, SCHEMA_F_TS);

	w->last_coll = c;
	w->stall_since = 0;
	if (ts != FMT_NO_TIME)
		w->last_ts = ts;
	w->fn(w->data, c, d);
	w->next_seq++;
}

/* Print every document from next_seq on that is there, one lookup at a time (no workers);
 * returns how many, or an error. */
static int drain_serial(struct seqwalk *w)
{
	int n = 0, c;
	bson_t d;

	while (!*w->stop) {
		c = find_seq(w, w->next_seq, &d, false);
		if (c == -ENOENT)
			return n;
		if (c < 0)
			return c;
		handle(w, c, &d);
		bson_destroy(&d);
		n++;
	}
	return n;
}

static void *worker_main(void *arg)
{
	struct worker *wk = arg;
	struct seqwalk *w = wk->walk;

	for (;;) {
		pthread_barrier_wait(&w->start);
		if (w->quit)
			return NULL;
		wk->found = -ENOENT;
		for (int k = 0; k < NCOLLS - 1; k++) {
			int c = (wk->hint + k) % (NCOLLS - 1);
			int r = lookup_on(wk->st, w->hex, c, wk->seq, &wk->doc, wk->err,
					  sizeof(wk->err));

			if (r < 0 || r == 1) {
				wk->found = r < 0 ? r : c;
				break;
			}
		}
		pthread_barrier_wait(&w->done);
	}
}

static void workers_start(struct seqwalk *w)
{
	const struct qargs *a = w->ctx->args;
	char err[400];
	size_t n = 0;

	for (; n < SEQWALK_WORKERS; n++) {
		w->w[n].walk = w;
		if (store_open(a->uri, a->db, &w->w[n].st, err, sizeof(err)) < 0)
			break;
	}
	if (n < 2 || pthread_barrier_init(&w->start, NULL, (unsigned)n + 1) ||
	    pthread_barrier_init(&w->done, NULL, (unsigned)n + 1)) {
		for (size_t i = 0; i < n; i++)
			store_free(w->w[i].st);
		return; /* one lookup at a time, on the main connection */
	}
	for (size_t i = 0; i < n; i++) {
		if (pthread_create(&w->w[i].th, NULL, worker_main, &w->w[i]) != 0) {
			/* cannot happen short of resource exhaustion: fall back to serial */
			fprintf(stderr, "lineage-query: cannot start lookup threads\n");
			exit(QEXIT_DB_ERROR);
		}
	}
	w->nworkers = n;
}

static void workers_stop(struct seqwalk *w)
{
	if (!w->nworkers)
		return;
	w->quit = true;
	pthread_barrier_wait(&w->start);
	for (size_t i = 0; i < w->nworkers; i++) {
		pthread_join(w->w[i].th, NULL);
		store_free(w->w[i].st);
	}
	pthread_barrier_destroy(&w->start);
	pthread_barrier_destroy(&w->done);
}

/* Too far behind the listener (the store answers slower than it records): jump to the end
 * and say how much was passed over, so that the live view stays live. */
static int catch_up(struct seqwalk *w)
{
	int64_t last = 0;
	int r;

	if (w->last_ts == FMT_NO_TIME || when_now_ms() - w->last_ts < SEQWALK_BEHIND_MS)
		return 0;
	r = last_seq(w, &last);
	if (r < 0)
		return r;
	if (last >= w->next_seq) {
		fprintf(stderr, "lineage-query: %.1f s behind the listener: passing over %lld "
			"record(s) (seq %lld-%lld) to stay live\n",
			(double)(when_now_ms() - w->last_ts) / 1000, (long long)(last + 1 - w->next_seq),
			(long long)w->next_seq, (long long)last);
		w->jumped += last + 1 - w->next_seq;
		w->next_seq = last + 1;
	}
	w->last_ts = FMT_NO_TIME;
	return 0;
}

/* Print every document from next_seq on that is there, SEQWALK_WORKERS lookups at a time;
 * returns how many, or an error. */
static int drain(struct seqwalk *w)
{
	int n = 0, r;

	if (!w->nworkers)
		return drain_serial(w);
	while (!*w->stop) {
		bool gap = false;
		size_t got = 0;

		r = 0;
		for (size_t i = 0; i < w->nworkers; i++) {
			w->w[i].seq = w->next_seq + (int64_t)i;
			w->w[i].hint = w->last_coll < NCOLLS - 1 ? w->last_coll : 0;
		}
		pthread_barrier_wait(&w->start);
		pthread_barrier_wait(&w->done);
		for (size_t i = 0; i < w->nworkers; i++) {
			struct worker *wk = &w->w[i];

			if (wk->found >= 0) {
				if (!gap && r == 0) {
					handle(w, wk->found, &wk->doc);
					got++;
					n++;
				}
				bson_destroy(&wk->doc); /* past a gap: asked again next round */
			} else if (wk->found == -ENOENT) {
				gap = true;
			} else if (r == 0) {
				r = q_store_error(w->ctx, wk->found, "lookup", wk->err);
			}
		}
		if (r < 0)
			return r;
		if (got < w->nworkers)
			return n;
		r = catch_up(w);
		if (r < 0)
			return r;
	}
	return n;
}

/* next_seq is missing: if a later one exists and the gap has lasted SEQWALK_GAP_MS, move
 * past it. */
static int maybe_skip_gap(struct seqwalk *w)
{
	int64_t now = when_now_ms();
	bson_t d;
	int c;

	if (!w->stall_since) {
		w->stall_since = now;
		return 0;
	}
	if (now - w->stall_since < SEQWALK_GAP_MS)
		return 0;
	for (int64_t k = 1; k <= SEQWALK_AHEAD && !*w->stop; k++) {
		c = find_seq(w, w->next_seq + k, &d, false);
		if (c == -ENOENT)
			continue;
		if (c < 0)
			return c;
		bson_destroy(&d);
		w->skipped += k;
		w->next_seq += k;
		break;
	}
	w->stall_since = now; /* look again no sooner than SEQWALK_GAP_MS */
	return 0;
}

int seqwalk_last(struct seqwalk *w, int64_t *ret)
{
	return last_seq(w, ret);
}

int seqwalk_drain(struct seqwalk *w, void (*fn)(void *data, int coll, const bson_t *doc),
		  void *data)
{
	w->fn = fn;
	w->data = data;
	return drain(w);
}

int seqwalk_idle(struct seqwalk *w)
{
	return maybe_skip_gap(w);
}

int64_t seqwalk_next(const struct seqwalk *w)
{
	return w->next_seq;
}

int64_t seqwalk_skipped(const struct seqwalk *w)
{
	return w->skipped;
}

int64_t seqwalk_jumped(const struct seqwalk *w)
{
	return w->jumped;
}

int seqwalk_new(struct qctx *ctx, bool parallel, volatile sig_atomic_t *stop,
		struct seqwalk **ret, int64_t *ret_last)
{
	struct seqwalk *w = calloc(1, sizeof(*w));
	int64_t last = 0;
	int r;

	if (!w)
		return -ENOMEM;
	w->ctx = ctx;
	w->stop = stop;
	w->last_ts = FMT_NO_TIME;
	bson_oid_to_string(&ctx->session, w->hex);
	r = last_seq(w, &last);
	if (r < 0) {
		free(w);
		return r;
	}
	w->next_seq = last + 1;
	if (parallel)
		workers_start(w);
	*ret = w;
	*ret_last = last;
	return 0;
}

void seqwalk_free(struct seqwalk *w)
{
	if (!w)
		return;
	workers_stop(w);
	free(w);
}
