// SPDX-License-Identifier: MIT
/*
 * The AF_XDP driver's interfaces: what ethtool and the namespace say about
 * one, and the registry of steering programs, one per interface (by
 * network namespace and ifindex), shared by the ports on its queues.
 * Control path; the registry under xdp_reg_lock.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <bpf/libbpf.h>
#include <linux/ethtool.h>
#include <linux/if_link.h>

#include "drivers/xdp/xdp_int.h"
#include "steer_abi.h" /* bpf/: the program's flags */
#include "net/ifdev.h"

uint64_t xdp_netns_id(void)
{
	return sl_netns_id();
}

static int ethtool_ioctl(const char *ifname, void *data)
{
	return sl_if_ethtool(-1, ifname, data);
}

/* The kernel driver's name ("veth", "ice", ...) or "?". */
void xdp_driver_name(const char *ifname, char *out, size_t len)
{
	struct ethtool_drvinfo di = { .cmd = ETHTOOL_GDRVINFO };

	if (ethtool_ioctl(ifname, &di) == 0 && di.driver[0])
		sl_strlcpy(out, di.driver, len);
	else
		sl_strlcpy(out, "?", len);
}

/* RX queues the device has now, or 0 when it does not say. */
unsigned xdp_rx_queues(const char *ifname)
{
	struct ethtool_channels ch = { .cmd = ETHTOOL_GCHANNELS };

	if (ethtool_ioctl(ifname, &ch) != 0)
		return 0;
	return ch.rx_count + ch.combined_count;
}

void xdp_get_mac(const char *ifname, uint8_t *mac)
{
	(void)sl_if_hwaddr(ifname, mac, NULL);
}

struct xdp_iface *xdp_iface_find(uint64_t ns, int ifindex)
{
	struct xdp_iface *f;

	for (f = xdp_ifaces; f; f = f->next)
		if (f->netns == ns && f->ifindex == ifindex)
			return f;
	return NULL;
}

void xdp_iface_put(struct xdp_iface *f)
{
	struct xdp_iface **pp;

	if (--f->refs)
		return;
	sl_steer_destroy(f->steer); /* closes the link: detached */
	for (pp = &xdp_ifaces; *pp; pp = &(*pp)->next)
		if (*pp == f) {
			*pp = f->next;
			break;
		}
	free(f);
}

/* Detach whatever XDP program sits on the interface (replace). */
int xdp_detach_foreign(const struct sl_spec *spec, int ifindex, const char *who)
{
	char still[200];
	int r;

	bpf_xdp_detach(ifindex, XDP_FLAGS_SKB_MODE, NULL);
	bpf_xdp_detach(ifindex, XDP_FLAGS_DRV_MODE, NULL);
	r = sl_steer_find_attached(ifindex, still, sizeof(still));
	if (r == SL_STEER_FOUND_NONE)
		return 0;
	return sl_spec_fail(spec, EBUSY,
			    "replace: could not detach %s (a program "
			    "attached through a BPF link goes only when its "
			    "owner closes it)",
			    r > 0 ? still : who);
}

/* match= as the steering program's rules; how many. */
static unsigned steer_rules(const struct sl_match *match,
			    struct sl_steer_rule *rules)
{
	unsigned i;

	for (i = 0; i < match->n; i++) {
		rules[i].kind = match->rule[i].kind == SL_MATCH_ALL ?
					SL_STEER_RULE_ALL :
					SL_STEER_RULE_UDP;
		rules[i].lo = match->rule[i].lo;
		rules[i].hi = match->rule[i].hi;
	}
	return match->n;
}

int xdp_set_match(struct sl_port *port, const char *text,
		  const struct sl_match *m)
{
	struct sl_steer_rule rules[SL_MATCH_MAX_RULES];
	struct xdp_priv *pv = port->priv;
	int err;

	(void)text;
	pthread_mutex_lock(&xdp_reg_lock);
	if (!pv->ifc) {
		err = sl_fail(ENODEV, "%s: no steering program",
			      port->info.spec);
	} else if (pv->ifc->refs > 1) {
		/* the others asked for the rules as they are */
		err = sl_fail(EBUSY,
			      "%s: the steering program is shared with "
			      "another port: its match stays",
			      port->info.spec);
	} else {
		err = sl_steer_set_rules(pv->ifc->steer, rules,
					 steer_rules(m, rules));
		if (!err)
			pv->ifc->match = *m;
	}
	pthread_mutex_unlock(&xdp_reg_lock);
	return err;
}

int xdp_rx_ts_on(struct sl_port *port)
{
	struct xdp_priv *pv = port->priv;
	int err = 0;

	pthread_mutex_lock(&xdp_reg_lock);
	if (pv->ifc && !pv->ifc->stamps) {
		/* the flag first: every port strips stamps before any comes */
		__atomic_store_n(&pv->ifc->stamps, true, __ATOMIC_RELEASE);
		err = sl_steer_add_flags(pv->ifc->steer, SL_STEER_F_RX_TS);
	}
	pthread_mutex_unlock(&xdp_reg_lock);
	return err;
}

int xdp_steer_attach_new(struct sl_port *port, const struct sl_spec *spec,
			 struct xdp_priv *pv, enum xdp_mode m,
			 const struct sl_match *match, struct sl_steer **out)
{
	struct sl_steer_rule rules[SL_MATCH_MAX_RULES];
	struct sl_steer *s;
	int err;

	(void)port;
	err = sl_steer_load(&s, rules, steer_rules(match, rules));
	if (err) {
		if (err == -EPERM)
			return sl_spec_fail(spec, EPERM, PERM_HINT);
		return sl_spec_fail(spec, -err, "%s", sl_last_error());
	}
	err = sl_steer_attach(s, pv->ifindex,
			      m == MODE_GENERIC ? SL_STEER_MODE_SKB :
						  SL_STEER_MODE_DRV);
	if (err) {
		sl_steer_destroy(s);
		return err; /* the caller words the refusal */
	}
	*out = s;
	return 0;
}
