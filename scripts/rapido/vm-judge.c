// SPDX-License-Identifier: GPL-2.0
/*
 * vm-judge.c - rapido-vm's verdict on one VM: the kernel's own failure
 * reports (panic, oops, BUG, WARN, KASAN, hung task, ...) found on the
 * console as it streams, and the guest's "<stage> <code>" lines on its
 * status port; --check judges a finished run's files the same way.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <regex.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vm.h"

struct stage {
	char name[32];
	long code;
};


/* Skip "[    1.234567] " and a caller id "[    T1] " if present. */
static const char *skip_stamp(const char *s)
{
	for (int i = 0; i < 2 && *s == '['; i++) {
		const char *p = s + 1;

		while (*p == ' ')
			p++;
		if (i == 1 && (*p == 'T' || *p == 'C'))
			p++;
		if (!isdigit((unsigned char)*p))
			break;
		while (isdigit((unsigned char)*p) || (i == 0 && *p == '.'))
			p++;
		if (*p != ']')
			break;
		s = p + 1;
	}
	return *s == ' ' ? s + 1 : s;
}

/* Skip "<digits>" at @s; NULL if there is none (or @s is NULL). */
static const char *skip_num(const char *s)
{
	if (!s || !isdigit((unsigned char)*s))
		return NULL;
	while (isdigit((unsigned char)*s))
		s++;
	return s;
}

/* @s starts with @word: the text after it, else NULL. */
static const char *after(const char *s, const char *word)
{
	size_t n = strlen(word);

	return s && !strncmp(s, word, n) ? s + n : NULL;
}

/* __warn() (kernel/panic.c): "WARNING: CPU: %d PID: %d at %s" */
static bool warn_at(const char *rest)
{
	rest = after(skip_num(after(rest, "CPU: ")), " PID: ");
	return after(skip_num(rest), " at ");
}

/*
 * x86's die header (arch/x86/kernel/dumpstack.c), "%s: %04lx [#%d]": up
 * to 6.9 "Oops: 0002 [#1] PREEMPT SMP", "general protection fault, ...:
 * 0000 [#1] ...", "invalid opcode: 0000 [#1] ..."; since 6.10 all start
 * with "Oops: ".
 */
static bool die_header(const char *text)
{
	for (const char *s = strstr(text, ": "); s; s = strstr(s + 1, ": ")) {
		const char *p = s + 2;
		int i;

		for (i = 0; i < 4 && isxdigit((unsigned char)p[i]); i++)
			;
		if (i == 4 && after(skip_num(after(p + 4, " [#")), "]"))
			return true;
	}
	return false;
}

/* ubsan_prologue(): "UBSAN: %s in %s" */
static bool ubsan_in(const char *rest)
{
	size_t n = strspn(rest, "abcdefghijklmnopqrstuvwxyz-_");

	return n && after(rest + n, " in ");
}

/* SLUB's slab_bug(): "BUG %s (%s): %pV", e.g. "BUG kmalloc-64 (Not tainted): ..." */
static bool slab_bug(const char *rest)
{
	size_t n = strcspn(rest, " :");

	return n && after(rest + n, " (") && strstr(rest + n, "): ");
}

/* "kernel BUG at %s:%u!" */
static bool bug_at(const char *rest)
{
	size_t n = strlen(rest);

	return n && rest[n - 1] == '!' && strchr(rest, ':');
}

static bool has_stall(const char *rest)
{
	return strstr(rest, "stall");
}

static bool hung_task(const char *rest)
{
	return strstr(rest, " blocked for more than ");
}

/* lockdep: "WARNING: %s-safe -> %s-unsafe lock order detected" */
static bool lock_order(const char *rest)
{
	return strstr(rest, "-safe -> ") &&
	       strstr(rest, "-unsafe lock order detected");
}

/*
 * The kernel's failure reports, as the kernels of 5.10 to 6.12 print them
 * (kernel/panic.c, lib/bug.c, arch/x86/kernel/dumpstack.c, arch/x86/mm/
 * fault.c, kernel/locking/lockdep.c, kernel/watchdog.c, kernel/hung_task.c,
 * kernel/rcu/tree_stall.h, mm/kasan, lib/ubsan.c, mm/slub.c), matched at
 * the start of a console line after the printk timestamp: a line that only
 * starts with the same word ("WARNING: disk almost full" from a test) is
 * not one. @test, if set, must accept the text after @prefix. A @loose
 * entry is a format user space might print too ("BUG: <anything>"): it
 * counts only when a stack dump follows within EVENT_LINES lines.
 */
