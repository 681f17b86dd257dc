/*
 * qemu_command.c: build the QEMU command line of a domain
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json-c/json.h>

#include "qemu_command.h"
#include "qemu_monitor.h"
#include "util/error.h"

#define IOV_FROM_THIS IOV_FROM_QEMU

char *
qemuEscapeOption(const char *value)
{
    GString *s = g_string_sized_new(strlen(value) + 8);
    const char *p;

    for (p = value; *p; p++) {
        if (*p == ',')
            g_string_append_c(s, ',');
        g_string_append_c(s, *p);
    }
    return g_string_free(s, FALSE);
}

char *
qemuDiskDeviceId(const domainDiskDef *disk)
{
    return g_strdup_printf("disk-%s", disk->target);
}

char *
qemuDiskThrottleNode(const domainDiskDef *disk)
{
    return g_strdup_printf("throttle-%s", disk->target);
}

char *
qemuDiskFormatNode(const domainDiskDef *disk)
{
    return g_strdup_printf("fmt-%s", disk->target);
}

static char *
diskProtocolNode(const domainDiskDef *disk)
{
    return g_strdup_printf("proto-%s", disk->target);
}

static char *
diskSecretId(const domainDiskDef *disk)
{
    return g_strdup_printf("sec-%s", disk->target);
}

char *
qemuCommandFilesDir(const char *stateDir, const char *name)
{
    g_autofree char *dir = g_strdup_printf("%s.files", name);

    return g_build_filename(stateDir, dir, NULL);
}

/* The copy of a disk's key that QEMU reads, in the domain's files dir. */
static char *
diskSecretPath(const qemuCommandParams *p, const domainDiskDef *disk)
{
    g_autofree char *file = g_strdup_printf("%s.key", disk->target);

    return g_build_filename(p->filesDir, file, NULL);
}

/* The Ceph configuration written for an rbd disk (its timeouts). */
static char *
diskCephConfPath(const qemuCommandParams *p, const domainDiskDef *disk)
{
    g_autofree char *file = g_strdup_printf("%s.ceph.conf", disk->target);

    return g_build_filename(p->filesDir, file, NULL);
}

/* Whether an rbd disk gets a Ceph configuration of its own: when the
 * XML names the monitors (else /etc/ceph/ceph.conf is the cluster's). */
static bool
diskHasCephConf(const domainDiskDef *disk)
{
    return disk->type == DISK_TYPE_NETWORK && disk->protocol == DISK_PROTOCOL_RBD &&
           disk->nhosts > 0;
}

static unsigned int
diskTimeout(const domainDiskDef *disk)
{
    return disk->timeoutSec ? disk->timeoutSec : DOMAIN_DISK_DEFAULT_TIMEOUT_SEC;
}

bool
qemuDiskNeedsFiles(const domainDiskDef *disk)
{
    return disk->auth.username || diskHasCephConf(disk);
}

char *
qemuDiskSecretId(const domainDiskDef *disk)
{
    return diskSecretId(disk);
}

json_object *
qemuBuildDiskSecretProps(const domainDiskDef *disk, const qemuCommandParams *p)
{
    g_autofree char *id = NULL;
    g_autofree char *file = NULL;
    json_object *obj;

    if (!disk->auth.username)
        return NULL;
    /* the key travels in a file: the command line is logged and seen in ps */
    id = diskSecretId(disk);
    file = diskSecretPath(p, disk);
    obj = json_object_new_object();
    json_object_object_add(obj, "qom-type", json_object_new_string("secret"));
    json_object_object_add(obj, "id", json_object_new_string(id));
    json_object_object_add(obj, "file", json_object_new_string(file));
    if (disk->protocol == DISK_PROTOCOL_RBD)
        json_object_object_add(obj, "format", json_object_new_string("base64"));
    return obj;
}

char *
qemuThrottleGroupId(const domainDiskDef *disk, const throttleDef *t)
{
    if (t->group)
        return g_strdup_printf("tgg-%s", t->group);
    return g_strdup_printf("tg-%s", disk->target);
}

char *
qemuNamedGroupId(const char *name)
{
    return g_strdup_printf("tgg-%s", name);
}

size_t
qemuDiskChainLength(const domainDiskDef *disk)
{
    return 1 + disk->nfilters;
}

char *
qemuDiskStepNode(const domainDiskDef *disk, size_t step)
{
    if (step == 0)
        return qemuDiskThrottleNode(disk);
    if (step >= qemuDiskChainLength(disk))
        return qemuDiskFormatNode(disk);
    return g_strdup_printf("throttle-%s-%zu", disk->target, step);
}

char *
qemuDiskStepGroupId(const domainDiskDef *disk, size_t step)
{
    if (step == 0)
        return qemuThrottleGroupId(disk, &disk->throttle);
    return qemuNamedGroupId(disk->filters[step - 1]);
}

json_object *
qemuBuildThrottleNodeProps(const domainDiskDef *disk, size_t step)
{
    g_autofree char *node = qemuDiskStepNode(disk, step);
    g_autofree char *child = qemuDiskStepNode(disk, step + 1);
    g_autofree char *tg = qemuDiskStepGroupId(disk, step);
    json_object *props = json_object_new_object();

    json_object_object_add(props, "driver", json_object_new_string("throttle"));
    json_object_object_add(props, "throttle-group", json_object_new_string(tg));
    json_object_object_add(props, "file", json_object_new_string(child));
    json_object_object_add(props, "node-name", json_object_new_string(node));
    if (disk->readonly)
        json_object_object_add(props, "read-only", json_object_new_boolean(true));
    return props;
}

