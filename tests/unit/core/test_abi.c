// SPDX-License-Identifier: MIT
/*
 * The one `sz` rule (src/core/opts.h), seen by callers built against other
 * headers than the library's:
 * - a caller built against an older, smaller sl_port_opts (its own copy of
 *   that layout below) opens a port; what lies past its struct is never
 *   read, so the defaults hold;
 * - a caller built against a newer, larger one opens a port when the
 *   fields the library does not know are zero, and gets EINVAL with a
 *   message saying so when one is set;
 * - sz 0 is an error that names the struct;
 * - output structs: an older, smaller sl_port_info gets only its bytes
 *   (the memory past it is left alone); a smaller sl_rdma_qp_attr, which
 *   the library used to refuse, is taken;
 * - the counters, sl_port_stats and sl_queue_stats, the same way: an older
 *   struct gets its bytes only, sz 0 is refused, and a newer, larger one
 *   is taken with the fields this library does not know zeroed. Unlike an
 *   input struct's, those bytes are not checked: the caller asks nothing
 *   with them, they are written.
 */
#include <errno.h>
#include <stddef.h>
#include <string.h>

#include "sltest.h"

#include <sluice/port.h>
#include <sluice/rdma.h>

/* sl_port_opts as an older header had it: no ring_size, port_id, flags */
struct port_opts_v0 {
	size_t sz;
	struct sl_pool *pool;
	uint32_t n_bufs;
};

/* ... and as a newer one might: one more field at the end */
struct port_opts_next {
	struct sl_port_opts cur;
	uint64_t future;
};

static char name[64], spec[96];

static const char *pair_spec(void)
{
	sl_test_name("abi", name, sizeof(name));
	snprintf(spec, sizeof(spec), "pair:%s/0", name);
	return spec;
}

static void test_older_opts(void **state)
{
	/* what follows the old struct in the caller's memory: garbage the
	 * library must not take for ring_size or port_id */
	struct {
		struct port_opts_v0 o;
		uint32_t junk[8];
	} m;
	struct sl_port *p;

	(void)state;
	memset(&m, 0xa5, sizeof(m));
	/* the caller zeroes its own struct, padding included (its tail
	 * padding is where ring_size now is: see core/opts.h) */
	memset(&m.o, 0, sizeof(m.o));
	m.o.sz = sizeof(m.o);
	m.o.n_bufs = 256;
	p = sl_port_open(pair_spec(), (const struct sl_port_opts *)&m.o);
	if (!p)
		fail_msg("%s", sl_last_error());
	assert_int_equal(sl_pool_capacity(sl_port_pool(p)), 256);
	assert_int_equal(sl_port_close(p), 0);
}

static void test_newer_opts(void **state)
{
	struct port_opts_next n;
	struct sl_port *p;

	(void)state;
	memset(&n, 0, sizeof(n));
	n.cur.sz = sizeof(n);
	n.cur.n_bufs = 128;
	p = sl_port_open(pair_spec(), &n.cur);
	if (!p)
		fail_msg("%s", sl_last_error());
	assert_int_equal(sl_pool_capacity(sl_port_pool(p)), 128);
	assert_int_equal(sl_port_close(p), 0);

	n.future = 1;
	errno = 0;
	assert_null(sl_port_open(pair_spec(), &n.cur));
	assert_int_equal(errno, EINVAL);
	assert_non_null(strstr(sl_last_error(), "newer sluice"));
}

static void test_sz_zero(void **state)
{
	struct sl_port_opts o = { 0 };
	struct sl_pool_opts po = { 0 };

	(void)state;
	errno = 0;
	assert_null(sl_port_open(pair_spec(), &o));
	assert_int_equal(errno, EINVAL);
	assert_non_null(strstr(sl_last_error(), "sizeof(struct sl_port_opts)"));
	/* the pool used to take 0 as "all of it": one rule now */
	errno = 0;
	assert_null(sl_pool_create(&po));
	assert_int_equal(errno, EINVAL);
	assert_non_null(strstr(sl_last_error(), "sl_pool_opts"));
}

static void test_older_output(void **state)
{
	struct {
		struct sl_port_info info;
		unsigned char after[64];
	} m;
	size_t old_sz = offsetof(struct sl_port_info, mode);
	struct sl_port_opts o = { .sz = sizeof(o), .n_bufs = 64 };
	struct sl_port *p = sl_port_open(pair_spec(), &o);
	unsigned i;

	(void)state;
	assert_non_null(p);
	memset(&m, 0x5a, sizeof(m));
	/* a caller whose sl_port_info ended before mode */
	m.info.sz = old_sz;
	assert_int_equal(sl_port_info(p, &m.info), 0);
	assert_string_equal(m.info.driver, "pair");
	assert_int_equal(m.info.sz, old_sz);
	for (i = (unsigned)old_sz; i < sizeof(m.info); i++)
		assert_int_equal(((unsigned char *)&m.info)[i], 0x5a);
	assert_int_equal(sl_port_close(p), 0);
}

