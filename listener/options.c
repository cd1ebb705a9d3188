/* options.c — lineage-listener's option table and its three readers: getopt_long for the
 * command line, the config-file parser and the --help printer (see options.h). Owns the
 * strings read from a config file (struct options.owned). Adding an option is one table
 * entry: it is then a command-line option, a config key and a --help line at once. */
#include "options.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "num.h"
#include "store.h"
#include "version.h"

#define LINE_MAX_BYTES 4096

enum opt_type {
	T_STR,    /* const char * */
	T_SET,    /* bool set true by the option */
	T_CLEAR,  /* bool set false by the option (--no-write) */
	T_NUM,    /* unsigned number ≤ max, stored in a field of size bytes */
	T_PID,    /* appended to exclude[] (repeatable) */
	T_ACTION, /* command line only */
	T_SCOPE,  /* handed to scope_config_set() by name (issue 19) */
};

enum { A_HELP = 1, A_VERSION, A_PRINT, A_CONFIG, A_NO_CONFIG };

struct opt_def {
	const char *name;
	int short_name;     /* 0: none */
	enum opt_type type;
	size_t off, size;   /* the field in struct options */
	uint64_t max;       /* T_NUM */
	bool zero_is_one;   /* T_NUM: 0 means 1 (a batch or queue of 0 makes no sense) */
	int action;         /* T_ACTION */
	const char *arg;    /* the argument's name in --help; NULL: none */
	const char *help;   /* lines after the first start with '\n' */
};

#define F(field) offsetof(struct options, field), sizeof(((struct options *)0)->field)
#define STR(n, field, arg, help) { n, 0, T_STR, F(field), 0, false, 0, arg, help }
#define SET(n, field, help) { n, 0, T_SET, F(field), 0, false, 0, NULL, help }
#define CLEAR(n, field, help) { n, 0, T_CLEAR, F(field), 0, false, 0, NULL, help }
#define NUM(n, field, z, arg, help) { n, 0, T_NUM, F(field), INT_MAX, z, 0, arg, help }
#define NUM_MAX(n, field, max, arg, help) { n, 0, T_NUM, F(field), max, false, 0, arg, help }
#define ACTION(n, s, a, arg, help) { n, s, T_ACTION, 0, 0, 0, false, a, arg, help }
#define SCOPE(n, arg, help) { n, 0, T_SCOPE, 0, 0, 0, false, 0, arg, help }

