// SPDX-License-Identifier: MIT
/*
 * sluice dma: payloads into device memory (issue 13).
 *
 *   sluice dma copy --from FILE --to TARGET   a file through the staging
 *                                             engine (include/sluice/dma.h)
 *   sluice dma topo ...                       the PCIe topology: which
 *                                             targets can be reached
 *                                             directly (cmd_dma_topo, in
 *                                             its own file)
 *
 * copy reads the source straight into the stager's pinned buffers
 * (sl_dma_stage_buf, then commit), so the only copy on the host is the
 * read() out of the page cache; when every buffer is in flight it waits for
 * the oldest transfer, which is the back-pressure the engine gives.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <linux/fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sluice/dma.h>

#include "sluice.h"

static const char dma_help[] =
	"usage: sluice dma SUBCOMMAND [options]  (sluice dma SUBCOMMAND "
	"--help)\n"
	"\n"
	"Payloads into device memory, directly or staged through pinned host\n"
	"memory.\n"
	"\n"
	"  copy   copy a file to a target (host, file:PATH, cuda:N)\n"
	"  topo   the PCIe topology: which targets are reached directly\n";

static const char copy_help[] =
	"usage: sluice dma copy --from FILE --to TARGET [options]\n"
	"\n"
	"Copy FILE to TARGET through pinned staging buffers, DEPTH transfers\n"
	"in flight. TARGET is one of\n"
	"  host        memory of this process (a plain copy)\n"
	"  file:PATH   a file or block device, O_DIRECT writes through\n"
	"              io_uring (buffered where the file system refuses\n"
	"              O_DIRECT: the result says so); a file is replaced\n"
	"  cuda:N      memory of CUDA device N (needs libcuda.so.1)\n"
	"\n"
	"  --from FILE          the source (a regular file or block device)\n"
	"  --to TARGET          where the bytes go\n"
	"  --staging-size B     bytes per staging buffer, a multiple of 4096\n"
	"                       (K and M mean KiB and MiB; default 1M)\n"
	"  --depth N            staging buffers, so transfers in flight, 1..256\n"
	"                       (default 8)\n"
	"  --buffered           file: never O_DIRECT\n"
	"  --verify             read the target back and compare with FILE\n"
	"  --progress           a progress line on stderr even when it is not\n"
	"                       a terminal (on a terminal it is always shown)\n"
	"  --json               print the result as JSON on stdout\n"
	"\n"
	"On a target error (no space, I/O error, a CUDA error) it stops, names\n"
	"the target and the offset, and exits 1; the bytes before that offset\n"
	"are on the target (\"acked_bytes\" in the JSON).\n"
	"\n"
	"examples:\n"
	"  sluice dma copy --from weights.bin --to cuda:0 --verify\n"
	"  sluice dma copy --from big.img --to file:/mnt/nvme/big.img "
	"--staging-size 4M --depth 8\n";

/* Bytes with K/M/G as powers of 1024 (a staging size is one). */
struct copy_args {
	const char *from, *to;
	uint32_t staging, depth;
	bool json, verify, progress, buffered;
};

/* The progress line: redrawn in place on a terminal, whole lines else. */
struct progress {
	bool on, tty;
	uint64_t t0, last;
	uint64_t total;
};

static void progress_tick(struct progress *p, uint64_t done, bool last)
{
	uint64_t now = sl_time_ns();
	double s;

	if (!p->on || (!last && now - p->last < 1000000000ull))
		return;
	p->last = now;
	s = cli_secs(now - p->t0);
	fprintf(stderr, "%s%.1f / %.1f MiB  %3.0f%%  %.1f MB/s%s",
		p->tty ? "\r" : "", (double)done / 1048576,
		(double)p->total / 1048576,
		p->total ? 100.0 * (double)done / (double)p->total : 100.0,
		s > 0 ? (double)done / s / 1e6 : 0.0,
		p->tty && !last ? "   " : "\n");
	fflush(stderr);
}

static uint64_t source_size(int fd, const char *path)
{
	struct stat st;
	uint64_t n;

	if (fstat(fd, &st))
		cli_die("--from %s: %s", path, strerror(errno));
	if (S_ISREG(st.st_mode))
		return (uint64_t)st.st_size;
	if (S_ISBLK(st.st_mode) && ioctl(fd, BLKGETSIZE64, &n) == 0)
		return n;
	cli_usage_fail("--from %s: not a regular file nor a block device",
		       path);
}

/* Fill buf from fd at off: all len bytes, or die. */
static void read_full(int fd, const char *path, uint8_t *buf, size_t len,
		      uint64_t off)
{
	while (len) {
		ssize_t r = pread(fd, buf, len, (off_t)off);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			cli_die("--from %s: read at %" PRIu64 ": %s", path, off,
				r ? strerror(errno) : "shorter than it was");
		buf += r;
		off += (uint64_t)r;
		len -= (size_t)r;
	}
}

/* Compare the target with the source; the first offset that differs, or
 * UINT64_MAX when all match. Dies when the target cannot be read. */
