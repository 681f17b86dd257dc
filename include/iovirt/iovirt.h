/*
 * iovirt.h: the public API of iovirt
 *
 * iovirt manages QEMU guests and the I/O limits of each of their disks.
 * This header is everything a program, iovsh or the Python module may use:
 * connections, domains, the throttle field table, typed parameters and
 * errors.
 *
 * Conventions, for every function below unless its comment says otherwise:
 *   - a function returning int returns 0 (or a count) on success and -1 on
 *     failure; one returning a pointer returns NULL on failure;
 *   - on failure the calling thread's last error is set (iovGetLastError);
 *     every public entry point resets it first;
 *   - strings returned through "char **" belong to the caller, who frees
 *     them with free().
 */
#ifndef IOVIRT_IOVIRT_H
#define IOVIRT_IOVIRT_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#define IOV_VERSION_MAJOR 0
#define IOV_VERSION_MINOR 4
#define IOV_VERSION_MICRO 0

/* ------------------------------------------------------------------ */
/* Errors                                                              */
/* ------------------------------------------------------------------ */

/* Severity of an error (libvirt's virErrorLevel values). */
typedef enum {
    IOV_ERR_NONE = 0,
    IOV_ERR_WARNING = 1,
    IOV_ERR_ERROR = 2,
} iovErrorLevel;

/* Where an error comes from (libvirt's virErrorDomain values, so that the
 * numbers travel unchanged over the wire). */
typedef enum {
    IOV_FROM_NONE = 0,
    IOV_FROM_XML = 5,
    IOV_FROM_DOM = 6,
    IOV_FROM_RPC = 7,
    IOV_FROM_CONF = 9,
    IOV_FROM_QEMU = 10,
    IOV_FROM_REMOTE = 13,
    IOV_FROM_DOMAIN = 20,
} iovErrorDomain;

/* What went wrong (libvirt's virErrorNumber values). */
typedef enum {
    IOV_ERR_OK = 0,
    IOV_ERR_INTERNAL_ERROR = 1,
    IOV_ERR_NO_MEMORY = 2,
    IOV_ERR_NO_SUPPORT = 3,
    IOV_ERR_NO_CONNECT = 5,
    IOV_ERR_INVALID_CONN = 6,
    IOV_ERR_INVALID_DOMAIN = 7,
    IOV_ERR_INVALID_ARG = 8,
    IOV_ERR_OPERATION_FAILED = 9,
    IOV_ERR_XML_ERROR = 27,
    IOV_ERR_DOM_EXIST = 28,
    IOV_ERR_OPERATION_DENIED = 29,
    IOV_ERR_SYSTEM_ERROR = 38,
    IOV_ERR_RPC = 39,
    IOV_ERR_NO_DOMAIN = 42,
    IOV_ERR_AUTH_FAILED = 45,
    IOV_ERR_OPERATION_INVALID = 55,
    IOV_ERR_CONFIG_UNSUPPORTED = 67,
    IOV_ERR_OPERATION_TIMEOUT = 68,
    IOV_ERR_ARGUMENT_UNSUPPORTED = 74,
    IOV_ERR_OPERATION_ABORTED = 78, /* a migration cancelled (iovDomainAbortJob) */
    IOV_ERR_OVERFLOW = 82,
    IOV_ERR_OPERATION_UNSUPPORTED = 84,
    IOV_ERR_RESOURCE_BUSY = 87,
    IOV_ERR_MIGRATE_FINISH_OK = 93, /* a destination dropped an unfinished migration */
} iovErrorNumber;

/*
 * An error, as recorded for the calling thread and as carried on the wire.
 * `message` is the full text, already carrying its prefix (for example
 * "invalid argument: "); it is what every tool prints.
 */
typedef struct iovError {
    int code;      /* an iovErrorNumber */
    int domain;    /* an iovErrorDomain */
    char *message; /* full text; NULL only when code is IOV_ERR_OK */
    int level;     /* an iovErrorLevel */
    char *str1;    /* extra information, may be NULL */
    char *str2;
    char *str3;
    int int1;
    int int2;
} iovError;
typedef iovError *iovErrorPtr;

/*
 * iovGetLastError: the last error of the calling thread, or NULL when the
 * last call succeeded. The object stays owned by the library and stays
 * valid until the thread's next call into the library.
 */
const iovError *iovGetLastError(void);

/* iovGetLastErrorMessage: the last error's message, or "no error". Never
 * NULL; owned by the library, valid like iovGetLastError's result. */
const char *iovGetLastErrorMessage(void);

/* iovResetLastError: forget the calling thread's last error. */
void iovResetLastError(void);

/*
 * iovCopyLastError: copy the calling thread's last error into *to, which
 * the caller later clears with iovResetError. Returns the error code, 0
 * when there is no error.
 */
int iovCopyLastError(iovErrorPtr to);

/* iovResetError: free the strings of *err and zero it. NULL is accepted. */
void iovResetError(iovErrorPtr err);

/* ------------------------------------------------------------------ */
/* Typed parameters                                                    */
/* ------------------------------------------------------------------ */

#define IOV_TYPED_PARAM_FIELD_LENGTH 80

/* Value types of a typed parameter (libvirt's virTypedParameterType). */
typedef enum {
    IOV_TYPED_PARAM_INT = 1,
    IOV_TYPED_PARAM_UINT = 2,
    IOV_TYPED_PARAM_LLONG = 3,
    IOV_TYPED_PARAM_ULLONG = 4,
    IOV_TYPED_PARAM_DOUBLE = 5,
    IOV_TYPED_PARAM_BOOLEAN = 6,
    IOV_TYPED_PARAM_STRING = 7,
} iovTypedParameterType;

/*
 * A named value. A STRING value is owned by the array that holds it: the
 * library frees the strings it returned with iovTypedParamsClear; arrays a
 * caller builds are the caller's to free.
 */
typedef struct iovTypedParameter {
    char field[IOV_TYPED_PARAM_FIELD_LENGTH];
    int type; /* an iovTypedParameterType */
    union {
        int i;
        unsigned int ui;
        long long l;
        unsigned long long ul;
        double d;
        char b;
        char *s;
    } value;
} iovTypedParameter;
typedef iovTypedParameter *iovTypedParameterPtr;

/* iovTypedParamsClear: free the STRING values of params[0..nparams-1]
 * (not the array itself). NULL is accepted. */
void iovTypedParamsClear(iovTypedParameterPtr params, int nparams);

/* iovTypedParamsFree: iovTypedParamsClear, then free() the array itself
 * (one built by the iovTypedParamsAdd* functions). NULL is accepted. */
void iovTypedParamsFree(iovTypedParameterPtr params, int nparams);

/*
 * iovTypedParamsAdd*: append the parameter `name` (shorter than
 * IOV_TYPED_PARAM_FIELD_LENGTH, not yet in the array) with `value` to
 * *params, which holds *nparams parameters in room for *maxparams. Start
 * with *params NULL and both counts 0; the array grows with realloc() and
 * is freed with iovTypedParamsFree. A STRING value is copied. Returns 0,
 * or -1 (the array unchanged) with IOV_ERR_INVALID_ARG.
 */
int iovTypedParamsAddInt(iovTypedParameterPtr *params, int *nparams, int *maxparams,
                         const char *name, int value);
int iovTypedParamsAddUInt(iovTypedParameterPtr *params, int *nparams, int *maxparams,
                          const char *name, unsigned int value);
int iovTypedParamsAddLLong(iovTypedParameterPtr *params, int *nparams, int *maxparams,
                           const char *name, long long value);
