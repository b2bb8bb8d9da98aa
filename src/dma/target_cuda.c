// SPDX-License-Identifier: MIT
/*
 * The CUDA target, cuda:N: memory of device N, written by the device's
 * copy engine from the staging buffers.
 *
 * The driver API is loaded at run time (dlopen "libcuda.so.1", or the
 * file SLUICE_LIBCUDA names, which the tests use for a fake driver), so
 * sluice builds and runs where there is no NVIDIA driver: there cuda:N
 * fails to open with ENOENT and says why. Only entry points of the
 * driver API are used, each resolved by the exact symbol cuda.h maps its
 * name to (cuMemAlloc is cuMemAlloc_v2 since CUDA 3.2, and so on), with
 * the types of cuda.h spelled out here.
 *
 * Per device: the primary context (what the runtime API shares), one
 * non-blocking stream, one event per staging buffer. The staging region
 * is page-locked for the device with cuMemHostRegister, so that
 * cuMemcpyHtoDAsync is a DMA from it (an unregistered source would be
 * copied through a driver bounce buffer, synchronously). A transfer is the
 * copy followed by its event on the stream; the stream runs in order, so
 * transfers finish in order and reap queries the oldest event first.
 */
#include <dlfcn.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "dma/dma_int.h"

/* cuda.h's types, as the driver's ABI has them */
typedef int CUresult;
typedef int CUdevice;
typedef unsigned long long CUdeviceptr;
typedef struct CUctx_st *CUcontext;
typedef struct CUstream_st *CUstream;
typedef struct CUevent_st *CUevent;

#define CUDA_SUCCESS 0
#define CUDA_ERROR_NOT_READY 600
#define CU_MEMHOSTREGISTER_PORTABLE 0x01
#define CU_STREAM_NON_BLOCKING 0x1
#define CU_EVENT_DISABLE_TIMING 0x2

struct cu_api {
	void *lib;
	CUresult (*Init)(unsigned int);
	CUresult (*DeviceGetCount)(int *);
	CUresult (*DeviceGet)(CUdevice *, int);
	CUresult (*DeviceGetName)(char *, int, CUdevice);
	CUresult (*DevicePrimaryCtxRetain)(CUcontext *, CUdevice);
	CUresult (*DevicePrimaryCtxRelease)(CUdevice);
	CUresult (*CtxSetCurrent)(CUcontext);
	CUresult (*MemAlloc)(CUdeviceptr *, size_t);
	CUresult (*MemFree)(CUdeviceptr);
	CUresult (*MemHostRegister)(void *, size_t, unsigned int);
	CUresult (*MemHostUnregister)(void *);
	CUresult (*StreamCreate)(CUstream *, unsigned int);
	CUresult (*StreamDestroy)(CUstream);
	CUresult (*StreamSynchronize)(CUstream);
	CUresult (*MemcpyHtoDAsync)(CUdeviceptr, const void *, size_t,
				    CUstream);
	CUresult (*MemcpyDtoH)(void *, CUdeviceptr, size_t);
	CUresult (*EventCreate)(CUevent *, unsigned int);
	CUresult (*EventDestroy)(CUevent);
	CUresult (*EventRecord)(CUevent, CUstream);
	CUresult (*EventQuery)(CUevent);
	CUresult (*EventSynchronize)(CUevent);
	CUresult (*GetErrorName)(CUresult, const char **);
	CUresult (*GetErrorString)(CUresult, const char **);
};

/* field, then the symbol the driver exports for it */
#define CU_SYMS(X)                                                 \
	X(Init, "cuInit")                                          \
	X(DeviceGetCount, "cuDeviceGetCount")                      \
	X(DeviceGet, "cuDeviceGet")                                \
	X(DeviceGetName, "cuDeviceGetName")                        \
	X(DevicePrimaryCtxRetain, "cuDevicePrimaryCtxRetain")      \
	X(DevicePrimaryCtxRelease, "cuDevicePrimaryCtxRelease_v2") \
	X(CtxSetCurrent, "cuCtxSetCurrent")                        \
	X(MemAlloc, "cuMemAlloc_v2")                               \
	X(MemFree, "cuMemFree_v2")                                 \
	X(MemHostRegister, "cuMemHostRegister_v2")                 \
	X(MemHostUnregister, "cuMemHostUnregister")                \
	X(StreamCreate, "cuStreamCreate")                          \
	X(StreamDestroy, "cuStreamDestroy_v2")                     \
	X(StreamSynchronize, "cuStreamSynchronize")                \
	X(MemcpyHtoDAsync, "cuMemcpyHtoDAsync_v2")                 \
	X(MemcpyDtoH, "cuMemcpyDtoH_v2")                           \
	X(EventCreate, "cuEventCreate")                            \
	X(EventDestroy, "cuEventDestroy_v2")                       \
	X(EventRecord, "cuEventRecord")                            \
	X(EventQuery, "cuEventQuery")                              \
	X(EventSynchronize, "cuEventSynchronize")                  \
	X(GetErrorName, "cuGetErrorName")                          \
	X(GetErrorString, "cuGetErrorString")

