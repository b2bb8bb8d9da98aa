// SPDX-License-Identifier: MIT
/*
 * Does netfilter look at the traffic a bypass path would take from it?
 *
 * XDP and AF_PACKET see a frame before the IP stack's netfilter hooks on
 * receive, and their transmit never passes them: a rule that drops,
 * rewrites (NAT) or tracks (conntrack) a served socket's datagrams is
 * silently skipped. So a tool that moves unmodified programs' sockets off
 * the kernel (sluice run) must know whether such rules exist.
 *
 * nftables (and iptables-nft, Debian's iptables since 10) is read over
 * nfnetlink: every base chain (one with a hook) of families ip, ip6 and
 * inet on prerouting, input, output or postrouting, and of netdev (ingress,
 * egress), counts when it holds a rule or drops by policy. Forward chains
 * do not: they never see a local socket's traffic. Legacy iptables tables
 * count when /proc/net/ip{,6}_tables_names lists them with rules beyond
 * their built-in chains (asked with IPT_SO_GET_INFO); their policies are
 * not read. Only whether something is there is answered, not whether it
 * matches a port: rules are too expressive to decide that here.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <libmnl/libmnl.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter_ipv4/ip_tables.h>
#include <linux/netfilter_ipv6/ip6_tables.h>

#include "core/log.h"
#include "probe/probe.h"

#define NF_MAX_CHAINS 64

struct nf_chain {
	uint8_t family;
	uint32_t hook;
	bool drops; /* policy drop */
	unsigned rules;
	char table[32], name[32];
};

struct nf_walk {
	struct nf_chain chains[NF_MAX_CHAINS];
	unsigned n;
	/* the chain an attribute callback fills */
	struct nf_chain cur;
	bool has_hook;
};

static const char *family_name(uint8_t f)
{
	switch (f) {
	case NFPROTO_INET:
		return "inet";
	case NFPROTO_IPV4:
		return "ip";
	case NFPROTO_IPV6:
		return "ip6";
	case NFPROTO_NETDEV:
		return "netdev";
	}
	return "?";
}

static const char *hook_name(uint8_t family, uint32_t hook)
{
	static const char *const inet[] = { "prerouting", "input", "forward",
					    "output", "postrouting" };

	if (family == NFPROTO_NETDEV)
		return hook == NF_NETDEV_INGRESS ? "ingress" : "egress";
	return hook < 5 ? inet[hook] : "?";
}

/* Whether a base chain of family on hook sees a local socket's traffic. */
static bool hook_matters(uint8_t family, uint32_t hook)
{
	switch (family) {
	case NFPROTO_INET:
	case NFPROTO_IPV4:
	case NFPROTO_IPV6:
		return hook == NF_INET_PRE_ROUTING ||
		       hook == NF_INET_LOCAL_IN || hook == NF_INET_LOCAL_OUT ||
		       hook == NF_INET_POST_ROUTING;
	case NFPROTO_NETDEV:
		return true;
	}
	return false;
}

static int hook_attr_cb(const struct nlattr *a, void *data)
{
	struct nf_walk *w = data;

	if (mnl_attr_get_type(a) == NFTA_HOOK_HOOKNUM &&
	    mnl_attr_validate(a, MNL_TYPE_U32) == 0) {
		w->cur.hook = ntohl(mnl_attr_get_u32(a));
		w->has_hook = true;
	}
	return MNL_CB_OK;
}

static void put_str(char *dst, size_t len, const struct nlattr *a)
{
	if (mnl_attr_validate(a, MNL_TYPE_NUL_STRING) == 0)
		snprintf(dst, len, "%s", mnl_attr_get_str(a));
}

static int chain_attr_cb(const struct nlattr *a, void *data)
{
	struct nf_walk *w = data;

	switch (mnl_attr_get_type(a)) {
	case NFTA_CHAIN_TABLE:
		put_str(w->cur.table, sizeof(w->cur.table), a);
		break;
	case NFTA_CHAIN_NAME:
		put_str(w->cur.name, sizeof(w->cur.name), a);
		break;
	case NFTA_CHAIN_HOOK:
		if (mnl_attr_validate(a, MNL_TYPE_NESTED) == 0)
			mnl_attr_parse_nested(a, hook_attr_cb, w);
		break;
	case NFTA_CHAIN_POLICY:
		if (mnl_attr_validate(a, MNL_TYPE_U32) == 0)
			w->cur.drops = ntohl(mnl_attr_get_u32(a)) == NF_DROP;
		break;
	}
	return MNL_CB_OK;
}

static int chain_cb(const struct nlmsghdr *nlh, void *data)
{
	struct nf_walk *w = data;
	const struct nfgenmsg *g;

	if (mnl_nlmsg_get_payload_len(nlh) < sizeof(*g))
		return MNL_CB_ERROR;
	g = mnl_nlmsg_get_payload(nlh);
	memset(&w->cur, 0, sizeof(w->cur));
	w->has_hook = false;
	w->cur.family = g->nfgen_family;
	if (mnl_attr_parse(nlh, sizeof(*g), chain_attr_cb, w) != MNL_CB_OK)
		return MNL_CB_ERROR;
	if (w->has_hook && hook_matters(w->cur.family, w->cur.hook) &&
	    w->n < NF_MAX_CHAINS)
		w->chains[w->n++] = w->cur;
	return MNL_CB_OK;
}

static int rule_attr_cb(const struct nlattr *a, void *data)
{
	struct nf_walk *w = data;

	if (mnl_attr_get_type(a) == NFTA_RULE_TABLE)
		put_str(w->cur.table, sizeof(w->cur.table), a);
	else if (mnl_attr_get_type(a) == NFTA_RULE_CHAIN)
		put_str(w->cur.name, sizeof(w->cur.name), a);
	return MNL_CB_OK;
}

