// SPDX-License-Identifier: MIT
/*
 * `sluice doctor --json` checked against facts the test sets up itself
 * (root, veth test bed): run inside side B (ip netns exec),
 * - a veth with 2 queues reports 2, driver veth, native XDP without
 *   zero-copy, and per path: xdp-zc refused for zero-copy, xdp-copy and
 *   packet available as root, udp available; exit status 0;
 * - 2 MiB hugepages the test reserves show up (and are released after);
 * - as nobody, the missing capabilities are listed, packet and xdp are
 *   refused with the setcap line that grants them, and the exit status is
 *   1 (no bypass path).
 * The sluice binary is argv[1], or SL_BUILD_ROOT/tools/sluice.
 */
#include <json-c/json.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>

#include "common.h"

#include "probe/probe.h"

#define HUGE_NR "/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages"

static struct tb bed;
static char sluice[PATH_MAX];
static long huge_added;
static char out[1 << 18];

static int teardown(void **state)
{
	(void)state;
	tb_down(&bed);
	/* give back what we reserved, leaving anyone else's */
	if (huge_added) {
		long now;
		FILE *f;

		if (sl_probe_read_long(HUGE_NR, &now) == 0 &&
		    (f = fopen(HUGE_NR, "w"))) {
			fprintf(f, "%ld\n", now - huge_added);
			fclose(f);
		}
		huge_added = 0;
	}
	return 0;
}

static void bed_up(unsigned queues)
{
	struct tb_opts o = { .sz = sizeof(o), .queues = queues };

	if (geteuid() != 0)
		sl_test_skip("needs root (network namespaces)");
	if (access(sluice, X_OK))
		sl_test_skip("no sluice binary at %s", sluice);
	itest_bed_up(&bed, &o);
}

/* Run doctor in B (as `as` when given, a setpriv prefix), parse stdout.
 * *status gets the exit status. */
static json_object *doctor(const char *as, int *status)
{
	char cmd[PATH_MAX + 256];
	json_object *o;
	char *brace;

	snprintf(cmd, sizeof(cmd), "%s %s doctor --json %s 2>/dev/null",
		 as ? as : "", sluice, bed.end[1].ifname);
	*status = tb_capture(&bed, TB_B, cmd, out, sizeof(out));
	brace = strchr(out, '{');
	if (!brace)
		fail_msg("doctor printed no JSON (status %d): %s", *status,
			 out);
	o = json_tokener_parse(brace);
	if (!o)
		fail_msg("doctor's JSON does not parse: %s", out);
	return o;
}

static json_object *get(json_object *o, const char *path)
{
	char buf[128], *save = NULL, *k;
	json_object *cur = o;

	snprintf(buf, sizeof(buf), "%s", path);
	for (k = strtok_r(buf, ".", &save); k; k = strtok_r(NULL, ".", &save)) {
		if (!json_object_object_get_ex(cur, k, &cur))
			fail_msg("no key %s (in %s)", k, path);
	}
	return cur;
}

static json_object *path_row(json_object *o, const char *iface,
			     const char *path)
{
	json_object *paths = get(o, "paths");
	size_t i;

	for (i = 0; i < json_object_array_length(paths); i++) {
		json_object *r = json_object_array_get_idx(paths, i);

		if (!strcmp(json_object_get_string(get(r, "interface")),
			    iface) &&
		    !strcmp(json_object_get_string(get(r, "path")), path))
			return r;
	}
	fail_msg("no row for %s on %s", path, iface);
	return NULL;
}

static void test_veth_two_queues(void **state)
{
	json_object *o, *ifc, *r;
	int status;

	(void)state;
	bed_up(2);
	o = doctor(NULL, &status);
	assert_int_equal(status, 0);
	assert_true(json_object_get_boolean(get(o, "bypass_available")));
	ifc = json_object_array_get_idx(get(o, "interfaces"), 0);
	assert_string_equal(json_object_get_string(get(ifc, "name")),
			    bed.end[1].ifname);
	assert_string_equal(json_object_get_string(get(ifc, "driver")), "veth");
	assert_int_equal(json_object_get_int(get(ifc, "queues.rx")), 2);
	assert_int_equal(json_object_get_int(get(ifc, "queues.tx")), 2);
	assert_int_equal(json_object_get_int(get(ifc, "queues.rx_total")), 2);
	assert_int_equal(json_object_get_int(get(ifc, "mtu")), 1500);
	assert_true(json_object_get_boolean(get(ifc, "link.up")));
	if (json_object_get_boolean(get(ifc, "xdp.features_known"))) {
		assert_true(json_object_get_boolean(get(ifc, "xdp.native")));
		assert_false(
			json_object_get_boolean(get(ifc, "xdp.zero_copy")));
	}
	assert_int_equal(json_object_array_length(get(ifc, "xdp.programs")), 0);
	assert_true(json_object_get_boolean(get(o, "privileges.capabilities."
						   "net_raw")));

	r = path_row(o, bed.end[1].ifname, "xdp-zc");
	assert_false(json_object_get_boolean(get(r, "available")));
	assert_string_equal(json_object_get_string(get(r, "risk")), "high");
	assert_non_null(
		strstr(json_object_get_string(get(r, "reason")), "zero-copy"));
	r = path_row(o, bed.end[1].ifname, "xdp-copy");
	assert_true(json_object_get_boolean(get(r, "available")));
	assert_string_equal(json_object_get_string(get(r, "risk")), "medium");
	r = path_row(o, bed.end[1].ifname, "packet");
	assert_true(json_object_get_boolean(get(r, "available")));
	r = path_row(o, bed.end[1].ifname, "udp");
	assert_true(json_object_get_boolean(get(r, "available")));
	assert_string_equal(json_object_get_string(get(r, "risk")), "low");
	json_object_put(o);
}

