/* writer.c — the writer thread between the queue and MongoDB (see writer.h). Owns the
 * queue, the spool, the store client (used only by the writer thread once started) and the
 * per-collection batches. Logs here, rate-limited, because this is where errors are handled.
 *
 * Start: the sessions document first (stored, or spooled when the database is away). Loop:
 * reconnect when due (ping with backoff; on success close the open spool segments and, the
 * first time, create the indexes) → replay one spool segment when the database is up → pop
 * the queue (waiting at most until the next batch is due) → insert full or old-enough
 * batches, or spool them while the database is away. */
#include "writer.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "chain.h"
#include "log.h"
#include "queue.h"
#include "schema.h"
#include "segment.h"
#include "spool.h"
#include "store.h"

#define BACKOFF_MIN_MS 250
#define BACKOFF_MAX_MS 8000
#define POP_WAIT_MAX_MS 100
#define SOCKET_TIMEOUT_MS 10000 /* a partitioned server must not hold the writer for minutes */
#define LOG_EVERY_MS 10000      /* repeated failures: one line per 10 s */
#define REFUSED_MAX 3           /* a segment the server refuses this often is set aside */

struct batch {
	const char *collection;
	bson_t **docs; /* batch_max slots, owned */
	size_t n;
	int64_t first_ms; /* when the oldest document entered the batch */
};

struct ratelimit {
	int64_t last_ms;
	uint64_t suppressed;
};

/* The open segment of one raw stream (issue 33). */
struct open_seg {
	struct seg_builder *b;
	int64_t first_ms; /* when its oldest document came in */
};


/* A set of open segments, one per raw stream (seg_streams: their documents are stored in
 * segments, never alone): the writer thread's, and the overflow set that
 * writer_submit() fills when the queue is full (under overflow_lock). */
struct seg_set {
	struct open_seg s[SEG_NSTREAMS];
	void *zctx;
};

struct writer {
	char *uri, *db, *spool_dir;
	size_t batch_max;
	unsigned batch_age_ms;

	struct queue *q;
	struct spool *sp;
	struct store *st; /* the writer thread's only (the caller's again after writer_stop) */
	bson_t *session_doc; /* writer_session_open()'s, until stored or spooled */
	struct chain *chain; /* not owned; NULL: segments unchained */
	bson_oid_t session;  /* of the segments sealed unchained */
	char session_hex[25];
	size_t seg_events;
	unsigned seg_ms;
	struct seg_set segs;     /* writer thread */
	struct seg_set overflow; /* submitters when the queue is full; overflow_lock */
	pthread_mutex_t overflow_lock;
	bool create_indexes, indexes_done;

	pthread_t thread;
	bool started, stopped;
	atomic_bool stopping;
	_Atomic int64_t deadline_ms; /* valid once stopping */
	int stop_result;

	/* writer thread state */
	struct batch *batches;
	size_t nbatches;
	bool db_up, giving_up, replay_needed;
	unsigned backoff_ms;
	int64_t next_try_ms;
	uint64_t spool_appended_seen;
	unsigned refused; /* consecutive refusals of the oldest segment */
	struct ratelimit rl_insert;

	/* counters: atomics, written by any thread */
	_Atomic uint64_t submitted, inserted, duplicates, spooled, replayed, dropped, torn,
		insert_errors, nbatch, batch_docs, rejected_segments, rejected_docs, sealed,
		seal_errors, segs_stored, raw_bytes, packed_bytes;
	_Atomic int64_t last_insert_us;
	atomic_bool db_up_shown;

	pthread_mutex_t submit_log_lock;
	struct ratelimit rl_submit, rl_drop;
};

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* true when a message may be logged now; *ret_suppressed gets how many were held back. */
static bool ratelimit_ok(struct ratelimit *rl, uint64_t *ret_suppressed)
{
	int64_t now = now_ms();

	if (rl->last_ms && now - rl->last_ms < LOG_EVERY_MS) {
		rl->suppressed++;
		return false;
	}
	rl->last_ms = now;
	*ret_suppressed = rl->suppressed;
	rl->suppressed = 0;
	return true;
}

/* The URI with socketTimeoutMS added when it has none. Caller frees. */
static char *uri_with_socket_timeout(const char *uri)
{
	const char *hosts = strstr(uri, "://");
	const char *sep;
	char *out;

	if (strcasestr(uri, "sockettimeoutms="))
		return strdup(uri);
	if (strchr(uri, '?'))
		sep = "&";
	else if (hosts && strchr(hosts + 3, '/'))
		sep = "?";
	else
		sep = "/?";
	if (asprintf(&out, "%s%ssocketTimeoutMS=%d", uri, sep, SOCKET_TIMEOUT_MS) < 0)
		return NULL;
	return out;
}

