// SPDX-License-Identifier: MIT
/*
 * sluice's in-kernel traffic generator: the XDP program that
 * src/drivers/xdp/live.c runs with BPF_PROG_RUN in live-frames mode
 * (BPF_F_TEST_XDP_LIVE_FRAMES, Linux 5.18). The kernel hands it one copy of
 * the template frame per iteration, in a page of its own page pool, and every
 * frame it returns XDP_REDIRECT for is transmitted on the target interface as
 * if it had been received and forwarded there. The program is never attached
 * to an interface, so nothing is left behind when the generator stops.
 *
 * Per frame it stamps a 64-bit sequence number (big endian) into the first 8
 * bytes of the UDP payload and spreads the stream over `flows` UDP source
 * ports, so receivers can count loss and RSS/steering sees several flows.
 *
 * The kernel does not restore the frame's bytes when it recycles a page: a
 * page comes back with whatever this program last wrote into it (only
 * freshly allocated pages hold the pristine template). So the checksum is
 * updated incrementally from the values found in the frame, never from the
 * template's, and that stays right whichever page we are given.
 *
 * All offsets are computed in user space from the template and frozen in
 * .rodata before load, so the verifier sees them as constants and the
 * program does no parsing per frame.
 *
 * Pacing restarts at the first iteration of each BPF_PROG_RUN call (user
 * space clears `next` before every call): the ~20 ms the kernel spends
 * between two calls is lost time, not a stall to catch up on, as a burst
 * of 20 ms worth of frames would show the receiver a hole and then a flood.
 * Within a call the clock catches up at most `lag` after a stall (the
 * thread was preempted), for the same reason. The count user space asks
 * for (the rate times the duration, for a paced run) is then reached a
 * little later than the duration, by the time lost between calls.
 *
 * The run's state (frames sent, which is also the next sequence number,
 * and the pacing clock) is one slot shared by all CPUs, not one per CPU:
 * the kernel keeps migration disabled only within a batch and may move the
 * calling thread to another CPU between batches (bpf_test_timer_continue()
 * reschedules with migration enabled) and between calls. With a per-CPU
 * slot the limit saw only the frames of the current CPU, so a run that
 * moved sent up to `limit` more frames and restarted the sequence at 0.
 */
#include <linux/bpf.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

/* Set by user space before load (see live.c, which mirrors this struct
 * and checks the size of .rodata against it); frozen, so constants. */
struct sl_live_conf {
	__u32 ifindex; /* where frames go */
	__u32 flows; /* source ports used: sport + seq % flows */
	__u16 sport; /* base source port, host order */
	__u16 udp_off; /* UDP header; 0: not a UDP frame */
	__u16 seq_off; /* payload; 0: shorter than 8 bytes */
	__u16 csum; /* 1: keep the UDP checksum valid */
	__u64 gap; /* pacing: time between frames, 1/16 ns; 0: none */
	__u64 lag; /* pacing: most time caught up after a stall, 1/16 ns */
	__u64 limit; /* frames to send at most; 0: no limit */
};

const volatile struct sl_live_conf sl_live_conf = { .flows = 1 };

/* Keep in step with struct sl_live_stats in src/drivers/xdp/live.c. */
struct sl_live_stats {
	__u64 frames; /* frames handed to bpf_redirect (= next sequence) */
	__u64 held; /* runs dropped by pacing or the limit */
	__u64 next; /* pacing: earliest time of the next frame, 1/16 ns;
		     * 0: a call starts, the clock starts with it */
	/* pacing: time of the call's first and latest iteration, 1/16 ns:
	 * how fast iterations come, which sizes the next call */
	__u64 first;
	__u64 last;
};

/* One slot for the whole run, whichever CPU the program runs on. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct sl_live_stats);
} sl_live_stats SEC(".maps");

/* Upper bound for the offsets: Ethernet + 2 VLAN tags + IPv6 or IPv4 with
 * options is well under this; it only gives the verifier a bound. */
#define SL_LIVE_MAX_OFF 256

/* One's-complement accumulation of a 16-bit field changing from o to n
 * (RFC 1624, eqn. 3); the words are taken as stored in the frame, which
 * keeps the sum byte-order independent. */
