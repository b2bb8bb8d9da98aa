// SPDX-License-Identifier: MIT
/*
 * sl_udp_send_to (include/sluice/udp.h): one datagram built in a buffer of
 * the port's pool and sent with sl_tx_burst. It sends through a port, so
 * it is the port layer's, above the frame builder of src/net. Fast path: no
 * allocation but the pool buffer, no system call but the ones sl_tx_burst
 * makes, nothing logged.
 */
#include <errno.h>

#include <sluice/mem.h>
#include <sluice/port.h>
#include <sluice/udp.h>

int sl_udp_send_to(struct sl_port *port, uint16_t queue,
		   const struct sl_udp_params *hp, const void *payload,
		   size_t len)
{
	struct sl_pkt *p = sl_pkt_alloc(sl_port_pool(port));
	int flen;

	if (!p)
		return -ENOBUFS;
	flen = sl_udp_build(p->data, sl_pkt_tailroom(p), hp, payload, len);
	if (flen < 0) {
		sl_pkt_free(p);
		return flen == -ENOSPC ? -EMSGSIZE : flen;
	}
	p->len = (uint32_t)flen;
	if (sl_tx_burst(port, queue, &p, 1) != 1) {
		sl_pkt_free(p);
		return -EAGAIN;
	}
	return 0;
}
