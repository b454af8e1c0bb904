// SPDX-License-Identifier: GPL-2.0
/*
 * rapido-cut-newc.c - the newc (cpio) writer: entries in archive order,
 * data of large files 4096-aligned so copy_file_range(2) can share
 * extents where the filesystem reflinks (elsewhere data goes through a
 * 256 KiB buffer), a sparse file's holes kept, hardlinks stored once,
 * --max-size checked before anything is read. An output that already
 * holds the same bytes is found by comparing while generating and is
 * left alone (mtime too), so make stays quiet.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statfs.h>
#include <unistd.h>

#include "rapido-cut.h"

#define ALIGN_MIN	16384	/* files this big get 4096-aligned data */
#define BLOCK		4096
#define HDR_LEN		110	/* newc header */
#define NAME_MAX_LEN	PATH_MAX /* the kernel's limit on namesize */

/*
 * The archive goes to @fd, or, to find out whether an existing output
 * already has these bytes, is compared with @cmp_fd: then -ESTALE means
 * "differs" and nothing is written.
 */
/*
 * Headers and file data go through one buffer, so a whole image is a few
 * 256 KiB writes; only where copy_file_range(2) can share extents or copy
 * server-side (@share_dev, see out_setup) does file data bypass it.
 */
struct out {
	const struct image *img;
	const struct newc_opts *opt;
	bool cfr_broken;	/* copy_file_range unsupported here */
	int fd;
	int cmp_fd;
	off_t off;		/* file offset after what is buffered */
	bool share;		/* copy_file_range from files on share_dev */
	dev_t share_dev;
	size_t blen;
	char buf[1 << 18];
	char cbuf[1 << 18];	/* compare mode: the existing bytes */
};

/* Compare @n bytes at @p with the existing output at offset @off. */
static int out_cmp(struct out *o, const char *p, size_t n, off_t off)
{
	while (n) {
		ssize_t k = pread(o->cmp_fd, o->cbuf,
				  n < sizeof(o->cbuf) ? n : sizeof(o->cbuf),
				  off);

		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return -errno;
		if (!k || memcmp(p, o->cbuf, k))
			return -ESTALE;
		p += k;
		n -= k;
		off += k;
	}
	return 0;
}

static int out_flush(struct out *o)
{
	if (o->cmp_fd >= 0) {
		int err = out_cmp(o, o->buf, o->blen, o->off - o->blen);

		o->blen = 0;
		return err;
	}
	for (size_t done = 0; done < o->blen;) {
		ssize_t n = write(o->fd, o->buf + done, o->blen - done);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		done += n;
	}
	o->blen = 0;
	return 0;
}

static int out_write(struct out *o, const void *p, size_t n)
{
	while (n) {
		size_t k = sizeof(o->buf) - o->blen;

		if (!k) {
			int err = out_flush(o);

			if (err)
				return err;
			continue;
		}
		k = k < n ? k : n;
		memcpy(o->buf + o->blen, p, k);
		o->blen += k;
		o->off += k;
		p = (const char *)p + k;
		n -= k;
	}
	return 0;
}

static int out_zero(struct out *o, size_t n)
{
	static const char zero[BLOCK];
	int err = 0;

	while (n && !err) {
		size_t k = n < sizeof(zero) ? n : sizeof(zero);

		err = out_write(o, zero, k);
		n -= k;
	}
	return err;
}

static int out_align(struct out *o, size_t a)
{
	return out_zero(o, (a - o->off % a) % a);
}

/*
 * copy_file_range(2) can't do this (across filesystems before 5.19; a fs
 * without support): a capability, so read/write instead. Any other errno,
 * a missing syscall included (hosts older than 4.5), is an error.
 */
static bool cfr_unsupported(int e)
{
	return e == EXDEV || e == EINVAL || e == EOPNOTSUPP;
}

