// SPDX-License-Identifier: MIT
/*
 * The telemetry commands: what a query on the socket reads and how the
 * answer looks. Everything is read through the registry (core/registry.h):
 * an object is referenced while it is read, so closing it waits for the
 * read and never frees it under one; and through the objects' own read
 * calls, which load the counters their threads write with relaxed atomic
 * loads and never stop those threads. Nothing here runs on the fast path.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sluice/mem.h>
#include <sluice/port.h>
#include <sluice/rdma.h>

#include "core/registry.h"
#include "rdma/rdma_int.h"
#include "telemetry/json.h"
#include "telemetry/query.h"

#define MAX_LIST 256 /* objects of a kind in one answer */
#define MAX_XSTATS 128

static const char *state_name(int state)
{
	switch (state) {
	case SL_PORT_UP:
		return "up";
	case SL_PORT_EOF:
		return "eof";
	case SL_PORT_ERROR:
		return "error";
	}
	return "unknown";
}

static const char *qp_state_name(int state)
{
	switch (state) {
	case SL_RDMA_QPS_INIT:
		return "init";
	case SL_RDMA_QPS_RTS:
		return "rts";
	case SL_RDMA_QPS_ERROR:
		return "error";
	}
	return "unknown";
}

/* The counters of struct sl_queue_stats and sl_port_stats, by name. */
#define QSTATS(X) SL_QUEUE_STATS_FIELDS(X)

#define QPSTATS(X)       \
	X(tx_pkts)       \
	X(rx_pkts)       \
	X(retransmits)   \
	X(timeouts)      \
	X(seq_naks_sent) \
	X(seq_naks_rcvd) \
	X(rnr_naks_sent) \
	X(rnr_naks_rcvd) \
	X(err_naks_sent) \
	X(err_naks_rcvd) \
	X(dup_reqs)      \
	X(rx_deferred)   \
	X(acks_sent)     \
	X(tx_nobuf)

#define EPSTATS(X)       \
	X(rx_not_roce)   \
	X(rx_bad_icrc)   \
	X(rx_unknown_qp) \
	X(rx_icrc_id_unseen)

#define PUT(f) sl_jw_u64(w, #f, s.f);

/* The port's description, as members of the object open in w. */
static void port_info(struct sl_jw *w, struct sl_port *port)
{
	struct sl_port_info info = { .sz = sizeof(info) };
	int pool;

	if (sl_port_info(port, &info))
		return;
	sl_jw_str(w, "driver", info.driver);
	sl_jw_str(w, "mode", info.mode);
	sl_jw_str(w, "name", info.name);
	sl_jw_str(w, "spec", info.spec);
	sl_jw_str(w, "decorators", info.decorators);
	sl_jw_str(w, "state", state_name(info.state));
	sl_jw_str(w, "error", info.error);
	sl_jw_u64(w, "n_queues", info.n_queues);
	sl_jw_u64(w, "port_id", info.port_id);
	pool = sl_reg_id_of(sl_port_pool(port));
	sl_jw_i64(w, "pool", pool);
}

/* Totals, then "queues": one object each. */
static void port_stats(struct sl_jw *w, struct sl_port *port)
{
	struct sl_port_stats ps = { .sz = sizeof(ps) };
	uint16_t q;

	if (sl_port_stats(port, &ps))
		return;
	{
		struct sl_port_stats s = ps;

		QSTATS(PUT)
	}
	sl_jw_arr(w, "queues");
	for (q = 0; q < ps.n_queues; q++) {
		struct sl_queue_stats s = { .sz = sizeof(s) };

		if (sl_port_queue_stats(port, q, &s))
			break;
		sl_jw_obj(w, NULL);
		sl_jw_u64(w, "queue", q);
		QSTATS(PUT)
		sl_jw_end(w);
	}
	sl_jw_end(w);
}

static void port_xstats(struct sl_jw *w, struct sl_port *port)
{
	struct sl_xstat *xs = calloc(MAX_XSTATS, sizeof(*xs));
	int n, i;

	if (!xs)
		return;
	n = sl_port_xstats(port, xs, MAX_XSTATS);
	if (n > MAX_XSTATS)
		n = MAX_XSTATS;
	for (i = 0; i < n; i++) {
		xs[i].name[sizeof(xs[i].name) - 1] = '\0';
		sl_jw_u64(w, xs[i].name, xs[i].value);
	}
	free(xs);
}

static void pool_obj(struct sl_jw *w, unsigned id, struct sl_reg_ent *e)
{
	const struct sl_pool *p = sl_reg_obj(e);
	struct sl_pool_stats s;
	unsigned cap = sl_pool_capacity(p), avail = sl_pool_avail(p);

	sl_pool_get_stats(p, &s);
	sl_jw_obj(w, NULL);
	sl_jw_u64(w, "id", id);
	sl_jw_str(w, "name", sl_reg_name(e));
	sl_jw_u64(w, "capacity", cap);
	sl_jw_u64(w, "avail", avail);
	/* avail adds up per-thread caches read while in use: it can pass
	 * the capacity for a moment */
	sl_jw_u64(w, "in_use", avail < cap ? cap - avail : 0);
	sl_jw_u64(w, "get_fail", s.get_fail);
	sl_jw_u64(w, "double_free", s.double_free);
	sl_jw_u64(w, "foreign_free", s.foreign_free);
	sl_jw_end(w);
}

