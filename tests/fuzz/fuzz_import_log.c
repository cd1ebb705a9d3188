/* fuzz_import_log.c — libFuzzer target for lineage-import's log path (issue 30): the input
 * as a log file (memfd; plain or, when it starts with gzip's magic, gzip) through logread,
 * each line's node= prefix (auditlog_line_node) choosing one of two assemblers, the line
 * through asm_feed_line (the listener's replay seam) and every event into its document; the
 * first line also as a path for auditlog_generation/auditlog_order. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "assemble.h"
#include "auditlog.h"
#include "event_doc.h"
#include "logread.h"

static void emit(void *opaque, const struct audit_event *ev)
{
	struct doc_meta *m = opaque;
	bson_t doc = BSON_INITIALIZER;

	m->seq++;
	(void)event_doc_build(ev, m, &doc);
	bson_destroy(&doc);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct doc_meta m = { .host = "fuzz" };
	struct asm_ctx *ctx[2];
	struct logread *lr;
	const char *line, *node;
	size_t len, nlen;
	uint64_t clock = 0;
	bool too_long, first = true;
	char path[64];
	int fd = memfd_create("fuzz", MFD_CLOEXEC);

	if (fd < 0)
		return 0;
	if (size && write(fd, data, size) != (ssize_t)size) {
		close(fd);
		return 0;
	}
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	if (asm_new(8, 4, emit, &m, &ctx[0]) < 0)
		abort();
	if (asm_new(8, 4, emit, &m, &ctx[1]) < 0)
		abort();
	if (logread_open(path, &lr) == 0) {
		while (logread_next(lr, &line, &len, &too_long) > 0) {
			int k = auditlog_line_node(line, len, &node, &nlen);

			if (k == 1 && (nlen == 0 || nlen > AUDITLOG_NODE_MAX || node < line ||
				       node + nlen > line + len))
				abort();
			if (first && len < 4096) {
				char p[4096];
				const char *v[2] = { p, "audit.log" };
				size_t base;

				memcpy(p, line, len);
				p[len] = '\0';
				if (auditlog_generation(p, &base), base > strlen(p))
					abort();
				(void)auditlog_order(v, 2);
				first = false;
			}
			if (k >= 0 && !too_long)
				asm_feed_line(ctx[k == 1], line, len, ++clock);
			if ((clock & 7) == 0) {
				asm_expire(ctx[0], clock);
				asm_expire(ctx[1], clock);
			}
		}
		logread_free(lr);
	}
	close(fd);
	asm_flush(ctx[0]);
	asm_flush(ctx[1]);
	asm_free(ctx[0]);
	asm_free(ctx[1]);
	return 0;
}
