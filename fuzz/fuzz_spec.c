// SPDX-License-Identifier: MIT
/*
 * libFuzzer target for the port spec parser: any byte string must be
 * refused with -EINVAL and a message, or parse into a spec whose parts stay
 * within their limits. Specs for the pair driver are then opened (capture
 * files excepted: the fuzzer must not write files where it likes), given a
 * few frames and closed, and the pool must be full again.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <sluice/sluice.h>

#include "port/spec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int cond)
{
	if (!cond)
		abort();
}

static struct sl_pool *pool;

static void exercise(struct sl_port *port)
{
	struct sl_pkt *pkts[4];
	uint16_t q, n;

	for (q = 0; q < 2; q++) {
		if (sl_pkt_alloc_bulk(pool, pkts, 4) != 0)
			abort();
		for (n = 0; n < 4; n++)
			memset(sl_pkt_append(pkts[n], 60), n, 60);
		/* the other end is not open: taken, freed, counted */
		n = sl_tx_burst(port, 0, pkts, 4);
		sl_pkt_free_bulk(pkts + n, 4 - n);
		n = sl_rx_burst(port, 0, pkts, 4);
		sl_pkt_free_bulk(pkts, n);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sl_port_opts o = { .sz = sizeof(o), .ring_size = 16 };
	struct sl_port *port;
	struct sl_spec spec;
	unsigned i;
	char *s;
	int rc;

	if (size > 2048)
		return 0;
	if (!pool) {
		struct sl_pool_opts po = { .sz = sizeof(po),
					   .n_bufs = 256,
					   .flags = SL_POOL_F_DEBUG };

		pool = sl_pool_create(&po);
		check(pool != NULL);
	}
	s = malloc(size + 1);
	check(s != NULL);
	memcpy(s, data, size);
	s[size] = '\0';

	rc = sl_spec_parse(s, &spec);
	if (rc != 0) {
		check(rc == -EINVAL);
		check(sl_last_error()[0] != '\0');
		free(s);
		return 0;
	}
	check(strlen(spec.text) <= SL_SPEC_MAX_LEN);
	check(strcmp(spec.text, s) == 0);
	check(spec.driver[0] && spec.target[0]);
	check(!strchr(spec.target, ','));
	check(spec.n_opts <= SL_SPEC_MAX_OPTS);
	for (i = 0; i < spec.n_opts; i++) {
		check(spec.opts[i].key[0] != '\0');
		check(!strchr(spec.opts[i].key, '='));
		check(sl_spec_get(&spec, spec.opts[i].key) == spec.opts[i].val);
	}

	if (strcmp(spec.driver, "pair") == 0 &&
	    !sl_spec_has(&spec, "capture")) {
		o.pool = pool;
		port = sl_port_open(s, &o);
		if (port) {
			exercise(port);
			check(sl_port_close(port) == 0);
		} else {
			check(sl_last_error()[0] != '\0');
		}
		check(sl_pool_avail(pool) == sl_pool_capacity(pool));
	}
	free(s);
	return 0;
}
