/* audit_parse.c — one audit record's text → header (time, serial) and key/value fields, with
 * the kernel's untrusted-string hex encoding undone. Pure: owns only the records it returns.
 * Every read is bounded by the given length; the input need not be NUL-terminated. */
#include "audit_parse.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct {
	int type;
	const char *name;
} type_names[] = {
	{ 1100, "USER" },
	{ 1101, "LOGIN" },
	{ 1102, "USER_AUTH" },
	{ 1103, "USER_ACCT" },
	{ 1104, "USER_MGMT" },
	{ 1105, "CRED_ACQ" },
	{ 1106, "CRED_DISP" },
	{ 1107, "USER_START" },
	{ 1108, "USER_END" },
	{ 1109, "USER_AVC" },
	{ 1110, "USER_CHAUTHTOK" },
	{ 1111, "USER_ERR" },
	{ 1112, "CRED_REFR" },
	{ 1113, "USYS_CONFIG" },
	{ 1114, "USER_LOGIN" },
	{ 1115, "USER_LOGOUT" },
	{ 1116, "ADD_USER" },
	{ 1117, "DEL_USER" },
	{ 1118, "ADD_GROUP" },
	{ 1119, "DEL_GROUP" },
	{ 1123, "USER_CMD" },
	{ 1124, "USER_TTY" },
	{ 1125, "CHUSER_ID" },
	{ 1130, "SERVICE_START" },
	{ 1131, "SERVICE_STOP" },
	{ 1200, "DAEMON_START" },
	{ 1201, "DAEMON_END" },
	{ 1202, "DAEMON_ABORT" },
	{ 1203, "DAEMON_CONFIG" },
	{ 1300, "SYSCALL" },
	{ 1302, "PATH" },
	{ 1303, "IPC" },
	{ 1304, "SOCKETCALL" },
	{ 1305, "CONFIG_CHANGE" },
	{ 1306, "SOCKADDR" },
	{ 1307, "CWD" },
	{ 1309, "EXECVE" },
	{ 1311, "IPC_SET_PERM" },
	{ 1312, "MQ_OPEN" },
	{ 1313, "MQ_SENDRECV" },
	{ 1314, "MQ_NOTIFY" },
	{ 1315, "MQ_GETSETATTR" },
	{ 1316, "KERNEL_OTHER" },
	{ 1317, "FD_PAIR" },
	{ 1318, "OBJ_PID" },
	{ 1319, "TTY" },
	{ 1320, "EOE" },
	{ 1321, "BPRM_FCAPS" },
	{ 1322, "CAPSET" },
	{ 1323, "MMAP" },
	{ 1324, "NETFILTER_PKT" },
	{ 1325, "NETFILTER_CFG" },
	{ 1326, "SECCOMP" },
	{ 1327, "PROCTITLE" },
	{ 1328, "FEATURE_CHANGE" },
	{ 1329, "REPLACE" },
	{ 1330, "KERN_MODULE" },
	{ 1331, "FANOTIFY" },
	{ 1332, "TIME_INJOFFSET" },
	{ 1333, "TIME_ADJNTPVAL" },
	{ 1334, "BPF" },
	{ 1335, "EVENT_LISTENER" },
	{ 1336, "URINGOP" },
	{ 1337, "OPENAT2" },
	{ 1338, "DM_CTRL" },
	{ 1339, "DM_EVENT" },
	{ 1400, "AVC" },
	{ 1401, "SELINUX_ERR" },
	{ 1402, "AVC_PATH" },
	{ 1403, "MAC_POLICY_LOAD" },
	{ 1404, "MAC_STATUS" },
	{ 1405, "MAC_CONFIG_CHANGE" },
	{ 1700, "ANOM_PROMISCUOUS" },
	{ 1701, "ANOM_ABEND" },
	{ 1702, "ANOM_LINK" },
	{ 1703, "ANOM_CREAT" },
};

/* Fields the kernel logs with audit_log_untrustedstring() (or audit_log_n_untrustedstring). */
static const char *const encoded_keys[] = {
	"name", "cwd", "comm", "exe", "proctitle", "key", "path", "dir", "ocomm", "data",
	"cmd", "root_dir", "old-name", "new-name", "filename",
};