gboolean
qemuDiskMatchesQdev(const domainDiskDef *disk, const char *qdev)
{
    g_autofree char *id = qemuDiskDeviceId(disk);

    return qemuDeviceIdMatchesQdev(id, qdev);
}

gboolean
qemuDeviceIdMatchesQdev(const char *devId, const char *qdev)
{
    g_autofree char *prefix = g_strdup_printf("/machine/peripheral/%s/", devId);

    return qdev && (strcmp(qdev, devId) == 0 || g_str_has_prefix(qdev, prefix));
}

/* Append "-opt" and the compact JSON of `obj` (consumed) to argv. */
static void
addJSON(GPtrArray *argv, const char *opt, json_object *obj)
{
    g_ptr_array_add(argv, g_strdup(opt));
    g_ptr_array_add(argv, g_strdup(json_object_to_json_string_ext(
                              obj, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)));
    json_object_put(obj);
}

static void
addArgs(GPtrArray *argv, const char *opt, const char *value)
{
    g_ptr_array_add(argv, g_strdup(opt));
    if (value)
        g_ptr_array_add(argv, g_strdup(value));
}

#define ADD_STR(obj, key, val) json_object_object_add(obj, key, json_object_new_string(val))
#define ADD_BOOL(obj, key, val) json_object_object_add(obj, key, json_object_new_boolean(val))

/* The "cache" member of a node: direct (O_DIRECT) and no-flush. */
static void
addCache(json_object *node, int cache)
{
    json_object *c;

    if (cache == DISK_CACHE_DEFAULT)
        return;
    c = json_object_new_object();
    ADD_BOOL(c, "direct", cache == DISK_CACHE_NONE || cache == DISK_CACHE_DIRECTSYNC);
    ADD_BOOL(c, "no-flush", cache == DISK_CACHE_UNSAFE);
    json_object_object_add(node, "cache", c);
}

static json_object *
inetServer(const char *host, unsigned int port, unsigned int defPort)
{
    json_object *s = json_object_new_object();
    g_autofree char *p = g_strdup_printf("%u", port ? port : defPort);

    ADD_STR(s, "type", "inet");
    ADD_STR(s, "host", host);
    ADD_STR(s, "port", p);
    return s;
}

/* The "aio" of a local file's node and the "discard" of any protocol
 * node, when the definition asks. */
static void
addDiskIO(json_object *node, const domainDiskDef *disk)
{
    static const char *const aio[] = {"", "threads", "native", "io_uring"};

    G_STATIC_ASSERT(G_N_ELEMENTS(aio) == DISK_IO_LAST);
    if (disk->io != DISK_IO_DEFAULT && disk->type != DISK_TYPE_NETWORK)
        ADD_STR(node, "aio", aio[disk->io]);
    if (disk->discardUnmap)
        ADD_STR(node, "discard", "unmap");
}

