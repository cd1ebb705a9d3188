/* audit_source.c — NETLINK_AUDIT through libaudit: becomes the audit daemon (unicast) or joins
 * the read-only multicast group, installs lineage's rules, and on close puts back exactly the
 * status and rules it found. Owns two sockets: rfd (records) and cfd (control and status). */
#include "audit_source.h"

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <libaudit.h>
#include <linux/netlink.h>

#include "macro.h"

/* exclusions by pid and by ppid, the scope's never-rules, then per arch (b64, b32) the main
 * rule (one per scope uid and include directory) and one fcntl rule per command (issue 17) */
#define MAX_RULES (2 * AUDIT_SOURCE_MAX_EXCLUDE + 4 * AUDIT_SOURCE_MAX_SCOPE + 64)
/* Datagrams taken per recvmmsg(): one syscall for a burst instead of one per record. */
#define RECV_BATCH 32
/* NLMSG_ALIGNed, so that every buf[i] can be read as a struct nlmsghdr (UBSan: the unaligned
 * size made every odd buffer misaligned) */
#define RECV_BUF_SIZE NLMSG_ALIGN(MAX_AUDIT_MESSAGE_LENGTH + NLMSG_HDRLEN + 64)

/* libaudit keeps rule-building state in these globals (exported, not declared); auditctl sets
 * and resets them around each rule, and "key=" is refused unless a syscall was added. */
extern int _audit_syscalladded, _audit_archadded, _audit_elf;

static void rule_state_reset(void)
{
	_audit_syscalladded = 0;
	_audit_archadded = 0;
	_audit_elf = 0;
}
#define MAX_SAVED_RULES 4096

struct installed_rule {
	struct audit_rule_data *data; /* libaudit allocation */
	int flags, action;
	char *text;
};

struct audit_source {
	struct audit_source_config cfg;
	int rfd, cfd;
	bool have_pid, changed_status;
	bool recovered_state; /* before came from a crashed listener's state file */
	int stale_rules;      /* rules of a crashed listener deleted at open */
	struct audit_status before;  /* as found at open */
	struct installed_rule rules[MAX_RULES];
	size_t n_rules;
	const char *rule_texts[MAX_RULES];
	/* recvmmsg() state, set up once at open */
	struct mmsghdr msgs[RECV_BATCH];
	struct iovec iov[RECV_BATCH];
	struct sockaddr_nl from[RECV_BATCH];
	char buf[RECV_BATCH][RECV_BUF_SIZE] __attribute__((aligned(8)));
};

/* The main rule of each arch (bench/driver.py reads this list to give auditd the same). */
static const char *const lineage_syscalls[] = {
	"execve", "execveat", "open", "openat", "openat2", "creat", "close",
	"pivot_root", "chroot", "setns", "unshare", "clone", "clone3", "fork", "vfork",
	"exit_group", "chdir", "fchdir", "rename", "renameat", "renameat2", "unlink", "unlinkat",
	/* issue 17: fd aliases and closes the filter must follow (shell redirections dup2 the
	 * opened fd onto 1 and close it; runtimes close everything with close_range) */
	"dup", "dup2", "dup3", "close_range",
	/* write(2) and the other calls that move bytes into a file (busybox cat uses sendfile) */
	"write", "pwrite64", "writev", "pwritev", "pwritev2", "sendfile", "sendfile64",
	"copy_file_range", "splice",
};

/* The ones --no-write leaves out. */
static const char *const lineage_write_syscalls[] = {
	"write", "pwrite64", "writev", "pwritev", "pwritev2", "sendfile", "sendfile64",
	"copy_file_range", "splice",
};

/* close_range is 436 on every architecture (the unified syscall table since Linux 5.9): used
 * when libaudit is too old to know the name. A kernel without it never matches the bit. */
#define NR_CLOSE_RANGE 436

/* fcntl is audited only for these commands, each an `-F a1=N` rule filtered in the kernel,
 * so the frequent F_GETFL/F_SETFL/locking calls cost nothing: F_DUPFD and F_DUPFD_CLOEXEC
 * make aliases, F_SETFD changes FD_CLOEXEC (which decides what an execve closes).
 * bench/driver.py writes the same rules for auditd. */
static const int lineage_fcntl_cmds[] = { 0 /* F_DUPFD */, 1030 /* F_DUPFD_CLOEXEC */,
					  2 /* F_SETFD */ };
static const char *const lineage_fcntl_syscalls[] = { "fcntl", "fcntl64" };

