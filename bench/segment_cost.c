/* segment_cost.c — what segments (issue 33) cost and save per document, on the listener's
 * own documents: a captured audit log (default tests/fixtures/captured/docker-session-1/
 * audit.log) through the listener's assembler and event_doc ×ROUNDS, or (--bson FILE) the
 * documents of a file of BSON documents back to back (a spool file, `lineage-query events
 * --format bson`). For each codec (zstd 1/3/9, zlib 1/6) in segments of SEGMENT documents:
 * bytes per document, compression and decoding µs per document; then the writer's whole
 * seal (chain_seal: header, zstd 3, SHA-256 of the segment) against parse + assemble + build.
 * CPU time of this thread, one core, no kernel, no database.
 * Prints `segment_cost: key=value ...` lines. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "assemble.h"
#include "chain.h"
#include "chain_format.h"
#include "segment.h"
#include <zlib.h>
#include <zstd.h>
#include "doc_common.h"
#include "event_doc.h"
#include "grow.h"
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

static void keep(struct sink *s, bson_t *d)
{
	if (grow_room((void **)&s->docs, sizeof(*s->docs), s->n, &s->cap) < 0)
		exit(1);
	s->docs[s->n++] = d;
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
	keep(s, d);
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
		fprintf(stderr, "segment_cost: cannot read %s\n", path);
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

/* Documents of a file of BSON documents back to back. */
static void read_bson(const char *path, struct sink *s)
{
	FILE *f = fopen(path, "r");
	uint8_t lenb[4];

	if (!f) {
		fprintf(stderr, "segment_cost: cannot read %s\n", path);
		exit(1);
	}
	while (fread(lenb, 1, 4, f) == 4) {
		uint32_t len = (uint32_t)lenb[0] | (uint32_t)lenb[1] << 8 | (uint32_t)lenb[2] << 16 |
			       (uint32_t)lenb[3] << 24;
		uint8_t *buf;
		bson_t *d;

		if (len < 5 || len > (16u << 20) || !(buf = malloc(len)))
			break;
		memcpy(buf, lenb, 4);
		if (fread(buf + 4, 1, len - 4, f) != len - 4 || !(d = bson_new_from_data(buf, len))) {
			free(buf);
			break;
		}
		free(buf);
		keep(s, d);
	}
	fclose(f);
}

struct codec {
	const char *name;
	int zstd_level, zlib_level;
};

/* One codec over every segment of seg documents: bytes out, compress and decode time. */
static void run_codec(const struct codec *c, struct sink *s, size_t seg)
{
	double tc = 0, td = 0, t0;
	size_t out_bytes = 0, in_bytes = 0;
	ZSTD_CCtx *cc = ZSTD_createCCtx();
	ZSTD_DCtx *dc = ZSTD_createDCtx();

	for (size_t first = 0; first < s->n; first += seg) {
		size_t n = s->n - first < seg ? s->n - first : seg, len = 0, bound;
		uint8_t *raw, *out, *back;

		for (size_t i = first; i < first + n; i++)
			len += s->docs[i]->len;
		raw = malloc(len);
		back = malloc(len);
		len = 0;
		for (size_t i = first; i < first + n; i++) {
			memcpy(raw + len, bson_get_data(s->docs[i]), s->docs[i]->len);
			len += s->docs[i]->len;
		}
		bound = c->zstd_level ? ZSTD_compressBound(len) : compressBound(len);
		out = malloc(bound);
		if (!raw || !back || !out)
			exit(1);
		t0 = now_s();
		if (c->zstd_level) {
			bound = ZSTD_compressCCtx(cc, out, bound, raw, len, c->zstd_level);
			tc += now_s() - t0;
			t0 = now_s();
			ZSTD_decompressDCtx(dc, back, len, out, bound);
		} else {
			uLongf ol = bound, bl = len;

			compress2(out, &ol, raw, len, c->zlib_level);
			bound = ol;
			tc += now_s() - t0;
			t0 = now_s();
			uncompress(back, &bl, out, ol);
		}
		td += now_s() - t0;
		if (memcmp(raw, back, len) != 0) {
			fprintf(stderr, "segment_cost: %s does not round-trip\n", c->name);
			exit(1);
		}
		in_bytes += len;
		out_bytes += bound;
		free(raw);
		free(back);
		free(out);
	}
	printf("segment_cost: codec=%s docs=%zu segment=%zu raw_bytes_per_doc=%.0f "
	       "bytes_per_doc=%.1f ratio=%.1f compress_us_per_doc=%.3f decode_us_per_doc=%.3f\n",
	       c->name, s->n, seg, (double)in_bytes / (double)s->n,
	       (double)out_bytes / (double)s->n, (double)in_bytes / (double)out_bytes,
	       tc * 1e6 / (double)s->n, td * 1e6 / (double)s->n);
	ZSTD_freeCCtx(cc);
	ZSTD_freeDCtx(dc);
}