const char *audit_type_name(int type, char *buf, size_t size)
{
	for (size_t i = 0; i < sizeof(type_names) / sizeof(type_names[0]); i++)
		if (type_names[i].type == type)
			return type_names[i].name;
	snprintf(buf, size, "UNKNOWN[%d]", type);
	return buf;
}

static int parse_uint(const char *s, size_t len, unsigned long long max, unsigned long long *ret)
{
	unsigned long long v = 0;

	if (len == 0 || len > 20)
		return -EINVAL;
	for (size_t i = 0; i < len; i++) {
		unsigned d;

		if (s[i] < '0' || s[i] > '9')
			return -EINVAL;
		d = (unsigned)(s[i] - '0');
		if (v > (max - d) / 10)
			return -EINVAL;
		v = v * 10 + d;
	}
	*ret = v;
	return 0;
}

int audit_type_from_name(const char *name, size_t len)
{
	unsigned long long v;

	if (parse_uint(name, len, 65535, &v) == 0)
		return (int)v;
	if (len > 9 && memcmp(name, "UNKNOWN[", 8) == 0 && name[len - 1] == ']') {
		if (parse_uint(name + 8, len - 9, 65535, &v) == 0)
			return (int)v;
		return -1;
	}
	for (size_t i = 0; i < sizeof(type_names) / sizeof(type_names[0]); i++)
		if (strlen(type_names[i].name) == len && memcmp(type_names[i].name, name, len) == 0)
			return type_names[i].type;
	return -1;
}

