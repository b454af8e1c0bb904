// SPDX-License-Identifier: GPL-2.0
/*
 * rapido-cut-dracut.c - CUT=dracut: the system's dracut writes the
 * archive. A pass over the finished image, after the manifests were
 * parsed and closed just as for a native cut: each root (a manifest
 * line, as written) becomes dracut's input (bin -> --install, file and
 * tree -> --include, kmod -> --add-drivers with --kmoddir, dir and slink
 * -> a staging tree --include'd at /), and so does each data entry of
 * the image (/rapido/modules). What dracut cannot express (a file mode
 * other than its source's, a nod line other than the nodes dracut makes
 * itself) is an error named by its manifest line.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "rapido-cut.h"

enum dr_kind { DR_DIR, DR_SLINK, DR_DATA };

struct dr_stage {		/* made in the staging tree */
	enum dr_kind kind;
	char *dest;
	mode_t mode;
	char *data;		/* DR_SLINK: target; DR_DATA: contents */
	size_t len;
};

/* what dracut is asked for */
struct dracut {
	const struct kmods *km;	/* --kver, --kmoddir */
	struct sbuf install;	/* --install: host paths */
	struct sbuf drivers;	/* --add-drivers: module names */
	char **inc;		/* --include: SRC DEST pairs */
	size_t ninc, inc_cap;
	struct dr_stage *stage;
	size_t nstage, stage_cap;
};

/* ---- the roots, as dracut's inputs ------------------------------------- */

/* A word of a space-separated dracut list: it cannot hold white space. */
static int dr_word(struct sbuf *b, const char *opt, const char *w)
{
	if (strpbrk(w, " \t\n"))
		return cut_error("'%s': dracut's %s list cannot hold white space (rename it, or CUT=native)",
				 w, opt);
	if (b->len)
		sbuf_str(b, " ");
	sbuf_str(b, w);
	return 0;
}

static void dr_include(struct dracut *d, const char *src, const char *dest)
{
	d->inc = xgrow(d->inc, &d->inc_cap, d->ninc + 1, sizeof(*d->inc));
	d->inc[d->ninc++] = xstrdup(src);
	d->inc[d->ninc++] = xstrdup(dest);
}

static void dr_stage(struct dracut *d, enum dr_kind kind, const char *dest,
		     mode_t mode, const char *data, size_t len)
{
	struct dr_stage *st;

	d->stage = xgrow(d->stage, &d->stage_cap, d->nstage,
			 sizeof(*d->stage));
	st = &d->stage[d->nstage++];
	st->kind = kind;
	st->dest = xstrdup(dest);
	st->mode = mode;
	st->data = NULL;
	st->len = len;
	if (data) {
		st->data = xmalloc(len + 1);
		memcpy(st->data, data, len);
		st->data[len] = '\0';
	}
}

static int plan_bin(struct dracut *d, const struct root *r)
{
	return dr_word(&d->install, "--install", r->src);
}

/* dracut installs a file with its source's mode: it cannot change it. */
static int plan_file(struct dracut *d, const struct root *r)
{
	if (r->src_mode != r->mode)
		return cut_error("file '%s': dracut cannot give it mode %04o ('%s' is %04o): chmod the source, or CUT=native",
				 r->dest, (unsigned int)r->mode, r->src,
				 (unsigned int)r->src_mode);
	dr_include(d, r->src, r->dest);
	return 0;
}

static int plan_dir(struct dracut *d, const struct root *r)
{
	dr_stage(d, DR_DIR, r->dest, r->mode, NULL, 0);
	return 0;
}

static int plan_slink(struct dracut *d, const struct root *r)
{
	dr_stage(d, DR_SLINK, r->dest, 0777, r->src, strlen(r->src));
	return 0;
}

