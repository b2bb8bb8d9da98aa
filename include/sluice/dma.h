/* SPDX-License-Identifier: MIT */
/*
 * DMA staging: payloads into memory a device reads or writes by DMA.
 *
 * A target is where bytes go, opened from one spec string:
 *   host       host memory the target allocates (sl_dma_target_reserve):
 *              a plain copy, no DMA engine in the way
 *   file:PATH  a file or block device, written with O_DIRECT through
 *              io_uring from registered staging buffers, so the storage
 *              device DMAs from them (buffered writes, with a note, where
 *              the file system refuses O_DIRECT or opts ask for them)
 *   cuda:N     memory of CUDA device N, through the driver API loaded at
 *              run time (dlopen libcuda.so.1: no build-time dependency);
 *              staging buffers registered with cuMemHostRegister, copies
 *              by cuMemcpyHtoDAsync on one stream
 *
 * A stager (struct sl_dma_stage) owns a bounded set of staging buffers
 * (depth of them, buf_size bytes each) cut from one pinned region
 * (sl_region_create: hugepages when reserved) and registered with the
 * target. Transfers are pipelined: up to depth in flight. They retire in
 * the order they were submitted, whatever order the target finishes them
 * in, and a full stager pushes back (sl_dma_stage_sink says -EAGAIN; the
 * blocking calls wait for the oldest) instead of queuing without bound.
 *
 * The first target error fails the stream: the message (sl_last_error)
 * names the target, the offset and the cause ("file:/mnt/x: write at
 * offset 8388608: No space left on device"); what retired before it is on
 * the target; nothing submitted after it is claimed (transfers already in
 * flight are waited for, so that no buffer is freed under a DMA, and then
 * dropped); every later call returns the same error (the control calls
 * with the message again; the fast-path ones, which never log, with errno
 * only).
 *
 * sl_dma_stage_sink(off, bytes) completing asynchronously, in order, is
 * the call a memory region backed by a target is meant to use (an RDMA
 * WRITE landing in a target instead of in host memory).
 *
 * One stager is used by one thread at a time; different stagers are
 * independent. All calls here are control path (they may block and
 * allocate) except sl_dma_stage_sink, sl_dma_stage_buf, sl_dma_stage_commit
 * and sl_dma_stage_poll with wait false, which never block nor allocate.
 */
#ifndef SLUICE_DMA_H
#define SLUICE_DMA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <sluice/core.h>
#include <sluice/mem.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- targets ---------------------------------------------------------- */

struct sl_dma_target;

enum sl_dma_kind {
	SL_DMA_HOST = 1,
	SL_DMA_FILE,
	SL_DMA_CUDA,
	SL_DMA_OTHER, /* made inside the library (tests) */
};

struct sl_dma_target_opts {
	size_t sz; /* sizeof(struct sl_dma_target_opts) */
	/* file: buffered writes, never O_DIRECT */
	bool buffered;
	/* file: keep what the file holds (default: truncate a regular file
	 * to 0 when opened, as cp does) */
	bool no_truncate;
	/* cuda: device memory of the application (a CUdeviceptr) of
	 * dev_len bytes, instead of cuMemAlloc in sl_dma_target_reserve */
	uint64_t dev_ptr;
	uint64_t dev_len;
};

/* Open a target from its spec. opts may be NULL. NULL with errno set and a
 * message in sl_last_error() on failure: ENOENT for cuda:N where
 * libcuda.so.1 is not installed, ENODEV for no such device. Control path. */
SL_API struct sl_dma_target *
sl_dma_target_open(const char *spec, const struct sl_dma_target_opts *opts);
/* Close; buffers of a stager of this target must be gone first. */
SL_API void sl_dma_target_close(struct sl_dma_target *t);

SL_API enum sl_dma_kind sl_dma_target_kind(const struct sl_dma_target *t);
/* The spec it was opened with ("file:/var/tmp/x"), for messages. */
SL_API const char *sl_dma_target_name(const struct sl_dma_target *t);
/* How the target is written and why not better ("O_DIRECT refused by the
 * file system (EINVAL): buffered writes"), "" when nothing to say. */
SL_API const char *sl_dma_target_note(const struct sl_dma_target *t);

/*
 * Make room for len bytes at offsets 0..len: host and cuda allocate their
 * memory here (cuda: cuMemAlloc unless opts gave dev_ptr, then len must
 * fit dev_len); file does nothing (a file grows as it is written). A write
 * past the reserved length fails with ENOSPC. 0 or -errno. Control path.
 */
SL_API int sl_dma_target_reserve(struct sl_dma_target *t, uint64_t len);
/* host: the target's memory (NULL before reserve, and for the others);
 * cuda: the device address (a CUdeviceptr; 0 before reserve, and for the
 * others). */
SL_API void *sl_dma_target_host_ptr(const struct sl_dma_target *t);
SL_API uint64_t sl_dma_target_dev_ptr(const struct sl_dma_target *t);