/* The protocol node of `disk`, or NULL with an error. */
static json_object *
buildProtocolNode(const domainDiskDef *disk, const qemuCommandParams *p)
{
    json_object *n = json_object_new_object();
    const domainHostDef *h = disk->nhosts ? &disk->hosts[0] : NULL;
    g_autofree char *node = diskProtocolNode(disk);
    size_t i;

    switch (disk->type) {
    case DISK_TYPE_FILE:
        ADD_STR(n, "driver", "file");
        ADD_STR(n, "filename", disk->path);
        break;
    case DISK_TYPE_BLOCK:
        ADD_STR(n, "driver", "host_device");
        ADD_STR(n, "filename", disk->path);
        break;
    case DISK_TYPE_NETWORK:
        switch (disk->protocol) {
        case DISK_PROTOCOL_NBD: {
            json_object *server;

            ADD_STR(n, "driver", "nbd");
            if (h->unixSocket) {
                server = json_object_new_object();
                ADD_STR(server, "type", "unix");
                ADD_STR(server, "path", h->socket);
            } else {
                server = inetServer(h->name, h->port, 10809);
            }
            json_object_object_add(n, "server", server);
            if (disk->name)
                ADD_STR(n, "export", disk->name);
            break;
        }
        case DISK_PROTOCOL_HTTP:
        case DISK_PROTOCOL_HTTPS: {
            const char *scheme = domainDiskProtocolName(disk->protocol);
            g_autofree char *port = h->port ? g_strdup_printf(":%u", h->port) : g_strdup("");
            g_autofree char *url = g_strdup_printf("%s://%s%s%s%s", scheme, h->name, port,
                                                   disk->name[0] == '/' ? "" : "/", disk->name);

            ADD_STR(n, "driver", scheme);
            ADD_STR(n, "url", url);
            break;
        }
        case DISK_PROTOCOL_ISCSI: {
            const char *slash = strrchr(disk->name, '/');
            g_autofree char *target = g_strndup(disk->name, (gsize)(slash - disk->name));
            g_autofree char *portal = g_strdup_printf("%s:%u", h->name, h->port ? h->port : 3260);

            ADD_STR(n, "driver", "iscsi");
            ADD_STR(n, "transport", "tcp");
            ADD_STR(n, "portal", portal);
            ADD_STR(n, "target", target);
            json_object_object_add(n, "lun", json_object_new_int(atoi(slash + 1)));
            if (disk->initiator)
                ADD_STR(n, "initiator-name", disk->initiator);
            if (disk->auth.username) {
                g_autofree char *sec = diskSecretId(disk);

                ADD_STR(n, "user", disk->auth.username);
                ADD_STR(n, "password-secret", sec);
            }
            /* libiscsi's timeout bounds the login as well as each request */
            json_object_object_add(n, "timeout", json_object_new_int((int)diskTimeout(disk)));
            break;
        }
        case DISK_PROTOCOL_RBD: {
            const char *slash = strchr(disk->name, '/');
            g_autofree char *pool = g_strndup(disk->name, (gsize)(slash - disk->name));

            ADD_STR(n, "driver", "rbd");
            ADD_STR(n, "pool", pool);
            ADD_STR(n, "image", slash + 1);
            if (disk->nhosts) {
                json_object *servers = json_object_new_array();

                for (i = 0; i < disk->nhosts; i++) {
                    json_object *s = json_object_new_object();
                    g_autofree char *port = g_strdup_printf("%u", disk->hosts[i].port ? disk->hosts[i].port : 6789);

                    ADD_STR(s, "host", disk->hosts[i].name);
                    ADD_STR(s, "port", port);
                    json_object_array_add(servers, s);
                }
                json_object_object_add(n, "server", servers);
            }
            if (disk->snapshot)
                ADD_STR(n, "snapshot", disk->snapshot);
            if (diskHasCephConf(disk)) {
                g_autofree char *conf = diskCephConfPath(p, disk);

                ADD_STR(n, "conf", conf);
            }
            if (disk->auth.username) {
                g_autofree char *sec = diskSecretId(disk);
                json_object *methods = json_object_new_array();

                ADD_STR(n, "user", disk->auth.username);
                ADD_STR(n, "key-secret", sec);
                json_object_array_add(methods, json_object_new_string("cephx"));
                json_object_object_add(n, "auth-client-required", methods);
            } else if (diskHasCephConf(disk)) {
                json_object *methods = json_object_new_array();

                json_object_array_add(methods, json_object_new_string("none"));
                json_object_object_add(n, "auth-client-required", methods);
            }
            break;
        }
        case DISK_PROTOCOL_SSH: {
            json_object *check = json_object_new_object();
            json_object *server = inetServer(h->name, h->port, 22);

            /* an InetSocketAddress: no "type" member */
            json_object_object_del(server, "type");
            ADD_STR(n, "driver", "ssh");
            json_object_object_add(n, "server", server);
            ADD_STR(n, "path", disk->name);
            if (disk->sshUser)
                ADD_STR(n, "user", disk->sshUser);
            if (disk->sshHostKeyCheck >= SSH_HOSTKEY_MD5) {
                ADD_STR(check, "mode", "hash");
                ADD_STR(check, "type", domainSshHostKeyCheckName(disk->sshHostKeyCheck));
                ADD_STR(check, "hash", disk->sshFingerprint);
            } else {
                ADD_STR(check, "mode", domainSshHostKeyCheckName(disk->sshHostKeyCheck));
            }
            json_object_object_add(n, "host-key-check", check);
            break;
        }
        default:
            json_object_put(n);
            reportError(IOV_ERR_INTERNAL_ERROR, "disk '%s': unexpected protocol %d", disk->target, disk->protocol);
            return NULL;
        }
        break;
    default:
        json_object_put(n);
        reportError(IOV_ERR_INTERNAL_ERROR, "disk '%s': unexpected type %d", disk->target, disk->type);
        return NULL;
    }
    ADD_STR(n, "node-name", node);
    if (disk->readonly)
        ADD_BOOL(n, "read-only", true);
    addCache(n, disk->cache);
    addDiskIO(n, disk);
    return n;
}

/* The AHCI port of a sata disk ("ide.0" for sda on q35, "sata.0" on pc),
 * or NULL with an error. */
static char *
sataBus(const domainDiskDef *disk, bool pc)
{
    if (strlen(disk->target) != 3 || disk->target[2] > 'f') {
        reportError(IOV_ERR_CONFIG_UNSUPPORTED, "disk '%s': q35 has six sata ports, sda to sdf",
                    disk->target);
        return NULL;
    }
    return g_strdup_printf("%s.%d", pc ? "sata" : "ide", disk->target[2] - 'a');
}

/* A cdrom with an empty tray: its device without a drive. Its group
 * object exists all the same, and holds its limits for the next medium. */
static int
addEmptyCdrom(GPtrArray *argv, const domainDiskDef *disk, bool bootFirst, bool pc)
{
    g_autofree char *bus = sataBus(disk, pc);
    g_autofree char *dev = qemuDiskDeviceId(disk);
    json_object *obj;

    if (!bus)
        return -1;
    obj = json_object_new_object();
    ADD_STR(obj, "driver", "ide-cd");
    ADD_STR(obj, "bus", bus);
    ADD_STR(obj, "id", dev);
    if (bootFirst)
        json_object_object_add(obj, "bootindex", json_object_new_int(1));
    addJSON(argv, "-device", obj);
    return 0;
}

