/* main.c — lineage-filter: command line; rebuilds processes, containers and files of one
 * session from the listener's raw documents (the steps arrive with issue 6). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "log.h"
#include "store.h"

static void usage(FILE *f)
{
	fprintf(f, "usage: lineage-filter [--uri URI] [--db NAME] [--session ID|--last]\n"
		   "Rebuild process trees, containers and file timelines of a recorded session.\n"
		   "  --uri URI      MongoDB URI (default $LINEAGE_MONGODB_URI or %s)\n"
		   "  --db NAME      database (default %s)\n"
		   "  -h, --help     this text\n", STORE_DEFAULT_URI, STORE_DEFAULT_DB);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "uri", required_argument, NULL, 'u' },
		{ "db", required_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *uri = NULL, *db = NULL;
	struct store *st = NULL;
	char err[512];
	int c, rc = 1;

	log_init("lineage-filter", LOG_INFO);
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'u': uri = optarg; break;
		case 'd': db = optarg; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	store_global_init();
	if (store_open(uri, db, &st, err, sizeof(err)) < 0 || store_ping(st, err, sizeof(err)) < 0) {
		log_err("%s", err);
		goto out;
	}
	log_err("the filter steps are not implemented yet (issue 6)");
out:
	store_free(st);
	store_global_cleanup();
	return rc;
}
