// SPDX-License-Identifier: MIT
/*
 * Match rules (see match.h): the parser, the reference matcher and the
 * classic BPF compiler. The compiler emits one straight block per place the
 * IP header can start (offset 14 untagged, 18 behind one tag) because
 * classic BPF's indirect loads take a constant offset plus X, and X is
 * needed for the IPv4 header length; all blocks leave the destination port
 * in A and jump to one shared block of port comparisons.
 *
 * VLAN: on a packet socket the kernel has usually stripped the tag already
 * (skb->vlan_tci, rx-vlan offload or veth), so the filter sees an untagged
 * frame and matches it as such; a tag still in the frame (offload off,
 * 802.1ad) is skipped by the second block. So the filter needs no
 * SKF_AD_VLAN_TAG_PRESENT ancillary load, which also keeps the program
 * runnable by libpcap's bpf_filter() for testing.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "core/log.h"
#include "net/cursor.h"
#include "net/match.h"

/* ---- parser ----------------------------------------------------------- */

/* Decimal port 1..65535 from s[0..len): 0 or -EINVAL. */
static int parse_port(const char *s, size_t len, uint16_t *out)
{
	uint32_t v = 0;
	size_t i;

	if (len == 0 || len > 5)
		return -EINVAL;
	for (i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -EINVAL;
		v = v * 10 + (uint32_t)(s[i] - '0');
	}
	if (v < 1 || v > 65535)
		return -EINVAL;
	*out = (uint16_t)v;
	return 0;
}

static int parse_rule(const char *s, size_t len, struct sl_match_rule *r)
{
	const char *dash;
	size_t plen;

	if (len == 3 && memcmp(s, "all", 3) == 0) {
		r->kind = SL_MATCH_ALL;
		r->lo = 0;
		r->hi = 0;
		return 0;
	}
	if (len < 4 || memcmp(s, "udp:", 4) != 0)
		return sl_fail(EINVAL,
			       "bad match '%.*s': expected all, none, "
			       "udp:PORT or udp:LO-HI",
			       (int)len, s);
	s += 4;
	plen = len - 4;
	r->kind = SL_MATCH_UDP;
	dash = memchr(s, '-', plen);
	if (!dash) {
		if (parse_port(s, plen, &r->lo))
			goto bad_port;
		r->hi = r->lo;
		return 0;
	}
	if (parse_port(s, (size_t)(dash - s), &r->lo) ||
	    parse_port(dash + 1, plen - (size_t)(dash - s) - 1, &r->hi))
		goto bad_port;
	if (r->lo > r->hi)
		return sl_fail(EINVAL,
			       "bad match 'udp:%.*s': range %u-%u is empty "
			       "(LO must not exceed HI)",
			       (int)plen, s, r->lo, r->hi);
	return 0;
bad_port:
	return sl_fail(
		EINVAL,
		"bad match 'udp:%.*s': ports are numbers from 1 to 65535",
		(int)plen, s);
}

int sl_match_parse(const char *s, struct sl_match *out)
{
	struct sl_match m = { 0 };
	const char *p;

	if (!out)
		return sl_fail(EINVAL, "sl_match_parse: no output");
	if (!s || !*s) {
		m.n = 1;
		m.rule[0].kind = SL_MATCH_ALL;
		*out = m;
		return 0;
	}
	/* no rule: the port is held, taking nothing (n = 0) */
	if (!strcmp(s, "none")) {
		*out = m;
		return 0;
	}
	p = s;
	for (;;) {
		const char *end = strchr(p, '+');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		int err;

		if (m.n == SL_MATCH_MAX_RULES)
			return sl_fail(EINVAL,
				       "bad match '%s': more than %u rules", s,
				       SL_MATCH_MAX_RULES);
		if (len == 0)
			return sl_fail(EINVAL, "bad match '%s': empty rule", s);
		if (len == 4 && !memcmp(p, "none", 4))
			return sl_fail(EINVAL,
				       "bad match '%s': none takes nothing, so "
				       "it stands alone",
				       s);
		err = parse_rule(p, len, &m.rule[m.n]);
		if (err)
			return err;
		m.n++;
		if (!end)
			break;
		p = end + 1;
	}
	*out = m;
	return 0;
}

bool sl_match_is_all(const struct sl_match *m)
{
	unsigned i;

	for (i = 0; i < m->n; i++)
		if (m->rule[i].kind == SL_MATCH_ALL)
			return true;
	return false;
}

char *sl_match_format(const struct sl_match *m, char *buf, size_t len)
{
	size_t off = 0;
	unsigned i;

	if (!len)
		return buf;
	buf[0] = '\0';
	if (!m->n) {
		snprintf(buf, len, "none");
		return buf;
	}
	for (i = 0; i < m->n && off < len; i++) {
		const struct sl_match_rule *r = &m->rule[i];
		const char *sep = i ? "+" : "";
		int w;

		if (r->kind == SL_MATCH_ALL)
			w = snprintf(buf + off, len - off, "%sall", sep);
		else if (r->lo == r->hi)
			w = snprintf(buf + off, len - off, "%sudp:%u", sep,
				     r->lo);
		else
			w = snprintf(buf + off, len - off, "%sudp:%u-%u", sep,
				     r->lo, r->hi);
		if (w < 0)
			break;
		off += (size_t)w;
	}
	return buf;
}

