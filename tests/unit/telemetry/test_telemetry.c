// SPDX-License-Identifier: MIT
/* Telemetry: the query parser refuses what the grammar does not allow and
 * says why; the JSON writer escapes and never overruns its buffer; answers
 * about a live port match what the port API reads; the server answers on
 * its socket, refuses clients past its limit, drops one that does not
 * read without stalling the others, and takes over a stale socket file. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "sltest.h"
#include "core/log.h"
#include "core/registry.h"
#include "telemetry/json.h"
#include "telemetry/query.h"

static void test_parse_good(void **state)
{
	struct sl_tm_query q;
	const char *why = NULL;
	unsigned id = 99;

	(void)state;
	assert_int_equal(sl_tm_parse("/ports", 6, &q, &why), 0);
	assert_string_equal(q.cmd, "/ports");
	assert_false(q.has_param);
	assert_int_equal(sl_tm_parse("/port/stats,12\n", 15, &q, &why), 0);
	assert_string_equal(q.cmd, "/port/stats");
	assert_true(q.has_param);
	assert_string_equal(q.param, "12");
	assert_int_equal(sl_tm_param_id(&q, &id), 0);
	assert_int_equal(id, 12);
	assert_int_equal(sl_tm_parse("/\r\n", 3, &q, &why), 0);
	assert_string_equal(q.cmd, "/");
	/* the length given counts, not a NUL: the rest is not read */
	assert_int_equal(sl_tm_parse("/info,garbage", 5, &q, &why), 0);
	assert_string_equal(q.cmd, "/info");
}

static void test_parse_bad(void **state)
{
	static const struct {
		const char *in;
		size_t len;
		const char *why;
	} bad[] = {
		{ "", 0, "empty" },
		{ "\n", 1, "empty" },
		{ "ports", 5, "starts with /" },
		{ "/Ports", 6, "a-z" },
		{ "/a b", 4, "a-z" },
		{ "/a\0b", 4, "a-z" },
		{ "/x,", 3, "empty parameter" },
		{ "/x,a b", 6, "printable" },
		{ "/x,\xff", 4, "printable" },
		{ "/x,a\0", 5, "printable" },
	};
	char longq[200], longp[100];
	struct sl_tm_query q;
	const char *why;
	unsigned i, id;

	(void)state;
	for (i = 0; i < SL_ARRAY_SIZE(bad); i++) {
		why = NULL;
		assert_int_equal(sl_tm_parse(bad[i].in, bad[i].len, &q, &why),
				 -EINVAL);
		assert_non_null(why);
		assert_non_null(strstr(why, bad[i].why));
	}
	memset(longq, 'a', sizeof(longq));
	longq[0] = '/';
	assert_int_equal(sl_tm_parse(longq, sizeof(longq), &q, &why), -EINVAL);
	assert_non_null(strstr(why, "too long"));
	assert_int_equal(sl_tm_parse(longq, 70, &q, &why), -EINVAL);
	assert_non_null(strstr(why, "command too long"));
	memset(longp, '1', sizeof(longp));
	memcpy(longp, "/x,", 3);
	assert_int_equal(sl_tm_parse(longp, 80, &q, &why), -EINVAL);
	assert_non_null(strstr(why, "parameter too long"));
	/* ids: digits only, at most 9 of them */
	assert_int_equal(sl_tm_parse("/x,1a", 5, &q, &why), 0);
	assert_int_equal(sl_tm_param_id(&q, &id), -EINVAL);
	assert_int_equal(sl_tm_parse("/x,-1", 5, &q, &why), 0);
	assert_int_equal(sl_tm_param_id(&q, &id), -EINVAL);
	assert_int_equal(sl_tm_parse("/x,1234567890", 13, &q, &why), 0);
	assert_int_equal(sl_tm_param_id(&q, &id), -EINVAL);
	assert_int_equal(sl_tm_parse("/x", 2, &q, &why), 0);
	assert_int_equal(sl_tm_param_id(&q, &id), -EINVAL);
}