static int set_err(char *err, size_t errlen, int r, const char *fmt, ...) PRINTF_FMT(4, 5);
static int set_err(char *err, size_t errlen, int r, const char *fmt, ...)
{
	va_list ap;

	if (err && errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return r;
}

/* Wait for the reply of type `want` to a request just sent on fd (acks are skipped). */
static int get_reply(int fd, int want, struct audit_reply *rep)
{
	for (int tries = 0; tries < 50; tries++) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		int r = poll(&p, 1, 100);

		if (r < 0 && errno != EINTR)
			return -errno;
		if (r <= 0)
			continue;
		r = audit_get_reply(fd, rep, GET_REPLY_NONBLOCKING, 0);
		if (r <= 0)
			continue;
		if (rep->type == NLMSG_ERROR && rep->error && rep->error->error)
			return rep->error->error;
		if (rep->type == want || rep->type == NLMSG_DONE)
			return rep->type;
	}
	return -ETIMEDOUT;
}

static int get_status(int fd, struct audit_status *ret)
{
	struct audit_reply rep;
	int r;

	if (audit_request_status(fd) < 0)
		return -errno ? -errno : -EIO;
	r = get_reply(fd, AUDIT_GET, &rep);
	if (r < 0)
		return r;
	if (r != AUDIT_GET)
		return -EPROTO;
	memcpy(ret, rep.status, MIN((size_t)rep.len, sizeof(*ret)));
	return 0;
}

/* Call fn for every rule in the kernel (data and its length, valid during the call); a
 * negative return of fn stops the walk and is returned. */
static int for_each_rule(int fd, int (*fn)(void *opaque, const struct audit_rule_data *r,
					   size_t len), void *opaque)
{
	struct audit_reply rep;
	int r;

	if (audit_request_rules_list_data(fd) < 0)
		return -EIO;
	while ((r = get_reply(fd, AUDIT_LIST_RULES, &rep)) == AUDIT_LIST_RULES) {
		int fr = fn(opaque, rep.ruledata, sizeof(struct audit_rule_data) + rep.ruledata->buflen);

		if (fr < 0)
			return fr;
	}
	return r < 0 ? r : 0;
}

struct hex_dump {
	char *out;
	size_t cap, len, count;
};

static int append_rule_hex(void *opaque, const struct audit_rule_data *rule, size_t n)
{
	struct hex_dump *d = opaque;
	const unsigned char *p = (const unsigned char *)rule;

	if (d->count++ >= MAX_SAVED_RULES)
		return 0;
	while (d->len + 2 * n + 2 > d->cap) {
		char *bigger = realloc(d->out, d->cap * 2);

		if (!bigger)
			return -ENOMEM;
		d->out = bigger;
		d->cap *= 2;
	}
	for (size_t i = 0; i < n; i++)
		d->len += sprintf(d->out + d->len, "%02x", p[i]);
	d->out[d->len++] = '\n';
	d->out[d->len] = '\0';
	return 0;
}

/* Every rule in the kernel as one hex line each; *ret is malloc'd, lines joined by '\n'. */
static int list_rules_hex(int fd, char **ret, size_t *ret_count)
{
	struct hex_dump d = { .out = malloc(4096), .cap = 4096 };
	int r;

	if (!d.out)
		return -ENOMEM;
	d.out[0] = '\0';
	r = for_each_rule(fd, append_rule_hex, &d);
	if (r < 0) {
		free(d.out);
		return r;
	}
	*ret = d.out;
	if (ret_count)
		*ret_count = d.count;
	return 0;
}

static int add_rule(struct audit_source *src, struct audit_rule_data *rule, int flags,
		    int action, char *text, char *err, size_t errlen)
{
	struct installed_rule *ir;
	int r;

	if (src->n_rules >= MAX_RULES) {
		audit_rule_free_data(rule);
		free(text);
		return set_err(err, errlen, -E2BIG, "audit: too many rules");
	}
	r = audit_add_rule_data(src->cfd, rule, flags, action);
	if (r <= 0) {
		r = r < 0 ? r : -EIO;
		set_err(err, errlen, r, "audit: adding rule '%s' failed: %s", text, strerror(-r));
		audit_rule_free_data(rule);
		free(text);
		return r;
	}
	ir = &src->rules[src->n_rules];
	ir->data = rule;
	ir->flags = flags & ~AUDIT_FILTER_PREPEND;
	ir->action = action;
	ir->text = text;
	src->rule_texts[src->n_rules++] = text;
	return 0;
}

