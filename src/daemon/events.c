/*
 * events.c: domain events for the clients that registered for them
 *
 * A client registers callbacks (CONNECT_DOMAIN_EVENT_CALLBACK_REGISTER_ANY:
 * an event id, optionally one domain; or the older REGISTER_ANY: an event
 * id, no callback id). The QEMU driver reports each event to
 * daemonEventsEmit, from the job that made the change or from the
 * domain's event worker; it is encoded there, once per matching
 * callback, and queued on each client's output without waiting for any
 * socket. So every client sees the events in the order the driver
 * reported them, and a client that does not read costs only its queue:
 * once its unread events would pass the limit, it is dropped (and the
 * log says so), while the others go on.
 */
#include <string.h>

#include "dispatch.h"
#include "dispatch_handlers.h"
#include "util/error.h"
#include "util/log.h"

#define IOV_FROM_THIS IOV_FROM_RPC

/* libvirt 9.0 knows event ids 0 .. 26; iovirt accepts registrations for
 * all of them, and sends those of iovDomainEventID. */
#define DAEMON_EVENT_ID_LAST 27

/*
 * `lock` guards `conns`, `nextCallbackID` and every connection's
 * callbacks (daemonConn.callbacks, .ncallbacks). Held to register, to
 * deregister and while one event is queued for every client; nothing
 * slow happens under it (encoding and appending to output queues). It
 * nests inside a domain's lock (an event is emitted in the same hold as
 * the change it reports: src/qemu/qemu_domain.h) and outside a client's
 * own lock (taken by the server's queueing); it is never held with the
 * driver's lock, and registering takes no domain's lock while holding it.
 */
struct _daemonEvents {
    GMutex lock;
    GPtrArray *conns; /* daemonConn with callbacks; each holds a
                       * reference on its rpcServerClient */
    int nextCallbackID;
    size_t queueMax; /* fixed: unread output beyond which an event drops a client */
};

daemonEvents *
daemonEventsNew(size_t queueMax)
{
    daemonEvents *ev = g_new0(daemonEvents, 1);

    g_mutex_init(&ev->lock);
    ev->conns = g_ptr_array_new();
    ev->nextCallbackID = 1;
    ev->queueMax = queueMax ? queueMax : DAEMON_EVENT_QUEUE_DEFAULT;
    return ev;
}

void
daemonEventsFree(daemonEvents *ev)
{
    guint i;

    if (!ev)
        return;
    for (i = 0; i < ev->conns->len; i++)
        rpcServerClientUnref(((daemonConn *)ev->conns->pdata[i])->client);
    g_ptr_array_unref(ev->conns);
    g_mutex_clear(&ev->lock);
    g_free(ev);
}

/* Take `c` out of the list (lock held); it keeps its callbacks. */
static void
forgetConnLocked(daemonEvents *ev, daemonConn *c)
{
    if (g_ptr_array_remove(ev->conns, c))
        rpcServerClientUnref(c->client);
}

void
daemonEventsConnGone(daemonEvents *ev, daemonConn *c)
{
    if (!ev || !c)
        return;
    g_mutex_lock(&ev->lock);
    forgetConnLocked(ev, c);
    c->ncallbacks = 0;
    g_mutex_unlock(&ev->lock);
}

/* Add a callback to `c`: 0 (its id in *idOut; -1 for the older
 * registration), or -1 with an error. */
static int
addCallback(daemonState *d, daemonConn *c, int eventID, bool legacy,
            const remote_nonnull_domain *dom, int *idOut)
{
    daemonEvents *ev = d->events;
    daemonEventCallback *cb;
    size_t i;
    int id;

    if (!ev || !c->client) {
        reportError(IOV_ERR_NO_SUPPORT, "events are not delivered on this connection");
        return -1;
    }
    if (eventID < 0 || eventID >= DAEMON_EVENT_ID_LAST) {
        reportError(IOV_ERR_INVALID_ARG, "unsupported event ID %d", eventID);
        return -1;
    }
    g_mutex_lock(&ev->lock);
    if (legacy) {
        for (i = 0; i < c->ncallbacks; i++) {
            if (c->callbacks[i].legacy && c->callbacks[i].eventID == eventID) {
                g_mutex_unlock(&ev->lock);
                reportError(IOV_ERR_INTERNAL_ERROR, "domain event %d already registered", eventID);
                return -1;
            }
        }
    }
    if (c->ncallbacks >= DAEMON_EVENT_CALLBACKS_MAX) {
        g_mutex_unlock(&ev->lock);
        reportError(IOV_ERR_RESOURCE_BUSY,
                    "too many event callbacks on this connection (at most %d)",
                    DAEMON_EVENT_CALLBACKS_MAX);
        return -1;
    }
    id = legacy ? -1 : ev->nextCallbackID++;
    cb = &c->callbacks[c->ncallbacks++];
    memset(cb, 0, sizeof(*cb));
    cb->callbackID = id;
    cb->eventID = eventID;
    cb->legacy = legacy;
    if (dom) {
        cb->filtered = true;
        memcpy(cb->uuid, dom->uuid, 16);
    }
    if (!g_ptr_array_find(ev->conns, c, NULL)) {
        rpcServerClientRef(c->client);
        g_ptr_array_add(ev->conns, c);
    }
    g_mutex_unlock(&ev->lock);
    *idOut = id;
    return 0;
}

