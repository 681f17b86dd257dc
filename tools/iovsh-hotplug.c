/*
 * iovsh-hotplug.c: disks that come and go
 *
 *   attach-device DOMAIN FILE [--current|--live|--config|--persistent]
 *   detach-device DOMAIN FILE [...]
 *   detach-device-alias DOMAIN ALIAS [...]
 *   update-device DOMAIN FILE [...] [--force]
 *   attach-disk DOMAIN SOURCE TARGET [--type T] [--format F] [--cache C]
 *               [--readonly] [--bps_rd 8M ...] [--group G] [...]
 *   detach-disk DOMAIN TARGET [...]
 *   change-media DOMAIN TARGET [SOURCE] [--eject|--insert|--update] [...]
 *
 * attach-disk takes one option per field of the throttle field table
 * (iovThrottleFieldByIndex), as blkiothrottle does, and writes the
 * <disk> document for the caller.
 */
#include <stdio.h>
#include <string.h>

#include "iovsh.h"

/* The flags of --current, --live, --config and --persistent (virsh's:
 * the running guest and the definition when it runs, else the
 * definition). -1 after printing an error. */
static int
impactFlags(iovDomainPtr dom, const iovshCmd *cmd)
{
    unsigned int flags = 0;

    if (iovshOptGiven(cmd, "current") &&
        (iovshOptGiven(cmd, "live") || iovshOptGiven(cmd, "config") ||
         iovshOptGiven(cmd, "persistent"))) {
        iovshError("--current cannot be given with --live, --config or --persistent");
        return -1;
    }
    if (iovshOptGiven(cmd, "live"))
        flags |= IOV_DOMAIN_AFFECT_LIVE;
    if (iovshOptGiven(cmd, "config"))
        flags |= IOV_DOMAIN_AFFECT_CONFIG;
    if (iovshOptGiven(cmd, "persistent")) {
        flags |= IOV_DOMAIN_AFFECT_CONFIG;
        if (iovDomainIsActive(dom) == 1)
            flags |= IOV_DOMAIN_AFFECT_LIVE;
    }
    return (int)flags;
}

/* The contents of the file of option `opt`; NULL after printing an error. */
static char *
readFile(const iovshCmd *cmd, const char *opt)
{
    const char *file = iovshOptString(cmd, opt);
    g_autoptr(GError) err = NULL;
    char *xml = NULL;

    if (!g_file_get_contents(file, &xml, NULL, &err)) {
        iovshError("cannot read '%s': %s", file, err->message);
        return NULL;
    }
    return xml;
}

typedef int (*deviceCall)(iovDomainPtr dom, const char *str, unsigned int flags);

/* Run `call` on the domain with `str` and the flags of the options;
 * print `done` (a format taking the domain's name) on success. */
static int
runDeviceCall(iovshControl *ctl, const iovshCmd *cmd, deviceCall call, const char *str,
              const char *done)
{
    g_autoptr(iovDomain) dom = iovshLookupDomain(ctl, cmd, "domain");
    int flags;

    if (!dom || (flags = impactFlags(dom, cmd)) < 0)
        return -1;
    if (iovshOptGiven(cmd, "force"))
        flags |= 4; /* libvirt's FORCE: nothing to force for a disk */
    if (call(dom, str, (unsigned int)flags) < 0) {
        iovshLibError();
        return -1;
    }
    printf("%s\n", done);
    return 0;
}

/* attach-device DOMAIN FILE */
int
cmdAttachDevice(iovshControl *ctl, const iovshCmd *cmd)
{
    g_autofree char *xml = readFile(cmd, "file");

    if (!xml)
        return -1;
    return runDeviceCall(ctl, cmd, iovDomainAttachDeviceFlags, xml, "Device attached successfully");
}

/* detach-device DOMAIN FILE */
int
cmdDetachDevice(iovshControl *ctl, const iovshCmd *cmd)
{
    g_autofree char *xml = readFile(cmd, "file");

    if (!xml)
        return -1;
    return runDeviceCall(ctl, cmd, iovDomainDetachDeviceFlags, xml, "Device detached successfully");
}

/* detach-device-alias DOMAIN ALIAS */
int
cmdDetachDeviceAlias(iovshControl *ctl, const iovshCmd *cmd)
{
    return runDeviceCall(ctl, cmd, iovDomainDetachDeviceAlias, iovshOptString(cmd, "alias"),
                         "Device detached successfully");
}

/* update-device DOMAIN FILE */
int
cmdUpdateDevice(iovshControl *ctl, const iovshCmd *cmd)
{
    g_autofree char *xml = readFile(cmd, "file");

    if (!xml)
        return -1;
    return runDeviceCall(ctl, cmd, iovDomainUpdateDeviceFlags, xml, "Device updated successfully");
}

