/*
 * iovsh-top.c: top, every running guest's disks on one screen
 *
 * Each refresh is one bulk statistics call (iovConnectGetAllDomainStats
 * with the block and iothrottle groups): the counters of every disk and
 * the limits in force, from which each disk's rates over the last
 * interval and how close it runs to its limits follow. Disks are listed
 * closest to a limit first.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "iovsh.h"

/* One disk of one guest in a frame. */
typedef struct topDisk {
    char *domain;
    char *target;
    char *group;           /* "" when the disk has its own limits */
    unsigned long long rd_bytes, wr_bytes, rd_reqs, wr_reqs; /* counters */
    bool counted;          /* the counters are known */
    double rd_bps, wr_bps, rd_iops, wr_iops;
    iovshParams *limits;   /* the limits in force */
    double load;           /* rate / closest limit; -1 when unlimited */
    const char *binding;   /* that limit's field, or NULL */
} topDisk;

static void
topDiskFree(topDisk *t)
{
    if (!t)
        return;
    g_free(t->domain);
    g_free(t->target);
    g_free(t->group);
    iovshParamsFree(t->limits);
    g_free(t);
}

static unsigned long long
statULL(const iovDomainStatsRecord *rec, const char *group, unsigned int i, const char *key,
        bool *found)
{
    g_autofree char *name = g_strdup_printf("%s.%u.%s", group, i, key);
    unsigned long long v = 0;
    unsigned int ui = 0;

    if (iovTypedParamsGetULLong(rec->params, rec->nparams, name, &v) == 1)
        return v;
    if (iovTypedParamsGetUInt(rec->params, rec->nparams, name, &ui) == 1)
        return ui;
    if (found)
        *found = false;
    return 0;
}

static const char *
statString(const iovDomainStatsRecord *rec, const char *group, unsigned int i, const char *key)
{
    g_autofree char *name = g_strdup_printf("%s.%u.%s", group, i, key);
    const char *s = NULL;

    if (iovTypedParamsGetString(rec->params, rec->nparams, name, &s) != 1)
        return NULL;
    return s;
}

/* The limits of disk `i` of `rec`, from its iothrottle.i.FIELD entries. */
static iovshParams *
diskLimits(const iovDomainStatsRecord *rec, unsigned int i)
{
    iovshParams *p = g_new0(iovshParams, 1);
    int nfields = iovThrottleFieldCount(), k, max = 0;

    for (k = 0; k < nfields; k++) {
        const iovThrottleField *f = iovThrottleFieldByIndex(k);
        g_autofree char *name = g_strdup_printf("iothrottle.%u.%s", i, f->name);
        const char *s = NULL;
        unsigned long long v = 0;

        if (f->type == IOV_TYPED_PARAM_STRING) {
            if (iovTypedParamsGetString(rec->params, rec->nparams, name, &s) == 1)
                iovTypedParamsAddString(&p->params, &p->n, &max, f->name, s);
        } else if (iovTypedParamsGetULLong(rec->params, rec->nparams, name, &v) == 1) {
            iovTypedParamsAddULLong(&p->params, &p->n, &max, f->name, v);
        }
    }
    return p;
}

/* The disks of one bulk call, rates computed against `prev` (the disks
 * of the previous call, by "domain/target") over `dt` seconds. NULL after
 * printing the error. */
