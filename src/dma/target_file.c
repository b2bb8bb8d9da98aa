// SPDX-License-Identifier: MIT
/*
 * The file target: a regular file or a block device, written with
 * O_DIRECT through io_uring from the stager's buffers, registered with the
 * ring (IORING_REGISTER_BUFFERS pins them once, so a WRITE_FIXED maps
 * nothing per write): the storage device DMAs straight from them.
 *
 * What O_DIRECT cannot take goes through a second, buffered descriptor of
 * the same file: a transfer whose offset, length or address is not a
 * multiple of the logical block size (the tail of a copy whose size is
 * not). Where the file system refuses O_DIRECT (EINVAL at open, or at the
 * first write) every write is buffered, and the note says so; so does
 * opts.buffered. flush is fdatasync: acknowledged writes of a buffered
 * descriptor are in the page cache until then.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <liburing.h>
#include <linux/fs.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "core/log.h"
#include "dma/dma_int.h"

struct file_t {
	int dfd; /* O_DIRECT; -1 when buffered only */
	int bfd; /* buffered */
	uint32_t align; /* what O_DIRECT needs of offsets and lengths */
	bool ring_up;
	bool fixed; /* buffers registered */
	struct io_uring ring;
	uint8_t *base;
	uint32_t buf_size, n;
	unsigned outstanding;
	bool broken; /* a submit failed: the ring's state is unknown */
};

/* A name for the file system a descriptor is on, for the note. */
static const char *fs_name(int fd)
{
	struct statfs sf;

	if (fstatfs(fd, &sf))
		return "this file system";
	switch ((unsigned long)sf.f_type) {
	case 0x01021994UL:
		return "tmpfs";
	case 0x858458f6UL:
		return "ramfs";
	case 0x9123683EUL:
		return "btrfs";
	case 0x794c7630UL:
		return "overlayfs";
	case 0x6969UL:
		return "nfs";
	case 0x65735546UL:
		return "a FUSE file system";
	default:
		return "this file system";
	}
}

static void go_buffered(struct sl_dma_target *t, struct file_t *f, int err)
{
	snprintf(t->note, sizeof(t->note),
		 "O_DIRECT refused by %s (%s): buffered writes",
		 fs_name(f->bfd), strerror(err));
	if (f->dfd >= 0)
		close(f->dfd);
	f->dfd = -1;
}

static int file_attach(struct sl_dma_target *t, uint8_t *base,
		       uint32_t buf_size, uint32_t n)
{
	struct file_t *f = t->priv;
	struct iovec *iov;
	uint32_t i;
	int r;

	/* one entry per buffer, twice for the continuations of short
	 * writes that race with new ones */
	r = io_uring_queue_init(2 * n, &f->ring, 0);
	if (r < 0)
		return sl_fail(r,
			       "dma: %s: io_uring: %s (is io_uring "
			       "disabled? see kernel.io_uring_disabled)",
			       t->name, strerror(-r));
	f->ring_up = true;
	f->base = base;
	f->buf_size = buf_size;
	f->n = n;
	iov = calloc(n, sizeof(*iov));
	if (!iov)
		return sl_fail(ENOMEM, "dma: %s: out of memory", t->name);
	for (i = 0; i < n; i++) {
		iov[i].iov_base = base + (size_t)i * buf_size;
		iov[i].iov_len = buf_size;
	}
	r = io_uring_register_buffers(&f->ring, iov, n);
	free(iov);
	if (r == 0) {
		f->fixed = true;
	} else {
		/* still correct, only each write pins its pages itself */
		snprintf(t->note + strlen(t->note),
			 sizeof(t->note) - strlen(t->note),
			 "%sbuffers not registered with io_uring (%s)",
			 t->note[0] ? "; " : "", strerror(-r));
	}
	return 0;
}

static void file_detach(struct sl_dma_target *t)
{
	struct file_t *f = t->priv;

	if (!f->ring_up)
		return;
	if (f->fixed)
		io_uring_unregister_buffers(&f->ring);
	io_uring_queue_exit(&f->ring);
	f->ring_up = false;
	f->fixed = false;
}

static bool direct_ok(const struct file_t *f, const struct sl_dma_io *io)
{
	uint64_t at = io->off + io->done;
	uint32_t n = io->len - io->done;
	uintptr_t p = (uintptr_t)(io->buf + io->done);

	return f->dfd >= 0 && at % f->align == 0 && n % f->align == 0 &&
	       p % f->align == 0;
}

static int file_submit(struct sl_dma_target *t, struct sl_dma_io *io)
{
	struct file_t *f = t->priv;
	struct io_uring_sqe *sqe = io_uring_get_sqe(&f->ring);
	uint32_t n = io->len - io->done;
	int fd = direct_ok(f, io) ? f->dfd : f->bfd;
	int r;

	if (f->broken)
		return -EIO;
	if (!sqe)
		return -EBUSY; /* cannot happen: the ring holds 2 x depth */
	if (f->fixed)
		io_uring_prep_write_fixed(sqe, fd, io->buf + io->done, n,
					  io->off + io->done, (int)io->slot);
	else
		io_uring_prep_write(sqe, fd, io->buf + io->done, n,
				    io->off + io->done);
	/* bit 0 of the user data (a transfer is 8-byte aligned): this
	 * write went the O_DIRECT way */
	io_uring_sqe_set_data64(sqe, (uintptr_t)io | (fd == f->dfd));
	do
		r = io_uring_submit(&f->ring);
	while (r == -EINTR);
	if (r < 0) {
		/* the sqe may still be in the ring: never submit again, so
		 * that it cannot start after the stager let its buffer go */
		f->broken = true;
		snprintf(t->detail, sizeof(t->detail), "io_uring_submit: %s",
			 strerror(-r));
		return r;
	}
	f->outstanding++;
	return 0;
}

