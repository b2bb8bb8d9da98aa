// SPDX-License-Identifier: MIT
/*
 * sluice stats: one snapshot of a running sluice process's telemetry
 * (include/sluice/telemetry.h): its ports with their counters per queue
 * and xstats, its pools and its RDMA QPs; as text, as JSON, or in the
 * Prometheus text exposition format (version 0.0.4), on stdout for
 * node_exporter's textfile collector or served over HTTP (--listen) for a
 * scraper. Without a PID, --prometheus covers every sluice process here.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "sluice.h"
#include "tm_client.h"

#define MAX_PROCS 256

static const char stats_help[] =
	"usage: sluice stats [PID|SOCKET] [--json | --prometheus "
	"[--listen ADDR:PORT]]\n"
	"\n"
	"What a running sluice process has open, read live from its "
	"telemetry\n"
	"socket: ports (counters in all and per queue, driver counters), "
	"pools\n"
	"(buffers in use) and RDMA QPs. A process serves it when started "
	"with\n"
	"SLUICE_TELEMETRY=1 (socket " TMC_DIR "/PID.sock) or "
	"SLUICE_TELEMETRY=PATH.\n"
	"\n"
	"  --json              the snapshot as JSON\n"
	"  --prometheus        Prometheus text format (for node_exporter's\n"
	"                      textfile collector); without PID, every "
	"process\n"
	"  --listen ADDR:PORT  serve that over HTTP (GET /metrics) until\n"
	"                      stopped, a fresh snapshot per scrape\n"
	"\n"
	"examples:\n"
	"  SLUICE_TELEMETRY=1 sluice sink udp:127.0.0.1:9000 &\n"
	"  sluice stats $!\n"
	"  sluice stats --prometheus > /var/lib/node_exporter/sluice.prom\n"
	"  sluice stats --prometheus --listen 127.0.0.1:9464\n";

/* ---- text -------------------------------------------------------------- */

static void print_dir(struct json_object *o, const char *dir)
{
	char k[32];

#define F(name) (snprintf(k, sizeof(k), "%s_%s", dir, name), tmc_u64(o, k))
	printf("%s %" PRIu64 " packets %" PRIu64 " bytes, dropped %" PRIu64
	       " errors %" PRIu64,
	       dir, F("packets"), F("bytes"), F("dropped"), F("errors"));
	if (!strcmp(dir, "rx"))
		printf(" nombuf %" PRIu64 " invalid %" PRIu64, F("nombuf"),
		       F("invalid"));
	else
		printf(" full %" PRIu64, F("full"));
#undef F
}

