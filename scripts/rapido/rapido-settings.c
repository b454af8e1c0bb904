// SPDX-License-Identifier: GPL-2.0
/*
 * rapido-settings: the one reader of rapido's settings.
 *
 * One table (keys[] below) names every setting: its type and range, and
 * where it may be given: .rapido.config (as CONFIG_RAPIDO_<KEY>, written
 * by the kernel's kconfig from Kconfig.rapido), a profile's settings file,
 * the command line or the environment. The defaults are Kconfig.rapido's
 * and nowhere else: the driver materialises .rapido.config with
 * `make olddefconfig` on Kconfig.rapido (whenever it is missing or older
 * than Kconfig.rapido), so every key this program reads from it is there,
 * and a missing one is an error, never a second default.
 *
 *   rapido-settings -s SRCTREE -c .rapido.config [NAME=value ...]
 *	read .rapido.config, the profile's settings (PROFILE= from the
 *	arguments, the environment, else .rapido.config's) and the
 *	variables; print the result as NUL-terminated KEY=value records
 *	(bash: mapfile -d ''), the last one END=. The names of the
 *	variables given on make's command line (MAKEFLAGS, after " -- ")
 *	must be rapido's, the profile's, make's or kbuild's (derived from
 *	the tree: the top Makefile and Documentation/kbuild/); the
 *	arguments' names rapido's or the profile's.
 *   rapido-settings -s SRCTREE --list-profiles     make rapido-list
 *   rapido-settings --help-vars                    make rapido-help's lines
 *   rapido-settings --names                        rapido's variables
 *   rapido-settings --check-kconfig Kconfig.rapido table == Kconfig?
 *   rapido-settings --lab Kconfig.rapido [-c .rapido.config]
 *	the lab's settings (services/lib.sh), records as with -c: the
 *	environment over .rapido.config (which may lack them, or be
 *	missing: the lab also runs on output trees no driver ran in) over
 *	Kconfig.rapido's defaults, read from it.
 *
 * Precedence: the command line (or the environment) over a profile's
 * settings over .rapido.config; a profile's MEM and CPUS are minimums
 * (the larger of the profile's and .rapido.config's is used). An empty
 * value counts as not given.
 *
 * Every problem is reported as "FILE:LINE: KEY: what is wrong, what is
 * allowed", all of them, then exit 128.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rapido-proto.h"
#include "rapido-settings.h"

static const char *const accel_choices[] = { "auto", "kvm", "tcg", NULL };
static const char *const cut_choices[] = { "native", "dracut", NULL };
static const char *const machine_choices[] = { "microvm", "pc", "q35", NULL };
static const char *const arch_choices[] = { "x86_64", "x86", NULL };
static const char *const v_choices[] = { "0", "1", "2", "12", NULL };
static const char *const services_choices[] = { "ceph", "samba", "tcpecho",
						 NULL };
static const char *const format_choices[] = { "text", "json", NULL };
static const char *const onoff_choices[] = { "0", "1", NULL };

#define ALL	(IN_KCONFIG | IN_PROFILE | IN_CMDLINE)
#define KEY(n, sym, t, w)	.name = n, .kconfig = sym, .type = t, .where = w
#define MEMBER(sym)	.kconfig = sym, .type = T_BOOL, .where = IN_KCONFIG

const struct key keys[NKEYS] = {
	{ KEY("PROFILE", "RAPIDO_PROFILE", T_NAME, IN_KCONFIG | IN_CMDLINE),
	  .out = true, .meta = "name",
	  .doc = "the profile (make rapido-list)" },
	{ KEY("X", NULL, T_STRING, IN_CMDLINE), .meta = "'cmd'",
	  .doc = "shell command run in the guest after the autorun" },
	{ KEY("F", NULL, T_STRING, IN_CMDLINE), .meta = "file",
	  .doc = "script run in the guest after the autorun (and X=)" },
	{ KEY("TIMEOUT", "RAPIDO_TIMEOUT", T_INT, ALL), .min = 5, .max = 86400,
	  .out = true, .meta = "seconds",
	  .doc = "the whole QEMU run, boot included" },
	{ KEY("MEM", "RAPIDO_MEM", T_SIZE, ALL), .min = 64, .max = 65536,
	  .minimum = true, .out = true, .meta = "MiB",
	  .doc = "guest memory (or 2G; a profile's is a minimum)" },
	{ KEY("CPUS", "RAPIDO_CPUS", T_INT, ALL), .min = 1, .max = 64,
	  .minimum = true, .out = true, .meta = "n",
	  .doc = "guest CPUs (a profile's is a minimum)" },
	{ KEY("ACCEL", "RAPIDO_ACCEL", T_ENUM, IN_KCONFIG | IN_CMDLINE),
	  .choices = accel_choices, .out = true, .meta = "auto|kvm|tcg",
	  .doc = "how QEMU runs the guest" },
	{ KEY("CUT", "RAPIDO_CUT", T_ENUM, IN_KCONFIG | IN_CMDLINE),
	  .choices = cut_choices, .out = true, .meta = "native|dracut",
	  .doc = "what writes the image" },
	{ KEY("WATCH", "RAPIDO_WATCH", T_BOOL, IN_KCONFIG | IN_CMDLINE),
	  .out = true, .meta = "y|n",
	  .doc = "rapido-watch answers \"did the tree change?\"" },
	{ KEY("V", NULL, T_ENUM, IN_CMDLINE), .choices = v_choices,
	  .meta = "1", .doc = "verbose (kbuild's V= too)" },
	{ KEY("O", NULL, T_STRING, IN_CMDLINE), .meta = "dir",
	  .doc = "kbuild's output directory" },
	{ KEY("ARCH", NULL, T_ENUM, IN_CMDLINE), .choices = arch_choices,
	  .meta = "x86_64", .doc = "rapido boots x86_64 guests only for now" },
	{ KEY("N", NULL, T_INT, IN_CMDLINE), .min = 1, .max = 1000,
	  .meta = "5", .doc = "runs per item of make rapido-bench" },
	{ KEY("BENCH_CHECK", NULL, T_ENUM, IN_CMDLINE),
	  .choices = onoff_choices, .meta = "0",
	  .doc = "rapido-bench: 0 leaves out rapido-check's item" },
	{ KEY("BENCH_SERVED", NULL, T_ENUM, IN_CMDLINE),
	  .choices = onoff_choices, .meta = "0",
	  .doc = "rapido-bench: 0 leaves out the served profiles" },
	{ KEY("BENCH_FSTESTS", NULL, T_STRING, IN_CMDLINE),
	  .meta = "'generic/002'",
	  .doc = "rapido-bench: the tests fstests-cephfs runs" },
	{ KEY("PROFILES", NULL, T_STRING, IN_CMDLINE), .meta = "'p q'",
	  .doc = "rapido-test: these profiles, side by side with -jN" },
	{ KEY("FORMAT", NULL, T_ENUM, IN_CMDLINE), .choices = format_choices,
	  .meta = "text|json", .doc = "rapido-list: json for a CI matrix" },
	{ KEY("ALLOW_WARN", NULL, T_ENUM, IN_CMDLINE | IN_PROFILE),
	  .choices = onoff_choices, .out = true, .meta = "1",
	  .doc = "kernel reports (WARN, oops, ...) named, not failing" },
	/* the maintainer's loop (rapido-check, rapido-results) */
	{ KEY("BASE", NULL, T_STRING, IN_CMDLINE), .meta = "rev",
	  .doc = "rapido-check/-results: the series is BASE..HEAD" },
	{ KEY("TRAILER", NULL, T_ENUM, IN_CMDLINE), .choices = onoff_choices,
	  .meta = "1", .doc = "a pass adds Tested-by: to HEAD (rewrites it)" },
	{ KEY("TRAILER_KEY", NULL, T_STRING, IN_CMDLINE),
	  .meta = "Tested-by", .doc = "the trailer's key" },
	{ KEY("NOTES", NULL, T_ENUM, IN_CMDLINE), .choices = onoff_choices,
	  .meta = "1", .doc = "the result as a git note (refs/notes/rapido)" },
	{ KEY("JUNIT", NULL, T_ENUM, IN_CMDLINE), .choices = onoff_choices,
	  .meta = "1", .doc = "the result as JUnit XML in results/" },
	{ KEY("MACHINE", "RAPIDO_MACHINE", T_ENUM, IN_KCONFIG | IN_PROFILE),
	  .choices = machine_choices, .out = true },
	{ KEY("QEMU", "RAPIDO_QEMU", T_STRING, IN_KCONFIG), .out = true },
	{ KEY("APPEND", "RAPIDO_APPEND", T_STRING, IN_KCONFIG), .out = true },
	{ KEY("QEMU_EXTRA", "RAPIDO_QEMU_EXTRA", T_STRING, IN_KCONFIG),
	  .out = true },
	{ KEY("DESCRIPTION", NULL, T_STRING, IN_PROFILE) },
	{ KEY("NEEDS", NULL, T_STRING, IN_PROFILE) },
	{ KEY("VARS", NULL, T_VARS, IN_PROFILE) },
	{ KEY("PREPARE", NULL, T_STRING, IN_PROFILE), .out = true },
	{ KEY("VM_FILES", NULL, T_FILES, IN_PROFILE), .out = true },
	{ KEY("NET", NULL, T_BOOL, IN_PROFILE), .out = true },
	{ KEY("SERVICES", NULL, T_WORDS, IN_PROFILE),
	  .choices = services_choices, .out = true },
	{ KEY("VMS", NULL, T_INT, IN_PROFILE | IN_CMDLINE), .min = 1,
	  .max = PROTO_VM_MAX, .out = true, .meta = "n",
	  .doc = "VMs of a run, side by side (a profile's own by default)" },
	/* the lab (services/): menu "Lab" of Kconfig.rapido */
	{ KEY("LAB_NET", "RAPIDO_LAB_NET", T_STRING, IN_KCONFIG | IN_CMDLINE),
	  .lab = true, .meta = "a.b.c.d/n",
	  .doc = "the lab bridge's address (services/lab)" },
	{ KEY("CEPH_OSDS", "RAPIDO_CEPH_OSDS", T_INT, IN_KCONFIG | IN_CMDLINE),
	  .min = 1, .max = 16, .lab = true, .meta = "n",
	  .doc = "OSDs of the lab's Ceph" },
	{ KEY("CEPH_IMAGE_SIZE", "RAPIDO_CEPH_IMAGE_SIZE", T_INT,
	      IN_KCONFIG | IN_CMDLINE),
	  .min = 1, .max = 1048576, .lab = true, .meta = "MiB",
	  .doc = "size of the lab's RBD image" },
	{ KEY("CEPH_TIMEOUT", "RAPIDO_CEPH_TIMEOUT", T_INT,
	      IN_KCONFIG | IN_CMDLINE),
	  .min = 1, .max = 3600, .lab = true, .meta = "seconds",
	  .doc = "ceph up's limit to a healthy cluster" },
	{ KEY("RBD_POOL", "RAPIDO_RBD_POOL", T_STRING, IN_KCONFIG | IN_CMDLINE),
	  .lab = true, .meta = "name", .doc = "pool of the RBD image" },
	{ KEY("RBD_IMAGE", "RAPIDO_RBD_IMAGE", T_STRING,
	      IN_KCONFIG | IN_CMDLINE),
	  .lab = true, .meta = "name", .doc = "the RBD image of the profiles" },
	{ KEY("CEPHFS_NAME", "RAPIDO_CEPHFS_NAME", T_STRING,
	      IN_KCONFIG | IN_CMDLINE),
	  .lab = true, .meta = "name", .doc = "the CephFS of the profiles" },
	{ KEY("CEPH_USER", "RAPIDO_CEPH_USER", T_STRING,
	      IN_KCONFIG | IN_CMDLINE),
	  .lab = true, .meta = "name", .doc = "the guests' Ceph client name" },
	{ KEY("CEPH_CONF", NULL, T_STRING, IN_CMDLINE), .lab = true,
	  .meta = "file", .doc = "an external cluster's ceph.conf (no Ceph started)" },
	{ KEY("CEPH_KEYRING", NULL, T_STRING, IN_CMDLINE), .lab = true,
	  .meta = "file", .doc = "an external cluster's keyring" },
	/* kconfig's choice members: in .rapido.config, read by nobody */
	{ MEMBER("RAPIDO_ACCEL_AUTO") },
	{ MEMBER("RAPIDO_ACCEL_KVM") },
	{ MEMBER("RAPIDO_ACCEL_TCG") },
	{ MEMBER("RAPIDO_CUT_NATIVE") },
	{ MEMBER("RAPIDO_CUT_DRACUT") },
	{ MEMBER("RAPIDO_MACHINE_MICROVM") },
	{ MEMBER("RAPIDO_MACHINE_PC") },
	{ MEMBER("RAPIDO_MACHINE_Q35") },
};