int iovTypedParamsAddULLong(iovTypedParameterPtr *params, int *nparams, int *maxparams,
                            const char *name, unsigned long long value);
int iovTypedParamsAddDouble(iovTypedParameterPtr *params, int *nparams, int *maxparams,
                            const char *name, double value);
int iovTypedParamsAddBoolean(iovTypedParameterPtr *params, int *nparams, int *maxparams,
                             const char *name, int value);
int iovTypedParamsAddString(iovTypedParameterPtr *params, int *nparams, int *maxparams,
                            const char *name, const char *value);

/* iovTypedParamsGet: the parameter called `name` in params[0..nparams-1]
 * (pointing into the array), or NULL. Sets no error. */
iovTypedParameterPtr iovTypedParamsGet(iovTypedParameterPtr params, int nparams, const char *name);

/*
 * iovTypedParamsGet*: the value of the parameter `name`: 1 with *value
 * set (a STRING points into the array), 0 when there is no such
 * parameter (*value untouched), -1 with IOV_ERR_INVALID_ARG when it has
 * another type.
 */
int iovTypedParamsGetInt(iovTypedParameterPtr params, int nparams, const char *name, int *value);
int iovTypedParamsGetUInt(iovTypedParameterPtr params, int nparams, const char *name,
                          unsigned int *value);
int iovTypedParamsGetLLong(iovTypedParameterPtr params, int nparams, const char *name,
                           long long *value);
int iovTypedParamsGetULLong(iovTypedParameterPtr params, int nparams, const char *name,
                            unsigned long long *value);
int iovTypedParamsGetDouble(iovTypedParameterPtr params, int nparams, const char *name,
                            double *value);
int iovTypedParamsGetBoolean(iovTypedParameterPtr params, int nparams, const char *name,
                             int *value);
int iovTypedParamsGetString(iovTypedParameterPtr params, int nparams, const char *name,
                            const char **value);

/* ------------------------------------------------------------------ */
/* The throttle field table                                            */
/* ------------------------------------------------------------------ */

/* The RFC's names of the throttle fields, as accepted everywhere. */
#define IOV_THROTTLE_BPS "bps"
#define IOV_THROTTLE_BPS_RD "bps_rd"
#define IOV_THROTTLE_BPS_WR "bps_wr"
#define IOV_THROTTLE_IOPS "iops"
#define IOV_THROTTLE_IOPS_RD "iops_rd"
#define IOV_THROTTLE_IOPS_WR "iops_wr"
#define IOV_THROTTLE_BPS_MAX "bps_max"
#define IOV_THROTTLE_BPS_RD_MAX "bps_rd_max"
#define IOV_THROTTLE_BPS_WR_MAX "bps_wr_max"
#define IOV_THROTTLE_IOPS_MAX "iops_max"
#define IOV_THROTTLE_IOPS_RD_MAX "iops_rd_max"
#define IOV_THROTTLE_IOPS_WR_MAX "iops_wr_max"
#define IOV_THROTTLE_BPS_MAX_LENGTH "bps_max_length"
#define IOV_THROTTLE_BPS_RD_MAX_LENGTH "bps_rd_max_length"
#define IOV_THROTTLE_BPS_WR_MAX_LENGTH "bps_wr_max_length"
#define IOV_THROTTLE_IOPS_MAX_LENGTH "iops_max_length"
#define IOV_THROTTLE_IOPS_RD_MAX_LENGTH "iops_rd_max_length"
#define IOV_THROTTLE_IOPS_WR_MAX_LENGTH "iops_wr_max_length"
#define IOV_THROTTLE_IOPS_SIZE "iops_size"
#define IOV_THROTTLE_GROUP "group"

/* The largest limit QEMU accepts, 10^15. */
#define IOV_THROTTLE_VALUE_MAX 1000000000000000ULL

/* Families: naming one member of one of the first four families in a set
 * sets the whole family (members not named become 0). */
typedef enum {
    IOV_THROTTLE_FAMILY_BYTES = 0,
    IOV_THROTTLE_FAMILY_IOPS,
    IOV_THROTTLE_FAMILY_BYTES_MAX,
    IOV_THROTTLE_FAMILY_IOPS_MAX,
    IOV_THROTTLE_FAMILY_BYTES_MAX_LENGTH,
    IOV_THROTTLE_FAMILY_IOPS_MAX_LENGTH,
    IOV_THROTTLE_FAMILY_SIZE,
    IOV_THROTTLE_FAMILY_GROUP,
    IOV_THROTTLE_FAMILY_LAST
} iovThrottleFamily;

/* What a field's number counts. */
typedef enum {
    IOV_THROTTLE_UNIT_BYTES_PER_SEC = 0,
    IOV_THROTTLE_UNIT_IOPS,
    IOV_THROTTLE_UNIT_SECONDS,
    IOV_THROTTLE_UNIT_BYTES,
    IOV_THROTTLE_UNIT_NONE, /* the group name */
    IOV_THROTTLE_UNIT_LAST
} iovThrottleUnit;

/*
 * One throttle field. The table is static data owned by the library.
 * The index fields tie a field to its relatives (-1 when there is none):
 * a base limit knows its burst max, a max knows its base and its length,
 * a length knows its max.
 */
typedef struct iovThrottleField {
    const char *name;      /* iovirt's and the RFC's name: "bps_rd" */
    const char *alias;     /* libvirt's name: "read_bytes_sec" */
    const char *qemu_key;  /* key in QEMU's throttle-group limits, or NULL */
    int family;            /* an iovThrottleFamily */
    int type;              /* IOV_TYPED_PARAM_ULLONG or _STRING */
    int unit;              /* an iovThrottleUnit */
    const char *unit_name; /* "bytes/s", "IO/s", "s", "bytes" or "" */
    const char *help;      /* one line of help */
    int base_index;        /* for a max or a length: its base field */
    int max_index;         /* for a base or a length: its max field */
    int length_index;      /* for a base or a max: its length field */
    int accepts_suffix;    /* 1 when size suffixes (1M, 4KiB) make sense */
    int libvirt_index;     /* its position in libvirt's order (virsh blkdeviotune,
                            * blockIoTune(), <iotune>): 0 .. count-1 */
    int is_length;         /* 1 for a burst length: seconds, 0 meaning 1 */
    int whole_family;      /* 1 when naming it in a set sets its whole family */
    int total_index;       /* for a read or write field: the total it may not
                            * be set with; -1 otherwise */
} iovThrottleField;

/* iovThrottleFieldCount: the number of fields in the table (20). */
int iovThrottleFieldCount(void);

/* iovThrottleFieldByIndex: field i (0 <= i < count) in table order, or
 * NULL when i is out of range. Never sets an error. */
const iovThrottleField *iovThrottleFieldByIndex(int i);

/* iovThrottleFieldLookup: the index of the field called `name`, accepting
 * iovirt's names and libvirt's aliases; -1 (and no error) when unknown. */
int iovThrottleFieldLookup(const char *name);

/* iovThrottleUnitName: a printable name for an iovThrottleUnit. */
const char *iovThrottleUnitName(int unit);

/*
 * iovParseSize: parse a non-negative integer with an optional size
 * suffix, as virsh does: none or b/byte/bytes = 1; k, m, g, t, p, e and
 * KiB, MiB, ... = powers of 1024; KB, MB, ... = powers of 1000; case does
 * not matter. Anything else (a sign, a fraction, spaces, an unknown
 * suffix, a value above 2^64-1) fails with IOV_ERR_INVALID_ARG naming
 * the text, or IOV_ERR_OVERFLOW.
 */
