// SPDX-License-Identifier: MIT
/*
 * The AF_XDP descriptor checks (src/drivers/xdp/xsk_desc.c), run over fake
 * RX and completion rings in ordinary memory: no kernel socket, no
 * privileges. The fake UMEM sits between two inaccessible guard pages, so
 * a descriptor that is followed outside the region crashes the test, and
 * every chunk is filled with a pattern so that a write to a chunk the
 * driver does not own is seen. Multi-buffer runs (XDP_PKT_CONTD) come
 * last: copied whole into one packet of a second pool, or refused whole,
 * every chunk of ours given back once.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "sltest.h"

#include <sluice/mem.h>

#include "drivers/xdp/xsk_desc.h"

#define CHUNK 2048u
#define N_CHUNKS 64u
#define RING 64u
#define SLOT 3
#define HEAD 320u /* SL_PKT_META + the kernel's XDP_PACKET_HEADROOM */
#define PATTERN 0xab

struct fake {
	uint8_t *map; /* guard page, UMEM, guard page */
	size_t map_len, page;
	struct sl_xsk_geom g;
	uint8_t owner[N_CHUNKS];
	uint32_t prod, cons;
	struct xdp_desc rxd[RING];
	uint64_t compd[RING];
	struct xsk_ring_cons rx, comp;
	/* the fill ring: we produce, the kernel (the test) consumes */
	uint32_t fprod, fcons;
	uint64_t filld[RING];
	struct xsk_ring_prod fill;
};

static struct fake *fake_new(void)
{
	struct fake *f = calloc(1, sizeof(*f));
	size_t umem = (size_t)CHUNK * N_CHUNKS;

