/* main.c — lineage-filter: command line and the pipeline load → merge → tree → rootfs →
 * files → emit for one recorded session; prints a summary on stdout. Owns the store handle
 * and the session's model. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "docker_meta.h"
#include "emit.h"
#include "files.h"
#include "chain_verify.h"
#include "integrity.h"
#include "load.h"
#include "log.h"
#include "merge.h"
#include "model.h"
#include "rootfs.h"
#include "store.h"
#include "tree.h"
#include "version.h"

enum {
	EXIT_OK = 0,
	EXIT_USAGE = 1,
	EXIT_UNREACHABLE = 2,
	EXIT_NO_SESSION = 3,
	EXIT_DB_ERROR = 4,
};

static bool show_progress;

static void usage(FILE *f)
{
	fprintf(f,
		"usage: lineage-filter (--session ID | --last) [--uri URI] [--db NAME] [--dry-run]\n"
		"                      [--docker-root DIR] [--runtime-root DIR]\n"
		"Rebuild the process trees, containers and file timelines of one recorded session\n"
		"from the listener's raw documents (events, proc_events, snapshot) and write them\n"
		"to the processes, containers and files collections, replacing that session's\n"
		"previous output.\n"
		"  --session ID   the session's ObjectId (24 hex digits)\n"
		"  --last         the session with the latest started_at\n"
		"  --uri URI      MongoDB URI (default $LINEAGE_MONGODB_URI or %s)\n"
		"  --db NAME      database (default %s)\n"
		"  --dry-run      compute and print the summary, write nothing\n"
		"  --docker-root DIR   docker's data root, read for a container's name, image and\n"
		"                 (when no pivot_root was recorded) overlay rootfs (default %s;\n"
		"                 \"\" reads nothing; by default not read for a session of another host)\n"
		"  --runtime-root DIR  containerd's state dir holding the OCI bundles (default %s,\n"
		"                 then %s)\n"
		"  -q, --quiet    no progress on stderr\n"
		"  -h, --help     this text\n"
		"  --version      the version\n"
		"Exit status: 0 ok, 1 usage, 2 database unreachable, 3 session not found,\n"
		"4 the database refused a query or write.\n",
		STORE_DEFAULT_URI, STORE_DEFAULT_DB, DOCKER_META_DOCKER_ROOT,
		DOCKER_META_RUNTIME_ROOT, DOCKER_META_RUNTIME_ROOT_DOCKERD);
}

static void progress(const char *phase, size_t done, bool last)
{
	if (show_progress)
		fprintf(stderr, "\r%-12s %zu%s", phase, done, last ? "\n" : "");
}

static void summary(const struct model *m, const char *sid, const struct emit_result *res,
		    bool dry)
{
	size_t running = 0, reparented = 0, helpers = 0;

	for (size_t i = 0; i < m->nprocs; i++) {
		const struct m_proc *p = &m->procs[i];

		running += !p->exited;
		helpers += p->runtime;
		reparented += p->parent_at_exit_tgid > 0 &&
			      (p->parent_at_exit != p->parent || p->parent_at_exit_tgid != p->parent_tgid);
	}
	printf("session %s%s\n", sid, dry ? " (dry run: nothing written)" : "");
	/* issue 19: nobody should take a scoped session for the whole host */
	if (m->scope && strcmp(m->scope, "all"))
		printf("scope: %s (recorded with a scope: not the whole host)\n", m->scope);
	else
		printf("scope: all (the whole host)\n");
	printf("input: %zu events, %zu proc_events, %zu snapshot\n", m->nevents, m->npevents,
	       m->nsnaps);
	if (m->audit_only) {
		const char *lk[8];
		size_t nl = merge_audit_only_lacks(m, lk, 8);

		printf("audit only (no proc connector, no snapshot: an imported log): parents, "
		       "starts and exits from audit records; containers only from runtime command "
		       "lines\n");
		for (size_t i = 0; i < nl; i++)
			printf("the log lacks: %s\n", lk[i]);
	}
	printf("containers: %zu\n", m->nconts);
	for (size_t c = 0; c < m->nconts; c++) {
		const struct m_cont *ct = &m->conts[c];

		printf("  %.12s%s%s init %s, %zu processes, %zu exec'd entries, rootfs %s%s%s%s\n",
		       ct->id, ct->name ? " " : "", ct->name ? ct->name : "",
		       ct->init >= 0 ? m->procs[ct->init].key : "unknown", ct->ntree,
		       ct->nexec_roots, ct->rootfs ? ct->rootfs : "unknown",
		       ct->rootfs ? " (" : "", ct->rootfs ? ct->rootfs_src : "",
		       ct->rootfs ? ")" : "");
	}
	printf("processes: %zu (%zu running at session end, %zu reparented, %zu runtime helpers)\n",
	       m->nprocs, running, reparented, helpers);
	printf("files: %zu (%zu inferred closes, %zu failed opens)\n", m->nfiles,
	       m->n.inferred_closes, m->n.failed_opens);
	printf("anomalies: %zu events of processes seen only by audit (%zu processes), "
	       "%zu threads of unknown processes, %zu lost exits, %zu containers without rootfs, "
	       "%zu without init, %zu unresolved directory fds, %zu segments that do not decode\n",
	       m->n.unknown_process_events, m->n.audit_only_processes, m->n.thread_of_unknown,
	       m->n.missed_exits, m->n.containers_without_rootfs, m->n.containers_without_init,
	       m->n.unresolved_dirfd, m->n.bad_segments);
	if (res)
		printf("written: %zu processes, %zu containers, %zu files\n", res->processes,
		       res->containers, res->files);
}

