// SPDX-License-Identifier: MIT
/*
 * RoCEv2 wire format: the RC opcode table, the packet parser (through the
 * bounds-checked cursor), and the ICRC.
 *
 * The ICRC is CRC-32 (IEEE 802.3, reflected) over eight 0xFF bytes, the IP
 * header, the UDP header, the BTH, the extension headers, payload and pad,
 * with the variant fields (IPv4 TOS/TTL/checksum, IPv6 TC/flow label/hop
 * limit, UDP checksum, BTH byte 4) replaced by ones. Only the first 60
 * bytes at most (IP + UDP + BTH) need masking, so they are copied to a
 * scratch buffer, masked, and the CRC goes on over the rest in place.
 * Slicing-by-8 tables (8 KiB, built once) make it about 1 byte/cycle.
 */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <string.h>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

#include "net/cursor.h"
#include "rdma/wire.h"
#include "sluice/rdma.h"

#define F_SEND_FIRST (OPF_VALID | OPF_PAYLOAD | OPF_SEND | OPF_FIRST | OPF_RQ)
#define F_WRITE (OPF_VALID | OPF_PAYLOAD | OPF_WRITE)

static const unsigned op_table[32] = {
	[RC_SEND_FIRST] = F_SEND_FIRST,
	[RC_SEND_MIDDLE] = OPF_VALID | OPF_PAYLOAD | OPF_SEND | OPF_MIDDLE,
	[RC_SEND_LAST] = OPF_VALID | OPF_PAYLOAD | OPF_SEND | OPF_LAST,
	[RC_SEND_LAST_IMM] = OPF_VALID | OPF_PAYLOAD | OPF_SEND | OPF_LAST |
			     OPF_IMM,
	[RC_SEND_ONLY] = OPF_VALID | OPF_PAYLOAD | OPF_SEND | OPF_ONLY | OPF_RQ,
	[RC_SEND_ONLY_IMM] = OPF_VALID | OPF_PAYLOAD | OPF_SEND | OPF_ONLY |
			     OPF_IMM | OPF_RQ,
	[RC_WRITE_FIRST] = F_WRITE | OPF_FIRST | OPF_RETH,
	[RC_WRITE_MIDDLE] = F_WRITE | OPF_MIDDLE,
	[RC_WRITE_LAST] = F_WRITE | OPF_LAST,
	[RC_WRITE_LAST_IMM] = F_WRITE | OPF_LAST | OPF_IMM | OPF_RQ,
	[RC_WRITE_ONLY] = F_WRITE | OPF_ONLY | OPF_RETH,
	[RC_WRITE_ONLY_IMM] = F_WRITE | OPF_ONLY | OPF_RETH | OPF_IMM | OPF_RQ,
	[RC_READ_REQ] = OPF_VALID | OPF_READ | OPF_ONLY | OPF_RETH,
	[RC_READ_RESP_FIRST] = OPF_VALID | OPF_RESP | OPF_PAYLOAD | OPF_READ |
			       OPF_FIRST | OPF_AETH,
	[RC_READ_RESP_MIDDLE] = OPF_VALID | OPF_RESP | OPF_PAYLOAD | OPF_READ |
				OPF_MIDDLE,
	[RC_READ_RESP_LAST] = OPF_VALID | OPF_RESP | OPF_PAYLOAD | OPF_READ |
			      OPF_LAST | OPF_AETH,
	[RC_READ_RESP_ONLY] = OPF_VALID | OPF_RESP | OPF_PAYLOAD | OPF_READ |
			      OPF_ONLY | OPF_AETH,
	[RC_ACK] = OPF_VALID | OPF_RESP | OPF_AETH,
	[RC_ATOMIC_ACK] = OPF_VALID | OPF_RESP | OPF_AETH | OPF_ATMACK,
	[RC_CMP_SWAP] = OPF_VALID | OPF_ATOMIC | OPF_ONLY | OPF_ATMETH,
	[RC_FETCH_ADD] = OPF_VALID | OPF_ATOMIC | OPF_ONLY | OPF_ATMETH,
	[RC_SEND_LAST_INV] = OPF_VALID | OPF_PAYLOAD | OPF_SEND | OPF_LAST |
			     OPF_IETH,
	[RC_SEND_ONLY_INV] = OPF_VALID | OPF_PAYLOAD | OPF_SEND | OPF_ONLY |
			     OPF_IETH | OPF_RQ,
};