/*
 * Filesystems on which copy_file_range(2) within the filesystem shares
 * extents (reflink) or copies on the server. Elsewhere it is a splice
 * loop, slower than read/write through the output buffer: 2.8 vs 1.9 ms
 * for simple's 55 files on ext4.
 */
static const unsigned long share_fs_table[] = {
	0x9123683e,	/* btrfs */
	0x58465342,	/* xfs */
	0xca451a4e,	/* bcachefs */
	0x7461636f,	/* ocfs2 */
	0x6969,		/* nfs */
	0xfe534d42,	/* smb2 */
	0xff534d42,	/* cifs */
};

/* Where does file data of this output go through copy_file_range? */
static void out_setup(struct out *o)
{
	struct statfs sf;
	struct stat st;

	o->share = false;
	if (fstatfs(o->fd, &sf) || fstat(o->fd, &st))
		return;		/* then through the buffer: slower, not wrong */
	for (size_t i = 0; i < ARRAY_SIZE(share_fs_table); i++)
		if ((unsigned long)sf.f_type == share_fs_table[i])
			o->share = true;
	o->share_dev = st.st_dev;
}

/* Read @len bytes of @fd into the output buffer, flushing as it fills. */
static int out_read(struct out *o, int fd, off_t len)
{
	int err = 0;

	while (!err && len > 0) {
		size_t room = sizeof(o->buf) - o->blen;
		ssize_t n;

		if (!room) {
			err = out_flush(o);
			continue;
		}
		n = read(fd, o->buf + o->blen, len < (off_t)room ?
			 (size_t)len : room);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n ? -errno : -ENODATA;
		o->blen += n;
		o->off += n;
		len -= n;
	}
	return err;
}

/*
 * Copy @len bytes of @fd (on device @dev) to the output: copy_file_range
 * where it shares extents (see out_setup), else through the buffer.
 */
static int out_copy(struct out *o, int fd, dev_t dev, off_t len)
{
	int err;

	if (!o->share || dev != o->share_dev || o->cmp_fd >= 0)
		return out_read(o, fd, len);
	err = out_flush(o);
	while (!err && len > 0 && !o->cfr_broken) {
		ssize_t n = copy_file_range(fd, NULL, o->fd, NULL, len, 0);

		if (n > 0) {
			len -= n;
			o->off += n;
		} else if (!n) {
			return -ENODATA;	/* the file shrank */
		} else if (cfr_unsupported(errno)) {
			o->cfr_broken = true;
		} else if (errno != EINTR) {
			return -errno;
		}
	}
	return err ?: out_read(o, fd, len);
}

/*
 * @n zero bytes of a sparse file: a hole in the output too (the output's
 * position moves on, nothing is written), compared as zeros.
 */
static int out_hole(struct out *o, off_t n)
{
	int err;

	if (o->cmp_fd >= 0)
		return out_zero(o, n);
	err = out_flush(o);
	if (!err && lseek(o->fd, n, SEEK_CUR) < 0)
		err = -errno;
	if (!err)
		o->off += n;
	return err;
}

/*
 * Copy the first @len bytes of sparse file @fd: its data ranges
 * (SEEK_DATA/SEEK_HOLE) as out_copy() does, its holes as holes.
 */
static int out_sparse(struct out *o, int fd, dev_t dev, off_t len)
{
	off_t pos = 0, data, hole;
	int err = 0;

	while (!err && pos < len) {
		data = lseek(fd, pos, SEEK_DATA);
		if (data < 0 && errno != ENXIO)
			return -errno;
		if (data < 0 || data > len)
			data = len;	/* a hole to the end */
		if (data > pos)
			err = out_hole(o, data - pos);
		pos = data;
		if (err || pos == len)
			break;
		hole = lseek(fd, pos, SEEK_HOLE);
		if (hole < 0 || lseek(fd, pos, SEEK_SET) < 0)
			return -errno;
		if (hole > len)
			hole = len;
		err = out_copy(o, fd, dev, hole - pos);
		pos = hole;
	}
	return err;
}

