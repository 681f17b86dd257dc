/*
 * iovsh-disk.c: the commands about a guest's disks
 *
 * domblklist (targets, sources and the limits in force) and domblkstat
 * (I/O counters, and with --watch a live view of each disk's rates beside
 * its limits).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "iovsh.h"

/* The non-zero limits of p as "bps_rd=2097152 iops=300 group=G", or "-". */
static char *
limitsSummary(const iovshParams *p)
{
    g_autoptr(GString) s = g_string_new("");
    int i;

    for (i = 0; i < p->n; i++) {
        const iovTypedParameter *tp = &p->params[i];

        if (tp->type == IOV_TYPED_PARAM_STRING) {
            if (tp->value.s && *tp->value.s)
                g_string_append_printf(s, "%s%s=%s", s->len ? " " : "", tp->field, tp->value.s);
        } else if (tp->value.ul) {
            g_string_append_printf(s, "%s%s=%llu", s->len ? " " : "", tp->field, tp->value.ul);
        }
    }
    if (!s->len)
        g_string_append_c(s, '-');
    return g_string_free(g_steal_pointer(&s), FALSE);
}

/* domblklist DOMAIN [--inactive]: target, source and limits of each disk. */
int
cmdDomBlkList(iovshControl *ctl, const iovshCmd *cmd)
{
    g_autoptr(iovDomain) dom = iovshLookupDomain(ctl, cmd, "domain");
    bool inactive = iovshOptGiven(cmd, "inactive");
    g_autoptr(GPtrArray) disks = NULL;
    g_autoptr(GPtrArray) limits = g_ptr_array_new_with_free_func((GDestroyNotify)iovshParamsFree);
    json_object *arr;
    guint i;
    int tw = 6, sw = 6;

    if (!dom || !(disks = iovshDomainDisks(dom, inactive)))
        return -1;
    for (i = 0; i < disks->len; i++) {
        const iovDomainDisk *d = g_ptr_array_index(disks, i);
        iovshParams *p = iovshGetThrottle(dom, d->target, inactive ? IOV_DOMAIN_AFFECT_CONFIG : 0);
        const iovError *err = p ? NULL : iovGetLastError();

        if (!p && err && err->code == IOV_ERR_INVALID_ARG && !inactive) {
            /* unplugged since the list was read: it is gone, not an error */
            iovResetLastError();
            g_ptr_array_remove_index(disks, i--);
            continue;
        }
        if (!p) {
            iovshLibError();
            return -1;
        }
        g_ptr_array_add(limits, p);
        tw = MAX(tw, (int)strlen(d->target));
        sw = MAX(sw, (int)strlen(d->source));
    }

    if (cmd->output == IOVSH_OUTPUT_JSON) {
        arr = json_object_new_array();
        for (i = 0; i < disks->len; i++) {
            const iovDomainDisk *d = g_ptr_array_index(disks, i);
            json_object *o = json_object_new_object();

            json_object_object_add(o, "target", json_object_new_string(d->target));
            json_object_object_add(o, "source", json_object_new_string(d->source));
            json_object_object_add(o, "limits", iovshParamsToJSON(g_ptr_array_index(limits, i)));
            if (d->flags & IOV_DOMAIN_DISK_UNPLUG_PENDING)
                json_object_object_add(o, "unplug_pending", json_object_new_boolean(true));
            json_object_array_add(arr, o);
        }
        iovshPrintJSON(arr);
        return 0;
    }
    {
        g_autofree char *dashes = g_strnfill(tw + sw + 20, '-');

        printf(" %-*s  %-*s  %s\n%s\n", tw, "Target", sw, "Source", "Limits", dashes);
    }
    for (i = 0; i < disks->len; i++) {
        const iovDomainDisk *d = g_ptr_array_index(disks, i);
        g_autofree char *summary = limitsSummary(g_ptr_array_index(limits, i));

        printf(" %-*s  %-*s  %s%s\n", tw, d->target, sw, d->source,
               (d->flags & IOV_DOMAIN_DISK_UNPLUG_PENDING) ? "(unplug pending) " : "", summary);
    }
    return 0;
}