static int
addDisk(GPtrArray *argv, const domainDiskDef *disk, bool bootFirst, bool pc, GHashTable *groups,
        const qemuCommandParams *p, unsigned int port)
{
    g_autofree char *proto = diskProtocolNode(disk);
    g_autofree char *fmt = qemuDiskFormatNode(disk);
    g_autofree char *thr = qemuDiskThrottleNode(disk);
    g_autofree char *dev = qemuDiskDeviceId(disk);
    g_autofree char *tg = qemuThrottleGroupId(disk, &disk->throttle);
    json_object *node, *obj;
    size_t step;
    bool writeCache = disk->cache != DISK_CACHE_WRITETHROUGH &&
                      disk->cache != DISK_CACHE_DIRECTSYNC;

    if (qemuDiskNeedsFiles(disk) && !p->filesDir) {
        reportError(IOV_ERR_INTERNAL_ERROR, "disk '%s': no directory for the files QEMU reads",
                    disk->target);
        return -1;
    }
    if ((obj = qemuBuildDiskSecretProps(disk, p)))
        addJSON(argv, "-object", obj);

    if (!g_hash_table_contains(groups, tg)) {
        obj = json_object_new_object();
        ADD_STR(obj, "qom-type", "throttle-group");
        ADD_STR(obj, "id", tg);
        addJSON(argv, "-object", obj);
        g_hash_table_add(groups, g_strdup(tg));
    }
    if (domainDiskIsEmpty(disk))
        return addEmptyCdrom(argv, disk, bootFirst, pc);

    if (!(node = buildProtocolNode(disk, p)))
        return -1;
    addJSON(argv, "-blockdev", node);

    node = json_object_new_object();
    ADD_STR(node, "driver", domainDiskFormatName(disk->format));
    ADD_STR(node, "file", proto);
    ADD_STR(node, "node-name", fmt);
    if (disk->readonly)
        ADD_BOOL(node, "read-only", true);
    addCache(node, disk->cache);
    if (disk->discardUnmap)
        ADD_STR(node, "discard", "unmap");
    addJSON(argv, "-blockdev", node);

    /* the chain, from the format node up: the disk's own step is the
     * one the device sits on */
    for (step = qemuDiskChainLength(disk); step > 0; step--)
        addJSON(argv, "-blockdev", qemuBuildThrottleNodeProps(disk, step - 1));

    obj = json_object_new_object();
    if (disk->bus == DISK_BUS_VIRTIO) {
        g_autofree char *bus = qemuRootPortId(port);

        ADD_STR(obj, "driver", "virtio-blk-pci");
        /* on q35, on a root port of its own, so that it can be unplugged */
        if (!pc)
            ADD_STR(obj, "bus", bus);
    } else {
        /* q35's AHCI controller (on pc the one added for sata disks): one
         * port per letter, sda on port 0 */
        g_autofree char *bus = g_strdup_printf("%s.%d", pc ? "sata" : "ide", disk->target[2] - 'a');

        if (strlen(disk->target) != 3 || disk->target[2] > 'f') {
            json_object_put(obj);
            reportError(IOV_ERR_CONFIG_UNSUPPORTED,
                        "disk '%s': the sata controller has six ports, sda to sdf", disk->target);
            return -1;
        }
        ADD_STR(obj, "driver", disk->device == DISK_DEVICE_CDROM ? "ide-cd" : "ide-hd");
        ADD_STR(obj, "bus", bus);
    }
    ADD_STR(obj, "id", dev);
    ADD_STR(obj, "drive", thr);
    if (disk->serial)
        ADD_STR(obj, "serial", disk->serial);
    if (disk->shareable)
        ADD_BOOL(obj, "share-rw", true);
    if (disk->device != DISK_DEVICE_CDROM)
        ADD_STR(obj, "write-cache", writeCache ? "on" : "off");
    if (bootFirst)
        json_object_object_add(obj, "bootindex", json_object_new_int(1));
    addJSON(argv, "-device", obj);
    return 0;
}

/* ---- PCI Express root ports: the room to hot-plug disks ---- */

char *
qemuRootPortId(unsigned int index)
{
    return g_strdup_printf("rp%u", index);
}

unsigned int
qemuRootPortCount(const domainDef *def)
{
    unsigned int virtio = 0;
    size_t i;

    for (i = 0; i < def->ndisks; i++)
        virtio += def->disks[i]->bus == DISK_BUS_VIRTIO;
    if (def->rootPorts)
        return MAX(def->rootPorts, virtio);
    return virtio + QEMU_FREE_ROOT_PORTS;
}

/*
 * `n` pcie-root-port devices on pcie.0, eight functions a slot from slot
 * 2 (as libvirt places them), so that many fit on q35's one root bus. A
 * root port cannot itself be hot-plugged: they all exist from the start.
 */
static void
addRootPorts(GPtrArray *argv, unsigned int n)
{
    unsigned int i;

    for (i = 0; i < n; i++) {
        json_object *obj = json_object_new_object();
        g_autofree char *id = qemuRootPortId(i);
        g_autofree char *addr = g_strdup_printf("0x%x.0x%x", 2 + i / 8, i % 8);

        ADD_STR(obj, "driver", "pcie-root-port");
        ADD_STR(obj, "id", id);
        ADD_STR(obj, "bus", "pcie.0");
        ADD_STR(obj, "addr", addr);
        json_object_object_add(obj, "chassis", json_object_new_int((int)i + 1));
        json_object_object_add(obj, "port", json_object_new_int(0x10 + (int)i));
        if (i % 8 == 0 && i + 1 < n)
            ADD_BOOL(obj, "multifunction", true);
        addJSON(argv, "-device", obj);
    }
}

/* ---- one disk's chain, for hot-plug ---- */

void
qemuDiskChainClear(qemuDiskChain *c)
{
    if (!c)
        return;
    g_clear_pointer(&c->protocol, json_object_put);
    g_clear_pointer(&c->format, json_object_put);
    g_clear_pointer(&c->device, json_object_put);
}

