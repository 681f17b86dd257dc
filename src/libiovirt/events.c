/*
 * events.c: the public entry points of domain events
 */
#include "libiovirt.h"
#include "remote/remote_driver.h"

#define IOV_FROM_THIS IOV_FROM_REMOTE

int
iovConnectDomainEventRegisterAny(iovConnectPtr conn, iovDomainPtr dom, int eventID,
                                 iovConnectDomainEventGenericCallback cb, void *opaque,
                                 iovFreeCallback freecb)
{
    ENTER_CONN(conn, -1);
    if (!cb) {
        reportError(IOV_ERR_INVALID_ARG, "no callback given to %s", __func__);
        return -1;
    }
    if (dom && dom->conn != conn) {
        reportError(IOV_ERR_INVALID_ARG, "the domain of %s belongs to another connection",
                    __func__);
        return -1;
    }
    return remoteEventRegister(conn, dom, eventID, cb, opaque, freecb);
}

int
iovConnectDomainEventDeregisterAny(iovConnectPtr conn, int callbackID)
{
    ENTER_CONN(conn, -1);
    return remoteEventDeregister(conn, callbackID);
}
