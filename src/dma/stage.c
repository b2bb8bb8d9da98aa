// SPDX-License-Identifier: MIT
/*
 * The staging engine: a bounded set of pinned buffers, transfers through
 * them to a target, pipelined and retired in order.
 *
 * Design. The region (sl_region_create: hugepages when reserved, locked)
 * is cut into depth buffers; buffer i is transfer slot i for good, which
 * is also its registered-buffer index at the target. Free slots sit on a
 * stack; slots in flight sit in a ring in submission order (head is the
 * oldest). A target reports finished transfers in any order; retire()
 * walks the ring from its head and stops at the first transfer not yet
 * finished, so callbacks and counters move in submission order only and
 * "acked" always means "this and everything submitted before it is on the
 * target". A short write is continued from where it stopped (the same
 * slot, still at its place in the ring).
 *
 * Back-pressure: nothing queues beyond the depth buffers. The non-blocking
 * calls say -EAGAIN when all are in flight; the blocking ones wait for the
 * oldest transfer (a stall, counted).
 *
 * Failure: the first transfer that retires with an error fails the stream
 * (its offset plus what of it was written is err_off); every transfer
 * after it in the ring is waited for (its buffer may be under DMA) and
 * retired as cancelled, unclaimed. Every later call returns the error and
 * puts its message back in sl_last_error().
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/opts.h"
#include "dma/dma_int.h"

#define DEF_BUF_SIZE (1u << 20)
#define DEF_DEPTH 8u

struct sl_dma_stage {
	struct sl_dma_target *t;
	struct sl_region *reg;
	uint8_t *base;
	uint32_t buf_size, depth;
	struct sl_dma_io *ios; /* depth */
	uint32_t *order; /* ring of slots in flight, depth entries */
	uint32_t head, tail; /* free-running; in flight = tail - head */
	uint32_t *free_slots; /* stack */
	uint32_t n_free;
	sl_dma_done_fn done;
	void *done_ctx;
	struct sl_dma_stage_stats st;
	char errmsg[512];
};

static inline uint32_t in_flight(const struct sl_dma_stage *s)
{
	return s->tail - s->head;
}

/* The stream has failed: say so again, for this call's caller. */
static int stream_err(struct sl_dma_stage *s)
{
	return sl_fail(-s->st.err, "%s", s->errmsg);
}

/* The same on the fast path, which never logs: errno only. */
static int stream_err_quiet(const struct sl_dma_stage *s)
{
	errno = -s->st.err;
	return s->st.err;
}

static void fail_stream(struct sl_dma_stage *s, const struct sl_dma_io *io,
			int err)
{
	struct sl_dma_target *t = s->t;
	uint64_t at = io->off + io->done;

	if (s->st.err)
		return;
	s->st.err = err;
	s->st.err_off = at;
	snprintf(s->errmsg, sizeof(s->errmsg),
		 "%s: write at offset %" PRIu64 " (%" PRIu32 " bytes): %s%s%s",
		 t->name, at, io->len - io->done, strerror(-err),
		 t->detail[0] ? ": " : "", t->detail);
	sl_fail(-err, "%s", s->errmsg);
}

static void release(struct sl_dma_stage *s, struct sl_dma_io *io)
{
	io->busy = false;
	io->finished = false;
	s->free_slots[s->n_free++] = io->slot;
}

/* Retire finished transfers from the head of the ring, in order; continue
 * short writes. Returns how many retired (successfully or not). */
