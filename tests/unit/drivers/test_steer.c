// SPDX-License-Identifier: MIT
/* The steering program's loader without privileges: rules parse as the port
 * spec writes them, bad ones are refused with a message, and the embedded
 * object is the program we mean (opened and its BTF parsed by libbpf,
 * which needs no privilege; loading is the integration test's job). */
#include <errno.h>
#include <string.h>

#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "sltest.h"
#include "drivers/xdp/steer.h"

extern const unsigned char sl_steer_bpf_obj[];
extern const size_t sl_steer_bpf_obj_len;

static void test_rules_parse(void **state)
{
	struct sl_steer_rule r;

	(void)state;
	assert_int_equal(sl_steer_rule_parse("all", &r), 0);
	assert_int_equal(r.kind, SL_STEER_RULE_ALL);
	assert_int_equal(sl_steer_rule_parse("udp:7777", &r), 0);
	assert_int_equal(r.kind, SL_STEER_RULE_UDP);
	assert_int_equal(r.lo, 7777);
	assert_int_equal(r.hi, 7777);
	assert_int_equal(sl_steer_rule_parse("udp:1-65535", &r), 0);
	assert_int_equal(r.lo, 1);
	assert_int_equal(r.hi, 65535);
}

static void test_bad_rules_refused(void **state)
{
	static const char *const bad[] = {
		"",	    "udp:",
		"udp:0",    "udp:65536",
		"udp:10-5", "udp:12x",
		"udp:-5",   "udp:5-",
		"udp:5--6", "tcp:80",
		"all:1",    "udp: 80",
		"udp:+80",  "udp:99999999999999999999",
	};
	struct sl_steer_rule r;
	unsigned i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(sl_steer_rule_parse(bad[i], &r), -EINVAL);
		assert_non_null(strstr(sl_last_error(), "bad rule"));
	}
	assert_int_equal(sl_steer_rule_parse(NULL, &r), -EINVAL);
}

static void test_too_many_rules_refused(void **state)
{
	struct sl_steer_rule rules[17];
	struct sl_steer *s = NULL;
	unsigned i;

	(void)state;
	for (i = 0; i < 17; i++)
		rules[i] = (struct sl_steer_rule){ SL_STEER_RULE_UDP, 1, 2 };
	assert_int_equal(sl_steer_load(&s, rules, 17), -E2BIG);
	assert_null(s);
	rules[0] = (struct sl_steer_rule){ SL_STEER_RULE_UDP, 9, 2 };
	assert_int_equal(sl_steer_load(&s, rules, 1), -EINVAL);
	assert_null(s);
}

static void test_embedded_object(void **state)
{
	struct bpf_object *obj;
	struct bpf_program *p;
	struct btf *btf;

	(void)state;
	assert_true(sl_steer_bpf_obj_len > 64);
	assert_memory_equal(sl_steer_bpf_obj, "\177ELF", 4);
	obj = bpf_object__open_mem(sl_steer_bpf_obj, sl_steer_bpf_obj_len,
				   NULL);
	assert_non_null(obj);
	p = bpf_object__find_program_by_name(obj, "sl_steer");
	assert_non_null(p);
	assert_int_equal(bpf_program__type(p), BPF_PROG_TYPE_XDP);
	assert_non_null(bpf_object__find_map_by_name(obj, "sl_steer_rules"));
	assert_non_null(bpf_object__find_map_by_name(obj, "sl_steer_stats"));
	assert_non_null(bpf_object__find_map_by_name(obj, "sl_steer_xsks"));
	btf = bpf_object__btf(obj);
	assert_non_null(btf);
	assert_true(btf__find_by_name(btf, "sl_steer_conf") > 0);
	assert_true(btf__find_by_name(btf, "sl_steer_owner") > 0);
	bpf_object__close(obj);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rules_parse),
		cmocka_unit_test(test_bad_rules_refused),
		cmocka_unit_test(test_too_many_rules_refused),
		cmocka_unit_test(test_embedded_object),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