static void print_text(struct json_object *st)
{
	struct json_object *a, *o;
	size_t i, j;

	printf("pid %" PRIu64 " %s (sluice %s)\n", tmc_u64(st, "pid"),
	       tmc_str(st, "comm"), tmc_str(st, "version"));
	json_object_object_get_ex(st, "ports", &a);
	for (i = 0; a && i < json_object_array_length(a); i++) {
		struct json_object *q, *x;

		o = json_object_array_get_idx(a, i);
		printf("port %" PRIu64 " %s (%s %s, %" PRIu64
		       " queue(s), %s%s%s)\n",
		       tmc_u64(o, "id"), tmc_str(o, "spec"),
		       tmc_str(o, "driver"), tmc_str(o, "mode"),
		       tmc_u64(o, "n_queues"), tmc_str(o, "state"),
		       *tmc_str(o, "error") ? ": " : "", tmc_str(o, "error"));
		printf("  ");
		print_dir(o, "rx");
		printf("\n  ");
		print_dir(o, "tx");
		printf("\n");
		if (json_object_object_get_ex(o, "queues", &q) &&
		    json_object_array_length(q) > 1) {
			for (j = 0; j < json_object_array_length(q); j++) {
				struct json_object *qo =
					json_object_array_get_idx(q, j);

				printf("  queue %" PRIu64 ": rx %" PRIu64
				       " tx %" PRIu64 " dropped %" PRIu64 "\n",
				       tmc_u64(qo, "queue"),
				       tmc_u64(qo, "rx_packets"),
				       tmc_u64(qo, "tx_packets"),
				       tmc_u64(qo, "rx_dropped") +
					       tmc_u64(qo, "tx_dropped"));
			}
		}
		if (json_object_object_get_ex(o, "xstats", &x) &&
		    json_object_object_length(x)) {
			printf("  xstats:");
			json_object_object_foreach(x, k, v) printf(
				" %s %" PRIu64, k, json_object_get_uint64(v));
			printf("\n");
		}
	}
	json_object_object_get_ex(st, "pools", &a);
	for (i = 0; a && i < json_object_array_length(a); i++) {
		o = json_object_array_get_idx(a, i);
		printf("pool %" PRIu64 " %s: %" PRIu64 "/%" PRIu64
		       " in use, get_fail %" PRIu64 "\n",
		       tmc_u64(o, "id"), tmc_str(o, "name"),
		       tmc_u64(o, "in_use"), tmc_u64(o, "capacity"),
		       tmc_u64(o, "get_fail"));
	}
	json_object_object_get_ex(st, "qps", &a);
	for (i = 0; a && i < json_object_array_length(a); i++) {
		o = json_object_array_get_idx(a, i);
		printf("qp %" PRIu64 " qpn %#" PRIx64
		       " %s on port %s queue %" PRIu64 ": tx %" PRIu64
		       " rx %" PRIu64 " retransmits %" PRIu64
		       " timeouts %" PRIu64 " naks %" PRIu64 "\n",
		       tmc_u64(o, "id"), tmc_u64(o, "qpn"), tmc_str(o, "state"),
		       tmc_str(o, "port"), tmc_u64(o, "queue"),
		       tmc_u64(o, "tx_pkts"), tmc_u64(o, "rx_pkts"),
		       tmc_u64(o, "retransmits"), tmc_u64(o, "timeouts"),
		       tmc_u64(o, "seq_naks_rcvd") +
			       tmc_u64(o, "rnr_naks_rcvd") +
			       tmc_u64(o, "err_naks_rcvd"));
	}
}

/* ---- Prometheus -------------------------------------------------------- */

/* A growing text buffer: the exposition is built whole, then written. */
struct text {
	char *s;
	size_t len, cap;
};

static void SL_PRINTF_T(2, 3) tput(struct text *t, const char *fmt, ...)
{
	va_list ap;
	int n;

	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(t->s + t->len, t->cap - t->len, fmt, ap);
		va_end(ap);
		if (n < 0)
			return;
		if ((size_t)n < t->cap - t->len) {
			t->len += (size_t)n;
			return;
		}
		t->cap = (t->cap + (size_t)n + 1) * 2;
		t->s = realloc(t->s, t->cap);
		if (!t->s)
			cli_die("out of memory");
	}
}

/* A label value, escaped as the format asks: \\, \" and \n. */
static void tlabel(struct text *t, const char *name, const char *v)
{
	tput(t, "%s=\"", name);
	for (; *v; v++) {
		if (*v == '\\' || *v == '"')
			tput(t, "\\%c", *v);
		else if (*v == '\n')
			tput(t, "\\n");
		else
			tput(t, "%c", *v);
	}
	tput(t, "\"");
}

/* One family: which object list it reads and how its labels go. */
enum fam_of { OF_QUEUE, OF_XSTAT, OF_POOL, OF_QP };

struct fam {
	const char *name; /* sluice_<name> */
	const char *type; /* counter, gauge */
	const char *key; /* the JSON member read */
	enum fam_of of;
	const char *help;
};

