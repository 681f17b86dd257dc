/*
 * iovsh-check.c: is the limit configured the one in force, and is it
 * biting?
 *
 *   domblkcheck DOMAIN [--seconds N]
 *
 * For every disk of a running guest and every step of its chain (its own
 * limits, then each group of its <throttlefilters>): the saved
 * definition, the live one, and what QEMU holds (asked with
 * IOV_DOMAIN_THROTTLE_HYPERVISOR); then the rate of each disk measured
 * from QEMU's block statistics over N seconds against the limits in
 * force, a group's rate being the sum of the disks that pass through it.
 * config != live is information (a --live change is legitimate); live !=
 * QEMU is drift (someone went behind the daemon's back). Exit status: 0
 * clean, 1 drift, 2 error.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "iovsh.h"

#define CHECK_ERROR 2
#define CHECK_DRIFT 1
/* a rate at or above this share of a limit is held at it */
#define HELD_SHARE 0.9
#define MAX_FIELDS 32

/* One step of a disk's chain and its limits in the three places. */
typedef struct {
    const iovDomainDisk *disk;
    char *group;   /* NULL for the disk's own limits */
    char *key;     /* what the rate is summed over: its QEMU group */
    bool inConfig; /* the saved definition has this step */
    unsigned long long config[MAX_FIELDS];
    unsigned long long live[MAX_FIELDS];
    unsigned long long qemu[MAX_FIELDS];
} checkStep;

static void
checkStepFree(gpointer p)
{
    checkStep *s = p;

    g_free(s->group);
    g_free(s->key);
    g_free(s);
}

/* The measured rate of one disk (or the sum through one group). */
typedef struct {
    double rdBytes, wrBytes, rdOps, wrOps;
} checkRate;

static void
fromParams(iovTypedParameterPtr params, int nparams, unsigned long long *out)
{
    int i;

    memset(out, 0, sizeof(unsigned long long) * MAX_FIELDS);
    for (i = 0; i < nparams; i++) {
        int k = iovThrottleFieldLookup(params[i].field);

        if (k >= 0 && k < MAX_FIELDS && params[i].type == IOV_TYPED_PARAM_ULLONG)
            out[k] = params[i].value.ul;
    }
}

/* The limits of one step: a disk's own, or a declared group's. */
static int
readStep(iovDomainPtr dom, const checkStep *s, unsigned int flags, unsigned long long *out)
{
    if (!s->group) {
        iovTypedParameter params[MAX_FIELDS];
        int nparams = MAX_FIELDS;

        memset(params, 0, sizeof(params));
        if (iovDomainGetBlockIoThrottle(dom, s->disk->target, params, &nparams, flags) < 0)
            return -1;
        fromParams(params, nparams, out);
        iovTypedParamsClear(params, nparams);
    } else {
        iovTypedParameterPtr params = NULL;
        int nparams = 0;

        if (iovDomainGetThrottleGroup(dom, s->group, &params, &nparams, flags) < 0)
            return -1;
        fromParams(params, nparams, out);
        iovTypedParamsFree(params, nparams);
    }
    return 0;
}

/* Whether two sets of limits are the same, a burst length of 0 being 1. */
static bool
sameLimits(const unsigned long long *a, const unsigned long long *b)
{
    int k;

    for (k = 0; k < iovThrottleFieldCount() && k < MAX_FIELDS; k++) {
        const iovThrottleField *f = iovThrottleFieldByIndex(k);
        unsigned long long x = a[k], y = b[k];

        if (f->type != IOV_TYPED_PARAM_ULLONG)
            continue;
        if (f->is_length) {
            x = x ? x : 1;
            y = y ? y : 1;
        }
        if (x != y)
            return false;
    }
    return true;
}

/* The non-zero limits, short: "bps_rd=2 MiB, iops=100"; "-" when none. */
static char *
limitsShort(const unsigned long long *v)
{
    g_autoptr(GString) s = g_string_new(NULL);
    int k;

    for (k = 0; k < iovThrottleFieldCount() && k < MAX_FIELDS; k++) {
        const iovThrottleField *f = iovThrottleFieldByIndex(k);
        g_autofree char *human = NULL;

        if (f->type != IOV_TYPED_PARAM_ULLONG || v[k] == 0 || f->is_length)
            continue;
        if (f->unit == IOV_THROTTLE_UNIT_BYTES_PER_SEC || f->unit == IOV_THROTTLE_UNIT_BYTES)
            human = iovshHumanBytes((double)v[k]);
        else
            human = g_strdup_printf("%llu", v[k]);
        g_string_append_printf(s, "%s%s=%s", s->len ? "," : "", f->name, human);
    }
    return s->len ? g_string_free(g_steal_pointer(&s), FALSE) : g_strdup("-");
}

