/*
 * qemu_interface.h: the host side of a domain's network interfaces
 *
 * A user interface needs nothing on the host. An ethernet interface
 * names a tap that must exist already. A bridge interface gets a tap of
 * its own, made persistent, enslaved to the bridge and brought up before
 * QEMU starts, and deleted when QEMU has ended; only a privileged (system)
 * daemon may do that.
 */
#pragma once

#include <stdbool.h>

#include "conf/domain_conf.h"

/*
 * qemuInterfacePrepare: check and create what the interfaces of `live`
 * (the definition about to run as domain `id`) need on the host. A bridge
 * interface without a <target dev> gets the name "iovtID.N", written into
 * `live`. -1 with an error naming the interface (and nothing left
 * created) on failure.
 */
int qemuInterfacePrepare(domainDef *live, int id, bool privileged);

/* qemuInterfaceCleanup: delete the taps qemuInterfacePrepare created for
 * `live` (NULL: nothing to do). Errors are logged. */
void qemuInterfaceCleanup(const domainDef *live);
