/*
 * testdriver.h: helpers for the tests that drive the QEMU driver in
 * process (no daemon), shared by test-driver.c and test-storage.c
 *
 * Each helper fails the test (g_error or an assertion) on an unexpected
 * error, naming it; every QEMU started is registered for killing at exit.
 */
#pragma once

#include "qemu/qemu_driver.h"

/* testDriverOpen: a driver for `cfg`, or fail. */
qemuDriver *testDriverOpen(const qemuDriverConfig *cfg);

/* testDriverDefine: define `xml` and return its uuid in `uuid`. */
void testDriverDefine(qemuDriver *drv, const char *xml, unsigned char *uuid);

/* testDriverStart: start the domain and register its QEMU for killing. */
void testDriverStart(qemuDriver *drv, const unsigned char *uuid);

/* testDriverWaitShutoff: poll until the domain is shut off, or fail. */
void testDriverWaitShutoff(qemuDriver *drv, const unsigned char *uuid, int timeoutMs);

/* testDriverLiveValue: the live value of throttle field `field` of `disk`. */
unsigned long long testDriverLiveValue(qemuDriver *drv, const unsigned char *uuid,
                                       const char *disk, int field);

/* testDriverSetLimit: set one field of `disk` with `flags`; the driver's
 * result (the error stays the thread's). */
int testDriverSetLimit(qemuDriver *drv, const unsigned char *uuid, const char *disk, int field,
                       unsigned long long v, unsigned int flags);

/* testDriverAssertLiveMatchesQEMU: the live limits of `disk` equal what
 * QEMU reports (qom-get through the driver). */
void testDriverAssertLiveMatchesQEMU(qemuDriver *drv, const unsigned char *uuid, const char *disk);

/* testDriverQemuHolds: what QEMU holds for guest `uuid`, as QEMU itself
 * reports it: its block nodes, its objects and its PCI devices (also those
 * behind bridges), by name, sorted, one line a kind. New string. */
char *testDriverQemuHolds(qemuDriver *drv, const unsigned char *uuid);
