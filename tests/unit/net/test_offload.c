// SPDX-License-Identifier: MIT
/*
 * Checksum state and software offload, against an independent reference:
 * every checksum here is also computed by a plain byte-pair RFC 1071 sum
 * written in this file, not by the library's csum.c.
 *
 * A frame as a kernel socket sends it over veth (CHECKSUM_PARTIAL: the
 * field holds the pseudo-header seed) is PARTIAL, not BAD; a damaged one
 * is BAD; sl_udp_swap refuses a damaged frame and has a partial one
 * completed on send; sl_tx_burst fills what SL_PKT_F_TX_* ask on a port
 * that cannot (pair), counts it, and clears the flags; the fault
 * decorator's corruption is found by the check.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sltest.h"

#include <sluice/udp.h>

static struct sl_pool *pool;

static int setup(void **state)
{
	(void)state;
	pool = sl_test_pool(64);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	sl_test_pool_full(pool);
	sl_pool_destroy(pool);
	return 0;
}

/* ---- the reference: big-endian 16-bit words, summed byte by byte ---- */

static uint32_t ref_sum(const uint8_t *b, size_t len, uint32_t s)
{
	size_t i;

	for (i = 0; i + 1 < len; i += 2)
		s += (uint32_t)(b[i] << 8 | b[i + 1]);
	if (len & 1)
		s += (uint32_t)b[len - 1] << 8;
	return s;
}

static uint16_t ref_fold(uint32_t s)
{
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)s;
}

/* Pseudo-header sum (not inverted) of the L4 part of a parsed frame. */
static uint16_t ref_seed(const uint8_t *b, const struct sl_frame *f)
{
	uint32_t l4_len =
		(uint32_t)(f->payload_off - f->l4_off) + f->payload_len;
	uint32_t s;

	if (f->l3 == SL_L3_IPV4)
		s = ref_sum(b + f->l3_off + 12, 8, 0);
	else
		s = ref_sum(b + f->l3_off + 8, 32, 0);
	s += f->l4_proto + (l4_len & 0xffff) + (l4_len >> 16);
	return ref_fold(s);
}

/* True when the L4 checksum of a parsed frame verifies. */
static bool ref_l4_ok(const uint8_t *b, const struct sl_frame *f)
{
	uint32_t l4_len =
		(uint32_t)(f->payload_off - f->l4_off) + f->payload_len;
	uint32_t s = ref_sum(b + f->l4_off, l4_len, 0);

	if (!(f->l3 == SL_L3_IPV4 && f->l4_proto == SL_IPPROTO_ICMP))
		s += ref_seed(b, f);
	return ref_fold(s) == 0xffff;
}

static bool ref_l3_ok(const uint8_t *b, const struct sl_frame *f)
{
	return ref_fold(ref_sum(b + f->l3_off, (b[f->l3_off] & 0xf) * 4u, 0)) ==
	       0xffff;
}

/* ---- frames ----------------------------------------------------------- */

static void params(struct sl_udp_params *hp, bool v6, uint16_t vlan)
{
	static const uint8_t a[6] = { 2, 1, 1, 1, 1, 1 };
	static const uint8_t b[6] = { 2, 2, 2, 2, 2, 2 };

	memset(hp, 0, sizeof(*hp));
	memcpy(hp->src_mac, a, 6);
	memcpy(hp->dst_mac, b, 6);
	hp->vlan_tci = vlan;
	assert_int_equal(sl_addr_parse(v6 ? "[fd77:1::1]:40000" :
					    "10.77.1.1:40000",
				       false, &hp->src),
			 0);
	assert_int_equal(sl_addr_parse(v6 ? "[fd77:1::2]:7" : "10.77.1.2:7",
				       false, &hp->dst),
			 0);
}

static struct sl_pkt *udp_frame(bool v6, uint16_t vlan, size_t len,
				unsigned seed)
{
	struct sl_udp_params hp;
	struct sl_pkt *p = sl_pkt_alloc(pool);
	uint8_t payload[1500];
	size_t i;
	int n;

	assert_non_null(p);
	for (i = 0; i < len; i++)
		payload[i] = (uint8_t)(seed * 131 + i * 7);
	params(&hp, v6, vlan);
	n = sl_udp_build(p->data, sl_pkt_tailroom(p), &hp, payload, len);
	assert_true(n > 0);
	p->len = (uint32_t)n;
	return p;
}

