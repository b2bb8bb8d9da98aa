// SPDX-License-Identifier: MIT
/*
 * The datagram helper: sl_udp_parse finds what sl_udp_build put in, for
 * IPv4 and IPv6, tagged and not; non-UDP and broken frames are refused
 * with the documented codes; sl_udp_swap answers a frame in place with its
 * checksums still right and is its own inverse; sl_udp_send_to delivers a
 * datagram through a port (a pair), reports an empty pool, an oversized
 * payload and back-pressure, and leaves the pool full.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
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

static void params(struct sl_udp_params *hp, bool v6, uint16_t vlan)
{
	static const uint8_t a[6] = { 2, 1, 1, 1, 1, 1 };
	static const uint8_t b[6] = { 2, 2, 2, 2, 2, 2 };

	memset(hp, 0, sizeof(*hp));
	memcpy(hp->src_mac, a, 6);
	memcpy(hp->dst_mac, b, 6);
	hp->vlan_tci = vlan;
	assert_int_equal(sl_addr_parse(v6 ? "[2001:db8::1]:1111" :
					    "10.0.0.1:1111",
				       false, &hp->src),
			 0);
	assert_int_equal(sl_addr_parse(v6 ? "[2001:db8::2]:2222" :
					    "10.0.0.2:2222",
				       false, &hp->dst),
			 0);
	hp->ttl = 33;
	hp->tos = 0xb9; /* DSCP 46 (EF), ECN 01: both halves of the byte */
}

static struct sl_pkt *built(const struct sl_udp_params *hp, const char *msg)
{
	struct sl_pkt *p = sl_pkt_alloc(pool);
	int n;

	assert_non_null(p);
	n = sl_udp_build(p->data, sl_pkt_tailroom(p), hp, msg, strlen(msg));
	assert_true(n > 0);
	p->len = (uint32_t)n;
	return p;
}

static void check_csum(const struct sl_pkt *p)
{
	struct sl_frame f;

	assert_int_equal(sl_frame_parse(p->data, p->len, &f), 0);
	assert_int_equal(sl_frame_verify_csum(p->data, &f), 0);
}

static void test_parse(void **state)
{
	struct sl_udp_params hp;
	struct sl_udp_view v;
	int v6, tag;

	(void)state;
	for (v6 = 0; v6 < 2; v6++) {
		for (tag = 0; tag < 2; tag++) {
			struct sl_pkt *p;

			params(&hp, v6, tag ? 0x2064 : 0);
			p = built(&hp, "hello datagram");
			memset(&v, 0xee, sizeof(v));
			assert_int_equal(sl_udp_parse(p, &v), 0);
			assert_true(sl_addr_equal(&v.src, &hp.src));
			assert_true(sl_addr_equal(&v.dst, &hp.dst));
			assert_int_equal(v.src.port, 1111);
			assert_int_equal(v.dst.port, 2222);
			assert_memory_equal(v.src_mac, hp.src_mac, 6);
			assert_memory_equal(v.dst_mac, hp.dst_mac, 6);
			assert_int_equal(v.vlan_tci, tag ? 0x2064 : 0);
			assert_int_equal(v.ttl, 33);
			assert_int_equal(v.tos, 0xb9);
			assert_int_equal(v.len, strlen("hello datagram"));
			assert_memory_equal(v.payload, "hello datagram", v.len);
			assert_ptr_equal(v.payload, p->data + p->len -
							    strlen("hello "
								   "datagram"));
			sl_pkt_free(p);
		}
	}
}

static void test_parse_refused(void **state)
{
	static const uint8_t mac[6] = { 2, 0, 0, 0, 0, 1 };
	struct sl_udp_params hp;
	struct sl_udp_view v;
	struct sl_pkt *p = sl_pkt_alloc(pool);
	int n;

	(void)state;
	/* ICMP echo, ARP: well formed, not UDP */
	params(&hp, false, 0);
	n = sl_icmp_echo_build(p->data, sl_pkt_tailroom(p), &hp, false, 1, 2,
			       "x", 1);
	assert_true(n > 0);
	p->len = (uint32_t)n;
	assert_int_equal(sl_udp_parse(p, &v), -EPROTONOSUPPORT);
	assert_int_equal(sl_udp_swap(p), -EBADMSG);
	n = sl_arp_build(p->data, sl_pkt_tailroom(p), SL_ARP_REQUEST, mac,
			 hp.src.v4, mac, hp.dst.v4);
	p->len = (uint32_t)n;
	assert_int_equal(sl_udp_parse(p, &v), -EPROTONOSUPPORT);
	sl_pkt_free(p);

	/* a truncated UDP frame and a non-first fragment */
	p = built(&hp, "0123456789");
	p->len -= 5;
	assert_int_equal(sl_udp_parse(p, &v), -EBADMSG);
	{
		uint8_t before[128];

		memcpy(before, p->data, p->len);
		assert_int_equal(sl_udp_swap(p), -EBADMSG);
		assert_memory_equal(before, p->data, p->len); /* unchanged */
	}
	p->len += 5;
	p->data[SL_ETH_HLEN + 6] = 0x00;
	p->data[SL_ETH_HLEN + 7] = 0x10; /* fragment offset 16 */
	assert_int_equal(sl_udp_parse(p, &v), -EPROTONOSUPPORT);
	sl_pkt_free(p);
}

