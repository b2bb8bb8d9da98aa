// SPDX-License-Identifier: MIT
/*
 * Protection domains and memory regions. A region's keys index a global
 * registry (index << 8 | a variant bumped each time the slot is reused, so
 * an old key goes stale); the fast path finds a region from a key without
 * a lock. Every remote access is checked here before memory is touched:
 * key known and current (whole-key compare), same PD, right present, range
 * inside the region, written so it cannot overflow. A PD counts its regions
 * and QPs atomically: regions come and go without rdma_tab_lock.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>

#include <sluice/rdma.h>

#include "core/log.h"
#include "rdma/rdma_int.h"
#include "rdma/wire.h"

#define MR_MAX 4096 /* key index space: keys are index << 8 | variant */
#define ACCESS_REMOTE (ACCESS_ALL & ~SL_RDMA_ACCESS_LOCAL_WRITE)

static struct sl_rdma_mr *mr_tab[MR_MAX];
static uint8_t mr_variant[MR_MAX];

struct sl_rdma_pd *sl_rdma_pd_create(void)
{
	struct sl_rdma_pd *pd = calloc(1, sizeof(*pd));

	if (!pd)
		sl_fail(ENOMEM, "rdma: no memory for a protection domain");
	return pd;
}

int sl_rdma_pd_destroy(struct sl_rdma_pd *pd)
{
	if (!pd)
		return 0;
	if (__atomic_load_n(&pd->refs, __ATOMIC_ACQUIRE))
		return sl_fail(EBUSY, "rdma: protection domain still in use");
	free(pd);
	return 0;
}

struct sl_rdma_mr *sl_rdma_reg_mr(struct sl_rdma_pd *pd, void *addr, size_t len,
				  unsigned access)
{
	struct sl_rdma_mr *mr;
	unsigned i;

	if (!pd || !addr || len == 0 || len > UINT32_MAX ||
	    (access & ~ACCESS_ALL)) {
		sl_fail(EINVAL, "rdma: reg_mr: bad arguments");
		return NULL;
	}
	if ((access &
	     (SL_RDMA_ACCESS_REMOTE_WRITE | SL_RDMA_ACCESS_REMOTE_ATOMIC)) &&
	    !(access & SL_RDMA_ACCESS_LOCAL_WRITE)) {
		sl_fail(EINVAL, "rdma: reg_mr: REMOTE_WRITE and REMOTE_ATOMIC "
				"need LOCAL_WRITE too");
		return NULL;
	}
	mr = calloc(1, sizeof(*mr));
	if (!mr) {
		sl_fail(ENOMEM, "rdma: no memory for a region");
		return NULL;
	}
	mr->pd = pd;
	mr->addr = addr;
	mr->len = len;
	mr->access = access;
	mr->valid = true;
	pthread_mutex_lock(&rdma_tab_lock);
	for (i = 1; i < MR_MAX && mr_tab[i]; i++)
		;
	if (i == MR_MAX) {
		pthread_mutex_unlock(&rdma_tab_lock);
		free(mr);
		sl_fail(ENOMEM, "rdma: all %d region keys are in use", MR_MAX);
		return NULL;
	}
	/* a new variant each time the slot is reused: old keys go stale */
	mr->lkey = i << 8 | ++mr_variant[i];
	mr->rkey = (access & ACCESS_REMOTE) ? mr->lkey : 0;
	__atomic_add_fetch(&pd->refs, 1, __ATOMIC_RELEASE);
	__atomic_store_n(&mr_tab[i], mr, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&rdma_tab_lock);
	return mr;
}

uint32_t sl_rdma_mr_lkey(const struct sl_rdma_mr *mr)
{
	return mr->lkey;
}

uint32_t sl_rdma_mr_rkey(const struct sl_rdma_mr *mr)
{
	return mr->rkey;
}

int sl_rdma_dereg_mr(struct sl_rdma_mr *mr)
{
	uint32_t i;

	if (!mr)
		return 0;
	i = mr->lkey >> 8;
	pthread_mutex_lock(&rdma_tab_lock);
	if (i >= MR_MAX || mr_tab[i] != mr) {
		pthread_mutex_unlock(&rdma_tab_lock);
		return sl_fail(EINVAL, "rdma: dereg_mr: not a registered "
				       "region");
	}
	__atomic_store_n(&mr_tab[i], NULL, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&rdma_tab_lock);
	__atomic_sub_fetch(&mr->pd->refs, 1, __ATOMIC_RELEASE);
	free(mr);
	return 0;
}

struct sl_rdma_mr *rdma_mr_by_key(uint32_t key, bool remote)
{
	uint32_t i = key >> 8;
	struct sl_rdma_mr *mr;

	if (i == 0 || i >= MR_MAX)
		return NULL;
	mr = __atomic_load_n(&mr_tab[i], __ATOMIC_ACQUIRE);
	/* the whole key, variant included: a stale key finds nothing */
	if (!mr || !mr->valid || (remote ? mr->rkey : mr->lkey) != key)
		return NULL;
	return mr;
}

/* The §5 checks 3-5: key current, same PD, right present, range inside. */
uint8_t *rdma_mr_check_mr(struct sl_rdma_pd *pd, uint32_t key, bool remote,
			  uint64_t va, uint64_t len, unsigned right,
			  struct sl_rdma_mr **out)
{
	struct sl_rdma_mr *mr = rdma_mr_by_key(key, remote);
	uint64_t iova;

	if (!mr || mr->pd != pd || (right && !(mr->access & right)))
		return NULL;
	iova = (uint64_t)(uintptr_t)mr->addr;
	/* written so that no sum can wrap */
	if (va < iova || len > mr->len || va - iova > mr->len - len)
		return NULL;
	if (out)
		*out = mr;
	return mr->addr + (va - iova);
}

uint8_t *rdma_mr_check(struct sl_rdma_pd *pd, uint32_t key, bool remote,
		       uint64_t va, uint64_t len, unsigned right)
{
	return rdma_mr_check_mr(pd, key, remote, va, len, right, NULL);
}

int sl_rdma_mr_on_write(struct sl_rdma_mr *mr, sl_rdma_mr_write_fn fn,
			void *ctx)
{
	if (!mr)
		return sl_fail(EINVAL, "rdma: mr_on_write: no region");
	mr->on_write = fn;
	mr->on_write_ctx = ctx;
	return 0;
}

void rdma_mr_revalidate(struct sl_rdma_mr *mr)
{
	mr->valid = true;
}
