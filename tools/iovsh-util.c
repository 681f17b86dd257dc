/*
 * iovsh-util.c: helpers the commands of iovsh share
 *
 * Errors and JSON output, looking a guest up as virsh does, state names,
 * sizes for humans, the disks of a domain's XML (read by a module,
 * iovsh-xml.c) and the limits of a disk.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "iovsh.h"

volatile sig_atomic_t iovshInterrupted;

/* Print "error: " and the formatted message on stderr. */
void
iovshError(const char *fmt, ...)
{
    va_list ap;
    g_autofree char *msg = NULL;

    va_start(ap, fmt);
    msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    fflush(stdout);
    fprintf(stderr, "error: %s\n", msg);
}

/* Print the library's last error as "error: MESSAGE". */
void
iovshLibError(void)
{
    fflush(stdout);
    fprintf(stderr, "error: %s\n", iovGetLastErrorMessage());
}

/* Print a JSON value on stdout and drop the reference. */
void
iovshPrintJSON(json_object *obj)
{
    printf("%s\n",
           json_object_to_json_string_ext(obj, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED |
                                                   JSON_C_TO_STRING_NOSLASHESCAPE));
    json_object_put(obj);
}

/* Whether str is a uuid, with or without its dashes. */
static bool
looksLikeUUID(const char *str)
{
    size_t len = strlen(str), i, ndigits = 0;

    if (len != 36 && len != 32)
        return false;
    for (i = 0; i < len; i++) {
        if (g_ascii_isxdigit(str[i]))
            ndigits++;
        else if (str[i] != '-')
            return false;
    }
    return ndigits == 32;
}

/*
 * Find a guest the way virsh does: as an id when `str` is a non-negative
 * integer, then as a uuid when it looks like one, then by name. NULL with
 * the library's error of the last lookup; prints nothing.
 */
iovDomainPtr
iovshFindDomain(iovConnectPtr conn, const char *str)
{
    iovDomainPtr dom = NULL;
    unsigned long long id;

    if (iovshParseULL(str, &id) && id <= G_MAXINT)
        dom = iovDomainLookupByID(conn, (int)id);
    if (!dom && looksLikeUUID(str))
        dom = iovDomainLookupByUUIDString(conn, str);
    if (!dom)
        dom = iovDomainLookupByName(conn, str);
    return dom;
}

/* iovshFindDomain, connecting first and printing the error. */
iovDomainPtr
iovshLookupDomainByString(iovshControl *ctl, const char *str)
{
    iovDomainPtr dom;

    if (iovshConnect(ctl) < 0)
        return NULL;
    dom = iovshFindDomain(ctl->conn, str);
    if (!dom)
        iovshLibError();
    return dom;
}

/* The guest named by option `optname` of cmd; NULL after printing an error. */
iovDomainPtr
iovshLookupDomain(iovshControl *ctl, const iovshCmd *cmd, const char *optname)
{
    const char *str = iovshOptString(cmd, optname);

    if (!str) {
        iovshError("command '%s' needs a guest", cmd->def->name);
        return NULL;
    }
    return iovshLookupDomainByString(ctl, str);
}

/* The name virsh gives a state. */
const char *
iovshStateName(int state)
{
    switch (state) {
    case IOV_DOMAIN_NOSTATE:
        return "no state";
    case IOV_DOMAIN_RUNNING:
        return "running";
    case IOV_DOMAIN_BLOCKED:
        return "idle";
    case IOV_DOMAIN_PAUSED:
        return "paused";
    case IOV_DOMAIN_SHUTDOWN:
        return "in shutdown";
    case IOV_DOMAIN_SHUTOFF:
        return "shut off";
    case IOV_DOMAIN_CRASHED:
        return "crashed";
    case IOV_DOMAIN_PMSUSPENDED:
        return "pmsuspended";
    }
    return "unknown";
}