static void test_older_rdma_attr(void **state)
{
	struct sl_port_opts o = { .sz = sizeof(o), .n_bufs = 64 };
	struct sl_port *p = sl_port_open(pair_spec(), &o);
	struct sl_rdma_pd *pd = sl_rdma_pd_create();
	struct sl_rdma_cq *cq = sl_rdma_cq_create(16);
	struct sl_rdma_qp_attr a;
	struct sl_rdma_qp *qp;

	(void)state;
	assert_true(p && pd && cq);
	memset(&a, 0xff, sizeof(a));
	/* an older caller: knows fields up to access only */
	a.sz = offsetof(struct sl_rdma_qp_attr, timeout);
	a.max_send_wr = 32;
	a.max_recv_wr = 32;
	a.access = SL_RDMA_ACCESS_REMOTE_WRITE;
	qp = sl_rdma_qp_create(pd, p, 0, cq, cq, &a);
	if (!qp)
		fail_msg("%s", sl_last_error());
	assert_int_equal(sl_rdma_qp_destroy(qp), 0);
	assert_int_equal(sl_rdma_cq_destroy(cq), 0);
	assert_int_equal(sl_rdma_pd_destroy(pd), 0);
	assert_int_equal(sl_port_close(p), 0);
}

/* Two ends of a pair with one frame sent from a to b: counters to read. */
static void pair_with_traffic(struct sl_port **a, struct sl_port **b)
{
	char sa[96], sb[96];
	struct sl_pkt *p;

	sl_test_name("abiq", name, sizeof(name));
	snprintf(sa, sizeof(sa), "pair:%s/0", name);
	snprintf(sb, sizeof(sb), "pair:%s/1", name);
	*a = sl_port_open(sa, NULL);
	*b = sl_port_open(sb, NULL);
	assert_true(*a && *b);
	p = sl_pkt_alloc(sl_port_pool(*a));
	assert_non_null(p);
	memset(p->data, 0, 60);
	p->len = 60;
	assert_int_equal(sl_tx_burst(*a, 0, &p, 1), 1);
	assert_int_equal(sl_rx_burst(*b, 0, &p, 1), 1);
	sl_pkt_free(p);
}

static void test_queue_stats_sizes(void **state)
{
	struct {
		struct sl_queue_stats q;
		uint64_t future[2]; /* what a newer header may add */
	} m;
	size_t old_sz = offsetof(struct sl_queue_stats, rx_dropped);
	struct sl_port *a, *b;
	unsigned i;

	(void)state;
	pair_with_traffic(&a, &b);

	/* older: ends after rx_bytes; nothing past it is written */
	memset(&m, 0x5a, sizeof(m));
	m.q.sz = old_sz;
	assert_int_equal(sl_port_queue_stats(b, 0, &m.q), 0);
	assert_int_equal(m.q.sz, old_sz);
	assert_int_equal(m.q.rx_packets, 1);
	assert_int_equal(m.q.rx_bytes, 60);
	for (i = (unsigned)old_sz; i < sizeof(m); i++)
		assert_int_equal(((unsigned char *)&m)[i], 0x5a);

	/* newer: the fields we do not know read as zero */
	memset(&m, 0xa5, sizeof(m));
	m.q.sz = sizeof(m);
	assert_int_equal(sl_port_queue_stats(a, 0, &m.q), 0);
	assert_int_equal(m.q.sz, sizeof(m));
	assert_int_equal(m.q.tx_packets, 1);
	assert_int_equal(m.q.rx_packets, 0);
	assert_int_equal(m.future[0], 0);
	assert_int_equal(m.future[1], 0);

	/* sz 0 (or too small for sz itself) is refused, naming the struct */
	memset(&m, 0, sizeof(m));
	errno = 0;
	assert_int_equal(sl_port_queue_stats(a, 0, &m.q), -EINVAL);
	assert_int_equal(errno, EINVAL);
	assert_non_null(strstr(sl_last_error(), "sl_queue_stats"));
	assert_int_equal(sl_port_close(a), 0);
	assert_int_equal(sl_port_close(b), 0);
}

static void test_port_stats_sizes(void **state)
{
	struct {
		struct sl_port_stats st;
		uint64_t future[2];
	} m;
	size_t old_sz = offsetof(struct sl_port_stats, rx_bytes);
	struct sl_port *a, *b;
	unsigned i;

	(void)state;
	pair_with_traffic(&a, &b);

	memset(&m, 0x5a, sizeof(m));
	m.st.sz = old_sz;
	assert_int_equal(sl_port_stats(b, &m.st), 0);
	assert_int_equal(m.st.sz, old_sz);
	assert_int_equal(m.st.n_queues, 1);
	assert_int_equal(m.st.rx_packets, 1);
	for (i = (unsigned)old_sz; i < sizeof(m); i++)
		assert_int_equal(((unsigned char *)&m)[i], 0x5a);

	memset(&m, 0xa5, sizeof(m));
	m.st.sz = sizeof(m);
	assert_int_equal(sl_port_stats(a, &m.st), 0);
	assert_int_equal(m.st.sz, sizeof(m));
	assert_int_equal(m.st.tx_bytes, 60);
	assert_int_equal(m.st.tx_full, 0);
	assert_int_equal(m.future[0], 0);
	assert_int_equal(m.future[1], 0);

	m.st.sz = sizeof(size_t) - 1;
	errno = 0;
	assert_int_equal(sl_port_stats(a, &m.st), -EINVAL);
	assert_int_equal(errno, EINVAL);
	assert_non_null(strstr(sl_last_error(), "sl_port_stats"));
	assert_int_equal(sl_port_close(a), 0);
	assert_int_equal(sl_port_close(b), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_older_opts),
		cmocka_unit_test(test_newer_opts),
		cmocka_unit_test(test_sz_zero),
		cmocka_unit_test(test_older_output),
		cmocka_unit_test(test_older_rdma_attr),
		cmocka_unit_test(test_queue_stats_sizes),
		cmocka_unit_test(test_port_stats_sizes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