/* Put the CHECKSUM_PARTIAL seed in the L4 field, as a kernel socket's
 * datagram looks on veth. */
static void make_partial(struct sl_pkt *p, struct sl_frame *f)
{
	uint16_t seed;
	int csum_off = f->l4_proto == SL_IPPROTO_TCP ? 16 :
		       f->l4_proto == SL_IPPROTO_UDP ? 6 :
						       2;

	seed = ref_seed(p->data, f);
	p->data[f->l4_off + csum_off] = (uint8_t)(seed >> 8);
	p->data[f->l4_off + csum_off + 1] = (uint8_t)seed;
}

static void state_of(struct sl_pkt *p, enum sl_csum *l3, enum sl_csum *l4)
{
	struct sl_frame f;

	assert_int_equal(sl_frame_parse(p->data, p->len, &f), 0);
	sl_frame_csum_state(p->data, &f, l3, l4);
}

/* A TCP/IPv4 or IPv6 segment with its checksum computed by the
 * reference. */
static struct sl_pkt *tcp_frame(bool v6, size_t len)
{
	struct sl_pkt *p = udp_frame(v6, 0, len + 12, 3);
	struct sl_frame f;
	uint8_t *b = p->data;
	uint16_t c;

	/* a UDP frame of 12 more payload bytes has the room of a 20-byte
	 * TCP header: relabel it */
	assert_int_equal(sl_frame_parse(b, p->len, &f), 0);
	if (v6) {
		b[f.l3_off + 6] = SL_IPPROTO_TCP;
	} else {
		b[f.l3_off + 9] = SL_IPPROTO_TCP;
		b[f.l3_off + 10] = b[f.l3_off + 11] = 0;
		c = (uint16_t)~ref_fold(ref_sum(b + f.l3_off, 20, 0));
		b[f.l3_off + 10] = (uint8_t)(c >> 8);
		b[f.l3_off + 11] = (uint8_t)c;
	}
	memset(b + f.l4_off + 4, 0, 16);
	b[f.l4_off + 12] = 5 << 4; /* data offset 5 words */
	assert_int_equal(sl_frame_parse(b, p->len, &f), 0);
	assert_int_equal(f.l4_proto, SL_IPPROTO_TCP);
	c = (uint16_t)~ref_fold(
		ref_sum(b + f.l4_off, (size_t)(p->len - f.l4_off), 0) +
		ref_seed(b, &f));
	b[f.l4_off + 16] = (uint8_t)(c >> 8);
	b[f.l4_off + 17] = (uint8_t)c;
	return p;
}

/* ---- tests ------------------------------------------------------------ */

static void test_states(void **state)
{
	enum sl_csum l3, l4;
	int v6, tag;

	(void)state;
	for (v6 = 0; v6 < 2; v6++) {
		for (tag = 0; tag < 2; tag++) {
			struct sl_pkt *p = udp_frame(v6, tag ? 9 : 0, 33, 1);
			struct sl_frame f;

			state_of(p, &l3, &l4);
			assert_int_equal(l3, v6 ? SL_CSUM_NONE : SL_CSUM_GOOD);
			assert_int_equal(l4, SL_CSUM_GOOD);

			/* the seed a local sender leaves: partial, not bad */
			assert_int_equal(sl_frame_parse(p->data, p->len, &f),
					 0);
			make_partial(p, &f);
			assert_false(ref_l4_ok(p->data, &f));
			state_of(p, &l3, &l4);
			assert_int_equal(l4, SL_CSUM_PARTIAL);
			assert_true(sl_frame_csum_is_seed(p->data, &f));

			/* filled in: right by the reference */
			assert_int_equal(sl_frame_csum_fill(p->data, &f,
							    SL_CSUM_FILL_L4),
					 0);
			assert_true(ref_l4_ok(p->data, &f));
			assert_false(sl_frame_csum_is_seed(p->data, &f));

			/* one payload bit flipped: bad */
			p->data[p->len - 1] ^= 0x10;
			state_of(p, &l3, &l4);
			assert_int_equal(l4, SL_CSUM_BAD);
			p->data[p->len - 1] ^= 0x10;

			/* the IPv4 header damaged: L3 bad */
			if (!v6) {
				p->data[f.l3_off + 8] ^= 1; /* TTL */
				state_of(p, &l3, &l4);
				assert_int_equal(l3, SL_CSUM_BAD);
				assert_false(ref_l3_ok(p->data, &f));
				assert_int_equal(
					sl_frame_csum_fill(p->data, &f,
							   SL_CSUM_FILL_L3),
					0);
				assert_true(ref_l3_ok(p->data, &f));
				state_of(p, &l3, &l4);
				assert_int_equal(l3, SL_CSUM_GOOD);
			}

			/* no UDP checksum: none over IPv4, bad over IPv6 */
			p->data[f.l4_off + 6] = p->data[f.l4_off + 7] = 0;
			state_of(p, &l3, &l4);
			assert_int_equal(l4, v6 ? SL_CSUM_BAD : SL_CSUM_NONE);
			sl_pkt_free(p);
		}
	}
}