static int rule_cb(const struct nlmsghdr *nlh, void *data)
{
	struct nf_walk *w = data;
	const struct nfgenmsg *g;
	unsigned i;

	if (mnl_nlmsg_get_payload_len(nlh) < sizeof(*g))
		return MNL_CB_ERROR;
	g = mnl_nlmsg_get_payload(nlh);
	memset(&w->cur, 0, sizeof(w->cur));
	if (mnl_attr_parse(nlh, sizeof(*g), rule_attr_cb, w) != MNL_CB_OK)
		return MNL_CB_ERROR;
	for (i = 0; i < w->n; i++)
		if (w->chains[i].family == g->nfgen_family &&
		    !strcmp(w->chains[i].table, w->cur.table) &&
		    !strcmp(w->chains[i].name, w->cur.name))
			w->chains[i].rules++;
	return MNL_CB_OK;
}

/* One nftables dump (msg: NFT_MSG_GETCHAIN or _GETRULE) through cb. */
static int nft_dump(struct mnl_socket *nl, uint16_t msg, mnl_cb_t cb,
		    struct nf_walk *w)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct nfgenmsg *g;

	nlh->nlmsg_type = NFNL_SUBSYS_NFTABLES << 8 | msg;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	g = mnl_nlmsg_put_extra_header(nlh, sizeof(*g));
	g->nfgen_family = NFPROTO_UNSPEC;
	g->version = NFNETLINK_V0;
	return sl_nl_talk(nl, nlh, cb, w);
}

/* nftables' base chains that matter, with their rules counted. */
static int nft_walk(struct nf_walk *w)
{
	struct mnl_socket *nl =
		mnl_socket_open2(NETLINK_NETFILTER, SOCK_CLOEXEC);
	int err;

	if (!nl)
		/* no nf_tables in this kernel: nothing of it to skip */
		return errno == EPROTONOSUPPORT ? 0 : -errno;
	if (mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		err = -errno;
		goto out;
	}
	err = nft_dump(nl, NFT_MSG_GETCHAIN, chain_cb, w);
	if (!err && w->n)
		err = nft_dump(nl, NFT_MSG_GETRULE, rule_cb, w);
out:
	mnl_socket_close(nl);
	/* nf_tables not loaded answers the dump with ENOENT */
	return err == -ENOENT ? 0 : err;
}

/* Legacy iptables: the first table of names_file (ip_tables_names,
 * ip6_tables_names) with rules beyond its built-in chains, described in
 * where; 1, 0 none, -errno. */
static int legacy_walk(int family, const char *names_file, char *where,
		       size_t len)
{
	char path[64], name[IPT_TABLE_MAXNAMELEN + 2];
	FILE *f;
	int fd, found = 0;

	snprintf(path, sizeof(path), "/proc/net/%s", names_file);
	f = fopen(path, "re");
	if (!f)
		return 0; /* the module is not loaded: no legacy tables */
	fd = socket(family, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_RAW);
	if (fd < 0) {
		int err = -errno;

		fclose(f);
		return err;
	}
	while (!found && fgets(name, sizeof(name), f)) {
		struct ipt_getinfo info = { 0 };
		socklen_t sl = sizeof(info);
		unsigned hooks = 0, h;

		name[strcspn(name, "\n")] = '\0';
		if (strlen(name) >= sizeof(info.name))
			continue;
		memcpy(info.name, name, strlen(name) + 1);
		if (getsockopt(fd,
			       family == AF_INET ? IPPROTO_IP : IPPROTO_IPV6,
			       family == AF_INET ? IPT_SO_GET_INFO :
						   IP6T_SO_GET_INFO,
			       &info, &sl) < 0)
			continue;
		for (h = 0; h < NF_INET_NUMHOOKS; h++)
			hooks += !!(info.valid_hooks & 1u << h);
		/* a bare table: one policy entry per built-in chain and the
		 * closing error entry */
		if (info.num_entries > hooks + 1) {
			snprintf(where, len, "%s table %s: %u rules",
				 family == AF_INET ? "iptables-legacy" :
						     "ip6tables-legacy",
				 name, info.num_entries - hooks - 1);
			found = 1;
		}
	}
	close(fd);
	fclose(f);
	return found;
}

int sl_probe_netfilter(char *where, size_t len)
{
	struct nf_walk *w;
	char scratch[8];
	unsigned i;
	int r;

	if (!where || !len) {
		where = scratch;
		len = sizeof(scratch);
	}
	where[0] = '\0';
	w = calloc(1, sizeof(*w));
	if (!w)
		return sl_fail(ENOMEM, "netfilter probe: out of memory");
	r = nft_walk(w);
	if (r < 0) {
		free(w);
		return sl_fail(-r, "netfilter probe: nftables: %s",
			       strerror(-r));
	}
	for (i = 0; i < w->n; i++) {
		const struct nf_chain *c = &w->chains[i];

		if (!c->rules && !c->drops)
			continue;
		if (c->rules)
			snprintf(where, len,
				 "nftables %s %s chain %s (%s): %u rule%s",
				 family_name(c->family), c->table, c->name,
				 hook_name(c->family, c->hook), c->rules,
				 c->rules == 1 ? "" : "s");
		else
			snprintf(where, len,
				 "nftables %s %s chain %s (%s): policy drop",
				 family_name(c->family), c->table, c->name,
				 hook_name(c->family, c->hook));
		free(w);
		return 1;
	}
	free(w);
	r = legacy_walk(AF_INET, "ip_tables_names", where, len);
	if (r == 0)
		r = legacy_walk(AF_INET6, "ip6_tables_names", where, len);
	if (r < 0)
		return sl_fail(-r, "netfilter probe: iptables-legacy: %s",
			       strerror(-r));
	return r;
}
