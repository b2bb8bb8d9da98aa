// SPDX-License-Identifier: MIT
/*
 * The staging engine against a fake target that finishes transfers when
 * and how the test says (out of order, short, failed): callbacks and
 * counters in submission order whatever the finishing order, back-pressure
 * at depth (-EAGAIN, stalls, never more in flight than buffers), an error
 * in the middle (named with target and offset, what came before acked,
 * nothing after claimed, every buffer back), short writes continued; and
 * the real host and file targets, and cuda:N failing cleanly without a
 * driver.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sltest.h"

#include "core/log.h"
#include "dma/dma_int.h"

#define MEM (4u << 20)

struct fake {
	uint8_t mem[MEM];
	struct sl_dma_io *pending[64];
	unsigned n_pending;
	bool lifo; /* finish the newest first */
	bool hold; /* finish nothing unless waited for */
	uint32_t short_by; /* finish at most this many bytes a time (0: all) */
	uint64_t fail_at; /* the transfer covering this offset fails... */
	int fail_err; /* ...with this (0: none) */
	unsigned max_pending;
	unsigned submits;
};

static int fake_submit(struct sl_dma_target *t, struct sl_dma_io *io)
{
	struct fake *f = t->priv;

	f->pending[f->n_pending++] = io;
	if (f->n_pending > f->max_pending)
		f->max_pending = f->n_pending;
	f->submits++;
	return 0;
}

static void fake_finish(struct fake *f, struct sl_dma_io *io)
{
	uint64_t at = io->off + io->done;
	uint32_t n = io->len - io->done;

	if (f->fail_err && f->fail_at >= io->off &&
	    f->fail_at < io->off + io->len) {
		io->res = f->fail_err;
	} else {
		if (f->short_by && n > f->short_by)
			n = f->short_by;
		memcpy(f->mem + at, io->buf + io->done, n);
		io->res = (int)n;
	}
	io->finished = true;
}

/* Finish everything pending (newest first with lifo). */
static int fake_reap(struct sl_dma_target *t, bool wait)
{
	struct fake *f = t->priv;
	int n = 0;

	if (f->hold && !wait)
		return 0;
	while (f->n_pending) {
		struct sl_dma_io *io;

		if (f->lifo) {
			io = f->pending[--f->n_pending];
		} else {
			io = f->pending[0];
			memmove(f->pending, f->pending + 1,
				--f->n_pending * sizeof(f->pending[0]));
		}
		fake_finish(f, io);
		n++;
	}
	return n;
}

static const struct sl_dma_target_ops fake_ops = {
	.submit = fake_submit,
	.reap = fake_reap,
};

struct seen {
	uint64_t off[256];
	int err[256];
	unsigned n;
};

static void on_done(void *ctx, void *cookie, uint64_t off, uint32_t len,
		    int err)
{
	struct seen *s = ctx;

	(void)cookie;
	(void)len;
	s->off[s->n] = off;
	s->err[s->n] = err;
	s->n++;
}

static struct fake *fk;
static struct seen seen;

static struct sl_dma_stage *fake_stage(struct sl_dma_target **tp,
				       uint32_t buf_size, uint32_t depth)
{
	struct sl_dma_stage_opts o = {
		.sz = sizeof(o),
		.buf_size = buf_size,
		.depth = depth,
		.huge = SL_HUGE_NEVER,
		.done = on_done,
		.done_ctx = &seen,
	};
	struct sl_dma_stage *s;

	fk = calloc(1, sizeof(*fk));
	assert_non_null(fk);
	memset(&seen, 0, sizeof(seen));
	*tp = sl_dma_target_new(&fake_ops, SL_DMA_OTHER, "fake:0", fk);
	assert_non_null(*tp);
	s = sl_dma_stage_create(*tp, &o);
	assert_non_null(s);
	return s;
}

static void fake_done(struct sl_dma_stage *s, struct sl_dma_target *t)
{
	sl_dma_stage_destroy(s);
	sl_dma_target_close(t);
	free(fk);
}

static void fill(uint8_t *p, size_t n, unsigned seed)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(i * 31 + seed + (i >> 12));
}