static void test_other_protocols(void **state)
{
	struct sl_udp_params hp;
	enum sl_csum l3, l4;
	struct sl_frame f;
	struct sl_pkt *p;
	int v6, n;

	(void)state;
	for (v6 = 0; v6 < 2; v6++) {
		/* TCP: good, partial, bad */
		p = tcp_frame(v6, 101);
		state_of(p, &l3, &l4);
		assert_int_equal(l4, SL_CSUM_GOOD);
		assert_int_equal(sl_frame_parse(p->data, p->len, &f), 0);
		make_partial(p, &f);
		state_of(p, &l3, &l4);
		assert_int_equal(l4, SL_CSUM_PARTIAL);
		assert_int_equal(
			sl_frame_csum_fill(p->data, &f, SL_CSUM_FILL_L4), 0);
		assert_true(ref_l4_ok(p->data, &f));
		p->data[f.l4_off + 30] ^= 0x80;
		state_of(p, &l3, &l4);
		assert_int_equal(l4, SL_CSUM_BAD);
		sl_pkt_free(p);

		/* ICMP / ICMPv6 echo */
		p = sl_pkt_alloc(pool);
		params(&hp, v6, 0);
		n = sl_icmp_echo_build(p->data, sl_pkt_tailroom(p), &hp, false,
				       7, 9, "ping", 4);
		assert_true(n > 0);
		p->len = (uint32_t)n;
		state_of(p, &l3, &l4);
		assert_int_equal(l4, SL_CSUM_GOOD);
		assert_int_equal(sl_frame_parse(p->data, p->len, &f), 0);
		assert_true(ref_l4_ok(p->data, &f));
		p->data[p->len - 1] ^= 1;
		state_of(p, &l3, &l4);
		assert_int_equal(l4, SL_CSUM_BAD);
		sl_pkt_free(p);
	}

	/* an IPv4 fragment: no L4 checksum to check or fill */
	p = udp_frame(false, 0, 40, 2);
	assert_int_equal(sl_frame_parse(p->data, p->len, &f), 0);
	p->data[f.l3_off + 6] = 0x20; /* MF */
	p->data[f.l3_off + 10] = p->data[f.l3_off + 11] = 0;
	assert_int_equal(sl_frame_parse(p->data, p->len, &f), 0);
	assert_int_equal(sl_frame_csum_fill(p->data, &f,
					    SL_CSUM_FILL_L3 | SL_CSUM_FILL_L4),
			 -EPROTONOSUPPORT);
	assert_true(ref_l3_ok(p->data, &f)); /* the L3 part was done */
	state_of(p, &l3, &l4);
	assert_int_equal(l3, SL_CSUM_GOOD);
	assert_int_equal(l4, SL_CSUM_NONE);
	sl_pkt_free(p);
}

/* Many lengths, odd ones included: what fill stores is what the reference
 * accepts, and what it finds matches the reference. */
