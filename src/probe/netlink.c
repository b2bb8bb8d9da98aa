// SPDX-License-Identifier: MIT
/*
 * The probe's netlink queries, with libmnl: RTM_GETLINK for a link's flags,
 * MTU, queue counts and attached XDP programs (unprivileged, and correct in
 * any network namespace, unlike /sys which shows the namespace it was
 * mounted in), and the netdev generic netlink family (Linux 6.3) for the
 * XDP features and zero-copy segment limit a driver declares. Every reply
 * attribute is checked with mnl_attr_validate before it is read.
 */
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libmnl/libmnl.h>
#include <linux/genetlink.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>

#include "probe/probe.h"

/* <linux/netdev.h> arrived with 6.3 headers; Debian 12 ships 6.1's. The
 * values are ABI (Documentation/netlink/specs/netdev.yaml). */
#define SL_NETDEV_FAMILY_NAME "netdev"
#define SL_NETDEV_CMD_DEV_GET 1
#define SL_NETDEV_A_DEV_IFINDEX 1
#define SL_NETDEV_A_DEV_XDP_FEATURES 3
#define SL_NETDEV_A_DEV_XDP_ZC_MAX_SEGS 4

struct mnl_socket *sl_rtnl_open(void)
{
	struct mnl_socket *nl = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);

	if (!nl)
		return NULL;
	if (mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		int err = errno;

		mnl_socket_close(nl);
		errno = err;
		return NULL;
	}
	return nl;
}

static int xdp_attr_cb(const struct nlattr *a, void *data)
{
	struct sl_rtnl_link *l = data;

	switch (mnl_attr_get_type(a)) {
	case IFLA_XDP_ATTACHED:
		if (mnl_attr_validate(a, MNL_TYPE_U8) == 0)
			l->xdp_attached = mnl_attr_get_u8(a);
		break;
	case IFLA_XDP_PROG_ID:
	case IFLA_XDP_DRV_PROG_ID:
	case IFLA_XDP_SKB_PROG_ID:
	case IFLA_XDP_HW_PROG_ID:
		if (mnl_attr_validate(a, MNL_TYPE_U32) != 0)
			break;
		if (mnl_attr_get_type(a) == IFLA_XDP_PROG_ID)
			l->xdp_prog_id = mnl_attr_get_u32(a);
		else if (mnl_attr_get_type(a) == IFLA_XDP_DRV_PROG_ID)
			l->xdp_drv_id = mnl_attr_get_u32(a);
		else if (mnl_attr_get_type(a) == IFLA_XDP_SKB_PROG_ID)
			l->xdp_skb_id = mnl_attr_get_u32(a);
		else
			l->xdp_hw_id = mnl_attr_get_u32(a);
		break;
	}
	return MNL_CB_OK;
}

static int link_attr_cb(const struct nlattr *a, void *data)
{
	struct sl_rtnl_link *l = data;

	switch (mnl_attr_get_type(a)) {
	case IFLA_IFNAME:
		if (mnl_attr_validate(a, MNL_TYPE_NUL_STRING) == 0)
			snprintf(l->name, sizeof(l->name), "%s",
				 mnl_attr_get_str(a));
		break;
	case IFLA_MTU:
		if (mnl_attr_validate(a, MNL_TYPE_U32) == 0)
			l->mtu = (int)mnl_attr_get_u32(a);
		break;
	case IFLA_OPERSTATE:
		if (mnl_attr_validate(a, MNL_TYPE_U8) == 0)
			l->operstate = mnl_attr_get_u8(a);
		break;
	case IFLA_NUM_RX_QUEUES:
		if (mnl_attr_validate(a, MNL_TYPE_U32) == 0)
			l->num_rx_queues = (int)mnl_attr_get_u32(a);
		break;
	case IFLA_NUM_TX_QUEUES:
		if (mnl_attr_validate(a, MNL_TYPE_U32) == 0)
			l->num_tx_queues = (int)mnl_attr_get_u32(a);
		break;
	case IFLA_XDP:
		if (mnl_attr_validate(a, MNL_TYPE_NESTED) == 0)
			mnl_attr_parse_nested(a, xdp_attr_cb, l);
		break;
	}
	return MNL_CB_OK;
}

static int link_cb(const struct nlmsghdr *nlh, void *data)
{
	struct sl_rtnl_link *l = data;
	struct ifinfomsg *ifi;

	if (nlh->nlmsg_type != RTM_NEWLINK ||
	    mnl_nlmsg_get_payload_len(nlh) < sizeof(*ifi))
		return MNL_CB_ERROR;
	ifi = mnl_nlmsg_get_payload(nlh);
	l->ifindex = ifi->ifi_index;
	l->flags = ifi->ifi_flags;
	return mnl_attr_parse(nlh, sizeof(*ifi), link_attr_cb, l);
}

int sl_nl_talk(struct mnl_socket *nl, struct nlmsghdr *nlh, mnl_cb_t cb,
	       void *data)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	unsigned portid = mnl_socket_get_portid(nl);
	ssize_t n;
	int ret;

	nlh->nlmsg_seq = (unsigned)time(NULL) ^ (unsigned)getpid();
	if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	for (;;) {
		n = mnl_socket_recvfrom(nl, buf, sizeof(buf));
		if (n < 0)
			return -errno;
		ret = mnl_cb_run(buf, (size_t)n, nlh->nlmsg_seq, portid, cb,
				 data);
		if (ret == MNL_CB_ERROR)
			return errno ? -errno : -EIO;
		if (ret == MNL_CB_STOP)
			return 0;
	}
}

