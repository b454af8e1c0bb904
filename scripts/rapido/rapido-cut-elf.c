// SPDX-License-Identifier: GPL-2.0
/*
 * rapido-cut-elf.c - the closure of host files: what a binary, a library
 * or a #! script needs to run in the image. ELF objects are read as ld.so
 * reads them (PT_INTERP, DT_NEEDED, RPATH/RUNPATH with $ORIGIN, then
 * ld.so.conf and the default dirs), a library accepted only if its class,
 * data encoding and machine match; lookups are memoised, hits and misses.
 */
#include <ctype.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "rapido-cut.h"

struct hobj {			/* memoised ELF identity of a host path */
	struct hnode node;
	char *path;
	int err;		/* 0, or -errno, or -ENOEXEC: not ELF */
	unsigned char cls, data;
	uint16_t mach;
};

/* what the closure remembers across lines */
static struct {
	struct htab objs;	/* path -> struct hobj */
	struct htab hosts;	/* host paths add_host() has closed */
	char **ldpath;		/* ld.so.conf dirs, then the defaults */
	size_t nldpath, ldpath_cap;
	bool ldpath_done;
} hc;

struct elfinfo {
	unsigned char cls, data;
	uint16_t mach;
	char *interp;
	char **needed;
	size_t nneeded;
	char *rpath, *runpath;
	char *origin;		/* directory of the object */
};

static void elfinfo_free(struct elfinfo *ei)
{
	for (size_t i = 0; i < ei->nneeded; i++)
		free(ei->needed[i]);
	free(ei->needed);
	free(ei->interp);
	free(ei->rpath);
	free(ei->runpath);
	free(ei->origin);
	memset(ei, 0, sizeof(*ei));
}

/* Class, data encoding and machine of @path, memoised (hits and misses). */
static const struct hobj *elf_ident(const char *path)
{
	struct hnode *n = htab_get(&hc.objs, path);
	unsigned char h[20];
	struct hobj *o;
	int fd;

	if (n)
		return container_of(n, struct hobj, node);
	o = xcalloc(1, sizeof(*o));
	o->path = xstrdup(path);
	htab_put(&hc.objs, &o->node, o->path);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		o->err = -errno;
		return o;
	}
	if (pread(fd, h, sizeof(h), 0) != sizeof(h) ||
	    memcmp(h, ELFMAG, SELFMAG)) {
		o->err = -ENOEXEC;
	} else {
		o->cls = h[EI_CLASS];
		o->data = h[EI_DATA];
		o->mach = o->data == ELFDATA2MSB ? h[18] << 8 | h[19] :
						   h[19] << 8 | h[18];
	}
	close(fd);
	return o;
}

static void hobj_free(struct hnode *n)
{
	struct hobj *o = container_of(n, struct hobj, node);

	free(o->path);
	free(o);
}

/*
 * The dynamic-linking view of an ELF object, read as ld.so reads it: the
 * program headers (PT_INTERP, PT_DYNAMIC, and PT_LOAD to place the string
 * table), the dynamic array and its strings; a few pread()s of what is
 * needed, never a mapping of the whole file. Either class, either byte
 * order.
 */
#define ELF_MAX_PHDRS	256
#define ELF_MAX_DYN	(1 << 20)	/* bytes read at once: headers, dynamic array */

struct elfraw {
	int fd;
	bool is64, msb;
	unsigned char *ph;	/* the program headers */
	size_t phnum, phent;
};

static uint64_t elf_get(const struct elfraw *r, const unsigned char *p,
			size_t n)
{
	uint64_t v = 0;

	for (size_t i = 0; i < n; i++)
		v |= (uint64_t)p[r->msb ? n - 1 - i : i] << (8 * i);
	return v;
}

/* Field of a header, by its offsets in the 32- and 64-bit layouts. */
static uint64_t elf_field(const struct elfraw *r, const unsigned char *p,
			  size_t off32, size_t off64, size_t len32,
			  size_t len64)
{
	return r->is64 ? elf_get(r, p + off64, len64) :
			 elf_get(r, p + off32, len32);
}

/* Read @len bytes at @off into a new buffer (NUL-terminated); NULL: EIO. */
static unsigned char *elf_pread(const struct elfraw *r, uint64_t off,
				uint64_t len)
{
	unsigned char *b;

	if (len > ELF_MAX_DYN)
		return NULL;
	b = xcalloc(1, len + 1);
	if (pread(r->fd, b, len, off) != (ssize_t)len) {
		free(b);
		return NULL;
	}
	return b;
}