_Static_assert(ARRAY_SIZE(keys) == NKEYS, "NKEYS is not keys[]'s count");

/* make's own variables, which may be given on its command line */
static const char *const make_names[] = {
	"MAKEFLAGS", "MAKEFILES", "MAKELEVEL", "MAKEOVERRIDES", "MFLAGS",
	"SHELL", "VPATH", "GPATH", "GNUMAKEFLAGS", "MAKE", "MAKESHELL",
};

/* The key whose string member at @field is the @len bytes at @s. */
static const struct key *find_by(size_t field, const char *s, size_t len)
{
	for (size_t i = 0; i < NKEYS; i++) {
		const char *v = *(const char *const *)((const char *)&keys[i] +
						       field);

		if (v && strlen(v) == len && !memcmp(v, s, len))
			return &keys[i];
	}
	return NULL;
}

const struct key *find_key(const char *name, size_t len)
{
	return find_by(offsetof(struct key, name), name, len);
}

const struct key *find_kconfig(const char *sym, size_t len)
{
	return find_by(offsetof(struct key, kconfig), sym, len);
}

/* The names given @where, space-separated. */
char *names_in(unsigned int where)
{
	char *list = xstrdup("");

	for (size_t i = 0; i < NKEYS; i++) {
		char *n;

		if (!keys[i].name || !(keys[i].where & where))
			continue;
		n = xasprintf("%s%s%s", list, *list ? " " : "", keys[i].name);
		free(list);
		list = n;
	}
	return list;
}

