// SPDX-License-Identifier: MIT
/*
 * Manual test bench for the in-kernel traffic generator (sl_live_run) and
 * the two receivers it is measured against. Not a test: it prints rates.
 *
 *   live_gen_try gen IFACE --dst-mac MAC [--src A:P] [--dst A:P] [--size N]
 *                [--flows N] [--count N] [--duration S] [--rate PPS]
 *                [--cpu N] [--batch N]
 *       send UDP frames of N bytes (no FCS; 60 = a 64-byte frame on a wire)
 *       out of IFACE; prints frames offered and Mpps.
 *   live_gen_try sink-xdp IFACE [--native] [--duration S]
 *       attach the drop-and-count XDP program (generic mode unless
 *       --native) to IFACE, print the rate each second, detach at the end
 *       or on SIGINT/SIGTERM. Only use it on an interface you created.
 *   live_gen_try sink-udp --dst A:P [--cpu N] [--duration S]
 *       a UDP socket bound to A:P read with recvmmsg; rate each second.
 *
 * Addresses default to 10.66.0.1:9000 -> 10.66.0.2:9999 (the test bed of
 * the measurement in the report).
 */
#include <errno.h>
#include <getopt.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <sluice/live.h>
#include <sluice/sluice.h>

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int parse_mac(const char *s, uint8_t mac[SL_ETH_ALEN])
{
	unsigned v[6];

	if (sscanf(s, "%x:%x:%x:%x:%x:%x", &v[0], &v[1], &v[2], &v[3], &v[4],
		   &v[5]) != 6)
		return -1;
	for (int i = 0; i < 6; i++)
		mac[i] = (uint8_t)v[i];
	return 0;
}

static int read_mac(const char *ifname, uint8_t mac[SL_ETH_ALEN])
{
	char path[128], buf[32];
	FILE *f;
	int ok;

	snprintf(path, sizeof(path), "/sys/class/net/%s/address", ifname);
	f = fopen(path, "r");
	if (!f)
		return -1;
	ok = fgets(buf, sizeof(buf), f) != NULL;
	fclose(f);
	return ok ? parse_mac(buf, mac) : -1;
}

static void pin(int cpu)
{
	cpu_set_t set;

	if (cpu < 0)
		return;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set))
		perror("sched_setaffinity");
}

struct args {
	const char *ifname;
	const char *dst_mac;
	struct sl_addr src, dst;
	size_t size;
	uint32_t flows;
	uint64_t count;
	double duration;
	uint64_t rate;
	int cpu;
	uint32_t batch;
	int native;
};

static int do_gen(const struct args *a)
{
	struct sl_udp_params p = { .src = a->src, .dst = a->dst };
	struct sl_live_result r = { .sz = sizeof(r) };
	uint8_t frame[SL_LIVE_MAX_FRAME];
	size_t hdr;
	int len, err;

	if (!a->dst_mac || parse_mac(a->dst_mac, p.dst_mac) ||
	    read_mac(a->ifname, p.src_mac)) {
		fprintf(stderr, "gen: needs --dst-mac and an interface with a "
				"MAC address\n");
		return 2;
	}
	hdr = sl_udp_hdr_len(&p);
	if (a->size < hdr || a->size > sizeof(frame)) {
		fprintf(stderr, "gen: size %zu: %zu..%zu\n", a->size, hdr,
			sizeof(frame));
		return 2;
	}
	memset(frame, 0, sizeof(frame));
	len = sl_udp_build(frame, sizeof(frame), &p, NULL, a->size - hdr);
	if (len < 0) {
		fprintf(stderr, "gen: build: %s\n", strerror(-len));
		return 1;
	}
	struct sl_live_opts o = {
		.sz = sizeof(o),
		.ifindex = (int)if_nametoindex(a->ifname),
		.frame = frame,
		.frame_len = (size_t)len,
		.flows = a->flows,
		.count = a->count,
		.duration_s = a->duration,
		.rate_pps = a->rate,
		.cpu = a->cpu,
		.batch_size = a->batch,
	};
	err = sl_live_run(&o, &r);
	if (err) {
		fprintf(stderr, "gen: %s\n", sl_last_error());
		return 1;
	}
	printf("gen: %s %d-byte frames, %u flows, batch %u: %llu frames in "
	       "%.3f s = %.3f Mpps%s\n",
	       a->ifname, len, a->flows ? a->flows : 1,
	       a->batch ? a->batch : SL_LIVE_DEFAULT_BATCH,
	       (unsigned long long)r.frames, r.seconds, r.mpps,
	       r.interrupted ? " (interrupted)" : "");
	return 0;
}

static int do_sink_xdp(const struct args *a)
{
	int ifindex = (int)if_nametoindex(a->ifname);
	struct sl_live_sink *sink;
	uint64_t last = 0, total;
	double t0, tl;

	if (!ifindex) {
		fprintf(stderr, "sink-xdp: no interface %s\n", a->ifname);
		return 2;
	}
	if (sl_live_sink_attach(ifindex, a->native, &sink)) {
		fprintf(stderr, "sink-xdp: %s\n", sl_last_error());
		return 1;
	}
	printf("sink-xdp: attached to %s (%s mode)\n", a->ifname,
	       a->native ? "native" : "generic");
	fflush(stdout);
	t0 = tl = now_s();
	while (!stop && (a->duration <= 0 || now_s() - t0 < a->duration)) {
		usleep(100000);
		if (now_s() - tl >= 1.0) {
			uint64_t n = sl_live_sink_count(sink);
			double t = now_s();

			printf("sink-xdp: %.3f Mpps\n",
			       (double)(n - last) / (t - tl) / 1e6);
			fflush(stdout);
			last = n;
			tl = t;
		}
	}
	total = sl_live_sink_count(sink);
	sl_live_sink_detach(sink);
	printf("sink-xdp: %llu frames in %.3f s\n", (unsigned long long)total,
	       now_s() - t0);
	return 0;
}