/* -A exit,never -F <field>=<pid> (field "pid" or "ppid"), keyed lineage-exclude */
static int add_exclude_rule(struct audit_source *src, const char *field, pid_t pid, char *err,
			    size_t errlen)
{
	struct audit_rule_data *rule = audit_rule_create_data();
	char pair[32], *text = NULL;

	if (!rule)
		return -ENOMEM;
	rule_state_reset();
	snprintf(pair, sizeof(pair), "%s=%d", field, (int)pid);
	if (audit_rule_syscallbyname_data(rule, "all") < 0 ||
	    audit_rule_fieldpair_data(&rule, pair, AUDIT_FILTER_EXIT) < 0) {
		audit_rule_free_data(rule);
		return set_err(err, errlen, -EINVAL, "audit: cannot build rule -F %s=%d", field,
			       (int)pid);
	}
	/* keyed, so that a listener after a crash can tell this rule is ours */
	_audit_syscalladded = 1;
	snprintf(pair, sizeof(pair), "key=%s", AUDIT_SOURCE_EXCLUDE_KEY);
	if (audit_rule_fieldpair_data(&rule, pair, AUDIT_FILTER_EXIT) < 0) {
		audit_rule_free_data(rule);
		return set_err(err, errlen, -EINVAL, "audit: cannot build the exclusion rule key");
	}
	if (asprintf(&text, "-A exit,never -F %s=%d -F key=%s", field, (int)pid,
		     AUDIT_SOURCE_EXCLUDE_KEY) < 0)
		text = NULL;
	return add_rule(src, rule, AUDIT_FILTER_EXIT | AUDIT_FILTER_PREPEND, AUDIT_NEVER, text,
			err, errlen);
}

static bool is_write_syscall(const char *sc)
{
	for (size_t i = 0; i < ARRAY_SIZE(lineage_write_syscalls); i++)
		if (strcmp(lineage_write_syscalls[i], sc) == 0)
			return true;
	return false;
}

/* Which of lineage_syscalls a rule takes (issue 19 splits them for dir= rules). */
enum rule_calls { CALLS_ALL, CALLS_FILE, CALLS_NONFILE };

/* The syscalls with a path the kernel's dir= can match (scope: path prefixes). */
static bool is_file_syscall(const char *sc)
{
	static const char *const file_calls[] = {
		"open", "openat", "openat2", "creat", "rename", "renameat", "renameat2",
		"unlink", "unlinkat",
	};

	for (size_t i = 0; i < ARRAY_SIZE(file_calls); i++)
		if (strcmp(sc, file_calls[i]) == 0)
			return true;
	return false;
}

/* One exit rule for arch over names (those the kernel's arch lacks are left out, not an
 * error; none at all is; the write family only with audit_write), restricted to the file or
 * non-file ones by calls, ANDed with the field pairs given ("uid=1000", "dir=/home",
 * "a1=1030"; NULL entries skipped); never = "-A exit,never" (prepended). */
static int add_rule_fields(struct audit_source *src, const char *arch, const char *const *names,
			   size_t nnames, enum rule_calls calls, const char *const *fields,
			   size_t nfields, bool never, char *err, size_t errlen)
{
	struct audit_rule_data *rule = audit_rule_create_data();
	char pair[PATH_MAX + 16], text[2048];
	const char *key = never ? AUDIT_SOURCE_EXCLUDE_KEY : AUDIT_SOURCE_KEY;
	size_t n = 0;
	int len;

	if (!rule)
		return -ENOMEM;
	rule_state_reset();
	/* libaudit writes into the pair string: always pass a writable copy */
	snprintf(pair, sizeof(pair), "arch=%s", arch);
	if (audit_rule_fieldpair_data(&rule, pair, AUDIT_FILTER_EXIT) < 0) {
		audit_rule_free_data(rule);
		return set_err(err, errlen, -EINVAL, "audit: cannot build rule -F %s", pair);
	}
	len = snprintf(text, sizeof(text), "%s -F arch=%s", never ? "-A exit,never" : "-a always,exit",
		       arch);
	for (size_t i = 0; i < nnames; i++) {
		const char *sc = names[i];

		if (!src->cfg.audit_write && is_write_syscall(sc))
			continue;
		if ((calls == CALLS_FILE && !is_file_syscall(sc)) ||
		    (calls == CALLS_NONFILE && is_file_syscall(sc)))
			continue;
		if (audit_rule_syscallbyname_data(rule, sc) < 0) {
			/* a libaudit older than close_range: its number is the same everywhere;
			 * set its bit the way libaudit does */
			if (strcmp(sc, "close_range") != 0)
				continue;
			rule->mask[AUDIT_WORD(NR_CLOSE_RANGE)] |= AUDIT_BIT(NR_CLOSE_RANGE);
		}
		if (len < (int)sizeof(text))
			len += snprintf(text + len, sizeof(text) - len, " -S %s", sc);
		n++;
	}
	_audit_syscalladded = n > 0;
	for (size_t i = 0; i < nfields; i++) {
		if (!fields[i])
			continue;
		snprintf(pair, sizeof(pair), "%s", fields[i]);
		if (n == 0 || audit_rule_fieldpair_data(&rule, pair, AUDIT_FILTER_EXIT) < 0) {
			audit_rule_free_data(rule);
			return set_err(err, errlen, -EINVAL, "audit: cannot build rule %s -F %s",
				       text, fields[i]);
		}
		if (len < (int)sizeof(text))
			len += snprintf(text + len, sizeof(text) - len, " -F %s", fields[i]);
	}
	if (len < (int)sizeof(text))
		snprintf(text + len, sizeof(text) - len, " -F key=%s", key);
	snprintf(pair, sizeof(pair), "key=%s", key);
	if (n == 0 || audit_rule_fieldpair_data(&rule, pair, AUDIT_FILTER_EXIT) < 0) {
		audit_rule_free_data(rule);
		return set_err(err, errlen, -EINVAL, "audit: cannot build rule %s", text);
	}
	return add_rule(src, rule, AUDIT_FILTER_EXIT | (never ? AUDIT_FILTER_PREPEND : 0),
			never ? AUDIT_NEVER : AUDIT_ALWAYS, strdup(text), err, errlen);
}