struct cuda_t {
	struct cu_api cu;
	int ordinal;
	CUdevice dev;
	CUcontext ctx;
	CUstream stream;
	CUdeviceptr dptr;
	uint64_t dlen;
	bool own_mem; /* cuMemAlloc'd by reserve */
	bool ctx_held;
	void *reg_base; /* cuMemHostRegister'd */
	CUevent *ev; /* one per slot */
	uint32_t n;
	/* transfers on the stream, oldest first (a ring of n) */
	struct sl_dma_io **fifo;
	uint32_t fh, ft;
	char devname[96];
};

/* "cuMemAlloc_v2: CUDA_ERROR_OUT_OF_MEMORY (out of memory)" into buf */
static void cu_why(const struct cuda_t *c, CUresult r, const char *call,
		   char *buf, size_t len)
{
	const char *name = NULL, *str = NULL;

	if (c->cu.GetErrorName)
		c->cu.GetErrorName(r, &name);
	if (c->cu.GetErrorString)
		c->cu.GetErrorString(r, &str);
	snprintf(buf, len, "%s: %s (%s)", call, name ? name : "CUDA error",
		 str ? str : "no description");
}

static int cu_fail(struct sl_dma_target *t, CUresult r, const char *call,
		   int err)
{
	struct cuda_t *c = t->priv;
	char why[160];

	cu_why(c, r, call, why, sizeof(why));
	return sl_fail(err, "dma: %s: %s", t->name, why);
}

static int cuda_reserve(struct sl_dma_target *t, uint64_t len)
{
	struct cuda_t *c = t->priv;
	CUresult r;

	if (!len)
		return sl_fail(EINVAL, "dma: %s: reserve 0 bytes", t->name);
	if (c->dptr && !c->own_mem) {
		/* the application's memory */
		if (len > c->dlen)
			return sl_fail(ENOSPC,
				       "dma: %s: %" PRIu64 " bytes do not fit "
				       "the %" PRIu64 " given",
				       t->name, len, c->dlen);
		t->reserved = len;
		return 0;
	}
	if (c->dptr)
		return sl_fail(EBUSY, "dma: %s: reserved already", t->name);
	c->cu.CtxSetCurrent(c->ctx);
	r = c->cu.MemAlloc(&c->dptr, (size_t)len);
	if (r != CUDA_SUCCESS) {
		c->dptr = 0;
		return cu_fail(t, r, "cuMemAlloc", ENOMEM);
	}
	c->own_mem = true;
	c->dlen = len;
	t->reserved = len;
	return 0;
}

static void cuda_detach(struct sl_dma_target *t)
{
	struct cuda_t *c = t->priv;
	uint32_t i;

	c->cu.CtxSetCurrent(c->ctx);
	if (c->stream)
		c->cu.StreamSynchronize(c->stream);
	for (i = 0; c->ev && i < c->n; i++)
		if (c->ev[i])
			c->cu.EventDestroy(c->ev[i]);
	free(c->ev);
	free(c->fifo);
	c->ev = NULL;
	c->fifo = NULL;
	if (c->reg_base)
		c->cu.MemHostUnregister(c->reg_base);
	c->reg_base = NULL;
	if (c->stream)
		c->cu.StreamDestroy(c->stream);
	c->stream = NULL;
	c->n = 0;
}

