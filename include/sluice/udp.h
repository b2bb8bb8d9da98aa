/* SPDX-License-Identifier: MIT */
/*
 * Datagrams on any port: for applications that think in UDP datagrams
 * rather than frames. Parse a received frame into addresses and payload,
 * turn it around in place to answer it, build and send one datagram, and
 * (control path) find the interface, source address and next-hop MAC
 * address a destination needs, from the kernel's routing and neighbour
 * tables.
 */
#ifndef SLUICE_UDP_H
#define SLUICE_UDP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <sluice/core.h>
#include <sluice/net.h>
#include <sluice/pkt.h>

#ifdef __cplusplus
extern "C" {
#endif

struct sl_port;

/* What sl_udp_parse found in a UDP frame. */
struct sl_udp_view {
	struct sl_addr src; /* sender's address, port = UDP source port */
	struct sl_addr dst; /* receiver's address, port = UDP dest. port */
	uint8_t src_mac[SL_ETH_ALEN];
	uint8_t dst_mac[SL_ETH_ALEN];
	uint16_t vlan_tci; /* host order, innermost tag; 0 when untagged */
	uint8_t ttl; /* TTL / hop limit */
	/* TOS / traffic class (DSCP and ECN). Added in what was padding:
	 * the struct keeps its size and every other field its place */
	uint8_t tos;
	uint8_t *payload; /* inside the packet's buffer */
	uint32_t len; /* payload bytes, by the UDP length field */
};

/*
 * Find the addresses and payload of a UDP frame. Returns 0, -EBADMSG for a
 * malformed or truncated frame, -EPROTONOSUPPORT for a well-formed frame
 * that is not UDP over IPv4/IPv6 (ARP, ICMP, an IP fragment, ...). The
 * checksum is not verified (sl_frame_verify_csum does that). Fast path,
 * thread-safe.
 */
SL_API int sl_udp_parse(const struct sl_pkt *p, struct sl_udp_view *out);

/*
 * Turn a received UDP frame around in place so that it answers its sender:
 * swap the MAC addresses, the IP addresses and the UDP ports; VLAN tag,
 * TTL and payload are kept. A swap does not change a one's-complement sum,
 * so the checksums that came right stay right; the reply is one every
 * kernel accepts, whatever the frame carried:
 *   - its checksums are checked first where the path left them unknown
 *     (sl_pkt_csum_check: one pass over the frame, on xdp ports);
 *   - a PARTIAL L4 checksum (a local sender's, e.g. a kernel socket across
 *     veth) gets SL_PKT_F_TX_L4_CSUM, so the port completes it on send.
 * Returns 0, or with the frame unchanged:
 *   -EBADMSG  not a well-formed UDP frame over IPv4/IPv6;
 *   -EILSEQ   a checksum is wrong: the frame was damaged on its way and
 *             must not be answered (drop it and count it).
 * Fast path, thread-safe for distinct packets.
 */
SL_API int sl_udp_swap(struct sl_pkt *p);

/*
 * Build one datagram with sl_udp_build in a buffer of the port's pool and
 * hand it to sl_tx_burst. Returns 0 when the port took it, or
 *   -ENOBUFS      the pool is empty;
 *   -EAGAIN       back-pressure: the port did not take it (freed, retry);
 *   -EMSGSIZE     the frame does not fit a buffer;
 *   -EAFNOSUPPORT addresses of different or unknown families.
 * Nothing is logged or allocated beyond the pool buffer. Fast path; the
 * queue's usual one-thread-at-a-time rule applies.
 */
SL_API int sl_udp_send_to(struct sl_port *port, uint16_t queue,
			  const struct sl_udp_params *hp, const void *payload,
			  size_t len);

/* ---- next hops (control path) ----------------------------------------- */

/* Where the kernel would send a packet for a destination. */
struct sl_nexthop {
	int ifindex; /* outgoing interface */
	char ifname[16];
	bool gateway; /* via a router (else the destination is on-link) */
	struct sl_addr via; /* the router, or the destination itself */
	struct sl_addr src; /* the source address the kernel would use */
};

/*
 * Ask the kernel's routing table (rtnetlink RTM_GETROUTE) how dst is
 * reached, in the calling thread's network namespace. Returns 0, or
 * -ENETUNREACH (no route, or an unreachable/blackhole/prohibit route) or
 * another -errno, with a message. Thread-safe.
 */
SL_API int sl_route_nexthop(const struct sl_addr *dst, struct sl_nexthop *out);

/*
 * The MAC address of ip on interface ifindex. First the kernel's neighbour
 * table (rtnetlink RTM_GETNEIGH): an entry REACHABLE, STALE, DELAY, PROBE,
 * PERMANENT or NOARP is used as is. Otherwise the kernel is made to resolve
 * it (ARP or neighbour discovery) by a datagram to the discard port (9) of
 * ip from a socket bound to the interface, and the table is polled until
 * timeout_ms. timeout_ms 0 reads the table only: nothing is sent, nothing
 * waited for. Returns 0 with mac set, or
 *   -EHOSTUNREACH  nobody answered in time ("no ARP reply from 10.0.0.9 on
 *                  eth0 within 500 ms");
 *   -EAGAIN        timeout_ms 0 and no usable entry yet;
 *   -ENXIO         the interface has no link-layer addresses (loopback,
 *                  tun): mac is set to zeros, which is what such an
 *                  interface takes;
 *   -ENODEV        no interface ifindex; other -errno with a message.
 * Control path (it may block up to timeout_ms), thread-safe.
 */
SL_API int sl_neigh_resolve(int ifindex, const struct sl_addr *ip,
			    uint8_t mac[SL_ETH_ALEN], unsigned timeout_ms);

/*
 * Everything needed to send datagrams to dst: fills hp's MAC addresses,
 * source address (with port sport) and destination (dst, its port
 * included) by sl_route_nexthop and sl_neigh_resolve, and returns the
 * outgoing interface's index in *ifindex (may be NULL). 0 or -errno as
 * those two (-ENXIO is not an error here: MACs stay zero). Control path.
 */
SL_API int sl_udp_params_route(struct sl_udp_params *hp,
			       const struct sl_addr *dst, uint16_t sport,
			       unsigned timeout_ms, int *ifindex);

#ifdef __cplusplus
}
#endif
#endif