/* Read len bytes at off back from the target (cuda: cuMemcpyDtoH), to
 * check what arrived. Call it on a flushed stager only. 0 or -errno
 * (-ENODATA past what the target holds). Control path. */
SL_API int sl_dma_target_read(struct sl_dma_target *t, uint64_t off, void *buf,
			      size_t len);

/* ---- stagers ---------------------------------------------------------- */

struct sl_dma_stage;

/* Called once per transfer, in submission order, from sl_dma_stage_poll
 * (and the calls that wait): err 0 when the bytes are on the target,
 * -errno for the transfer that failed the stream, -ECANCELED for those
 * submitted after it. */
typedef void (*sl_dma_done_fn)(void *ctx, void *cookie, uint64_t off,
			       uint32_t len, int err);

#define SL_DMA_BUF_MIN 4096u
#define SL_DMA_BUF_MAX (64u << 20)
#define SL_DMA_DEPTH_MAX 256u

struct sl_dma_stage_opts {
	size_t sz; /* sizeof(struct sl_dma_stage_opts) */
	uint32_t buf_size; /* bytes per staging buffer: a multiple of 4096,
			    * SL_DMA_BUF_MIN..SL_DMA_BUF_MAX; default 1 MiB */
	uint32_t depth; /* buffers, so transfers in flight at most:
			 * 1..SL_DMA_DEPTH_MAX, default 8 */
	enum sl_huge huge; /* how to back the staging region */
	sl_dma_done_fn done; /* optional */
	void *done_ctx;
};

struct sl_dma_stage_stats {
	size_t sz; /* sizeof(struct sl_dma_stage_stats) */
	uint64_t submitted; /* transfers */
	uint64_t retired; /* transfers retired without error */
	uint64_t acked_bytes; /* bytes of those: on the target */
	uint64_t acked_end; /* end offset of the last one retired */
	uint64_t stalls; /* times a call waited with every buffer in flight */
	uint32_t in_flight; /* now */
	uint32_t max_in_flight; /* highest seen */
	uint64_t resubmits; /* short writes continued */
	int err; /* 0, or the -errno that failed the stream */
	uint64_t err_off; /* where: the first byte not known written */
};

/* A stager for target t (not owned: close it after the stager). opts may
 * be NULL. NULL with errno and sl_last_error() set on failure. The region
 * is registered with the target here. Control path. */
SL_API struct sl_dma_stage *
sl_dma_stage_create(struct sl_dma_target *t,
		    const struct sl_dma_stage_opts *opts);
/* Wait for what is in flight (never freeing a buffer under a DMA), then
 * release everything. Transfers not flushed get no callback. */
SL_API void sl_dma_stage_destroy(struct sl_dma_stage *s);

SL_API uint32_t sl_dma_stage_buf_size(const struct sl_dma_stage *s);
SL_API uint32_t sl_dma_stage_depth(const struct sl_dma_stage *s);
SL_API struct sl_region *sl_dma_stage_region(const struct sl_dma_stage *s);

/*
 * Copy len bytes (1..buf_size) into a free staging buffer and start their
 * transfer to off. 0 when accepted (it completes later, through the done
 * callback and the counters), -EAGAIN when every buffer is in flight
 * (nothing taken: sl_dma_stage_poll, then try again), the stream's -errno
 * once it failed, -EINVAL for a bad length. Never blocks. Fast path.
 */
SL_API int sl_dma_stage_sink(struct sl_dma_stage *s, uint64_t off,
			     const void *data, uint32_t len, void *cookie);

/* Zero-copy form: a free staging buffer of buf_size bytes to fill (NULL
 * with errno EAGAIN when none, or the stream's error), then commit it for
 * len bytes at off (0 or as sl_dma_stage_sink; a buffer not committed goes
 * back with len 0). Fast path. */
SL_API void *sl_dma_stage_buf(struct sl_dma_stage *s);
SL_API int sl_dma_stage_commit(struct sl_dma_stage *s, void *buf, uint64_t off,
			       uint32_t len, void *cookie);

/* Retire what finished, in order, calling the done callback. With wait,
 * block until at least the oldest transfer finished (if any is in flight).
 * Returns how many retired, or the stream's -errno. */
SL_API int sl_dma_stage_poll(struct sl_dma_stage *s, bool wait);

/* Blocking write of any length at off, cut into buffers, waiting for the
 * oldest transfer whenever all are in flight (back-pressure). 0 when all
 * was submitted (not yet on the target: flush), or -errno. Control path. */
SL_API int sl_dma_stage_write(struct sl_dma_stage *s, uint64_t off,
			      const void *data, size_t len);

/* Wait until nothing is in flight and make the bytes durable where the
 * target knows how (file: fdatasync; cuda: the stream synchronised).
 * 0, or the stream's -errno. Control path. */
SL_API int sl_dma_stage_flush(struct sl_dma_stage *s);

/* Counters; 0 or -EINVAL (bad sz). Thread-compatible. */
SL_API int sl_dma_stage_get_stats(const struct sl_dma_stage *s,
				  struct sl_dma_stage_stats *out);

#ifdef __cplusplus
}
#endif
#endif