/* File offset of virtual address @va, through the PT_LOAD segments. */
static bool elf_va_off(const struct elfraw *r, uint64_t va, uint64_t *off)
{
	for (size_t i = 0; i < r->phnum; i++) {
		const unsigned char *ph = r->ph + i * r->phent;
		uint64_t vaddr = elf_field(r, ph, 8, 16, 4, 8);
		uint64_t filesz = elf_field(r, ph, 16, 32, 4, 8);

		if (elf_get(r, ph, 4) == PT_LOAD && va >= vaddr &&
		    va - vaddr < filesz) {
			*off = elf_field(r, ph, 4, 8, 4, 8) + (va - vaddr);
			return true;
		}
	}
	return false;
}

/* DT_NEEDED, DT_RPATH and DT_RUNPATH of the dynamic array @dyn. */
static const char *elf_dynamic(const struct elfraw *r, unsigned char *dyn,
			       uint64_t len, struct elfinfo *ei)
{
	size_t ent = r->is64 ? 16 : 8, half = ent / 2;
	uint64_t strtab = 0, strsz = 0, off;
	bool have_strtab = false;
	unsigned char *str;

	for (uint64_t i = 0; i + ent <= len; i += ent) {
		uint64_t tag = elf_get(r, dyn + i, half);
		uint64_t val = elf_get(r, dyn + i + half, half);

		if (tag == DT_NULL)
			break;
		if (tag == DT_STRTAB) {
			strtab = val;
			have_strtab = true;
		} else if (tag == DT_STRSZ) {
			strsz = val;
		}
	}
	if (!have_strtab)
		return NULL;	/* names nothing */
	if (!elf_va_off(r, strtab, &off) || !strsz)
		return "DT_STRTAB outside the file";
	for (uint64_t i = 0; i + ent <= len; i += ent) {
		uint64_t tag = elf_get(r, dyn + i, half);
		uint64_t val = elf_get(r, dyn + i + half, half), n;
		char *v;

		if (tag == DT_NULL)
			break;
		if (tag != DT_NEEDED && tag != DT_RPATH && tag != DT_RUNPATH)
			continue;
		/* each string on its own: a C++ library's table is MBs */
		if (val >= strsz)
			return "dynamic string out of the table";
		n = strsz - val < PATH_MAX ? strsz - val : PATH_MAX;
		str = elf_pread(r, off + val, n);
		if (!str || !memchr(str, '\0', n)) {
			free(str);
			return "bad dynamic string";
		}
		v = (char *)str;
		if (tag == DT_NEEDED) {
			ei->needed = xrealloc(ei->needed, (ei->nneeded + 1) *
					      sizeof(*ei->needed));
			ei->needed[ei->nneeded++] = v;
		} else if (tag == DT_RPATH) {
			free(ei->rpath);
			ei->rpath = v;
		} else {
			free(ei->runpath);
			ei->runpath = v;
		}
	}
	return NULL;
}

/*
 * Is [@off, @off + @len) past the end of the file (of @size bytes)? A
 * truncated object: not one ld.so can load.
 */
static bool elf_past_end(uint64_t off, uint64_t len, uint64_t size)
{
	return off > size || len > size - off;
}

/*
 * What the closure needs of ELF object @path; 0 or a reported error.
 * Only an executable or a shared object (ET_EXEC, ET_DYN) is loaded by
 * ld.so: anything else that starts with the ELF magic (a relocatable
 * object, a core dump, a file too short or too odd to be an object, or
 * one cut off before its program headers or their segments end) is just
 * a file, copied with no dependencies: @ei stays empty.
 */