static void test_swap(void **state)
{
	struct sl_udp_params hp;
	struct sl_udp_view before, after;
	int v6, tag;

	(void)state;
	for (v6 = 0; v6 < 2; v6++) {
		for (tag = 0; tag < 2; tag++) {
			struct sl_pkt *p;
			uint8_t orig[256], csums[2][4];
			struct sl_frame f;

			params(&hp, v6, tag ? 7 : 0);
			p = built(&hp, "turn me around");
			check_csum(p);
			memcpy(orig, p->data, p->len);
			assert_int_equal(sl_udp_parse(p, &before), 0);
			assert_int_equal(sl_frame_parse(p->data, p->len, &f),
					 0);
			memcpy(csums[0], p->data + f.l4_off + 6, 2);
			if (!v6)
				memcpy(csums[0] + 2, p->data + f.l3_off + 10,
				       2);
			assert_int_equal(sl_udp_swap(p), 0);
			assert_int_equal(sl_udp_parse(p, &after), 0);
			assert_true(sl_addr_equal(&after.src, &before.dst));
			assert_true(sl_addr_equal(&after.dst, &before.src));
			assert_memory_equal(after.src_mac, before.dst_mac, 6);
			assert_memory_equal(after.dst_mac, before.src_mac, 6);
			assert_int_equal(after.vlan_tci, before.vlan_tci);
			assert_memory_equal(after.payload, "turn me around",
					    after.len);
			/* the checksums are untouched and still right */
			memcpy(csums[1], p->data + f.l4_off + 6, 2);
			if (!v6)
				memcpy(csums[1] + 2, p->data + f.l3_off + 10,
				       2);
			assert_memory_equal(csums[0], csums[1], 4);
			check_csum(p);
			/* and a frame built the other way is the same bytes */
			{
				struct sl_udp_params rev = hp;
				struct sl_pkt *q;

				memcpy(rev.src_mac, hp.dst_mac, 6);
				memcpy(rev.dst_mac, hp.src_mac, 6);
				rev.src = hp.dst;
				rev.dst = hp.src;
				q = built(&rev, "turn me around");
				assert_int_equal(q->len, p->len);
				assert_memory_equal(q->data, p->data, p->len);
				sl_pkt_free(q);
			}
			assert_int_equal(sl_udp_swap(p), 0);
			assert_memory_equal(orig, p->data, p->len);
			sl_pkt_free(p);
		}
	}
}

static void test_send_to(void **state)
{
	struct sl_port_opts o = { .sz = sizeof(o),
				  .pool = pool,
				  .ring_size = 4 };
	struct sl_udp_params hp;
	struct sl_port *a, *b;
	struct sl_pkt *got[8];
	struct sl_udp_view v;
	char name[64], spec[96];
	static char big[4000];
	unsigned i, sent = 0;
	int r;

	(void)state;
	sl_test_name("udph", name, sizeof(name));
	snprintf(spec, sizeof(spec), "pair:%s/0", name);
	a = sl_port_open(spec, &o);
	assert_non_null(a);
	snprintf(spec, sizeof(spec), "pair:%s/1", name);
	b = sl_port_open(spec, &o);
	assert_non_null(b);

	params(&hp, true, 0);
	assert_int_equal(sl_udp_send_to(a, 0, &hp, "one", 3), 0);
	assert_int_equal(sl_rx_burst(b, 0, got, 8), 1);
	assert_int_equal(sl_udp_parse(got[0], &v), 0);
	assert_true(sl_addr_equal(&v.dst, &hp.dst));
	assert_int_equal(v.len, 3);
	assert_memory_equal(v.payload, "one", 3);
	check_csum(got[0]);
	sl_pkt_free(got[0]);

	/* too big for a 2 KiB buffer; different families */
	assert_int_equal(sl_udp_send_to(a, 0, &hp, big, sizeof(big)),
			 -EMSGSIZE);
	params(&hp, false, 0);
	hp.dst.family = AF_INET6;
	assert_int_equal(sl_udp_send_to(a, 0, &hp, "x", 1), -EAFNOSUPPORT);

	/* back-pressure once the pair's ring (4) is full */
	params(&hp, false, 0);
	for (i = 0; i < 16; i++) {
		r = sl_udp_send_to(a, 0, &hp, "fill", 4);
		if (r == -EAGAIN)
			break;
		assert_int_equal(r, 0);
		sent++;
	}
	assert_int_equal(r, -EAGAIN);
	assert_true(sent >= 1 && sent < 16);
	while ((r = sl_rx_burst(b, 0, got, 8)) > 0)
		sl_pkt_free_bulk(got, (unsigned)r);

	/* an empty pool */
	{
		struct sl_pkt *all[64];
		unsigned n = sl_pool_avail(pool);

		assert_int_equal(sl_pkt_alloc_bulk(pool, all, n), 0);
		assert_int_equal(sl_udp_send_to(a, 0, &hp, "x", 1), -ENOBUFS);
		sl_pkt_free_bulk(all, n);
	}
	assert_int_equal(sl_port_close(a), 0);
	assert_int_equal(sl_port_close(b), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_parse, setup, teardown),
		cmocka_unit_test_setup_teardown(test_parse_refused, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_swap, setup, teardown),
		cmocka_unit_test_setup_teardown(test_send_to, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