int main(int argc, char **argv)
{
	static const struct codec codecs[] = {
		{ "zstd-1", 1, 0 }, { "zstd-3", 3, 0 }, { "zstd-9", 9, 0 },
		{ "zlib-1", 0, 1 }, { "zlib-6", 0, 6 },
	};
	const char *path = "tests/fixtures/captured/docker-session-1/audit.log", *bson = NULL;
	int rounds = 50;
	size_t seg = SEG_DEFAULT_EVENTS, sealed_bytes = 0;
	struct sink s = { 0 };
	struct seg_builder *b;
	struct chain *c;
	double t0, t_build = 0, t_seal;
	void *zctx = seg_cctx_new();
	bson_t *doc;
	int ai = 1;

	if (ai < argc && !strcmp(argv[ai], "--bson") && ai + 1 < argc) {
		bson = argv[ai + 1];
		ai += 2;
	}
	if (ai < argc && !bson)
		path = argv[ai++];
	if (ai < argc)
		rounds = atoi(argv[ai++]);
	if (ai < argc)
		seg = (size_t)atoi(argv[ai++]);
	s.meta.host = "bench";
	bson_oid_init(&s.meta.session, NULL);
	bson_oid_to_string(&s.meta.session, s.meta.session_hex);
	if (bson) {
		read_bson(bson, &s);
	} else {
		/* the listener's work per event before the writer: parse, assemble, build */
		t0 = now_s();
		for (int r = 0; r < rounds; r++)
			feed(path, &s);
		t_build = now_s() - t0;
		s.keep = true;
		for (int r = 0; r < rounds; r++)
			feed(path, &s); /* seq grows: the documents differ like a session's */
	}
	if (s.n == 0) {
		fprintf(stderr, "segment_cost: no documents\n");
		return 1;
	}
	for (size_t i = 0; i < sizeof(codecs) / sizeof(codecs[0]); i++)
		run_codec(&codecs[i], &s, seg);
	/* the writer's seal: builder (header values, copy), zstd 3, SHA-256, chain */
	if (chain_new(&s.meta.session, s.meta.session_hex, &c) < 0 ||
	    seg_builder_new(SCHEMA_EVENTS, &b) < 0)
		return 1;
	t0 = now_s();
	for (size_t i = 0; i < s.n; i++) {
		if (seg_builder_add(b, s.docs[i]) < 0)
			return 1;
		if (seg_builder_count(b) == seg || i + 1 == s.n) {
			if (chain_seal(c, b, zctx, &doc) < 0)
				return 1;
			sealed_bytes += doc->len;
			bson_destroy(doc);
		}
	}
	t_seal = now_s() - t0;
	printf("segment_cost: docs=%zu build_us_per_doc=%.3f seal_us_per_doc=%.3f "
	       "stored_bytes_per_doc=%.1f seal_vs_build_pct=%.1f\n",
	       s.n, t_build ? t_build * 1e6 / (double)s.n : 0.0, t_seal * 1e6 / (double)s.n,
	       (double)sealed_bytes / (double)s.n, t_build ? 100.0 * t_seal / t_build : 0.0);
	for (size_t i = 0; i < s.n; i++)
		bson_destroy(s.docs[i]);
	free(s.docs);
	seg_builder_free(b);
	chain_free(c);
	seg_cctx_free(zctx);
	return 0;
}
