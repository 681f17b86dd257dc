/*
 * iovsh-throttle.c: the I/O limits of a disk
 *
 *   blkiothrottle DOMAIN DEVICE [--bps N] [--bps_rd N] ... [--current|--live|--config]
 *   blkdeviotune  DOMAIN DEVICE [--total-bytes-sec N] ...   (virsh's names)
 *
 * Both commands take one option per field of the throttle field table of
 * the public API (iovThrottleFieldByIndex): blkiothrottle under iovirt's
 * names (--bps_rd, also spelled --bps-rd), blkdeviotune under libvirt's
 * (--read-bytes-sec, also --read_bytes_sec). With no value they display the
 * limits in force; with values they set them.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "iovsh.h"

/* How the options of a field are named. */
typedef enum {
    NAMING_RFC = 0, /* blkiothrottle: --bps_rd */
    NAMING_LIBVIRT, /* blkdeviotune: --read-bytes-sec */
    NAMING_LAST
} naming;

/* The option arrays built from the table, one per naming, and the strings
 * they point to; freed by iovshThrottleCleanup. */
static GArray *builtOptions[NAMING_LAST];
static GPtrArray *builtStrings[NAMING_LAST];

/* `name` with '_' turned into '-'. New string. */
static char *
dashed(const char *name)
{
    return g_strdelimit(g_strdup(name), "_", '-');
}

/* The primary option name of field f under naming `how`. New string. */
static char *
optionName(const iovThrottleField *f, int how)
{
    return how == NAMING_RFC ? g_strdup(f->name) : dashed(f->alias);
}

/* The other spelling of the option of field f. New string. */
static char *
optionAlias(const iovThrottleField *f, int how)
{
    return how == NAMING_RFC ? dashed(f->name) : g_strdup(f->alias);
}

/* What a field's value is, for help ("BYTES/S"). */
static const char *
valueName(const iovThrottleField *f)
{
    switch (f->unit) {
    case IOV_THROTTLE_UNIT_BYTES_PER_SEC:
        return "BYTES/S";
    case IOV_THROTTLE_UNIT_IOPS:
        return "IO/S";
    case IOV_THROTTLE_UNIT_SECONDS:
        return "SECONDS";
    case IOV_THROTTLE_UNIT_BYTES:
        return "BYTES";
    }
    return "NAME";
}

/* Keep `s` alive as long as the options of naming `how`; returns it. */
static const char *
keep(int how, char *s)
{
    g_ptr_array_add(builtStrings[how], s);
    return s;
}

/* Build (once) the options of blkiothrottle or blkdeviotune. */
static const iovshOptDef *
buildOptions(int how)
{
    static const iovshOptDef head[] = {
        {"domain", IOVSH_OT_ARG, "DOMAIN", "guest name, id or uuid", IOVSH_COMPLETE_DOMAIN, NULL},
        {"device", IOVSH_OT_ARG, "DEVICE", "disk target (vda) or source path", IOVSH_COMPLETE_DISK,
         NULL},
    };
    static const iovshOptDef tail[] = {
        {"throttle-groups", IOVSH_OT_STRING, "G1,G2",
         "the declared groups the disk passes through after its own limits, in order; '' leaves "
         "every group (a command of its own: no limit option with it)",
         0, NULL},
        {"current", IOVSH_OT_BOOL, NULL,
         "the running guest if it runs, else the saved definition (the default)", 0, NULL},
        {"live", IOVSH_OT_BOOL, NULL, "the running guest", 0, NULL},
        {"config", IOVSH_OT_BOOL, NULL, "the saved definition, for the next boot", 0, NULL},
        {NULL, 0, NULL, NULL, 0, NULL},
    };
    GArray *opts;
    int i, n = iovThrottleFieldCount();

    if (builtOptions[how])
        return (const iovshOptDef *)(void *)builtOptions[how]->data;
    builtStrings[how] = g_ptr_array_new_with_free_func(g_free);
    opts = g_array_new(FALSE, TRUE, sizeof(iovshOptDef));
    g_array_append_vals(opts, head, G_N_ELEMENTS(head));
    for (i = 0; i < n; i++) {
        const iovThrottleField *f = iovThrottleFieldByIndex(i);
        iovshOptDef o = {0};
        iovshOptDef alias = {0};
        g_autofree char *extra = NULL;

        o.name = keep(how, optionName(f, how));
        o.type = IOVSH_OT_STRING;
        o.valname = valueName(f);
        if (f->type == IOV_TYPED_PARAM_STRING)
            extra = g_strdup("; '' leaves the group");
        else if (f->accepts_suffix)
            extra = g_strdup_printf(" (%s, size suffixes)", f->unit_name);
        else if (f->unit != IOV_THROTTLE_UNIT_SECONDS)
            extra = g_strdup_printf(" (%s)", f->unit_name);
        else
            extra = g_strdup("");
        o.help = keep(how, g_strdup_printf("%s%s", f->help, extra));
        g_array_append_val(opts, o);

        alias.name = keep(how, optionAlias(f, how));
        if (strcmp(alias.name, o.name) != 0) {
            alias.type = IOVSH_OT_ALIAS;
            alias.alias_of = o.name;
            alias.help = o.help;
            g_array_append_val(opts, alias);
        }
    }
    g_array_append_vals(opts, tail, G_N_ELEMENTS(tail));
    builtOptions[how] = opts;
    return (const iovshOptDef *)(void *)opts->data;
}