/* The order of --help. */
static const struct opt_def defs[] = {
	STR("uri", uri, "URI", "MongoDB URI (default $LINEAGE_MONGODB_URI or " STORE_DEFAULT_URI ")"),
	STR("db", db, "NAME", "database (default " STORE_DEFAULT_DB ")"),
	SET("no-db", no_db, "do not write to MongoDB (use with --jsonl)"),
	STR("jsonl", jsonl, "FILE", "also write every document as a JSON line to FILE (- = stdout)"),
	STR("spool", spool_dir, "DIR",
	    "where documents wait while MongoDB is away, also from the start\n(default "
	    OPTIONS_DEFAULT_SPOOL ")"),
	SET("multicast", multicast, "read a copy of audit beside another audit daemon; change nothing"),
	CLEAR("no-write", audit_write, "leave write(2) out of the audit rules"),
	SET("no-proc", no_proc, "do not read the proc connector"),
	SET("no-proc-filter", no_proc_filter, "take every proc connector event type, not only fork,\n"
	    "exec, exit, comm and uid filtered in the kernel (6.6+; for\nmeasuring)"),
	NUM("backlog-limit", backlog_limit, false, "N", "kernel audit queue length (default 8192)"),
	NUM("backlog-wait", backlog_wait, false, "J",
	    "jiffies an audited task may block when the queue is full\n(default 60; 0 = never "
	    "block, the kernel counts lost instead)"),
	NUM_MAX("priority-boost", priority_boost, 20, "N",
	    "run N nice levels above the nice found, like auditd's\npriority_boost (0-20, "
	    "default 0: measured, it costs more CPU per\nevent than the loss it saves)"),
	NUM("rcvbuf", rcvbuf, false, "BYTES", "socket receive buffers (default 16777216)"),
	NUM("proc-rcvbuf", proc_rcvbuf, false, "BYTES", "the proc connector's alone (default: --rcvbuf)"),
	{ "exclude-pid", 0, T_PID, 0, 0, INT_MAX, false, 0, "PID",
	  "never record this process (repeatable; the listener and local\nmongod/ferretdb "
	  "servers are always excluded)" },
	NUM("stats-interval", stats_interval, false, "S",
	    "seconds between stats lines on stderr (default 10; 0 = off)"),
	NUM("batch", batch_max, true, "N", "documents (segments: at most 8) per insert (default 500)"),
	NUM("batch-age", batch_age_ms, false, "MS",
	    "oldest non-raw document's age before its batch is sent\n(default 200)"),
	NUM("segment-events", segment_events, true, "N",
	    "raw documents per segment (default 1024)"),
	NUM("segment-ms", segment_ms, true, "MS",
	    "the longest a raw document waits in an open segment\n(default 250)"),
	NUM("queue-max", queue_max, true, "N",
	    "documents queued in memory before spooling (default 100000)"),
	/* issue 19: what to record (scope.c); every condition given must hold */
	SCOPE("scope", "host|containers|all",
	      "host processes only, or processes in any container and\nthe runtime's tree from "
	      "the shim down, or all (default)"),
	SCOPE("container", "ID|NAME", "only this container (id prefix or name, also one started\n"
	      "later under that name; repeatable)"),
	SCOPE("uid", "UID|NAME", "only processes of this real uid (repeatable)"),
	SCOPE("exclude-uid", "UID|NAME", "never this uid (repeatable)"),
	SCOPE("pid", "PID", "only this running process and its descendants, also\nreparented "
	      "ones; stop when it exits (repeatable)"),
	SCOPE("command", NULL, "-- CMD ARGS...: run CMD as the listener's child, record it and\n"
	      "all its descendants, stop when it exits, exit with its status\n(command line only)"),
	SCOPE("path-prefix", "P", "file events (open, creat, rename, unlink) only under P\n"
	      "(repeatable; default: every path)"),
	SCOPE("exclude-path-prefix", "P", "no file events under P (repeatable; default none:\n"
	      "/proc, /sys and /dev are kept)"),
	SET("no-chain", no_chain, "no evidence chain (SHA-256 links in 'chain'; for measuring its\n"
	    "cost: lineage-query verify then says 'unchained')"),
	ACTION("config", 0, A_CONFIG, "FILE", "read options from FILE (default " OPTIONS_DEFAULT_CONFIG
	       ",\nwhen it exists); the command line wins"),
	ACTION("no-config", 0, A_NO_CONFIG, NULL, "read no config file"),
	ACTION("print-audit-config", 0, A_PRINT, NULL, "print the kernel audit status and rules, then exit"),
	{ "verbose", 'v', T_SET, F(verbose), 0, false, 0, NULL, "debug logging" },
	ACTION("help", 'h', A_HELP, NULL, "this text"),
	ACTION("version", 0, A_VERSION, NULL, "version"),
};
#define NDEFS (sizeof(defs) / sizeof(defs[0]))

static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	if (err && errlen)
		vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

static void defaults(struct options *o)
{
	*o = (struct options){
		.spool_dir = OPTIONS_DEFAULT_SPOOL,
		.audit_write = true,
		.backlog_limit = 8192,
		.backlog_wait = 60,
		.rcvbuf = 16 << 20,
		.stats_interval = 10,
		.asm_timeout_ms = 2000,
		.stop_timeout_ms = 20000,
		.queue_max = 100000,
		.queue_bytes = 256u << 20,
		.batch_max = 500,
		.batch_age_ms = 200,
		.segment_events = 1024,
		.segment_ms = 250,
		.cache_max = 4096,
	};
}

static const struct opt_def *find_def(const char *name)
{
	for (size_t i = 0; i < NDEFS; i++)
		if (strcmp(defs[i].name, name) == 0)
			return &defs[i];
	return NULL;
}

/* Edit distance, for "did you mean": keys are short (≤ 31 bytes compared). */
static size_t distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), prev[32], cur[32];

	if (la > 31 || lb > 31)
		return SIZE_MAX;
	for (size_t j = 0; j <= lb; j++)
		prev[j] = j;
	for (size_t i = 1; i <= la; i++) {
		cur[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t sub = prev[j - 1] + (a[i - 1] != b[j - 1]);
			size_t del = prev[j] + 1, ins = cur[j - 1] + 1;

			cur[j] = sub < del ? (sub < ins ? sub : ins) : (del < ins ? del : ins);
		}
		memcpy(prev, cur, sizeof(cur));
	}
	return prev[lb];
}