/* The name virsh prints for a statistic of iovDomainBlockStatsFlags. */
static const char *
statName(const char *field)
{
    if (strcmp(field, "rd_operations") == 0)
        return "rd_req";
    if (strcmp(field, "wr_operations") == 0)
        return "wr_req";
    return field;
}

/* The counters of one disk of dom; NULL after printing the error. */
static iovshParams *
blockStats(iovDomainPtr dom, const char *disk)
{
    g_autoptr(iovshParams) p = g_new0(iovshParams, 1);

    if (iovDomainBlockStatsFlags(dom, disk, NULL, &p->n, 0) < 0) {
        p->n = 0;
        iovshLibError();
        return NULL;
    }
    p->params = g_new0(iovTypedParameter, p->n);
    if (iovDomainBlockStatsFlags(dom, disk, p->params, &p->n, 0) < 0) {
        p->n = 0;
        iovshLibError();
        return NULL;
    }
    return g_steal_pointer(&p);
}

/* The counters of a disk as a JSON object: its name, then one key per
 * counter, under virsh's names. */
static json_object *
statsJSON(const char *disk, const iovshParams *p)
{
    json_object *o = json_object_new_object();
    int i;

    json_object_object_add(o, "device", json_object_new_string(disk));
    for (i = 0; i < p->n; i++)
        json_object_object_add(o, statName(p->params[i].field),
                               json_object_new_int64(p->params[i].value.l));
    return o;
}

/* The counters of a disk as virsh prints them, "vda rd_req 12". */
static void
printStats(const char *disk, const iovshParams *p)
{
    int i;

    for (i = 0; i < p->n; i++)
        printf("%s %-17s %lld\n", disk, statName(p->params[i].field), p->params[i].value.l);
}

/* ------------------------------------------------------------------ */
/* domblkstat --watch                                                  */
/* ------------------------------------------------------------------ */

#define BAR_WIDTH 20

/* One disk followed by the live view. */
typedef struct watchDisk {
    char *target;
    char *group; /* "" when in no group */
    bool shown;  /* displayed; otherwise sampled for its group's sums only */
    iovDomainBlockStatsStruct prev;
    double rd_bps, wr_bps, rd_iops, wr_iops; /* over the last interval */
    iovshParams *limits;                     /* the limits in force */
} watchDisk;

/* Free one watched disk. */
static void
watchDiskFree(watchDisk *w)
{
    if (!w)
        return;
    g_free(w->target);
    g_free(w->group);
    iovshParamsFree(w->limits);
    g_free(w);
}

/* Rates of a disk, or the sum of a group's members. */
typedef struct rates {
    double rd_bps, wr_bps, rd_iops, wr_iops;
} rates;

/* One row of the view: a direction, its rates and the fields limiting them. */
typedef struct row {
    const char *label; /* "read", "write", "total" */
    double bps, iops;
    const char *bps_field, *iops_field;
} row;

/*
 * How close a row runs to its limits: the highest of rate / limit over
 * the row's byte and IO limits (IO counted as QEMU does when iops_size is
 * set: at least bytes / iops_size). *binding receives the field of that
 * limit. Negative when the row has no limit.
 */
static double
rowLoad(const iovshParams *lim, const row *r, const char **binding)
{
    unsigned long long bps = iovshParamULL(lim, r->bps_field);
    unsigned long long iops = iovshParamULL(lim, r->iops_field);
    unsigned long long size = iovshParamULL(lim, IOV_THROTTLE_IOPS_SIZE);
    double eff_iops = r->iops;
    double load = -1;

    if (size && r->bps / size > eff_iops)
        eff_iops = r->bps / size;
    *binding = NULL;
    if (bps) {
        load = r->bps / bps;
        *binding = r->bps_field;
    }
    if (iops && eff_iops / iops > load) {
        load = eff_iops / iops;
        *binding = r->iops_field;
    }
    return load;
}

/* Whether a row over its limit `binding` is in a burst that the field's
 * burst max allows. */
static bool
bursting(const iovshParams *lim, const char *binding, double load)
{
    const iovThrottleField *f;
    const iovThrottleField *max_f;

    if (!binding || load <= 1.0)
        return false;
    f = iovThrottleFieldByIndex(iovThrottleFieldLookup(binding));
    max_f = f ? iovThrottleFieldByIndex(f->max_index) : NULL;
    return max_f && iovshParamULL(lim, max_f->name) > 0;
}

