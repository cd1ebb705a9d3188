/* chain_verify.c — recompute and judge a session's evidence chain over its segments (see
 * chain_verify.h). Owns, while it runs, one small record per segment (id, link, hashes,
 * stream, seq range, n). */
#include "chain_verify.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>

#include "chain_format.h"
#include "grow.h"
#include "schema.h"
#include "segment.h"
#include "segment_read.h"
#include "store.h"

struct vseg {
	char *id;
	char stream[24];
	int64_t link; /* -1: carries none */
	int64_t seq_first, seq_last, n;
	bool header_ok;
	uint8_t prev[CHAINFMT_DIGEST_LEN], hash[CHAINFMT_DIGEST_LEN];
};

struct chainv {
	bson_t *session_doc;
	bool running;
	bson_oid_t session;
	char hex[25];
	struct vseg *segs;
	size_t nsegs, cap;
	size_t more; /* findings not kept */
	struct chainv_report rep;
	int error;
};

const char *chainv_status_name(enum chainv_status s)
{
	switch (s) {
	case CHAINV_OK: return "ok";
	case CHAINV_RECORDING: return "recording";
	case CHAINV_TRUNCATED: return "truncated";
	case CHAINV_TAMPERED: return "TAMPERED";
	case CHAINV_UNCHAINED: return "unchained";
	case CHAINV_PENDING: return "pending";
	}
	return "?";
}

void chainv_report_release(struct chainv_report *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->nfindings; i++)
		free(r->findings[i]);
	free(r->findings);
	r->findings = NULL;
	r->nfindings = 0;
}

