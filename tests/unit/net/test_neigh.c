// SPDX-License-Identifier: MIT
/*
 * Next hops, the parts that run unprivileged: the route to the loopback
 * addresses, what resolving on lo gives (no MAC: -ENXIO and zeros), a
 * missing interface, and the readers of rtnetlink messages fed with
 * RTM_NEWNEIGH / RTM_NEWROUTE messages built here as the kernel builds
 * them. The test bed's integration tests resolve real neighbours.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/neighbour.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <string.h>

#include "sltest.h"

#include "core/log.h"
#include "net/neigh.h"

static void test_route_loopback(void **state)
{
	struct sl_nexthop nh;
	struct sl_addr dst, want;
	int lo = (int)if_nametoindex("lo");

	(void)state;
	assert_true(lo > 0);
	assert_int_equal(sl_addr_parse("127.0.0.1", true, &dst), 0);
	assert_int_equal(sl_route_nexthop(&dst, &nh), 0);
	assert_int_equal(nh.ifindex, lo);
	assert_string_equal(nh.ifname, "lo");
	assert_false(nh.gateway);
	assert_true(sl_addr_equal(&nh.via, &dst));
	assert_true(sl_addr_equal(&nh.src, &dst));

	assert_int_equal(sl_addr_parse("::1", true, &dst), 0);
	if (sl_route_nexthop(&dst, &nh) != 0) {
		sl_test_skip("no IPv6 on lo: %s", sl_last_error());
		return;
	}
	assert_int_equal(nh.ifindex, lo);
	assert_false(nh.gateway);
	assert_int_equal(sl_addr_parse("::1", true, &want), 0);
	assert_true(sl_addr_equal(&nh.src, &want));
}

static void test_resolve_loopback(void **state)
{
	static const uint8_t zero[6];
	struct sl_udp_params hp;
	struct sl_addr dst;
	uint8_t mac[6];
	int ifx = -1;

	(void)state;
	assert_int_equal(sl_addr_parse("127.0.0.1", true, &dst), 0);
	memset(mac, 0xff, sizeof(mac));
	assert_int_equal(sl_neigh_resolve((int)if_nametoindex("lo"), &dst, mac,
					  100),
			 -ENXIO);
	assert_memory_equal(mac, zero, 6);
	assert_non_null(strstr(sl_last_error(), "lo has no link-layer"));
	assert_non_null(strstr(sl_last_error(), "loopback"));

	assert_int_equal(sl_neigh_resolve(987654, &dst, mac, 100), -ENODEV);
	assert_non_null(strstr(sl_last_error(), "no interface with index"));

	/* all a sender needs, to a loopback address: zero MACs, lo */
	assert_int_equal(sl_addr_parse("127.0.0.1:7777", false, &dst), 0);
	memset(&hp, 0xff, sizeof(hp));
	assert_int_equal(sl_udp_params_route(&hp, &dst, 5555, 100, &ifx), 0);
	assert_int_equal(ifx, (int)if_nametoindex("lo"));
	assert_memory_equal(hp.src_mac, zero, 6);
	assert_memory_equal(hp.dst_mac, zero, 6);
	assert_true(sl_addr_equal(&hp.dst, &dst));
	assert_int_equal(hp.src.port, 5555);
	assert_int_equal(hp.src.v4.s_addr, htonl(INADDR_LOOPBACK));
}

/* An RTM_NEWNEIGH message as the kernel sends it in a dump. */
static struct nlmsghdr *neigh_msg(char *buf, int family, int ifindex,
				  uint16_t state, uint8_t flags,
				  const void *dst, size_t dst_len,
				  const void *ll, size_t ll_len)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct ndmsg *nd;

	nlh->nlmsg_type = RTM_NEWNEIGH;
	nd = mnl_nlmsg_put_extra_header(nlh, sizeof(*nd));
	nd->ndm_family = (uint8_t)family;
	nd->ndm_ifindex = ifindex;
	nd->ndm_state = state;
	nd->ndm_flags = flags;
	if (dst)
		mnl_attr_put(nlh, NDA_DST, dst_len, dst);
	if (ll)
		mnl_attr_put(nlh, NDA_LLADDR, ll_len, ll);
	return nlh;
}