static GPtrArray *
takeFrame(iovshControl *ctl, GHashTable *prev, double dt)
{
    g_autoptr(GPtrArray) out = g_ptr_array_new_with_free_func((GDestroyNotify)topDiskFree);
    iovDomainStatsRecordPtr *recs = NULL;
    int n, r;

    n = iovConnectGetAllDomainStats(ctl->conn, IOV_DOMAIN_STATS_BLOCK | IOV_DOMAIN_STATS_IOTHROTTLE,
                                    &recs, IOV_CONNECT_LIST_DOMAINS_ACTIVE);
    if (n < 0) {
        iovshLibError();
        return NULL;
    }
    for (r = 0; r < n; r++) {
        const iovDomainStatsRecord *rec = recs[r];
        unsigned int count, i;
        unsigned int ui = 0;

        count = iovTypedParamsGetUInt(rec->params, rec->nparams, "block.count", &ui) == 1 ? ui : 0;
        for (i = 0; i < count; i++) {
            topDisk *t = g_new0(topDisk, 1);
            const char *target = statString(rec, "block", i, "name");
            const char *group = statString(rec, "iothrottle", i, IOV_THROTTLE_GROUP);
            g_autofree char *key = NULL;
            const topDisk *p;

            t->domain = g_strdup(iovDomainGetName(rec->dom));
            t->target = g_strdup(target ? target : "?");
            t->group = g_strdup(group ? group : "");
            t->counted = true;
            t->rd_bytes = statULL(rec, "block", i, "rd.bytes", &t->counted);
            t->wr_bytes = statULL(rec, "block", i, "wr.bytes", &t->counted);
            t->rd_reqs = statULL(rec, "block", i, "rd.reqs", &t->counted);
            t->wr_reqs = statULL(rec, "block", i, "wr.reqs", &t->counted);
            t->limits = diskLimits(rec, i);
            key = g_strdup_printf("%s/%s", t->domain, t->target);
            p = prev ? g_hash_table_lookup(prev, key) : NULL;
            if (p && p->counted && t->counted && dt > 0) {
                t->rd_bps = (t->rd_bytes >= p->rd_bytes ? t->rd_bytes - p->rd_bytes : 0) / dt;
                t->wr_bps = (t->wr_bytes >= p->wr_bytes ? t->wr_bytes - p->wr_bytes : 0) / dt;
                t->rd_iops = (t->rd_reqs >= p->rd_reqs ? t->rd_reqs - p->rd_reqs : 0) / dt;
                t->wr_iops = (t->wr_reqs >= p->wr_reqs ? t->wr_reqs - p->wr_reqs : 0) / dt;
            }
            t->load = iovshDiskLoad(t->limits, t->rd_bps, t->wr_bps, t->rd_iops, t->wr_iops,
                                    &t->binding);
            g_ptr_array_add(out, t);
        }
    }
    iovDomainStatsRecordListFree(recs);
    return g_steal_pointer(&out);
}

/* Closest to a limit first; then by guest and disk. */
static gint
compareLoad(gconstpointer a, gconstpointer b)
{
    const topDisk *x = *(topDisk *const *)a, *y = *(topDisk *const *)b;
    int c;

    if (x->load != y->load)
        return x->load > y->load ? -1 : 1;
    if ((c = strcmp(x->domain, y->domain)) != 0)
        return c;
    return strcmp(x->target, y->target);
}

static void
printTop(GPtrArray *disks, bool tty)
{
    g_autoptr(GDateTime) now = g_date_time_new_now_local();
    g_autofree char *clock = g_date_time_format(now, "%H:%M:%S");
    bool color = tty && !g_getenv("NO_COLOR") && g_strcmp0(g_getenv("TERM"), "dumb") != 0;
    int dw = 6;
    guint i;

    for (i = 0; i < disks->len; i++)
        dw = MAX(dw, (int)strlen(((topDisk *)disks->pdata[i])->domain));
    if (tty)
        printf("\033[H\033[2J");
    printf("Disk I/O of every running guest, closest to a limit first (Ctrl-C stops)   %s\n\n",
           clock);
    printf("%-*s  %-6s  %12s  %12s  %8s  %8s  %12s  %s\n", dw, "DOMAIN", "DISK", "READ/S",
           "WRITE/S", "RD IO/S", "WR IO/S", "LIMIT", "LOAD (rate / closest limit)");
    for (i = 0; i < disks->len; i++) {
        const topDisk *t = disks->pdata[i];
        g_autofree char *rd = iovshHumanRate(t->rd_bps);
        g_autofree char *wr = iovshHumanRate(t->wr_bps);
        g_autofree char *bar = iovshLoadBar(t->load, color);
        g_autofree char *lim = NULL;
        g_autofree char *pct = t->load >= 0 ? g_strdup_printf("%3.0f%%", t->load * 100)
                                            : g_strdup("   -");
        g_autofree char *line = NULL;

        if (t->binding) {
            const iovThrottleField *f = iovThrottleFieldByIndex(iovThrottleFieldLookup(t->binding));

            lim = iovshHumanLimit(iovshParamULL(t->limits, t->binding),
                                  f && f->unit == IOV_THROTTLE_UNIT_BYTES_PER_SEC);
        } else {
            lim = g_strdup("-");
        }
        line = g_strdup_printf("%-*s  %-6s  %12s  %12s  %8.0f  %8.0f  %12s  %s %s %s%s%s%s", dw,
                               t->domain, t->target, rd, wr, t->rd_iops, t->wr_iops, lim, bar, pct,
                               t->binding ? t->binding : "", *t->group ? " (group " : "",
                               t->group, *t->group ? ")" : "");
        printf("%s\n", g_strchomp(line));
    }
    if (!tty)
        putchar('\n');
    fflush(stdout);
}