int writer_new(const struct writer_config *cfg, struct writer **ret)
{
	struct writer *w;
	char err[512];
	int r;

	if (!cfg->spool_dir || !*cfg->spool_dir)
		return -EINVAL;
	w = calloc(1, sizeof(*w));
	if (!w)
		return -ENOMEM;
	pthread_mutex_init(&w->submit_log_lock, NULL);
	w->batch_max = cfg->batch_max ? cfg->batch_max : 500;
	w->batch_age_ms = cfg->batch_age_ms ? cfg->batch_age_ms : 200;
	w->create_indexes = cfg->create_indexes;
	w->chain = cfg->chain;
	w->seg_events = cfg->segment_events ? cfg->segment_events : SEG_DEFAULT_EVENTS;
	w->seg_ms = cfg->segment_ms ? cfg->segment_ms : SEG_DEFAULT_MS;
	pthread_mutex_init(&w->overflow_lock, NULL);
	if (cfg->session) {
		bson_oid_copy(cfg->session, &w->session);
		bson_oid_to_string(&w->session, w->session_hex);
	}
	w->segs.zctx = seg_cctx_new();
	w->overflow.zctx = seg_cctx_new();
	if (!w->segs.zctx || !w->overflow.zctx) {
		r = -ENOMEM;
		goto out_free;
	}
	w->uri = uri_with_socket_timeout(cfg->uri ? cfg->uri : store_default_uri());
	w->db = cfg->db ? strdup(cfg->db) : NULL;
	w->spool_dir = strdup(cfg->spool_dir);
	if (!w->uri || (cfg->db && !w->db) || !w->spool_dir) {
		r = -ENOMEM;
		goto out_free;
	}
	r = queue_new(cfg->queue_max_items ? cfg->queue_max_items : 65536,
		      cfg->queue_max_bytes ? cfg->queue_max_bytes : (size_t)256 << 20, &w->q);
	if (r < 0)
		goto out_free;
	r = spool_open(w->spool_dir, cfg->spool_segment_docs, cfg->spool_segment_bytes, &w->sp);
	if (r < 0) {
		log_err("spool: cannot open %s: %s", w->spool_dir, strerror(-r));
		goto out_free;
	}
	r = store_open(w->uri, w->db, &w->st, err, sizeof(err));
	if (r < 0) {
		log_err("store: %s", err);
		goto out_free;
	}
	w->stopped = true; /* until writer_start() */
	w->replay_needed = true; /* a previous run may have left a spool */
	w->backoff_ms = BACKOFF_MIN_MS;
	*ret = w;
	return 0;

out_free:
	writer_free(w);
	return r;
}

/* The raw documents a stored document stands for: a segment's n, else 1. */
static uint64_t weight(const char *coll, const bson_t *doc)
{
	bson_iter_t it;

	if (strcmp(coll, SCHEMA_SEGMENTS) == 0 && bson_iter_init_find(&it, doc, SCHEMA_F_SEG_N) &&
	    BSON_ITER_HOLDS_INT(&it))
		return (uint64_t)bson_iter_as_int64(&it);
	return 1;
}

static uint64_t weight_of(const char *coll, bson_t *const *docs, size_t n)
{
	uint64_t sum = 0;

	for (size_t i = 0; i < n; i++)
		sum += weight(coll, docs[i]);
	return sum;
}

/* Documents the server refuses one by one: to a ".rejected" file, counted, never retried. */
static void set_aside(struct writer *w, const char *coll, bson_t **docs, size_t n,
		      const char *why)
{
	int r = spool_set_aside(w->sp, coll, (const bson_t *const *)docs, n);

	if (r == 0) {
		atomic_fetch_add(&w->rejected_docs, weight_of(coll, docs, n));
		log_err("store: %zu documents of %s refused (%s); set aside in %s (%" PRIu64
			" so far)",
			n, coll, why, spool_dir(w->sp), atomic_load(&w->rejected_docs));
		return;
	}
	atomic_fetch_add(&w->dropped, weight_of(coll, docs, n));
	log_err("spool: cannot set aside %zu refused documents of %s in %s: %s — DROPPED (%" PRIu64
		" dropped so far)",
		n, coll, spool_dir(w->sp), strerror(-r), atomic_load(&w->dropped));
}

static void spool_docs(struct writer *w, const char *coll, bson_t **docs, size_t n)
{
	size_t big = 0;
	int r;

	/* A document the server can never take does not go into a segment: it would be refused
	 * at every replay (and the reader stops at a record over SPOOL_MAX_DOC_BYTES). */
	for (size_t i = 0; i < n; i++)
		big += docs[i]->len > STORE_MAX_DOC_BYTES;
	if (big) {
		for (size_t i = 0; i < n; i++) {
			if (docs[i]->len > STORE_MAX_DOC_BYTES)
				set_aside(w, coll, &docs[i], 1, "over 16 MiB");
			else
				spool_docs(w, coll, &docs[i], 1);
		}
		return;
	}
	r = spool_append_many(w->sp, coll, (const bson_t *const *)docs, n);
	if (r == 0) {
		atomic_fetch_add(&w->spooled, weight_of(coll, docs, n));
		return;
	}
	atomic_fetch_add(&w->dropped, weight_of(coll, docs, n));
	/* every drop is logged: this is the one place documents are lost */
	log_err("spool: cannot write %zu documents of %s to %s: %s — DROPPED (%" PRIu64
		" dropped so far)",
		n, coll, spool_dir(w->sp), strerror(-r), atomic_load(&w->dropped));
}

