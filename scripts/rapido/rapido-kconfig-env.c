// SPDX-License-Identifier: GPL-2.0
/*
 * rapido-kconfig-env.c - rapido-kconfig -e: the Kconfig tree parsed and
 * CONFIG read by the kernel's own kconfig code, in the environment kbuild
 * would have given it, from a scratch directory.
 */
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/utsname.h>

#include "rapido-kconfig.h"

/*
 * The environment kbuild exports to kconfig (top Makefile; $(...) in the
 * Kconfig files of 5.10 to 6.12). A variable already set is kept; for an
 * unset one we take what kbuild would have computed, so that conf_read()
 * gets the symbol values kbuild got:
 *   ARCH            from the "# Linux/<arch> ..." header of CONFIG (kbuild's
 *                   mainmenu), else from uname -m as kbuild's SUBARCH
 *   SRCARCH         ARCH, with i386/x86_64 -> x86, sparc32/64 -> sparc, ...
 *   KERNELVERSION   VERSION.PATCHLEVEL.SUBLEVEL EXTRAVERSION of the Makefile
 *   CC LD AR NM OBJCOPY  $(CROSS_COMPILE)gcc, ld, ...; with LLVM= (or a
 *                   CONFIG made by clang and ld.lld) clang, ld.lld, llvm-*
 *   HOSTCC HOSTCXX  gcc, g++ (clang, clang++ with LLVM=)
 *   RUSTC BINDGEN PAHOLE PYTHON3  rustc, bindgen, pahole, python3
 *   CC_VERSION_TEXT     CONFIG_CC_VERSION_TEXT of CONFIG, else the first
 *                       line of "$CC --version"
 *   RUSTC_VERSION_TEXT  CONFIG_RUSTC_VERSION_TEXT, else "$RUSTC --version"
 *   srctree         the absolute source tree: kconfig runs in an empty
 *                   scratch directory, as in an O= build, so that the
 *                   .tmp_$$ directories of $(cc-option) never touch a tree.
 * CLANG_FLAGS (scripts/Makefile.clang) is not computed: export it for clang.
 */
struct env_ctx {
	const char *srctree;
	bool llvm;		/* LLVM=, or CONFIG made by clang + ld.lld */
	bool clang;		/* CONFIG made by clang */
	char *header_arch;	/* from "# Linux/<arch> <version> Kernel ..." */
};

struct env_default {
	const char *name;
	const char *gnu;	/* plain default */
	const char *llvm;	/* with LLVM= */
	bool cross;		/* $(CROSS_COMPILE) prefixed */
	bool cc;		/* clang too when CONFIG says so */
	const char *cmd;	/* CONFIG_<name>, else its output's first line */
	int (*get)(const struct env_ctx *ctx, char **val);
};

static const struct {
	const char *pattern, *arch;
} subarch_table[] = {
	{ .pattern = "i?86",		.arch = "x86" },
	{ .pattern = "x86_64",		.arch = "x86" },
	{ .pattern = "sun4u",		.arch = "sparc64" },
	{ .pattern = "arm*",		.arch = "arm" },
	{ .pattern = "sa110",		.arch = "arm" },
	{ .pattern = "s390x",		.arch = "s390" },
	{ .pattern = "ppc*",		.arch = "powerpc" },
	{ .pattern = "mips*",		.arch = "mips" },
	{ .pattern = "sh[234]*",	.arch = "sh" },
	{ .pattern = "aarch64*",	.arch = "arm64" },
	{ .pattern = "riscv*",		.arch = "riscv" },
	{ .pattern = "loongarch*",	.arch = "loongarch" },
};

static const struct {
	const char *arch, *srcarch;
} srcarch_table[] = {
	{ .arch = "i386",	.srcarch = "x86" },
	{ .arch = "x86_64",	.srcarch = "x86" },
	{ .arch = "sparc32",	.srcarch = "sparc" },
	{ .arch = "sparc64",	.srcarch = "sparc" },
	{ .arch = "parisc64",	.srcarch = "parisc" },
	{ .arch = "sh64",	.srcarch = "sh" },
};

