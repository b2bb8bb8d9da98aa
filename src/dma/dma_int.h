/* SPDX-License-Identifier: MIT */
/*
 * Inside the dma layer: what a target implements for the stager
 * (src/dma/stage.c), and one transfer as both see it.
 *
 * The stager owns the transfers (struct sl_dma_io, one per staging buffer)
 * and their order; a target only starts them (submit) and says which
 * finished (reap), in any order. A target never frees nor reorders a
 * transfer, and reports every transfer it accepted exactly once, error or
 * not, so that the stager knows when a buffer is no longer under DMA.
 */
#ifndef SL_DMA_INT_H
#define SL_DMA_INT_H

#include <stdbool.h>
#include <stdint.h>

#include <sluice/dma.h>

struct sl_dma_io {
	uint8_t *buf; /* the staging buffer (owned by the stager) */
	uint32_t slot; /* its index: registered buffer index */
	uint32_t len; /* bytes to write */
	uint32_t done; /* bytes known written (short writes continue) */
	uint64_t off; /* where on the target */
	void *cookie;
	/* set by the target when it finishes this submission: bytes
	 * written (from buf + done, at off + done), or -errno */
	int res;
	bool finished;
	bool busy; /* owned by the stager: in flight or handed out */
};

struct sl_dma_target;

struct sl_dma_target_ops {
	/* room for len bytes (host, cuda); NULL: nothing to do */
	int (*reserve)(struct sl_dma_target *t, uint64_t len);
	/* register the staging region, n buffers of buf_size from base */
	int (*attach)(struct sl_dma_target *t, uint8_t *base, uint32_t buf_size,
		      uint32_t n);
	void (*detach)(struct sl_dma_target *t);
	/* start writing io->len - io->done bytes from io->buf + io->done to
	 * io->off + io->done. 0 when started (reap reports it later, or it
	 * is finished already), -errno when it could not start (then it is
	 * never reported; t->detail may say why). */
	int (*submit)(struct sl_dma_target *t, struct sl_dma_io *io);
	/* mark what finished (io->res, io->finished); with wait, block
	 * until at least one did if any is outstanding. The count, or
	 * -errno when the target can no longer report (all it holds are
	 * then lost: the stager fails them). */
	int (*reap)(struct sl_dma_target *t, bool wait);
	/* make what finished durable (fdatasync); NULL: nothing to do */
	int (*flush)(struct sl_dma_target *t);
	int (*read)(struct sl_dma_target *t, uint64_t off, void *buf,
		    size_t len);
	void (*close)(struct sl_dma_target *t);
	void *(*host_ptr)(const struct sl_dma_target *t); /* may be NULL */
	uint64_t (*dev_ptr)(const struct sl_dma_target *t); /* may be NULL */
};

struct sl_dma_target {
	const struct sl_dma_target_ops *ops;
	enum sl_dma_kind kind;
	char name[256]; /* the spec */
	char note[256];
	/* why the last transfer failed, beyond its errno ("CUDA_ERROR_..."):
	 * set by the target, "" otherwise */
	char detail[160];
	uint64_t reserved; /* host, cuda: bytes usable */
	bool attached; /* a stager holds it */
	void *priv;
};

/* A target with the given operations, for the openers below and for tests
 * (a fake target). NULL with errno ENOMEM. */
struct sl_dma_target *sl_dma_target_new(const struct sl_dma_target_ops *ops,
					enum sl_dma_kind kind, const char *name,
					void *priv);

/* The openers, one per file (target_*.c): fill t->ops and t->priv; 0 or a
 * sl_fail() error naming the target. arg is what follows "kind:". */
int sl_dma_host_open(struct sl_dma_target *t, const char *arg,
		     const struct sl_dma_target_opts *o);
int sl_dma_file_open(struct sl_dma_target *t, const char *arg,
		     const struct sl_dma_target_opts *o);
int sl_dma_cuda_open(struct sl_dma_target *t, const char *arg,
		     const struct sl_dma_target_opts *o);

#endif
