// SPDX-License-Identifier: MIT
/*
 * sluice gen: UDP frames out of a port at a given rate, each carrying the
 * payload of sluice.h (sequence, magic, send time, run total), so that
 * `sluice sink` can count loss, duplicates, reordering and one-way latency.
 *
 * Pacing is a token bucket checked once per burst: the bucket fills at
 * --rate frames per second and holds 10 ms of frames (one burst at least),
 * so a sender descheduled for a few ms on a busy host still keeps its
 * average rate, while a longer stall is not made up by a flood. A wait longer than ~200 us sleeps
 * (low rates), a shorter one spins (high rates): a sleep per frame would
 * cap the rate at the timer's resolution.
 *
 * With --cores a pinned worker per core sends on its share of the queues
 * (tools/cores.h) its share of the count and rate, sequence numbers
 * interleaved so the run still carries 0, 1, 2, ... once each.
 *
 * With --engine xdp-live the frames are made in the kernel (see
 * include/sluice/live.h): then no port is opened, the kernel writes the
 * sequence, and the send time is absent (the template says so in its flags).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <sluice/live.h>

#include "cores.h"
#include "sluice.h"

#define GEN_BURST 32
#define GEN_SPIN_NS 200000 /* waits shorter than this spin */
#define GEN_POOL_BUFS 4096 /* a port's default pool, per --cores worker */

static inline void cli_cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#endif
}

static const char gen_help[] =
	"usage: sluice gen PORT --to ADDR:PORT [options]\n"
	"\n"
	"Send UDP frames whose payload carries a sequence number, a magic and\n"
	"the send time, for `sluice sink` to measure loss and latency.\n"
	"\n"
	"  --to ADDR:PORT      destination address and UDP port (required)\n"
	"  --from ADDR:PORT    source (default: the udp: port's own address, or\n"
	"                      the one the kernel would pick for --to)\n"
	"  --size B            frame bytes, Ethernet header included, no FCS\n"
	"                      (default 64; at least 42, 62 over IPv6)\n"
	"  --rate PPS|max      frames per second, k and M suffixes (default "
	"max)\n"
	"  --flows N           source ports sport .. sport+N-1 (sport + seq %% "
	"N)\n"
	"  --count N           frames to send (default 1000 unless --duration)\n"
	"  --duration S        seconds to send\n"
	"  --engine port|xdp-live\n"
	"                      port (default): through PORT with sl_tx_burst;\n"
	"                      xdp-live: in the kernel, PORT is xdp:IFACE or "
	"IFACE\n"
	"                      (root; no send timestamps then)\n"
	"  --dst-mac MAC       next hop's MAC (default: the neighbour table, "
	"else\n"
	"                      broadcast; ignored by udp: ports)\n"
	"  --src-mac MAC       source MAC (default: the port's or interface's)\n"
	"  --json              print the result as JSON on stdout\n"
	"  --cores LIST        send from these CPUs, a pinned worker each on\n"
	"                      queues LIST[i mod n] (the port needs\n"
	"                      queues=A-B); count and rate are shared out,\n"
	"                      worker w sends sequence numbers w, w + n, ...\n"
	"\n"
	"On a udp: port the kernel socket decides the source address and port;\n"
	"the destination is taken from each frame's IP/UDP headers.\n" SL_PRIVS_HELP
	"\n"
	"examples:\n"
	"  sluice gen udp:127.0.0.1:0 --to 127.0.0.1:9000 --rate 10k --count "
	"50k\n"
	"  sluice gen packet:veth0 --to 10.0.0.2:9000 --flows 8 --duration 10\n"
	"  sluice gen xdp:veth0 --engine xdp-live --to 10.0.0.2:9000 --rate "
	"max\n";

struct gen_opts {
	const char *spec;
	struct sl_addr to, from;
	bool have_from, have_dst_mac, have_src_mac, json;
	uint8_t dst_mac[SL_ETH_ALEN], src_mac[SL_ETH_ALEN];
	uint32_t size, flows;
	uint64_t rate, count;
	double duration;
	bool live;
	struct cli_cores cores; /* --cores; n 0 without */
};

