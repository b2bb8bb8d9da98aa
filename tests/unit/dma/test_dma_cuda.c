// SPDX-License-Identifier: MIT
/*
 * The cuda:N target against a fake driver (fake_cuda.c, loaded through
 * SLUICE_LIBCUDA): bytes arrive in order through registered staging
 * buffers and read back the same; a device that does not exist is ENODEV;
 * past the reserved memory is ENOSPC; a CUDA error in the middle fails the
 * stream naming the target, the offset and the CUDA error, with what came
 * before acked; and nothing of the driver's (memory, registration, stream,
 * events, context) is left when the target is closed. The real driver is
 * scripts/gpu_check.sh's.
 */
#include <dlfcn.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "sltest.h"

#include <sluice/dma.h>

#define LEN (3u * 1048576 + 4096 * 5 + 100)

static uint8_t src[LEN], back[LEN];

static int live(void)
{
	void *h = dlopen(getenv("SLUICE_LIBCUDA"), RTLD_NOW | RTLD_NOLOAD);
	int *n = h ? dlsym(h, "fake_cuda_live") : NULL;

	assert_non_null(n);
	dlclose(h);
	return *n;
}

static struct sl_dma_stage *stage(struct sl_dma_target *t)
{
	struct sl_dma_stage_opts o = { .sz = sizeof(o),
				       .buf_size = 65536,
				       .depth = 4 };
	struct sl_dma_stage *s = sl_dma_stage_create(t, &o);

	assert_non_null(s);
	return s;
}

static void test_roundtrip(void **state)
{
	struct sl_dma_stage_stats st = { .sz = sizeof(st) };
	struct sl_dma_target *t;
	struct sl_dma_stage *s;
	size_t i;

	(void)state;
	for (i = 0; i < LEN; i++)
		src[i] = (uint8_t)(i * 7 + (i >> 16));
	assert_null(sl_dma_target_open("cuda:1", NULL));
	assert_int_equal(errno, ENODEV);
	assert_non_null(strstr(sl_last_error(), "cuda:1: no such device"));

	t = sl_dma_target_open("cuda:0", NULL);
	assert_non_null(t);
	assert_string_equal(sl_dma_target_note(t), "Fake GPU");
	assert_int_equal(sl_dma_target_reserve(t, LEN), 0);
	assert_true(sl_dma_target_dev_ptr(t) != 0);
	s = stage(t);
	assert_int_equal(sl_dma_stage_write(s, 0, src, LEN), 0);
	assert_int_equal(sl_dma_stage_flush(s), 0);
	sl_dma_stage_get_stats(s, &st);
	assert_int_equal(st.acked_bytes, LEN);
	assert_true(st.stalls > 0);
	assert_int_equal(sl_dma_target_read(t, 0, back, LEN), 0);
	assert_memory_equal(back, src, LEN);

	/* past what was reserved */
	assert_int_equal(sl_dma_stage_write(s, LEN - 1, src, 2), 0);
	assert_int_equal(sl_dma_stage_flush(s), -ENOSPC);
	assert_non_null(strstr(sl_last_error(), "cuda:0: write at offset"));
	assert_non_null(strstr(sl_last_error(), "device memory reserved"));
	sl_dma_stage_destroy(s);
	sl_dma_target_close(t);
	assert_int_equal(live(), 0);
}

static void test_cuda_error(void **state)
{
	struct sl_dma_stage_stats st = { .sz = sizeof(st) };
	struct sl_dma_target *t;
	struct sl_dma_stage *s;

	(void)state;
	setenv("FAKE_CUDA_FAIL_AT", "1000000", 1);
	t = sl_dma_target_open("cuda:0", NULL);
	unsetenv("FAKE_CUDA_FAIL_AT");
	assert_non_null(t);
	assert_int_equal(sl_dma_target_reserve(t, LEN), 0);
	s = stage(t);
	sl_dma_stage_write(s, 0, src, LEN);
	assert_int_equal(sl_dma_stage_flush(s), -EIO);
	/* the 64 KiB transfer that covers offset 1000000 starts at 983040 */
	assert_non_null(
		strstr(sl_last_error(), "cuda:0: write at offset 983040"));
	assert_non_null(strstr(sl_last_error(), "CUDA_ERROR_ILLEGAL_ADDRESS"));
	sl_dma_stage_get_stats(s, &st);
	assert_int_equal(st.err, -EIO);
	assert_int_equal(st.err_off, 983040);
	assert_int_equal(st.acked_end, 983040);
	assert_int_equal(st.in_flight, 0);
	sl_dma_stage_destroy(s);
	sl_dma_target_close(t);
	assert_int_equal(live(), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_cuda_error),
	};

	if (!getenv("SLUICE_LIBCUDA")) {
		printf("1..0 # SKIP SLUICE_LIBCUDA (the fake driver) not set\n");
		return 0;
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
