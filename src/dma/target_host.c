// SPDX-License-Identifier: MIT
/*
 * The host target: memory of this process, allocated by reserve. A
 * transfer is one memcpy, finished when submit returns: nothing between
 * the staging buffer and the destination needs a device's DMA.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "core/log.h"
#include "dma/dma_int.h"

struct host_t {
	uint8_t *mem;
	size_t len; /* mapped */
};

static int host_reserve(struct sl_dma_target *t, uint64_t len)
{
	struct host_t *h = t->priv;
	void *m;

	if (h->mem)
		return sl_fail(EBUSY, "dma: %s: reserved already", t->name);
	if (!len || len > SIZE_MAX / 2)
		return sl_fail(EINVAL, "dma: %s: reserve %" PRIu64 " bytes",
			       t->name, len);
	/* an anonymous mapping: untouched pages cost nothing */
	m = mmap(NULL, (size_t)len, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (m == MAP_FAILED)
		return sl_fail(errno, "dma: %s: %" PRIu64 " bytes: %s", t->name,
			       len, strerror(errno));
	h->mem = m;
	h->len = (size_t)len;
	t->reserved = len;
	return 0;
}

static int host_submit(struct sl_dma_target *t, struct sl_dma_io *io)
{
	struct host_t *h = t->priv;
	uint64_t at = io->off + io->done;
	uint32_t n = io->len - io->done;

	if (at > h->len || n > h->len - at) {
		snprintf(t->detail, sizeof(t->detail),
			 "past the %zu bytes reserved", h->len);
		return -ENOSPC;
	}
	memcpy(h->mem + at, io->buf + io->done, n);
	io->res = (int)n;
	io->finished = true;
	return 0;
}

static int host_reap(struct sl_dma_target *t, bool wait)
{
	(void)t;
	(void)wait;
	return 0; /* everything finished in submit */
}

static int host_read(struct sl_dma_target *t, uint64_t off, void *buf,
		     size_t len)
{
	struct host_t *h = t->priv;

	if (off > h->len || len > h->len - off)
		return sl_fail(ENODATA, "dma: %s: read past the %zu bytes held",
			       t->name, h->len);
	memcpy(buf, h->mem + off, len);
	return 0;
}

static void *host_ptr(const struct sl_dma_target *t)
{
	const struct host_t *h = t->priv;

	return h->mem;
}

static void host_close(struct sl_dma_target *t)
{
	struct host_t *h = t->priv;

	if (h->mem)
		munmap(h->mem, h->len);
	free(h);
}

static const struct sl_dma_target_ops host_ops = {
	.reserve = host_reserve,
	.submit = host_submit,
	.reap = host_reap,
	.read = host_read,
	.close = host_close,
	.host_ptr = host_ptr,
};

int sl_dma_host_open(struct sl_dma_target *t, const char *arg,
		     const struct sl_dma_target_opts *o)
{
	(void)arg;
	(void)o;
	t->priv = calloc(1, sizeof(struct host_t));
	if (!t->priv)
		return sl_fail(ENOMEM, "dma: host: out of memory");
	t->ops = &host_ops;
	return 0;
}