struct marker {
	const char *prefix;
	bool (*test)(const char *rest);
	bool loose;
};

static const struct marker marker_table[] = {
	{ .prefix = "Kernel panic - not syncing" },
	{ .prefix = "WARNING: ", .test = warn_at },
	{ .prefix = "WARNING: possible circular locking dependency detected" },
	{ .prefix = "WARNING: possible recursive locking detected" },
	{ .prefix = "WARNING: possible irq lock inversion dependency detected" },
	{ .prefix = "WARNING: inconsistent lock state" },
	{ .prefix = "WARNING: bad unlock balance detected!" },
	{ .prefix = "WARNING: bad contention detected!" },
	{ .prefix = "WARNING: held lock freed!" },
	{ .prefix = "WARNING: lock held when returning to user space!" },
	{ .prefix = "WARNING: Nested lock was not taken" },
	{ .prefix = "WARNING: suspicious RCU usage" },
	{ .prefix = "WARNING: chain_key collision" },
	{ .prefix = "WARNING: ", .test = lock_order },
	{ .prefix = "", .test = die_header },
	{ .prefix = "kernel BUG at ", .test = bug_at },
	{ .prefix = "BUG: kernel NULL pointer dereference" },
	{ .prefix = "BUG: unable to handle " },
	{ .prefix = "BUG: KASAN: " },
	{ .prefix = "BUG: KFENCE: " },
	{ .prefix = "BUG: KCSAN: " },
	{ .prefix = "BUG: KMSAN: " },
	{ .prefix = "BUG: soft lockup - CPU#" },
	{ .prefix = "BUG: workqueue lockup - pool" },
	{ .prefix = "BUG: scheduling while atomic: " },
	{ .prefix = "BUG: sleeping function called from invalid context" },
	{ .prefix = "BUG: Bad page " },
	{ .prefix = "BUG: Bad rss-counter state " },
	{ .prefix = "BUG: non-zero pgtables_bytes on freeing mm: " },
	{ .prefix = "BUG: spinlock " },
	{ .prefix = "BUG: rwlock " },
	{ .prefix = "BUG: using smp_processor_id() in preemptible" },
	{ .prefix = "BUG: using __this_cpu_" },
	{ .prefix = "BUG: stack guard page was hit at " },
	{ .prefix = "BUG: TASK stack guard page was hit at " },
	{ .prefix = "BUG: Dentry " },
	{ .prefix = "BUG: MAX_" },
	{ .prefix = "BUG: ", .loose = true },
	{ .prefix = "BUG ", .test = slab_bug },
	{ .prefix = "UBSAN: ", .test = ubsan_in },
	{ .prefix = "Unable to handle kernel " },
	{ .prefix = "watchdog: BUG: soft lockup - CPU#" },
	{ .prefix = "watchdog: Watchdog detected hard LOCKUP" },
	{ .prefix = "NMI watchdog: Watchdog detected hard LOCKUP" },
	{ .prefix = "INFO: task ", .test = hung_task },
	{ .prefix = "rcu: INFO: ", .test = has_stall },
	{ .prefix = "INFO: rcu_", .test = has_stall },
	{ .prefix = "WARNING: ", .loose = true },
};

bool judge_allow_warn;

/*
 * A profile's allow-list (--allow-warn-from FILE): one POSIX extended
 * regular expression per line (leading blanks ignored; blank lines and
 * '#' comments aside), each
 * matched, unanchored, against a report's marker line without its printk
 * timestamp ("WARNING: CPU: 0 PID: 34 at drivers/misc/lkdtm/bugs.c:85
 * lkdtm_WARNING+0x8/0xb [lkdtm]"). A report one of them matches is named
 * as every other but does not fail the run.
 */
struct allow {
	regex_t re;
	char *pat;
	char *where;		/* "FILE:LINE" */
};

static struct allow *allows;
static size_t nallows, allows_cap;
static const char *allow_path;