static void set_down(struct writer *w, const char *what, const char *err)
{
	uint64_t suppressed = 0;

	if (w->db_up || !w->next_try_ms)
		w->backoff_ms = BACKOFF_MIN_MS;
	else
		w->backoff_ms = w->backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : w->backoff_ms * 2;
	w->next_try_ms = now_ms() + w->backoff_ms;
	if (ratelimit_ok(&w->rl_insert, &suppressed)) {
		char more[64] = "";

		if (suppressed)
			snprintf(more, sizeof(more), " (%" PRIu64 " similar messages suppressed)",
				 suppressed);
		log_warn("store: %s — %s; will retry in %.2g s%s", err, what, w->backoff_ms / 1000.0,
			 more);
	}
	w->db_up = false;
	atomic_store(&w->db_up_shown, false);
}

static void try_reconnect(struct writer *w)
{
	struct store *fresh;
	char err[512];

	/* A client that failed waits out libmongoc's 5 s cooldown before it dials again; a new
	 * client (no network until used) dials at once, so recovery follows the backoff. */
	if (w->next_try_ms && store_open(w->uri, w->db, &fresh, err, sizeof(err)) == 0) {
		store_free(w->st);
		w->st = fresh;
	}
	if (store_ping(w->st, err, sizeof(err)) < 0) {
		set_down(w, "spooling", err);
		return;
	}
	if (w->next_try_ms)
		log_info("store: %s answers again; replaying the spool", store_uri(w->st));
	/* Segments still open would be listed only after the closed ones: close them, so that
	 * the replay goes by segment number, the order things were spooled in. */
	if (spool_flush(w->sp) < 0)
		log_err("spool: closing segments in %s failed", spool_dir(w->sp));
	if (w->create_indexes && !w->indexes_done) {
		int r = store_create_indexes(w->st, err, sizeof(err));

		if (r < 0)
			log_warn("store: %s", err);
		/* a refusal will not change by retrying; an outage will */
		w->indexes_done = r != -ENOTCONN;
	}
	w->db_up = true;
	w->backoff_ms = BACKOFF_MIN_MS;
	w->rl_insert.last_ms = 0;
	w->replay_needed = true;
	atomic_store(&w->db_up_shown, true);
}

/* Insert docs; 0 or -errno (then the caller decides where they go). Documents the server
 * refuses one by one are set aside here and the call counts as done. */
static int insert_docs(struct writer *w, const char *coll, bson_t **docs, size_t n,
		       bool replay)
{
	struct store_insert_result res;
	char err[512];
	int64_t t0 = now_us();
	bool *refused = calloc(n, sizeof(*refused));
	uint64_t good = 0;
	int r;

	if (!refused)
		return -ENOMEM;
	r = store_insert_many_marked(w->st, coll, (const bson_t *const *)docs, n, refused, &res,
				     err, sizeof(err));
	/* what the server reports done is done, even on failure (the resend is a duplicate).
	 * A segment stored before (its _id is there) counts as stored: its bytes are. */
	if (strcmp(coll, SCHEMA_SEGMENTS) == 0) {
		if (r == 0 || r == -EBADMSG) {
			for (size_t i = 0; i < n; i++)
				if (!refused[i])
					good += weight(coll, docs[i]);
			atomic_fetch_add(&w->segs_stored, n - res.refused);
		}
		atomic_fetch_add(&w->inserted, good);
	} else {
		atomic_fetch_add(&w->inserted, res.inserted);
		good = n - res.refused;
	}
	atomic_fetch_add(&w->duplicates, res.duplicates);
	if (r == -EBADMSG) {
		for (size_t i = 0; i < n; i++)
			if (refused[i])
				set_aside(w, coll, &docs[i], 1, err);
		r = 0;
	}
	free(refused);
	if (r < 0) {
		atomic_fetch_add(&w->insert_errors, 1);
		set_down(w, replay ? "the spool stays for later" : "spooling", err);
		return r;
	}
	atomic_store(&w->last_insert_us, now_us() - t0);
	atomic_fetch_add(&w->nbatch, 1);
	atomic_fetch_add(&w->batch_docs, n);
	if (replay)
		atomic_fetch_add(&w->replayed, good);
	return 0;
}

/* Close records (SCHEMA_SPOOL_SESSION_CLOSE): {_id: session, fields to set}. 0 or -errno
 * like insert_docs(); a record whose session document is not there is logged and done (it
 * is older in the spool, so it was refused or set aside: retrying cannot help). */
static int apply_closes(struct writer *w, bson_t **docs, size_t n)
{
	char err[512], hex[25];
	size_t done = 0;
	int r = 0;

	for (size_t i = 0; i < n; i++) {
		bson_t fields = BSON_INITIALIZER;
		bson_iter_t it;
		bson_oid_t id;
		bool matched = false;

		if (!bson_iter_init_find(&it, docs[i], SCHEMA_F_ID) || !BSON_ITER_HOLDS_OID(&it)) {
			log_err("spool: a session close record without an ObjectId _id; skipped");
			bson_destroy(&fields);
			continue;
		}
		bson_oid_copy(bson_iter_oid(&it), &id);
		bson_copy_to_excluding_noinit(docs[i], &fields, SCHEMA_F_ID, NULL);
		r = store_session_set(w->st, &id, &fields, &matched, err, sizeof(err));
		bson_destroy(&fields);
		if (r < 0) {
			atomic_fetch_add(&w->insert_errors, 1);
			set_down(w, "the spool stays for later", err);
			break;
		}
		done++;
		if (!matched) {
			bson_oid_to_string(&id, hex);
			log_err("store: session %s: close record replayed but no sessions document "
				"with that _id; its ended_at and counters are lost", hex);
		}
	}
	atomic_fetch_add(&w->replayed, done);
	return r;
}