/* The options of blkiothrottle (iovirt's names). */
const iovshOptDef *
iovshThrottleOptionsRFC(void)
{
    return buildOptions(NAMING_RFC);
}

/* The options of blkdeviotune (libvirt's names). */
const iovshOptDef *
iovshThrottleOptionsLibvirt(void)
{
    return buildOptions(NAMING_LIBVIRT);
}

/* Free the option arrays built here. */
void
iovshThrottleCleanup(void)
{
    int how;

    for (how = 0; how < NAMING_LAST; how++) {
        if (builtOptions[how])
            g_array_free(builtOptions[how], TRUE);
        if (builtStrings[how])
            g_ptr_array_free(builtStrings[how], TRUE);
        builtOptions[how] = NULL;
        builtStrings[how] = NULL;
    }
}

/*
 * The value `str` given to option --`opt` for field f: a size with an
 * optional suffix when the field accepts one (iovParseSize), else a plain
 * non-negative integer. -1 after printing an error naming the option.
 */
static int
parseFieldValue(const iovThrottleField *f, const char *opt, const char *str,
                unsigned long long *value)
{
    if (f->accepts_suffix) {
        if (iovParseSize(str, value) < 0) {
            iovshError("invalid value '%s' for option --%s: %s", str, opt,
                       iovGetLastErrorMessage());
            return -1;
        }
        return 0;
    }
    if (!iovshParseULL(str, value)) {
        iovshError(
            "invalid value '%s' for option --%s: expected a non-negative integer (%s, no suffix)",
            str, opt, f->unit_name);
        return -1;
    }
    return 0;
}

/* A number of seconds for humans: "20", "63.2". New string. */
static char *
seconds(double s)
{
    if (s >= 100 || s == (double)(long long)s)
        return g_strdup_printf("%.0f", s);
    return g_strdup_printf("%.1f", s);
}

/*
 * How long a burst lasts at full speed, from QEMU's leaky bucket: the
 * bucket holds max x length (length 0 meaning 1 s) and leaks at the base
 * rate, so I/O at the max rate fills it in max x length / (max - base)
 * seconds; once full, an idle disk empties it in max x length / base.
 * Returns a phrase to show beside the max, or NULL when there is no burst.
 */
static char *
burstText(const iovshParams *p, const iovThrottleField *f, unsigned long long max)
{
    const iovThrottleField *base_f = iovThrottleFieldByIndex(f->base_index);
    const iovThrottleField *len_f = iovThrottleFieldByIndex(f->length_index);
    unsigned long long base, length;
    g_autofree char *secs = NULL;
    g_autofree char *refill = NULL;
    double bucket;

    if (!base_f || !len_f || max == 0)
        return NULL;
    base = iovshParamULL(p, base_f->name);
    length = iovshParamULL(p, len_f->name);
    if (length == 0)
        length = 1;
    bucket = (double)max * length;
    if (base == 0 || max <= base)
        return g_strdup_printf("no burst above %s", base_f->name);
    secs = seconds(bucket / (max - base));
    refill = seconds(bucket / base);
    return g_strdup_printf("a burst lasts %s s at full speed and refills in %s s idle", secs,
                           refill);
}

