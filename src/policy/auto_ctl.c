// SPDX-License-Identifier: MIT
/*
 * The auto: port's control calls (include/sluice/auto.h, port/driver.h):
 * what it reports of the path in use (xstats, the events of its switches,
 * the path, a queue's fd) and what it changes on that path in place,
 * remembered for the paths it may switch to later (match, receive times).
 * Those that touch the inner port's state take the switch lock.
 */
#include <errno.h>
#include <string.h>

#include "core/log.h"
#include "policy/auto_int.h"

int auto_xstats(struct sl_port *port, struct sl_xstat *out, unsigned n)
{
	struct auto_priv *a = port->priv;
	int k = 0;

	pthread_mutex_lock(&a->ctl);
	sl_xstat_put(out, n, 0, "auto_fallbacks", a->fallbacks);
	sl_xstat_put(out, n, 1, "auto_events_lost", a->events_lost);
	if (a->inner)
		k = sl_port_xstats(a->inner, n > 2 ? out + 2 : NULL,
				   n > 2 ? n - 2 : 0);
	pthread_mutex_unlock(&a->ctl);
	return 2 + (k > 0 ? k : 0);
}

int sl_auto_events(struct sl_port *port, struct sl_auto_event *out, unsigned n)
{
	struct auto_priv *a = auto_of(port);
	unsigned i;

	if (!a)
		return sl_fail(EINVAL, "sl_auto_events: not an auto: port");
	if (n && !out)
		return sl_fail(EINVAL, "sl_auto_events: no output");
	pthread_mutex_lock(&a->ctl);
	for (i = 0; i < n && a->ev_n; i++) {
		out[i] = a->ev[a->ev_head];
		a->ev_head = (a->ev_head + 1) % AUTO_MAX_EVENTS;
		a->ev_n--;
	}
	pthread_mutex_unlock(&a->ctl);
	return (int)i;
}

/* The inner port's driver: the path frames take now. */
const char *auto_path(struct sl_port *port)
{
	struct auto_priv *a = port->priv;
	struct sl_port *in = __atomic_load_n(&a->inner, __ATOMIC_ACQUIRE);

	return in ? sl_port_path(in) : "none";
}

/* The inner port's: the fd of the path frames take now. */
int auto_queue_fd(struct sl_port *port, uint16_t queue)
{
	struct auto_priv *a = port->priv;
	struct sl_port *in = __atomic_load_n(&a->inner, __ATOMIC_ACQUIRE);

	return in ? sl_port_queue_fd(in, queue) : -ENOTSUP;
}

/* sl_port_set_match: the path in use's, and the text every later path
 * opens with (a fallback keeps the new rules). */
int auto_set_match(struct sl_port *port, const char *text,
		   const struct sl_match *m)
{
	struct auto_priv *a = port->priv;
	int err = 0;

	(void)m;
	if (strlen(text) >= sizeof(a->match))
		return sl_fail(E2BIG,
			       "%s: match of %zu characters, at most %zu",
			       port->info.spec, strlen(text),
			       sizeof(a->match) - 1);
	pthread_mutex_lock(&a->ctl);
	if (a->inner && a->path == SL_PATH_UDP)
		err = sl_fail(EOPNOTSUPP,
			      "%s: on the udp path the socket's port is the "
			      "match",
			      port->info.spec);
	else if (a->inner)
		err = sl_port_set_match(a->inner, text);
	if (!err)
		sl_strlcpy(a->match, text, sizeof(a->match));
	pthread_mutex_unlock(&a->ctl);
	return err;
}

/* sl_port_rx_ts_on: the path in use's, and every later path's. */
int auto_rx_ts_on(struct sl_port *port)
{
	struct auto_priv *a = port->priv;
	int err = 0;

	pthread_mutex_lock(&a->ctl);
	if (a->inner)
		err = sl_port_rx_ts_on(a->inner);
	if (!err)
		a->flags |= SL_PORT_F_RX_TS;
	pthread_mutex_unlock(&a->ctl);
	return err;
}