static const char *closest(const char *name)
{
	const char *best = NULL;
	size_t bd = 3; /* only suggest within two edits */

	for (size_t i = 0; i < NDEFS; i++) {
		size_t d = distance(name, defs[i].name);

		if (d < bd) {
			bd = d;
			best = defs[i].name;
		}
	}
	return best;
}

static void store_num(struct options *o, const struct opt_def *d, uint64_t v)
{
	void *p = (char *)o + d->off;

	if (d->zero_is_one && v == 0)
		v = 1;
	if (d->size == sizeof(uint32_t)) {
		uint32_t x = (uint32_t)v;

		memcpy(p, &x, sizeof(x));
	} else {
		uint64_t x = v;

		memcpy(p, &x, sizeof(x));
	}
}

/* Apply value to option d: 0, or -EINVAL with "NAME: reason" in err. from_file: the value of
 * an option without argument is a yes/no word. */
static int apply(struct options *o, const struct opt_def *d, const char *value, bool from_file,
		 char *err, size_t errlen)
{
	uint64_t v;
	bool b = true;

	if (d->type == T_SET || d->type == T_CLEAR) {
		if (from_file) {
			if (!strcmp(value, "yes") || !strcmp(value, "true") || !strcmp(value, "on") ||
			    !strcmp(value, "1"))
				b = true;
			else if (!strcmp(value, "no") || !strcmp(value, "false") ||
				 !strcmp(value, "off") || !strcmp(value, "0"))
				b = false;
			else {
				set_err(err, errlen, "%s: expected yes or no (true/false, on/off, 1/0), "
					"got '%s'", d->name, value);
				return -EINVAL;
			}
		}
		*(bool *)((char *)o + d->off) = d->type == T_SET ? b : !b;
		return 0;
	}
	if (d->type == T_SCOPE) {
		if (from_file && strcmp(d->name, "command") == 0) {
			set_err(err, errlen, "command: only on the command line (-- CMD ARGS...)");
			return -EINVAL;
		}
		return scope_config_set(&o->scope, d->name, value, err, errlen) < 0 ? -EINVAL : 0;
	}
	if (d->type == T_STR) {
		if (!*value) {
			set_err(err, errlen, "%s: empty value", d->name);
			return -EINVAL;
		}
		*(const char **)((char *)o + d->off) = value;
		return 0;
	}
	/* T_NUM, T_PID */
	if (num_parse_u64(value, d->max, &v) < 0) {
		set_err(err, errlen, "%s: not a number in 0..%llu: '%s'", d->name,
			(unsigned long long)d->max, value);
		return -EINVAL;
	}
	if (d->type == T_NUM) {
		store_num(o, d, v);
		return 0;
	}
	if (v == 0) {
		set_err(err, errlen, "%s: not a process id: '%s'", d->name, value);
		return -EINVAL;
	}
	/* two slots stay for the listener itself and a local database server */
	if (o->n_exclude >= AUDIT_SOURCE_MAX_EXCLUDE - 2) {
		set_err(err, errlen, "%s: at most %d processes", d->name, AUDIT_SOURCE_MAX_EXCLUDE - 2);
		return -EINVAL;
	}
	o->exclude[o->n_exclude++] = (pid_t)v;
	return 0;
}

static char *trim(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\n' || e[-1] == '\r'))
		*--e = '\0';
	return s;
}

static int keep(struct options *o, const char *s, const char **ret)
{
	char **grown = realloc(o->owned, (o->n_owned + 1) * sizeof(*grown));
	char *copy = strdup(s);

	if (grown)
		o->owned = grown;
	if (!grown || !copy) {
		free(copy);
		return -ENOMEM;
	}
	o->owned[o->n_owned++] = copy;
	*ret = copy;
	return 0;
}