unsigned rdma_op_flags(uint8_t opcode)
{
	/* RC service only: bits 7-5 must be 000 */
	return opcode < 32 ? op_table[opcode] : 0;
}

unsigned rdma_op_hdr_len(uint8_t opcode)
{
	unsigned f = rdma_op_flags(opcode);
	unsigned n = BTH_LEN;

	if (!f)
		return 0;
	if (f & OPF_RETH)
		n += RETH_LEN;
	if (f & OPF_AETH)
		n += AETH_LEN;
	if (f & OPF_ATMETH)
		n += ATMETH_LEN;
	if (f & OPF_ATMACK)
		n += ATMACK_LEN;
	if (f & (OPF_IMM | OPF_IETH))
		n += IMM_LEN;
	return n;
}

static uint32_t be24(const uint8_t *b)
{
	return (uint32_t)b[0] << 16 | (uint32_t)b[1] << 8 | b[2];
}

int rdma_parse(const uint8_t *roce, size_t len, struct rdma_hdr *h)
{
	struct sl_cursor c;
	const uint8_t *b;
	size_t body;

	memset(h, 0, sizeof(*h));
	sl_cursor_init(&c, roce, len);
	/* the ICRC is the last 4 bytes: keep it out of view */
	if (len < BTH_LEN + ICRC_LEN || !sl_cursor_limit(&c, len - ICRC_LEN))
		return -EBADMSG;
	b = sl_cursor_pull(&c, BTH_LEN);
	if (!b)
		return -EBADMSG;
	h->opcode = b[0];
	h->se = !!(b[1] & BTH_SE);
	h->pad = (b[1] >> 4) & 3;
	h->tver = b[1] & 0x0f;
	h->pkey = sl_get_be16(b + 2);
	h->resv8a = b[4];
	h->dqpn = be24(b + 5);
	h->ackreq = !!(b[8] & BTH_ACKREQ);
	h->psn = be24(b + 9);
	h->flags = rdma_op_flags(h->opcode);
	if (!h->flags || h->tver != 0)
		return -EBADMSG;
	if (h->flags & OPF_RETH) {
		uint32_t hi, lo;

		if (!sl_cursor_be32(&c, &hi) || !sl_cursor_be32(&c, &lo) ||
		    !sl_cursor_be32(&c, &h->rkey) ||
		    !sl_cursor_be32(&c, &h->dmalen))
			return -EBADMSG;
		h->va = (uint64_t)hi << 32 | lo;
	}
	if (h->flags & OPF_AETH) {
		b = sl_cursor_pull(&c, AETH_LEN);
		if (!b)
			return -EBADMSG;
		h->syndrome = b[0];
		h->msn = be24(b + 1);
	}
	if (h->flags & OPF_ATMETH) {
		if (!sl_cursor_be64(&c, &h->va) ||
		    !sl_cursor_be32(&c, &h->rkey) ||
		    !sl_cursor_be64(&c, &h->swap_add) ||
		    !sl_cursor_be64(&c, &h->compare))
			return -EBADMSG;
		h->dmalen = 8;
	}
	if ((h->flags & OPF_ATMACK) && !sl_cursor_be64(&c, &h->orig))
		return -EBADMSG;
	if ((h->flags & (OPF_IMM | OPF_IETH)) && !sl_cursor_be32(&c, &h->imm))
		return -EBADMSG;
	body = sl_cursor_left(&c);
	if (!(h->flags & OPF_PAYLOAD)) {
		/* requests/ACKs with no payload: nothing may follow (pad 0) */
		if (body != 0 || h->pad)
			return -EBADMSG;
		return 0;
	}
	if (h->pad > body)
		return -EBADMSG;
	h->paylen = (uint32_t)(body - h->pad);
	h->payload = sl_cursor_peek(&c, body);
	if (!h->payload && body)
		return -EBADMSG;
	return 0;
}

/* ---- CRC-32 ----------------------------------------------------------- */

/*
 * The ICRC is the Ethernet CRC-32 (reflected 0x04C11DB7) over every frame,
 * on both ends: at 4096-byte payloads, slicing-by-8 tables (about a byte a
 * cycle) were a third of a RoCE server's CPU per packet. Where the CPU has
 * carry-less multiply, blocks of 64 bytes are folded four lanes at a time
 * and the 16 bytes left are finished with the tables (the folding method
 * of Intel's "Fast CRC Computation for Generic Polynomials Using
 * PCLMULQDQ"); elsewhere, and for short runs, the tables do it all.
 */
