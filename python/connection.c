/*
 * connection.c: iovirt.Connection, a connection to an iovirt daemon
 *
 * A Connection owns one reference to its iovConnect. Each call that uses
 * the connection takes a reference of its own for its duration, so that a
 * close() from another thread never frees a connection in use: the C
 * connection closes when its last reference (this object's, a call's, or
 * a Domain handle's) is dropped.
 */
#include "iovirt-python.h"
#include "calls_gen.h"

#include <limits.h>
#include <stdlib.h>

/*
 * pyiovConnectionNew: wrap `conn`, taking over the caller's reference.
 * On failure the reference is dropped and NULL is returned with a Python
 * exception set.
 */
PyObject *
pyiovConnectionNew(iovConnectPtr conn)
{
    pyiovConnection *self = PyObject_New(pyiovConnection, &pyiovConnectionType);

    if (!self) {
        Py_BEGIN_ALLOW_THREADS
        iovConnectClose(conn);
        Py_END_ALLOW_THREADS
        return NULL;
    }
    self->conn = conn;
    self->readonly = iovConnectIsReadOnly(conn) == 1;
    if (!(self->uri = iovConnectGetURI(conn))) {
        Py_DECREF(self);
        return PyErr_NoMemory();
    }
    return (PyObject *)self;
}

/*
 * pyiovConnectionAcquire: a new reference to the connection for one call,
 * to be dropped with iovConnectClose once the call is over (the GIL may
 * be released meanwhile). Raises iovirt.Error (ERR_INVALID_CONN) and
 * returns NULL when the Connection is closed. Needs the GIL.
 */
iovConnectPtr
pyiovConnectionAcquire(pyiovConnection *self)
{
    if (!self->conn) {
        pyiovRaiseSimple(IOV_ERR_INVALID_CONN, IOV_FROM_NONE, "connection to '%s' is closed",
                         self->uri ? self->uri : "");
        return NULL;
    }
    iovConnectRef(self->conn);
    return self->conn;
}

/* Drop this object's reference (if not closed yet), with the GIL released
 * since the last reference sends a close to the daemon. Returns what
 * iovConnectClose returns: the references left, or -1 (*err filled). */
static int
connectionDrop(pyiovConnection *self, iovError *err)
{
    iovConnectPtr conn = self->conn;
    int ret;

    self->conn = NULL;
    if (!conn)
        return 0;
    Py_BEGIN_ALLOW_THREADS
    ret = iovConnectClose(conn);
    if (ret < 0 && err)
        iovCopyLastError(err);
    Py_END_ALLOW_THREADS
    return ret;
}

/* Free a Connection: its reference goes; live Domains keep the C
 * connection open through their own references. */
