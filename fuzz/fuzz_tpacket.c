// SPDX-License-Identifier: MIT
/*
 * libFuzzer target for the AF_PACKET ring walks (src/drivers/packet/
 * tpacket.c): any bytes, laid out as a receive ring, must be walked
 * without a read outside the ring (it is a heap block of exactly its size,
 * so ASan sees one), every frame handed over inside its buffer, the walk
 * must end, and the pool must be full again after.
 *
 * Input: byte 0, flags (bit 0: TPACKET_V2, else V3; bit 1: skip_outgoing;
 * bit 2: v3 blocks of 2 KiB, else 1 KiB); byte 1, the number of blocks
 * less one (mod 4); then the ring's bytes, zeroes after the input's end.
 * v2 blocks are one 2 KiB slot.
 */
#include <stdlib.h>
#include <string.h>

#include <sluice/sluice.h>

#include "drivers/packet/tpacket.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int cond)
{
	if (!cond)
		abort();
}

static struct sl_pool *pool;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sl_tpacket_counts c = { 0 };
	struct sl_tpacket_ring r;
	struct sl_pkt *bufs[32], *out[32];
	uint32_t block_size, n_blocks;
	unsigned avail, k, i, rounds = 0;
	uint64_t frames = 0;
	size_t len;
	uint8_t *ring;
	bool v2;

	if (!pool) {
		struct sl_pool_opts po = { .sz = sizeof(po),
					   .n_bufs = 128,
					   .flags = SL_POOL_F_DEBUG };

		pool = sl_pool_create(&po);
		check(pool != NULL);
	}
	if (size < 2)
		return 0;
	v2 = data[0] & 1;
	block_size = v2 ? SL_TPACKET_FRAME : (data[0] & 4) ? 2048 : 1024;
	n_blocks = (data[1] & 3) + 1u;
	len = (size_t)block_size * n_blocks;
	ring = calloc(1, len);
	check(ring != NULL);
	memcpy(ring, data + 2, size - 2 < len ? size - 2 : len);
	check(sl_tpacket_init(&r, ring, v2, block_size, n_blocks) == 0);
	r.skip_outgoing = data[0] & 2;

	while ((avail = sl_tpacket_avail(&r, 32)) > 0) {
		/* each round hands over or gives back at least one frame, and
		 * a ring of len bytes holds no more than len / 16 of them */
		check(++rounds <= len);
		avail = avail < 32 ? avail : 32;
		check(sl_pkt_alloc_bulk(pool, bufs, avail) == 0);
		k = sl_tpacket_take(&r, bufs, avail, out, 0, 0, 1, &c);
		check(k <= avail);
		for (i = 0; i < k; i++) {
			const uint8_t *buf = sl_pkt_buf(out[i]);

			check(out[i] == bufs[i]);
			check(out[i]->data >= buf);
			check(out[i]->data + out[i]->len <= buf + out[i]->room);
		}
		frames += k;
		sl_pkt_free_bulk(bufs, avail);
	}
	check(r.bad_desc >= c.invalid && r.truncated >= c.dropped);
	check(frames + c.invalid + c.dropped <= (uint64_t)rounds * 32);
	check(sl_pool_avail(pool) == sl_pool_capacity(pool));
	free(ring);
	return 0;
}
