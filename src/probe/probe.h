/* SPDX-License-Identifier: MIT */
/*
 * Internal helpers of the probe (src/probe/) shared with the auto: driver:
 * the kernel version, small file readers, and the two netlink queries the
 * probe makes through libmnl (rtnetlink links and the netdev generic
 * netlink family), which libbpf does not cover or covers only as root.
 * Control path only.
 */
#ifndef SL_PROBE_PROBE_H
#define SL_PROBE_PROBE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <sluice/probe.h>

struct mnl_socket;
struct nlmsghdr;

/* The running kernel's version, from uname (0, 0 if unparsable). */
void sl_probe_kernel_version(int *major, int *minor);
/* 1 when the running kernel is at least major.minor. */
int sl_probe_kernel_at_least(int major, int minor);

/* Read the first line of a file into buf without the newline: 0 or -errno. */
int sl_probe_read_line(const char *path, char *buf, size_t len);
/* A file holding one decimal number: 0 or -errno. */
int sl_probe_read_long(const char *path, long *out);

/* What RTM_GETLINK says about one link. */
struct sl_rtnl_link {
	int ifindex;
	char name[16];
	unsigned flags; /* IFF_* */
	int mtu;
	int operstate; /* IF_OPER_* */
	int num_rx_queues, num_tx_queues; /* -1 when not reported */
	uint8_t xdp_attached; /* XDP_ATTACHED_* */
	uint32_t xdp_prog_id; /* the single-mode program, or 0 */
	uint32_t xdp_drv_id, xdp_skb_id, xdp_hw_id;
};

/*
 * Query one link by name (ifindex 0) or by ifindex, in the namespace of the
 * socket nl (opened by the caller, which keeps it across calls: the auto
 * driver's health check) or, with nl NULL, of a socket opened here in the
 * calling thread's namespace. 0, -ENODEV when there is no such link, or
 * -errno. No message: callers word their own.
 */
int sl_rtnl_getlink(struct mnl_socket *nl, const char *name, int ifindex,
		    struct sl_rtnl_link *out);

/* Send one netlink request on nl and run the replies through cb (a
 * mnl_cb_t) until the kernel's answer is complete (a dump's end, or the
 * ack). 0 or -errno (the kernel's error for the request). */
int sl_nl_talk(struct mnl_socket *nl, struct nlmsghdr *nlh,
	       int (*cb)(const struct nlmsghdr *, void *), void *data);

/* An rtnetlink socket for sl_rtnl_getlink, or NULL with errno. */
struct mnl_socket *sl_rtnl_open(void);

/* The netdev family's XDP facts for ifindex (6.3+): 0, -ENOENT when the
 * family is not there, or -errno. */
int sl_netdev_xdp_features(int ifindex, uint64_t *features, int *zc_max_segs);

/* 1 when the netdev generic netlink family exists, 0 not, -errno. */
int sl_netdev_family_present(void);

#endif