static int default_arch(const struct env_ctx *ctx, char **val)
{
	struct utsname u;
	size_t i;

	if (ctx->header_arch) {
		*val = xstrdup(ctx->header_arch);
		return 0;
	}
	if (uname(&u))
		return -errno;
	for (i = 0; i < ARRAY_SIZE(subarch_table); i++)
		if (!fnmatch(subarch_table[i].pattern, u.machine, 0)) {
			*val = xstrdup(subarch_table[i].arch);
			return 0;
		}
	*val = xstrdup(u.machine);
	return 0;
}

static int default_srcarch(const struct env_ctx *ctx, char **val)
{
	const char *arch = getenv("ARCH");
	size_t i;

	(void)ctx;
	for (i = 0; i < ARRAY_SIZE(srcarch_table); i++)
		if (!strcmp(arch, srcarch_table[i].arch))
			arch = srcarch_table[i].srcarch;
	*val = xstrdup(arch);
	return 0;
}

static int default_kernelversion(const struct env_ctx *ctx, char **val)
{
	static const char * const keys[] = {
		"VERSION", "PATCHLEVEL", "SUBLEVEL", "EXTRAVERSION",
	};
	const char *v[4] = { "", "", "", "" };
	char path[PATH_MAX], *buf, *line;
	size_t i;
	int err;

	snprintf(path, sizeof(path), "%s/Makefile", ctx->srctree);
	err = read_file(path, 0, &buf, NULL);
	if (err)
		return err;
	for (line = strtok(buf, "\n"); line; line = strtok(NULL, "\n"))
		for (i = 0; i < 4; i++) {
			size_t n = strlen(keys[i]);
			char *p = line + n;

			if (strncmp(line, keys[i], n) || !strchr(" \t=", *p))
				continue;
			p += strspn(p, " \t");
			if (*p++ != '=')
				continue;
			v[i] = p + strspn(p, " \t");
		}
	*val = xasprintf("%s%s%s%s%s%s", v[0], *v[1] ? "." : "", v[1],
			 *v[1] && *v[2] ? "." : "", *v[1] ? v[2] : "", v[3]);
	free(buf);
	return err;
}

/* A kconfig string value of CONFIG, unquoted; NULL if absent. */
static char *config_string(const char *name)
{
	struct entry *e = lookup(conf_idx, nconf, name);
	const char *s;
	char *out, *o;

	if (!e || e->val[0] != '"')
		return NULL;
	out = xstrdup(e->val + 1);
	for (s = e->val + 1, o = out; *s && *s != '"'; s++) {
		if (*s == '\\' && s[1])
			s++;
		*o++ = *s;
	}
	*o = '\0';
	return out;
}

/* First line of @cmd's output, '#' removed (as kbuild's $(subst $(pound))) */
static int shell_line(const char *cmd, char **val)
{
	char buf[1024] = "", *o, *s;
	FILE *p = popen(cmd, "r");

	if (!p)
		return -errno;
	if (!fgets(buf, sizeof(buf), p))
		buf[0] = '\0';
	while (fgetc(p) != EOF)
		;
	pclose(p);
	buf[strcspn(buf, "\n")] = '\0';
	for (s = o = buf; *s; s++)
		if (*s != '#')
			*o++ = *s;
	*o = '\0';
	*val = xstrdup(buf);
	return 0;
}

/* A *_VERSION_TEXT: CONFIG's string, else the first line of @d->cmd. */
static int version_text(const struct env_default *d, char **val)
{
	*val = config_string(d->name);
	if (*val)
		return 0;
	return shell_line(d->cmd, val);
}

