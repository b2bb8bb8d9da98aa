// SPDX-License-Identifier: MIT
/*
 * The AF_PACKET ring walks (src/drivers/packet/tpacket.c), run over rings
 * of crafted bytes in ordinary memory: no socket, no privileges. The ring
 * sits between two inaccessible guard pages, so a header that is followed
 * outside it crashes the test; each bad header must come out as a counted
 * drop, with its block or slot given back to the kernel.
 */
#include <errno.h>
#include <stdlib.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "sltest.h"

#include "drivers/packet/tpacket.h"

#define BLOCK 4096u
#define N_BLOCKS 4u
#define V3_HDR TPACKET_ALIGN(sizeof(struct tpacket3_hdr))
#define V3_FIRST TPACKET_ALIGN(sizeof(struct tpacket_block_desc))
#define V2_MAC 64u /* past the header and its sockaddr_ll */

struct fake {
	uint8_t *map; /* guard page, ring, guard page */
	size_t map_len, page;
	struct sl_tpacket_ring r;
};

static struct sl_pool *pool;

static int setup(void **state)
{
	struct sl_pool_opts po = { .sz = sizeof(po), .n_bufs = 64 };

	(void)state;
	pool = sl_pool_create(&po);
	return pool ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	sl_pool_destroy(pool);
	return 0;
}

static struct fake *fake_new(bool v2)
{
	struct fake *f = calloc(1, sizeof(*f));
	size_t len = (size_t)BLOCK * N_BLOCKS;

	assert_non_null(f);
	f->page = (size_t)sysconf(_SC_PAGESIZE);
	f->map_len = len + 2 * f->page;
	f->map = mmap(NULL, f->map_len, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(f->map != MAP_FAILED);
	assert_int_equal(mprotect(f->map, f->page, PROT_NONE), 0);
	assert_int_equal(mprotect(f->map + f->page + len, f->page, PROT_NONE),
			 0);
	assert_int_equal(sl_tpacket_init(&f->r, f->map + f->page, v2, BLOCK,
					 N_BLOCKS),
			 0);
	return f;
}

static void fake_free(struct fake *f)
{
	munmap(f->map, f->map_len);
	free(f);
}

static uint8_t *block(struct fake *f, unsigned i)
{
	return f->r.base + (size_t)i * BLOCK;
}

static struct tpacket_block_desc *bdesc(struct fake *f, unsigned i)
{
	return (struct tpacket_block_desc *)block(f, i);
}

/* The kernel's side: hand block i over with num frames from first on. */
static void v3_block(struct fake *f, unsigned i, uint32_t num, uint32_t first)
{
	struct tpacket_block_desc *bd = bdesc(f, i);

	bd->version = TPACKET_V3;
	bd->hdr.bh1.num_pkts = num;
	bd->hdr.bh1.offset_to_first_pkt = first;
	bd->hdr.bh1.block_status = TP_STATUS_USER;
}

/* A v3 frame header at off in block i, its frame (len bytes of fill) at
 * off + mac. */
static void v3_frame(struct fake *f, unsigned i, uint32_t off, uint32_t mac,
		     uint32_t snaplen, uint32_t len, uint32_t next,
		     uint8_t fill)
{
	struct tpacket3_hdr *h = (struct tpacket3_hdr *)(block(f, i) + off);

	memset(h, 0, sizeof(*h));
	h->tp_mac = mac;
	h->tp_snaplen = snaplen;
	h->tp_len = len;
	h->tp_next_offset = next;
	h->tp_status = TP_STATUS_USER;
	if ((uint64_t)off + mac + snaplen <= BLOCK)
		memset((uint8_t *)h + mac, fill, snaplen);
}

static struct tpacket2_hdr *slot(struct fake *f, unsigned i)
{
	return (struct tpacket2_hdr *)(f->r.base +
				       (size_t)i * SL_TPACKET_FRAME);
}

static void v2_slot(struct fake *f, unsigned i, uint32_t mac, uint32_t snaplen,
		    uint32_t len, uint32_t status, uint8_t fill)
{
	struct tpacket2_hdr *h = slot(f, i);

	memset(h, 0, sizeof(*h));
	h->tp_mac = mac;
	h->tp_snaplen = snaplen;
	h->tp_len = len;
	if ((uint64_t)mac + snaplen <= SL_TPACKET_FRAME)
		memset((uint8_t *)h + mac, fill, snaplen);
	h->tp_status = status | TP_STATUS_USER;
}

/* What the driver's receive burst does: avail, buffers, take. */
static unsigned rx(struct fake *f, struct sl_pkt **out, unsigned n,
		   struct sl_tpacket_counts *c)
{
	struct sl_pkt *bufs[16];
	unsigned got = 0, avail, k;