	assert_non_null(f);
	f->page = (size_t)sysconf(_SC_PAGESIZE);
	f->map_len = umem + 2 * f->page;
	f->map = mmap(NULL, f->map_len, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(f->map != MAP_FAILED);
	assert_int_equal(mprotect(f->map, f->page, PROT_NONE), 0);
	assert_int_equal(mprotect(f->map + f->page + umem, f->page, PROT_NONE),
			 0);
	f->g.base = f->map + f->page;
	f->g.len = umem;
	f->g.chunk = CHUNK;
	f->g.shift = 11;
	f->g.owner = f->owner;
	memset(f->g.base, PATTERN, umem);

	/* the layout libxdp gives a consumer ring after mmap */
	f->rx.mask = f->comp.mask = RING - 1;
	f->rx.size = f->comp.size = RING;
	f->rx.producer = f->comp.producer = &f->prod;
	f->rx.consumer = f->comp.consumer = &f->cons;
	f->rx.ring = f->rxd;
	f->comp.ring = f->compd;
	f->fill.mask = RING - 1;
	f->fill.size = RING;
	f->fill.cached_cons = RING; /* libxdp keeps consumer + size here */
	f->fill.producer = &f->fprod;
	f->fill.consumer = &f->fcons;
	f->fill.ring = f->filld;
	return f;
}

static void fake_free(struct fake *f)
{
	munmap(f->map, f->map_len);
	free(f);
}

/* The kernel's side: publish one RX descriptor / one completion. */
static void put_rx(struct fake *f, uint64_t addr, uint32_t len)
{
	f->rxd[f->prod & (RING - 1)] =
		(struct xdp_desc){ .addr = addr, .len = len };
	__atomic_store_n(&f->prod, f->prod + 1, __ATOMIC_RELEASE);
}

static void put_comp(struct fake *f, uint64_t addr)
{
	f->compd[f->prod & (RING - 1)] = addr;
	__atomic_store_n(&f->prod, f->prod + 1, __ATOMIC_RELEASE);
}

/* Whether chunk i still holds nothing but the pattern. */
static int chunk_untouched(const struct fake *f, unsigned i)
{
	const uint8_t *c = f->g.base + (size_t)i * CHUNK;
	unsigned k;

	for (k = 0; k < CHUNK; k++)
		if (c[k] != PATTERN)
			return 0;
	return 1;
}

static unsigned take_rx(struct fake *f, struct sl_pkt **pkts,
			struct sl_pkt **rec, unsigned *n_rec,
			struct sl_xsk_take_counts *c)
{
	return sl_xsk_rx_take(&f->rx, &f->g, SLOT, 7, 2, pkts, RING, rec, n_rec,
			      c);
}

static void test_good_rx_zero_copy(void **state)
{
	struct fake *f = fake_new();
	struct sl_pkt *pkts[RING], *rec[RING];
	struct sl_xsk_take_counts c = { 0 };
	unsigned n, n_rec = 9;

	(void)state;
	f->owner[1] = SLOT;
	f->owner[5] = SLOT;
	put_rx(f, 1 * CHUNK + HEAD, 60);
	put_rx(f, 5 * CHUNK + HEAD, CHUNK - HEAD); /* ends at the chunk end */
	n = take_rx(f, pkts, rec, &n_rec, &c);

	assert_int_equal(n, 2);
	assert_int_equal(n_rec, 0);
	assert_int_equal(c.invalid, 0);
	assert_int_equal(c.bytes, 60 + CHUNK - HEAD);
	/* the packet is the chunk's own metadata, data points into it */
	assert_ptr_equal(pkts[0], f->g.base + 1 * CHUNK);
	assert_ptr_equal(pkts[0]->data, f->g.base + 1 * CHUNK + HEAD);
	assert_int_equal(pkts[0]->len, 60);
	assert_int_equal(pkts[0]->port, 7);
	assert_int_equal(pkts[0]->queue, 2);
	assert_ptr_equal(pkts[1]->data, f->g.base + 5 * CHUNK + HEAD);
	assert_int_equal(pkts[1]->len, CHUNK - HEAD);
	/* the buffers are the application's now, and the ring is consumed */
	assert_int_equal(f->owner[1], SL_XSK_OWN_NONE);
	assert_int_equal(f->owner[5], SL_XSK_OWN_NONE);
	assert_int_equal(f->cons, 2);
	assert_int_equal(take_rx(f, pkts, rec, &n_rec, &c), 0);
	fake_free(f);
}

static void test_corrupt_rx_dropped_untouched(void **state)
{
	struct fake *f = fake_new();
	struct sl_pkt *pkts[RING], *rec[RING];
	struct sl_xsk_take_counts c = { 0 };
	unsigned n, n_rec = 0, i;

	(void)state;
	f->owner[2] = SLOT; /* the one good descriptor */
	f->owner[3] = SLOT | SL_XSK_OWN_TX; /* being sent, not received */
	f->owner[4] = SLOT + 1; /* another socket's */
	f->owner[6] = SLOT; /* ours, but its descriptor is bad: recycled */
	f->owner[7] = SLOT; /* same */

	put_rx(f, (uint64_t)CHUNK * N_CHUNKS, 60); /* just past the end */
	put_rx(f, ~0ull - 100, 60); /* wraps if added to */
	put_rx(f, 1ull << 40, 60); /* far outside */
	put_rx(f, 0 * CHUNK + HEAD, 60); /* chunk the kernel was not given */
	put_rx(f, 3 * CHUNK + HEAD, 60); /* in our TX ring */
	put_rx(f, 4 * CHUNK + HEAD, 60); /* another socket's chunk */
	put_rx(f, 2 * CHUNK + HEAD, 60); /* good */
	put_rx(f, 6 * CHUNK + 8, 60); /* over the packet metadata */
	put_rx(f, 7 * CHUNK + HEAD, CHUNK - HEAD + 1); /* past its chunk */
	n = take_rx(f, pkts, rec, &n_rec, &c);

	assert_int_equal(n, 1);
	assert_ptr_equal(pkts[0]->data, f->g.base + 2 * CHUNK + HEAD);
	assert_int_equal(c.invalid, 8);
	/* the last two chunks were ours: back to the caller, not lost */
	assert_int_equal(n_rec, 2);
	assert_int_equal(c.recycled, 2);
	assert_ptr_equal(rec[0], f->g.base + 6 * CHUNK);
	assert_ptr_equal(rec[1], f->g.base + 7 * CHUNK);
	assert_int_equal(f->owner[6], SL_XSK_OWN_NONE);
	/* only the good chunk was written (its metadata); the others,
	 * recycled or not ours, were not touched */
	for (i = 0; i < N_CHUNKS; i++)
		if (i != 2)
			assert_true(chunk_untouched(f, i));
	assert_int_equal(f->owner[3], SLOT | SL_XSK_OWN_TX);
	assert_int_equal(f->owner[4], SLOT + 1);
	/* every descriptor was consumed, good or bad */
	assert_int_equal(f->cons, 9);
	fake_free(f);
}

static void test_short_and_repeated_rx(void **state)
{
	struct fake *f = fake_new();
	struct sl_pkt *pkts[RING], *rec[RING];
	struct sl_xsk_take_counts c = { 0 };
	unsigned n, n_rec = 0;

	(void)state;
	f->owner[1] = SLOT;
	f->owner[2] = SLOT;
	put_rx(f, 1 * CHUNK + HEAD, SL_XSK_MIN_FRAME - 1); /* runt */
	put_rx(f, 2 * CHUNK + HEAD, 64);
	put_rx(f, 2 * CHUNK + HEAD, 64); /* the same chunk twice */
	put_rx(f, 2 * CHUNK + HEAD, 0xffffffffu);
	n = take_rx(f, pkts, rec, &n_rec, &c);

	/* one buffer is handed out once, never twice */
	assert_int_equal(n, 1);
	assert_ptr_equal(pkts[0], f->g.base + 2 * CHUNK);
	assert_int_equal(c.invalid, 3);
	assert_int_equal(n_rec, 1);
	assert_ptr_equal(rec[0], f->g.base + 1 * CHUNK);
	fake_free(f);
}

static void test_check_bounds(void **state)
{
	struct sl_xsk_geom g = { .len = (uint64_t)CHUNK * N_CHUNKS,
				 .chunk = CHUNK,
				 .shift = 11 };
	uint8_t owner[N_CHUNKS] = { 0 };

	(void)state;
	g.owner = owner;
	owner[0] = SLOT;
	owner[N_CHUNKS - 1] = SLOT | SL_XSK_OWN_TX;
	assert_int_equal(sl_xsk_check_rx(&g, SL_PKT_META, CHUNK - SL_PKT_META,
					 SLOT),
			 SL_XSK_OK);
	assert_int_equal(sl_xsk_check_rx(&g, SL_PKT_META - 1, 60, SLOT),
			 SL_XSK_BAD_OFFSET);
	assert_int_equal(sl_xsk_check_rx(&g, SL_PKT_META,
					 CHUNK - SL_PKT_META + 1, SLOT),
			 SL_XSK_BAD_LEN);
	assert_int_equal(sl_xsk_check_rx(&g, HEAD, SL_XSK_MIN_FRAME, SLOT),
			 SL_XSK_OK);
	assert_int_equal(sl_xsk_check_rx(&g, HEAD, 60, SLOT + 1),
			 SL_XSK_BAD_OWNER);
	assert_int_equal(sl_xsk_check_rx(&g, g.len, 60, SLOT), SL_XSK_BAD_ADDR);
	assert_int_equal(sl_xsk_check_comp(&g, g.len - 1, SLOT), SL_XSK_OK);
	assert_int_equal(sl_xsk_check_comp(&g, HEAD, SLOT), SL_XSK_BAD_OWNER);
	assert_int_equal(sl_xsk_check_comp(&g, g.len, SLOT), SL_XSK_BAD_ADDR);
}

static void test_completions(void **state)
{
	struct fake *f = fake_new();
	struct sl_pkt *pkts[RING];
	struct sl_xsk_take_counts c = { 0 };
	unsigned n, i;

	(void)state;
	f->owner[1] = SLOT | SL_XSK_OWN_TX;
	f->owner[2] = SLOT | SL_XSK_OWN_TX;
	f->owner[3] = SLOT; /* in the fill ring: never sent */
	f->owner[4] = (SLOT + 1) | SL_XSK_OWN_TX; /* another socket's */
	put_comp(f, 1 * CHUNK + HEAD);
	put_comp(f, (uint64_t)CHUNK * N_CHUNKS + HEAD); /* outside */
	put_comp(f, 3 * CHUNK + HEAD);
	put_comp(f, 4 * CHUNK + HEAD);
	put_comp(f, 1 * CHUNK + HEAD); /* completed twice */
	put_comp(f, 2 * CHUNK + 100); /* any offset inside the chunk */
	n = sl_xsk_comp_take(&f->comp, &f->g, SLOT, pkts, RING, &c);

	assert_int_equal(n, 2);
	assert_ptr_equal(pkts[0], f->g.base + 1 * CHUNK);
	assert_ptr_equal(pkts[1], f->g.base + 2 * CHUNK);
	assert_int_equal(c.invalid, 4);
	assert_int_equal(f->owner[1], SL_XSK_OWN_NONE);
	assert_int_equal(f->owner[3], SLOT);
	assert_int_equal(f->owner[4], (SLOT + 1) | SL_XSK_OWN_TX);
	assert_int_equal(f->cons, 6);
	/* completions never write to the UMEM */
	for (i = 0; i < N_CHUNKS; i++)
		assert_true(chunk_untouched(f, i));
	fake_free(f);
}

/* Completions straight back into the fill ring: good ones move at their
 * chunk address with the fill tag, bad ones are refused, want and the
 * fill ring's room bound what moves. */
static void test_recycle(void **state)
{
	struct fake *f = fake_new();
	struct sl_xsk_take_counts c = { 0 };
	unsigned i;

	(void)state;
	f->owner[1] = SLOT | SL_XSK_OWN_TX;
	f->owner[2] = SLOT | SL_XSK_OWN_TX;
	f->owner[5] = SLOT | SL_XSK_OWN_TX;
	f->owner[3] = SLOT; /* in the fill ring already: never sent */
	put_comp(f, 1 * CHUNK + HEAD);
	put_comp(f, (uint64_t)CHUNK * N_CHUNKS); /* outside */
	put_comp(f, 3 * CHUNK + HEAD);
	put_comp(f, 1 * CHUNK + HEAD); /* completed twice */
	put_comp(f, 2 * CHUNK + 100);
	put_comp(f, 5 * CHUNK + HEAD);

	/* want bounds it: the sixth stays in the completion ring */
	assert_int_equal(
		sl_xsk_comp_recycle(&f->comp, &f->fill, &f->g, SLOT, 5, &c), 2);
	assert_int_equal(c.invalid, 3);
	assert_int_equal(f->cons, 5);
	assert_int_equal(f->fprod, 2);
	assert_int_equal(f->filld[0], 1 * CHUNK);
	assert_int_equal(f->filld[1], 2 * CHUNK);
	assert_int_equal(f->owner[1], SLOT);
	assert_int_equal(f->owner[2], SLOT);
	assert_int_equal(f->owner[3], SLOT);
	assert_int_equal(f->owner[5], SLOT | SL_XSK_OWN_TX);

	/* a full fill ring takes nothing and consumes nothing */
	__atomic_store_n(&f->fprod, f->fcons + RING, __ATOMIC_RELEASE);
	f->fill.cached_prod = f->fprod;
	assert_int_equal(
		sl_xsk_comp_recycle(&f->comp, &f->fill, &f->g, SLOT, 4, &c), 0);
	assert_int_equal(f->cons, 5);
	assert_int_equal(f->owner[5], SLOT | SL_XSK_OWN_TX);

	/* room again: the one left goes in */
	__atomic_store_n(&f->fcons, f->fcons + 4, __ATOMIC_RELEASE);
	assert_int_equal(
		sl_xsk_comp_recycle(&f->comp, &f->fill, &f->g, SLOT, 4, &c), 1);
	assert_int_equal(f->owner[5], SLOT);
	assert_int_equal(f->filld[(f->fprod - 1) & (RING - 1)], 5 * CHUNK);
	assert_int_equal(f->cons, 6);
	for (i = 0; i < N_CHUNKS; i++)
		assert_true(chunk_untouched(f, i));
	fake_free(f);
}

static void test_burst_limit(void **state)
{
	struct fake *f = fake_new();
	struct sl_pkt *pkts[RING], *rec[RING];
	struct sl_xsk_take_counts c = { 0 };
	unsigned n_rec = 0, i;

	(void)state;
	for (i = 0; i < 4; i++) {
		f->owner[i] = SLOT;
		put_rx(f, i * CHUNK + HEAD, 100 + i);
	}
	/* n limits what is consumed: the rest stays for the next call */
	assert_int_equal(sl_xsk_rx_take(&f->rx, &f->g, SLOT, 0, 0, pkts, 3, rec,
					&n_rec, &c),
			 3);
	assert_int_equal(f->cons, 3);
	assert_int_equal(sl_xsk_rx_take(&f->rx, &f->g, SLOT, 0, 0, pkts, 3, rec,
					&n_rec, &c),
			 1);
	assert_int_equal(pkts[0]->len, 103);
	fake_free(f);
}

/* ---- multi-buffer runs ---------------------------------------------- */

#define BIG 16384u
#define ROOM (RING + SL_XSK_MAX_FRAGS + 1)

static void put_rx_opt(struct fake *f, uint64_t addr, uint32_t len,
		       uint32_t opt)
{
	f->rxd[f->prod & (RING - 1)] =
		(struct xdp_desc){ .addr = addr, .len = len, .options = opt };
	__atomic_store_n(&f->prod, f->prod + 1, __ATOMIC_RELEASE);
}

static struct sl_pool *big_pool(unsigned n)
{
	struct sl_pool_opts o = { .sz = sizeof(o),
				  .n_bufs = n,
				  .buf_size = BIG,
				  .flags = SL_POOL_F_DEBUG | SL_POOL_F_NO_CACHE,
				  .name = "mb" };
	struct sl_pool *p = sl_pool_create(&o);