/* Reports its errors (file:line) and returns -EINVAL, or 0. */
int judge_allow_file(const char *path)
{
	char *buf, *line, *next;
	unsigned int lineno = 0, bad = 0;
	int ret = read_file(path, 0, &buf, NULL);

	if (ret) {
		error_errno(ret, "cannot read the allow-list '%s'", path);
		return ret;
	}
	allow_path = path;
	for (line = buf; *line; line = next) {
		char *end = strchr(line, '\n');
		struct allow a;
		int err;

		next = end ? end + 1 : line + strlen(line);
		if (end)
			*end = '\0';
		lineno++;
		line += strspn(line, " \t");
		if (!*line || *line == '#')
			continue;
		err = regcomp(&a.re, line, REG_EXTENDED | REG_NOSUB);
		if (err) {
			char why[128];

			regerror(err, &a.re, why, sizeof(why));
			error("'%s:%u': bad pattern '%s': %s (one POSIX extended regular expression per line)",
			      path, lineno, line, why);
			bad++;
			continue;
		}
		a.pat = xstrdup(line);
		a.where = xasprintf("%s:%u", path, lineno);
		allows = xgrow(allows, &allows_cap, nallows, sizeof(*allows));
		allows[nallows++] = a;
	}
	free(buf);
	return bad ? -EINVAL : 0;
}

/* What allows a report whose marker line (no timestamp) is @text. */
static int allow_match(const char *text)
{
	if (judge_allow_warn)
		return ALLOW_ALL;
	for (size_t i = 0; i < nallows; i++)
		if (!regexec(&allows[i].re, text, 0, NULL, 0))
			return (int)i;
	return ALLOW_NONE;
}

/* " (allowed by ...)" for a report that @allow allowed, else "" */
static const char *allowed_by(int allow, char *buf, size_t len)
{
	if (allow == ALLOW_ALL)
		snprintf(buf, len, " (allowed: --allow-warn)");
	else if (allow >= 0)
		snprintf(buf, len, " (allowed by '%s', %s)", allows[allow].pat,
			 allows[allow].where);
	else
		*buf = '\0';
	return buf;
}

static const char cut_here[] = "------------[ cut here ]------------";
static const char end_trace[] = "---[ end ";

/* The guest's own lines the judge watches for. */
static const char *const poweroff_lines[] = {
	"reboot: Power down",		/* kernel/reboot.c, kernel_power_off() */
	"reboot: System halted",	/* kernel_halt() */
};

static const struct marker *marker_match(const char *text)
{
	for (size_t i = 0; i < ARRAY_SIZE(marker_table); i++) {
		const struct marker *m = &marker_table[i];
		const char *rest = after(text, m->prefix);

		if (rest && (!m->test || m->test(rest)))
			return m;
	}
	return NULL;
}

/* A stack dump's lines: what makes a loose marker a report. */
static bool dump_line(const char *text)
{
	const char *rest = after(skip_num(after(text, "CPU: ")), " PID: ");

	return after(text, "Call Trace:") || after(text, "Hardware name: ") ||
	       after(text, "RIP: ") || after(skip_num(rest), " Comm: ");
}

static void report_free(struct report *r)
{
	for (size_t i = 0; i < r->n; i++)
		free(r->lines[i]);
	free(r->lines);
	*r = (struct report) { 0 };
}

static void report_add(struct report *r, const char *line)
{
	r->lines = xrealloc(r->lines, (r->n + 1) * sizeof(*r->lines));
	r->lines[r->n++] = xstrdup(line);
}

void judge_init(struct judge *j)
{
	*j = (struct judge) { .init_seen = false };
	j->tail = xcalloc(TAIL_LINES, sizeof(*j->tail));
}

void judge_free(struct judge *j)
{
	free(j->splats);
	j->splats = NULL;
	report_free(&j->cur);
	for (size_t i = 0; i < EVENTS_SHOWN; i++)
		report_free(&j->shown[i]);
	for (size_t i = 0; j->tail && i < TAIL_LINES; i++)
		free(j->tail[i]);
	free(j->tail);
	j->tail = NULL;
}

/* The report being collected is complete: count it if it is one. */
static void report_end(struct judge *j)
{
	struct report *r = &j->cur;
	const char *text;

	if (!r->n)
		return;
	if (!r->confirmed) {
		report_free(r);
		return;
	}
	text = skip_stamp(r->lines[r->marker]);
	r->allow = allow_match(text);
	if (!j->events)
		snprintf(j->first, sizeof(j->first), "%.*s", REASON_MAX, text);
	if (r->allow == ALLOW_NONE && !j->failing++)
		snprintf(j->first_fail, sizeof(j->first_fail), "%.*s",
			 REASON_MAX, text);
	if (r->allow != ALLOW_NONE && !*j->first_allowed)
		snprintf(j->first_allowed, sizeof(j->first_allowed), "%.*s",
			 REASON_MAX, text);
	if (j->nsplats < SPLATS_MAX) {
		struct splat *sp;

		j->splats = xgrow(j->splats, &j->splats_cap, j->nsplats,
				  sizeof(*j->splats));
		sp = &j->splats[j->nsplats++];
		sp->line = r->start + r->marker;
		sp->allow = r->allow;
		snprintf(sp->text, sizeof(sp->text), "%.*s", REASON_MAX, text);
	}
	if (j->events < EVENTS_SHOWN)
		j->shown[j->events] = *r;
	else
		report_free(r);
	j->events++;
	*r = (struct report) { 0 };
}