int options_load_file(const char *path, struct options *o, char *err, size_t errlen)
{
	unsigned set_at[NDEFS] = { 0 };
	char line[LINE_MAX_BYTES + 2], why[512];
	unsigned lineno = 0;
	FILE *f = fopen(path, "re");
	int r = 0;

	if (!f) {
		r = -errno;
		set_err(err, errlen, "%s: cannot read: %s", path, strerror(errno));
		return r;
	}
	while (fgets(line, sizeof(line), f)) {
		const struct opt_def *d;
		char *key, *value, *eq;
		const char *kept;
		size_t len = strlen(line);

		lineno++;
		if (len > LINE_MAX_BYTES || (len > 0 && line[len - 1] != '\n' && !feof(f))) {
			set_err(err, errlen, "%s:%u: line longer than %d bytes", path, lineno,
				LINE_MAX_BYTES);
			r = -EINVAL;
			goto out;
		}
		key = trim(line);
		if (!*key || *key == '#')
			continue;
		eq = strchr(key, '=');
		if (!eq) {
			set_err(err, errlen, "%s:%u: expected 'key = value', got '%s'", path, lineno,
				key);
			r = -EINVAL;
			goto out;
		}
		*eq = '\0';
		value = trim(eq + 1);
		key = trim(key);
		len = strlen(value);
		if (len >= 2 && value[0] == '"' && value[len - 1] == '"') {
			value[len - 1] = '\0';
			value++;
		}
		d = find_def(key);
		if (!d) {
			const char *near = closest(key);

			set_err(err, errlen, "%s:%u: unknown key '%s'%s%s%s", path, lineno, key,
				near ? " (did you mean '" : "", near ? near : "", near ? "'?)" : "");
			r = -EINVAL;
			goto out;
		}
		if (d->type == T_ACTION) {
			set_err(err, errlen, "%s:%u: '%s' is a command-line option, not a config key",
				path, lineno, key);
			r = -EINVAL;
			goto out;
		}
		if (d->type != T_PID && set_at[d - defs]) {
			set_err(err, errlen, "%s:%u: '%s' set twice (first on line %u)", path, lineno,
				key, set_at[d - defs]);
			r = -EINVAL;
			goto out;
		}
		set_at[d - defs] = lineno;
		if (d->type == T_STR) {
			if ((r = keep(o, value, &kept)) < 0) {
				set_err(err, errlen, "%s: out of memory", path);
				goto out;
			}
			value = (char *)kept;
		}
		if ((r = apply(o, d, value, true, why, sizeof(why))) < 0) {
			set_err(err, errlen, "%s:%u: %s", path, lineno, why);
			goto out;
		}
	}
	if (ferror(f)) {
		r = -EIO;
		set_err(err, errlen, "%s: read error", path);
	}
out:
	fclose(f);
	return r;
}

static void make_longopts(struct option *lo)
{
	for (size_t i = 0; i < NDEFS; i++) {
		lo[i].name = defs[i].name;
		lo[i].has_arg = defs[i].arg ? required_argument : no_argument;
		lo[i].flag = NULL;
		lo[i].val = 256 + (int)i;
	}
	memset(&lo[NDEFS], 0, sizeof(lo[NDEFS]));
}

static const struct opt_def *def_of(int c)
{
	if (c >= 256 && c < 256 + (int)NDEFS)
		return &defs[c - 256];
	for (size_t i = 0; i < NDEFS; i++)
		if (defs[i].short_name && defs[i].short_name == c)
			return &defs[i];
	return NULL;
}