static const struct fam fams[] = {
#define Q(k, h)                                               \
	{                                                     \
		"port_" k "_total", "counter", k, OF_QUEUE, h \
	}
	Q("rx_packets", "Frames a port queue received."),
	Q("rx_bytes", "Bytes a port queue received."),
	Q("rx_dropped", "Frames dropped on receive (no room, filtered)."),
	Q("rx_errors", "Receive errors."),
	Q("rx_nombuf", "Frames lost for want of a pool buffer."),
	Q("rx_invalid", "Malformed descriptors or frames on receive."),
	Q("tx_packets", "Frames a port queue sent."),
	Q("tx_bytes", "Bytes a port queue sent."),
	Q("tx_dropped", "Frames dropped on transmit."),
	Q("tx_errors", "Transmit errors."),
	Q("tx_full", "Transmit bursts cut short by a full ring."),
#undef Q
	{ "port_xstat", "untyped", NULL, OF_XSTAT,
	  "A driver or decorator counter of a port, by name." },
	{ "pool_capacity_buffers", "gauge", "capacity", OF_POOL,
	  "Buffers in a pool." },
	{ "pool_in_use_buffers", "gauge", "in_use", OF_POOL,
	  "Buffers of a pool out of it (held by ports or the application)." },
	{ "pool_get_fail_total", "counter", "get_fail", OF_POOL,
	  "Bulk gets a pool refused for lack of buffers." },
#define R(k, h)                                               \
	{                                                     \
		"rdma_qp_" k "_total", "counter", k, OF_QP, h \
	}
	R("tx_pkts", "Packets an RDMA QP sent."),
	R("rx_pkts", "Packets an RDMA QP received."),
	R("retransmits", "Packets an RDMA QP sent again (go-back-N)."),
	R("timeouts", "Local ACK timeouts of an RDMA QP."),
	R("seq_naks_rcvd", "Sequence NAKs an RDMA QP received."),
	R("rnr_naks_rcvd", "RNR NAKs an RDMA QP received."),
	R("err_naks_rcvd", "Error NAKs an RDMA QP received."),
	R("dup_reqs", "Duplicate requests an RDMA QP's responder saw."),
#undef R
};

static void proc_labels(struct text *t, struct json_object *st)
{
	char pid[24];

	snprintf(pid, sizeof(pid), "%" PRIu64, tmc_u64(st, "pid"));
	tlabel(t, "pid", pid);
	tput(t, ",");
	tlabel(t, "comm", tmc_str(st, "comm"));
}

static void fam_samples(struct text *t, const struct fam *f,
			struct json_object *st)
{
	struct json_object *a, *o;
	char id[24];
	size_t i, j;

	json_object_object_get_ex(st,
				  f->of == OF_POOL ? "pools" :
				  f->of == OF_QP   ? "qps" :
						     "ports",
				  &a);
	for (i = 0; a && i < json_object_array_length(a); i++) {
		o = json_object_array_get_idx(a, i);
		snprintf(id, sizeof(id), "%" PRIu64, tmc_u64(o, "id"));
		if (f->of == OF_POOL || f->of == OF_QP) {
			tput(t, "sluice_%s{", f->name);
			proc_labels(t, st);
			tput(t, ",");
			tlabel(t, f->of == OF_POOL ? "pool" : "qp", id);
			tput(t, ",");
			if (f->of == OF_POOL) {
				tlabel(t, "name", tmc_str(o, "name"));
			} else {
				char qpn[24];

				snprintf(qpn, sizeof(qpn), "%" PRIu64,
					 tmc_u64(o, "qpn"));
				tlabel(t, "qpn", qpn);
			}
			tput(t, "} %" PRIu64 "\n", tmc_u64(o, f->key));
			continue;
		}
		if (f->of == OF_XSTAT) {
			struct json_object *x;

			if (!json_object_object_get_ex(o, "xstats", &x))
				continue;
			json_object_object_foreach(x, k, v)
			{
				tput(t, "sluice_%s{", f->name);
				proc_labels(t, st);
				tput(t, ",");
				tlabel(t, "port", id);
				tput(t, ",");
				tlabel(t, "spec", tmc_str(o, "spec"));
				tput(t, ",");
				tlabel(t, "name", k);
				tput(t, "} %" PRIu64 "\n",
				     json_object_get_uint64(v));
			}
			continue;
		}
		{
			struct json_object *qs;

			if (!json_object_object_get_ex(o, "queues", &qs))
				continue;
			for (j = 0; j < json_object_array_length(qs); j++) {
				struct json_object *q =
					json_object_array_get_idx(qs, j);
				char qn[24];

				snprintf(qn, sizeof(qn), "%" PRIu64,
					 tmc_u64(q, "queue"));
				tput(t, "sluice_%s{", f->name);
				proc_labels(t, st);
				tput(t, ",");
				tlabel(t, "port", id);
				tput(t, ",");
				tlabel(t, "spec", tmc_str(o, "spec"));
				tput(t, ",");
				tlabel(t, "driver", tmc_str(o, "driver"));
				tput(t, ",");
				tlabel(t, "queue", qn);
				tput(t, "} %" PRIu64 "\n", tmc_u64(q, f->key));
			}
		}
	}
}