/* namesize making data start at a multiple of @BLOCK; 0 if impossible. */
static size_t aligned_namesize(off_t off, size_t len)
{
	size_t ns = (BLOCK - (off + HDR_LEN) % BLOCK) % BLOCK;

	if (ns < len + 1)
		ns += BLOCK;
	return ns <= NAME_MAX_LEN ? ns : 0;
}

static int out_header(struct out *o, unsigned int ino, mode_t mode,
		      unsigned int nlink, time_t mtime, size_t size,
		      unsigned int rmaj, unsigned int rmin, const char *name,
		      size_t namesize)
{
	char h[HDR_LEN + 1];
	size_t len = strlen(name);
	int err;

	if (namesize <= len || namesize > NAME_MAX_LEN)
		return -ENAMETOOLONG;
	snprintf(h, sizeof(h),
		 "070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X",
		 ino, (unsigned int)mode, 0, 0, nlink, (unsigned int)mtime,
		 (unsigned int)size, 0, 0, rmaj, rmin,
		 (unsigned int)namesize, 0);
	err = out_write(o, h, HDR_LEN);
	err = err ?: out_write(o, name, len);
	err = err ?: out_zero(o, namesize - len);
	return err ?: out_align(o, 4);
}

static time_t entry_mtime(const struct out *o, const struct entry *e)
{
	if (o->opt->have_epoch)
		return o->opt->epoch;
	return e && e->kind == K_FILE ? e->mtime : 0;	/* NULL: a filler */
}

static struct entry *parent_of(const struct image *img,
				const struct entry *e)
{
	char *p = dir_of(e->path);
	struct entry *d = img_get(img, p);

	free(p);
	return d;
}

/*
 * The name of @e (@len bytes) can't be padded far enough to align its
 * data: namesize is capped at PATH_MAX by the kernel. So a copy of its
 * parent dir's entry goes first, its name padded to shift @e's header to
 * where it can be aligned. The kernel and GNU cpio take a repeated dir
 * entry as a no-op; the root's stands as ".".
 */
static int out_filler(struct out *o, const struct entry *e, size_t len)
{
	const struct entry *d = parent_of(o->img, e);
	const char *name = d ? d->path + 1 : ".";
	size_t ns = strlen(name) + 1;

	while (!aligned_namesize((o->off + HDR_LEN + ns + 3) & ~(off_t)3,
				 len))
		if (++ns > NAME_MAX_LEN)
			return cut_error("'%s': name too long to align",
					 e->path);
	return out_header(o, d ? d->cino : 0, S_IFDIR | (d ? d->mode : 0755),
			  2, entry_mtime(o, NULL), 0, 0, 0, name, ns);
}