static void free_docs(bson_t **docs, size_t n)
{
	for (size_t i = 0; i < n; i++)
		bson_destroy(docs[i]);
}

static void flush_batch(struct writer *w, struct batch *b)
{
	if (b->n == 0)
		return;
	if (!w->db_up || w->giving_up || insert_docs(w, b->collection, b->docs, b->n, false) < 0)
		spool_docs(w, b->collection, b->docs, b->n);
	free_docs(b->docs, b->n);
	b->n = 0;
}

static struct batch *batch_for(struct writer *w, const char *coll)
{
	struct batch *grown;

	for (size_t i = 0; i < w->nbatches; i++)
		if (w->batches[i].collection == coll || strcmp(w->batches[i].collection, coll) == 0)
			return &w->batches[i];
	grown = realloc(w->batches, (w->nbatches + 1) * sizeof(*grown));
	if (!grown)
		return NULL;
	w->batches = grown;
	grown += w->nbatches;
	grown->collection = coll;
	grown->n = 0;
	grown->docs = calloc(w->batch_max, sizeof(*grown->docs));
	if (!grown->docs)
		return NULL;
	w->nbatches++;
	return grown;
}

/* --- segments (issue 33) ------------------------------------------------------------------ */

/* Segments per insert call: a few MiB, so that one slow insert does not hold many. */
#define SEG_BATCH 8


/* Where a sealed segment goes: the writer thread's batch, or (overflow, writer_free) the
 * spool. Both take the document. */
static void to_batch(struct writer *w, bson_t *seg);
static void to_spool(struct writer *w, bson_t *seg)
{
	spool_docs(w, SCHEMA_SEGMENTS, &seg, 1);
	bson_destroy(seg);
}

/* Seal set's open segment of stream i and hand it to out. A seal that fails loses that
 * segment's documents: counted and logged (zstd or memory failing). */
static void seal(struct writer *w, struct seg_set *set, size_t i,
		 void (*out)(struct writer *, bson_t *))
{
	struct open_seg *o = &set->s[i];
	size_t n, raw;
	bson_t *doc = NULL;
	int r;

	if (!o->b || (n = seg_builder_count(o->b)) == 0)
		return;
	raw = seg_builder_bytes(o->b);
	r = w->chain ? chain_seal(w->chain, o->b, set->zctx, &doc)
		     : seg_builder_seal(o->b, &w->session, w->session_hex, NULL, set->zctx, &doc);
	if (r < 0) {
		atomic_fetch_add(&w->seal_errors, 1);
		atomic_fetch_add(&w->dropped, n);
		log_err("segment: cannot seal %zu documents of %s: %s — DROPPED (%" PRIu64
			" dropped so far)", n, seg_streams[i], strerror(-r), atomic_load(&w->dropped));
		seg_builder_free(o->b); /* a fresh builder, not the same failure again */
		o->b = NULL;
		return;
	}
	atomic_fetch_add(&w->sealed, 1);
	atomic_fetch_add(&w->raw_bytes, raw);
	atomic_fetch_add(&w->packed_bytes, doc->len);
	out(w, doc);
}

/* Put doc (taken) into set's open segment of stream i; a full segment is sealed first. */
static void seg_put(struct writer *w, struct seg_set *set, size_t i, bson_t *doc,
		    void (*out)(struct writer *, bson_t *))
{
	struct open_seg *o = &set->s[i];
	int r;

	/* the segment of one document this large would pass the store's 16 MiB */
	if (doc->len > STORE_MAX_DOC_BYTES - (64u << 10)) {
		set_aside(w, seg_streams[i], &doc, 1, "over 16 MiB");
		bson_destroy(doc);
		return;
	}
	if (o->b && seg_builder_count(o->b) > 0 && seg_builder_bytes(o->b) + doc->len > SEG_RAW_MAX)
		seal(w, set, i, out);
	if (!o->b && (r = seg_builder_new(seg_streams[i], &o->b)) < 0) {
		atomic_fetch_add(&w->dropped, 1);
		log_err("segment: no memory for a segment of %s — a document DROPPED", seg_streams[i]);
		bson_destroy(doc);
		return;
	}
	if (seg_builder_count(o->b) == 0)
		o->first_ms = now_ms();
	r = seg_builder_add(o->b, doc);
	bson_destroy(doc);
	if (r < 0) {
		uint64_t suppressed = 0;

		atomic_fetch_add(&w->dropped, 1);
		if (ratelimit_ok(&w->rl_drop, &suppressed))
			log_err("segment: a document of %s cannot go into a segment (%s) — DROPPED "
				"(%" PRIu64 " dropped so far)", seg_streams[i], strerror(-r),
				atomic_load(&w->dropped));
		return;
	}
	if (seg_builder_count(o->b) >= w->seg_events)
		seal(w, set, i, out);
}

