/*
 * events.c: Connection.domainEventRegisterAny / domainEventDeregisterAny
 *
 * The library calls the callbacks on a thread of its own (one per
 * connection); each call takes the GIL, builds the Domain and calls the
 * Python callable, as python3-libvirt's callbacks are called, but with no
 * event loop for the caller to run. An exception in a callback is
 * reported as unraisable and does not stop later events.
 */
#include "iovirt-python.h"

/* What one registration keeps: strong references, dropped (with the GIL)
 * when the library frees the registration. */
typedef struct {
    PyObject *conn; /* the Connection */
    PyObject *callable;
    PyObject *opaque;
} pyiovEventCb;

static void
eventCbFree(void *data)
{
    pyiovEventCb *e = data;
    PyGILState_STATE g = PyGILState_Ensure();

    Py_XDECREF(e->conn);
    Py_XDECREF(e->callable);
    Py_XDECREF(e->opaque);
    PyMem_RawFree(e);
    PyGILState_Release(g);
}

/* Call e->callable(conn, Domain(dom), *middle, opaque); the GIL is held.
 * `middle` (a tuple, taken over) may be NULL. */
static void
callBack(pyiovEventCb *e, iovDomainPtr dom, PyObject *middle)
{
    PyObject *pydom, *args, *res;
    Py_ssize_t n = middle ? PyTuple_Size(middle) : 0, i;

    iovDomainRef(dom);
    if (!(pydom = pyiovDomainNew((pyiovConnection *)e->conn, dom))) {
        Py_XDECREF(middle);
        PyErr_WriteUnraisable(e->callable);
        return;
    }
    args = PyTuple_New(3 + n);
    Py_INCREF(e->conn);
    PyTuple_SET_ITEM(args, 0, e->conn);
    PyTuple_SET_ITEM(args, 1, pydom);
    for (i = 0; i < n; i++) {
        PyObject *v = PyTuple_GET_ITEM(middle, i);

        Py_INCREF(v);
        PyTuple_SET_ITEM(args, 2 + i, v);
    }
    Py_INCREF(e->opaque);
    PyTuple_SET_ITEM(args, 2 + n, e->opaque);
    Py_XDECREF(middle);
    res = PyObject_CallObject(e->callable, args);
    Py_DECREF(args);
    if (!res)
        PyErr_WriteUnraisable(e->callable);
    Py_XDECREF(res);
}

static void
onLifecycle(iovConnectPtr Py_UNUSED(conn), iovDomainPtr dom, int event, int detail, void *opaque)
{
    PyGILState_STATE g = PyGILState_Ensure();

    callBack(opaque, dom, Py_BuildValue("(ii)", event, detail));
    PyGILState_Release(g);
}

static void
onReboot(iovConnectPtr Py_UNUSED(conn), iovDomainPtr dom, void *opaque)
{
    PyGILState_STATE g = PyGILState_Ensure();

    callBack(opaque, dom, NULL);
    PyGILState_Release(g);
}

static void
onTunable(iovConnectPtr Py_UNUSED(conn), iovDomainPtr dom, iovTypedParameterPtr params, int n,
          void *opaque)
{
    PyGILState_STATE g = PyGILState_Ensure();
    PyObject *d = PyDict_New();
    int i;

    for (i = 0; d && i < n; i++) {
        PyObject *v = params[i].type == IOV_TYPED_PARAM_STRING
                          ? PyUnicode_FromString(params[i].value.s)
                          : PyLong_FromUnsignedLongLong(params[i].value.ul);

        if (!v || PyDict_SetItemString(d, params[i].field, v) < 0)
            Py_CLEAR(d);
        Py_XDECREF(v);
    }
    if (d)
        callBack(opaque, dom, Py_BuildValue("(N)", d));
    else
        PyErr_WriteUnraisable(((pyiovEventCb *)opaque)->callable);
    PyGILState_Release(g);
}

