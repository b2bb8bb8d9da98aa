// SPDX-License-Identifier: MIT
/*
 * The spec parser: good specs and what they parse into, bad specs and the
 * exact message a user sees for each, the fault-list continuation, IPv6
 * targets, and the length limits.
 */
#include <errno.h>
#include <string.h>

#include "sltest.h"

#include "port/driver.h"
#include "port/spec.h"

/* "udp, pair, ..." from the driver table, as the messages list them */
static const char *known_drivers(void)
{
	static char buf[256];
	unsigned i;

	buf[0] = '\0';
	for (i = 0; sl_drivers[i]; i++) {
		if (i)
			strcat(buf, ", ");
		strcat(buf, sl_drivers[i]->name);
	}
	return buf;
}

static void parse_ok(const char *s, struct sl_spec *out)
{
	if (sl_spec_parse(s, out) != 0)
		fail_msg("'%s' refused: %s", s, sl_last_error());
}

static void parse_bad(const char *s, const char *msg)
{
	struct sl_spec spec;

	errno = 0;
	assert_int_equal(sl_spec_parse(s, &spec), -EINVAL);
	assert_int_equal(errno, EINVAL);
	assert_string_equal(sl_last_error(), msg);
}

static void test_simple(void **state)
{
	struct sl_spec s;

	(void)state;
	parse_ok("pair:a/0", &s);
	assert_string_equal(s.text, "pair:a/0");
	assert_string_equal(s.driver, "pair");
	assert_string_equal(s.target, "a/0");
	assert_int_equal(s.n_opts, 0);
	assert_null(sl_spec_get(&s, "queues"));
	assert_false(sl_spec_has(&s, "queues"));

	parse_ok("pcap:/tmp/x.pcap,write,queues=1", &s);
	assert_string_equal(s.driver, "pcap");
	assert_string_equal(s.target, "/tmp/x.pcap");
	assert_int_equal(s.n_opts, 2);
	assert_true(sl_spec_has(&s, "write"));
	assert_string_equal(sl_spec_get(&s, "write"), "");
	assert_string_equal(sl_spec_get(&s, "queues"), "1");
}

static void test_targets_with_colons(void **state)
{
	struct sl_spec s;

	(void)state;
	parse_ok("udp:[::1]:80", &s);
	assert_string_equal(s.driver, "udp");
	assert_string_equal(s.target, "[::1]:80");
	parse_ok("udp:[2001:db8::1]:9000,peer=[2001:db8::2]:9001", &s);
	assert_string_equal(s.target, "[2001:db8::1]:9000");
	assert_string_equal(sl_spec_get(&s, "peer"), "[2001:db8::2]:9001");
	parse_ok("udp:1.2.3.4:80,peer=5.6.7.8:90", &s);
	assert_string_equal(s.target, "1.2.3.4:80");
	/* only the first ':' separates the driver */
	parse_ok("pcap:/tmp/a:b.pcap", &s);
	assert_string_equal(s.target, "/tmp/a:b.pcap");
}

static void test_fault_continuation(void **state)
{
	struct sl_spec s;

	(void)state;
	parse_ok("pair:a/0,fault=drop:0.1,dup:0.2,seed=7", &s);
	assert_int_equal(s.n_opts, 2);
	assert_string_equal(sl_spec_get(&s, "fault"), "drop:0.1,dup:0.2");
	assert_string_equal(sl_spec_get(&s, "seed"), "7");

	parse_ok("pair:a/0,fault=drop:0.1,dup:0.2,reorder:0.3,corrupt:0.4,"
		 "dir:rx,queues=2",
		 &s);
	assert_string_equal(sl_spec_get(&s, "fault"),
			    "drop:0.1,dup:0.2,reorder:0.3,corrupt:0.4,dir:rx");
	assert_string_equal(sl_spec_get(&s, "queues"), "2");

	/* a flag the driver takes ends the list */
	parse_ok("pcap:f.pcap,fault=drop:0.5,write", &s);
	assert_string_equal(sl_spec_get(&s, "fault"), "drop:0.5");
	assert_true(sl_spec_has(&s, "write"));

	/* a bare item not after fault= is a flag, checked as a key */
	parse_bad("pair:a/0,dup:0.2",
		  "pair:a/0,dup:0.2: option 'dup:0.2' not taken by driver "
		  "pair");
}

