/* main.c — lineage-listener: command line, signals, and the session document.
 * (Skeleton of issue 2: opens a session in the store, waits for SIGINT/SIGTERM, closes it.) */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "log.h"
#include "store.h"

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
	(void)sig;
	stop_requested = 1;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: lineage-listener [--uri URI] [--db NAME]\n"
		   "Record process and file activity of this host's containers into MongoDB.\n"
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
	struct sigaction sa;
	struct utsname un;
	bson_t info = BSON_INITIALIZER;
	bson_oid_t session;
	char err[512], oid[25];
	int c, rc = 1;

	log_init("lineage-listener", LOG_INFO);
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'u': uri = optarg; break;
		case 'd': db = optarg; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	store_global_init();
	if (store_open(uri, db, &st, err, sizeof(err)) < 0 || store_ping(st, err, sizeof(err)) < 0) {
		log_err("%s", err);
		goto out;
	}
	uname(&un);
	BSON_APPEND_UTF8(&info, "host", un.nodename);
	BSON_APPEND_UTF8(&info, "kernel", un.release);
	if (store_session_open(st, &info, &session, err, sizeof(err)) < 0) {
		log_err("store: %s", err);
		goto out;
	}
	bson_oid_to_string(&session, oid);
	log_info("session %s recording into %s", oid, store_uri(st));
	while (!stop_requested)
		pause();
	if (store_session_close(st, &session, NULL, err, sizeof(err)) < 0) {
		log_err("store: %s", err);
		goto out;
	}
	log_info("session %s closed", oid);
	rc = 0;
out:
	bson_destroy(&info);
	store_free(st);
	store_global_cleanup();
	return rc;
}
