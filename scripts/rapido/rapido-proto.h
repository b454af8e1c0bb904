/* SPDX-License-Identifier: GPL-2.0 */
/*
 * rapido-proto.h - the guest/host protocol, one definition for both ends:
 * rapido-init (the guest's PID 1) and rapido-vm (the host's launcher).
 *
 * Kernel command line (rapido-vm writes it, rapido-init reads it):
 *	rapido.mode=test|boot	test: run the stages, report, power off;
 *				boot: then a shell on the console
 *	rapido.vm=N		the VM's number in its run (1..PROTO_VM_MAX)
 *	rapido.net=ADDR/PREFIX,GATEWAY,HOSTNAME
 *				a VM with a lab NIC (addresses only)
 *
 * Console: rapido-init's first line is PROTO_INIT_STARTED: from then on
 * the kernel got to user space.
 *
 * Virtio-serial port PROTO_STATUS_PORT, guest to host, one line a stage:
 *	<stage> <code>\n	init, modules, autorun, x, f
 *	result <code>\n		the first non-zero stage code, or 0
 *
 * Virtio-serial port PROTO_CONTROL_PORT, both ways: a request line (a QMP
 * command as JSON, or an action such as "drive_del hda"), answered by one
 * reply line ({"return": ...} or {"error": ...}); a line is at most
 * PROTO_CONTROL_MAX bytes with its newline, and the host answers within
 * PROTO_CONTROL_MS.
 */
#ifndef RAPIDO_PROTO_H
#define RAPIDO_PROTO_H

#define PROTO_MODE_KEY		"rapido.mode="
#define PROTO_MODE_TEST		"test"
#define PROTO_MODE_BOOT		"boot"
#define PROTO_VM_KEY		"rapido.vm="
#define PROTO_NET_KEY		"rapido.net="
#define PROTO_VM_MAX		64

#define PROTO_INIT_STARTED	"rapido-init: started"

#define PROTO_STATUS_PORT	"rapido.status"
#define PROTO_CONTROL_PORT	"rapido.control"
#define PROTO_CONTROL_MAX	4096
#define PROTO_CONTROL_MS	120000

/* the result line's stage name */
#define PROTO_RESULT		"result"

#endif /* RAPIDO_PROTO_H */