static int elf_read(const char *path, struct elfinfo *ei)
{
	struct elfraw r = { .fd = -1 };
	unsigned char eh[64] = { 0 };
	const char *bad = NULL, *plain = NULL;
	uint64_t phoff, etype;
	bool cut_off = false;
	struct stat st;
	ssize_t n;

	memset(ei, 0, sizeof(*ei));
	r.fd = open(path, O_RDONLY | O_CLOEXEC);
	if (r.fd < 0 || fstat(r.fd, &st)) {
		n = errno;
		if (r.fd >= 0)
			close(r.fd);
		return cut_error_errno(n, "cannot open '%s'", path);
	}
	n = pread(r.fd, eh, sizeof(eh), 0);
	if (n < (eh[EI_CLASS] == ELFCLASS64 ? 64 : 52) ||
	    memcmp(eh, ELFMAG, SELFMAG) ||
	    (eh[EI_CLASS] != ELFCLASS32 && eh[EI_CLASS] != ELFCLASS64) ||
	    (eh[EI_DATA] != ELFDATA2LSB && eh[EI_DATA] != ELFDATA2MSB)) {
		plain = "not a 32- or 64-bit ELF object";
		goto out;
	}
	r.is64 = eh[EI_CLASS] == ELFCLASS64;
	r.msb = eh[EI_DATA] == ELFDATA2MSB;
	etype = elf_get(&r, eh + 16, 2);
	if (etype != ET_EXEC && etype != ET_DYN) {
		plain = "not an executable or shared object";
		goto out;
	}
	phoff = elf_field(&r, eh, 28, 32, 4, 8);
	r.phent = elf_field(&r, eh, 42, 54, 2, 2);
	r.phnum = elf_field(&r, eh, 44, 56, 2, 2);
	if (!r.phnum) {
		plain = "no program headers";
		goto out;
	}
	if (r.phnum > ELF_MAX_PHDRS || r.phent < (r.is64 ? 56u : 32u)) {
		bad = "unexpected program header table";
		goto out;
	}
	if (elf_past_end(phoff, (uint64_t)r.phnum * r.phent, st.st_size)) {
		plain = "truncated in its program headers";
		cut_off = true;
		goto out;
	}
	ei->cls = eh[EI_CLASS];
	ei->data = eh[EI_DATA];
	ei->mach = elf_get(&r, eh + 18, 2);
	ei->origin = dir_of(path);
	r.ph = elf_pread(&r, phoff, (uint64_t)r.phnum * r.phent);
	if (!r.ph) {
		bad = "cannot read the program headers";
		goto out;
	}
	for (size_t i = 0; i < r.phnum; i++) {
		const unsigned char *ph = r.ph + i * r.phent;
		uint64_t type = elf_get(&r, ph, 4);

		if ((type == PT_INTERP || type == PT_DYNAMIC) &&
		    elf_past_end(elf_field(&r, ph, 4, 8, 4, 8),
				 elf_field(&r, ph, 16, 32, 4, 8),
				 st.st_size)) {
			plain = "truncated in its segments";
			cut_off = true;
			goto out;
		}
	}
	for (size_t i = 0; i < r.phnum && !bad; i++) {
		const unsigned char *ph = r.ph + i * r.phent;
		uint64_t type = elf_get(&r, ph, 4);
		uint64_t off = elf_field(&r, ph, 4, 8, 4, 8);
		uint64_t filesz = elf_field(&r, ph, 16, 32, 4, 8);
		unsigned char *b;

		if (type != PT_INTERP && type != PT_DYNAMIC)
			continue;
		b = elf_pread(&r, off, filesz);
		if (!b) {
			bad = type == PT_INTERP ? "bad PT_INTERP" :
						  "bad PT_DYNAMIC";
		} else if (type == PT_INTERP) {
			if (!filesz || !*b)
				bad = "empty PT_INTERP";
			free(ei->interp);
			ei->interp = (char *)b;
			continue;
		} else {
			bad = elf_dynamic(&r, b, filesz, ei);
		}
		free(b);
	}
out:
	free(r.ph);
	close(r.fd);
	if (plain) {
		elfinfo_free(ei);
		if (cut_off)
			cut_warn("'%s': ELF %s: copied as a plain file", path,
				 plain);
		else
			cut_note("'%s': %s: copied as a plain file", path,
				 plain);
		return 0;
	}
	if (!bad)
		return 0;
	elfinfo_free(ei);
	return cut_error("'%s': cannot read ELF: %s", path, bad);
}

static void ldconf_add(const char *dir)
{
	hc.ldpath = xgrow(hc.ldpath, &hc.ldpath_cap, hc.nldpath,
			  sizeof(*hc.ldpath));
	hc.ldpath[hc.nldpath++] = xstrdup(dir);
}

/* Parse an ld.so.conf file: directories, `include GLOB` (relative: /etc). */
static void ldconf_parse(const char *path, int depth)
{
	char *line = NULL;
	size_t cap = 0;
	FILE *f;

	if (depth > MAX_INCLUDE)
		return;
	f = fopen(path, "re");
	if (!f)
		return;		/* no ld.so.conf: the defaults only */
	while (getline(&line, &cap, f) > 0) {
		char *s = line, *e;

		s[strcspn(s, "#\n")] = '\0';
		while (isspace((unsigned char)*s))
			s++;
		for (e = s + strlen(s); e > s && isspace((unsigned char)e[-1]);)
			*--e = '\0';
		if (!*s || !strncmp(s, "hwcap", 5))
			continue;
		if (!strncmp(s, "include", 7) && isspace((unsigned char)s[7])) {
			char *pat;
			glob_t g;

			for (s += 8; isspace((unsigned char)*s); s++)
				;
			pat = path_resolve("/etc", s);
			if (!glob(pat, 0, NULL, &g))
				for (size_t i = 0; i < g.gl_pathc; i++)
					ldconf_parse(g.gl_pathv[i],
						     depth + 1);
			globfree(&g);
			free(pat);
			continue;
		}
		ldconf_add(s);
	}
	free(line);
	fclose(f);
}

