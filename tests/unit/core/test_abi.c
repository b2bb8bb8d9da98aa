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
 *   the library used to refuse, is taken.
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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_older_opts),
		cmocka_unit_test(test_newer_opts),
		cmocka_unit_test(test_sz_zero),
		cmocka_unit_test(test_older_output),
		cmocka_unit_test(test_older_rdma_attr),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