static json_object *
limitsObject(const unsigned long long *v)
{
    json_object *o = json_object_new_object();
    int k;

    for (k = 0; k < iovThrottleFieldCount() && k < MAX_FIELDS; k++) {
        const iovThrottleField *f = iovThrottleFieldByIndex(k);

        if (f->type == IOV_TYPED_PARAM_ULLONG && v[k])
            json_object_object_add(o, f->name, json_object_new_uint64(v[k]));
    }
    return o;
}

/* The value of field `name` in `v`. */
static unsigned long long
field(const unsigned long long *v, const char *name)
{
    int k = iovThrottleFieldLookup(name);

    return k >= 0 && k < MAX_FIELDS ? v[k] : 0;
}

/*
 * The tightest way `rate` approaches the limits `v` (QEMU's): the field
 * it comes nearest to, and its share of it; 0 when nothing limits it.
 */
static double
nearestLimit(const unsigned long long *v, const checkRate *r, const char **which,
             unsigned long long *limit)
{
    const struct {
        const char *name;
        double rate;
    } uses[] = {
        {"bps", r->rdBytes + r->wrBytes}, {"bps_rd", r->rdBytes}, {"bps_wr", r->wrBytes},
        {"iops", r->rdOps + r->wrOps},    {"iops_rd", r->rdOps},  {"iops_wr", r->wrOps},
    };
    double best = 0;
    size_t i;

    *which = NULL;
    *limit = 0;
    for (i = 0; i < G_N_ELEMENTS(uses); i++) {
        unsigned long long l = field(v, uses[i].name);

        if (l && uses[i].rate / (double)l > best) {
            best = uses[i].rate / (double)l;
            *which = uses[i].name;
            *limit = l;
        }
    }
    return best;
}

/* Each disk's counters now: target -> checkRate of totals. */
static GHashTable *
countersNow(iovDomainPtr dom, GPtrArray *disks)
{
    g_autoptr(GHashTable) out = g_hash_table_new_full(g_str_hash, g_str_equal, NULL, g_free);
    guint i;

    for (i = 0; i < disks->len; i++) {
        const iovDomainDisk *d = disks->pdata[i];
        iovDomainBlockStatsStruct st;
        checkRate *c;

        if (d->flags & IOV_DOMAIN_DISK_UNPLUG_PENDING)
            continue;
        if (iovDomainBlockStats(dom, d->target, &st, sizeof(st)) < 0)
            return NULL;
        c = g_new0(checkRate, 1);
        c->rdBytes = (double)st.rd_bytes;
        c->wrBytes = (double)st.wr_bytes;
        c->rdOps = (double)st.rd_req;
        c->wrOps = (double)st.wr_req;
        g_hash_table_insert(out, d->target, c);
    }
    return g_steal_pointer(&out);
}

/* The steps of every disk, their limits read from the three places. */
static GPtrArray *
collectSteps(iovDomainPtr dom, GPtrArray *disks, GPtrArray *saved, bool persistent)
{
    g_autoptr(GPtrArray) steps = g_ptr_array_new_with_free_func(checkStepFree);
    guint i;
    int j;

    for (i = 0; i < disks->len; i++) {
        const iovDomainDisk *d = disks->pdata[i];
        const iovDomainDisk *sd = saved ? iovshDiskFind(saved, d->target) : NULL;

        if (d->flags & IOV_DOMAIN_DISK_UNPLUG_PENDING)
            continue;
        for (j = -1; j < 0 || d->filters[j]; j++) {
            checkStep *s = g_new0(checkStep, 1);

            s->disk = d;
            if (j >= 0) {
                s->group = g_strdup(d->filters[j]);
                s->key = g_strdup_printf("group:%s", s->group);
                s->inConfig = sd && g_strv_contains((const char *const *)sd->filters, s->group);
            } else {
                s->key = g_strdup_printf("own:%s", *d->group ? d->group : d->target);
                s->inConfig = sd != NULL;
            }
            g_ptr_array_add(steps, s);
            if ((persistent && s->inConfig &&
                 readStep(dom, s, IOV_DOMAIN_AFFECT_CONFIG, s->config) < 0) ||
                readStep(dom, s, IOV_DOMAIN_AFFECT_LIVE | IOV_DOMAIN_THROTTLE_DEFINITION, s->live) <
                    0 ||
                readStep(dom, s, IOV_DOMAIN_AFFECT_LIVE | IOV_DOMAIN_THROTTLE_HYPERVISOR, s->qemu) <
                    0)
                return NULL;
            if (!persistent || !s->inConfig)
                s->inConfig = false;
        }
    }
    return g_steal_pointer(&steps);
}