static void ldpath_load(void)
{
	static const char *const defaults[] = {
		"/lib64", "/usr/lib64", "/lib", "/usr/lib",
	};

	if (hc.ldpath_done)
		return;
	hc.ldpath_done = true;
	ldconf_parse("/etc/ld.so.conf", 0);
	for (size_t i = 0; i < ARRAY_SIZE(defaults); i++)
		ldconf_add(defaults[i]);
}

static bool ident_match(const struct hobj *o, const struct elfinfo *ei)
{
	return !o->err && o->cls == ei->cls && o->data == ei->data &&
	       o->mach == ei->mach;
}

/*
 * Expand $ORIGIN, $LIB, $PLATFORM (also as ${...}) in one path entry of
 * an object of class @cls.
 */
static char *dst_expand(const char *s, size_t n, const char *origin,
			unsigned char cls)
{
	static struct utsname uts;
	const struct {
		const char *token;
		const char *val;
	} dst[] = {
		{ "$ORIGIN", origin }, { "${ORIGIN}", origin },
		{ "$LIB", cls == ELFCLASS64 ? "lib64" : "lib" },
		{ "${LIB}", cls == ELFCLASS64 ? "lib64" : "lib" },
		{ "$PLATFORM", uts.machine }, { "${PLATFORM}", uts.machine },
	};
	struct sbuf b = { 0 };

	if (!uts.machine[0])
		uname(&uts);

	sbuf_add(&b, "", 0);
	for (size_t i = 0; i < n;) {
		size_t k, tl = 0;

		for (k = 0; s[i] == '$' && k < ARRAY_SIZE(dst);
		     k++) {
			tl = strlen(dst[k].token);
			if (tl <= n - i && !strncmp(s + i, dst[k].token, tl) &&
			    (dst[k].token[1] == '{' || i + tl == n ||
			     !isalnum((unsigned char)s[i + tl])))
				break;
		}
		if (s[i] == '$' && k < ARRAY_SIZE(dst)) {
			sbuf_str(&b, dst[k].val);
			i += tl;
		} else {
			sbuf_add(&b, s + i++, 1);
		}
	}
	return b.s;
}

/* Search a ':' separated @list for @name matching @ei. */
static char *search_list(const char *list, const char *name,
			 const struct elfinfo *ei, const char *origin)
{
	for (const char *s = list; s && *s;) {
		size_t n = strcspn(s, ":");
		char *dir, *cand;

		if (n) {
			dir = dst_expand(s, n, origin, ei->cls);
			cand = path_resolve(dir, name);
			free(dir);
			if (ident_match(elf_ident(cand), ei))
				return cand;
			free(cand);
		}
		s += n + (s[n] == ':');
	}
	return NULL;
}

/* Find DT_NEEDED @name of object @ei as ld.so would; NULL if not found. */
static char *find_lib(const char *name,
		      const struct elfinfo *ei, const struct elfinfo *exe)
{
	char *p = NULL;

	if (strchr(name, '/'))
		return xstrdup(name);
	if (!ei->runpath) {
		p = search_list(ei->rpath, name, ei, ei->origin);
		if (!p && exe && exe != ei && !exe->runpath)
			p = search_list(exe->rpath, name, ei, exe->origin);
	}
	if (!p)
		p = search_list(ei->runpath, name, ei, ei->origin);
	ldpath_load();
	for (size_t i = 0; !p && i < hc.nldpath; i++) {
		char *cand = path_resolve(hc.ldpath[i], name);

		if (ident_match(elf_ident(cand), ei))
			p = cand;
		else
			free(cand);
	}
	return p;
}

static int add_host(struct image *img, const char *path,
		    const struct elfinfo *exe, int hops);

/*
 * Add what host file @path needs: for ELF its interpreter and libraries,
 * for a #! script (if @scripts) its interpreter.
 */