static uint64_t verify(struct sl_dma_target *t, int fd, const char *path,
		       uint64_t size)
{
	size_t chunk = 4u << 20;
	uint8_t *a = malloc(chunk), *b = malloc(chunk);
	uint64_t off, bad = UINT64_MAX;

	if (!a || !b)
		cli_die("--verify: out of memory");
	for (off = 0; off < size && bad == UINT64_MAX; off += chunk) {
		size_t n = size - off < chunk ? (size_t)(size - off) : chunk;

		read_full(fd, path, a, n, off);
		if (sl_dma_target_read(t, off, b, n))
			cli_die("--verify: %s", sl_last_error());
		if (memcmp(a, b, n))
			for (size_t i = 0; i < n; i++)
				if (a[i] != b[i]) {
					bad = off + i;
					break;
				}
	}
	free(a);
	free(b);
	return bad;
}

static int copy_run(const struct copy_args *a)
{
	struct sl_dma_target_opts to = { .sz = sizeof(to),
					 .buffered = a->buffered };
	struct sl_dma_stage_opts so = { .sz = sizeof(so),
					.buf_size = a->staging,
					.depth = a->depth };
	struct sl_dma_stage_stats st = { .sz = sizeof(st) };
	struct progress pr = { 0 };
	struct stat sst, tst;
	struct sl_dma_target *t;
	struct sl_dma_stage *s;
	uint64_t size, off = 0, t0, ns, bad = UINT64_MAX;
	int fd, err = 0;
	char errmsg[512] = "";

	fd = open(a->from, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		cli_die("--from %s: %s", a->from, strerror(errno));
	size = source_size(fd, a->from);
	if (!strncmp(a->to, "file:", 5) && stat(a->to + 5, &tst) == 0 &&
	    fstat(fd, &sst) == 0 && tst.st_dev == sst.st_dev &&
	    tst.st_ino == sst.st_ino)
		/* the target is truncated when opened: cp refuses too */
		cli_usage_fail("--from %s and --to %s: the same file", a->from,
			       a->to);
	t = sl_dma_target_open(a->to, &to);
	if (!t)
		cli_die("%s", sl_last_error());
	if (*sl_dma_target_note(t) && sl_dma_target_kind(t) == SL_DMA_FILE)
		cli_warnx("%s: %s", a->to, sl_dma_target_note(t));
	if (size && sl_dma_target_reserve(t, size))
		cli_die("%s", sl_last_error());
	s = sl_dma_stage_create(t, &so);
	if (!s)
		cli_die("%s", sl_last_error());

	pr.tty = isatty(STDERR_FILENO) && !getenv("SLUICE_NO_STATUS");
	pr.on = a->progress || (pr.tty && !a->json);
	pr.total = size;
	t0 = pr.t0 = pr.last = sl_time_ns();
	while (off < size && !cli_stop) {
		uint32_t n = size - off < a->staging ? (uint32_t)(size - off) :
						       a->staging;
		void *buf = sl_dma_stage_buf(s);

		if (!buf) {
			if (errno != EAGAIN)
				break; /* the stream failed */
			/* all in flight: wait for the oldest */
			if (sl_dma_stage_poll(s, true) < 0)
				break;
			continue;
		}
		read_full(fd, a->from, buf, n, off);
		if (sl_dma_stage_commit(s, buf, off, n, NULL))
			break;
		off += n;
		progress_tick(&pr, off, false);
	}
	if (sl_dma_stage_flush(s))
		err = errno;
	if (err)
		snprintf(errmsg, sizeof(errmsg), "%s", sl_last_error());
	ns = sl_time_ns() - t0;
	sl_dma_stage_get_stats(s, &st);
	if (!err)
		progress_tick(&pr, st.acked_bytes, true);
	else if (pr.on && pr.tty)
		fputc('\n', stderr);
	if (!err && cli_stop)
		err = EINTR,
		snprintf(errmsg, sizeof(errmsg),
			 "stopped by a signal after %" PRIu64 " bytes",
			 st.acked_bytes);
	if (!err && a->verify)
		bad = verify(t, fd, a->from, size);

	if (a->json) {
		struct json_object *o = json_object_new_object();

		json_object_object_add(o, "from",
				       json_object_new_string(a->from));
		json_object_object_add(o, "to", json_object_new_string(a->to));
		json_object_object_add(o, "bytes",
				       json_object_new_uint64(size));
		json_object_object_add(o, "acked_bytes",
				       json_object_new_uint64(st.acked_bytes));
		json_object_object_add(o, "seconds",
				       json_object_new_double(cli_secs(ns)));
		json_object_object_add(
			o, "bytes_per_s",
			json_object_new_double(
				ns ? (double)st.acked_bytes * 1e9 / (double)ns :
				     0));
		json_object_object_add(o, "staging_size",
				       json_object_new_int64(a->staging));
		json_object_object_add(o, "depth",
				       json_object_new_int64(a->depth));
		json_object_object_add(
			o, "staging_huge",
			json_object_new_boolean(
				sl_region_is_huge(sl_dma_stage_region(s))));
		json_object_object_add(
			o, "note",
			json_object_new_string(sl_dma_target_note(t)));
		json_object_object_add(o, "stalls",
				       json_object_new_uint64(st.stalls));
		json_object_object_add(o, "max_in_flight",
				       json_object_new_int64(st.max_in_flight));
		json_object_object_add(o, "resubmits",
				       json_object_new_uint64(st.resubmits));
		if (a->verify && !err) {
			json_object_object_add(
				o, "verified",
				json_object_new_boolean(bad == UINT64_MAX));
			if (bad != UINT64_MAX)
				json_object_object_add(
					o, "first_difference",
					json_object_new_uint64(bad));
		}
		if (err) {
			struct json_object *e = json_object_new_object();

			json_object_object_add(e, "errno",
					       json_object_new_int(err));
			json_object_object_add(
				e, "name",
				json_object_new_string(strerrorname_np(err) ?:
							       "?"));
			json_object_object_add(
				e, "offset",
				json_object_new_uint64(st.err_off));
			json_object_object_add(e, "message",
					       json_object_new_string(errmsg));
			json_object_object_add(o, "error", e);
		}
		cli_json_print(o);
	} else if (!err) {
		printf("copy: %" PRIu64 " bytes to %s in %.3f s: %.1f MB/s "
		       "(staging %" PRIu32 " KiB x %" PRIu32 "%s%s)\n",
		       size, a->to, cli_secs(ns),
		       ns ? (double)size * 1e3 / (double)ns : 0.0,
		       a->staging >> 10, a->depth,
		       *sl_dma_target_note(t) ? "; " : "",
		       sl_dma_target_note(t));
		if (a->verify)
			printf("verify: %s\n",
			       bad == UINT64_MAX ? "the target holds the same "
						   "bytes" :
						   "DIFFERENT");
		if (bad != UINT64_MAX)
			printf("verify: first difference at offset %" PRIu64
			       "\n",
			       bad);
	}
	sl_dma_stage_destroy(s);
	sl_dma_target_close(t);
	close(fd);
	if (err) {
		fprintf(stderr, "sluice: %s: %s\n", cli_cmd, errmsg);
		if (err != EINTR)
			fprintf(stderr,
				"sluice: %s: %" PRIu64
				" bytes before offset %" PRIu64
				" are on the target\n",
				cli_cmd, st.acked_bytes, st.acked_end);
		return 1;
	}
	if (bad != UINT64_MAX) {
		fprintf(stderr,
			"sluice: %s: --verify: %s differs from %s at offset "
			"%" PRIu64 "\n",
			cli_cmd, a->to, a->from, bad);
		return 1;
	}
	return 0;
}

static int cmd_dma_copy(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "from", required_argument, NULL, 'f' },
		{ "to", required_argument, NULL, 't' },
		{ "staging-size", required_argument, NULL, 's' },
		{ "depth", required_argument, NULL, 'd' },
		{ "buffered", no_argument, NULL, 'b' },
		{ "verify", no_argument, NULL, 'v' },
		{ "progress", no_argument, NULL, 'p' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct copy_args a = { .staging = 1u << 20, .depth = 8 };
	int c;

	cli_cmd = "dma copy";
	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, ":h", lo, NULL)) != -1) {
		switch (c) {
		case 'f':
			a.from = optarg;
			break;
		case 't':
			a.to = optarg;
			break;
		case 's':
			a.staging = (uint32_t)cli_opt_bytes("--staging-size",
							    optarg,
							    SL_DMA_BUF_MIN,
							    SL_DMA_BUF_MAX);
			if (a.staging % 4096)
				cli_usage_fail("--staging-size %s: give a "
					       "multiple of 4096",
					       optarg);
			break;
		case 'd':
			a.depth = (uint32_t)cli_opt_u64("--depth", optarg, 1,
							SL_DMA_DEPTH_MAX);
			break;
		case 'b':
			a.buffered = true;
			break;
		case 'v':
			a.verify = true;
			break;
		case 'p':
			a.progress = true;
			break;
		case 'j':
			a.json = true;
			break;
		case 'h':
			fputs(copy_help, stdout);
			return 0;
		default:
			cli_opt_bad(c, optopt, argv);
		}
	}
	if (optind < argc)
		cli_usage_fail("unexpected argument '%s'", argv[optind]);
	if (!a.from)
		cli_usage_fail("--from FILE: needed");
	if (!a.to)
		cli_usage_fail("--to TARGET: needed (host, file:PATH or "
			       "cuda:N)");
	if (a.buffered && strncmp(a.to, "file:", 5))
		cli_usage_fail("--buffered: only for file: targets");
	return copy_run(&a);
}

int cmd_dma(int argc, char **argv)
{
	if (argc < 2) {
		fputs(dma_help, stderr);
		return 2;
	}
	if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") ||
	    !strcmp(argv[1], "help")) {
		fputs(dma_help, stdout);
		return 0;
	}
	if (!strcmp(argv[1], "copy"))
		return cmd_dma_copy(argc - 1, argv + 1);
	if (!strcmp(argv[1], "topo")) {
		cli_cmd = "dma topo";
		return cmd_dma_topo(argc - 1, argv + 1);
	}
	cli_usage_fail("unknown subcommand '%s': give copy or topo", argv[1]);
}