/* The three rows of rates r. */
static void
makeRows(const rates *r, row rows[3])
{
    rows[0] = (row){"read", r->rd_bps, r->rd_iops, IOV_THROTTLE_BPS_RD, IOV_THROTTLE_IOPS_RD};
    rows[1] = (row){"write", r->wr_bps, r->wr_iops, IOV_THROTTLE_BPS_WR, IOV_THROTTLE_IOPS_WR};
    rows[2] = (row){"total", r->rd_bps + r->wr_bps, r->rd_iops + r->wr_iops, IOV_THROTTLE_BPS,
                    IOV_THROTTLE_IOPS};
}

/* A bar of BAR_WIDTH cells filled to `load` (0..1), "[####....]". */
char *
iovshLoadBar(double load, bool color)
{
    g_autoptr(GString) s = g_string_new("[");
    int filled = load <= 0 ? 0 : (int)(MIN(load, 1.0) * BAR_WIDTH + 0.5);
    const char *on = "", *off = "";

    if (color && load >= 0) {
        on = load >= 0.9 ? "\033[31m" : load >= 0.7 ? "\033[33m" : "\033[32m";
        off = "\033[0m";
    }
    g_string_append(s, on);
    for (int i = 0; i < BAR_WIDTH; i++) {
        if (i == filled)
            g_string_append(s, off);
        g_string_append_c(s, i < filled ? '#' : '.');
    }
    if (filled == BAR_WIDTH)
        g_string_append(s, off);
    g_string_append_c(s, ']');
    return g_string_free(g_steal_pointer(&s), FALSE);
}

/* A rate in bytes/s for humans ("2 MiB/s"). */
char *
iovshHumanRate(double bps)
{
    g_autofree char *h = iovshHumanBytes(bps < 0.5 ? 0 : bps);

    return g_strdup_printf("%s/s", h);
}

/* A limit for humans, "-" when 0. */
char *
iovshHumanLimit(unsigned long long v, bool bytes)
{
    if (!v)
        return g_strdup("-");
    if (bytes)
        return iovshHumanRate((double)v);
    return g_strdup_printf("%llu", v);
}

/* Print the rows of one disk or group, named `name`; `lim` NULL prints
 * the rates with `note` in place of the limits and load. */
static void
printRows(int nw, const char *name, const rates *r, const iovshParams *lim, const char *note,
          bool color)
{
    row rows[3];
    int i;

    makeRows(r, rows);
    for (i = 0; i < 3; i++) {
        g_autofree char *rate = iovshHumanRate(rows[i].bps);
        g_autofree char *blim =
            lim ? iovshHumanLimit(iovshParamULL(lim, rows[i].bps_field), true) : g_strdup("");
        g_autofree char *ilim =
            lim ? iovshHumanLimit(iovshParamULL(lim, rows[i].iops_field), false) : g_strdup("");
        g_autofree char *bar = NULL;
        g_autofree char *pct = NULL;
        g_autofree char *line = NULL;
        const char *binding = NULL;
        double load = lim ? rowLoad(lim, &rows[i], &binding) : -1;

        if (lim) {
            bar = iovshLoadBar(load, color);
            pct = load >= 0 ? g_strdup_printf("%3.0f%%", load * 100) : g_strdup("   -");
        }
        line = g_strdup_printf(
            "%-*s  %-5s  %12s  %12s  %8.0f  %8s  %s %s %s%s", nw, i == 0 ? name : "", rows[i].label,
            rate, blim, rows[i].iops, ilim, lim ? bar : (i == 0 ? note : ""), lim ? pct : "",
            binding ? binding : "", lim && bursting(lim, binding, load) ? " (burst)" : "");
        printf("%s\n", g_strchomp(line));
    }
}

/* The rates of a group: the sums over its members in `disks`. */
static rates
groupRates(GPtrArray *disks, const char *group, const iovshParams **lim)
{
    rates r = {0, 0, 0, 0};
    guint i;

    *lim = NULL;
    for (i = 0; i < disks->len; i++) {
        const watchDisk *w = g_ptr_array_index(disks, i);

        if (strcmp(w->group, group) != 0)
            continue;
        r.rd_bps += w->rd_bps;
        r.wr_bps += w->wr_bps;
        r.rd_iops += w->rd_iops;
        r.wr_iops += w->wr_iops;
        *lim = w->limits;
    }
    return r;
}

