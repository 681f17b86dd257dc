/*
 * iovsh-event.c: event — print the events of the guests as they happen
 *
 * The callbacks run on the library's event thread; they print one event
 * each, whole, under a lock, and flush, so a pipe reader sees each event
 * when it happens.
 */
#include <stdio.h>
#include <string.h>

#include "iovsh.h"

static const char *const eventNames[] = {
    [IOV_DOMAIN_EVENT_ID_LIFECYCLE] = "lifecycle",
    [IOV_DOMAIN_EVENT_ID_REBOOT] = "reboot",
    [IOV_DOMAIN_EVENT_ID_DEVICE_REMOVED] = "device-removed",
    [IOV_DOMAIN_EVENT_ID_TUNABLE] = "tunable",
    [IOV_DOMAIN_EVENT_ID_DEVICE_ADDED] = "device-added",
};

/* libvirt's words for the lifecycle events and their details, as virsh
 * prints them */
static const char *const lifecycleNames[] = {
    "Defined", "Undefined", "Started",     "Suspended", "Resumed",
    "Stopped", "Shutdown",  "PMSuspended", "Crashed",
};

static const char *
lifecycleDetail(int event, int detail)
{
    static const char *const defined[] = {"Added", "Updated"};
    static const char *const suspended[] = {"Paused", "Migrated", "I/O Error"};
    static const char *const stopped[] = {"Shutdown", "Destroyed", "Crashed",
                                          "Migrated", "Saved",     "Failed"};
    static const char *const shutdown[] = {"Finished", "Finished after guest request",
                                           "Finished after host request"};

#define PICK(arr) (detail >= 0 && (size_t)detail < G_N_ELEMENTS(arr) ? arr[detail] : "unknown")
    switch (event) {
    case IOV_DOMAIN_EVENT_DEFINED:
        return PICK(defined);
    case IOV_DOMAIN_EVENT_UNDEFINED:
        return detail == 0 ? "Removed" : "unknown";
    case IOV_DOMAIN_EVENT_STARTED:
        return detail == 0 ? "Booted" : "unknown";
    case IOV_DOMAIN_EVENT_SUSPENDED:
        return PICK(suspended);
    case IOV_DOMAIN_EVENT_RESUMED:
        return detail == 0 ? "Unpaused" : "unknown";
    case IOV_DOMAIN_EVENT_STOPPED:
        return PICK(stopped);
    case IOV_DOMAIN_EVENT_SHUTDOWN:
        return PICK(shutdown);
    case IOV_DOMAIN_EVENT_CRASHED:
        return detail == 0 ? "Panicked" : "unknown";
    default:
        return "unknown";
    }
#undef PICK
}

typedef struct {
    GMutex lock; /* serialises printing */
    bool timestamp;
    gint count; /* atomic: events printed */
} eventState;

/* The start of an event's line: "[TIME: ]event 'NAME' for domain 'DOM'". */
static GString *
eventLine(eventState *st, const char *name, iovDomainPtr dom)
{
    GString *s = g_string_new(NULL);

    if (st->timestamp) {
        g_autoptr(GDateTime) now = g_date_time_new_now_local();
        g_autofree char *t = g_date_time_format(now, "%Y-%m-%d %H:%M:%S.%f");

        g_string_append_printf(s, "%.23s%s: ", t, "");
    }
    g_string_append_printf(s, "event '%s' for domain '%s'", name, iovDomainGetName(dom));
    return s;
}

static void
printLine(eventState *st, GString *s)
{
    g_mutex_lock(&st->lock);
    fputs(s->str, stdout);
    fputc('\n', stdout);
    fflush(stdout);
    g_mutex_unlock(&st->lock);
    g_atomic_int_inc(&st->count);
    g_string_free(s, TRUE);
}

static void
onLifecycle(iovConnectPtr conn G_GNUC_UNUSED, iovDomainPtr dom, int event, int detail, void *opaque)
{
    eventState *st = opaque;
    GString *s = eventLine(st, "lifecycle", dom);

    g_string_append_printf(s, ": %s %s",
                           event >= 0 && (size_t)event < G_N_ELEMENTS(lifecycleNames)
                               ? lifecycleNames[event]
                               : "unknown",
                           lifecycleDetail(event, detail));
    printLine(st, s);
}

static void
onReboot(iovConnectPtr conn G_GNUC_UNUSED, iovDomainPtr dom, void *opaque)
{
    eventState *st = opaque;

    printLine(st, eventLine(st, "reboot", dom));
}

