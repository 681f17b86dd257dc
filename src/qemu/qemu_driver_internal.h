/*
 * qemu_driver_internal.h: what the driver lends the code beside it that
 * runs its own jobs (qemu_migration.c); not for the daemon
 *
 * Every function that changes a domain is called with its job held.
 */
#pragma once

#include "qemu_driver.h"
#include "qemu_process.h"

/* The domain with `uuid`, referenced; NULL with IOV_ERR_NO_DOMAIN. */
qemuDomainObj *qemuDriverObjLookup(qemuDriver *drv, const unsigned char *uuid);

/* The domain a migration brings, its job held (and a reference for the
 * caller): a new one in the tables, shut off, with no definition; or the
 * shut-off domain defined here with the same name and uuid (*kept set).
 * NULL with IOV_ERR_DOM_EXIST when another domain holds the name or the
 * uuid, or this one runs or is busy. */
qemuDomainObj *qemuDriverObjAddIncoming(qemuDriver *drv, const char *name,
                                        const unsigned char *uuid, bool *kept);

/* Drop `obj` from the tables (its job held). */
void qemuDriverObjRemove(qemuDriver *drv, qemuDomainObj *obj);

const qemuProcessConfig *qemuDriverProcessConfig(qemuDriver *drv);
int qemuDriverJobTimeoutMs(qemuDriver *drv);

/* A new domain id. */
int qemuDriverAllocId(qemuDriver *drv);

/* A lifecycle event of `obj` for the clients. */
void qemuDriverEmitLifecycle(qemuDomainObj *obj, int event, int detail);

/* Write the status file of a running `obj` now (a failure is logged). */
void qemuDriverSaveStatusOf(qemuDriver *drv, qemuDomainObj *obj);

/* Make `def` (taken over) the persistent definition of `obj`, on disk
 * then in memory, and tell the clients. */
int qemuDriverDefineOf(qemuDriver *drv, qemuDomainObj *obj, domainDef *def);

/* Forget the persistent definition of `obj` (none: nothing to do). */
int qemuDriverUndefineOf(qemuDriver *drv, qemuDomainObj *obj);

/* Every domain, referenced (a new array that unrefs them). */
GPtrArray *qemuDriverListObjs(qemuDriver *drv);
