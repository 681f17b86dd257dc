/*
 * iovsh-groups.c: a domain's named throttle groups (stacked limits)
 *
 *   domthrottlegroupset  DOMAIN GROUP [--bps N] [--bps_rd N] ... [--current|--live|--config]
 *   domthrottlegroupinfo DOMAIN GROUP [--current|--live|--config]
 *   domthrottlegrouplist DOMAIN [--current|--live|--config]
 *   domthrottlegroupdel  DOMAIN GROUP [--current|--live|--config]
 *
 * virsh 11's command names; the options of a group's limits are the
 * numeric fields of the throttle field table (iovThrottleFieldByIndex),
 * under iovirt's names as in blkiothrottle (--bps_rd, also --bps-rd).
 * blkiothrottle's display of a disk ends with the disk's chain of groups,
 * from the helpers at the end of this file.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "iovsh.h"

static GArray *setOptions;
static GPtrArray *setStrings;

static const iovshOptDef flagOpts[] = {
    {"current", IOVSH_OT_BOOL, NULL,
     "the running guest if it runs, else the saved definition (the default)", 0, NULL},
    {"live", IOVSH_OT_BOOL, NULL, "the running guest", 0, NULL},
    {"config", IOVSH_OT_BOOL, NULL, "the saved definition, for the next boot", 0, NULL},
    {NULL, 0, NULL, NULL, 0, NULL},
};

/* The options of domthrottlegroupset, built once from the field table. */
const iovshOptDef *
iovshGroupSetOptions(void)
{
    static const iovshOptDef head[] = {
        {"domain", IOVSH_OT_ARG, "DOMAIN", "guest name, id or uuid", IOVSH_COMPLETE_DOMAIN, NULL},
        {"group", IOVSH_OT_ARG, "GROUP", "the throttle group's name", 0, NULL},
    };
    int i, n = iovThrottleFieldCount();

    if (setOptions)
        return (const iovshOptDef *)(void *)setOptions->data;
    setStrings = g_ptr_array_new_with_free_func(g_free);
    setOptions = g_array_new(FALSE, TRUE, sizeof(iovshOptDef));
    g_array_append_vals(setOptions, head, G_N_ELEMENTS(head));
    for (i = 0; i < n; i++) {
        const iovThrottleField *f = iovThrottleFieldByIndex(i);
        iovshOptDef o = {0};
        iovshOptDef alias = {0};
        char *help;

        if (f->type == IOV_TYPED_PARAM_STRING)
            continue;
        o.name = f->name;
        o.type = IOVSH_OT_STRING;
        o.valname = f->unit == IOV_THROTTLE_UNIT_SECONDS ? "SECONDS" : "N";
        help = g_strdup_printf("%s (%s%s)", f->help, f->unit_name,
                               f->accepts_suffix ? ", size suffixes" : "");
        g_ptr_array_add(setStrings, help);
        o.help = help;
        g_array_append_val(setOptions, o);
        if (strchr(f->name, '_')) {
            char *dashed = g_strdelimit(g_strdup(f->name), "_", '-');

            g_ptr_array_add(setStrings, dashed);
            alias.name = dashed;
            alias.type = IOVSH_OT_ALIAS;
            alias.alias_of = o.name;
            alias.help = o.help;
            g_array_append_val(setOptions, alias);
        }
    }
    g_array_append_vals(setOptions, flagOpts, G_N_ELEMENTS(flagOpts));
    return (const iovshOptDef *)(void *)setOptions->data;
}

/* Free what iovshGroupSetOptions built. */
void
iovshGroupsCleanup(void)
{
    if (setOptions)
        g_array_free(setOptions, TRUE);
    if (setStrings)
        g_ptr_array_free(setStrings, TRUE);
    setOptions = NULL;
    setStrings = NULL;
}