/* The profile's VARS names (NAME of each NAME[=default] word). */
static struct names profile_var_names(const char *vars)
{
	struct names ns = { 0 };

	for (const char *w = vars ? vars : ""; *w;) {
		size_t len = strcspn(w, " \t");

		if (len)
			names_add(&ns, w, strcspn(w, " \t="));
		w += len ? len : 1;
	}
	return ns;
}

/*
 * Are the variables' names known? @cmd: the arguments' (rapido's or the
 * profile's); MAKEFLAGS': also make's and kbuild's, upper-case only.
 */
static void check_names(struct state *st, const char *vars)
{
	struct names pv = profile_var_names(vars), kb = { 0 };
	bool have_kbuild = false;

	for (int pass = 0; pass < 2; pass++) {
		char **v = pass ? st->make_names : st->cmd_names;
		int n = pass ? st->n_make : st->n_cmd;

		for (int i = 0; i < n; i++) {
			const struct key *k = find_key(v[i], strlen(v[i]));
			struct suggest s = { .name = v[i] };
			char *known, *dym;

			if (k && (k->where & IN_CMDLINE))
				continue;
			if (in_list(pv.v, pv.n, v[i]))
				continue;
			if (pass && in_list((char **)make_names,
					    ARRAY_SIZE(make_names), v[i]))
				continue;
			if (pass && !have_kbuild) {
				kbuild_names(st->srctree, &kb);
				have_kbuild = true;
			}
			if (pass && !k && in_list(kb.v, kb.n, v[i]))
				continue;
			known = names_in(IN_CMDLINE);
			for (size_t j = 0; j < NKEYS; j++)
				if (keys[j].name &&
				    (keys[j].where & IN_CMDLINE))
					suggest_add(&s, keys[j].name);
			for (int j = 0; j < pv.n; j++)
				suggest_add(&s, pv.v[j]);
			for (int j = 0; j < kb.n; j++)
				suggest_add(&s, kb.v[j]);
			dym = did_you_mean(&s);
			if (k)
				error("%s: %s: not a variable of the command line (it is set in %s)",
				      pass ? "make's command line" : "command line",
				      v[i], k->where & IN_PROFILE ?
				      "a profile's settings" :
				      ".rapido.config: make rapido-menuconfig");
			else
				error("%s: unknown variable '%s'%s (known: %s%s%s%s%s%s)",
				      pass ? "make's command line" : "command line",
				      v[i], dym, known,
				      pv.n ? "; and for profile " : "",
				      pv.n ? st->profile_name : "",
				      pv.n ? ": " : "", pv.n ? vars : "",
				      pass ? "; and make's and kbuild's" : "");
			free(known);
			free(dym);
		}
	}
	for (int i = 0; i < pv.n; i++) {
		const struct key *k = find_key(pv.v[i], strlen(pv.v[i]));

		if (k && (k->where & IN_CMDLINE))
			error("%s: VARS: '%s' is rapido's own variable: choose another name",
			      st->settings, pv.v[i]);
		free(pv.v[i]);
	}
	free(pv.v);
	for (int i = 0; i < kb.n; i++)
		free(kb.v[i]);
	free(kb.v);
}