int iovParseSize(const char *str, unsigned long long *value);

/* ------------------------------------------------------------------ */
/* Domains: states, flags                                              */
/* ------------------------------------------------------------------ */

/* A domain's state (libvirt's virDomainState values). */
typedef enum {
    IOV_DOMAIN_NOSTATE = 0,
    IOV_DOMAIN_RUNNING = 1,
    IOV_DOMAIN_BLOCKED = 2,
    IOV_DOMAIN_PAUSED = 3,
    IOV_DOMAIN_SHUTDOWN = 4,
    IOV_DOMAIN_SHUTOFF = 5,
    IOV_DOMAIN_CRASHED = 6,
    IOV_DOMAIN_PMSUSPENDED = 7,
    IOV_DOMAIN_LAST
} iovDomainState;

/* Why a domain is in its state (libvirt's values). */
typedef enum {
    IOV_DOMAIN_RUNNING_UNKNOWN = 0,
    IOV_DOMAIN_RUNNING_BOOTED = 1,
    IOV_DOMAIN_RUNNING_MIGRATED = 2,           /* arrived by migration */
    IOV_DOMAIN_RUNNING_MIGRATION_CANCELED = 9, /* its migration failed or was cancelled */
    IOV_DOMAIN_RUNNING_UNPAUSED = 5,
} iovDomainRunningReason;

typedef enum {
    IOV_DOMAIN_PAUSED_UNKNOWN = 0,
    IOV_DOMAIN_PAUSED_USER = 1,
    IOV_DOMAIN_PAUSED_MIGRATION = 2, /* arriving, or leaving, by migration */
    IOV_DOMAIN_PAUSED_IOERROR = 5,
    IOV_DOMAIN_PAUSED_SHUTTING_DOWN = 8,
    IOV_DOMAIN_PAUSED_STARTING_UP = 11,
} iovDomainPausedReason;

typedef enum {
    IOV_DOMAIN_SHUTOFF_UNKNOWN = 0,
    IOV_DOMAIN_SHUTOFF_SHUTDOWN = 1,  /* the guest powered off */
    IOV_DOMAIN_SHUTOFF_DESTROYED = 2, /* forced off */
    IOV_DOMAIN_SHUTOFF_CRASHED = 3,   /* QEMU ended unexpectedly */
    IOV_DOMAIN_SHUTOFF_MIGRATED = 5,  /* it runs on another host now */
    IOV_DOMAIN_SHUTOFF_FAILED = 6,    /* failed to start */
    IOV_DOMAIN_SHUTOFF_DAEMON = 8,
} iovDomainShutoffReason;

/* Where a change applies (libvirt's virDomainModificationImpact). */
typedef enum {
    IOV_DOMAIN_AFFECT_CURRENT = 0, /* the running guest if it runs, else the definition */
    IOV_DOMAIN_AFFECT_LIVE = 1 << 0,   /* the running guest only; an error if it is shut off */
    IOV_DOMAIN_AFFECT_CONFIG = 1 << 1, /* the persistent definition only */
} iovDomainModificationImpact;

/* iovDomainCreate flags. */
typedef enum {
    IOV_DOMAIN_START_PAUSED = 1 << 0, /* leave the vCPUs paused */
} iovDomainCreateFlags;

/* iovDomainGetXMLDesc flags. */
typedef enum {
    IOV_DOMAIN_XML_SECURE = 1 << 0,   /* accepted, no effect */
    IOV_DOMAIN_XML_INACTIVE = 1 << 1, /* the persistent definition */
} iovDomainXMLFlags;

/* iovConnectListAllDomains flags (libvirt's values); 0 lists all. */
typedef enum {
    IOV_CONNECT_LIST_DOMAINS_ACTIVE = 1 << 0,
    IOV_CONNECT_LIST_DOMAINS_INACTIVE = 1 << 1,
    IOV_CONNECT_LIST_DOMAINS_PERSISTENT = 1 << 2,
    IOV_CONNECT_LIST_DOMAINS_TRANSIENT = 1 << 3,
    IOV_CONNECT_LIST_DOMAINS_RUNNING = 1 << 4,
    IOV_CONNECT_LIST_DOMAINS_PAUSED = 1 << 5,
    IOV_CONNECT_LIST_DOMAINS_SHUTOFF = 1 << 6,
    IOV_CONNECT_LIST_DOMAINS_OTHER = 1 << 7,
    IOV_CONNECT_LIST_DOMAINS_AUTOSTART = 1 << 10,
    IOV_CONNECT_LIST_DOMAINS_NO_AUTOSTART = 1 << 11,
} iovConnectListAllDomainsFlags;

/* Get flag: string parameters (group) may be returned. */
#define IOV_TYPED_PARAM_STRING_OKAY (1 << 2)

/* ------------------------------------------------------------------ */
/* Connections                                                         */
/* ------------------------------------------------------------------ */

/*
 * A connection to an iovirt daemon. URIs:
 *   iovirt:///system     the root daemon (sockets under /run/iovirt)
 *   iovirt:///session    the calling user's daemon, started on demand
 *   iovirt+unix:///system?socket=PATH   (or ///session) a given socket
 * NULL means $IOVIRT_DEFAULT_URI, else iovirt:///system for root and
 * iovirt:///session for anyone else. A connection may be used by several
 * threads at once.
 */
typedef struct _iovConnect iovConnect;
typedef iovConnect *iovConnectPtr;

/* A domain handle: a name, a uuid and an id (-1 when not running), as
 * they were when the handle was made. Handles keep their connection. */
typedef struct _iovDomain iovDomain;
typedef iovDomain *iovDomainPtr;

/* iovConnectOpen: open a read-write connection (NULL on error). */
iovConnectPtr iovConnectOpen(const char *uri);

/* iovConnectOpenReadOnly: open a connection that may read everything
 * and change nothing (the daemon enforces it). */
iovConnectPtr iovConnectOpenReadOnly(const char *uri);

/* iovConnectClose: drop the caller's reference; the connection closes
 * when no domain handle holds it either. Returns the references left,
 * or -1 on error. NULL is accepted (returns 0). */
int iovConnectClose(iovConnectPtr conn);

/* iovConnectRef: take one more reference. */
int iovConnectRef(iovConnectPtr conn);

/* iovConnectIsReadOnly: 1, 0, or -1 on error. */
int iovConnectIsReadOnly(iovConnectPtr conn);

/* iovConnectGetURI: the URI the connection was opened with (the default
 * resolved when NULL was given), which reaches the same daemon again
 * (new string). */
char *iovConnectGetURI(iovConnectPtr conn);

/* iovConnectGetTransport: how the connection reaches its daemon: "unix",
 * "tls" or "ssh" (a static string, not to be freed), or NULL on error. */
const char *iovConnectGetTransport(iovConnectPtr conn);

/* iovConnectGetHostname: the daemon's host name (new string). */
char *iovConnectGetHostname(iovConnectPtr conn);

/* iovConnectGetVersion: QEMU's version, major * 1000000 + minor * 1000
 * + micro. iovConnectGetLibVersion: the daemon's iovirt version, same
 * encoding. */
int iovConnectGetVersion(iovConnectPtr conn, unsigned long long *version);
int iovConnectGetLibVersion(iovConnectPtr conn, unsigned long long *version);

