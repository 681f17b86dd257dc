/*
 * module.c: the iovirt Python module: its functions, constants and the
 * iovirt.Error exception
 *
 * The module uses the public C API only. Connection and Domain live in
 * connection.c and domain.c, the throttle field table and the limits in
 * throttle.c.
 */
#include "iovirt-python.h"

#include <limits.h>
#include <stdarg.h>
#include <structmember.h>

PyMODINIT_FUNC PyInit_iovirt(void);

/* ------------------------------------------------------------------ */
/* iovirt.Error                                                        */
/* ------------------------------------------------------------------ */

/*
 * An iovirt.Error: an Exception whose args are (message,), plus the fields
 * of the library's iovError. The string fields are owned references, None
 * when the library gave none (message is never NULL after __init__).
 */
typedef struct {
    PyBaseExceptionObject base;
    PyObject *message;
    int code;
    int domain;
    int level;
    PyObject *str1;
    PyObject *str2;
    PyObject *str3;
    int int1;
    int int2;
} pyiovErrorObject;

/* Visit the objects an Error holds, its own and those of Exception. */
static int
errorTraverse(pyiovErrorObject *self, visitproc visit, void *arg)
{
    Py_VISIT(self->message);
    Py_VISIT(self->str1);
    Py_VISIT(self->str2);
    Py_VISIT(self->str3);
    return ((PyTypeObject *)PyExc_Exception)->tp_traverse((PyObject *)self, visit, arg);
}

/* Drop the objects an Error holds (for the cycle collector and dealloc). */
static int
errorClear(pyiovErrorObject *self)
{
    Py_CLEAR(self->message);
    Py_CLEAR(self->str1);
    Py_CLEAR(self->str2);
    Py_CLEAR(self->str3);
    return ((PyTypeObject *)PyExc_Exception)->tp_clear((PyObject *)self);
}

/* Free an Error: our fields, then Exception's deallocation does the rest. */
static void
errorDealloc(pyiovErrorObject *self)
{
    PyObject_GC_UnTrack(self);
    Py_CLEAR(self->message);
    Py_CLEAR(self->str1);
    Py_CLEAR(self->str2);
    Py_CLEAR(self->str3);
    ((PyTypeObject *)PyExc_Exception)->tp_dealloc((PyObject *)self);
}

/*
 * Error(message, code=ERR_INTERNAL_ERROR, domain=FROM_NONE, level=ERR_ERROR):
 * what the module raises; programs may raise it too (in test doubles).
 * str(error) is the message.
 */
static int
errorInit(pyiovErrorObject *self, PyObject *args, PyObject *kwargs)
{
    static char *kwlist[] = {"message", "code", "domain", "level", NULL};
    PyObject *message;
    PyObject *baseArgs;
    int code = IOV_ERR_INTERNAL_ERROR;
    int domain = IOV_FROM_NONE;
    int level = IOV_ERR_ERROR;
    int ret;

    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "U|iii:Error", kwlist, &message, &code, &domain,
                                     &level))
        return -1;
    if (!(baseArgs = PyTuple_Pack(1, message)))
        return -1;
    ret = ((PyTypeObject *)PyExc_Exception)->tp_init((PyObject *)self, baseArgs, NULL);
    Py_DECREF(baseArgs);
    if (ret < 0)
        return -1;
    Py_INCREF(message);
    Py_XSETREF(self->message, message);
    self->code = code;
    self->domain = domain;
    self->level = level;
    return 0;
}

/* Error.__reduce__: pickle as Error(message, code, domain, level). */
static PyObject *
errorReduce(pyiovErrorObject *self, PyObject *Py_UNUSED(ignored))
{
    return Py_BuildValue("O(Oiii)", (PyObject *)Py_TYPE(self),
                         self->message ? self->message : Py_None, self->code, self->domain,
                         self->level);
}

/* get_error_code() and friends: libvirt-python's accessors, so that code
 * written for libvirt.libvirtError works unchanged. */
static PyObject *
errorGetCode(pyiovErrorObject *self, PyObject *Py_UNUSED(ignored))
{
    return PyLong_FromLong(self->code);
}

/* get_error_domain() */
static PyObject *
errorGetDomain(pyiovErrorObject *self, PyObject *Py_UNUSED(ignored))
{
    return PyLong_FromLong(self->domain);
}

/* get_error_message() */
static PyObject *
errorGetMessage(pyiovErrorObject *self, PyObject *Py_UNUSED(ignored))
{
    PyObject *m = self->message ? self->message : Py_None;

    Py_INCREF(m);
    return m;
}

/* get_error_level() */
static PyObject *
errorGetLevel(pyiovErrorObject *self, PyObject *Py_UNUSED(ignored))
{
    return PyLong_FromLong(self->level);
}

