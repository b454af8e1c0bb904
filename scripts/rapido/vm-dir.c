// SPDX-License-Identifier: GPL-2.0
/*
 * vm-dir.c - what a VM of rapido-vm owns on the host: its number (a lock
 * file DIR/vm<N>.lock held for the run), its directory DIR/vm<N> (made
 * afresh, never through a symlink), its --file drives, and its lab NIC.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "vm.h"

/*
 * Lock DIR/vm<N>.lock for one VM: 1 if another rapido-vm holds it, 0 with
 * the VM's number and paths set, or -errno (reported).
 */
static int vm_lock_one(const struct fleet *f, struct vm *vm, unsigned int n)
{
	char *path = xasprintf("%s/vm%u.lock", f->o->dir, n);
	int fd = openat(f->top_fd, strrchr(path, '/') + 1, O_RDWR | O_CREAT |
			O_NOFOLLOW | O_CLOEXEC, 0644);
	int err;

	if (fd < 0) {
		err = errno;
		if (err == ELOOP)
			error("cannot open lock file '%s': a symbolic link, not rapido's file (remove it)",
			      path);
		else
			error_errno(err, "cannot open lock file '%s'", path);
		free(path);
		return -err;
	}
	if (!flock(fd, LOCK_EX | LOCK_NB)) {
		free(path);
		vm->num = n;
		vm->lock_fd = fd;
		vm->label = xasprintf("vm%u", n);
		vm->prefix = xasprintf("vm%u| ", n);
		vm->dir = xasprintf("%s/vm%u", f->o->dir, n);
		vm->console = path_join(vm->dir, "console.log");
		vm->status = path_join(vm->dir, "status");
		vm->qmp = path_join(vm->dir, "qmp.sock");
		vm->qemu_err = path_join(vm->dir, "qemu.err");
		vm->control = path_join(vm->dir, "control.sock");
		vm->tap_file = path_join(vm->dir, "result.tap");
		return 0;
	}
	err = errno;
	close(fd);
	if (err != EWOULDBLOCK) {
		error_errno(err, "cannot lock '%s'", path);
		free(path);
		return -err;
	}
	if (f->o->vm)
		error("'%s': this vm number is in use by another rapido-vm: drop --vm or pick another",
		      path);
	free(path);
	return 1;
}

/*
 * Take the run's f->n vm numbers: --vm N and the ones after it, or the
 * first free number and the free ones above it. Each stays locked (and
 * its lock inherited by nothing: close-on-exec) until rapido-vm exits.
 */