/* The text shown for field f, whose value in p is `tp`. New string. */
static char *
formatField(const iovshParams *p, const iovThrottleField *f, const iovTypedParameter *tp,
            GPtrArray *disks)
{
    unsigned long long v = tp->value.ul;
    g_autofree char *human = NULL;
    g_autofree char *burst = NULL;

    if (tp->type == IOV_TYPED_PARAM_STRING) {
        g_autofree char *members = iovshGroupMembers(disks, tp->value.s);

        if (!tp->value.s || !*tp->value.s)
            return g_strdup("(none)");
        if (members)
            return g_strdup_printf("%s (disks %s)", tp->value.s, members);
        return g_strdup(tp->value.s);
    }
    if (v == 0) {
        const iovThrottleField *max_f = iovThrottleFieldByIndex(f->max_index);

        if (f->unit == IOV_THROTTLE_UNIT_SECONDS && max_f && iovshParamULL(p, max_f->name))
            return g_strdup("0 (the default, 1 s)");
        return g_strdup("0");
    }
    switch (f->unit) {
    case IOV_THROTTLE_UNIT_BYTES_PER_SEC:
    case IOV_THROTTLE_UNIT_BYTES:
        if (v >= 1024)
            human = iovshHumanBytes((double)v);
        break;
    }
    if (f->family == IOV_THROTTLE_FAMILY_BYTES_MAX || f->family == IOV_THROTTLE_FAMILY_IOPS_MAX)
        burst = burstText(p, f, v);
    return g_strdup_printf("%llu %s%s%s%s%s%s", v, f->unit_name, human ? " (" : "",
                           human ? human : "",
                           human ? (f->unit == IOV_THROTTLE_UNIT_BYTES ? ")" : "/s)") : "",
                           burst ? "; " : "", burst ? burst : "");
}

/* Display the limits of `disk` (flags: CURRENT, LIVE or CONFIG). */
static int
showLimits(const iovshCmd *cmd, iovDomainPtr dom, const char *disk, unsigned int flags)
{
    g_autoptr(iovshParams) p = iovshGetThrottle(dom, disk, flags);
    g_autoptr(GPtrArray) disks = NULL;
    int i, width = 0;

    if (!p) {
        iovshLibError();
        return -1;
    }
    if (cmd->output == IOVSH_OUTPUT_JSON) {
        json_object *o = iovshParamsToJSON(p);

        if (iovshShowChain(dom, disk, flags, o) < 0) {
            json_object_put(o);
            return -1;
        }
        iovshPrintJSON(o);
        return 0;
    }
    /* the other members of its group, from the definition: only read
     * (and its XML parsed) when the disk is in one */
    if (iovshParamString(p, "group") && *iovshParamString(p, "group"))
        disks = iovshDomainDisks(dom, flags & IOV_DOMAIN_AFFECT_CONFIG);
    for (i = 0; i < p->n; i++)
        width = MAX(width, (int)strlen(p->params[i].field));
    for (i = 0; i < p->n; i++) {
        int idx = iovThrottleFieldLookup(p->params[i].field);
        const iovThrottleField *f = iovThrottleFieldByIndex(idx);
        g_autofree char *text = NULL;

        if (!f)
            continue;
        text = formatField(p, f, &p->params[i], disks);
        printf("%-*s : %s\n", width, p->params[i].field, text);
    }
    return iovshShowChain(dom, disk, flags, NULL);
}

/* After a change, the members of the group of `disk` in one definition
 * (live, or persistent with `inactive`): a new string, NULL when the disk
 * is in no group. *group receives the group's name. */
static char *
changedMembers(iovDomainPtr dom, const char *disk, bool inactive, char **group)
{
    g_autoptr(iovshParams) p =
        iovshGetThrottle(dom, disk, inactive ? IOV_DOMAIN_AFFECT_CONFIG : IOV_DOMAIN_AFFECT_LIVE);
    g_autoptr(GPtrArray) disks = NULL;
    const iovDomainDisk *d;

    *group = NULL;
    /* a disk in no group changed alone: no need to read the definition */
    if (p && (!iovshParamString(p, "group") || !*iovshParamString(p, "group")))
        return NULL;
    disks = iovshDomainDisks(dom, inactive);
    d = iovshDiskFind(disks, disk);
    if (!d || !*d->group)
        return NULL;
    *group = g_strdup(d->group);
    return iovshGroupMembers(disks, d->group);
}