/* lineage's always-rules for arch: one per uid of the scope (or one), the file syscalls
 * split off into one rule per include directory when the scope gives some. */
static int add_syscall_rule(struct audit_source *src, const char *arch, char *err, size_t errlen)
{
	const struct audit_source_config *cfg = &src->cfg;
	size_t nu = cfg->n_uids ? cfg->n_uids : 1;
	char upair[32], dpair[PATH_MAX + 8];
	int r;

	for (size_t u = 0; u < nu; u++) {
		const char *f[2] = { NULL, NULL };

		if (cfg->n_uids) {
			snprintf(upair, sizeof(upair), "uid=%u", cfg->uids[u]);
			f[0] = upair;
		}
		if (!cfg->n_include_dirs) {
			r = add_rule_fields(src, arch, lineage_syscalls, ARRAY_SIZE(lineage_syscalls), CALLS_ALL, f, 1,
					    false, err, errlen);
			if (r < 0)
				return r;
			continue;
		}
		r = add_rule_fields(src, arch, lineage_syscalls, ARRAY_SIZE(lineage_syscalls), CALLS_NONFILE,
				    f, 1, false, err, errlen);
		for (size_t d = 0; r == 0 && d < cfg->n_include_dirs; d++) {
			snprintf(dpair, sizeof(dpair), "dir=%s", cfg->include_dirs[d]);
			f[1] = dpair;
			r = add_rule_fields(src, arch, lineage_syscalls, ARRAY_SIZE(lineage_syscalls),
					    CALLS_FILE, f, 2, false, err, errlen);
		}
		if (r < 0)
			return r;
	}
	return 0;
}

/* The scope's never-rules (issue 19): excluded uids (all syscalls), excluded directories
 * (file syscalls, per arch). Prepended, so they come before lineage's always-rules. */
static int add_scope_never_rules(struct audit_source *src, char *err, size_t errlen)
{
	const struct audit_source_config *cfg = &src->cfg;
	static const char *const arches[] = { "b64", "b32" };
	char pair[PATH_MAX + 8];
	int r = 0;

	for (size_t i = 0; r == 0 && i < cfg->n_exclude_uids; i++) {
		const char *f[1] = { pair };

		snprintf(pair, sizeof(pair), "uid=%u", cfg->exclude_uids[i]);
		for (size_t a = 0; r == 0 && a < ARRAY_SIZE(arches); a++)
			r = add_rule_fields(src, arches[a], lineage_syscalls,
					    ARRAY_SIZE(lineage_syscalls), CALLS_ALL, f, 1, true,
					    err, errlen);
	}
	for (size_t i = 0; r == 0 && i < cfg->n_exclude_dirs; i++) {
		const char *f[1] = { pair };

		snprintf(pair, sizeof(pair), "dir=%s", cfg->exclude_dirs[i]);
		for (size_t a = 0; r == 0 && a < ARRAY_SIZE(arches); a++)
			r = add_rule_fields(src, arches[a], lineage_syscalls,
					    ARRAY_SIZE(lineage_syscalls), CALLS_FILE, f, 1, true,
					    err, errlen);
	}
	return r;
}