/*
 * iovConnectListAllDomains: the domains matching `flags`
 * (iovConnectListAllDomainsFlags; 0 = all), sorted by name. *domains
 * receives a new NULL-terminated array of handles: free each with
 * iovDomainFree, then the array with free(). Returns the count, or -1.
 * `domains` may be NULL to count only.
 */
int iovConnectListAllDomains(iovConnectPtr conn, iovDomainPtr **domains, unsigned int flags);

/* ---- bulk statistics ---- */

/* Statistics groups (libvirt's virDomainStatsTypes values, and iovirt's
 * IOTHROTTLE). 0 asks for every group the daemon has:
 *   STATE       state.state, state.reason
 *   CPU_TOTAL   cpu.time (ns)
 *   BLOCK       block.count; block.N.name, .path, .rd.reqs, .rd.bytes,
 *               .rd.times, .wr.*, .fl.reqs, .fl.times, .allocation,
 *               .capacity, .physical
 *   IOTHROTTLE  iothrottle.count; iothrottle.N.name and iothrottle.N.FIELD
 *               for each throttle field: each disk's limits in force */
typedef enum {
    IOV_DOMAIN_STATS_STATE = 1 << 0,
    IOV_DOMAIN_STATS_CPU_TOTAL = 1 << 1,
    IOV_DOMAIN_STATS_BLOCK = 1 << 5,
    IOV_DOMAIN_STATS_IOTHROTTLE = 1 << 30,
} iovDomainStatsTypes;

/* iovConnectGetAllDomainStats flags: the iovConnectListAllDomainsFlags
 * filters ACTIVE ... OTHER, and: */
#define IOV_CONNECT_GET_ALL_DOMAINS_STATS_NOWAIT (1u << 29)       /* accepted: never waits */
#define IOV_CONNECT_GET_ALL_DOMAINS_STATS_ENFORCE_STATS (1u << 31) /* refuse unknown groups */

/* One domain's statistics: a handle and parameters named "group.key". */
typedef struct iovDomainStatsRecord {
    iovDomainPtr dom;
    iovTypedParameterPtr params;
    int nparams;
} iovDomainStatsRecord;
typedef iovDomainStatsRecord *iovDomainStatsRecordPtr;

/*
 * iovConnectGetAllDomainStats: in one call, the statistics groups `stats`
 * (iovDomainStatsTypes) of every domain matching the filter in `flags`,
 * sorted by name. The daemon answers from each domain's last published
 * state and never waits for a change in progress. *retStats receives a
 * new NULL-terminated array; free it with iovDomainStatsRecordListFree.
 * Returns the number of records, or -1.
 */
int iovConnectGetAllDomainStats(iovConnectPtr conn, unsigned int stats,
                                iovDomainStatsRecordPtr **retStats, unsigned int flags);

/* iovDomainStatsRecordListFree: free a list from
 * iovConnectGetAllDomainStats (its handles, parameters and strings).
 * NULL is fine. */
void iovDomainStatsRecordListFree(iovDomainStatsRecordPtr *stats);

/* ------------------------------------------------------------------ */
/* Domains                                                             */
/* ------------------------------------------------------------------ */

/* Lookups: a new handle, or NULL with IOV_ERR_NO_DOMAIN. */
iovDomainPtr iovDomainLookupByName(iovConnectPtr conn, const char *name);
iovDomainPtr iovDomainLookupByUUID(iovConnectPtr conn, const unsigned char *uuid);
iovDomainPtr iovDomainLookupByUUIDString(iovConnectPtr conn, const char *uuid);
iovDomainPtr iovDomainLookupByID(iovConnectPtr conn, int id);

/* iovDomainDefineXML: define a domain from its XML (docs/formatdomain.md),
 * or replace the persistent definition of the domain of that name (a
 * running guest keeps its live state until it restarts). New handle. */
iovDomainPtr iovDomainDefineXML(iovConnectPtr conn, const char *xml);

/* iovDomainUndefine: forget the persistent definition; a running guest
 * runs on as a transient domain and disappears when it stops. */
int iovDomainUndefine(iovDomainPtr dom);

/* iovDomainCreate, iovDomainCreateWithFlags: start the guest, its disks'
 * limits in force before its first instruction. IOV_DOMAIN_START_PAUSED
 * leaves it paused. The handle's id is updated. */
int iovDomainCreate(iovDomainPtr dom);
int iovDomainCreateWithFlags(iovDomainPtr dom, unsigned int flags);

/* iovDomainDestroy: stop the guest now (SIGTERM, then SIGKILL). */
int iovDomainDestroy(iovDomainPtr dom);

/* iovDomainShutdown: press the guest's power button and return; the
 * domain becomes shut off when the guest powers off. */
int iovDomainShutdown(iovDomainPtr dom);

/* iovDomainReboot: reset the guest (flags 0); QEMU and the limits stay. */
int iovDomainReboot(iovDomainPtr dom, unsigned int flags);

/* iovDomainSuspend, iovDomainResume: pause and resume the vCPUs. */
int iovDomainSuspend(iovDomainPtr dom);
int iovDomainResume(iovDomainPtr dom);

/* iovDomainGetXMLDesc: the live definition, or with
 * IOV_DOMAIN_XML_INACTIVE the persistent one (new string). */
char *iovDomainGetXMLDesc(iovDomainPtr dom, unsigned int flags);

typedef struct iovDomainInfo {
    unsigned char state;          /* an iovDomainState */
    unsigned long long maxMem;    /* KiB */
    unsigned long long memory;    /* KiB */
    unsigned short nrVirtCpu;
    unsigned long long cpuTime;   /* ns */
} iovDomainInfo;
typedef iovDomainInfo *iovDomainInfoPtr;

int iovDomainGetInfo(iovDomainPtr dom, iovDomainInfoPtr info);

/* iovDomainGetState: state (iovDomainState) and reason; `reason` may be
 * NULL; flags must be 0. */
int iovDomainGetState(iovDomainPtr dom, int *state, int *reason, unsigned int flags);

/* 1, 0, or -1 on error. */
int iovDomainIsActive(iovDomainPtr dom);
int iovDomainIsPersistent(iovDomainPtr dom);

/* The handle's name (owned by the handle), uuid (16 bytes into `uuid`),
 * uuid as text (37 bytes into `buf`) and id (-1 when not running). */
const char *iovDomainGetName(iovDomainPtr dom);
int iovDomainGetUUID(iovDomainPtr dom, unsigned char *uuid);
int iovDomainGetUUIDString(iovDomainPtr dom, char *buf);
int iovDomainGetID(iovDomainPtr dom);

/* iovDomainRef / iovDomainFree: references to a handle. */
int iovDomainRef(iovDomainPtr dom);
int iovDomainFree(iovDomainPtr dom);

/* ------------------------------------------------------------------ */
/* Disk I/O limits                                                     */
/* ------------------------------------------------------------------ */

/*
 * iovDomainBlockIoThrottle: change the I/O limits of disk `disk` (its
 * target, "vda", or its source path) of `dom`.
 *
 * `params` names the fields to change (IOV_THROTTLE_BPS, ... or libvirt's
 * names); numbers are IOV_TYPED_PARAM_ULLONG, the group a STRING (""
 * leaves the group). Naming any member of a family (bytes, iops, bytes
 * max, iops max) sets the whole family: its other members become 0.
 * Families not named keep their values; so do iops_size, the group and
 * the burst lengths unless named. 0 removes a limit. The merged result is
 * validated (QEMU's rules, docs/formatdomain.md) before anything changes;
 * an error names the disk, the field, the value and the rule. For a disk
 * in a group, the group and every member change.
 *
 * `flags`: IOV_DOMAIN_AFFECT_CURRENT (the running guest if it runs, else
 * the definition), _LIVE (the running guest only), _CONFIG (the
 * persistent definition only), LIVE|CONFIG (both, or neither).
 *
 * A read-only connection gets IOV_ERR_OPERATION_DENIED.
 */
