// SPDX-License-Identifier: MIT
/*
 * Built against the installed library through pkg-config by run.sh: the
 * README's example, over a pair link. One end sends a UDP frame, the echo
 * end receives a burst and sends it back, the first end checks it.
 */
#include <stdio.h>
#include <string.h>

#include <sluice/sluice.h>

int main(void)
{
	struct sl_port *a = sl_port_open("pair:sl-hello/0", NULL);
	struct sl_port *b = sl_port_open("pair:sl-hello/1", NULL);
	struct sl_udp_params up = { .dst_mac = { 2, 0, 0, 0, 0, 2 },
				    .src_mac = { 2, 0, 0, 0, 0, 1 } };
	struct sl_pkt *pkts[32], *p;
	uint16_t n;
	int len;

	if (!a || !b) {
		fprintf(stderr, "hello: %s\n", sl_last_error());
		return 1;
	}
	if (sl_addr_parse("10.0.0.1:5000", false, &up.src) ||
	    sl_addr_parse("10.0.0.2:6000", false, &up.dst))
		return 1;
	p = sl_pkt_alloc(sl_port_pool(a));
	if (!p)
		return 1;
	len = sl_udp_build(p->data, sl_pkt_tailroom(p), &up, "hello", 5);
	if (len < 0)
		return 1;
	p->len = (uint32_t)len;
	if (sl_tx_burst(a, 0, &p, 1) != 1)
		return 1;

	/* the echo loop of the README, one turn */
	n = sl_rx_burst(b, 0, pkts, 32);
	if (n != 1 || sl_tx_burst(b, 0, pkts, n) != n)
		return 1;

	n = sl_rx_burst(a, 0, pkts, 32);
	if (n != 1 || (int)pkts[0]->len != len ||
	    memcmp(pkts[0]->data + len - 5, "hello", 5) != 0)
		return 1;
	sl_pkt_free(pkts[0]);
	sl_port_close(a);
	sl_port_close(b);
	printf("hello: sluice %s, frame echoed over a pair\n", sl_version());
	return 0;
}