int vms_lock(struct fleet *f)
{
	const struct opts *o = f->o;
	unsigned int n = o->vm ? o->vm : 1, got = 0;

	f->top_fd = open(o->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (f->top_fd < 0) {
		error_errno(errno, "cannot open directory '%s'", o->dir);
		return -errno;
	}
	for (; got < f->n && n <= VM_MAX; n++) {
		int ret = vm_lock_one(f, &f->vms[got], n);

		if (ret < 0 || (ret && o->vm))
			return ret < 0 ? ret : -EBUSY;
		if (!ret)
			got++;
	}
	if (got == f->n)
		return 0;
	if (f->n == 1)
		error("'%s': all vm numbers 1..%d are in use: wait for a VM to end",
		      o->dir, VM_MAX);
	else
		error("'%s': %u free vm numbers of 1..%d needed, %u found: wait for a VM to end",
		      o->dir, f->n, VM_MAX, got);
	return -EBUSY;
}

/* ---- the lab NIC ---- */

void describe_wstatus(int st, char *buf, size_t len)
{
	if (WIFEXITED(st))
		snprintf(buf, len, "exited with status %d", WEXITSTATUS(st));
	else if (WIFSIGNALED(st))
		snprintf(buf, len, "was killed by signal %d (%s)",
			 WTERMSIG(st), strsignal(WTERMSIG(st)));
	else
		snprintf(buf, len, "ended with wait status 0x%x", st);
}

/*
 * --lab PROG: run `PROG nic N` (stdin /dev/null, stderr ours) and take
 * its netns=, tap=, mac=, net= lines. Returns 0 or -errno (reported).
 */
static int lab_nic(const struct opts *o, struct vm *vm)
{
	char num[16], buf[2048], *line, *save;
	char *const argv[] = { (char *)o->lab, "nic", num, NULL };
	size_t have = 0;
	int pfd[2], st;
	ssize_t n;
	pid_t pid;

	snprintf(num, sizeof(num), "%u", vm->num);
	if (pipe2(pfd, O_CLOEXEC)) {
		error_errno(errno, "cannot create a pipe");
		return -errno;
	}
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		error_errno(errno, "cannot fork for '%s'", o->lab);
		return -errno;
	}
	if (!pid) {
		int in = open("/dev/null", O_RDONLY);

		if (in < 0 || dup2(in, 0) < 0 || dup2(pfd[1], 1) < 0)
			_exit(127);
		execv(o->lab, argv);
		error_errno(errno, "cannot execute '%s'", o->lab);
		_exit(127);
	}
	close(pfd[1]);
	while (have < sizeof(buf) - 1 &&
	       ((n = read(pfd[0], buf + have, sizeof(buf) - 1 - have)) > 0 ||
		(n < 0 && errno == EINTR)))
		have += n > 0 ? n : 0;
	buf[have] = '\0';
	close(pfd[0]);
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	if (!WIFEXITED(st) || WEXITSTATUS(st)) {
		char how[96];

		describe_wstatus(st, how, sizeof(how));
		error("'%s': 'nic %u' failed: it %s (above)", o->lab, vm->num,
		      how);
		return -EIO;
	}
	for (line = strtok_r(buf, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		static const char *const keys[] = { "netns=", "tap=", "mac=",
						     "net=" };
		char **slot[] = { &vm->netns, &vm->tap, &vm->mac,
				  &vm->guest_net };

		for (size_t i = 0; i < ARRAY_SIZE(keys); i++)
			if (!strncmp(line, keys[i], strlen(keys[i])) &&
			    valid_word(line + strlen(keys[i])))
				*slot[i] = xstrdup(line + strlen(keys[i]));
	}
	if (!vm->netns || !vm->tap || !vm->mac || !vm->guest_net ||
	    !valid_mac(vm->mac) || strlen(vm->tap) >= IF_NAMESIZE) {
		error("'%s': 'nic %u' did not print valid netns=, tap=, mac= and net= lines",
		      o->lab, vm->num);
		return -EINVAL;
	}
	return 0;
}

/* The VM's NIC, from --lab or the options; its namespace opened. */
int vm_nic(const struct opts *o, struct vm *vm)
{
	char *path;

	vm->netns_fd = -1;
	if (o->lab) {
		int err = lab_nic(o, vm);

		if (err)
			return err;
	} else {
		vm->netns = o->netns ? xstrdup(o->netns) : NULL;
		vm->tap = o->tap ? xstrdup(o->tap) : NULL;
		vm->mac = o->mac ? xstrdup(o->mac) : NULL;
		vm->guest_net = o->guest_net ? xstrdup(o->guest_net) : NULL;
	}
	if (!vm->netns)
		return 0;
	path = xasprintf("/run/netns/%s", vm->netns);
	vm->netns_fd = open(path, O_RDONLY | O_CLOEXEC);
	if (vm->netns_fd < 0) {
		int err = errno;

		if (err == ENOENT)
			error("'%s': no such network namespace (is the lab up? make rapido-lab-up)",
			      path);
		else
			error_errno(err, "cannot open the network namespace '%s'",
				    path);
		free(path);
		return -err;
	}
	free(path);
	return 0;
}

static const char *file_kind(mode_t mode)
{
	return S_ISDIR(mode) ? "a directory" :
	       S_ISLNK(mode) ? "a symbolic link" :
	       S_ISFIFO(mode) ? "a FIFO" : "a device file";
}

/*
 * Check (@clean false) or remove (@clean true) an old run's files in the
 * directory @dfd: only regular files and sockets, which is what rapido and
 * QEMU make there; anything else is refused, and nothing is removed.
 */
static int vm_dir_scan(const struct vm *vm, int dfd, bool clean)
{
	struct dirent *de;
	int ret = 0, fd = dup(dfd);
	DIR *d = fd < 0 ? NULL : fdopendir(fd);

	if (!d) {
		if (fd >= 0)
			close(fd);
		error_errno(errno, "cannot read directory '%s'", vm->dir);
		return -errno;
	}
	/* the dup shares the offset of the scan before */
	rewinddir(d);
	while ((de = readdir(d))) {
		char *p = xasprintf("%s/%s", vm->dir, de->d_name);
		struct stat st;

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..")) {
			free(p);
			continue;
		}
		if (fstatat(dfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW)) {
			ret = -errno;
			error_errno(errno, "cannot stat the old run's file '%s'",
				    p);
		} else if (!S_ISREG(st.st_mode) && !S_ISSOCK(st.st_mode)) {
			ret = -EEXIST;
			error("'%s': %s, not a file of rapido's: refusing to clean %s (move it away)",
			      p, file_kind(st.st_mode), vm->dir);
		} else if (clean && unlinkat(dfd, de->d_name, 0)) {
			ret = -errno;
			error_errno(errno, "cannot remove the old run's file '%s'",
				    p);
		}
		free(p);
	}
	closedir(d);
	return ret;
}