int
qemuBuildDiskChain(const domainDiskDef *disk, const qemuCommandParams *p, const char *bus,
                   qemuDiskChain *c)
{
    g_autofree char *proto = diskProtocolNode(disk);
    g_autofree char *fmt = qemuDiskFormatNode(disk);
    g_autofree char *thr = qemuDiskThrottleNode(disk);
    g_autofree char *dev = qemuDiskDeviceId(disk);
    bool writeCache =
        disk->cache != DISK_CACHE_WRITETHROUGH && disk->cache != DISK_CACHE_DIRECTSYNC;

    memset(c, 0, sizeof(*c));
    if (disk->bus != DISK_BUS_VIRTIO) {
        reportError(
            IOV_ERR_OPERATION_UNSUPPORTED,
            "disk '%s': a %s disk cannot be hot-plugged: q35's AHCI ports do not support it (use bus='virtio')",
            disk->target, domainDiskBusName(disk->bus));
        return -1;
    }
    if (qemuDiskNeedsFiles(disk) && !p->filesDir) {
        reportError(IOV_ERR_INTERNAL_ERROR, "disk '%s': no directory for the files QEMU reads",
                    disk->target);
        return -1;
    }
    if (!(c->protocol = buildProtocolNode(disk, p)))
        return -1;

    c->format = json_object_new_object();
    ADD_STR(c->format, "driver", domainDiskFormatName(disk->format));
    ADD_STR(c->format, "file", proto);
    ADD_STR(c->format, "node-name", fmt);
    if (disk->readonly)
        ADD_BOOL(c->format, "read-only", true);
    addCache(c->format, disk->cache);

    /* the device sits on the disk's own step of its throttle chain */
    c->device = json_object_new_object();
    ADD_STR(c->device, "driver", "virtio-blk-pci");
    ADD_STR(c->device, "bus", bus);
    ADD_STR(c->device, "id", dev);
    ADD_STR(c->device, "drive", thr);
    ADD_STR(c->device, "write-cache", writeCache ? "on" : "off");
    return 0;
}

int
qemuBuildDiskMedium(const domainDiskDef *disk, const qemuCommandParams *p, json_object **protocol,
                    json_object **format)
{
    g_autofree char *proto = diskProtocolNode(disk);
    g_autofree char *fmt = qemuDiskFormatNode(disk);

    if (!(*protocol = buildProtocolNode(disk, p)))
        return -1;
    *format = json_object_new_object();
    ADD_STR(*format, "driver", domainDiskFormatName(disk->format));
    ADD_STR(*format, "file", proto);
    ADD_STR(*format, "node-name", fmt);
    if (disk->readonly)
        ADD_BOOL(*format, "read-only", true);
    addCache(*format, disk->cache);
    return 0;
}

char *
qemuDiskProtocolNode(const domainDiskDef *disk)
{
    return diskProtocolNode(disk);
}

/* The throttle-group object of every declared group, used or not (they
 * live until deleted); their limits come later, like every group's. */
static void
addDeclaredGroups(GPtrArray *argv, const domainDef *def, GHashTable *groups)
{
    size_t i;

    for (i = 0; i < def->ngroups; i++) {
        g_autofree char *id = qemuNamedGroupId(def->groups[i]->name);
        json_object *obj = json_object_new_object();

        ADD_STR(obj, "qom-type", "throttle-group");
        ADD_STR(obj, "id", id);
        addJSON(argv, "-object", obj);
        g_hash_table_add(groups, g_steal_pointer(&id));
    }
}

/*
 * The chardev of the first serial port: a file (the definition's, or the
 * daemon's log of the guest when none is defined), a pty, or a unix
 * socket QEMU listens on without waiting for a peer. A pty or a socket
 * also copies what the guest writes to the daemon's log, so that the
 * guest's output can be read whether or not a console is attached.
 */
static void
addSerial(GPtrArray *argv, const domainDef *def, const qemuCommandParams *p)
{
    const domainChrDef *chr = def->serial.type != CHR_TYPE_NONE ? &def->serial : &def->console;
    g_autofree char *log = qemuEscapeOption(p->serialLogPath);
    g_autofree char *path = NULL;
    g_autofree char *opt = NULL;

    switch (chr->type) {
    case CHR_TYPE_PTY:
        opt = g_strdup_printf("pty,id=serial0,logfile=%s,logappend=on", log);
        break;
    case CHR_TYPE_UNIX:
        path = qemuEscapeOption(chr->path);
        opt = g_strdup_printf(
            "socket,id=serial0,path=%s,server=on,wait=off,logfile=%s,logappend=on", path, log);
        break;
    case CHR_TYPE_FILE:
        path = qemuEscapeOption(chr->path);
        opt = g_strdup_printf("file,id=serial0,path=%s,append=on", path);
        break;
    default:
        opt = g_strdup_printf("file,id=serial0,path=%s,append=on", log);
        break;
    }
    addArgs(argv, "-chardev", opt);
    addArgs(argv, "-serial", "chardev:serial0");
}

