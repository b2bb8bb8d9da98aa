/* SPDX-License-Identifier: MIT */
/*
 * Internals of sl_neigh_resolve and sl_route_nexthop (neigh.c): the
 * readers of single rtnetlink messages, apart so that the unit tests can
 * feed them messages they build.
 */
#ifndef SL_NET_NEIGH_H
#define SL_NET_NEIGH_H

#include <linux/netlink.h>
#include <stdint.h>

#include <sluice/udp.h>

/* Neighbour states whose link-layer address can be used as is. */
#define SL_NUD_USABLE                                                        \
	(NUD_REACHABLE | NUD_STALE | NUD_DELAY | NUD_PROBE | NUD_PERMANENT | \
	 NUD_NOARP)

/*
 * One RTM_NEWNEIGH message: returns 1 with mac set when it is a usable
 * entry for ip on ifindex; 0 when it is about something else, or about ip
 * but not usable (then *state, if not NULL, gets its NUD_* state); -EBADMSG
 * when it is malformed (too short, an address of the wrong length).
 */
int sl_neigh_msg(const struct nlmsghdr *nlh, int ifindex,
		 const struct sl_addr *ip, uint8_t mac[SL_ETH_ALEN],
		 uint16_t *state);

/*
 * One RTM_NEWROUTE message answering a route query for dst: 0 with out
 * filled, -ENETUNREACH for a route that does not forward (unreachable,
 * blackhole, prohibit, throw), -EBADMSG when malformed.
 */
int sl_route_msg(const struct nlmsghdr *nlh, const struct sl_addr *dst,
		 struct sl_nexthop *out);

#endif