static void test_order(void **state)
{
	struct sl_dma_stage_stats st = { .sz = sizeof(st) };
	struct sl_dma_target *t;
	struct sl_dma_stage *s = fake_stage(&t, 4096, 8);
	uint8_t data[4096];
	unsigned i;

	(void)state;
	fk->lifo = true; /* the target finishes the newest first */
	for (i = 0; i < 8; i++) {
		fill(data, sizeof(data), i);
		assert_int_equal(sl_dma_stage_sink(s, i * 4096ull, data,
						   sizeof(data), NULL),
				 0);
	}
	assert_int_equal(sl_dma_stage_poll(s, true), 8);
	assert_int_equal(seen.n, 8);
	for (i = 0; i < 8; i++) {
		assert_int_equal(seen.off[i], i * 4096ull);
		assert_int_equal(seen.err[i], 0);
		fill(data, sizeof(data), i);
		assert_memory_equal(fk->mem + i * 4096, data, sizeof(data));
	}
	assert_int_equal(sl_dma_stage_get_stats(s, &st), 0);
	assert_int_equal(st.acked_bytes, 8 * 4096);
	assert_int_equal(st.acked_end, 8 * 4096);
	assert_int_equal(st.in_flight, 0);
	fake_done(s, t);
}

static void test_backpressure(void **state)
{
	struct sl_dma_stage_stats st = { .sz = sizeof(st) };
	struct sl_dma_target *t;
	struct sl_dma_stage *s = fake_stage(&t, 8192, 4);
	static uint8_t big[1u << 20], back[1u << 20];
	uint8_t d[100] = { 1 };
	unsigned i;

	(void)state;
	/* fill every buffer while the target finishes nothing: the fifth
	 * is refused and nothing is taken */
	fk->hold = true;
	for (i = 0; i < 4; i++)
		assert_int_equal(sl_dma_stage_sink(s, i * 100ull, d, 100, NULL),
				 0);
	assert_int_equal(sl_dma_stage_sink(s, 400, d, 100, NULL), -EAGAIN);
	assert_null(sl_dma_stage_buf(s));
	assert_int_equal(errno, EAGAIN);
	assert_int_equal(sl_dma_stage_poll(s, false), 0);
	sl_dma_stage_get_stats(s, &st);
	assert_int_equal(st.in_flight, 4);
	assert_int_equal(st.submitted, 4);
	assert_int_equal(fk->submits, 4);
	/* once the target finishes, the same call goes through */
	fk->hold = false;
	assert_int_equal(sl_dma_stage_sink(s, 400, d, 100, NULL), 0);
	assert_int_equal(seen.n, 4);
	assert_int_equal(sl_dma_stage_flush(s), 0);
	assert_int_equal(seen.n, 5);
	fake_done(s, t);

	/* a long write waits for the oldest whenever all are in flight */
	s = fake_stage(&t, 8192, 4);
	fill(big, sizeof(big), 7);
	assert_int_equal(sl_dma_stage_write(s, 4096, big, sizeof(big)), 0);
	assert_int_equal(sl_dma_stage_flush(s), 0);
	sl_dma_stage_get_stats(s, &st);
	assert_true(st.stalls > 0);
	assert_true(st.max_in_flight <= 4);
	assert_true(fk->max_pending <= 4);
	assert_int_equal(st.acked_bytes, sizeof(big));
	assert_int_equal(st.acked_end, 4096 + sizeof(big));
	memcpy(back, fk->mem + 4096, sizeof(back));
	assert_memory_equal(back, big, sizeof(big));
	fake_done(s, t);
}