/* NAME=value arguments and the environment: IN_CMDLINE keys. */
static void read_cmdline(struct state *st, int argc, char **argv)
{
	for (int i = 0; i < argc; i++) {
		char *eq = strchr(argv[i], '=');

		if (!eq || eq == argv[i]) {
			error("command line: '%s': not a variable (VAR=value)",
			      shown(argv[i], strlen(argv[i])));
			continue;
		}
		st->cmd_names = xrealloc(st->cmd_names,
					 (st->n_cmd + 1) * sizeof(char *));
		st->cmd_names[st->n_cmd++] = xstrndup(argv[i], eq - argv[i]);
	}
	for (size_t i = 0; i < NKEYS; i++) {
		const struct key *k = &keys[i];
		struct val *v = &st->cmdline[i];
		const char *text = NULL;

		if (!k->name || !(k->where & IN_CMDLINE))
			continue;
		v->file = "environment";
		for (int j = 0; j < st->n_cmd; j++)
			if (!strcmp(st->cmd_names[j], k->name)) {
				text = argv[j] + strlen(k->name) + 1;
				v->file = "command line";
			}
		if (!text) {
			text = getenv(k->name);
			if (in_list(st->make_names, st->n_make, k->name))
				v->file = "make's command line";
		}
		if (!text || !*text)
			continue;
		v->text = xstrdup(text);
		if (!check_value(k, v)) {
			free(v->text);
			v->text = NULL;
		}
	}
}