static void test_bad_specs(void **state)
{
	char msg[512];

	(void)state;
	/* the table starts with the three drivers every build has */
	assert_true(strncmp(known_drivers(), "udp, pair, pcap", 15) == 0);
	snprintf(msg, sizeof(msg),
		 "bogus:x: unknown driver 'bogus' (known: %s)",
		 known_drivers());
	parse_bad("bogus:x", msg);
	parse_bad("udp:1.2.3.4:80,queue=3",
		  "udp:1.2.3.4:80,queue=3: option 'queue' not taken by driver "
		  "udp");
	parse_bad("pair:a/0,queues=2,queues=3",
		  "pair:a/0,queues=2,queues=3: option 'queues' given twice");
	parse_bad("", "empty port spec (expected DRIVER:TARGET, such as "
		      "udp:127.0.0.1:9000)");
	parse_bad("pair", "pair: expected DRIVER:TARGET (such as pair:a/0)");
	parse_bad("pair,x:y", "pair,x:y: expected DRIVER:TARGET (such as "
			      "pair:a/0)");
	parse_bad(":a/0", ":a/0: no driver name before ':'");
	parse_bad("pair:", "pair:: nothing after 'pair:'");
	parse_bad("pair:,queues=1", "pair:,queues=1: nothing after 'pair:'");
	parse_bad("pair:a/0,", "pair:a/0,: empty option (two commas in a row, "
			       "or a comma at the end)");
	parse_bad("pair:a/0,,queues=1",
		  "pair:a/0,,queues=1: empty option (two commas in a row, or a "
		  "comma at the end)");
	parse_bad("pair:a/0,=3", "pair:a/0,=3: option '=3' has no key");
	parse_bad("pair:a/0,queues=",
		  "pair:a/0,queues=: option 'queues=' has no value after '='");
	parse_bad("pair:a/0,queues=0",
		  "pair:a/0,queues=0: bad queues '0': expected a number from 1 "
		  "to 64, or a range A-B");
	parse_bad("pair:a/0,queues=65",
		  "pair:a/0,queues=65: bad queues '65': expected a number from "
		  "1 to 64, or a range A-B");
	parse_bad("pair:a/0,queues=+2",
		  "pair:a/0,queues=+2: bad queues '+2': expected a number from "
		  "1 to 64, or a range A-B");
	parse_bad(
		"pair:a/0,queues=5-2",
		"pair:a/0,queues=5-2: bad queues '5-2': expected a number from "
		"1 to 64, or a range A-B");
	parse_bad("pair:a/0,queues=0-64",
		  "pair:a/0,queues=0-64: bad queues '0-64': expected a number "
		  "from 1 to 64, or a range A-B");
	parse_bad(
		"pair:a/0,seed=-1",
		"pair:a/0,seed=-1: bad seed '-1': expected a number from 0 to "
		"18446744073709551615");
	parse_bad("pair:a/0,seed=18446744073709551616",
		  "pair:a/0,seed=18446744073709551616: bad seed "
		  "'18446744073709551616': expected a number from 0 to "
		  "18446744073709551615");
	parse_bad("pair:a/0,capture",
		  "pair:a/0,capture: option 'capture' needs a value "
		  "(capture=...)");
	parse_bad("pair:a/0\tx", "port spec has a control character (byte "
				 "0x09 at offset 8)");
	parse_bad(NULL, "no port spec given");
}

