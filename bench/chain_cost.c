/* chain_cost.c — what the evidence chain (issue 21) costs per document, on the listener's own
 * documents: a captured audit log (default tests/fixtures/captured/docker-session-1/audit.log)
 * goes through the listener's assembler and event_doc ×ROUNDS; the time of that
 * (parse + assemble + build, the listener's per-event userspace work short of the writer) is
 * set against chain_add() on the same documents. One core, no kernel, no database: a figure
 * that load on a shared machine disturbs less than bench/driver.py's CPU per event (CPU
 * time of the thread, not wall time).
 * Prints `chain_cost: key=value ...`. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "assemble.h"
#include "chain.h"
#include "chain_format.h"
#include "doc_common.h"
#include "event_doc.h"
#include "schema.h"

struct sink {
	struct doc_meta meta;
	bson_t **docs;
	size_t n, cap;
	bool keep;
};

/* CPU time of this thread: on a shared machine wall time measures the neighbours too */
static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void on_event(void *opaque, const struct audit_event *ev)
{
	struct sink *s = opaque;
	bson_t *d = bson_sized_new(1024);

	s->meta.seq++;
	if (event_doc_build(ev, &s->meta, d) < 0 || !s->keep) {
		bson_destroy(d);
		return;
	}
	if (s->n == s->cap) {
		s->cap = s->cap ? s->cap * 2 : 4096;
		s->docs = realloc(s->docs, s->cap * sizeof(*s->docs));
		if (!s->docs)
			exit(1);
	}
	s->docs[s->n++] = d;
}

/* Feed every line of the log through a fresh assembler; the documents land in s. */
static void feed(const char *path, struct sink *s)
{
	FILE *f = fopen(path, "r");
	struct asm_ctx *ctx;
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	uint64_t i = 0;

	if (!f || asm_new(1000, 4096, on_event, s, &ctx) < 0) {
		fprintf(stderr, "chain_cost: cannot read %s\n", path);
		exit(1);
	}
	while ((n = getline(&line, &cap, f)) > 0) {
		if (line[n - 1] == '\n')
			line[--n] = '\0';
		asm_feed_line(ctx, line, (size_t)n, i++);
	}
	asm_flush(ctx);
	asm_free(ctx);
	free(line);
	fclose(f);
}

int main(int argc, char **argv)
{
	const char *path = argc > 1 ? argv[1] : "tests/fixtures/captured/docker-session-1/audit.log";
	int rounds = argc > 2 ? atoi(argv[2]) : 50;
	struct sink s = { 0 };
	struct chain *c;
	double t0, t_build, t_chain, t_digest;
	uint8_t dig[CHAINFMT_DIGEST_LEN];
	uint64_t bytes = 0, links = 0;
	bson_t *link;

	s.meta.host = "bench";
	bson_oid_init(&s.meta.session, NULL);
	bson_oid_to_string(&s.meta.session, s.meta.session_hex);
	/* the listener's work per event, without the chain: parse, assemble, build */
	t0 = now_s();
	for (int r = 0; r < rounds; r++)
		feed(path, &s);
	t_build = now_s() - t0;
	/* the documents themselves, kept once, then chained ×rounds */
	s.keep = true;
	feed(path, &s);
	for (size_t i = 0; i < s.n; i++)
		bytes += s.docs[i]->len;
	if (chain_new(&s.meta.session, s.meta.session_hex, 0, &c) < 0)
		return 1;
	t0 = now_s();
	for (int r = 0; r < rounds; r++)
		for (size_t i = 0; i < s.n; i++) {
			if (chain_add(c, SCHEMA_EVENTS, s.docs[i], &link) < 0)
				return 1;
			if (link) {
				links++;
				bson_destroy(link);
			}
		}
	t_chain = now_s() - t0;
	/* of which SHA-256 of the document alone */
	t0 = now_s();
	for (int r = 0; r < rounds; r++)
		for (size_t i = 0; i < s.n; i++)
			chainfmt_digest(bson_get_data(s.docs[i]), s.docs[i]->len, dig);
	t_digest = now_s() - t0;
	printf("chain_cost: docs=%zu rounds=%d avg_doc_bytes=%.0f build_us_per_doc=%.3f "
	       "chain_us_per_doc=%.3f sha256_us_per_doc=%.3f chain_vs_build_pct=%.1f links=%" PRIu64
	       "\n",
	       s.n, rounds, (double)bytes / (double)s.n, t_build * 1e6 / (double)(s.n * rounds),
	       t_chain * 1e6 / (double)(s.n * rounds), t_digest * 1e6 / (double)(s.n * rounds),
	       100.0 * t_chain / t_build, links);
	for (size_t i = 0; i < s.n; i++)
		bson_destroy(s.docs[i]);
	free(s.docs);
	chain_free(c);
	return 0;
}