static void test_neigh_msg(void **state)
{
	static const uint8_t ll[6] = { 0x02, 0xaa, 0xbb, 0xcc, 0xdd, 0xee };
	static const uint16_t usable[] = { NUD_REACHABLE, NUD_STALE,
					   NUD_DELAY,	  NUD_PROBE,
					   NUD_PERMANENT, NUD_NOARP };
	static const uint16_t unusable[] = { NUD_INCOMPLETE, NUD_FAILED,
					     NUD_NONE };
	char buf[512];
	struct sl_addr ip, ip6, other;
	uint8_t mac[6];
	uint16_t st;
	unsigned i;

	(void)state;
	sl_addr_parse("10.0.0.9", true, &ip);
	sl_addr_parse("10.0.0.8", true, &other);
	sl_addr_parse("fd00::9", true, &ip6);
	for (i = 0; i < SL_ARRAY_SIZE(usable); i++) {
		memset(mac, 0, 6);
		assert_int_equal(sl_neigh_msg(neigh_msg(buf, AF_INET, 4,
							usable[i], 0, &ip.v4, 4,
							ll, 6),
					      4, &ip, mac, &st),
				 1);
		assert_memory_equal(mac, ll, 6);
		assert_int_equal(st, usable[i]);
	}
	for (i = 0; i < SL_ARRAY_SIZE(unusable); i++) {
		st = 0xffff;
		assert_int_equal(sl_neigh_msg(neigh_msg(buf, AF_INET, 4,
							unusable[i], 0, &ip.v4,
							4, ll, 6),
					      4, &ip, mac, &st),
				 0);
		assert_int_equal(st, unusable[i]);
	}
	/* another interface, address, family; a proxy entry */
	assert_int_equal(sl_neigh_msg(neigh_msg(buf, AF_INET, 5, NUD_REACHABLE,
						0, &ip.v4, 4, ll, 6),
				      4, &ip, mac, NULL),
			 0);
	assert_int_equal(sl_neigh_msg(neigh_msg(buf, AF_INET, 4, NUD_REACHABLE,
						0, &other.v4, 4, ll, 6),
				      4, &ip, mac, NULL),
			 0);
	assert_int_equal(sl_neigh_msg(neigh_msg(buf, AF_INET6, 4, NUD_REACHABLE,
						0, &ip6.v6, 16, ll, 6),
				      4, &ip, mac, NULL),
			 0);
	assert_int_equal(sl_neigh_msg(neigh_msg(buf, AF_INET, 4, NUD_REACHABLE,
						NTF_PROXY, &ip.v4, 4, ll, 6),
				      4, &ip, mac, NULL),
			 0);
	/* IPv6 */
	assert_int_equal(sl_neigh_msg(neigh_msg(buf, AF_INET6, 4, NUD_STALE, 0,
						&ip6.v6, 16, ll, 6),
				      4, &ip6, mac, NULL),
			 1);
	/* malformed: an address or MAC of the wrong length, cut short */
	assert_int_equal(sl_neigh_msg(neigh_msg(buf, AF_INET, 4, NUD_REACHABLE,
						0, &ip6.v6, 16, ll, 6),
				      4, &ip, mac, NULL),
			 -EBADMSG);
	assert_int_equal(sl_neigh_msg(neigh_msg(buf, AF_INET, 4, NUD_REACHABLE,
						0, &ip.v4, 4, ll, 5),
				      4, &ip, mac, NULL),
			 -EBADMSG);
	{
		struct nlmsghdr *nlh = neigh_msg(buf, AF_INET, 4, NUD_REACHABLE,
						 0, &ip.v4, 4, ll, 6);

		nlh->nlmsg_len = mnl_nlmsg_size(sizeof(struct ndmsg)) - 1;
		assert_int_equal(sl_neigh_msg(nlh, 4, &ip, mac, NULL),
				 -EBADMSG);
	}
}

static struct nlmsghdr *route_msg(char *buf, int family, uint8_t type, int oif,
				  const void *gw, const void *src, size_t alen)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct rtmsg *rt;

	nlh->nlmsg_type = RTM_NEWROUTE;
	rt = mnl_nlmsg_put_extra_header(nlh, sizeof(*rt));
	rt->rtm_family = (uint8_t)family;
	rt->rtm_type = type;
	rt->rtm_dst_len = (uint8_t)(alen * 8);
	if (oif >= 0)
		mnl_attr_put_u32(nlh, RTA_OIF, (uint32_t)oif);
	if (gw)
		mnl_attr_put(nlh, RTA_GATEWAY, alen, gw);
	if (src)
		mnl_attr_put(nlh, RTA_PREFSRC, alen, src);
	return nlh;
}

static void test_route_msg(void **state)
{
	char buf[512];
	struct sl_addr dst, gw, src;
	struct sl_nexthop nh;

	(void)state;
	sl_addr_parse("198.51.100.7:53", false, &dst);
	sl_addr_parse("10.0.0.1", true, &gw);
	sl_addr_parse("10.0.0.2", true, &src);
	assert_int_equal(sl_route_msg(route_msg(buf, AF_INET, RTN_UNICAST, 3,
						&gw.v4, &src.v4, 4),
				      &dst, &nh),
			 0);
	assert_int_equal(nh.ifindex, 3);
	assert_true(nh.gateway);
	assert_true(sl_addr_equal(&nh.via, &gw));
	assert_true(sl_addr_equal(&nh.src, &src));
	/* on-link: the next hop is the destination itself (no port) */
	assert_int_equal(sl_route_msg(route_msg(buf, AF_INET, RTN_UNICAST, 3,
						NULL, &src.v4, 4),
				      &dst, &nh),
			 0);
	assert_false(nh.gateway);
	assert_int_equal(nh.via.v4.s_addr, dst.v4.s_addr);
	assert_int_equal(nh.via.port, 0);
	assert_int_equal(sl_route_msg(route_msg(buf, AF_INET, RTN_UNREACHABLE,
						3, NULL, NULL, 4),
				      &dst, &nh),
			 -ENETUNREACH);
	assert_int_equal(sl_route_msg(route_msg(buf, AF_INET, RTN_BLACKHOLE, 3,
						NULL, NULL, 4),
				      &dst, &nh),
			 -ENETUNREACH);
	/* malformed: no interface, a gateway of the wrong length */
	assert_int_equal(sl_route_msg(route_msg(buf, AF_INET, RTN_UNICAST, -1,
						&gw.v4, NULL, 4),
				      &dst, &nh),
			 -EBADMSG);
	{
		struct in6_addr g6 = { 0 };

		assert_int_equal(sl_route_msg(route_msg(buf, AF_INET,
							RTN_UNICAST, 3, &g6,
							NULL, 16),
					      &dst, &nh),
				 -EBADMSG);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_route_loopback),
		cmocka_unit_test(test_resolve_loopback),
		cmocka_unit_test(test_neigh_msg),
		cmocka_unit_test(test_route_msg),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