/* The groups of the shown disks, each once, in order. */
static GPtrArray *
shownGroups(GPtrArray *disks)
{
    GPtrArray *groups = g_ptr_array_new();
    guint i, j;

    for (i = 0; i < disks->len; i++) {
        const watchDisk *w = g_ptr_array_index(disks, i);
        bool seen = false;

        if (!w->shown || !*w->group)
            continue;
        for (j = 0; j < groups->len; j++)
            seen = seen || strcmp(g_ptr_array_index(groups, j), w->group) == 0;
        if (!seen)
            g_ptr_array_add(groups, w->group);
    }
    return groups;
}

/* One frame of the view, as text. */
static void
printFrame(iovDomainPtr dom, GPtrArray *disks, bool tty)
{
    g_autoptr(GPtrArray) groups = shownGroups(disks);
    g_autoptr(GDateTime) now = g_date_time_new_now_local();
    g_autofree char *clock = g_date_time_format(now, "%H:%M:%S");
    bool color = tty && !g_getenv("NO_COLOR") && g_strcmp0(g_getenv("TERM"), "dumb") != 0;
    int nw = 4;
    guint i;

    for (i = 0; i < disks->len; i++)
        nw = MAX(nw, (int)strlen(((watchDisk *)g_ptr_array_index(disks, i))->target));
    for (i = 0; i < groups->len; i++)
        nw = MAX(nw, 6 + (int)strlen(g_ptr_array_index(groups, i)));

    if (tty)
        printf("\033[H\033[2J");
    printf("Disk I/O of domain '%s', refreshed each second (Ctrl-C stops)   %s\n\n",
           iovDomainGetName(dom), clock);
    printf("%-*s  %-5s  %12s  %12s  %8s  %8s  %s\n", nw, "DISK", "I/O", "BYTES/S", "LIMIT", "IO/S",
           "LIMIT", "LOAD (rate / closest limit)");
    for (i = 0; i < disks->len; i++) {
        const watchDisk *w = g_ptr_array_index(disks, i);
        rates r = {w->rd_bps, w->wr_bps, w->rd_iops, w->wr_iops};
        g_autofree char *note = NULL;

        if (!w->shown)
            continue;
        if (*w->group) {
            note = g_strdup_printf("limited with group '%s'", w->group);
            printRows(nw, w->target, &r, NULL, note, color);
        } else {
            printRows(nw, w->target, &r, w->limits, NULL, color);
        }
    }
    for (i = 0; i < groups->len; i++) {
        const char *g = g_ptr_array_index(groups, i);
        const iovshParams *lim = NULL;
        rates r = groupRates(disks, g, &lim);
        g_autofree char *name = g_strdup_printf("group %s", g);

        printRows(nw, name, &r, lim, NULL, color);
    }
    if (!tty)
        putchar('\n');
    fflush(stdout);
}

/* The load of rates r against limits lim, as JSON fields of o. */
static void
addLoadJSON(json_object *o, const rates *r, const iovshParams *lim)
{
    iovshLoadJSON(o, r->rd_bps, r->wr_bps, r->rd_iops, r->wr_iops, lim);
}

double
iovshDiskLoad(const iovshParams *lim, double rd_bps, double wr_bps, double rd_iops,
              double wr_iops, const char **binding)
{
    rates r = {rd_bps, wr_bps, rd_iops, wr_iops};
    row rows[3];
    double best = -1;
    int i;

    makeRows(&r, rows);
    *binding = NULL;
    for (i = 0; i < 3; i++) {
        const char *b;
        double load = rowLoad(lim, &rows[i], &b);

        if (load > best) {
            best = load;
            *binding = b;
        }
    }
    return best;
}

