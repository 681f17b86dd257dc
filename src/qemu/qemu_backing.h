/*
 * qemu_backing.h: the backing chains of a domain's qcow2 images
 */
#pragma once

#include "conf/domain_conf.h"

/*
 * qemuBackingDiscover: read the backing chain of every qcow2 file disk of
 * `live` with `qemu-img info --backing-chain` and record it in the disk
 * (so that the running definition shows it). A disk whose definition
 * gives a <backingStore> chain must have exactly that chain: -1 with an
 * error naming the disk and both images otherwise. An image qemu-img
 * cannot read is left to QEMU to report, unless its chain was given.
 */
int qemuBackingDiscover(domainDef *live);