/* The profile's name and directory; false (reported) if there is none. */
static bool find_profile(struct state *st)
{
	size_t i = find_key("PROFILE", 7) - keys;
	const struct val *v = st->cmdline[i].text ? &st->cmdline[i] :
			      &st->kconfig[i];
	char *manifest;
	bool ok;

	if (!v->text)
		return false;
	st->profile_name = v->text;
	st->profile_dir = xasprintf("%s/tools/testing/rapido/profiles/%s",
				    st->srctree, v->text);
	manifest = xasprintf("%s/manifest", st->profile_dir);
	ok = !access(manifest, F_OK);
	if (!ok) {
		struct suggest s = { .name = v->text };
		char *dir = xasprintf("%s/tools/testing/rapido/profiles",
				      st->srctree);
		DIR *d = opendir(dir);
		struct dirent *de;
		char *dym;

		while (d && (de = readdir(d)))
			if (de->d_name[0] != '.')
				suggest_add(&s, de->d_name);
		dym = did_you_mean(&s);
		error("%s%s%.0d: PROFILE: unknown profile '%s'%s: no %s (see make rapido-list)",
		      v->file, v->line ? ":" : "", v->line, v->text, dym,
		      manifest);
		if (d)
			closedir(d);
		free(dym);
		free(dir);
	}
	free(manifest);
	st->settings = xasprintf("%s/settings", st->profile_dir);
	return ok;
}