/* The flags of --current/--live/--config; -1 after an error. */
static int
impactFlags(const iovshCmd *cmd, unsigned int *flags)
{
    bool current = iovshOptGiven(cmd, "current");
    bool live = iovshOptGiven(cmd, "live");
    bool config = iovshOptGiven(cmd, "config");

    if (current && (live || config)) {
        iovshError("options --current and --%s of command '%s' are mutually exclusive",
                   live ? "live" : "config", cmd->def->name);
        return -1;
    }
    *flags = (live ? IOV_DOMAIN_AFFECT_LIVE : 0) | (config ? IOV_DOMAIN_AFFECT_CONFIG : 0);
    return 0;
}

/* Print that group `group` of `dom` changed, as text or JSON. */
static void
printChanged(const iovshCmd *cmd, iovDomainPtr dom, const char *group, const char *what,
             unsigned int flags)
{
    const char *where;
    bool live, config;

    iovshChangeSides(dom, flags, &live, &config);
    where = iovshSidesText(live, config);

    if (cmd->output == IOVSH_OUTPUT_JSON) {
        json_object *o = json_object_new_object();

        json_object_object_add(o, "domain", json_object_new_string(iovDomainGetName(dom)));
        json_object_object_add(o, "group", json_object_new_string(group));
        json_object_object_add(o, "applied", json_object_new_string(where));
        iovshPrintJSON(o);
        return;
    }
    printf("Throttle group '%s' of domain '%s' %s (%s).\n", group, iovDomainGetName(dom), what,
           where);
}

/* domthrottlegroupset DOMAIN GROUP [--FIELD VALUE...] [--current|--live|--config] */
int
cmdDomThrottleGroupSet(iovshControl *ctl, const iovshCmd *cmd)
{
    const char *group = iovshOptString(cmd, "group");
    iovTypedParameterPtr params = NULL;
    int nparams = 0, maxparams = 0;
    g_autoptr(iovDomain) dom = NULL;
    unsigned int flags;
    int i, rc = -1, n = iovThrottleFieldCount();

    if (impactFlags(cmd, &flags) < 0)
        return -1;
    for (i = 0; i < n; i++) {
        const iovThrottleField *f = iovThrottleFieldByIndex(i);
        const char *value = f->type == IOV_TYPED_PARAM_STRING ? NULL : iovshOptString(cmd, f->name);
        unsigned long long v;

        if (!value)
            continue;
        if (f->accepts_suffix ? iovParseSize(value, &v) < 0 : !iovshParseULL(value, &v)) {
            iovshError("invalid value '%s' for option --%s: expected a non-negative integer (%s%s)",
                       value, f->name, f->unit_name, f->accepts_suffix ? ", size suffixes" : "");
            goto cleanup;
        }
        if (iovTypedParamsAddULLong(&params, &nparams, &maxparams, f->name, v) < 0) {
            iovshLibError();
            goto cleanup;
        }
    }
    if (!(dom = iovshLookupDomain(ctl, cmd, "domain")))
        goto cleanup;
    if (iovDomainSetThrottleGroup(dom, group, params, nparams, flags) < 0) {
        iovshLibError();
        goto cleanup;
    }
    printChanged(cmd, dom, group, "set", flags);
    rc = 0;
cleanup:
    iovTypedParamsFree(params, nparams);
    return rc;
}

/* One limit for humans: "10485760 bytes/s (10.0 MiB/s)", "0". New string. */
static char *
limitText(const iovThrottleField *f, unsigned long long v)
{
    g_autofree char *human = NULL;

    if (v == 0)
        return g_strdup("0");
    if ((f->unit == IOV_THROTTLE_UNIT_BYTES_PER_SEC || f->unit == IOV_THROTTLE_UNIT_BYTES) &&
        v >= 1024)
        human = iovshHumanBytes((double)v);
    if (!human)
        return g_strdup_printf("%llu %s", v, f->unit_name);
    return g_strdup_printf("%llu %s (%s%s)", v, f->unit_name, human,
                           f->unit == IOV_THROTTLE_UNIT_BYTES ? "" : "/s");
}