static void test_lengths(void **state)
{
	size_t len;
	int v6;

	(void)state;
	for (v6 = 0; v6 < 2; v6++) {
		for (len = 0; len <= 1400; len += (len < 80 ? 1 : 37)) {
			struct sl_pkt *p = udp_frame(v6, 0, len, (unsigned)len);
			struct sl_frame f;
			enum sl_csum l3, l4;

			assert_int_equal(sl_frame_parse(p->data, p->len, &f),
					 0);
			assert_true(ref_l4_ok(p->data, &f));
			make_partial(p, &f);
			state_of(p, &l3, &l4);
			assert_int_equal(l4, SL_CSUM_PARTIAL);
			p->flags |= SL_PKT_F_TX_CSUM;
			assert_int_equal(sl_pkt_csum_fill(p), 0);
			assert_int_equal(p->flags & SL_PKT_F_TX_CSUM, 0);
			assert_true(ref_l4_ok(p->data, &f));
			if (!v6)
				assert_true(ref_l3_ok(p->data, &f));
			sl_pkt_free(p);
		}
	}
}

static void test_pkt_check(void **state)
{
	struct sl_pkt *p;
	struct sl_frame f;

	(void)state;
	/* unknown becomes what it is, and is then kept */
	p = udp_frame(false, 0, 20, 5);
	assert_int_equal(sl_pkt_rx_l4_csum(p), SL_CSUM_UNKNOWN);
	assert_false(sl_pkt_csum_bad(p));
	assert_int_equal(sl_pkt_rx_l3_csum(p), SL_CSUM_GOOD);
	assert_int_equal(sl_pkt_rx_l4_csum(p), SL_CSUM_GOOD);

	/* a state the path gave is trusted, not recomputed */
	p->data[p->len - 1] ^= 4;
	assert_false(sl_pkt_csum_bad(p));
	sl_pkt_set_rx_csum(p, SL_CSUM_UNKNOWN, SL_CSUM_UNKNOWN);
	assert_true(sl_pkt_csum_bad(p));
	assert_int_equal(sl_pkt_rx_l4_csum(p), SL_CSUM_BAD);

	/* a frame that does not parse is bad */
	sl_pkt_reset(p);
	p->len = 20;
	memset(p->data, 0, 20);
	p->data[12] = 0x08; /* IPv4, truncated */
	assert_true(sl_pkt_csum_bad(p));
	sl_pkt_free(p);

	/* forward: a seed gets the fill flag, a right checksum does not */
	p = udp_frame(true, 0, 64, 6);
	sl_pkt_csum_forward(p);
	assert_false(p->flags & SL_PKT_F_TX_L4_CSUM);
	assert_int_equal(sl_frame_parse(p->data, p->len, &f), 0);
	make_partial(p, &f);
	sl_pkt_csum_forward(p);
	assert_true(p->flags & SL_PKT_F_TX_L4_CSUM);
	p->flags = 0;
	sl_pkt_set_rx_csum(p, SL_CSUM_NONE, SL_CSUM_PARTIAL);
	sl_pkt_csum_forward(p);
	assert_true(p->flags & SL_PKT_F_TX_L4_CSUM);
	sl_pkt_free(p);
}

static void test_swap(void **state)
{
	int v6;

	(void)state;
	for (v6 = 0; v6 < 2; v6++) {
		struct sl_pkt *p = udp_frame(v6, 0, 48, 8);
		uint8_t before[256];
		struct sl_frame f;

		/* partial: turned around, completion asked for */
		assert_int_equal(sl_frame_parse(p->data, p->len, &f), 0);
		make_partial(p, &f);
		assert_int_equal(sl_udp_swap(p), 0);
		assert_int_equal(sl_pkt_rx_l4_csum(p), SL_CSUM_PARTIAL);
		assert_true(p->flags & SL_PKT_F_TX_L4_CSUM);
		assert_int_equal(sl_pkt_csum_fill(p), 0);
		assert_true(ref_l4_ok(p->data, &f));

		/* damaged: refused, unchanged */
		p->flags = 0;
		p->data[p->len - 3] ^= 0x40;
		memcpy(before, p->data, p->len);
		assert_int_equal(sl_udp_swap(p), -EILSEQ);
		assert_memory_equal(before, p->data, p->len);
		assert_false(p->flags & SL_PKT_F_TX_CSUM);
		sl_pkt_free(p);
	}
}

