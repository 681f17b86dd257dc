/*
 * qemu_migration.h: live migration of a running guest between two
 * daemons, its limits in force on arrival
 *
 * libvirt's version 3 sequence, each step a call of the daemon:
 *
 *   source        Begin    the live definition (every disk's limits as in
 *                          force, groups, hot-plugged disks) and a cookie;
 *                          the domain's job is held from here
 *   destination   Prepare  QEMU started paused with -incoming defer and
 *                          every limit in force, then migrate-incoming;
 *                          returns the URI of the stream
 *   source        Perform  migrate, followed by QEMU's MIGRATION events
 *   destination   Finish   the guest resumed (or QEMU killed, the domain
 *                          gone, when the migration failed)
 *   source        Confirm  QEMU stopped (or the guest resumed on failure)
 *
 * Each side holds the domain's job from its first step to its last, so a
 * change of the guest in between is refused ("a migration is in
 * progress"); the events reach the job without taking it. Peer-to-peer,
 * the source daemon runs the destination's steps itself through a
 * qemuMigrationPeer.
 *
 * The cookie is a small key file of iovirt's own, versioned
 * (QEMU_MIGRATION_COOKIE_VERSION): the domain's name and uuid, the
 * source's host, and after Perform QEMU's figures (total time, downtime).
 */
#pragma once

#include <stdbool.h>

#include "qemu_domain.h"
#include "qemu_driver.h"

#define QEMU_MIGRATION_COOKIE_VERSION 1

/* Where a destination's QEMU listens for the stream: `address`
 * (default 127.0.0.1: both daemons on one machine) and the first free
 * port of portMin..portMax (default 49152..49215, libvirt's). */
void qemuMigrationConfigure(const char *address, int portMin, int portMax);

/* Begin (source): hold the job of running domain `uuid` for a migration
 * of `owner` (the client connection, for its cleanup), and return its
 * live definition as XML (new) with the cookie in *cookie (new). With
 * `destXML` (may be NULL) that document is sent instead, as libvirt's
 * destination_xml: the destination checks it. */
char *qemuMigrationBegin(qemuDriver *drv, const unsigned char *uuid, const char *destXML,
                         unsigned int flags, void *owner, char **cookie);

/* Prepare (destination): check the definition `xml` (a domain of that
 * name or uuid here, a missing disk path, groups that do not hold are
 * refused), start its QEMU waiting for the stream, and return the
 * stream's URI in *uriOut (new). `uriIn` (may be NULL): the client's
 * tcp:HOST:PORT. On failure nothing of it is left. */
int qemuMigrationPrepare(qemuDriver *drv, const char *xml, const char *cookie, const char *uriIn,
                         unsigned int flags, void *owner, char **uriOut, char **cookieOut);

/* Perform (source): send the guest to `uri`, waiting for the end. On
 * failure the guest runs on here (resumed if the migration paused it)
 * and the job ends; on success the job stays for Confirm. */
int qemuMigrationPerform(qemuDriver *drv, const unsigned char *uuid, const char *uri,
                         unsigned int flags, void *owner, char **cookieOut);

/* Finish (destination): with `cancelled` false, wait for the stream's
 * end and resume the guest (unless IOV_MIGRATE_PAUSED), defined here with
 * IOV_MIGRATE_PERSIST_DEST (as `persistXML`, or its live definition);
 * *out gets its identity. Cancelled, or when that fails: QEMU is killed,
 * the domain is gone, and the result is -1 with the error. */
int qemuMigrationFinish(qemuDriver *drv, const char *name, const char *cookie, unsigned int flags,
                        bool cancelled, const char *persistXML, qemuDomainIdent *out);

/* Confirm (source): the migration succeeded (`cancelled` false): stop
 * QEMU, undefine with IOV_MIGRATE_UNDEFINE_SOURCE; or it failed on the
 * destination: resume the guest here. The job ends. */
int qemuMigrationConfirm(qemuDriver *drv, const unsigned char *uuid, unsigned int flags,
                         bool cancelled);

/* What a peer-to-peer migration calls on the destination (the daemon
 * implements it with its client side). Each returns -1 with the error. */
typedef struct {
    int (*prepare)(void *opaque, const char *xml, const char *cookie, unsigned int flags,
                   char **uriOut);
    int (*finish)(void *opaque, const char *name, const char *cookie, unsigned int flags,
                  bool cancelled);
} qemuMigrationPeer;

/* Perform (source), peer-to-peer: Begin, the peer's Prepare, the
 * stream, the peer's Finish and Confirm, in one call. */
int qemuMigrationPerformPeer(qemuDriver *drv, const unsigned char *uuid, const char *destXML,
                             unsigned int flags, const qemuMigrationPeer *peer, void *opaque);

/* The progress of a domain's migration (libvirt's job info). */
typedef struct {
    int type;      /* iovDomainJobType */
    int operation; /* libvirt's virDomainJobOperation: 5 out (source), 4 in; 0 unknown */
    unsigned long long elapsedMs, remainingMs;
    unsigned long long dataTotal, dataProcessed, dataRemaining;
    unsigned long long memTotal, memProcessed, memRemaining;
    unsigned long long downtimeMs; /* QEMU's, once completed; 0: unknown */
    unsigned long long totalTimeMs;
    unsigned long long memBps; /* the stream's rate, bytes/s */
    bool haveDowntime;
} qemuMigrationJobInfo;

/* The migration under way of `uuid` (query-migrate; never waits for the
 * job), or with `completed` the last one that ended here. */
int qemuMigrationGetJobInfo(qemuDriver *drv, const unsigned char *uuid, bool completed,
                            qemuMigrationJobInfo *out);

#define QEMU_MIGRATION_OPERATION_IN 4
#define QEMU_MIGRATION_OPERATION_OUT 5

/* Cancel the stream of the migration under way (migrate_cancel); the
 * migration's own call then ends with the guest running here. */
int qemuMigrationAbort(qemuDriver *drv, const unsigned char *uuid);

/* qemuMigrationAbandoned: whether a guest found at a daemon's start was arriving by migration when
 * the daemon stopped: its QEMU still takes the incoming stream, or waits for the Finish that would
 * have resumed it. */
bool qemuMigrationAbandoned(const qemuDomainObj *obj);

/* A client connection went: the migrations it began and did not end are
 * ended (a destination's QEMU killed, a source's guest resumed unless
 * its memory has all left). Runs in a thread of its own. */
void qemuMigrationOwnerGone(qemuDriver *drv, void *owner);