/* The main rules of an arch (add_syscall_rule) and the fcntl rules of issue 17, one per
 * command, per scope uid (fcntl has no path: the directories do not apply). */
static int add_syscall_rules(struct audit_source *src, const char *arch, char *err,
			     size_t errlen)
{
	const struct audit_source_config *cfg = &src->cfg;
	size_t nu = cfg->n_uids ? cfg->n_uids : 1;
	char upair[32], cpair[32];
	int r = add_syscall_rule(src, arch, err, errlen);

	for (size_t u = 0; r == 0 && u < nu; u++) {
		for (size_t i = 0; r == 0 && i < ARRAY_SIZE(lineage_fcntl_cmds); i++) {
			const char *f[2] = { cpair, NULL };

			snprintf(cpair, sizeof(cpair), "a1=%d", lineage_fcntl_cmds[i]);
			if (cfg->n_uids) {
				snprintf(upair, sizeof(upair), "uid=%u", cfg->uids[u]);
				f[1] = upair;
			}
			r = add_rule_fields(src, arch, lineage_fcntl_syscalls,
					    ARRAY_SIZE(lineage_fcntl_syscalls), CALLS_ALL, f, 2,
					    false, err, errlen);
		}
	}
	return r;
}

static int set_rcvbuf(int fd, int bytes)
{
	if (bytes <= 0)
		return 0;
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &bytes, sizeof(bytes)) == 0)
		return 0;
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &bytes, sizeof(bytes)) == 0)
		return 0;
	return -errno;
}

/* The key string of a rule whose only string field is its key (ours are built so); NULL for
 * any other rule, which is then never touched. */
static const char *rule_key(const struct audit_rule_data *r, size_t len, size_t *ret_len)
{
	size_t strings = 0, off = 0;
	const char *key = NULL;

	if (len < sizeof(*r) || r->field_count > AUDIT_MAX_FIELDS || sizeof(*r) + r->buflen > len)
		return NULL;
	for (uint32_t i = 0; i < r->field_count; i++) {
		uint32_t f = r->fields[i];
		bool str = (f >= AUDIT_SUBJ_USER && f <= AUDIT_SUBJ_CLR) ||
			   (f >= AUDIT_OBJ_USER && f <= AUDIT_OBJ_LEV_HIGH) || f == AUDIT_WATCH ||
			   f == AUDIT_DIR || f == AUDIT_FILTERKEY || f == AUDIT_EXE;

		if (!str)
			continue;
		if (r->values[i] > r->buflen - off)
			return NULL;
		/* the scope's dir= rules (issue 19) carry a path beside the key */
		if (f == AUDIT_DIR) {
			off += r->values[i];
			continue;
		}
		if (++strings > 1 || f != AUDIT_FILTERKEY)
			return NULL;
		key = r->buf + off;
		*ret_len = r->values[i];
		off += r->values[i];
	}
	return key;
}

struct stale_rules {
	struct audit_rule_data *rule[64];
	int n;
};

static bool is_lineage_key(const char *key, size_t klen)
{
	return (klen == strlen(AUDIT_SOURCE_KEY) && !memcmp(key, AUDIT_SOURCE_KEY, klen)) ||
	       (klen == strlen(AUDIT_SOURCE_EXCLUDE_KEY) &&
		!memcmp(key, AUDIT_SOURCE_EXCLUDE_KEY, klen));
}

static int collect_stale(void *opaque, const struct audit_rule_data *rule, size_t len)
{
	struct stale_rules *st = opaque;
	size_t klen = 0;
	const char *key = rule_key(rule, len, &klen);

	if (!key || !is_lineage_key(key, klen) || st->n >= (int)ARRAY_SIZE(st->rule))
		return 0;
	st->rule[st->n] = malloc(len);
	if (!st->rule[st->n])
		return -ENOMEM;
	memcpy(st->rule[st->n++], rule, len);
	return 0;
}

/* A listener killed with SIGKILL cannot restore anything: the kernel drops its daemon pid but
 * keeps its rules and status. Delete rules keyed lineage/lineage-exclude that no live
 * listener owns (called only when nobody owns audit). Returns the number deleted. */
static int delete_stale_rules(int fd)
{
	struct stale_rules st = { .n = 0 };
	int deleted = 0, r;

	/* collect first, delete after: the list is a dump the kernel is still sending */
	r = for_each_rule(fd, collect_stale, &st);
	for (int i = 0; i < st.n; i++) {
		if (audit_delete_rule_data(fd, st.rule[i], st.rule[i]->flags & ~AUDIT_FILTER_PREPEND,
					   st.rule[i]->action) > 0)
			deleted++;
		free(st.rule[i]);
	}
	return r < 0 ? r : deleted;
}