static void
printTopJSON(GPtrArray *disks)
{
    json_object *frame = json_object_new_object();
    json_object *jdisks = json_object_new_array();
    guint i;

    json_object_object_add(frame, "time", json_object_new_int64(g_get_real_time() / G_USEC_PER_SEC));
    for (i = 0; i < disks->len; i++) {
        const topDisk *t = disks->pdata[i];
        json_object *o = json_object_new_object();

        json_object_object_add(o, "domain", json_object_new_string(t->domain));
        json_object_object_add(o, "device", json_object_new_string(t->target));
        json_object_object_add(o, "group", json_object_new_string(t->group));
        iovshLoadJSON(o, t->rd_bps, t->wr_bps, t->rd_iops, t->wr_iops, t->limits);
        json_object_array_add(jdisks, o);
    }
    json_object_object_add(frame, "disks", jdisks);
    printf("%s\n", json_object_to_json_string_ext(frame, JSON_C_TO_STRING_PLAIN));
    json_object_put(frame);
    fflush(stdout);
}

/* top [--once] [--count N]: the view, refreshed each second. */
int
cmdTop(iovshControl *ctl, const iovshCmd *cmd)
{
    g_autoptr(GHashTable) prev = NULL;
    g_autoptr(GPtrArray) held = NULL;
    unsigned long long count = 0, frames = 0;
    bool tty = isatty(STDOUT_FILENO);
    gint64 last;
    int ret = -1;

    if (iovshOptULL(cmd, "count", &count) < 0)
        return -1;
    if (iovshOptGiven(cmd, "once"))
        count = 1;
    if (iovshConnect(ctl) < 0)
        return -1;
    if (!(held = takeFrame(ctl, NULL, 0)))
        return -1;
    last = g_get_monotonic_time();
    iovshCatchInterrupt(true);
    while (!iovshInterrupted && (count == 0 || frames < count)) {
        g_autoptr(GPtrArray) disks = NULL;
        gint64 now;
        guint i;

        prev = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
        for (i = 0; i < held->len; i++) {
            topDisk *t = held->pdata[i];

            g_hash_table_insert(prev, g_strdup_printf("%s/%s", t->domain, t->target), t);
        }
        iovshSleep(1.0 - (g_get_monotonic_time() - last) / (double)G_USEC_PER_SEC);
        if (iovshInterrupted)
            break;
        now = g_get_monotonic_time();
        if (!(disks = takeFrame(ctl, prev, (now - last) / (double)G_USEC_PER_SEC)))
            goto cleanup;
        last = now;
        g_ptr_array_sort(disks, compareLoad);
        if (cmd->output == IOVSH_OUTPUT_JSON)
            printTopJSON(disks);
        else
            printTop(disks, tty);
        frames++;
        g_clear_pointer(&prev, g_hash_table_unref);
        g_ptr_array_unref(held);
        held = g_steal_pointer(&disks);
    }
    if (iovshInterrupted && tty)
        putchar('\n');
    ret = 0;

cleanup:
    iovshCatchInterrupt(false);
    return ret;
}