static int cuda_attach(struct sl_dma_target *t, uint8_t *base,
		       uint32_t buf_size, uint32_t n)
{
	struct cuda_t *c = t->priv;
	CUresult r;
	uint32_t i;
	int err;

	c->cu.CtxSetCurrent(c->ctx);
	c->ev = calloc(n, sizeof(*c->ev));
	c->fifo = calloc(n, sizeof(*c->fifo));
	if (!c->ev || !c->fifo) {
		err = sl_fail(ENOMEM, "dma: %s: out of memory", t->name);
		goto fail;
	}
	c->n = n;
	c->fh = c->ft = 0;
	r = c->cu.StreamCreate(&c->stream, CU_STREAM_NON_BLOCKING);
	if (r != CUDA_SUCCESS) {
		c->stream = NULL;
		err = cu_fail(t, r, "cuStreamCreate", EIO);
		goto fail;
	}
	for (i = 0; i < n; i++) {
		r = c->cu.EventCreate(&c->ev[i], CU_EVENT_DISABLE_TIMING);
		if (r != CUDA_SUCCESS) {
			c->ev[i] = NULL;
			err = cu_fail(t, r, "cuEventCreate", EIO);
			goto fail;
		}
	}
	r = c->cu.MemHostRegister(base, (size_t)buf_size * n,
				  CU_MEMHOSTREGISTER_PORTABLE);
	if (r != CUDA_SUCCESS) {
		err = cu_fail(t, r, "cuMemHostRegister", EIO);
		goto fail;
	}
	c->reg_base = base;
	return 0;
fail:
	cuda_detach(t);
	return err;
}

static int cuda_submit(struct sl_dma_target *t, struct sl_dma_io *io)
{
	struct cuda_t *c = t->priv;
	uint64_t at = io->off + io->done;
	uint32_t n = io->len - io->done;
	CUresult r;

	if (at > t->reserved || n > t->reserved - at) {
		snprintf(t->detail, sizeof(t->detail),
			 "past the %" PRIu64 " bytes of device memory reserved",
			 t->reserved);
		return -ENOSPC;
	}
	/* the stager's thread may not be the one that opened */
	c->cu.CtxSetCurrent(c->ctx);
	r = c->cu.MemcpyHtoDAsync(c->dptr + at, io->buf + io->done, n,
				  c->stream);
	if (r == CUDA_SUCCESS)
		r = c->cu.EventRecord(c->ev[io->slot], c->stream);
	if (r != CUDA_SUCCESS) {
		/* the copy may be queued while its event is not: wait for
		 * the stream so that the buffer is not under DMA when the
		 * stager takes it back */
		cu_why(c, r, "cuMemcpyHtoDAsync", t->detail, sizeof(t->detail));
		c->cu.StreamSynchronize(c->stream);
		return -EIO;
	}
	c->fifo[c->ft++ % c->n] = io;
	return 0;
}

static int cuda_reap(struct sl_dma_target *t, bool wait)
{
	struct cuda_t *c = t->priv;
	int n = 0;

	c->cu.CtxSetCurrent(c->ctx);
	while (c->fh != c->ft) {
		struct sl_dma_io *io = c->fifo[c->fh % c->n];
		CUevent ev = c->ev[io->slot];
		CUresult r;

		r = wait && !n ? c->cu.EventSynchronize(ev) :
				 c->cu.EventQuery(ev);
		if (r == CUDA_ERROR_NOT_READY)
			break;
		if (r == CUDA_SUCCESS) {
			io->res = (int)(io->len - io->done);
		} else {
			/* an error of the stream: sticky in the context,
			 * every later transfer reports it too */
			cu_why(c, r, "cuMemcpyHtoDAsync", t->detail,
			       sizeof(t->detail));
			io->res = -EIO;
		}
		io->finished = true;
		c->fh++;
		n++;
	}
	return n;
}

static int cuda_flush(struct sl_dma_target *t)
{
	struct cuda_t *c = t->priv;
	CUresult r;

	c->cu.CtxSetCurrent(c->ctx);
	r = c->cu.StreamSynchronize(c->stream);
	if (r != CUDA_SUCCESS) {
		cu_why(c, r, "cuStreamSynchronize", t->detail,
		       sizeof(t->detail));
		return -EIO;
	}
	return 0;
}

static int cuda_read(struct sl_dma_target *t, uint64_t off, void *buf,
		     size_t len)
{
	struct cuda_t *c = t->priv;
	CUresult r;

	if (off > t->reserved || len > t->reserved - off)
		return sl_fail(ENODATA,
			       "dma: %s: read past the %" PRIu64
			       " bytes reserved",
			       t->name, t->reserved);
	c->cu.CtxSetCurrent(c->ctx);
	r = c->cu.MemcpyDtoH(buf, c->dptr + off, len);
	if (r != CUDA_SUCCESS)
		return cu_fail(t, r, "cuMemcpyDtoH", EIO);
	return 0;
}

static uint64_t cuda_dev_ptr(const struct sl_dma_target *t)
{
	const struct cuda_t *c = t->priv;

	return c->dptr;
}