/* Seal the segments of set that are old enough (all: every non-empty one). */
static void seal_due(struct writer *w, struct seg_set *set, bool all,
		     void (*out)(struct writer *, bson_t *))
{
	int64_t now = now_ms();

	for (size_t i = 0; i < SEG_NSTREAMS; i++) {
		struct open_seg *o = &set->s[i];

		if (o->b && seg_builder_count(o->b) > 0 &&
		    (all || now - o->first_ms >= (int64_t)w->seg_ms))
			seal(w, set, i, out);
	}
}

static void overflow_seal_due(struct writer *w, bool all)
{
	pthread_mutex_lock(&w->overflow_lock);
	seal_due(w, &w->overflow, all, to_spool);
	pthread_mutex_unlock(&w->overflow_lock);
}

static void seg_set_release(struct seg_set *set)
{
	for (size_t i = 0; i < SEG_NSTREAMS; i++)
		seg_builder_free(set->s[i].b);
	seg_cctx_free(set->zctx);
}

static void add_item(struct writer *w, struct queue_item *it)
{
	int si = seg_stream_index(it->collection);
	struct batch *b;

	if (si >= 0) {
		seg_put(w, &w->segs, (size_t)si, it->doc, to_batch);
		return;
	}
	b = batch_for(w, it->collection);

	if (!b) {
		/* out of memory for a batch: write this one document through the spool */
		spool_docs(w, it->collection, &it->doc, 1);
		bson_destroy(it->doc);
		return;
	}
	if (b->n == 0)
		b->first_ms = now_ms();
	b->docs[b->n++] = it->doc;
	if (b->n == w->batch_max)
		flush_batch(w, b);
}

static void to_batch(struct writer *w, bson_t *seg)
{
	struct batch *b = batch_for(w, SCHEMA_SEGMENTS);

	if (!b) {
		to_spool(w, seg);
		return;
	}
	if (b->n == 0)
		b->first_ms = now_ms();
	b->docs[b->n++] = seg;
	if (b->n >= MIN((size_t)SEG_BATCH, w->batch_max))
		flush_batch(w, b);
}

/* Replay the oldest closed spool segment (closing open ones first when none is closed).
 * Returns 1 when a segment was replayed and removed, 0 when the spool is empty, -errno when
 * it stopped (database away, read error): the segment then stays. */
static int replay_one(struct writer *w)
{
	struct spool_segment *segs = NULL;
	struct spool_reader *rd = NULL;
	struct spool_stats sst;
	const bson_t *doc;
	bson_t **docs;
	size_t nsegs = 0, n = 0, bytes = 0;
	int r;

	spool_get_stats(w->sp, &sst);
	w->spool_appended_seen = sst.appended;
	r = spool_list(w->sp, &segs, &nsegs);
	if (r == 0 && nsegs == 0 && sst.open_docs > 0) {
		r = spool_flush(w->sp);
		if (r < 0)
			log_err("spool: closing segments in %s failed: %s", spool_dir(w->sp),
				strerror(-r));
		spool_segments_free(segs, nsegs);
		r = spool_list(w->sp, &segs, &nsegs);
	}
	if (r < 0) {
		log_err("spool: cannot list %s: %s", spool_dir(w->sp), strerror(-r));
		w->replay_needed = false; /* retried after the next outage or spooled batch */
		return r;
	}
	if (nsegs == 0) {
		spool_segments_free(segs, nsegs);
		w->replay_needed = false;
		return 0;
	}
	docs = calloc(w->batch_max, sizeof(*docs));
	if (!docs) {
		r = -ENOMEM;
		goto out;
	}
	r = spool_reader_open(segs[0].path, &rd);
	if (r < 0)
		goto out_read;
	for (;;) {
		r = spool_reader_next(rd, &doc);
		if (r < 0)
			goto out_read;
		if (r == 1) {
			docs[n] = bson_copy(doc);
			if (!docs[n]) {
				r = -ENOMEM;
				goto out_read;
			}
			bytes += docs[n]->len;
			n++;
		}
		/* segments are large: an insert call carries at most 16 MiB of them */
		if (n > 0 && (n == w->batch_max || r == 0 || bytes >= STORE_MAX_DOC_BYTES)) {
			bytes = 0;
			if (strcmp(segs[0].collection, SCHEMA_SPOOL_SESSION_CLOSE) == 0)
				r = apply_closes(w, docs, n);
			else
				r = insert_docs(w, segs[0].collection, docs, n, true);
			free_docs(docs, n);
			n = 0;
			if (r < 0) {
				/* A server that answers yet keeps refusing this segment must not block
				 * every later one: after REFUSED_MAX tries it is set aside. "Answers"
				 * is asked again here: FerretDB whose PostgreSQL is down fails every
				 * insert with an InternalError, an outage, not a refusal, and so does
				 * its ping. */
				if (r != -ENOTCONN && store_ping(w->st, NULL, 0) == 0 &&
				    ++w->refused >= REFUSED_MAX) {
					w->refused = 0;
					atomic_fetch_add(&w->rejected_segments, 1);
					if (spool_quarantine(w->sp, &segs[0]) == 0)
						log_err("spool: the server keeps refusing %s; set aside as "
							"%s.rejected", segs[0].path, segs[0].path);
				}
				goto out;
			}
			continue;
		}
		if (r == 0)
			break;
	}
	w->refused = 0;
	if (spool_reader_torn(rd) > 0) {
		atomic_fetch_add(&w->torn, spool_reader_torn(rd));
		log_warn("spool: %s had %" PRIu64 " torn or corrupt records (%" PRIu64
			 " bytes skipped)",
			 segs[0].path, spool_reader_torn(rd), spool_reader_skipped_bytes(rd));
	}
	r = spool_remove(w->sp, &segs[0]);
	if (r < 0) {
		log_err("spool: cannot delete replayed %s: %s; replay paused", segs[0].path,
			strerror(-r));
		w->replay_needed = false;
		goto out;
	}
	r = 1;
	goto out;

out_read:
	log_err("spool: cannot read %s: %s; replay paused", segs[0].path, strerror(-r));
	w->replay_needed = false;
out:
	if (docs)
		free_docs(docs, n);
	free(docs);
	spool_reader_free(rd);
	spool_segments_free(segs, nsegs);
	return r;
}

