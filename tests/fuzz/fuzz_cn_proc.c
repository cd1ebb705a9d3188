/* fuzz_cn_proc.c — libFuzzer target for the proc-side parsers: the cn_proc datagram decoder
 * (arbitrary bytes as a netlink datagram), container_id_from_cgroup and procfs_parse_stat on
 * the same bytes. Crashes, out-of-bounds reads and UB are the findings. */
#include <stddef.h>
#include <stdint.h>

#include "cn_proc.h"
#include "container.h"
#include "procfs.h"

static void on_event(void *opaque, const struct cn_proc_event *ev)
{
	size_t *n = opaque;

	/* touch every field so a bad copy would show under MSan/ASan */
	*n += (size_t)ev->what + ev->cpu + ev->seq + (size_t)ev->pid + (size_t)ev->tgid +
	      (size_t)ev->exit_code + ev->comm[16];
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cn_proc_stats st = { 0 };
	struct cn_proc_event ev;
	char id[CONTAINER_ID_LEN + 1], comm[17], state;
	uint64_t start;
	pid_t ppid;
	size_t n = 0;

	(void)cn_proc_decode_datagram(data, size, on_event, &n, &st);
	(void)cn_proc_decode_msg(data, size, &ev);
	(void)container_id_from_cgroup((const char *)data, size, id);
	(void)container_id_from_line((const char *)data, size, id);
	(void)procfs_parse_stat((const char *)data, size, comm, &state, &ppid, &start);
	return 0;
}
