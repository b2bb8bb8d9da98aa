// SPDX-License-Identifier: MIT
/*
 * RoCEv2 wire format: the spec's worked ICRC example byte for byte, an IPv6
 * packet against a reference computed with zlib.crc32 over the masked
 * input, invariance of the ICRC under the masked fields (and sensitivity to
 * the covered ones), the slicing-by-8 CRC against a bitwise one, and the
 * header parser on every RC opcode and on truncated input.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "sltest.h"

#include <sluice/net.h>
#include <sluice/rdma.h>

#include "rdma/wire.h"

static size_t unhex(const char *s, uint8_t *out)
{
	size_t n = 0;

	while (*s) {
		unsigned v;

		if (*s == ' ' || *s == '|') {
			s++;
			continue;
		}
		sscanf(s, "%2x", &v);
		out[n++] = (uint8_t)v;
		s += 2;
	}
	return n;
}

/* §3 worked example: an RC ACK over IPv4, ICRC bytes 68 3d e5 4c */
static const char *ack4 =
	"020000000001 020000000002 0800 | 4500 0030 1234 4000 4011 a535 "
	"c0a80102 c0a80101 | c012 12b7 001c 0000 | 11 00 ffff 00 000011 00 "
	"000064 | 1f 000001 | 683de54c";

static void test_worked_example(void **state)
{
	uint8_t f[128];
	size_t n = unhex(ack4, f);
	uint32_t icrc = 0;
	struct rdma_hdr h;

	(void)state;
	assert_int_equal(n, 62);
	assert_int_equal(sl_rdma_icrc(f, n, false, &icrc), 0);
	assert_int_equal(icrc, 0x4CE53D68);
	assert_int_equal(sl_rdma_icrc_check(f, n, false), 0);
	/* rxe's seed: the CRC state after the eight 0xFF bytes */
	assert_int_equal(rdma_crc32(0xffffffffu,
				    "\xff\xff\xff\xff\xff\xff\xff\xff", 8),
			 0xDEBB20E3u);
	assert_int_equal(rdma_parse(f + 42, n - 42, &h), 0);
	assert_int_equal(h.opcode, RC_ACK);
	assert_int_equal(h.dqpn, 0x11);
	assert_int_equal(h.psn, 0x64);
	assert_int_equal(h.syndrome, 0x1f);
	assert_int_equal(h.msn, 1);
	assert_int_equal(h.paylen, 0);
	/* one flipped bit anywhere covered is caught */
	f[50] ^= 0x01; /* DestQP */
	assert_int_equal(sl_rdma_icrc_check(f, n, false), -EBADMSG);
	f[50] ^= 0x01;
	f[61] ^= 0x80; /* the ICRC itself */
	assert_int_equal(sl_rdma_icrc_check(f, n, false), -EBADMSG);
}

/* An RC WRITE Only over IPv6, flow label 0x12345: reference ICRC computed
 * with Python's zlib.crc32 over the masked input of §3 (0x65934004). */
static const char *write6 =
	"020000000001 020000000002 86dd "
	"60012345002c1140fd000000000000000000000000000001fd0000000000000000"
	"00000000000002c01212b7002c00000a00ffff000000128000002a000000000000"
	"10000000123400000004deadbeef 04409365";

static void test_ipv6(void **state)
{
	uint8_t f[160];
	size_t n = unhex(write6, f);
	uint32_t icrc = 0;
	struct rdma_hdr h;

	(void)state;
	assert_int_equal(sl_rdma_icrc(f, n, false, &icrc), 0);
	assert_int_equal(icrc, 0x65934004);
	assert_int_equal(sl_rdma_icrc_check(f, n, false), 0);
	/* socket-path canonicalisation does not apply to IPv6 */
	assert_int_equal(sl_rdma_icrc_check(f, n, true), 0);
	assert_int_equal(rdma_parse(f + 62, n - 62, &h), 0);
	assert_int_equal(h.opcode, RC_WRITE_ONLY);
	assert_int_equal(h.ackreq, 1);
	assert_int_equal(h.psn, 0x2a);
	assert_int_equal(h.va, 0x1000);
	assert_int_equal(h.rkey, 0x1234);
	assert_int_equal(h.dmalen, 4);
	assert_int_equal(h.paylen, 4);
	assert_memory_equal(h.payload, "\xde\xad\xbe\xef", 4);
}

