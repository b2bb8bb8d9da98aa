// SPDX-License-Identifier: MIT
/*
 * libFuzzer target for the AF_XDP descriptor checks (src/drivers/xdp/
 * xsk_desc.c): the RX, completion and fill rings are fake, in ordinary
 * memory, and the input plays the kernel (or a bug, or an attacker with
 * write access to the rings): it sets the ownership tags, publishes any
 * descriptors and completions, and says when the driver takes them. The
 * UMEM sits between inaccessible guard pages, so following a bad
 * descriptor crashes; every packet handed over must lie inside its chunk,
 * past the metadata, and every chunk recycled must have been this
 * socket's, sent. RX descriptors may carry XDP_PKT_CONTD (op / 6 odd), and
 * the driver reads them as a multi-buffer socket (a second pool to copy
 * runs into) or as one without (op / 6 odd when taking): a run's packet
 * must fit its buffer, and no chunk may come back twice in one call.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <sluice/mem.h>

#include "drivers/xdp/xsk_desc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHUNK 2048u
#define SHIFT 11
#define N_CHUNKS 16u
#define RING 32u
#define SLOT 5

static void check(int cond)
{
	if (!cond)
		abort();
}

static uint8_t *umem;

static uint8_t *umem_get(void)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE), len = CHUNK * N_CHUNKS;
	uint8_t *m;

	if (umem)
		return umem;
	m = mmap(NULL, len + 2 * page, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	check(m != MAP_FAILED);
	check(mprotect(m, page, PROT_NONE) == 0);
	check(mprotect(m + page + len, page, PROT_NONE) == 0);
	umem = m + page;
	return umem;
}

static struct sl_pool *big_pool(void)
{
	static struct sl_pool *big;
	struct sl_pool_opts o = { .sz = sizeof(o),
				  .n_bufs = 4,
				  .buf_size = 16384,
				  .flags = SL_POOL_F_NO_CACHE,
				  .name = "fuzz-mb" };

	if (!big)
		big = sl_pool_create(&o);
	check(big != NULL);
	return big;
}

static uint64_t get(const uint8_t **p, const uint8_t *end, unsigned n)
{
	uint64_t v = 0;

	while (n-- && *p < end)
		v = v << 8 | *(*p)++;
	return v;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t tags[4] = { SL_XSK_OWN_NONE, SLOT,
					 SLOT | SL_XSK_OWN_TX,
					 (SLOT + 1) | SL_XSK_OWN_TX };
	const uint8_t *p = data, *end = data + size;
	struct sl_xsk_geom g = { 0 };
	uint8_t owner[N_CHUNKS], before[N_CHUNKS];
	uint32_t rprod = 0, rcons = 0, cprod = 0, ccons = 0, fprod = 0,
		 fcons = 0;
	struct xdp_desc rxd[RING];
	uint64_t compd[RING], filld[RING];
	struct xsk_ring_cons rx = { 0 }, comp = { 0 };
	struct xsk_ring_prod fill = { 0 };
	struct sl_pkt *pkts[RING], *rec[RING + SL_XSK_MAX_FRAGS + 1];
	struct sl_xsk_take_counts c = { 0 };
	struct sl_xsk_mb mb = { .pool = big_pool() };
	uint8_t seen[N_CHUNKS];
	unsigned i, k, n, n_rec;

	g.base = umem_get();
	g.len = CHUNK * N_CHUNKS;
	g.chunk = CHUNK;
	g.shift = SHIFT;
	g.owner = owner;
	for (i = 0; i < N_CHUNKS; i++)
		owner[i] = tags[get(&p, end, 1) & 3];
	rx.mask = comp.mask = fill.mask = RING - 1;
	rx.size = comp.size = fill.size = RING;
	rx.producer = &rprod;
	rx.consumer = &rcons;
	rx.ring = rxd;
	comp.producer = &cprod;
	comp.consumer = &ccons;
	comp.ring = compd;
	fill.producer = &fprod;
	fill.consumer = &fcons;
	fill.ring = filld;
	fill.cached_cons = RING;

	while (p < end) {
		unsigned op = (unsigned)get(&p, end, 1);
		uint64_t addr = get(&p, end, 4);
		uint32_t len = (uint32_t)get(&p, end, 2);

		switch (op % 6) {
		case 0: /* the kernel publishes an RX descriptor */
			if (rprod - rcons < RING) {
				rxd[rprod & (RING - 1)] = (struct xdp_desc){
					.addr = addr,
					.len = len,
					.options =
						(op / 6) & 1 ? XDP_PKT_CONTD : 0
				};
				rprod++;
			}
			break;
		case 1: /* ... a completion */
			if (cprod - ccons < RING)
				compd[cprod++ & (RING - 1)] = addr;
			break;
		case 2: /* ... consumes fill ring entries */
			k = len % 8u;
			fcons += k < fprod - fcons ? k : fprod - fcons;
			break;
		case 3: /* the driver takes RX */
			n_rec = 0;
			n = sl_xsk_rx_take_mb(&rx, &g, SLOT, 1, 2, pkts,
					      1 + len % RING, rec, &n_rec,
					      (op / 6) & 1 ? NULL : &mb, &c);
			check(n <= 1 + len % RING);
			memset(seen, 0, sizeof(seen));
			for (k = 0; k < n + n_rec; k++) {
				struct sl_pkt *q = k < n ? pkts[k] : rec[k - n];
				size_t off = (size_t)((uint8_t *)q - g.base);

				if (k < n && q->pool == mb.pool) {
					/* a run, copied: inside its buffer */
					check(q->len >= SL_XSK_MIN_FRAME);
					check(q->data + q->len <=
					      sl_pkt_buf(q) + q->room);
					check(q->port == 1 && q->queue == 2);
					sl_pkt_free(q);
					continue;
				}
				check(off < g.len && off % CHUNK == 0);
				check(owner[off >> SHIFT] == SL_XSK_OWN_NONE);
				check(!seen[off >> SHIFT]);
				seen[off >> SHIFT] = 1;
				if (k >= n)
					continue;
				check(q->data >= (uint8_t *)q + SL_PKT_META);
				check(q->data + q->len <= (uint8_t *)q + CHUNK);
				check(q->len >= SL_XSK_MIN_FRAME);
			}
			check(sl_pool_avail(mb.pool) == 4);
			break;
		case 4: /* ... completions, to the pool */
			n = sl_xsk_comp_take(&comp, &g, SLOT, pkts,
					     1 + len % RING, &c);
			for (k = 0; k < n; k++) {
				size_t off =
					(size_t)((uint8_t *)pkts[k] - g.base);

				check(off < g.len && off % CHUNK == 0);
				check(owner[off >> SHIFT] == SL_XSK_OWN_NONE);
			}
			break;
		case 5: /* ... completions, into the fill ring */
			memcpy(before, owner, sizeof(owner));
			k = fprod;
			n = sl_xsk_comp_recycle(&comp, &fill, &g, SLOT,
						1 + len % RING, &c);
			check(fprod == k + n);
			check(fprod - fcons <= RING);
			for (; k != fprod; k++) {
				uint64_t a = filld[k & (RING - 1)];

				check(a < g.len && a % CHUNK == 0);
				check(before[a >> SHIFT] ==
				      (SLOT | SL_XSK_OWN_TX));
				check(owner[a >> SHIFT] == SLOT);
			}
			break;
		}
	}
	return 0;
}