static void qp_obj(struct sl_jw *w, unsigned id, struct sl_reg_ent *e)
{
	const struct sl_rdma_qp *qp = sl_reg_obj(e);

	sl_jw_obj(w, NULL);
	sl_jw_u64(w, "id", id);
	sl_jw_u64(w, "qpn", sl_rdma_qp_num(qp));
	sl_jw_str(w, "state", qp_state_name(sl_rdma_qp_state(qp)));
	/* the port and queue are fixed at create: no race */
	sl_jw_i64(w, "port", sl_reg_id_of(qp->ep->port));
	sl_jw_u64(w, "queue", qp->ep->queue);
	{
		struct sl_rdma_qp_stats s;

		sl_rdma_qp_stats(qp, &s);
		QPSTATS(PUT)
	}
	{
		struct sl_rdma_port_stats s;

		sl_rdma_port_stats(qp, &s);
		EPSTATS(PUT)
	}
	sl_jw_end(w);
}

typedef void (*obj_fn)(struct sl_jw *w, unsigned id, struct sl_reg_ent *e);

/* An array of one object per listed object of a kind. */
static void list(struct sl_jw *w, const char *key, enum sl_reg_kind kind,
		 obj_fn fn)
{
	unsigned ids[MAX_LIST], n, i;

	n = sl_reg_ids(kind, ids, MAX_LIST);
	if (n > MAX_LIST)
		n = MAX_LIST;
	sl_jw_arr(w, key);
	for (i = 0; i < n; i++) {
		struct sl_reg_ent *e = sl_reg_get(kind, ids[i]);

		if (!e) /* closed since */
			continue;
		if (fn)
			fn(w, ids[i], e);
		else
			sl_jw_u64(w, NULL, ids[i]);
		sl_reg_put(e);
	}
	sl_jw_end(w);
}

static void port_all(struct sl_jw *w, unsigned id, struct sl_reg_ent *e)
{
	struct sl_port *port = sl_reg_obj(e);

	sl_jw_obj(w, NULL);
	sl_jw_u64(w, "id", id);
	port_info(w, port);
	port_stats(w, port);
	sl_jw_end(w);
}

/* ---- the commands ----------------------------------------------------- */

struct cmd {
	const char *name;
	int (*fn)(struct sl_jw *w, const struct sl_tm_query *q,
		  const char **why);
	const char *help;
};

static int c_list(struct sl_jw *w, const struct sl_tm_query *q,
		  const char **why);
static int c_help(struct sl_jw *w, const struct sl_tm_query *q,
		  const char **why);

static void info_members(struct sl_jw *w)
{
	sl_jw_str(w, "version", sl_version());
	sl_jw_u64(w, "pid", (uint64_t)getpid());
	sl_jw_str(w, "comm", program_invocation_short_name);
	sl_jw_u64(w, "time_ns", sl_time_ns());
}

static int c_info(struct sl_jw *w, const struct sl_tm_query *q,
		  const char **why)
{
	(void)q;
	(void)why;
	sl_jw_obj(w, "/info");
	info_members(w);
	sl_jw_u64(w, "ports", sl_reg_ids(SL_REG_PORT, NULL, 0));
	sl_jw_u64(w, "pools", sl_reg_ids(SL_REG_POOL, NULL, 0));
	sl_jw_u64(w, "qps", sl_reg_ids(SL_REG_QP, NULL, 0));
	sl_jw_end(w);
	return 0;
}

static int c_ports(struct sl_jw *w, const struct sl_tm_query *q,
		   const char **why)
{
	(void)q;
	(void)why;
	list(w, "/ports", SL_REG_PORT, NULL);
	return 0;
}

/* The port a query names, referenced; NULL with *why if none. */
static struct sl_reg_ent *port_param(const struct sl_tm_query *q,
				     const char **why)
{
	struct sl_reg_ent *e;
	unsigned id;

	if (sl_tm_param_id(q, &id)) {
		*why = "needs a port id (see /ports): /port/stats,0";
		return NULL;
	}
	e = sl_reg_get(SL_REG_PORT, id);
	if (!e)
		*why = "no port with that id (see /ports)";
	return e;
}

