/*
 * domain_conf.h: the domain model: parse, validate and format domain XML
 */
#pragma once

#include <stdbool.h>
#include <glib.h>

#include "throttle.h"

typedef enum {
    DOMAIN_VIRT_QEMU = 0, /* TCG */
    DOMAIN_VIRT_KVM,
    DOMAIN_VIRT_LAST
} domainVirtType;

typedef enum {
    DISK_TYPE_FILE = 0,
    DISK_TYPE_BLOCK,
    DISK_TYPE_NETWORK,
    DISK_TYPE_LAST
} domainDiskType;

typedef enum {
    DISK_DEVICE_DISK = 0,
    DISK_DEVICE_CDROM,
    DISK_DEVICE_LAST
} domainDiskDevice;

typedef enum {
    DISK_PROTOCOL_NONE = 0,
    DISK_PROTOCOL_NBD,
    DISK_PROTOCOL_HTTP,
    DISK_PROTOCOL_HTTPS,
    DISK_PROTOCOL_ISCSI,
    DISK_PROTOCOL_RBD,
    DISK_PROTOCOL_SSH,
    DISK_PROTOCOL_LAST
} domainDiskProtocol;

typedef enum {
    DISK_FORMAT_RAW = 0,
    DISK_FORMAT_QCOW2,
    DISK_FORMAT_LAST
} domainDiskFormat;

typedef enum {
    DISK_CACHE_DEFAULT = 0, /* not given: QEMU's default (writeback) */
    DISK_CACHE_NONE,
    DISK_CACHE_WRITEBACK,
    DISK_CACHE_WRITETHROUGH,
    DISK_CACHE_DIRECTSYNC,
    DISK_CACHE_UNSAFE,
    DISK_CACHE_LAST
} domainDiskCache;

typedef enum {
    DISK_IO_DEFAULT = 0, /* not given: threads */
    DISK_IO_THREADS,
    DISK_IO_NATIVE, /* Linux AIO: needs O_DIRECT (cache none or directsync) */
    DISK_IO_IO_URING,
    DISK_IO_LAST
} domainDiskIO;

typedef enum {
    DISK_BUS_VIRTIO = 0,
    DISK_BUS_SATA,
    DISK_BUS_LAST
} domainDiskBus;

typedef enum {
    CHR_TYPE_NONE = 0, /* not present */
    CHR_TYPE_FILE,
    CHR_TYPE_PTY,
    CHR_TYPE_UNIX, /* a unix socket QEMU listens on (libvirt's mode='bind') */
    CHR_TYPE_LAST
} domainChrType;

/* What the guest does when it powers off, reboots or crashes. */
typedef enum {
    DOMAIN_LIFECYCLE_DESTROY = 0, /* QEMU ends */
    DOMAIN_LIFECYCLE_RESTART,     /* the machine resets */
    DOMAIN_LIFECYCLE_PRESERVE,    /* QEMU pauses the guest and keeps it */
    DOMAIN_LIFECYCLE_LAST
} domainLifecycleAction;

typedef enum {
    DOMAIN_CLOCK_UTC = 0, /* the RTC holds UTC */
    DOMAIN_CLOCK_LOCALTIME,
    DOMAIN_CLOCK_LAST
} domainClockOffset;

typedef enum {
    DOMAIN_CPU_DEFAULT = 0,      /* no <cpu>: QEMU's default model */
    DOMAIN_CPU_HOST_PASSTHROUGH, /* -cpu host (kvm only) */
    DOMAIN_CPU_MAXIMUM,          /* -cpu max */
    DOMAIN_CPU_CUSTOM,           /* -cpu MODEL */
    DOMAIN_CPU_LAST
} domainCpuMode;

typedef enum {
    DOMAIN_MEMBALLOON_NONE = 0,
    DOMAIN_MEMBALLOON_VIRTIO,
    DOMAIN_MEMBALLOON_LAST
} domainMemballoon;

typedef enum {
    NET_TYPE_USER = 0, /* QEMU's user-mode network (slirp) */
    NET_TYPE_BRIDGE,   /* a tap on an existing host bridge */
    NET_TYPE_ETHERNET, /* an existing tap device */
    NET_TYPE_LAST
} domainNetType;

typedef enum {
    NET_MODEL_VIRTIO = 0, /* virtio-net-pci */
    NET_MODEL_E1000E,
    NET_MODEL_E1000,
    NET_MODEL_RTL8139,
    NET_MODEL_LAST
} domainNetModel;