/* The status found before the first listener changed it, kept on disk until a clean close, so
 * that a listener after a crash restores the host's values, not the crashed one's. */
static void state_save(const struct audit_status *s)
{
	FILE *f = fopen(AUDIT_SOURCE_STATE_FILE ".tmp", "we");

	if (!f)
		return;
	fprintf(f, "enabled %u\nbacklog_limit %u\nbacklog_wait_time %u\n", s->enabled,
		s->backlog_limit, s->backlog_wait_time);
	if (fclose(f) == 0)
		rename(AUDIT_SOURCE_STATE_FILE ".tmp", AUDIT_SOURCE_STATE_FILE);
}

static bool state_load(struct audit_status *s)
{
	FILE *f = fopen(AUDIT_SOURCE_STATE_FILE, "re");
	unsigned en, bl, bw;
	bool ok;

	if (!f)
		return false;
	ok = fscanf(f, "enabled %u backlog_limit %u backlog_wait_time %u", &en, &bl, &bw) == 3 &&
	     en <= 1;
	fclose(f);
	if (ok) {
		s->enabled = en;
		s->backlog_limit = bl;
		s->backlog_wait_time = bw;
	}
	return ok;
}

static int open_multicast(struct audit_source *src, char *err, size_t errlen)
{
	struct sockaddr_nl addr = { .nl_family = AF_NETLINK,
				    .nl_groups = 1u << (AUDIT_NLGRP_READLOG - 1) };

	src->rfd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_AUDIT);
	if (src->rfd < 0)
		return set_err(err, errlen, -errno, "audit: socket(NETLINK_AUDIT) failed: %s",
			       strerror(errno));
	if (bind(src->rfd, (struct sockaddr *)&addr, sizeof(addr)) < 0)
		return set_err(err, errlen, -errno,
			       "audit: joining the read-only multicast group failed: %s "
			       "(needs CAP_AUDIT_READ and a kernel >= 3.16)", strerror(errno));
	if (!src->before.enabled)
		return set_err(err, errlen, -ENODATA,
			       "audit: --multicast but audit is disabled (enabled=0): the audit "
			       "daemon in charge must enable it and install rules");
	return 0;
}

static int open_unicast(struct audit_source *src, char *err, size_t errlen)
{
	const struct audit_source_config *cfg = &src->cfg;
	int r;

	if (src->before.enabled == 2)
		return set_err(err, errlen, -EPERM,
			       "audit: the configuration is locked (enabled=2, auditctl -e 2); "
			       "use --multicast or reboot");
	if (src->before.pid && kill((pid_t)src->before.pid, 0) == 0)
		return set_err(err, errlen, -EBUSY,
			       "audit: process %u already owns audit (an auditd?); stop it, or "
			       "run with --multicast to read a copy beside it", src->before.pid);
	/* Nobody owns audit: what a crashed listener left is ours to clean, and the status it
	 * saved is the host's original. */
	r = delete_stale_rules(src->cfd);
	if (r > 0)
		src->stale_rules = r;
	if (state_load(&src->before))
		src->recovered_state = true;
	else
		state_save(&src->before);
	src->rfd = audit_open();
	if (src->rfd < 0)
		return set_err(err, errlen, -errno, "audit: audit_open failed: %s", strerror(errno));
	r = audit_set_pid(src->rfd, getpid(), WAIT_YES);
	if (r < 0)
		return set_err(err, errlen, r < -1 ? r : -EBUSY,
			       "audit: becoming the audit daemon failed (%s); another process "
			       "may own audit: try --multicast", strerror(r < -1 ? -r : EBUSY));
	src->have_pid = true;
	src->changed_status = true;
	if (audit_set_backlog_limit(src->cfd, cfg->backlog_limit) < 0 ||
	    audit_set_backlog_wait_time(src->cfd, cfg->backlog_wait) < 0)
		return set_err(err, errlen, -EIO, "audit: setting backlog limit/wait failed");
	if (!src->before.enabled && audit_set_enabled(src->cfd, 1) < 0)
		return set_err(err, errlen, -EIO, "audit: enabling audit failed");
	for (size_t i = 0; i < cfg->n_exclude; i++) {
		r = add_exclude_rule(src, "pid", cfg->exclude[i], err, errlen);
		if (r < 0)
			return r;
	}
	for (size_t i = 0; i < cfg->n_exclude_children; i++) {
		r = add_exclude_rule(src, "ppid", cfg->exclude_children[i], err, errlen);
		if (r < 0)
			return r;
	}
	r = add_scope_never_rules(src, err, errlen);
	if (r < 0)
		return r;
	r = add_syscall_rules(src, "b64", err, errlen);
	if (r < 0)
		return r;
	return add_syscall_rules(src, "b32", err, errlen);
}

