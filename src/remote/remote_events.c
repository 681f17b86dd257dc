/*
 * remote_events.c: the event callbacks of a connection
 *
 * Each callback is registered with the daemon on its own
 * (CONNECT_DOMAIN_EVENT_CALLBACK_REGISTER_ANY), so the callback id the
 * daemon gives is the one the caller gets, and each event message names
 * the one callback it is for. The rpcClient's event thread decodes the
 * message and calls the callback, without any lock held.
 */
#include <stdlib.h>
#include <string.h>

#include "remote_calls.h"
#include "util/error.h"

#define IOV_FROM_THIS IOV_FROM_REMOTE

typedef struct {
    int id; /* the daemon's callback id */
    int eventID;
    iovConnectDomainEventGenericCallback cb;
    void *opaque;
    iovFreeCallback freecb;
    gint refs; /* atomic: the list's, and a running call's */
} remoteEventCallback;

static void
callbackUnref(remoteEventCallback *c)
{
    if (!g_atomic_int_dec_and_test(&c->refs))
        return;
    if (c->freecb)
        c->freecb(c->opaque);
    g_free(c);
}

/* The callback `id`, referenced; NULL when it is gone. */
static remoteEventCallback *
findCallback(iovConnectPtr conn, int id)
{
    remoteEventCallback *found = NULL;
    guint i;

    g_mutex_lock(&conn->eventLock);
    for (i = 0; conn->events && i < conn->events->len; i++) {
        remoteEventCallback *c = conn->events->pdata[i];

        if (c->id == id) {
            found = c;
            g_atomic_int_inc(&found->refs);
            break;
        }
    }
    g_mutex_unlock(&conn->eventLock);
    return found;
}

/* Drop the handle made for a callback (the public layer is above this
 * one: its iovDomainFree is not called from here). */
static void
domainUnref(iovDomainPtr dom)
{
    if (!dom || !g_atomic_int_dec_and_test(&dom->refs))
        return;
    remoteConnectUnref(dom->conn);
    g_free(dom->name);
    g_free(dom);
}

/* Call `c` for the event of `dom` in `payload` (decoded `msg`). */
static void
deliver(iovConnectPtr conn, remoteEventCallback *c, int proc, void *payload)
{
    iovDomainPtr dom = NULL;

    switch (proc) {
    case REMOTE_PROC_DOMAIN_EVENT_CALLBACK_LIFECYCLE: {
        remote_domain_event_callback_lifecycle_msg *m = payload;

        dom = remoteDomainNew(conn, &m->msg.dom);
        ((iovConnectDomainEventCallback)(void (*)(void))c->cb)(conn, dom, m->msg.event,
                                                               m->msg.detail, c->opaque);
        break;
    }
    case REMOTE_PROC_DOMAIN_EVENT_CALLBACK_REBOOT: {
        remote_domain_event_callback_reboot_msg *m = payload;

        dom = remoteDomainNew(conn, &m->msg.dom);
        c->cb(conn, dom, c->opaque);
        break;
    }
    case REMOTE_PROC_DOMAIN_EVENT_CALLBACK_TUNABLE: {
        remote_domain_event_callback_tunable_msg *m = payload;
        int n = (int)m->params.params_len;
        g_autofree iovTypedParameter *params = g_new0(iovTypedParameter, n ? n : 1);

        if ((n = remoteParamsFromWire(m->params.params_val, m->params.params_len, params, n)) < 0)
            return;
        dom = remoteDomainNew(conn, &m->dom);
        ((iovConnectDomainEventTunableCallback)(void (*)(void))c->cb)(conn, dom, params, n,
                                                                      c->opaque);
        for (int i = 0; i < n; i++) {
            if (params[i].type == IOV_TYPED_PARAM_STRING)
                free(params[i].value.s);
        }
        break;
    }
    case REMOTE_PROC_DOMAIN_EVENT_CALLBACK_DEVICE_ADDED:
    case REMOTE_PROC_DOMAIN_EVENT_CALLBACK_DEVICE_REMOVED: {
        /* the two messages have the same layout */
        remote_domain_event_callback_device_added_msg *m = payload;

        dom = remoteDomainNew(conn, &m->dom);
        ((iovConnectDomainEventDeviceCallback)(void (*)(void))c->cb)(conn, dom, m->devAlias,
                                                                     c->opaque);
        break;
    }
    default:
        return;
    }
    domainUnref(dom);
}

