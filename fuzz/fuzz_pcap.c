// SPDX-License-Identifier: MIT
/*
 * libFuzzer target for the pcap driver's reader: any bytes, written to a
 * memfd and opened as "pcap:/proc/self/fd/N", must be refused at open with
 * a message or replayed to the end (EOF, with or without an error), every
 * frame inside its buffer, and the pool full again after close.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <sluice/sluice.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int cond)
{
	if (!cond)
		abort();
}

static struct sl_pool *pool;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sl_port_opts o = { .sz = sizeof(o) };
	struct sl_port_info info = { .sz = sizeof(info) };
	struct sl_pkt *pkts[32];
	struct sl_port *port;
	char spec[64];
	unsigned total = 0, i;
	uint16_t n;
	int fd;

	if (!pool) {
		struct sl_pool_opts po = { .sz = sizeof(po),
					   .n_bufs = 128,
					   .flags = SL_POOL_F_DEBUG };

		pool = sl_pool_create(&po);
		check(pool != NULL);
	}
	fd = memfd_create("fuzz_pcap", 0);
	check(fd >= 0);
	check(write(fd, data, size) == (ssize_t)size);
	snprintf(spec, sizeof(spec), "pcap:/proc/self/fd/%d", fd);
	o.pool = pool;
	port = sl_port_open(spec, &o);
	if (!port) {
		check(sl_last_error()[0] != '\0');
		close(fd);
		return 0;
	}
	while ((n = sl_rx_burst(port, 0, pkts, 32)) > 0) {
		for (i = 0; i < n; i++) {
			const uint8_t *buf = sl_pkt_buf(pkts[i]);

			/* the frame lies inside its buffer */
			check(pkts[i]->data >= buf);
			check(pkts[i]->data + pkts[i]->len <=
			      buf + pkts[i]->room);
		}
		sl_pkt_free_bulk(pkts, n);
		total += n;
		check(total <= size);
	}
	check(sl_port_info(port, &info) == 0);
	check(info.state == SL_PORT_EOF);
	check(sl_port_close(port) == 0);
	check(sl_pool_avail(pool) == sl_pool_capacity(pool));
	close(fd);
	return 0;
}