int audit_source_open(const struct audit_source_config *cfg, struct audit_source **ret,
		      char *err, size_t errlen)
{
	struct audit_source *src = calloc(1, sizeof(*src));
	int r;

	if (!src)
		return -ENOMEM;
	src->cfg = *cfg;
	src->rfd = -1;
	for (int i = 0; i < RECV_BATCH; i++) {
		src->iov[i].iov_base = src->buf[i];
		src->iov[i].iov_len = sizeof(src->buf[i]);
		src->msgs[i].msg_hdr.msg_iov = &src->iov[i];
		src->msgs[i].msg_hdr.msg_iovlen = 1;
		src->msgs[i].msg_hdr.msg_name = &src->from[i];
	}
	src->cfd = audit_open();
	if (src->cfd < 0) {
		r = set_err(err, errlen, -errno, "audit: audit_open failed: %s (is this root, "
			    "with a kernel built with CONFIG_AUDIT?)", strerror(errno));
		goto fail;
	}
	r = get_status(src->cfd, &src->before);
	if (r < 0) {
		set_err(err, errlen, r, "audit: reading the audit status failed: %s", strerror(-r));
		goto fail;
	}
	r = cfg->multicast ? open_multicast(src, err, errlen) : open_unicast(src, err, errlen);
	if (r < 0)
		goto fail;
	r = set_rcvbuf(src->rfd, cfg->rcvbuf);
	if (r < 0) {
		set_err(err, errlen, r, "audit: enlarging the receive buffer failed: %s", strerror(-r));
		goto fail;
	}
	*ret = src;
	return 0;
fail:
	audit_source_close(src, NULL, 0);
	return r;
}

int audit_source_fd(const struct audit_source *src)
{
	return src->rfd;
}

int audit_source_read(struct audit_source *src, audit_record_fn fn, void *opaque,
		      struct audit_source_skips *skips, bool *ret_drained)
{
	int n, count = 0;

	for (int i = 0; i < RECV_BATCH; i++) {
		src->msgs[i].msg_hdr.msg_namelen = sizeof(src->from[i]);
		src->msgs[i].msg_hdr.msg_flags = 0;
	}
	/* Returns what is queued, up to RECV_BATCH; an error after the first datagram (ENOBUFS)
	 * is kept by the socket and reported by the next call. */
	n = recvmmsg(src->rfd, src->msgs, RECV_BATCH, MSG_DONTWAIT, NULL);
	if (n < 0)
		return errno == EWOULDBLOCK ? -EAGAIN : -errno;
	if (ret_drained)
		*ret_drained = n < RECV_BATCH;
	for (int i = 0; i < n; i++) {
		size_t len = src->msgs[i].msg_len;
		const struct nlmsghdr *nlh = (const struct nlmsghdr *)src->buf[i];

		if (src->from[i].nl_pid != 0) {
			if (skips)
				skips->foreign++;
			continue;
		}
		/* One record per datagram. The kernel's unicast nlmsg_len leaves out the header (a
		 * quirk kept for old auditd; the multicast copy is fixed up), so the datagram size
		 * is what tells the payload length. A runt is skipped, the rest still delivered. */
		if (len < NLMSG_HDRLEN) {
			if (skips)
				skips->runts++;
			continue;
		}
		/* not NLMSG_*, acks, status replies */
		if (nlh->nlmsg_type >= AUDIT_FIRST_USER_MSG) {
			const char *text = src->buf[i] + NLMSG_HDRLEN;

			len -= NLMSG_HDRLEN;
			while (len > 0 && text[len - 1] == '\0')
				len--;
			fn(opaque, nlh->nlmsg_type, text, len);
			count++;
		}
	}
	return count;
}

int audit_source_status(struct audit_source *src, struct audit_status *ret, char *err,
			size_t errlen)
{
	int r = get_status(src->cfd, ret);

	if (r < 0)
		set_err(err, errlen, r, "audit: reading the audit status failed: %s", strerror(-r));
	return r;
}

int audit_source_recovered(const struct audit_source *src, bool *ret_state)
{
	*ret_state = src->recovered_state;
	return src->stale_rules;
}

size_t audit_source_rules(const struct audit_source *src, const char *const **ret)
{
	*ret = src->rule_texts;
	return src->n_rules;
}