/* Has anyone spooled since the last look? */
static void check_spool(struct writer *w)
{
	struct spool_stats sst;

	spool_get_stats(w->sp, &sst);
	if (sst.appended != w->spool_appended_seen)
		w->replay_needed = true;
}

static void flush_due(struct writer *w, bool all)
{
	int64_t now;

	seal_due(w, &w->segs, all, to_batch);
	overflow_seal_due(w, all);
	now = now_ms();

	for (size_t i = 0; i < w->nbatches; i++) {
		struct batch *b = &w->batches[i];

		/* a sealed segment is sent at once: its documents have waited in it already */
		if (b->n > 0 && (all || now - b->first_ms >= (int64_t)w->batch_age_ms ||
				 strcmp(b->collection, SCHEMA_SEGMENTS) == 0))
			flush_batch(w, b);
	}
}

/* How long the pop may wait: until the oldest batch is due or the next reconnect, at most
 * POP_WAIT_MAX_MS; 0 when there is spool to replay. */
static unsigned pop_wait(struct writer *w)
{
	int64_t now = now_ms(), wait = POP_WAIT_MAX_MS;

	if (w->db_up && w->replay_needed)
		return 0;
	for (size_t i = 0; i < w->nbatches; i++)
		if (w->batches[i].n > 0)
			wait = MIN(wait, w->batches[i].first_ms + (int64_t)w->batch_age_ms - now);
	for (size_t i = 0; i < SEG_NSTREAMS; i++)
		if (w->segs.s[i].b && seg_builder_count(w->segs.s[i].b) > 0)
			wait = MIN(wait, w->segs.s[i].first_ms + (int64_t)w->seg_ms - now);
	if (!w->db_up && !w->giving_up)
		wait = MIN(wait, w->next_try_ms - now);
	return wait > 0 ? (unsigned)wait : 0;
}

/* The sessions document before anything else of the run: stored now, or spooled now (its
 * segment then has a lower number than any other of this run). */
static void put_session_doc(struct writer *w, bool try_db)
{
	if (!w->session_doc)
		return;
	if (try_db && !w->db_up)
		try_reconnect(w);
	if (!try_db || !w->db_up || insert_docs(w, SCHEMA_SESSIONS, &w->session_doc, 1, false) < 0) {
		spool_docs(w, SCHEMA_SESSIONS, &w->session_doc, 1);
		if (try_db)
			log_warn("store: the database is away; the session document and what follows "
				 "go to the spool %s until it answers", spool_dir(w->sp));
	}
	bson_destroy(w->session_doc);
	w->session_doc = NULL;
}

static bool past_deadline(struct writer *w)
{
	return atomic_load(&w->stopping) && now_ms() >= atomic_load(&w->deadline_ms);
}