static void
onTunable(iovConnectPtr conn G_GNUC_UNUSED, iovDomainPtr dom, iovTypedParameterPtr params, int n,
          void *opaque)
{
    eventState *st = opaque;
    GString *s = eventLine(st, "tunable", dom);
    int i;

    g_string_append_c(s, ':');
    for (i = 0; i < n; i++) {
        if (params[i].type == IOV_TYPED_PARAM_STRING)
            g_string_append_printf(s, "\n\t%s: %s", params[i].field, params[i].value.s);
        else
            g_string_append_printf(s, "\n\t%s: %llu", params[i].field, params[i].value.ul);
    }
    printLine(st, s);
}

/* A disk came or went: "event 'device-added' for domain 'web1': disk-vdb", as virsh prints it. */
static void
onDevice(eventState *st, const char *name, iovDomainPtr dom, const char *devAlias)
{
    GString *s = eventLine(st, name, dom);

    g_string_append_printf(s, ": %s", devAlias);
    printLine(st, s);
}

static void
onDeviceAdded(iovConnectPtr conn G_GNUC_UNUSED, iovDomainPtr dom, const char *devAlias,
              void *opaque)
{
    onDevice(opaque, "device-added", dom, devAlias);
}

static void
onDeviceRemoved(iovConnectPtr conn G_GNUC_UNUSED, iovDomainPtr dom, const char *devAlias,
                void *opaque)
{
    onDevice(opaque, "device-removed", dom, devAlias);
}

/* event [DOMAIN] [--event NAME] [--loop] [--timeout SECONDS] [--timestamp]:
 * print events until the first one (or Ctrl-C, or the timeout, with --loop). */
int
cmdEvent(iovshControl *ctl, const iovshCmd *cmd)
{
    g_autoptr(iovDomain) dom = NULL;
    const char *which = iovshOptString(cmd, "event");
    bool loop = iovshOptGiven(cmd, "loop");
    unsigned long long timeout = 0;
    eventState st = {.timestamp = iovshOptGiven(cmd, "timestamp")};
    int ids[G_N_ELEMENTS(eventNames)];
    gint64 deadline;
    size_t i, nids = 0;
    int ret = -1;

    if (iovshOptGiven(cmd, "timeout") && iovshOptULL(cmd, "timeout", &timeout) < 0)
        return -1;
    if (which) {
        for (i = 0; i < G_N_ELEMENTS(eventNames); i++) {
            if (eventNames[i] && strcmp(eventNames[i], which) == 0)
                break;
        }
        if (i == G_N_ELEMENTS(eventNames)) {
            iovshError(
                "unknown event '%s': give lifecycle, reboot, tunable, device-added or device-removed",
                which);
            return -1;
        }
    }
    if (iovshOptGiven(cmd, "domain") && !(dom = iovshLookupDomain(ctl, cmd, "domain")))
        return -1;
    if (iovshConnect(ctl) < 0)
        return -1;
    g_mutex_init(&st.lock);
    for (i = 0; i < G_N_ELEMENTS(eventNames); i++) {
        iovConnectDomainEventGenericCallback cb =
            i == IOV_DOMAIN_EVENT_ID_LIFECYCLE        ? IOV_DOMAIN_EVENT_CALLBACK(onLifecycle)
            : i == IOV_DOMAIN_EVENT_ID_REBOOT         ? IOV_DOMAIN_EVENT_CALLBACK(onReboot)
            : i == IOV_DOMAIN_EVENT_ID_DEVICE_ADDED   ? IOV_DOMAIN_EVENT_CALLBACK(onDeviceAdded)
            : i == IOV_DOMAIN_EVENT_ID_DEVICE_REMOVED ? IOV_DOMAIN_EVENT_CALLBACK(onDeviceRemoved)
                                                      : IOV_DOMAIN_EVENT_CALLBACK(onTunable);

        if (!eventNames[i] || (which && strcmp(which, eventNames[i]) != 0))
            continue;
        if ((ids[nids] = iovConnectDomainEventRegisterAny(ctl->conn, dom, (int)i, cb, &st, NULL)) <
            0) {
            iovshLibError();
            goto cleanup;
        }
        nids++;
    }
    deadline = g_get_monotonic_time() + (gint64)timeout * G_USEC_PER_SEC;
    iovshCatchInterrupt(true);
    while (!iovshInterrupted && (loop || g_atomic_int_get(&st.count) == 0) &&
           (timeout == 0 || g_get_monotonic_time() < deadline))
        iovshSleep(0.05);
    iovshCatchInterrupt(false);
    printf("events received: %d\n", g_atomic_int_get(&st.count));
    ret = 0;

cleanup:
    for (i = 0; i < nids; i++)
        iovConnectDomainEventDeregisterAny(ctl->conn, ids[i]);
    g_mutex_clear(&st.lock);
    return ret;
}
