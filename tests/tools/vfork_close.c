// SPDX-License-Identifier: MIT
/*
 * vfork_close HOST PORT: a UDP socket answered by an echo at HOST:PORT,
 * then a vfork child that closes its copy of the socket and execs
 * /bin/true (as posix_spawn's file actions and CPython's subprocess do
 * between vfork and exec), then the socket again. The child shares the
 * parent's memory: under sluice run its close must not touch the
 * parent's state (test_run.sh reads the report: both exchanges served).
 * Prints "ok" when both answers came.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

static int ask(int s, const struct sockaddr_in *to, const char *what)
{
	char buf[64];

	if (sendto(s, what, 3, 0, (const struct sockaddr *)to, sizeof(*to)) !=
	    3)
		return -1;
	return recv(s, buf, sizeof(buf), 0) == 3 ? 0 : -1;
}

int main(int argc, char **argv)
{
	struct sockaddr_in to = { .sin_family = AF_INET };
	struct sockaddr_in any = { .sin_family = AF_INET };
	struct timeval tv = { 3, 0 };
	int s, status;
	pid_t pid;

	if (argc != 3 || inet_pton(AF_INET, argv[1], &to.sin_addr) != 1) {
		fprintf(stderr, "usage: vfork_close HOST PORT\n");
		return 2;
	}
	to.sin_port = htons((uint16_t)atoi(argv[2]));
	s = socket(AF_INET, SOCK_DGRAM, 0);
	if (s < 0 || bind(s, (struct sockaddr *)&any, sizeof(any)) ||
	    setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) ||
	    ask(s, &to, "one")) {
		perror("first exchange");
		return 1;
	}
	pid = vfork();
	if (pid == 0) {
		close(s);
		execl("/bin/true", "true", (char *)NULL);
		_exit(127);
	}
	if (pid < 0 || waitpid(pid, &status, 0) != pid || ask(s, &to, "two")) {
		perror("after the vfork child");
		return 1;
	}
	puts("ok");
	close(s);
	return 0;
}