static void
connectionDealloc(pyiovConnection *self)
{
    connectionDrop(self, NULL);
    free(self->uri);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

/* repr(conn): the URI, the mode, and whether it is closed. */
static PyObject *
connectionRepr(pyiovConnection *self)
{
    return PyUnicode_FromFormat("<iovirt.Connection '%s' %s%s>", self->uri ? self->uri : "",
                                self->readonly ? "read-only" : "read-write",
                                self->conn ? "" : " closed");
}

/* close(): drop this object's reference; the number left, as libvirt's
 * close() returns. A second close() does nothing and returns 0. */
static PyObject *
connectionClose(pyiovConnection *self, PyObject *Py_UNUSED(ignored))
{
    iovError err = {0};
    int ret = connectionDrop(self, &err);

    if (ret < 0)
        return pyiovRaiseError(&err, "iovConnectClose");
    return PyLong_FromLong(ret);
}

/* __enter__: the connection itself. */
static PyObject *
connectionEnter(pyiovConnection *self, PyObject *Py_UNUSED(ignored))
{
    Py_INCREF(self);
    return (PyObject *)self;
}

/* __exit__: close(), letting any exception through. */
static PyObject *
connectionExit(pyiovConnection *self, PyObject *Py_UNUSED(args))
{
    iovError err = {0};

    if (connectionDrop(self, &err) < 0)
        return pyiovRaiseError(&err, "iovConnectClose");
    Py_RETURN_FALSE;
}

/* isClosed(): whether close() ran. */
static PyObject *
connectionIsClosed(pyiovConnection *self, PyObject *Py_UNUSED(ignored))
{
    return PyBool_FromLong(self->conn == NULL);
}

/* getURI(): the canonical URI (known locally, also after close()). */
static PyObject *
connectionGetURI(pyiovConnection *self, PyObject *Py_UNUSED(ignored))
{
    return PyUnicode_FromString(self->uri ? self->uri : "");
}

/* isReadOnly(): whether the connection was opened read-only. */
static PyObject *
connectionIsReadOnly(pyiovConnection *self, PyObject *Py_UNUSED(ignored))
{
    return PyBool_FromLong(self->readonly);
}

/* listAllDomains(flags=0): a list of Domain, sorted by name. */
static PyObject *
connectionListAllDomains(pyiovConnection *self, PyObject *args, PyObject *kwargs)
{
    static char *kwlist[] = {"flags", NULL};
    unsigned int flags = 0;
    iovConnectPtr conn;
    iovDomainPtr *doms = NULL;
    iovError err = {0};
    PyObject *list = NULL;
    int n;
    int i;

    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "|O&:listAllDomains", kwlist,
                                     pyiovFlagsConverter, &flags))
        return NULL;
    if (!(conn = pyiovConnectionAcquire(self)))
        return NULL;
    Py_BEGIN_ALLOW_THREADS
    n = iovConnectListAllDomains(conn, &doms, flags);
    if (n < 0)
        iovCopyLastError(&err);
    iovConnectClose(conn);
    Py_END_ALLOW_THREADS
    if (n < 0)
        return pyiovRaiseError(&err, "iovConnectListAllDomains");

    list = PyList_New(n);
    for (i = 0; i < n; i++) {
        PyObject *dom;

        if (!list) {
            iovDomainFree(doms[i]);
            continue;
        }
        /* pyiovDomainNew takes the handle, also on failure */
        if (!(dom = pyiovDomainNew(self, doms[i]))) {
            Py_CLEAR(list);
            continue;
        }
        PyList_SET_ITEM(list, i, dom);
    }
    free(doms);
    return list;
}

/* getAllDomainStats(stats=0, flags=0): [(Domain, {"group.key": value})],
 * one bulk call. */
static PyObject *
connectionGetAllDomainStats(pyiovConnection *self, PyObject *args, PyObject *kwargs)
{
    static char *kwlist[] = {"stats", "flags", NULL};
    unsigned int stats = 0, flags = 0;
    iovConnectPtr conn;
    iovDomainStatsRecordPtr *recs = NULL;
    iovError err = {0};
    PyObject *list;
    int n, i;

    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "|O&O&:getAllDomainStats", kwlist,
                                     pyiovFlagsConverter, &stats, pyiovFlagsConverter, &flags))
        return NULL;
    if (!(conn = pyiovConnectionAcquire(self)))
        return NULL;
    Py_BEGIN_ALLOW_THREADS
    n = iovConnectGetAllDomainStats(conn, stats, &recs, flags);
    if (n < 0)
        iovCopyLastError(&err);
    iovConnectClose(conn);
    Py_END_ALLOW_THREADS
    if (n < 0)
        return pyiovRaiseError(&err, "iovConnectGetAllDomainStats");

    list = PyList_New(n);
    for (i = 0; list && i < n; i++) {
        PyObject *dict = pyiovParamsToDict(recs[i]->params, recs[i]->nparams);
        PyObject *dom;

        /* pyiovDomainNew takes the handle, also on failure */
        dom = pyiovDomainNew(self, recs[i]->dom);
        recs[i]->dom = NULL;
        if (!dict || !dom) {
            Py_XDECREF(dict);
            Py_XDECREF(dom);
            Py_CLEAR(list);
            break;
        }
        PyList_SET_ITEM(list, i, Py_BuildValue("(NN)", dom, dict));
    }
    iovDomainStatsRecordListFree(recs);
    return list;
}

/* The common end of the calls that return one new domain handle. */
static PyObject *
connectionDomainResult(pyiovConnection *self, iovDomainPtr dom, iovError *err, const char *func)
{
    if (!dom)
        return pyiovRaiseError(err, func);
    return pyiovDomainNew(self, dom);
}