static int retire(struct sl_dma_stage *s)
{
	int n = 0;

	while (in_flight(s)) {
		struct sl_dma_io *io = &s->ios[s->order[s->head % s->depth]];
		int err = 0, r;

		if (!io->finished)
			break;
		if (io->res < 0) {
			err = io->res;
		} else if ((uint32_t)io->res > io->len - io->done) {
			snprintf(s->t->detail, sizeof(s->t->detail),
				 "target reported %d bytes written of %" PRIu32,
				 io->res, io->len - io->done);
			err = -EIO;
		} else {
			io->done += (uint32_t)io->res;
			if (io->done < io->len && !s->st.err) {
				if (io->res == 0) {
					snprintf(s->t->detail,
						 sizeof(s->t->detail),
						 "the target took no byte");
					err = -EIO;
				} else {
					/* a short write: the rest, same
					 * slot, same place in the order */
					io->finished = false;
					s->st.resubmits++;
					r = s->t->ops->submit(s->t, io);
					if (!r)
						continue;
					err = r;
				}
			}
		}
		if (err)
			fail_stream(s, io, err);
		s->head++;
		if (s->done)
			s->done(s->done_ctx, io->cookie, io->off, io->len,
				err	  ? err :
				s->st.err ? -ECANCELED :
					    0);
		if (!err && !s->st.err) {
			s->st.retired++;
			s->st.acked_bytes += io->len;
			s->st.acked_end = io->off + io->len;
		}
		release(s, io);
		n++;
	}
	return n;
}

/* Wait until at least one transfer retired, or none is in flight. Keeps
 * going after the stream failed: buffers under DMA are never let go. */
static void wait_one(struct sl_dma_stage *s)
{
	while (in_flight(s)) {
		int r;

		if (retire(s) > 0)
			return;
		r = s->t->ops->reap(s->t, true);
		if (r > 0)
			continue;
		if (r == 0) {
			snprintf(s->t->detail, sizeof(s->t->detail),
				 "the target lost a transfer");
			r = -EIO;
		}
		/* the target cannot report any more: what it holds is lost */
		for (uint32_t i = s->head; i != s->tail; i++) {
			struct sl_dma_io *io = &s->ios[s->order[i % s->depth]];

			if (!io->finished) {
				io->res = r;
				io->finished = true;
			}
		}
	}
}

struct sl_dma_stage *sl_dma_stage_create(struct sl_dma_target *t,
					 const struct sl_dma_stage_opts *opts)
{
	struct sl_region_opts ro = { .sz = sizeof(ro) };
	struct sl_dma_stage_opts o;
	struct sl_dma_stage *s;
	uint32_t i;
	int err;

	if (sl_opts_in(&o, sizeof(o), opts, "sl_dma_stage_create",
		       "sl_dma_stage_opts"))
		return NULL;
	if (!t) {
		sl_fail(EINVAL, "dma: stage_create: no target");
		return NULL;
	}
	if (t->attached) {
		sl_fail(EBUSY, "dma: %s: already has a stager", t->name);
		return NULL;
	}
	if (!o.buf_size)
		o.buf_size = DEF_BUF_SIZE;
	if (!o.depth)
		o.depth = DEF_DEPTH;
	if (o.buf_size < SL_DMA_BUF_MIN || o.buf_size > SL_DMA_BUF_MAX ||
	    o.buf_size % 4096) {
		sl_fail(EINVAL,
			"dma: %s: staging size %" PRIu32
			": give a multiple of 4096 from %u to %u",
			t->name, o.buf_size, SL_DMA_BUF_MIN, SL_DMA_BUF_MAX);
		return NULL;
	}
	if (o.depth > SL_DMA_DEPTH_MAX) {
		sl_fail(EINVAL, "dma: %s: depth %" PRIu32 ": give 1 to %u",
			t->name, o.depth, SL_DMA_DEPTH_MAX);
		return NULL;
	}
	s = calloc(1, sizeof(*s));
	if (!s) {
		sl_fail(ENOMEM, "dma: %s: out of memory", t->name);
		return NULL;
	}
	s->t = t;
	s->buf_size = o.buf_size;
	s->depth = o.depth;
	s->done = o.done;
	s->done_ctx = o.done_ctx;
	s->st.sz = sizeof(s->st);
	s->ios = calloc(o.depth, sizeof(*s->ios));
	s->order = calloc(o.depth, sizeof(*s->order));
	s->free_slots = calloc(o.depth, sizeof(*s->free_slots));
	if (!s->ios || !s->order || !s->free_slots) {
		err = sl_fail(ENOMEM, "dma: %s: out of memory", t->name);
		goto fail;
	}
	ro.huge = o.huge;
	s->reg = sl_region_create((size_t)o.buf_size * o.depth, &ro);
	if (!s->reg) {
		char why[256];

		/* sl_fail writes over sl_last_error(): copy it first */
		err = errno;
		sl_strlcpy(why, sl_last_error(), sizeof(why));
		err = sl_fail(err,
			      "dma: %s: staging region of %" PRIu32
			      " x %" PRIu32 " bytes: %s",
			      t->name, o.depth, o.buf_size, why);
		goto fail;
	}
	s->base = sl_region_base(s->reg);
	for (i = 0; i < o.depth; i++) {
		s->ios[i].slot = i;
		s->ios[i].buf = s->base + (size_t)i * o.buf_size;
		/* slot 0 on top: buffers are used from the region's start */
		s->free_slots[i] = o.depth - 1 - i;
	}
	s->n_free = o.depth;
	t->detail[0] = 0;
	if (t->ops->attach) {
		err = t->ops->attach(t, s->base, o.buf_size, o.depth);
		if (err)
			goto fail;
	}
	t->attached = true;
	return s;
fail:
	sl_region_destroy(s->reg);
	free(s->ios);
	free(s->order);
	free(s->free_slots);
	free(s);
	errno = -err;
	return NULL;
}

