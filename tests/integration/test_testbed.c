// SPDX-License-Identifier: MIT
/* The veth test bed: it comes up with both address families working both
 * ways, and it goes away completely: on tb_down, on exit without
 * it, on abort, and after its owner was killed by SIGKILL. */
#include <net/if.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>

#include "common.h"

static struct tb bed;

static int teardown(void **state)
{
	(void)state;
	tb_enter(NULL, TB_HOME);
	tb_down(&bed);
	return 0;
}

/* Nothing of the bed left: namespaces gone, no interface of its name in the
 * caller's namespace. */
static void assert_gone(const struct tb *tb)
{
	char cmd[128], out[4096];

	assert_false(tb_ns_exists(tb->end[0].ns));
	assert_false(tb_ns_exists(tb->end[1].ns));
	snprintf(cmd, sizeof(cmd), "ip netns list; ip -o link show");
	assert_int_equal(tb_capture(NULL, TB_HOME, cmd, out, sizeof(out)), 0);
	assert_null(strstr(out, tb->name));
}

static void test_up_talk_down(void **state)
{
	struct tb_opts o = { .sz = sizeof(o), .queues = 2 };
	char cmd[256], out[2048];
	int s, fd;

	(void)state;
	itest_bed_up(&bed, &o);
	for (s = 0; s < 2; s++) {
		const struct tb_end *e = &bed.end[s];

		assert_true(tb_ns_exists(e->ns));
		assert_true(e->ifindex > 0);
		assert_true(strlen(e->ifname) <= 15);
		snprintf(cmd, sizeof(cmd),
			 "ip -o addr show dev %s; ip -o link show dev %s; "
			 "ls /sys/class/net/%s/queues",
			 e->ifname, e->ifname, e->ifname);
		assert_int_equal(tb_capture(&bed, s, cmd, out, sizeof(out)), 0);
		assert_non_null(strstr(out, e->ip4_str));
		assert_non_null(strstr(out, e->ip6_str));
		assert_non_null(strstr(out, "state UP"));
		assert_non_null(strstr(out, e->mac_str));
		assert_non_null(strstr(out, "rx-1"));
		assert_null(strstr(out, "rx-2"));
		/* the peer's neighbour entries are pinned */
		snprintf(cmd, sizeof(cmd), "ip neigh show dev %s nud permanent",
			 e->ifname);
		assert_int_equal(tb_capture(&bed, s, cmd, out, sizeof(out)), 0);
		assert_non_null(strstr(out, bed.end[!s].ip4_str));
		assert_non_null(strstr(out, bed.end[!s].ip6_str));
	}
	/* nothing of the bed in our own namespace */
	assert_int_equal(tb_capture(NULL, TB_HOME, "ip -o link show", out,
				    sizeof(out)),
			 0);
	assert_null(strstr(out, bed.name));

	for (s = 0; s < 2; s++) {
		assert_true(itest_ping(&bed, s, 0));
		assert_true(itest_ping(&bed, s, 1));
	}

	fd = itest_udp_bound(&bed, TB_B, 0, 7001);
	itest_udp_send(&bed, TB_A, 0, 7001, "over ipv4");
	itest_udp_expect(fd, "over ipv4");
	close(fd);
	fd = itest_udp_bound(&bed, TB_A, 1, 7002);
	itest_udp_send(&bed, TB_B, 1, 7002, "over ipv6");
	itest_udp_expect(fd, "over ipv6");
	close(fd);

	tb_down(&bed);
	assert_gone(&bed);
}

/* Two beds at once do not collide. */
static void test_two_beds(void **state)
{
	struct tb other;
	int fd;

	(void)state;
	itest_bed_up(&bed, NULL);
	if (tb_up(&other, NULL))
		fail_msg("second bed: %s", tb_error());
	assert_string_not_equal(bed.name, other.name);
	fd = itest_udp_bound(&other, TB_B, 0, 7003);
	itest_udp_send(&other, TB_A, 0, 7003, "second");
	itest_udp_expect(fd, "second");
	close(fd);
	assert_true(itest_ping(&bed, TB_A, 0));
	tb_down(&other);
	assert_gone(&other);
}