/* A regular file; data of a big one starts 4096-aligned. */
static int out_file(struct out *o, const struct entry *e)
{
	size_t size = e->carrier ? (size_t)e->size : 0;
	const char *name = e->path + 1;
	size_t len = strlen(name), ns = len + 1;
	int fd = -1, err = 0;

	if (size) {
		fd = open(e->src, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			return cut_error_errno(errno, "cannot open '%s'",
					       e->src);
	}
	if (size >= ALIGN_MIN) {
		if (!aligned_namesize(o->off, len))
			err = out_filler(o, e, len);
		ns = aligned_namesize(o->off, len);
	}
	err = err ?: out_header(o, e->cino, S_IFREG | e->mode, e->nlink,
				entry_mtime(o, e), size, 0, 0, name, ns);
	if (!err && size && e->alloc < e->size)
		err = out_sparse(o, fd, e->dev, size);
	else if (!err && size)
		err = out_copy(o, fd, e->dev, size);
	if (err == -ENODATA)
		err = cut_error("'%s': changed size while being copied",
				e->src);
	err = err ?: out_align(o, 4);
	if (fd >= 0)
		close(fd);
	return err;
}

static int out_entry(struct out *o, const struct entry *e)
{
	const char *name = e->path + 1;
	const char *body = NULL;
	size_t len = 0;
	int err;

	if (e->kind == K_FILE)
		return out_file(o, e);
	if (e->kind == K_SLINK) {
		body = e->target;
		len = strlen(body);
	} else if (e->kind == K_DATA) {
		body = e->data;
		len = e->len;
	}
	err = out_header(o, e->cino, entry_type(e) | e->mode, e->nlink,
			 entry_mtime(o, e), len, e->major, e->minor, name,
			 strlen(name) + 1);
	err = err ?: out_write(o, body, len);
	return err ?: out_align(o, 4);
}

static int write_archive(struct out *o, struct entry **v, size_t n)
{
	int err = 0;

	for (size_t i = 0; i < n && !err; i++)
		err = out_entry(o, v[i]);
	err = err ?: out_header(o, 0, 0, 1, 0, 0, 0, 0, "TRAILER!!!", 11);
	return err ?: out_align(o, 512);
}

static int copy_base(struct out *o, const char *base)
{
	struct stat st;
	int fd, err;

	fd = open(base, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st)) {
		err = cut_error_errno(errno, "cannot open '%s'", base);
		if (fd >= 0)
			close(fd);
		return err;
	}
	err = out_copy(o, fd, st.st_dev, st.st_size);
	close(fd);
	if (err == -ENODATA)
		return cut_error("'%s': changed size while being copied", base);
	return err ?: out_align(o, BLOCK);
}

/* The base (if any), then the archive; 0, -ESTALE (compare) or -errno. */
static int emit(struct out *o, const char *base, struct entry **v, size_t n)
{
	int err = base ? copy_base(o, base) : 0;

	err = err ?: write_archive(o, v, n);
	return err ?: out_flush(o);
}

/*
 * Does @path already hold exactly these bytes? Compared while generating,
 * so an unchanged output costs reads only. 0: same, -ESTALE: differs or
 * missing, else an error (reported).
 */
static int same_output(struct out *o, const char *path, const char *base,
		       struct entry **v, size_t n)
{
	struct stat st;
	int err;

	o->fd = -1;
	o->cmp_fd = open(path, O_RDONLY | O_CLOEXEC);
	if (o->cmp_fd < 0)
		return -ESTALE;
	err = emit(o, base, v, n);
	if (!err && (fstat(o->cmp_fd, &st) || st.st_size != o->off))
		err = -ESTALE;
	if (err && err != -ESTALE && err != -ECANCELED)
		err = cut_error_errno(err, "cannot compare with '%s'", path);
	close(o->cmp_fd);
	return err;
}

/*
 * An upper bound of the output's size: the base, and per entry a header,
 * its name padded for alignment (a filler entry included) and its data.
 */
static off_t size_bound(const char *base, struct entry **v, size_t n)
{
	struct stat st;
	off_t sum = 512 + HDR_LEN + 16;

	if (base && !stat(base, &st))
		sum += st.st_size + BLOCK;
	for (size_t i = 0; i < n; i++) {
		const struct entry *e = v[i];

		sum += 2 * HDR_LEN + BLOCK + 2 * strlen(e->path) + 16;
		if (e->kind == K_FILE && e->carrier)
			sum += e->size;
		else if (e->kind == K_SLINK)
			sum += strlen(e->target);
		else if (e->kind == K_DATA)
			sum += e->len;
	}
	return sum;
}

/* @n bytes as "3.0 GiB" (or "512 bytes"), in one of 4 static buffers. */
static const char *human(off_t n)
{
	static const char *const unit[] = { "KiB", "MiB", "GiB", "TiB" };
	static char ring[4][32];
	static unsigned int next;
	char *s = ring[next++ % ARRAY_SIZE(ring)];
	double v = n;
	int u = -1;

	while (v >= 1024 && u < (int)ARRAY_SIZE(unit) - 1) {
		v /= 1024;
		u++;
	}
	if (u < 0)
		snprintf(s, sizeof(ring[0]), "%lld bytes", (long long)n);
	else
		snprintf(s, sizeof(ring[0]), "%.1f %s", v, unit[u]);
	return s;
}