static void test_hugepages_show_up(void **state)
{
	long before, after;
	json_object *o;
	FILE *f;
	int status;

	(void)state;
	bed_up(1);
	if (sl_probe_read_long(HUGE_NR, &before))
		sl_test_skip("no 2 MiB hugepage pool on this kernel");
	f = fopen(HUGE_NR, "w");
	assert_non_null(f);
	fprintf(f, "%ld\n", before + 4);
	fclose(f);
	assert_int_equal(sl_probe_read_long(HUGE_NR, &after), 0);
	huge_added = after - before;
	if (huge_added <= 0)
		sl_test_skip("the kernel could not reserve 4 hugepages");
	o = doctor(NULL, &status);
	/* another process may change the pool meanwhile: read it again */
	assert_int_equal(sl_probe_read_long(HUGE_NR, &after), 0);
	assert_int_equal(json_object_get_int64(get(o, "memory.hugepages_2m_"
						      "total")),
			 after);
	assert_true(json_object_get_int64(get(o, "memory.hugepages_2m_"
						 "free")) >= huge_added);
	json_object_put(o);
}

static void test_unprivileged(void **state)
{
	json_object *o, *missing, *r;
	const char *fix;
	char want[PATH_MAX + 64];
	int status;
	size_t i;
	bool raw = false, admin = false;

	(void)state;
	bed_up(1);
	o = doctor("setpriv --reuid=65534 --regid=65534 --clear-groups "
		   "--inh-caps=-all",
		   &status);
	if (status == 126 || status == 127)
		sl_test_skip("nobody cannot run %s", sluice);
	assert_int_equal(status, 1);
	assert_false(json_object_get_boolean(get(o, "bypass_available")));
	assert_int_equal(json_object_get_int(get(o, "privileges.euid")), 65534);
	missing = get(o, "privileges.missing");
	for (i = 0; i < json_object_array_length(missing); i++) {
		const char *m = json_object_get_string(
			json_object_array_get_idx(missing, i));

		raw |= !strcmp(m, "net_raw");
		admin |= !strcmp(m, "net_admin");
	}
	assert_true(raw && admin);
	r = path_row(o, bed.end[1].ifname, "packet");
	assert_false(json_object_get_boolean(get(r, "available")));
	assert_non_null(strstr(json_object_get_string(get(r, "reason")),
			       "CAP_NET_RAW"));
	fix = json_object_get_string(get(r, "fix"));
	snprintf(want, sizeof(want), "setcap cap_net_raw+ep %s", sluice);
	assert_string_equal(fix, want);
	r = path_row(o, bed.end[1].ifname, "xdp-copy");
	assert_false(json_object_get_boolean(get(r, "available")));
	assert_non_null(
		strstr(json_object_get_string(get(r, "fix")), "cap_net_admin"));
	r = path_row(o, bed.end[1].ifname, "udp");
	assert_true(json_object_get_boolean(get(r, "available")));
	json_object_put(o);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_veth_two_queues, teardown),
		cmocka_unit_test_teardown(test_hugepages_show_up, teardown),
		cmocka_unit_test_teardown(test_unprivileged, teardown),
	};
	const char *root = getenv("SL_BUILD_ROOT");

	if (argc > 1)
		snprintf(sluice, sizeof(sluice), "%s", argv[1]);
	else
		snprintf(sluice, sizeof(sluice), "%s/tools/sluice",
			 root ? root : ".");
	/* the fix lines name the binary by its real path */
	{
		char real[PATH_MAX];

		if (realpath(sluice, real))
			memcpy(sluice, real, sizeof(sluice));
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