int options_parse(int argc, char **argv, struct options *o, char *err, size_t errlen)
{
	struct option lo[NDEFS + 1];
	const char *config = OPTIONS_DEFAULT_CONFIG;
	bool explicit_config = false, cli_pids = false;
	char why[512];
	int c, r;

	defaults(o);
	make_longopts(lo);
	opterr = 0;

	/* Pass 1: what does not need the config file (help, version, print) and where it is. */
	optind = 0;
	/* "+": stop at the first non-option, the command of --command */
	while ((c = getopt_long(argc, argv, "+vh", lo, NULL)) != -1) {
		const struct opt_def *d = def_of(c);

		if (!d || d->type != T_ACTION)
			continue;
		switch (d->action) {
		case A_HELP:
			options_usage(stdout);
			return OPTIONS_EXIT;
		case A_VERSION:
			printf("lineage-listener %s\n", LINEAGE_VERSION);
			return OPTIONS_EXIT;
		case A_PRINT:
			return OPTIONS_PRINT_AUDIT;
		case A_CONFIG:
			config = optarg;
			explicit_config = true;
			break;
		case A_NO_CONFIG:
			config = NULL;
			break;
		}
	}
	if (config) {
		r = options_load_file(config, o, err, errlen);
		if (r == -ENOENT && !explicit_config)
			r = 0; /* the default file is optional */
		else if (r == 0)
			o->config = config;
		if (r < 0)
			return r;
	}

	/* Pass 2: the command line over the file. */
	optind = 0;
	while ((c = getopt_long(argc, argv, "+vh", lo, NULL)) != -1) {
		const struct opt_def *d = def_of(c);

		if (c == '?') {
			if (optopt >= 256 && optopt < 256 + (int)NDEFS)
				set_err(err, errlen, "--%s needs a value (see --help)",
					defs[optopt - 256].name);
			else if (optopt)
				set_err(err, errlen, "unknown option '-%c' (see --help)", optopt);
			else
				set_err(err, errlen, "unknown option '%s' (see --help)", argv[optind - 1]);
			return -EINVAL;
		}
		if (!d || d->type == T_ACTION)
			continue;
		if (d->type == T_PID && !cli_pids) {
			o->n_exclude = 0; /* the command line's list replaces the file's */
			cli_pids = true;
		}
		if ((r = apply(o, d, optarg ? optarg : "", false, why, sizeof(why))) < 0) {
			set_err(err, errlen, "--%s", why);
			return r;
		}
	}
	if (optind < argc && !o->scope.command) {
		set_err(err, errlen, "unexpected argument '%s' (see --help)", argv[optind]);
		return -EINVAL;
	}
	o->scope.command_argv = optind < argc ? argv + optind : NULL;
	if (scope_config_check(&o->scope, why, sizeof(why)) < 0) {
		set_err(err, errlen, "%s", why);
		return -EINVAL;
	}
	if ((o->scope.command || o->scope.n_pids) && o->no_proc) {
		set_err(err, errlen, "--command and --pid follow the process tree with the proc "
			"connector: not with --no-proc");
		return -EINVAL;
	}
	for (size_t i = 0; i < o->scope.n_pids; i++)
		if (kill(o->scope.pids[i], 0) < 0 && errno == ESRCH) {
			set_err(err, errlen, "--pid %d: no such process", (int)o->scope.pids[i]);
			return -EINVAL;
		}
	if (o->no_db && !o->jsonl) {
		set_err(err, errlen, "--no-db needs --jsonl FILE, or nothing is recorded");
		return -EINVAL;
	}
	return OPTIONS_RUN;
}

void options_usage(FILE *f)
{
	fputs("usage: lineage-listener [OPTIONS]\n"
	      "Record process and file activity of this host and its containers into MongoDB.\n"
	      "Needs root. Stop with SIGINT/SIGTERM; SIGHUP reopens the --jsonl file.\n"
	      "Starts and records also while MongoDB is away: everything waits in the spool.\n\n",
	      f);
	for (size_t i = 0; i < NDEFS; i++) {
		const struct opt_def *d = &defs[i];
		char head[64];
		const char *h = d->help;

		if (d->short_name)
			snprintf(head, sizeof(head), "-%c, --%s%s%s", d->short_name, d->name,
				 d->arg ? " " : "", d->arg ? d->arg : "");
		else
			snprintf(head, sizeof(head), "--%s%s%s", d->name, d->arg ? " " : "",
				 d->arg ? d->arg : "");
		fprintf(f, "  %-20s ", head);
		if (strlen(head) > 20)
			fprintf(f, "\n  %-20s ", "");
		for (; *h; h++) {
			fputc(*h, f);
			if (*h == '\n')
				fprintf(f, "  %-20s ", "");
		}
		fputc('\n', f);
	}
	fputs("\nEvery long option is also a key of the config file (" OPTIONS_DEFAULT_CONFIG
	      "):\n`key = value` lines, '#' comments, yes/no for options without a value.\n\n"
	      "Exit status: 0 after a clean stop, 1 on a runtime error, 2 on a usage or config "
	      "error.\n"
	      "With --command, the exit status is the command's (128+N when killed by signal N).\n",
	      f);
}

void options_release(struct options *o)
{
	for (size_t i = 0; i < o->n_owned; i++)
		free(o->owned[i]);
	free(o->owned);
	o->owned = NULL;
	o->n_owned = 0;
	scope_config_release(&o->scope);
}