void
iovshLoadJSON(json_object *o, double rd_bps, double wr_bps, double rd_iops, double wr_iops,
              const iovshParams *lim)
{
    rates rr = {rd_bps, wr_bps, rd_iops, wr_iops};
    const rates *r = &rr;
    row rows[3];
    const char *best_field = NULL;
    double best = -1;
    int i;

    makeRows(r, rows);
    for (i = 0; i < 3; i++) {
        const char *binding;
        double load = rowLoad(lim, &rows[i], &binding);

        if (load > best) {
            best = load;
            best_field = binding;
        }
    }
    json_object_object_add(o, "rd_bytes_per_sec",
                           json_object_new_int64((int64_t)(r->rd_bps + 0.5)));
    json_object_object_add(o, "wr_bytes_per_sec",
                           json_object_new_int64((int64_t)(r->wr_bps + 0.5)));
    json_object_object_add(o, "rd_iops", json_object_new_int64((int64_t)(r->rd_iops + 0.5)));
    json_object_object_add(o, "wr_iops", json_object_new_int64((int64_t)(r->wr_iops + 0.5)));
    if (!lim)
        return;
    json_object_object_add(o, "load_percent",
                           best >= 0 ? json_object_new_int64((int64_t)(best * 100 + 0.5)) : NULL);
    json_object_object_add(o, "binding", best_field ? json_object_new_string(best_field) : NULL);
    json_object_object_add(o, "limits", iovshParamsToJSON(lim));
}

/* One frame of the view, as one line of JSON. */
static void
printFrameJSON(GPtrArray *disks)
{
    g_autoptr(GPtrArray) groups = shownGroups(disks);
    json_object *frame = json_object_new_object();
    json_object *jdisks = json_object_new_array();
    json_object *jgroups = json_object_new_array();
    guint i;

    json_object_object_add(frame, "time",
                           json_object_new_int64(g_get_real_time() / G_USEC_PER_SEC));
    for (i = 0; i < disks->len; i++) {
        const watchDisk *w = g_ptr_array_index(disks, i);
        rates r = {w->rd_bps, w->wr_bps, w->rd_iops, w->wr_iops};
        json_object *o;

        if (!w->shown)
            continue;
        o = json_object_new_object();
        json_object_object_add(o, "device", json_object_new_string(w->target));
        json_object_object_add(o, "group", json_object_new_string(w->group));
        addLoadJSON(o, &r, *w->group ? NULL : w->limits);
        json_object_array_add(jdisks, o);
    }
    for (i = 0; i < groups->len; i++) {
        const char *g = g_ptr_array_index(groups, i);
        const iovshParams *lim = NULL;
        rates r = groupRates(disks, g, &lim);
        json_object *o = json_object_new_object();

        json_object_object_add(o, "group", json_object_new_string(g));
        addLoadJSON(o, &r, lim);
        json_object_array_add(jgroups, o);
    }
    json_object_object_add(frame, "disks", jdisks);
    json_object_object_add(frame, "groups", jgroups);
    printf("%s\n", json_object_to_json_string_ext(frame, JSON_C_TO_STRING_PLAIN));
    json_object_put(frame);
    fflush(stdout);
}

/* Take a sample of every watched disk: counters, rates over `dt` seconds
 * since the previous sample (when dt > 0), limits. 0 or -1 (printed). */
static int
sample(iovDomainPtr dom, GPtrArray *disks, double dt)
{
    guint i;

    for (i = 0; i < disks->len; i++) {
        watchDisk *w = g_ptr_array_index(disks, i);
        iovDomainBlockStatsStruct s;

        if (iovDomainBlockStats(dom, w->target, &s, sizeof(s)) < 0) {
            iovshLibError();
            return -1;
        }
        if (dt > 0) {
            w->rd_bps = MAX(0, s.rd_bytes - w->prev.rd_bytes) / dt;
            w->wr_bps = MAX(0, s.wr_bytes - w->prev.wr_bytes) / dt;
            w->rd_iops = MAX(0, s.rd_req - w->prev.rd_req) / dt;
            w->wr_iops = MAX(0, s.wr_req - w->prev.wr_req) / dt;
            iovshParamsFree(w->limits);
            if (!(w->limits = iovshGetThrottle(dom, w->target, 0))) {
                iovshLibError();
                return -1;
            }
        }
        w->prev = s;
    }
    return 0;
}

/* The disks to watch: `device` (or every disk) and the members of their
 * groups. NULL after printing an error. */