static void cuda_close(struct sl_dma_target *t)
{
	struct cuda_t *c = t->priv;

	if (c->ctx_held) {
		c->cu.CtxSetCurrent(c->ctx);
		if (c->stream)
			cuda_detach(t);
		if (c->own_mem)
			c->cu.MemFree(c->dptr);
		c->cu.CtxSetCurrent(NULL);
		c->cu.DevicePrimaryCtxRelease(c->dev);
	}
	/* the library stays loaded: the driver does not support being
	 * unloaded and loaded again in one process */
	free(c);
}

static const struct sl_dma_target_ops cuda_ops = {
	.reserve = cuda_reserve,
	.attach = cuda_attach,
	.detach = cuda_detach,
	.submit = cuda_submit,
	.reap = cuda_reap,
	.flush = cuda_flush,
	.read = cuda_read,
	.close = cuda_close,
	.dev_ptr = cuda_dev_ptr,
};

static int cu_load(struct sl_dma_target *t, struct cu_api *cu)
{
	const char *path = getenv("SLUICE_LIBCUDA");
	const char *missing = NULL;

	if (!path || !*path)
		path = "libcuda.so.1";
	cu->lib = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (!cu->lib)
		return sl_fail(ENOENT,
			       "dma: %s: %s not found (%s): cuda targets need "
			       "the NVIDIA driver",
			       t->name, path, dlerror());
#define CU_LOAD(f, sym)                         \
	*(void **)&cu->f = dlsym(cu->lib, sym); \
	if (!cu->f && !missing)                 \
		missing = sym;
	CU_SYMS(CU_LOAD)
#undef CU_LOAD
	if (missing)
		return sl_fail(ENOSYS,
			       "dma: %s: %s has no %s: the driver is too old "
			       "(CUDA 11 or later needed)",
			       t->name, path, missing);
	return 0;
}

int sl_dma_cuda_open(struct sl_dma_target *t, const char *arg,
		     const struct sl_dma_target_opts *o)
{
	struct cuda_t *c;
	char *end;
	long v;
	int cnt = 0, err;
	CUresult r;

	errno = 0;
	v = strtol(arg, &end, 10);
	if (!*arg || *end || errno || v < 0 || v > 1023)
		return sl_fail(EINVAL,
			       "dma: %s: give cuda:N, N the device number",
			       t->name);
	c = calloc(1, sizeof(*c));
	if (!c)
		return sl_fail(ENOMEM, "dma: %s: out of memory", t->name);
	c->ordinal = (int)v;
	t->priv = c;
	err = cu_load(t, &c->cu);
	if (err)
		goto fail;
	r = c->cu.Init(0);
	if (r != CUDA_SUCCESS) {
		err = cu_fail(t, r, "cuInit", ENODEV);
		goto fail;
	}
	r = c->cu.DeviceGetCount(&cnt);
	if (r != CUDA_SUCCESS || c->ordinal >= cnt) {
		err = sl_fail(ENODEV, "dma: %s: no such device (%d found)",
			      t->name, r == CUDA_SUCCESS ? cnt : 0);
		goto fail;
	}
	r = c->cu.DeviceGet(&c->dev, c->ordinal);
	if (r != CUDA_SUCCESS) {
		err = cu_fail(t, r, "cuDeviceGet", ENODEV);
		goto fail;
	}
	if (c->cu.DeviceGetName(c->devname, sizeof(c->devname), c->dev) !=
	    CUDA_SUCCESS)
		c->devname[0] = 0;
	r = c->cu.DevicePrimaryCtxRetain(&c->ctx, c->dev);
	if (r != CUDA_SUCCESS) {
		err = cu_fail(t, r, "cuDevicePrimaryCtxRetain", EIO);
		goto fail;
	}
	c->ctx_held = true;
	r = c->cu.CtxSetCurrent(c->ctx);
	if (r != CUDA_SUCCESS) {
		err = cu_fail(t, r, "cuCtxSetCurrent", EIO);
		goto fail;
	}
	if (o->dev_ptr) {
		c->dptr = (CUdeviceptr)o->dev_ptr;
		c->dlen = o->dev_len;
	}
	snprintf(t->note, sizeof(t->note), "%s", c->devname);
	t->ops = &cuda_ops;
	return 0;
fail:
	if (c->ctx_held)
		c->cu.DevicePrimaryCtxRelease(c->dev);
	free(c);
	t->priv = NULL;
	return err;
}