void sl_dma_stage_destroy(struct sl_dma_stage *s)
{
	if (!s)
		return;
	s->done = NULL; /* destroyed before a flush: no callbacks */
	while (in_flight(s))
		wait_one(s);
	if (s->t->ops->detach)
		s->t->ops->detach(s->t);
	s->t->attached = false;
	sl_region_destroy(s->reg);
	free(s->ios);
	free(s->order);
	free(s->free_slots);
	free(s);
}

uint32_t sl_dma_stage_buf_size(const struct sl_dma_stage *s)
{
	return s->buf_size;
}

uint32_t sl_dma_stage_depth(const struct sl_dma_stage *s)
{
	return s->depth;
}

struct sl_region *sl_dma_stage_region(const struct sl_dma_stage *s)
{
	return s->reg;
}

void *sl_dma_stage_buf(struct sl_dma_stage *s)
{
	struct sl_dma_io *io;

	if (sl_unlikely(s->st.err)) {
		errno = -s->st.err;
		return NULL;
	}
	if (!s->n_free) {
		/* without blocking: what the target finished frees buffers */
		if (in_flight(s) && s->t->ops->reap(s->t, false) > 0)
			retire(s);
		if (!s->n_free) {
			errno = s->st.err ? -s->st.err : EAGAIN;
			return NULL;
		}
	}
	io = &s->ios[s->free_slots[--s->n_free]];
	io->busy = true;
	return io->buf;
}

int sl_dma_stage_commit(struct sl_dma_stage *s, void *buf, uint64_t off,
			uint32_t len, void *cookie)
{
	uint8_t *p = buf;
	struct sl_dma_io *io;
	size_t idx;
	int r;

	if (sl_unlikely(p < s->base ||
			p >= s->base + (size_t)s->buf_size * s->depth ||
			(size_t)(p - s->base) % s->buf_size))
		return sl_fail(EINVAL,
			       "dma: %s: commit of a buffer not "
			       "from this stager",
			       s->t->name);
	idx = (size_t)(p - s->base) / s->buf_size;
	io = &s->ios[idx];
	if (sl_unlikely(!io->busy || io->finished || len > s->buf_size ||
			off + len < off))
		return sl_fail(EINVAL,
			       "dma: %s: bad commit (buffer %zu, "
			       "%" PRIu32 " bytes)",
			       s->t->name, idx, len);
	if (sl_unlikely(s->st.err)) {
		release(s, io);
		return stream_err_quiet(s);
	}
	if (!len) {
		release(s, io);
		return 0;
	}
	io->off = off;
	io->len = len;
	io->done = 0;
	io->cookie = cookie;
	io->res = 0;
	io->finished = false;
	s->t->detail[0] = 0;
	s->order[s->tail % s->depth] = io->slot;
	s->tail++;
	s->st.submitted++;
	if (in_flight(s) > s->st.max_in_flight)
		s->st.max_in_flight = in_flight(s);
	r = s->t->ops->submit(s->t, io);
	if (r) {
		/* it never started: it fails in its turn, in order */
		io->res = r;
		io->finished = true;
	}
	return 0;
}