typedef enum { NET_PROTO_TCP = 0, NET_PROTO_UDP, NET_PROTO_LAST } domainNetProto;

/* A host port forwarded to a port of the guest (user networking). */
typedef struct {
    int proto;              /* domainNetProto */
    char *address;          /* host address to listen on; NULL: every address */
    unsigned int hostPort;  /* 1-65535 */
    unsigned int guestPort; /* 1-65535 */
} domainPortForward;

/* One network interface. */
typedef struct {
    int type;                    /* domainNetType */
    int model;                   /* domainNetModel */
    unsigned char mac[6];        /* generated at parse time when absent */
    char *bridge;                /* NET_TYPE_BRIDGE: the host bridge; else NULL */
    char *ifname;                /* tap name (ethernet: required; bridge: may be
                                  * NULL, then chosen at start); else NULL */
    domainPortForward *forwards; /* owned array, nforwards entries (user only) */
    size_t nforwards;
} domainNetDef;

/* One image below a disk's own in its backing chain. */
typedef struct _domainBackingDef domainBackingDef;
struct _domainBackingDef {
    char *path;             /* absolute path of the image */
    char *format;           /* its format as QEMU names it ("raw", "qcow2", ...) */
    domainBackingDef *next; /* the image below it; NULL at the end */
};

/* One storage host of a network disk. */
typedef struct {
    char *name;      /* host name or address; NULL for a unix socket */
    unsigned int port; /* 0: the protocol's default */
    bool unixSocket; /* transport='unix' (nbd only) */
    char *socket;    /* socket path when unixSocket; else NULL */
} domainHostDef;

/* Where the key of a disk's <auth> lives: exactly one of the three. */
typedef struct {
    char *username; /* CHAP or cephx user; NULL when the disk has no <auth> */
    char *file;     /* file='/abs/path': a file only the daemon's user reads */
    char *usage;    /* usage='NAME': the file NAME in the daemon's secret store */
    char *uuid;     /* uuid='UUID': the file UUID in the daemon's secret store */
} domainDiskAuthDef;

/* How QEMU checks an ssh server's host key. */
typedef enum {
    SSH_HOSTKEY_KNOWN_HOSTS = 0, /* ~/.ssh/known_hosts of QEMU's user */
    SSH_HOSTKEY_NONE,
    SSH_HOSTKEY_MD5,
    SSH_HOSTKEY_SHA1,
    SSH_HOSTKEY_SHA256,
    SSH_HOSTKEY_LAST
} domainSshHostKeyCheck;

typedef struct {
    int type;     /* domainDiskType */
    int device;   /* domainDiskDevice */
    int format;   /* domainDiskFormat */
    int cache;    /* domainDiskCache */
    char *path;   /* file or block device path; NULL for network disks */
    int protocol; /* domainDiskProtocol; NONE unless network */
    char *name;   /* export, path, target or pool/image; may be NULL */
    domainHostDef *hosts; /* owned array, nhosts entries */
    size_t nhosts;
    domainDiskAuthDef auth;  /* iscsi (CHAP), rbd (cephx); username NULL: none */
    char *initiator;         /* iscsi: our initiator IQN; NULL: QEMU's */
    char *snapshot;          /* rbd: snapshot name; NULL: the image itself */
    unsigned int timeoutSec; /* iscsi, rbd: connect timeout; 0: the default */
    char *sshUser;           /* ssh: <identity username>; NULL: QEMU's user */
    int sshHostKeyCheck;     /* domainSshHostKeyCheck */
    char *sshFingerprint;    /* ssh: hex host key hash for MD5/SHA1/SHA256 */
    char *target; /* "vda": never NULL once parsed */
    int bus;      /* domainDiskBus */
    bool readonly;
    bool discardUnmap;         /* <driver discard='unmap'>: the guest's discards reach the image */
    bool shareable;            /* <shareable/>: other guests may write the image too */
    char *serial;              /* <serial>: the id the guest reads; NULL: none */
    domainBackingDef *backing; /* <backingStore> chain, owned; NULL: none
                                * given (QEMU follows the image's own) */
    int io;                    /* domainDiskIO */
    throttleDef throttle;
    /* <throttlefilters>: the declared groups the disk's I/O passes
     * through after its own limits, nearest the device first; owned
     * array of owned names, nfilters entries (0: none) */
    char **filters;
    size_t nfilters;
    bool unplugPending; /* live only: QEMU was asked to remove it and the
                         * guest has not let go yet (unplug='pending') */
} domainDiskDef;

