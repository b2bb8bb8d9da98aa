// SPDX-License-Identifier: MIT
/*
 * A fake libcuda.so.1 for the cuda:N target where there is no GPU: the
 * entry points the target resolves, with device memory in host memory.
 * Loaded through SLUICE_LIBCUDA.
 *
 * It holds the target to the driver's rules that matter here: a context
 * must be current on the calling thread; cuMemcpyHtoDAsync's source must
 * lie in memory registered with cuMemHostRegister (the staging region), and
 * the copy happens later, when the stream is synchronised or an event
 * after it is queried, so a target that let a buffer go before its event
 * completed would copy changed bytes; cuMemFree/unregister/destroy are
 * counted so the test can check nothing leaks. FAKE_CUDA_FAIL_AT=OFFSET
 * makes the copy covering device offset OFFSET fail with
 * CUDA_ERROR_ILLEGAL_ADDRESS when it runs (a sticky stream error).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#pragma GCC diagnostic ignored "-Wmissing-prototypes"

#define API __attribute__((visibility("default")))

typedef int CUresult;
typedef unsigned long long CUdeviceptr;

enum {
	OK = 0,
	INVALID_VALUE = 1,
	OUT_OF_MEMORY = 2,
	INVALID_CONTEXT = 201,
	NOT_READY = 600,
	ILLEGAL_ADDRESS = 700,
};

struct op {
	CUdeviceptr dst;
	const void *src;
	size_t len;
	int event; /* >= 0: an event record, not a copy */
};

static __thread void *current;
static int ctx_obj, stream_obj;
static uint8_t *dev_mem;
static size_t dev_len;
static void *reg_base;
static size_t reg_len;
static struct op ops[4096];
static unsigned op_head, op_tail;
static int ev_done[1024]; /* 1: its record ran */
static unsigned n_events;
static CUresult sticky;
static long long fail_at = -1;

/* what the test reads back through these */
API int fake_cuda_live; /* allocations, registrations, streams, events */

static CUresult run_ops(int until_event)
{
	while (op_head != op_tail) {
		struct op *o = &ops[op_head % 4096];

		op_head++;
		if (o->event >= 0) {
			ev_done[o->event] = 1;
			if (o->event == until_event)
				break;
			continue;
		}
		if (sticky)
			continue;
		if (fail_at >= 0 &&
		    (uint8_t *)(uintptr_t)o->dst <= dev_mem + fail_at &&
		    dev_mem + fail_at < (uint8_t *)(uintptr_t)o->dst + o->len) {
			sticky = ILLEGAL_ADDRESS;
			continue;
		}
		memcpy((void *)(uintptr_t)o->dst, o->src, o->len);
	}
	return sticky;
}

API CUresult cuInit(unsigned f)
{
	const char *e = getenv("FAKE_CUDA_FAIL_AT");

	(void)f;
	if (e)
		fail_at = atoll(e);
	return OK;
}

API CUresult cuDeviceGetCount(int *n)
{
	*n = 1;
	return OK;
}

API CUresult cuDeviceGet(int *d, int ordinal)
{
	if (ordinal != 0)
		return INVALID_VALUE;
	*d = 0;
	return OK;
}

API CUresult cuDeviceGetName(char *name, int len, int dev)
{
	(void)dev;
	snprintf(name, (size_t)len, "Fake GPU");
	return OK;
}

API CUresult cuDevicePrimaryCtxRetain(void **ctx, int dev)
{
	(void)dev;
	*ctx = &ctx_obj;
	fake_cuda_live++;
	return OK;
}

API CUresult cuDevicePrimaryCtxRelease_v2(int dev)
{
	(void)dev;
	fake_cuda_live--;
	return OK;
}

API CUresult cuCtxSetCurrent(void *ctx)
{
	current = ctx;
	return OK;
}

#define NEED_CTX()                              \
	do {                                    \
		if (current != &ctx_obj)        \
			return INVALID_CONTEXT; \
	} while (0)

API CUresult cuMemAlloc_v2(CUdeviceptr *p, size_t len)
{
	NEED_CTX();
	if (dev_mem)
		return OUT_OF_MEMORY; /* one allocation is all the test needs */
	dev_mem = malloc(len);
	if (!dev_mem)
		return OUT_OF_MEMORY;
	dev_len = len;
	*p = (CUdeviceptr)(uintptr_t)dev_mem;
	fake_cuda_live++;
	return OK;
}