/* Threads may sit in different sides at once. */
static void *in_side_b(void *arg)
{
	struct tb *tb = arg;

	if (tb_enter(tb, TB_B))
		return NULL;
	return (void *)(long)if_nametoindex(tb->end[1].ifname);
}

static void test_enter_per_thread(void **state)
{
	pthread_t t;
	void *ret;

	(void)state;
	itest_bed_up(&bed, NULL);
	assert_int_equal(pthread_create(&t, NULL, in_side_b, &bed), 0);
	assert_int_equal(pthread_join(t, &ret), 0);
	assert_int_equal((long)ret, bed.end[1].ifindex);
	/* this thread did not move */
	assert_int_equal(if_nametoindex(bed.end[1].ifname), 0);
	assert_int_equal(tb_enter(&bed, TB_A), 0);
	assert_int_equal(if_nametoindex(bed.end[0].ifname), bed.end[0].ifindex);
	assert_int_equal(tb_enter(&bed, TB_HOME), 0);
	assert_int_equal(if_nametoindex(bed.end[0].ifname), 0);
	assert_int_equal(tb_run(&bed, TB_A, "exit 3"), 3);
}

enum child_end { END_SIGKILL, END_EXIT, END_ABORT };

/* A child brings a bed up, reports it, then ends as told; returns the bed
 * the child made. */
static struct tb bed_of_child(enum child_end how, pid_t *pidp)
{
	struct tb tb;
	int pfd[2], status;
	pid_t pid;

	assert_int_equal(pipe(pfd), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(pfd[0]);
		if (tb_up(&tb, NULL))
			_exit(2);
		if (write(pfd[1], &tb, sizeof(tb)) != sizeof(tb))
			_exit(3);
		if (how == END_EXIT)
			exit(0); /* without tb_down: atexit cleans */
		if (how == END_ABORT)
			abort();
		pause();
		_exit(4);
	}
	close(pfd[1]);
	memset(&tb, 0, sizeof(tb));
	if (read(pfd[0], &tb, sizeof(tb)) != sizeof(tb)) {
		waitpid(pid, &status, 0);
		fail_msg("child could not bring a bed up (status %d)", status);
	}
	close(pfd[0]);
	*pidp = pid;
	return tb;
}

static void test_child_exit_and_abort_clean_up(void **state)
{
	struct tb tb;
	int status;
	pid_t pid;

	(void)state;
	if (geteuid() != 0)
		sl_test_skip("needs root: network namespaces and veth");
	tb = bed_of_child(END_EXIT, &pid);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	assert_gone(&tb);

	tb = bed_of_child(END_ABORT, &pid);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT);
	assert_gone(&tb);
}

static void test_sigkilled_owner_is_reaped(void **state)
{
	char cmd[512];
	struct tb tb;
	const char *root = getenv("SL_SOURCE_ROOT");
	int status;
	pid_t pid;

	(void)state;
	if (geteuid() != 0)
		sl_test_skip("needs root: network namespaces and veth");
	/* SIGKILL runs no handler: the bed outlives its owner... */
	tb = bed_of_child(END_SIGKILL, &pid);
	assert_true(tb_ns_exists(tb.end[0].ns));
	assert_int_equal(kill(pid, SIGKILL), 0);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(tb_ns_exists(tb.end[0].ns));
	/* ...until the next test bed, or tb_reap(), removes it */
	assert_true(tb_reap() >= 2);
	assert_gone(&tb);

	/* the script does the same for people cleaning up by hand */
	if (!root)
		return;
	tb = bed_of_child(END_SIGKILL, &pid);
	assert_int_equal(kill(pid, SIGKILL), 0);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(tb_ns_exists(tb.end[1].ns));
	snprintf(cmd, sizeof(cmd), "bash '%s/scripts/testbed.sh' down --stale",
		 root);
	assert_int_equal(tb_run(NULL, TB_HOME, cmd), 0);
	assert_gone(&tb);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_up_talk_down, teardown),
		cmocka_unit_test_teardown(test_two_beds, teardown),
		cmocka_unit_test_teardown(test_enter_per_thread, teardown),
		cmocka_unit_test(test_child_exit_and_abort_clean_up),
		cmocka_unit_test(test_sigkilled_owner_is_reaped),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