static bool is_encoded_key(int type, const char *key, size_t len)
{
	if (type == AUDIT_T_EXECVE && len >= 2 && key[0] == 'a') {
		/* a<N> or a<N>[<I>], not a<N>_len nor argc */
		size_t i = 1;

		while (i < len && key[i] >= '0' && key[i] <= '9')
			i++;
		if (i == 1)
			return false;
		if (i == len)
			return true;
		if (key[i] != '[' || key[len - 1] != ']' || len - i < 3)
			return false;
		for (i++; i < len - 1; i++)
			if (key[i] < '0' || key[i] > '9')
				return false;
		return true;
	}
	/* called for every field of every record: compare the first byte before anything else */
	for (size_t i = 0; i < sizeof(encoded_keys) / sizeof(encoded_keys[0]); i++)
		if (encoded_keys[i][0] == key[0] && strncmp(encoded_keys[i], key, len) == 0 &&
		    encoded_keys[i][len] == '\0')
			return true;
	return false;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Decode hex s[0..len) into out (len / 2 bytes). -EBADMSG on odd length or a non-hex digit. */
static int hex_decode(const char *s, size_t len, char *out)
{
	if (len % 2)
		return -EBADMSG;
	for (size_t i = 0; i < len; i += 2) {
		int hi = hexval(s[i]), lo = hexval(s[i + 1]);

		if (hi < 0 || lo < 0)
			return -EBADMSG;
		out[i / 2] = (char)(hi << 4 | lo);
	}
	return 0;
}

/* Parse "audit(SEC.MS:SERIAL):" at the start of text; *ret_off is the offset after it. */
static int parse_header(const char *text, size_t len, struct audit_record *r, size_t *ret_off)
{
	unsigned long long sec, frac, serial;
	size_t i = 6, s;

	if (len < 6 || memcmp(text, "audit(", 6) != 0)
		return -EINVAL;
	for (s = i; i < len && text[i] >= '0' && text[i] <= '9'; i++)
		;
	if (i == len || text[i] != '.' || parse_uint(text + s, i - s, UINT64_MAX, &sec) < 0)
		return -EINVAL;
	for (s = ++i; i < len && text[i] >= '0' && text[i] <= '9'; i++)
		;
	if (i == len || text[i] != ':' || i - s == 0 || i - s > 9 ||
	    parse_uint(text + s, i - s, UINT64_MAX, &frac) < 0)
		return -EINVAL;
	/* scale the fraction to milliseconds (the kernel always writes 3 digits) */
	for (size_t d = i - s; d < 3; d++)
		frac *= 10;
	for (size_t d = i - s; d > 3; d--)
		frac /= 10;
	for (s = ++i; i < len && text[i] >= '0' && text[i] <= '9'; i++)
		;
	if (i >= len || text[i] != ')' || parse_uint(text + s, i - s, UINT64_MAX, &serial) < 0)
		return -EINVAL;
	i++;
	if (i >= len || text[i] != ':')
		return -EINVAL;
	i++;
	r->sec = sec;
	r->msec = (unsigned)frac;
	r->serial = serial;
	*ret_off = i;
	return 0;
}

/* PROCTITLE: the NULs between argv words become spaces, trailing ones are dropped. */
static void proctitle_flatten(struct audit_field *f)
{
	char *v = (char *)f->val;

	while (f->val_len > 0 && v[f->val_len - 1] == '\0')
		f->val_len--;
	for (size_t i = 0; i < f->val_len; i++)
		if (v[i] == '\0')
			v[i] = ' ';
	v[f->val_len] = '\0';
}

int audit_record_parse(int type, const char *text, size_t len, struct audit_record **ret)
{
	struct audit_record *r, hdr;
	size_t off, neq = 0, maxf, fsize;
	char *buf, *w;
	const char *p, *end;
	int err;

	if (!text)
		return -EINVAL;
	if (len > AUDIT_RECORD_MAX_LEN)
		return -E2BIG;
	while (len > 0 && (text[len - 1] == '\0' || text[len - 1] == '\n' || text[len - 1] == ' '))
		len--;
	if (memchr(text, '\0', len))
		return -EBADMSG;

	err = parse_header(text, len, &hdr, &off);
	if (err < 0)
		return err;
	while (off < len && text[off] == ' ')
		off++;

	p = text + off;
	end = text + len;
	for (const char *q = memchr(p, '=', (size_t)(end - p)); q;
	     q = memchr(q + 1, '=', (size_t)(end - q - 1)))
		neq++;
	maxf = neq < AUDIT_RECORD_MAX_FIELDS ? neq : AUDIT_RECORD_MAX_FIELDS;
	/* One allocation per record (this runs for every record the kernel sends): the record,
	 * its fields, then the body copy and every key and value NUL-terminated, which take at
	 * most 3 * body + 2 bytes. Only the record and the fields need zeroing. */
	fsize = (maxf ? maxf : 1) * sizeof(*r->fields);
	r = malloc(sizeof(*r) + fsize + 3 * (size_t)(end - p) + 16);
	if (!r)
		return -ENOMEM;
	memset(r, 0, sizeof(*r) + fsize);
	r->type = type;
	r->sec = hdr.sec;
	r->msec = hdr.msec;
	r->serial = hdr.serial;
	r->fields = (struct audit_field *)(r + 1);
	buf = (char *)r->fields + fsize;
	/* body first, then keys and values */
	memcpy(buf, p, (size_t)(end - p));
	buf[end - p] = '\0';
	r->body = buf;
	r->body_len = (size_t)(end - p);
	w = buf + r->body_len + 1;

	while (p < end) {
		const char *k, *v;
		size_t klen, vlen;
		struct audit_field *f;

		while (p < end && (*p == ' ' || *p == '\t'))
			p++;
		if (p == end)
			break;
		for (k = p; p < end && *p != '=' && *p != ' '; p++)
			;
		klen = (size_t)(p - k);
		if (p == end || *p == ' ')
			continue; /* a word without '=' (AVC's "denied { read } for"): not a field */
		if (klen == 0) {
			err = -EBADMSG;
			goto out_free;
		}
		if (r->nfields == AUDIT_RECORD_MAX_FIELDS) {
			err = -E2BIG;
			goto out_free;
		}
		f = &r->fields[r->nfields++];
		memcpy(w, k, klen);
		w[klen] = '\0';
		f->key = w;
		w += klen + 1;
		p++; /* '=' */
		if (p < end && (*p == '"' || *p == '\'')) {
			char q = *p++;

			v = p;
			p = memchr(p, q, (size_t)(end - p));
			if (!p) {
				err = -EBADMSG;
				goto out_free;
			}
			vlen = (size_t)(p - v);
			p++;
			f->kind = q == '"' ? AUDIT_VAL_QUOTED : AUDIT_VAL_SQUOTED;
			memcpy(w, v, vlen);
		} else {
			for (v = p; p < end && *p != ' '; p++)
				;
			vlen = (size_t)(p - v);
			if (vlen == 6 && memcmp(v, "(null)", 6) == 0) {
				f->kind = AUDIT_VAL_NULL;
				vlen = 0;
			} else if (vlen == 1 && *v == '?') {
				f->kind = AUDIT_VAL_UNSET;
				vlen = 0;
			} else if (vlen > 0 && is_encoded_key(type, k, klen)) {
				err = hex_decode(v, vlen, w);
				if (err < 0)
					goto out_free;
				vlen /= 2;
				f->kind = AUDIT_VAL_HEX;
			} else {
				f->kind = AUDIT_VAL_BARE;
				memcpy(w, v, vlen);
			}
		}
		w[vlen] = '\0';
		f->val = w;
		f->val_len = vlen;
		w += vlen + 1;
		if (type == AUDIT_T_PROCTITLE && strcmp(f->key, "proctitle") == 0 &&
		    f->kind == AUDIT_VAL_HEX)
			proctitle_flatten(f);
	}
	*ret = r;
	return 0;

out_free:
	audit_record_free(r);
	return err;
}

void audit_record_free(struct audit_record *r)
{
	free(r); /* fields and text live in the same block */
}

const struct audit_field *audit_record_field(const struct audit_record *r, const char *key)
{
	/* looked up ~20 times per event over ~25 fields: test the first byte before strcmp */
	for (size_t i = 0; i < r->nfields; i++)
		if (r->fields[i].key[0] == key[0] && strcmp(r->fields[i].key, key) == 0)
			return &r->fields[i];
	return NULL;
}

const char *audit_record_str(const struct audit_record *r, const char *key)
{
	const struct audit_field *f = audit_record_field(r, key);

	if (!f || f->kind == AUDIT_VAL_NULL || f->kind == AUDIT_VAL_UNSET)
		return NULL;
	return f->val;
}

int audit_record_u64(const struct audit_record *r, const char *key, int base, uint64_t *ret)
{
	const struct audit_field *f = audit_record_field(r, key);
	uint64_t v = 0;

	if (!f || f->kind == AUDIT_VAL_NULL || f->kind == AUDIT_VAL_UNSET)
		return -ENOENT;
	if (f->kind != AUDIT_VAL_BARE || f->val_len == 0)
		return -EINVAL;
	for (size_t i = 0; i < f->val_len; i++) {
		int d = base == 16 ? hexval(f->val[i]) : f->val[i] - '0';

		if (d < 0 || d >= base)
			return -EINVAL;
		if (v > (UINT64_MAX - (uint64_t)d) / (uint64_t)base)
			return -EINVAL;
		v = v * (uint64_t)base + (uint64_t)d;
	}
	*ret = v;
	return 0;
}

int audit_record_i64(const struct audit_record *r, const char *key, int base, int64_t *ret)
{
	const struct audit_field *f = audit_record_field(r, key);
	unsigned long long v;
	uint64_t u;
	int err;

	if (!f || f->kind == AUDIT_VAL_NULL || f->kind == AUDIT_VAL_UNSET)
		return -ENOENT;
	if (base == 10 && f->kind == AUDIT_VAL_BARE && f->val_len > 1 && f->val[0] == '-') {
		if (parse_uint(f->val + 1, f->val_len - 1, (unsigned long long)INT64_MAX + 1, &v) < 0)
			return -EINVAL;
		*ret = v == (unsigned long long)INT64_MAX + 1 ? INT64_MIN : -(int64_t)v;
		return 0;
	}
	err = audit_record_u64(r, key, base, &u);
	if (err < 0)
		return err;
	if (u > INT64_MAX)
		return -EINVAL;
	*ret = (int64_t)u;
	return 0;
}

int audit_line_split(const char *line, size_t len, int *ret_type, const char **ret_text,
		     size_t *ret_len)
{
	const char *p = line, *end, *t, *gs;
	int type;

	gs = memchr(line, 0x1d, len);
	if (gs)
		len = (size_t)(gs - line);
	while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
		len--;
	end = line + len;
	if (len >= 5 && memcmp(p, "node=", 5) == 0) {
		p = memchr(p, ' ', len);
		if (!p)
			return -EINVAL;
		p++;
	}
	if (end - p < 5 || memcmp(p, "type=", 5) != 0)
		return -EINVAL;
	p += 5;
	for (t = p; p < end && *p != ' '; p++)
		;
	type = audit_type_from_name(t, (size_t)(p - t));
	if (type < 0)
		return -EINVAL;
	if (end - p < 5 || memcmp(p, " msg=", 5) != 0)
		return -EINVAL;
	p += 5;
	*ret_type = type;
	*ret_text = p;
	*ret_len = (size_t)(end - p);
	return 0;
}