/* The nodes dracut makes itself (as root, outside a container). */
static const struct dr_nod {
	const char *path;
	unsigned int major, minor;
} dr_nods[] = {
	{ .path = "/dev/console", .major = 5, .minor = 1 },
	{ .path = "/dev/null", .major = 1, .minor = 3 },
	{ .path = "/dev/kmsg", .major = 1, .minor = 11 },
	{ .path = "/dev/random", .major = 1, .minor = 8 },
	{ .path = "/dev/urandom", .major = 1, .minor = 9 },
};

static int plan_nod(struct dracut *d, const struct root *r)
{
	for (size_t i = 0; i < ARRAY_SIZE(dr_nods); i++)
		if (!strcmp(r->dest, dr_nods[i].path) && r->nodtype == 'c' &&
		    r->major == dr_nods[i].major &&
		    r->minor == dr_nods[i].minor)
			return 0;
	return cut_error("nod '%s': dracut cannot make device nodes other than its own (/dev/console, null, kmsg, random, urandom): use CUT=native",
			 r->dest);
}

static int plan_tree(struct dracut *d, const struct root *r)
{
	dr_include(d, r->src, r->dest);
	return 0;
}

static int plan_kmod(struct dracut *d, const struct root *r)
{
	return dr_word(&d->drivers, "--add-drivers", r->src);
}

static int (*const plan_ops[])(struct dracut *d, const struct root *r) = {
	[R_BIN] = plan_bin,
	[R_FILE] = plan_file,
	[R_DIR] = plan_dir,
	[R_SLINK] = plan_slink,
	[R_NOD] = plan_nod,
	[R_TREE] = plan_tree,
	[R_KMOD] = plan_kmod,
};

/*
 * The roots in manifest order, each at its line (for the messages), then
 * the image's data entries (made by the cutter, not by a line).
 */
static int dr_plan(struct dracut *d, const struct image *img)
{
	int err = 0;

	for (size_t i = 0; i < img->nroots; i++) {
		const struct root *r = &img->roots[i];

		cut_at(&r->at);
		err = plan_ops[r->kind](d, r) ?: err;
	}
	cut_at(NULL);
	for (size_t i = 0; i < img->tab.nb; i++)
		for (struct hnode *h = img->tab.b[i]; h; h = h->next) {
			const struct entry *e;

			e = container_of(h, struct entry, node);
			if (e->kind == K_DATA)
				dr_stage(d, DR_DATA, e->path, e->mode,
					 e->data, e->len);
		}
	return err;
}

/* ---- running dracut ---------------------------------------------------- */

struct args {
	char **v;
	size_t n, cap;
};

static void args_add(struct args *a, const char *s)
{
	a->v = xgrow(a->v, &a->cap, a->n + 1, sizeof(*a->v));
	a->v[a->n++] = xstrdup(s);
	a->v[a->n] = NULL;
}

static void args_free(struct args *a)
{
	for (size_t i = 0; i < a->n; i++)
		free(a->v[i]);
	free(a->v);
	memset(a, 0, sizeof(*a));
}

/* dracut's argv: no dracut modules (rapido-init is /init), no host config. */
static void dr_argv(const struct dracut *d, struct args *a, const char *work,
		    const char *out)
{
	static const char *const fixed[] = {
		"dracut", "--force", "--no-compress", "--no-hostonly",
		"--no-hostonly-cmdline", "--no-early-microcode", "--nostrip",
		"--reproducible", "--modules", " ",
	};
	const struct kmods *km = d->km;
	char *p;

	for (size_t i = 0; i < ARRAY_SIZE(fixed); i++)
		args_add(a, fixed[i]);
	args_add(a, "--conf");
	p = xasprintf("%s/dracut.conf", work);
	args_add(a, p);
	free(p);
	args_add(a, "--confdir");
	p = xasprintf("%s/conf.d", work);
	args_add(a, p);
	free(p);
	args_add(a, "--tmpdir");
	args_add(a, work);
	if (km->used) {
		args_add(a, "--kver");
		args_add(a, km->kver);
		args_add(a, "--kmoddir");
		args_add(a, km->kdir);
		args_add(a, "--add-drivers");
		args_add(a, d->drivers.s ?: "");
	} else {
		args_add(a, "--no-kernel");
	}
	if (d->install.len) {
		args_add(a, "--install");
		args_add(a, d->install.s);
	}
	if (d->nstage) {
		args_add(a, "--include");
		p = xasprintf("%s/stage", work);
		args_add(a, p);
		free(p);
		args_add(a, "/");
	}
	for (size_t i = 0; i + 1 < d->ninc; i += 2) {
		args_add(a, "--include");
		args_add(a, d->inc[i]);
		args_add(a, d->inc[i + 1]);
	}
	args_add(a, out);
}

