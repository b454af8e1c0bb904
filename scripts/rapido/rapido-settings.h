/* SPDX-License-Identifier: GPL-2.0 */
/*
 * rapido-settings, the one reader of rapido's settings, in three units:
 *   rapido-settings.c        the table of keys, the command line, the
 *                            precedence, the output, make rapido-list/help
 *   rapido-settings-read.c   values against the table; .rapido.config and
 *                            profiles' settings files
 *   rapido-settings-names.c  errors and allocation; names, "did you mean",
 *                            make's command line and kbuild's variables
 */
#ifndef RAPIDO_SETTINGS_H
#define RAPIDO_SETTINGS_H

#include <stdbool.h>
#include <stddef.h>

#include "util.h"

#define MAX_ERRORS	20

enum type {
	T_INT,		/* whole number in min..max */
	T_SIZE,		/* MiB in min..max; also with a M or G suffix */
	T_BOOL,		/* y or n */
	T_ENUM,		/* one of choices[] */
	T_STRING,	/* any text */
	T_NAME,		/* a profile's name: no '/', not starting with '.' */
	T_VARS,		/* NAME[=default] words (a profile's own variables) */
	T_FILES,	/* NAME:SIZE words (rapido-vm --file) */
	T_WORDS,	/* words, each one of choices[] (may be empty) */
};

/* Where a key may be given. */
#define IN_KCONFIG	1	/* .rapido.config: CONFIG_<kconfig> */
#define IN_PROFILE	2	/* a profile's settings file */
#define IN_CMDLINE	4	/* command line, environment */

struct key {
	const char *name;	/* NULL: a kconfig choice member, not a key */
	const char *kconfig;	/* symbol in Kconfig.rapido, or NULL */
	enum type type;
	unsigned int where;
	long min, max;
	const char *const *choices;
	bool minimum;		/* the profile's value is a minimum */
	bool out;		/* printed by -c (the driver uses it) */
	bool lab;		/* printed by --lab (services/lib.sh) */
	const char *limit;	/* why the range is what it is, for errors */
	const char *meta;	/* help: NAME=<meta> */
	const char *doc;	/* help: one line */
};

/* the entries of keys[] (rapido-settings.c checks the count) */
#define NKEYS	54

extern const struct key keys[NKEYS];

/* One value of a key, and where it came from (for messages). */
struct val {
	char *text;		/* NULL: not given */
	const char *file;	/* "command line", "environment", a path */
	int line;		/* 0: none */
	bool bad;		/* given, but wrong (reported) */
};

struct state {
	struct val kconfig[NKEYS], profile[NKEYS], cmdline[NKEYS];
	const char *srctree, *config;
	char *profile_name, *profile_dir, *settings;
	char **cmd_names;	/* names given on the command line */
	int n_cmd;
	char **make_names;	/* names from MAKEFLAGS */
	int n_make;
};

struct names {
	char **v;
	int n;
};

/* Candidates for "did you mean": the closest one, if it is close. */
struct suggest {
	const char *name;
	const char *best;
	size_t dist;
};

/* rapido-settings-names.c */
const char *shown(const char *s, size_t len);
char *slurp(const char *path, size_t *len);
bool is_name(const char *s, size_t len);
size_t name_len(const char *s);
void names_push(struct names *ns, const char *s);
void names_add(struct names *ns, const char *s, size_t len);
bool in_list(char *const *v, int n, const char *name);
size_t distance(const char *a, const char *b);
void suggest_add(struct suggest *s, const char *cand);
char *did_you_mean(const struct suggest *s);
void make_cmdline_names(struct state *st);
void kbuild_names(const char *srctree, struct names *ns);

/* rapido-settings-read.c */
char *allowed(const struct key *k);
bool check_value(const struct key *k, struct val *v);
void read_kconfig(struct state *st, bool partial);
int read_settings(const char *path, struct val *vals, bool quiet_missing);

/* rapido-settings.c */
const struct key *find_key(const char *name, size_t len);
const struct key *find_kconfig(const char *sym, size_t len);
char *names_in(unsigned int where);

#endif /* RAPIDO_SETTINGS_H */
