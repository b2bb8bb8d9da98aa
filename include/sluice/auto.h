/* SPDX-License-Identifier: MIT */
/*
 * auto: ports, the best path the host allows within the accepted risk:
 *
 *   auto:IFACE[,risk=low|medium|high][,match=RULES][,queues=N]
 *
 * risk=low takes udp only, medium (the default) up to packet and xdp copy
 * mode, high everything; the paths are tried fastest first: xdp-zc,
 * xdp-copy, packet, udp. Every path passed over is in sl_port_info's
 * refused[] with the reason; info.mode names the path in use
 * ("xdp-copy/copy-native", "packet/tpacket-v3", "udp/socket"...).
 *
 * The udp path binds the interface's first IPv4 address and the first port
 * of match= (so it needs match=udp:PORT; it is refused for match=all, since
 * a kernel socket cannot take every frame) and has one queue.
 *
 * Runtime fallback: the port watches the path in use (the driver's fatal
 * state on every burst; every 100 ms, on the burst of queue 0, whether the
 * interface is still there and, on xdp paths, whether our XDP program is
 * still attached). When the path fails for good, the port closes it and
 * opens the next one down the list that it can get, with the same pool and
 * number of queues, so its counters go on and the packets the application
 * holds stay valid; an event records the switch. Bursts on the other
 * queues return 0 while the switch is made. The reopening runs in the
 * thread that makes the burst, so that thread must be in the port's
 * network namespace: a check from another one does not switch (the
 * bursts go on on the old path; sl_auto_check says -EXDEV).
 *
 * The interface going away (deleted, or moved to another namespace) is not
 * a path failing: the port closes its path (nothing of it stays attached),
 * and if an interface of the same name is already there again (a new
 * ifindex), reopens on it from the fastest path (event REOPENED). If there
 * is none, the port is in SL_PORT_ERROR with info.mode "none" and
 * info.error "auto:IFACE: no path left: IFACE (ifindex N) went away;
 * waiting for IFACE", an event NO_PATH, and bursts that return 0; the
 * checks go on, and when an interface of that name appears the port
 * reopens on it, is SL_PORT_UP again with info.error "" (event REOPENED,
 * from ""). So for an auto: port, ERROR with "waiting for" in the error is
 * not final; any other ERROR (no path below a failed one) is. Set down is
 * not gone: the port stays on its path and traffic resumes when the
 * interface is up. A rename is followed (the sockets are bound to the
 * device): info.name takes the new name, event RENAMED.
 */
#ifndef SLUICE_AUTO_H
#define SLUICE_AUTO_H

#include <stddef.h>
#include <stdint.h>

#include <sluice/core.h>

#ifdef __cplusplus
extern "C" {
#endif

struct sl_port;

enum sl_auto_event_kind {
	SL_AUTO_EVENT_FALLBACK = 1, /* moved from one path to another */
	SL_AUTO_EVENT_NO_PATH = 2, /* nothing left: the port is in ERROR */
	/* the interface went and is there again (a new ifindex): reopened
	 * on it; from is "" after a NO_PATH */
	SL_AUTO_EVENT_REOPENED = 3,
	/* the interface was renamed: from and to are the old and new names */
	SL_AUTO_EVENT_RENAMED = 4,
};

struct sl_auto_event {
	uint64_t time_ns; /* sl_time_ns() when it happened */
	int kind; /* enum sl_auto_event_kind */
	char from[24]; /* "xdp-copy" */
	char to[24]; /* "packet", "" for NO_PATH */
	char why[232]; /* what failed, then why the paths between were not
			* taken */
};

/*
 * Take up to n events, oldest first, out of the port's queue (it holds the
 * last 16; older ones are dropped and counted in xstats auto_events_lost).
 * Returns how many were taken, or -EINVAL when port is not an auto: port.
 * Thread-safe, control path.
 */
SL_API int sl_auto_events(struct sl_port *port, struct sl_auto_event *out,
			  unsigned n);

/*
 * Check the path in use now, from the calling thread (in the port's
 * network namespace), and fall back (or reopen on an interface that came
 * back) if it failed; waits for the bursts in progress on other threads.
 * Returns 1 when it switched path or reopened, 0 when the path is fine,
 * -ENOLINK when no path is left (for now, if the interface is gone),
 * -EXDEV when it should switch but the calling thread is in another
 * network namespace than the port's, -EINVAL when port is not an auto:
 * port. Control path.
 */
SL_API int sl_auto_check(struct sl_port *port);

#ifdef __cplusplus
}
#endif
#endif