static void test_invariance(void **state)
{
	uint8_t f[160], g[160];
	size_t n = unhex(ack4, f), n6;
	uint32_t a, b;

	(void)state;
	memcpy(g, f, n);
	/* masked: TOS, TTL, IP checksum, UDP checksum, FECN/BECN */
	g[15] = 0x6b;
	g[22] = 3;
	g[24] ^= 0x55;
	g[40] = 0x12;
	g[41] = 0x34;
	g[46] = 0xc0;
	assert_int_equal(sl_rdma_icrc(f, n, false, &a), 0);
	assert_int_equal(sl_rdma_icrc(g, n, false, &b), 0);
	assert_int_equal(a, b);
	/* covered: the IPv4 ID, unless on the socket path (ID 0 assumed) */
	memcpy(g, f, n);
	g[18] = 0x99;
	assert_int_equal(sl_rdma_icrc(g, n, false, &b), 0);
	assert_int_not_equal(a, b);
	g[18] = 0;
	g[19] = 0;
	assert_int_equal(sl_rdma_icrc(g, n, true, &b), 0);
	assert_int_equal(sl_rdma_icrc(g, n, false, &a), 0);
	assert_int_equal(a, b);
	/* PSN and AckReq/Resv7 are covered */
	memcpy(g, f, n);
	g[52] = 0x80;
	assert_int_equal(sl_rdma_icrc(f, n, false, &a), 0);
	assert_int_equal(sl_rdma_icrc(g, n, false, &b), 0);
	assert_int_not_equal(a, b);
	/* IPv6: traffic class, flow label and hop limit are masked */
	n6 = unhex(write6, f);
	memcpy(g, f, n6);
	g[14] = 0x6a;
	g[15] = 0xbf;
	g[21] = 3;
	assert_int_equal(sl_rdma_icrc_check(g, n6, false), 0);
}

/* CRC-32 one bit at a time: the definition the fast ones must match. */
static uint32_t crc_bitwise(uint32_t c, const uint8_t *p, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		c ^= p[i];
		for (int k = 0; k < 8; k++)
			c = (c >> 1) ^ (0xEDB88320u & (0u - (c & 1)));
	}
	return c;
}

/*
 * Tables for short runs, carry-less folding (where the CPU has it) for
 * runs of 64 bytes and more: every length around the 64- and 16-byte
 * steps, jumbo frames, any start alignment, and a state carried from an
 * earlier call, as the ICRC's two calls do.
 */
static void test_crc_slicing(void **state)
{
	static uint8_t buf[9100];
	const size_t big[] = { 1024, 2048, 4096, 4096 + 28, 8192, 9000 };

	(void)state;
	srand(7);
	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)rand();
	for (size_t off = 0; off < 8; off += 3)
		for (size_t len = 0; len <= 300; len++)
			assert_int_equal(
				rdma_crc32(0xffffffffu, buf + off, len),
				crc_bitwise(0xffffffffu, buf + off, len));
	for (size_t i = 0; i < sizeof(big) / sizeof(big[0]); i++) {
		uint32_t mid = rdma_crc32(0xffffffffu, buf + 1, 77);

		assert_int_equal(rdma_crc32(0xffffffffu, buf + 5, big[i]),
				 crc_bitwise(0xffffffffu, buf + 5, big[i]));
		assert_int_equal(
			rdma_crc32(mid, buf + 78, big[i]),
			crc_bitwise(crc_bitwise(0xffffffffu, buf + 1, 77),
				    buf + 78, big[i]));
	}
	assert_int_equal(~rdma_crc32(0xffffffffu, "123456789", 9), 0xCBF43926);
}

static void test_parse_all(void **state)
{
	uint8_t pkt[128];
	struct rdma_hdr h;

	(void)state;
	for (unsigned op = 0; op < 256; op++) {
		unsigned hl = rdma_op_hdr_len((uint8_t)op);

		memset(pkt, 0, sizeof(pkt));
		pkt[0] = (uint8_t)op;
		if (!hl) {
			assert_int_equal(rdma_parse(pkt, 64, &h), -EBADMSG);
			continue;
		}
		/* exact headers + ICRC parses; one byte less does not */
		assert_int_equal(rdma_parse(pkt, hl + 4, &h), 0);
		assert_int_equal(h.paylen, 0);
		assert_int_equal(rdma_parse(pkt, hl + 3, &h), -EBADMSG);
		if (rdma_op_flags((uint8_t)op) & OPF_PAYLOAD) {
			pkt[1] = 3 << 4; /* pad 3 */
			assert_int_equal(rdma_parse(pkt, hl + 4 + 8, &h), 0);
			assert_int_equal(h.paylen, 5);
			assert_int_equal(rdma_parse(pkt, hl + 4 + 2, &h),
					 -EBADMSG);
		} else {
			assert_int_equal(rdma_parse(pkt, hl + 8, &h), -EBADMSG);
		}
	}
	assert_int_equal(rdma_op_hdr_len(RC_WRITE_ONLY_IMM), 32);
	assert_int_equal(rdma_op_hdr_len(RC_CMP_SWAP), 40);
	assert_int_equal(rdma_op_hdr_len(RC_ATOMIC_ACK), 24);
	/* TVer must be 0 */
	memset(pkt, 0, sizeof(pkt));
	pkt[0] = RC_SEND_ONLY;
	pkt[1] = 1;
	assert_int_equal(rdma_parse(pkt, 16, &h), -EBADMSG);
	assert_int_equal(psn_cmp(0, 0xffffff) > 0, 1);
	assert_int_equal(psn_cmp(0xffffff, 0) < 0, 1);
	assert_int_equal(psn_cmp(0x7fffff, 0) > 0, 1);
	assert_int_equal(psn_cmp(0x800000, 0) < 0, 1);
}

