// SPDX-License-Identifier: MIT
/*
 * Facts about one interface, in the calling thread's network namespace:
 * rtnetlink for the link (flags, MTU, queue counts, attached XDP programs),
 * ethtool ioctls for the driver and its channels, the netdev generic
 * netlink family for the XDP features the driver declares, sysfs for the
 * NUMA node, and the steering loader for whether an attached program is
 * ours. All of these are readable without privileges except the attached
 * program's name (CAP_SYS_ADMIN); what could not be read is named in
 * `unread`.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <linux/ethtool.h>
#include <linux/if_link.h>
#include <linux/sockios.h>

#include "core/log.h"
#include "core/opts.h"
#include "drivers/xdp/steer.h"
#include "net/ifdev.h"
#include "probe/probe.h"

static void note(struct sl_iface_facts *f, const char *fmt, ...)
	SL_PRINTF(2, 3);

static void note(struct sl_iface_facts *f, const char *fmt, ...)
{
	size_t n = strlen(f->unread);
	va_list ap;

	if (n + 2 >= sizeof(f->unread))
		return;
	if (n)
		n += (size_t)snprintf(f->unread + n, sizeof(f->unread) - n,
				      "; ");
	if (n < sizeof(f->unread)) {
		va_start(ap, fmt);
		vsnprintf(f->unread + n, sizeof(f->unread) - n, fmt, ap);
		va_end(ap);
	}
}

static void add_prog(struct sl_iface_facts *f, uint32_t id, const char *mode)
{
	struct sl_xdp_prog_fact *p;

	if (!id || f->n_xdp_progs >= SL_PROBE_MAX_XDP_PROGS)
		return;
	p = &f->xdp_progs[f->n_xdp_progs++];
	p->id = id;
	sl_strlcpy(p->mode, mode, sizeof(p->mode));
}

static const char *operstate_name(int s)
{
	static const char *const names[] = { "unknown", "notpresent",
					     "down",	"lowerlayerdown",
					     "testing", "dormant",
					     "up" };

	return s >= 0 && s < (int)SL_ARRAY_SIZE(names) ? names[s] : "unknown";
}

/* Which attached program is ours, and its name, through the steering
 * loader. It describes each program as "id N NAME (sluice|not sluice)
 * mode M", "; " between them, with NAME "?" when the program's info could
 * not be read (that needs CAP_SYS_ADMIN). */
static void name_progs(struct sl_iface_facts *f)
{
	char who[256], name[32], whose[16];
	const char *p;
	unsigned id, i;
	int found;

	if (!f->n_xdp_progs)
		return;
	found = sl_steer_find_attached(f->ifindex, who, sizeof(who));
	if (found < 0) {
		note(f, "XDP program names (%s)", strerror(-found));
		return;
	}
	for (p = who; p && *p;
	     p = strstr(p, "; ") ? strstr(p, "; ") + 2 : NULL) {
		if (sscanf(p, "id %u %31s (%15[^)])", &id, name, whose) != 3)
			continue;
		if (!strcmp(name, "?")) {
			note(f, "XDP program names (%s)",
			     "needs CAP_SYS_ADMIN");
			return;
		}
		for (i = 0; i < f->n_xdp_progs; i++) {
			if (f->xdp_progs[i].id != id)
				continue;
			sl_strlcpy(f->xdp_progs[i].name, name,
				   sizeof(f->xdp_progs[i].name));
			f->xdp_progs[i].ours = !strcmp(whose, "sluice");
		}
	}
}

