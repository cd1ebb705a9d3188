/* search.c — `lineage-query search` (placeholder until the filter's per-session output
 * lands): --follow only. */
#include <errno.h>

#include "query.h"

int cmd_search(struct qctx *ctx)
{
	if (ctx->args->follow)
		return cmd_follow(ctx);
	return -ENOSYS;
}