/* detach-disk DOMAIN TARGET */
int
cmdDetachDisk(iovshControl *ctl, const iovshCmd *cmd)
{
    g_autofree char *alias = g_strdup_printf("disk-%s", iovshOptString(cmd, "target"));

    return runDeviceCall(ctl, cmd, iovDomainDetachDeviceAlias, alias, "Disk detached successfully");
}

/* ---- attach-disk: its options, from the throttle field table ---- */

static GArray *attachDiskOptions;
static GPtrArray *attachDiskStrings;

static const char *
keep(char *s)
{
    g_ptr_array_add(attachDiskStrings, s);
    return s;
}

const iovshOptDef *
iovshAttachDiskOptions(void)
{
    static const iovshOptDef head[] = {
        {"domain", IOVSH_OT_ARG, "DOMAIN", "guest name, id or uuid", IOVSH_COMPLETE_DOMAIN, NULL},
        {"source", IOVSH_OT_ARG, "SOURCE", "the image file or block device (an absolute path)",
         IOVSH_COMPLETE_FILE, NULL},
        {"target", IOVSH_OT_ARG, "TARGET", "the disk's name in the guest (vdb)", 0, NULL},
        {"type", IOVSH_OT_STRING, "TYPE", "file (the default) or block", 0, NULL},
        {"format", IOVSH_OT_STRING, "FORMAT", "raw (the default) or qcow2", 0, NULL},
        {"cache", IOVSH_OT_STRING, "MODE",
         "default, none, writeback, writethrough, directsync or unsafe", 0, NULL},
        {"readonly", IOVSH_OT_BOOL, NULL, "the guest may only read the disk", 0, NULL},
        {"throttle-groups", IOVSH_OT_STRING, "G1,G2",
         "after its own limits, pass through these declared groups, in order", 0, NULL},
    };
    static const iovshOptDef tail[] = {
        {"current", IOVSH_OT_BOOL, NULL,
         "the running guest if it runs, else the saved definition (the default)", 0, NULL},
        {"live", IOVSH_OT_BOOL, NULL, "hot-plug it into the running guest", 0, NULL},
        {"config", IOVSH_OT_BOOL, NULL, "add it to the saved definition, for the next boot", 0,
         NULL},
        {"persistent", IOVSH_OT_BOOL, NULL, "--config, and --live when the guest runs", 0, NULL},
        {NULL, 0, NULL, NULL, 0, NULL},
    };
    int i, n = iovThrottleFieldCount();

    if (attachDiskOptions)
        return (const iovshOptDef *)(void *)attachDiskOptions->data;
    attachDiskStrings = g_ptr_array_new_with_free_func(g_free);
    attachDiskOptions = g_array_new(FALSE, TRUE, sizeof(iovshOptDef));
    g_array_append_vals(attachDiskOptions, head, G_N_ELEMENTS(head));
    for (i = 0; i < n; i++) {
        const iovThrottleField *f = iovThrottleFieldByIndex(i);
        iovshOptDef o = {0};
        iovshOptDef alias = {0};

        o.name = f->name;
        o.type = IOVSH_OT_STRING;
        o.valname = f->type == IOV_TYPED_PARAM_STRING ? "NAME" : "N";
        o.help =
            keep(g_strdup_printf("%s%s", f->help, f->accepts_suffix ? " (size suffixes)" : ""));
        g_array_append_val(attachDiskOptions, o);
        alias.name = keep(g_strdelimit(g_strdup(f->name), "_", '-'));
        if (strcmp(alias.name, o.name) != 0) {
            alias.type = IOVSH_OT_ALIAS;
            alias.alias_of = o.name;
            alias.help = o.help;
            g_array_append_val(attachDiskOptions, alias);
        }
    }
    g_array_append_vals(attachDiskOptions, tail, G_N_ELEMENTS(tail));
    return (const iovshOptDef *)(void *)attachDiskOptions->data;
}

void
iovshHotplugCleanup(void)
{
    if (attachDiskOptions)
        g_array_free(attachDiskOptions, TRUE);
    if (attachDiskStrings)
        g_ptr_array_free(attachDiskStrings, TRUE);
    attachDiskOptions = NULL;
    attachDiskStrings = NULL;
}