/*
 * The data the image will carry (file contents, the base) against
 * --max-size, before anything is read or written: QEMU loads the whole
 * image into the guest's memory, a sparse file's holes included.
 * Returns 0 or a reported error; *@sparse: some file has holes.
 */
static int check_size(const struct newc_opts *opt, struct entry **v,
		      size_t n, bool *sparse)
{
	const struct entry *big = NULL;
	struct stat st;
	off_t sum = 0;

	*sparse = false;
	if (opt->base && !stat(opt->base, &st))
		sum += st.st_size;
	for (size_t i = 0; i < n; i++) {
		const struct entry *e = v[i];

		if (e->kind != K_FILE || !e->carrier)
			continue;
		sum += e->size;
		*sparse |= e->alloc < e->size;
		if (!big || e->size > big->size)
			big = e;
	}
	if (!opt->max_size || sum <= opt->max_size)
		return 0;
	if (!big)
		return cut_error("the image would carry %s of data (%lld bytes), above the limit of %s (--max-size)",
			     human(sum), (long long)sum, human(opt->max_size));
	return cut_error("the image would carry %s of data (%lld bytes; largest '%s' from '%s', %s, %s allocated), above the limit of %s (--max-size)",
			 human(sum), (long long)sum, big->path, big->src,
			 human(big->size), human(big->alloc),
			 human(opt->max_size));
}

/*
 * Write OUT.tmp, check it, rename it to OUT; but leave OUT (and its
 * mtime) alone if it already has these bytes.
 */
int newc_write(const struct image *img, struct entry **v, size_t n,
	       const char *path, const struct newc_opts *opt)
{
	struct out *o = xcalloc(1, sizeof(*o));
	char *tmp = xasprintf("%s.tmp", path);
	const char *base = opt->base;
	bool prealloc, sparse;
	struct stat st;
	int err;

	o->img = img;
	o->opt = opt;
	err = check_size(opt, v, n, &sparse);
	if (err)
		goto out_free;
	err = same_output(o, path, base, v, n);
	if (!err)
		cut_note("'%s': unchanged", path);
	if (err != -ESTALE)
		goto out_free;
	memset(o, 0, sizeof(*o));
	o->img = img;
	o->opt = opt;
	o->cmp_fd = -1;
	o->fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (o->fd < 0) {
		err = cut_error_errno(errno, "cannot create '%s'", tmp);
		goto out_free;
	}
	/*
	 * Allocating the blocks up front makes ext4's buffered writes ~30%
	 * cheaper (no delayed-allocation reservation per page). Only a hint:
	 * where the fs can't, the writes allocate as usual. The unused tail
	 * is cut off below. Not with a sparse file: its holes stay holes.
	 */
	prealloc = !sparse && !fallocate(o->fd, 0, 0, size_bound(base, v, n));
	out_setup(o);
	err = emit(o, base, v, n);
	if (!err && prealloc && ftruncate(o->fd, o->off))
		err = -errno;
	if (err && err != -ECANCELED)
		err = cut_error_errno(err, "cannot write '%s'", tmp);
	if (!err && (fstat(o->fd, &st) || st.st_size != o->off))
		err = cut_error("'%s': size %lld, expected %lld", tmp,
				(long long)st.st_size, (long long)o->off);
	if (close(o->fd) && !err)
		err = cut_error_errno(errno, "cannot write '%s'", tmp);
	if (!err && rename(tmp, path))
		err = cut_error_errno(errno, "cannot rename '%s' to '%s'", tmp,
				      path);
	if (err)
		unlink(tmp);
out_free:
	free(tmp);
	free(o);
	return err;
}

