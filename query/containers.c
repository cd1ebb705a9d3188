/* containers.c — `lineage-query containers`: the containers the filter found in one
 * session, with short and full id, name/image when known, times, rootfs, process and file
 * counts. */
#include <string.h>

#include "query.h"
#include "store.h"

/* issue 28: "  mount DEST <- SOURCE (kind, ro)" for each mount with a host side or a kind
 * other than "special" (proc, sys, … are left out), and the overlay's upper dir */
static void print_mounts(struct qctx *ctx, const bson_t *d)
{
	bson_iter_t it, arr, m;
	char line[9000];

	if (bson_iter_init_find(&it, d, SCHEMA_F_MOUNTS) && BSON_ITER_HOLDS_ARRAY(&it) &&
	    bson_iter_recurse(&it, &arr)) {
		while (bson_iter_next(&arr)) {
			const char *dest = NULL, *src = NULL, *kind = NULL;
			bool ro = false;

			if (!BSON_ITER_HOLDS_DOCUMENT(&arr) || !bson_iter_recurse(&arr, &m))
				continue;
			while (bson_iter_next(&m)) {
				const char *k = bson_iter_key(&m);

				if (BSON_ITER_HOLDS_UTF8(&m) && !strcmp(k, SCHEMA_F_MOUNT_DEST))
					dest = bson_iter_utf8(&m, NULL);
				else if (BSON_ITER_HOLDS_UTF8(&m) && !strcmp(k, SCHEMA_F_MOUNT_SOURCE))
					src = bson_iter_utf8(&m, NULL);
				else if (BSON_ITER_HOLDS_UTF8(&m) && !strcmp(k, SCHEMA_F_MOUNT_KIND))
					kind = bson_iter_utf8(&m, NULL);
				else if (BSON_ITER_HOLDS_BOOL(&m) && !strcmp(k, SCHEMA_F_MOUNT_RO))
					ro = bson_iter_bool(&m);
			}
			if (!dest || !kind || !strcmp(kind, "special") || !strcmp(kind, "rootfs"))
				continue;
			snprintf(line, sizeof(line), "  mount %s <- %s (%s%s)", dest,
				 src ? src : "no host path", kind, ro ? ", ro" : "");
			fmt_fit(line, (size_t)ctx->args->width);
			fprintf(ctx->out, "%s\n", line);
		}
	}
	if (bson_iter_init_find(&it, d, SCHEMA_F_OVERLAY) && BSON_ITER_HOLDS_DOCUMENT(&it) &&
	    bson_iter_recurse(&it, &m) && bson_iter_find(&m, SCHEMA_F_OVERLAY_UPPER) &&
	    BSON_ITER_HOLDS_UTF8(&m)) {
		snprintf(line, sizeof(line), "  upper %s", bson_iter_utf8(&m, NULL));
		fmt_fit(line, (size_t)ctx->args->width);
		fprintf(ctx->out, "%s\n", line);
	}
}

static int print_container(struct qctx *ctx, const bson_t *d, void *data)
{
	const char *id = doc_str(d, "container"), *name = doc_str(d, "name");
	const char *image = doc_str(d, "image"), *rootfs = doc_str(d, "rootfs");
	bson_t filter = BSON_INITIALIZER, out;
	char sid[16], start[40], end[40], line[1200], err[400], files[SCHEMA_OUT_NAME_MAX];
	int64_t nfiles = 0, s = doc_date(d, "start"), e = doc_date(d, "end");
	int r;

	(void)data;
	/* the filter counts them; output of a filter before that: count the documents */
	nfiles = doc_int(d, SCHEMA_F_FILES_COUNT, -1);
	if (nfiles < 0) {
		r = q_out_coll(ctx, &ctx->session, SCHEMA_FILES, files);
		if (r < 0)
			return r;
		BSON_APPEND_UTF8(&filter, SCHEMA_F_CONTAINER, id ? id : "");
		r = store_count(ctx->st, files, &filter, &nfiles, err, sizeof(err));
		bson_destroy(&filter);
		if (r < 0)
			return q_store_error(ctx, r, files, err);
	}
	if (ctx->args->format == QFMT_JSON) {
		bson_init(&out);
		bson_copy_to_excluding_noinit(d, &out, SCHEMA_F_FILES_COUNT, NULL);
		BSON_APPEND_INT64(&out, SCHEMA_F_FILES_COUNT, nfiles);
		doc_print_json(ctx, &out);
		bson_destroy(&out);
		return 0;
	}
	fmt_time(s, ctx->args->utc, true, start, sizeof(start));
	fmt_time(e, ctx->args->utc, false, end, sizeof(end));
	if (e == FMT_NO_TIME)
		snprintf(end, sizeof(end), "running");
	snprintf(line, sizeof(line), "%-12s  %-23s  %-12s %6lld %6lld  %s%s%s",
		 fmt_short_id(id, sid, sizeof(sid)), start, end,
		 (long long)doc_int(d, "processes", 0), (long long)nfiles, name ? name : "-",
		 image ? " " : "", image ? image : "");
	fmt_fit(line, (size_t)ctx->args->width);
	fprintf(ctx->out, "%s\n", line);
	snprintf(line, sizeof(line), "  id %s", id ? id : "-");
	fmt_fit(line, (size_t)ctx->args->width);
	fprintf(ctx->out, "%s\n", line);
	snprintf(line, sizeof(line), "  rootfs %s", rootfs ? rootfs : "unknown");
	fmt_fit(line, (size_t)ctx->args->width);
	fprintf(ctx->out, "%s\n", line);
	print_mounts(ctx, d);
	return 0;
}

int cmd_containers(struct qctx *ctx)
{
	bson_t filter = BSON_INITIALIZER, sort = BSON_INITIALIZER;
	char hex[25], coll[SCHEMA_OUT_NAME_MAX];
	int r;

	r = q_out_coll(ctx, &ctx->session, SCHEMA_CONTAINERS, coll);
	if (r < 0)
		goto out;
	BSON_APPEND_INT32(&sort, "start", 1);
	bson_oid_to_string(&ctx->session, hex);
	if (ctx->args->format == QFMT_TEXT)
		fprintf(ctx->out, "session %s\n%-12s  %-23s  %-12s %6s %6s  %s\n", hex,
			"CONTAINER", ctx->args->utc ? "START (UTC)" : "START", "END", "PROCS",
			"FILES", "NAME IMAGE");
	r = q_each(ctx, coll, &filter, &sort, print_container, NULL);
out:
	bson_destroy(&filter);
	bson_destroy(&sort);
	return r;
}