/* The source address the kernel would use towards dst (a connected UDP
 * socket sends nothing). 0 or -1. */
int cli_kernel_src(const struct sl_addr *dst, struct sl_addr *out)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	int fd, rc = -1;

	memset(&ss, 0, sizeof(ss));
	if (dst->family == AF_INET) {
		struct sockaddr_in *s4 = (void *)&ss;

		s4->sin_family = AF_INET;
		s4->sin_port = htons(dst->port ? dst->port : 9);
		s4->sin_addr = dst->v4;
		sl = sizeof(*s4);
	} else {
		struct sockaddr_in6 *s6 = (void *)&ss;

		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(dst->port ? dst->port : 9);
		s6->sin6_addr = dst->v6;
		sl = sizeof(*s6);
	}
	fd = socket(dst->family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (connect(fd, (void *)&ss, sl) == 0 &&
	    getsockname(fd, (void *)&ss, &sl) == 0) {
		out->family = dst->family;
		if (dst->family == AF_INET)
			out->v4 = ((struct sockaddr_in *)&ss)->sin_addr;
		else
			out->v6 = ((struct sockaddr_in6 *)&ss)->sin6_addr;
		rc = 0;
	}
	close(fd);
	return rc;
}

/* IPv4 neighbour from /proc/net/arp (complete entries only). 0 or -1. */
int cli_arp_lookup(const struct sl_addr *ip, uint8_t mac[SL_ETH_ALEN])
{
	char line[256], ipbuf[64], macbuf[32], a[INET_ADDRSTRLEN];
	unsigned flags;
	FILE *f;
	int rc = -1;

	if (ip->family != AF_INET)
		return -1;
	inet_ntop(AF_INET, &ip->v4, a, sizeof(a));
	f = fopen("/proc/net/arp", "re");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%63s %*s %x %31s", ipbuf, &flags, macbuf) !=
		    3)
			continue;
		if (strcmp(ipbuf, a) || !(flags & 0x2))
			continue;
		unsigned v[6];

		if (sscanf(macbuf, "%x:%x:%x:%x:%x:%x", &v[0], &v[1], &v[2],
			   &v[3], &v[4], &v[5]) == 6) {
			for (int i = 0; i < 6; i++)
				mac[i] = (uint8_t)v[i];
			rc = 0;
		}
		break;
	}
	fclose(f);
	return rc;
}

static int if_mac(const char *ifname, uint8_t mac[SL_ETH_ALEN])
{
	struct ifreq ifr;
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), rc;

	if (fd < 0)
		return -1;
	memset(&ifr, 0, sizeof(ifr));
	if (strlen(ifname) >= sizeof(ifr.ifr_name)) {
		close(fd);
		return -1;
	}
	memcpy(ifr.ifr_name, ifname, strlen(ifname));
	rc = ioctl(fd, SIOCGIFHWADDR, &ifr);
	close(fd);
	if (rc)
		return -1;
	memcpy(mac, ifr.ifr_hwaddr.sa_data, SL_ETH_ALEN);
	return 0;
}

/* Fill in the payload fields that do not change from frame to frame. */
static void payload_init(uint8_t *pl, size_t len, bool ts, uint64_t total)
{
	uint32_t flags = 0;

	memset(pl, 0, len);
	if (len < SL_GEN_MIN_MAGIC)
		return;
	if (ts && len >= SL_GEN_MIN_TS)
		flags |= SL_GEN_F_TS;
	if (total && len >= SL_GEN_MIN_TOTAL) {
		flags |= SL_GEN_F_TOTAL;
		cli_put_be64(pl + SL_GEN_OFF_TOTAL, total);
	}
	cli_put_be32(pl + SL_GEN_OFF_MAGIC, SL_GEN_MAGIC | flags);
}