/* The name of the reason a guest is in `state`. */
const char *
iovshStateReasonName(int state, int reason)
{
    switch (state) {
    case IOV_DOMAIN_RUNNING:
        switch (reason) {
        case IOV_DOMAIN_RUNNING_BOOTED:
            return "booted";
        case IOV_DOMAIN_RUNNING_UNPAUSED:
            return "unpaused";
        }
        break;
    case IOV_DOMAIN_PAUSED:
        switch (reason) {
        case IOV_DOMAIN_PAUSED_USER:
            return "user";
        case IOV_DOMAIN_PAUSED_IOERROR:
            return "I/O error";
        case IOV_DOMAIN_PAUSED_SHUTTING_DOWN:
            return "shutting down";
        case IOV_DOMAIN_PAUSED_STARTING_UP:
            return "starting up";
        }
        break;
    case IOV_DOMAIN_SHUTOFF:
        switch (reason) {
        case IOV_DOMAIN_SHUTOFF_SHUTDOWN:
            return "shutdown";
        case IOV_DOMAIN_SHUTOFF_DESTROYED:
            return "destroyed";
        case IOV_DOMAIN_SHUTOFF_CRASHED:
            return "crashed";
        case IOV_DOMAIN_SHUTOFF_FAILED:
            return "failed";
        case IOV_DOMAIN_SHUTOFF_DAEMON:
            return "daemon";
        }
        break;
    }
    return "unknown";
}

/* A number of bytes for humans, in powers of 1024: "512 B", "2 MiB",
 * "1.43 MiB" (at most two decimals, trailing zeros dropped). */
char *
iovshHumanBytes(double bytes)
{
    static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
    size_t u = 0;
    g_autofree char *num = NULL;
    char *dot;

    while (bytes >= 1024 && u + 1 < G_N_ELEMENTS(units)) {
        bytes /= 1024;
        u++;
    }
    if (u == 0)
        return g_strdup_printf("%.0f B", bytes);
    num = g_strdup_printf("%.2f", bytes);
    dot = strchr(num, '.');
    if (dot) {
        char *end = num + strlen(num) - 1;

        while (end > dot && *end == '0')
            *end-- = '\0';
        if (end == dot)
            *end = '\0';
    }
    return g_strdup_printf("%s %s", num, units[u]);
}

/* The disks of dom's live (or persistent) definition, from the daemon's
 * list of them: no XML to fetch and parse. */
GPtrArray *
iovshDomainDisks(iovDomainPtr dom, bool inactive)
{
    iovDomainDiskPtr *list = NULL;
    GPtrArray *disks;
    int i, n = iovDomainListDisks(dom, &list, inactive ? IOV_DOMAIN_AFFECT_CONFIG : 0);

    if (n < 0) {
        iovshLibError();
        return NULL;
    }
    disks = g_ptr_array_new_full((guint)n, (GDestroyNotify)iovDomainDiskFree);
    for (i = 0; i < n; i++)
        g_ptr_array_add(disks, list[i]);
    free(list);
    return disks;
}

/* The disk `name` names: its target, or its source path. */
const iovDomainDisk *
iovshDiskFind(GPtrArray *disks, const char *name)
{
    guint i;

    for (i = 0; disks && i < disks->len; i++) {
        const iovDomainDisk *d = g_ptr_array_index(disks, i);

        if (strcmp(d->target, name) == 0 || (name[0] == '/' && strcmp(d->source, name) == 0))
            return d;
    }
    return NULL;
}

/* The targets of the members of `group`, joined by ", ". */
char *
iovshGroupMembers(GPtrArray *disks, const char *group)
{
    g_autoptr(GPtrArray) names = g_ptr_array_new();
    guint i;

    if (!group || !*group || !disks)
        return NULL;
    for (i = 0; i < disks->len; i++) {
        const iovDomainDisk *d = g_ptr_array_index(disks, i);

        if (strcmp(d->group, group) == 0)
            g_ptr_array_add(names, d->target);
    }
    g_ptr_array_add(names, NULL);
    return g_strjoinv(", ", (char **)names->pdata);
}