int iovDomainBlockIoThrottle(iovDomainPtr dom, const char *disk, iovTypedParameterPtr params,
                             int nparams, unsigned int flags);

/*
 * iovDomainGetBlockIoThrottle: the limits of `disk` in force (LIVE, or
 * CURRENT on a running guest) or saved (CONFIG); LIVE|CONFIG is refused.
 *
 * With *nparams == 0, sets *nparams to the number of fields (20) and
 * returns. Otherwise fills at most *nparams entries of `params` in table
 * order (iovThrottleFieldByIndex) with iovirt's names and sets *nparams to
 * the number filled. The group is a STRING ("" when none) owned by
 * `params`: free it with iovTypedParamsClear.
 */
/*
 * A flag of the reads of limits (iovDomainGetBlockIoThrottle,
 * iovDomainGetThrottleGroup): ask the hypervisor. The values are those
 * QEMU's throttle-group object holds now (qom-get of its "limits"), not
 * the daemon's live definition; with LIVE or CURRENT on a running guest
 * only. What `iovsh domblkcheck` compares with the definitions.
 */
typedef enum {
    IOV_DOMAIN_THROTTLE_HYPERVISOR = 1 << 16,
} iovDomainThrottleHypervisorFlag;

/*
 * A flag of the same reads: the daemon's live definition as it stands.
 * After the monitor passthrough (iovDomainQemuMonitorCommand) the live
 * reads answer from QEMU, since QEMU may have been changed behind the
 * daemon's back; this flag asks for the definition iovirt last applied
 * instead, the one iovDomainGetXMLDesc shows. Compared with
 * IOV_DOMAIN_THROTTLE_HYPERVISOR, it tells drift.
 */
typedef enum {
    IOV_DOMAIN_THROTTLE_DEFINITION = 1 << 17,
} iovDomainThrottleDefinitionFlag;

int iovDomainGetBlockIoThrottle(iovDomainPtr dom, const char *disk, iovTypedParameterPtr params,
                                int *nparams, unsigned int flags);

/* Block statistics of one disk of a running guest. -1 means unknown. */
typedef struct iovDomainBlockStatsStruct {
    long long rd_req;
    long long rd_bytes;
    long long wr_req;
    long long wr_bytes;
    long long errs;
} iovDomainBlockStatsStruct;
typedef iovDomainBlockStatsStruct *iovDomainBlockStatsPtr;

/* iovDomainBlockStats: `size` is sizeof(*stats). */
int iovDomainBlockStats(iovDomainPtr dom, const char *disk, iovDomainBlockStatsPtr stats,
                        size_t size);

/*
 * iovDomainBlockStatsFlags: the statistics as typed parameters (LLONG):
 * rd_operations, rd_bytes, wr_operations, wr_bytes, flush_operations,
 * rd_total_times, wr_total_times, flush_total_times (ns). Same *nparams
 * protocol as iovDomainGetBlockIoThrottle; flags must be 0.
 */
int iovDomainBlockStatsFlags(iovDomainPtr dom, const char *disk, iovTypedParameterPtr params,
                             int *nparams, unsigned int flags);

/* ------------------------------------------------------------------ */
/* Devices: disks that come and go                                    */
/* ------------------------------------------------------------------ */

/*
 * iovDomainAttachDeviceFlags: add the disk of `xml`, one <disk> document
 * (docs/formatdomain.md; libvirt's <iotune> is accepted), to `dom`.
 * `flags`: IOV_DOMAIN_AFFECT_CURRENT, _LIVE (hot-plug into the running
 * guest: a virtio disk, its limits in force before the guest sees it),
 * _CONFIG (the persistent definition), or LIVE|CONFIG. All or nothing:
 * on error QEMU and the definitions are as before, and the message names
 * the step that failed and QEMU's words. Returns 0 or -1.
 */
int iovDomainAttachDeviceFlags(iovDomainPtr dom, const char *xml, unsigned int flags);

/*
 * iovDomainDetachDeviceFlags: remove the disk whose target the <disk>
 * document `xml` names. Live, the guest is asked to release it and
 * iovirt waits for it (15 s); past that the call fails with
 * IOV_ERR_OPERATION_TIMEOUT and "unplug pending": the disk stays, limited
 * and shown with unplug='pending' in the live XML, and goes by itself
 * when the guest lets it go. Returns 0 or -1.
 */
int iovDomainDetachDeviceFlags(iovDomainPtr dom, const char *xml, unsigned int flags);

/* iovDomainDetachDeviceAlias: the same, the disk named by its device
 * alias (`alias` "disk-vdb", as the DEVICE_REMOVED event names it). */
int iovDomainDetachDeviceAlias(iovDomainPtr dom, const char *alias, unsigned int flags);

/*
 * iovDomainUpdateDeviceFlags: change a disk to the <disk> document `xml`
 * (found by its target). Only its limits and its <throttlefilters> may
 * differ (and a cdrom's medium): the limits are the whole new state (a
 * limit not given becomes 0) and are set as iovDomainBlockIoThrottle
 * sets them; new filters change the disk's groups as
 * iovDomainSetDiskThrottleFilters does, in the same change. Anything
 * else that differs is refused, named. `flags` as for attach, and
 * libvirt's FORCE (4), which changes nothing. Returns 0 or -1.
 */
int iovDomainUpdateDeviceFlags(iovDomainPtr dom, const char *xml, unsigned int flags);

/* ------------------------------------------------------------------ */
/* Stacked limits: a domain's named throttle groups                     */
/* ------------------------------------------------------------------ */

/*
 * A domain may declare named throttle groups (<throttlegroups>); a disk
 * passes, after its own limits, through the groups its <throttlefilters>
 * name, in order, and the disks naming a group share its limits
 * (docs/formatdomain.md). These calls are iovirt's own: virsh and
 * python3-libvirt 9.0 do not have them.
 */

/*
 * iovDomainSetThrottleGroup: create group `group` of `dom` (1 to 64
 * characters of A-Z a-z 0-9 _ . -) or change its limits. `params` names
 * the fields to change, as iovDomainBlockIoThrottle's do (iovirt's or
 * libvirt's names, ULLONG values, the same family rules; no group field);
 * nparams 0 creates a group without limits or changes nothing. A new group
 * starts without limits. The merged result is validated before anything
 * changes (`group 'cap': bps_max (500) must not be below bps (1000)`).
 * Live, a new group is added to QEMU and a changed one gets only the keys
 * that differ; its limits change for every disk that passes through it
 * at once, and the disks that joined it with <iothrottle group=> carry
 * the new limits too. `flags`: IOV_DOMAIN_AFFECT_CURRENT, _LIVE, _CONFIG
 * or LIVE|CONFIG (both, or neither). Refused on a read-only connection.
 */
int iovDomainSetThrottleGroup(iovDomainPtr dom, const char *group, iovTypedParameterPtr params,
                              int nparams, unsigned int flags);

/*
 * iovDomainGetThrottleGroup: the limits of group `group` in force (LIVE,
 * or CURRENT on a running guest) or saved (CONFIG); LIVE|CONFIG is
 * refused. *params becomes a new array of the 19 numeric fields in table
 * order (iovirt's names, ULLONG) and *nparams its length: free it with
 * iovTypedParamsFree(*params, *nparams). -1 with IOV_ERR_INVALID_ARG
 * when the domain has no such group.
 */