/* The non-zero limits of a group, one line: "bps_rd 10485760 bytes/s
 * (10.0 MiB/s), iops 200 IO/s", or "no limits". New string. */
static char *
limitsLine(iovTypedParameterPtr params, int nparams)
{
    g_autoptr(GString) s = g_string_new(NULL);
    int i;

    for (i = 0; i < nparams; i++) {
        const iovThrottleField *f =
            iovThrottleFieldByIndex(iovThrottleFieldLookup(params[i].field));
        g_autofree char *text = NULL;

        if (!f || params[i].value.ul == 0)
            continue;
        text = limitText(f, params[i].value.ul);
        g_string_append_printf(s, "%s%s %s", s->len ? ", " : "", f->name, text);
    }
    return s->len ? g_string_free(g_steal_pointer(&s), FALSE) : g_strdup("no limits");
}

/* A group's limits as a JSON object of its non-zero fields. */
static json_object *
limitsJSON(iovTypedParameterPtr params, int nparams)
{
    json_object *o = json_object_new_object();
    int i;

    for (i = 0; i < nparams; i++)
        json_object_object_add(o, params[i].field, json_object_new_uint64(params[i].value.ul));
    return o;
}

/* The targets of the disks of `disks` that pass through, or joined,
 * `group`, joined by ", "; NULL when none. */
static char *
groupUsers(GPtrArray *disks, const char *group)
{
    g_autoptr(GPtrArray) users = g_ptr_array_new();
    guint i;

    for (i = 0; disks && i < disks->len; i++) {
        const iovDomainDisk *d = g_ptr_array_index(disks, i);

        if (strcmp(d->group, group) == 0 || g_strv_contains((const char *const *)d->filters, group))
            g_ptr_array_add(users, d->target);
    }
    if (!users->len)
        return NULL;
    g_ptr_array_add(users, NULL);
    return g_strjoinv(", ", (char **)users->pdata);
}

/* domthrottlegroupinfo DOMAIN GROUP [--current|--live|--config] */
int
cmdDomThrottleGroupInfo(iovshControl *ctl, const iovshCmd *cmd)
{
    const char *group = iovshOptString(cmd, "group");
    g_autoptr(iovDomain) dom = NULL;
    iovTypedParameterPtr params = NULL;
    g_autofree char *users = NULL;
    g_autoptr(GPtrArray) disks = NULL;
    unsigned int flags;
    int nparams = 0, i, width = 0;

    if (impactFlags(cmd, &flags) < 0)
        return -1;
    if (!(dom = iovshLookupDomain(ctl, cmd, "domain")))
        return -1;
    if (iovDomainGetThrottleGroup(dom, group, &params, &nparams, flags) < 0) {
        iovshLibError();
        return -1;
    }
    if (!(disks = iovshDomainDisks(dom, flags & IOV_DOMAIN_AFFECT_CONFIG))) {
        iovTypedParamsFree(params, nparams);
        return -1;
    }
    users = groupUsers(disks, group);
    if (cmd->output == IOVSH_OUTPUT_JSON) {
        json_object *o = limitsJSON(params, nparams);
        json_object *arr = json_object_new_array();
        g_auto(GStrv) names = users ? g_strsplit(users, ", ", -1) : NULL;

        for (i = 0; names && names[i]; i++)
            json_object_array_add(arr, json_object_new_string(names[i]));
        json_object_object_add(o, "group", json_object_new_string(group));
        json_object_object_add(o, "disks", arr);
        iovshPrintJSON(o);
        iovTypedParamsFree(params, nparams);
        return 0;
    }
    for (i = 0; i < nparams; i++)
        width = MAX(width, (int)strlen(params[i].field));
    for (i = 0; i < nparams; i++) {
        const iovThrottleField *f =
            iovThrottleFieldByIndex(iovThrottleFieldLookup(params[i].field));
        g_autofree char *text = f ? limitText(f, params[i].value.ul) : NULL;

        printf("%-*s : %s\n", width, params[i].field, text ? text : "");
    }
    printf("%-*s : %s\n", width, "disks", users ? users : "(none)");
    iovTypedParamsFree(params, nparams);
    return 0;
}