static PyMethodDef errorMethods[] = {
    {"get_error_code", (PyCFunction)errorGetCode, METH_NOARGS,
     "get_error_code($self, /)\n--\n\nThe error code (iovirt.ERR_*), as libvirtError has it."},
    {"get_error_domain", (PyCFunction)errorGetDomain, METH_NOARGS,
     "get_error_domain($self, /)\n--\n\nWhere the error comes from (iovirt.FROM_*)."},
    {"get_error_message", (PyCFunction)errorGetMessage, METH_NOARGS,
     "get_error_message($self, /)\n--\n\nThe error message (the same as str(error))."},
    {"get_error_level", (PyCFunction)errorGetLevel, METH_NOARGS,
     "get_error_level($self, /)\n--\n\nThe severity (iovirt.ERR_ERROR or ERR_WARNING)."},
    {"__reduce__", (PyCFunction)errorReduce, METH_NOARGS, "Support for pickle."},
    {NULL, NULL, 0, NULL},
};

static PyMemberDef errorMembers[] = {
    {"message", T_OBJECT, offsetof(pyiovErrorObject, message), READONLY,
     "the full message, as every iovirt tool prints it"},
    {"code", T_INT, offsetof(pyiovErrorObject, code), READONLY,
     "what went wrong: one of iovirt.ERR_* (libvirt's virErrorNumber values)"},
    {"domain", T_INT, offsetof(pyiovErrorObject, domain), READONLY,
     "where it went wrong: one of iovirt.FROM_* (libvirt's virErrorDomain values)"},
    {"level", T_INT, offsetof(pyiovErrorObject, level), READONLY,
     "severity: iovirt.ERR_ERROR or iovirt.ERR_WARNING"},
    {"str1", T_OBJECT, offsetof(pyiovErrorObject, str1), READONLY, "extra information, or None"},
    {"str2", T_OBJECT, offsetof(pyiovErrorObject, str2), READONLY, "extra information, or None"},
    {"str3", T_OBJECT, offsetof(pyiovErrorObject, str3), READONLY, "extra information, or None"},
    {"int1", T_INT, offsetof(pyiovErrorObject, int1), READONLY, "extra information"},
    {"int2", T_INT, offsetof(pyiovErrorObject, int2), READONLY, "extra information"},
    {NULL, 0, 0, 0, NULL},
};

PyTypeObject pyiovErrorType = {
    /* PyVarObject_HEAD_INIT ends in a comma clang-format cannot see */
    /* clang-format off */
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "iovirt.Error",
    /* clang-format on */
    .tp_basicsize = sizeof(pyiovErrorObject),
    .tp_dealloc = (destructor)errorDealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE | Py_TPFLAGS_HAVE_GC,
    .tp_doc = "Error(message, code=ERR_INTERNAL_ERROR, domain=FROM_NONE, level=ERR_ERROR)\n"
              "--\n\n"
              "Raised by every iovirt call that fails in the library or the daemon.\n\n"
              "It carries the error exactly as the daemon sent it, so Python shows the\n"
              "same text as iovsh and virsh: ``message`` (also ``str(error)``), ``code``\n"
              "(iovirt.ERR_*), ``domain`` (iovirt.FROM_*) and ``level``.\n"
              "Wrong argument types and values are refused before any call with\n"
              "TypeError and ValueError instead.",
    .tp_traverse = (traverseproc)errorTraverse,
    .tp_clear = (inquiry)errorClear,
    .tp_methods = errorMethods,
    .tp_members = errorMembers,
    .tp_init = (initproc)errorInit,
};

/* A str from library text, never failing on bad UTF-8; None for NULL. */
static PyObject *
textOrNone(const char *s)
{
    if (!s)
        Py_RETURN_NONE;
    return PyUnicode_DecodeUTF8(s, (Py_ssize_t)strlen(s), "replace");
}

/*
 * pyiovRaiseError: raise iovirt.Error from an error copied from the library
 * (iovCopyLastError) and clear *err. `func` names the C function, for the
 * message used when the library recorded no error. Always returns NULL.
 */
PyObject *
pyiovRaiseError(iovError *err, const char *func)
{
    PyObject *message;
    PyObject *exc;
    pyiovErrorObject *e;

    if (err->code == IOV_ERR_OK || !err->message)
        message = PyUnicode_FromFormat("%s failed and recorded no error", func);
    else
        message = textOrNone(err->message);
    if (!message) {
        iovResetError(err);
        return NULL;
    }
    exc = PyObject_CallFunction((PyObject *)&pyiovErrorType, "Oiii", message,
                                err->code == IOV_ERR_OK ? IOV_ERR_INTERNAL_ERROR : err->code,
                                err->domain, err->level ? err->level : IOV_ERR_ERROR);
    Py_DECREF(message);
    if (!exc) {
        iovResetError(err);
        return NULL;
    }
    e = (pyiovErrorObject *)exc;
    if (!(e->str1 = textOrNone(err->str1)) || !(e->str2 = textOrNone(err->str2)) ||
        !(e->str3 = textOrNone(err->str3))) {
        Py_DECREF(exc);
        iovResetError(err);
        return NULL;
    }
    e->int1 = err->int1;
    e->int2 = err->int2;
    iovResetError(err);
    PyErr_SetObject((PyObject *)&pyiovErrorType, exc);
    Py_DECREF(exc);
    return NULL;
}

