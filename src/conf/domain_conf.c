/*
 * domain_conf.c: parse, validate and format domain XML
 *
 * Parsing marks every element and attribute it reads (in libxml2's
 * `_private` field). Whatever is left unmarked afterwards is what iovirt
 * does not model: refused in a plain parse, or dropped and listed by XPath
 * when reading a libvirt document. So the list of what is understood
 * lives in one place: the parse functions themselves.
 */
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <arpa/inet.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xmlwriter.h>

#include "domain_conf.h"
#include "util/error.h"
#include "util/units.h"

#define IOV_FROM_THIS IOV_FROM_CONF

#define MAX_XML_SIZE (4 * 1024 * 1024)
#define MIN_MEMORY_KIB 1024ULL
#define MAX_MEMORY_KIB (1ULL << 40)
#define MAX_VCPUS 255
#define MAX_DISKS 64
#define MAX_ROOT_PORTS 128

static const char *const virtTypeNames[] = {"qemu", "kvm"};
static const char *const diskTypeNames[] = {"file", "block", "network"};
static const char *const diskDeviceNames[] = {"disk", "cdrom"};
static const char *const protocolNames[] = {"", "nbd", "http", "https", "iscsi", "rbd", "ssh"};
static const char *const hostKeyCheckNames[] = {"known_hosts", "none", "md5", "sha1", "sha256"};
static const char *const formatNames[] = {"raw", "qcow2"};
static const char *const cacheNames[] = {"default", "none", "writeback",
                                         "writethrough", "directsync", "unsafe"};
static const char *const busNames[] = {"virtio", "sata"};
static const char *const diskIONames[] = {"default", "threads", "native", "io_uring"};
static const char *const chrTypeNames[] = {"", "file", "pty", "unix"};

static const char *const netTypeNames[] = {"user", "bridge", "ethernet"};
static const char *const netModelNames[] = {"virtio", "e1000e", "e1000", "rtl8139"};
static const char *const netProtoNames[] = {"tcp", "udp"};
static const char *const lifecycleNames[] = {"destroy", "restart", "preserve"};
static const char *const clockNames[] = {"utc", "localtime"};
static const char *const cpuModeNames[] = {"", "host-passthrough", "maximum", "custom"};

G_STATIC_ASSERT(G_N_ELEMENTS(netTypeNames) == NET_TYPE_LAST);
G_STATIC_ASSERT(G_N_ELEMENTS(netModelNames) == NET_MODEL_LAST);
G_STATIC_ASSERT(G_N_ELEMENTS(netProtoNames) == NET_PROTO_LAST);
G_STATIC_ASSERT(G_N_ELEMENTS(lifecycleNames) == DOMAIN_LIFECYCLE_LAST);
G_STATIC_ASSERT(G_N_ELEMENTS(clockNames) == DOMAIN_CLOCK_LAST);
G_STATIC_ASSERT(G_N_ELEMENTS(cpuModeNames) == DOMAIN_CPU_LAST);
G_STATIC_ASSERT(G_N_ELEMENTS(virtTypeNames) == DOMAIN_VIRT_LAST);
G_STATIC_ASSERT(G_N_ELEMENTS(diskTypeNames) == DISK_TYPE_LAST);
G_STATIC_ASSERT(G_N_ELEMENTS(diskDeviceNames) == DISK_DEVICE_LAST);
G_STATIC_ASSERT(G_N_ELEMENTS(protocolNames) == DISK_PROTOCOL_LAST);
G_STATIC_ASSERT(G_N_ELEMENTS(formatNames) == DISK_FORMAT_LAST);
G_STATIC_ASSERT(G_N_ELEMENTS(cacheNames) == DISK_CACHE_LAST);
G_STATIC_ASSERT(G_N_ELEMENTS(busNames) == DISK_BUS_LAST);
G_STATIC_ASSERT(G_N_ELEMENTS(chrTypeNames) == CHR_TYPE_LAST);
G_STATIC_ASSERT(G_N_ELEMENTS(hostKeyCheckNames) == SSH_HOSTKEY_LAST);

const char *domainVirtTypeName(int t) { return virtTypeNames[t]; }
const char *domainDiskTypeName(int t) { return diskTypeNames[t]; }
const char *domainDiskProtocolName(int p) { return protocolNames[p]; }
const char *domainDiskFormatName(int f) { return formatNames[f]; }
const char *domainDiskCacheName(int c) { return cacheNames[c]; }
const char *domainDiskBusName(int b) { return busNames[b]; }
const char *domainSshHostKeyCheckName(int c) { return hostKeyCheckNames[c]; }
const char *
domainNetTypeName(int t)
{
    return netTypeNames[t];
}
const char *
domainNetModelName(int m)
{
    return netModelNames[m];
}
const char *
domainNetProtoName(int p)
{
    return netProtoNames[p];
}
const char *
domainLifecycleActionName(int a)
{
    return lifecycleNames[a];
}

/* Index of `value` in `names` (n entries), or -1. */
static int
enumFromString(const char *const *names, int n, const char *value)
{
    int i;

    for (i = 0; i < n; i++) {
        if (strcmp(names[i], value) == 0)
            return i;
    }
    return -1;
}

/* ---- freeing ---- */

static void
hostClear(domainHostDef *h)
{
    g_free(h->name);
    g_free(h->socket);
}

void
domainDiskDefFree(domainDiskDef *disk)
{
    size_t i;

    if (!disk)
        return;
    g_free(disk->path);
    g_free(disk->name);
    for (i = 0; i < disk->nhosts; i++)
        hostClear(&disk->hosts[i]);
    g_free(disk->hosts);
    g_free(disk->auth.username);
    g_free(disk->auth.file);
    g_free(disk->auth.usage);
    g_free(disk->auth.uuid);
    g_free(disk->initiator);
    g_free(disk->snapshot);
    g_free(disk->sshUser);
    g_free(disk->sshFingerprint);
    g_free(disk->target);
    g_free(disk->serial);
    domainBackingFree(disk->backing);
    throttleDefClear(&disk->throttle);
    for (i = 0; i < disk->nfilters; i++)
        g_free(disk->filters[i]);
    g_free(disk->filters);
    g_free(disk);
}