/* Free a typed parameter array the library filled. */
void
iovshParamsFree(iovshParams *p)
{
    if (!p)
        return;
    iovTypedParamsClear(p->params, p->n);
    g_free(p->params);
    g_free(p);
}

/* The limits of `disk` of dom, every field; NULL when the library fails. */
iovshParams *
iovshGetThrottle(iovDomainPtr dom, const char *disk, unsigned int flags)
{
    g_autoptr(iovshParams) p = g_new0(iovshParams, 1);

    p->n = iovThrottleFieldCount();
    p->params = g_new0(iovTypedParameter, p->n);
    if (iovDomainGetBlockIoThrottle(dom, disk, p->params, &p->n, flags) < 0) {
        p->n = 0;
        return NULL;
    }
    return g_steal_pointer(&p);
}

/* The number field `name` of p, 0 when absent. */
unsigned long long
iovshParamULL(const iovshParams *p, const char *name)
{
    unsigned long long v = 0;

    if (!p || iovTypedParamsGetULLong(p->params, p->n, name, &v) != 1)
        return 0;
    return v;
}

/* The string field `name` of p, "" when absent. */
const char *
iovshParamString(const iovshParams *p, const char *name)
{
    const char *s = NULL;

    if (!p || iovTypedParamsGetString(p->params, p->n, name, &s) != 1 || !s)
        return "";
    return s;
}

/* The limits as a JSON object keyed by field name. */
json_object *
iovshParamsToJSON(const iovshParams *p)
{
    json_object *obj = json_object_new_object();
    int i;

    for (i = 0; i < p->n; i++) {
        const iovTypedParameter *tp = &p->params[i];

        if (tp->type == IOV_TYPED_PARAM_STRING)
            json_object_object_add(obj, tp->field,
                                   json_object_new_string(tp->value.s ? tp->value.s : ""));
        else
            json_object_object_add(obj, tp->field, json_object_new_uint64(tp->value.ul));
    }
    return obj;
}

/* Sleep, waking early on SIGINT. */
void
iovshSleep(double seconds)
{
    gint64 end = g_get_monotonic_time() + (gint64)(seconds * G_USEC_PER_SEC);

    while (!iovshInterrupted) {
        gint64 left = end - g_get_monotonic_time();
        struct timespec ts;

        if (left <= 0)
            return;
        left = MIN(left, 100000);
        ts.tv_sec = left / G_USEC_PER_SEC;
        ts.tv_nsec = (left % G_USEC_PER_SEC) * 1000;
        nanosleep(&ts, NULL);
    }
}

/* The SIGINT handler: remember the interruption. */
static void
onInterrupt(int sig)
{
    (void)sig;
    iovshInterrupted = 1;
}

/* Catch SIGINT into iovshInterrupted (without SA_RESTART, so that a
 * blocking read returns), or undo one such call; calls nest, and the
 * handler found by the first is restored by the last undo. */
void
iovshCatchInterrupt(bool install)
{
    static struct sigaction old;
    static int depth;
    struct sigaction sa;

    if (install) {
        if (depth++ > 0)
            return;
        memset(&sa, 0, sizeof(sa));
        sa.sa_handler = onInterrupt;
        sigemptyset(&sa.sa_mask);
        sigaction(SIGINT, &sa, &old);
    } else if (depth > 0 && --depth == 0) {
        sigaction(SIGINT, &old, NULL);
    }
}

void
iovshChangeSides(iovDomainPtr dom, unsigned int flags, bool *live, bool *config)
{
    int active = flags == 0 ? iovDomainIsActive(dom) : -1; /* only CURRENT asks */

    *live = (flags & IOV_DOMAIN_AFFECT_LIVE) || (flags == 0 && active == 1);
    *config = (flags & IOV_DOMAIN_AFFECT_CONFIG) || (flags == 0 && active != 1);
}

const char *
iovshSidesText(bool live, bool config)
{
    if (live && config)
        return "live and config";
    return live ? "live" : "config";
}
