/* SPDX-License-Identifier: MIT */
/*
 * The udp driver's own header: what its two files share. Not API; no
 * other part of the tree includes it.
 *
 *   udp.c   open (socket options, GSO and GRO set up), close, send,
 *           xstats
 *   rx.c    receive, datagram by datagram or cut out of GRO buffers
 *
 * A queue's rx and tx may run on two threads: each side has its own
 * scratch (struct udp_rx, struct udp_tx) and its own counters in
 * struct udp_priv; xstats read the counters with relaxed loads.
 */
#ifndef SL_DRIVERS_UDP_UDP_INT_H
#define SL_DRIVERS_UDP_UDP_INT_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "port/driver.h"

#define UDP_BATCH 256 /* datagrams per recvmmsg / sendmmsg call */
/*
 * With GRO one received message may hold up to 64 KiB of datagrams, and
 * each message of a recvmmsg must have room for that much or the kernel
 * truncates it (and the datagrams are lost): a GRO receive takes fewer
 * messages, each into a pool buffer followed by a slot of scratch.
 */
#define UDP_GRO_MSGS 64 /* messages per recvmmsg with GRO */
#define UDP_GRO_SLOT 65536 /* the most a message holds: one IP packet */
#ifndef UDP_GRO
#define UDP_GRO 104 /* linux/udp.h, 5.0 */
#endif

extern const uint8_t udp_mac_port[SL_ETH_ALEN]; /* this port */
extern const uint8_t udp_mac_kernel[SL_ETH_ALEN]; /* the kernel "next hop" */

/* room for IP_PKTINFO or IPV6_PKTINFO, SO_RXQ_OVFL and UDP_GRO */
#define UDP_CMSG_LEN                              \
	(CMSG_SPACE(sizeof(struct in6_pktinfo)) + \
	 CMSG_SPACE(sizeof(uint32_t)) + CMSG_SPACE(sizeof(int)))

struct udp_rx {
	struct mmsghdr msgs[UDP_BATCH];
	/* a pool buffer, then (GRO) the message's slot of scratch */
	struct iovec iov[UDP_BATCH][2];
	struct sockaddr_storage names[UDP_BATCH];
	union {
		struct cmsghdr align;
		uint8_t buf[UDP_CMSG_LEN];
	} cmsg[UDP_BATCH];
	/* the buffers messages [0, n_msgs) were received into; messages
	 * [next, n_msgs) are not handed out yet, and no receive starts
	 * before they are */
	struct sl_pkt *bufs[UDP_BATCH];
	unsigned next, n_msgs;
	uint64_t now; /* their receive time, if the port asks for it */
	/*
	 * The GRO message being cut into datagrams: its datagrams not
	 * handed out yet are at scratch offsets [seg_off, seg_end) of slot
	 * seg_msg, seg_size bytes each but a shorter last one; seg_cap is
	 * the most a pool buffer takes.
	 */
	struct sl_udp_params seg_hp;
	unsigned seg_msg;
	uint32_t seg_off, seg_end, seg_size, seg_cap;
	/* UDP_GRO_MSGS slots of UDP_GRO_SLOT bytes (NULL without GRO):
	 * slot i mirrors message i at the same offsets, but for its first
	 * datagram, which stays in its pool buffer */
	uint8_t *scratch;
	struct sl_pkt *drop[UDP_BATCH];
	/* buffers a receive burst allocated and the socket did not fill:
	 * the next burst takes them first, so an empty poll moves nothing
	 * to or from the pool (given back at close) */
	struct sl_pkt *spare[UDP_BATCH];
	unsigned n_spare;
} SL_CACHE_ALIGNED;

struct udp_tx {
	struct mmsghdr msgs[UDP_BATCH];
	struct iovec iov[UDP_BATCH];
	struct sockaddr_storage names[UDP_BATCH];
	uint16_t idx[UDP_BATCH]; /* message -> position in the burst */
	struct sl_pkt *done[UDP_BATCH];
	/* the messages as sent: runs of msgs[first .. first + count) */
	struct mmsghdr runs[UDP_BATCH];
	uint16_t first[UDP_BATCH], count[UDP_BATCH];
	union {
		char b[CMSG_SPACE(sizeof(uint16_t))];
		struct cmsghdr align;
	} seg[UDP_BATCH];
} SL_CACHE_ALIGNED;

struct udp_priv {
	int fd;
	int family;
	bool connected;
	size_t hdr_len; /* Ethernet + IP + UDP put in front on receive */
	struct sl_addr local; /* with the port really bound */
	struct sl_addr peer;
	/* receive side */
	uint16_t ip_id;
	uint16_t rx_csum; /* the checksum state of every frame made on rx */
	uint32_t kernel_drops; /* SO_RXQ_OVFL: dropped by the kernel */
	uint64_t rx_truncated;
	uint64_t gro_bufs; /* received messages that held several datagrams */
	uint64_t gro_segs; /* and how many datagrams they held */
	/* send side */
	bool no_gso; /* gso=off, or the kernel refused a run with EIO */
	uint64_t gso_runs; /* GSO messages sent, and their datagrams */
	uint64_t gso_segs;
	uint64_t gso_refused; /* runs sent datagram by datagram instead */
	struct udp_rx rx;
	struct udp_tx tx;
};

void udp_from_sockaddr(const struct sockaddr_storage *ss, struct sl_addr *a);

/* Turn GRO on for the socket when the kernel takes it: 0, or -errno when
 * it does not (the port then receives datagram by datagram). Control
 * path. */
int udp_rx_gro_enable(struct udp_priv *u);
/* Give back what the receive side holds. Control path. */
void udp_rx_close(struct udp_priv *u);
uint16_t udp_rx_burst(struct sl_port *port, uint16_t queue,
		      struct sl_pkt **pkts, uint16_t n);

#endif