static const struct env_default env_defaults[] = {
	{ .name = "ARCH",		.get = default_arch },
	{ .name = "SRCARCH",		.get = default_srcarch },
	{ .name = "KERNELVERSION",	.get = default_kernelversion },
	{ .name = "CC",	.gnu = "gcc", .llvm = "clang", .cross = true,
	  .cc = true },
	{ .name = "LD",	.gnu = "ld", .llvm = "ld.lld", .cross = true },
	{ .name = "AR",	.gnu = "ar", .llvm = "llvm-ar", .cross = true },
	{ .name = "NM",	.gnu = "nm", .llvm = "llvm-nm", .cross = true },
	{ .name = "OBJCOPY", .gnu = "objcopy", .llvm = "llvm-objcopy",
	  .cross = true },
	{ .name = "HOSTCC",	.gnu = "gcc", .llvm = "clang" },
	{ .name = "HOSTCXX",	.gnu = "g++", .llvm = "clang++" },
	{ .name = "RUSTC",	.gnu = "rustc" },
	{ .name = "BINDGEN",	.gnu = "bindgen" },
	{ .name = "PAHOLE",	.gnu = "pahole" },
	{ .name = "PYTHON3",	.gnu = "python3" },
	{ .name = "CC_VERSION_TEXT",
	  .cmd = "LC_ALL=C $CC --version 2>/dev/null | head -n 1" },
	{ .name = "RUSTC_VERSION_TEXT",
	  .cmd = "$RUSTC --version 2>/dev/null" },
};

static bool config_is_y(const char *name)
{
	struct entry *e = lookup(conf_idx, nconf, name);

	return e && !strcmp(e->val, "y");
}

static int set_env_defaults(struct env_ctx *ctx)
{
	const char *llvm = getenv("LLVM"), *cross = getenv("CROSS_COMPILE");
	char *pre = xstrdup(""), *suf = "";
	int err = 0;
	size_t i;

	ctx->clang = config_is_y("CC_IS_CLANG");
	ctx->llvm = (llvm && *llvm) || (ctx->clang && config_is_y("LD_IS_LLD"));
	if (llvm && llvm[0] && llvm[strlen(llvm) - 1] == '/') {
		free(pre);
		pre = xstrdup(llvm);
	} else if (llvm && llvm[0] == '-') {
		suf = (char *)llvm;
	}
	for (i = 0; i < ARRAY_SIZE(env_defaults); i++) {
		const struct env_default *d = &env_defaults[i];
		char *val = NULL;

		if (getenv(d->name))
			continue;
		if (d->get)
			err = d->get(ctx, &val);
		else if (d->cmd)
			err = version_text(d, &val);
		else if (d->llvm && (ctx->llvm || (d->cc && ctx->clang)))
			val = xasprintf("%s%s%s", pre, d->llvm, suf);
		else
			val = xasprintf("%s%s", d->cross && cross ? cross : "",
					d->gnu);
		if (!err && setenv(d->name, val, 1))
			err = -errno;
		free(val);
		if (err) {
			error_errno(err, "cannot compute a default for '%s' (set it in the environment)",
				    d->name);
			break;
		}
	}
	free(pre);
	return err;
}

static char scratch[PATH_MAX];
static const char *kconfig_top;
static bool in_kconfig;

static void remove_scratch(void)
{
	if (!scratch[0])
		return;
	if (chdir("/") || rmdir(scratch))
		error_errno(errno, "cannot remove '%s'", scratch);
	scratch[0] = '\0';
}

/* conf_parse() and conf_read() exit(1) on errors: make that our 2. */
static void kconfig_exit(void)
{
	if (!in_kconfig)
		return;
	fflush(stdout);
	error("kconfig cannot parse '%s' (see its messages above)",
	      kconfig_top);
	remove_scratch();
	_exit(EXIT_CANNOT);
}

/*
 * Out of memory is EXIT_RAPIDO here too, in kconfig's code as in ours.
 * kconfig's own allocators exit 1: 6.1's scripts/kconfig/util.o defines
 * xmalloc() & co. (and wins over util.c's weak ones), 6.12's are static
 * inline (scripts/include/xalloc.h), compiled into each of its objects.
 * Neither can be replaced without touching the tree, but both call the C
 * library: the Makefile links this program with --wrap= for malloc,
 * calloc, realloc, strdup and strndup, so every call of theirs and ours
 * comes here, and a NULL never gets back to kconfig. What the C library
 * allocates for itself (fopen(), popen()) still fails with ENOMEM.
 */
