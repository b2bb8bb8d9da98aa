/* SPDX-License-Identifier: MIT */
/*
 * In-kernel traffic generator: sends copies of one template
 * frame out of an interface at up to several Mpps using BPF_PROG_RUN in
 * XDP live-frames mode (BPF_F_TEST_XDP_LIVE_FRAMES, Linux 5.18), the
 * technique of xdp-tools' xdp-trafficgen. The kernel builds each frame in
 * its own page pool and the XDP program bpf/live.bpf.c redirects it to the
 * interface, so no user-space copy and no socket is involved. It is what the
 * AF_XDP receive benchmark uses as its sender: it must outrun every
 * receiver under test.
 *
 * Nothing is attached to any interface: the program only exists while
 * sl_live_run() runs, so a crashed generator leaves nothing behind. For a
 * veth target, the peer must have NAPI running (an XDP program attached to
 * it, GRO on, or threaded NAPI), otherwise the kernel drops every frame.
 */
#ifndef SLUICE_LIVE_H
#define SLUICE_LIVE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <sluice/core.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Longest template accepted here; the kernel's own limit is lower (3408
 * bytes with 4 KiB pages: the page also holds the frame's headroom and
 * metadata) and a frame between the two fails with -EINVAL from the run. */
#define SL_LIVE_MAX_FRAME 4096
/* Most flows (distinct UDP source ports) one run spreads over. */
#define SL_LIVE_MAX_FLOWS 65536
/* Frames the kernel runs the program on per batch before it flushes the
 * redirects; its maximum is 256. */
#define SL_LIVE_DEFAULT_BATCH 64
#define SL_LIVE_MAX_BATCH 256

struct sl_live_opts {
	size_t sz; /* sizeof(struct sl_live_opts): lets the struct grow */
	int ifindex; /* interface to send on (current network namespace) */
	const void *frame; /* template: Ethernet frame, copied; not kept */
	size_t frame_len; /* 14..SL_LIVE_MAX_FRAME bytes */
	/* UDP source ports base..base+flows-1, base the template's port;
	 * 0 or 1: leave the port alone. Needs an IPv4/IPv6 UDP template. */
	uint32_t flows;
	uint64_t count; /* frames to send; 0: no limit (duration_s decides) */
	/* how long to send; 0: no limit (count). At full speed: wall time.
	 * Paced: rate_pps x duration_s frames (see sl_live_run()) */
	double duration_s;
	uint64_t rate_pps; /* 0: as fast as possible; else evenly spaced */
	/* CPU to run on (the calling thread is pinned); -1: any, and the
	 * thread may move between CPUs mid-run, count and sequence stay exact */
	int cpu;
	/* Frames per kernel batch (and page-pool size), 1..256; 0: default
	 * SL_LIVE_DEFAULT_BATCH. A tuning knob for benchmarks. */
	uint32_t batch_size;
};

struct sl_live_result {
	size_t sz; /* sizeof(struct sl_live_result), set by the caller */
	uint64_t frames; /* frames the program redirected to the interface */
	double seconds; /* wall time of the run, pauses included */
	double mpps; /* frames / seconds / 1e6 */
	int interrupted; /* a signal stopped the run early */
	uint32_t calls; /* BPF_PROG_RUN calls the run took */
	/* of seconds, the pauses around the calls (~20-40 ms each) when the
	 * kernel sends nothing */
	double paused_s;
};

/*
 * Send frames as o describes, in the calling thread, and return when the
 * count or duration is reached (whichever comes first) or a signal
 * interrupts the run (then res->interrupted is set and 0 is returned; the
 * frames sent so far are in res).
 *
 * The kernel sends in calls and pauses ~20-40 ms around each (res->calls,
 * res->paused_s): a paced run of a few seconds takes 2 to 4 calls, a
 * full-speed one a call per ~250 ms. A paced run (rate_pps) keeps its
 * frames evenly spaced within a call and does not catch up on a pause
 * with a burst (the receiver would see a hole, then 20 ms of frames at
 * once): the pause is lost time. After a stall within a call (the thread
 * was preempted) it catches up at most 1 ms of frames, or 32 frames when
 * that is more. So a paced run with a duration sends exactly rate_pps x
 * duration_s frames (rounded, at least one; count if that is lower),
 * evenly spaced, and lasts duration_s plus its pauses plus at most a few
 * % of its last call; only when the host cannot reach the rate does it
 * stop after about duration_s of sending, with fewer frames. A full-speed
 * run with a duration lasts duration_s of wall time (within a few %),
 * pauses included.
 *
 * When the template is IPv4/IPv6 UDP, each frame carries a sequence number
 * (0, 1, 2, ... big endian) in the first 8 bytes of its UDP payload (when
 * the payload has 8 bytes), its source port is spread over o->flows ports,
 * and its UDP checksum is kept valid (the template's is recomputed first;
 * an IPv4 template with checksum 0 keeps "no checksum"). Other frames go
 * out unchanged.
 *
 * Frames offered are not frames delivered: a redirect the target cannot
 * take (ring full, peer without NAPI) is dropped by the kernel and only
 * shows in the target's counters (ethtool -S).
 *
 * o and res follow the sz rule of every sluice struct (core.h): a caller
 * built against an older, smaller struct is served, fields it lacks take
 * their defaults.
 *
 * Returns 0, or -errno with a message in sl_last_error(): -EINVAL (bad
 * options or sz, or a frame the kernel refuses), -ENODEV (no such interface),
 * -EPERM (needs CAP_BPF and CAP_NET_ADMIN), -EOPNOTSUPP (kernel lacks live
 * frames). The calling thread's CPU affinity is restored before return.
 * Control path: allocates, loads a BPF program; thread-safe (each call has
 * its own program).
 */
SL_API int sl_live_run(const struct sl_live_opts *o,
		       struct sl_live_result *res);

/*
 * A receiver for tests and measurements: an XDP program that counts and
 * drops every frame, attached to ifindex in generic (skb) mode, or native
 * mode when native is set. It refuses to replace a program already
 * attached. Only for interfaces the caller created: it drops everything.
 * Returns 0 and *out, or -errno with a message (-EPERM without
 * privileges, -EEXIST when a program is already attached). Control path.
 */
struct sl_live_sink;
SL_API int sl_live_sink_attach(int ifindex, bool native,
			       struct sl_live_sink **out);
/* Frames dropped so far, all CPUs. Thread-safe. */
SL_API uint64_t sl_live_sink_count(const struct sl_live_sink *s);
/* Detach and free; s may be NULL. */
SL_API void sl_live_sink_detach(struct sl_live_sink *s);

#ifdef __cplusplus
}
#endif

#endif
