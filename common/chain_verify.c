/* chain_verify.c — recompute and judge a session's evidence chain (see chain_verify.h).
 * Owns, while it runs, the session's digests (one entry per raw document) and its links. */
#include "chain_verify.h"

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>

#include "chain_format.h"
#include "schema.h"
#include "store.h"

struct vdoc {
	int64_t seq;
	uint8_t coll;
	bool covered, dup;
	uint8_t digest[CHAINFMT_DIGEST_LEN];
};

struct vlink {
	int64_t no, n;
	bool final;
	uint8_t prev[CHAINFMT_DIGEST_LEN], hash[CHAINFMT_DIGEST_LEN];
	uint8_t *members;
	size_t members_len;
	char *id;
};

struct vstate {
	bson_oid_t session;
	char hex[25];
	struct vdoc *docs;
	size_t ndocs, capdocs;
	struct vlink *links;
	size_t nlinks, caplinks;
	int64_t *missing; /* seqs of linked documents not found */
	size_t nmissing, capmissing;
	size_t more; /* findings not kept */
	struct chainv_report *rep;
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

__attribute__((format(printf, 2, 3))) static void finding(struct vstate *s, const char *fmt, ...)
{
	struct chainv_report *r = s->rep;
	char **grown, *line;
	va_list ap;
	int n;

	if (r->nfindings >= CHAINV_MAX_FINDINGS) {
		s->more++;
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

/* "<session hex>:<decimal seq>" → seq; -1 when id is not of this session's form. */
static int64_t id_seq(const struct vstate *s, const char *id)
{
	const char *p;
	int64_t v = 0;

	if (strncmp(id, s->hex, 24) || id[24] != ':' || !id[25])
		return -1;
	for (p = id + 25; *p; p++) {
		if (*p < '0' || *p > '9' || v > (INT64_MAX - 9) / 10)
			return -1;
		v = v * 10 + (*p - '0');
	}
	return v;
}

static int cmp_doc(const void *a, const void *b)
{
	const struct vdoc *x = a, *y = b;

	return x->seq < y->seq ? -1 : x->seq > y->seq ? 1 : (int)x->coll - (int)y->coll;
}

static int cmp_link(const void *a, const void *b)
{
	const struct vlink *x = a, *y = b;

	return x->no < y->no ? -1 : x->no > y->no;
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

static struct vdoc *find_doc(struct vstate *s, int64_t seq)
{
	size_t lo = 0, hi = s->ndocs;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (s->docs[mid].seq < seq)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < s->ndocs && s->docs[lo].seq == seq ? &s->docs[lo] : NULL;
}

/* Every raw document of the session in coll: its digest, by the seq of its _id. */
static int load_docs(struct vstate *s, struct store *st, int code, char *err, size_t errlen)
{
	const char *coll = chainfmt_coll_name(code);
	struct store_cursor *cur = NULL;
	bson_t filter = BSON_INITIALIZER;
	const bson_t *d;
	int r;

	BSON_APPEND_OID(&filter, SCHEMA_F_SESSION, &s->session);
	r = store_find(st, coll, &filter, NULL, &cur, err, errlen);
	if (r < 0)
		goto out;
	while ((r = store_cursor_next(cur, &d, err, errlen)) == 1) {
		bson_iter_t it;
		const char *id = NULL;
		int64_t seq;
		struct vdoc *v;

		s->rep->stored++;
		if (bson_iter_init_find(&it, d, SCHEMA_F_ID) && BSON_ITER_HOLDS_UTF8(&it))
			id = bson_iter_utf8(&it, NULL);
		seq = id ? id_seq(s, id) : -1;
		if (seq < 0) {
			char *json = bson_as_relaxed_extended_json(d, NULL);

			s->rep->inserted++;
			finding(s, "inserted: a document of %s with an _id the listener never writes "
				"(%.120s)", coll, json ? json : "?");
			bson_free(json);
			continue;
		}
		if (s->ndocs == s->capdocs) {
			size_t cap = s->capdocs ? s->capdocs * 2 : 4096;
			struct vdoc *g = realloc(s->docs, cap * sizeof(*g));

			if (!g) {
				r = -ENOMEM;
				snprintf(err, errlen, "out of memory for the digests of %zu documents",
					 s->ndocs);
				goto out;
			}
			s->docs = g;
			s->capdocs = cap;
		}
		v = &s->docs[s->ndocs++];
		memset(v, 0, sizeof(*v));
		v->seq = seq;
		v->coll = (uint8_t)code;
		r = chainfmt_digest(bson_get_data(d), d->len, v->digest);
		if (r < 0) {
			snprintf(err, errlen, "SHA-256 failed (libcrypto)");
			goto out;
		}
	}
	if (r < 0)
		goto out;
	r = 0;
out:
	if (r < 0 && err && !err[0])
		snprintf(err, errlen, "reading %s failed", coll);
	store_cursor_free(cur);
	bson_destroy(&filter);
	return r;
}

static bool get_bin(bson_iter_t *it, const uint8_t **data, uint32_t *len)
{
	bson_subtype_t st;

	if (!BSON_ITER_HOLDS_BINARY(it))
		return false;
	bson_iter_binary(it, &st, len, data);
	return true;
}

/* One link document into s->links, or a finding when it is malformed. */
static int add_link(struct vstate *s, const bson_t *d)
{
	struct vlink l = { .no = -1, .n = -1 };
	bool have_prev = false, have_hash = false, have_members = false;
	const uint8_t *data;
	uint32_t len;
	bson_iter_t it;
	const char *id = "?";

	if (!bson_iter_init(&it, d))
		return 0;
	while (bson_iter_next(&it)) {
		const char *k = bson_iter_key(&it);

		if (!strcmp(k, SCHEMA_F_ID) && BSON_ITER_HOLDS_UTF8(&it))
			id = bson_iter_utf8(&it, NULL);
		else if (!strcmp(k, SCHEMA_F_LINK) &&
			 (BSON_ITER_HOLDS_INT64(&it) || BSON_ITER_HOLDS_INT32(&it)))
			l.no = bson_iter_as_int64(&it);
		else if (!strcmp(k, SCHEMA_F_LINK_N) &&
			 (BSON_ITER_HOLDS_INT64(&it) || BSON_ITER_HOLDS_INT32(&it)))
			l.n = bson_iter_as_int64(&it);
		else if (!strcmp(k, SCHEMA_F_LINK_FINAL) && BSON_ITER_HOLDS_BOOL(&it))
			l.final = bson_iter_bool(&it);
		else if (!strcmp(k, SCHEMA_F_LINK_PREV) && get_bin(&it, &data, &len) &&
			 len == CHAINFMT_DIGEST_LEN) {
			memcpy(l.prev, data, len);
			have_prev = true;
		} else if (!strcmp(k, SCHEMA_F_LINK_HASH) && get_bin(&it, &data, &len) &&
			   len == CHAINFMT_DIGEST_LEN) {
			memcpy(l.hash, data, len);
			have_hash = true;
		} else if (!strcmp(k, SCHEMA_F_LINK_MEMBERS) && get_bin(&it, &data, &len)) {
			l.members = malloc(len ? len : 1);
			if (!l.members)
				return -ENOMEM;
			memcpy(l.members, data, len);
			l.members_len = len;
			have_members = true;
		}
	}
	if (l.no < 0 || !have_prev || !have_hash || !have_members) {
		s->rep->link_problems++;
		finding(s, "link %s: malformed (link number, prev, hash or members missing)", id);
		free(l.members);
		return 0;
	}
	l.id = strdup(id);
	if (s->nlinks == s->caplinks) {
		size_t cap = s->caplinks ? s->caplinks * 2 : 256;
		struct vlink *g = realloc(s->links, cap * sizeof(*g));

		if (g)
			s->links = g;
		if (!g || !l.id) {
			free(l.members);
			free(l.id);
			return -ENOMEM;
		}
		s->links = g;
		s->caplinks = cap;
	}
	s->links[s->nlinks++] = l;
	return 0;
}

static int load_links(struct vstate *s, struct store *st, char *err, size_t errlen)
{
	struct store_cursor *cur = NULL;
	bson_t filter = BSON_INITIALIZER;
	const bson_t *d;
	int r;

	BSON_APPEND_OID(&filter, SCHEMA_F_SESSION, &s->session);
	r = store_find(st, SCHEMA_CHAIN, &filter, NULL, &cur, err, errlen);
	if (r < 0)
		goto out;
	while ((r = store_cursor_next(cur, &d, err, errlen)) == 1)
		if ((r = add_link(s, d)) < 0) {
			snprintf(err, errlen, "out of memory for the links");
			goto out;
		}
	if (r == 0)
		if (s->nlinks) /* qsort wants a non-NULL base even for 0 */
			qsort(s->links, s->nlinks, sizeof(*s->links), cmp_link);
out:
	store_cursor_free(cur);
	bson_destroy(&filter);
	return r < 0 ? r : 0;
}

static int add_missing(struct vstate *s, int64_t seq)
{
	if (s->nmissing == s->capmissing) {
		size_t cap = s->capmissing ? s->capmissing * 2 : 256;
		int64_t *g = realloc(s->missing, cap * sizeof(*g));

		if (!g)
			return -ENOMEM;
		s->missing = g;
		s->capmissing = cap;
	}
	s->missing[s->nmissing++] = seq;
	return 0;
}

/* "seq a-b (n), seq c, …" of the sorted seqs v[n] into findings, prefixed by what. */
static void report_ranges(struct vstate *s, const char *what, const int64_t *v, size_t n,
			  const char *why)
{
	for (size_t i = 0; i < n;) {
		size_t j = i;

		while (j + 1 < n && v[j + 1] == v[j] + 1)
			j++;
		if (j == i)
			finding(s, "%s: seq %" PRId64 " (_id %s:%" PRId64 ")%s", what, v[i], s->hex,
				v[i], why);
		else
			finding(s, "%s: seq %" PRId64 "-%" PRId64 " (%zu documents)%s", what, v[i],
				v[j], j - i + 1, why);
		i = j + 1;
	}
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

/* Walk the links in order: hashes, continuity, members against the stored documents. */
static int walk_links(struct vstate *s, const bson_t *session_doc, int64_t link_docs)
{
	struct chainv_report *rep = s->rep;
	uint8_t prev[CHAINFMT_DIGEST_LEN] = { 0 }, h[CHAINFMT_DIGEST_LEN];
	int64_t expect = 0, maxcov = -1, prefix_max = -1, counts[CHAINFMT_NCOLL] = { 0 };
	size_t first_incomplete = SIZE_MAX, nmiss_prefix = 0;
	bool gap_before;

	for (size_t i = 0; i < s->nlinks; i++) {
		struct vlink *l = &s->links[i];
		size_t pos = 0, nm = 0, missing_before = s->nmissing;
		int64_t ps = 0;
		struct chainfmt_member m;
		int r;

		if (i > 0 && l->no == s->links[i - 1].no) {
			rep->link_problems++;
			finding(s, "inserted: link %" PRId64 " twice (_id %s)", l->no, l->id);
			continue;
		}
		gap_before = l->no > expect;
		if (gap_before) {
			rep->link_problems++;
			if (l->no == expect + 1)
				finding(s, "removed: link %" PRId64 " (the chain breaks there)", expect);
			else
				finding(s, "removed: links %" PRId64 "-%" PRId64
					" (the chain breaks there)", expect, l->no - 1);
		}
		if (chainfmt_link_hash(s->session.bytes, (uint64_t)l->no, l->prev, l->final,
				       l->members, l->members_len, h) < 0)
			return -EIO;
		if (memcmp(h, l->hash, sizeof(h))) {
			rep->link_problems++;
			finding(s, "altered: link %" PRId64 " (_id %s): its hash does not match its "
				"contents", l->no, l->id);
		} else if (!gap_before && memcmp(l->prev, prev, sizeof(prev))) {
			rep->link_problems++;
			finding(s, "altered: link %" PRId64 " (_id %s): its prev is not the hash of "
				"link %" PRId64, l->no, l->id, l->no - 1);
		}
		if (l->final && i + 1 < s->nlinks) {
			rep->link_problems++;
			finding(s, "inserted: links after the final link %" PRId64, l->no);
		}
		memcpy(prev, l->hash, sizeof(prev));
		expect = l->no + 1;
		while ((r = chainfmt_member_next(l->members, l->members_len, &pos, &ps, &m)) == 1) {
			struct vdoc *d = find_doc(s, m.seq);

			nm++;
			rep->linked++;
			if (m.coll < CHAINFMT_NCOLL)
				counts[m.coll]++;
			maxcov = m.seq > maxcov ? m.seq : maxcov;
			if (!d) {
				if (add_missing(s, m.seq) < 0)
					return -ENOMEM;
				continue;
			}
			/* the same seq in another collection too: take the one the link names */
			while (d > s->docs && d[-1].seq == m.seq)
				d--;
			while (d + 1 < s->docs + s->ndocs && d->coll != m.coll && d[1].seq == m.seq)
				d++;
			d->covered = true;
			if (d->coll != m.coll) {
				rep->altered++;
				finding(s, "altered: _id %s:%" PRId64 " is in %s, link %" PRId64
					" put it in %s", s->hex, m.seq, chainfmt_coll_name(d->coll),
					l->no, chainfmt_coll_name(m.coll) ? chainfmt_coll_name(m.coll)
									   : "?");
			} else if (memcmp(d->digest, m.digest, CHAINFMT_DIGEST_LEN)) {
				rep->altered++;
				finding(s, "altered: _id %s:%" PRId64 " (%s): its bytes differ from "
					"what link %" PRId64 " holds", s->hex, m.seq,
					chainfmt_coll_name(d->coll), l->no);
			} else {
				rep->verified++;
			}
		}
		if (r < 0) {
			rep->link_problems++;
			finding(s, "altered: link %" PRId64 " (_id %s): its members do not decode",
				l->no, l->id);
		}
		if (l->n >= 0 && (size_t)l->n != nm) {
			rep->link_problems++;
			finding(s, "altered: link %" PRId64 " says %" PRId64 " members, holds %zu",
				l->no, l->n, nm);
		}
		if (s->nmissing > missing_before && first_incomplete == SIZE_MAX) {
			first_incomplete = i;
			nmiss_prefix = missing_before;
		}
		if (first_incomplete == SIZE_MAX)
			prefix_max = maxcov;
	}
	rep->links = s->nlinks;

	/* A closed session says how its chain ended. */
	if (rep->closed) {
		int64_t nlinks = sub_int(session_doc, SCHEMA_F_CHAIN, SCHEMA_F_CHAIN_LINKS, -1);
		uint8_t head[CHAINFMT_DIGEST_LEN];
		bool have_head = chain_bin(session_doc, SCHEMA_F_CHAIN_HEAD, head);
		const struct vlink *last = s->nlinks ? &s->links[s->nlinks - 1] : NULL;

		/* a spool left at stop and replayed since: judge it like any closed session */
		if (rep->pending && last && last->no == nlinks - 1 && !s->nmissing)
			rep->pending = false;
		if (nlinks < 0 || !have_head) {
			rep->link_problems++;
			finding(s, "altered: the session document is closed but has no final link "
				"(chain.links / chain.head)");
		} else if (rep->pending && (!last || last->no < nlinks - 1)) {
			/* the rest of the chain is in the listener's spool */
		} else if (!last || last->no < nlinks - 1) {
			rep->link_problems++;
			finding(s, "removed: links %" PRId64 "-%" PRId64 " (the session ended with %"
				PRId64 " links)", last ? last->no + 1 : 0, nlinks - 1, nlinks);
		} else if (last->no > nlinks - 1) {
			rep->link_problems++;
			finding(s, "inserted: links %" PRId64 "-%" PRId64 " after the session's last",
				nlinks, last->no);
		} else if (!last->final || memcmp(last->hash, head, sizeof(head))) {
			rep->link_problems++;
			finding(s, "altered: the last link's hash is not the session's chain.head");
		}
		for (int c = 0; c < CHAINFMT_NCOLL; c++) {
			char path[64];
			bson_iter_t it, v;
			int64_t want = -1;

			snprintf(path, sizeof(path), "%s.%s.%s", SCHEMA_F_CHAIN,
				 SCHEMA_F_CHAIN_COUNTS, chainfmt_coll_name(c));
			if (bson_iter_init(&it, session_doc) &&
			    bson_iter_find_descendant(&it, path, &v) &&
			    (BSON_ITER_HOLDS_INT64(&v) || BSON_ITER_HOLDS_INT32(&v)))
				want = bson_iter_as_int64(&v);
			if (want >= 0 && want != counts[c] && !rep->pending) {
				rep->link_problems++;
				finding(s, "altered: the session says %" PRId64 " %s documents, its "
					"links name %" PRId64, want, chainfmt_coll_name(c), counts[c]);
			}
		}
	}

	/* Documents the links do not name. */
	if (s->nmissing) /* qsort wants a non-NULL base even for 0 */
		qsort(s->missing, s->nmissing, sizeof(*s->missing), cmp_i64);
	{
		int64_t *tail = NULL, *ins = NULL;
		size_t ntail = 0, nins = 0;

		tail = malloc((s->ndocs + 1) * sizeof(*tail));
		ins = malloc((s->ndocs + 1) * sizeof(*ins));
		if (!tail || !ins) {
			free(tail);
			free(ins);
			return -ENOMEM;
		}
		for (size_t i = 0; i < s->ndocs; i++) {
			const struct vdoc *d = &s->docs[i];

			if (d->covered)
				continue;
			/* two threads submit: a document can be linked up to a link after others
			 * with higher seqs, so the unlinked tail starts a link's worth earlier */
			if ((!rep->closed || rep->pending) && d->seq > maxcov - link_docs)
				tail[ntail++] = d->seq;
			else
				ins[nins++] = d->seq;
		}
		rep->inserted += nins;
		report_ranges(s, "inserted", ins, nins, ": in no link");
		rep->unlinked = ntail;
		if (!rep->closed || rep->pending) {
			/* the listener died (or runs, or left a spool): what is not stored or linked */
			rep->lost = s->nmissing - nmiss_prefix;
			rep->removed = nmiss_prefix;
			report_ranges(s, "removed", s->missing, nmiss_prefix, "");
			rep->truncated_at = prefix_max;
			if (ntail)
				finding(s, "unlinked: %zu documents after the last link (seq %" PRId64
					"-%" PRId64 "): not verifiable", ntail, tail[0],
					tail[ntail - 1]);
			if (rep->lost)
				report_ranges(s, "not stored", s->missing + nmiss_prefix, rep->lost,
					      rep->running   ? " (still on its way?)"
					      : rep->pending ? " (in the listener's spool?)"
							     : " (lost when the listener died)");
		} else {
			rep->removed = s->nmissing;
			report_ranges(s, "removed", s->missing, s->nmissing, "");
		}
		free(tail);
		free(ins);
	}
	return 0;
}

int chainv_session(struct store *st, const bson_t *session_doc, bool running,
		   struct chainv_report *ret, char *err, size_t errlen)
{
	struct vstate s = { 0 };
	struct chainv_report *rep = ret;
	bson_iter_t it;
	int64_t link_docs;
	int r = 0;

	memset(rep, 0, sizeof(*rep));
	rep->truncated_at = -1;
	rep->running = running;
	if (err && errlen)
		err[0] = '\0';
	s.rep = rep;
	if (!bson_iter_init_find(&it, session_doc, SCHEMA_F_ID) || !BSON_ITER_HOLDS_OID(&it)) {
		snprintf(err, errlen, "a sessions document without an ObjectId _id");
		return -EINVAL;
	}
	bson_oid_copy(bson_iter_oid(&it), &s.session);
	bson_oid_to_string(&s.session, s.hex);
	rep->closed = bson_iter_init_find(&it, session_doc, SCHEMA_F_ENDED_AT) &&
		      BSON_ITER_HOLDS_DATE_TIME(&it);
	link_docs = sub_int(session_doc, SCHEMA_F_CHAIN, SCHEMA_F_CHAIN_LINK_DOCS, -1);
	if (rep->closed && bson_iter_init(&it, session_doc) &&
	    bson_iter_find_descendant(&it, SCHEMA_F_CHAIN "." SCHEMA_F_CHAIN_COMPLETE, &it) &&
	    BSON_ITER_HOLDS_BOOL(&it))
		rep->pending = !bson_iter_bool(&it);

	r = load_links(&s, st, err, errlen);
	if (r < 0)
		goto out;
	if (link_docs < 0 && s.nlinks == 0) {
		rep->status = CHAINV_UNCHAINED;
		snprintf(rep->summary, sizeof(rep->summary),
			 "unchained: recorded without an evidence chain");
		goto out;
	}
	if (link_docs < 0) {
		rep->link_problems++;
		finding(&s, "altered: the session document lost its chain field, yet %zu links "
			"exist", s.nlinks);
		link_docs = 1000;
	}
	for (int c = 0; c < CHAINFMT_NCOLL; c++)
		if ((r = load_docs(&s, st, c, err, errlen)) < 0)
			goto out;
	if (s.ndocs) /* qsort wants a non-NULL base even for 0 */
		qsort(s.docs, s.ndocs, sizeof(*s.docs), cmp_doc);
	for (size_t i = 1; i < s.ndocs; i++)
		if (s.docs[i].seq == s.docs[i - 1].seq) {
			s.docs[i].dup = true;
			rep->inserted++;
			finding(&s, "inserted: _id %s:%" PRId64 " in both %s and %s", s.hex,
				s.docs[i].seq, chainfmt_coll_name(s.docs[i - 1].coll),
				chainfmt_coll_name(s.docs[i].coll));
		}
	r = walk_links(&s, session_doc, link_docs);
	if (r < 0) {
		snprintf(err, errlen, "%s", r == -ENOMEM ? "out of memory" : "SHA-256 failed");
		goto out;
	}
	if (rep->pending)
		finding(&s, "note: the listener left documents in its spool at stop; they are "
			"stored when a listener next starts with that spool");
	if (rep->closed && rep->removed) {
		if (sub_int(session_doc, "counters", "dropped", 0) > 0 ||
		    sub_int(session_doc, "counters", "rejected", 0) > 0)
			finding(&s, "note: the listener counted %" PRId64 " dropped and %" PRId64
				" refused documents (counters): they may be the removed ones",
				sub_int(session_doc, "counters", "dropped", 0),
				sub_int(session_doc, "counters", "rejected", 0));
	}
	if (s.more)
		finding(&s, "… and %zu more findings", s.more);

	if (rep->altered || rep->inserted || rep->link_problems || rep->removed)
		rep->status = CHAINV_TAMPERED;
	else if (rep->pending)
		rep->status = CHAINV_PENDING;
	else if (!rep->closed)
		rep->status = running ? CHAINV_RECORDING : CHAINV_TRUNCATED;
	else
		rep->status = CHAINV_OK;
	if (rep->status == CHAINV_TRUNCATED)
		snprintf(rep->summary, sizeof(rep->summary),
			 "truncated at seq %" PRId64 ": the listener never closed the session; %"
			 PRIu64 " documents verified, %" PRIu64 " after it unlinked, %" PRIu64
			 " linked but not stored", rep->truncated_at, rep->verified, rep->unlinked,
			 rep->lost);
	else if (rep->status == CHAINV_PENDING)
		snprintf(rep->summary, sizeof(rep->summary),
			 "pending: whole up to seq %" PRId64 " (%" PRIu64 " documents verified); %"
			 PRIu64 " linked and %" PRIu64 " unlinked documents are still in the "
			 "listener's spool", rep->truncated_at, rep->verified, rep->lost,
			 rep->unlinked);
	else if (rep->status == CHAINV_RECORDING)
		snprintf(rep->summary, sizeof(rep->summary),
			 "recording (open): whole up to seq %" PRId64 "; %" PRIu64
			 " documents verified in %" PRIu64 " links", rep->truncated_at, rep->verified,
			 rep->links);
	else
		snprintf(rep->summary, sizeof(rep->summary),
			 "%s: %" PRIu64 " documents verified in %" PRIu64 " links; %" PRIu64
			 " altered, %" PRIu64 " removed, %" PRIu64 " inserted, %" PRIu64
			 " link problems%s",
			 chainv_status_name(rep->status), rep->verified, rep->links, rep->altered,
			 rep->removed, rep->inserted, rep->link_problems,
			 rep->closed ? "" : " (session never closed)");
out:
	for (size_t i = 0; i < s.nlinks; i++) {
		free(s.links[i].members);
		free(s.links[i].id);
	}
	free(s.links);
	free(s.docs);
	free(s.missing);
	return r;
}
