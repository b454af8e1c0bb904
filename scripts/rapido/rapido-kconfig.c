// SPDX-License-Identifier: GPL-2.0
/*
 * rapido-kconfig - did the config fragments land in .config, and if not, why
 *
 *   rapido-kconfig [-c CONFIG] [-e] [-s SRCTREE] FRAGMENT...
 *
 * Every option a fragment requests ("CONFIG_FOO=value" or
 * "# CONFIG_FOO is not set"; a later fragment overrides an earlier one) is
 * compared with CONFIG ($KCONFIG_CONFIG, else .config) as text: "=n",
 * "is not set" and absent are the same. Each option that did not land is
 * printed on stdout. With -e the Kconfig tree of SRCTREE is parsed by the
 * kernel's own kconfig code (this program is linked with the objects kbuild
 * built for scripts/kconfig/conf), CONFIG is read as "make olddefconfig"
 * would read it, and every option that did not land gets indented lines
 * saying why, with the fragment lines that are missing.
 *
 * Exit: 0 all landed, 1 some did not, 2 this program cannot run.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/utsname.h>

#include "lkc.h"

#ifndef ARRAY_SIZE
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#endif

#define SYMCHARS "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz" \
		 "0123456789_"

#define PROG	"rapido-kconfig"
static int nerrors;

/* One "CONFIG_FOO=value" or "# CONFIG_FOO is not set" line. */
struct entry {
	const char *name;	/* without CONFIG_ */
	const char *val;	/* "n" for "is not set" */
	const char *file;
	unsigned int line;
	unsigned int seq;	/* order of appearance over all fragments */
	bool not_set_form;
	bool dead;		/* overridden by a later fragment line */
};

struct entries {
	struct entry *v;
	size_t n, cap;
};

static struct entries frags, conf;
static struct entry **frag_idx;	/* live fragment entries, by name */
static struct entry **conf_idx;	/* CONFIG, by name */
static size_t nfrag_idx, nconf;

static void error(const char *subject, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: '%s': ", PROG, subject);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	nerrors++;
}

static void *xgrow(void *v, size_t *cap, size_t n, size_t size)
{
	if (n < *cap)
		return v;
	*cap = *cap ? *cap * 2 : 64;
	v = realloc(v, *cap * size);
	if (!v) {
		fprintf(stderr, "%s: out of memory\n", PROG);
		exit(2);
	}
	return v;
}

/* Read all of @path, NUL-terminated, into *@buf. Returns 0 or -errno. */
static int slurp(const char *path, char **buf)
{
	size_t len = 0, cap = 0;
	char *b = NULL;
	int fd, err = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	for (;;) {
		ssize_t n;

		if (cap - len < 4096)
			b = xgrow(b, &cap, cap, 1);
		n = read(fd, b + len, cap - len - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			err = -errno;
			break;
		}
		if (n == 0)
			break;
		len += n;
	}
	close(fd);
	if (err) {
		free(b);
		return err;
	}
	b[len] = '\0';
	*buf = b;
	return 0;
}

static void add_entry(struct entries *es, const struct entry *e)
{
	es->v = xgrow(es->v, &es->cap, es->n, sizeof(*es->v));
	es->v[es->n++] = *e;
}

/*
 * Parse one non-comment line in place. Returns NULL (and fills @e) or the
 * reason the line is bad.
 */
static const char *parse_assign(char *line, struct entry *e)
{
	size_t plen = strlen(CONFIG_), n;
	char *name, *val, *p;

	if (strncmp(line, CONFIG_, plen))
		return "not an option line";
	name = line + plen;
	n = strspn(name, SYMCHARS);
	if (!n || name[n] != '=')
		return "no '=' after the option name";
	val = name + n + 1;
	if (!*val)
		return "empty value";
	if (*val == '"') {
		for (p = val + 1; *p && *p != '"'; p++)
			if (*p == '\\' && p[1])
				p++;
		if (*p != '"')
			return "unterminated string";
		if (p[1])
			return "text after the closing quote";
	} else if (val[strcspn(val, " \t\"")]) {
		return "blank or quote in an unquoted value";
	}
	name[n] = '\0';
	e->name = name;
	e->val = val;
	e->not_set_form = false;
	return NULL;
}

