// SPDX-License-Identifier: MIT
/* The dedicated-core checks over fake /sys and /proc trees
 * (tests/fixtures/lcore/): an untuned host gets a warning with its fix for
 * each check, a tuned one none, and a VM-like CPU (no cpufreq) and a veth
 * (no device) get notes that say so. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sluice/lcore.h>

#include "sltest.h"

static void use_tree(const char *name)
{
	const char *src = getenv("SL_SOURCE_ROOT");
	char path[1024];

	if (!src)
		src = ".";
	snprintf(path, sizeof(path), "%s/tests/fixtures/lcore/%s/sys", src,
		 name);
	assert_int_equal(setenv("SLUICE_SYSFS_ROOT", path, 1), 0);
	snprintf(path, sizeof(path), "%s/tests/fixtures/lcore/%s/proc", src,
		 name);
	assert_int_equal(setenv("SLUICE_PROC_ROOT", path, 1), 0);
}

static const struct sl_lcore_finding *get(const struct sl_lcore_report *r,
					  const char *check)
{
	unsigned i;

	for (i = 0; i < r->n; i++)
		if (!strcmp(r->f[i].check, check))
			return &r->f[i];
	fail_msg("no finding %s", check);
	return &r->f[0]; /* not reached */
}

#define HAS(s, sub)                                              \
	do {                                                     \
		if (!strstr((s), (sub)))                         \
			fail_msg("'%s' lacks '%s'", (s), (sub)); \
	} while (0)

static void test_untuned(void **state)
{
	struct sl_lcore_report r = { .sz = sizeof(r) };
	const struct sl_lcore_finding *f;
	unsigned i;

	(void)state;
	use_tree("plain");
	assert_int_equal(sl_lcore_check(1, "eth9", &r), 0);
	assert_int_equal(r.cpu, 1);
	assert_int_equal(r.n, 7);
	assert_int_equal(r.warnings, 7);
	for (i = 0; i < r.n; i++) {
		assert_int_equal(r.f[i].level, SL_LCORE_WARN);
		assert_true(r.f[i].fix[0]);
	}
	HAS(get(&r, "isolcpus")->fix, "isolcpus=1");
	HAS(get(&r, "nohz_full")->what, "nohz_full: none");
	HAS(get(&r, "nohz_full")->fix, "nohz_full=1");
	HAS(get(&r, "rcu_nocbs")->fix, "rcu_nocbs=1");
	/* IRQs 24 and 26 may run on cpu 1, 25 not; 24 fired there */
	f = get(&r, "irqs");
	HAS(f->what, "2 IRQ(s) may run on cpu 1 (1 fired there)");
	HAS(f->what, "24 (eth9-rx-0)");
	HAS(f->what, "26 (nvme0q1)");
	assert_null(strstr(f->what, "25"));
	HAS(f->fix, "echo 0,2-3 > /proc/irq/$N/smp_affinity_list");
	/* NAPI and RCU threads, not an ordinary process */
	f = get(&r, "kthreads");
	HAS(f->what, "napi/eth9-8193 (pid 4242)");
	HAS(f->what, "rcuog/0 (pid 17)");
	assert_null(strstr(f->what, "bash"));
	HAS(f->fix, "taskset -pc 0,2-3 $P");
	f = get(&r, "governor");
	HAS(f->what, "powersave");
	HAS(f->fix, "cpupower -c 1 frequency-set -g performance");
	f = get(&r, "numa");
	HAS(f->what, "cpu 1 is on node 0, eth9 on node 1");
	HAS(f->fix, "pick a core on node 1 (cpus 2-3)");
}

static void test_tuned(void **state)
{
	struct sl_lcore_report r = { .sz = sizeof(r) };
	unsigned i;

	(void)state;
	use_tree("tuned");
	assert_int_equal(sl_lcore_check(1, "eth9", &r), 0);
	assert_int_equal(r.n, 7);
	for (i = 0; i < r.n; i++)
		if (r.f[i].level != SL_LCORE_OK)
			fail_msg("%s: %s", r.f[i].check, r.f[i].what);
	assert_int_equal(r.warnings, 0);
	HAS(get(&r, "irqs")->what, "no IRQ may run on cpu 1");
	HAS(get(&r, "numa")->what, "node 1");
}

static void test_vm_and_veth(void **state)
{
	struct sl_lcore_report r = { .sz = sizeof(r) };
	const struct sl_lcore_finding *f;

	(void)state;
	use_tree("tuned");
	/* cpu 0: no cpufreq, as in a VM; veth0: no device */
	assert_int_equal(sl_lcore_check(0, "veth0", &r), 0);
	f = get(&r, "governor");
	assert_int_equal(f->level, SL_LCORE_NOTE);
	HAS(f->what, "no cpufreq");
	f = get(&r, "numa");
	assert_int_equal(f->level, SL_LCORE_NOTE);
	HAS(f->what, "veth0 has no device");
	assert_int_equal(get(&r, "isolcpus")->level, SL_LCORE_WARN);
	/* no interface at all */
	assert_int_equal(sl_lcore_check(0, NULL, &r), 0);
	assert_int_equal(get(&r, "numa")->level, SL_LCORE_NOTE);
}

static void test_missing_tree(void **state)
{
	struct sl_lcore_report r = { .sz = sizeof(r) };
	unsigned i;

	(void)state;
	/* nothing readable: notes (and warnings where absence means
	 * "not set"), never an error */
	setenv("SLUICE_SYSFS_ROOT", "/nonexistent-sl", 1);
	setenv("SLUICE_PROC_ROOT", "/nonexistent-sl", 1);
	assert_int_equal(sl_lcore_check(3, "eth0", &r), 0);
	assert_int_equal(r.n, 7);
	for (i = 0; i < r.n; i++)
		assert_true(r.f[i].what[0]);
}

static void test_abi(void **state)
{
	struct sl_lcore_report r = { .sz = 4 };

	(void)state;
	use_tree("tuned");
	assert_int_equal(sl_lcore_check(1, "eth9", &r), -EINVAL);
	assert_int_equal(sl_lcore_check(1, "eth9", NULL), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_untuned),
		cmocka_unit_test(test_tuned),
		cmocka_unit_test(test_vm_and_veth),
		cmocka_unit_test(test_missing_tree),
		cmocka_unit_test(test_abi),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
