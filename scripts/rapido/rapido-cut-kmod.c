// SPDX-License-Identifier: GPL-2.0
/*
 * rapido-cut-kmod.c - the closure of kernel modules, through libkmod
 * only: a context on <moddir>/lib/modules/<kver> with an empty config,
 * each module's softdeps and dependencies before it (post-softdeps
 * after), builtins skipped; the module indexes go into the image, and
 * /rapido/modules lists the modules in load order for rapido-init.
 */
#include <ctype.h>
#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libkmod.h>

#include "rapido-cut.h"

static const char *const mod_index[] = {
	"modules.dep", "modules.dep.bin", "modules.alias",
	"modules.alias.bin", "modules.softdep", "modules.symbols",
	"modules.symbols.bin", "modules.builtin", "modules.builtin.bin",
	"modules.builtin.alias.bin", "modules.builtin.modinfo",
	"modules.order", "modules.devname",
};

/* Add host file @src at /lib/modules/<kver>/<rel>; *@ipath: image path. */
static int mod_add_file(struct kmods *k, struct image *img, const char *src, const char *rel,
			char **ipath)
{
	struct stat st;
	char *dest;
	int err;

	if (stat(src, &st))
		return cut_error_errno(errno, "cannot stat '%s'", src);
	dest = xasprintf("/lib/modules/%s/%s", k->kver, rel);
	err = img_add_file(img, dest, src, &st, st.st_mode & 07777, NULL);
	if (ipath && !err)
		*ipath = dest;
	else
		free(dest);
	return err;
}

/*
 * libkmod is loaded at the first kmod line: with the libcrypto, libzstd
 * and liblzma it pulls in, it doubles the start-up of a run that never
 * needs it (an X= re-cut: ~0.8 of ~3 ms). The calls keep their types.
 */
#define KMOD_SONAME "libkmod.so.2"

static struct kmod_api {
	__typeof__(&kmod_new) kmod_new;
	__typeof__(&kmod_unref) kmod_unref;
	__typeof__(&kmod_load_resources) kmod_load_resources;
	__typeof__(&kmod_list_next) kmod_list_next;
	__typeof__(&kmod_module_new_from_lookup) kmod_module_new_from_lookup;
	__typeof__(&kmod_module_get_module) kmod_module_get_module;
	__typeof__(&kmod_module_unref) kmod_module_unref;
	__typeof__(&kmod_module_unref_list) kmod_module_unref_list;
	__typeof__(&kmod_module_get_name) kmod_module_get_name;
	__typeof__(&kmod_module_get_path) kmod_module_get_path;
	__typeof__(&kmod_module_get_softdeps) kmod_module_get_softdeps;
	__typeof__(&kmod_module_get_dependencies) kmod_module_get_dependencies;
} kapi;

#define KMOD_SYM(f) { .name = #f, .off = offsetof(struct kmod_api, f) }

static const struct kmod_sym {
	const char *name;
	size_t off;
} kmod_sym_table[] = {
	KMOD_SYM(kmod_new),
	KMOD_SYM(kmod_unref),
	KMOD_SYM(kmod_load_resources),
	KMOD_SYM(kmod_list_next),
	KMOD_SYM(kmod_module_new_from_lookup),
	KMOD_SYM(kmod_module_get_module),
	KMOD_SYM(kmod_module_unref),
	KMOD_SYM(kmod_module_unref_list),
	KMOD_SYM(kmod_module_get_name),
	KMOD_SYM(kmod_module_get_path),
	KMOD_SYM(kmod_module_get_softdeps),
	KMOD_SYM(kmod_module_get_dependencies),
};

static int kmod_load_lib(void)
{
	void *lib = dlopen(KMOD_SONAME, RTLD_NOW | RTLD_LOCAL);

	if (!lib)
		return cut_error("cannot load '%s': %s (apt-get install libkmod2)",
				 KMOD_SONAME, dlerror());
	for (size_t i = 0; i < ARRAY_SIZE(kmod_sym_table); i++) {
		const struct kmod_sym *k = &kmod_sym_table[i];
		void *f = dlsym(lib, k->name);

		if (!f)
			return cut_error("cannot find %s in '%s': %s",
					 k->name, KMOD_SONAME, dlerror());
		memcpy((char *)&kapi + k->off, &f, sizeof(f));
	}
	return 0;
}