static void parse(int argc, char **argv, struct gen_opts *o)
{
	static const struct option lo[] = {
		{ "to", required_argument, NULL, 't' },
		{ "from", required_argument, NULL, 'f' },
		{ "size", required_argument, NULL, 's' },
		{ "rate", required_argument, NULL, 'r' },
		{ "flows", required_argument, NULL, 'F' },
		{ "count", required_argument, NULL, 'c' },
		{ "duration", required_argument, NULL, 'd' },
		{ "engine", required_argument, NULL, 'e' },
		{ "dst-mac", required_argument, NULL, 'D' },
		{ "src-mac", required_argument, NULL, 'S' },
		{ "json", no_argument, NULL, 'j' },
		{ "cores", required_argument, NULL, 'C' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	bool have_to = false, have_count = false;
	int c;

	memset(o, 0, sizeof(*o));
	o->size = 64;
	o->flows = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":hjt:s:r:c:d:", lo, NULL)) != -1) {
		switch (c) {
		case 't':
			cli_opt_addr("--to", optarg, false, &o->to);
			have_to = true;
			break;
		case 'f':
			cli_opt_addr("--from", optarg, true, &o->from);
			o->have_from = true;
			break;
		case 's':
			o->size = (uint32_t)cli_opt_u64("--size", optarg, 0,
							9000);
			break;
		case 'r':
			o->rate = strcmp(optarg, "max") == 0 ?
					  0 :
					  cli_opt_u64("--rate", optarg, 1,
						      1000000000);
			break;
		case 'F':
			o->flows = (uint32_t)cli_opt_u64("--flows", optarg, 1,
							 SL_LIVE_MAX_FLOWS);
			break;
		case 'c':
			o->count =
				cli_opt_u64("--count", optarg, 1, UINT64_MAX);
			have_count = true;
			break;
		case 'd':
			o->duration = cli_opt_seconds("--duration", optarg);
			break;
		case 'e':
			if (strcmp(optarg, "port") == 0)
				o->live = false;
			else if (strcmp(optarg, "xdp-live") == 0)
				o->live = true;
			else
				cli_usage_fail("--engine %s: unknown engine "
					       "(port or xdp-live)",
					       optarg);
			break;
		case 'D':
			cli_opt_mac("--dst-mac", optarg, o->dst_mac);
			o->have_dst_mac = true;
			break;
		case 'S':
			cli_opt_mac("--src-mac", optarg, o->src_mac);
			o->have_src_mac = true;
			break;
		case 'j':
			o->json = true;
			break;
		case 'C':
			cli_cores_parse(&o->cores, optarg);
			break;
		case 'h':
			fputs(gen_help, stdout);
			exit(0);
		default:
			cli_opt_bad(c, optopt, argv);
		}
	}
	if (optind >= argc)
		cli_usage_fail("missing PORT (a spec such as udp:127.0.0.1:0)");
	o->spec = argv[optind++];
	if (optind < argc)
		cli_usage_fail("unexpected argument '%s'", argv[optind]);
	if (!have_to)
		cli_usage_fail("--to ADDR:PORT is required");
	if (o->have_from && o->from.family != o->to.family)
		cli_usage_fail("--from: not the address family of --to");
	if (o->have_from && !o->from.port)
		o->from.port = 10000;
	if (have_count && o->duration > 0)
		cli_usage_fail("--count and --duration: give one of them");
	if (!have_count && o->duration <= 0)
		o->count = 1000;
	{
		uint32_t min = o->to.family == AF_INET6 ? 62 : 42;

		if (o->size < min)
			cli_usage_fail(
				"--size %u: too small: a UDP frame needs "
				"at least %u bytes",
				o->size, min);
	}
}