static uint32_t crc_tab[8][256];
static bool crc_clmul_ok;
static pthread_once_t crc_once = PTHREAD_ONCE_INIT;

static void crc_init(void)
{
	for (unsigned i = 0; i < 256; i++) {
		uint32_t c = i;

		for (int k = 0; k < 8; k++)
			c = (c >> 1) ^ (0xEDB88320u & (0u - (c & 1)));
		crc_tab[0][i] = c;
	}
	for (unsigned i = 0; i < 256; i++)
		for (int t = 1; t < 8; t++)
			crc_tab[t][i] = (crc_tab[t - 1][i] >> 8) ^
					crc_tab[0][crc_tab[t - 1][i] & 0xff];
#if defined(__x86_64__)
	crc_clmul_ok = __builtin_cpu_supports("pclmul");
#endif
}

static uint32_t crc_tables(uint32_t crc, const uint8_t *p, size_t len)
{
	while (len >= 8) {
		/* little-endian load of 8 bytes, any alignment */
		uint32_t lo = (uint32_t)p[0] | (uint32_t)p[1] << 8 |
			      (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
		uint32_t hi = (uint32_t)p[4] | (uint32_t)p[5] << 8 |
			      (uint32_t)p[6] << 16 | (uint32_t)p[7] << 24;

		lo ^= crc;
		crc = crc_tab[7][lo & 0xff] ^ crc_tab[6][(lo >> 8) & 0xff] ^
		      crc_tab[5][(lo >> 16) & 0xff] ^ crc_tab[4][lo >> 24] ^
		      crc_tab[3][hi & 0xff] ^ crc_tab[2][(hi >> 8) & 0xff] ^
		      crc_tab[1][(hi >> 16) & 0xff] ^ crc_tab[0][hi >> 24];
		p += 8;
		len -= 8;
	}
	while (len--)
		crc = (crc >> 8) ^ crc_tab[0][(crc ^ *p++) & 0xff];
	return crc;
}

#if defined(__x86_64__)
/*
 * Fold constants: x^n mod P, bit-reflected and shifted left by one (the
 * reflected product of two 64-bit halves lands one bit low), for n = 512
 * +- 32 (a lane over the three that follow it) and 128 +- 32 (one block
 * over the next); the lower half of a lane takes the larger power.
 */
#define CRC_K_512_UP 0x154442bd4ull
#define CRC_K_512_DOWN 0x1c6e41596ull
#define CRC_K_128_UP 0x1751997d0ull
#define CRC_K_128_DOWN 0x0ccaa009eull

__attribute__((target("pclmul,sse2"))) static inline __m128i
crc_fold(__m128i x, __m128i k, __m128i next)
{
	return _mm_xor_si128(_mm_xor_si128(_mm_clmulepi64_si128(x, k, 0x00),
					   _mm_clmulepi64_si128(x, k, 0x11)),
			     next);
}

/* len >= 64. A CRC state XORed into the first four bytes is the same
 * message to a reflected CRC started from zero; folding keeps the value
 * of the message modulo P, so the 16 bytes it leaves, run through the
 * tables from zero, give the state. */
__attribute__((target("pclmul,sse2"))) static uint32_t
crc_clmul(uint32_t crc, const uint8_t *p, size_t len)
{
	const __m128i k4 = _mm_set_epi64x((long long)CRC_K_512_DOWN,
					  (long long)CRC_K_512_UP);
	const __m128i k1 = _mm_set_epi64x((long long)CRC_K_128_DOWN,
					  (long long)CRC_K_128_UP);
	__m128i x0, x1, x2, x3;
	uint8_t rest[16];

	x0 = _mm_xor_si128(_mm_loadu_si128((const __m128i *)p),
			   _mm_cvtsi32_si128((int)crc));
	x1 = _mm_loadu_si128((const __m128i *)(p + 16));
	x2 = _mm_loadu_si128((const __m128i *)(p + 32));
	x3 = _mm_loadu_si128((const __m128i *)(p + 48));
	p += 64;
	len -= 64;
	for (; len >= 64; p += 64, len -= 64) {
		x0 = crc_fold(x0, k4, _mm_loadu_si128((const __m128i *)p));
		x1 = crc_fold(x1, k4,
			      _mm_loadu_si128((const __m128i *)(p + 16)));
		x2 = crc_fold(x2, k4,
			      _mm_loadu_si128((const __m128i *)(p + 32)));
		x3 = crc_fold(x3, k4,
			      _mm_loadu_si128((const __m128i *)(p + 48)));
	}
	x0 = crc_fold(x0, k1, x1);
	x0 = crc_fold(x0, k1, x2);
	x0 = crc_fold(x0, k1, x3);
	for (; len >= 16; p += 16, len -= 16)
		x0 = crc_fold(x0, k1, _mm_loadu_si128((const __m128i *)p));
	_mm_storeu_si128((__m128i *)rest, x0);
	return crc_tables(crc_tables(0, rest, sizeof(rest)), p, len);
}
#endif

uint32_t rdma_crc32(uint32_t crc, const void *buf, size_t len)
{
	pthread_once(&crc_once, crc_init);
#if defined(__x86_64__)
	if (len >= 64 && crc_clmul_ok)
		return crc_clmul(crc, buf, len);
#endif
	return crc_tables(crc, buf, len);
}

uint32_t rdma_icrc_calc(const uint8_t *l3, size_t ip_len, const uint8_t *udp,
			size_t udp_len, bool canon)
{
	uint8_t s[8 + 40 + 8 + BTH_LEN];
	size_t n = 0;
	uint32_t crc;

	memset(s, 0xff, 8);
	n = 8;
	memcpy(s + n, l3, ip_len);
	if (ip_len == 20) {
		if (canon) {
			/* the udp: port convention: ID 0, DF, no options */
			s[n + 0] = 0x45;
			s[n + 4] = 0;
			s[n + 5] = 0;
			s[n + 6] = 0x40;
			s[n + 7] = 0;
		}
		s[n + 1] = 0xff; /* TOS */
		s[n + 8] = 0xff; /* TTL */
		s[n + 10] = 0xff; /* header checksum */
		s[n + 11] = 0xff;
	} else {
		s[n + 0] = 0x6f; /* version 6, TC and flow label all ones */
		s[n + 1] = 0xff;
		s[n + 2] = 0xff;
		s[n + 3] = 0xff;
		s[n + 7] = 0xff; /* hop limit */
	}
	n += ip_len;
	memcpy(s + n, udp, 8 + BTH_LEN);
	s[n + 6] = 0xff; /* UDP checksum */
	s[n + 7] = 0xff;
	s[n + 8 + 4] = 0xff; /* BTH byte 4: FECN, BECN, resv6a */
	n += 8 + BTH_LEN;
	crc = rdma_crc32(0xffffffffu, s, n);
	crc = rdma_crc32(crc, udp + 8 + BTH_LEN,
			 udp_len - 8 - BTH_LEN - ICRC_LEN);
	return ~crc;
}

/*
 * The IPv4 ID a socket path cannot see. A udp: port gets the datagram, not
 * the IPv4 header its sender wrote, and the ICRC covers that header's ID
 * (rxe, for one, hashes a new ID per packet). CRC-32 is affine over GF(2):
 * changing input bits changes the CRC by the raw CRC (zero start, no final
 * inversion) of a message holding only those changes. So the ID that makes
 * a frame's ICRC right is the solution of 32 linear equations in its 16
 * bits: found by elimination, and checked by the 16 equations left over.
 * A frame whose ICRC no ID explains is damaged (a random error passes with
 * probability 2^-16 instead of 2^-32: the price of not seeing the ID).
 */

#define CRC_POLY 0xedb88320u

/* 32x32 matrices over GF(2): m[i] is the image of bit i. */
static uint32_t gf2_times(const uint32_t *m, uint32_t v)
{
	uint32_t r = 0;
	unsigned i;

	for (i = 0; v; i++, v >>= 1)
		if (v & 1)
			r ^= m[i];
	return r;
}

static void gf2_square(uint32_t *sq, const uint32_t *m)
{
	unsigned i;

	for (i = 0; i < 32; i++)
		sq[i] = gf2_times(m, m[i]);
}

/* The raw CRC state after one byte b from state c. */
static uint32_t raw_byte(uint32_t c, uint8_t b)
{
	unsigned k;

	c ^= b;
	for (k = 0; k < 8; k++)
		c = (c >> 1) ^ (CRC_POLY & (0u - (c & 1)));
	return c;
}

int rdma_icrc_solve_id(const uint8_t *l3, const uint8_t *udp, size_t udp_len,
		       uint32_t stored, uint16_t *id)
{
	uint32_t v[16], op[32], sq[32], piv[32] = { 0 }, tag[32] = { 0 };
	uint32_t delta = stored ^ rdma_icrc_calc(l3, 20, udp, udp_len, true);
	/* input bytes after the ID: the 8 ones, IPv4 bytes 0-5 come first */
	size_t n = 8 + 20 + udp_len - ICRC_LEN - 14;
	uint32_t x = 0;
	unsigned i, j, b;

	if (!delta) {
		*id = 0;
		return 0;
	}
	/* each ID bit alone, through its two bytes, from a zero state */
	for (j = 0; j < 16; j++) {
		uint8_t hi = j < 8 ? (uint8_t)(1u << j) : 0;
		uint8_t lo = j < 8 ? 0 : (uint8_t)(1u << (j - 8));

		v[j] = raw_byte(raw_byte(0, hi), lo);
	}
	/* ... then through n zero bytes: square the one-byte operator */
	for (i = 0; i < 32; i++)
		op[i] = raw_byte(1u << i, 0);
	while (n) {
		if (n & 1)
			for (j = 0; j < 16; j++)
				v[j] = gf2_times(op, v[j]);
		n >>= 1;
		if (n) {
			gf2_square(sq, op);
			memcpy(op, sq, sizeof(op));
		}
	}
	/* a basis with one pivot bit each: piv[b] has lowest set bit b */
	for (j = 0; j < 16; j++) {
		uint32_t w = v[j], t = 1u << j;

		for (b = 0; b < 32 && w; b++) {
			if (!(w & (1u << b)))
				continue;
			if (!piv[b]) {
				piv[b] = w;
				tag[b] = t;
				break;
			}
			w ^= piv[b];
			t ^= tag[b];
		}
	}
	for (b = 0; b < 32 && delta; b++) {
		if (!(delta & (1u << b)))
			continue;
		if (!piv[b])
			return -EBADMSG;
		delta ^= piv[b];
		x ^= tag[b];
	}
	if (delta)
		return -EBADMSG;
	/* bits 0-7 were the first (high) byte of the ID */
	*id = (uint16_t)((x & 0xff) << 8 | (x >> 8));
	return 0;
}

/* Find the IP header and UDP datagram of a frame for the ICRC. */
static int icrc_locate(const void *frame, size_t len, const uint8_t **l3,
		       size_t *ip_len, const uint8_t **udp, size_t *udp_len)
{
	struct sl_frame f;
	const uint8_t *b = frame;

	if (sl_frame_parse(frame, len, &f) != 0 ||
	    f.l4_proto != SL_IPPROTO_UDP ||
	    (f.flags & (SL_FRAME_IP_FRAG | SL_FRAME_IP_EXT)) ||
	    (f.l3 != SL_L3_IPV4 && f.l3 != SL_L3_IPV6))
		return -EBADMSG;
	*ip_len = f.l4_off - f.l3_off;
	/* IPv4 options (the socket path canonicalises them away) are not
	 * supported: rxe assumes a 20-byte header as well */
	if (*ip_len != (f.l3 == SL_L3_IPV4 ? 20u : 40u))
		return -EBADMSG;
	if (f.payload_len < BTH_LEN + ICRC_LEN)
		return -EBADMSG;
	*l3 = b + f.l3_off;
	*udp = b + f.l4_off;
	*udp_len = 8 + (size_t)f.payload_len;
	return 0;
}

int sl_rdma_icrc(const void *frame, size_t len, bool socket_path,
		 uint32_t *icrc)
{
	const uint8_t *l3, *udp;
	size_t ip_len, udp_len;

	if (icrc_locate(frame, len, &l3, &ip_len, &udp, &udp_len))
		return -EBADMSG;
	*icrc = rdma_icrc_calc(l3, ip_len, udp, udp_len, socket_path);
	return 0;
}

int sl_rdma_icrc_check(const void *frame, size_t len, bool socket_path)
{
	const uint8_t *l3, *udp, *w;
	size_t ip_len, udp_len;
	uint32_t c;

	if (icrc_locate(frame, len, &l3, &ip_len, &udp, &udp_len))
		return -EBADMSG;
	c = rdma_icrc_calc(l3, ip_len, udp, udp_len, socket_path);
	w = udp + udp_len - ICRC_LEN;
	if (w[0] != (uint8_t)c || w[1] != (uint8_t)(c >> 8) ||
	    w[2] != (uint8_t)(c >> 16) || w[3] != (uint8_t)(c >> 24))
		return -EBADMSG;
	return 0;
}
