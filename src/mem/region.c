// SPDX-License-Identifier: MIT
/*
 * Memory regions: one anonymous mapping, on 2 MiB hugepages when the host
 * has enough reserved, else on ordinary pages, populated up front and
 * locked. A region never fails for want of hugepages or of a lock (unless
 * the caller requires hugepages): it falls back and records in its note
 * what it did not get and the command that would have given it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>

#include <sluice/mem.h>

#include "core/log.h"

#ifndef MAP_HUGE_2MB
#define MAP_HUGE_2MB (21 << 26) /* log2(2 MiB) << MAP_HUGE_SHIFT */
#endif

#define HUGE_2M (2ul << 20)

struct sl_region {
	void *base;
	size_t len;
	size_t page;
	bool huge;
	bool locked;
	char note[384];
};

static size_t round_up(size_t v, size_t to)
{
	return (v + to - 1) / to * to;
}

static unsigned long read_ulong(const char *path)
{
	unsigned long v = 0;
	FILE *f = fopen(path, "r");

	if (f) {
		if (fscanf(f, "%lu", &v) != 1)
			v = 0;
		fclose(f);
	}
	return v;
}

/* Why a hugepage mapping of len bytes failed, and what fixes it. */
static void huge_note(char *buf, size_t size, size_t len)
{
	const char *dir = "/sys/kernel/mm/hugepages/hugepages-2048kB";
	char path[128];
	unsigned long total, avail, need = len / HUGE_2M;

	snprintf(path, sizeof(path), "%s/nr_hugepages", dir);
	total = read_ulong(path);
	snprintf(path, sizeof(path), "%s/free_hugepages", dir);
	avail = read_ulong(path);
	if (total == 0)
		snprintf(
			buf, size,
			"no 2 MiB hugepages reserved: echo %lu > /proc/sys/vm/nr_hugepages",
			need > 512 ? need : 512);
	else
		snprintf(
			buf, size,
			"%lu 2 MiB hugepages needed, %lu of %lu free: echo %lu > /proc/sys/vm/nr_hugepages",
			need, avail, total, total + need);
}

static void lock_note(char *buf, size_t size, size_t len, int err)
{
	struct rlimit rl = { 0 };
	char lim[32] = "unlimited";
	size_t used = strlen(buf);

	getrlimit(RLIMIT_MEMLOCK, &rl);
	if (rl.rlim_cur != RLIM_INFINITY)
		snprintf(lim, sizeof(lim), "%llu KiB",
			 (unsigned long long)rl.rlim_cur / 1024);
	snprintf(
		buf + used, size - used,
		"%snot locked in memory: mlock of %zu KiB failed (%s; RLIMIT_MEMLOCK is %s): run 'ulimit -l unlimited' or grant CAP_IPC_LOCK",
		used ? "; " : "", len / 1024, strerror(err), lim);
}

struct sl_region *sl_region_create(size_t len,
				   const struct sl_region_opts *opts)
{
	enum sl_huge huge = opts ? opts->huge : SL_HUGE_AUTO;
	bool lock = !(opts && opts->no_lock);
	struct sl_region *r;
	void *base = MAP_FAILED;

	if (len == 0) {
		sl_fail(EINVAL, "region: length 0");
		return NULL;
	}
	r = calloc(1, sizeof(*r));
	if (!r) {
		sl_fail(ENOMEM, "region: out of memory");
		return NULL;
	}
	if (huge != SL_HUGE_NEVER) {
		r->len = round_up(len, HUGE_2M);
		base = mmap(NULL, r->len, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB |
				    MAP_HUGE_2MB | MAP_POPULATE,
			    -1, 0);
		if (base != MAP_FAILED) {
			r->huge = true;
			r->page = HUGE_2M;
		} else {
			huge_note(r->note, sizeof(r->note), r->len);
			if (huge == SL_HUGE_REQUIRE) {
				sl_fail(ENOMEM, "region: %s", r->note);
				free(r);
				return NULL;
			}
		}
	} else {
		snprintf(r->note, sizeof(r->note), "ordinary pages, as asked");
	}
	if (base == MAP_FAILED) {
		r->page = (size_t)sysconf(_SC_PAGESIZE);
		r->len = round_up(len, r->page);
		base = mmap(NULL, r->len, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
		if (base == MAP_FAILED) {
			sl_fail(errno, "region: mmap of %zu bytes failed: %s",
				r->len, strerror(errno));
			free(r);
			return NULL;
		}
	}
	r->base = base;
	if (lock) {
		if (mlock(base, r->len) == 0)
			r->locked = true;
		else
			lock_note(r->note, sizeof(r->note), r->len, errno);
	}
	return r;
}

void sl_region_destroy(struct sl_region *r)
{
	if (!r)
		return;
	munmap(r->base, r->len);
	free(r);
}

void *sl_region_base(const struct sl_region *r)
{
	return r->base;
}

size_t sl_region_len(const struct sl_region *r)
{
	return r->len;
}

size_t sl_region_page_size(const struct sl_region *r)
{
	return r->page;
}

bool sl_region_is_huge(const struct sl_region *r)
{
	return r->huge;
}

bool sl_region_is_locked(const struct sl_region *r)
{
	return r->locked;
}

const char *sl_region_note(const struct sl_region *r)
{
	return r->note;
}