/* A named throttle group the domain declares in <throttlegroups>. It
 * lives until deleted, whether or not a disk uses it; disks name it in
 * <throttlefilters>, or join it with <iothrottle group='NAME'>. */
typedef struct {
    char *name;         /* owned, never NULL */
    throttleDef limits; /* limits.group is always NULL */
} domainThrottleGroupDef;

/* At most this many groups per domain, and filters per disk. */
#define DOMAIN_MAX_THROTTLE_GROUPS 64
#define DOMAIN_MAX_THROTTLE_FILTERS 8

/* A serial port or console: a file, a pty or a unix socket. */
typedef struct {
    int type;   /* domainChrType */
    char *path; /* owned: the file (CHR_TYPE_FILE) or the socket
                 * (CHR_TYPE_UNIX), absolute; NULL for a pty */
} domainChrDef;

typedef struct {
    int virtType; /* domainVirtType */
    char *name;
    unsigned char uuid[16];
    bool uuidGenerated; /* the document gave no uuid */
    unsigned long long memoryKiB;
    unsigned int vcpus;
    char *kernel;  /* direct kernel boot, or NULL to boot the first disk */
    char *initrd;  /* may be NULL */
    char *cmdline; /* may be NULL */
    domainDiskDef **disks; /* owned; ndisks entries */
    size_t ndisks;
    domainThrottleGroupDef **groups; /* owned; <throttlegroups>, ngroups entries */
    size_t ngroups;
    domainChrDef serial;
    domainChrDef console;
    char *machine;  /* "q35", "pc" or a versioned pc-q35-X.Y/pc-i440fx-X.Y;
                     * never NULL once parsed */
    char *emulator; /* QEMU binary (absolute path); NULL: the daemon's */
    bool acpi;      /* default true */
    int vmport;     /* <vmport state>: -1 not given (QEMU's default), 0 off, 1 on */
    bool noS3;      /* <pm><suspend-to-mem enabled='no'/> */
    bool noS4;      /* <pm><suspend-to-disk enabled='no'/> */
    int onPoweroff; /* domainLifecycleAction */
    int onReboot;
    int onCrash;         /* -1: not given (the guest has no crash device) */
    int clockOffset;     /* domainClockOffset */
    bool rtcCatchup;     /* <timer name='rtc' tickpolicy='catchup'/>: driftfix=slew */
    bool pitDelay;       /* <timer name='pit' tickpolicy='delay'/> */
    bool hpetOff;        /* <timer name='hpet' present='no'/> */
    int cpuMode;         /* domainCpuMode */
    char *cpuModel;      /* DOMAIN_CPU_CUSTOM: the model name; else NULL */
    int memballoon;      /* domainMemballoon */
    domainNetDef **nets; /* owned; nnets entries */
    size_t nnets;
    char *dropped; /* what a libvirt import left out: XPaths (with the
                    * reason in parentheses), one a line; NULL: nothing */
    unsigned int rootPorts; /* <controller type='pci' model='pcie-root-port'/>
                             * elements given; 0: none given (the default) */
} domainDef;

typedef enum {
    /* accept a libvirt document: drop what iovirt does not model */
    DOMAIN_PARSE_FROM_LIBVIRT = 1 << 0,
    /* a live definition (status file, copies): accept unplug='pending' */
    DOMAIN_PARSE_LIVE_STATE = 1 << 1,
} domainParseFlags;

typedef enum {
    /* write limits as <iotune> children with libvirt's names, and
     * <throttlegroup> in libvirt's spelling (<group_name> and children) */
    DOMAIN_FORMAT_LIBVIRT_IOTUNE = 1 << 0,
} domainFormatFlags;

void domainDefFree(domainDef *def);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(domainDef, domainDefFree)
void domainDiskDefFree(domainDiskDef *disk);
void domainThrottleGroupDefFree(domainThrottleGroupDef *group);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(domainThrottleGroupDef, domainThrottleGroupDefFree)

/*
 * domainDefParseString: parse and validate a domain XML document. With
 * DOMAIN_PARSE_FROM_LIBVIRT, anything not modelled is dropped and its
 * XPath appended, one a line, to `dropped` (which may be NULL); without,
 * it is refused with an error naming its XPath. Returns a new definition
 * or NULL with an error.
 */