/*
 * The exposition of snapshots st[0..n): each family once, with its HELP
 * and TYPE, and its samples from every process together, as the format
 * wants a family's lines in one group. NUL-terminated, to free.
 */
static char *prometheus(struct json_object **st, unsigned n, size_t *len)
{
	struct text t = { 0 };
	unsigned i, k;

	tput(&t, "# HELP sluice_up A sluice process answered its telemetry "
		 "socket.\n# TYPE sluice_up gauge\n");
	for (k = 0; k < n; k++) {
		tput(&t, "sluice_up{");
		proc_labels(&t, st[k]);
		tput(&t, ",");
		tlabel(&t, "version", tmc_str(st[k], "version"));
		tput(&t, "} 1\n");
	}
	for (i = 0; i < SL_ARRAY_SIZE_T(fams); i++) {
		tput(&t, "# HELP sluice_%s %s\n# TYPE sluice_%s %s\n",
		     fams[i].name, fams[i].help, fams[i].name, fams[i].type);
		for (k = 0; k < n; k++)
			fam_samples(&t, &fams[i], st[k]);
	}
	*len = t.len;
	return t.s;
}

/* Snapshots of one process (path) or of all; how many. */
static unsigned gather(const char *path, struct json_object **st)
{
	static char paths[MAX_PROCS][TMC_PATH];
	char err[512];
	unsigned n = 0, i, k = 0;

	if (path) {
		snprintf(paths[0], TMC_PATH, "%s", path);
		n = 1;
	} else {
		n = tmc_discover(paths, MAX_PROCS);
	}
	for (i = 0; i < n; i++) {
		st[k] = tmc_snapshot(paths[i], true, err, sizeof(err));
		if (st[k])
			k++;
		else if (path)
			cli_die("%s", err);
	}
	return k;
}

static char *exposition(const char *path, size_t *len)
{
	static struct json_object *st[MAX_PROCS];
	unsigned n = gather(path, st), i;
	char *s = prometheus(st, n, len);

	for (i = 0; i < n; i++)
		json_object_put(st[i]);
	return s;
}

/* ---- --listen: a scrape endpoint --------------------------------------- */

static void send_all(int fd, const char *s, size_t len)
{
	ssize_t w;

	while (len) {
		w = send(fd, s, len, MSG_NOSIGNAL);
		if (w <= 0)
			return;
		s += w;
		len -= (size_t)w;
	}
}

/* One request: GET /metrics (or /) gets the exposition, anything else 404.
 * The request is read with a timeout, so a silent client holds the
 * endpoint for at most that long. */