int sl_rtnl_getlink(struct mnl_socket *nl, const char *name, int ifindex,
		    struct sl_rtnl_link *out)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct mnl_socket *own = NULL;
	struct nlmsghdr *nlh;
	struct ifinfomsg *ifi;
	int err;

	memset(out, 0, sizeof(*out));
	out->num_rx_queues = out->num_tx_queues = -1;
	out->mtu = -1;
	if (!nl) {
		own = sl_rtnl_open();
		if (!own)
			return -errno;
		nl = own;
	}
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = RTM_GETLINK;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
	ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
	ifi->ifi_family = AF_UNSPEC;
	ifi->ifi_index = ifindex;
	if (!ifindex && name) {
		if (strlen(name) >= IFNAMSIZ) {
			err = -ENODEV;
			goto out;
		}
		mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
	}
	/* a one-link reply holds everything we parse */
	err = sl_nl_talk(nl, nlh, link_cb, out);
	if (err == -EINVAL && !ifindex)
		err = -ENODEV; /* old kernels refuse a name they do not know */
	if (!err && !out->ifindex)
		err = -ENODEV;
out:
	if (own)
		mnl_socket_close(own);
	return err;
}

/* --- generic netlink: the netdev family --- */

static int family_attr_cb(const struct nlattr *a, void *data)
{
	if (mnl_attr_get_type(a) == CTRL_ATTR_FAMILY_ID &&
	    mnl_attr_validate(a, MNL_TYPE_U16) == 0)
		*(int *)data = mnl_attr_get_u16(a);
	return MNL_CB_OK;
}

static int family_cb(const struct nlmsghdr *nlh, void *data)
{
	return mnl_attr_parse(nlh, sizeof(struct genlmsghdr), family_attr_cb,
			      data);
}

/* The netdev family's id, 0 when it is not there, or -errno. */
static int netdev_family(struct mnl_socket *nl)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct genlmsghdr *g;
	int id = 0, err;

	nlh->nlmsg_type = GENL_ID_CTRL;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
	g = mnl_nlmsg_put_extra_header(nlh, sizeof(*g));
	g->cmd = CTRL_CMD_GETFAMILY;
	g->version = 1;
	mnl_attr_put_strz(nlh, CTRL_ATTR_FAMILY_NAME, SL_NETDEV_FAMILY_NAME);
	err = sl_nl_talk(nl, nlh, family_cb, &id);
	if (err == -ENOENT)
		return 0;
	return err ? err : id;
}

static struct mnl_socket *genl_open(void)
{
	struct mnl_socket *nl = mnl_socket_open2(NETLINK_GENERIC, SOCK_CLOEXEC);

	if (!nl)
		return NULL;
	if (mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		int err = errno;

		mnl_socket_close(nl);
		errno = err;
		return NULL;
	}
	return nl;
}

int sl_netdev_family_present(void)
{
	struct mnl_socket *nl = genl_open();
	int id;

	if (!nl)
		return -errno;
	id = netdev_family(nl);
	mnl_socket_close(nl);
	return id < 0 ? id : id > 0;
}

struct dev_facts {
	uint64_t features;
	int zc_max_segs;
	bool got;
};

static int dev_attr_cb(const struct nlattr *a, void *data)
{
	struct dev_facts *d = data;

	switch (mnl_attr_get_type(a)) {
	case SL_NETDEV_A_DEV_XDP_FEATURES:
		if (mnl_attr_validate(a, MNL_TYPE_U64) == 0) {
			d->features = mnl_attr_get_u64(a);
			d->got = true;
		}
		break;
	case SL_NETDEV_A_DEV_XDP_ZC_MAX_SEGS:
		if (mnl_attr_validate(a, MNL_TYPE_U32) == 0)
			d->zc_max_segs = (int)mnl_attr_get_u32(a);
		break;
	}
	return MNL_CB_OK;
}

static int dev_cb(const struct nlmsghdr *nlh, void *data)
{
	return mnl_attr_parse(nlh, sizeof(struct genlmsghdr), dev_attr_cb,
			      data);
}

int sl_netdev_xdp_features(int ifindex, uint64_t *features, int *zc_max_segs)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct dev_facts d = { .zc_max_segs = -1 };
	struct mnl_socket *nl = genl_open();
	struct nlmsghdr *nlh;
	struct genlmsghdr *g;
	int id, err;

	if (!nl)
		return -errno;
	id = netdev_family(nl);
	if (id <= 0) {
		mnl_socket_close(nl);
		return id < 0 ? id : -ENOENT;
	}
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = (uint16_t)id;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
	g = mnl_nlmsg_put_extra_header(nlh, sizeof(*g));
	g->cmd = SL_NETDEV_CMD_DEV_GET;
	g->version = 1;
	mnl_attr_put_u32(nlh, SL_NETDEV_A_DEV_IFINDEX, (uint32_t)ifindex);
	err = sl_nl_talk(nl, nlh, dev_cb, &d);
	mnl_socket_close(nl);
	if (err)
		return err;
	if (!d.got)
		return -ENOENT;
	*features = d.features;
	*zc_max_segs = d.zc_max_segs;
	return 0;
}