int iovDomainGetThrottleGroup(iovDomainPtr dom, const char *group, iovTypedParameterPtr *params,
                              int *nparams, unsigned int flags);

/*
 * iovDomainDelThrottleGroup: delete group `group` (flags as for the set).
 * Refused, changing nothing, while a disk still names it in
 * <throttlefilters> or as its <iothrottle group=> (`throttle group 'cap'
 * is still used by disk 'vda'`). Live, its QEMU object is deleted.
 */
int iovDomainDelThrottleGroup(iovDomainPtr dom, const char *group, unsigned int flags);

/*
 * iovDomainListThrottleGroups: the names of the groups `dom` declares
 * (LIVE or CURRENT on a running guest: in force; CONFIG: saved), in the
 * order of the definition. Returns their number and, when `names` is not
 * NULL, sets *names to a new NULL-terminated array: free() each name and
 * the array. -1 on error.
 */
int iovDomainListThrottleGroups(iovDomainPtr dom, char ***names, unsigned int flags);

/* One disk of a domain, as iovDomainListDisks gives it. */
typedef struct iovDomainDisk {
    char *target;       /* "vda" */
    char *source;       /* the image's path, a network URL (nbd://host:10809/name,
                         * nbd+unix:///name?socket=PATH, rbd://host/pool/image...),
                         * or "-" for a drive without a medium */
    char *group;        /* the group it shares (<iothrottle group=>), "" when none */
    char **filters;     /* the declared groups of its <throttlefilters>, in
                         * order; NULL-terminated, never NULL */
    unsigned int flags; /* iovDomainDiskFlags */
} iovDomainDisk;
typedef iovDomainDisk *iovDomainDiskPtr;

typedef enum {
    /* live: the guest was asked to release it and has not yet */
    IOV_DOMAIN_DISK_UNPLUG_PENDING = 1 << 0,
} iovDomainDiskFlags;

/*
 * iovDomainListDisks: the disks of `dom` in the order of its definition
 * (LIVE or CURRENT on a running guest: as they are now; CONFIG: saved),
 * without fetching and parsing its XML. Returns their number and, when
 * `disks` is not NULL, sets *disks to a new NULL-terminated array: free
 * each with iovDomainDiskFree, then the array with free(). -1 on error.
 */
int iovDomainListDisks(iovDomainPtr dom, iovDomainDiskPtr **disks, unsigned int flags);

/* iovDomainDiskFree: free one disk of iovDomainListDisks (NULL: nothing). */
void iovDomainDiskFree(iovDomainDiskPtr disk);

/*
 * iovDomainSetDiskThrottleFilters: disk `disk` of `dom` passes, after its
 * own limits, through the declared groups `groups` (`ngroups` names, at
 * most 8, each once, in order: its <throttlefilters>); ngroups 0 leaves
 * every group (`groups` may then be NULL). Live, the disk's chain is
 * rebuilt while the guest runs: the new steps are built, one
 * blockdev-reopen moves the disk's I/O onto them, the old ones are
 * released; the disk is never without its own limits, nor without a
 * group it keeps. A group not declared, or named twice, is refused
 * before anything changes; a failure in QEMU is undone and the error
 * names the step and QEMU's message. `flags`: IOV_DOMAIN_AFFECT_CURRENT,
 * _LIVE, _CONFIG or LIVE|CONFIG (both, or neither). Refused on a
 * read-only connection. Returns 0 or -1.
 */
int iovDomainSetDiskThrottleFilters(iovDomainPtr dom, const char *disk, const char **groups,
                                    int ngroups, unsigned int flags);

/* ---- monitor passthrough and the domain's messages ---- */

/* Flags of iovDomainQemuMonitorCommand (libvirt's values). */
typedef enum {
    IOV_DOMAIN_QEMU_MONITOR_COMMAND_DEFAULT = 0,
    IOV_DOMAIN_QEMU_MONITOR_COMMAND_HMP = 1 << 0, /* refused: iovirt passes QMP only */
} iovDomainQemuMonitorCommandFlags;

/*
 * iovDomainQemuMonitorCommand: pass one QMP command `cmd` (JSON text,
 * `{"execute": NAME, "arguments": {...}}`) to the QEMU of the running
 * domain `dom`, in the domain's job, and set *result to a new string
 * with QEMU's reply (`{"return": ...}`; free() it). The guest is marked
 * tainted from then on (iovDomainGetMessages), and the limits the daemon
 * reads back live come from QEMU itself, not from its own record.
 * Flags: 0; IOV_DOMAIN_QEMU_MONITOR_COMMAND_HMP is refused. Errors:
 * IOV_ERR_INVALID_ARG for a command that is not a JSON object with a
 * string "execute", IOV_ERR_OPERATION_INVALID when the domain is not
 * running, IOV_ERR_INTERNAL_ERROR with QEMU's text when QEMU refuses the
 * command. Refused on a read-only connection.
 */
int iovDomainQemuMonitorCommand(iovDomainPtr dom, const char *cmd, char **result,
                                unsigned int flags);

/* Flags of iovDomainGetMessages (libvirt's values); 0 means all. */
typedef enum {
    IOV_DOMAIN_MESSAGE_DEPRECATION = 1 << 0,
    IOV_DOMAIN_MESSAGE_TAINTING = 1 << 1,
} iovDomainMessageType;

/*
 * iovDomainGetMessages: the messages about the running domain `dom`
 * that an operator should know, such as `tainted: custom monitor control
 * commands issued` after a monitor passthrough. Returns their number
 * and, when `msgs` is not NULL, sets *msgs to a new NULL-terminated
 * array: free() each message and the array. A domain that is shut off
 * has none. -1 on error.
 */
int iovDomainGetMessages(iovDomainPtr dom, char ***msgs, unsigned int flags);

/* ------------------------------------------------------------------ */
/* Live migration and the domain's job                                 */
/* ------------------------------------------------------------------ */

/* Migration flags (libvirt's virDomainMigrateFlags values; the ones
 * iovirt accepts). */
typedef enum {
    IOV_MIGRATE_LIVE = 1 << 0,              /* keep the guest running while its memory moves */
    IOV_MIGRATE_PEER2PEER = 1 << 1,         /* the source daemon drives the destination itself */
    IOV_MIGRATE_PERSIST_DEST = 1 << 3,      /* define it on the destination too */
    IOV_MIGRATE_UNDEFINE_SOURCE = 1 << 4,   /* forget its definition on the source after */
    IOV_MIGRATE_PAUSED = 1 << 5,            /* leave it paused on the destination */
    IOV_MIGRATE_CHANGE_PROTECTION = 1 << 8, /* (always) no change of the guest during it */
} iovDomainMigrateFlags;

/* Migration parameters (libvirt's names). */
#define IOV_MIGRATE_PARAM_URI "migrate_uri"            /* string: QEMU's stream, tcp:HOST:PORT */
#define IOV_MIGRATE_PARAM_DEST_NAME "destination_name" /* string: must be the domain's name */
#define IOV_MIGRATE_PARAM_DEST_XML "destination_xml"   /* string: the definition to run there */
#define IOV_MIGRATE_PARAM_PERSIST_XML "persistent_xml" /* string: the one to define there */