/* ---- reference matcher ------------------------------------------------ */

static bool port_in(const struct sl_match *m, uint16_t port)
{
	unsigned i;

	for (i = 0; i < m->n; i++)
		if (m->rule[i].kind == SL_MATCH_UDP && port >= m->rule[i].lo &&
		    port <= m->rule[i].hi)
			return true;
	return false;
}

/* The byte at off, or -1 past the end. */
static int byte_at(const struct sl_cursor *c, size_t off)
{
	return off < c->len ? c->p[off] : -1;
}

/* The big-endian 16 bits at off, or -1 when they are not both there. */
static int be16_at(const struct sl_cursor *c, size_t off)
{
	if (off >= c->len || 2 > c->len - off)
		return -1;
	return sl_get_be16(c->p + off);
}

/*
 * Exactly the loads and tests of the compiled program, in C: any byte the
 * program would load past the end makes the frame not match, as it does
 * in the kernel's classic BPF interpreter.
 */
bool sl_match_frame(const struct sl_match *m, const void *frame, size_t len)
{
	struct sl_cursor c;
	int type, b, v;
	size_t o = 14;

	if (sl_match_is_all(m))
		return true;
	sl_cursor_init(&c, frame, len);
	type = be16_at(&c, 12);
	if (type == 0x8100 || type == 0x88a8) {
		type = be16_at(&c, 16);
		o += 4;
		if (type != 0x0800 && type != 0x86dd)
			return false;
	}
	if (type == 0x0800) {
		b = byte_at(&c, o);
		if (b < 0x45 || b >= 0x50)
			return false;
		if (byte_at(&c, o + 9) != 17)
			return false;
		v = be16_at(&c, o + 6);
		if (v < 0 || (v & 0x1fff))
			return false;
		v = be16_at(&c, o + (size_t)(b & 0xf) * 4 + 2);
	} else if (type == 0x86dd) {
		b = byte_at(&c, o);
		if (b < 0 || (b & 0xf0) != 0x60)
			return false;
		if (byte_at(&c, o + 6) != 17)
			return false;
		v = be16_at(&c, o + 40 + 2);
	} else {
		return false;
	}
	return v >= 0 && port_in(m, (uint16_t)v);
}

/* ---- classic BPF compiler --------------------------------------------- */

enum {
	L_NONE = -1, /* fall through to the next instruction */
	L_TAG = 0,
	L_V4_14,
	L_V4_18,
	L_V6_14,
	L_V6_18,
	L_PORTS,
	L_ACCEPT,
	L_REJECT,
	L_RULE0, /* L_RULE0 + i: the test of rule i (i == n: reject) */
	L_COUNT = L_RULE0 + SL_MATCH_MAX_RULES + 1,
};

struct cbpf_asm {
	struct sock_filter *prog;
	unsigned cap;
	unsigned n;
	bool overflow;
	int pos[L_COUNT];
	int8_t jt[SL_MATCH_CBPF_MAX]; /* labels, resolved at the end */
	int8_t jf[SL_MATCH_CBPF_MAX];
};

static void label(struct cbpf_asm *a, int l)
{
	a->pos[l] = (int)a->n;
}

static void emit(struct cbpf_asm *a, uint16_t code, uint32_t k, int jt, int jf)
{
	if (a->n >= a->cap || a->n >= SL_MATCH_CBPF_MAX) {
		a->overflow = true;
		return;
	}
	a->prog[a->n] = (struct sock_filter)BPF_STMT(code, k);
	a->jt[a->n] = (int8_t)jt;
	a->jf[a->n] = (int8_t)jf;
	a->n++;
}

/* Resolve the labels into relative offsets (classic BPF jumps forward
 * only; BPF_JA takes its offset in k). */
static int resolve(struct cbpf_asm *a)
{
	unsigned i;

	for (i = 0; i < a->n; i++) {
		struct sock_filter *f = &a->prog[i];
		int t = a->jt[i] == L_NONE ? (int)i + 1 : a->pos[a->jt[i]];
		int e = a->jf[i] == L_NONE ? (int)i + 1 : a->pos[a->jf[i]];

		if (t <= (int)i || e <= (int)i || t - (int)i - 1 > 255 ||
		    e - (int)i - 1 > 255)
			return -ENOSPC;
		if (BPF_CLASS(f->code) != BPF_JMP)
			continue;
		if (BPF_OP(f->code) == BPF_JA) {
			f->k = (uint32_t)(t - (int)i - 1);
		} else {
			f->jt = (uint8_t)(t - (int)i - 1);
			f->jf = (uint8_t)(e - (int)i - 1);
		}
	}
	return 0;
}