/* mkdir -p of the directories above @path (0755). */
static int mkdir_parents(char *path)
{
	for (char *s = strchr(path + 1, '/'); s; s = strchr(s + 1, '/')) {
		*s = '\0';
		if (mkdir(path, 0755) && errno != EEXIST) {
			*s = '/';
			return -errno;
		}
		*s = '/';
	}
	return 0;
}

static int stage_dir(const char *p, const struct dr_stage *st)
{
	if (mkdir(p, st->mode) && errno != EEXIST)
		return -errno;
	return chmod(p, st->mode) ? -errno : 0;
}

static int stage_slink(const char *p, const struct dr_stage *st)
{
	return symlink(st->data, p) ? -errno : 0;
}

static int stage_data(const char *p, const struct dr_stage *st)
{
	int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	int err = 0;

	if (fd < 0)
		return -errno;
	if (write(fd, st->data, st->len) != (ssize_t)st->len)
		err = errno ? -errno : -EIO;
	if (!err && fchmod(fd, st->mode))
		err = -errno;
	if (close(fd) && !err)
		err = -errno;
	return err;
}

static int (*const stage_ops[])(const char *p, const struct dr_stage *st) = {
	[DR_DIR] = stage_dir,
	[DR_SLINK] = stage_slink,
	[DR_DATA] = stage_data,
};

/* The staging tree @work/stage: dirs with their modes, symlinks, data. */
static int dr_make_stage(const struct dracut *d, const char *work)
{
	int err = 0;

	for (size_t i = 0; i < d->nstage; i++) {
		const struct dr_stage *st = &d->stage[i];
		char *p = xasprintf("%s/stage%s%s", work,
				    st->dest[0] == '/' ? "" : "/", st->dest);
		int e = mkdir_parents(p);

		e = e ?: stage_ops[st->kind](p, st);
		if (e)
			err = cut_error_errno(e, "cannot make '%s'", p);
		free(p);
	}
	return err;
}

static int rm_one(const char *path, const struct stat *st, int type,
		  struct FTW *ftw)
{
	return remove(path) ? -errno : 0;
}

/* Copy @log to stderr (dracut's own words on its failure). */
static void show_log(const char *log)
{
	char buf[4096];
	ssize_t n;
	int fd = open(log, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return;
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		if (fwrite(buf, 1, n, stderr) != (size_t)n)
			break;
	close(fd);
}

/* Run @argv, its output into @log; 0, or an error (reported). */
static int dr_exec(char **argv, const char *log)
{
	int fd, st;
	pid_t pid;

	fd = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return cut_error_errno(errno, "cannot create '%s'", log);
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		close(fd);
		return cut_error_errno(errno, "cannot run '%s'", argv[0]);
	}
	if (!pid) {
		int nul = open("/dev/null", O_RDONLY | O_CLOEXEC);

		if (nul < 0 || dup2(nul, 0) < 0 || dup2(fd, 1) < 0 ||
		    dup2(fd, 2) < 0)
			_exit(127);
		execvp(argv[0], argv);
		dprintf(STDERR_FILENO, "%s: cannot run '%s': %s\n", prog,
			argv[0], strerror(errno));
		_exit(127);
	}
	close(fd);
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return cut_error_errno(errno, "cannot wait for '%s'",
					       argv[0]);
	if (WIFEXITED(st) && !WEXITSTATUS(st))
		return 0;
	show_log(log);
	if (WIFSIGNALED(st))
		return cut_error("'%s': killed by signal %d (its output above)",
				 argv[0], WTERMSIG(st));
	return cut_error("'%s': failed with exit code %d (its output above)",
			 argv[0], WEXITSTATUS(st));
}

