// SPDX-License-Identifier: GPL-2.0
/*
 * vm-args.c - QEMU's argv for one VM of rapido-vm (no shell: every word
 * an argument), the ${NAME}s of a profile's qemu file, and the choice of
 * the accelerator with its cache of KVM probes.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vm.h"

/*
 * The kernel command line of every VM, before the accelerator's words,
 * rapido's and the user's (APPEND, which can undo any of these):
 * no_timer_check skips the IO-APIC timer test (~30 ms of busy-waited
 * ticks under TCG) and pty.legacy_count=0 the 256 BSD pty pairs of
 * CONFIG_LEGACY_PTYS (~65 ms of device creation), which nothing uses.
 */
#define CMDLINE "console=ttyS0 panic=-1 reboot=t no_timer_check " \
		"pty.legacy_count=0"

/* ---- KVM probe cache: lines "<boot_id> <accel> <qemu path>" ---- */

int read_boot_id(char *id, size_t len)
{
	const char *path = "/proc/sys/kernel/random/boot_id";
	FILE *f = fopen(path, "re");
	int ret = 0;

	if (!f) {
		error_errno(errno, "cannot open '%s'", path);
		return -errno;
	}
	if (!fgets(id, len, f)) {
		ret = -EIO;
		error_errno(EIO, "cannot read '%s'", path);
	}
	fclose(f);
	id[strcspn(id, "\n")] = '\0';
	return ret;
}