static void __noreturn oom(void)
{
	in_kconfig = false;	/* not kconfig_exit()'s 2 */
	remove_scratch();
	fatal_oom();
}

void *__wrap_malloc(size_t n)
{
	void *p = __real_malloc(n);

	if (!p && n)
		oom();
	return p;
}

void *__wrap_calloc(size_t n, size_t size)
{
	void *p = __real_calloc(n, size);

	if (!p && n && size)
		oom();
	return p;
}

/* realloc(p, 0) may free p and return NULL: not a failure */
void *__wrap_realloc(void *p, size_t n)
{
	p = __real_realloc(p, n);
	if (!p && n)
		oom();
	return p;
}

char *__wrap_strdup(const char *s)
{
	char *d = __real_strdup(s);

	if (!d)
		oom();
	return d;
}

char *__wrap_strndup(const char *s, size_t n)
{
	char *d = __real_strndup(s, n);

	if (!d)
		oom();
	return d;
}

static char *find_header_arch(const char *path)
{
	char buf[512], *p, *end;
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return NULL;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return NULL;
	buf[n] = '\0';
	p = strstr(buf, "\n# Linux/");
	if (!p)
		return NULL;
	p += strlen("\n# Linux/");
	end = p + strcspn(p, "\n ");
	if (*end != ' ' || end == p)
		return NULL;
	return xstrndup(p, end - p);
}

/* Parse SRCTREE's Kconfig and read @config, as "make olddefconfig" does. */
int kconfig_load(const char *srctree_arg, const char *config)
{
	const char *top = getenv("KBUILD_KCONFIG");
	char srctree[PATH_MAX], cfg[PATH_MAX], path[PATH_MAX * 2];
	const char *tmp = getenv("TMPDIR");
	struct env_ctx ctx = {
		.srctree = srctree,
		.header_arch = find_header_arch(config),
	};
	int out, err = 0;

	if (!srctree_arg)
		srctree_arg = getenv("srctree");
	if (!srctree_arg || !*srctree_arg)
		srctree_arg = ".";
	if (!top || !*top)
		top = "Kconfig";
	if (!realpath(srctree_arg, srctree)) {
		error_errno(errno, "cannot find the source tree '%s'",
			    srctree_arg);
		return -ENOENT;
	}
	snprintf(path, sizeof(path), "%s/%s", srctree, top);
	kconfig_top = xstrdup(path);
	if (access(path, R_OK)) {
		error("cannot read '%s': %s (give the source tree with -s)",
		      path, strerror(errno));
		return -ENOENT;
	}
	if (!realpath(config, cfg)) {
		error_errno(errno, "cannot find '%s'", config);
		return -ENOENT;
	}
	if (set_env_defaults(&ctx) || setenv("srctree", srctree, 1))
		return -EINVAL;

	snprintf(scratch, sizeof(scratch), "%s/rapido-kconfig.XXXXXX",
		 tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(scratch)) {
		error_errno(errno, "cannot create '%s'", scratch);
		scratch[0] = '\0';
		return -errno;
	}
	if (chdir(scratch)) {
		error_errno(errno, "cannot enter '%s'", scratch);
		remove_scratch();
		return -EACCES;
	}

	/* kconfig's own messages ($(info), conf_message) go to stderr. */
	fflush(stdout);
	out = dup(STDOUT_FILENO);
	if (out < 0 || dup2(STDERR_FILENO, STDOUT_FILENO) < 0) {
		error_errno(errno, "cannot redirect stdout");
		remove_scratch();
		return -EBADF;
	}
	conf_set_message_callback(NULL);
	in_kconfig = true;
	atexit(kconfig_exit);
	conf_parse(top);
	if (conf_read(cfg)) {
		error("kconfig cannot read '%s'", cfg);
		err = -EINVAL;
	}
	in_kconfig = false;
	fflush(stdout);
	if (dup2(out, STDOUT_FILENO) < 0) {
		error_errno(errno, "cannot restore stdout");
		err = -EBADF;
	}
	close(out);
	remove_scratch();
	return err;
}