/* One whole console line (no CR/LF, at most LINE_KEEP bytes). */
static void judge_line(struct judge *j, const char *s)
{
	const char *text = skip_stamp(s);
	struct report *r = &j->cur;
	const struct marker *m;
	size_t slot;

	j->lines++;
	if (!strncmp(text, PROTO_INIT_STARTED, strlen(PROTO_INIT_STARTED)))
		j->init_seen = true;
	for (size_t i = 0; i < ARRAY_SIZE(poweroff_lines); i++)
		if (!j->poweroff && text != s &&
		    !strcmp(text, poweroff_lines[i]))
			j->poweroff = poweroff_lines[i];

	m = marker_match(text);
	if (r->n && m && !m->loose && !r->confirmed)
		report_free(r);		/* a real report ends a maybe */
	if (r->n) {
		report_add(r, s);
		if (dump_line(text))
			r->confirmed = true;
		if (!strncmp(text, end_trace, strlen(end_trace)) ||
		    r->n - r->marker >= EVENT_LINES)
			report_end(j);
	} else if (m) {
		*r = (struct report) { .start = j->lines,
				       .confirmed = !m->loose };
		if (j->lines > 1 &&
		    !strcmp(skip_stamp(j->tail[(j->lines - 2) % TAIL_LINES]),
			    cut_here)) {
			report_add(r, j->tail[(j->lines - 2) % TAIL_LINES]);
			r->start--;
			r->marker = 1;
		}
		report_add(r, s);
	}
	slot = (j->lines - 1) % TAIL_LINES;
	free(j->tail[slot]);
	j->tail[slot] = xstrdup(s);
}

/*
 * Feed console bytes to the judge. A line longer than LINE_KEEP is judged
 * by its beginning; CRs are dropped.
 */
void judge_feed(struct judge *j, const char *buf, size_t len)
{
	j->bytes += len;
	for (size_t i = 0; i < len; i++) {
		char c = buf[i];

		if (c == '\n') {
			j->line[j->len] = '\0';
			judge_line(j, j->line);
			j->len = 0;
		} else if (c != '\r' && j->len < LINE_KEEP) {
			j->line[j->len++] = c;
		}
	}
}

/* The stream ended: judge a last unterminated line, close a report. */
void judge_finish(struct judge *j)
{
	if (j->len) {
		j->line[j->len] = '\0';
		judge_line(j, j->line);
		j->len = 0;
	}
	report_end(j);
}

/*
 * Print the first EVENTS_SHOWN reports, each from its marker (with a "cut
 * here" line just before it) to its "---[ end" line or EVENT_LINES lines,
 * then one line for each later one (its marker line and where it is), up
 * to SPLATS_MAX: every report is named, allowed or not.
 */
static void print_reports(const struct judge *j, const char *path)
{
	char why[512];

	for (size_t e = 0; e < j->events && e < EVENTS_SHOWN; e++) {
		const struct report *r = &j->shown[e];

		printf("%s: kernel failure report %zu, %s line %zu%s:\n", prog,
		       e + 1, path, r->start,
		       allowed_by(r->allow, why, sizeof(why)));
		for (size_t i = 0; i < r->n; i++)
			printf("%s\n", r->lines[i]);
	}
	for (size_t e = EVENTS_SHOWN; e < j->nsplats; e++) {
		const struct splat *sp = &j->splats[e];

		printf("%s: kernel failure report %zu, %s line %zu: %s%s\n",
		       prog, e + 1, path, sp->line, sp->text,
		       allowed_by(sp->allow, why, sizeof(why)));
	}
	if (j->events > j->nsplats && j->nsplats >= EVENTS_SHOWN)
		printf("%s: %zu more kernel failure reports in %s\n", prog,
		       j->events - j->nsplats, path);
}

