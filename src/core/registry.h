/* SPDX-License-Identifier: MIT */
/*
 * The process-wide registry of open ports, pools and RDMA QPs, for
 * telemetry (src/telemetry/): each object is added when it is made and
 * removed, first thing, when it is destroyed. Control path only; the fast
 * path never sees it.
 *
 * A reader takes a reference on an entry (sl_reg_get), drops the registry
 * lock, reads the object's counters and puts the reference back; removal
 * waits for the references to go. The lock is not held across the reads
 * because some of them take the object's own locks (an auto: port's
 * switching lock, held while it opens and closes its inner port, which
 * registers): holding both would deadlock.
 */
#ifndef SL_CORE_REGISTRY_H
#define SL_CORE_REGISTRY_H

#include <stdint.h>

enum sl_reg_kind {
	SL_REG_PORT,
	SL_REG_POOL,
	SL_REG_QP,
	SL_REG_KINDS,
};

struct sl_reg_ent;

/* List obj as a kind; name (may be NULL) is copied, for listings. The
 * object's id is the next of its kind, from 0, never reused in a process.
 * Returns the id, or -ENOMEM: the object then goes unlisted, which is no
 * reason to fail the caller's open. Thread-safe. */
int sl_reg_add(enum sl_reg_kind kind, void *obj, const char *name);

/* Unlist obj (nothing if it is not listed) and wait until no reader holds
 * it. Call before tearing the object down. Thread-safe. */
void sl_reg_del(void *obj);

/* Fill ids with the ids of up to n listed objects of a kind, in order;
 * returns how many there are in all. Thread-safe. */
unsigned sl_reg_ids(enum sl_reg_kind kind, unsigned *ids, unsigned n);

/* The entry of a kind with that id, referenced (sl_reg_put it), or NULL if
 * there is none (or it is going away). Thread-safe. */
struct sl_reg_ent *sl_reg_get(enum sl_reg_kind kind, unsigned id);
void sl_reg_put(struct sl_reg_ent *e);

/* What a referenced entry holds. */
void *sl_reg_obj(const struct sl_reg_ent *e);
const char *sl_reg_name(const struct sl_reg_ent *e);

/* The id of a listed object, or -1. Thread-safe. */
int sl_reg_id_of(const void *obj);

/*
 * Start the telemetry server if SLUICE_TELEMETRY asks for it, once per
 * process. Called by the port layer at every open; defined above it, in
 * src/telemetry/server.c (the registry's one reference upwards, by symbol
 * as the driver table's, not by header). Never fails the caller: a server
 * that cannot start says why through the log.
 */
void sl_telemetry_env_start(void);

#endif