/*
 * pyiovRaiseSimple: raise iovirt.Error for a failure the module itself
 * finds (a closed connection), with a PyUnicode_FromFormat message.
 * Always returns NULL.
 */
PyObject *
pyiovRaiseSimple(int code, int domain, const char *fmt, ...)
{
    PyObject *message;
    PyObject *exc;
    va_list ap;

    va_start(ap, fmt);
    message = PyUnicode_FromFormatV(fmt, ap);
    va_end(ap);
    if (!message)
        return NULL;
    exc = PyObject_CallFunction((PyObject *)&pyiovErrorType, "Oii", message, code, domain);
    Py_DECREF(message);
    if (!exc)
        return NULL;
    PyErr_SetObject((PyObject *)&pyiovErrorType, exc);
    Py_DECREF(exc);
    return NULL;
}

/* ------------------------------------------------------------------ */
/* Argument conversion                                                 */
/* ------------------------------------------------------------------ */

/*
 * pyiovToUnsigned: convert `obj` to an integer from 0 to `max`. Any int
 * (or object with __index__) is accepted except bool: TypeError for other
 * types, ValueError for a value out of range. `what` names the argument
 * in the messages ("flags", "disk 'vda': bps"). Returns 0 or -1.
 */
int
pyiovToUnsigned(PyObject *obj, const char *what, unsigned long long max, unsigned long long *out)
{
    PyObject *num;
    unsigned long long v = 0;
    long long sv;
    int overflow;
    int inRange = 1;

    if (PyBool_Check(obj) || !PyIndex_Check(obj)) {
        PyErr_Format(PyExc_TypeError, "%s must be an int, not %.100s", what, Py_TYPE(obj)->tp_name);
        return -1;
    }
    if (!(num = PyNumber_Index(obj)))
        return -1;
    /* overflow is -1 below LLONG_MIN, 1 above LLONG_MAX */
    sv = PyLong_AsLongLongAndOverflow(num, &overflow);
    if (sv == -1 && !overflow && PyErr_Occurred()) {
        Py_DECREF(num);
        return -1;
    }
    if (overflow < 0 || (!overflow && sv < 0)) {
        inRange = 0;
    } else {
        v = PyLong_AsUnsignedLongLong(num);
        if (v == (unsigned long long)-1 && PyErr_Occurred()) {
            if (!PyErr_ExceptionMatches(PyExc_OverflowError)) {
                Py_DECREF(num);
                return -1;
            }
            PyErr_Clear();
            inRange = 0;
        }
    }
    if (!inRange || v > max) {
        PyErr_Format(PyExc_ValueError, "%s must be an integer from 0 to %llu, not %R", what, max,
                     num);
        Py_DECREF(num);
        return -1;
    }
    Py_DECREF(num);
    *out = v;
    return 0;
}

/* pyiovFlagsConverter: an "O&" converter of a flags argument to an
 * unsigned int (see pyiovToUnsigned). */
int
pyiovFlagsConverter(PyObject *obj, void *out)
{
    unsigned long long v;

    if (pyiovToUnsigned(obj, "flags", UINT_MAX, &v) < 0)
        return 0;
    *(unsigned int *)out = (unsigned int)v;
    return 1;
}

/* ------------------------------------------------------------------ */
/* Module functions                                                    */
/* ------------------------------------------------------------------ */

/* Open a connection (read-only or not) to the daemon at `uri`, NULL
 * meaning the default, with the GIL released: a session daemon may be
 * started on demand, which takes a while. */
static PyObject *
moduleOpen(PyObject *args, PyObject *kwargs, const char *format, int readonly)
{
    static char *kwlist[] = {"uri", NULL};
    const char *uri = NULL;
    iovConnectPtr conn;
    iovError err = {0};

    if (!PyArg_ParseTupleAndKeywords(args, kwargs, format, kwlist, &uri))
        return NULL;
    Py_BEGIN_ALLOW_THREADS
    conn = readonly ? iovConnectOpenReadOnly(uri) : iovConnectOpen(uri);
    if (!conn)
        iovCopyLastError(&err);
    Py_END_ALLOW_THREADS
    if (!conn)
        return pyiovRaiseError(&err, readonly ? "iovConnectOpenReadOnly" : "iovConnectOpen");
    return pyiovConnectionNew(conn);
}