/* -cpu, -rtc, -action and the crash device, when the definition asks. */
static void
addPlatform(GPtrArray *argv, const domainDef *def)
{
    g_autoptr(GString) action = g_string_new(NULL);

    switch (def->cpuMode) {
    case DOMAIN_CPU_HOST_PASSTHROUGH:
        addArgs(argv, "-cpu", "host");
        break;
    case DOMAIN_CPU_MAXIMUM:
        addArgs(argv, "-cpu", "max");
        break;
    case DOMAIN_CPU_CUSTOM:
        /* the model name is checked by the parser: [A-Za-z0-9._-] */
        addArgs(argv, "-cpu", def->cpuModel);
        break;
    default:
        break;
    }
    if (def->clockOffset == DOMAIN_CLOCK_LOCALTIME || def->rtcCatchup) {
        g_autofree char *rtc = g_strdup_printf(
            "base=%s%s", def->clockOffset == DOMAIN_CLOCK_LOCALTIME ? "localtime" : "utc",
            def->rtcCatchup ? ",driftfix=slew" : "");

        addArgs(argv, "-rtc", rtc);
    }
    /* sleep states the guest's ACPI tables offer: the power management
     * device is ICH9's LPC on q35, PIIX4's on pc */
    if (def->noS3)
        addArgs(argv, "-global",
                domainMachineIsPC(def) ? "PIIX4_PM.disable_s3=1" : "ICH9-LPC.disable_s3=1");
    if (def->noS4)
        addArgs(argv, "-global",
                domainMachineIsPC(def) ? "PIIX4_PM.disable_s4=1" : "ICH9-LPC.disable_s4=1");
    /* the in-kernel PIT of KVM; TCG's PIT delays lost ticks anyway */
    if (def->pitDelay)
        addArgs(argv, "-global", "kvm-pit.lost_tick_policy=delay");
    if (def->onPoweroff == DOMAIN_LIFECYCLE_PRESERVE)
        g_string_append(action, ",shutdown=pause");
    if (def->onReboot == DOMAIN_LIFECYCLE_DESTROY)
        g_string_append(action, ",reboot=shutdown");
    if (def->onCrash == DOMAIN_LIFECYCLE_DESTROY)
        g_string_append(action, ",panic=shutdown");
    else if (def->onCrash == DOMAIN_LIFECYCLE_PRESERVE)
        g_string_append(action, ",panic=pause");
    if (action->len)
        addArgs(argv, "-action", action->str + 1);
    if (def->onCrash >= 0) {
        /* the guest reports its crash through this device */
        json_object *obj = json_object_new_object();

        ADD_STR(obj, "driver", "pvpanic");
        ADD_STR(obj, "id", "panic0");
        addJSON(argv, "-device", obj);
    }
}

static const char *const netDevices[] = {"virtio-net-pci", "e1000e", "e1000", "rtl8139"};
G_STATIC_ASSERT(G_N_ELEMENTS(netDevices) == NET_MODEL_LAST);

char *
qemuNetDeviceId(size_t idx)
{
    return g_strdup_printf("net%zu", idx);
}

/*
 * One interface: a -netdev and its -device, both JSON. The host forwards
 * of a user network are each one member of the "hostfwd" list, built
 * from checked numbers and an IPv4 address, so no value can add a rule.
 */
static void
addNet(GPtrArray *argv, const domainNetDef *net, size_t idx)
{
    g_autofree char *netdev = g_strdup_printf("netdev%zu", idx);
    g_autofree char *dev = qemuNetDeviceId(idx);
    json_object *nd = json_object_new_object();
    json_object *obj = json_object_new_object();
    char mac[18];
    size_t i;

    ADD_STR(nd, "id", netdev);
    switch (net->type) {
    case NET_TYPE_USER:
        ADD_STR(nd, "type", "user");
        if (net->nforwards) {
            json_object *list = json_object_new_array();

            for (i = 0; i < net->nforwards; i++) {
                const domainPortForward *f = &net->forwards[i];
                json_object *rule = json_object_new_object();
                g_autofree char *str =
                    g_strdup_printf("%s:%s:%u-:%u", domainNetProtoName(f->proto),
                                    f->address ? f->address : "", f->hostPort, f->guestPort);

                ADD_STR(rule, "str", str);
                json_object_array_add(list, rule);
            }
            json_object_object_add(nd, "hostfwd", list);
        }
        break;
    case NET_TYPE_BRIDGE:
    case NET_TYPE_ETHERNET:
        /* a tap that exists when QEMU starts: the process code makes the
         * bridge's, the user makes an ethernet one */
        ADD_STR(nd, "type", "tap");
        ADD_STR(nd, "ifname", net->ifname);
        ADD_STR(nd, "script", "no");
        ADD_STR(nd, "downscript", "no");
        break;
    }
    addJSON(argv, "-netdev", nd);

    domainNetMACFormat(net->mac, mac);
    ADD_STR(obj, "driver", netDevices[net->model]);
    ADD_STR(obj, "id", dev);
    ADD_STR(obj, "netdev", netdev);
    ADD_STR(obj, "mac", mac);
    addJSON(argv, "-device", obj);
}

