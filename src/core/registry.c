// SPDX-License-Identifier: MIT
/*
 * The registry of open ports, pools and QPs (core/registry.h): a list
 * under one mutex, taken on the control path only (opens, closes, and the
 * telemetry thread's reads). Entries are allocated one by one so that a
 * referenced entry stays put while the list around it changes.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>

#include "core/log.h"
#include "core/registry.h"

struct sl_reg_ent {
	struct sl_reg_ent *next;
	enum sl_reg_kind kind;
	unsigned id;
	unsigned refs; /* readers holding it, under reg_lock */
	int gone; /* unlisted, waiting for refs to go */
	void *obj;
	char name[32];
};

static pthread_mutex_t reg_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t reg_cond = PTHREAD_COND_INITIALIZER;
static struct sl_reg_ent *reg_head, **reg_tail = &reg_head;
static unsigned reg_next_id[SL_REG_KINDS];

int sl_reg_add(enum sl_reg_kind kind, void *obj, const char *name)
{
	struct sl_reg_ent *e = calloc(1, sizeof(*e));

	if (!e)
		return -ENOMEM;
	e->kind = kind;
	e->obj = obj;
	sl_strlcpy(e->name, name ? name : "", sizeof(e->name));
	pthread_mutex_lock(&reg_lock);
	e->id = reg_next_id[kind]++;
	*reg_tail = e;
	reg_tail = &e->next;
	pthread_mutex_unlock(&reg_lock);
	return (int)e->id;
}

void sl_reg_del(void *obj)
{
	struct sl_reg_ent **pp, *e = NULL;

	pthread_mutex_lock(&reg_lock);
	for (pp = &reg_head; *pp; pp = &(*pp)->next) {
		if ((*pp)->obj == obj) {
			e = *pp;
			*pp = e->next;
			if (reg_tail == &e->next)
				reg_tail = pp;
			break;
		}
	}
	if (e) {
		e->gone = 1;
		while (e->refs)
			pthread_cond_wait(&reg_cond, &reg_lock);
	}
	pthread_mutex_unlock(&reg_lock);
	free(e);
}

unsigned sl_reg_ids(enum sl_reg_kind kind, unsigned *ids, unsigned n)
{
	struct sl_reg_ent *e;
	unsigned i = 0;

	pthread_mutex_lock(&reg_lock);
	for (e = reg_head; e; e = e->next) {
		if (e->kind != kind)
			continue;
		if (i < n)
			ids[i] = e->id;
		i++;
	}
	pthread_mutex_unlock(&reg_lock);
	return i;
}

struct sl_reg_ent *sl_reg_get(enum sl_reg_kind kind, unsigned id)
{
	struct sl_reg_ent *e;

	pthread_mutex_lock(&reg_lock);
	for (e = reg_head; e; e = e->next)
		if (e->kind == kind && e->id == id)
			break;
	if (e)
		e->refs++;
	pthread_mutex_unlock(&reg_lock);
	return e;
}

void sl_reg_put(struct sl_reg_ent *e)
{
	if (!e)
		return;
	pthread_mutex_lock(&reg_lock);
	if (!--e->refs && e->gone)
		pthread_cond_broadcast(&reg_cond);
	pthread_mutex_unlock(&reg_lock);
}

void *sl_reg_obj(const struct sl_reg_ent *e)
{
	return e->obj;
}

const char *sl_reg_name(const struct sl_reg_ent *e)
{
	return e->name;
}

int sl_reg_id_of(const void *obj)
{
	struct sl_reg_ent *e;
	int id = -1;

	pthread_mutex_lock(&reg_lock);
	for (e = reg_head; e; e = e->next)
		if (e->obj == obj) {
			id = (int)e->id;
			break;
		}
	pthread_mutex_unlock(&reg_lock);
	return id;
}