/* Remove the callback of `c` that `match` accepts; -1 when none did. */
static int
removeCallback(daemonState *d, daemonConn *c, bool legacy, int key)
{
    daemonEvents *ev = d->events;
    size_t i;

    if (!ev)
        return -1;
    g_mutex_lock(&ev->lock);
    for (i = 0; i < c->ncallbacks; i++) {
        daemonEventCallback *cb = &c->callbacks[i];

        if (cb->legacy == legacy && (legacy ? cb->eventID : cb->callbackID) == key) {
            memmove(cb, cb + 1, (c->ncallbacks - i - 1) * sizeof(*cb));
            c->ncallbacks--;
            if (c->ncallbacks == 0)
                forgetConnLocked(ev, c);
            g_mutex_unlock(&ev->lock);
            return 0;
        }
    }
    g_mutex_unlock(&ev->lock);
    return -1;
}

/* ---- the procedures ---- */

int
dispatchConnectDomainEventCallbackRegisterAny(
    daemonState *d, daemonConn *c, remote_connect_domain_event_callback_register_any_args *args,
    remote_connect_domain_event_callback_register_any_ret *ret)
{
    int id;

    if (args->dom) {
        qemuDomainIdent ident = {0};

        /* the domain must exist now; its events are matched by uuid */
        if (qemuDriverLookupByUUID(d->driver, (const unsigned char *)args->dom->uuid, &ident) < 0)
            return -1;
        qemuDomainIdentClear(&ident);
    }
    if (addCallback(d, c, args->eventID, false, args->dom, &id) < 0)
        return -1;
    ret->callbackID = id;
    return 0;
}

int
dispatchConnectDomainEventCallbackDeregisterAny(
    daemonState *d, daemonConn *c, remote_connect_domain_event_callback_deregister_any_args *args)
{
    if (removeCallback(d, c, false, args->callbackID) < 0) {
        reportError(IOV_ERR_INVALID_ARG,
                    "no domain event callback %d registered on this connection", args->callbackID);
        return -1;
    }
    return 0;
}

int
dispatchConnectDomainEventRegisterAny(daemonState *d, daemonConn *c,
                                      remote_connect_domain_event_register_any_args *args)
{
    int id;

    return addCallback(d, c, args->eventID, true, NULL, &id);
}

int
dispatchConnectDomainEventDeregisterAny(daemonState *d, daemonConn *c,
                                        remote_connect_domain_event_deregister_any_args *args)
{
    if (removeCallback(d, c, true, args->eventID) < 0) {
        reportError(IOV_ERR_INTERNAL_ERROR, "domain event %d not registered", args->eventID);
        return -1;
    }
    return 0;
}

/* ---- delivery ---- */

/* The params of a tunable event: the disk, then its limits in libvirt's
 * order and names (group_name only when the disk is in a group). */
static void
tunableParams(const qemuDriverEvent *e, remote_domain_event_callback_tunable_msg *m)
{
    remote_typed_param *p = g_new0(remote_typed_param, THROTTLE_FIELD_LAST + 1);
    u_int n = 0;
    int k;

    p[n].field = g_strdup(IOV_DOMAIN_TUNABLE_BLKDEV_DISK);
    p[n].value.type = REMOTE_TYPED_PARAM_STRING;
    p[n].value.remote_typed_param_value_u.s = g_strdup(e->disk);
    n++;
    for (k = 0; k < THROTTLE_FIELD_LAST; k++) {
        int id = throttleLibvirtField(k);
        const iovThrottleField *f = throttleField(id);

        if (id == THROTTLE_GROUP && !(e->limits->group && *e->limits->group))
            continue;
        p[n].field = g_strconcat(IOV_DOMAIN_TUNABLE_BLKDEV_PREFIX, f->alias, NULL);
        p[n].value.type = f->type;
        if (id == THROTTLE_GROUP)
            p[n].value.remote_typed_param_value_u.s = g_strdup(e->limits->group);
        else
            p[n].value.remote_typed_param_value_u.ul = e->limits->v[id];
        n++;
    }
    m->params.params_val = p;
    m->params.params_len = n;
}

/* The packet of event `e` for callback `cb`, or NULL when that callback
 * has no message for it (the older registrations: lifecycle and reboot
 * only). */