GStrv
qemuBuildCommandLine(const domainDef *def, const qemuCommandParams *p)
{
    g_autoptr(GPtrArray) argv = g_ptr_array_new_with_free_func(g_free);
    g_autoptr(GHashTable) groups = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    g_autofree char *name = qemuEscapeOption(def->name);
    g_autofree char *mon = qemuEscapeOption(p->monitorPath);
    g_autofree char *opt = NULL;
    char uuid[37];
    unsigned int port = 0;
    size_t i;

    g_ptr_array_add(argv, g_strdup(def->emulator ? def->emulator : p->binary));
    opt = g_strdup_printf("guest=%s,debug-threads=on", name);
    addArgs(argv, "-name", opt);
    g_clear_pointer(&opt, g_free);
    domainUUIDFormat(def->uuid, uuid);
    addArgs(argv, "-uuid", uuid);
    /* the machine name is checked by the parser: no ',' in it */
    opt = g_strdup_printf("%s,accel=%s%s%s%s", def->machine ? def->machine : "q35",
                          def->virtType == DOMAIN_VIRT_KVM ? "kvm" : "tcg",
                          def->acpi ? "" : ",acpi=off", def->hpetOff ? ",hpet=off" : "",
                          def->vmport < 0 ? ""
                          : def->vmport   ? ",vmport=on"
                                          : ",vmport=off");
    addArgs(argv, "-machine", opt);
    g_clear_pointer(&opt, g_free);
    addPlatform(argv, def);
    opt = g_strdup_printf("%lluk", def->memoryKiB);
    addArgs(argv, "-m", opt);
    g_clear_pointer(&opt, g_free);
    opt = g_strdup_printf("%u", def->vcpus);
    addArgs(argv, "-smp", opt);
    g_clear_pointer(&opt, g_free);
    addArgs(argv, "-nodefaults", NULL);
    addArgs(argv, "-no-user-config", NULL);
    addArgs(argv, "-display", "none");
    addArgs(argv, "-S", NULL);
    if (p->incoming)
        addArgs(argv, "-incoming", p->incoming);
    addArgs(argv, "-msg", "timestamp=on");

    opt = g_strdup_printf("socket,id=monitor,path=%s,server=on,wait=off", mon);
    addArgs(argv, "-chardev", opt);
    g_clear_pointer(&opt, g_free);
    addArgs(argv, "-mon", "chardev=monitor,mode=control");
    addArgs(argv, "-pidfile", p->pidfilePath);

    if (def->kernel) {
        addArgs(argv, "-kernel", def->kernel);
        if (def->initrd)
            addArgs(argv, "-initrd", def->initrd);
        if (def->cmdline)
            addArgs(argv, "-append", def->cmdline);
    }

    /* q35: the room to hot-plug; pc hot-plugs on its PCI bus itself */
    if (!domainMachineIsPC(def))
        addRootPorts(argv, qemuRootPortCount(def));
    if (domainMachineIsPC(def)) {
        /* pc has IDE only: its sata disks get an AHCI controller */
        for (i = 0; i < def->ndisks; i++) {
            if (def->disks[i]->bus == DISK_BUS_SATA) {
                json_object *obj = json_object_new_object();

                ADD_STR(obj, "driver", "ich9-ahci");
                ADD_STR(obj, "id", "sata");
                addJSON(argv, "-device", obj);
                break;
            }
        }
    }
    addDeclaredGroups(argv, def, groups);
    for (i = 0; i < def->ndisks; i++) {
        if (addDisk(argv, def->disks[i], !def->kernel && i == 0, domainMachineIsPC(def), groups,
                    p, port) < 0)
            return NULL;
        if (def->disks[i]->bus == DISK_BUS_VIRTIO)
            port++;
    }
    for (i = 0; i < def->nnets; i++)
        addNet(argv, def->nets[i], i);
    if (def->memballoon == DOMAIN_MEMBALLOON_VIRTIO) {
        json_object *obj = json_object_new_object();

        ADD_STR(obj, "driver", "virtio-balloon-pci");
        ADD_STR(obj, "id", "balloon0");
        addJSON(argv, "-device", obj);
    }
    addSerial(argv, def, p);

    g_ptr_array_add(argv, NULL);
    return (GStrv)g_ptr_array_free(g_steal_pointer(&argv), FALSE);
}

/* ---- the files QEMU reads at start: keys and Ceph configurations ---- */

/*
 * The key file a disk's <auth> names: the file itself, or its entry in
 * the daemon's secret store. New string, or NULL with an error.
 */
static char *
secretSource(const domainDiskDef *disk, const qemuCommandParams *p)
{
    const char *name = disk->auth.usage ? disk->auth.usage : disk->auth.uuid;

    if (disk->auth.file)
        return g_strdup(disk->auth.file);
    if (!p->secretDir) {
        reportError(IOV_ERR_CONFIG_UNSUPPORTED, "disk '%s': secret '%s' names the secret store, and this daemon has none",
                    disk->target, name);
        return NULL;
    }
    return g_build_filename(p->secretDir, name, NULL);
}

/*
 * Read the key at `src`: a regular file of this process's user that
 * nobody else may read, at most 64 KiB; surrounding white space is not
 * part of the key. A cephx key must be base64. The error names the disk
 * and the file, never the key.
 */
static char *
readSecret(const domainDiskDef *disk, const char *src)
{
    g_autofree char *data = NULL;
    struct stat st;
    ssize_t n;
    int fd;

    fd = open(src, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) {
        reportSystemError(errno, "disk '%s': cannot open the secret file '%s'", disk->target, src);
        return NULL;
    }
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        reportError(IOV_ERR_CONFIG_UNSUPPORTED, "disk '%s': the secret file '%s' is not a regular file", disk->target, src);
        return NULL;
    }
    if (st.st_uid != geteuid() || (st.st_mode & 077)) {
        close(fd);
        reportError(IOV_ERR_CONFIG_UNSUPPORTED, "disk '%s': the secret file '%s' (owner %u, mode %04o) must belong to the daemon's user (%u) and be readable by it alone (chmod 0600)",
                    disk->target, src, (unsigned int)st.st_uid, (unsigned int)(st.st_mode & 07777),
                    (unsigned int)geteuid());
        return NULL;
    }
    if (st.st_size > 65536) {
        close(fd);
        reportError(IOV_ERR_CONFIG_UNSUPPORTED, "disk '%s': the secret file '%s' is larger than 64 KiB", disk->target, src);
        return NULL;
    }
    data = g_malloc0((gsize)st.st_size + 1);
    n = read(fd, data, (size_t)st.st_size);
    close(fd);
    if (n != st.st_size) {
        reportSystemError(n < 0 ? errno : EIO, "disk '%s': cannot read the secret file '%s'", disk->target, src);
        return NULL;
    }
    g_strstrip(data);
    if (!*data) {
        reportError(IOV_ERR_CONFIG_UNSUPPORTED, "disk '%s': the secret file '%s' is empty", disk->target, src);
        return NULL;
    }
    if (disk->protocol == DISK_PROTOCOL_RBD) {
        gsize len = 0;
        const char *c;
        g_autofree guchar *raw = NULL;

        for (c = data; *c; c++) {
            if (!g_ascii_isalnum(*c) && !strchr("+/=", *c))
                break;
        }
        if (*c || (strlen(data) % 4) != 0 || !(raw = g_base64_decode(data, &len)) || len == 0) {
            reportError(IOV_ERR_CONFIG_UNSUPPORTED, "disk '%s': the secret file '%s' does not hold a base64 cephx key (as in a keyring's 'key = ...')",
                        disk->target, src);
            return NULL;
        }
    }
    return g_steal_pointer(&data);
}