int audit_source_exclude(struct audit_source *src, pid_t pid, bool children, char *err,
			 size_t errlen)
{
	int r;

	if (src->cfg.multicast)
		return 0;
	r = add_exclude_rule(src, "pid", pid, err, errlen);
	if (r == 0 && children)
		r = add_exclude_rule(src, "ppid", pid, err, errlen);
	return r;
}

void audit_source_unexclude(struct audit_source *src, pid_t pid)
{
	char want[2][96];

	snprintf(want[0], sizeof(want[0]), "-A exit,never -F pid=%d -F key=%s", (int)pid,
		 AUDIT_SOURCE_EXCLUDE_KEY);
	snprintf(want[1], sizeof(want[1]), "-A exit,never -F ppid=%d -F key=%s", (int)pid,
		 AUDIT_SOURCE_EXCLUDE_KEY);
	for (size_t i = 0; i < src->n_rules;) {
		struct installed_rule *ir = &src->rules[i];

		if (!ir->text || (strcmp(ir->text, want[0]) != 0 && strcmp(ir->text, want[1]) != 0)) {
			i++;
			continue;
		}
		/* a failed delete leaves a rule for a gone pid: close or the next start removes it */
		(void)audit_delete_rule_data(src->cfd, ir->data, ir->flags, ir->action);
		audit_rule_free_data(ir->data);
		free(ir->text);
		memmove(&src->rules[i], &src->rules[i + 1],
			(src->n_rules - i - 1) * sizeof(src->rules[0]));
		memmove(&src->rule_texts[i], &src->rule_texts[i + 1],
			(src->n_rules - i - 1) * sizeof(src->rule_texts[0]));
		src->n_rules--;
	}
}

int audit_source_close(struct audit_source *src, char *err, size_t errlen)
{
	int first = 0, r;

	if (!src)
		return 0;
	/* Rules first, newest first, so the host is never left with ours. */
	while (src->n_rules > 0) {
		struct installed_rule *ir = &src->rules[--src->n_rules];

		r = audit_delete_rule_data(src->cfd, ir->data, ir->flags, ir->action);
		if (r <= 0 && !first)
			first = set_err(err, errlen, r < 0 ? r : -EIO,
					"audit: deleting rule '%s' failed", ir->text);
		audit_rule_free_data(ir->data);
		free(ir->text);
	}
	if (src->changed_status) {
		if (audit_set_backlog_limit(src->cfd, src->before.backlog_limit) < 0 && !first)
			first = set_err(err, errlen, -EIO, "audit: restoring backlog_limit failed");
		if (audit_set_backlog_wait_time(src->cfd, src->before.backlog_wait_time) < 0 && !first)
			first = set_err(err, errlen, -EIO, "audit: restoring backlog_wait_time failed");
		if (!src->before.enabled && audit_set_enabled(src->cfd, 0) < 0 && !first)
			first = set_err(err, errlen, -EIO, "audit: restoring enabled=0 failed");
	}
	if (src->have_pid && audit_set_pid(src->cfd, 0, WAIT_YES) < 0 && !first)
		first = set_err(err, errlen, -EIO, "audit: releasing the audit daemon pid failed");
	if (src->changed_status && !first)
		unlink(AUDIT_SOURCE_STATE_FILE);
	if (src->rfd >= 0)
		close(src->rfd);
	if (src->cfd >= 0)
		close(src->cfd);
	free(src);
	return first;
}

int audit_source_dump_config(char **ret, char *err, size_t errlen)
{
	struct audit_status s;
	char *rules = NULL, *out = NULL;
	size_t count = 0;
	int fd = audit_open(), r;

	if (fd < 0)
		return set_err(err, errlen, -errno, "audit: audit_open failed: %s", strerror(errno));
	r = get_status(fd, &s);
	if (r < 0) {
		set_err(err, errlen, r, "audit: reading the audit status failed: %s", strerror(-r));
		goto out;
	}
	r = list_rules_hex(fd, &rules, &count);
	if (r < 0) {
		set_err(err, errlen, r, "audit: listing rules failed: %s", strerror(-r));
		goto out;
	}
	if (asprintf(&out, "enabled %u\nfailure %u\npid %u\nrate_limit %u\nbacklog_limit %u\n"
		     "backlog_wait_time %u\nrules %zu\n%s", s.enabled, s.failure, s.pid,
		     s.rate_limit, s.backlog_limit, s.backlog_wait_time, count, rules) < 0) {
		r = -ENOMEM;
		goto out;
	}
	*ret = out;
out:
	free(rules);
	close(fd);
	return r;
}