static const char *cache_lookup(const char *cache, const char *id,
				const char *qemu)
{
	size_t idlen = strlen(id);
	const char *verdict = NULL;
	char *buf, *line, *save;
	size_t len;

	if (read_file(cache, O_NOFOLLOW, &buf, &len))
		return NULL;
	for (line = strtok_r(buf, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		char *acc = line + idlen + 1, *path = strchr(acc, ' ');

		if (strncmp(line, id, idlen) || line[idlen] != ' ' || !path ||
		    strcmp(path + 1, qemu))
			continue;
		*path = '\0';
		if (!strcmp(acc, "kvm"))
			verdict = "kvm";
		else if (!strcmp(acc, "tcg"))
			verdict = "tcg";
	}
	free(buf);
	return verdict;
}

/* Keep this boot's lines for other QEMUs, replace (NULL: drop) ours. */
int cache_store(const char *cache, const char *id, const char *qemu,
		       const char *verdict)
{
	size_t idlen = strlen(id), len;
	char *buf = NULL, *line, *save, *text = NULL;
	FILE *f = open_memstream(&text, &len);
	int ret;

	if (!f)
		fatal_oom();
	if (verdict)
		fprintf(f, "%s %s %s\n", id, verdict, qemu);
	if (!read_file(cache, O_NOFOLLOW, &buf, NULL)) {
		for (line = strtok_r(buf, "\n", &save); line;
		     line = strtok_r(NULL, "\n", &save)) {
			const char *path = strchr(line + idlen + 1, ' ');

			if (!strncmp(line, id, idlen) && line[idlen] == ' ' &&
			    path && strcmp(path + 1, qemu))
				fprintf(f, "%s\n", line);
		}
	}
	if (fclose(f))
		fatal_oom();
	ret = write_file(cache, text, len, 0644);
	free(buf);
	free(text);
	return ret;
}

/* ---- QEMU argv ---- */

static void args_add(struct args *a, char *s)
{
	a->v = xgrow(a->v, &a->cap, a->n + 1, sizeof(*a->v));
	a->v[a->n++] = s;
	a->v[a->n] = NULL;
}

static void __printf(2, 3) args_addf(struct args *a, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	args_add(a, xvasprintf(fmt, ap));
	va_end(ap);
}

void args_free(struct args *a)
{
	for (size_t i = 0; i < a->n; i++)
		free(a->v[i]);
	free(a->v);
	*a = (struct args) { 0 };
}

/* A value inside a QEMU option list: ',' is written ',,'. */
static char *qemu_escape(const char *s)
{
	size_t n = strlen(s);
	char *e = xmalloc(2 * n + 1), *p = e;

	for (; *s; s++) {
		*p++ = *s;
		if (*s == ',')
			*p++ = ',';
	}
	*p = '\0';
	return e;
}

/*
 * The ${NAME}s of an extra QEMU argument (a profile's qemu file), each
 * expanded per VM: ${VMDIR} its directory (','-escaped for QEMU option
 * lists), ${VIRTIO} the machine's virtio transport (device or pci), ${VM}
 * its number, ${MAC} its MAC (its NIC's, else 52:54:00:72:61:<number in
 * hex>, the lab's scheme).
 */
enum qvar { QVAR_VMDIR, QVAR_VIRTIO, QVAR_VM, QVAR_MAC };

static const char *const qvar_names[] = {
	[QVAR_VMDIR] = "VMDIR",
	[QVAR_VIRTIO] = "VIRTIO",
	[QVAR_VM] = "VM",
	[QVAR_MAC] = "MAC",
};

static void qvar_put(FILE *f, enum qvar i, const struct vm *vm,
		     const struct machine *m)
{
	char *e;

	switch (i) {
	case QVAR_VMDIR:
		e = qemu_escape(vm->dir);
		fputs(e, f);
		free(e);
		break;
	case QVAR_VIRTIO:
		fputs(m->virtio, f);
		break;
	case QVAR_VM:
		fprintf(f, "%u", vm->num);
		break;
	case QVAR_MAC:
		if (vm->mac)
			fputs(vm->mac, f);
		else
			fprintf(f, "52:54:00:72:61:%02x", vm->num);
		break;
	}
}

/*
 * Expand the ${NAME}s in @arg for @vm. With @vm NULL only check the names.
 * Returns 0 with *@out (unless checking) or -EINVAL after reporting an
 * unknown name.
 */
int expand_arg(const char *arg, const struct vm *vm,
	       const struct machine *m, char **out)
{
	char *text = NULL;
	size_t len;
	FILE *f = vm ? open_memstream(&text, &len) : NULL;
	int ret = 0;

	if (vm && !f)
		fatal_oom();
	for (const char *s = arg; *s; s++) {
		const char *end = NULL;
		size_t i, n;

		if (s[0] == '$' && s[1] == '{')
			end = strchr(s + 2, '}');
		if (!end) {
			if (f)
				fputc(*s, f);
			continue;
		}
		n = end - s - 2;
		for (i = 0; i < ARRAY_SIZE(qvar_names); i++)
			if (strlen(qvar_names[i]) == n &&
			    !strncmp(s + 2, qvar_names[i], n))
				break;
		if (i == ARRAY_SIZE(qvar_names)) {
			error("'%s': unknown ${%.*s} in a QEMU argument (known: ${VMDIR}, ${VIRTIO}, ${VM}, ${MAC})",
			      arg, (int)n, s + 2);
			ret = -EINVAL;
		} else if (f) {
			qvar_put(f, i, vm, m);
		}
		s = end;
	}
	if (f && fclose(f))
		fatal_oom();
	if (vm && !ret)
		*out = text;
	else
		free(text);
	return ret;
}

void build_args(struct args *a, const struct opts *o,
		       const struct vm *vm, const char *accel)
{
	char *status = qemu_escape(vm->status);
	char *qmp = qemu_escape(vm->qmp);
	const struct accel *ac = LOOKUP(accel_table, accel);
	/* several VMs in boot mode: vm1's console is the terminal */
	const struct mode *con = vm->boot ? o->mode : &mode_table[0];

	args_addf(a, "%s", o->qemu);
	args_addf(a, "-M");
	args_addf(a, "%s,accel=%s%s", o->machine->name, accel,
		  o->machine->opts);
	args_addf(a, "-m");
	args_addf(a, "%lu", o->mem);
	args_addf(a, "-smp");
	args_addf(a, "%lu", o->cpus);
	args_addf(a, "-nodefaults");
	args_addf(a, "-no-user-config");
	args_addf(a, "-display");
	args_addf(a, "none");
	args_addf(a, "-no-reboot");
	args_addf(a, "-kernel");
	args_addf(a, "%s", o->kernel);
	args_addf(a, "-initrd");
	args_addf(a, "%s", o->initrd);
	args_addf(a, "-append");
	args_addf(a, "%s%s " PROTO_MODE_KEY "%s " PROTO_VM_KEY "%u%s%s%s%s",
		  CMDLINE, ac && ac->cmdline ? ac->cmdline : "", o->mode->name,
		  vm->num, vm->guest_net ? " " PROTO_NET_KEY : "",
		  vm->guest_net ? vm->guest_net : "",
		  *o->append ? " " : "", o->append);
	args_addf(a, "-chardev");
	args_addf(a, "%s,id=con", con->chardev);
	args_addf(a, "-serial");
	args_addf(a, "chardev:con");
	if (con->monitor) {
		args_addf(a, "-mon");
		args_addf(a, "chardev=con");
	}
	args_addf(a, "-device");
	args_addf(a, "%s", o->machine->vserial);
	args_addf(a, "-chardev");
	args_addf(a, "file,id=rstatus,path=%s", status);
	args_addf(a, "-device");
	args_addf(a, "virtserialport,chardev=rstatus,name=" PROTO_STATUS_PORT);
	args_addf(a, "-qmp");
	args_addf(a, "unix:%s,server=on,wait=off", qmp);
	if (o->control) {
		char *ctl = qemu_escape(vm->control);

		args_addf(a, "-chardev");
		args_addf(a, "socket,id=rcontrol,path=%s", ctl);
		args_addf(a, "-device");
		args_addf(a, "virtserialport,chardev=rcontrol,name="
			  PROTO_CONTROL_PORT);
		free(ctl);
	}
	if (vm->tap) {
		args_addf(a, "-netdev");
		args_addf(a, "tap,id=lab,ifname=%s,script=no,downscript=no",
			  vm->tap);
		args_addf(a, "-device");
		args_addf(a, "virtio-net-%s,netdev=lab,mac=%s",
			  o->machine->virtio, vm->mac);
	}
	for (int i = 0; i < o->nextra; i++) {
		char *e;

		/* checked in main() */
		if (expand_arg(o->extra[i], vm, o->machine, &e))
			exit(EXIT_RAPIDO);
		args_add(a, e);
	}
	free(status);
	free(qmp);
}

/* auto: the cached verdict for this boot and QEMU, else what /dev/kvm says. */
const char *accel_choose(const struct opts *o, const char *cache,
				const char *id, bool *probe)
{
	const char *cached;
	int fd;

	*probe = false;
	if (!o->accel->probe)
		return o->accel->name;
	cached = id ? cache_lookup(cache, id, o->qemu) : NULL;
	if (cached)
		return cached;
	fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		if (errno != ENOENT)
			warn("cannot open '/dev/kvm': %s; using TCG",
			     strerror(errno));
		return "tcg";
	}
	close(fd);
	*probe = true;
	return "kvm";
}