static void
netDefFree(domainNetDef *net)
{
    size_t i;

    if (!net)
        return;
    g_free(net->bridge);
    g_free(net->ifname);
    for (i = 0; i < net->nforwards; i++)
        g_free(net->forwards[i].address);
    g_free(net->forwards);
    g_free(net);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC(domainNetDef, netDefFree)

void
domainThrottleGroupDefFree(domainThrottleGroupDef *group)
{
    if (!group)
        return;
    g_free(group->name);
    throttleDefClear(&group->limits);
    g_free(group);
}

void
domainDefFree(domainDef *def)
{
    size_t i;

    if (!def)
        return;
    g_free(def->name);
    g_free(def->kernel);
    g_free(def->initrd);
    g_free(def->cmdline);
    for (i = 0; i < def->ndisks; i++)
        domainDiskDefFree(def->disks[i]);
    g_free(def->disks);
    for (i = 0; i < def->ngroups; i++)
        domainThrottleGroupDefFree(def->groups[i]);
    g_free(def->groups);
    g_free(def->serial.path);
    g_free(def->console.path);
    g_free(def->machine);
    g_free(def->emulator);
    g_free(def->cpuModel);
    for (i = 0; i < def->nnets; i++)
        netDefFree(def->nets[i]);
    g_free(def->nets);
    g_free(def->dropped);
    g_free(def);
}

/* ---- small helpers ---- */

bool
domainNameValid(const char *name)
{
    size_t len = strlen(name), i;

    if (len < 1 || len > 64 || name[0] == '.' || name[0] == '-')
        return false;
    for (i = 0; i < len; i++) {
        char c = name[i];

        if (!g_ascii_isalnum(c) && !strchr("_.+-", c))
            return false;
    }
    return true;
}

static void
uuidGenerate(unsigned char *uuid)
{
    const char *s = g_uuid_string_random();

    domainUUIDParse(s, uuid);
    g_free((char *)s);
}

domainDiskDef *
domainDiskFind(const domainDef *def, const char *name)
{
    ssize_t i = domainDiskIndex(def, name);

    return i < 0 ? NULL : def->disks[i];
}

ssize_t
domainDiskIndex(const domainDef *def, const char *name)
{
    size_t i;

    if (!name)
        return -1;
    for (i = 0; i < def->ndisks; i++) {
        const domainDiskDef *d = def->disks[i];

        if (name[0] == '/') {
            if (d->path && strcmp(d->path, name) == 0)
                return (ssize_t)i;
        } else if (strcmp(d->target, name) == 0) {
            return (ssize_t)i;
        }
    }
    return -1;
}

ssize_t
domainThrottleGroupIndex(const domainDef *def, const char *name)
{
    size_t i;

    for (i = 0; name && i < def->ngroups; i++) {
        if (strcmp(def->groups[i]->name, name) == 0)
            return (ssize_t)i;
    }
    return -1;
}

domainThrottleGroupDef *
domainThrottleGroupFind(const domainDef *def, const char *name)
{
    ssize_t i = domainThrottleGroupIndex(def, name);

    return i < 0 ? NULL : def->groups[i];
}

bool
domainDiskHasFilter(const domainDiskDef *disk, const char *name)
{
    size_t i;

    for (i = 0; i < disk->nfilters; i++) {
        if (strcmp(disk->filters[i], name) == 0)
            return true;
    }
    return false;
}

const char *
domainThrottleGroupUser(const domainDef *def, const char *name)
{
    size_t i;

    for (i = 0; i < def->ndisks; i++) {
        const domainDiskDef *d = def->disks[i];

        if (g_strcmp0(d->throttle.group, name) == 0 || domainDiskHasFilter(d, name))
            return d->target;
    }
    return NULL;
}

bool
domainDiskIsEmpty(const domainDiskDef *disk)
{
    return disk->type != DISK_TYPE_NETWORK && !disk->path;
}

char *
domainDiskSourceString(const domainDiskDef *disk)
{
    const domainHostDef *h = disk->nhosts ? &disk->hosts[0] : NULL;
    const char *slash = "/";

    if (domainDiskIsEmpty(disk))
        return g_strdup("-");
    if (disk->type != DISK_TYPE_NETWORK)
        return g_strdup(disk->path);
    /* the URL form QEMU and nbdkit take: nbd+unix:///EXPORT?socket=PATH */
    if (h && h->unixSocket)
        return g_strdup_printf("%s+unix:///%s?socket=%s", protocolNames[disk->protocol],
                               disk->name ? disk->name : "", h->socket);
    /* an ssh or http path already starts with '/' */
    if (disk->name && disk->name[0] == '/')
        slash = "";
    if (h && h->port)
        return g_strdup_printf("%s://%s:%u%s%s", protocolNames[disk->protocol],
                               h->name, h->port, slash, disk->name ? disk->name : "");
    return g_strdup_printf("%s://%s%s%s", protocolNames[disk->protocol],
                           h ? h->name : "", slash, disk->name ? disk->name : "");
}

/* ---- the parse context and the marking of what was read ---- */

#define MARK ((void *)1)
#define DROPPED ((void *)2) /* already listed as dropped, with a reason */

typedef struct {
    unsigned int flags;
    GString *dropped; /* may be NULL */
} parseCtxt;

static bool
fromLibvirt(const parseCtxt *ctxt)
{
    return ctxt->flags & DOMAIN_PARSE_FROM_LIBVIRT;
}

/* XPath of a node or attribute, as a GLib string. */
static char *
nodePath(xmlNode *node)
{
    xmlChar *p = xmlGetNodePath(node);
    char *ret = g_strdup((const char *)p);

    xmlFree(p);
    return ret;
}

/* Record that `node` (an element or an attribute) is dropped. */
static void
noteDropped(parseCtxt *ctxt, xmlNode *node, const char *why)
{
    g_autofree char *path = nodePath(node);

    if (!ctxt->dropped)
        return;
    if (why)
        g_string_append_printf(ctxt->dropped, "%s (%s)\n", path, why);
    else
        g_string_append_printf(ctxt->dropped, "%s\n", path);
}

static bool
isElem(xmlNode *n, const char *name)
{
    return n->type == XML_ELEMENT_NODE && n->ns == NULL &&
           strcmp((const char *)n->name, name) == 0;
}

/* The value of attribute `name` of `node` (marking it read), or NULL. */
static char *
getAttr(xmlNode *node, const char *name)
{
    xmlAttr *a;

    for (a = node->properties; a; a = a->next) {
        if (a->ns == NULL && strcmp((const char *)a->name, name) == 0) {
            xmlChar *v = xmlNodeListGetString(node->doc, a->children, 1);
            char *ret = g_strdup(v ? (const char *)v : "");

            xmlFree(v);
            a->_private = MARK;
            return ret;
        }
    }
    return NULL;
}

/* The stripped text content of `node`. */
static char *
getText(xmlNode *node)
{
    xmlChar *v = xmlNodeGetContent(node);
    char *ret = g_strdup(v ? (const char *)v : "");

    xmlFree(v);
    return g_strstrip(ret);
}

/*
 * The only child element `name` of `parent`, marked read; *out is NULL
 * when there is none. Two of them are an error.
 */
static int
getChild(xmlNode *parent, const char *name, xmlNode **out)
{
    xmlNode *c;

    *out = NULL;
    for (c = parent->children; c; c = c->next) {
        if (!isElem(c, name))
            continue;
        if (*out) {
            g_autofree char *path = nodePath(c);

            reportError(IOV_ERR_XML_ERROR, "element '%s' may appear only once", path);
            return -1;
        }
        *out = c;
        c->_private = MARK;
    }
    return 0;
}

/* Text of the only child `name`, or NULL when absent. */
static int
getChildText(xmlNode *parent, const char *name, char **out)
{
    xmlNode *c;

    *out = NULL;
    if (getChild(parent, name, &c) < 0)
        return -1;
    if (c)
        *out = getText(c);
    return 0;
}

/* Whether `n` is named `name` and its parent `parent` (NULL: any). */
static bool
nodeIs(xmlNode *n, const char *name, const char *parent)
{
    if (strcmp((const char *)n->name, name) != 0)
        return false;
    return !parent || (n->parent && n->parent->type == XML_ELEMENT_NODE &&
                       strcmp((const char *)n->parent->name, parent) == 0);
}

/*
 * Whether an element or attribute iovirt did not read is libvirt's
 * bookkeeping, which a libvirt import may drop because the guest does
 * not see it: the reason, or NULL when dropping it would change the
 * guest (it is then refused).
 */
static const char *
bookkeeping(xmlNode *n)
{
    if (n->type == XML_ATTRIBUTE_NODE) {
        g_autofree char *v = (char *)xmlNodeListGetString(n->doc, n->children, 1);

        if (nodeIs(n, "id", "domain"))
            return "the id of a running libvirt domain";
        if (nodeIs(n, "placement", "vcpu") && g_strcmp0(v, "static") == 0)
            return "libvirt's vCPU placement";
        if (nodeIs(n, "check", "cpu") || nodeIs(n, "migratable", "cpu") ||
            nodeIs(n, "fallback", "model"))
            return "libvirt's CPU checks";
        if (nodeIs(n, "match", "cpu") && g_strcmp0(v, "exact") == 0)
            return "libvirt's CPU checks";
        if (nodeIs(n, "index", "backingStore"))
            return "libvirt's numbering of the backing chain";
        return NULL;
    }
    if (nodeIs(n, "address", NULL))
        return "device address: QEMU places the device";
    if (nodeIs(n, "alias", NULL))
        return "device alias";
    if (nodeIs(n, "seclabel", NULL))
        return "libvirt's security label";
    if (nodeIs(n, "resource", "domain"))
        return "libvirt's cgroup partition";
    if (nodeIs(n, "metadata", "domain") || nodeIs(n, "title", "domain") ||
        nodeIs(n, "description", "domain"))
        return "not seen by the guest";
    if (nodeIs(n, "controller", "devices"))
        return "controller: QEMU has the controllers iovirt's devices need";
    if (nodeIs(n, "input", "devices")) {
        g_autofree char *bus = (char *)xmlGetNoNsProp(n, BAD_CAST "bus");

        if (!bus || strcmp(bus, "ps2") == 0)
            return "PS/2 input: part of the machine";
        return NULL;
    }
    /* the serial port's target is the machine's first port (ttyS0) */
    if (nodeIs(n, "target", "serial") || nodeIs(n, "target", "console"))
        return "the first serial port";
    if (nodeIs(n, "backingStore", "disk") && !n->children && !n->properties)
        return "libvirt's record of the backing chain";
    return NULL;
}

/*
 * Walk the tree below `node` for what parsing did not read: report the
 * first such element or attribute, except that a libvirt parse drops and
 * lists libvirt's bookkeeping (see bookkeeping()).
 */
static int
checkUnread(parseCtxt *ctxt, xmlNode *node)
{
    xmlAttr *a;
    xmlNode *c;

    for (a = node->properties; a; a = a->next) {
        const char *why;

        if (a->_private == MARK)
            continue;
        why = fromLibvirt(ctxt) ? bookkeeping((xmlNode *)a) : NULL;
        if (!why) {
            g_autofree char *path = nodePath((xmlNode *)a);

            if (fromLibvirt(ctxt))
                reportError(
                    IOV_ERR_XML_ERROR,
                    "unsupported attribute '%s' (iovirt does not model it, and it is not bookkeeping that could be dropped without changing the guest)",
                    path);
            else
                reportError(IOV_ERR_XML_ERROR, "unsupported attribute '%s'", path);
            return -1;
        }
        noteDropped(ctxt, (xmlNode *)a, why);
    }
    for (c = node->children; c; c = c->next) {
        if (c->type != XML_ELEMENT_NODE || c->_private == DROPPED)
            continue;
        if (c->_private != MARK) {
            const char *why = fromLibvirt(ctxt) ? bookkeeping(c) : NULL;

            if (!why) {
                g_autofree char *path = nodePath(c);

                if (fromLibvirt(ctxt))
                    reportError(
                        IOV_ERR_XML_ERROR,
                        "unsupported element '%s' (iovirt does not model it, and it is not bookkeeping that could be dropped without changing the guest)",
                        path);
                else
                    reportError(IOV_ERR_XML_ERROR, "unsupported element '%s'", path);
                return -1;
            }
            noteDropped(ctxt, c, why);
            continue;
        }
        if (checkUnread(ctxt, c) < 0)
            return -1;
    }
    return 0;
}

/* Parse a decimal unsigned value, naming `what` in the error. */
static int
parseULL(const char *text, const char *what, unsigned long long *out)
{
    if (utilParseULL(text, out) < 0) {
        reportError(IOV_ERR_XML_ERROR, "%s: '%s' is not a non-negative integer", what, text);
        return -1;
    }
    return 0;
}

/* ---- limits ---- */

static int
parseIothrottle(xmlNode *node, const char *target, throttleDef *t)
{
    xmlAttr *a;
    int i;

    for (a = node->properties; a; a = a->next) {
        if (throttleFieldLookup((const char *)a->name) < 0 ||
            strcmp(throttleField(throttleFieldLookup((const char *)a->name))->name,
                   (const char *)a->name) != 0) {
            reportError(IOV_ERR_XML_ERROR, "disk '%s': unknown <iothrottle> attribute '%s' (the fields are bps, bps_rd, bps_wr, iops, iops_rd, iops_wr, their *_max and *_max_length, iops_size and group)",
                        target, (const char *)a->name);
            return -1;
        }
    }
    for (i = 0; i < THROTTLE_FIELD_LAST; i++) {
        const iovThrottleField *f = throttleField(i);
        g_autofree char *v = getAttr(node, f->name);
        g_autofree char *what = NULL;

        if (!v)
            continue;
        if (i == THROTTLE_GROUP) {
            t->group = *v ? g_steal_pointer(&v) : NULL;
            continue;
        }
        what = g_strdup_printf("disk '%s': %s", target, f->name);
        if (parseULL(v, what, &t->v[i]) < 0)
            return -1;
    }
    return 0;
}

/*
 * The children of <iotune> (or of a libvirt <throttlegroup>), named like
 * libvirt's typed parameters, into *t; `kind` and `name` ("disk", "vda")
 * are for messages. Children it does not know are left unread.
 */
static int
parseIotune(xmlNode *node, const char *kind, const char *target, throttleDef *t)
{
    bool seen[THROTTLE_FIELD_LAST] = {false};
    xmlNode *c;

    for (c = node->children; c; c = c->next) {
        g_autofree char *v = NULL;
        g_autofree char *what = NULL;
        int id;

        if (c->type != XML_ELEMENT_NODE || c->ns)
            continue;
        id = throttleFieldLookup((const char *)c->name);
        if (id < 0 || strcmp(throttleField(id)->alias, (const char *)c->name) != 0)
            continue; /* left unread: refused or dropped by checkUnread */
        c->_private = MARK;
        if (seen[id]) {
            reportError(IOV_ERR_XML_ERROR, "%s '%s': <%s> element '%s' appears twice", kind, target,
                        (const char *)node->name, (const char *)c->name);
            return -1;
        }
        seen[id] = true;
        v = getText(c);
        if (id == THROTTLE_GROUP) {
            t->group = *v ? g_steal_pointer(&v) : NULL;
            continue;
        }
        what = g_strdup_printf("%s '%s': %s %s", kind, target, (const char *)node->name,
                               (const char *)c->name);
        if (parseULL(v, what, &t->v[id]) < 0)
            return -1;
    }
    return 0;
}

/* ---- declared throttle groups and a disk's filters ---- */

/* <throttlegroup name='cap' bps='...'/>: iovirt's spelling. */
static int
parseGroupAttrs(xmlNode *node, domainThrottleGroupDef *g)
{
    xmlAttr *a;

    for (a = node->properties; a; a = a->next) {
        const char *attr = (const char *)a->name;
        int id = throttleFieldLookup(attr);
        g_autofree char *v = NULL;
        g_autofree char *what = NULL;

        if (a->ns || strcmp(attr, "name") == 0)
            continue;
        if (id < 0 || id == THROTTLE_GROUP || strcmp(throttleField(id)->name, attr) != 0) {
            reportError(
                IOV_ERR_XML_ERROR,
                "group '%s': unknown <throttlegroup> attribute '%s' (the fields are bps, bps_rd, bps_wr, iops, iops_rd, iops_wr, their *_max and *_max_length, and iops_size)",
                g->name, attr);
            return -1;
        }
        v = getAttr(node, attr);
        what = g_strdup_printf("group '%s': %s", g->name, attr);
        if (parseULL(v, what, &g->limits.v[id]) < 0)
            return -1;
    }
    return 0;
}

/*
 * One <throttlegroup>, in iovirt's spelling (name= and the field table's
 * attributes) or in libvirt's (<group_name> and <iotune>'s children).
 */
static int
parseThrottleGroup(xmlNode *node, domainThrottleGroupDef *g)
{
    g_autofree char *name = getAttr(node, "name");
    throttleDef t = {0};

    if (name) {
        g->name = g_steal_pointer(&name);
        if (parseGroupAttrs(node, g) < 0)
            return -1;
    } else {
        if (parseIotune(node, "group", "", &t) < 0) {
            throttleDefClear(&t);
            return -1;
        }
        if (!t.group) {
            throttleDefClear(&t);
            reportError(
                IOV_ERR_XML_ERROR,
                "<throttlegroup> needs a name: name='NAME', or a <group_name> child in libvirt's spelling");
            return -1;
        }
        g->name = g_steal_pointer(&t.group);
        memcpy(g->limits.v, t.v, sizeof(t.v));
    }
    throttleDefNormalize(&g->limits);
    return 0;
}

static int
parseThrottleGroups(xmlNode *node, domainDef *def)
{
    xmlNode *c;

    for (c = node->children; c; c = c->next) {
        g_autoptr(domainThrottleGroupDef) g = NULL;

        if (!isElem(c, "throttlegroup"))
            continue;
        c->_private = MARK;
        if (def->ngroups >= DOMAIN_MAX_THROTTLE_GROUPS) {
            reportError(IOV_ERR_XML_ERROR, "a domain may declare at most %d throttle groups",
                        DOMAIN_MAX_THROTTLE_GROUPS);
            return -1;
        }
        g = g_new0(domainThrottleGroupDef, 1);
        if (parseThrottleGroup(c, g) < 0)
            return -1;
        def->groups = g_renew(domainThrottleGroupDef *, def->groups, def->ngroups + 1);
        def->groups[def->ngroups++] = g_steal_pointer(&g);
    }
    return 0;
}

/* <throttlefilters><throttlefilter group='cap'/>...: the same in iovirt's
 * and libvirt's spelling. */
static int
parseThrottleFilters(xmlNode *node, domainDiskDef *disk)
{
    xmlNode *c;

    for (c = node->children; c; c = c->next) {
        g_autofree char *group = NULL;

        if (!isElem(c, "throttlefilter"))
            continue;
        c->_private = MARK;
        group = getAttr(c, "group");
        if (!group || !*group) {
            reportError(IOV_ERR_XML_ERROR, "disk '%s': <throttlefilter> needs group='NAME'",
                        disk->target);
            return -1;
        }
        if (disk->nfilters >= DOMAIN_MAX_THROTTLE_FILTERS) {
            reportError(IOV_ERR_XML_ERROR, "disk '%s': at most %d throttle filters per disk",
                        disk->target, DOMAIN_MAX_THROTTLE_FILTERS);
            return -1;
        }
        disk->filters = g_renew(char *, disk->filters, disk->nfilters + 1);
        disk->filters[disk->nfilters++] = g_steal_pointer(&group);
    }
    return 0;
}

/*
 * A disk that joins a declared group with <iothrottle group='G'/> and
 * gives no limits of its own carries the group's: its limits are the
 * group's, as every member's are.
 */
static void
fillDeclaredMembers(domainDef *def)
{
    size_t i;

    for (i = 0; i < def->ndisks; i++) {
        domainDiskDef *d = def->disks[i];
        const domainThrottleGroupDef *g = domainThrottleGroupFind(def, d->throttle.group);

        if (g && throttleDefIsUnlimited(&d->throttle))
            memcpy(d->throttle.v, g->limits.v, sizeof(g->limits.v));
    }
}

/* Same stored values (the group names aside). */
static bool
sameValues(const throttleDef *a, const throttleDef *b)
{
    return memcmp(a->v, b->v, sizeof(a->v)) == 0;
}

/*
 * The checks of declared groups and of each disk's chain: names valid
 * and declared once, limits within QEMU's rules, every filter naming a
 * declared group, no group twice in one chain, a member of a declared
 * group carrying its limits.
 */
static int
validateThrottleGroups(const domainDef *def)
{
    size_t i, j, k;

    for (i = 0; i < def->ngroups; i++) {
        const domainThrottleGroupDef *g = def->groups[i];

        if (!throttleGroupNameValid(g->name)) {
            reportError(
                IOV_ERR_XML_ERROR,
                "throttle group '%s': a name must be 1 to 64 characters of A-Z a-z 0-9 _ . -",
                g->name);
            return -1;
        }
        if (domainThrottleGroupIndex(def, g->name) != (ssize_t)i) {
            reportError(IOV_ERR_XML_ERROR, "throttle group '%s' is declared twice", g->name);
            return -1;
        }
        if (throttleValidateNamed(&g->limits, "group", g->name, IOV_ERR_XML_ERROR) < 0)
            return -1;
    }
    for (i = 0; i < def->ndisks; i++) {
        const domainDiskDef *d = def->disks[i];
        const domainThrottleGroupDef *own = domainThrottleGroupFind(def, d->throttle.group);

        if (own && !sameValues(&own->limits, &d->throttle)) {
            reportError(
                IOV_ERR_XML_ERROR,
                "disk '%s' in group '%s' has limits different from the group's declared in <throttlegroups>",
                d->target, own->name);
            return -1;
        }
        for (j = 0; j < d->nfilters; j++) {
            if (!domainThrottleGroupFind(def, d->filters[j])) {
                reportError(
                    IOV_ERR_XML_ERROR,
                    "disk '%s': throttle filter group '%s' is not declared in <throttlegroups>",
                    d->target, d->filters[j]);
                return -1;
            }
            if (g_strcmp0(d->throttle.group, d->filters[j]) == 0) {
                reportError(
                    IOV_ERR_XML_ERROR,
                    "disk '%s': group '%s' appears twice in its chain (as its own group and as a throttle filter)",
                    d->target, d->filters[j]);
                return -1;
            }
            for (k = 0; k < j; k++) {
                if (strcmp(d->filters[k], d->filters[j]) == 0) {
                    reportError(
                        IOV_ERR_XML_ERROR,
                        "disk '%s': group '%s' appears twice in its chain of throttle filters",
                        d->target, d->filters[j]);
                    return -1;
                }
            }
        }
    }
    return 0;
}

/* ---- disks ---- */

static int
parseHost(xmlNode *node, domainDiskDef *disk, domainHostDef *h)
{
    g_autofree char *transport = getAttr(node, "transport");
    g_autofree char *port = getAttr(node, "port");
    unsigned long long p;

    h->name = getAttr(node, "name");
    if (transport && strcmp(transport, "tcp") != 0) {
        if (strcmp(transport, "unix") != 0) {
            reportError(IOV_ERR_XML_ERROR, "disk '%s': host transport '%s' is not tcp or unix",
                        disk->target, transport);
            return -1;
        }
        if (disk->protocol != DISK_PROTOCOL_NBD) {
            reportError(IOV_ERR_XML_ERROR, "disk '%s': only nbd disks can use a unix socket",
                        disk->target);
            return -1;
        }
        h->unixSocket = true;
        h->socket = getAttr(node, "socket");
        if (!h->socket || h->socket[0] != '/') {
            reportError(IOV_ERR_XML_ERROR, "disk '%s': a unix socket host needs an absolute socket='PATH'",
                        disk->target);
            return -1;
        }
        if (h->name || port) {
            reportError(IOV_ERR_XML_ERROR, "disk '%s': a unix socket host takes no name or port",
                        disk->target);
            return -1;
        }
        return 0;
    }
    if (!h->name || !*h->name) {
        reportError(IOV_ERR_XML_ERROR, "disk '%s': <host> needs a name", disk->target);
        return -1;
    }
    if (port) {
        if (utilParseULL(port, &p) < 0 || p < 1 || p > 65535) {
            reportError(IOV_ERR_XML_ERROR, "disk '%s': host port '%s' is not a number from 1 to 65535",
                        disk->target, port);
            return -1;
        }
        h->port = (unsigned int)p;
    }
    return 0;
}

static int
parseNetworkSource(xmlNode *src, domainDiskDef *disk)
{
    g_autofree char *protocol = getAttr(src, "protocol");
    xmlNode *c;
    size_t n = 0;

    if (!protocol) {
        reportError(IOV_ERR_XML_ERROR, "disk '%s': a network disk's <source> needs protocol='nbd|http|https|iscsi|rbd|ssh'",
                    disk->target);
        return -1;
    }
    disk->protocol = enumFromString(protocolNames, DISK_PROTOCOL_LAST, protocol);
    if (disk->protocol <= DISK_PROTOCOL_NONE) {
        reportError(IOV_ERR_XML_ERROR, "disk '%s': protocol '%s' is not one of nbd, http, https, iscsi, rbd, ssh",
                    disk->target, protocol);
        disk->protocol = DISK_PROTOCOL_NONE;
        return -1;
    }
    disk->name = getAttr(src, "name");
    if (disk->name && !*disk->name)
        g_clear_pointer(&disk->name, g_free);

    for (c = src->children; c; c = c->next) {
        if (isElem(c, "host"))
            n++;
    }
    if (n > 16) {
        reportError(IOV_ERR_XML_ERROR, "disk '%s': at most 16 hosts are allowed", disk->target);
        return -1;
    }
    disk->hosts = g_new0(domainHostDef, n ? n : 1);
    for (c = src->children; c; c = c->next) {
        if (!isElem(c, "host"))
            continue;
        c->_private = MARK;
        if (parseHost(c, disk, &disk->hosts[disk->nhosts++]) < 0)
            return -1;
    }

    switch (disk->protocol) {
    case DISK_PROTOCOL_NBD:
    case DISK_PROTOCOL_HTTP:
    case DISK_PROTOCOL_HTTPS:
    case DISK_PROTOCOL_ISCSI:
    case DISK_PROTOCOL_SSH:
        if (disk->nhosts != 1) {
            reportError(IOV_ERR_XML_ERROR, "disk '%s': an %s source needs exactly one <host>",
                        disk->target, protocol);
            return -1;
        }
        break;
    default:
        break;
    }
    if (!disk->name && disk->protocol != DISK_PROTOCOL_NBD) {
        reportError(IOV_ERR_XML_ERROR, "disk '%s': an %s source needs name='%s'", disk->target,
                    protocol,
                    disk->protocol == DISK_PROTOCOL_ISCSI ? "TARGET/LUN"
                    : disk->protocol == DISK_PROTOCOL_RBD ? "POOL/IMAGE"
                                                          : "PATH");
        return -1;
    }
    if (disk->protocol == DISK_PROTOCOL_RBD &&
        (!strchr(disk->name, '/') || strchr(disk->name, '/') != strrchr(disk->name, '/') ||
         disk->name[0] == '/' || g_str_has_suffix(disk->name, "/") || strchr(disk->name, '@'))) {
        reportError(IOV_ERR_XML_ERROR, "disk '%s': rbd name '%s' is not POOL/IMAGE (a snapshot goes in <snapshot name='...'/>)",
                    disk->target, disk->name);
        return -1;
    }
    if (disk->protocol == DISK_PROTOCOL_ISCSI) {
        const char *slash = strrchr(disk->name, '/');
        unsigned long long lun;

        if (!slash || slash == disk->name || utilParseULL(slash + 1, &lun) < 0 ||
            lun > 16383) {
            reportError(IOV_ERR_XML_ERROR, "disk '%s': iscsi name '%s' is not TARGET/LUN (LUN a number)",
                        disk->target, disk->name);
            return -1;
        }
    }
    if (disk->protocol == DISK_PROTOCOL_SSH && disk->name[0] != '/') {
        reportError(IOV_ERR_XML_ERROR, "disk '%s': ssh name '%s' is not an absolute path on the server",
                    disk->target, disk->name);
        return -1;
    }
    return 0;
}

/* A name in the secret store: 1 to 128 of [A-Za-z0-9_.-], not starting with '.'. */
static bool
secretNameValid(const char *name)
{
    size_t len = strlen(name), i;

    if (len < 1 || len > 128 || name[0] == '.')
        return false;
    for (i = 0; i < len; i++) {
        if (!g_ascii_isalnum(name[i]) && !strchr("_.-", name[i]))
            return false;
    }
    return true;
}

/*
 * <auth username='U'><secret type='iscsi|ceph' file|usage|uuid='...'/></auth>,
 * inside <source> or, as older libvirt documents write it, directly in
 * <disk>.
 */
static int
parseAuth(xmlNode *node, domainDiskDef *disk)
{
    const char *wantType = disk->protocol == DISK_PROTOCOL_ISCSI ? "iscsi" : "ceph";
    g_autofree char *type = NULL;
    domainDiskAuthDef *a = &disk->auth;
    xmlNode *secret;
    int given;

    if (disk->protocol != DISK_PROTOCOL_ISCSI && disk->protocol != DISK_PROTOCOL_RBD) {
        reportError(IOV_ERR_XML_ERROR, "disk '%s': <auth> is for iscsi (CHAP) and rbd (cephx) disks, not %s",
                    disk->target, disk->type == DISK_TYPE_NETWORK ? protocolNames[disk->protocol] : diskTypeNames[disk->type]);
        return -1;
    }
    a->username = getAttr(node, "username");
    if (!a->username || !*a->username || strchr(a->username, '\n')) {
        reportError(IOV_ERR_XML_ERROR, "disk '%s': <auth> needs username='NAME' (one line, not empty)",
                    disk->target);
        return -1;
    }
    if (getChild(node, "secret", &secret) < 0)
        return -1;
    if (!secret) {
        reportError(IOV_ERR_XML_ERROR, "disk '%s': <auth> needs <secret type='%s' file='/PATH'/> (or usage= or uuid=)",
                    disk->target, wantType);
        return -1;
    }
    type = getAttr(secret, "type");
    if (!type || strcmp(type, wantType) != 0) {
        reportError(IOV_ERR_XML_ERROR, "disk '%s': secret type '%s' is not '%s' (the %s key)",
                    disk->target, type ? type : "", wantType, protocolNames[disk->protocol]);
        return -1;
    }
    a->file = getAttr(secret, "file");
    a->usage = getAttr(secret, "usage");
    a->uuid = getAttr(secret, "uuid");
    given = !!a->file + !!a->usage + !!a->uuid;
    if (given != 1) {
        reportError(IOV_ERR_XML_ERROR, "disk '%s': <secret> needs exactly one of file, usage, uuid (%d given)",
                    disk->target, given);
        return -1;
    }
    if (a->file && a->file[0] != '/') {
        reportError(IOV_ERR_XML_ERROR, "disk '%s': secret file '%s' is not absolute", disk->target, a->file);
        return -1;
    }
    if (a->usage && !secretNameValid(a->usage)) {
        reportError(IOV_ERR_XML_ERROR, "disk '%s': secret usage '%s' must be 1 to 128 characters of A-Z a-z 0-9 _ . - and not start with '.'",
                    disk->target, a->usage);
        return -1;
    }
    if (a->uuid) {
        unsigned char u[16];
        char canon[37];

        if (domainUUIDParse(a->uuid, u) < 0) {
            reportError(IOV_ERR_XML_ERROR, "disk '%s': secret uuid '%s' is not 32 hexadecimal digits (dashes allowed)",
                        disk->target, a->uuid);
            return -1;
        }
        domainUUIDFormat(u, canon);
        g_free(a->uuid);
        a->uuid = g_strdup(canon);
    }
    return 0;
}

/* Hexadecimal digits, optionally separated by ':'. */
static bool
fingerprintValid(const char *fp, int check)
{
    static const size_t bytes[SSH_HOSTKEY_LAST] = {0, 0, 16, 20, 32};
    size_t digits = 0;
    const char *p;

    for (p = fp; *p; p++) {
        if (g_ascii_isxdigit(*p))
            digits++;
        else if (*p != ':')
            return false;
    }
    return digits == bytes[check] * 2;
}

/*
 * What a network <source> carries besides its name and hosts: <auth>,
 * <initiator>, <snapshot>, <timeout> and ssh's <identity> and <hostkey>.
 * Each is refused on a protocol it does not belong to.
 */
static int
parseNetworkExtras(xmlNode *src, xmlNode *diskNode, domainDiskDef *disk)
{
    xmlNode *auth, *oldAuth, *initiator, *snapshot, *timeout, *identity, *hostkey;
    const char *proto = protocolNames[disk->protocol];

    if (getChild(src, "auth", &auth) < 0 || getChild(diskNode, "auth", &oldAuth) < 0 ||
        getChild(src, "initiator", &initiator) < 0 || getChild(src, "snapshot", &snapshot) < 0 ||
        getChild(src, "timeout", &timeout) < 0 || getChild(src, "identity", &identity) < 0 ||
        getChild(src, "hostkey", &hostkey) < 0)
        return -1;
    if (auth && oldAuth) {
        reportError(IOV_ERR_XML_ERROR, "disk '%s': <auth> given twice (in <disk> and in <source>)",
                    disk->target);
        return -1;
    }
    if (!auth)
        auth = oldAuth;
    if (auth && parseAuth(auth, disk) < 0)
        return -1;

    if (initiator) {
        xmlNode *iqn;

        if (disk->protocol != DISK_PROTOCOL_ISCSI) {
            reportError(IOV_ERR_XML_ERROR, "disk '%s': <initiator> is for iscsi disks, not %s",
                        disk->target, proto);
            return -1;
        }
        if (getChild(initiator, "iqn", &iqn) < 0)
            return -1;
        if (!iqn || !(disk->initiator = getAttr(iqn, "name")) || !*disk->initiator ||
            strpbrk(disk->initiator, " \t\n/")) {
            reportError(IOV_ERR_XML_ERROR, "disk '%s': <initiator> needs <iqn name='IQN'/> (no spaces or '/'), not '%s'",
                        disk->target, disk->initiator ? disk->initiator : "");
            return -1;
        }
    }

    if (snapshot) {
        if (disk->protocol != DISK_PROTOCOL_RBD) {
            reportError(IOV_ERR_XML_ERROR, "disk '%s': <snapshot> is for rbd disks, not %s",
                        disk->target, proto);
            return -1;
        }
        disk->snapshot = getAttr(snapshot, "name");
        if (!disk->snapshot || !*disk->snapshot || strpbrk(disk->snapshot, "/@")) {
            reportError(IOV_ERR_XML_ERROR, "disk '%s': <snapshot> needs name='SNAP' (no '/' or '@'), not '%s'",
                        disk->target, disk->snapshot ? disk->snapshot : "");
            return -1;
        }
    }

    if (timeout) {
        g_autofree char *sec = getAttr(timeout, "seconds");
        unsigned long long v;

        if (disk->protocol != DISK_PROTOCOL_ISCSI && disk->protocol != DISK_PROTOCOL_RBD) {
            reportError(IOV_ERR_XML_ERROR, "disk '%s': <timeout> is for iscsi and rbd disks, not %s (QEMU's %s driver has no such setting)",
                        disk->target, proto, proto);
            return -1;
        }
        if (!sec || utilParseULL(sec, &v) < 0 || v < 1 || v > 3600) {
            reportError(IOV_ERR_XML_ERROR, "disk '%s': timeout seconds '%s' is not a number from 1 to 3600",
                        disk->target, sec ? sec : "");
            return -1;
        }
        if (disk->protocol == DISK_PROTOCOL_RBD && disk->nhosts == 0) {
            reportError(IOV_ERR_XML_ERROR, "disk '%s': an rbd <timeout> needs the monitors as <host> elements (without them the cluster's ceph.conf decides)",
                        disk->target);
            return -1;
        }
        disk->timeoutSec = (unsigned int)v;
    }

    if ((identity || hostkey) && disk->protocol != DISK_PROTOCOL_SSH) {
        reportError(IOV_ERR_XML_ERROR, "disk '%s': <%s> is for ssh disks, not %s", disk->target,
                    identity ? "identity" : "hostkey", proto);
        return -1;
    }
    if (identity) {
        disk->sshUser = getAttr(identity, "username");
        if (disk->sshUser && (!*disk->sshUser || strpbrk(disk->sshUser, " \t\n@:/"))) {
            reportError(IOV_ERR_XML_ERROR, "disk '%s': ssh username '%s' is empty or has a space, '@', ':' or '/'",
                        disk->target, disk->sshUser);
            return -1;
        }
    }
    if (hostkey) {
        g_autofree char *check = getAttr(hostkey, "check");

        disk->sshFingerprint = getAttr(hostkey, "fingerprint");
        disk->sshHostKeyCheck = check ? enumFromString(hostKeyCheckNames, SSH_HOSTKEY_LAST, check) : -1;
        if (disk->sshHostKeyCheck < 0) {
            disk->sshHostKeyCheck = SSH_HOSTKEY_KNOWN_HOSTS;
            reportError(IOV_ERR_XML_ERROR, "disk '%s': hostkey check '%s' is not one of known_hosts, none, md5, sha1, sha256",
                        disk->target, check ? check : "");
            return -1;
        }
        if (disk->sshHostKeyCheck >= SSH_HOSTKEY_MD5) {
            if (!disk->sshFingerprint || !fingerprintValid(disk->sshFingerprint, disk->sshHostKeyCheck)) {
                reportError(IOV_ERR_XML_ERROR, "disk '%s': hostkey check '%s' needs fingerprint='HEX' of the host key's %s hash, not '%s'",
                            disk->target, check, check,
                            disk->sshFingerprint ? disk->sshFingerprint : "");
                return -1;
            }
        } else if (disk->sshFingerprint) {
            reportError(IOV_ERR_XML_ERROR, "disk '%s': hostkey check '%s' takes no fingerprint",
                        disk->target, check);
            return -1;
        }
    }
    return 0;
}

/* Whether a target name is a prefix plus 1-3 lower-case letters. */
static bool
targetValid(const char *dev, const char *prefix)
{
    size_t plen = strlen(prefix), len = strlen(dev), i;

    if (len <= plen || len > plen + 3 || strncmp(dev, prefix, plen) != 0)
        return false;
    for (i = plen; i < len; i++) {
        if (dev[i] < 'a' || dev[i] > 'z')
            return false;
    }
    return true;
}

void
domainBackingFree(domainBackingDef *chain)
{
    while (chain) {
        domainBackingDef *next = chain->next;

        g_free(chain->path);
        g_free(chain->format);
        g_free(chain);
        chain = next;
    }
}

/*
 * libvirt's nested <backingStore type='file'><format type='F'/>
 * <source file='/PATH'/><backingStore .../></backingStore>: the images
 * below a file disk. An empty <backingStore/> ends the chain (left unread
 * at the top: libvirt's bookkeeping).
 */
static int
parseBacking(xmlNode *node, domainDiskDef *disk)
{
    domainBackingDef **tail = &disk->backing;
    xmlNode *bs;
    int depth = 0;

    if (getChild(node, "backingStore", &bs) < 0)
        return -1;
    if (bs && !bs->children && !bs->properties) {
        bs->_private = NULL; /* the empty element: bookkeeping */
        return 0;
    }
    while (bs && (bs->children || bs->properties)) {
        g_autofree char *type = getAttr(bs, "type");
        xmlNode *fmt, *src, *next;
        domainBackingDef *b;

        if (disk->type != DISK_TYPE_FILE || disk->format != DISK_FORMAT_QCOW2) {
            reportError(
                IOV_ERR_XML_ERROR,
                "disk '%s': <backingStore> is for qcow2 file disks (a raw image has no backing file)",
                disk->target);
            return -1;
        }
        if (++depth > 16) {
            reportError(IOV_ERR_XML_ERROR,
                        "disk '%s': a backing chain may be at most 16 images deep", disk->target);
            return -1;
        }
        if (getChild(bs, "format", &fmt) < 0 || getChild(bs, "source", &src) < 0 ||
            getChild(bs, "backingStore", &next) < 0)
            return -1;
        b = g_new0(domainBackingDef, 1);
        *tail = b;
        tail = &b->next;
        if (src)
            b->path = getAttr(src, "file");
        if (fmt)
            b->format = getAttr(fmt, "type");
        if ((type && strcmp(type, "file") != 0) || !b->path || b->path[0] != '/' || !b->format ||
            !*b->format || strpbrk(b->format, " \t\n,")) {
            reportError(
                IOV_ERR_XML_ERROR,
                "disk '%s': a <backingStore> needs type='file', <format type='FORMAT'/> and <source file='/ABSOLUTE/PATH'/>",
                disk->target);
            return -1;
        }
        if (next && !next->children && !next->properties)
            next->_private = MARK; /* the empty end of the chain */
        bs = next;
    }
    return 0;
}

/* <serial>ID</serial> (what the guest reads as the disk's serial number)
 * and <shareable/>. */
static int
parseDiskIdentity(xmlNode *node, domainDiskDef *disk)
{
    xmlNode *shareable;
    const char *p;

    if (getChildText(node, "serial", &disk->serial) < 0 ||
        getChild(node, "shareable", &shareable) < 0)
        return -1;
    if (disk->serial) {
        /* virtio-blk carries at most 20 bytes */
        for (p = disk->serial; *p; p++) {
            if (!g_ascii_isalnum(*p) && !strchr("_.+-", *p))
                break;
        }
        if (!*disk->serial || *p || strlen(disk->serial) > 20) {
            reportError(IOV_ERR_XML_ERROR,
                        "disk '%s': serial '%s' must be 1 to 20 characters of A-Z a-z 0-9 _ . + -",
                        disk->target, disk->serial);
            return -1;
        }
    }
    if (shareable) {
        if (disk->format != DISK_FORMAT_RAW) {
            reportError(
                IOV_ERR_XML_ERROR,
                "disk '%s': a <shareable/> disk must be raw (a %s image cannot be written by two guests)",
                disk->target, formatNames[disk->format]);
            return -1;
        }
        disk->shareable = true;
    }
    return 0;
}

/* <driver io='threads|native|io_uring' discard='ignore|unmap'>. */
static int
parseDiskDriverIO(domainDiskDef *disk, const char *io, const char *discard)
{
    if (io && ((disk->io = enumFromString(diskIONames, DISK_IO_LAST, io)) <= DISK_IO_DEFAULT)) {
        disk->io = DISK_IO_DEFAULT;
        reportError(IOV_ERR_XML_ERROR, "disk '%s': io '%s' is not one of threads, native, io_uring",
                    disk->target, io);
        return -1;
    }
    if (disk->io != DISK_IO_DEFAULT && disk->type == DISK_TYPE_NETWORK) {
        reportError(IOV_ERR_XML_ERROR,
                    "disk '%s': io '%s' is for local files and block devices, not network disks",
                    disk->target, io);
        return -1;
    }
    if (disk->io == DISK_IO_NATIVE && disk->cache != DISK_CACHE_NONE &&
        disk->cache != DISK_CACHE_DIRECTSYNC) {
        reportError(
            IOV_ERR_XML_ERROR,
            "disk '%s': io 'native' needs cache 'none' or 'directsync' (Linux AIO needs O_DIRECT)",
            disk->target);
        return -1;
    }
    if (discard && strcmp(discard, "unmap") != 0 && strcmp(discard, "ignore") != 0) {
        reportError(IOV_ERR_XML_ERROR, "disk '%s': discard '%s' is not ignore or unmap",
                    disk->target, discard);
        return -1;
    }
    disk->discardUnmap = discard && strcmp(discard, "unmap") == 0;
    return 0;
}

/*
 * Parse one <disk>. Returns 1 and *out on success, 0 when a libvirt parse
 * drops the whole disk (listed), -1 on error.
 */
static int
parseDisk(parseCtxt *ctxt, xmlNode *node, domainDiskDef **out)
{
    g_autoptr(domainDiskDef) disk = g_new0(domainDiskDef, 1);
    g_autofree char *type = getAttr(node, "type");
    g_autofree char *device = getAttr(node, "device");
    g_autofree char *path = nodePath(node);
    g_autofree char *bus = NULL;
    xmlNode *driver, *source, *target, *readonly, *iothrottle, *iotune, *filters;

    *out = NULL;
    if (getChild(node, "target", &target) < 0)
        return -1;
    if (!target || !(disk->target = getAttr(target, "dev")) || !*disk->target) {
        reportError(IOV_ERR_XML_ERROR, "disk '%s' has no <target dev='...'/>", path);
        return -1;
    }
    bus = getAttr(target, "bus");
    if (ctxt->flags & DOMAIN_PARSE_LIVE_STATE) {
        g_autofree char *unplug = getAttr(node, "unplug");

        disk->unplugPending = g_strcmp0(unplug, "pending") == 0;
    }

    if (!type)
        type = g_strdup("file");
    disk->type = enumFromString(diskTypeNames, DISK_TYPE_LAST, type);
    if (disk->type < 0) {
        reportError(IOV_ERR_XML_ERROR, "disk '%s': type '%s' is not one of file, block, network",
                    disk->target, type);
        return -1;
    }
    disk->device = DISK_DEVICE_DISK;
    if (device) {
        disk->device = enumFromString(diskDeviceNames, DISK_DEVICE_LAST, device);
        if (disk->device < 0) {
            reportError(IOV_ERR_XML_ERROR, "disk '%s': device '%s' is not disk or cdrom",
                        disk->target, device);
            return -1;
        }
    }

    if (bus) {
        disk->bus = enumFromString(busNames, DISK_BUS_LAST, bus);
        if (disk->bus < 0) {
            reportError(IOV_ERR_XML_ERROR, "disk '%s': bus '%s' is not virtio or sata",
                        disk->target, bus);
            return -1;
        }
    } else {
        disk->bus = g_str_has_prefix(disk->target, "sd") ? DISK_BUS_SATA : DISK_BUS_VIRTIO;
    }
    if (disk->bus == DISK_BUS_VIRTIO && !targetValid(disk->target, "vd")) {
        reportError(IOV_ERR_XML_ERROR, "disk '%s': a virtio target must be 'vd' and 1 to 3 letters a-z (vda, vdb, ...)",
                    disk->target);
        return -1;
    }
    if (disk->bus == DISK_BUS_SATA && !targetValid(disk->target, "sd")) {
        reportError(IOV_ERR_XML_ERROR, "disk '%s': a sata target must be 'sd' and 1 to 3 letters a-z (sda, sdb, ...)",
                    disk->target);
        return -1;
    }
    if (disk->device == DISK_DEVICE_CDROM && disk->bus != DISK_BUS_SATA) {
        reportError(IOV_ERR_XML_ERROR, "disk '%s': a cdrom needs bus='sata' (virtio disks cannot be cdroms)",
                    disk->target);
        return -1;
    }

    if (getChild(node, "driver", &driver) < 0 || getChild(node, "source", &source) < 0 ||
        getChild(node, "readonly", &readonly) < 0 ||
        getChild(node, "iothrottle", &iothrottle) < 0 || getChild(node, "iotune", &iotune) < 0 ||
        getChild(node, "throttlefilters", &filters) < 0)
        return -1;

    if (driver) {
        g_autofree char *name = getAttr(driver, "name");
        g_autofree char *fmt = getAttr(driver, "type");
        g_autofree char *cache = getAttr(driver, "cache");
        g_autofree char *io = getAttr(driver, "io");
        g_autofree char *discard = getAttr(driver, "discard");

        if (name && strcmp(name, "qemu") != 0) {
            reportError(IOV_ERR_XML_ERROR, "disk '%s': driver name '%s' is not 'qemu'",
                        disk->target, name);
            return -1;
        }
        if (fmt && (disk->format = enumFromString(formatNames, DISK_FORMAT_LAST, fmt)) < 0) {
            reportError(IOV_ERR_XML_ERROR, "disk '%s': driver type '%s' is not raw or qcow2",
                        disk->target, fmt);
            return -1;
        }
        if (cache && ((disk->cache = enumFromString(cacheNames, DISK_CACHE_LAST, cache)) < 0)) {
            reportError(IOV_ERR_XML_ERROR, "disk '%s': cache '%s' is not one of default, none, writeback, writethrough, directsync, unsafe",
                        disk->target, cache);
            return -1;
        }
        if (parseDiskDriverIO(disk, io, discard) < 0)
            return -1;
    }

    if (!source && !(disk->device == DISK_DEVICE_CDROM && disk->type != DISK_TYPE_NETWORK)) {
        reportError(IOV_ERR_XML_ERROR, "disk '%s' has no <source>", disk->target);
        return -1;
    }
    /* a cdrom without a medium: an empty tray */
    switch (source ? disk->type : DISK_TYPE_LAST) {
    case DISK_TYPE_FILE:
    case DISK_TYPE_BLOCK: {
        const char *attr = disk->type == DISK_TYPE_FILE ? "file" : "dev";

        disk->path = getAttr(source, attr);
        if ((!disk->path || !*disk->path) && disk->device == DISK_DEVICE_CDROM) {
            g_clear_pointer(&disk->path, g_free);
            break;
        }
        if (!disk->path || !*disk->path) {
            reportError(IOV_ERR_XML_ERROR, "disk '%s': <source> needs %s='PATH'", disk->target, attr);
            return -1;
        }
        if (disk->path[0] != '/') {
            reportError(IOV_ERR_XML_ERROR, "disk '%s': source path '%s' is not absolute",
                        disk->target, disk->path);
            return -1;
        }
        break;
    }
    case DISK_TYPE_NETWORK:
        if (parseNetworkSource(source, disk) < 0 || parseNetworkExtras(source, node, disk) < 0)
            return -1;
        break;
    default:
        break;
    }

    disk->readonly = readonly != NULL || disk->device == DISK_DEVICE_CDROM;
    if ((disk->protocol == DISK_PROTOCOL_HTTP || disk->protocol == DISK_PROTOCOL_HTTPS) &&
        !disk->readonly) {
        reportError(IOV_ERR_XML_ERROR, "disk '%s': an %s disk must be <readonly/>: QEMU can only read %s sources",
                    disk->target, protocolNames[disk->protocol], protocolNames[disk->protocol]);
        return -1;
    }
    if (disk->snapshot && !disk->readonly) {
        reportError(IOV_ERR_XML_ERROR, "disk '%s': an rbd snapshot '%s' must be <readonly/>: QEMU cannot write a snapshot",
                    disk->target, disk->snapshot);
        return -1;
    }

    if (parseDiskIdentity(node, disk) < 0 || parseBacking(node, disk) < 0)
        return -1;

    if (iothrottle && iotune) {
        reportError(IOV_ERR_XML_ERROR, "disk '%s': give limits either as <iothrottle> or as <iotune>, not both",
                    disk->target);
        return -1;
    }
    if (iothrottle && parseIothrottle(iothrottle, disk->target, &disk->throttle) < 0)
        return -1;
    if (iotune && parseIotune(iotune, "disk", disk->target, &disk->throttle) < 0)
        return -1;
    throttleDefNormalize(&disk->throttle);
    if (throttleValidate(&disk->throttle, disk->target, IOV_ERR_XML_ERROR) < 0)
        return -1;
    if (filters && parseThrottleFilters(filters, disk) < 0)
        return -1;

    *out = g_steal_pointer(&disk);
    return 1;
}

/* ---- serial and console ---- */

/*
 * The <target> of a serial port or console, when given, must name the
 * first port as iovirt builds it: an ISA serial port (a <console> may
 * say it is that port, type 'serial'). Anything else would give the
 * guest a device other than the one written: refused, naming it.
 */
static int
parseChrTarget(xmlNode *node, bool console)
{
    const char *elem = (const char *)node->name;
    g_autofree char *type = NULL;
    g_autofree char *port = NULL;
    xmlNode *target;
    xmlNode *model;

    if (getChild(node, "target", &target) < 0)
        return -1;
    if (!target)
        return 0;
    type = getAttr(target, "type");
    port = getAttr(target, "port");
    if (type && strcmp(type, console ? "serial" : "isa-serial") != 0) {
        reportError(IOV_ERR_XML_ERROR,
                    "<%s> target type '%s' is not supported: only the first serial port (%s) is",
                    elem, type, console ? "'serial'" : "'isa-serial'");
        return -1;
    }
    if (port && strcmp(port, "0") != 0) {
        reportError(IOV_ERR_XML_ERROR, "<%s> target port '%s' is not supported: only port 0 is",
                    elem, port);
        return -1;
    }
    if (getChild(target, "model", &model) < 0)
        return -1;
    if (model) {
        g_autofree char *name = getAttr(model, "name");

        if (name && strcmp(name, "isa-serial") != 0) {
            reportError(IOV_ERR_XML_ERROR,
                        "<%s> target model '%s' is not supported: only 'isa-serial' is", elem,
                        name);
            return -1;
        }
    }
    return 0;
}

/*
 * A serial port or console: honoured (file, pty, unix socket in bind
 * mode) or refused with an error naming what is not supported, in a
 * libvirt document as in iovirt's own. Returns 1 when parsed, -1 on
 * error.
 */
static int
parseChr(parseCtxt *ctxt G_GNUC_UNUSED, xmlNode *node, domainChrDef *chr)
{
    const char *elem = (const char *)node->name;
    g_autofree char *type = getAttr(node, "type");
    xmlNode *source;

    chr->type = type ? enumFromString(chrTypeNames, CHR_TYPE_LAST, type) : -1;
    if (chr->type <= CHR_TYPE_NONE) {
        chr->type = CHR_TYPE_NONE;
        reportError(IOV_ERR_XML_ERROR,
                    "<%s> type '%s' is not supported: only file, pty and unix are", elem,
                    type ? type : "");
        return -1;
    }
    if (parseChrTarget(node, strcmp(elem, "console") == 0) < 0)
        return -1;
    if (getChild(node, "source", &source) < 0)
        return -1;
    if (chr->type == CHR_TYPE_FILE) {
        if (!source || !(chr->path = getAttr(source, "path")) || chr->path[0] != '/') {
            reportError(IOV_ERR_XML_ERROR, "<%s type='file'> needs <source path='/ABSOLUTE/PATH'/>",
                        elem);
            return -1;
        }
    } else if (chr->type == CHR_TYPE_UNIX) {
        g_autofree char *mode = NULL;

        if (!source || !(chr->path = getAttr(source, "path")) || chr->path[0] != '/') {
            reportError(IOV_ERR_XML_ERROR,
                        "<%s type='unix'> needs <source mode='bind' path='/ABSOLUTE/PATH'/>", elem);
            return -1;
        }
        mode = getAttr(source, "mode");
        if (!mode || strcmp(mode, "bind") != 0) {
            reportError(
                IOV_ERR_XML_ERROR,
                "<%s type='unix'> source mode '%s' is not supported: only 'bind' (QEMU listens) is",
                elem, mode ? mode : "connect");
            return -1;
        }
        if (strlen(chr->path) >= sizeof(((struct sockaddr_un *)NULL)->sun_path)) {
            reportError(IOV_ERR_XML_ERROR,
                        "<%s type='unix'> socket path '%s' is longer than a unix socket allows",
                        elem, chr->path);
            return -1;
        }
    } else {
        /* a running pty's path, as libvirt shows it, is the guest's
         * state, not its definition */
        if (source)
            g_free(getAttr(source, "path"));
        g_free(getAttr(node, "tty"));
    }
    return 1;
}

/* ---- the machine and its platform ---- */

/* Whether `m` is "PREFIX" or "PREFIX-X.Y" (a versioned machine type). */
static bool
machineVersioned(const char *m, const char *prefix)
{
    size_t plen = strlen(prefix);
    const char *p;
    int dots = 0;

    if (strncmp(m, prefix, plen) != 0 || m[plen] != '-' || !g_ascii_isdigit(m[plen + 1]))
        return false;
    for (p = m + plen + 1; *p; p++) {
        if (*p == '.')
            dots++;
        else if (!g_ascii_isdigit(*p))
            return false;
    }
    return dots == 1 && p[-1] != '.';
}

/* machine='q35|pc|pc-q35-X.Y|pc-i440fx-X.Y' of <os><type>. */
static int
parseMachine(xmlNode *type, domainDef *def)
{
    g_autofree char *m = getAttr(type, "machine");

    if (!m)
        return 0;
    if (strcmp(m, "q35") != 0 && strcmp(m, "pc") != 0 && !machineVersioned(m, "pc-q35") &&
        !machineVersioned(m, "pc-i440fx")) {
        reportError(IOV_ERR_XML_ERROR, "machine '%s' is not q35, pc, pc-q35-X.Y or pc-i440fx-X.Y",
                    m);
        return -1;
    }
    g_free(def->machine);
    def->machine = g_steal_pointer(&m);
    return 0;
}

bool
domainMachineIsPC(const domainDef *def)
{
    return def->machine &&
           (strcmp(def->machine, "pc") == 0 || g_str_has_prefix(def->machine, "pc-i440fx-"));
}

/*
 * <features>: present, it lists what the guest has (libvirt's meaning);
 * absent, the guest has ACPI and an APIC. <apic/> and <pae/> are always
 * there on x86_64; <acpi/> may be left out on a pc machine. Any other
 * feature is refused by name.
 */
static int
parseFeatures(xmlNode *features, domainDef *def)
{
    xmlNode *c, *acpi, *apic, *pae, *vmport;

    if (getChild(features, "acpi", &acpi) < 0 || getChild(features, "apic", &apic) < 0 ||
        getChild(features, "pae", &pae) < 0 || getChild(features, "vmport", &vmport) < 0)
        return -1;
    if (vmport) {
        g_autofree char *state = getAttr(vmport, "state");

        if (!state || (strcmp(state, "on") != 0 && strcmp(state, "off") != 0)) {
            reportError(IOV_ERR_XML_ERROR, "vmport state '%s' is not on or off",
                        state ? state : "");
            return -1;
        }
        def->vmport = strcmp(state, "on") == 0;
    }
    for (c = features->children; c; c = c->next) {
        if (c->type == XML_ELEMENT_NODE && c->_private != MARK) {
            reportError(IOV_ERR_XML_ERROR,
                        "feature '%s' is not supported (iovirt knows acpi, apic, pae and vmport)",
                        (const char *)c->name);
            return -1;
        }
    }
    if (!apic) {
        reportError(IOV_ERR_XML_ERROR,
                    "<features> without <apic/>: an x86_64 guest of iovirt always has an APIC");
        return -1;
    }
    def->acpi = acpi != NULL;
    return 0;
}

/* <pm>: <suspend-to-mem enabled='yes|no'/>, <suspend-to-disk .../>. */
static int
parsePM(xmlNode *pm, domainDef *def)
{
    static const char *const elems[] = {"suspend-to-mem", "suspend-to-disk"};
    bool *fields[] = {&def->noS3, &def->noS4};
    xmlNode *c;
    size_t i;

    for (i = 0; i < G_N_ELEMENTS(elems); i++) {
        g_autofree char *enabled = NULL;

        if (getChild(pm, elems[i], &c) < 0)
            return -1;
        if (!c)
            continue;
        enabled = getAttr(c, "enabled");
        if (!enabled || (strcmp(enabled, "yes") != 0 && strcmp(enabled, "no") != 0)) {
            reportError(IOV_ERR_XML_ERROR, "pm: %s enabled '%s' is not yes or no", elems[i],
                        enabled ? enabled : "");
            return -1;
        }
        *fields[i] = strcmp(enabled, "no") == 0;
    }
    return 0;
}

/* <on_poweroff>, <on_reboot> and <on_crash>. */
static int
parseLifecycle(xmlNode *root, domainDef *def)
{
    static const char *const elems[] = {"on_poweroff", "on_reboot", "on_crash"};
    int *fields[] = {&def->onPoweroff, &def->onReboot, &def->onCrash};
    size_t i;

    def->onPoweroff = DOMAIN_LIFECYCLE_DESTROY;
    def->onReboot = DOMAIN_LIFECYCLE_RESTART;
    def->onCrash = -1;
    for (i = 0; i < G_N_ELEMENTS(elems); i++) {
        g_autofree char *v = NULL;
        int a;

        if (getChildText(root, elems[i], &v) < 0)
            return -1;
        if (!v)
            continue;
        a = enumFromString(lifecycleNames, DOMAIN_LIFECYCLE_LAST, v);
        if (a < 0) {
            reportError(IOV_ERR_XML_ERROR,
                        "%s '%s' is not supported (destroy, restart or preserve)", elems[i], v);
            return -1;
        }
        /* QEMU can end or pause at a power off, never restart */
        if (i == 0 && a == DOMAIN_LIFECYCLE_RESTART) {
            reportError(IOV_ERR_XML_ERROR,
                        "on_poweroff 'restart' is not supported (destroy or preserve)");
            return -1;
        }
        if (i == 2 && a == DOMAIN_LIFECYCLE_RESTART) {
            reportError(IOV_ERR_XML_ERROR,
                        "on_crash 'restart' is not supported (destroy or preserve)");
            return -1;
        }
        if (i == 1 && a == DOMAIN_LIFECYCLE_PRESERVE) {
            reportError(IOV_ERR_XML_ERROR,
                        "on_reboot 'preserve' is not supported (restart or destroy)");
            return -1;
        }
        *fields[i] = a;
    }
    return 0;
}

/*
 * One <timer> of <clock>: the three libvirt (and virt-install) write,
 * each with the one setting QEMU has for it: rtc tickpolicy delay or
 * catchup, pit tickpolicy delay, hpet present yes or no.
 */
static int
parseTimer(xmlNode *t, domainDef *def)
{
    g_autofree char *name = getAttr(t, "name");
    g_autofree char *policy = getAttr(t, "tickpolicy");
    g_autofree char *present = getAttr(t, "present");
    xmlAttr *a;

    for (a = t->properties; a; a = a->next) {
        if (a->_private != MARK) {
            reportError(IOV_ERR_XML_ERROR, "clock: timer '%s' attribute '%s' is not supported",
                        name ? name : "", (const char *)a->name);
            return -1;
        }
    }
    if (g_strcmp0(name, "rtc") == 0 && !present &&
        (!policy || strcmp(policy, "delay") == 0 || strcmp(policy, "catchup") == 0)) {
        def->rtcCatchup = g_strcmp0(policy, "catchup") == 0;
        return 0;
    }
    if (g_strcmp0(name, "pit") == 0 && !present && g_strcmp0(policy, "delay") == 0) {
        def->pitDelay = true;
        return 0;
    }
    if (g_strcmp0(name, "hpet") == 0 && !policy && present &&
        (strcmp(present, "yes") == 0 || strcmp(present, "no") == 0)) {
        def->hpetOff = strcmp(present, "no") == 0;
        return 0;
    }
    reportError(
        IOV_ERR_XML_ERROR,
        "clock: timer '%s' with tickpolicy '%s' and present '%s' is not supported (rtc tickpolicy delay or catchup, pit tickpolicy delay, hpet present yes or no)",
        name ? name : "", policy ? policy : "", present ? present : "");
    return -1;
}

/* <clock offset='utc|localtime'/> and its <timer> children. */
static int
parseClock(xmlNode *clock, domainDef *def)
{
    g_autofree char *offset = getAttr(clock, "offset");
    xmlNode *c;

    for (c = clock->children; c; c = c->next) {
        if (c->type != XML_ELEMENT_NODE)
            continue;
        if (!isElem(c, "timer")) {
            reportError(IOV_ERR_XML_ERROR, "clock: <%s> is not supported (only <timer> is)",
                        (const char *)c->name);
            return -1;
        }
        c->_private = MARK;
        if (parseTimer(c, def) < 0)
            return -1;
    }
    if (offset) {
        def->clockOffset = enumFromString(clockNames, DOMAIN_CLOCK_LAST, offset);
        if (def->clockOffset < 0) {
            def->clockOffset = DOMAIN_CLOCK_UTC;
            reportError(IOV_ERR_XML_ERROR, "clock offset '%s' is not supported (utc or localtime)",
                        offset);
            return -1;
        }
    }
    return 0;
}

/* <cpu mode='host-passthrough|maximum|custom'> with <model> for custom. */
static int
parseCpu(xmlNode *cpu, domainDef *def)
{
    g_autofree char *mode = getAttr(cpu, "mode");
    g_autofree char *model = NULL;
    xmlNode *c;

    if (getChildText(cpu, "model", &model) < 0)
        return -1;
    for (c = cpu->children; c; c = c->next) {
        if (c->type == XML_ELEMENT_NODE && c->_private != MARK) {
            reportError(IOV_ERR_XML_ERROR, "cpu: <%s> is not supported (only mode and model are)",
                        (const char *)c->name);
            return -1;
        }
    }
    if (!mode)
        mode = g_strdup(model ? "custom" : "");
    def->cpuMode = *mode ? enumFromString(cpuModeNames, DOMAIN_CPU_LAST, mode) : -1;
    if (def->cpuMode <= DOMAIN_CPU_DEFAULT) {
        def->cpuMode = DOMAIN_CPU_DEFAULT;
        reportError(IOV_ERR_XML_ERROR,
                    "cpu mode '%s' is not supported (host-passthrough, maximum or custom)", mode);
        return -1;
    }
    if (def->cpuMode == DOMAIN_CPU_CUSTOM) {
        const char *p;

        if (!model || !*model) {
            reportError(IOV_ERR_XML_ERROR, "cpu mode 'custom' needs a <model>");
            return -1;
        }
        for (p = model; *p; p++) {
            if (!g_ascii_isalnum(*p) && !strchr("-_.", *p)) {
                reportError(IOV_ERR_XML_ERROR,
                            "cpu model '%s' must be letters, digits, '-', '_' and '.'", model);
                return -1;
            }
        }
        def->cpuModel = g_steal_pointer(&model);
    } else if (model) {
        reportError(IOV_ERR_XML_ERROR, "cpu mode '%s' takes no <model>", mode);
        return -1;
    }
    return 0;
}

/* <memballoon model='virtio|none'/>. */
static int
parseMemballoon(xmlNode *node, domainDef *def)
{
    g_autofree char *model = getAttr(node, "model");
    xmlNode *c;

    for (c = node->children; c; c = c->next) {
        if (c->type == XML_ELEMENT_NODE && !nodeIs(c, "address", NULL) &&
            !nodeIs(c, "alias", NULL)) {
            reportError(IOV_ERR_XML_ERROR, "memballoon: <%s> is not supported",
                        (const char *)c->name);
            return -1;
        }
    }
    if (model && strcmp(model, "virtio") == 0) {
        def->memballoon = DOMAIN_MEMBALLOON_VIRTIO;
    } else if (model && strcmp(model, "none") == 0) {
        def->memballoon = DOMAIN_MEMBALLOON_NONE;
    } else {
        reportError(IOV_ERR_XML_ERROR, "memballoon model '%s' is not supported (virtio or none)",
                    model ? model : "");
        return -1;
    }
    return 0;
}

int
domainCheckEmulator(const char *path)
{
    struct stat st;

    if (!path || path[0] != '/') {
        reportError(IOV_ERR_XML_ERROR, "emulator '%s' is not an absolute path", path ? path : "");
        return -1;
    }
    if (stat(path, &st) < 0 || !S_ISREG(st.st_mode) || access(path, X_OK) < 0) {
        reportError(IOV_ERR_CONFIG_UNSUPPORTED, "emulator '%s' is not an executable file", path);
        return -1;
    }
    return 0;
}

/* <dropped>: what an earlier libvirt import left out, kept with the
 * definition so that it can be shown later. */
static int
parseDropped(xmlNode *node, domainDef *def)
{
    g_autoptr(GString) s = g_string_new(NULL);
    xmlNode *c;

    for (c = node->children; c; c = c->next) {
        g_autofree char *text = NULL;

        if (!isElem(c, "item"))
            continue;
        c->_private = MARK;
        text = getText(c);
        if (!*text || strchr(text, '\n')) {
            reportError(IOV_ERR_XML_ERROR, "<dropped> items must be one line, not empty");
            return -1;
        }
        g_string_append_printf(s, "%s\n", text);
    }
    if (s->len)
        def->dropped = g_string_free(g_steal_pointer(&s), FALSE);
    return 0;
}

/* ---- network interfaces ---- */

void
domainNetMACFormat(const unsigned char *m, char *buf)
{
    g_snprintf(buf, 18, "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5]);
}

static int
parseMAC(const char *str, unsigned char *mac)
{
    size_t i;

    if (strlen(str) != 17)
        return -1;
    for (i = 0; i < 6; i++) {
        int hi = g_ascii_xdigit_value(str[i * 3]);
        int lo = g_ascii_xdigit_value(str[i * 3 + 1]);

        if (hi < 0 || lo < 0 || (i < 5 && str[i * 3 + 2] != ':'))
            return -1;
        mac[i] = (unsigned char)(hi << 4 | lo);
    }
    return 0;
}

/* An interface name of the host: 1-15 bytes, no '/', ':' or space. */
static bool
ifnameValid(const char *name)
{
    size_t len = strlen(name);

    return len >= 1 && len <= 15 && !strpbrk(name, "/: \t\n,") && strcmp(name, ".") != 0 &&
           strcmp(name, "..") != 0;
}

static int
parsePort(const char *v, const char *what, size_t idx, unsigned int *out)
{
    unsigned long long p;

    if (!v || utilParseULL(v, &p) < 0 || p < 1 || p > 65535) {
        reportError(IOV_ERR_XML_ERROR,
                    "interface %zu: portForward %s '%s' is not a port from 1 to 65535", idx, what,
                    v ? v : "");
        return -1;
    }
    *out = (unsigned int)p;
    return 0;
}

/*
 * libvirt's <portForward proto='tcp|udp' [address='IP']> with
 * <range start='HOSTPORT' [end='LAST'] [to='GUESTPORT']/> children: each
 * host port in start..end goes to to+(port-start) (to defaults to start).
 */
static int
parsePortForward(xmlNode *pf, size_t idx, domainNetDef *net)
{
    g_autofree char *proto = getAttr(pf, "proto");
    g_autofree char *address = getAttr(pf, "address");
    xmlNode *r;
    int pr;

    pr = proto ? enumFromString(netProtoNames, NET_PROTO_LAST, proto) : -1;
    if (pr < 0) {
        reportError(IOV_ERR_XML_ERROR, "interface %zu: portForward proto '%s' is not tcp or udp",
                    idx, proto ? proto : "");
        return -1;
    }
    if (address) {
        struct in_addr ia;

        if (inet_pton(AF_INET, address, &ia) != 1) {
            reportError(
                IOV_ERR_XML_ERROR,
                "interface %zu: portForward address '%s' is not an IPv4 address (QEMU's user network forwards IPv4)",
                idx, address);
            return -1;
        }
    }
    for (r = pf->children; r; r = r->next) {
        g_autofree char *start = NULL, *end = NULL, *to = NULL, *exclude = NULL;
        unsigned int s, e, t, p;

        if (!isElem(r, "range"))
            continue;
        r->_private = MARK;
        start = getAttr(r, "start");
        end = getAttr(r, "end");
        to = getAttr(r, "to");
        exclude = getAttr(r, "exclude");
        if (exclude && strcmp(exclude, "no") != 0) {
            reportError(IOV_ERR_XML_ERROR,
                        "interface %zu: portForward range exclude='%s' is not supported", idx,
                        exclude);
            return -1;
        }
        if (parsePort(start, "range start", idx, &s) < 0)
            return -1;
        e = s;
        t = s;
        if (end && parsePort(end, "range end", idx, &e) < 0)
            return -1;
        if (to && parsePort(to, "range to", idx, &t) < 0)
            return -1;
        if (e < s || t + (e - s) > 65535 || net->nforwards + (e - s) >= 256) {
            reportError(
                IOV_ERR_XML_ERROR,
                "interface %zu: portForward range %u-%u to %u is not a valid range (at most 256 ports in all)",
                idx, s, e, t);
            return -1;
        }
        for (p = s; p <= e; p++) {
            domainPortForward *f;

            net->forwards = g_renew(domainPortForward, net->forwards, net->nforwards + 1);
            f = &net->forwards[net->nforwards++];
            f->proto = pr;
            f->address = g_strdup(address);
            f->hostPort = p;
            f->guestPort = t + (p - s);
        }
    }
    return 0;
}

/* One <interface>; `idx` counts from 1, as XPath does. */
static int
parseInterface(xmlNode *node, size_t idx, domainNetDef **out)
{
    g_autoptr(domainNetDef) net = g_new0(domainNetDef, 1);
    g_autofree char *type = getAttr(node, "type");
    xmlNode *mac, *model, *source, *target, *backend, *c;

    *out = NULL;
    net->type = type ? enumFromString(netTypeNames, NET_TYPE_LAST, type) : -1;
    if (net->type < 0) {
        reportError(IOV_ERR_XML_ERROR,
                    "interface %zu: type '%s' is not supported (user, bridge or ethernet)", idx,
                    type ? type : "");
        return -1;
    }
    if (getChild(node, "mac", &mac) < 0 || getChild(node, "model", &model) < 0 ||
        getChild(node, "source", &source) < 0 || getChild(node, "target", &target) < 0 ||
        getChild(node, "backend", &backend) < 0)
        return -1;

    if (mac) {
        g_autofree char *addr = getAttr(mac, "address");

        if (!addr || parseMAC(addr, net->mac) < 0) {
            reportError(
                IOV_ERR_XML_ERROR,
                "interface %zu: MAC address '%s' is not six hexadecimal bytes separated by ':'",
                idx, addr ? addr : "");
            return -1;
        }
        if (net->mac[0] & 1) {
            reportError(
                IOV_ERR_XML_ERROR,
                "interface %zu: MAC address '%s' is a multicast address (the lowest bit of its first byte is set)",
                idx, addr);
            return -1;
        }
    } else {
        guint32 r = g_random_int();

        net->mac[0] = 0x52;
        net->mac[1] = 0x54;
        net->mac[2] = 0x00;
        net->mac[3] = (unsigned char)(r >> 16);
        net->mac[4] = (unsigned char)(r >> 8);
        net->mac[5] = (unsigned char)r;
    }

    if (model) {
        g_autofree char *m = getAttr(model, "type");

        net->model = m ? enumFromString(netModelNames, NET_MODEL_LAST, m) : -1;
        if (net->model < 0) {
            reportError(
                IOV_ERR_XML_ERROR,
                "interface %zu: model '%s' is not supported (virtio, e1000e, e1000 or rtl8139)",
                idx, m ? m : "");
            return -1;
        }
    }

    if (backend) {
        g_autofree char *bt = getAttr(backend, "type");

        /* libvirt forwards ports only with its passt backend; iovirt
         * always uses QEMU's own user network, which forwards them too */
        if (net->type != NET_TYPE_USER || !bt ||
            (strcmp(bt, "passt") != 0 && strcmp(bt, "default") != 0)) {
            reportError(
                IOV_ERR_XML_ERROR,
                "interface %zu: backend type '%s' is not supported (a user interface may name passt or default, and gets QEMU's user network)",
                idx, bt ? bt : "");
            return -1;
        }
    }

    switch (net->type) {
    case NET_TYPE_USER:
        if (source || target) {
            reportError(IOV_ERR_XML_ERROR, "interface %zu: a user interface takes no <%s>", idx,
                        source ? "source" : "target");
            return -1;
        }
        for (c = node->children; c; c = c->next) {
            if (!isElem(c, "portForward"))
                continue;
            c->_private = MARK;
            if (parsePortForward(c, idx, net) < 0)
                return -1;
        }
        break;
    case NET_TYPE_BRIDGE:
        if (!source || !(net->bridge = getAttr(source, "bridge")) || !ifnameValid(net->bridge)) {
            reportError(
                IOV_ERR_XML_ERROR,
                "interface %zu: a bridge interface needs <source bridge='NAME'/> (1 to 15 characters, no '/', ':', ',' or space)",
                idx);
            return -1;
        }
        break;
    case NET_TYPE_ETHERNET:
        if (source) {
            reportError(IOV_ERR_XML_ERROR, "interface %zu: an ethernet interface takes no <source>",
                        idx);
            return -1;
        }
        if (!target) {
            reportError(
                IOV_ERR_XML_ERROR,
                "interface %zu: an ethernet interface needs <target dev='TAP'/> (an existing tap device)",
                idx);
            return -1;
        }
        break;
    }
    if (target) {
        g_autofree char *managed = getAttr(target, "managed");

        net->ifname = getAttr(target, "dev");
        if (!net->ifname || !ifnameValid(net->ifname)) {
            reportError(
                IOV_ERR_XML_ERROR,
                "interface %zu: target dev '%s' is not an interface name (1 to 15 characters, no '/', ':', ',' or space)",
                idx, net->ifname ? net->ifname : "");
            return -1;
        }
        if (managed && strcmp(managed, "no") != 0) {
            reportError(
                IOV_ERR_XML_ERROR,
                "interface %zu: target managed='%s' is not supported (iovirt uses an existing tap: managed='no')",
                idx, managed);
            return -1;
        }
    }
    *out = g_steal_pointer(&net);
    return 0;
}

/* The platform: <features>, the on_* actions, <clock>, <cpu>. */
static int
parsePlatform(xmlNode *root, domainDef *def)
{
    xmlNode *features, *clock, *cpu, *dropped, *pm;

    def->acpi = true;
    def->vmport = -1;
    if (getChild(root, "pm", &pm) < 0 || (pm && parsePM(pm, def) < 0))
        return -1;
    if (getChild(root, "features", &features) < 0 || getChild(root, "clock", &clock) < 0 ||
        getChild(root, "cpu", &cpu) < 0 || getChild(root, "dropped", &dropped) < 0)
        return -1;
    if (features && parseFeatures(features, def) < 0)
        return -1;
    if (parseLifecycle(root, def) < 0)
        return -1;
    if (clock && parseClock(clock, def) < 0)
        return -1;
    if (cpu && parseCpu(cpu, def) < 0)
        return -1;
    if (dropped && parseDropped(dropped, def) < 0)
        return -1;
    return 0;
}

/* The checks of the platform and the interfaces of a whole definition. */
static int
validatePlatform(const domainDef *def)
{
    g_autoptr(GHashTable) macs = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    g_autoptr(GHashTable) ports = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    size_t i, k;

    if (!def->acpi && !domainMachineIsPC(def)) {
        reportError(
            IOV_ERR_XML_ERROR,
            "machine '%s' needs <acpi/> in <features> (only a pc machine runs without ACPI)",
            def->machine);
        return -1;
    }
    if (def->onPoweroff == DOMAIN_LIFECYCLE_PRESERVE && def->onReboot == DOMAIN_LIFECYCLE_DESTROY) {
        reportError(
            IOV_ERR_XML_ERROR,
            "on_reboot 'destroy' with on_poweroff 'preserve' is not supported (QEMU turns the reboot into a power off, which would then be preserved)");
        return -1;
    }
    if (def->cpuMode == DOMAIN_CPU_HOST_PASSTHROUGH && def->virtType != DOMAIN_VIRT_KVM) {
        reportError(
            IOV_ERR_XML_ERROR,
            "cpu mode 'host-passthrough' needs <domain type='kvm'> (emulation has no host CPU to pass through)");
        return -1;
    }
    if (def->emulator && def->emulator[0] != '/') {
        reportError(IOV_ERR_XML_ERROR, "emulator '%s' is not an absolute path", def->emulator);
        return -1;
    }
    for (i = 0; i < def->nnets; i++) {
        const domainNetDef *n = def->nets[i];
        char mac[18];

        domainNetMACFormat(n->mac, mac);
        if (n->mac[0] & 1) {
            reportError(
                IOV_ERR_XML_ERROR,
                "interface %zu: MAC address '%s' is a multicast address (the lowest bit of its first byte is set)",
                i + 1, mac);
            return -1;
        }
        if (!g_hash_table_add(macs, g_strdup(mac))) {
            reportError(IOV_ERR_XML_ERROR, "two interfaces use MAC address '%s'", mac);
            return -1;
        }
        for (k = 0; k < n->nforwards; k++) {
            const domainPortForward *f = &n->forwards[k];
            g_autofree char *key = g_strdup_printf("%s:%u", netProtoNames[f->proto], f->hostPort);

            if (!g_hash_table_add(ports, g_steal_pointer(&key))) {
                reportError(IOV_ERR_XML_ERROR, "interface %zu: host %s port %u is forwarded twice",
                            i + 1, netProtoNames[f->proto], f->hostPort);
                return -1;
            }
        }
    }
    return 0;
}

/* ---- the domain ---- */

/*
 * Read attribute `name` of `node` only when it is absent or equals
 * `wanted`. Another value is an error in a plain parse; a libvirt parse
 * leaves it unread, so that it is listed as dropped.
 */
static int
checkFixedAttr(parseCtxt *ctxt, xmlNode *node, const char *name,
               const char *wanted)
{
    xmlAttr *a;

    for (a = node->properties; a; a = a->next) {
        xmlChar *v;
        bool same;

        if (a->ns || strcmp((const char *)a->name, name) != 0)
            continue;
        v = xmlNodeListGetString(node->doc, a->children, 1);
        same = v && strcmp((const char *)v, wanted) == 0;
        if (same) {
            a->_private = MARK;
        } else if (!fromLibvirt(ctxt)) {
            reportError(IOV_ERR_XML_ERROR, "%s '%s' is not '%s'", name,
                        v ? (const char *)v : "", wanted);
            xmlFree(v);
            return -1;
        }
        xmlFree(v);
    }
    return 0;
}

static int
parseOS(parseCtxt *ctxt, xmlNode *os, domainDef *def)
{
    xmlNode *type, *boot;

    if (getChild(os, "type", &type) < 0)
        return -1;
    if (type) {
        g_autofree char *t = getText(type);

        if (strcmp(t, "hvm") != 0) {
            reportError(IOV_ERR_XML_ERROR, "os type '%s' is not 'hvm'", t);
            return -1;
        }
        if (checkFixedAttr(ctxt, type, "arch", "x86_64") < 0 || parseMachine(type, def) < 0)
            return -1;
    }
    if (getChildText(os, "kernel", &def->kernel) < 0 ||
        getChildText(os, "initrd", &def->initrd) < 0 ||
        getChildText(os, "cmdline", &def->cmdline) < 0 || getChild(os, "boot", &boot) < 0)
        return -1;
    if (boot) {
        g_autofree char *dev = getAttr(boot, "dev");

        if (!dev || strcmp(dev, "hd") != 0) {
            reportError(IOV_ERR_XML_ERROR, "boot dev '%s' is not 'hd' (the first disk)",
                        dev ? dev : "");
            return -1;
        }
    }
    return 0;
}

/* libvirt's <currentMemory>: dropped when it equals <memory> (libvirt
 * writes it always), refused otherwise (a balloon target). */
static int
parseCurrentMemory(parseCtxt *ctxt, xmlNode *root, domainDef *def)
{
    g_autofree char *text = NULL;
    g_autofree char *unit = NULL;
    unsigned long long v, kib;
    xmlNode *cur;

    if (getChild(root, "currentMemory", &cur) < 0)
        return -1;
    if (!cur)
        return 0;
    text = getText(cur);
    unit = getAttr(cur, "unit");
    if (parseULL(text, "currentMemory", &v) < 0)
        return -1;
    if (utilScaleToKiB(v, unit, &kib) < 0 || kib != def->memoryKiB) {
        reportError(
            IOV_ERR_XML_ERROR,
            "currentMemory '%s %s' differs from memory (%llu KiB): iovirt sets no balloon target",
            text, unit ? unit : "KiB", def->memoryKiB);
        return -1;
    }
    noteDropped(ctxt, cur, "equal to memory");
    cur->_private = DROPPED;
    return 0;
}

static int
parseMemory(xmlNode *mem, domainDef *def)
{
    g_autofree char *text = getText(mem);
    g_autofree char *unit = getAttr(mem, "unit");
    unsigned long long v;

    if (parseULL(text, "memory", &v) < 0)
        return -1;
    if (utilScaleToKiB(v, unit, &def->memoryKiB) < 0) {
        if (unit && utilScaleSuffix(unit) == 0)
            reportError(IOV_ERR_XML_ERROR, "memory unit '%s' is not one of b, KB, k, KiB, MB, M, MiB, GB, G, GiB, TB, T, TiB",
                        unit);
        else
            reportError(IOV_ERR_XML_ERROR, "memory '%s %s' is too large", text, unit ? unit : "KiB");
        return -1;
    }
    if (def->memoryKiB < MIN_MEMORY_KIB || def->memoryKiB > MAX_MEMORY_KIB) {
        reportError(IOV_ERR_XML_ERROR, "memory '%s %s' is %llu KiB, outside 1 MiB to 1 PiB",
                    text, unit ? unit : "KiB", def->memoryKiB);
        return -1;
    }
    return 0;
}

/*
 * A <controller>: only PCI Express root ports are modelled, and only
 * their number (the room to hot-plug disks, one a port). Returns 1 when
 * counted, 0 when a libvirt parse leaves it to checkUnread (libvirt's
 * bookkeeping), -1 on error.
 */
static int
parseController(parseCtxt *ctxt, xmlNode *node, domainDef *def)
{
    g_autofree char *type = getAttr(node, "type");
    g_autofree char *model = getAttr(node, "model");

    if (g_strcmp0(type, "pci") == 0 && g_strcmp0(model, "pcie-root-port") == 0) {
        if (def->rootPorts >= MAX_ROOT_PORTS) {
            reportError(IOV_ERR_XML_ERROR,
                        "a domain may have at most %d pcie-root-port controllers", MAX_ROOT_PORTS);
            return -1;
        }
        def->rootPorts++;
        return 1;
    }
    /* a libvirt document's other controllers are its bookkeeping */
    if (fromLibvirt(ctxt))
        return 0;
    reportError(
        IOV_ERR_XML_ERROR,
        "controller type '%s' model '%s' is not supported: only type='pci' model='pcie-root-port'",
        type ? type : "", model ? model : "");
    return -1;
}

#define MAX_NETS 16

/* The devices besides disks and serial ports: <interface>, <emulator>,
 * <memballoon>. */
static int
parseDeviceOther(xmlNode *c, domainDef *def)
{
    xmlNode *p;

    /* <emulator> and <memballoon> may appear once */
    for (p = c->prev; p && !isElem(c, "interface"); p = p->prev) {
        if (isElem(p, (const char *)c->name)) {
            reportError(IOV_ERR_XML_ERROR, "element '<%s>' may appear only once",
                        (const char *)c->name);
            return -1;
        }
    }
    c->_private = MARK;
    if (isElem(c, "interface")) {
        domainNetDef *net;

        if (def->nnets >= MAX_NETS) {
            reportError(IOV_ERR_XML_ERROR, "a domain may have at most %d interfaces", MAX_NETS);
            return -1;
        }
        if (parseInterface(c, def->nnets + 1, &net) < 0)
            return -1;
        def->nets = g_renew(domainNetDef *, def->nets, def->nnets + 1);
        def->nets[def->nnets++] = net;
        return 0;
    }
    if (isElem(c, "emulator")) {
        def->emulator = getText(c);
        if (def->emulator[0] != '/') {
            reportError(IOV_ERR_XML_ERROR, "emulator '%s' is not an absolute path", def->emulator);
            return -1;
        }
        return 0;
    }
    return parseMemballoon(c, def);
}

static int
parseDevices(parseCtxt *ctxt, xmlNode *devices, domainDef *def)
{
    xmlNode *c;
    bool haveSerial = false, haveConsole = false;

    for (c = devices->children; c; c = c->next) {
        int rc;

        if (isElem(c, "disk")) {
            domainDiskDef *disk;

            c->_private = MARK;
            if (def->ndisks >= MAX_DISKS) {
                reportError(IOV_ERR_XML_ERROR, "a domain may have at most %d disks", MAX_DISKS);
                return -1;
            }
            if ((rc = parseDisk(ctxt, c, &disk)) < 0)
                return -1;
            if (rc == 0) {
                c->_private = DROPPED;
                continue;
            }
            def->disks = g_renew(domainDiskDef *, def->disks, def->ndisks + 1);
            def->disks[def->ndisks++] = disk;
        } else if (isElem(c, "controller")) {
            if ((rc = parseController(ctxt, c, def)) < 0)
                return -1;
            if (rc)
                c->_private = MARK;
        } else if (isElem(c, "serial") || isElem(c, "console")) {
            bool serial = isElem(c, "serial");
            bool *have = serial ? &haveSerial : &haveConsole;

            if (*have) {
                reportError(IOV_ERR_XML_ERROR, "only one <%s> is supported", (const char *)c->name);
                return -1;
            }
            c->_private = MARK;
            rc = parseChr(ctxt, c, serial ? &def->serial : &def->console);
            if (rc < 0)
                return -1;
            if (rc == 0)
                c->_private = DROPPED;
            else
                *have = true;
        } else if (isElem(c, "interface") || isElem(c, "emulator") || isElem(c, "memballoon")) {
            if (parseDeviceOther(c, def) < 0)
                return -1;
        }
    }
    return 0;
}

int
domainDefValidate(const domainDef *def)
{
    g_autoptr(GHashTable) targets = g_hash_table_new(g_str_hash, g_str_equal);
    g_autoptr(GHashTable) groups = g_hash_table_new(g_str_hash, g_str_equal);
    size_t i;

    if (!domainNameValid(def->name)) {
        reportError(IOV_ERR_XML_ERROR, "domain name '%s' must be 1 to 64 characters of A-Z a-z 0-9 _ . + - and not start with '.' or '-'",
                    def->name);
        return -1;
    }
    if ((def->initrd || def->cmdline) && !def->kernel) {
        reportError(IOV_ERR_XML_ERROR, "<initrd> and <cmdline> need a <kernel>");
        return -1;
    }
    if (def->kernel && def->kernel[0] != '/') {
        reportError(IOV_ERR_XML_ERROR, "kernel path '%s' is not absolute", def->kernel);
        return -1;
    }
    if (def->initrd && def->initrd[0] != '/') {
        reportError(IOV_ERR_XML_ERROR, "initrd path '%s' is not absolute", def->initrd);
        return -1;
    }
    if (def->serial.type != CHR_TYPE_NONE && def->console.type != CHR_TYPE_NONE &&
        (def->serial.type != def->console.type ||
         g_strcmp0(def->serial.path, def->console.path) != 0)) {
        reportError(IOV_ERR_XML_ERROR, "<console> is the first serial port: it must match <serial> (type and path)");
        return -1;
    }
    if (validatePlatform(def) < 0)
        return -1;
    if (!def->kernel && def->ndisks == 0) {
        reportError(IOV_ERR_XML_ERROR, "domain '%s' has neither a <kernel> nor a disk to boot from",
                    def->name);
        return -1;
    }
    for (i = 0; i < def->ndisks; i++) {
        const domainDiskDef *d = def->disks[i];
        const domainDiskDef *other;

        if (g_hash_table_contains(targets, d->target)) {
            reportError(IOV_ERR_XML_ERROR, "two disks use target '%s'", d->target);
            return -1;
        }
        g_hash_table_add(targets, d->target);
        if (throttleValidate(&d->throttle, d->target, IOV_ERR_XML_ERROR) < 0)
            return -1;
        if (d->nfilters > DOMAIN_MAX_THROTTLE_FILTERS) {
            reportError(IOV_ERR_XML_ERROR, "disk '%s': at most %d throttle filters per disk",
                        d->target, DOMAIN_MAX_THROTTLE_FILTERS);
            return -1;
        }
        if (!d->throttle.group)
            continue;
        other = g_hash_table_lookup(groups, d->throttle.group);
        if (!other) {
            g_hash_table_insert(groups, d->throttle.group, (gpointer)d);
        } else if (!throttleDefEqual(&other->throttle, &d->throttle)) {
            reportError(IOV_ERR_XML_ERROR, "disks '%s' and '%s' in group '%s' have different limits",
                        other->target, d->target, d->throttle.group);
            return -1;
        }
    }
    if (def->ngroups > DOMAIN_MAX_THROTTLE_GROUPS) {
        reportError(IOV_ERR_XML_ERROR, "a domain may declare at most %d throttle groups",
                    DOMAIN_MAX_THROTTLE_GROUPS);
        return -1;
    }
    return validateThrottleGroups(def);
}

static domainDef *
parseDomain(parseCtxt *ctxt, xmlNode *root)
{
    g_autoptr(domainDef) def = g_new0(domainDef, 1);
    g_autofree char *type = getAttr(root, "type");
    g_autofree char *uuid = NULL;
    g_autofree char *vcpu = NULL;
    xmlNode *memory, *os, *devices, *vcpuNode, *groups;

    if (!type) {
        reportError(IOV_ERR_XML_ERROR, "<domain> needs type='qemu' (emulation) or type='kvm'");
        return NULL;
    }
    def->virtType = enumFromString(virtTypeNames, DOMAIN_VIRT_LAST, type);
    if (def->virtType < 0) {
        reportError(IOV_ERR_XML_ERROR, "domain type '%s' is not 'qemu' or 'kvm'", type);
        return NULL;
    }
    if (getChildText(root, "name", &def->name) < 0)
        return NULL;
    if (!def->name) {
        reportError(IOV_ERR_XML_ERROR, "<domain> has no <name>");
        return NULL;
    }
    if (!domainNameValid(def->name)) {
        reportError(IOV_ERR_XML_ERROR, "domain name '%s' must be 1 to 64 characters of A-Z a-z 0-9 _ . + - and not start with '.' or '-'",
                    def->name);
        return NULL;
    }
    if (getChildText(root, "uuid", &uuid) < 0)
        return NULL;
    if (uuid) {
        if (domainUUIDParse(uuid, def->uuid) < 0) {
            reportError(IOV_ERR_XML_ERROR, "uuid '%s' is not 32 hexadecimal digits (dashes allowed)",
                        uuid);
            return NULL;
        }
    } else {
        uuidGenerate(def->uuid);
        def->uuidGenerated = true;
    }

    if (getChild(root, "memory", &memory) < 0)
        return NULL;
    if (!memory) {
        reportError(IOV_ERR_XML_ERROR, "<domain> has no <memory>");
        return NULL;
    }
    if (parseMemory(memory, def) < 0)
        return NULL;

    def->vcpus = 1;
    if (getChild(root, "vcpu", &vcpuNode) < 0)
        return NULL;
    if (vcpuNode) {
        unsigned long long n;

        vcpu = getText(vcpuNode);
        if (parseULL(vcpu, "vcpu", &n) < 0)
            return NULL;
        if (n < 1 || n > MAX_VCPUS) {
            reportError(IOV_ERR_XML_ERROR, "vcpu '%s' is not from 1 to %d", vcpu, MAX_VCPUS);
            return NULL;
        }
        def->vcpus = (unsigned int)n;
    }

    def->machine = g_strdup("q35");
    if (getChild(root, "os", &os) < 0)
        return NULL;
    if (os && parseOS(ctxt, os, def) < 0)
        return NULL;
    if (parsePlatform(root, def) < 0)
        return NULL;
    if (fromLibvirt(ctxt) && parseCurrentMemory(ctxt, root, def) < 0)
        return NULL;

    if (getChild(root, "throttlegroups", &groups) < 0)
        return NULL;
    if (groups && parseThrottleGroups(groups, def) < 0)
        return NULL;

    if (getChild(root, "devices", &devices) < 0)
        return NULL;
    if (devices && parseDevices(ctxt, devices, def) < 0)
        return NULL;
    fillDeclaredMembers(def);

    if (checkUnread(ctxt, root) < 0)
        return NULL;
    if (domainDefValidate(def) < 0)
        return NULL;
    return g_steal_pointer(&def);
}

static void
silentXMLError(void *data G_GNUC_UNUSED, xmlErrorPtr err G_GNUC_UNUSED)
{
}

/* Add the lines of `lines` that def->dropped does not hold yet. */
static void
mergeDropped(domainDef *def, const char *lines)
{
    g_autoptr(GString) s = g_string_new(def->dropped);
    g_auto(GStrv) add = g_strsplit(lines, "\n", -1);
    g_auto(GStrv) have = g_strsplit(def->dropped ? def->dropped : "", "\n", -1);
    char **l;

    for (l = add; *l; l++) {
        if (**l && !g_strv_contains((const char *const *)have, *l))
            g_string_append_printf(s, "%s\n", *l);
    }
    g_free(def->dropped);
    def->dropped = s->len ? g_string_free(g_steal_pointer(&s), FALSE) : NULL;
}

/*
 * readDocument: `xml` parsed as every document of this file is: at most
 * MAX_XML_SIZE bytes, nothing fetched from the network, no document type
 * declaration. `name` is the document's name for libxml2. The document,
 * or NULL with an error (the line and libxml2's words for a malformed
 * one). Leaves libxml2's own error output silenced: the caller restores
 * it with xmlSetStructuredErrorFunc(NULL, NULL) when done.
 */
static xmlDocPtr
readDocument(const char *xml, const char *name)
{
    xmlParserCtxtPtr pctxt;
    xmlDocPtr doc;
    size_t len;

    xmlSetStructuredErrorFunc(NULL, silentXMLError);
    if (!xml) {
        reportError(IOV_ERR_XML_ERROR, "no XML document given");
        return NULL;
    }
    len = strlen(xml);
    if (len > MAX_XML_SIZE) {
        reportError(IOV_ERR_XML_ERROR, "the document is larger than %d bytes", MAX_XML_SIZE);
        return NULL;
    }
    if (!(pctxt = xmlNewParserCtxt())) {
        reportError(IOV_ERR_INTERNAL_ERROR, "cannot create an XML parser");
        return NULL;
    }
    doc = xmlCtxtReadMemory(pctxt, xml, (int)len, name, NULL, XML_PARSE_NONET | XML_PARSE_NOCDATA);
    if (!doc) {
        xmlErrorPtr e = xmlCtxtGetLastError(pctxt);
        g_autofree char *msg = g_strdup(e && e->message ? e->message : "malformed document");

        g_strstrip(msg);
        reportError(IOV_ERR_XML_ERROR, "line %d: %s", e ? e->line : 0, msg);
    } else if (doc->intSubset || doc->extSubset) {
        reportError(IOV_ERR_XML_ERROR, "a document type declaration (DTD) is not accepted");
        g_clear_pointer(&doc, xmlFreeDoc);
    }
    xmlFreeParserCtxt(pctxt);
    return doc;
}

domainDef *
domainDefParseString(const char *xml, unsigned int flags, GString *dropped)
{
    g_autoptr(GString) local = g_string_new(NULL);
    parseCtxt ctxt = {flags, local};
    xmlDocPtr doc = NULL;
    xmlNode *root;
    domainDef *def = NULL;

    if (!(doc = readDocument(xml, "domain.xml")))
        goto cleanup;
    root = xmlDocGetRootElement(doc);
    if (!root || !isElem(root, "domain")) {
        reportError(IOV_ERR_XML_ERROR, "the root element must be <domain>, not <%s>",
                    root ? (const char *)root->name : "");
        goto cleanup;
    }
    root->_private = MARK;
    def = parseDomain(&ctxt, root);
    if (def && local->len) {
        mergeDropped(def, local->str);
        if (dropped)
            g_string_append(dropped, local->str);
    }

 cleanup:
    xmlFreeDoc(doc);
    xmlSetStructuredErrorFunc(NULL, NULL);
    return def;
}

/* ---- formatting ---- */

#define W(call) do { if ((call) < 0) goto error; } while (0)
#define BC(s) ((const xmlChar *)(s))

static int
formatThrottle(xmlTextWriterPtr w, const throttleDef *t, unsigned int flags)
{
    int k;

    if (throttleDefIsUnlimited(t) && !t->group)
        return 0;
    if (flags & DOMAIN_FORMAT_LIBVIRT_IOTUNE) {
        W(xmlTextWriterStartElement(w, BC("iotune")));
        for (k = 0; k < THROTTLE_FIELD_LAST; k++) {
            int id = throttleLibvirtField(k);

            if (id == THROTTLE_GROUP) {
                if (t->group)
                    W(xmlTextWriterWriteElement(w, BC("group_name"), BC(t->group)));
            } else if (t->v[id]) {
                W(xmlTextWriterWriteFormatElement(w, BC(throttleField(id)->alias), "%llu",
                                                  t->v[id]));
            }
        }
        W(xmlTextWriterEndElement(w));
        return 0;
    }
    W(xmlTextWriterStartElement(w, BC("iothrottle")));
    for (k = 0; k < THROTTLE_NUM_VALUES; k++) {
        if (t->v[k])
            W(xmlTextWriterWriteFormatAttribute(w, BC(throttleField(k)->name), "%llu", t->v[k]));
    }
    if (t->group)
        W(xmlTextWriterWriteAttribute(w, BC("group"), BC(t->group)));
    W(xmlTextWriterEndElement(w));
    return 0;
 error:
    return -1;
}

static int
formatThrottleFilters(xmlTextWriterPtr w, const domainDiskDef *d)
{
    size_t i;

    if (!d->nfilters)
        return 0;
    W(xmlTextWriterStartElement(w, BC("throttlefilters")));
    for (i = 0; i < d->nfilters; i++) {
        W(xmlTextWriterStartElement(w, BC("throttlefilter")));
        W(xmlTextWriterWriteAttribute(w, BC("group"), BC(d->filters[i])));
        W(xmlTextWriterEndElement(w));
    }
    W(xmlTextWriterEndElement(w));
    return 0;
error:
    return -1;
}

/* <throttlegroups>: iovirt's spelling, or libvirt's with
 * DOMAIN_FORMAT_LIBVIRT_IOTUNE (<group_name> first, then the values in
 * libvirt's order). */
static int
formatThrottleGroups(xmlTextWriterPtr w, const domainDef *def, unsigned int flags)
{
    size_t i;
    int k;

    if (!def->ngroups)
        return 0;
    W(xmlTextWriterStartElement(w, BC("throttlegroups")));
    for (i = 0; i < def->ngroups; i++) {
        const domainThrottleGroupDef *g = def->groups[i];

        W(xmlTextWriterStartElement(w, BC("throttlegroup")));
        if (flags & DOMAIN_FORMAT_LIBVIRT_IOTUNE) {
            W(xmlTextWriterWriteElement(w, BC("group_name"), BC(g->name)));
            for (k = 0; k < THROTTLE_FIELD_LAST; k++) {
                int id = throttleLibvirtField(k);

                if (id != THROTTLE_GROUP && g->limits.v[id])
                    W(xmlTextWriterWriteFormatElement(w, BC(throttleField(id)->alias), "%llu",
                                                      g->limits.v[id]));
            }
        } else {
            W(xmlTextWriterWriteAttribute(w, BC("name"), BC(g->name)));
            for (k = 0; k < THROTTLE_NUM_VALUES; k++) {
                if (g->limits.v[k])
                    W(xmlTextWriterWriteFormatAttribute(w, BC(throttleField(k)->name), "%llu",
                                                        g->limits.v[k]));
            }
        }
        W(xmlTextWriterEndElement(w));
    }
    W(xmlTextWriterEndElement(w));
    return 0;
error:
    return -1;
}

/* The children of a network <source> after its hosts, in a fixed order. */
static int
formatNetworkExtras(xmlTextWriterPtr w, const domainDiskDef *d)
{
    if (d->snapshot) {
        W(xmlTextWriterStartElement(w, BC("snapshot")));
        W(xmlTextWriterWriteAttribute(w, BC("name"), BC(d->snapshot)));
        W(xmlTextWriterEndElement(w));
    }
    if (d->auth.username) {
        W(xmlTextWriterStartElement(w, BC("auth")));
        W(xmlTextWriterWriteAttribute(w, BC("username"), BC(d->auth.username)));
        W(xmlTextWriterStartElement(w, BC("secret")));
        W(xmlTextWriterWriteAttribute(w, BC("type"),
                                      BC(d->protocol == DISK_PROTOCOL_ISCSI ? "iscsi" : "ceph")));
        if (d->auth.file)
            W(xmlTextWriterWriteAttribute(w, BC("file"), BC(d->auth.file)));
        if (d->auth.usage)
            W(xmlTextWriterWriteAttribute(w, BC("usage"), BC(d->auth.usage)));
        if (d->auth.uuid)
            W(xmlTextWriterWriteAttribute(w, BC("uuid"), BC(d->auth.uuid)));
        W(xmlTextWriterEndElement(w));
        W(xmlTextWriterEndElement(w));
    }
    if (d->initiator) {
        W(xmlTextWriterStartElement(w, BC("initiator")));
        W(xmlTextWriterStartElement(w, BC("iqn")));
        W(xmlTextWriterWriteAttribute(w, BC("name"), BC(d->initiator)));
        W(xmlTextWriterEndElement(w));
        W(xmlTextWriterEndElement(w));
    }
    if (d->timeoutSec) {
        W(xmlTextWriterStartElement(w, BC("timeout")));
        W(xmlTextWriterWriteFormatAttribute(w, BC("seconds"), "%u", d->timeoutSec));
        W(xmlTextWriterEndElement(w));
    }
    if (d->sshUser) {
        W(xmlTextWriterStartElement(w, BC("identity")));
        W(xmlTextWriterWriteAttribute(w, BC("username"), BC(d->sshUser)));
        W(xmlTextWriterEndElement(w));
    }
    if (d->protocol == DISK_PROTOCOL_SSH && d->sshHostKeyCheck != SSH_HOSTKEY_KNOWN_HOSTS) {
        W(xmlTextWriterStartElement(w, BC("hostkey")));
        W(xmlTextWriterWriteAttribute(w, BC("check"), BC(hostKeyCheckNames[d->sshHostKeyCheck])));
        if (d->sshFingerprint)
            W(xmlTextWriterWriteAttribute(w, BC("fingerprint"), BC(d->sshFingerprint)));
        W(xmlTextWriterEndElement(w));
    }
    return 0;
 error:
    return -1;
}

/* The nested <backingStore> elements of a chain, ending with an empty one. */
static int
formatBacking(xmlTextWriterPtr w, const domainBackingDef *b)
{
    int depth = 0;

    if (!b)
        return 0;
    for (; b; b = b->next) {
        W(xmlTextWriterStartElement(w, BC("backingStore")));
        W(xmlTextWriterWriteAttribute(w, BC("type"), BC("file")));
        W(xmlTextWriterStartElement(w, BC("format")));
        W(xmlTextWriterWriteAttribute(w, BC("type"), BC(b->format)));
        W(xmlTextWriterEndElement(w));
        W(xmlTextWriterStartElement(w, BC("source")));
        W(xmlTextWriterWriteAttribute(w, BC("file"), BC(b->path)));
        W(xmlTextWriterEndElement(w));
        depth++;
    }
    W(xmlTextWriterStartElement(w, BC("backingStore")));
    W(xmlTextWriterEndElement(w));
    while (depth-- > 0)
        W(xmlTextWriterEndElement(w));
    return 0;
error:
    return -1;
}

static int
formatDisk(xmlTextWriterPtr w, const domainDiskDef *d, unsigned int flags)
{
    size_t i;

    W(xmlTextWriterStartElement(w, BC("disk")));
    W(xmlTextWriterWriteAttribute(w, BC("type"), BC(diskTypeNames[d->type])));
    W(xmlTextWriterWriteAttribute(w, BC("device"), BC(diskDeviceNames[d->device])));
    if (d->unplugPending)
        W(xmlTextWriterWriteAttribute(w, BC("unplug"), BC("pending")));

    W(xmlTextWriterStartElement(w, BC("driver")));
    W(xmlTextWriterWriteAttribute(w, BC("name"), BC("qemu")));
    W(xmlTextWriterWriteAttribute(w, BC("type"), BC(formatNames[d->format])));
    if (d->cache != DISK_CACHE_DEFAULT)
        W(xmlTextWriterWriteAttribute(w, BC("cache"), BC(cacheNames[d->cache])));
    if (d->io != DISK_IO_DEFAULT)
        W(xmlTextWriterWriteAttribute(w, BC("io"), BC(diskIONames[d->io])));
    if (d->discardUnmap)
        W(xmlTextWriterWriteAttribute(w, BC("discard"), BC("unmap")));
    W(xmlTextWriterEndElement(w));

    if (domainDiskIsEmpty(d))
        goto target;
    W(xmlTextWriterStartElement(w, BC("source")));
    if (d->type == DISK_TYPE_FILE)
        W(xmlTextWriterWriteAttribute(w, BC("file"), BC(d->path)));
    else if (d->type == DISK_TYPE_BLOCK)
        W(xmlTextWriterWriteAttribute(w, BC("dev"), BC(d->path)));
    else {
        W(xmlTextWriterWriteAttribute(w, BC("protocol"), BC(protocolNames[d->protocol])));
        if (d->name)
            W(xmlTextWriterWriteAttribute(w, BC("name"), BC(d->name)));
        for (i = 0; i < d->nhosts; i++) {
            const domainHostDef *h = &d->hosts[i];

            W(xmlTextWriterStartElement(w, BC("host")));
            if (h->unixSocket) {
                W(xmlTextWriterWriteAttribute(w, BC("transport"), BC("unix")));
                W(xmlTextWriterWriteAttribute(w, BC("socket"), BC(h->socket)));
            } else {
                W(xmlTextWriterWriteAttribute(w, BC("name"), BC(h->name)));
                if (h->port)
                    W(xmlTextWriterWriteFormatAttribute(w, BC("port"), "%u", h->port));
            }
            W(xmlTextWriterEndElement(w));
        }
        if (formatNetworkExtras(w, d) < 0)
            goto error;
    }
    W(xmlTextWriterEndElement(w));

target:
    W(xmlTextWriterStartElement(w, BC("target")));
    W(xmlTextWriterWriteAttribute(w, BC("dev"), BC(d->target)));
    W(xmlTextWriterWriteAttribute(w, BC("bus"), BC(busNames[d->bus])));
    W(xmlTextWriterEndElement(w));

    if (d->readonly) {
        W(xmlTextWriterStartElement(w, BC("readonly")));
        W(xmlTextWriterEndElement(w));
    }
    if (d->shareable) {
        W(xmlTextWriterStartElement(w, BC("shareable")));
        W(xmlTextWriterEndElement(w));
    }
    if (d->serial)
        W(xmlTextWriterWriteElement(w, BC("serial"), BC(d->serial)));
    if (formatBacking(w, d->backing) < 0)
        goto error;
    if (formatThrottle(w, &d->throttle, flags) < 0 || formatThrottleFilters(w, d) < 0)
        goto error;
    W(xmlTextWriterEndElement(w));
    return 0;
 error:
    return -1;
}

static int
formatChr(xmlTextWriterPtr w, const char *elem, const domainChrDef *chr)
{
    if (chr->type == CHR_TYPE_NONE)
        return 0;
    W(xmlTextWriterStartElement(w, BC(elem)));
    W(xmlTextWriterWriteAttribute(w, BC("type"), BC(chrTypeNames[chr->type])));
    if (chr->type == CHR_TYPE_FILE || chr->type == CHR_TYPE_UNIX) {
        W(xmlTextWriterStartElement(w, BC("source")));
        if (chr->type == CHR_TYPE_UNIX)
            W(xmlTextWriterWriteAttribute(w, BC("mode"), BC("bind")));
        W(xmlTextWriterWriteAttribute(w, BC("path"), BC(chr->path)));
        W(xmlTextWriterEndElement(w));
    }
    W(xmlTextWriterEndElement(w));
    return 0;
 error:
    return -1;
}

/* <features>, the on_* actions, <clock> and <cpu>, when not the defaults. */
static int
formatPlatform(xmlTextWriterPtr w, const domainDef *def)
{
    if (!def->acpi || def->vmport >= 0) {
        W(xmlTextWriterStartElement(w, BC("features")));
        if (def->acpi) {
            W(xmlTextWriterStartElement(w, BC("acpi")));
            W(xmlTextWriterEndElement(w));
        }
        W(xmlTextWriterStartElement(w, BC("apic")));
        W(xmlTextWriterEndElement(w));
        if (def->vmport >= 0) {
            W(xmlTextWriterStartElement(w, BC("vmport")));
            W(xmlTextWriterWriteAttribute(w, BC("state"), BC(def->vmport ? "on" : "off")));
            W(xmlTextWriterEndElement(w));
        }
        W(xmlTextWriterEndElement(w));
    }
    if (def->noS3 || def->noS4) {
        W(xmlTextWriterStartElement(w, BC("pm")));
        if (def->noS3) {
            W(xmlTextWriterStartElement(w, BC("suspend-to-mem")));
            W(xmlTextWriterWriteAttribute(w, BC("enabled"), BC("no")));
            W(xmlTextWriterEndElement(w));
        }
        if (def->noS4) {
            W(xmlTextWriterStartElement(w, BC("suspend-to-disk")));
            W(xmlTextWriterWriteAttribute(w, BC("enabled"), BC("no")));
            W(xmlTextWriterEndElement(w));
        }
        W(xmlTextWriterEndElement(w));
    }
    if (def->cpuMode != DOMAIN_CPU_DEFAULT) {
        W(xmlTextWriterStartElement(w, BC("cpu")));
        W(xmlTextWriterWriteAttribute(w, BC("mode"), BC(cpuModeNames[def->cpuMode])));
        if (def->cpuModel)
            W(xmlTextWriterWriteElement(w, BC("model"), BC(def->cpuModel)));
        W(xmlTextWriterEndElement(w));
    }
    if (def->clockOffset != DOMAIN_CLOCK_UTC || def->rtcCatchup || def->pitDelay || def->hpetOff) {
        W(xmlTextWriterStartElement(w, BC("clock")));
        W(xmlTextWriterWriteAttribute(w, BC("offset"), BC(clockNames[def->clockOffset])));
        if (def->rtcCatchup) {
            W(xmlTextWriterStartElement(w, BC("timer")));
            W(xmlTextWriterWriteAttribute(w, BC("name"), BC("rtc")));
            W(xmlTextWriterWriteAttribute(w, BC("tickpolicy"), BC("catchup")));
            W(xmlTextWriterEndElement(w));
        }
        if (def->pitDelay) {
            W(xmlTextWriterStartElement(w, BC("timer")));
            W(xmlTextWriterWriteAttribute(w, BC("name"), BC("pit")));
            W(xmlTextWriterWriteAttribute(w, BC("tickpolicy"), BC("delay")));
            W(xmlTextWriterEndElement(w));
        }
        if (def->hpetOff) {
            W(xmlTextWriterStartElement(w, BC("timer")));
            W(xmlTextWriterWriteAttribute(w, BC("name"), BC("hpet")));
            W(xmlTextWriterWriteAttribute(w, BC("present"), BC("no")));
            W(xmlTextWriterEndElement(w));
        }
        W(xmlTextWriterEndElement(w));
    }
    if (def->onPoweroff != DOMAIN_LIFECYCLE_DESTROY)
        W(xmlTextWriterWriteElement(w, BC("on_poweroff"), BC(lifecycleNames[def->onPoweroff])));
    if (def->onReboot != DOMAIN_LIFECYCLE_RESTART)
        W(xmlTextWriterWriteElement(w, BC("on_reboot"), BC(lifecycleNames[def->onReboot])));
    if (def->onCrash >= 0)
        W(xmlTextWriterWriteElement(w, BC("on_crash"), BC(lifecycleNames[def->onCrash])));
    return 0;
error:
    return -1;
}

static int
formatInterface(xmlTextWriterPtr w, const domainNetDef *n)
{
    char mac[18];
    size_t i;

    domainNetMACFormat(n->mac, mac);
    W(xmlTextWriterStartElement(w, BC("interface")));
    W(xmlTextWriterWriteAttribute(w, BC("type"), BC(netTypeNames[n->type])));
    W(xmlTextWriterStartElement(w, BC("mac")));
    W(xmlTextWriterWriteAttribute(w, BC("address"), BC(mac)));
    W(xmlTextWriterEndElement(w));
    if (n->bridge) {
        W(xmlTextWriterStartElement(w, BC("source")));
        W(xmlTextWriterWriteAttribute(w, BC("bridge"), BC(n->bridge)));
        W(xmlTextWriterEndElement(w));
    }
    if (n->ifname) {
        W(xmlTextWriterStartElement(w, BC("target")));
        W(xmlTextWriterWriteAttribute(w, BC("dev"), BC(n->ifname)));
        if (n->type == NET_TYPE_ETHERNET)
            W(xmlTextWriterWriteAttribute(w, BC("managed"), BC("no")));
        W(xmlTextWriterEndElement(w));
    }
    W(xmlTextWriterStartElement(w, BC("model")));
    W(xmlTextWriterWriteAttribute(w, BC("type"), BC(netModelNames[n->model])));
    W(xmlTextWriterEndElement(w));
    /* one element per forward: the parser reads them back one to one */
    for (i = 0; i < n->nforwards; i++) {
        const domainPortForward *f = &n->forwards[i];

        W(xmlTextWriterStartElement(w, BC("portForward")));
        W(xmlTextWriterWriteAttribute(w, BC("proto"), BC(netProtoNames[f->proto])));
        if (f->address)
            W(xmlTextWriterWriteAttribute(w, BC("address"), BC(f->address)));
        W(xmlTextWriterStartElement(w, BC("range")));
        W(xmlTextWriterWriteFormatAttribute(w, BC("start"), "%u", f->hostPort));
        W(xmlTextWriterWriteFormatAttribute(w, BC("to"), "%u", f->guestPort));
        W(xmlTextWriterEndElement(w));
        W(xmlTextWriterEndElement(w));
    }
    W(xmlTextWriterEndElement(w));
    return 0;
error:
    return -1;
}

static int
formatDropped(xmlTextWriterPtr w, const domainDef *def)
{
    g_auto(GStrv) lines = NULL;
    char **l;

    if (!def->dropped)
        return 0;
    lines = g_strsplit(def->dropped, "\n", -1);
    W(xmlTextWriterStartElement(w, BC("dropped")));
    for (l = lines; *l; l++) {
        if (**l)
            W(xmlTextWriterWriteElement(w, BC("item"), BC(*l)));
    }
    W(xmlTextWriterEndElement(w));
    return 0;
error:
    return -1;
}

char *
domainDefFormat(const domainDef *def, unsigned int flags)
{
    xmlBufferPtr buf = xmlBufferCreate();
    xmlTextWriterPtr w = xmlNewTextWriterMemory(buf, 0);
    char uuid[37];
    char *ret = NULL;
    size_t i;

    if (!w) {
        xmlBufferFree(buf);
        reportError(IOV_ERR_INTERNAL_ERROR, "cannot create an XML writer");
        return NULL;
    }
    xmlTextWriterSetIndent(w, 1);
    xmlTextWriterSetIndentString(w, BC("  "));

    W(xmlTextWriterStartElement(w, BC("domain")));
    W(xmlTextWriterWriteAttribute(w, BC("type"), BC(virtTypeNames[def->virtType])));
    W(xmlTextWriterWriteElement(w, BC("name"), BC(def->name)));
    domainUUIDFormat(def->uuid, uuid);
    W(xmlTextWriterWriteElement(w, BC("uuid"), BC(uuid)));
    W(xmlTextWriterStartElement(w, BC("memory")));
    W(xmlTextWriterWriteAttribute(w, BC("unit"), BC("KiB")));
    W(xmlTextWriterWriteFormatString(w, "%llu", def->memoryKiB));
    W(xmlTextWriterEndElement(w));
    W(xmlTextWriterWriteFormatElement(w, BC("vcpu"), "%u", def->vcpus));

    W(xmlTextWriterStartElement(w, BC("os")));
    if (def->machine && strcmp(def->machine, "q35") != 0) {
        W(xmlTextWriterStartElement(w, BC("type")));
        W(xmlTextWriterWriteAttribute(w, BC("arch"), BC("x86_64")));
        W(xmlTextWriterWriteAttribute(w, BC("machine"), BC(def->machine)));
        W(xmlTextWriterWriteString(w, BC("hvm")));
        W(xmlTextWriterEndElement(w));
    } else {
        W(xmlTextWriterWriteElement(w, BC("type"), BC("hvm")));
    }
    if (def->kernel) {
        W(xmlTextWriterWriteElement(w, BC("kernel"), BC(def->kernel)));
        if (def->initrd)
            W(xmlTextWriterWriteElement(w, BC("initrd"), BC(def->initrd)));
        if (def->cmdline)
            W(xmlTextWriterWriteElement(w, BC("cmdline"), BC(def->cmdline)));
    } else {
        W(xmlTextWriterStartElement(w, BC("boot")));
        W(xmlTextWriterWriteAttribute(w, BC("dev"), BC("hd")));
        W(xmlTextWriterEndElement(w));
    }
    W(xmlTextWriterEndElement(w));
    if (formatPlatform(w, def) < 0)
        goto error;

    if (formatThrottleGroups(w, def, flags) < 0)
        goto error;
    W(xmlTextWriterStartElement(w, BC("devices")));
    if (def->emulator)
        W(xmlTextWriterWriteElement(w, BC("emulator"), BC(def->emulator)));
    for (i = 0; i < def->ndisks; i++) {
        if (formatDisk(w, def->disks[i], flags) < 0)
            goto error;
    }
    for (i = 0; i < def->rootPorts; i++) {
        W(xmlTextWriterStartElement(w, BC("controller")));
        W(xmlTextWriterWriteAttribute(w, BC("type"), BC("pci")));
        W(xmlTextWriterWriteAttribute(w, BC("model"), BC("pcie-root-port")));
        W(xmlTextWriterEndElement(w));
    }
    for (i = 0; i < def->nnets; i++) {
        if (formatInterface(w, def->nets[i]) < 0)
            goto error;
    }
    if (formatChr(w, "serial", &def->serial) < 0 || formatChr(w, "console", &def->console) < 0)
        goto error;
    if (def->memballoon == DOMAIN_MEMBALLOON_VIRTIO) {
        W(xmlTextWriterStartElement(w, BC("memballoon")));
        W(xmlTextWriterWriteAttribute(w, BC("model"), BC("virtio")));
        W(xmlTextWriterEndElement(w));
    }
    W(xmlTextWriterEndElement(w));
    if (formatDropped(w, def) < 0)
        goto error;
    W(xmlTextWriterEndElement(w));
    xmlFreeTextWriter(w);
    w = NULL;
    ret = g_strconcat((const char *)xmlBufferContent(buf),
                      g_str_has_suffix((const char *)xmlBufferContent(buf), "\n") ? "" : "\n",
                      NULL);
    xmlBufferFree(buf);
    return ret;

 error:
    if (w)
        xmlFreeTextWriter(w);
    xmlBufferFree(buf);
    reportError(IOV_ERR_INTERNAL_ERROR, "cannot format the XML of domain '%s'", def->name);
    return NULL;
}

/* ---- deep copies, field by field ---- */

/*
 * A copy is made on every change of a definition (a live limit change
 * copies the whole domain), so it copies the structures rather than
 * formatting and parsing the XML, which cost hundreds of microseconds.
 * A field added to the model must be added here too: the unit test
 * /domain-xml/copy/... compares the XML of each golden document's copy
 * with its original's.
 */

static domainBackingDef *
backingCopy(const domainBackingDef *chain)
{
    domainBackingDef *head = NULL;
    domainBackingDef **tail = &head;

    for (; chain; chain = chain->next) {
        domainBackingDef *b = g_new0(domainBackingDef, 1);

        b->path = g_strdup(chain->path);
        b->format = g_strdup(chain->format);
        *tail = b;
        tail = &b->next;
    }
    return head;
}

bool
domainDiskSameFilters(const domainDiskDef *a, const domainDiskDef *b)
{
    size_t i;

    if (a->nfilters != b->nfilters)
        return false;
    for (i = 0; i < a->nfilters; i++) {
        if (strcmp(a->filters[i], b->filters[i]) != 0)
            return false;
    }
    return true;
}

static domainDiskDef *
diskCopy(const domainDiskDef *disk)
{
    domainDiskDef *d = g_new0(domainDiskDef, 1);
    size_t i;

    *d = *disk;
    d->path = g_strdup(disk->path);
    d->name = g_strdup(disk->name);
    d->hosts = disk->nhosts ? g_new0(domainHostDef, disk->nhosts) : NULL;
    for (i = 0; i < disk->nhosts; i++) {
        d->hosts[i] = disk->hosts[i];
        d->hosts[i].name = g_strdup(disk->hosts[i].name);
        d->hosts[i].socket = g_strdup(disk->hosts[i].socket);
    }
    d->auth.username = g_strdup(disk->auth.username);
    d->auth.file = g_strdup(disk->auth.file);
    d->auth.usage = g_strdup(disk->auth.usage);
    d->auth.uuid = g_strdup(disk->auth.uuid);
    d->initiator = g_strdup(disk->initiator);
    d->snapshot = g_strdup(disk->snapshot);
    d->sshUser = g_strdup(disk->sshUser);
    d->sshFingerprint = g_strdup(disk->sshFingerprint);
    d->target = g_strdup(disk->target);
    d->serial = g_strdup(disk->serial);
    d->backing = backingCopy(disk->backing);
    throttleDefCopy(&d->throttle, &disk->throttle);
    d->filters = disk->nfilters ? g_new0(char *, disk->nfilters) : NULL;
    for (i = 0; i < disk->nfilters; i++)
        d->filters[i] = g_strdup(disk->filters[i]);
    return d;
}

static domainNetDef *
netCopy(const domainNetDef *net)
{
    domainNetDef *n = g_new0(domainNetDef, 1);
    size_t i;

    *n = *net;
    n->bridge = g_strdup(net->bridge);
    n->ifname = g_strdup(net->ifname);
    n->forwards = net->nforwards ? g_new0(domainPortForward, net->nforwards) : NULL;
    for (i = 0; i < net->nforwards; i++) {
        n->forwards[i] = net->forwards[i];
        n->forwards[i].address = g_strdup(net->forwards[i].address);
    }
    return n;
}

domainDef *
domainDefCopy(const domainDef *def)
{
    domainDef *out = g_new0(domainDef, 1);
    size_t i;

    *out = *def;
    out->name = g_strdup(def->name);
    out->kernel = g_strdup(def->kernel);
    out->initrd = g_strdup(def->initrd);
    out->cmdline = g_strdup(def->cmdline);
    out->disks = def->ndisks ? g_new0(domainDiskDef *, def->ndisks) : NULL;
    for (i = 0; i < def->ndisks; i++)
        out->disks[i] = diskCopy(def->disks[i]);
    out->groups = def->ngroups ? g_new0(domainThrottleGroupDef *, def->ngroups) : NULL;
    for (i = 0; i < def->ngroups; i++) {
        out->groups[i] = g_new0(domainThrottleGroupDef, 1);
        out->groups[i]->name = g_strdup(def->groups[i]->name);
        throttleDefCopy(&out->groups[i]->limits, &def->groups[i]->limits);
    }
    out->serial.path = g_strdup(def->serial.path);
    out->console.path = g_strdup(def->console.path);
    out->machine = g_strdup(def->machine);
    out->emulator = g_strdup(def->emulator);
    out->cpuModel = g_strdup(def->cpuModel);
    out->nets = def->nnets ? g_new0(domainNetDef *, def->nnets) : NULL;
    for (i = 0; i < def->nnets; i++)
        out->nets[i] = netCopy(def->nets[i]);
    out->dropped = g_strdup(def->dropped);
    return out;
}

/* ---- one disk alone: hot-plug documents ---- */

domainDiskDef *
domainDiskDefParseString(const char *xml, unsigned int flags, GString *dropped)
{
    parseCtxt ctxt = {flags, dropped};
    xmlDocPtr doc = NULL;
    xmlNode *root;
    domainDiskDef *disk = NULL;
    int rc;

    if (!(doc = readDocument(xml, "disk.xml")))
        goto cleanup;
    root = xmlDocGetRootElement(doc);
    if (!root || !isElem(root, "disk")) {
        reportError(
            IOV_ERR_CONFIG_UNSUPPORTED,
            "only disks can be attached, detached or updated: the document's root is <%s>, not <disk>",
            root ? (const char *)root->name : "");
        goto cleanup;
    }
    root->_private = MARK;
    if ((rc = parseDisk(&ctxt, root, &disk)) <= 0) {
        if (rc == 0)
            reportError(IOV_ERR_CONFIG_UNSUPPORTED, "this disk is not supported: %s",
                        dropped && dropped->len ? g_strstrip(dropped->str) : "it was dropped");
        goto cleanup;
    }
    if (checkUnread(&ctxt, root) < 0)
        g_clear_pointer(&disk, domainDiskDefFree);

cleanup:
    xmlFreeDoc(doc);
    xmlSetStructuredErrorFunc(NULL, NULL);
    return disk;
}

domainDiskDef *
domainDiskDefCopy(const domainDiskDef *disk)
{
    return diskCopy(disk);
}