static void http_one(int fd, const char *path)
{
	struct timeval tv = { .tv_sec = 2 };
	char req[2048], head[256];
	size_t got = 0, len;
	ssize_t r;
	char *body;
	int n;

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	while (got < sizeof(req) - 1) {
		r = recv(fd, req + got, sizeof(req) - 1 - got, 0);
		if (r <= 0)
			return;
		got += (size_t)r;
		req[got] = '\0';
		if (strstr(req, "\r\n\r\n") || strstr(req, "\n\n"))
			break;
	}
	if (strncmp(req, "GET /metrics ", 13) && strncmp(req, "GET / ", 6)) {
		static const char nf[] =
			"HTTP/1.1 404 Not Found\r\nContent-Type: text/plain\r\n"
			"Content-Length: 10\r\nConnection: close\r\n\r\n"
			"not found\n";

		send_all(fd, nf, sizeof(nf) - 1);
		return;
	}
	body = exposition(path, &len);
	n = snprintf(
		head, sizeof(head),
		"HTTP/1.1 200 OK\r\n"
		"Content-Type: text/plain; version=0.0.4; charset=utf-8\r\n"
		"Content-Length: %zu\r\nConnection: close\r\n\r\n",
		len);
	send_all(fd, head, (size_t)n);
	send_all(fd, body ? body : "", len);
	free(body);
}

static int serve(const char *listen_at, const char *path)
{
	struct sl_addr a;
	struct sockaddr_storage ss;
	socklen_t sl;
	int lfd, one = 1;

	cli_opt_addr("--listen", listen_at, false, &a);
	memset(&ss, 0, sizeof(ss));
	if (a.family == AF_INET) {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;

		s4->sin_family = AF_INET;
		s4->sin_port = htons(a.port);
		s4->sin_addr = a.v4;
		sl = sizeof(*s4);
	} else {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;

		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(a.port);
		s6->sin6_addr = a.v6;
		sl = sizeof(*s6);
	}
	lfd = socket(a.family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (lfd < 0)
		cli_die("--listen %s: %s", listen_at, strerror(errno));
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(lfd, (struct sockaddr *)&ss, sl) || listen(lfd, 16))
		cli_die("--listen %s: %s", listen_at, strerror(errno));
	fprintf(stderr, "sluice: stats: serving /metrics on http://%s\n",
		listen_at);
	while (!cli_stop) {
		int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);

		if (fd < 0)
			continue; /* EINTR: cli_stop is checked */
		http_one(fd, path);
		close(fd);
	}
	close(lfd);
	return 0;
}

int cmd_stats(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "prometheus", no_argument, NULL, 'p' },
		{ "listen", required_argument, NULL, 'l' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	const char *listen_at = NULL;
	char path[TMC_PATH], err[512];
	bool json = false, prom = false;
	struct json_object *st;
	int c;

	opterr = 0;
	while ((c = getopt_long(argc, argv, ":hjpl:", lo, NULL)) != -1) {
		switch (c) {
		case 'j':
			json = true;
			break;
		case 'p':
			prom = true;
			break;
		case 'l':
			listen_at = optarg;
			break;
		case 'h':
			fputs(stats_help, stdout);
			return 0;
		default:
			cli_opt_bad(c, optopt, argv);
		}
	}
	if (json && prom)
		cli_usage_fail("--json and --prometheus: give one of them");
	if (listen_at && !prom)
		cli_usage_fail("--listen serves --prometheus: give both");
	if (argc - optind > 1)
		cli_usage_fail("unexpected argument '%s'", argv[optind + 1]);
	if (optind < argc)
		tmc_path_of(argv[optind], path);
	else if (!prom)
		cli_usage_fail("missing PID (of a process started with "
			       "SLUICE_TELEMETRY=1; see sluice top)");
	if (prom) {
		const char *p = optind < argc ? path : NULL;
		size_t len;
		char *s;

		if (listen_at)
			return serve(listen_at, p);
		s = exposition(p, &len);
		fwrite(s, 1, len, stdout);
		free(s);
		return 0;
	}
	st = tmc_snapshot(path, true, err, sizeof(err));
	if (!st)
		cli_die("%s (is it running with SLUICE_TELEMETRY=1?)", err);
	if (json) {
		cli_json_print(st);
		return 0;
	}
	print_text(st);
	json_object_put(st);
	return 0;
}