/* Add to JSON object o the group of a changed disk and its members. */
static void
addMembersJSON(json_object *o, const char *group, const char *members)
{
    g_auto(GStrv) names = g_strsplit(members, ", ", -1);
    json_object *arr = json_object_new_array();
    char **n;

    for (n = names; *n; n++)
        json_object_array_add(arr, json_object_new_string(*n));
    json_object_object_add(o, "group", json_object_new_string(group));
    json_object_object_add(o, "members", arr);
}

/* Say which disks of `group` changed with `disk`; `where` ends the line. */
static void
printMembers(const char *disk, const char *group, const char *members, const char *where)
{
    if (!strchr(members, ','))
        printf("Disk '%s' is the only member of group '%s'%s.\n", disk, group, where);
    else
        printf("Disk '%s' is in group '%s': disks %s changed together%s.\n", disk, group, members,
               where);
}

/* A JSON object saying that a change of `disk` of `dom` reached the
 * sides given: its "domain", "disk" and "applied" (a list). */
static json_object *
changeJSON(iovDomainPtr dom, const char *disk, bool live, bool config)
{
    json_object *o = json_object_new_object();
    json_object *applied = json_object_new_array();

    json_object_object_add(o, "domain", json_object_new_string(iovDomainGetName(dom)));
    json_object_object_add(o, "disk", json_object_new_string(disk));
    if (live)
        json_object_array_add(applied, json_object_new_string("live"));
    if (config)
        json_object_array_add(applied, json_object_new_string("config"));
    json_object_object_add(o, "applied", applied);
    return o;
}

/* Set the given limits of `disk`, and say which disks changed with it. */
static int
setLimits(const iovshCmd *cmd, iovDomainPtr dom, const char *disk, iovTypedParameterPtr params,
          int nparams, unsigned int flags)
{
    g_autofree char *live_members = NULL;
    g_autofree char *live_group = NULL;
    g_autofree char *config_members = NULL;
    g_autofree char *config_group = NULL;
    bool live, config, same;

    if (iovDomainBlockIoThrottle(dom, disk, params, nparams, flags) < 0) {
        iovshLibError();
        return -1;
    }
    iovshChangeSides(dom, flags, &live, &config);
    if (live)
        live_members = changedMembers(dom, disk, false, &live_group);
    if (config)
        config_members = changedMembers(dom, disk, true, &config_group);
    same = g_strcmp0(live_members, config_members) == 0 && g_strcmp0(live_group, config_group) == 0;

    if (cmd->output == IOVSH_OUTPUT_JSON) {
        json_object *o = changeJSON(dom, disk, live, config);

        if (live_members)
            addMembersJSON(o, live_group, live_members);
        else if (config_members)
            addMembersJSON(o, config_group, config_members);
        iovshPrintJSON(o);
        return 0;
    }

    printf("Limits of disk '%s' of domain '%s' changed (%s).\n", disk, iovDomainGetName(dom),
           iovshSidesText(live, config));
    if (live_members)
        printMembers(disk, live_group, live_members, config && !same ? " (live)" : "");
    if (config_members && (!live || !same))
        printMembers(disk, config_group, config_members, live ? " (config)" : "");
    return 0;
}