static void *writer_thread(void *arg)
{
	struct writer *w = arg;
	struct queue_item *items = calloc(w->batch_max, sizeof(*items));
	int n;

	if (!items) {
		log_err("writer: out of memory; documents go to the spool only");
		w->giving_up = true;
	}
	put_session_doc(w, !w->giving_up);
	/* Run: until the queue is closed and empty. */
	for (;;) {
		if (!w->giving_up && past_deadline(w)) {
			w->giving_up = true;
			log_warn("writer: stop timeout reached; spooling what remains");
		}
		if (!w->db_up && !w->giving_up && now_ms() >= w->next_try_ms)
			try_reconnect(w);
		check_spool(w);
		if (w->db_up && !w->giving_up && w->replay_needed)
			replay_one(w);
		if (!items) {
			struct queue_item one;

			n = queue_pop_batch(w->q, &one, 1, POP_WAIT_MAX_MS);
			if (n == 1 && seg_stream_index(one.collection) >= 0) {
				seg_put(w, &w->segs, (size_t)seg_stream_index(one.collection), one.doc,
					to_spool);
			} else if (n == 1) {
				spool_docs(w, one.collection, &one.doc, 1);
				bson_destroy(one.doc);
			}
		} else {
			n = queue_pop_batch(w->q, items, w->batch_max, pop_wait(w));
			for (int i = 0; i < n; i++)
				add_item(w, &items[i]);
		}
		if (n == -EPIPE)
			break;
		flush_due(w, false);
	}
	free(items);

	/* Stop: batches out, then replay the spool until it is empty or time is up. */
	if (!w->db_up) {
		w->backoff_ms = BACKOFF_MIN_MS;
		w->next_try_ms = now_ms();
	}
	flush_due(w, true);
	for (;;) {
		int r;

		if (past_deadline(w) || w->giving_up)
			break;
		if (!w->db_up) {
			int64_t wait = w->next_try_ms - now_ms();
			int64_t left = atomic_load(&w->deadline_ms) - now_ms();

			if (wait > 0) {
				struct timespec ts;

				wait = MIN(wait, left);
				ts.tv_sec = wait / 1000;
				ts.tv_nsec = (wait % 1000) * 1000000;
				nanosleep(&ts, NULL);
				continue;
			}
			try_reconnect(w);
			continue;
		}
		w->replay_needed = true;
		r = replay_one(w);
		if (r == 0)
			break;
		if (r < 0 && w->db_up)
			break; /* a read or delete error: not something waiting fixes */
	}
	{
		struct spool_segment *segs = NULL;
		struct spool_stats sst;
		size_t nsegs = 0;

		spool_flush(w->sp);
		spool_get_stats(w->sp, &sst);
		if (spool_list(w->sp, &segs, &nsegs) < 0 || nsegs > 0) {
			log_warn("writer: %zu spool segments left in %s for the next run", nsegs,
				 spool_dir(w->sp));
			w->stop_result = -ETIMEDOUT;
		}
		spool_segments_free(segs, nsegs);
	}
	return NULL;
}

int writer_start(struct writer *w)
{
	int r;

	if (w->started)
		return -EALREADY;
	r = pthread_create(&w->thread, NULL, writer_thread, w);
	if (r != 0)
		return -r;
	w->started = true;
	w->stopped = false;
	return 0;
}

static int64_t wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int writer_session_open(struct writer *w, const bson_oid_t *id, const bson_t *info)
{
	bson_t *doc;

	if (w->started || w->session_doc)
		return -EALREADY;
	doc = bson_new();
	if (!doc)
		return -ENOMEM;
	BSON_APPEND_OID(doc, SCHEMA_F_ID, id);
	BSON_APPEND_DATE_TIME(doc, SCHEMA_F_STARTED_AT, wall_ms());
	BSON_APPEND_NULL(doc, SCHEMA_F_ENDED_AT);
	if (info && !bson_concat(doc, info)) {
		bson_destroy(doc);
		return -ENOMEM;
	}
	w->session_doc = doc;
	return 0;
}

int writer_session_close(struct writer *w, const bson_oid_t *id, const bson_t *fields,
			 char *err, size_t errlen)
{
	bson_t rec = BSON_INITIALIZER, set = BSON_INITIALIZER;
	bool matched = false;
	int r;

	if (w->started && !w->stopped)
		return -EBUSY;
	put_session_doc(w, false); /* never started: it goes to the spool before its close */
	BSON_APPEND_OID(&rec, SCHEMA_F_ID, id);
	BSON_APPEND_DATE_TIME(&set, SCHEMA_F_ENDED_AT, wall_ms());
	if (fields)
		bson_concat(&set, fields);
	bson_concat(&rec, &set);
	if (w->started && w->stop_result == 0 && w->db_up) {
		r = store_session_set(w->st, id, &set, &matched, err, errlen);
		if (r == 0 && matched) {
			r = 0;
			goto out;
		}
		if (r == 0)
			snprintf(err, errlen, "no sessions document with this run's _id");
		log_warn("store: closing the session document failed (%s); spooling the close", err);
	}
	r = spool_append(w->sp, SCHEMA_SPOOL_SESSION_CLOSE, &rec);
	if (r == 0)
		r = spool_flush(w->sp);
	if (r < 0) {
		snprintf(err, errlen, "spool: cannot write the session close record to %s: %s",
			 spool_dir(w->sp), strerror(-r));
		goto out;
	}
	atomic_fetch_add(&w->spooled, 1);
	r = 1;
out:
	bson_destroy(&rec);
	bson_destroy(&set);
	return r;
}