/* The socket path's view: the sender's IPv4 ID unseen. The ID that makes
 * the ICRC right is found, for the worked example (ID 0x1234) and for
 * frames of many lengths and IDs; a damaged frame is explained by none. */
static void put_icrc(uint8_t *f, size_t n)
{
	uint32_t c = 0;

	assert_int_equal(sl_rdma_icrc(f, n, false, &c), 0);
	f[n - 4] = (uint8_t)c;
	f[n - 3] = (uint8_t)(c >> 8);
	f[n - 2] = (uint8_t)(c >> 16);
	f[n - 1] = (uint8_t)(c >> 24);
}

static uint32_t stored_icrc(const uint8_t *f, size_t n)
{
	return (uint32_t)f[n - 4] | (uint32_t)f[n - 3] << 8 |
	       (uint32_t)f[n - 2] << 16 | (uint32_t)f[n - 1] << 24;
}

static void test_solve_id(void **state)
{
	static const uint16_t ids[] = { 0x0000, 0x0001, 0x8000, 0xd006,
					0xd007, 0xffff, 0x5a5a };
	static const size_t plens[] = { 0, 1, 3, 256, 1024, 4096 };
	uint8_t f[4200];
	size_t n = unhex(ack4, f), i, k;
	uint16_t id = 0;

	(void)state;
	assert_int_equal(rdma_icrc_solve_id(f + 14, f + 34, n - 34,
					    stored_icrc(f, n), &id),
			 0);
	assert_int_equal(id, 0x1234);
	/* the canonical check alone refuses it */
	assert_int_equal(sl_rdma_icrc_check(f, n, true), -EBADMSG);

	for (k = 0; k < sizeof(plens) / sizeof(plens[0]); k++) {
		struct sl_udp_params hp;
		uint8_t payload[12 + 4096 + 4];
		int len;

		memset(&hp, 0, sizeof(hp));
		assert_int_equal(
			sl_addr_parse("10.0.0.1:49152", false, &hp.src), 0);
		assert_int_equal(sl_addr_parse("10.0.0.2:4791", false, &hp.dst),
				 0);
		hp.flags = SL_BUILD_NO_L4_CSUM;
		for (i = 0; i < sizeof(payload); i++)
			payload[i] = (uint8_t)(i * 31 + k);
		payload[0] = 0x0a; /* RDMA WRITE Only: any opcode will do */
		len = sl_udp_build(f, sizeof(f), &hp, payload,
				   12 + plens[k] + 4);
		assert_true(len > 0);
		for (i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
			f[18] = (uint8_t)(ids[i] >> 8);
			f[19] = (uint8_t)ids[i];
			put_icrc(f, (size_t)len);
			id = 0x4242;
			assert_int_equal(
				rdma_icrc_solve_id(
					f + 14, f + 34, (size_t)len - 34,
					stored_icrc(f, (size_t)len), &id),
				0);
			assert_int_equal(id, ids[i]);
		}
		/* a flipped payload bit: no ID explains it */
		f[len - 5] ^= 0x04;
		assert_int_equal(
			rdma_icrc_solve_id(f + 14, f + 34, (size_t)len - 34,
					   stored_icrc(f, (size_t)len), &id),
			-EBADMSG);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_worked_example),
		cmocka_unit_test(test_ipv6),
		cmocka_unit_test(test_invariance),
		cmocka_unit_test(test_crc_slicing),
		cmocka_unit_test(test_parse_all),
		cmocka_unit_test(test_solve_id),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
