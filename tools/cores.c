// SPDX-License-Identifier: MIT
/*
 * What --cores shares across fwd, sink, gen and echo (cores.h): the list,
 * the check that every core gets a queue, the dedicated-core report, the
 * launch and join of the workers and the per-queue counters in the result.
 */
#include <inttypes.h>
#include <net/if.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>

#include "cores.h"

void cli_cores_parse(struct cli_cores *c, const char *arg)
{
	int n;

	memset(c, 0, sizeof(*c));
	n = sl_cpu_list_parse(arg, c->cpu, SL_LCORE_MAX);
	if (n < 0)
		cli_usage_fail("--cores: %s", sl_last_error());
	c->n = (unsigned)n;
	c->arg = arg;
}

void cli_cores_fit(const struct cli_cores *c, unsigned nq, const char *spec)
{
	char have[256] = "";
	size_t off = 0;
	cpu_set_t set;
	unsigned w;
	int i;

	/* as sl_lcore_launch would refuse it, but before the checks and
	 * the setup, as a usage error */
	CPU_ZERO(&set);
	if (sched_getaffinity(0, sizeof(set), &set))
		return;
	for (i = 0; i < CPU_SETSIZE && off < sizeof(have) - 8; i++)
		if (CPU_ISSET(i, &set))
			off += (size_t)snprintf(have + off, sizeof(have) - off,
						"%s%d", off ? "," : "", i);
	for (w = 0; w < c->n; w++)
		if (c->cpu[w] >= CPU_SETSIZE || !CPU_ISSET(c->cpu[w], &set))
			cli_usage_fail("--cores %s: cpu %u is not in this "
				       "process's CPU affinity (%s)",
				       c->arg, c->cpu[w], have);
	if (c->n > nq)
		cli_usage_fail("--cores %s: %u cores for %u queue(s) of %s: "
			       "give the port as many queues (queues=0-%u) "
			       "or name fewer cores",
			       c->arg, c->n, nq, spec, c->n - 1);
}

static const char *const level_names[] = { "ok", "note", "warning" };

struct json_object *cli_cores_check(const struct cli_cores *c,
				    struct sl_port *port, bool quiet)
{
	struct sl_port_info info = { .sz = sizeof(info) };
	struct json_object *all;
	const char *ifname = NULL;
	unsigned w, i;

	if (!c->n)
		return NULL;
	if (port && sl_port_info(port, &info) == 0 && if_nametoindex(info.name))
		ifname = info.name;
	all = json_object_new_array();
	for (w = 0; w < c->n; w++) {
		struct sl_lcore_report r = { .sz = sizeof(r) };
		struct json_object *o, *a;

		if (sl_lcore_check(c->cpu[w], ifname, &r))
			continue;
		o = json_object_new_object();
		a = json_object_new_array();
		json_object_object_add(o, "cpu",
				       json_object_new_uint64(c->cpu[w]));
		json_object_object_add(o, "warnings",
				       json_object_new_uint64(r.warnings));
		for (i = 0; i < r.n; i++) {
			const struct sl_lcore_finding *f = &r.f[i];
			struct json_object *x = json_object_new_object();

			json_object_object_add(
				x, "check", json_object_new_string(f->check));
			json_object_object_add(
				x, "level",
				json_object_new_string(level_names[f->level]));
			json_object_object_add(x, "what",
					       json_object_new_string(f->what));
			json_object_object_add(x, "fix",
					       json_object_new_string(f->fix));
			json_object_array_add(a, x);
			if (quiet || f->level == SL_LCORE_OK)
				continue;
			fprintf(stderr, "sluice: %s: core %u: %s: %s\n",
				cli_cmd, c->cpu[w], f->check, f->what);
			if (f->fix[0])
				fprintf(stderr, "    fix: %s\n", f->fix);
		}
		json_object_object_add(o, "checks", a);
		json_object_array_add(all, o);
	}
	return all;
}

struct sl_lcores *cli_cores_launch(const struct cli_cores *c, sl_lcore_fn fn,
				   void *args, size_t stride)
{
	struct sl_lcores *s = sl_lcores_new();
	unsigned w;

	if (!s)
		cli_die("out of memory");
	for (w = 0; w < c->n; w++) {
		if (sl_lcore_launch(s, c->cpu[w], fn,
				    (char *)args + w * stride) < 0) {
			char msg[512];

			snprintf(msg, sizeof(msg), "%s", sl_last_error());
			sl_lcores_free(s);
			cli_die("--cores %s: %s", c->arg, msg);
		}
	}
	return s;
}

void cli_cores_join(struct sl_lcores *s)
{
	sl_lcores_stop(s);
	if (sl_lcores_wait(s, NULL)) {
		char msg[512];

		snprintf(msg, sizeof(msg), "%s", sl_last_error());
		sl_lcores_free(s);
		cli_die("%s", msg);
	}
	sl_lcores_free(s);
}

struct json_object *cli_json_queues(const struct cli_cores *c,
				    const struct cli_qcount *qc, unsigned nq)
{
	struct json_object *a = json_object_new_array();
	unsigned q;

	for (q = 0; q < nq; q++) {
		struct json_object *o = json_object_new_object();

		json_object_object_add(o, "queue", json_object_new_uint64(q));
		json_object_object_add(
			o, "core",
			json_object_new_uint64(c->cpu[cli_core_of(c, q)]));
		json_object_object_add(o, "rx_packets",
				       json_object_new_uint64(qc[q].rx));
		json_object_object_add(o, "tx_packets",
				       json_object_new_uint64(qc[q].tx));
		json_object_object_add(o, "bytes",
				       json_object_new_uint64(qc[q].bytes));
		json_object_array_add(a, o);
	}
	return a;
}

void cli_print_queues(const struct cli_cores *c, const struct cli_qcount *qc,
		      unsigned nq)
{
	unsigned q;

	for (q = 0; q < nq; q++)
		printf("  queue %u on core %u: received %" PRIu64
		       ", sent %" PRIu64 ", %" PRIu64 " bytes\n",
		       q, c->cpu[cli_core_of(c, q)], qc[q].rx, qc[q].tx,
		       qc[q].bytes);
}