static void print_tail(const struct judge *j, const char *path)
{
	size_t n = j->lines < TAIL_LINES ? j->lines : TAIL_LINES;

	printf("%s: last %zu console lines (%s):\n", prog, n, path);
	for (size_t i = j->lines - n; i < j->lines; i++)
		printf("%s\n", j->tail[i % TAIL_LINES]);
}

/* --check: judge a console log file. */
int judge_file(struct judge *j, const char *path)
{
	char buf[65536];
	ssize_t n;
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	while ((n = read(fd, buf, sizeof(buf))) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			n = -errno;
			close(fd);
			return n;
		}
		judge_feed(j, buf, n);
	}
	close(fd);
	judge_finish(j);
	return 0;
}

/*
 * Parse "<stage> <code>" lines. Returns the number of stages (result
 * included) or -EINVAL after reporting a malformed line.
 */
static int status_parse(const char *path, char *buf, struct stage *st,
			int max)
{
	char *line, *save;
	int n = 0, lineno = 0;

	for (line = strtok_r(buf, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		char name[32], *end;
		int off = 0;
		long code;

		lineno++;
		line[strcspn(line, "\r")] = '\0';
		if (sscanf(line, "%31[a-z0-9_-] %n", name, &off) != 1 || !off ||
		    !isdigit((unsigned char)line[off])) {
			error("'%s': line %d: '%s' is not '<stage> <code>'",
			      path, lineno, line);
			return -EINVAL;
		}
		errno = 0;
		code = strtol(line + off, &end, 10);
		if (*end || errno) {
			error("'%s': line %d: bad code '%s'", path, lineno,
			      line + off);
			return -EINVAL;
		}
		if (n < max) {
			snprintf(st[n].name, sizeof(st[n].name), "%s", name);
			st[n].code = code;
			n++;
		}
	}
	return n;
}

/* Optional TAP file: one point per stage, then the kernel, then the run. */
static int write_tap(const char *path, const struct stage *st, int nst,
		     const char *kernel_report, const struct verdict *v,
		     const char *console)
{
	char *text = NULL;
	size_t len;
	FILE *f = open_memstream(&text, &len);
	int t = 0, ret;

	if (!f)
		fatal_oom();
	fprintf(f, "TAP version 13\n");
	for (int i = 0; i < nst; i++) {
		if (!strcmp(st[i].name, PROTO_RESULT))
			continue;
		if (st[i].code)
			fprintf(f, "not ok %d - %s # exit status %ld\n", ++t,
				st[i].name, st[i].code);
		else
			fprintf(f, "ok %d - %s\n", ++t, st[i].name);
	}
	if (*kernel_report)
		fprintf(f, "not ok %d - kernel # %s\n", ++t, kernel_report);
	else
		fprintf(f, "ok %d - kernel\n", ++t);
	if (v->fail)
		fprintf(f, "not ok %d - run # %s\n", ++t, v->reason);
	else
		fprintf(f, "ok %d - run\n", ++t);
	fprintf(f, "1..%d\n# console: %s\n", t, console);
	if (fclose(f))
		fatal_oom();
	ret = write_file(path, text, len, 0644);
	free(text);
	return ret;
}

/* The first reason found is the verdict; later ones are printed as notes. */
static void __printf(2, 3) set_reason(struct verdict *v, const char *fmt,
				      ...)
{
	char buf[sizeof(v->reason)];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (v->fail) {
		printf("%s: also: %s\n", prog, buf);
		return;
	}
	memcpy(v->reason, buf, sizeof(buf));
	v->fail = true;
}

/* "vm1" for "DIR/vm1" or "DIR/vm1/" */
static char *vm_label(const char *vmdir)
{
	size_t len = strlen(vmdir);
	const char *s;

	while (len > 1 && vmdir[len - 1] == '/')
		len--;
	for (s = vmdir + len; s > vmdir && s[-1] != '/'; s--)
		;
	return xstrndup(s, vmdir + len - s);
}

/*
 * Judge the run of DIR/vm<N> from the console @j saw and the status file,
 * print the verdict and return the exit code. @out is NULL for --check. A
 * missing status file counts as no result. A guest that never started
 * rapido-init and said nothing else is not a test result: the image, the
 * memory, QEMU or the host failed, exit 128. @label ("vm2"), if set,
 * names the VM in a failure (several VMs); the verdict into *@verdict.
 */
int judge(const char *vmdir, struct judge *j, const struct outcome *out,
	  const char *results, const char *label, struct verdict *verdict)
{
	char *cpath = path_join(vmdir, "console.log");
	char *spath = path_join(vmdir, "status");
	char *name = vm_label(vmdir);
	char *sbuf = NULL;
	const struct stage *result = NULL, *failed = NULL;
	const struct run *r = out ? out->run : NULL;
	struct verdict v = { .fail = false };
	const char *who = label ? label : "", *sep = label ? ": " : "";
	struct stage st[64];
	int nst = 0, ret;
	bool env;

	ret = read_file(spath, O_NOFOLLOW, &sbuf, NULL);
	if (ret && ret != -ENOENT) {
		error_errno(ret, "cannot read the status '%s'", spath);
		ret = EXIT_RAPIDO;
		goto out;
	}
	if (sbuf)
		nst = status_parse(spath, sbuf, st, ARRAY_SIZE(st));
	for (int i = 0; i < nst; i++) {
		if (!strcmp(st[i].name, PROTO_RESULT)) {
			if (!result)
				result = &st[i];
		} else if (st[i].code && !failed) {
			failed = &st[i];
		}
	}
	env = !nst && !j->events && !j->init_seen && !j->poweroff;

	print_reports(j, cpath);
	if (!result && !j->events)
		print_tail(j, cpath);
	if (env && r && r->end == RUN_SILENT)
		set_reason(&v, "the guest printed nothing on the console in %d s under %s: it hangs there on this host (use --accel tcg or auto)",
			   KVM_SILENT_MS / 1000, out->accel);
	else if (env && !j->bytes && out)
		set_reason(&v, "the guest printed nothing on the console: the kernel did not start (%s, --mem %lu MiB)",
			   out->accel, out->mem);
	else if (env && !j->bytes)
		set_reason(&v, "the guest printed nothing on the console: the kernel did not start");
	else if (env && out)
		set_reason(&v, "the guest never started rapido-init: the kernel stopped before running /init (%s, --mem %lu MiB)",
			   out->accel, out->mem);
	else if (env)
		set_reason(&v, "the guest never started rapido-init: the kernel stopped before running /init");
	if (j->failing)
		set_reason(&v, "kernel: %s", j->first_fail);
	if (j->events > j->failing)
		printf("%s: %zu kernel failure report(s) allowed (%s), the first: %s\n",
		       prog, j->events - j->failing,
		       judge_allow_warn ? "--allow-warn" : allow_path,
		       j->first_allowed);
	if (failed)
		set_reason(&v, "%s exited with status %ld", failed->name,
			   failed->code);
	if (result && result->code && !failed)
		set_reason(&v, "the guest reported result %ld", result->code);
	if (nst < 0)
		set_reason(&v, "malformed status file %s", spath);
	if (!result && j->poweroff)
		set_reason(&v, "the guest powered off before reporting a result ('%s')",
			   j->poweroff);
	if (r && r->end == RUN_TIMEOUT)
		set_reason(&v, "timeout after %lu s", out->timeout);
	if (r && r->end == RUN_EXITED && r->wstatus) {
		char how[96];

		describe_wstatus(r->wstatus, how, sizeof(how));
		set_reason(&v, "qemu %s", how);
	}
	if (!result && nst >= 0 && !j->poweroff &&
	    !(r && r->end == RUN_TIMEOUT))
		set_reason(&v, "the guest did not report a result");

	if (env)
		fprintf(stderr, "%s: %s%s%s: rapido or the host failed, not the kernel under test (console: %s)\n",
			prog, who, sep, v.reason, cpath);
	else if (v.fail)
		printf("%s: FAIL: %s%s%s (console: %s)\n", prog, who, sep,
		       v.reason, cpath);
	else if (out)
		printf("%s: PASS (%s, %.1f s)\n", prog, name, out->secs);
	else
		printf("%s: PASS (%s)\n", prog, name);
	fflush(stdout);
	ret = env ? EXIT_RAPIDO : v.fail ? EXIT_FAIL : EXIT_PASS;
	if (results && write_tap(results, st, nst > 0 ? nst : 0,
				 j->failing ? j->first_fail : j->first, &v,
				 cpath))
		ret = EXIT_RAPIDO;
out:
	v.code = ret;
	if (verdict)
		*verdict = v;
	free(sbuf);
	free(name);
	free(cpath);
	free(spath);
	return ret;
}