/*
 * iovDomainMigrate: move the running domain `dom` to the daemon of
 * `dconn`, its live definition (every disk's limits as in force, groups,
 * hot-plugged disks) with it: the client drives begin (source), prepare
 * (destination), perform (source), finish (destination) and confirm
 * (source). `flags`: iovDomainMigrateFlags but PEER2PEER. Returns a new
 * handle of the domain on the destination, or NULL with the error: the
 * guest then still runs on the source, its limits unchanged, and the
 * destination holds nothing of it.
 */
iovDomainPtr iovDomainMigrate(iovDomainPtr dom, iovConnectPtr dconn, unsigned int flags);

/*
 * iovDomainMigrateToURI3: the same, the destination named by its URI
 * `dconnuri`. With IOV_MIGRATE_PEER2PEER the source daemon opens the
 * destination itself (any transport it can reach); without it, this
 * client opens it and calls iovDomainMigrate. `params` (may be NULL):
 * IOV_MIGRATE_PARAM_*. 0, or -1 with the error.
 */
int iovDomainMigrateToURI3(iovDomainPtr dom, const char *dconnuri, iovTypedParameterPtr params,
                           int nparams, unsigned int flags);

/* The kinds of job (libvirt's virDomainJobType values). */
typedef enum {
    IOV_DOMAIN_JOB_NONE = 0,      /* no job */
    IOV_DOMAIN_JOB_UNBOUNDED = 2, /* a migration under way */
    IOV_DOMAIN_JOB_COMPLETED = 3, /* the last migration, ended (iovDomainGetJobStats) */
    IOV_DOMAIN_JOB_FAILED = 4,
    IOV_DOMAIN_JOB_CANCELLED = 5,
} iovDomainJobType;

/* The progress of a domain's job (libvirt's virDomainJobInfo). */
typedef struct {
    int type;                                                   /* iovDomainJobType */
    unsigned long long timeElapsed, timeRemaining;              /* ms */
    unsigned long long dataTotal, dataProcessed, dataRemaining; /* bytes */
    unsigned long long memTotal, memProcessed, memRemaining;    /* bytes */
    unsigned long long fileTotal, fileProcessed, fileRemaining; /* bytes (0) */
} iovDomainJobInfo;
typedef iovDomainJobInfo *iovDomainJobInfoPtr;

/* iovDomainGetJobInfo: the progress of the migration of `dom` under way
 * (QEMU's query-migrate), type IOV_DOMAIN_JOB_NONE when there is none. */
int iovDomainGetJobInfo(iovDomainPtr dom, iovDomainJobInfoPtr info);

/* Flags of iovDomainGetJobStats (libvirt's). */
typedef enum {
    IOV_DOMAIN_JOB_STATS_COMPLETED = 1 << 0, /* the last migration that ended */
} iovDomainGetJobStatsFlags;

/*
 * iovDomainGetJobStats: the same as typed parameters (libvirt's names:
 * time_elapsed, data_total, memory_processed, downtime, ...) into a
 * new *params array of *nparams (free with iovTypedParamsFree); *type
 * an iovDomainJobType. With IOV_DOMAIN_JOB_STATS_COMPLETED, the
 * statistics of the last migration of this domain that ended here.
 */
int iovDomainGetJobStats(iovDomainPtr dom, int *type, iovTypedParameterPtr *params, int *nparams,
                         unsigned int flags);

/* iovDomainAbortJob: cancel the migration of `dom` under way; the guest
 * goes on running on the source with its limits. */
int iovDomainAbortJob(iovDomainPtr dom);

/* ------------------------------------------------------------------ */
/* Domain events: ids, lifecycle events and their details               */
/* ------------------------------------------------------------------ */

/* What an event callback is registered for (libvirt's virDomainEventID
 * values; the ids iovirt sends). */
typedef enum {
    IOV_DOMAIN_EVENT_ID_LIFECYCLE = 0,       /* state changes: event and detail below */
    IOV_DOMAIN_EVENT_ID_REBOOT = 1,          /* the guest reset */
    IOV_DOMAIN_EVENT_ID_DEVICE_REMOVED = 15, /* a disk left the running guest */
    IOV_DOMAIN_EVENT_ID_TUNABLE = 17,        /* a disk's limits in force changed */
    IOV_DOMAIN_EVENT_ID_DEVICE_ADDED = 19,   /* a disk was hot-plugged */
} iovDomainEventID;

/* Lifecycle events (libvirt's virDomainEventType values). */
typedef enum {
    IOV_DOMAIN_EVENT_DEFINED = 0,
    IOV_DOMAIN_EVENT_UNDEFINED = 1,
    IOV_DOMAIN_EVENT_STARTED = 2,
    IOV_DOMAIN_EVENT_SUSPENDED = 3,
    IOV_DOMAIN_EVENT_RESUMED = 4,
    IOV_DOMAIN_EVENT_STOPPED = 5,
    IOV_DOMAIN_EVENT_SHUTDOWN = 6,
    IOV_DOMAIN_EVENT_PMSUSPENDED = 7,
    IOV_DOMAIN_EVENT_CRASHED = 8,
} iovDomainEventType;

/* Their details (libvirt's values), per event. */
typedef enum {
    IOV_DOMAIN_EVENT_DEFINED_ADDED = 0,   /* a new definition */
    IOV_DOMAIN_EVENT_DEFINED_UPDATED = 1, /* a definition replaced */
} iovDomainEventDefinedDetail;

typedef enum {
    IOV_DOMAIN_EVENT_UNDEFINED_REMOVED = 0,
} iovDomainEventUndefinedDetail;

typedef enum {
    IOV_DOMAIN_EVENT_STARTED_BOOTED = 0,
    IOV_DOMAIN_EVENT_STARTED_MIGRATED = 1, /* arrived by migration */
} iovDomainEventStartedDetail;

typedef enum {
    IOV_DOMAIN_EVENT_SUSPENDED_PAUSED = 0,   /* by a call, or by QEMU */
    IOV_DOMAIN_EVENT_SUSPENDED_MIGRATED = 1, /* the last of its memory is moving */
    IOV_DOMAIN_EVENT_SUSPENDED_IOERROR = 2,  /* a disk error stopped it */
} iovDomainEventSuspendedDetail;

typedef enum {
    IOV_DOMAIN_EVENT_RESUMED_UNPAUSED = 0,
    IOV_DOMAIN_EVENT_RESUMED_MIGRATED = 1, /* arrived, or back on the source after a failure */
} iovDomainEventResumedDetail;

typedef enum {
    IOV_DOMAIN_EVENT_STOPPED_SHUTDOWN = 0,  /* the guest powered off */
    IOV_DOMAIN_EVENT_STOPPED_DESTROYED = 1, /* iovDomainDestroy */
    IOV_DOMAIN_EVENT_STOPPED_MIGRATED = 3,  /* it runs on another host now */
    IOV_DOMAIN_EVENT_STOPPED_FAILED = 5,    /* QEMU ended on its own */
} iovDomainEventStoppedDetail;

typedef enum {
    IOV_DOMAIN_EVENT_SHUTDOWN_FINISHED = 0, /* QEMU did not say who asked */
    IOV_DOMAIN_EVENT_SHUTDOWN_GUEST = 1,    /* the guest powered off */
    IOV_DOMAIN_EVENT_SHUTDOWN_HOST = 2,     /* the host asked (e.g. a signal to QEMU) */
} iovDomainEventShutdownDetail;

typedef enum {
    IOV_DOMAIN_EVENT_CRASHED_PANICKED = 0, /* the guest reported a panic */
} iovDomainEventCrashedDetail;

/* The names of a tunable event's parameters (libvirt's): the disk, then
 * each throttle field's libvirt name after this prefix. */