static struct json_object *result_json(const struct gen_opts *o, uint64_t sent,
				       uint64_t bytes, double secs,
				       bool interrupted, bool ts)
{
	struct json_object *r = json_object_new_object();

	json_object_object_add(r, "engine",
			       json_object_new_string(o->live ? "xdp-live" :
								"port"));
	json_object_object_add(r, "tx_packets", json_object_new_uint64(sent));
	json_object_object_add(r, "tx_bytes", json_object_new_uint64(bytes));
	json_object_object_add(r, "frame_size",
			       json_object_new_uint64(o->size));
	json_object_object_add(r, "flows", json_object_new_uint64(o->flows));
	json_object_object_add(r, "elapsed_s", json_object_new_double(secs));
	json_object_object_add(
		r, "pps", json_object_new_double(secs > 0 ? sent / secs : 0));
	json_object_object_add(
		r, "bps",
		json_object_new_double(secs > 0 ? bytes * 8.0 / secs : 0));
	json_object_object_add(r, "timestamps", json_object_new_boolean(ts));
	json_object_object_add(r, "interrupted",
			       json_object_new_boolean(interrupted));
	return r;
}

static void print_text(const struct gen_opts *o, uint64_t sent, uint64_t bytes,
		       double secs)
{
	printf("gen: sent %" PRIu64 " frames, %" PRIu64 " bytes in %.3f s: "
	       "%.0f pps, %.1f Mb/s%s\n",
	       sent, bytes, secs, secs > 0 ? sent / secs : 0,
	       secs > 0 ? bytes * 8.0 / secs / 1e6 : 0,
	       o->live ? " (xdp-live: no send timestamps)" : "");
}

static int run_live(struct gen_opts *o, uint8_t *frame, size_t hlen,
		    const struct sl_udp_params *hp0)
{
	struct sl_live_opts lo = { .sz = sizeof(lo) };
	struct sl_live_result res = { .sz = sizeof(res) };
	struct sl_udp_params hp = *hp0;
	const char *ifname = o->spec;
	char name[IF_NAMESIZE + 1];
	int len, rc;

	if (strncmp(ifname, "xdp:", 4) == 0)
		ifname += 4;
	snprintf(name, sizeof(name), "%.*s", (int)strcspn(ifname, ","), ifname);
	lo.ifindex = (int)if_nametoindex(name);
	if (!lo.ifindex)
		cli_die("--engine xdp-live: %s: no such interface", name);
	if (!o->have_src_mac && if_mac(name, hp.src_mac))
		cli_die("--engine xdp-live: %s: cannot read its MAC address",
			name);
	payload_init(frame + hlen, o->size - hlen, false, o->count);
	len = sl_udp_build(frame, o->size, &hp, frame + hlen, o->size - hlen);
	if (len < 0)
		cli_die("cannot build a frame: %s", strerror(-len));
	lo.frame = frame;
	lo.frame_len = (size_t)len;
	lo.flows = o->flows;
	lo.count = o->count;
	lo.duration_s = o->duration;
	lo.rate_pps = o->rate;
	lo.cpu = -1;
	rc = sl_live_run(&lo, &res);
	if (rc)
		cli_die("--engine xdp-live: %s", sl_last_error());
	if (o->json) {
		struct json_object *r =
			result_json(o, res.frames, res.frames * (uint64_t)len,
				    res.seconds, res.interrupted, false);

		/* the kernel sends nothing while a call starts and ends
		 * (an RCU grace period): part of elapsed_s */
		json_object_object_add(r, "kernel_calls",
				       json_object_new_uint64(res.calls));
		json_object_object_add(r, "paused_s",
				       json_object_new_double(res.paused_s));
		cli_json_print(r);
	} else {
		print_text(o, res.frames, res.frames * (uint64_t)len,
			   res.seconds);
		printf("gen: xdp-live: %u kernel call(s), %.3f s of it "
		       "paused between them (nothing sent)\n",
		       (unsigned)res.calls, res.paused_s);
	}
	return 0;
}

/* Wait until t (sl_time_ns clock): sleep most of a long wait, spin the
 * rest. Returns early on a signal. */
static void wait_until(uint64_t t)
{
	uint64_t now = sl_time_ns();

	if (t > now + GEN_SPIN_NS) {
		uint64_t d = t - now - GEN_SPIN_NS / 2;
		struct timespec ts = { (time_t)(d / 1000000000ull),
				       (long)(d % 1000000000ull) };

		nanosleep(&ts, NULL);
	}
	while (!cli_stop && sl_time_ns() < t)
		cli_cpu_relax();
}

