# SPDX-License-Identifier: GPL-2.0
#
# usb.sh: a USB mass-storage gadget made through configfs (libcomposite,
# usb_f_mass_storage) and bound to dummy_hcd's UDC, so that the guest's own
# USB host side enumerates it (usb-storage, sd), for the profiles
# usb-gadget and usb-rbd. Sourced after blockio.sh (die, wait_for);
# installed by usb.manifest.
#
#   usb_udc                 prints the first USB device controller, or dies
#   usb_gadget_add UDC PRODUCT BACKING
#                           make gadget $USB_G (product string PRODUCT)
#                           with one LUN on block device or file BACKING
#                           and bind it to UDC
#   usb_disk                prints the SCSI disk of a USB mass-storage
#                           device (1 if there is none yet)
#   usb_gadget_remove DISK  unbind, wait for DISK to go, remove the gadget

USB_G=/sys/kernel/config/usb_gadget/rapido

usb_udc() {
	local udc

	[ -d /sys/kernel/config/usb_gadget ] ||
		die "no /sys/kernel/config/usb_gadget: configfs or USB_CONFIGFS missing"
	udc=$(ls /sys/class/udc 2>/dev/null)
	udc=${udc%%$'\n'*}
	[ -n "$udc" ] || die "no USB device controller (is dummy_hcd in the kernel?)"
	echo "$udc"
}

usb_gadget_add() {
	local g=$USB_G

	mkdir $g $g/strings/0x409 $g/configs/c.1 $g/configs/c.1/strings/0x409 \
		$g/functions/mass_storage.0 || die "cannot make the gadget in configfs"
	echo 0x1d6b > $g/idVendor	# Linux Foundation
	echo 0x0104 > $g/idProduct	# Multifunction Composite Gadget
	echo rapido > $g/strings/0x409/manufacturer
	echo "$2" > $g/strings/0x409/product
	echo "rapido$RAPIDO_VM" > $g/strings/0x409/serialnumber
	echo mass-storage > $g/configs/c.1/strings/0x409/configuration
	echo 0 > $g/functions/mass_storage.0/lun.0/removable
	echo "$3" > $g/functions/mass_storage.0/lun.0/file ||
		die "the gadget cannot use $3"
	ln -s $g/functions/mass_storage.0 $g/configs/c.1/ ||
		die "cannot add mass_storage.0 to the configuration"
	echo "$1" > $g/UDC || die "cannot bind the gadget to $1"
}

usb_disk() {
	local d

	for d in /sys/block/sd*; do
		[ -e "$d" ] || continue
		case $(readlink -f "$d/device") in
		*/usb[0-9]*)
			echo "/dev/${d##*/}"
			return 0 ;;
		esac
	done
	return 1
}

usb_gadget_remove() {
	local g=$USB_G

	echo "" > $g/UDC || die "cannot unbind the gadget"
	wait_for 30 "$1 to go away" test ! -e "/sys/block/${1#/dev/}"
	rm $g/configs/c.1/mass_storage.0
	rmdir $g/configs/c.1/strings/0x409 $g/configs/c.1 \
		$g/functions/mass_storage.0 $g/strings/0x409 $g ||
		die "cannot remove the gadget"
}