static int kmod_setup(struct kmods *k, struct image *img, const char *name)
{
	static const char *const null_config[] = { NULL };
	struct stat st;
	int err;

	if (k->state)
		return k->state > 0 ? 0 : -ECANCELED;	/* reported */
	k->state = -1;
	if (!k->moddir || !k->kver)
		return cut_error("kmod '%s': needs --moddir and --kver", name);
	err = kmod_load_lib();
	if (err)
		return err;
	if (k->moddir[0] == '/') {
		k->kdir = xasprintf("%s/lib/modules/%s", k->moddir, k->kver);
	} else {
		/* absolute, as libkmod makes the paths it returns */
		char *cwd = getcwd(NULL, 0);

		if (!cwd)
			return cut_error_errno(errno, "kmod '%s': cannot get the current directory",
					       name);
		k->kdir = xasprintf("%s/%s/lib/modules/%s", cwd, k->moddir,
				    k->kver);
		free(cwd);
	}
	if (stat(k->kdir, &st))
		return cut_error("kmod '%s': cannot stat '%s': %s (run make modules_install INSTALL_MOD_PATH=%s)",
				 name, k->kdir, strerror(errno), k->moddir);
	k->ctx = kapi.kmod_new(k->kdir, null_config);
	if (!k->ctx)
		return cut_error("cannot create a libkmod context for '%s'",
				 k->kdir);
	err = kapi.kmod_load_resources(k->ctx);
	if (err < 0)
		return cut_error("cannot load the module indexes of '%s': %s (run depmod -b %s %s)",
				 k->kdir, strerror(-err), k->moddir, k->kver);
	for (size_t i = 0; i < ARRAY_SIZE(mod_index); i++) {
		char *src = path_join(k->kdir, mod_index[i]);

		if (!access(src, F_OK))
			err = mod_add_file(k, img, src, mod_index[i],
					   NULL) ?: err;
		free(src);
	}
	if (err < 0)
		return err;
	k->state = 1;
	return 0;
}

static int mod_visit(struct kmods *k, struct image *img,
		     struct kmod_module *mod);

static int mod_visit_list(struct kmods *k, struct image *img,
			  struct kmod_list *list)
{
	struct kmod_list *l;
	int err = 0;

	for (l = list; l; l = kapi.kmod_list_next(list, l)) {
		struct kmod_module *m = kapi.kmod_module_get_module(l);

		err = mod_visit(k, img, m) ?: err;
		kapi.kmod_module_unref(m);
	}
	return err;
}

/*
 * Post-order DFS: pre-softdeps, deps, the module, post-softdeps; each
 * module once. Appends the module's image path to /rapido/modules.
 */
static int mod_visit(struct kmods *k, struct image *img,
		     struct kmod_module *mod)
{
	const char *name = kapi.kmod_module_get_name(mod);
	const char *path = kapi.kmod_module_get_path(mod);
	struct kmod_list *pre = NULL, *post = NULL, *deps;
	size_t klen = strlen(k->kdir);
	char *ipath;
	int err;

	if (!set_add(&k->seen, name))
		return 0;
	if (!path) {
		cut_note("kmod '%s': builtin, skipped", name);
		return 0;
	}
	if (strncmp(path, k->kdir, klen) || path[klen] != '/')
		return cut_error("kmod '%s': '%s' is outside '%s'", name, path,
				 k->kdir);
	err = kapi.kmod_module_get_softdeps(mod, &pre, &post);
	if (err < 0)
		return cut_error_errno(err, "kmod '%s': cannot get its softdeps",
				       name);
	err = mod_visit_list(k, img, pre);
	deps = kapi.kmod_module_get_dependencies(mod);
	err = mod_visit_list(k, img, deps) ?: err;
	kapi.kmod_module_unref_list(deps);
	if (!mod_add_file(k, img, path, path + klen + 1, &ipath)) {
		sbuf_str(&k->list, ipath);
		sbuf_str(&k->list, "\n");
		free(ipath);
	} else {
		err = -ECANCELED;
	}
	err = mod_visit_list(k, img, post) ?: err;
	kapi.kmod_module_unref_list(pre);
	kapi.kmod_module_unref_list(post);
	return err;
}

int kmod_add(struct kmods *k, struct image *img, const char *name)
{
	struct kmod_list *list = NULL;
	int err;

	k->used = true;
	err = kmod_setup(k, img, name);
	if (err)
		return err;
	err = kapi.kmod_module_new_from_lookup(k->ctx, name, &list);
	if (err < 0)
		return cut_error_errno(err, "kmod '%s': cannot look it up",
				       name);
	if (!list) {
		char *cfg = xstrdup(name);

		for (char *p = cfg; *p; p++)
			*p = *p == '-' ? '_' : toupper((unsigned char)*p);
		err = cut_error("kmod '%s': not in '%s' (is CONFIG_%s=m? run make rapido-config)",
				name, k->kdir, cfg);
		free(cfg);
		return err;
	}
	err = mod_visit_list(k, img, list);
	kapi.kmod_module_unref_list(list);
	return err;
}

int kmod_finish(struct kmods *k, struct image *img)
{
	struct entry w = { .kind = K_DATA, .mode = 0644,
			   .data = k->list.s ?: "", .len = k->list.len };

	if (!k->used)
		return 0;
	return img_add(img, MODLIST_PATH, &w, NULL);
}

void kmods_free(struct kmods *k)
{
	set_free(&k->seen);
	free(k->list.s);
	free(k->kdir);
	if (k->ctx)
		kapi.kmod_unref(k->ctx);
	k->ctx = NULL;
	k->kdir = NULL;
}