/*
 * One sender: worker w of nw sends the sequence numbers w, w + nw, ... (all
 * of them, 0, 1, ..., when alone), count of them (0: until end or a stop)
 * at rate frames per second (0: as fast as it can), round robin over its
 * queues first, first + step, ... below nq. sent, bytes, nombuf and done
 * are published for the main thread.
 */
struct gen_w {
	const struct gen_opts *o;
	struct sl_port *port;
	struct sl_pool *pool;
	const uint8_t *tmpl;
	size_t hlen, plen;
	int len;
	bool ts;
	uint16_t sport;
	unsigned w, nw, first, step, nq;
	uint64_t count, rate, end;
	struct cli_qcount *qc;
	struct cli_status *st; /* the main thread's line, when it sends */
	uint64_t sent, bytes, nombuf, done; /* published */
} SL_CACHE_ALIGNED;

static int gen_loop(void *arg)
{
	struct gen_w *g = arg;
	const struct gen_opts *o = g->o;
	struct sl_pkt *pkts[GEN_BURST];
	double tokens = GEN_BURST, per_ns, depth;
	uint64_t k = 0, bytes = 0, nombuf = 0, now, last;
	unsigned q = g->first;

	per_ns = g->rate ? (double)g->rate / 1e9 : 0;
	depth = (double)g->rate / 100;
	if (depth < GEN_BURST)
		depth = GEN_BURST;
	last = now = sl_time_ns();
	while (!cli_stop && !sl_lcore_stopping()) {
		unsigned n = GEN_BURST, i, taken;

		if (g->count && k >= g->count)
			break;
		if (g->end && now >= g->end)
			break;
		if (g->count && g->count - k < n)
			n = (unsigned)(g->count - k);
		if (per_ns) {
			tokens += (double)(now - last) * per_ns;
			last = now;
			if (tokens > depth)
				tokens = depth;
			if (tokens < 1) {
				uint64_t due =
					now +
					(uint64_t)((1 - tokens) / per_ns) + 1;

				if (g->end && due > g->end)
					due = g->end;
				wait_until(due);
				now = sl_time_ns();
				continue;
			}
			if (n > (unsigned)tokens)
				n = (unsigned)tokens;
		}
		if (sl_pkt_alloc_bulk(g->pool, pkts, n)) {
			nombuf++;
			cli_st(&g->nombuf, nombuf);
			/* an empty burst lets the driver take back what its
			 * transmit completions hold */
			sl_tx_burst(g->port, (uint16_t)q, pkts, 0);
			now = sl_time_ns();
			continue;
		}
		now = sl_time_ns();
		for (i = 0; i < n; i++) {
			struct sl_pkt *p = pkts[i];
			uint8_t *pl = p->data + g->hlen;
			uint64_t s = (k + i) * g->nw + g->w;

			memcpy(p->data, g->tmpl, (size_t)g->len);
			p->len = (uint32_t)g->len;
			if (g->plen >= 8)
				cli_put_be64(pl + SL_GEN_OFF_SEQ, s);
			if (g->ts)
				cli_put_be64(pl + SL_GEN_OFF_TS, now);
			if (o->flows > 1) {
				struct sl_udp_hdr *u =
					(void *)(p->data + g->hlen - 8);

				u->sport = htons(
					(uint16_t)(g->sport + s % o->flows));
			}
			if (o->to.family == AF_INET6) {
				struct sl_udp_hdr *u =
					(void *)(p->data + g->hlen - 8);
				struct sl_ipv6_hdr *ip6 =
					(void *)(p->data + g->hlen - 8 -
						 sizeof(*ip6));

				u->csum = 0;
				u->csum = sl_ipv6_l4_csum(ip6, SL_IPPROTO_UDP,
							  u, g->plen + 8);
			}
		}
		taken = sl_tx_burst(g->port, (uint16_t)q, pkts, (uint16_t)n);
		if (taken < n) {
			/* back-pressure: the unsent tail gets its sequence
			 * numbers again next time, so the stream has no gap */
			sl_pkt_free_bulk(pkts + taken, n - taken);
		}
		k += taken;
		bytes += (uint64_t)taken * (uint64_t)g->len;
		g->qc[q].tx += taken;
		g->qc[q].bytes += (uint64_t)taken * (uint64_t)g->len;
		q += g->step;
		if (q >= g->nq)
			q = g->first;
		if (per_ns)
			tokens -= taken;
		cli_st(&g->sent, k);
		cli_st(&g->bytes, bytes);
		now = sl_time_ns();
		if (g->st)
			cli_status_tick(g->st, now, "gen", k, bytes, nombuf);
	}
	/* what this worker's cache holds goes back for the others */
	if (g->nw > 1)
		sl_pool_cache_flush(g->pool);
	cli_st(&g->done, 1);
	return 0;
}

