/* SPDX-License-Identifier: MIT */
/*
 * RoCEv2 wire format (internal): RC opcodes, the header layout each one
 * carries, the parsed view of a packet, and the ICRC (CRC-32 of IEEE 802.3
 * over the masked invariant fields, stored little-endian). See
 * shared/specs/rocev2.md sections 1-3.
 */
#ifndef SL_RDMA_WIRE_H
#define SL_RDMA_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum {
	RC_SEND_FIRST = 0x00,
	RC_SEND_MIDDLE = 0x01,
	RC_SEND_LAST = 0x02,
	RC_SEND_LAST_IMM = 0x03,
	RC_SEND_ONLY = 0x04,
	RC_SEND_ONLY_IMM = 0x05,
	RC_WRITE_FIRST = 0x06,
	RC_WRITE_MIDDLE = 0x07,
	RC_WRITE_LAST = 0x08,
	RC_WRITE_LAST_IMM = 0x09,
	RC_WRITE_ONLY = 0x0a,
	RC_WRITE_ONLY_IMM = 0x0b,
	RC_READ_REQ = 0x0c,
	RC_READ_RESP_FIRST = 0x0d,
	RC_READ_RESP_MIDDLE = 0x0e,
	RC_READ_RESP_LAST = 0x0f,
	RC_READ_RESP_ONLY = 0x10,
	RC_ACK = 0x11,
	RC_ATOMIC_ACK = 0x12,
	RC_CMP_SWAP = 0x13,
	RC_FETCH_ADD = 0x14,
	RC_SEND_LAST_INV = 0x16,
	RC_SEND_ONLY_INV = 0x17,
};

/* Which headers an opcode carries and what it is (rdma_op_flags()). */
#define OPF_VALID (1u << 0)
#define OPF_RETH (1u << 1)
#define OPF_AETH (1u << 2)
#define OPF_ATMETH (1u << 3)
#define OPF_ATMACK (1u << 4)
#define OPF_IMM (1u << 5)
#define OPF_IETH (1u << 6)
#define OPF_PAYLOAD (1u << 7) /* may carry payload */
#define OPF_FIRST (1u << 8)
#define OPF_MIDDLE (1u << 9)
#define OPF_LAST (1u << 10)
#define OPF_ONLY (1u << 11)
#define OPF_SEND (1u << 12)
#define OPF_WRITE (1u << 13)
#define OPF_READ (1u << 14)
#define OPF_ATOMIC (1u << 15)
#define OPF_RESP (1u << 16) /* sent by a responder */
#define OPF_RQ (1u << 17) /* consumes a receive WQE on this packet */

#define BTH_LEN 12
#define RETH_LEN 16
#define AETH_LEN 4
#define ATMETH_LEN 28
#define ATMACK_LEN 8
#define IMM_LEN 4
#define ICRC_LEN 4

#define BTH_SE 0x80
#define BTH_MIG 0x40
#define BTH_ACKREQ 0x80

/* AETH syndromes */
#define AETH_ACK 0x1f /* ACK, no end-to-end credits (what rxe sends) */
#define AETH_RNR 0x20 /* | timer code */
#define AETH_NAK_SEQ 0x60
#define AETH_NAK_INV 0x61
#define AETH_NAK_ACCESS 0x62
#define AETH_NAK_OP 0x63
#define AETH_TYPE(s) (((s) >> 5) & 3)

unsigned rdma_op_flags(uint8_t opcode);
/* Bytes from the start of the BTH to the payload, 0 for an unknown opcode. */
unsigned rdma_op_hdr_len(uint8_t opcode);

/* A parsed RoCE packet (from the BTH on); values in host order. */
struct rdma_hdr {
	uint8_t opcode;
	uint8_t se;
	uint8_t pad;
	uint8_t ackreq;
	uint8_t tver;
	uint8_t resv8a; /* BTH byte 4 (FECN/BECN) */
	uint16_t pkey;
	uint32_t dqpn;
	uint32_t psn;
	unsigned flags; /* OPF_* of the opcode */
	/* RETH or AtomicETH */
	uint64_t va;
	uint32_t rkey;
	uint32_t dmalen;
	uint64_t swap_add;
	uint64_t compare;
	/* AETH */
	uint8_t syndrome;
	uint32_t msn;
	uint64_t orig; /* AtomicAckETH */
	uint32_t imm; /* ImmDt or IETH */
	const uint8_t *payload;
	uint32_t paylen; /* payload bytes, pad excluded */
};

/*
 * Parse the UDP payload of a RoCEv2 packet (BTH ... ICRC, len bytes).
 * Returns 0, or -EBADMSG: too short for its opcode's headers and ICRC, an
 * unknown or non-RC opcode, a pad larger than the payload, payload on an
 * opcode that carries none. The ICRC is not checked here. Reads only
 * through a bounds-checked cursor.
 */
int rdma_parse(const uint8_t *roce, size_t len, struct rdma_hdr *h);

/* CRC-32 (reflected 0xEDB88320) state update, without pre/post inversion:
 * start from 0xFFFFFFFF, invert at the end. Slicing-by-8. */
uint32_t rdma_crc32(uint32_t crc, const void *buf, size_t len);

/*
 * The ICRC over an IP header (l3, ip_len bytes: 20 for IPv4 without
 * options, 40 for IPv6) and the UDP datagram (udp, udp_len bytes, the last
 * 4 being the ICRC field, not covered). canon: IPv4 ID 0, DF, no options.
 * The caller has checked the lengths (udp_len >= 8 + 12 + 4).
 */
uint32_t rdma_icrc_calc(const uint8_t *l3, size_t ip_len, const uint8_t *udp,
			size_t udp_len, bool canon);

/*
 * For an IPv4 frame whose ICRC (stored, as rdma_icrc_calc returns it) is
 * wrong for ID 0: the IPv4 ID that makes it right with DF and everything
 * else as given, in *id (0 or -EBADMSG: none does). For the socket path,
 * which never sees the sender's IPv4 header. Thread-safe.
 */
int rdma_icrc_solve_id(const uint8_t *l3, const uint8_t *udp, size_t udp_len,
		       uint32_t stored, uint16_t *id);

static inline int32_t psn_cmp(uint32_t a, uint32_t b)
{
	return (int32_t)((a - b) << 8);
}

static inline void put_be16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static inline void put_be24(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 16);
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)v;
}

static inline void put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static inline void put_be64(uint8_t *p, uint64_t v)
{
	put_be32(p, (uint32_t)(v >> 32));
	put_be32(p + 4, (uint32_t)v);
}

#endif