/* iovirt.open(uri=None) */
static PyObject *
moduleOpenReadWrite(PyObject *Py_UNUSED(module), PyObject *args, PyObject *kwargs)
{
    return moduleOpen(args, kwargs, "|z:open", 0);
}

/* iovirt.openReadOnly(uri=None) */
static PyObject *
moduleOpenReadOnly(PyObject *Py_UNUSED(module), PyObject *args, PyObject *kwargs)
{
    return moduleOpen(args, kwargs, "|z:openReadOnly", 1);
}

/* iovirt.parseSize(text): iovParseSize, a local computation. */
static PyObject *
moduleParseSize(PyObject *Py_UNUSED(module), PyObject *args)
{
    const char *text;
    unsigned long long value;
    iovError err = {0};

    if (!PyArg_ParseTuple(args, "s:parseSize", &text))
        return NULL;
    if (iovParseSize(text, &value) < 0) {
        iovCopyLastError(&err);
        return pyiovRaiseError(&err, "iovParseSize");
    }
    return PyLong_FromUnsignedLongLong(value);
}

/* iovirt.throttleFields() */
static PyObject *
moduleThrottleFields(PyObject *Py_UNUSED(module), PyObject *Py_UNUSED(ignored))
{
    return pyiovThrottleFields();
}

static PyMethodDef moduleMethods[] = {
    {"open", PYIOV_KWFUNC(moduleOpenReadWrite), METH_VARARGS | METH_KEYWORDS,
     "open(uri=None)\n--\n\n"
     "Open a read-write connection to an iovirt daemon and return a Connection.\n\n"
     "uri: 'iovirt:///system', 'iovirt:///session' (started on demand),\n"
     "'iovirt+unix:///session?socket=PATH'; None means $IOVIRT_DEFAULT_URI,\n"
     "else the system daemon for root and the session daemon for others.\n"
     "Raises iovirt.Error when the daemon cannot be reached."},
    {"openReadOnly", PYIOV_KWFUNC(moduleOpenReadOnly), METH_VARARGS | METH_KEYWORDS,
     "openReadOnly(uri=None)\n--\n\n"
     "Open a read-only connection: it may read domains, state and limits, and\n"
     "change nothing (the daemon refuses with iovirt.ERR_OPERATION_DENIED)."},
    {"parseSize", (PyCFunction)moduleParseSize, METH_VARARGS,
     "parseSize(text, /)\n--\n\n"
     "Parse a size as iovsh and virsh do: '1048576', '1M' or '1MiB' (powers of\n"
     "1024), '1MB' (powers of 1000), case-insensitive. Returns an int; raises\n"
     "iovirt.Error (ERR_INVALID_ARG or ERR_OVERFLOW) naming the text."},
    {"throttleFields", (PyCFunction)moduleThrottleFields, METH_NOARGS,
     "throttleFields()\n--\n\n"
     "The throttle field table, in table order: a tuple of ThrottleField, one\n"
     "per field (name, libvirt alias, QEMU key, family, type, unit, help, ...).\n"
     "Domain.blockIoThrottle() returns one entry per field, in this order."},
    {NULL, NULL, 0, NULL},
};