/* "# CONFIG_FOO is not set"; any other comment is no entry. */
static bool parse_not_set(char *line, struct entry *e)
{
	size_t plen = strlen(CONFIG_), n;
	char *name;

	if (strncmp(line, "# ", 2) || strncmp(line + 2, CONFIG_, plen))
		return false;
	name = line + 2 + plen;
	n = strspn(name, SYMCHARS);
	if (!n || strcmp(name + n, " is not set"))
		return false;
	name[n] = '\0';
	e->name = name;
	e->val = "n";
	e->not_set_form = true;
	return true;
}

/* Parse the text of a fragment or config in place into @es. */
static void parse_lines(const char *path, char *buf, struct entries *es,
			unsigned int *seq)
{
	unsigned int lineno = 0;
	char *line, *next;

	for (line = buf; *line; line = next) {
		char *end = strchr(line, '\n');
		struct entry e = { .file = path };
		const char *why;

		next = end ? end + 1 : line + strlen(line);
		end = end ? end : next;
		*end = '\0';
		lineno++;
		while (end > line && isspace((unsigned char)end[-1]))
			*--end = '\0';
		if (!*line)
			continue;
		e.line = lineno;
		e.seq = (*seq)++;
		if (*line == '#') {
			if (parse_not_set(line, &e))
				add_entry(es, &e);
			continue;
		}
		why = parse_assign(line, &e);
		if (why) {
			char subject[PATH_MAX + 16];

			snprintf(subject, sizeof(subject), "%s:%u", path,
				 lineno);
			error(subject,
			      "bad line '%s': %s: expected '%sFOO=value' or '# %sFOO is not set'",
			      line, why, CONFIG_, CONFIG_);
			continue;
		}
		add_entry(es, &e);
	}
}

static int read_entries(const char *path, struct entries *es,
			unsigned int *seq)
{
	char *buf;
	int err = slurp(path, &buf);

	if (err) {
		error(path, "cannot read: %s", strerror(-err));
		return err;
	}
	parse_lines(path, buf, es, seq);
	return 0;
}