/*
 * Have dracut write @output: a scratch dir under the --tmpdir (default:
 * beside @output) holds an empty config, the staging tree and dracut's own
 * tmpdir; dracut writes OUTPUT.tmp, renamed on success. @list: print the
 * argv (scratch dir "WORK"), run nothing.
 */
static int dr_write(const struct dracut *d, const struct dracut_opts *o)
{
	static const struct dr_stage empty = { .kind = DR_DATA, .mode = 0644 };
	char *dir, *work, *tmp, *conf = NULL, *confd = NULL, *log = NULL;
	const char *output = o->output;
	struct args a = { 0 };
	int err = 0;

	if (o->list) {
		dr_argv(d, &a, "WORK", output ?: "OUTPUT");
		for (size_t i = 0; i < a.n; i++)
			printf("%s\n", a.v[i]);
		args_free(&a);
		return 0;
	}
	dir = o->tmpdir ? xstrdup(o->tmpdir) : dir_of(output);
	work = xasprintf("%s/rapido-dracut.XXXXXX", dir);
	tmp = xasprintf("%s.tmp", output);
	if (!mkdtemp(work)) {
		err = cut_error_errno(errno, "cannot create '%s'", work);
		goto out;
	}
	conf = xasprintf("%s/dracut.conf", work);
	confd = xasprintf("%s/conf.d", work);
	log = xasprintf("%s/dracut.log", work);
	err = stage_data(conf, &empty);
	if (!err && mkdir(confd, 0755))
		err = -errno;
	if (err)
		err = cut_error_errno(err, "cannot set up '%s'", work);
	err = err ?: dr_make_stage(d, work);
	dr_argv(d, &a, work, tmp);
	if (cut_verbose) {
		fprintf(stderr, "%s:", prog);
		for (size_t i = 0; i < a.n; i++)
			fprintf(stderr, " '%s'", a.v[i]);
		fputc('\n', stderr);
	}
	err = err ?: dr_exec(a.v, log);
	if (!err && rename(tmp, output))
		err = cut_error_errno(errno, "cannot rename '%s' to '%s'", tmp,
				      output);
	if (err)
		unlink(tmp);
	nftw(work, rm_one, 16, FTW_DEPTH | FTW_PHYS);
out:
	args_free(&a);
	free(conf);
	free(confd);
	free(log);
	free(tmp);
	free(work);
	free(dir);
	return err;
}

static void dracut_free(struct dracut *d)
{
	free(d->install.s);
	free(d->drivers.s);
	for (size_t i = 0; i < d->ninc; i++)
		free(d->inc[i]);
	free(d->inc);
	for (size_t i = 0; i < d->nstage; i++) {
		free(d->stage[i].dest);
		free(d->stage[i].data);
	}
	free(d->stage);
}

bool dracut_found(void)
{
	char *dracut = find_exec(getenv("PATH") ?: default_path, "dracut");

	if (!dracut) {
		error("cannot find 'dracut' in PATH: install it (apt-get install dracut-core), or use CUT=native");
		return false;
	}
	free(dracut);
	return true;
}

int dracut_cut(const struct image *img, const struct kmods *km,
	       const struct dracut_opts *o)
{
	struct dracut d = { .km = km };
	int err = dr_plan(&d, img);

	if (!err && !nerrors)
		err = dr_write(&d, o);
	dracut_free(&d);
	return err;
}