static int c_port(struct sl_jw *w, const struct sl_tm_query *q,
		  const char **why)
{
	struct sl_reg_ent *e = port_param(q, why);
	struct sl_port *port;
	unsigned id = 0;

	if (!e)
		return -EINVAL;
	sl_tm_param_id(q, &id);
	port = sl_reg_obj(e);
	sl_jw_obj(w, q->cmd);
	sl_jw_u64(w, "id", id);
	if (!strcmp(q->cmd, "/port/info")) {
		port_info(w, port);
	} else if (!strcmp(q->cmd, "/port/stats")) {
		port_stats(w, port);
	} else {
		port_xstats(w, port);
	}
	sl_jw_end(w);
	sl_reg_put(e);
	return 0;
}

static int c_pools(struct sl_jw *w, const struct sl_tm_query *q,
		   const char **why)
{
	(void)q;
	(void)why;
	list(w, "/pools", SL_REG_POOL, pool_obj);
	return 0;
}

static int c_qps(struct sl_jw *w, const struct sl_tm_query *q, const char **why)
{
	(void)q;
	(void)why;
	list(w, "/rdma/qps", SL_REG_QP, qp_obj);
	return 0;
}

static int c_stats(struct sl_jw *w, const struct sl_tm_query *q,
		   const char **why)
{
	(void)q;
	(void)why;
	sl_jw_obj(w, "/stats");
	info_members(w);
	list(w, "ports", SL_REG_PORT, port_all);
	list(w, "pools", SL_REG_POOL, pool_obj);
	list(w, "qps", SL_REG_QP, qp_obj);
	sl_jw_end(w);
	return 0;
}

static const struct cmd cmds[] = {
	{ "/", c_list, "the commands" },
	{ "/help", c_help, "what a command answers: /help,/ports" },
	{ "/info", c_info, "version, pid, process name, object counts" },
	{ "/ports", c_ports, "ids of the open ports" },
	{ "/port/info", c_port, "what a port is: /port/info,ID" },
	{ "/port/stats", c_port,
	  "a port's counters, totals and per queue: /port/stats,ID" },
	{ "/port/xstats", c_port,
	  "a port's driver and decorator counters: /port/xstats,ID" },
	{ "/pools", c_pools, "every pool: capacity, free, in use, failures" },
	{ "/rdma/qps", c_qps, "every RDMA QP: state and counters" },
	{ "/stats", c_stats,
	  "everything at once: info, ports with stats, pools, QPs" },
	{ NULL, NULL, NULL },
};

static int c_help(struct sl_jw *w, const struct sl_tm_query *q,
		  const char **why)
{
	const struct cmd *c;

	if (!q->has_param) {
		*why = "/help needs a command: /help,/ports";
		return -EINVAL;
	}
	for (c = cmds; c->name; c++)
		if (!strcmp(c->name, q->param)) {
			sl_jw_obj(w, "/help");
			sl_jw_str(w, c->name, c->help);
			sl_jw_end(w);
			return 0;
		}
	*why = "no such command: try /";
	return -ENOENT;
}

static int c_list(struct sl_jw *w, const struct sl_tm_query *q,
		  const char **why)
{
	const struct cmd *c;

	(void)q;
	(void)why;
	sl_jw_arr(w, "/");
	for (c = cmds; c->name; c++)
		sl_jw_str(w, NULL, c->name);
	sl_jw_end(w);
	return 0;
}

static size_t error(char *buf, size_t cap, const char *why,
		    const struct sl_tm_query *q)
{
	struct sl_jw w;

	sl_jw_init(&w, buf, cap);
	sl_jw_obj(&w, NULL);
	sl_jw_str(&w, "error", why);
	if (q && q->cmd[0])
		sl_jw_str(&w, "command", q->cmd);
	sl_jw_end(&w);
	if (w.overflow) /* only with a tiny cap */
		return (size_t)snprintf(buf, cap, "{\"error\":\"\"}");
	return w.len;
}

size_t sl_tm_answer(const char *in, size_t len, char *buf, size_t cap)
{
	const char *why = NULL;
	struct sl_tm_query q;
	const struct cmd *c;
	struct sl_jw w;

	if (sl_tm_parse(in, len, &q, &why))
		return error(buf, cap, why, NULL);
	for (c = cmds; c->name; c++)
		if (!strcmp(c->name, q.cmd))
			break;
	if (!c->name)
		return error(buf, cap, "unknown command: try /", &q);
	sl_jw_init(&w, buf, cap);
	sl_jw_obj(&w, NULL);
	if (c->fn(&w, &q, &why))
		return error(buf, cap, why, &q);
	sl_jw_end(&w);
	if (w.overflow)
		return error(buf, cap,
			     "answer too long: ask for less (/port/stats,ID)",
			     &q);
	return w.len;
}

size_t sl_tm_hello(char *buf, size_t cap)
{
	struct sl_jw w;

	sl_jw_init(&w, buf, cap);
	sl_jw_obj(&w, NULL);
	sl_jw_str(&w, "version", sl_version());
	sl_jw_u64(&w, "pid", (uint64_t)getpid());
	sl_jw_u64(&w, "max_output_len", SL_TM_MAX_REPLY);
	sl_jw_end(&w);
	return w.len;
}