int sl_probe_iface(const char *name, struct sl_iface_facts *out)
{
	struct sl_iface_facts f;
	struct ethtool_drvinfo di = { .cmd = ETHTOOL_GDRVINFO };
	struct ethtool_channels ch = { .cmd = ETHTOOL_GCHANNELS };
	struct sl_rtnl_link l;
	char path[96];
	long node;
	int fd, err;
	size_t sz;

	if (!name)
		return sl_fail(EINVAL, "sl_probe_iface: no interface name");
	if (sl_opts_out(out, sizeof(f), &sz, "sl_probe_iface",
			"sl_iface_facts"))
		return -EINVAL;
	memset(&f, 0, sizeof(f));
	err = sl_rtnl_getlink(NULL, name, 0, &l);
	if (err == -ENODEV)
		return sl_fail(ENODEV,
			       "%s: no such interface in this network "
			       "namespace",
			       name);
	if (err)
		return sl_fail(-err, "%s: cannot query the link: %s", name,
			       strerror(-err));
	sl_strlcpy(f.name, l.name[0] ? l.name : name, sizeof(f.name));
	f.ifindex = l.ifindex;
	f.mtu = l.mtu;
	f.up = l.flags & IFF_UP;
	f.running = l.flags & IFF_RUNNING;
	sl_strlcpy(f.operstate, operstate_name(l.operstate),
		   sizeof(f.operstate));

	f.rx_queues = l.num_rx_queues;
	f.tx_queues = l.num_tx_queues;
	f.combined_queues = -1;
	f.max_rx_queues = f.max_tx_queues = f.max_combined_queues = -1;
	sl_strlcpy(f.queues_source, "netlink", sizeof(f.queues_source));

	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		note(&f, "ethtool (%s)", strerror(errno));
	} else {
		err = sl_if_ethtool(fd, f.name, &di);
		if (!err) {
			sl_strlcpy(f.driver, di.driver, sizeof(f.driver));
			sl_strlcpy(f.driver_version, di.version,
				   sizeof(f.driver_version));
			sl_strlcpy(f.bus_info, di.bus_info, sizeof(f.bus_info));
		} else if (err != -EOPNOTSUPP) {
			note(&f, "driver info (%s)", strerror(-err));
		}
		/* channels are what `ethtool -L` changes: prefer them to the
		 * device's queue counts when the driver reports them */
		err = sl_if_ethtool(fd, f.name, &ch);
		if (!err) {
			f.rx_queues = (int)ch.rx_count;
			f.tx_queues = (int)ch.tx_count;
			f.combined_queues = (int)ch.combined_count;
			f.max_rx_queues = (int)ch.max_rx;
			f.max_tx_queues = (int)ch.max_tx;
			f.max_combined_queues = (int)ch.max_combined;
			sl_strlcpy(f.queues_source, "ethtool",
				   sizeof(f.queues_source));
		}
		close(fd);
	}
	if (!strcmp(f.queues_source, "ethtool")) {
		/* veth's combined count is min(rx, tx): the same queues */
		f.rx_queues_total = !strcmp(f.driver, "veth") ?
					    f.rx_queues :
					    f.rx_queues + f.combined_queues;
	} else {
		f.rx_queues_total = f.rx_queues;
	}

	/* sysfs shows the namespace it was mounted in: only trust it when
	 * the interface there is the same one */
	f.numa_node = -1;
	snprintf(path, sizeof(path), "/sys/class/net/%s/ifindex", f.name);
	if (sl_probe_read_long(path, &node) == 0 && node == f.ifindex) {
		snprintf(path, sizeof(path),
			 "/sys/class/net/%s/device/numa_node", f.name);
		if (sl_probe_read_long(path, &node) == 0)
			f.numa_node = (int)node;
	}

	f.xdp_zc_max_segs = -1;
	err = sl_netdev_xdp_features(f.ifindex, &f.xdp_features,
				     &f.xdp_zc_max_segs);
	if (!err)
		f.xdp_features_known = true;
	else if (err != -ENOENT)
		note(&f, "XDP features (%s)", strerror(-err));

	switch (l.xdp_attached) {
	case XDP_ATTACHED_DRV:
		add_prog(&f, l.xdp_prog_id, "drv");
		break;
	case XDP_ATTACHED_SKB:
		add_prog(&f, l.xdp_prog_id, "skb");
		break;
	case XDP_ATTACHED_HW:
		add_prog(&f, l.xdp_prog_id, "hw");
		break;
	case XDP_ATTACHED_MULTI:
		add_prog(&f, l.xdp_drv_id, "drv");
		add_prog(&f, l.xdp_skb_id, "skb");
		add_prog(&f, l.xdp_hw_id, "hw");
		break;
	}
	name_progs(&f);

	f.sz = out->sz;
	memcpy(out, &f, sz);
	return 0;
}

int sl_probe_iface_ipv4(const char *iface, uint32_t *addr)
{
	struct ifaddrs *ifa, *i;
	int found = 0;

	if (!iface || !addr)
		return sl_fail(EINVAL, "sl_probe_iface_ipv4: no %s",
			       !iface ? "interface" : "output");
	if (getifaddrs(&ifa) < 0)
		return sl_fail(errno, "%s: cannot list addresses: %s", iface,
			       strerror(errno));
	for (i = ifa; i && !found; i = i->ifa_next) {
		if (!i->ifa_addr || i->ifa_addr->sa_family != AF_INET ||
		    strcmp(i->ifa_name, iface) != 0)
			continue;
		*addr = ((struct sockaddr_in *)i->ifa_addr)->sin_addr.s_addr;
		found = 1;
	}
	freeifaddrs(ifa);
	if (found)
		return 0;
	if (!if_nametoindex(iface))
		return sl_fail(ENODEV, "%s: no such interface", iface);
	return sl_fail(EADDRNOTAVAIL,
		       "%s: no IPv4 address (ip addr add "
		       "ADDR/PREFIX dev %s)",
		       iface, iface);
}