static __always_inline __u32 csum_add_change(__u32 sum, __u16 o, __u16 n)
{
	return sum + (__u16)~o + n;
}

/*
 * Pacing is done here rather than by user space sleeping between runs:
 * each BPF_PROG_RUN call costs an RCU grace period (the XDP dispatcher is
 * updated on entry and exit, ~20 ms), so runs must be long, and the program
 * spreads the frames of a long run evenly by dropping the iterations that
 * come too early. Returns true when this iteration may send.
 */
static __always_inline int paced_ok(struct sl_live_stats *st)
{
	__u64 now, floor;

	if (!sl_live_conf.gap)
		return 1;
	now = bpf_ktime_get_ns() * 16;
	if (!st->next) {
		/* first iteration of a call: the time since the last
		 * call's end is lost, send from now on */
		st->next = now;
		st->first = now;
	}
	st->last = now;
	if (now < st->next)
		return 0;
	/* after a stall within a call (preempted) catch up with a short
	 * burst at most: the receiver sees a steady stream */
	floor = now - sl_live_conf.lag;
	if (st->next < floor)
		st->next = floor;
	st->next += sl_live_conf.gap;
	return 1;
}

/* Stamp the sequence number, spread the source port, fix the checksum.
 * Either every field is rewritten or none: a half-rewritten frame would
 * carry a wrong checksum. */
static __always_inline void rewrite(void *data, void *data_end, __u64 seq)
{
	__u16 *udp = data + (sl_live_conf.udp_off & (SL_LIVE_MAX_OFF - 1));
	__u16 *p = data + (sl_live_conf.seq_off & (SL_LIVE_MAX_OFF - 1));
	__u32 sum = 0;
	int i;

	if ((void *)(udp + 4) > data_end || (void *)(p + 4) > data_end)
		return;
	if (sl_live_conf.flows > 1) {
		__u16 sp = bpf_htons(sl_live_conf.sport +
				     seq % sl_live_conf.flows);

		sum = csum_add_change(sum, udp[0], sp);
		udp[0] = sp;
	}
	if (sl_live_conf.seq_off) {
#pragma unroll
		for (i = 0; i < 4; i++) {
			__u16 w = bpf_htons((__u16)(seq >> (48 - 16 * i)));

			sum = csum_add_change(sum, p[i], w);
			p[i] = w;
		}
	}
	if (sl_live_conf.csum) {
		__u16 c;

		sum += (__u16)~udp[3];
		sum = (sum & 0xffff) + (sum >> 16);
		sum = (sum & 0xffff) + (sum >> 16);
		c = (__u16)~sum;
		/* 0 on the wire means "no checksum" for UDP */
		udp[3] = c ? c : 0xffff;
	}
}

SEC("xdp")
int sl_live(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct sl_live_stats *st;
	__u32 key = 0;

	st = bpf_map_lookup_elem(&sl_live_stats, &key);
	if (!st)
		return XDP_ABORTED;
	/* only the generator's thread runs this program (it is never
	 * attached, and each sl_live_run() loads its own copy), one iteration
	 * at a time, and a move to another CPU orders memory: plain
	 * increments of the shared slot will do, no atomics needed */
	if ((sl_live_conf.limit && st->frames >= sl_live_conf.limit) ||
	    !paced_ok(st)) {
		st->held++;
		return XDP_DROP;
	}
	if (sl_live_conf.udp_off)
		rewrite(data, data_end, st->frames);
	st->frames++;
	return bpf_redirect(sl_live_conf.ifindex, 0);
}

/*
 * The receiving end for measurements and tests: counts frames per CPU and
 * drops them. Attached (generic or native mode) to the far end of a test
 * link by sl_live_sink_attach() in live.c; sl_live_run() does not load it.
 */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} sl_live_sink_count SEC(".maps");

SEC("xdp")
int sl_live_sink(struct xdp_md *ctx)
{
	__u32 key = 0;
	__u64 *n = bpf_map_lookup_elem(&sl_live_sink_count, &key);

	if (n)
		(*n)++;
	return XDP_DROP;
}

char _license[] SEC("license") = "Dual MIT/GPL";