	assert_non_null(p);
	return p;
}

/* Chunk i's frame area holds bytes (i, 0), (i, 1), ... */
static void stamp(struct fake *f, unsigned i, uint32_t len)
{
	uint8_t *d = f->g.base + (size_t)i * CHUNK + HEAD;
	uint32_t k;

	for (k = 0; k < len; k++)
		d[k] = (uint8_t)(i * 31 + k);
}

/* Every chunk of ours in rec[0..n) once, each tagged free. */
static void recycled_once(const struct fake *f, struct sl_pkt **rec, unsigned n)
{
	unsigned a, b;

	for (a = 0; a < n; a++) {
		size_t off = (size_t)((uint8_t *)rec[a] - f->g.base);

		assert_int_equal(off % CHUNK, 0);
		assert_int_equal(f->owner[off / CHUNK], SL_XSK_OWN_NONE);
		for (b = a + 1; b < n; b++)
			assert_ptr_not_equal(rec[a], rec[b]);
	}
}

static void test_mb_frame_copied(void **state)
{
	struct fake *f = fake_new();
	struct sl_pool *big = big_pool(4);
	struct sl_xsk_mb mb = { .pool = big };
	struct sl_pkt *pkts[RING], *rec[ROOM], *copy;
	struct sl_xsk_take_counts c = { 0 };
	uint32_t l = CHUNK - HEAD, k;
	unsigned n, n_rec = 0, i;

	(void)state;
	for (i = 1; i <= 5; i++) {
		f->owner[i] = SLOT;
		stamp(f, i, l);
	}
	put_rx(f, 1 * CHUNK + HEAD, 60);
	put_rx_opt(f, 2 * CHUNK + HEAD, l, XDP_PKT_CONTD);
	put_rx_opt(f, 3 * CHUNK + HEAD, l, XDP_PKT_CONTD);
	put_rx_opt(f, 4 * CHUNK + HEAD, 10, 0);
	put_rx(f, 5 * CHUNK + HEAD, 70);
	/* n = 2 cuts the frame: its run is read to its end all the same,
	 * and the frame after it waits for the next call */
	n = sl_xsk_rx_take_mb(&f->rx, &f->g, SLOT, 7, 2, pkts, 2, rec, &n_rec,
			      &mb, &c);
	assert_int_equal(n, 2);
	assert_int_equal(f->cons, 4);
	assert_ptr_equal(pkts[0], f->g.base + 1 * CHUNK);
	assert_ptr_equal(pkts[1]->pool, big);
	assert_int_equal(pkts[1]->len, 2 * l + 10);
	assert_int_equal(pkts[1]->port, 7);
	assert_int_equal(pkts[1]->queue, 2);
	copy = pkts[1];
	for (k = 0; k < pkts[1]->len; k++) {
		unsigned ch = 2 + k / l;

		assert_int_equal(pkts[1]->data[k], (uint8_t)(ch * 31 + k % l));
	}
	/* its chunks are given back, once each; the first one's packet
	 * went to the application */
	assert_int_equal(n_rec, 3);
	recycled_once(f, rec, n_rec);
	assert_int_equal(c.taken, 4);
	assert_int_equal(c.mb_frames, 1);
	assert_int_equal(c.invalid, 0);
	assert_int_equal(c.bytes, 60 + 2 * l + 10);
	n = sl_xsk_rx_take_mb(&f->rx, &f->g, SLOT, 7, 2, pkts, 2, rec, &n_rec,
			      &mb, &c);
	assert_int_equal(n, 1);
	assert_int_equal(pkts[0]->len, 70);
	sl_pkt_free(copy);
	assert_int_equal(sl_pool_avail(big), 4);
	fake_free(f);
	sl_pool_destroy(big);
}

/* Runs refused whole: a chunk not ours, a chunk twice, a length past its
 * chunk, no last descriptor before the ring ends, no pool to copy to,
 * longer than a buffer of the pool, the pool empty. */
static void test_mb_malformed(void **state)
{
	struct fake *f = fake_new();
	struct sl_pool *big = big_pool(1);
	struct sl_xsk_mb mb = { .pool = big }, none = { 0 };
	struct sl_pkt *pkts[RING], *rec[ROOM], *held;
	struct sl_xsk_take_counts c = { 0 };
	uint32_t l = CHUNK - HEAD;
	unsigned n, n_rec = 0, i;

	(void)state;
	for (i = 0; i < 40; i++)
		f->owner[i] = SLOT;
	f->owner[2] = SLOT + 1;
	/* another socket's chunk in the middle */
	put_rx_opt(f, 1 * CHUNK + HEAD, l, XDP_PKT_CONTD);
	put_rx_opt(f, 2 * CHUNK + HEAD, l, XDP_PKT_CONTD);
	put_rx_opt(f, 3 * CHUNK + HEAD, 10, 0);
	/* the same chunk twice */
	put_rx_opt(f, 4 * CHUNK + HEAD, l, XDP_PKT_CONTD);
	put_rx_opt(f, 4 * CHUNK + HEAD, 10, 0);
	/* a fragment past its chunk */
	put_rx_opt(f, 5 * CHUNK + HEAD, l, XDP_PKT_CONTD);
	put_rx_opt(f, 6 * CHUNK + HEAD, l + 1, 0);
	/* a runt first fragment */
	put_rx_opt(f, 7 * CHUNK + HEAD, 5, XDP_PKT_CONTD);
	put_rx_opt(f, 8 * CHUNK + HEAD, 10, 0);
	/* then a good single frame, and a run the ring ends in */
	put_rx(f, 9 * CHUNK + HEAD, 60);
	put_rx_opt(f, 10 * CHUNK + HEAD, l, XDP_PKT_CONTD);
	n = sl_xsk_rx_take_mb(&f->rx, &f->g, SLOT, 0, 0, pkts, RING, rec,
			      &n_rec, &mb, &c);
	assert_int_equal(n, 1);
	assert_ptr_equal(pkts[0], f->g.base + 9 * CHUNK);
	assert_int_equal(c.mb_bad, 5);
	assert_int_equal(c.invalid, 3 + 2 + 2 + 2 + 1);
	assert_int_equal(c.mb_frames, 0);
	/* every chunk of ours back once: 1, 3, 4, 5, 6, 7, 8, 10 */
	assert_int_equal(n_rec, 8);
	recycled_once(f, rec, n_rec);
	assert_int_equal(f->owner[2], SLOT + 1);
	assert_int_equal(f->cons, 11);
	assert_int_equal(sl_pool_avail(big), 1);

	/* no pool: a socket without multi-buffer frames never has one */
	put_rx_opt(f, 11 * CHUNK + HEAD, l, XDP_PKT_CONTD);
	put_rx_opt(f, 12 * CHUNK + HEAD, 10, 0);
	memset(&c, 0, sizeof(c));
	assert_int_equal(sl_xsk_rx_take_mb(&f->rx, &f->g, SLOT, 0, 0, pkts,
					   RING, rec, &n_rec, &none, &c),
			 0);
	assert_int_equal(c.mb_bad, 1);
	assert_int_equal(n_rec, 2);

	/* longer than a buffer of the pool: 10 full chunks > 16 KiB */
	memset(&c, 0, sizeof(c));
	for (i = 13; i < 23; i++)
		put_rx_opt(f, i * CHUNK + HEAD, l, i < 22 ? XDP_PKT_CONTD : 0);
	assert_int_equal(sl_xsk_rx_take_mb(&f->rx, &f->g, SLOT, 0, 0, pkts,
					   RING, rec, &n_rec, &mb, &c),
			 0);
	assert_int_equal(c.mb_too_long, 1);
	assert_int_equal(n_rec, 10);
	recycled_once(f, rec, n_rec);
	assert_int_equal(sl_pool_avail(big), 1);

	/* the pool empty: counted, chunks back */
	held = sl_pkt_alloc(big);
	assert_non_null(held);
	memset(&c, 0, sizeof(c));
	put_rx_opt(f, 23 * CHUNK + HEAD, l, XDP_PKT_CONTD);
	put_rx_opt(f, 24 * CHUNK + HEAD, 10, 0);
	assert_int_equal(sl_xsk_rx_take_mb(&f->rx, &f->g, SLOT, 0, 0, pkts,
					   RING, rec, &n_rec, &mb, &c),
			 0);
	assert_int_equal(c.mb_nobuf, 1);
	assert_int_equal(n_rec, 2);
	sl_pkt_free(held);
	fake_free(f);
	sl_pool_destroy(big);
}

/* A run of more than SL_XSK_MAX_FRAGS descriptors is refused, and the rest
 * of it, read in later calls, too, up to its last descriptor; the frame
 * after it is fine. */
static void test_mb_too_many(void **state)
{
	struct fake *f = fake_new();
	struct sl_pool *big = big_pool(2);
	struct sl_xsk_mb mb = { .pool = big };
	struct sl_pkt *pkts[RING], *rec[ROOM];
	struct sl_xsk_take_counts c = { 0 };
	unsigned n, n_rec = 0, i, total = SL_XSK_MAX_FRAGS + 4;

	(void)state;
	for (i = 0; i < N_CHUNKS; i++)
		f->owner[i] = SLOT;
	for (i = 0; i < total; i++)
		put_rx_opt(f, i * CHUNK + HEAD, 100,
			   i + 1 < total ? XDP_PKT_CONTD : 0);
	put_rx(f, total * CHUNK + HEAD, 60);
	n = sl_xsk_rx_take_mb(&f->rx, &f->g, SLOT, 0, 0, pkts, 4, rec, &n_rec,
			      &mb, &c);
	assert_int_equal(n, 0);
	assert_int_equal(c.mb_bad, 1);
	assert_int_equal(n_rec, SL_XSK_MAX_FRAGS);
	recycled_once(f, rec, n_rec);
	assert_int_equal(mb.skip, 1);
	n = sl_xsk_rx_take_mb(&f->rx, &f->g, SLOT, 0, 0, pkts, 2, rec, &n_rec,
			      &mb, &c);
	assert_int_equal(n, 0);
	assert_int_equal(n_rec, 2);
	n = sl_xsk_rx_take_mb(&f->rx, &f->g, SLOT, 0, 0, pkts, RING, rec,
			      &n_rec, &mb, &c);
	assert_int_equal(n, 1);
	assert_int_equal(n_rec, 2);
	assert_int_equal(mb.skip, 0);
	assert_int_equal(pkts[0]->len, 60);
	assert_int_equal(c.invalid, total);
	assert_int_equal(f->cons, total + 1);
	fake_free(f);
	sl_pool_destroy(big);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good_rx_zero_copy),
		cmocka_unit_test(test_corrupt_rx_dropped_untouched),
		cmocka_unit_test(test_short_and_repeated_rx),
		cmocka_unit_test(test_check_bounds),
		cmocka_unit_test(test_completions),
		cmocka_unit_test(test_recycle),
		cmocka_unit_test(test_burst_limit),
		cmocka_unit_test(test_mb_frame_copied),
		cmocka_unit_test(test_mb_malformed),
		cmocka_unit_test(test_mb_too_many),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