int
cmdDomBlkCheck(iovshControl *ctl, const iovshCmd *cmd)
{
    g_autoptr(iovDomain) dom = NULL;
    g_autoptr(GPtrArray) disks = NULL;
    g_autoptr(GPtrArray) saved = NULL;
    g_autoptr(GPtrArray) steps = NULL;
    g_autoptr(GHashTable) before = NULL;
    g_autoptr(GHashTable) after = NULL;
    g_autoptr(GHashTable) sums = g_hash_table_new_full(g_str_hash, g_str_equal, NULL, g_free);
    g_autoptr(GHashTable) rates = g_hash_table_new_full(g_str_hash, g_str_equal, NULL, g_free);
    json_object *top = NULL, *arr = NULL;
    unsigned long long seconds = 3;
    bool drift = false;
    int persistent, active;
    guint i;

    if (iovshOptGiven(cmd, "seconds") && iovshOptULL(cmd, "seconds", &seconds) < 0)
        return CHECK_ERROR;
    if (seconds == 0 || seconds > 3600) {
        iovshError("--seconds must be between 1 and 3600, not %llu", seconds);
        return CHECK_ERROR;
    }
    if (!(dom = iovshLookupDomain(ctl, cmd, "domain")))
        return CHECK_ERROR;
    if ((active = iovDomainIsActive(dom)) < 0 || (persistent = iovDomainIsPersistent(dom)) < 0) {
        iovshLibError();
        return CHECK_ERROR;
    }
    if (!active) {
        iovshError("domain '%s' is not running: there is nothing in force to check",
                   iovDomainGetName(dom));
        return CHECK_ERROR;
    }
    if (!(disks = iovshDomainDisks(dom, false)) ||
        (persistent && !(saved = iovshDomainDisks(dom, true))))
        return CHECK_ERROR;
    if (!(steps = collectSteps(dom, disks, saved, persistent))) {
        iovshLibError();
        return CHECK_ERROR;
    }

    /* the rates: every disk over the same N seconds */
    if (!(before = countersNow(dom, disks))) {
        iovshLibError();
        return CHECK_ERROR;
    }
    for (i = 0; i < seconds * 10 && !iovshInterrupted; i++)
        g_usleep(G_USEC_PER_SEC / 10);
    if (!(after = countersNow(dom, disks))) {
        iovshLibError();
        return CHECK_ERROR;
    }
    for (i = 0; i < disks->len; i++) {
        const iovDomainDisk *d = disks->pdata[i];
        checkRate *a = g_hash_table_lookup(after, d->target);
        checkRate *b = g_hash_table_lookup(before, d->target);
        checkRate *r;

        if (!a || !b)
            continue;
        r = g_new0(checkRate, 1);
        r->rdBytes = (a->rdBytes - b->rdBytes) / (double)seconds;
        r->wrBytes = (a->wrBytes - b->wrBytes) / (double)seconds;
        r->rdOps = (a->rdOps - b->rdOps) / (double)seconds;
        r->wrOps = (a->wrOps - b->wrOps) / (double)seconds;
        g_hash_table_insert(rates, d->target, r);
    }
    /* a group's rate is the sum of the disks through it (counted once) */
    for (i = 0; i < steps->len; i++) {
        checkStep *s = steps->pdata[i];
        g_autofree char *seen = g_strdup_printf("%s/%s", s->key, s->disk->target);
        checkRate *r = g_hash_table_lookup(rates, s->disk->target);
        checkRate *sum;

        if (!r || g_hash_table_contains(sums, seen))
            continue;
        g_hash_table_insert(sums, g_steal_pointer(&seen), g_new0(checkRate, 1));
        if (!(sum = g_hash_table_lookup(sums, s->key))) {
            sum = g_new0(checkRate, 1);
            g_hash_table_insert(sums, g_strdup(s->key), sum);
        }
        sum->rdBytes += r->rdBytes;
        sum->wrBytes += r->wrBytes;
        sum->rdOps += r->rdOps;
        sum->wrOps += r->wrOps;
    }

    if (cmd->output == IOVSH_OUTPUT_JSON) {
        top = json_object_new_object();
        arr = json_object_new_array();
        json_object_object_add(top, "domain", json_object_new_string(iovDomainGetName(dom)));
        json_object_object_add(top, "seconds", json_object_new_uint64(seconds));
        json_object_object_add(top, "steps", arr);
    } else {
        printf("%-6s %-12s %-24s %-24s %-24s %s\n", "DISK", "STEP", "CONFIG", "LIVE", "QEMU",
               "STATUS");
    }
    for (i = 0; i < steps->len; i++) {
        checkStep *s = steps->pdata[i];
        bool changedLive = s->inConfig && !sameLimits(s->config, s->live);
        bool drifted = !sameLimits(s->live, s->qemu);
        checkRate *sum = g_hash_table_lookup(sums, s->key);
        checkRate zero = {0};
        const char *which = NULL;
        unsigned long long limit = 0;
        double share = nearestLimit(s->qemu, sum ? sum : &zero, &which, &limit);
        bool held = which && share >= HELD_SHARE;
        g_autofree char *step = s->group ? g_strdup_printf("group %s", s->group) : g_strdup("own");
        g_autofree char *status = NULL;

        drift |= drifted;
        status = g_strdup_printf("%s%s%s", drifted ? "DRIFT" : "ok",
                                 changedLive ? ", live differs from config" : "",
                                 held ? ", held at its limit" : "");
        if (top) {
            json_object *o = json_object_new_object();

            json_object_object_add(o, "disk", json_object_new_string(s->disk->target));
            json_object_object_add(o, "group", s->group ? json_object_new_string(s->group) : NULL);
            json_object_object_add(o, "config", s->inConfig ? limitsObject(s->config) : NULL);
            json_object_object_add(o, "live", limitsObject(s->live));
            json_object_object_add(o, "qemu", limitsObject(s->qemu));
            json_object_object_add(o, "drift", json_object_new_boolean(drifted));
            json_object_object_add(o, "live_differs_from_config",
                                   json_object_new_boolean(changedLive));
            json_object_object_add(o, "held", json_object_new_boolean(held));
            if (which) {
                json_object_object_add(o, "nearest_limit", json_object_new_string(which));
                json_object_object_add(o, "limit", json_object_new_uint64(limit));
                json_object_object_add(o, "share", json_object_new_double(share));
            }
            if (sum) {
                json_object_object_add(o, "rd_bytes_per_sec",
                                       json_object_new_uint64((uint64_t)sum->rdBytes));
                json_object_object_add(o, "wr_bytes_per_sec",
                                       json_object_new_uint64((uint64_t)sum->wrBytes));
                json_object_object_add(o, "rd_ops_per_sec",
                                       json_object_new_uint64((uint64_t)sum->rdOps));
                json_object_object_add(o, "wr_ops_per_sec",
                                       json_object_new_uint64((uint64_t)sum->wrOps));
            }
            json_object_array_add(arr, o);
        } else {
            g_autofree char *c = s->inConfig ? limitsShort(s->config) : g_strdup("(none)");
            g_autofree char *l = limitsShort(s->live);
            g_autofree char *q = limitsShort(s->qemu);

            printf("%-6s %-12s %-24s %-24s %-24s %s\n", s->disk->target, step, c, l, q, status);
        }
    }
    if (top) {
        json_object_object_add(top, "drift", json_object_new_boolean(drift));
        iovshPrintJSON(top);
        return drift ? CHECK_DRIFT : 0;
    }
    printf("\n");
    for (i = 0; i < disks->len; i++) {
        const iovDomainDisk *d = disks->pdata[i];
        checkRate *r = g_hash_table_lookup(rates, d->target);
        g_autofree char *rd = NULL;
        g_autofree char *wr = NULL;
        guint k;
        bool any = false;

        if (!r)
            continue;
        rd = iovshHumanBytes(r->rdBytes);
        wr = iovshHumanBytes(r->wrBytes);
        printf("%s: read %s/s (%.0f IO/s), write %s/s (%.0f IO/s) over %llu s", d->target, rd,
               r->rdOps, wr, r->wrOps, seconds);
        for (k = 0; k < steps->len; k++) {
            checkStep *s = steps->pdata[k];
            checkRate *sum = g_hash_table_lookup(sums, s->key);
            const char *which = NULL;
            unsigned long long limit = 0;
            double share;

            if (s->disk != d || !sum)
                continue;
            share = nearestLimit(s->qemu, sum, &which, &limit);
            if (!which || share < HELD_SHARE)
                continue;
            printf("%s held at its limit by %s%s%s (%s %llu, %.0f %%)", any ? "," : ":",
                   s->group ? "group '" : "its own limits", s->group ? s->group : "",
                   s->group ? "'" : "", which, limit, share * 100);
            any = true;
        }
        printf("%s\n", any ? "" : ": not held at a limit");
    }
    if (drift)
        printf("\nDRIFT: QEMU holds other limits than the live definition (a command passed "
               "to its monitor?); setting them again through iovirt puts them back.\n");
    return drift ? CHECK_DRIFT : 0;
}