/* Write `data` to a new file `path` that only the owner can read. */
static int
writePrivateFile(const domainDiskDef *disk, const char *path, const char *data)
{
    size_t len = strlen(data), done = 0;
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);

    if (fd < 0) {
        reportSystemError(errno, "disk '%s': cannot create '%s'", disk->target, path);
        return -1;
    }
    while (done < len) {
        ssize_t n = write(fd, data + done, len - done);

        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            reportSystemError(errno, "disk '%s': cannot write '%s'", disk->target, path);
            close(fd);
            unlink(path);
            return -1;
        }
        done += (size_t)n;
    }
    if (close(fd) < 0) {
        reportSystemError(errno, "disk '%s': cannot write '%s'", disk->target, path);
        unlink(path);
        return -1;
    }
    return 0;
}

/* Make the files dir `dir` (0700) unless it exists as a directory. */
static int
makeFilesDir(const domainDiskDef *disk, const char *dir)
{
    struct stat st;

    if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
        reportSystemError(errno, "disk '%s': cannot create the directory '%s'", disk->target, dir);
        return -1;
    }
    errno = 0;
    if (lstat(dir, &st) < 0 || !S_ISDIR(st.st_mode) || chmod(dir, 0700) < 0) {
        reportSystemError(errno ? errno : ENOTDIR, "disk '%s': '%s' is not a private directory",
                          disk->target, dir);
        return -1;
    }
    return 0;
}

int
qemuCommandPrepareDiskFiles(const domainDiskDef *disk, const qemuCommandParams *p)
{
    if (!qemuDiskNeedsFiles(disk))
        return 0;
    if (!p->filesDir) {
        reportError(IOV_ERR_INTERNAL_ERROR, "disk '%s': no directory for the files QEMU reads",
                    disk->target);
        return -1;
    }
    if (makeFilesDir(disk, p->filesDir) < 0)
        return -1;
    if (disk->auth.username) {
        g_autofree char *src = secretSource(disk, p);
        g_autofree char *dst = diskSecretPath(p, disk);
        g_autofree char *key = NULL;
        int rc;

        if (!src || !(key = readSecret(disk, src)))
            goto error;
        rc = writePrivateFile(disk, dst, key);
        memset(key, 0, strlen(key));
        if (rc < 0)
            goto error;
    }
    if (diskHasCephConf(disk)) {
        g_autofree char *path = diskCephConfPath(p, disk);
        g_autofree char *conf = g_strdup_printf(
            "# written by iovirt for disk '%s': QEMU gets the monitors and the key itself\n"
            "[global]\n"
            "client_mount_timeout = %u\n"
            "rados_mon_op_timeout = %u\n"
            "keyring = /dev/null\n"
            "log_to_stderr = false\n"
            "err_to_stderr = true\n"
            "log_file = /dev/null\n",
            disk->target, diskTimeout(disk), diskTimeout(disk));

        if (writePrivateFile(disk, path, conf) < 0)
            goto error;
    }
    return 0;

error:
    qemuCommandRemoveDiskFiles(disk, p->filesDir);
    return -1;
}

void
qemuCommandRemoveDiskFiles(const domainDiskDef *disk, const char *filesDir)
{
    qemuCommandParams p = {.filesDir = filesDir};
    g_autofree char *key = NULL;
    g_autofree char *conf = NULL;

    if (!filesDir)
        return;
    key = diskSecretPath(&p, disk);
    conf = diskCephConfPath(&p, disk);
    unlink(key);
    unlink(conf);
    /* the directory goes with its last file */
    rmdir(filesDir);
}

int
qemuCommandPrepareFiles(const domainDef *def, const qemuCommandParams *p)
{
    size_t i;
    bool need = false;

    for (i = 0; i < def->ndisks; i++)
        need |= qemuDiskNeedsFiles(def->disks[i]);
    if (!need)
        return 0;
    if (!p->filesDir) {
        reportError(IOV_ERR_INTERNAL_ERROR, "domain '%s': no directory for the files QEMU reads", def->name);
        return -1;
    }
    qemuCommandRemoveFiles(p->filesDir);
    if (mkdir(p->filesDir, 0700) < 0 || chmod(p->filesDir, 0700) < 0) {
        reportSystemError(errno, "domain '%s': cannot create the directory '%s'", def->name, p->filesDir);
        return -1;
    }
    for (i = 0; i < def->ndisks; i++) {
        if (qemuCommandPrepareDiskFiles(def->disks[i], p) < 0) {
            qemuCommandRemoveFiles(p->filesDir);
            return -1;
        }
    }
    return 0;
}

void
qemuCommandRemoveFiles(const char *filesDir)
{
    g_autoptr(GDir) dir = NULL;
    const char *entry;

    if (!filesDir || !(dir = g_dir_open(filesDir, 0, NULL)))
        return;
    while ((entry = g_dir_read_name(dir))) {
        g_autofree char *path = g_build_filename(filesDir, entry, NULL);

        unlink(path);
    }
    rmdir(filesDir);
}