static void put(const char *key, const char *val)
{
	printf("%s=%s%c", key, val ? val : "", '\0');
}

static int resolve(struct state *st, int argc, char **argv)
{
	const char *vars;
	struct names pv;
	char *names;

	make_cmdline_names(st);
	read_kconfig(st, false);
	read_cmdline(st, argc, argv);
	if (find_profile(st))
		read_settings(st->settings, st->profile, true);
	vars = st->profile[find_key("VARS", 4) - keys].text;
	check_names(st, vars);
	if (nerrors)
		return EXIT_RAPIDO;

	for (size_t i = 0; i < NKEYS; i++) {
		const struct key *k = &keys[i];
		const char *v = st->kconfig[i].text;

		if (!k->out)
			continue;
		if (st->profile[i].text) {
			if (!k->minimum || !v ||
			    atol(st->profile[i].text) > atol(v))
				v = st->profile[i].text;
		}
		if (st->cmdline[i].text)
			v = st->cmdline[i].text;
		put(k->name, v);
	}
	put("PROFILE_DIR", st->profile_dir);
	/* the profile's variables: the environment's, else the default */
	pv = profile_var_names(vars);
	for (const char *w = vars ? vars : ""; *w;) {
		size_t len = strcspn(w, " \t"), n = strcspn(w, " \t=");
		char *name = xstrndup(w, n), *kv;
		const char *env = getenv(name);

		if (len) {
			if (env && *env)
				kv = xasprintf("%s=%s", name, env);
			else
				kv = xasprintf("%s=%.*s", name,
					       (int)(n < len ? len - n - 1 : 0),
					       w + n + 1);
			put("VAR", kv);
			free(kv);
		}
		free(name);
		w += len ? len : 1;
	}
	names = names_in(IN_CMDLINE);
	for (int i = 0; i < pv.n; i++) {
		char *n = xasprintf("%s %s", names, pv.v[i]);

		free(names);
		names = n;
		free(pv.v[i]);
	}
	free(pv.v);
	put("NAMES", names);
	free(names);
	put("END", "");
	if (fflush(stdout) || ferror(stdout))
		fatal_errno(EXIT_RAPIDO, errno, "cannot write the settings");
	return 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* make rapido-list: every profile, its description and needs. */
static int list_profiles(const char *srctree)
{
	char *dir = xasprintf("%s/tools/testing/rapido/profiles", srctree);
	DIR *d = opendir(dir);
	struct dirent *de;
	struct names ps = { 0 };

	if (!d)
		fatal_errno(EXIT_RAPIDO, errno, "cannot open '%s'", dir);
	while ((de = readdir(d)))
		if (de->d_name[0] != '.')
			names_push(&ps, de->d_name);
	closedir(d);
	qsort(ps.v, ps.n, sizeof(char *), cmp_str);
	for (int i = 0; i < ps.n; i++) {
		struct val vals[NKEYS] = { { 0 } };
		char *p = xasprintf("%s/%s/manifest", dir, ps.v[i]), *cfg;
		size_t len;
		const struct val *desc = &vals[find_key("DESCRIPTION", 11) - keys];
		const struct val *needs = &vals[find_key("NEEDS", 5) - keys];
		const struct val *vars = &vals[find_key("VARS", 4) - keys];
		const struct val *net = &vals[find_key("NET", 3) - keys];
		const struct val *svcs = &vals[find_key("SERVICES", 8) - keys];
		const struct val *vms = &vals[find_key("VMS", 3) - keys];

		if (access(p, F_OK)) {
			free(p);
			continue;
		}
		free(p);
		p = xasprintf("%s/%s/settings", dir, ps.v[i]);
		read_settings(p, vals, true);
		free(p);
		printf("%-16s %s\n", ps.v[i],
		       desc->text ? desc->text : "(no description)");
		p = xasprintf("%s/%s/config", dir, ps.v[i]);
		cfg = slurp(p, &len);
		if (cfg) {
			const char *sep = "";

			printf("%-16s needs ", "");
			for (char *l = cfg; *l; ) {
				size_t ll = strcspn(l, "\n");

				if (!strncmp(l, "CONFIG_", 7)) {
					printf("%s%.*s", sep, (int)ll, l);
					sep = " ";
				}
				l += ll + (l[ll] == '\n');
			}
			putchar('\n');
			free(cfg);
		}
		free(p);
		if (needs->text)
			printf("%-16s host %s\n", "", needs->text);
		if (vars->text)
			printf("%-16s vars %s\n", "", vars->text);
		if (net->text || svcs->text || vms->text)
			printf("%-16s lab NIC %s, services %s, %s VM(s)\n", "",
			       net->text ? net->text : "n",
			       svcs->text && *svcs->text ? svcs->text : "none",
			       vms->text ? vms->text : "1");
		for (size_t j = 0; j < NKEYS; j++)
			free(vals[j].text);
		free(ps.v[i]);
	}
	free(ps.v);
	free(dir);
	if (fflush(stdout) || ferror(stdout))
		fatal_errno(EXIT_RAPIDO, errno, "cannot write the list");
	return nerrors ? EXIT_RAPIDO : 0;
}

/* make rapido-help's "Variables:" lines. */
static int help_vars(void)
{
	const char *lead = "Variables:";

	for (size_t i = 0; i < NKEYS; i++) {
		const struct key *k = &keys[i];
		char *nv;

		if (!k->name || !(k->where & IN_CMDLINE))
			continue;
		nv = xasprintf("%s=%s", k->name, k->meta);
		printf("%-10s %-22s %s\n", lead, nv, k->doc);
		free(nv);
		lead = "";
	}
	printf("%-10s %-22s %s\n", "", "and the profile's own",
	       "(\"vars\" of make rapido-list)");
	return 0;
}

/*
 * Kconfig.rapido against the table: every config symbol is in it with the
 * same type (and range), and every symbol of the table is in Kconfig.
 */
static int check_kconfig(const char *path)
{
	size_t len;
	char *buf = slurp(path, &len), *l;
	const struct key *k = NULL;
	bool seen[NKEYS] = { false };
	int lineno = 0;

	if (!buf)
		fatal_errno(EXIT_RAPIDO, errno, "cannot read '%s'", path);
	for (l = buf; *l; l += strcspn(l, "\n") + (l[strcspn(l, "\n")] != 0)) {
		char word[64], arg[64];
		long lo, hi;

		lineno++;
		if (sscanf(l, "config %63s", word) == 1) {
			k = find_kconfig(word, strlen(word));
			if (!k)
				error("%s:%d: %s: not in rapido-settings' table",
				      path, lineno, word);
			else
				seen[k - keys] = true;
			continue;
		}
		if (!k || sscanf(l, " %63s", word) != 1)
			continue;
		if (!strcmp(word, "bool") || !strcmp(word, "int") ||
		    !strcmp(word, "string")) {
			bool ok = !strcmp(word, "bool") ? k->type == T_BOOL :
				  !strcmp(word, "int") ?
				  k->type == T_INT || k->type == T_SIZE :
				  k->type != T_INT && k->type != T_BOOL;

			if (!ok)
				error("%s:%d: %s: %s in Kconfig, another type in the table",
				      path, lineno, k->kconfig, word);
		} else if (sscanf(l, " range %ld %ld", &lo, &hi) == 2) {
			if (lo != k->min || hi != k->max)
				error("%s:%d: %s: range %ld %ld in Kconfig, %ld..%ld in the table",
				      path, lineno, k->kconfig, lo, hi,
				      k->min, k->max);
		} else if (sscanf(l, " default \"%63[^\"]\"", arg) == 1 &&
			   k->type == T_ENUM && !strstr(l, " if ")) {
			struct val v = { .text = xstrdup(arg), .file = path,
					 .line = lineno };

			check_value(k, &v);
			free(v.text);
		}
	}
	for (size_t i = 0; i < NKEYS; i++)
		if (keys[i].kconfig && !seen[i])
			error("%s: CONFIG_%s of the table is not in it", path,
			      keys[i].kconfig);
	free(buf);
	return nerrors ? EXIT_RAPIDO : 0;
}

/*
 * Kconfig.rapido's unconditional defaults of the table's symbols, into
 * @vals (the symbols already set there are left alone).
 */
static void kconfig_defaults(const char *path, struct val *vals)
{
	size_t len;
	char *buf = slurp(path, &len), *l;
	const struct key *k = NULL;
	int lineno = 0;

	if (!buf)
		fatal_errno(EXIT_RAPIDO, errno, "cannot read '%s'", path);
	for (l = buf; *l; l += strcspn(l, "\n") + (l[strcspn(l, "\n")] != 0)) {
		size_t ll = strcspn(l, "\n");
		char word[64], *line = xstrndup(l, ll), *v;
		struct val *slot;

		lineno++;
		if (sscanf(line, "config %63s", word) == 1) {
			k = find_kconfig(word, strlen(word));
		} else if (sscanf(line, " %63s", word) == 1 &&
			   !strcmp(word, "help")) {
			k = NULL;	/* help text until the next config */
		} else if (k && k->name && sscanf(line, " default %63s", word) == 1 &&
			   !strstr(line, " if ")) {
			slot = &vals[k - keys];
			v = strstr(line, "default ") + 8;
			if (*v == '"') {
				v++;
				v[strcspn(v, "\"")] = '\0';
			}
			if (!slot->text && !slot->bad) {
				slot->text = xstrdup(v);
				slot->file = path;
				slot->line = lineno;
			}
		}
		free(line);
	}
	free(buf);
}

/* --lab: the lab's settings for services/lib.sh. */
static int lab_settings(struct state *st, const char *kconfig)
{
	if (st->config && !access(st->config, F_OK))
		read_kconfig(st, true);
	kconfig_defaults(kconfig, st->kconfig);
	read_cmdline(st, 0, NULL);
	if (nerrors)
		return EXIT_RAPIDO;
	for (size_t i = 0; i < NKEYS; i++) {
		const struct key *k = &keys[i];

		if (!k->lab)
			continue;
		put(k->name, st->cmdline[i].text ? st->cmdline[i].text :
		    st->kconfig[i].text);
	}
	put("END", "");
	if (fflush(stdout) || ferror(stdout))
		fatal_errno(EXIT_RAPIDO, errno, "cannot write the settings");
	return 0;
}

static _Noreturn void bad_usage(void)
{
	fputs("usage: rapido-settings -s SRCTREE -c .rapido.config [NAME=value ...]\n"
	      "       rapido-settings -s SRCTREE --list-profiles\n"
	      "       rapido-settings --help-vars | --names\n"
	      "       rapido-settings --check-kconfig Kconfig.rapido\n"
	      "       rapido-settings --lab Kconfig.rapido [-c .rapido.config]\n",
	      stderr);
	exit(EXIT_RAPIDO);
}

const char *const prog = "rapido";

int main(int argc, char **argv)
{
	struct state st = { 0 };
	const char *lab = NULL;
	int i;

	max_errors = MAX_ERRORS;

	for (i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (!strcmp(a, "--help-vars"))
			return help_vars();
		if (!strcmp(a, "--names")) {
			char *n = names_in(IN_CMDLINE);

			printf("%s\n", n);
			free(n);
			return 0;
		}
		if (!strcmp(a, "--check-kconfig") && i + 1 < argc)
			return check_kconfig(argv[i + 1]);
		if (!strcmp(a, "--list-profiles")) {
			if (!st.srctree)
				bad_usage();
			return list_profiles(st.srctree);
		}
		if (!strcmp(a, "--lab") && i + 1 < argc)
			lab = argv[++i];
		else if (!strcmp(a, "-s") && i + 1 < argc)
			st.srctree = argv[++i];
		else if (!strcmp(a, "-c") && i + 1 < argc)
			st.config = argv[++i];
		else if (!strcmp(a, "--"))
			break;
		else if (*a == '-')
			bad_usage();
		else
			break;
	}
	if (lab && i == argc)
		return lab_settings(&st, lab);
	if (!st.srctree || !st.config)
		bad_usage();
	if (i < argc && !strcmp(argv[i], "--"))
		i++;
	return resolve(&st, argc - i, argv + i);
}
