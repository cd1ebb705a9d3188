/* fuzz_search_index.c — the search index readers (issue 20) on arbitrary bytes, as a part is
 * read back from the store and may be damaged: they must stop at the end or refuse, never
 * read past it, and the execs of a process record that decoded must decode too. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "search_format.h"

#define ARGV_MAX 8

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct search_proc p;
	const char *path, *exe, *argv[ARGV_MAX];
	size_t pos = 0, argc;
	int64_t ts;

	while (search_next_path(data, size, &pos, &path) == 1)
		if (pos > size || strlen(path) >= size)
			abort();
	pos = 0;
	while (search_next_proc(data, size, &pos, &p) == 1) {
		size_t epos = p.execs_pos;

		if (pos > size || epos > pos)
			abort();
		for (size_t k = 0; k < p.nexecs; k++)
			if (search_next_exec(data, size, &epos, &ts, &exe, argv, ARGV_MAX, &argc) != 1 ||
			    epos > pos)
				abort();
		if (epos != pos)
			abort();
	}
	return 0;
}