/* The integer constants: the public header's values under shorter names. */
static const struct {
    const char *name;
    long value;
} constants[] = {
    /* where a change applies */
    {"AFFECT_CURRENT", IOV_DOMAIN_AFFECT_CURRENT},
    {"AFFECT_LIVE", IOV_DOMAIN_AFFECT_LIVE},
    {"AFFECT_CONFIG", IOV_DOMAIN_AFFECT_CONFIG},
    /* Domain.create() */
    {"START_PAUSED", IOV_DOMAIN_START_PAUSED},
    /* Domain.qemuMonitorCommand(), Domain.getMessages() */
    {"DOMAIN_QEMU_MONITOR_COMMAND_DEFAULT", IOV_DOMAIN_QEMU_MONITOR_COMMAND_DEFAULT},
    {"DOMAIN_QEMU_MONITOR_COMMAND_HMP", IOV_DOMAIN_QEMU_MONITOR_COMMAND_HMP},
    {"DOMAIN_MESSAGE_DEPRECATION", IOV_DOMAIN_MESSAGE_DEPRECATION},
    {"DOMAIN_MESSAGE_TAINTING", IOV_DOMAIN_MESSAGE_TAINTING},
    /* Domain.blockIoThrottle(), getThrottleGroup(): ask QEMU, or the definition */
    {"DOMAIN_THROTTLE_HYPERVISOR", IOV_DOMAIN_THROTTLE_HYPERVISOR},
    {"DOMAIN_THROTTLE_DEFINITION", IOV_DOMAIN_THROTTLE_DEFINITION},
    /* Domain.listDisks(): a disk's flags (its "unplug_pending") */
    {"DOMAIN_DISK_UNPLUG_PENDING", IOV_DOMAIN_DISK_UNPLUG_PENDING},
    /* Domain.migrate(), migrateToURI3(), jobInfo(), jobStats() */
    {"MIGRATE_LIVE", IOV_MIGRATE_LIVE},
    {"MIGRATE_PEER2PEER", IOV_MIGRATE_PEER2PEER},
    {"MIGRATE_PERSIST_DEST", IOV_MIGRATE_PERSIST_DEST},
    {"MIGRATE_UNDEFINE_SOURCE", IOV_MIGRATE_UNDEFINE_SOURCE},
    {"MIGRATE_PAUSED", IOV_MIGRATE_PAUSED},
    {"MIGRATE_CHANGE_PROTECTION", IOV_MIGRATE_CHANGE_PROTECTION},
    {"DOMAIN_JOB_NONE", IOV_DOMAIN_JOB_NONE},
    {"DOMAIN_JOB_UNBOUNDED", IOV_DOMAIN_JOB_UNBOUNDED},
    {"DOMAIN_JOB_COMPLETED", IOV_DOMAIN_JOB_COMPLETED},
    {"DOMAIN_JOB_FAILED", IOV_DOMAIN_JOB_FAILED},
    {"DOMAIN_JOB_CANCELLED", IOV_DOMAIN_JOB_CANCELLED},
    {"DOMAIN_JOB_STATS_COMPLETED", IOV_DOMAIN_JOB_STATS_COMPLETED},
    /* Connection.newStream(), Domain.openConsole() */
    {"STREAM_NONBLOCK", IOV_STREAM_NONBLOCK},
    {"DOMAIN_CONSOLE_FORCE", IOV_DOMAIN_CONSOLE_FORCE},
    {"DOMAIN_CONSOLE_SAFE", IOV_DOMAIN_CONSOLE_SAFE},
    /* Connection.domainEventRegisterAny(): event ids, lifecycle events and details */
    {"DOMAIN_EVENT_ID_LIFECYCLE", IOV_DOMAIN_EVENT_ID_LIFECYCLE},
    {"DOMAIN_EVENT_ID_REBOOT", IOV_DOMAIN_EVENT_ID_REBOOT},
    {"DOMAIN_EVENT_ID_TUNABLE", IOV_DOMAIN_EVENT_ID_TUNABLE},
    {"DOMAIN_EVENT_ID_DEVICE_REMOVED", IOV_DOMAIN_EVENT_ID_DEVICE_REMOVED},
    {"DOMAIN_EVENT_ID_DEVICE_ADDED", IOV_DOMAIN_EVENT_ID_DEVICE_ADDED},
    {"DOMAIN_EVENT_DEFINED", IOV_DOMAIN_EVENT_DEFINED},
    {"DOMAIN_EVENT_UNDEFINED", IOV_DOMAIN_EVENT_UNDEFINED},
    {"DOMAIN_EVENT_STARTED", IOV_DOMAIN_EVENT_STARTED},
    {"DOMAIN_EVENT_SUSPENDED", IOV_DOMAIN_EVENT_SUSPENDED},
    {"DOMAIN_EVENT_RESUMED", IOV_DOMAIN_EVENT_RESUMED},
    {"DOMAIN_EVENT_STOPPED", IOV_DOMAIN_EVENT_STOPPED},
    {"DOMAIN_EVENT_SHUTDOWN", IOV_DOMAIN_EVENT_SHUTDOWN},
    {"DOMAIN_EVENT_PMSUSPENDED", IOV_DOMAIN_EVENT_PMSUSPENDED},
    {"DOMAIN_EVENT_CRASHED", IOV_DOMAIN_EVENT_CRASHED},
    {"DOMAIN_EVENT_DEFINED_ADDED", IOV_DOMAIN_EVENT_DEFINED_ADDED},
    {"DOMAIN_EVENT_DEFINED_UPDATED", IOV_DOMAIN_EVENT_DEFINED_UPDATED},
    {"DOMAIN_EVENT_UNDEFINED_REMOVED", IOV_DOMAIN_EVENT_UNDEFINED_REMOVED},
    {"DOMAIN_EVENT_STARTED_BOOTED", IOV_DOMAIN_EVENT_STARTED_BOOTED},
    {"DOMAIN_EVENT_STARTED_MIGRATED", IOV_DOMAIN_EVENT_STARTED_MIGRATED},
    {"DOMAIN_EVENT_SUSPENDED_PAUSED", IOV_DOMAIN_EVENT_SUSPENDED_PAUSED},
    {"DOMAIN_EVENT_SUSPENDED_MIGRATED", IOV_DOMAIN_EVENT_SUSPENDED_MIGRATED},
    {"DOMAIN_EVENT_SUSPENDED_IOERROR", IOV_DOMAIN_EVENT_SUSPENDED_IOERROR},
    {"DOMAIN_EVENT_RESUMED_UNPAUSED", IOV_DOMAIN_EVENT_RESUMED_UNPAUSED},
    {"DOMAIN_EVENT_RESUMED_MIGRATED", IOV_DOMAIN_EVENT_RESUMED_MIGRATED},
    {"DOMAIN_EVENT_STOPPED_SHUTDOWN", IOV_DOMAIN_EVENT_STOPPED_SHUTDOWN},
    {"DOMAIN_EVENT_STOPPED_DESTROYED", IOV_DOMAIN_EVENT_STOPPED_DESTROYED},
    {"DOMAIN_EVENT_STOPPED_MIGRATED", IOV_DOMAIN_EVENT_STOPPED_MIGRATED},
    {"DOMAIN_EVENT_STOPPED_FAILED", IOV_DOMAIN_EVENT_STOPPED_FAILED},
    {"DOMAIN_EVENT_SHUTDOWN_FINISHED", IOV_DOMAIN_EVENT_SHUTDOWN_FINISHED},
    {"DOMAIN_EVENT_SHUTDOWN_GUEST", IOV_DOMAIN_EVENT_SHUTDOWN_GUEST},
    {"DOMAIN_EVENT_SHUTDOWN_HOST", IOV_DOMAIN_EVENT_SHUTDOWN_HOST},
    {"DOMAIN_EVENT_CRASHED_PANICKED", IOV_DOMAIN_EVENT_CRASHED_PANICKED},
    /* Domain.XMLDesc() */
    {"XML_SECURE", IOV_DOMAIN_XML_SECURE},
    {"XML_INACTIVE", IOV_DOMAIN_XML_INACTIVE},
    /* Connection.listAllDomains() */
    {"LIST_DOMAINS_ACTIVE", IOV_CONNECT_LIST_DOMAINS_ACTIVE},
    {"LIST_DOMAINS_INACTIVE", IOV_CONNECT_LIST_DOMAINS_INACTIVE},
    {"LIST_DOMAINS_PERSISTENT", IOV_CONNECT_LIST_DOMAINS_PERSISTENT},
    {"LIST_DOMAINS_TRANSIENT", IOV_CONNECT_LIST_DOMAINS_TRANSIENT},
    {"LIST_DOMAINS_RUNNING", IOV_CONNECT_LIST_DOMAINS_RUNNING},
    {"LIST_DOMAINS_PAUSED", IOV_CONNECT_LIST_DOMAINS_PAUSED},
    {"LIST_DOMAINS_SHUTOFF", IOV_CONNECT_LIST_DOMAINS_SHUTOFF},
    {"LIST_DOMAINS_OTHER", IOV_CONNECT_LIST_DOMAINS_OTHER},
    {"LIST_DOMAINS_AUTOSTART", IOV_CONNECT_LIST_DOMAINS_AUTOSTART},
    {"LIST_DOMAINS_NO_AUTOSTART", IOV_CONNECT_LIST_DOMAINS_NO_AUTOSTART},
    /* statistics groups, for getAllDomainStats-style callers */
    {"DOMAIN_STATS_STATE", IOV_DOMAIN_STATS_STATE},
    {"DOMAIN_STATS_CPU_TOTAL", IOV_DOMAIN_STATS_CPU_TOTAL},
    {"DOMAIN_STATS_BLOCK", IOV_DOMAIN_STATS_BLOCK},
    {"DOMAIN_STATS_IOTHROTTLE", IOV_DOMAIN_STATS_IOTHROTTLE},
    /* states, Domain.state()[0] and Domain.info()[0] */
    {"DOMAIN_NOSTATE", IOV_DOMAIN_NOSTATE},
    {"DOMAIN_RUNNING", IOV_DOMAIN_RUNNING},
    {"DOMAIN_BLOCKED", IOV_DOMAIN_BLOCKED},
    {"DOMAIN_PAUSED", IOV_DOMAIN_PAUSED},
    {"DOMAIN_SHUTDOWN", IOV_DOMAIN_SHUTDOWN},
    {"DOMAIN_SHUTOFF", IOV_DOMAIN_SHUTOFF},
    {"DOMAIN_CRASHED", IOV_DOMAIN_CRASHED},
    {"DOMAIN_PMSUSPENDED", IOV_DOMAIN_PMSUSPENDED},
    /* reasons, Domain.state()[1] */
    {"DOMAIN_RUNNING_UNKNOWN", IOV_DOMAIN_RUNNING_UNKNOWN},
    {"DOMAIN_RUNNING_BOOTED", IOV_DOMAIN_RUNNING_BOOTED},
    {"DOMAIN_RUNNING_MIGRATION_CANCELED", IOV_DOMAIN_RUNNING_MIGRATION_CANCELED},
    {"DOMAIN_RUNNING_MIGRATED", IOV_DOMAIN_RUNNING_MIGRATED},
    {"DOMAIN_RUNNING_UNPAUSED", IOV_DOMAIN_RUNNING_UNPAUSED},
    {"DOMAIN_PAUSED_UNKNOWN", IOV_DOMAIN_PAUSED_UNKNOWN},
    {"DOMAIN_PAUSED_USER", IOV_DOMAIN_PAUSED_USER},
    {"DOMAIN_PAUSED_MIGRATION", IOV_DOMAIN_PAUSED_MIGRATION},
    {"DOMAIN_PAUSED_IOERROR", IOV_DOMAIN_PAUSED_IOERROR},
    {"DOMAIN_PAUSED_SHUTTING_DOWN", IOV_DOMAIN_PAUSED_SHUTTING_DOWN},
    {"DOMAIN_PAUSED_STARTING_UP", IOV_DOMAIN_PAUSED_STARTING_UP},
    {"DOMAIN_SHUTOFF_UNKNOWN", IOV_DOMAIN_SHUTOFF_UNKNOWN},
    {"DOMAIN_SHUTOFF_SHUTDOWN", IOV_DOMAIN_SHUTOFF_SHUTDOWN},
    {"DOMAIN_SHUTOFF_DESTROYED", IOV_DOMAIN_SHUTOFF_DESTROYED},
    {"DOMAIN_SHUTOFF_CRASHED", IOV_DOMAIN_SHUTOFF_CRASHED},
    {"DOMAIN_SHUTOFF_MIGRATED", IOV_DOMAIN_SHUTOFF_MIGRATED},
    {"DOMAIN_SHUTOFF_FAILED", IOV_DOMAIN_SHUTOFF_FAILED},
    {"DOMAIN_SHUTOFF_DAEMON", IOV_DOMAIN_SHUTOFF_DAEMON},
    /* Error.code */
    {"ERR_OK", IOV_ERR_OK},
    {"ERR_INTERNAL_ERROR", IOV_ERR_INTERNAL_ERROR},
    {"ERR_NO_MEMORY", IOV_ERR_NO_MEMORY},
    {"ERR_NO_SUPPORT", IOV_ERR_NO_SUPPORT},
    {"ERR_NO_CONNECT", IOV_ERR_NO_CONNECT},
    {"ERR_INVALID_CONN", IOV_ERR_INVALID_CONN},
    {"ERR_INVALID_DOMAIN", IOV_ERR_INVALID_DOMAIN},
    {"ERR_INVALID_ARG", IOV_ERR_INVALID_ARG},
    {"ERR_OPERATION_FAILED", IOV_ERR_OPERATION_FAILED},
    {"ERR_XML_ERROR", IOV_ERR_XML_ERROR},
    {"ERR_DOM_EXIST", IOV_ERR_DOM_EXIST},
    {"ERR_OPERATION_DENIED", IOV_ERR_OPERATION_DENIED},
    {"ERR_SYSTEM_ERROR", IOV_ERR_SYSTEM_ERROR},
    {"ERR_RPC", IOV_ERR_RPC},
    {"ERR_NO_DOMAIN", IOV_ERR_NO_DOMAIN},
    {"ERR_AUTH_FAILED", IOV_ERR_AUTH_FAILED},
    {"ERR_OPERATION_INVALID", IOV_ERR_OPERATION_INVALID},
    {"ERR_CONFIG_UNSUPPORTED", IOV_ERR_CONFIG_UNSUPPORTED},
    {"ERR_OPERATION_TIMEOUT", IOV_ERR_OPERATION_TIMEOUT},
    {"ERR_ARGUMENT_UNSUPPORTED", IOV_ERR_ARGUMENT_UNSUPPORTED},
    {"ERR_OVERFLOW", IOV_ERR_OVERFLOW},
    {"ERR_OPERATION_UNSUPPORTED", IOV_ERR_OPERATION_UNSUPPORTED},
    {"ERR_RESOURCE_BUSY", IOV_ERR_RESOURCE_BUSY},
    {"ERR_OPERATION_ABORTED", IOV_ERR_OPERATION_ABORTED},
    {"ERR_MIGRATE_FINISH_OK", IOV_ERR_MIGRATE_FINISH_OK},
    /* Error.domain */
    {"FROM_NONE", IOV_FROM_NONE},
    {"FROM_XML", IOV_FROM_XML},
    {"FROM_DOM", IOV_FROM_DOM},
    {"FROM_RPC", IOV_FROM_RPC},
    {"FROM_CONF", IOV_FROM_CONF},
    {"FROM_QEMU", IOV_FROM_QEMU},
    {"FROM_REMOTE", IOV_FROM_REMOTE},
    {"FROM_DOMAIN", IOV_FROM_DOMAIN},
    /* Error.level */
    {"ERR_NONE", IOV_ERR_NONE},
    {"ERR_WARNING", IOV_ERR_WARNING},
    {"ERR_ERROR", IOV_ERR_ERROR},
    /* ThrottleField.family */
    {"THROTTLE_FAMILY_BYTES", IOV_THROTTLE_FAMILY_BYTES},
    {"THROTTLE_FAMILY_IOPS", IOV_THROTTLE_FAMILY_IOPS},
    {"THROTTLE_FAMILY_BYTES_MAX", IOV_THROTTLE_FAMILY_BYTES_MAX},
    {"THROTTLE_FAMILY_IOPS_MAX", IOV_THROTTLE_FAMILY_IOPS_MAX},
    {"THROTTLE_FAMILY_BYTES_MAX_LENGTH", IOV_THROTTLE_FAMILY_BYTES_MAX_LENGTH},
    {"THROTTLE_FAMILY_IOPS_MAX_LENGTH", IOV_THROTTLE_FAMILY_IOPS_MAX_LENGTH},
    {"THROTTLE_FAMILY_SIZE", IOV_THROTTLE_FAMILY_SIZE},
    {"THROTTLE_FAMILY_GROUP", IOV_THROTTLE_FAMILY_GROUP},
    /* ThrottleField.unit */
    {"THROTTLE_UNIT_BYTES_PER_SEC", IOV_THROTTLE_UNIT_BYTES_PER_SEC},
    {"THROTTLE_UNIT_IOPS", IOV_THROTTLE_UNIT_IOPS},
    {"THROTTLE_UNIT_SECONDS", IOV_THROTTLE_UNIT_SECONDS},
    {"THROTTLE_UNIT_BYTES", IOV_THROTTLE_UNIT_BYTES},
    {"THROTTLE_UNIT_NONE", IOV_THROTTLE_UNIT_NONE},
};