static int by_name_seq(const void *a, const void *b)
{
	const struct entry *x = *(struct entry * const *)a;
	const struct entry *y = *(struct entry * const *)b;
	int c = strcmp(x->name, y->name);

	if (c)
		return c;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/*
 * Sort @es by name, the last line of a name winning; returns the index of
 * the winners (kconfig too takes the last assignment).
 */
static struct entry **index_last(struct entries *es, size_t *n)
{
	struct entry **idx = calloc(es->n + 1, sizeof(*idx));
	size_t i, k = 0;

	if (!idx) {
		fprintf(stderr, "%s: out of memory\n", PROG);
		exit(2);
	}
	for (i = 0; i < es->n; i++)
		idx[i] = &es->v[i];
	qsort(idx, es->n, sizeof(*idx), by_name_seq);
	for (i = 0; i < es->n; i++) {
		if (i + 1 < es->n && !strcmp(idx[i]->name, idx[i + 1]->name)) {
			idx[i]->dead = true;
			continue;
		}
		idx[k++] = idx[i];
	}
	*n = k;
	return idx;
}

static struct entry *lookup(struct entry **idx, size_t n, const char *name)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int c = strcmp(name, idx[mid]->name);

		if (!c)
			return idx[mid];
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

/* "0x1f" and "1f" (kconfig adds 0x to hex values) and "31" */
static bool parse_num(const char *s, bool hex, unsigned long long *v)
{
	char *end;

	if (!strncasecmp(s, "0x", 2)) {
		s += 2;
		hex = true;
	}
	if (!*s || *s == '+' || isspace((unsigned char)*s))
		return false;
	errno = 0;
	*v = strtoull(s, &end, hex ? 16 : 10);
	return !errno && !*end;
}

static bool same_value(const char *want, const char *have)
{
	unsigned long long a, b;
	bool hex;

	if (!strcmp(want, have))
		return true;
	if (*want == '-' || *have == '-')
		return false;
	hex = !strncasecmp(want, "0x", 2) || !strncasecmp(have, "0x", 2);
	return parse_num(want, hex, &a) && parse_num(have, hex, &b) && a == b;
}

static void print_request(const struct entry *e)
{
	if (e->not_set_form)
		printf("# %s%s is not set", CONFIG_, e->name);
	else
		printf("%s%s=%s", CONFIG_, e->name, e->val);
}

static void print_miss(const struct entry *w, const struct entry *h,
		       const char *config)
{
	printf("%s: ", PROG);
	print_request(w);
	printf(" (%s:%u) did not land: '%s' ", w->file, w->line, config);
	if (h && !h->not_set_form && strcmp(h->val, "n"))
		printf("has %s%s=%s\n", CONFIG_, h->name, h->val);
	else if (h || !strcmp(w->val, "y") || !strcmp(w->val, "m"))
		printf("has it not set\n");
	else
		printf("does not have it\n");
}

/* ---- explain (-e): the Kconfig tree, parsed by kconfig itself ---- */

/* What to put into a fragment to make something true or false. */
struct fix {
	struct symbol *sym;	/* NULL: @cond has no single fix */
	tristate tri;		/* bool and tristate */
	const char *str;	/* other types */
	struct expr *cond;
	bool truth;		/* what @cond must become */
};

struct fixes {
	struct fix *v;
	size_t n, cap;
};

static void fixes_add(struct fixes *f, const struct fix *fx)
{
	f->v = xgrow(f->v, &f->cap, f->n, sizeof(*f->v));
	f->v[f->n++] = *fx;
}

static bool is_tri_type(const struct symbol *sym)
{
	return sym->type == S_BOOLEAN || sym->type == S_TRISTATE;
}

static tristate tri_of(const char *s)
{
	return !strcmp(s, "y") ? yes : !strcmp(s, "m") ? mod : no;
}

static tristate modules_val(void)
{
	if (!modules_sym)
		return no;
	sym_calc_value(modules_sym);
	return sym_get_tristate_value(modules_sym);
}

/* The least value of a dependency that lets @sym be @req. */
static tristate dep_need(const struct symbol *sym, tristate req)
{
	return sym->type == S_TRISTATE && req == yes ? yes : mod;
}

static void want_expr(struct fixes *f, struct expr *e, tristate need,
		      bool up);

static void fix_cond(struct fixes *f, struct expr *e, bool truth)
{
	struct fix fx = { .cond = e, .truth = truth };

	fixes_add(f, &fx);
}

static void want_sym(struct fixes *f, struct expr *e, tristate need, bool up)
{
	struct symbol *s = e->left.sym;
	struct fix fx = { .sym = s, .tri = need };

	if (s == &symbol_mod && up && need == mod && modules_sym) {
		fx.sym = modules_sym;
		fx.tri = yes;
	} else if (s->flags & SYMBOL_CONST || !is_tri_type(s)) {
		fix_cond(f, e, up);
		return;
	} else if (s->type == S_BOOLEAN && need == mod) {
		fx.tri = up ? yes : no;
	}
	fixes_add(f, &fx);
}

/* FOO = BAR, FOO != BAR, FOO < BAR, ...: must become @truth. */
static void want_cmp(struct fixes *f, struct expr *e, bool truth)
{
	struct symbol *var = e->left.sym, *other = e->right.sym;
	struct fix fx = { 0 };
	const char *oval;
	bool eq;

	if (e->type != E_EQUAL && e->type != E_UNEQUAL) {
		fix_cond(f, e, truth);
		return;
	}
	if (var->flags & SYMBOL_CONST) {
		var = e->right.sym;
		other = e->left.sym;
	}
	if (var->flags & SYMBOL_CONST || var->type == S_UNKNOWN) {
		fix_cond(f, e, truth);
		return;
	}
	eq = (e->type == E_EQUAL) == truth;
	oval = sym_get_string_value(other);
	fx.sym = var;
	if (is_tri_type(var)) {
		fx.tri = eq ? tri_of(oval) : tri_of(oval) == no ? yes : no;
	} else if (eq) {
		fx.str = oval;
	} else {
		fix_cond(f, e, truth);
		return;
	}
	fixes_add(f, &fx);
}

/* Fixes added since @n0, unfixable ones counting heavy. */
static size_t fixes_cost(const struct fixes *f, size_t n0)
{
	size_t cost = 0;

	for (; n0 < f->n; n0++)
		cost += f->v[n0].sym ? 1 : 100;
	return cost;
}

/* Either of @a and @b will do: take the one needing fewer fixes. */
static void want_either(struct fixes *f, struct expr *a, struct expr *b,
			tristate need, bool up)
{
	size_t n0 = f->n, ca, cb;

	want_expr(f, a, need, up);
	ca = fixes_cost(f, n0);
	f->n = n0;
	want_expr(f, b, need, up);
	cb = fixes_cost(f, n0);
	if (cb < ca)
		return;
	f->n = n0;
	want_expr(f, a, need, up);
}

/*
 * Add to @f what makes @e at least (@up) or at most (!@up) @need, using the
 * current value of every symbol.
 */
static void want_expr(struct fixes *f, struct expr *e, tristate need,
		      bool up)
{
	tristate v;

	if (!e)
		return;
	v = expr_calc_value(e);
	if (up ? v >= need : v <= need)
		return;
	switch (e->type) {
	case E_SYMBOL:
		want_sym(f, e, need, up);
		break;
	case E_NOT:
		want_expr(f, e->left.expr, EXPR_NOT(need), !up);
		break;
	case E_AND:
	case E_OR:
		if ((e->type == E_AND) == up) {
			want_expr(f, e->left.expr, need, up);
			want_expr(f, e->right.expr, need, up);
		} else {
			want_either(f, e->left.expr, e->right.expr, need, up);
		}
		break;
	case E_EQUAL:
	case E_UNEQUAL:
	case E_LTH:
	case E_LEQ:
	case E_GTH:
	case E_GEQ:
		want_cmp(f, e, up);
		break;
	default:
		fix_cond(f, e, up);
		break;
	}
}

static bool fixes_have(const struct fixes *f, const struct symbol *sym)
{
	size_t i;

	for (i = 0; i < f->n; i++)
		if (f->v[i].sym == sym)
			return true;
	return false;
}

/*
 * Append @fx to @out, after what its symbol needs in turn (its own
 * dependencies, MODULES for =m), so that the lines paste in order.
 */
static void expand_fix(struct fixes *out, const struct fix *fx, int depth)
{
	struct symbol *s = fx->sym;

	if (s && fixes_have(out, s))
		return;
	if (s && is_tri_type(s) && depth < 16 && fx->tri > no &&
	    fx->tri > sym_get_tristate_value(s)) {
		struct fixes sub = { 0 };
		size_t i;

		if (fx->tri == mod && s != modules_sym && modules_val() == no) {
			struct fix m = { .sym = modules_sym, .tri = yes };

			fixes_add(&sub, &m);
		}
		want_expr(&sub, s->dir_dep.expr, dep_need(s, fx->tri), true);
		for (i = 0; i < sub.n; i++)
			expand_fix(out, &sub.v[i], depth + 1);
		free(sub.v);
		if (fixes_have(out, s))
			return;
	}
	fixes_add(out, fx);
}

static bool has_prompt(struct symbol *sym)
{
	struct property *prop;

	for_all_prompts(sym, prop)
		return true;
	return false;
}

/* The symbols whose "select" can set @sym, from its reverse dependency. */
static void print_selectors(struct expr *e, int *n)
{
	if (!e)
		return;
	if (e->type == E_OR) {
		print_selectors(e->left.expr, n);
		print_selectors(e->right.expr, n);
		return;
	}
	while (e->type == E_AND)
		e = e->left.expr;
	if (e->type == E_SYMBOL && e->left.sym->name)
		printf("%s%s%s", (*n)++ ? ", " : "", CONFIG_,
		       e->left.sym->name);
}

static void print_no_prompt(struct symbol *sym)
{
	int n = 0;

	if (!sym->rev_dep.expr) {
		printf("has no prompt and nothing selects it: only its default sets it");
		return;
	}
	printf("has no prompt: enable one of: ");
	print_selectors(sym->rev_dep.expr, &n);
}

static void print_expr(const char *label, struct expr *e)
{
	struct gstr gs = str_new();

	expr_gstr_print(e, &gs);
	printf("  %s: %s\n", label, str_get(&gs));
	str_free(&gs);
}

static void print_fix(const struct fix *fx)
{
	struct symbol *s = fx->sym;
	struct entry *asked;

	printf("  missing: ");
	if (!s) {
		struct gstr gs = str_new();

		expr_gstr_print(fx->cond, &gs);
		printf("%s (%s): no single option value to suggest\n",
		       str_get(&gs), fx->truth ? "true" : "false");
		str_free(&gs);
		return;
	}
	if (is_tri_type(s) && fx->tri == no)
		printf("# %s%s is not set", CONFIG_, s->name);
	else if (is_tri_type(s))
		printf("%s%s=%s", CONFIG_, s->name, fx->tri == yes ? "y" : "m");
	else if (s->type == S_STRING)
		printf("%s%s=\"%s\"", CONFIG_, s->name, fx->str);
	else
		printf("%s%s=%s", CONFIG_, s->name, fx->str);
	if (is_tri_type(s) && fx->tri > no && !has_prompt(s)) {
		printf(" (");
		print_no_prompt(s);
		putchar(')');
	} else if (is_tri_type(s) && !has_prompt(s)) {
		printf(" (has no prompt: unset what selects it)");
	}
	asked = lookup(frag_idx, nfrag_idx, s->name);
	if (asked && (is_tri_type(s) ? tri_of(asked->val) == fx->tri :
		      fx->str && !strcmp(asked->val, fx->str)))
		printf(" (requested at %s:%u: see there)", asked->file,
		       asked->line);
	putchar('\n');
}

/* The choice block @sym is a member of (via its prompt's menu node). */
static struct menu *choice_of(struct symbol *sym)
{
	struct property *prop;
	struct menu *m;

	for_all_prompts(sym, prop) {
		for (m = prop->menu ? prop->menu->parent : NULL; m;
		     m = m->parent)
			if (m->sym && sym_is_choice(m->sym))
				return m;
	}
	return NULL;
}

static bool explain_choice(struct symbol *sym, tristate req)
{
	struct menu *choice = choice_of(sym), *m;
	const char *title = "?";
	struct symbol *cur = NULL;
	struct entry *other;

	if (!choice)
		return false;
	if (choice->prompt && choice->prompt->text)
		title = choice->prompt->text;
	for (m = choice->list; m; m = m->next) {
		if (!m->sym || sym_is_choice(m->sym))
			continue;
		sym_calc_value(m->sym);
		if (sym_get_tristate_value(m->sym) == yes)
			cur = m->sym;
	}
	if (req == no && cur == sym) {
		printf("  is the selected member of choice \"%s\": request another member =y instead\n",
		       title);
		return true;
	}
	if (req == no || !cur || cur == sym) {
		printf("  is a member of choice \"%s\"\n", title);
		return false;
	}
	printf("  is a member of choice \"%s\", which has %s%s=y", title,
	       CONFIG_, cur->name);
	other = lookup(frag_idx, nfrag_idx, cur->name);
	if (other && !strcmp(other->val, "y"))
		printf(", requested at %s:%u: request only one member",
		       other->file, other->line);
	putchar('\n');
	return true;
}

static long long num_of(const struct symbol *sym, const char *s)
{
	return strtoll(s, NULL, sym->type == S_HEX ? 16 : 10);
}

/*
 * int and hex: the value must be valid and within the "range" that applies
 * (the first whose condition holds; with the dependencies unmet no range
 * is active, then the first one, which applies once they are met).
 */
static bool explain_value(struct symbol *sym, const char *val)
{
	struct property *prop, *range = NULL;
	const char *lo, *hi;
	long long v;

	if (sym->type != S_INT && sym->type != S_HEX)
		return false;
	if (!sym_string_valid(sym, val)) {
		printf("  '%s' is not a valid %s value\n", val,
		       sym_type_name(sym->type));
		return true;
	}
	for_all_properties(sym, prop, P_RANGE) {
		if (!range)
			range = prop;
		if (expr_calc_value(prop->visible.expr) != no) {
			range = prop;
			break;
		}
	}
	if (!range)
		return false;
	lo = sym_get_string_value(range->expr->left.sym);
	hi = sym_get_string_value(range->expr->right.sym);
	v = num_of(sym, val);
	if (v >= num_of(sym, lo) && v <= num_of(sym, hi))
		return false;
	printf("  value %s is out of range %s..%s\n", val, lo, hi);
	return true;
}

/* The prompt conditions (with "visible if" of menus) below @need. */
static bool explain_hidden(struct symbol *sym, tristate need,
			   struct fixes *f)
{
	struct property *prop;
	bool said = false;

	for_all_prompts(sym, prop) {
		if (expr_calc_value(prop->visible.expr) >= need)
			continue;
		print_expr("visible if", prop->visible.expr);
		want_expr(f, prop->visible.expr, need, true);
		said = true;
	}
	return said;
}

/* @req is lower than what @sym has: what holds it up. */
static bool explain_lower(struct symbol *sym, tristate req, struct fixes *f)
{
	if (sym->rev_dep.expr && expr_calc_value(sym->rev_dep.expr) > req) {
		print_expr("selected by", sym->rev_dep.expr);
		want_expr(f, sym->rev_dep.expr, req, false);
		return true;
	}
	if (!has_prompt(sym)) {
		printf("  has no prompt: its default sets it\n");
		return true;
	}
	if (sym->visible > no)
		return false;
	printf("  its prompt is hidden, so its default sets it\n");
	explain_hidden(sym, mod, f);
	return true;
}

/* @req (or, for int, hex and string, any value) cannot be reached. */
static bool explain_raise(struct symbol *sym, tristate req, struct fixes *f)
{
	tristate need = dep_need(sym, req);

	if (expr_calc_value(sym->dir_dep.expr) < need) {
		print_expr("depends on", sym->dir_dep.expr);
		want_expr(f, sym->dir_dep.expr, need, true);
		return true;
	}
	if (!has_prompt(sym)) {
		printf("  ");
		print_no_prompt(sym);
		putchar('\n');
		return true;
	}
	if (sym->visible >= need)
		return false;
	return explain_hidden(sym, need, f);
}

static void explain(const struct entry *w, const char *config)
{
	struct symbol *sym = sym_find(w->name);
	struct fixes direct = { 0 }, out = { 0 };
	tristate req = tri_of(w->val);
	bool said = false;
	size_t i;

	if (!sym || sym->type == S_UNKNOWN) {
		printf("  no such option in this tree: drop it from the fragment\n");
		return;
	}
	sym_calc_value(sym);
	if (is_tri_type(sym) && strcmp(w->val, "y") && strcmp(w->val, "m") &&
	    strcmp(w->val, "n")) {
		printf("  is %s: use y, m or n\n", sym_type_name(sym->type));
		return;
	}
	if (sym->type == S_BOOLEAN && req == mod) {
		printf("  is bool: =m is not possible, use =y\n");
		return;
	}
	if (sym->type == S_STRING && !w->not_set_form && w->val[0] != '"') {
		printf("  is a string: kconfig ignores an unquoted value: use %s%s=\"%s\"\n",
		       CONFIG_, w->name, w->val);
		return;
	}
	if (sym_is_choice_value(sym))
		said |= explain_choice(sym, req);
	if (req == mod && modules_val() == no) {
		struct fix m = { .sym = modules_sym, .tri = yes };

		printf("  =m needs %sMODULES=y\n", CONFIG_);
		fixes_add(&direct, &m);
		said = true;
	}
	if (!is_tri_type(sym) && req == no && w->not_set_form) {
		printf("  is %s: only unmet dependencies unset it\n",
		       sym_type_name(sym->type));
		said = true;
	} else if (is_tri_type(sym) && req < sym_get_tristate_value(sym)) {
		said |= explain_lower(sym, req, &direct);
	} else {
		said |= explain_raise(sym, is_tri_type(sym) ? req : mod,
				      &direct);
		said |= explain_value(sym, w->val);
	}
	if (!said)
		printf("  nothing in Kconfig blocks it: merge the fragment into '%s' and run 'make olddefconfig'\n",
		       config);
	for (i = 0; i < direct.n; i++)
		expand_fix(&out, &direct.v[i], 0);
	for (i = 0; i < out.n; i++)
		print_fix(&out.v[i]);
	free(direct.v);
	free(out.v);
}

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

static char *xstrdup_or_die(const char *s)
{
	char *d = strdup(s);

	if (!d) {
		fprintf(stderr, "%s: out of memory\n", PROG);
		exit(2);
	}
	return d;
}

static int default_arch(const struct env_ctx *ctx, char **val)
{
	struct utsname u;
	size_t i;

	if (ctx->header_arch) {
		*val = xstrdup_or_die(ctx->header_arch);
		return 0;
	}
	if (uname(&u))
		return -errno;
	for (i = 0; i < ARRAY_SIZE(subarch_table); i++)
		if (!fnmatch(subarch_table[i].pattern, u.machine, 0)) {
			*val = xstrdup_or_die(subarch_table[i].arch);
			return 0;
		}
	*val = xstrdup_or_die(u.machine);
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
	*val = xstrdup_or_die(arch);
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
	err = slurp(path, &buf);
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
	if (asprintf(val, "%s%s%s%s%s%s", v[0], *v[1] ? "." : "", v[1],
		     *v[1] && *v[2] ? "." : "", *v[1] ? v[2] : "", v[3]) < 0)
		err = -ENOMEM;
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
	out = xstrdup_or_die(e->val + 1);
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
	*val = xstrdup_or_die(buf);
	return 0;
}

static int default_cc_version_text(const struct env_ctx *ctx, char **val)
{
	(void)ctx;
	*val = config_string("CC_VERSION_TEXT");
	if (*val)
		return 0;
	return shell_line("LC_ALL=C $CC --version 2>/dev/null | head -n 1",
			  val);
}

static int default_rustc_version_text(const struct env_ctx *ctx, char **val)
{
	(void)ctx;
	*val = config_string("RUSTC_VERSION_TEXT");
	if (*val)
		return 0;
	return shell_line("$RUSTC --version 2>/dev/null", val);
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
	{ .name = "CC_VERSION_TEXT",	.get = default_cc_version_text },
	{ .name = "RUSTC_VERSION_TEXT",	.get = default_rustc_version_text },
};

static bool config_is_y(const char *name)
{
	struct entry *e = lookup(conf_idx, nconf, name);

	return e && !strcmp(e->val, "y");
}

static int set_env_defaults(struct env_ctx *ctx)
{
	const char *llvm = getenv("LLVM"), *cross = getenv("CROSS_COMPILE");
	char *pre = xstrdup_or_die(""), *suf = "";
	int err = 0;
	size_t i;

	ctx->clang = config_is_y("CC_IS_CLANG");
	ctx->llvm = (llvm && *llvm) || (ctx->clang && config_is_y("LD_IS_LLD"));
	if (llvm && llvm[0] && llvm[strlen(llvm) - 1] == '/') {
		free(pre);
		pre = xstrdup_or_die(llvm);
	} else if (llvm && llvm[0] == '-') {
		suf = (char *)llvm;
	}
	for (i = 0; i < ARRAY_SIZE(env_defaults); i++) {
		const struct env_default *d = &env_defaults[i];
		char *val = NULL;

		if (getenv(d->name))
			continue;
		if (d->get) {
			err = d->get(ctx, &val);
		} else if (d->llvm && (ctx->llvm || (d->cc && ctx->clang))) {
			if (asprintf(&val, "%s%s%s", pre, d->llvm, suf) < 0)
				err = -ENOMEM;
		} else if (asprintf(&val, "%s%s", d->cross && cross ? cross : "",
				    d->gnu) < 0) {
			err = -ENOMEM;
		}
		if (!err && setenv(d->name, val, 1))
			err = -errno;
		free(val);
		if (err) {
			error(d->name, "cannot set a default: %s",
			      strerror(-err));
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
		fprintf(stderr, "%s: '%s': cannot remove: %s\n", PROG, scratch,
			strerror(errno));
	scratch[0] = '\0';
}

/* conf_parse() and conf_read() exit(1) on errors: make that our 2. */
static void kconfig_exit(void)
{
	if (!in_kconfig)
		return;
	fflush(stdout);
	fprintf(stderr, "%s: '%s': kconfig failed (see its messages above)\n",
		PROG, kconfig_top);
	remove_scratch();
	_exit(2);
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
	return strndup(p, end - p);
}

/* Parse SRCTREE's Kconfig and read @config, as "make olddefconfig" does. */
static int kconfig_load(const char *srctree_arg, const char *config)
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
		error(srctree_arg, "cannot find the source tree: %s",
		      strerror(errno));
		return -ENOENT;
	}
	snprintf(path, sizeof(path), "%s/%s", srctree, top);
	kconfig_top = xstrdup_or_die(path);
	if (access(path, R_OK)) {
		error(path, "cannot read: %s (give the source tree with -s)",
		      strerror(errno));
		return -ENOENT;
	}
	if (!realpath(config, cfg)) {
		error(config, "cannot find: %s", strerror(errno));
		return -ENOENT;
	}
	if (set_env_defaults(&ctx) || setenv("srctree", srctree, 1))
		return -EINVAL;

	snprintf(scratch, sizeof(scratch), "%s/rapido-kconfig.XXXXXX",
		 tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(scratch)) {
		error(scratch, "cannot create: %s", strerror(errno));
		scratch[0] = '\0';
		return -errno;
	}
	if (chdir(scratch)) {
		error(scratch, "cannot enter: %s", strerror(errno));
		remove_scratch();
		return -EACCES;
	}

	/* kconfig's own messages ($(info), conf_message) go to stderr. */
	fflush(stdout);
	out = dup(STDOUT_FILENO);
	if (out < 0 || dup2(STDERR_FILENO, STDOUT_FILENO) < 0) {
		error("stdout", "cannot redirect: %s", strerror(errno));
		remove_scratch();
		return -EBADF;
	}
	conf_set_message_callback(NULL);
	in_kconfig = true;
	atexit(kconfig_exit);
	conf_parse(top);
	if (conf_read(cfg)) {
		error(cfg, "kconfig cannot read it");
		err = -EINVAL;
	}
	in_kconfig = false;
	fflush(stdout);
	if (dup2(out, STDOUT_FILENO) < 0) {
		error("stdout", "cannot restore: %s", strerror(errno));
		err = -EBADF;
	}
	close(out);
	remove_scratch();
	return err;
}

static void help(FILE *f)
{
	fprintf(f,
		"usage: %s [-c CONFIG] [-e] [-s SRCTREE] FRAGMENT...\n"
		"  -c FILE  the config to check (default: $KCONFIG_CONFIG, else .config)\n"
		"  -e       explain, from the Kconfig tree, why an option did not land\n"
		"  -s DIR   source tree for -e (default: $srctree, else .)\n"
		"exit: 0 all landed, 1 some did not, 2 cannot run\n",
		PROG);
}

/* util.c's messages (this program still has its own, for now) */
extern const char *const prog;
const char *const prog = PROG;

int main(int argc, char *argv[])
{
	const char *config = getenv("KCONFIG_CONFIG"), *srctree = NULL;
	struct entry **miss;
	size_t nmiss = 0, i;
	unsigned int seq = 0;
	bool do_explain = false;
	int opt;

	while ((opt = getopt(argc, argv, "c:es:h")) != -1) {
		switch (opt) {
		case 'c':
			config = optarg;
			break;
		case 'e':
			do_explain = true;
			break;
		case 's':
			srctree = optarg;
			break;
		case 'h':
			help(stdout);
			return 0;
		default:
			help(stderr);
			return 2;
		}
	}
	if (optind >= argc) {
		fprintf(stderr, "%s: no fragment given\n", PROG);
		help(stderr);
		return 2;
	}
	if (!config || !*config)
		config = ".config";

	read_entries(config, &conf, &seq);
	for (i = optind; i < (size_t)argc; i++)
		read_entries(argv[i], &frags, &seq);
	if (nerrors)
		return 2;

	conf_idx = index_last(&conf, &nconf);
	frag_idx = index_last(&frags, &nfrag_idx);
	miss = calloc(frags.n + 1, sizeof(*miss));
	if (!miss) {
		fprintf(stderr, "%s: out of memory\n", PROG);
		return 2;
	}
	for (i = 0; i < frags.n; i++) {
		struct entry *w = &frags.v[i];
		struct entry *h = lookup(conf_idx, nconf, w->name);

		if (w->dead || same_value(w->val, h ? h->val : "n"))
			continue;
		miss[nmiss++] = w;
	}
	if (!nmiss)
		return 0;

	if (do_explain && kconfig_load(srctree, config))
		return 2;
	for (i = 0; i < nmiss; i++) {
		print_miss(miss[i], lookup(conf_idx, nconf, miss[i]->name),
			   config);
		if (do_explain)
			explain(miss[i], config);
	}
	fflush(stdout);
	return ferror(stdout) ? 2 : 1;
}