int cmd_gen(int argc, char **argv)
{
	struct sl_port_info info = { .sz = sizeof(info) };
	struct sl_udp_params hp = { 0 };
	struct sl_port_opts po = { .sz = sizeof(po) };
	struct cli_qcount qc[SL_PORT_MAX_QUEUES];
	struct json_object *checks = NULL;
	struct sl_lcores *set = NULL;
	struct cli_status st;
	struct gen_opts o;
	struct gen_w *ws;
	unsigned nq, nw, w;
	struct sl_port *port;
	struct sl_pool *pool;
	uint8_t tmpl[9216];
	uint64_t seq = 0, bytes = 0, t0, now, end = 0, nombuf = 0;
	size_t hlen, plen;
	bool ts;
	int len;

	parse(argc, argv, &o);
	hp.dst = o.to;
	if (o.have_dst_mac)
		memcpy(hp.dst_mac, o.dst_mac, SL_ETH_ALEN);
	else if (cli_arp_lookup(&o.to, hp.dst_mac))
		memset(hp.dst_mac, 0xff, SL_ETH_ALEN);
	if (o.have_src_mac)
		memcpy(hp.src_mac, o.src_mac, SL_ETH_ALEN);
	hp.flags = o.to.family == AF_INET ? SL_BUILD_NO_L4_CSUM : 0;
	if (o.have_from) {
		hp.src = o.from;
	} else {
		if (cli_kernel_src(&o.to, &hp.src))
			cli_die("--to: no route to it; give --from");
		hp.src.port = 10000;
	}
	hlen = sl_udp_hdr_len(&hp);
	plen = o.size - hlen;

	/* the in-kernel generator keeps its privileges: it drives the kernel
	 * through bpf() (BPF_PROG_RUN with live frames) for the whole run,
	 * which needs CAP_BPF and CAP_NET_ADMIN until the last frame */
	if (o.live && cli_privs_user)
		cli_usage_fail(
			"--user: not with --engine xdp-live, which needs "
			"its privileges for the whole run");
	if (o.live && o.cores.n)
		cli_usage_fail("--cores: not with --engine xdp-live, whose "
			       "frames the kernel makes");
	if (o.live)
		return run_live(&o, tmpl, hlen, &hp);

	/* each queue's rings hold buffers (an xdp port's fill and TX rings,
	 * a ring each per queue) and each worker its pool cache: a pool per
	 * worker the size of the default one */
	po.n_bufs = o.cores.n > 1 ? GEN_POOL_BUFS * o.cores.n : 0;
	port = cli_open_port_opts(o.spec, NULL, &po);
	pool = sl_port_pool(port);
	if (sl_port_info(port, &info) == 0) {
		if (!o.have_src_mac)
			memcpy(hp.src_mac, info.mac, SL_ETH_ALEN);
		if (!o.have_from && info.addr.family == o.to.family) {
			hp.src = info.addr;
			if (!hp.src.port)
				hp.src.port = 10000;
		}
		if (!strcmp(info.driver, "udp") &&
		    info.addr.family != o.to.family)
			cli_usage_fail(
				"--to: an IPv%c destination for an IPv%c "
				"port",
				o.to.family == AF_INET6 ? '6' : '4',
				info.addr.family == AF_INET6 ? '6' : '4');
	}
	ts = plen >= SL_GEN_MIN_TS;
	payload_init(tmpl + hlen, plen, true, o.count);
	len = sl_udp_build(tmpl, sizeof(tmpl), &hp, tmpl + hlen, plen);
	if (len < 0)
		cli_die("cannot build a frame: %s", strerror(-len));
	if ((uint32_t)len + sl_pool_headroom(pool) + SL_PKT_META >
	    pool->buf_size)
		cli_usage_fail("--size %u: too large for the port's buffers",
			       o.size);

	nq = info.n_queues ? info.n_queues : 1;
	cli_cores_fit(&o.cores, nq, o.spec);
	nw = o.cores.n ? o.cores.n : 1;
	if (o.rate && o.rate < nw)
		cli_usage_fail("--rate %" PRIu64 ": below one frame a second "
			       "for each of %u cores",
			       o.rate, nw);
	ws = aligned_alloc(SL_CACHE_LINE, nw * sizeof(*ws));
	if (!ws)
		cli_die("out of memory");
	memset(ws, 0, nw * sizeof(*ws));
	memset(qc, 0, sizeof(qc));
	checks = cli_cores_check(&o.cores, port, o.json);

	cli_status_init(&st, o.json);
	cli_privs_drop(&port, 1, true);
	t0 = now = sl_time_ns();
	if (o.duration > 0)
		end = t0 + (uint64_t)(o.duration * 1e9);
	for (w = 0; w < nw; w++) {
		struct gen_w *g = &ws[w];

		g->o = &o;
		g->port = port;
		g->pool = pool;
		g->tmpl = tmpl;
		g->hlen = hlen;
		g->plen = plen;
		g->len = len;
		g->ts = ts;
		g->sport = hp.src.port;
		g->w = g->first = w;
		g->nw = g->step = nw;
		g->nq = o.cores.n ? nq : 1; /* alone: queue 0, as ever */
		/* the run's count and rate shared out, the rest to the
		 * first workers: together exactly the run's */
		g->count = o.count / nw + (w < o.count % nw);
		g->rate = o.rate / nw + (w < o.rate % nw);
		g->end = end;
		g->qc = qc;
		g->st = o.cores.n ? NULL : &st;
	}
	if (o.cores.n) {
		set = cli_cores_launch(&o.cores, gen_loop, ws, sizeof(*ws));
		for (;;) {
			struct timespec nap = { 0, 1000000 };
			uint64_t sent = 0, b = 0, nb = 0;
			unsigned done = 0;

			nanosleep(&nap, NULL);
			for (w = 0; w < nw; w++) {
				sent += cli_ld(&ws[w].sent);
				b += cli_ld(&ws[w].bytes);
				nb += cli_ld(&ws[w].nombuf);
				done += (unsigned)cli_ld(&ws[w].done);
			}
			cli_status_tick(&st, sl_time_ns(), "gen", sent, b, nb);
			if (done == nw || cli_stop)
				break;
		}
		cli_cores_join(set);
	} else {
		gen_loop(&ws[0]);
	}
	for (w = 0; w < nw; w++) {
		seq += ws[w].sent;
		bytes += ws[w].bytes;
		nombuf += ws[w].nombuf;
	}
	now = sl_time_ns();
	cli_status_end(&st);
	if (o.json) {
		struct json_object *r = result_json(
			&o, seq, bytes, cli_secs(now - t0), cli_stop, ts);

		json_object_object_add(r, "nombuf",
				       json_object_new_uint64(nombuf));
		if (o.cores.n) {
			json_object_object_add(
				r, "queues", cli_json_queues(&o.cores, qc, nq));
			json_object_object_add(r, "cores", checks);
			checks = NULL;
		}
		json_object_object_add(r, "port", cli_json_port(port));
		cli_json_print(r);
	} else {
		print_text(&o, seq, bytes, cli_secs(now - t0));
		if (o.cores.n)
			cli_print_queues(&o.cores, qc, nq);
	}
	json_object_put(checks);
	free(ws);
	sl_port_close(port);
	return 0;
}
