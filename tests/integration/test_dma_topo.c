// SPDX-License-Identifier: MIT
/*
 * The DMA topology through the `sluice` command, unprivileged:
 * - `sluice doctor --json` on this machine: its dma_topology section lists
 *   the devices hwloc found, and on this VM eth0 (virtio-net, 00:03.0) and
 *   vda (virtio-blk, 00:02.0) meet at the host bridge (PHB); skipped with
 *   the reason where either is absent, or sluice was built without hwloc;
 * - the same with SLUICE_TOPO_XML naming a fixture: doctor reads that
 *   machine instead (a GPU and a NIC under one switch: PIX);
 * - `sluice dma topo SOURCE TARGET`: the verdict's text and exit status.
 * The sluice binary is argv[1], or SL_BUILD_ROOT/tools/sluice.
 */
#include <json-c/json.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sltest.h"

static char sluice[PATH_MAX];
static char fixtures[1024];
static char out[1 << 18];

/* Run cmd, stdout into out; returns the exit status. */
static int run(const char *cmd)
{
	FILE *p = popen(cmd, "r");
	size_t n = 0, r;
	int st;

	if (!p)
		fail_msg("popen %s", cmd);
	while (n < sizeof(out) - 1 &&
	       (r = fread(out + n, 1, sizeof(out) - 1 - n, p)) > 0)
		n += r;
	out[n] = '\0';
	st = pclose(p);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* doctor --json's dma_topology (a reference into *root), or skip */
static json_object *doctor_topo(const char *env, json_object **root)
{
	char cmd[PATH_MAX * 2];
	json_object *dt, *err;
	char *brace;

	if (access(sluice, X_OK))
		sl_test_skip("no sluice binary at %s", sluice);
	snprintf(cmd, sizeof(cmd), "%s %s doctor --json 2>/dev/null", env,
		 sluice);
	run(cmd);
	brace = strchr(out, '{');
	if (!brace)
		fail_msg("doctor printed no JSON: %s", out);
	*root = json_tokener_parse(brace);
	if (!*root)
		fail_msg("doctor's JSON does not parse: %s", out);
	if (!json_object_object_get_ex(*root, "dma_topology", &dt))
		fail_msg("doctor's JSON has no dma_topology");
	if (json_object_object_get_ex(dt, "error", &err)) {
		const char *e = json_object_get_string(err);

		if (strstr(e, "without hwloc")) {
			json_object_put(*root);
			sl_test_skip("%s", e);
		}
		fail_msg("dma_topology: %s", e);
	}
	return dt;
}

/* The link of a and b in the matrix, NULL when either is absent. */
static const char *link_of(json_object *dt, const char *a, const char *b)
{
	json_object *m, *row, *l;

	if (!json_object_object_get_ex(dt, "matrix", &m) ||
	    !json_object_object_get_ex(m, a, &row) ||
	    !json_object_object_get_ex(row, b, &l))
		return NULL;
	return json_object_get_string(l);
}

static const char *dev_field(json_object *dt, const char *name,
			     const char *field)
{
	json_object *devs, *d, *n, *f;
	size_t i;

	if (!json_object_object_get_ex(dt, "devices", &devs))
		return NULL;
	for (i = 0; i < json_object_array_length(devs); i++) {
		d = json_object_array_get_idx(devs, i);
		if (json_object_object_get_ex(d, "name", &n) &&
		    !strcmp(json_object_get_string(n), name) &&
		    json_object_object_get_ex(d, field, &f))
			return json_object_get_string(f);
	}
	return NULL;
}

static void test_doctor_here(void **state)
{
	json_object *root, *dt;
	const char *l;

	(void)state;
	dt = doctor_topo("SLUICE_TOPO_XML=", &root);
	l = link_of(dt, "eth0", "vda");
	if (!l) {
		json_object_put(root);
		sl_test_skip("no eth0 and vda here (this VM's devices)");
	}
	assert_string_equal(l, "PHB");
	assert_string_equal(link_of(dt, "vda", "eth0"), "PHB");
	assert_string_equal(link_of(dt, "eth0", "eth0"), "X");
	assert_string_equal(dev_field(dt, "eth0", "kind"), "nic");
	assert_string_equal(dev_field(dt, "vda", "kind"), "storage");
	assert_string_equal(dev_field(dt, "eth0", "bus_id"), "0000:00:03.0");
	assert_string_equal(dev_field(dt, "vda", "bus_id"), "0000:00:02.0");
	json_object_put(root);
}

static void test_doctor_fixture(void **state)
{
	char env[PATH_MAX];
	json_object *root, *dt, *src;

	(void)state;
	snprintf(env, sizeof(env), "SLUICE_TOPO_XML=%s/pix.xml", fixtures);
	dt = doctor_topo(env, &root);
	assert_true(json_object_object_get_ex(dt, "source", &src));
	assert_non_null(strstr(json_object_get_string(src), "pix.xml"));
	assert_string_equal(link_of(dt, "gpu0", "ens1f0np0"), "PIX");
	assert_string_equal(link_of(dt, "gpu1", "ens1f0np0"), "PXB");
	assert_string_equal(link_of(dt, "gpu0", "nvme0n1"), "PHB");
	assert_string_equal(link_of(dt, "gpu0", "ens2f0"), "NODE");
	json_object_put(root);
}

static void test_verdict_cmd(void **state)
{
	char cmd[PATH_MAX * 2];
	int st;

	(void)state;
	if (access(sluice, X_OK))
		sl_test_skip("no sluice binary at %s", sluice);
	snprintf(cmd, sizeof(cmd),
		 "%s dma topo --xml %s/vm.xml --sysfs /nonexistent eth0 vda "
		 "2>&1",
		 sluice, fixtures);
	st = run(cmd);
	if (strstr(out, "without hwloc"))
		sl_test_skip("%s", out);
	assert_int_equal(st, 1);
	assert_non_null(strstr(out, "eth0 -> vda: staged (PHB)"));
	assert_non_null(strstr(out, "meet only at the host bridge (PHB)"));
	snprintf(cmd, sizeof(cmd),
		 "%s dma topo --xml %s/pix.xml --sysfs /nonexistent "
		 "xdp:ens1f0np0 gpu0 2>&1",
		 sluice, fixtures);
	assert_int_equal(run(cmd), 1);
	assert_non_null(strstr(out, "AF_XDP fills host memory only"));
	snprintf(cmd, sizeof(cmd),
		 "%s dma topo --xml %s/vm.xml eth0 2>&1; echo rc=$?", sluice,
		 fixtures);
	run(cmd);
	assert_non_null(strstr(out, "rc=2"));
	snprintf(cmd, sizeof(cmd),
		 "%s dma topo --xml %s/vm.xml eth0 gpu9 2>&1; echo rc=$?",
		 sluice, fixtures);
	run(cmd);
	assert_non_null(strstr(out, "no NIC, GPU or storage device 'gpu9'"));
	assert_non_null(strstr(out, "rc=1"));
}

int main(int argc, char **argv)
{
	const char *b = getenv("SL_BUILD_ROOT"), *s = getenv("SL_SOURCE_ROOT");
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_doctor_here),
		cmocka_unit_test(test_doctor_fixture),
		cmocka_unit_test(test_verdict_cmd),
	};

	if (argc > 1)
		snprintf(sluice, sizeof(sluice), "%s", argv[1]);
	else
		snprintf(sluice, sizeof(sluice), "%s/tools/sluice",
			 b ? b : "build");
	snprintf(fixtures, sizeof(fixtures), "%s/tests/fixtures/topo",
		 s ? s : ".");
	return cmocka_run_group_tests(tests, NULL, NULL);
}