int writer_submit(struct writer *w, const char *collection, bson_t *doc)
{
	uint64_t suppressed = 0;
	int r, si;

	atomic_fetch_add(&w->submitted, 1);
	r = queue_push(w->q, collection, doc);
	if (r == 0)
		return 0;
	if ((si = seg_stream_index(collection)) >= 0) {
		/* the writer is behind: into the overflow segments, which go to the spool */
		uint64_t before = atomic_load(&w->dropped);

		pthread_mutex_lock(&w->overflow_lock);
		seg_put(w, &w->overflow, (size_t)si, doc, to_spool);
		pthread_mutex_unlock(&w->overflow_lock);
		if (!atomic_load(&w->stopping) && ratelimit_ok(&w->rl_submit, &suppressed))
			log_warn("writer: queue full; spooling to %s (%" PRIu64 " more since the last "
				 "message)", spool_dir(w->sp), suppressed);
		return atomic_load(&w->dropped) == before ? 0 : -EIO;
	}
	if (doc->len > STORE_MAX_DOC_BYTES) {
		pthread_mutex_lock(&w->submit_log_lock);
		set_aside(w, collection, &doc, 1, "over 16 MiB");
		pthread_mutex_unlock(&w->submit_log_lock);
		bson_destroy(doc);
		return 0;
	}
	r = spool_append(w->sp, collection, doc);
	bson_destroy(doc);
	pthread_mutex_lock(&w->submit_log_lock);
	if (r == 0) {
		atomic_fetch_add(&w->spooled, 1);
		if (!atomic_load(&w->stopping) && ratelimit_ok(&w->rl_submit, &suppressed))
			log_warn("writer: queue full; spooling to %s (%" PRIu64 " more since the last "
				 "message)",
				 spool_dir(w->sp), suppressed);
	} else {
		atomic_fetch_add(&w->dropped, 1);
		if (ratelimit_ok(&w->rl_drop, &suppressed))
			log_err("spool: cannot write a document of %s to %s: %s — DROPPED (%" PRIu64
				" dropped so far)",
				collection, spool_dir(w->sp), strerror(-r),
				atomic_load(&w->dropped));
	}
	pthread_mutex_unlock(&w->submit_log_lock);
	return r;
}

int writer_stop(struct writer *w, unsigned timeout_ms)
{
	if (!w->started) /* nothing to drain; writer_free spools what was queued */
		return 0;
	if (w->stopped)
		return w->stop_result;
	atomic_store(&w->deadline_ms, now_ms() + (int64_t)timeout_ms);
	atomic_store(&w->stopping, true);
	queue_close(w->q);
	pthread_join(w->thread, NULL);
	w->stopped = true;
	return w->stop_result;
}

void writer_free(struct writer *w)
{
	struct queue_item it;

	if (!w)
		return;
	if (w->started && !w->stopped)
		writer_stop(w, 0);
	if (w->sp)
		put_session_doc(w, false);
	if (w->q) {
		/* never started: what was queued goes to the spool, not to /dev/null */
		queue_close(w->q);
		while (w->sp && queue_pop_batch(w->q, &it, 1, 0) == 1) {
			int si = seg_stream_index(it.collection);

			if (si >= 0) {
				seg_put(w, &w->segs, (size_t)si, it.doc, to_spool);
				continue;
			}
			spool_docs(w, it.collection, &it.doc, 1);
			bson_destroy(it.doc);
		}
	}
	if (w->sp) {
		/* what is still open (a writer never started, or stopped by its timeout) */
		seal_due(w, &w->segs, true, to_spool);
		overflow_seal_due(w, true);
		for (size_t i = 0; i < w->nbatches; i++) {
			spool_docs(w, w->batches[i].collection, w->batches[i].docs, w->batches[i].n);
			free_docs(w->batches[i].docs, w->batches[i].n);
			w->batches[i].n = 0;
		}
	}
	seg_set_release(&w->segs);
	seg_set_release(&w->overflow);
	pthread_mutex_destroy(&w->overflow_lock);
	for (size_t i = 0; i < w->nbatches; i++)
		free(w->batches[i].docs);
	free(w->batches);
	queue_free(w->q);
	spool_free(w->sp);
	store_free(w->st);
	pthread_mutex_destroy(&w->submit_log_lock);
	free(w->uri);
	free(w->db);
	free(w->spool_dir);
	free(w);
}

void writer_get_stats(struct writer *w, struct writer_stats *ret)
{
	struct queue_stats qs;
	uint64_t nb, bd;

	memset(ret, 0, sizeof(*ret));
	ret->submitted = atomic_load(&w->submitted);
	ret->inserted = atomic_load(&w->inserted);
	ret->duplicates = atomic_load(&w->duplicates);
	ret->spooled = atomic_load(&w->spooled);
	ret->replayed = atomic_load(&w->replayed);
	ret->dropped = atomic_load(&w->dropped);
	ret->torn_records = atomic_load(&w->torn);
	ret->insert_errors = atomic_load(&w->insert_errors);
	ret->rejected_segments = atomic_load(&w->rejected_segments);
	ret->rejected_docs = atomic_load(&w->rejected_docs);
	ret->segments = atomic_load(&w->sealed);
	ret->segments_stored = atomic_load(&w->segs_stored);
	ret->seal_errors = atomic_load(&w->seal_errors);
	ret->raw_bytes = atomic_load(&w->raw_bytes);
	ret->packed_bytes = atomic_load(&w->packed_bytes);
	nb = atomic_load(&w->nbatch);
	bd = atomic_load(&w->batch_docs);
	ret->batches = nb;
	ret->avg_batch = nb ? (double)bd / (double)nb : 0.0;
	ret->last_insert_ms = atomic_load(&w->last_insert_us) / 1000.0;
	ret->db_up = atomic_load(&w->db_up_shown);
	queue_get_stats(w->q, &qs);
	ret->queue_depth = qs.depth;
	ret->queue_bytes = qs.bytes;
	ret->queue_hwm = qs.depth_hwm;
}