static rpcMessage *
encodeEvent(const qemuDriverEvent *e, const daemonEventCallback *cb)
{
    rpcHeader hdr = {.prog = RPC_REMOTE_PROGRAM,
                     .vers = RPC_REMOTE_VERSION,
                     .type = RPC_MESSAGE,
                     .serial = 0,
                     .status = RPC_OK};
    remote_nonnull_domain dom = {.name = e->dom.name, .id = e->dom.id};
    rpcMessage *msg = NULL;

    memcpy(dom.uuid, e->dom.uuid, 16);
    switch (e->id) {
    case IOV_DOMAIN_EVENT_ID_LIFECYCLE: {
        remote_domain_event_callback_lifecycle_msg m = {
            .callbackID = cb->callbackID,
            .msg = {.dom = dom, .event = e->event, .detail = e->detail}};

        if (cb->legacy) {
            hdr.proc = REMOTE_PROC_DOMAIN_EVENT_LIFECYCLE;
            msg = rpcMessageEncode(&hdr, (xdrproc_t)xdr_remote_domain_event_lifecycle_msg, &m.msg);
        } else {
            hdr.proc = REMOTE_PROC_DOMAIN_EVENT_CALLBACK_LIFECYCLE;
            msg = rpcMessageEncode(&hdr, (xdrproc_t)xdr_remote_domain_event_callback_lifecycle_msg,
                                   &m);
        }
        break;
    }
    case IOV_DOMAIN_EVENT_ID_REBOOT: {
        remote_domain_event_callback_reboot_msg m = {.callbackID = cb->callbackID,
                                                     .msg = {.dom = dom}};

        if (cb->legacy) {
            hdr.proc = REMOTE_PROC_DOMAIN_EVENT_REBOOT;
            msg = rpcMessageEncode(&hdr, (xdrproc_t)xdr_remote_domain_event_reboot_msg, &m.msg);
        } else {
            hdr.proc = REMOTE_PROC_DOMAIN_EVENT_CALLBACK_REBOOT;
            msg =
                rpcMessageEncode(&hdr, (xdrproc_t)xdr_remote_domain_event_callback_reboot_msg, &m);
        }
        break;
    }
    case IOV_DOMAIN_EVENT_ID_TUNABLE: {
        remote_domain_event_callback_tunable_msg m = {.callbackID = cb->callbackID, .dom = dom};

        if (cb->legacy)
            return NULL;
        tunableParams(e, &m);
        hdr.proc = REMOTE_PROC_DOMAIN_EVENT_CALLBACK_TUNABLE;
        msg = rpcMessageEncode(&hdr, (xdrproc_t)xdr_remote_domain_event_callback_tunable_msg, &m);
        /* only the params are ours: the domain's strings are the event's */
        m.dom.name = NULL;
        xdr_free((xdrproc_t)xdr_remote_domain_event_callback_tunable_msg, (char *)&m);
        break;
    }
    case IOV_DOMAIN_EVENT_ID_DEVICE_REMOVED:
    case IOV_DOMAIN_EVENT_ID_DEVICE_ADDED: {
        bool added = e->id == IOV_DOMAIN_EVENT_ID_DEVICE_ADDED;
        remote_domain_event_callback_device_added_msg m = {
            .callbackID = cb->callbackID, .dom = dom, .devAlias = (char *)e->disk};

        /* the two messages have the same layout */
        if (cb->legacy)
            return NULL;
        hdr.proc = added ? REMOTE_PROC_DOMAIN_EVENT_CALLBACK_DEVICE_ADDED
                         : REMOTE_PROC_DOMAIN_EVENT_CALLBACK_DEVICE_REMOVED;
        msg = rpcMessageEncode(&hdr, (xdrproc_t)xdr_remote_domain_event_callback_device_added_msg,
                               &m);
        break;
    }
    default:
        return NULL;
    }
    if (!msg) {
        logError("cannot encode event %d of domain '%s': %s", e->id, e->dom.name,
                 utilLastErrorMessage());
        utilResetError();
    }
    return msg;
}

void
daemonEventsEmit(const qemuDriverEvent *e, void *opaque)
{
    daemonState *d = opaque;
    daemonEvents *ev = d->events;
    guint i;
    size_t k;

    if (!ev)
        return;
    g_mutex_lock(&ev->lock);
    for (i = 0; i < ev->conns->len;) {
        daemonConn *c = ev->conns->pdata[i];
        bool dropped = false;

        for (k = 0; k < c->ncallbacks && !dropped; k++) {
            const daemonEventCallback *cb = &c->callbacks[k];
            rpcMessage *msg;
            size_t queued = 0;

            if (cb->eventID != e->id || (cb->filtered && memcmp(cb->uuid, e->dom.uuid, 16) != 0))
                continue;
            if (!(msg = encodeEvent(e, cb)))
                continue;
            if (rpcServerClientSendEvent(c->client, msg, ev->queueMax, &queued) < 0) {
                logWarn(
                    "dropping client %p: it does not read its events (%zu bytes wait unread; the limit is %zu bytes of events)",
                    (void *)c->client, queued, ev->queueMax);
                dropped = true;
            }
        }
        if (dropped) {
            c->ncallbacks = 0;
            forgetConnLocked(ev, c);
        } else {
            i++;
        }
    }
    g_mutex_unlock(&ev->lock);
}