static void test_error_in_middle(void **state)
{
	struct sl_dma_stage_stats st = { .sz = sizeof(st) };
	struct sl_dma_target *t;
	struct sl_dma_stage *s = fake_stage(&t, 4096, 8);
	uint8_t d[4096];
	char want[64];
	unsigned i;
	int r;

	(void)state;
	memset(d, 0x5a, sizeof(d));
	fk->fail_at = 5 * 4096 + 10;
	fk->fail_err = -ENOSPC;
	for (i = 0; i < 8; i++)
		assert_int_equal(
			sl_dma_stage_sink(s, i * 4096ull, d, 4096, NULL), 0);
	r = sl_dma_stage_flush(s);
	assert_int_equal(r, -ENOSPC);
	assert_non_null(strstr(sl_last_error(), "fake:0"));
	snprintf(want, sizeof(want), "offset %u", 5 * 4096);
	assert_non_null(strstr(sl_last_error(), want));
	assert_non_null(strstr(sl_last_error(), "No space left"));
	sl_dma_stage_get_stats(s, &st);
	assert_int_equal(st.err, -ENOSPC);
	assert_int_equal(st.err_off, 5 * 4096);
	assert_int_equal(st.acked_end, 5 * 4096);
	assert_int_equal(st.acked_bytes, 5 * 4096);
	assert_int_equal(st.retired, 5);
	assert_int_equal(st.in_flight, 0); /* every buffer back */
	/* callbacks: five ok, the failed one, two cancelled */
	assert_int_equal(seen.n, 8);
	for (i = 0; i < 5; i++)
		assert_int_equal(seen.err[i], 0);
	assert_int_equal(seen.err[5], -ENOSPC);
	assert_int_equal(seen.err[6], -ECANCELED);
	assert_int_equal(seen.err[7], -ECANCELED);
	/* the stream stays failed; the control calls give its message */
	sl_fail(EINVAL, "something else");
	assert_int_equal(sl_dma_stage_sink(s, 0, d, 1, NULL), -ENOSPC);
	assert_int_equal(errno, ENOSPC);
	assert_int_equal(sl_dma_stage_write(s, 0, d, 1), -ENOSPC);
	assert_non_null(strstr(sl_last_error(), want));
	assert_null(sl_dma_stage_buf(s));
	assert_int_equal(errno, ENOSPC);
	fake_done(s, t);
}

static void test_short_writes(void **state)
{
	struct sl_dma_stage_stats st = { .sz = sizeof(st) };
	struct sl_dma_target *t;
	struct sl_dma_stage *s = fake_stage(&t, 65536, 3);
	static uint8_t d[300000];

	(void)state;
	fk->short_by = 5000;
	fill(d, sizeof(d), 3);
	assert_int_equal(sl_dma_stage_write(s, 12345, d, sizeof(d)), 0);
	assert_int_equal(sl_dma_stage_flush(s), 0);
	sl_dma_stage_get_stats(s, &st);
	assert_true(st.resubmits > 0);
	assert_int_equal(st.acked_bytes, sizeof(d));
	assert_memory_equal(fk->mem + 12345, d, sizeof(d));
	fake_done(s, t);
}

static void test_bad_args(void **state)
{
	struct sl_dma_stage_opts o = { .sz = sizeof(o), .buf_size = 5000 };
	struct sl_dma_target *t;

	(void)state;
	t = sl_dma_target_open("host", NULL);
	assert_non_null(t);
	assert_null(sl_dma_stage_create(t, &o));
	assert_int_equal(errno, EINVAL);
	assert_non_null(strstr(sl_last_error(), "multiple of 4096"));
	o.buf_size = 4096;
	o.depth = 100000;
	assert_null(sl_dma_stage_create(t, &o));
	assert_int_equal(errno, EINVAL);
	sl_dma_target_close(t);

	assert_null(sl_dma_target_open("nvme:0", NULL));
	assert_int_equal(errno, EINVAL);
	assert_non_null(strstr(sl_last_error(), "file:PATH"));
	assert_null(sl_dma_target_open("file:", NULL));
	assert_int_equal(errno, EINVAL);
	assert_null(sl_dma_target_open("cuda:x", NULL));
	assert_int_equal(errno, EINVAL);
	assert_null(sl_dma_target_open("file:/nonexistent-dir/x", NULL));
	assert_int_equal(errno, ENOENT);
	assert_non_null(strstr(sl_last_error(), "/nonexistent-dir/x"));
}