domainDef *domainDefParseString(const char *xml, unsigned int flags,
                                GString *dropped);

/* domainDefValidate: the checks of a whole definition (names, targets,
 * disks, limits, groups). Parsing runs it; callers that change a
 * definition in memory run it again. */
int domainDefValidate(const domainDef *def);

/* domainDefFormat: the canonical XML of `def` (a new string). */
char *domainDefFormat(const domainDef *def, unsigned int flags);

/* domainDefCopy: a deep copy (never NULL). */
domainDef *domainDefCopy(const domainDef *def);

/*
 * domainDiskDefParseString: parse one <disk> document (iovirt's or, with
 * DOMAIN_PARSE_FROM_LIBVIRT, libvirt's, whose unmodelled parts are
 * dropped and listed in `dropped`) and check it alone. Returns a new
 * disk, or NULL with an error naming what is wrong.
 */
domainDiskDef *domainDiskDefParseString(const char *xml, unsigned int flags, GString *dropped);

/* domainDiskSameFilters: whether two disks pass through the same declared
 * groups after their own limits, in the same order. */
bool domainDiskSameFilters(const domainDiskDef *a, const domainDiskDef *b);

/* domainDiskDefCopy: a deep copy of one disk (never NULL). */
domainDiskDef *domainDiskDefCopy(const domainDiskDef *disk);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(domainDiskDef, domainDiskDefFree)

/* domainDiskFind: the disk whose target is `name`, or (when `name`
 * starts with '/') whose source path is `name`; NULL if none. */
domainDiskDef *domainDiskFind(const domainDef *def, const char *name);
ssize_t domainDiskIndex(const domainDef *def, const char *name);

/* domainThrottleGroupFind: the declared group `name`, or NULL. */
domainThrottleGroupDef *domainThrottleGroupFind(const domainDef *def, const char *name);
ssize_t domainThrottleGroupIndex(const domainDef *def, const char *name);

/* domainThrottleGroupUser: the target of the first disk that names
 * group `name` (in <throttlefilters> or as <iothrottle group=>), or NULL
 * when no disk does. */
const char *domainThrottleGroupUser(const domainDef *def, const char *name);

/* domainDiskHasFilter: whether `disk` passes through group `name` in its
 * <throttlefilters>. */
bool domainDiskHasFilter(const domainDiskDef *disk, const char *name);

/* domainUUIDFormat: "xxxxxxxx-xxxx-..." into buf (37 bytes). */
void domainUUIDFormat(const unsigned char *uuid, char *buf);
int domainUUIDParse(const char *str, unsigned char *uuid);

/* domainNameValid: 1-64 bytes of [A-Za-z0-9_.+-], not starting with '.'
 * or '-'. */
bool domainNameValid(const char *name);

const char *domainDiskTypeName(int type);
const char *domainDiskProtocolName(int protocol);
const char *domainDiskFormatName(int format);
const char *domainDiskCacheName(int cache);
const char *domainDiskBusName(int bus);
const char *domainVirtTypeName(int type);
const char *domainSshHostKeyCheckName(int check);
const char *domainNetTypeName(int type);
const char *domainNetModelName(int model);
const char *domainNetProtoName(int proto);
const char *domainLifecycleActionName(int action);

/* domainMachineIsPC: whether the machine type is an i440fx one (pc). */
bool domainMachineIsPC(const domainDef *def);

/* domainNetMACFormat: "52:54:00:xx:xx:xx" into buf (18 bytes). */
void domainNetMACFormat(const unsigned char *mac, char *buf);

/* domainBackingFree: free a backing chain (NULL: nothing). */
void domainBackingFree(domainBackingDef *chain);

/* domainCheckEmulator: whether `path` is an executable regular file;
 * -1 with an error naming it otherwise. */
int domainCheckEmulator(const char *path);

/* The connect timeout of a network disk when its XML gives none (s). */
#define DOMAIN_DISK_DEFAULT_TIMEOUT_SEC 10

/* domainDiskIsEmpty: a cdrom without a medium (no <source>, its tray
 * empty): it has a device and its limits' group, and no nodes. */
bool domainDiskIsEmpty(const domainDiskDef *disk);

/* domainDiskSourceString: a one-line description of a disk's source, for
 * listings and messages: the path, protocol://host:port/name (the first
 * host), protocol+unix:///name?socket=PATH, or "-" when the drive has no
 * medium. New string. */
char *domainDiskSourceString(const domainDiskDef *disk);