static int file_reap(struct sl_dma_target *t, bool wait)
{
	struct file_t *f = t->priv;
	struct io_uring_cqe *cqe;
	uint64_t ud;
	int n = 0, r;

	while (f->outstanding) {
		struct sl_dma_io *io;

		if (wait && !n)
			r = io_uring_wait_cqe(&f->ring, &cqe);
		else
			r = io_uring_peek_cqe(&f->ring, &cqe);
		if (r == -EINTR)
			continue;
		if (r == -EAGAIN)
			break;
		if (r < 0)
			return r;
		ud = io_uring_cqe_get_data64(cqe);
		io = (struct sl_dma_io *)(uintptr_t)(ud & ~(uint64_t)1);
		r = cqe->res;
		io_uring_cqe_seen(&f->ring, cqe);
		f->outstanding--;
		if (r == -EINVAL && (ud & 1)) {
			/* the file system took the open with O_DIRECT but
			 * not the write: buffered from now on, this one and
			 * the direct ones still in flight too */
			if (f->dfd >= 0)
				go_buffered(t, f, EINVAL);
			if (!file_submit(t, io))
				continue;
		}
		io->res = r;
		io->finished = true;
		n++;
	}
	return n;
}

static int file_flush(struct sl_dma_target *t)
{
	struct file_t *f = t->priv;

	if (fdatasync(f->bfd)) {
		snprintf(t->detail, sizeof(t->detail), "fdatasync");
		return -errno;
	}
	return 0;
}

static int file_read(struct sl_dma_target *t, uint64_t off, void *buf,
		     size_t len)
{
	struct file_t *f = t->priv;
	uint8_t *p = buf;

	while (len) {
		ssize_t r = pread(f->bfd, p, len, (off_t)off);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return sl_fail(errno,
				       "dma: %s: read at %" PRIu64 ": %s",
				       t->name, off, strerror(errno));
		if (r == 0)
			return sl_fail(ENODATA,
				       "dma: %s: read at %" PRIu64
				       ": past the end",
				       t->name, off);
		p += r;
		off += (uint64_t)r;
		len -= (size_t)r;
	}
	return 0;
}

static void file_close(struct sl_dma_target *t)
{
	struct file_t *f = t->priv;

	file_detach(t);
	if (f->dfd >= 0)
		close(f->dfd);
	close(f->bfd);
	free(f);
}

static const struct sl_dma_target_ops file_ops = {
	.attach = file_attach,
	.detach = file_detach,
	.submit = file_submit,
	.reap = file_reap,
	.flush = file_flush,
	.read = file_read,
	.close = file_close,
};

int sl_dma_file_open(struct sl_dma_target *t, const char *path,
		     const struct sl_dma_target_opts *o)
{
	int fl = O_RDWR | O_CLOEXEC;
	struct file_t *f;
	struct stat st;
	int e, lbs;

	if (!*path)
		return sl_fail(EINVAL, "dma: file: no path: give file:PATH");
	f = calloc(1, sizeof(*f));
	if (!f)
		return sl_fail(ENOMEM, "dma: %s: out of memory", t->name);
	f->dfd = -1;
	f->align = 4096;
	if (stat(path, &st) == 0 && S_ISBLK(st.st_mode)) {
		/* a block device: never truncated, never created */
	} else if (stat(path, &st) == 0 && !S_ISREG(st.st_mode)) {
		free(f);
		return sl_fail(EINVAL,
			       "dma: %s: not a regular file nor a block device",
			       t->name);
	} else {
		fl |= O_CREAT;
		if (!o->no_truncate)
			fl |= O_TRUNC;
	}
	f->bfd = open(path, fl, 0644);
	if (f->bfd < 0) {
		e = errno;
		free(f);
		return sl_fail(e, "dma: %s: %s", t->name, strerror(e));
	}
	if (fstat(f->bfd, &st) == 0 && S_ISBLK(st.st_mode) &&
	    ioctl(f->bfd, BLKSSZGET, &lbs) == 0 && lbs > 0)
		f->align = (uint32_t)lbs > f->align ? (uint32_t)lbs : f->align;
	t->priv = f;
	t->ops = &file_ops;
	if (o->buffered) {
		snprintf(t->note, sizeof(t->note),
			 "buffered writes (asked for)");
		return 0;
	}
	f->dfd = open(path, (fl & ~(O_CREAT | O_TRUNC)) | O_DIRECT);
	if (f->dfd < 0)
		go_buffered(t, f, errno);
	return 0;
}
