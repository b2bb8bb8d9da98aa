/* SPDX-License-Identifier: MIT */
/*
 * What the receive benchmarks on the veth test bed share (bench/rx_bench.c
 * and `sluice bench`, tools/bench/): pinning the receiving veth's NAPI
 * kthreads to the receiver's CPU, and driving DPDK's dpdk-testpmd as a peer
 * (started in a namespace of the bed with an AF_XDP or AF_PACKET vdev,
 * commanded through its interactive prompt, its counters read from its
 * output, stopped so that it leaves nothing on the veth).
 *
 * Control path only; not thread-safe (one benchmark thread drives these).
 * testpmd is killed with the benchmark (PR_SET_PDEATHSIG) if that dies
 * first.
 */
#ifndef SL_BED_RXCORE_H
#define SL_BED_RXCORE_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <sluice/live.h>

#include "testbed.h"

#define RXC_FRAME_LEN 60 /* without FCS: 64 bytes on a wire */

/* Pin the calling thread to cpu. 0 or -errno. */
int rxc_pin_self(int cpu);

/* /proc/cpuinfo's first "model name", or "unknown CPU". */
void rxc_cpu_model(char *buf, size_t len);

/* The UDP frame side A of the bed sends to side B (MACs, IPv4 addresses,
 * ports sport -> dport), RXC_FRAME_LEN bytes. 0 or -EINVAL. */
int rxc_frame(const struct tb *tb, uint16_t sport, uint16_t dport,
	      uint8_t *frame);

/* The sender, run as a thread (rxc_sender_main): from namespace A of
 * tb, pinned to cpu, frame for seconds. In-kernel live frames where the
 * kernel allows them; where it refuses them (EPERM, EOPNOTSUPP: some
 * kernels and sandboxes), an AF_PACKET port (packet:A) instead, which
 * offers far less (see port_sender in rxcore.c). engine says which ran
 * ("xdp-live" or "packet port") and live_why why live frames did not. err
 * and msg say why it failed; res is what it offered. */
struct rxc_sender {
	pthread_t thread;
	const struct tb *tb;
	const uint8_t *frame;
	size_t frame_len;
	/* the AF_PACKET sender cycles through these (n_frames of frame_len
	 * bytes, e.g. one per flow, so a multi-queue veth spreads them);
	 * NULL: frame alone. Live frames go out as frame: veth puts them on
	 * the receive queue of the sending CPU, whatever their flow. */
	const uint8_t *frames;
	unsigned n_frames;
	int cpu;
	double seconds;
	uint64_t rate_pps; /* 0: as fast as it goes; else evenly paced */
	struct sl_live_result res;
	int err;
	char msg[160];
	const char *engine;
	char live_why[200];
};

void *rxc_sender_main(void *arg);

/* The 1-minute load average of /proc/loadavg ("0.52"), "?" when it
 * cannot be read. */
void rxc_loadavg(char *buf, size_t len);

/*
 * GRO on and threaded NAPI on ifname, in the bed's side: veth has NAPI
 * only with GRO or an XDP program, and a threaded one can be pinned to the
 * receiver's CPU (rxc_pin_napi()), so that a row pays for its receive
 * work on its own CPU. Returns the shell's exit status: 0 when both took.
 */
int rxc_napi_setup(const struct tb *tb, int side, const char *ifname);

/*
 * Pin every NAPI kthread of interface ifname ("napi/IFNAME-ID", or a
 * prefix of it when the kernel cut the name at 15 characters) to cpu.
 * veth creates them when GRO or an XDP program turns its NAPI on, so call
 * it again after such a change. The pids pinned go to pids (up to max;
 * pids may be NULL). Returns how many it pinned.
 */
int rxc_pin_napi(const char *ifname, int cpu, int *pids, unsigned max);

/* CPU time a task (thread) has run, in ns, from /proc/PID/schedstat;
 * 0 when unknown. */
uint64_t rxc_task_cpu_ns(int pid);

/* The first executable called name in PATH and the usual sbin/bin
 * directories, into buf; NULL when there is none. */
const char *rxc_which(const char *name, char *buf, size_t len);

struct testpmd {
	pid_t pid; /* 0 when not running */
	int in_fd; /* its stdin (commands) */
	int log_fd; /* its stdout and stderr */
	char log_path[64];
	const struct tb *tb;
	int side; /* the bed's side it runs in */
	char ifname[16]; /* the interface its vdev uses */
	int af_xdp; /* its vdev is an AF_XDP one */
};

/*
 * Start dpdk-testpmd in the bed's side with one vdev on ifname,
 * "DRV,iface=IFNAME" followed by vdev_args (e.g. ",start_queue=0"), in
 * rxonly forwarding mode, the main lcore on main_cpu and the forwarding
 * lcore on fwd_cpu, and wait (up to 30 s) until it forwards. Returns 0, or
 * -errno with why (a line for a table: "not installed (Debian package
 * dpdk)", testpmd's own "Cause: ..."). Call testpmd_stop() either way.
 */
int testpmd_start(struct testpmd *t, const struct tb *tb, int side,
		  const char *ifname, const char *drv, const char *vdev_args,
		  int main_cpu, int fwd_cpu, char *why, size_t why_len);

/* Send command lines ("stop\nset fwd macswap\nstart\n") and wait until
 * testpmd printed its prompt once per line (up to timeout_s). 0 or
 * -errno. */
int testpmd_cmd(struct testpmd *t, const char *cmds, double timeout_s);

/* A counter of port 0 now ("RX-packets:", "TX-packets:"), from "show port
 * stats all"; 0 when it did not answer. */
uint64_t testpmd_stat(struct testpmd *t, const char *what);

/* "copy-native"/"copy-generic" for an AF_XDP vdev (what its XDP program
 * attached as; "?" when none shows), "mmap ring" for others, into buf. */
void testpmd_mode(struct testpmd *t, char *buf, size_t len);

/* Quit (or kill) testpmd, remove its log, and clear what a killed testpmd
 * may leave on the interface (an XDP program, promiscuous mode). Safe on a
 * testpmd that never started. */
void testpmd_stop(struct testpmd *t);

#endif
