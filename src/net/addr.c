// SPDX-License-Identifier: MIT
/*
 * Addresses as users write them: "1.2.3.4:80", "[2001:db8::1]:80", and,
 * where a port is optional, "1.2.3.4" or "2001:db8::1". Numeric only: a
 * port spec never waits on DNS. IPv6 scope ids ("fe80::1%eth0") are not
 * taken, since struct sl_addr has no room for one.
 *
 * Messages name only the bad part ("bad address '1.2.3'"): the caller puts
 * the spec in front, so the user reads "udp:1.2.3:80: bad address '1.2.3'".
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <sluice/net.h>

#include "core/log.h"

#define ADDR_MAX 64 /* longer than any numeric address with brackets */

static int parse_port(const char *s, uint16_t *out)
{
	unsigned long v = 0;
	size_t i, n = strlen(s);

	/* digits only: strtoul would take "+80", " 80" and "0x50" */
	if (n == 0 || n > 5)
		return sl_fail(EINVAL, "bad port '%s'", s);
	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return sl_fail(EINVAL, "bad port '%s'", s);
		v = v * 10 + (unsigned long)(s[i] - '0');
	}
	if (v > 65535)
		return sl_fail(EINVAL, "bad port '%s'", s);
	*out = (uint16_t)v;
	return 0;
}

static int parse_host(const char *h, int family, struct sl_addr *out)
{
	void *dst = family == AF_INET6 ? (void *)&out->v6 : (void *)&out->v4;

	if (inet_pton(family, h, dst) != 1)
		return sl_fail(EINVAL, "bad address '%s'", h);
	out->family = family;
	return 0;
}

int sl_addr_parse(const char *s, bool port_optional, struct sl_addr *out)
{
	char host[ADDR_MAX];
	struct sl_addr a;
	const char *colon, *port = NULL;
	size_t hlen;
	int err;

	memset(&a, 0, sizeof(a));
	if (!s || !*s)
		return sl_fail(EINVAL, "missing address");
	if (s[0] == '[') {
		const char *end = strchr(s, ']');

		if (!end)
			return sl_fail(EINVAL, "bad address '%s': no ']'", s);
		hlen = (size_t)(end - s - 1);
		if (hlen >= sizeof(host))
			return sl_fail(EINVAL, "bad address '%.*s'", (int)hlen,
				       s + 1);
		memcpy(host, s + 1, hlen);
		host[hlen] = '\0';
		err = parse_host(host, AF_INET6, &a);
		if (err)
			return err;
		if (end[1] == ':')
			port = end + 2;
		else if (end[1] != '\0')
			return sl_fail(EINVAL, "bad address '%s'", s);
	} else {
		colon = strchr(s, ':');
		if (colon && strchr(colon + 1, ':')) {
			/* two colons: IPv6, where a port cannot be told
			 * from the last group without brackets */
			if (port_optional && parse_host(s, AF_INET6, &a) == 0)
				goto done;
			return sl_fail(
				EINVAL,
				"IPv6 address needs brackets: '[::1]:80'");
		}
		hlen = colon ? (size_t)(colon - s) : strlen(s);
		if (hlen >= sizeof(host))
			return sl_fail(EINVAL, "bad address '%.*s'", (int)hlen,
				       s);
		memcpy(host, s, hlen);
		host[hlen] = '\0';
		err = parse_host(host, AF_INET, &a);
		if (err)
			return err;
		if (colon)
			port = colon + 1;
	}
	if (port) {
		err = parse_port(port, &a.port);
		if (err)
			return err;
	} else if (!port_optional) {
		return sl_fail(EINVAL, "missing port in '%s'", s);
	}
done:
	*out = a;
	return 0;
}

char *sl_addr_format(const struct sl_addr *a, char *buf, size_t len)
{
	char ip[INET6_ADDRSTRLEN];

	if (!buf || len == 0)
		return buf;
	if (a->family == AF_INET6 &&
	    inet_ntop(AF_INET6, &a->v6, ip, sizeof(ip)))
		snprintf(buf, len, "[%s]:%u", ip, a->port);
	else if (a->family == AF_INET &&
		 inet_ntop(AF_INET, &a->v4, ip, sizeof(ip)))
		snprintf(buf, len, "%s:%u", ip, a->port);
	else
		snprintf(buf, len, "(none)");
	return buf;
}

bool sl_addr_equal(const struct sl_addr *a, const struct sl_addr *b)
{
	if (a->family != b->family || a->port != b->port)
		return false;
	if (a->family == AF_INET)
		return a->v4.s_addr == b->v4.s_addr;
	if (a->family == AF_INET6)
		return memcmp(&a->v6, &b->v6, sizeof(a->v6)) == 0;
	return true;
}