static GPtrArray *
watchedDisks(iovDomainPtr dom, const char *device)
{
    g_autoptr(GPtrArray) all = iovshDomainDisks(dom, false);
    g_autoptr(GPtrArray) out = g_ptr_array_new_with_free_func((GDestroyNotify)watchDiskFree);
    const iovDomainDisk *only = NULL;
    guint i;

    if (!all)
        return NULL;
    if (device && !(only = iovshDiskFind(all, device))) {
        iovshError("domain '%s' has no disk '%s'", iovDomainGetName(dom), device);
        return NULL;
    }
    for (i = 0; i < all->len; i++) {
        const iovDomainDisk *d = g_ptr_array_index(all, i);
        watchDisk *w;
        bool shown = !only || d == only;

        if (!shown && !(*d->group && strcmp(d->group, only->group) == 0))
            continue;
        w = g_new0(watchDisk, 1);
        w->target = g_strdup(d->target);
        w->group = g_strdup(d->group);
        w->shown = shown;
        g_ptr_array_add(out, w);
    }
    return g_steal_pointer(&out);
}

/* domblkstat DOMAIN [DEVICE] --watch [--count N]: the live view. */
static int
watch(const iovshCmd *cmd, iovDomainPtr dom, const char *device)
{
    g_autoptr(GPtrArray) disks = NULL;
    unsigned long long count = 0, frames = 0;
    bool tty = isatty(STDOUT_FILENO);
    gint64 last;
    int ret = -1;

    if (iovshOptULL(cmd, "count", &count) < 0)
        return -1;
    if (iovDomainIsActive(dom) != 1) {
        iovshError("domain '%s' is not running", iovDomainGetName(dom));
        return -1;
    }
    if (!(disks = watchedDisks(dom, device)))
        return -1;
    if (sample(dom, disks, 0) < 0)
        return -1;
    last = g_get_monotonic_time();

    iovshCatchInterrupt(true);
    while (!iovshInterrupted && (count == 0 || frames < count)) {
        gint64 now;

        iovshSleep(1.0 - (g_get_monotonic_time() - last) / (double)G_USEC_PER_SEC);
        if (iovshInterrupted)
            break;
        now = g_get_monotonic_time();
        if (sample(dom, disks, (now - last) / (double)G_USEC_PER_SEC) < 0)
            goto cleanup;
        last = now;
        if (cmd->output == IOVSH_OUTPUT_JSON)
            printFrameJSON(disks);
        else
            printFrame(dom, disks, tty);
        frames++;
    }
    if (iovshInterrupted && tty)
        putchar('\n');
    ret = 0;

cleanup:
    iovshCatchInterrupt(false);
    return ret;
}

/* domblkstat DOMAIN [DEVICE] [--watch [--count N]]: counters, or the view. */
int
cmdDomBlkStat(iovshControl *ctl, const iovshCmd *cmd)
{
    g_autoptr(iovDomain) dom = NULL;
    g_autoptr(GPtrArray) disks = NULL;
    const char *device = iovshOptString(cmd, "device");
    bool json = cmd->output == IOVSH_OUTPUT_JSON;
    json_object *arr;
    guint i;

    if (iovshOptGiven(cmd, "count") && !iovshOptGiven(cmd, "watch")) {
        iovshError("option --count of command 'domblkstat' needs --watch");
        return -1;
    }
    if (!(dom = iovshLookupDomain(ctl, cmd, "domain")))
        return -1;
    if (iovshOptGiven(cmd, "watch"))
        return watch(cmd, dom, device);

    if (device) {
        g_autoptr(iovshParams) p = blockStats(dom, device);

        if (!p)
            return -1;
        if (json)
            iovshPrintJSON(statsJSON(device, p));
        else
            printStats(device, p);
        return 0;
    }
    if (!(disks = iovshDomainDisks(dom, false)))
        return -1;
    arr = json_object_new_array();
    for (i = 0; i < disks->len; i++) {
        const iovDomainDisk *d = g_ptr_array_index(disks, i);
        g_autoptr(iovshParams) p = blockStats(dom, d->target);

        if (!p) {
            json_object_put(arr);
            return -1;
        }
        if (json)
            json_object_array_add(arr, statsJSON(d->target, p));
        else
            printStats(d->target, p);
    }
    if (json)
        iovshPrintJSON(arr);
    else
        json_object_put(arr);
    return 0;
}
