/* fuzz_audit_parse.c — libFuzzer target for the audit path: the input as one record
 * (audit_record_parse and its getters; the first byte picks the record type), then the input's
 * lines as `type=N msg=...` replay lines through asm_feed_line with a tiny assembler (4 open
 * events, 2 ms timeout), every emitted event turned into its BSON document. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "assemble.h"
#include "event_doc.h"

static void emit(void *opaque, const struct audit_event *ev)
{
	struct doc_meta *m = opaque;
	bson_t doc = BSON_INITIALIZER;

	m->seq++;
	(void)event_doc_build(ev, m, &doc);
	bson_destroy(&doc);
}

static void one_record(const uint8_t *data, size_t size)
{
	static const int types[] = { 1300, 1302, 1307, 1309, 1327, 1320, 1400, 1107 };
	struct audit_record *r;
	uint64_t u;
	int64_t i;

	if (size == 0)
		return;
	if (audit_record_parse(types[data[0] % 8], (const char *)data + 1, size - 1, &r) < 0)
		return;
	(void)audit_record_str(r, "name");
	(void)audit_record_u64(r, "arch", 16, &u);
	(void)audit_record_u64(r, "mode", 8, &u);
	(void)audit_record_i64(r, "exit", 10, &i);
	for (size_t k = 0; k < r->nfields; k++)
		if (strlen(r->fields[k].key) == 0)
			abort();
	audit_record_free(r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct doc_meta m = { .host = "fuzz" };
	struct asm_ctx *ctx;
	const char *p = (const char *)data, *end = p + size;
	uint64_t now = 0;

	one_record(data, size);

	if (asm_new(2, 4, emit, &m, &ctx) < 0)
		return 0;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);
		char *line = malloc(len ? len : 1); /* exact size: ASan sees any overread */

		if (!line)
			break;
		memcpy(line, p, len);
		(void)asm_feed_line(ctx, line, len, now++);
		free(line);
		asm_expire(ctx, now);
		p += len + 1;
	}
	asm_flush(ctx);
	asm_free(ctx);
	return 0;
}
