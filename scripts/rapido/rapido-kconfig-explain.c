// SPDX-License-Identifier: GPL-2.0
/*
 * rapido-kconfig-explain.c - rapido-kconfig -e: why an option did not land,
 * from the symbols of the Kconfig tree as kconfig itself parsed them
 * (rapido-kconfig-env.c), and the fragment lines that would fix it, in an
 * order that pastes: dependencies first.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rapido-kconfig.h"

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

void explain(const struct entry *w, const char *config)
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
