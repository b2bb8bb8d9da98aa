/* SPDX-License-Identifier: MIT */
/*
 * What rx_bench.c (the runs) and rx_report.c (the table, the goals and the
 * JSON) share: the rows with their results, and the options.
 */
#ifndef SL_BENCH_RX_BENCH_H
#define SL_BENCH_RX_BENCH_H

#include <stdbool.h>

#include "rxcore.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define FRAME_LEN RXC_FRAME_LEN

enum row_kind {
	K_SINK, /* sl_live_sink: XDP count-and-drop */
	K_PORT, /* a sluice port, sl_rx_burst in a loop */
	K_RECVMMSG, /* a plain UDP socket, blocking recvmmsg */
	K_TESTPMD, /* dpdk-testpmd rxonly with a vdev */
};

struct row {
	const char *key; /* for --only and the JSON */
	const char *label;
	enum row_kind kind;
	/* K_PORT: driver ("udp", "packet", "xdp"); K_TESTPMD: vdev name */
	const char *drv;
	const char *opts; /* spec options after the interface, or "" */
	bool native; /* K_SINK: native (driver) mode */
	/* results */
	bool ran;
	double rx_mpps;
	double offered_mpps;
	char mode[32]; /* what the receiver really got */
	char note[200]; /* why skipped, or a warning */
};

enum idle_mode { IDLE_SPIN, IDLE_YIELD, IDLE_SLEEP };

struct rx_cfg {
	double duration, warmup;
	const char *json;
	const char *only;
	enum idle_mode idle;
	unsigned idle_us;
	unsigned burst;
	unsigned reps;
	bool quick;
};

extern struct row rx_rows[];
extern const unsigned rx_n_rows;
extern struct rx_cfg rx_cfg;

/* Print the table and the goals, write the JSON (rx_cfg.json). 0, or 1
 * when the JSON could not be written. */
int rx_report(const char *header);

#endif