static int close_deps(struct image *img, const char *path,
		      const struct elfinfo *exe, bool scripts)
{
	char head[256], *nl;
	struct elfinfo ei;
	ssize_t n;
	int fd, err = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return cut_error_errno(errno, "cannot open '%s'", path);
	n = pread(fd, head, sizeof(head) - 1, 0);
	if (n < 0)
		n = -errno;
	close(fd);
	if (n < 0)
		return cut_error_errno(n, "cannot read '%s'", path);
	head[n] = '\0';
	if (n >= 2 && head[0] == '#' && head[1] == '!') {
		char *s = head + 2;

		if (!scripts)
			return 0;
		nl = memchr(head, '\n', n);
		if (!nl)
			return cut_error("'%s': #! line longer than %zu bytes",
					 path, sizeof(head) - 2);
		*nl = '\0';
		s += strspn(s, " \t");
		s[strcspn(s, " \t")] = '\0';
		if (*s != '/')
			return cut_error("'%s': #! interpreter '%s' is not an absolute path",
					 path, s);
		err = add_host(img, s, NULL, 0);
		return err == -ENOENT ?
		       cut_error_errno(ENOENT, "'%s': interpreter '%s'", path,
				       s) : err;
	}
	if (n < SELFMAG || memcmp(head, ELFMAG, SELFMAG))
		return 0;
	err = elf_read(path, &ei);
	if (err)
		return err;
	if (!exe)
		exe = &ei;
	if (ei.interp) {
		int e = add_host(img, ei.interp, NULL, 0);

		if (e == -ENOENT)
			e = cut_error_errno(ENOENT, "'%s': interpreter '%s'",
					    path, ei.interp);
		err = err ?: e;
	}
	for (size_t i = 0; i < ei.nneeded; i++) {
		char *lib = find_lib(ei.needed[i], &ei, exe);
		int e;

		if (!lib) {
			err = cut_error("'%s': needs '%s': not found in its RPATH/RUNPATH, ld.so.conf or /lib64:/usr/lib64:/lib:/usr/lib",
					path, ei.needed[i]);
			continue;
		}
		e = add_host(img, lib, exe, 0);
		if (e == -ENOENT)
			e = cut_error_errno(ENOENT, "'%s': needs '%s'", path,
					    lib);
		err = err ?: e;
		free(lib);
	}
	elfinfo_free(&ei);
	return err;
}

/*
 * Add host file @path at the same image path, with its deps. A symlink
 * is added as a symlink and its target added too. Returns 0, -ENOENT (not
 * reported: the caller knows why it wanted the file) or a reported error.
 */
static int add_host_walk(struct image *img, const char *path,
			 const struct elfinfo *exe, int hops)
{
	char tgt[PATH_MAX];
	struct entry *e;
	struct stat st;
	ssize_t n;
	char *next, *dir;
	int err;

	if (lstat(path, &st))
		return errno == ENOENT ? -ENOENT :
		       cut_error_errno(errno, "cannot stat '%s'", path);
	if (S_ISDIR(st.st_mode))
		return cut_error("'%s': is a directory (use tree or dir)",
				 path);
	if (!S_ISLNK(st.st_mode)) {
		err = img_add_file(img, path, path, &st, st.st_mode & 07777,
				   &e);
		if (err || e->closed)
			return err;
		e->closed = true;
		return close_deps(img, path, exe, true);
	}
	if (++hops > MAX_HOPS)
		return cut_error_errno(ELOOP, "cannot follow '%s'", path);
	n = readlink(path, tgt, sizeof(tgt) - 1);
	if (n < 0)
		return cut_error_errno(errno, "cannot read link '%s'", path);
	tgt[n] = '\0';
	err = img_add_slink(img, path, tgt);
	if (err)
		return err;
	dir = dir_of(path);
	next = path_resolve(dir, tgt);
	free(dir);
	err = add_host(img, next, exe, hops);
	if (err == -ENOENT)
		err = cut_error("'%s': dangling symlink to '%s'", path, tgt);
	free(next);
	return err;
}

/*
 * Add host file @path and what it needs (symlinks followed, each link
 * kept). A path is walked once: every binary names the same interpreter
 * and libc, and a repeat would only stat and readlink them again.
 */
static int add_host(struct image *img, const char *path,
		    const struct elfinfo *exe, int hops)
{
	int err;

	if (set_has(&hc.hosts, path))
		return 0;
	err = add_host_walk(img, path, exe, hops);
	if (!err)
		set_add(&hc.hosts, path);
	return err;
}

int host_add(struct image *img, const char *path)
{
	return add_host(img, path, NULL, 0);
}

int host_deps(struct image *img, const char *path, bool scripts)
{
	return close_deps(img, path, NULL, scripts);
}

void host_free(void)
{
	htab_free(&hc.objs, hobj_free);
	set_free(&hc.hosts);
	for (size_t i = 0; i < hc.nldpath; i++)
		free(hc.ldpath[i]);
	free(hc.ldpath);
	memset(&hc, 0, sizeof(hc));
}