static void emit_v4(struct cbpf_asm *a, uint32_t o)
{
	/* version 4, IHL >= 5: the first byte is 0x45..0x4f */
	emit(a, BPF_LD | BPF_B | BPF_ABS, o, L_NONE, L_NONE);
	emit(a, BPF_JMP | BPF_JGE | BPF_K, 0x45, L_NONE, L_REJECT);
	emit(a, BPF_JMP | BPF_JGE | BPF_K, 0x50, L_REJECT, L_NONE);
	emit(a, BPF_LD | BPF_B | BPF_ABS, o + 9, L_NONE, L_NONE);
	emit(a, BPF_JMP | BPF_JEQ | BPF_K, 17, L_NONE, L_REJECT);
	/* a non-first fragment carries no UDP header */
	emit(a, BPF_LD | BPF_H | BPF_ABS, o + 6, L_NONE, L_NONE);
	emit(a, BPF_JMP | BPF_JSET | BPF_K, 0x1fff, L_REJECT, L_NONE);
	emit(a, BPF_LDX | BPF_B | BPF_MSH, o, L_NONE, L_NONE);
	emit(a, BPF_LD | BPF_H | BPF_IND, o + 2, L_NONE, L_NONE);
	emit(a, BPF_JMP | BPF_JA, 0, L_PORTS, L_NONE);
}

static void emit_v6(struct cbpf_asm *a, uint32_t o)
{
	emit(a, BPF_LD | BPF_B | BPF_ABS, o, L_NONE, L_NONE);
	emit(a, BPF_ALU | BPF_AND | BPF_K, 0xf0, L_NONE, L_NONE);
	emit(a, BPF_JMP | BPF_JEQ | BPF_K, 0x60, L_NONE, L_REJECT);
	emit(a, BPF_LD | BPF_B | BPF_ABS, o + 6, L_NONE, L_NONE);
	emit(a, BPF_JMP | BPF_JEQ | BPF_K, 17, L_NONE, L_REJECT);
	emit(a, BPF_LD | BPF_H | BPF_ABS, o + 42, L_NONE, L_NONE);
	emit(a, BPF_JMP | BPF_JA, 0, L_PORTS, L_NONE);
}

int sl_match_cbpf(const struct sl_match *m, struct sock_filter *prog,
		  unsigned cap)
{
	struct cbpf_asm a;
	unsigned i;

	memset(&a, 0, sizeof(a));
	a.prog = prog;
	a.cap = cap;
	if (!prog || m->n > SL_MATCH_MAX_RULES)
		return -EINVAL;
	if (!m->n || sl_match_is_all(m)) {
		if (cap < 1)
			return -ENOSPC;
		prog[0] = (struct sock_filter)BPF_STMT(
			BPF_RET | BPF_K, m->n ? SL_MATCH_SNAP : 0);
		return 1;
	}
	emit(&a, BPF_LD | BPF_H | BPF_ABS, 12, L_NONE, L_NONE);
	emit(&a, BPF_JMP | BPF_JEQ | BPF_K, 0x0800, L_V4_14, L_NONE);
	emit(&a, BPF_JMP | BPF_JEQ | BPF_K, 0x86dd, L_V6_14, L_NONE);
	emit(&a, BPF_JMP | BPF_JEQ | BPF_K, 0x8100, L_TAG, L_NONE);
	emit(&a, BPF_JMP | BPF_JEQ | BPF_K, 0x88a8, L_TAG, L_REJECT);
	label(&a, L_TAG);
	emit(&a, BPF_LD | BPF_H | BPF_ABS, 16, L_NONE, L_NONE);
	emit(&a, BPF_JMP | BPF_JEQ | BPF_K, 0x0800, L_V4_18, L_NONE);
	emit(&a, BPF_JMP | BPF_JEQ | BPF_K, 0x86dd, L_V6_18, L_REJECT);
	label(&a, L_V4_14);
	emit_v4(&a, 14);
	label(&a, L_V4_18);
	emit_v4(&a, 18);
	label(&a, L_V6_14);
	emit_v6(&a, 14);
	label(&a, L_V6_18);
	emit_v6(&a, 18);
	/* A = UDP destination port */
	label(&a, L_PORTS);
	for (i = 0; i < m->n; i++) {
		const struct sl_match_rule *r = &m->rule[i];

		label(&a, L_RULE0 + (int)i);
		if (r->lo == r->hi) {
			emit(&a, BPF_JMP | BPF_JEQ | BPF_K, r->lo, L_ACCEPT,
			     L_RULE0 + (int)i + 1);
		} else {
			emit(&a, BPF_JMP | BPF_JGE | BPF_K, r->lo, L_NONE,
			     L_RULE0 + (int)i + 1);
			emit(&a, BPF_JMP | BPF_JGT | BPF_K, r->hi,
			     L_RULE0 + (int)i + 1, L_ACCEPT);
		}
	}
	label(&a, L_RULE0 + (int)m->n);
	label(&a, L_REJECT);
	emit(&a, BPF_RET | BPF_K, 0, L_NONE, L_NONE);
	label(&a, L_ACCEPT);
	emit(&a, BPF_RET | BPF_K, SL_MATCH_SNAP, L_NONE, L_NONE);
	if (a.overflow || resolve(&a))
		return -ENOSPC;
	return (int)a.n;
}