#define VLEN 64

static int do_sink_udp(const struct args *a)
{
	static char bufs[VLEN][2048];
	struct mmsghdr msgs[VLEN];
	struct iovec iov[VLEN];
	struct sockaddr_storage ss = { 0 };
	struct timeval tv = { .tv_sec = 0, .tv_usec = 100000 };
	uint64_t n = 0, last = 0;
	int fd, rcvbuf = 4 << 20;
	socklen_t sl;
	double t0, tl;

	pin(a->cpu);
	fd = socket(a->dst.family, SOCK_DGRAM, 0);
	if (fd < 0) {
		perror("socket");
		return 1;
	}
	if (a->dst.family == AF_INET) {
		struct sockaddr_in *s = (struct sockaddr_in *)&ss;

		s->sin_family = AF_INET;
		s->sin_port = htons(a->dst.port);
		s->sin_addr = a->dst.v4;
		sl = sizeof(*s);
	} else {
		struct sockaddr_in6 *s = (struct sockaddr_in6 *)&ss;

		s->sin6_family = AF_INET6;
		s->sin6_port = htons(a->dst.port);
		s->sin6_addr = a->dst.v6;
		sl = sizeof(*s);
	}
	setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof(rcvbuf));
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (bind(fd, (struct sockaddr *)&ss, sl)) {
		perror("bind");
		close(fd);
		return 1;
	}
	for (int i = 0; i < VLEN; i++) {
		iov[i] = (struct iovec){ bufs[i], sizeof(bufs[i]) };
		msgs[i] = (struct mmsghdr){ .msg_hdr = { .msg_iov = &iov[i],
							 .msg_iovlen = 1 } };
	}
	printf("sink-udp: bound, cpu %d\n", a->cpu);
	fflush(stdout);
	t0 = tl = now_s();
	while (!stop && (a->duration <= 0 || now_s() - t0 < a->duration)) {
		int r = recvmmsg(fd, msgs, VLEN, 0, NULL);
		double t;

		if (r > 0)
			n += (uint64_t)r;
		t = now_s();
		if (t - tl >= 1.0) {
			printf("sink-udp: %.3f Mpps\n",
			       (double)(n - last) / (t - tl) / 1e6);
			fflush(stdout);
			last = n;
			tl = t;
		}
	}
	close(fd);
	printf("sink-udp: %llu datagrams in %.3f s\n", (unsigned long long)n,
	       now_s() - t0);
	return 0;
}

static void usage(void)
{
	fprintf(stderr,
		"usage: live_gen_try gen IFACE --dst-mac MAC [--src A:P] "
		"[--dst A:P]\n"
		"         [--size N] [--flows N] [--count N] [--duration S] "
		"[--rate PPS]\n"
		"         [--cpu N] [--batch N]\n"
		"       live_gen_try sink-xdp IFACE [--native] [--duration S]\n"
		"       live_gen_try sink-udp [--dst A:P] [--cpu N] "
		"[--duration S]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "dst-mac", 1, NULL, 'm' },  { "src", 1, NULL, 's' },
		{ "dst", 1, NULL, 'd' },      { "size", 1, NULL, 'z' },
		{ "flows", 1, NULL, 'f' },    { "count", 1, NULL, 'n' },
		{ "duration", 1, NULL, 't' }, { "rate", 1, NULL, 'r' },
		{ "cpu", 1, NULL, 'c' },      { "batch", 1, NULL, 'b' },
		{ "native", 0, NULL, 'N' },   { NULL, 0, NULL, 0 },
	};
	struct args a = { .size = 60, .flows = 1, .cpu = -1 };
	const char *mode;
	int c;

	if (argc < 2)
		usage();
	mode = argv[1];
	sl_addr_parse("10.66.0.1:9000", false, &a.src);
	sl_addr_parse("10.66.0.2:9999", false, &a.dst);
	optind = 2;
	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (c) {
		case 'm':
			a.dst_mac = optarg;
			break;
		case 's':
		case 'd':
			if (sl_addr_parse(optarg, false,
					  c == 's' ? &a.src : &a.dst)) {
				fprintf(stderr, "%s\n", sl_last_error());
				return 2;
			}
			break;
		case 'z':
			a.size = strtoul(optarg, NULL, 0);
			break;
		case 'f':
			a.flows = (uint32_t)strtoul(optarg, NULL, 0);
			break;
		case 'n':
			a.count = strtoull(optarg, NULL, 0);
			break;
		case 't':
			a.duration = strtod(optarg, NULL);
			break;
		case 'r':
			a.rate = strtoull(optarg, NULL, 0);
			break;
		case 'c':
			a.cpu = atoi(optarg);
			break;
		case 'b':
			a.batch = (uint32_t)strtoul(optarg, NULL, 0);
			break;
		case 'N':
			a.native = 1;
			break;
		default:
			usage();
		}
	}
	if (strcmp(mode, "sink-udp") != 0) {
		if (optind >= argc)
			usage();
		a.ifname = argv[optind];
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	if (!strcmp(mode, "gen"))
		return do_gen(&a);
	if (!strcmp(mode, "sink-xdp"))
		return do_sink_xdp(&a);
	if (!strcmp(mode, "sink-udp"))
		return do_sink_udp(&a);
	usage();
	return 2;
}