/* domthrottlegrouplist DOMAIN [--current|--live|--config] */
int
cmdDomThrottleGroupList(iovshControl *ctl, const iovshCmd *cmd)
{
    g_autoptr(iovDomain) dom = NULL;
    char **names = NULL;
    unsigned int flags;
    int n, i;

    if (impactFlags(cmd, &flags) < 0)
        return -1;
    if (!(dom = iovshLookupDomain(ctl, cmd, "domain")))
        return -1;
    if ((n = iovDomainListThrottleGroups(dom, &names, flags)) < 0) {
        iovshLibError();
        return -1;
    }
    if (cmd->output == IOVSH_OUTPUT_JSON) {
        json_object *arr = json_object_new_array();

        for (i = 0; i < n; i++)
            json_object_array_add(arr, json_object_new_string(names[i]));
        iovshPrintJSON(arr);
    } else {
        printf(" Name\n-----------------------------\n");
        for (i = 0; i < n; i++)
            printf(" %s\n", names[i]);
    }
    for (i = 0; i < n; i++)
        free(names[i]);
    free(names);
    return 0;
}

/* domthrottlegroupdel DOMAIN GROUP [--current|--live|--config] */
int
cmdDomThrottleGroupDel(iovshControl *ctl, const iovshCmd *cmd)
{
    const char *group = iovshOptString(cmd, "group");
    g_autoptr(iovDomain) dom = NULL;
    unsigned int flags;

    if (impactFlags(cmd, &flags) < 0)
        return -1;
    if (!(dom = iovshLookupDomain(ctl, cmd, "domain")))
        return -1;
    if (iovDomainDelThrottleGroup(dom, group, flags) < 0) {
        iovshLibError();
        return -1;
    }
    printChanged(cmd, dom, group, "deleted", flags);
    return 0;
}

/* ---- a disk's chain, for blkiothrottle ---- */

/*
 * After blkiothrottle's display of `disk`'s own limits: the rest of its
 * chain, one line per group, nearest the device first. As text, printed;
 * as JSON, added to `o` under "chain" (only when the disk has a chain,
 * so that other disks show exactly the fields). 0, or -1 after an error.
 */
int
iovshShowChain(iovDomainPtr dom, const char *disk, unsigned int flags, json_object *o)
{
    g_autoptr(GPtrArray) disks = NULL;
    const iovDomainDisk *d;
    json_object *arr = NULL;
    guint i;

    /* a domain without groups has no chains: the XML (and libxml2) is
     * read only when there can be one; a daemon without the calls of
     * groups has none either */
    if (iovDomainListThrottleGroups(dom, NULL, flags) <= 0)
        return 0;
    if (!(disks = iovshDomainDisks(dom, flags & IOV_DOMAIN_AFFECT_CONFIG)))
        return -1;
    if (!(d = iovshDiskFind(disks, disk)) || !d->filters[0])
        return 0;
    if (o) {
        arr = json_object_new_array();
        json_object_object_add(o, "chain", arr);
    } else {
        printf("\nThen, in order, through the throttle groups:\n");
    }
    for (i = 0; d->filters[i]; i++) {
        const char *group = d->filters[i];
        iovTypedParameterPtr params = NULL;
        int nparams = 0;

        if (iovDomainGetThrottleGroup(dom, group, &params, &nparams, flags) < 0) {
            iovshLibError();
            return -1;
        }
        if (o) {
            json_object *g = limitsJSON(params, nparams);

            json_object_object_add(g, "group", json_object_new_string(group));
            json_object_array_add(arr, g);
        } else {
            g_autofree char *line = limitsLine(params, nparams);

            printf("  %u. group '%s': %s\n", i + 1, group, line);
        }
        iovTypedParamsFree(params, nparams);
    }
    return 0;
}