static struct PyModuleDef moduleDef = {
    PyModuleDef_HEAD_INIT,
    .m_name = "iovirt",
    .m_doc = "Manage QEMU guests and the I/O limits of their disks.\n\n"
             "    import iovirt\n"
             "    with iovirt.open('iovirt:///system') as conn:\n"
             "        dom = conn.lookupByName('web1')\n"
             "        dom.setBlockIoThrottle('vda', {'bps': 10 * 2**20}, iovirt.AFFECT_LIVE)\n"
             "        print(dom.blockIoThrottle('vda')['bps'])\n\n"
             "Connection and Domain follow libvirt-python's names and shapes, and\n"
             "Domain.blockIoTune()/setBlockIoTune() take and return exactly what\n"
             "libvirt-python's do, so code written for libvirt moves over unchanged.\n"
             "Every failure raises iovirt.Error; the GIL is released while a call\n"
             "waits on the daemon, and objects may be shared between threads.",
    .m_size = -1,
    .m_methods = moduleMethods,
};

/* Module initialization: types, exception, constants and the table. */
PyMODINIT_FUNC
PyInit_iovirt(void)
{
    PyObject *m;
    size_t i;

    pyiovErrorType.tp_base = (PyTypeObject *)PyExc_Exception;
    if (PyType_Ready(&pyiovErrorType) < 0 || PyType_Ready(&pyiovConnectionType) < 0 ||
        PyType_Ready(&pyiovDomainType) < 0 || PyType_Ready(&pyiovStreamType) < 0)
        return NULL;
    if (!(m = PyModule_Create(&moduleDef)))
        return NULL;
    Py_INCREF(&pyiovErrorType);
    Py_INCREF(&pyiovConnectionType);
    Py_INCREF(&pyiovDomainType);
    Py_INCREF(&pyiovStreamType);
    if (PyModule_AddObject(m, "Error", (PyObject *)&pyiovErrorType) < 0 ||
        PyModule_AddObject(m, "Connection", (PyObject *)&pyiovConnectionType) < 0 ||
        PyModule_AddObject(m, "Domain", (PyObject *)&pyiovDomainType) < 0 ||
        PyModule_AddObject(m, "Stream", (PyObject *)&pyiovStreamType) < 0)
        goto error;
    for (i = 0; i < sizeof(constants) / sizeof(constants[0]); i++) {
        if (PyModule_AddIntConstant(m, constants[i].name, constants[i].value) < 0)
            goto error;
    }
    if (PyModule_AddObject(m, "THROTTLE_VALUE_MAX",
                           PyLong_FromUnsignedLongLong(IOV_THROTTLE_VALUE_MAX)) < 0)
        goto error;
    if (PyModule_AddStringConstant(m, "__version__",
                                   Py_STRINGIFY(IOV_VERSION_MAJOR) "." Py_STRINGIFY(
                                       IOV_VERSION_MINOR) "." Py_STRINGIFY(IOV_VERSION_MICRO)) < 0)
        goto error;
    if (pyiovThrottleInit(m) < 0)
        goto error;
    return m;

error:
    Py_DECREF(m);
    return NULL;
}
