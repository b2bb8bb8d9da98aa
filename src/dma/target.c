// SPDX-License-Identifier: MIT
/*
 * Targets as the application sees them: one spec string picks the kind
 * (host, file:PATH, cuda:N) and its opener (target_*.c); the calls here
 * check their arguments and hand over to the target's operations.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/opts.h"
#include "dma/dma_int.h"

struct sl_dma_target *sl_dma_target_new(const struct sl_dma_target_ops *ops,
					enum sl_dma_kind kind, const char *name,
					void *priv)
{
	struct sl_dma_target *t = calloc(1, sizeof(*t));

	if (!t) {
		errno = ENOMEM;
		return NULL;
	}
	t->ops = ops;
	t->kind = kind;
	t->priv = priv;
	sl_strlcpy(t->name, name ? name : "", sizeof(t->name));
	return t;
}

struct sl_dma_target *sl_dma_target_open(const char *spec,
					 const struct sl_dma_target_opts *opts)
{
	struct sl_dma_target_opts o;
	struct sl_dma_target *t;
	int err;

	if (sl_opts_in(&o, sizeof(o), opts, "sl_dma_target_open",
		       "sl_dma_target_opts"))
		return NULL;
	if (!spec || !*spec) {
		sl_fail(EINVAL, "dma: no target: give host, file:PATH or "
				"cuda:N");
		return NULL;
	}
	if (strlen(spec) >= sizeof(t->name)) {
		sl_fail(ENAMETOOLONG, "dma: target spec longer than %zu bytes",
			sizeof(t->name) - 1);
		return NULL;
	}
	t = sl_dma_target_new(NULL, 0, spec, NULL);
	if (!t) {
		sl_fail(ENOMEM, "dma: %s: out of memory", spec);
		return NULL;
	}
	if (!strcmp(spec, "host")) {
		t->kind = SL_DMA_HOST;
		err = sl_dma_host_open(t, "", &o);
	} else if (!strncmp(spec, "file:", 5)) {
		t->kind = SL_DMA_FILE;
		err = sl_dma_file_open(t, spec + 5, &o);
	} else if (!strncmp(spec, "cuda:", 5)) {
		t->kind = SL_DMA_CUDA;
		err = sl_dma_cuda_open(t, spec + 5, &o);
	} else {
		err = sl_fail(EINVAL,
			      "dma: %s: unknown target: give host, file:PATH "
			      "or cuda:N",
			      spec);
	}
	if (err) {
		free(t);
		errno = -err;
		return NULL;
	}
	return t;
}

void sl_dma_target_close(struct sl_dma_target *t)
{
	if (!t)
		return;
	if (t->ops && t->ops->close)
		t->ops->close(t);
	free(t);
}

enum sl_dma_kind sl_dma_target_kind(const struct sl_dma_target *t)
{
	return t->kind;
}

const char *sl_dma_target_name(const struct sl_dma_target *t)
{
	return t->name;
}

const char *sl_dma_target_note(const struct sl_dma_target *t)
{
	return t->note;
}

int sl_dma_target_reserve(struct sl_dma_target *t, uint64_t len)
{
	if (!t)
		return sl_fail(EINVAL, "dma: reserve: no target");
	if (!t->ops->reserve)
		return 0;
	return t->ops->reserve(t, len);
}

void *sl_dma_target_host_ptr(const struct sl_dma_target *t)
{
	return t && t->ops->host_ptr ? t->ops->host_ptr(t) : NULL;
}

uint64_t sl_dma_target_dev_ptr(const struct sl_dma_target *t)
{
	return t && t->ops->dev_ptr ? t->ops->dev_ptr(t) : 0;
}

int sl_dma_target_read(struct sl_dma_target *t, uint64_t off, void *buf,
		       size_t len)
{
	if (!t || (!buf && len))
		return sl_fail(EINVAL, "dma: read: no target or buffer");
	if (!t->ops->read)
		return sl_fail(EOPNOTSUPP, "dma: %s: cannot be read back",
			       t->name);
	if (off + len < off)
		return sl_fail(EINVAL, "dma: %s: read past 2^64", t->name);
	return t->ops->read(t, off, buf, len);
}