static void test_limits(void **state)
{
	char s[600], msg[700];
	struct sl_spec spec;

	(void)state;
	/* 511 characters: the longest spec */
	memset(s, 0, sizeof(s));
	strcpy(s, "pcap:");
	memset(s + 5, 'a', 255);
	strcat(s, ",capture=");
	memset(s + strlen(s), 'b', 511 - strlen(s));
	assert_int_equal(strlen(s), 511);
	parse_ok(s, &spec);
	assert_int_equal(strlen(spec.target), 255);
	assert_int_equal(strlen(sl_spec_get(&spec, "capture")), 242);
	assert_string_equal(spec.text, s);

	/* 512: too long */
	strcat(s, "b");
	assert_int_equal(sl_spec_parse(s, &spec), -EINVAL);
	assert_non_null(strstr(sl_last_error(),
			       "port spec too long (at most 511 characters)"));

	/* a target of 256 characters */
	memset(s, 0, sizeof(s));
	strcpy(s, "pcap:");
	memset(s + 5, 'a', 256);
	snprintf(msg, sizeof(msg),
		 "%s: target too long (at most 255 characters)", s);
	parse_bad(s, msg);

	/* a value of 256 characters */
	memset(s, 0, sizeof(s));
	strcpy(s, "pair:a/0,capture=");
	memset(s + strlen(s), 'c', 256);
	snprintf(msg, sizeof(msg),
		 "%s: value of 'capture' is too long (at most 255 "
		 "characters)",
		 s);
	parse_bad(s, msg);

	/* a key of 32 characters */
	memset(s, 0, sizeof(s));
	strcpy(s, "pair:a/0,");
	memset(s + strlen(s), 'k', 32);
	strcat(s, "=1");
	snprintf(msg, sizeof(msg),
		 "%s: option '%.31s...' is too long (keys have at most 31 "
		 "characters)",
		 s, s + 9);
	parse_bad(s, msg);

	/* a fault list too long once continued */
	memset(s, 0, sizeof(s));
	strcpy(s, "pair:a/0,fault=");
	while (strlen(s) < 300)
		strcat(s, "drop:0.1,");
	strcat(s, "dup:0");
	snprintf(msg, sizeof(msg),
		 "%s: fault list too long (at most 255 characters)", s);
	parse_bad(s, msg);

	/* a long driver name is cut in the message */
	memset(s, 0, sizeof(s));
	memset(s, 'd', 40);
	strcat(s, ":x");
	snprintf(msg, sizeof(msg), "%s: unknown driver '%.32s' (known: %s)", s,
		 s, known_drivers());
	parse_bad(s, msg);
}

static void test_getters(void **state)
{
	struct sl_spec s;
	uint32_t v;
	double p;

	(void)state;
	parse_ok("pair:a/0,queues=8", &s);
	assert_int_equal(sl_spec_u32(&s, "queues", 1, 1, 64, &v), 0);
	assert_int_equal(v, 8);
	assert_int_equal(sl_spec_u32(&s, "seed", 42, 0, 100, &v), 0);
	assert_int_equal(v, 42); /* absent: the default */
	assert_int_equal(sl_spec_u32(&s, "queues", 1, 1, 4, &v), -EINVAL);
	assert_string_equal(
		sl_last_error(),
		"pair:a/0,queues=8: bad queues '8': expected 1 to 4");

	parse_ok("pcap:f,capture=x", &s);
	assert_int_equal(sl_spec_u32(&s, "capture", 1, 1, 4, &v), -EINVAL);
	assert_string_equal(sl_last_error(),
			    "pcap:f,capture=x: bad capture 'x': not a number "
			    "(expected 1 to 4)");

	assert_int_equal(sl_spec_prob(&s, "0.05", "drop", &p), 0);
	assert_true(p > 0.0499 && p < 0.0501);
	assert_int_equal(sl_spec_prob(&s, "1", "drop", &p), 0);
	assert_true(p == 1.0);
	assert_int_equal(sl_spec_prob(&s, "0", "drop", &p), 0);
	assert_true(p == 0.0);
	assert_int_equal(sl_spec_prob(&s, "1e-3", "drop", &p), 0);
	assert_true(p > 0.00099 && p < 0.00101);
	assert_int_equal(sl_spec_prob(&s, "1.5", "drop", &p), -EINVAL);
	assert_string_equal(sl_last_error(),
			    "pcap:f,capture=x: bad probability '1.5' for drop "
			    "(expected a number from 0 to 1)");
	assert_int_equal(sl_spec_prob(&s, "-0", "drop", &p), -EINVAL);
	assert_int_equal(sl_spec_prob(&s, "nan", "drop", &p), -EINVAL);
	assert_int_equal(sl_spec_prob(&s, " 0.1", "drop", &p), -EINVAL);
	assert_int_equal(sl_spec_prob(&s, "0x0.1", "drop", &p), -EINVAL);
	assert_int_equal(sl_spec_prob(&s, "", "drop", &p), -EINVAL);
	assert_int_equal(sl_spec_prob(&s, "e5", "drop", &p), -EINVAL);
}

static void test_spec_fail(void **state)
{
	struct sl_spec s;

	(void)state;
	parse_ok("udp:1.2.3:80", &s);
	errno = 0;
	assert_int_equal(sl_spec_fail(&s, EINVAL, "bad address '%s'", "1.2.3"),
			 -EINVAL);
	assert_int_equal(errno, EINVAL);
	assert_string_equal(sl_last_error(),
			    "udp:1.2.3:80: bad address '1.2.3'");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_simple),
		cmocka_unit_test(test_targets_with_colons),
		cmocka_unit_test(test_fault_continuation),
		cmocka_unit_test(test_bad_specs),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_getters),
		cmocka_unit_test(test_spec_fail),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