/* Where rootfs_run() reads docker's state: the options, else the defaults, but by default
 * nothing for a session recorded on another host (its containers are not here). "" reads
 * nothing. */
static void set_docker_roots(struct model *m, const char *host, const char *docker_root,
			     const char *runtime_root)
{
	struct utsname un;

	if (!docker_root && !runtime_root && host && host[0] && uname(&un) == 0 &&
	    strcmp(un.nodename, host) != 0) {
		log_info("session recorded on %s, not here (%s): docker state not read "
			 "(give --docker-root/--runtime-root to read it anyway)", host, un.nodename);
		return;
	}
	if (!docker_root)
		docker_root = DOCKER_META_DOCKER_ROOT;
	m->docker_root = docker_root[0] ? docker_root : NULL;
	if (runtime_root) {
		m->runtime_roots[0] = runtime_root[0] ? runtime_root : NULL;
	} else {
		m->runtime_roots[0] = DOCKER_META_RUNTIME_ROOT;
		m->runtime_roots[1] = DOCKER_META_RUNTIME_ROOT_DOCKERD;
	}
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "session", required_argument, NULL, 's' },
		{ "last", no_argument, NULL, 'l' },
		{ "uri", required_argument, NULL, 'u' },
		{ "db", required_argument, NULL, 'd' },
		{ "dry-run", no_argument, NULL, 'n' },
		{ "docker-root", required_argument, NULL, 'D' },
		{ "runtime-root", required_argument, NULL, 'R' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	const char *uri = NULL, *db = NULL, *sid_arg = NULL;
	const char *docker_root = NULL, *runtime_root = NULL;
	bool last = false, dry = false, quiet = false, found = false, has_data = false;
	struct emit_result res = { 0 };
	struct integrity verdict;
	struct chainv *chain = NULL;
	struct store *st = NULL;
	struct model m;
	bson_oid_t sid;
	char err[512], sid_hex[25], *host = NULL, *scope = NULL;
	int c, r, rc = EXIT_DB_ERROR;

	log_init("lineage-filter", LOG_INFO);
	while ((c = getopt_long(argc, argv, "hq", opts, NULL)) != -1) {
		switch (c) {
		case 's': sid_arg = optarg; break;
		case 'l': last = true; break;
		case 'u': uri = optarg; break;
		case 'd': db = optarg; break;
		case 'n': dry = true; break;
		case 'D': docker_root = optarg; break;
		case 'R': runtime_root = optarg; break;
		case 'q': quiet = true; break;
		case 'h': usage(stdout); return EXIT_OK;
		case 'V': printf("lineage-filter %s\n", LINEAGE_VERSION); return EXIT_OK;
		default: usage(stderr); return EXIT_USAGE;
		}
	}
	if (optind < argc || (!sid_arg == !last)) {
		fprintf(stderr, "lineage-filter: give exactly one of --session ID or --last\n");
		usage(stderr);
		return EXIT_USAGE;
	}
	if (sid_arg && !bson_oid_is_valid(sid_arg, strlen(sid_arg))) {
		fprintf(stderr, "lineage-filter: --session wants a 24-hex-digit ObjectId, not '%s'\n",
			sid_arg);
		return EXIT_USAGE;
	}
	show_progress = !quiet && isatty(STDERR_FILENO);
	model_init(&m);
	store_global_init();
	if (store_open(uri, db, &st, err, sizeof(err)) < 0) {
		log_err("%s", err);
		rc = EXIT_USAGE; /* a URI libmongoc cannot parse */
		goto out;
	}
	if (store_ping(st, err, sizeof(err)) < 0) {
		log_err("%s", err);
		rc = EXIT_UNREACHABLE;
		goto out;
	}
	if (last) {
		r = load_latest_session(st, &sid, err, sizeof(err));
		if (r == -ENOENT) {
			log_err("--last: %s", err);
			rc = EXIT_NO_SESSION;
			goto out;
		}
	} else {
		bson_oid_init_from_string(&sid, sid_arg);
		r = 0;
	}
	if (r == 0)
		r = load_session_info(st, &sid, &found, &host, err, sizeof(err));
	if (r == 0)
		r = load_session_scope(st, &sid, &scope, err, sizeof(err));
	if (r == 0)
		r = load_session_has_data(st, &sid, &has_data, err, sizeof(err));
	if (r < 0)
		goto db_error;
	bson_oid_to_string(&sid, sid_hex);
	if (!found && !has_data) {
		log_err("session %s not found (no sessions document and no raw documents)", sid_hex);
		rc = EXIT_NO_SESSION;
		goto out;
	}
	if (!found)
		log_warn("session %s has raw documents but no sessions document", sid_hex);

	set_docker_roots(&m, host, docker_root, runtime_root);
	m.scope = scope;
	/* the evidence check reads the same segments as the load: one pass (issue 33) */
	if (!dry && (r = integrity_begin(st, &sid, &chain, err, sizeof(err))) < 0) {
		if (r != -ENOENT && r != -EINVAL)
			goto db_error;
		log_warn("session %s: evidence chain not checked: %s", sid_hex, err);
	}
	r = load_session(st, &sid, &m, chain, show_progress ? progress : NULL, err, sizeof(err));
	if (r < 0)
		goto db_error;
	/* the evidence verdict first: the containers documents carry it (issue 21) */
	if (chain && (r = integrity_end(chain, &verdict, err, sizeof(err))) == 0) {
		m.integrity = &verdict;
		if (!strcmp(verdict.status, "unchained"))
			log_info("session %s: recorded without an evidence chain", sid_hex);
		else if (strcmp(verdict.status, "ok"))
			log_warn("session %s: evidence chain: %s (lineage-query verify %s says "
				 "exactly what; the output is written anyway)", sid_hex,
				 verdict.summary, sid_hex);
	} else if (chain) {
		log_warn("session %s: evidence chain not checked: %s", sid_hex, err);
	}
	merge_run(&m);
	tree_run(&m);
	rootfs_run(&m);
	files_run(&m);
	if (!dry) {
		r = emit_session(st, &m, &sid, host, &res, err, sizeof(err));
		if (r < 0)
			goto db_error;
		if (m.integrity && (r = integrity_record(st, &sid, &verdict, err, sizeof(err))) < 0)
			goto db_error;
	}
	summary(&m, sid_hex, dry ? NULL : &res, dry);
	rc = EXIT_OK;
	goto out;
db_error:
	log_err("%s", err);
	rc = r == -ENOTCONN ? EXIT_UNREACHABLE : EXIT_DB_ERROR;
out:
	free(host);
	free(scope);
	chainv_free(chain);
	model_release(&m);
	store_free(st);
	store_global_cleanup();
	return rc;
}
