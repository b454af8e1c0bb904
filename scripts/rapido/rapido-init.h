/* SPDX-License-Identifier: GPL-2.0 */
/*
 * rapido-init.h - what the units of rapido-init (the guest's PID 1) share:
 *	rapido-init.c		mounts, command line, modules, stages, shell
 *	rapido-init-net.c	rapido.net=: the lab NIC over rtnetlink
 *	rapido-init-port.c	virtio-serial ports: status lines, rapido-qmp
 */
#ifndef RAPIDO_INIT_H
#define RAPIDO_INIT_H

#include <stdio.h>
#include <sys/types.h>

#include "rapido-proto.h"
#include "util.h"

#define NET_PROG	"rapido-net"	/* run as: the network setup alone */
#define QMP_PROG	"rapido-qmp"	/* run as: the control channel */

/*
 * An information line on the console (fd 2, one write), prefixed with the
 * program; problems go through util.h's error_errno().
 */
#define say(fmt, ...)	dprintf(2, "%s: " fmt "\n", prog, ##__VA_ARGS__)

/* rapido-init-net.c */
int net_setup(const char *ifname, const char *val);
int net_main(int argc, char **argv);

/* rapido-init-port.c */
/* look for the status port (again, if it was not there yet) */
void status_open(void);
/* "<what> <code>" on the status port (kept until the port shows up) */
void report(const char *what, int code);
/* the last pending lines out; says so if the host gets no result */
void close_status(void);
int qmp_main(int argc, char **argv);

#endif /* RAPIDO_INIT_H */