static void test_json(void **state)
{
	char buf[256], tiny[12];
	struct sl_jw w;

	(void)state;
	sl_jw_init(&w, buf, sizeof(buf));
	sl_jw_obj(&w, NULL);
	sl_jw_str(&w, "s", "a\"b\\c\n\x01");
	sl_jw_arr(&w, "a");
	sl_jw_u64(&w, NULL, 18446744073709551615ull);
	sl_jw_i64(&w, NULL, -1);
	sl_jw_obj(&w, NULL);
	sl_jw_end(&w);
	sl_jw_end(&w);
	sl_jw_bool(&w, "t", true);
	sl_jw_end(&w);
	assert_false(w.overflow);
	assert_string_equal(buf, "{\"s\":\"a\\\"b\\\\c\\u000a\\u0001\","
				 "\"a\":[18446744073709551615,-1,{}],"
				 "\"t\":true}");
	assert_int_equal(w.len, strlen(buf));

	/* past the end: flagged, and the buffer stays a string within it */
	memset(tiny, 'x', sizeof(tiny));
	sl_jw_init(&w, tiny, sizeof(tiny));
	sl_jw_obj(&w, NULL);
	sl_jw_str(&w, "key", "a long value");
	sl_jw_end(&w);
	assert_true(w.overflow);
	assert_true(strlen(tiny) < sizeof(tiny));
}

/* The number after "key": in a JSON text (the answers are flat enough). */
static unsigned long long num_after(const char *s, const char *key)
{
	char k[64];
	const char *p;

	snprintf(k, sizeof(k), "\"%s\":", key);
	p = strstr(s, k);
	assert_non_null(p);
	return strtoull(p + strlen(k), NULL, 10);
}

static void test_answers(void **state)
{
	struct sl_port_opts po = { .sz = sizeof(po) };
	struct sl_port_stats ps = { .sz = sizeof(ps) };
	char buf[SL_TM_MAX_REPLY], q[64];
	struct sl_pkt *pkts[8];
	struct sl_pool *pool;
	struct sl_port *port, *peer;
	uint16_t n;
	int id;

	(void)state;
	pool = sl_pool_create(NULL);
	assert_non_null(pool);
	po.pool = pool;
	port = sl_port_open("pair:sl-tm-unit/0", &po);
	assert_non_null(port);
	peer = sl_port_open("pair:sl-tm-unit/1", &po);
	assert_non_null(peer);
	id = sl_reg_id_of(port);
	assert_true(id >= 0);
	assert_int_equal(sl_pkt_alloc_bulk(pool, pkts, 8), 0);
	for (n = 0; n < 8; n++)
		memset(sl_pkt_append(pkts[n], 60), 0, 60);
	n = sl_tx_burst(port, 0, pkts, 8);
	sl_pkt_free_bulk(pkts + n, 8 - n);
	n = sl_rx_burst(peer, 0, pkts, 8);
	sl_pkt_free_bulk(pkts, n);
	assert_int_equal(sl_port_stats(port, &ps), 0);

	snprintf(q, sizeof(q), "/port/stats,%d", id);
	sl_tm_answer(q, strlen(q), buf, sizeof(buf));
	assert_non_null(strstr(buf, "{\"/port/stats\":{"));
	assert_int_equal(num_after(buf, "tx_packets"), ps.tx_packets);
	assert_int_equal(num_after(buf, "tx_dropped"), ps.tx_dropped);
	assert_int_equal(ps.tx_packets, 8);
	assert_non_null(strstr(buf, "\"queues\":[{\"queue\":0,"));

	snprintf(q, sizeof(q), "/port/info,%d", id);
	sl_tm_answer(q, strlen(q), buf, sizeof(buf));
	assert_non_null(strstr(buf, "\"spec\":\"pair:sl-tm-unit/0\""));
	assert_non_null(strstr(buf, "\"state\":\"up\""));

	sl_tm_answer("/ports", 6, buf, sizeof(buf));
	snprintf(q, sizeof(q), "%d", id);
	assert_non_null(strstr(buf, q));
	sl_tm_answer("/pools", 6, buf, sizeof(buf));
	assert_non_null(strstr(buf, "\"capacity\":4096"));
	sl_tm_answer("/rdma/qps", 9, buf, sizeof(buf));
	assert_string_equal(buf, "{\"/rdma/qps\":[]}");
	sl_tm_answer("/stats", 6, buf, sizeof(buf));
	assert_non_null(strstr(buf, "\"ports\":[{"));
	sl_tm_answer("/", 1, buf, sizeof(buf));
	assert_non_null(strstr(buf, "\"/port/stats\""));
	sl_tm_answer("/help,/pools", 12, buf, sizeof(buf));
	assert_non_null(strstr(buf, "{\"/help\":{\"/pools\":"));

	/* errors, never a crash */
	sl_tm_answer("/nosuch", 7, buf, sizeof(buf));
	assert_non_null(strstr(buf, "\"error\":\"unknown command"));
	sl_tm_answer("/port/stats", 11, buf, sizeof(buf));
	assert_non_null(strstr(buf, "\"error\":\"needs a port id"));
	sl_tm_answer("/help", 5, buf, sizeof(buf));
	assert_non_null(strstr(buf, "\"error\""));
	/* an answer that does not fit says so */
	sl_tm_answer("/stats", 6, buf, 80);
	assert_non_null(strstr(buf, "\"error\":\"answer too long"));

	/* closed: unlisted */
	sl_port_close(peer);
	sl_port_close(port);
	snprintf(q, sizeof(q), "/port/stats,%d", id);
	sl_tm_answer(q, strlen(q), buf, sizeof(buf));
	assert_non_null(strstr(buf, "\"error\":\"no port with that id"));
	assert_int_equal(sl_reg_id_of(port), -1);
	sl_pool_destroy(pool);
}