#define IOV_DOMAIN_TUNABLE_BLKDEV_DISK "blkdeviotune.disk"
#define IOV_DOMAIN_TUNABLE_BLKDEV_PREFIX "blkdeviotune."

/*
 * Event callbacks. Each event id has its own signature; they are
 * registered as the generic type through IOV_DOMAIN_EVENT_CALLBACK().
 * `dom` is valid during the call only (iovDomainRef to keep it).
 *
 *   LIFECYCLE  iovConnectDomainEventCallback: event (iovDomainEventType)
 *              and detail (its detail enum)
 *   REBOOT     iovConnectDomainEventGenericCallback
 *   TUNABLE    iovConnectDomainEventTunableCallback: params (valid during
 *              the call) are blkdeviotune.disk (STRING) and the disk's
 *              limits now in force under libvirt's names
 *   DEVICE_ADDED, DEVICE_REMOVED
 *              iovConnectDomainEventDeviceCallback: devAlias (valid during
 *              the call) is the disk's device alias, "disk-vdb"
 */
typedef void (*iovConnectDomainEventGenericCallback)(iovConnectPtr conn, iovDomainPtr dom,
                                                     void *opaque);
typedef void (*iovConnectDomainEventCallback)(iovConnectPtr conn, iovDomainPtr dom, int event,
                                              int detail, void *opaque);
typedef void (*iovConnectDomainEventTunableCallback)(iovConnectPtr conn, iovDomainPtr dom,
                                                     iovTypedParameterPtr params, int nparams,
                                                     void *opaque);
typedef void (*iovConnectDomainEventDeviceCallback)(iovConnectPtr conn, iovDomainPtr dom,
                                                    const char *devAlias, void *opaque);
typedef void (*iovFreeCallback)(void *opaque);
#define IOV_DOMAIN_EVENT_CALLBACK(cb) ((iovConnectDomainEventGenericCallback)(void (*)(void))(cb))

/*
 * iovConnectDomainEventRegisterAny: call `cb` for each event `eventID`
 * (an iovDomainEventID) of `dom`, or of every domain when `dom` is NULL,
 * from now until iovConnectDomainEventDeregisterAny. Callbacks run on a
 * thread of the library, one per connection, one at a time and in the
 * order the daemon sent the events; the caller writes no event loop. A
 * callback may call the API (on this connection too) but must not drop
 * the connection's last reference. The registration holds a reference on
 * `conn`. Returns the callback id (>= 0), or -1 on error; `freecb`, when
 * not NULL, is called on `opaque` when the callback is deregistered.
 * Read-only connections may register.
 */
int iovConnectDomainEventRegisterAny(iovConnectPtr conn, iovDomainPtr dom, int eventID,
                                     iovConnectDomainEventGenericCallback cb, void *opaque,
                                     iovFreeCallback freecb);

/* iovConnectDomainEventDeregisterAny: stop the callback `callbackID`
 * (once it returned, if it is running). 0, or -1 when there is no such
 * callback. */
int iovConnectDomainEventDeregisterAny(iovConnectPtr conn, int callbackID);

/* ------------------------------------------------------------------ */
/* Streams and the console                                             */
/* ------------------------------------------------------------------ */

/*
 * A stream: bytes both ways between the caller and the daemon, after a
 * call that opens it (iovDomainOpenConsole). It holds a reference on its
 * connection. One thread may receive while another sends or ends it.
 */
typedef struct _iovStream iovStream;
typedef iovStream *iovStreamPtr;

typedef enum {
    /* iovStreamRecv does not wait: -2 when nothing has arrived */
    IOV_STREAM_NONBLOCK = 1 << 0,
} iovStreamFlags;

/* iovStreamNew: a new stream of `conn`, not yet open (NULL on error). */
iovStreamPtr iovStreamNew(iovConnectPtr conn, unsigned int flags);

/*
 * iovStreamRecv: up to `nbytes` bytes into `data`. Returns their count,
 * 0 when the daemon ended the stream (the guest's end of a console),
 * -1 on error (the daemon ended the stream with one: another client
 * took the console over, the connection closed), or -2 when the stream
 * is IOV_STREAM_NONBLOCK and nothing has arrived.
 */
int iovStreamRecv(iovStreamPtr st, char *data, size_t nbytes);

/* iovStreamRecvTimeout: iovStreamRecv waiting at most `timeoutMs`
 * (< 0: for ever); -2 when nothing came in time. */
int iovStreamRecvTimeout(iovStreamPtr st, char *data, size_t nbytes, int timeoutMs);

/* iovStreamSend: send `nbytes` bytes of `data`; `nbytes` or -1. */
int iovStreamSend(iovStreamPtr st, const char *data, size_t nbytes);

/* iovStreamFinish: end the stream in order and wait for the daemon to
 * confirm; -1 with the error the daemon ended it with, if it did. */
int iovStreamFinish(iovStreamPtr st);

/* iovStreamAbort: end the stream at once (0, or -1 for a bad stream). */
int iovStreamAbort(iovStreamPtr st);

/* iovStreamFree: free the stream (aborting it when still open) and drop
 * its reference on the connection. NULL is fine (returns 0). */
int iovStreamFree(iovStreamPtr st);

typedef enum {
    /* take the console over from the client that holds it, which gets an
     * error (libvirt's VIR_DOMAIN_CONSOLE_FORCE) */
    IOV_DOMAIN_CONSOLE_FORCE = 1 << 0,
    /* libvirt's VIR_DOMAIN_CONSOLE_SAFE: accepted; iovirt's consoles are
     * always safe (one client at a time) */
    IOV_DOMAIN_CONSOLE_SAFE = 1 << 1,
} iovDomainConsoleFlags;

/*
 * iovDomainOpenConsole: attach the stream `st` (new, from iovStreamNew on
 * the domain's connection) to the serial console of the running domain
 * `dom`: what the guest writes arrives by iovStreamRecv, what is sent
 * goes to the guest. `devName` NULL (or "serial0", "console0") for its
 * only port. One client at a time: fails while another holds the console,
 * unless IOV_DOMAIN_CONSOLE_FORCE. Fails on a read-only connection, for
 * a domain not running, and for a port that writes to a file. 0 or -1.
 */
int iovDomainOpenConsole(iovDomainPtr dom, const char *devName, iovStreamPtr st,
                         unsigned int flags);

/* ------------------------------------------------------------------ */
/* Domain XML, offline                                                 */
/* ------------------------------------------------------------------ */

typedef enum {
    /* Read a libvirt domain XML: elements and attributes iovirt does not
     * model are dropped (and listed) instead of refused. */
    IOV_DOMAIN_XML_FROM_LIBVIRT = 1 << 0,
    /* Write limits as libvirt's <iotune> element instead of <iothrottle>. */
    IOV_DOMAIN_XML_LIBVIRT_IOTUNE = 1 << 1,
} iovDomainXMLCanonicalizeFlags;

/*
 * iovDomainXMLCanonicalize: parse and validate a domain definition
 * without a daemon, and return its canonical form in *canonical. With
 * IOV_DOMAIN_XML_FROM_LIBVIRT, *dropped (when not NULL) receives the XPath
 * of each element or attribute that was dropped, one a line ("" if none).
 * Files the definition names need not exist. On failure nothing is
 * returned and the error names the element, field and value.
 */
int iovDomainXMLCanonicalize(const char *xml, unsigned int flags,
                             char **canonical, char **dropped);

#ifdef __cplusplus
}
#endif

#endif /* IOVIRT_IOVIRT_H */