/* Give `disk` the chain of groups `list` ("G1,G2"; "" none), and say so. */
static int
setGroups(const iovshCmd *cmd, iovDomainPtr dom, const char *disk, const char *list,
          unsigned int flags)
{
    g_auto(GStrv) parts = g_strsplit(list, ",", -1);
    g_autoptr(GPtrArray) groups = g_ptr_array_new();
    g_autofree char *shown = NULL;
    const char *where;
    bool live, config;
    char **p;

    for (p = parts; *p; p++) {
        g_strstrip(*p);
        if (!**p) {
            if (*list && g_strv_length(parts) > 1) {
                iovshError("invalid value '%s' for option --throttle-groups: an empty group name",
                           list);
                return -1;
            }
            continue;
        }
        g_ptr_array_add(groups, *p);
    }
    if (iovDomainSetDiskThrottleFilters(dom, disk, (const char **)groups->pdata, (int)groups->len,
                                        flags) < 0) {
        iovshLibError();
        return -1;
    }
    iovshChangeSides(dom, flags, &live, &config);
    if (cmd->output == IOVSH_OUTPUT_JSON) {
        json_object *o = changeJSON(dom, disk, live, config);
        json_object *arr = json_object_new_array();
        guint i;

        for (i = 0; i < groups->len; i++)
            json_object_array_add(arr, json_object_new_string(groups->pdata[i]));
        json_object_object_add(o, "throttle_groups", arr);
        iovshPrintJSON(o);
        return 0;
    }
    where = iovshSidesText(live, config);
    g_ptr_array_add(groups, NULL);
    shown = g_strjoinv(", ", (char **)groups->pdata);
    if (*shown)
        printf("Disk '%s' of domain '%s' now passes through groups %s (%s).\n", disk,
               iovDomainGetName(dom), shown, where);
    else
        printf("Disk '%s' of domain '%s' now passes through no group (%s).\n", disk,
               iovDomainGetName(dom), where);
    return 0;
}

/* blkiothrottle and blkdeviotune: display or set, options named `how`. */
static int
runThrottle(iovshControl *ctl, const iovshCmd *cmd, int how)
{
    const char *disk = iovshOptString(cmd, "device");
    const char *groupList = iovshOptString(cmd, "throttle-groups");
    bool current = iovshOptGiven(cmd, "current");
    bool live = iovshOptGiven(cmd, "live");
    bool config = iovshOptGiven(cmd, "config");
    unsigned int flags =
        (live ? IOV_DOMAIN_AFFECT_LIVE : 0) | (config ? IOV_DOMAIN_AFFECT_CONFIG : 0);
    iovTypedParameterPtr params = NULL;
    int nparams = 0, maxparams = 0;
    g_autoptr(iovDomain) dom = NULL;
    int i, rc, n = iovThrottleFieldCount();

    if (current && (live || config)) {
        iovshError("options --current and --%s of command '%s' are mutually exclusive",
                   live ? "live" : "config", cmd->def->name);
        return -1;
    }
    for (i = 0; i < n; i++) {
        const iovThrottleField *f = iovThrottleFieldByIndex(i);
        g_autofree char *opt = optionName(f, how);
        const char *value = iovshOptString(cmd, opt);
        unsigned long long v;

        if (!value)
            continue;
        if (f->type != IOV_TYPED_PARAM_STRING && (rc = parseFieldValue(f, opt, value, &v)) < 0)
            goto cleanup;
        if (f->type == IOV_TYPED_PARAM_STRING)
            rc = iovTypedParamsAddString(&params, &nparams, &maxparams, f->name, value);
        else
            rc = iovTypedParamsAddULLong(&params, &nparams, &maxparams, f->name, v);
        if (rc < 0) {
            iovshLibError();
            goto cleanup;
        }
    }
    rc = -1;
    if (groupList && nparams > 0) {
        iovshError("option --throttle-groups of command '%s' is given in a command of its own, "
                   "without limits",
                   cmd->def->name);
        goto cleanup;
    }
    if (!groupList && nparams == 0 && live && config) {
        iovshError("command '%s' displays either --live or --config limits, not both at once",
                   cmd->def->name);
        goto cleanup;
    }
    if (!(dom = iovshLookupDomain(ctl, cmd, "domain")))
        goto cleanup;
    if (groupList)
        rc = setGroups(cmd, dom, disk, groupList, flags);
    else if (nparams == 0)
        rc = showLimits(cmd, dom, disk, flags);
    else
        rc = setLimits(cmd, dom, disk, params, nparams, flags);

 cleanup:
    iovTypedParamsFree(params, nparams);
    return rc;
}

/* blkiothrottle DOMAIN DEVICE [--FIELD VALUE...] [--current|--live|--config] */
int
cmdBlkIoThrottle(iovshControl *ctl, const iovshCmd *cmd)
{
    return runThrottle(ctl, cmd, NAMING_RFC);
}

/* blkdeviotune DOMAIN DEVICE [--LIBVIRT-NAME VALUE...] [--current|--live|--config] */
int
cmdBlkDevIoTune(iovshControl *ctl, const iovshCmd *cmd)
{
    return runThrottle(ctl, cmd, NAMING_LIBVIRT);
}