/* lookupByUUIDString(uuid) */
static PyObject *
connectionLookupByUUIDString(pyiovConnection *self, PyObject *args)
{
    const char *uuid;
    iovConnectPtr conn;
    iovDomainPtr dom;
    iovError err = {0};

    if (!PyArg_ParseTuple(args, "s:lookupByUUIDString", &uuid))
        return NULL;
    if (!(conn = pyiovConnectionAcquire(self)))
        return NULL;
    Py_BEGIN_ALLOW_THREADS
    dom = iovDomainLookupByUUIDString(conn, uuid);
    if (!dom)
        iovCopyLastError(&err);
    iovConnectClose(conn);
    Py_END_ALLOW_THREADS
    return connectionDomainResult(self, dom, &err, "iovDomainLookupByUUIDString");
}

/* lookupByUUID(uuid: bytes of length 16) */
static PyObject *
connectionLookupByUUID(pyiovConnection *self, PyObject *args)
{
    const char *uuid;
    Py_ssize_t len;
    unsigned char raw[16];
    iovConnectPtr conn;
    iovDomainPtr dom;
    iovError err = {0};

    if (!PyArg_ParseTuple(args, "y#:lookupByUUID", &uuid, &len))
        return NULL;
    if (len != (Py_ssize_t)sizeof(raw)) {
        PyErr_Format(PyExc_ValueError, "uuid must be %d bytes long, not %zd", (int)sizeof(raw),
                     len);
        return NULL;
    }
    memcpy(raw, uuid, sizeof(raw));
    if (!(conn = pyiovConnectionAcquire(self)))
        return NULL;
    Py_BEGIN_ALLOW_THREADS
    dom = iovDomainLookupByUUID(conn, raw);
    if (!dom)
        iovCopyLastError(&err);
    iovConnectClose(conn);
    Py_END_ALLOW_THREADS
    return connectionDomainResult(self, dom, &err, "iovDomainLookupByUUID");
}