/*
 * DIR/vm<N>/ empty: nothing of an earlier run may be judged again. It is
 * opened without following a symlink, and emptied through its descriptor.
 */
int vm_dir_fresh(const struct fleet *f, struct vm *vm)
{
	const char *name = strrchr(vm->dir, '/') + 1;
	int fd, err;

	if (vm->dfd >= 0)
		close(vm->dfd);
	vm->dfd = -1;
	if (mkdirat(f->top_fd, name, 0755) && errno != EEXIST) {
		error_errno(errno, "cannot create directory '%s'", vm->dir);
		return -errno;
	}
	fd = openat(f->top_fd, name,
		    O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		struct stat st;

		err = errno;
		if ((err == ELOOP || err == ENOTDIR) &&
		    !fstatat(f->top_fd, name, &st, AT_SYMLINK_NOFOLLOW)) {
			error("'%s': %s, not the directory rapido made: refusing to use it (remove it)",
			      vm->dir, file_kind(st.st_mode));
		} else {
			error_errno(err, "cannot open directory '%s'", vm->dir);
		}
		return -err;
	}
	err = vm_dir_scan(vm, fd, false);
	if (!err)
		err = vm_dir_scan(vm, fd, true);
	if (err) {
		close(fd);
		return err;
	}
	vm->dfd = fd;
	return 0;
}

/* --file: fresh sparse files in DIR/vm<N>, for the profile's drives. */
int vm_files(const struct opts *o, const struct vm *vm)
{
	for (int i = 0; i < o->nfiles; i++) {
		const char *spec = o->files[i];
		unsigned long long size;
		char *path;
		int fd, ret = 0;

		parse_file_opt(spec, &size);
		path = xasprintf("%s/%.*s", vm->dir,
				 (int)(strrchr(spec, ':') - spec), spec);
		fd = openat(vm->dfd, strrchr(path, '/') + 1, O_WRONLY | O_CREAT |
			    O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (fd < 0 || ftruncate(fd, size)) {
			ret = -errno;
			error_errno(errno, "cannot create the --file '%s'", path);
		}
		if (fd >= 0)
			close(fd);
		free(path);
		if (ret)
			return ret;
	}
	return 0;
}