static int client(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_SEQPACKET, 0);

	assert_true(fd >= 0);
	sl_strlcpy(sa.sun_path, path, sizeof(sa.sun_path));
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	return fd;
}

/* The next message within a second, NUL-terminated; its length or -1. */
static ssize_t recv_1s(int fd, char *buf, size_t cap)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	ssize_t n;

	if (poll(&p, 1, 1000) != 1)
		return -1;
	n = recv(fd, buf, cap - 1, MSG_DONTWAIT);
	if (n >= 0)
		buf[n] = '\0';
	return n;
}

static void ask(int fd, const char *q, char *buf, size_t cap)
{
	assert_int_equal(send(fd, q, strlen(q), 0), (ssize_t)strlen(q));
	assert_true(recv_1s(fd, buf, cap) > 0);
}

static void test_server(void **state)
{
	char path[108], buf[SL_TM_MAX_REPLY], big[1000];
	int fds[9], stall, fd, i, sent;

	(void)state;
	snprintf(path, sizeof(path), "/tmp/sl-tm-unit-%d.sock", (int)getpid());
	unlink(path);
	assert_int_equal(sl_telemetry_start(path), 0);
	assert_string_equal(sl_telemetry_path(), path);
	assert_int_equal(sl_telemetry_start(path), -EALREADY);

	fd = client(path);
	assert_true(recv_1s(fd, buf, sizeof(buf)) > 0);
	assert_non_null(strstr(buf, "\"max_output_len\":65536"));
	ask(fd, "/info", buf, sizeof(buf));
	assert_non_null(strstr(buf, "{\"/info\":{\"version\":"));
	ask(fd, "garbage", buf, sizeof(buf));
	assert_non_null(strstr(buf, "\"error\""));
	memset(big, '/', sizeof(big));
	assert_int_equal(send(fd, big, sizeof(big), 0), (ssize_t)sizeof(big));
	assert_true(recv_1s(fd, buf, sizeof(buf)) > 0);
	assert_string_equal(buf, "{\"error\":\"query too long\"}");

	/* a client that asks and never reads: dropped once its queue is
	 * full, while the others are still answered */
	stall = client(path);
	for (sent = 0; sent < 100000; sent++)
		if (send(stall, "/stats", 6, MSG_DONTWAIT) < 0)
			break;
	ask(fd, "/ports", buf, sizeof(buf));
	assert_non_null(strstr(buf, "{\"/ports\":["));
	close(stall);
	close(fd);
	usleep(100 * 1000); /* the server sees both go */

	/* past eight clients: refused with a reason */
	for (i = 0; i < 9; i++)
		fds[i] = client(path);
	for (i = 0; i < 8; i++) {
		assert_true(recv_1s(fds[i], buf, sizeof(buf)) > 0);
		assert_non_null(strstr(buf, "\"version\""));
	}
	assert_true(recv_1s(fds[8], buf, sizeof(buf)) > 0);
	assert_string_equal(buf, "{\"error\":\"too many clients\"}");
	for (i = 0; i < 9; i++)
		close(fds[i]);

	assert_int_equal(sl_telemetry_stop(), 0);
	assert_int_equal(access(path, F_OK), -1);
	assert_int_equal(sl_telemetry_stop(), -ENOENT);

	/* a stale socket file (no one listening) is taken over */
	fd = socket(AF_UNIX, SOCK_SEQPACKET, 0);
	{
		struct sockaddr_un sa = { .sun_family = AF_UNIX };

		sl_strlcpy(sa.sun_path, path, sizeof(sa.sun_path));
		assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)),
				 0);
	}
	close(fd);
	assert_int_equal(access(path, F_OK), 0);
	assert_int_equal(sl_telemetry_start(path), 0);
	fd = client(path);
	assert_true(recv_1s(fd, buf, sizeof(buf)) > 0);
	close(fd);
	assert_int_equal(sl_telemetry_stop(), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_good),
		cmocka_unit_test(test_parse_bad),
		cmocka_unit_test(test_json),
		cmocka_unit_test(test_answers),
		cmocka_unit_test(test_server),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