	assert_true(n <= 16);
	while (got < n && (avail = sl_tpacket_avail(&f->r, n - got)) > 0) {
		avail = avail < n - got ? avail : n - got;
		assert_int_equal(sl_pkt_alloc_bulk(pool, bufs, avail), 0);
		k = sl_tpacket_take(&f->r, bufs, avail, out + got, 7, 1, 99, c);
		if (k < avail)
			sl_pkt_free_bulk(bufs + k, avail - k);
		got += k;
	}
	return got;
}

static void check_frame(const struct sl_pkt *p, uint32_t len, uint8_t fill)
{
	uint32_t i;

	assert_int_equal(p->len, len);
	assert_int_equal(p->port, 7);
	assert_int_equal(p->queue, 1);
	assert_int_equal(p->rx_ts, 99);
	for (i = 0; i < len; i++)
		assert_int_equal(p->data[i], fill);
}

static void test_init_geometry(void **state)
{
	struct sl_tpacket_ring r;
	uint64_t words[8];
	uint8_t *b = (uint8_t *)words;

	(void)state;
	/* not aligned for a block descriptor: base, or the block size */
	assert_int_equal(sl_tpacket_init(&r, b + 2, false, BLOCK, 1), -EINVAL);
	assert_int_equal(sl_tpacket_init(&r, b, false, BLOCK + 2, 1), -EINVAL);
	assert_int_equal(sl_tpacket_init(&r, b, false, 64, 1), -EINVAL);
	assert_int_equal(sl_tpacket_init(&r, NULL, false, BLOCK, 1), -EINVAL);
	assert_int_equal(sl_tpacket_init(&r, b, false, BLOCK, 0), -EINVAL);
	/* v2: whole slots only */
	assert_int_equal(sl_tpacket_init(&r, b, true, BLOCK + 64, 1), -EINVAL);
	assert_int_equal(sl_tpacket_init(&r, b, true, BLOCK, 3), 0);
	assert_int_equal(r.n_frames, 6);
}

static void test_v3_good(void **state)
{
	struct fake *f = fake_new(false);
	struct sl_tpacket_counts c = { 0 };
	struct sl_pkt *pkts[16];
	uint32_t next = TPACKET_ALIGN(V3_HDR + 60);

	(void)state;
	assert_int_equal(sl_tpacket_avail(&f->r, 16), 0); /* all kernel's */
	v3_block(f, 0, 2, V3_FIRST);
	v3_frame(f, 0, V3_FIRST, V3_HDR, 60, 60, next, 0x11);
	v3_frame(f, 0, V3_FIRST + next, V3_HDR, 100, 100, 0, 0x22);
	assert_int_equal(rx(f, pkts, 16, &c), 2);
	check_frame(pkts[0], 60, 0x11);
	check_frame(pkts[1], 100, 0x22);
	assert_int_equal(c.bytes, 160);
	assert_int_equal(c.invalid + c.dropped + f->r.bad_desc, 0);
	/* the block went back, and the walk moved on */
	assert_int_equal(bdesc(f, 0)->hdr.bh1.block_status, TP_STATUS_KERNEL);
	assert_int_equal(f->r.cur, 1);
	sl_pkt_free_bulk(pkts, 2);
	fake_free(f);
}

/* Block headers that point outside the block: counted, the block given
 * back, the next block read. */
static void test_v3_bad_block(void **state)
{
	struct fake *f = fake_new(false);
	struct sl_tpacket_counts c = { 0 };
	struct sl_pkt *pkts[16];

	(void)state;
	v3_block(f, 0, 1, BLOCK); /* first frame past the end */
	v3_block(f, 1, 3, 8); /* first frame inside the block header */
	v3_block(f, 2, 1, V3_FIRST + 2); /* not aligned for a header */
	v3_block(f, 3, 1, V3_FIRST);
	v3_frame(f, 3, V3_FIRST, V3_HDR, 60, 60, 0, 0x33);
	assert_int_equal(rx(f, pkts, 16, &c), 1);
	check_frame(pkts[0], 60, 0x33);
	assert_int_equal(f->r.bad_desc, 3);
	for (unsigned i = 0; i < N_BLOCKS; i++)
		assert_int_equal(bdesc(f, i)->hdr.bh1.block_status,
				 TP_STATUS_KERNEL);
	sl_pkt_free_bulk(pkts, 1);
	fake_free(f);
}

/* One bad frame header per case, in the last block (against the guard
 * page): a counted drop, the rest of the block abandoned and given back. */
static void v3_bad_frame(uint32_t off, uint32_t mac, uint32_t snaplen,
			 uint32_t next, uint32_t num, unsigned good)
{
	struct fake *f = fake_new(false);
	struct sl_tpacket_counts c = { 0 };
	struct sl_pkt *pkts[16];
	unsigned b = N_BLOCKS - 1;

	f->r.cur = b;
	v3_block(f, b, num, off);
	if (off <= BLOCK - sizeof(struct tpacket3_hdr))
		v3_frame(f, b, off, mac, snaplen, snaplen, next, 0x44);
	assert_int_equal(rx(f, pkts, 16, &c), good);
	assert_int_equal(c.invalid, 1);
	assert_int_equal(f->r.bad_desc, 1);
	assert_int_equal(c.bytes, good * snaplen);
	assert_int_equal(bdesc(f, b)->hdr.bh1.block_status, TP_STATUS_KERNEL);
	assert_int_equal(f->r.cur, 0);
	sl_pkt_free_bulk(pkts, good);
	assert_int_equal(sl_pool_avail(pool), sl_pool_capacity(pool));
	fake_free(f);
}

static void test_v3_bad_frames(void **state)
{
	(void)state;
	/* the frame header itself runs past the block */
	v3_bad_frame(BLOCK - 8, V3_HDR, 10, 0, 1, 0);
	/* tp_mac past the block */
	v3_bad_frame(V3_FIRST, BLOCK, 10, 0, 1, 0);
	/* tp_snaplen past the block */
	v3_bad_frame(V3_FIRST, V3_HDR, BLOCK, 0, 1, 0);
	v3_bad_frame(V3_FIRST, V3_HDR, UINT32_MAX, 0, 1, 0);
	/* num_pkts says more follow, but tp_next_offset is 0 or past the
	 * end: the walk stops there (and that frame is dropped with it) */
	v3_bad_frame(V3_FIRST, V3_HDR, 60, 0, 2, 0);
	v3_bad_frame(V3_FIRST, V3_HDR, 60, BLOCK, 2, 0);
	v3_bad_frame(V3_FIRST, V3_HDR, 60, 130, 2, 0); /* not aligned */
	/* a next offset that lands the following header past the end:
	 * the frame before it is fine */
	v3_bad_frame(BLOCK - 128, V3_HDR, 16, 100, 2, 1);
}

/* A block that claims more frames than its chain holds: the frames there
 * are delivered, the lie is one counted drop. */
static void test_v3_num_lies(void **state)
{
	struct fake *f = fake_new(false);
	struct sl_tpacket_counts c = { 0 };
	struct sl_pkt *pkts[16];

	(void)state;
	v3_block(f, 0, 1000, V3_FIRST);
	v3_frame(f, 0, V3_FIRST, V3_HDR, 60, 60, 128, 0x55);
	v3_frame(f, 0, V3_FIRST + 128, V3_HDR, 60, 60, 128, 0x56);
	/* the third header is zeroes: next 0 */
	assert_int_equal(rx(f, pkts, 16, &c), 2);
	assert_int_equal(c.invalid, 1);
	assert_int_equal(bdesc(f, 0)->hdr.bh1.block_status, TP_STATUS_KERNEL);
	sl_pkt_free_bulk(pkts, 2);
	fake_free(f);
}

static void test_v3_truncated_and_outgoing(void **state)
{
	struct fake *f = fake_new(false);
	struct sl_tpacket_counts c = { 0 };
	struct sl_pkt *pkts[16];

	(void)state;
	/* snaplen < len: the ring cut it; a frame too big for a buffer */
	v3_block(f, 0, 2, V3_FIRST);
	v3_frame(f, 0, V3_FIRST, V3_HDR, 60, 1500, 128, 0x66);
	v3_frame(f, 0, V3_FIRST + 128, V3_HDR, 3000, 3000, 0, 0x67);
	assert_int_equal(rx(f, pkts, 16, &c), 0);
	assert_int_equal(c.dropped, 2);
	assert_int_equal(f->r.truncated, 2);
	assert_int_equal(c.invalid, 0);
	/* skip_outgoing: a sockaddr_ll that would run into the frame */
	f->r.skip_outgoing = true;
	v3_block(f, 1, 1, V3_FIRST);
	v3_frame(f, 1, V3_FIRST, V3_HDR, 60, 60, 0, 0x68);
	assert_int_equal(rx(f, pkts, 16, &c), 0);
	assert_int_equal(c.invalid, 1);
	assert_int_equal(sl_pool_avail(pool), sl_pool_capacity(pool));
	fake_free(f);
}

static void test_v2_good_and_vlan(void **state)
{
	struct fake *f = fake_new(true);
	struct sl_tpacket_counts c = { 0 };
	struct sl_pkt *pkts[16];
	struct tpacket2_hdr *h;

	(void)state;
	assert_int_equal(sl_tpacket_avail(&f->r, 16), 0);
	v2_slot(f, 0, V2_MAC, 60, 60, 0, 0x71);
	v2_slot(f, 1, V2_MAC, 60, 60, TP_STATUS_VLAN_VALID, 0x72);
	h = slot(f, 1);
	h->tp_vlan_tci = 100;
	assert_int_equal(rx(f, pkts, 16, &c), 2);
	check_frame(pkts[0], 60, 0x71);
	/* the stripped tag is back after the MACs */
	assert_int_equal(pkts[1]->len, 64);
	assert_int_equal(pkts[1]->data[12], 0x81);
	assert_int_equal(pkts[1]->data[13], 0x00);
	assert_int_equal(pkts[1]->data[15], 100);
	assert_int_equal(pkts[1]->data[16], 0x72);
	assert_int_equal(slot(f, 0)->tp_status, TP_STATUS_KERNEL);
	assert_int_equal(slot(f, 1)->tp_status, TP_STATUS_KERNEL);
	assert_int_equal(f->r.cur, 2);
	sl_pkt_free_bulk(pkts, 2);
	fake_free(f);
}

/* Bad v2 headers, the last one in the last slot (against the guard page):
 * each a counted drop with its slot given back; the good frame after them
 * still comes. */
static void test_v2_bad_frames(void **state)
{
	struct fake *f = fake_new(true);
	struct sl_tpacket_counts c = { 0 };
	struct sl_pkt *pkts[16];
	unsigned last = f->r.n_frames - 1, i;

	(void)state;
	f->r.cur = last - 5;
	v2_slot(f, last - 5, 8, 60, 60, 0, 0); /* mac inside the header */
	v2_slot(f, last - 4, SL_TPACKET_FRAME + 1, 0, 0, 0, 0); /* past */
	v2_slot(f, last - 3, V2_MAC, SL_TPACKET_FRAME, 60, 0, 0);
	v2_slot(f, last - 2, V2_MAC, 60, 1500, 0, 0); /* truncated */
	v2_slot(f, last - 1, V2_MAC, 60, 60, 0, 0x81); /* good */
	v2_slot(f, last, V2_MAC, UINT32_MAX - 10, 60, 0, 0);
	assert_int_equal(rx(f, pkts, 16, &c), 1);
	check_frame(pkts[0], 60, 0x81);
	assert_int_equal(c.invalid, 4);
	assert_int_equal(f->r.bad_desc, 4);
	assert_int_equal(c.dropped, 1);
	for (i = last - 5; i <= last; i++)
		assert_int_equal(slot(f, i)->tp_status, TP_STATUS_KERNEL);
	assert_int_equal(f->r.cur, 0); /* wrapped */
	/* skip_outgoing: the sockaddr_ll would run into the frame */
	f->r.skip_outgoing = true;
	v2_slot(f, 0, sizeof(struct tpacket2_hdr), 60, 60, 0, 0);
	assert_int_equal(rx(f, pkts + 1, 15, &c), 0);
	assert_int_equal(c.invalid, 5);
	sl_pkt_free_bulk(pkts, 1);
	assert_int_equal(sl_pool_avail(pool), sl_pool_capacity(pool));
	fake_free(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_init_geometry),
		cmocka_unit_test(test_v3_good),
		cmocka_unit_test(test_v3_bad_block),
		cmocka_unit_test(test_v3_bad_frames),
		cmocka_unit_test(test_v3_num_lies),
		cmocka_unit_test(test_v3_truncated_and_outgoing),
		cmocka_unit_test(test_v2_good_and_vlan),
		cmocka_unit_test(test_v2_bad_frames),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