API CUresult cuMemFree_v2(CUdeviceptr p)
{
	NEED_CTX();
	if (p != (CUdeviceptr)(uintptr_t)dev_mem)
		return INVALID_VALUE;
	free(dev_mem);
	dev_mem = NULL;
	fake_cuda_live--;
	return OK;
}

API CUresult cuMemHostRegister_v2(void *p, size_t len, unsigned flags)
{
	(void)flags;
	NEED_CTX();
	if (reg_base || ((uintptr_t)p & 4095))
		return INVALID_VALUE;
	reg_base = p;
	reg_len = len;
	fake_cuda_live++;
	return OK;
}

API CUresult cuMemHostUnregister(void *p)
{
	NEED_CTX();
	if (p != reg_base)
		return INVALID_VALUE;
	reg_base = NULL;
	fake_cuda_live--;
	return OK;
}

API CUresult cuStreamCreate(void **s, unsigned flags)
{
	(void)flags;
	NEED_CTX();
	*s = &stream_obj;
	op_head = op_tail = 0;
	sticky = OK;
	fake_cuda_live++;
	return OK;
}

API CUresult cuStreamDestroy_v2(void *s)
{
	(void)s;
	fake_cuda_live--;
	return OK;
}

API CUresult cuStreamSynchronize(void *s)
{
	(void)s;
	NEED_CTX();
	return run_ops(-1);
}

API CUresult cuMemcpyHtoDAsync_v2(CUdeviceptr dst, const void *src, size_t len,
				  void *s)
{
	const uint8_t *b = reg_base, *p = src;

	(void)s;
	NEED_CTX();
	if (sticky)
		return sticky;
	if (!b || p < b || p + len > b + reg_len)
		return INVALID_VALUE; /* not from the registered staging */
	if (dst < (CUdeviceptr)(uintptr_t)dev_mem ||
	    dst + len > (CUdeviceptr)(uintptr_t)(dev_mem + dev_len))
		return ILLEGAL_ADDRESS;
	ops[op_tail % 4096] = (struct op){ dst, src, len, -1 };
	op_tail++;
	return OK;
}

API CUresult cuMemcpyDtoH_v2(void *dst, CUdeviceptr src, size_t len)
{
	NEED_CTX();
	if (run_ops(-1))
		return sticky;
	memcpy(dst, (void *)(uintptr_t)src, len);
	return OK;
}

API CUresult cuEventCreate(void **e, unsigned flags)
{
	(void)flags;
	NEED_CTX();
	if (n_events >= 1024)
		return OUT_OF_MEMORY;
	*e = (void *)(uintptr_t)(++n_events);
	fake_cuda_live++;
	return OK;
}

API CUresult cuEventDestroy_v2(void *e)
{
	(void)e;
	fake_cuda_live--;
	return OK;
}

API CUresult cuEventRecord(void *e, void *s)
{
	int i = (int)(uintptr_t)e;

	(void)s;
	NEED_CTX();
	ev_done[i] = 0;
	ops[op_tail % 4096] = (struct op){ 0, NULL, 0, i };
	op_tail++;
	return OK;
}

/* Not ready on every other query: the target must cope with both. */
API CUresult cuEventQuery(void *e)
{
	static unsigned q;
	int i = (int)(uintptr_t)e;

	NEED_CTX();
	if (!ev_done[i] && (q++ & 1))
		return NOT_READY;
	if (!ev_done[i])
		run_ops(i);
	return sticky;
}

API CUresult cuEventSynchronize(void *e)
{
	int i = (int)(uintptr_t)e;

	NEED_CTX();
	if (!ev_done[i])
		run_ops(i);
	return sticky;
}

API CUresult cuGetErrorName(CUresult r, const char **s)
{
	*s = r == ILLEGAL_ADDRESS ? "CUDA_ERROR_ILLEGAL_ADDRESS" :
	     r == INVALID_VALUE	  ? "CUDA_ERROR_INVALID_VALUE" :
	     r == INVALID_CONTEXT ? "CUDA_ERROR_INVALID_CONTEXT" :
	     r == OUT_OF_MEMORY	  ? "CUDA_ERROR_OUT_OF_MEMORY" :
				    "CUDA_ERROR_UNKNOWN";
	return OK;
}

API CUresult cuGetErrorString(CUresult r, const char **s)
{
	*s = r == ILLEGAL_ADDRESS ? "an illegal memory access was encountered" :
				    "fake error";
	return OK;
}