static void
onDevice(iovConnectPtr Py_UNUSED(conn), iovDomainPtr dom, const char *devAlias, void *opaque)
{
    PyGILState_STATE g = PyGILState_Ensure();

    callBack(opaque, dom, Py_BuildValue("(s)", devAlias));
    PyGILState_Release(g);
}

/* Connection.domainEventRegisterAny(dom, eventID, callback, opaque=None) */
PyObject *
pyiovConnectionDomainEventRegisterAny(pyiovConnection *self, PyObject *args)
{
    PyObject *pydom, *callable, *opaque = Py_None;
    iovDomainPtr dom = NULL;
    iovConnectDomainEventGenericCallback cb;
    iovConnectPtr conn;
    pyiovEventCb *e;
    iovError err = {0};
    int eventID, id;

    if (!PyArg_ParseTuple(args, "OiO|O:domainEventRegisterAny", &pydom, &eventID, &callable,
                          &opaque))
        return NULL;
    if (pydom != Py_None && !PyObject_TypeCheck(pydom, &pyiovDomainType))
        return PyErr_Format(PyExc_TypeError, "dom must be a Domain or None");
    if (!PyCallable_Check(callable))
        return PyErr_Format(PyExc_TypeError, "callback must be callable");
    switch (eventID) {
    case IOV_DOMAIN_EVENT_ID_LIFECYCLE:
        cb = IOV_DOMAIN_EVENT_CALLBACK(onLifecycle);
        break;
    case IOV_DOMAIN_EVENT_ID_REBOOT:
        cb = IOV_DOMAIN_EVENT_CALLBACK(onReboot);
        break;
    case IOV_DOMAIN_EVENT_ID_TUNABLE:
        cb = IOV_DOMAIN_EVENT_CALLBACK(onTunable);
        break;
    case IOV_DOMAIN_EVENT_ID_DEVICE_ADDED:
    case IOV_DOMAIN_EVENT_ID_DEVICE_REMOVED:
        cb = IOV_DOMAIN_EVENT_CALLBACK(onDevice);
        break;
    default:
        return pyiovRaiseSimple(IOV_ERR_INVALID_ARG, IOV_FROM_NONE, "unsupported event ID %d",
                                eventID);
    }
    if (pydom != Py_None)
        dom = ((pyiovDomain *)pydom)->dom;
    if (!(conn = pyiovConnectionAcquire(self)))
        return NULL;
    e = PyMem_RawMalloc(sizeof(*e));
    Py_INCREF(self);
    Py_INCREF(callable);
    Py_INCREF(opaque);
    e->conn = (PyObject *)self;
    e->callable = callable;
    e->opaque = opaque;
    Py_BEGIN_ALLOW_THREADS
    id = iovConnectDomainEventRegisterAny(conn, dom, eventID, cb, e, eventCbFree);
    if (id < 0)
        iovCopyLastError(&err);
    iovConnectClose(conn);
    Py_END_ALLOW_THREADS
    if (id < 0) {
        Py_DECREF(self);
        Py_DECREF(callable);
        Py_DECREF(opaque);
        PyMem_RawFree(e);
        return pyiovRaiseError(&err, "iovConnectDomainEventRegisterAny");
    }
    return PyLong_FromLong(id);
}

/* Connection.domainEventDeregisterAny(callbackID) */
PyObject *
pyiovConnectionDomainEventDeregisterAny(pyiovConnection *self, PyObject *args)
{
    iovConnectPtr conn;
    iovError err = {0};
    int id, rc;

    if (!PyArg_ParseTuple(args, "i:domainEventDeregisterAny", &id))
        return NULL;
    if (!(conn = pyiovConnectionAcquire(self)))
        return NULL;
    Py_BEGIN_ALLOW_THREADS
    rc = iovConnectDomainEventDeregisterAny(conn, id);
    if (rc < 0)
        iovCopyLastError(&err);
    iovConnectClose(conn);
    Py_END_ALLOW_THREADS
    if (rc < 0)
        return pyiovRaiseError(&err, "iovConnectDomainEventDeregisterAny");
    Py_RETURN_NONE;
}