static void test_host(void **state)
{
	struct sl_dma_stage_opts o = { .sz = sizeof(o), .buf_size = 65536 };
	static uint8_t d[1000000], back[1000000];
	struct sl_dma_stage *s;
	struct sl_dma_target *t;

	(void)state;
	t = sl_dma_target_open("host", NULL);
	assert_non_null(t);
	assert_int_equal(sl_dma_target_reserve(t, sizeof(d)), 0);
	s = sl_dma_stage_create(t, &o);
	assert_non_null(s);
	fill(d, sizeof(d), 9);
	assert_int_equal(sl_dma_stage_write(s, 0, d, sizeof(d)), 0);
	assert_int_equal(sl_dma_stage_flush(s), 0);
	assert_memory_equal(sl_dma_target_host_ptr(t), d, sizeof(d));
	assert_int_equal(sl_dma_target_read(t, 0, back, sizeof(back)), 0);
	assert_memory_equal(back, d, sizeof(d));
	/* past what was reserved: ENOSPC, named */
	assert_int_equal(sl_dma_stage_write(s, sizeof(d) - 10, d, 100), 0);
	assert_int_equal(sl_dma_stage_flush(s), -ENOSPC);
	assert_non_null(strstr(sl_last_error(), "host: write at offset"));
	sl_dma_stage_destroy(s);
	sl_dma_target_close(t);
}

static void file_roundtrip(bool buffered)
{
	struct sl_dma_target_opts to = { .sz = sizeof(to),
					 .buffered = buffered };
	struct sl_dma_stage_opts o = { .sz = sizeof(o),
				       .buf_size = 65536,
				       .depth = 4 };
	/* not a multiple of 4096: the tail goes the buffered way */
	static uint8_t d[3000001], back[3000001];
	char path[256], spec[300];
	struct sl_dma_stage *s;
	struct sl_dma_target *t;
	struct stat st;

	sl_test_tmpfile("dma.bin", path, sizeof(path));
	snprintf(spec, sizeof(spec), "file:%s", path);
	t = sl_dma_target_open(spec, &to);
	assert_non_null(t);
	if (buffered)
		assert_non_null(strstr(sl_dma_target_note(t), "buffered"));
	else if (*sl_dma_target_note(t))
		printf("# %s\n", sl_dma_target_note(t));
	s = sl_dma_stage_create(t, &o);
	assert_non_null(s);
	fill(d, sizeof(d), buffered);
	assert_int_equal(sl_dma_stage_write(s, 0, d, sizeof(d)), 0);
	assert_int_equal(sl_dma_stage_flush(s), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_size, sizeof(d));
	assert_int_equal(sl_dma_target_read(t, 0, back, sizeof(back)), 0);
	assert_memory_equal(back, d, sizeof(d));
	assert_int_equal(sl_dma_target_read(t, sizeof(d) - 1, back, 2),
			 -ENODATA);
	sl_dma_stage_destroy(s);
	sl_dma_target_close(t);
	unlink(path);
}

static void test_file(void **state)
{
	(void)state;
	file_roundtrip(false);
	file_roundtrip(true);
}

static void test_cuda_absent(void **state)
{
	struct sl_dma_target *t;

	(void)state;
	t = sl_dma_target_open("cuda:0", NULL);
	if (t) {
		sl_dma_target_close(t);
		sl_test_skip("a CUDA driver and device are here: "
			     "scripts/gpu_check.sh tests them");
	}
	if (errno == ENODEV)
		sl_test_skip("libcuda is here without a device: %s",
			     sl_last_error());
	assert_int_equal(errno, ENOENT);
	assert_non_null(strstr(sl_last_error(), "libcuda.so.1 not found"));
	assert_non_null(strstr(sl_last_error(), "cuda:0"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_order),
		cmocka_unit_test(test_backpressure),
		cmocka_unit_test(test_error_in_middle),
		cmocka_unit_test(test_short_writes),
		cmocka_unit_test(test_bad_args),
		cmocka_unit_test(test_host),
		cmocka_unit_test(test_file),
		cmocka_unit_test(test_cuda_absent),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