static PyMethodDef connectionMethods[] = {
    {"newStream", PYIOV_KWFUNC(pyiovConnectionNewStream), METH_VARARGS | METH_KEYWORDS,
     "newStream($self, /, flags=0)\n--\n\n"
     "A new Stream of this connection, for Domain.openConsole(). flags:\n"
     "STREAM_NONBLOCK makes recv() return None instead of waiting."},
    {"domainEventRegisterAny", (PyCFunction)pyiovConnectionDomainEventRegisterAny, METH_VARARGS,
     "domainEventRegisterAny($self, dom, eventID, callback, opaque=None, /)\n--\n\n"
     "Call callback for each event eventID (DOMAIN_EVENT_ID_LIFECYCLE, _REBOOT,\n"
     "_TUNABLE) of dom, or of every domain when dom is None, and return the\n"
     "callback id. The callback runs on a thread of the library (no event\n"
     "loop to run), with the arguments python3-libvirt gives:\n"
     "  LIFECYCLE callback(conn, dom, event, detail, opaque)\n"
     "  REBOOT    callback(conn, dom, opaque)\n"
     "  TUNABLE   callback(conn, dom, params, opaque), params a dict of\n"
     "            blkdeviotune.disk and the disk's limits now in force.\n"
     "  DEVICE_ADDED, DEVICE_REMOVED  callback(conn, dom, devAlias, opaque):\n"
     "            a disk was hot-plugged or left the guest ('disk-vdb').\n"
     "Read-only connections may register."},
    {"domainEventDeregisterAny", (PyCFunction)pyiovConnectionDomainEventDeregisterAny, METH_VARARGS,
     "domainEventDeregisterAny($self, callbackID, /)\n--\n\n"
     "Stop the callback callbackID; raises iovirt.Error when there is none."},
    {"close", (PyCFunction)connectionClose, METH_NOARGS,
     "close($self, /)\n--\n\n"
     "Drop this object's hold on the connection and return the number of\n"
     "holds left (Domain objects keep the connection open until they go).\n"
     "Later calls on this object raise iovirt.Error; a second close() does\n"
     "nothing and returns 0."},
    {"__enter__", (PyCFunction)connectionEnter, METH_NOARGS,
     "__enter__($self, /)\n--\n\nReturn the connection itself."},
    {"__exit__", (PyCFunction)connectionExit, METH_VARARGS,
     "__exit__($self, exc_type, exc_value, traceback, /)\n--\n\nClose the connection."},
    {"isClosed", (PyCFunction)connectionIsClosed, METH_NOARGS,
     "isClosed($self, /)\n--\n\nTrue once close() has run."},
    {"getURI", (PyCFunction)connectionGetURI, METH_NOARGS,
     "getURI($self, /)\n--\n\nThe canonical URI: 'iovirt:///system' or 'iovirt:///session'."},
    {"isReadOnly", (PyCFunction)connectionIsReadOnly, METH_NOARGS,
     "isReadOnly($self, /)\n--\n\nTrue for a connection opened with openReadOnly()."},
    {"getHostname", (PyCFunction)pyiovConnectionGetHostname, METH_NOARGS,
     "getHostname($self, /)\n--\n\nThe host name of the daemon's machine."},
    {"getVersion", (PyCFunction)pyiovConnectionGetVersion, METH_NOARGS,
     "getVersion($self, /)\n--\n\n"
     "QEMU's version as major * 1000000 + minor * 1000 + micro."},
    {"getLibVersion", (PyCFunction)pyiovConnectionGetLibVersion, METH_NOARGS,
     "getLibVersion($self, /)\n--\n\n"
     "The daemon's iovirt version as major * 1000000 + minor * 1000 + micro."},
    {"listAllDomains", PYIOV_KWFUNC(connectionListAllDomains), METH_VARARGS | METH_KEYWORDS,
     "listAllDomains($self, /, flags=0)\n--\n\n"
     "The domains, sorted by name, as a list of Domain. flags: 0 for all, or\n"
     "iovirt.LIST_DOMAINS_* (ACTIVE, INACTIVE, RUNNING, PAUSED, SHUTOFF, ...)."},
    {"getAllDomainStats", PYIOV_KWFUNC(connectionGetAllDomainStats), METH_VARARGS | METH_KEYWORDS,
     "getAllDomainStats($self, /, stats=0, flags=0)\n--\n\n"
     "The statistics of every domain matching flags (iovirt.LIST_DOMAINS_*,\n"
     "0 for all) in one call, as a list of (Domain, dict) sorted by name.\n"
     "stats: iovirt.DOMAIN_STATS_* (STATE, CPU_TOTAL, BLOCK, IOTHROTTLE), 0\n"
     "for all; keys are 'group.key', as libvirt's ('block.0.rd.bytes'), and\n"
     "'iothrottle.N.FIELD' for each disk's limits in force."},
    {"lookupByName", (PyCFunction)pyiovConnectionLookupByName, METH_VARARGS,
     "lookupByName($self, name, /)\n--\n\n"
     "The Domain called name; iovirt.Error (ERR_NO_DOMAIN) if there is none."},
    {"lookupByUUIDString", (PyCFunction)connectionLookupByUUIDString, METH_VARARGS,
     "lookupByUUIDString($self, uuid, /)\n--\n\n"
     "The Domain whose uuid is the text uuid (with or without dashes)."},
    {"lookupByUUID", (PyCFunction)connectionLookupByUUID, METH_VARARGS,
     "lookupByUUID($self, uuid, /)\n--\n\nThe Domain whose uuid is the 16 bytes uuid."},
    {"lookupByID", (PyCFunction)pyiovConnectionLookupByID, METH_VARARGS,
     "lookupByID($self, id, /)\n--\n\nThe running Domain whose id is id."},
    {"defineXML", (PyCFunction)pyiovConnectionDefineXML, METH_VARARGS,
     "defineXML($self, xml, /)\n--\n\n"
     "Define a domain from its XML (docs/formatdomain.md), or replace the\n"
     "persistent definition of the domain of that name, and return it. A\n"
     "running guest keeps its live state until it restarts."},
    {NULL, NULL, 0, NULL},
};

PyTypeObject pyiovConnectionType = {
    /* PyVarObject_HEAD_INIT ends in a comma clang-format cannot see */
    /* clang-format off */
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "iovirt.Connection",
    /* clang-format on */
    .tp_basicsize = sizeof(pyiovConnection),
    .tp_dealloc = (destructor)connectionDealloc,
    .tp_repr = (reprfunc)connectionRepr,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "A connection to an iovirt daemon, made by iovirt.open() or\n"
              "iovirt.openReadOnly().\n\n"
              "A context manager: ``with iovirt.open() as conn:`` closes it at the end.\n"
              "It may be used by several threads at once; calls release the GIL\n"
              "while they wait on the daemon.",
    .tp_methods = connectionMethods,
};