__attribute__((format(printf, 2, 3))) static void finding(struct chainv *v, const char *fmt,
								   ...)
{
	struct chainv_report *r = &v->rep;
	char **grown, *line;
	va_list ap;
	int n;

	if (r->nfindings >= CHAINV_MAX_FINDINGS) {
		v->more++;
		return;
	}
	va_start(ap, fmt);
	n = vasprintf(&line, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	grown = realloc(r->findings, (r->nfindings + 1) * sizeof(*grown));
	if (!grown) {
		free(line);
		return;
	}
	r->findings = grown;
	r->findings[r->nfindings++] = line;
}

static int64_t sub_int(const bson_t *d, const char *sub, const char *key, int64_t dflt)
{
	bson_iter_t it, c;

	if (bson_iter_init_find(&it, d, sub) && BSON_ITER_HOLDS_DOCUMENT(&it) &&
	    bson_iter_recurse(&it, &c) && bson_iter_find(&c, key) &&
	    (BSON_ITER_HOLDS_INT32(&c) || BSON_ITER_HOLDS_INT64(&c) || BSON_ITER_HOLDS_DOUBLE(&c)))
		return bson_iter_as_int64(&c);
	return dflt;
}

/* session_doc.chain.<key> as a 32-byte binary into out; false when absent. */
static bool chain_bin(const bson_t *d, const char *key, uint8_t out[CHAINFMT_DIGEST_LEN])
{
	bson_iter_t it, c;
	const uint8_t *data;
	bson_subtype_t st;
	uint32_t len;

	if (!bson_iter_init_find(&it, d, SCHEMA_F_CHAIN) || !BSON_ITER_HOLDS_DOCUMENT(&it) ||
	    !bson_iter_recurse(&it, &c) || !bson_iter_find(&c, key) || !BSON_ITER_HOLDS_BINARY(&c))
		return false;
	bson_iter_binary(&c, &st, &len, &data);
	if (len != CHAINFMT_DIGEST_LEN)
		return false;
	memcpy(out, data, len);
	return true;
}

bool chainv_listener_running(const bson_t *session_doc)
{
	struct utsname un;
	bson_iter_t it;
	const char *host = NULL, *boot = NULL;
	char buf[64] = "", path[64], comm[32] = "";
	int64_t pid = 0;
	FILE *f;

	if (bson_iter_init_find(&it, session_doc, SCHEMA_F_HOST) && BSON_ITER_HOLDS_UTF8(&it))
		host = bson_iter_utf8(&it, NULL);
	if (bson_iter_init_find(&it, session_doc, "boot_id") && BSON_ITER_HOLDS_UTF8(&it))
		boot = bson_iter_utf8(&it, NULL);
	if (bson_iter_init_find(&it, session_doc, "listener_pid") &&
	    (BSON_ITER_HOLDS_INT32(&it) || BSON_ITER_HOLDS_INT64(&it)))
		pid = bson_iter_as_int64(&it);
	if (!host || !boot || pid <= 0 || uname(&un) < 0 || strcmp(un.nodename, host))
		return false;
	f = fopen("/proc/sys/kernel/random/boot_id", "re");
	if (!f)
		return false;
	if (!fgets(buf, sizeof(buf), f))
		buf[0] = '\0';
	fclose(f);
	buf[strcspn(buf, "\n")] = '\0';
	if (strcmp(buf, boot))
		return false;
	snprintf(path, sizeof(path), "/proc/%" PRId64 "/comm", pid);
	f = fopen(path, "re");
	if (!f)
		return false;
	if (!fgets(comm, sizeof(comm), f))
		comm[0] = '\0';
	fclose(f);
	return !strncmp(comm, "lineage-listen", 14);
}

int chainv_new(const bson_t *session_doc, bool running, struct chainv **ret, char *err,
	       size_t errlen)
{
	struct chainv *v;
	bson_iter_t it;

	if (!bson_iter_init_find(&it, session_doc, SCHEMA_F_ID) || !BSON_ITER_HOLDS_OID(&it)) {
		snprintf(err, errlen, "a sessions document without an ObjectId _id");
		return -EINVAL;
	}
	v = calloc(1, sizeof(*v));
	if (!v || !(v->session_doc = bson_copy(session_doc))) {
		free(v);
		return -ENOMEM;
	}
	bson_oid_copy(bson_iter_oid(&it), &v->session);
	bson_oid_to_string(&v->session, v->hex);
	v->running = running;
	v->rep.truncated_at = -1;
	v->rep.running = running;
	*ret = v;
	return 0;
}

int chainv_add(struct chainv *v, const bson_t *segdoc)
{
	struct seg_header h;
	struct vseg *s;
	bson_iter_t it;
	char why[128];

	if (grow_room((void **)&v->segs, sizeof(*v->segs), v->nsegs, &v->cap) < 0)
		return v->error = -ENOMEM;
	s = &v->segs[v->nsegs];
	memset(s, 0, sizeof(*s));
	s->link = -1;
	if (chainfmt_digest(bson_get_data(segdoc), segdoc->len, s->hash) < 0)
		return v->error = -EIO;
	if (seg_header_read(segdoc, &h, why, sizeof(why)) == 0) {
		s->header_ok = true;
		s->id = strdup(h.id);
		snprintf(s->stream, sizeof(s->stream), "%s", h.stream);
		s->seq_first = h.seq_first;
		s->seq_last = h.seq_last;
		s->n = h.n;
		if (h.has_link) {
			s->link = h.link;
			memcpy(s->prev, h.prev, sizeof(s->prev));
		}
	} else {
		s->id = strdup(bson_iter_init_find(&it, segdoc, SCHEMA_F_ID) &&
					       BSON_ITER_HOLDS_UTF8(&it) ?
				       bson_iter_utf8(&it, NULL) : "(no _id)");
		finding(v, "altered: segment %s: its header does not read (%s)", s->id ? s->id : "?",
			why);
		v->rep.altered++;
		/* a link number in a damaged header still places it in the chain */
		if (bson_iter_init_find(&it, segdoc, SCHEMA_F_SEG_LINK) && BSON_ITER_HOLDS_INT(&it))
			s->link = bson_iter_as_int64(&it);
	}
	if (!s->id)
		return v->error = -ENOMEM;
	v->nsegs++;
	v->rep.stored += s->header_ok ? (uint64_t)s->n : 0;
	return 0;
}

static int cmp_seg(const void *a, const void *b)
{
	const struct vseg *x = a, *y = b;

	if (x->link != y->link)
		return x->link < y->link ? -1 : 1;
	return strcmp(x->id, y->id);
}

static void summarise(struct chainv *v)
{
	struct chainv_report *rep = &v->rep;

	if (rep->altered || rep->inserted || rep->link_problems || rep->removed)
		rep->status = CHAINV_TAMPERED;
	else if (rep->pending)
		rep->status = CHAINV_PENDING;
	else if (!rep->closed)
		rep->status = v->running ? CHAINV_RECORDING : CHAINV_TRUNCATED;
	else
		rep->status = CHAINV_OK;
	if (rep->status == CHAINV_TRUNCATED)
		snprintf(rep->summary, sizeof(rep->summary),
			 "truncated at seq %" PRId64 ": the listener never closed the session; %"
			 PRIu64 " documents verified in %" PRIu64 " segments, %" PRIu64
			 " in the last segment not verifiable", rep->truncated_at, rep->verified,
			 rep->links, rep->unlinked);
	else if (rep->status == CHAINV_PENDING)
		snprintf(rep->summary, sizeof(rep->summary),
			 "pending: whole up to seq %" PRId64 " (%" PRIu64 " documents verified); "
			 "the rest of the session is still in the listener's spool",
			 rep->truncated_at, rep->verified);
	else if (rep->status == CHAINV_RECORDING)
		snprintf(rep->summary, sizeof(rep->summary),
			 "recording (open): whole up to seq %" PRId64 "; %" PRIu64
			 " documents verified in %" PRIu64 " segments", rep->truncated_at,
			 rep->verified, rep->links);
	else
		snprintf(rep->summary, sizeof(rep->summary),
			 "%s: %" PRIu64 " documents verified in %" PRIu64 " segments; %" PRIu64
			 " altered, %" PRIu64 " removed, %" PRIu64 " inserted, %" PRIu64
			 " link problems%s",
			 chainv_status_name(rep->status), rep->verified, rep->links, rep->altered,
			 rep->removed, rep->inserted, rep->link_problems,
			 rep->closed ? "" : " (session never closed)");
}

/* Stream counts against the session document's chain.counts (a closed session). */
static void check_counts(struct chainv *v)
{
	for (size_t c = 0; c < SEG_NSTREAMS; c++) {
		char path[64];
		bson_iter_t it, val;
		int64_t want = -1, have = 0;

		snprintf(path, sizeof(path), "%s.%s.%s", SCHEMA_F_CHAIN, SCHEMA_F_CHAIN_COUNTS,
			 seg_streams[c]);
		if (bson_iter_init(&it, v->session_doc) &&
		    bson_iter_find_descendant(&it, path, &val) && BSON_ITER_HOLDS_INT(&val))
			want = bson_iter_as_int64(&val);
		for (size_t i = 0; i < v->nsegs; i++)
			if (v->segs[i].header_ok && v->segs[i].link >= 0 &&
			    !strcmp(v->segs[i].stream, seg_streams[c]))
				have += v->segs[i].n;
		if (want >= 0 && want != have) {
			v->rep.link_problems++;
			finding(v, "altered: the session says %" PRId64 " %s documents, its segments "
				"hold %" PRId64, want, seg_streams[c], have);
		}
	}
}

int chainv_finish(struct chainv *v, struct chainv_report *ret)
{
	struct chainv_report *rep = &v->rep;
	uint8_t head[CHAINFMT_DIGEST_LEN], zero[CHAINFMT_DIGEST_LEN] = { 0 };
	const uint8_t *prev = zero;
	int64_t expect = 0, nlinks, version;
	size_t first_break = SIZE_MAX, last = SIZE_MAX;
	bool have_head, chained = false;
	bson_iter_t it;
	int r = v->error;

	if (r < 0)
		goto out;
	rep->closed = bson_iter_init_find(&it, v->session_doc, SCHEMA_F_ENDED_AT) &&
		      BSON_ITER_HOLDS_DATE_TIME(&it);
	if (rep->closed && bson_iter_init(&it, v->session_doc) &&
	    bson_iter_find_descendant(&it, SCHEMA_F_CHAIN "." SCHEMA_F_CHAIN_COMPLETE, &it) &&
	    BSON_ITER_HOLDS_BOOL(&it))
		rep->pending = !bson_iter_bool(&it);
	version = sub_int(v->session_doc, SCHEMA_F_CHAIN, SCHEMA_F_CHAIN_VERSION, -1);
	for (size_t i = 0; i < v->nsegs; i++)
		chained |= v->segs[i].link >= 0;
	if (version < 0 && !chained) {
		rep->status = CHAINV_UNCHAINED;
		snprintf(rep->summary, sizeof(rep->summary),
			 "unchained: recorded without an evidence chain");
		goto out;
	}
	if (version < 0) {
		rep->link_problems++;
		finding(v, "altered: the session document lost its chain field, yet its segments "
			"carry links");
	}
	if (v->nsegs > 1)
		qsort(v->segs, v->nsegs, sizeof(*v->segs), cmp_seg);
	for (size_t i = 0; i < v->nsegs; i++) {
		struct vseg *s = &v->segs[i];

		if (s->link < 0) {
			rep->inserted += s->header_ok ? (uint64_t)s->n : 0;
			finding(v, "inserted: segment %s carries no link", s->id);
			continue;
		}
		if (last != SIZE_MAX && v->segs[last].link == s->link) {
			/* two segments claim one link: whichever the chain names is the genuine one */
			const struct vseg *kept = &v->segs[last];
			bool this_one = !memcmp(s->prev, prev, sizeof(s->prev)) &&
					memcmp(kept->prev, prev, sizeof(kept->prev));

			rep->inserted += (uint64_t)(this_one ? kept->n : s->n);
			finding(v, "inserted: segment %s claims link %" PRId64 ", which %s holds",
				this_one ? kept->id : s->id, s->link, this_one ? s->id : kept->id);
			if (this_one)
				last = i;
			continue;
		}
		if (s->link != expect) {
			rep->link_problems++;
			rep->removed++;
			if (first_break == SIZE_MAX)
				first_break = i;
			if (s->link == expect + 1)
				finding(v, "removed: the segment of link %" PRId64 " (the chain breaks "
					"there)", expect);
			else
				finding(v, "removed: the segments of links %" PRId64 "-%" PRId64
					" (the chain breaks there)", expect, s->link - 1);
		} else if (memcmp(s->prev, prev, sizeof(s->prev))) {
			/* the previous segment's bytes are not what this one names */
			rep->altered++;
			if (first_break == SIZE_MAX)
				first_break = i;
			finding(v, "altered: segment %s (link %" PRId64 "): its bytes are not what "
				"link %" PRId64 " names", last != SIZE_MAX ? v->segs[last].id : "?",
				s->link - 1, s->link);
		}
		if (last != SIZE_MAX && first_break == SIZE_MAX && v->segs[last].header_ok) {
			rep->verified += (uint64_t)v->segs[last].n;
			if (v->segs[last].seq_last > rep->truncated_at)
				rep->truncated_at = v->segs[last].seq_last;
		}
		prev = s->hash;
		expect = s->link + 1;
		last = i;
	}
	rep->links = last == SIZE_MAX ? 0 : (uint64_t)v->segs[last].link + 1;
	nlinks = sub_int(v->session_doc, SCHEMA_F_CHAIN, SCHEMA_F_CHAIN_LINKS, -1);
	have_head = chain_bin(v->session_doc, SCHEMA_F_CHAIN_HEAD, head);
	if (rep->closed && rep->pending && last != SIZE_MAX && nlinks >= 0 &&
	    v->segs[last].link == nlinks - 1)
		rep->pending = false; /* a spool left at stop and replayed since */
	if (rep->closed && !rep->pending) {
		if (nlinks < 0 || !have_head) {
			rep->link_problems++;
			finding(v, "altered: the session document is closed but has no chain end "
				"(chain.links / chain.head)");
		} else if ((int64_t)rep->links < nlinks) {
			rep->link_problems++;
			rep->removed++;
			finding(v, "removed: the segments of links %" PRIu64 "-%" PRId64 " (the "
				"session ended with %" PRId64 ")", rep->links, nlinks - 1, nlinks);
		} else if ((int64_t)rep->links > nlinks) {
			rep->link_problems++;
			rep->inserted++;
			finding(v, "inserted: segments of links %" PRId64 "-%" PRIu64 " after the "
				"session's last", nlinks, rep->links - 1);
		} else if (memcmp(prev, head, sizeof(head))) {
			rep->altered++;
			finding(v, "altered: segment %s (link %" PRId64 "): its hash is not the "
				"session's chain.head", v->segs[last].id, v->segs[last].link);
		} else if (first_break == SIZE_MAX && last != SIZE_MAX &&
			   v->segs[last].header_ok) {
			rep->verified += (uint64_t)v->segs[last].n;
			if (v->segs[last].seq_last > rep->truncated_at)
				rep->truncated_at = v->segs[last].seq_last;
		}
		check_counts(v);
	} else if (last != SIZE_MAX && first_break == SIZE_MAX) {
		/* open, killed or pending: nothing names the last segment's hash yet */
		rep->unlinked = (uint64_t)v->segs[last].n;
	}
	if (rep->pending)
		finding(v, "note: the listener left segments in its spool at stop; they are stored "
			"when a listener next starts with that spool");
	if (rep->closed && rep->removed &&
	    (sub_int(v->session_doc, "counters", "dropped", 0) > 0 ||
	     sub_int(v->session_doc, "counters", "rejected", 0) > 0))
		finding(v, "note: the listener counted %" PRId64 " dropped and %" PRId64
			" refused documents (counters): they may be the removed ones",
			sub_int(v->session_doc, "counters", "dropped", 0),
			sub_int(v->session_doc, "counters", "rejected", 0));
	if (v->more)
		finding(v, "… and %zu more findings", v->more);
	summarise(v);
out:
	*ret = v->rep;
	memset(&v->rep, 0, sizeof(v->rep)); /* the findings are ret's now */
	return r;
}

void chainv_free(struct chainv *v)
{
	if (!v)
		return;
	for (size_t i = 0; i < v->nsegs; i++)
		free(v->segs[i].id);
	free(v->segs);
	chainv_report_release(&v->rep);
	bson_destroy(v->session_doc);
	free(v);
}

static int on_segment(void *opaque, const bson_t *segdoc)
{
	return chainv_add(opaque, segdoc);
}

int chainv_session(struct store *st, const bson_t *session_doc, bool running,
		   struct chainv_report *ret, char *err, size_t errlen)
{
	struct segread_query q = { 0 };
	struct chainv *v = NULL;
	struct segread_ops ops = { .segment = on_segment };
	int r;

	memset(ret, 0, sizeof(*ret));
	ret->truncated_at = -1;
	if (err && errlen)
		err[0] = '\0';
	r = chainv_new(session_doc, running, &v, err, errlen);
	if (r < 0)
		return r;
	ops.opaque = v;
	r = segread_each(st, &v->session, &q, &ops, NULL, err, errlen);
	if (r == 0)
		r = chainv_finish(v, ret);
	if (r < 0 && err && errlen && !err[0])
		snprintf(err, errlen, "%s", r == -ENOMEM ? "out of memory" : "SHA-256 failed");
	chainv_free(v);
	return r;
}