/* The rpcClient's event handler: an event message of the daemon. */
static void
onEvent(const rpcMessage *msg, void *opaque)
{
    iovConnectPtr conn = opaque;
    const rpcProcInfo *info = rpcRemoteMsgLookup(msg->header.proc);
    g_autofree void *payload = NULL;
    remoteEventCallback *c;

    if (!info)
        return;
    payload = g_malloc0(info->argsSize);
    if (rpcMessageDecodePayload(msg, info->argsFilter, payload) < 0) {
        utilResetError();
        return;
    }
    /* every callback message starts with the callback id */
    if ((c = findCallback(conn, *(int *)payload))) {
        deliver(conn, c, msg->header.proc, payload);
        callbackUnref(c);
    }
    xdr_free(info->argsFilter, payload);
    utilResetError();
}

int
remoteEventRegister(iovConnectPtr conn, iovDomainPtr dom, int eventID,
                    iovConnectDomainEventGenericCallback cb, void *opaque, iovFreeCallback freecb)
{
    remote_connect_domain_event_callback_register_any_args args = {.eventID = eventID};
    remote_connect_domain_event_callback_register_any_ret ret = {0};
    remote_nonnull_domain wire;
    remoteEventCallback *c;

    if (eventID != IOV_DOMAIN_EVENT_ID_LIFECYCLE && eventID != IOV_DOMAIN_EVENT_ID_REBOOT &&
        eventID != IOV_DOMAIN_EVENT_ID_TUNABLE && eventID != IOV_DOMAIN_EVENT_ID_DEVICE_ADDED &&
        eventID != IOV_DOMAIN_EVENT_ID_DEVICE_REMOVED) {
        reportError(IOV_ERR_INVALID_ARG, "unsupported event ID %d", eventID);
        return -1;
    }
    if (dom) {
        remoteDomainToWire(dom, &wire);
        args.dom = &wire;
    }
    g_mutex_lock(&conn->eventLock);
    if (!conn->events) {
        if (rpcClientSetEventHandler(conn->client, onEvent, conn) < 0) {
            g_mutex_unlock(&conn->eventLock);
            return -1;
        }
        conn->events = g_ptr_array_new();
    }
    g_mutex_unlock(&conn->eventLock);
    if (remoteCallConnectDomainEventCallbackRegisterAny(conn, &args, &ret) < 0)
        return -1;
    c = g_new0(remoteEventCallback, 1);
    c->id = ret.callbackID;
    c->eventID = eventID;
    c->cb = cb;
    c->opaque = opaque;
    c->freecb = freecb;
    c->refs = 1;
    g_atomic_int_inc(&conn->refs);
    g_mutex_lock(&conn->eventLock);
    g_ptr_array_add(conn->events, c);
    g_mutex_unlock(&conn->eventLock);
    return c->id;
}

int
remoteEventDeregister(iovConnectPtr conn, int callbackID)
{
    remote_connect_domain_event_callback_deregister_any_args args = {.callbackID = callbackID};
    remoteEventCallback *found = NULL;
    guint i;

    g_mutex_lock(&conn->eventLock);
    for (i = 0; conn->events && i < conn->events->len; i++) {
        remoteEventCallback *c = conn->events->pdata[i];

        if (c->id == callbackID) {
            found = g_ptr_array_steal_index(conn->events, i);
            break;
        }
    }
    g_mutex_unlock(&conn->eventLock);
    if (!found) {
        reportError(IOV_ERR_INVALID_ARG,
                    "no domain event callback %d registered on this connection", callbackID);
        return -1;
    }
    if (rpcClientIsOpen(conn->client))
        remoteCallConnectDomainEventCallbackDeregisterAny(conn, &args);
    utilResetError();
    callbackUnref(found);
    remoteConnectUnref(conn);
    return 0;
}

void
remoteEventsClear(iovConnectPtr conn)
{
    if (!conn->events)
        return;
    g_ptr_array_foreach(conn->events, (GFunc)(void (*)(void))callbackUnref, NULL);
    g_ptr_array_unref(conn->events);
    conn->events = NULL;
}