/* sl_tx_burst on a pair (a path with no offload) fills, counts, clears;
 * the frame that arrives is right. */
static void test_tx_burst(void **state)
{
	struct sl_port_opts o = { .sz = sizeof(o), .pool = pool };
	struct sl_port *a, *b;
	struct sl_pkt *p, *got[4];
	struct sl_xstat xs[8];
	char name[64], spec[96];
	struct sl_frame f;
	int n, i;
	bool seen = false;

	(void)state;
	sl_test_name("csum", name, sizeof(name));
	snprintf(spec, sizeof(spec), "pair:%s/0", name);
	a = sl_port_open(spec, &o);
	assert_non_null(a);
	snprintf(spec, sizeof(spec), "pair:%s/1", name);
	b = sl_port_open(spec, &o);
	assert_non_null(b);

	p = udp_frame(false, 0, 77, 9);
	assert_int_equal(sl_frame_parse(p->data, p->len, &f), 0);
	make_partial(p, &f);
	p->data[f.l3_off + 10] ^= 0xff; /* and a stale IPv4 checksum */
	p->flags |= SL_PKT_F_TX_CSUM;
	assert_int_equal(sl_tx_burst(a, 0, &p, 1), 1);
	assert_int_equal(sl_rx_burst(b, 0, got, 4), 1);
	assert_true(ref_l4_ok(got[0]->data, &f));
	assert_true(ref_l3_ok(got[0]->data, &f));
	assert_int_equal(got[0]->flags & SL_PKT_F_TX_CSUM, 0);
	/* what the pair knows of it: nothing, until checked */
	assert_int_equal(sl_pkt_rx_l4_csum(got[0]), SL_CSUM_UNKNOWN);
	assert_false(sl_pkt_csum_bad(got[0]));
	sl_pkt_free(got[0]);

	n = sl_port_xstats(a, xs, 8);
	assert_true(n > 0 && n <= 8);
	for (i = 0; i < n; i++) {
		if (!strcmp(xs[i].name, "tx_csum_sw")) {
			assert_int_equal(xs[i].value, 1);
			seen = true;
		}
	}
	assert_true(seen);
	sl_port_close(a);
	sl_port_close(b);
}

/* The fault decorator's corruption is not hidden by a state the driver
 * gave: a bit flipped in what IPv6 and UDP checksum (the addresses on)
 * is found by the check. */
static void test_fault_corrupt(void **state)
{
	struct sl_port_opts o = { .sz = sizeof(o), .pool = pool };
	struct sl_port *a, *b;
	char name[64], spec[128];
	unsigned k, covered = 0;

	(void)state;
	sl_test_name("csumf", name, sizeof(name));
	snprintf(spec, sizeof(spec), "pair:%s/0", name);
	a = sl_port_open(spec, &o);
	assert_non_null(a);
	snprintf(spec, sizeof(spec), "pair:%s/1,fault=corrupt:1,dir:rx", name);
	b = sl_port_open(spec, &o);
	assert_non_null(b);
	for (k = 0; k < 32; k++) {
		struct sl_pkt *p = udp_frame(true, 0, 200, k), *got[4];
		struct sl_pkt *ref = udp_frame(true, 0, 200, k);
		uint32_t i;

		assert_int_equal(sl_tx_burst(a, 0, &p, 1), 1);
		assert_int_equal(sl_rx_burst(b, 0, got, 4), 1);
		assert_true(got[0]->flags & SL_PKT_F_FAULT_CORRUPT);
		assert_int_equal(got[0]->len, ref->len);
		for (i = 0; i < ref->len && got[0]->data[i] == ref->data[i];
		     i++)
			;
		assert_true(i < ref->len);
		if (i >= SL_ETH_HLEN + 8) {
			covered++;
			assert_true(sl_pkt_csum_bad(got[0]));
		}
		sl_pkt_free(got[0]);
		sl_pkt_free(ref);
	}
	assert_true(covered > 16);
	sl_port_close(a);
	sl_port_close(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_states, setup, teardown),
		cmocka_unit_test_setup_teardown(test_other_protocols, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_lengths, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pkt_check, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_swap, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tx_burst, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fault_corrupt, setup,
						teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