/* The <disk> document of attach-disk's options; NULL after printing an error. */
static char *
diskDocument(const iovshCmd *cmd)
{
    const char *type = iovshOptGiven(cmd, "type") ? iovshOptString(cmd, "type") : "file";
    const char *format = iovshOptGiven(cmd, "format") ? iovshOptString(cmd, "format") : "raw";
    const char *cache = iovshOptString(cmd, "cache");
    g_autofree char *source = g_markup_escape_text(iovshOptString(cmd, "source"), -1);
    g_autofree char *target = g_markup_escape_text(iovshOptString(cmd, "target"), -1);
    g_autoptr(GString) limits = g_string_new(NULL);
    g_autoptr(GString) filters = g_string_new(NULL);
    g_autofree char *cacheAttr = NULL;
    int i, n = iovThrottleFieldCount();

    if (strcmp(type, "file") != 0 && strcmp(type, "block") != 0) {
        iovshError(
            "--type '%s': attach-disk takes file or block (write the <disk> of a network disk and use attach-device)",
            type);
        return NULL;
    }
    for (i = 0; i < n; i++) {
        const iovThrottleField *f = iovThrottleFieldByIndex(i);
        const char *str = iovshOptString(cmd, f->name);
        unsigned long long v;

        if (!str)
            continue;
        if (f->type == IOV_TYPED_PARAM_STRING) {
            g_autofree char *esc = g_markup_escape_text(str, -1);

            g_string_append_printf(limits, " %s='%s'", f->name, esc);
            continue;
        }
        if (f->accepts_suffix ? iovParseSize(str, &v) < 0 : !iovshParseULL(str, &v)) {
            iovshError("invalid value '%s' for option --%s: %s", str, f->name,
                       f->accepts_suffix ? iovGetLastErrorMessage()
                                         : "expected a non-negative integer");
            return NULL;
        }
        g_string_append_printf(limits, " %s='%llu'", f->name, v);
    }
    if (cache) {
        g_autofree char *esc = g_markup_escape_text(cache, -1);

        cacheAttr = g_strdup_printf(" cache='%s'", esc);
    }
    if (iovshOptGiven(cmd, "throttle-groups")) {
        g_auto(GStrv) names = g_strsplit(iovshOptString(cmd, "throttle-groups"), ",", -1);
        char **g;

        g_string_append(filters, "  <throttlefilters>\n");
        for (g = names; *g; g++) {
            g_autofree char *esc = g_markup_escape_text(g_strstrip(*g), -1);

            if (!*esc) {
                iovshError("--throttle-groups: an empty group name");
                return NULL;
            }
            g_string_append_printf(filters, "    <throttlefilter group='%s'/>\n", esc);
        }
        g_string_append(filters, "  </throttlefilters>\n");
    }
    return g_strdup_printf(
        "<disk type='%s' device='disk'>\n"
        "  <driver name='qemu' type='%s'%s/>\n"
        "  <source %s='%s'/>\n"
        "  <target dev='%s'/>\n"
        "%s%s%s%s%s"
        "</disk>\n",
        type, format, cacheAttr ? cacheAttr : "", strcmp(type, "file") == 0 ? "file" : "dev",
        source, target, iovshOptGiven(cmd, "readonly") ? "  <readonly/>\n" : "",
        limits->len ? "  <iothrottle" : "", limits->str, limits->len ? "/>\n" : "", filters->str);
}

/* attach-disk DOMAIN SOURCE TARGET [options] */
int
cmdAttachDisk(iovshControl *ctl, const iovshCmd *cmd)
{
    g_autofree char *xml = diskDocument(cmd);

    if (!xml)
        return -1;
    return runDeviceCall(ctl, cmd, iovDomainAttachDeviceFlags, xml, "Disk attached successfully");
}

/* ---- change-media: a cdrom's medium ---- */

/* change-media DOMAIN TARGET [SOURCE] [--eject|--insert|--update] */
int
cmdChangeMedia(iovshControl *ctl, const iovshCmd *cmd)
{
    const char *source = iovshOptString(cmd, "source");
    bool eject = iovshOptGiven(cmd, "eject");
    int modes = eject + iovshOptGiven(cmd, "insert") + iovshOptGiven(cmd, "update");
    g_autoptr(iovDomain) dom = NULL;
    g_autofree char *xml = NULL;
    g_autofree char *doc = NULL;
    iovshMediumFunc medium;
    int flags;

    if (modes > 1) {
        iovshError("give one of --eject, --insert and --update");
        return -1;
    }
    if (eject == !!source) {
        iovshError(eject ? "--eject takes no SOURCE" : "give the new medium's SOURCE (or --eject)");
        return -1;
    }
    if (!(dom = iovshLookupDomain(ctl, cmd, "domain")) || (flags = impactFlags(dom, cmd)) < 0)
        return -1;
    /* the disk as it is where the change goes: the saved definition for
     * --config alone */
    xml = iovDomainGetXMLDesc(dom, flags == IOV_DOMAIN_AFFECT_CONFIG ? IOV_DOMAIN_XML_INACTIVE : 0);
    if (!xml) {
        iovshLibError();
        return -1;
    }
    if (!(medium = (iovshMediumFunc)iovshModuleLoad(IOVSH_XML_MODULE, IOVSH_XML_MEDIUM_ENTRY)) ||
        !(doc = medium(xml, iovshOptString(cmd, "target"), source)))
        return -1;
    if (iovDomainUpdateDeviceFlags(dom, doc, (unsigned int)flags) < 0) {
        iovshLibError();
        return -1;
    }
    printf("%s\n", eject ? "Successfully ejected media." : "Successfully changed media.");
    return 0;
}