int sl_dma_stage_sink(struct sl_dma_stage *s, uint64_t off, const void *data,
		      uint32_t len, void *cookie)
{
	void *b;

	if (sl_unlikely(s->st.err))
		return stream_err_quiet(s);
	if (sl_unlikely(!len || len > s->buf_size || !data))
		return sl_fail(EINVAL,
			       "dma: %s: sink of %" PRIu32
			       " bytes: give 1 to %" PRIu32,
			       s->t->name, len, s->buf_size);
	b = sl_dma_stage_buf(s);
	if (!b)
		return s->st.err ? stream_err_quiet(s) : -EAGAIN;
	memcpy(b, data, len);
	return sl_dma_stage_commit(s, b, off, len, cookie);
}

int sl_dma_stage_poll(struct sl_dma_stage *s, bool wait)
{
	int n;

	if (wait) {
		uint64_t before = s->st.retired;

		if (!s->n_free)
			s->st.stalls++; /* the caller waits for a buffer */
		wait_one(s);
		n = (int)(s->st.retired - before);
	} else {
		if (in_flight(s))
			s->t->ops->reap(s->t, false);
		n = retire(s);
	}
	if (s->st.err)
		return stream_err(s);
	return n;
}

int sl_dma_stage_write(struct sl_dma_stage *s, uint64_t off, const void *data,
		       size_t len)
{
	const uint8_t *p = data;

	if (!data && len)
		return sl_fail(EINVAL, "dma: %s: write of no data", s->t->name);
	while (len) {
		uint32_t n = len < s->buf_size ? (uint32_t)len : s->buf_size;
		void *b;

		if (s->st.err)
			return stream_err(s);
		while (!s->n_free) {
			s->st.stalls++;
			wait_one(s);
			if (s->st.err)
				return stream_err(s);
		}
		b = sl_dma_stage_buf(s);
		if (!b)
			return s->st.err ? stream_err(s) : -EAGAIN;
		memcpy(b, p, n);
		sl_dma_stage_commit(s, b, off, n, NULL);
		p += n;
		off += n;
		len -= n;
	}
	return s->st.err ? stream_err(s) : 0;
}

int sl_dma_stage_flush(struct sl_dma_stage *s)
{
	int r;

	while (in_flight(s))
		wait_one(s);
	if (s->st.err)
		return stream_err(s);
	if (!s->t->ops->flush)
		return 0;
	s->t->detail[0] = 0;
	r = s->t->ops->flush(s->t);
	if (r) {
		/* what the counters acked may not be durable: say where the
		 * durable part could end at the latest */
		s->st.err = r;
		s->st.err_off = s->st.acked_end;
		snprintf(s->errmsg, sizeof(s->errmsg),
			 "%s: flush after %" PRIu64 " bytes: %s%s%s",
			 s->t->name, s->st.acked_bytes, strerror(-r),
			 s->t->detail[0] ? ": " : "", s->t->detail);
		return stream_err(s);
	}
	return 0;
}

int sl_dma_stage_get_stats(const struct sl_dma_stage *s,
			   struct sl_dma_stage_stats *out)
{
	struct sl_dma_stage_stats st = s->st;
	size_t n;

	if (sl_opts_out(out, sizeof(st), &n, "sl_dma_stage_get_stats",
			"sl_dma_stage_stats"))
		return -EINVAL;
	st.in_flight = in_flight(s);
	st.sz = out->sz;
	memcpy(out, &st, n);
	return 0;
}
