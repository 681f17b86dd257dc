/*
 * domain.c: iovirt.Domain, a handle on one domain of a daemon
 *
 * A Domain owns one reference to its iovDomain handle, which holds its
 * C connection open, and a reference to the Connection object it came
 * from. Handles are never freed while a method runs (the method holds
 * the object), so methods use them with the GIL released without taking
 * a reference of their own. The limits (blockIoThrottle, blockIoTune and
 * their setters) are in throttle.c; the methods that only convert
 * (shutdown, isActive, XMLDesc, ...) are generated from the table of calls
 * into calls_gen.c.
 */
#include "iovirt-python.h"
#include "calls_gen.h"

#include <stdlib.h>

/*
 * pyiovDomainNew: wrap `dom` (taking over the caller's reference, also on
 * failure) in a Domain that keeps `conn` alive.
 */
PyObject *
pyiovDomainNew(pyiovConnection *conn, iovDomainPtr dom)
{
    pyiovDomain *self = PyObject_New(pyiovDomain, &pyiovDomainType);

    if (!self) {
        Py_BEGIN_ALLOW_THREADS
        iovDomainFree(dom);
        Py_END_ALLOW_THREADS
        return NULL;
    }
    self->dom = dom;
    Py_INCREF(conn);
    self->conn = conn;
    return (PyObject *)self;
}

/* Free a Domain: the handle (whose last reference to a closed connection
 * closes it, hence the GIL released), then the Connection object. */
static void
domainDealloc(pyiovDomain *self)
{
    iovDomainPtr dom = self->dom;

    Py_BEGIN_ALLOW_THREADS
    iovDomainFree(dom);
    Py_END_ALLOW_THREADS
    Py_XDECREF(self->conn);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

/* repr(dom): name and uuid. */
static PyObject *
domainRepr(pyiovDomain *self)
{
    char uuid[37] = "";

    iovDomainGetUUIDString(self->dom, uuid);
    return PyUnicode_FromFormat("<iovirt.Domain '%s' %s>", iovDomainGetName(self->dom), uuid);
}

/* name(): known locally. */
static PyObject *
domainName(pyiovDomain *self, PyObject *Py_UNUSED(ignored))
{
    return PyUnicode_FromString(iovDomainGetName(self->dom));
}

/* UUIDString(): known locally. */
static PyObject *
domainUUIDString(pyiovDomain *self, PyObject *Py_UNUSED(ignored))
{
    char uuid[37];
    iovError err = {0};

    if (iovDomainGetUUIDString(self->dom, uuid) < 0) {
        iovCopyLastError(&err);
        return pyiovRaiseError(&err, "iovDomainGetUUIDString");
    }
    return PyUnicode_FromString(uuid);
}

/* UUID(): the 16 bytes, known locally. */
static PyObject *
domainUUID(pyiovDomain *self, PyObject *Py_UNUSED(ignored))
{
    unsigned char uuid[16];
    iovError err = {0};

    if (iovDomainGetUUID(self->dom, uuid) < 0) {
        iovCopyLastError(&err);
        return pyiovRaiseError(&err, "iovDomainGetUUID");
    }
    return PyBytes_FromStringAndSize((const char *)uuid, sizeof(uuid));
}

/* ID(): as the handle knows it; -1 when not running. */
static PyObject *
domainID(pyiovDomain *self, PyObject *Py_UNUSED(ignored))
{
    return PyLong_FromLong(iovDomainGetID(self->dom));
}

/* connect(): the Connection this Domain came from. */
static PyObject *
domainConnect(pyiovDomain *self, PyObject *Py_UNUSED(ignored))
{
    Py_INCREF(self->conn);
    return (PyObject *)self->conn;
}

/* state(flags=0): [state, reason], as libvirt-python returns it. */
static PyObject *
domainState(pyiovDomain *self, PyObject *args, PyObject *kwargs)
{
    static char *kwlist[] = {"flags", NULL};
    unsigned int flags = 0;
    iovError err = {0};
    int state = 0;
    int reason = 0;
    int ret;

    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "|O&:state", kwlist, pyiovFlagsConverter,
                                     &flags))
        return NULL;
    Py_BEGIN_ALLOW_THREADS
    ret = iovDomainGetState(self->dom, &state, &reason, flags);
    if (ret < 0)
        iovCopyLastError(&err);
    Py_END_ALLOW_THREADS
    if (ret < 0)
        return pyiovRaiseError(&err, "iovDomainGetState");
    return Py_BuildValue("[ii]", state, reason);
}

/* info(): [state, maxMem KiB, memory KiB, nrVirtCpu, cpuTime ns], as
 * libvirt-python returns it. */
static PyObject *
domainInfo(pyiovDomain *self, PyObject *Py_UNUSED(ignored))
{
    iovDomainInfo info = {0};
    iovError err = {0};
    int ret;

    Py_BEGIN_ALLOW_THREADS
    ret = iovDomainGetInfo(self->dom, &info);
    if (ret < 0)
        iovCopyLastError(&err);
    Py_END_ALLOW_THREADS
    if (ret < 0)
        return pyiovRaiseError(&err, "iovDomainGetInfo");
    return Py_BuildValue("[iKKiK]", (int)info.state, info.maxMem, info.memory, (int)info.nrVirtCpu,
                         info.cpuTime);
}

/* blockStats(disk): (rd_req, rd_bytes, wr_req, wr_bytes, errs), as
 * libvirt-python returns it. */
static PyObject *
domainBlockStats(pyiovDomain *self, PyObject *args)
{
    const char *disk;
    iovDomainBlockStatsStruct stats = {0};
    iovError err = {0};
    int ret;

    if (!PyArg_ParseTuple(args, "s:blockStats", &disk))
        return NULL;
    Py_BEGIN_ALLOW_THREADS
    ret = iovDomainBlockStats(self->dom, disk, &stats, sizeof(stats));
    if (ret < 0)
        iovCopyLastError(&err);
    Py_END_ALLOW_THREADS
    if (ret < 0)
        return pyiovRaiseError(&err, "iovDomainBlockStats");
    return Py_BuildValue("(LLLLL)", stats.rd_req, stats.rd_bytes, stats.wr_req, stats.wr_bytes,
                         stats.errs);
}

/* blockStatsFlags(disk, flags=0): a dict of the statistics the daemon
 * returns, under their names, in its order. */
static PyObject *
domainBlockStatsFlags(pyiovDomain *self, PyObject *args, PyObject *kwargs)
{
    static char *kwlist[] = {"disk", "flags", NULL};
    const char *disk;
    unsigned int flags = 0;
    iovTypedParameter *params = NULL;
    iovError err = {0};
    PyObject *dict;
    int nparams = 0;
    int ret;
    int i;

    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "s|O&:blockStatsFlags", kwlist, &disk,
                                     pyiovFlagsConverter, &flags))
        return NULL;
    Py_BEGIN_ALLOW_THREADS
    ret = iovDomainBlockStatsFlags(self->dom, disk, NULL, &nparams, flags);
    if (ret == 0 && nparams > 0) {
        params = calloc((size_t)nparams, sizeof(*params));
        if (params)
            ret = iovDomainBlockStatsFlags(self->dom, disk, params, &nparams, flags);
    }
    if (ret < 0)
        iovCopyLastError(&err);
    Py_END_ALLOW_THREADS
    if (ret < 0) {
        free(params);
        return pyiovRaiseError(&err, "iovDomainBlockStatsFlags");
    }
    if (nparams > 0 && !params)
        return PyErr_NoMemory();
    if (!(dict = PyDict_New()))
        goto cleanup;
    for (i = 0; i < nparams; i++) {
        PyObject *value;

        if (params[i].type == IOV_TYPED_PARAM_LLONG)
            value = PyLong_FromLongLong(params[i].value.l);
        else if (params[i].type == IOV_TYPED_PARAM_ULLONG)
            value = PyLong_FromUnsignedLongLong(params[i].value.ul);
        else
            continue;
        if (!value || PyDict_SetItemString(dict, params[i].field, value) < 0) {
            Py_XDECREF(value);
            Py_CLEAR(dict);
            break;
        }
        Py_DECREF(value);
    }

cleanup:
    iovTypedParamsClear(params, nparams);
    free(params);
    return dict;
}

static PyMethodDef domainMethods[] = {
    {"name", (PyCFunction)domainName, METH_NOARGS, "name($self, /)\n--\n\nThe domain's name."},
    {"UUIDString", (PyCFunction)domainUUIDString, METH_NOARGS,
     "UUIDString($self, /)\n--\n\nThe domain's uuid as text: 'cd01eb56-e3df-431d-b611-...'."},
    {"UUID", (PyCFunction)domainUUID, METH_NOARGS,
     "UUID($self, /)\n--\n\nThe domain's uuid as 16 bytes."},
    {"ID", (PyCFunction)domainID, METH_NOARGS,
     "ID($self, /)\n--\n\n"
     "The domain's id when the handle was made (or last started or destroyed\n"
     "through it); -1 when not running."},
    {"connect", (PyCFunction)domainConnect, METH_NOARGS,
     "connect($self, /)\n--\n\nThe Connection this Domain came from."},
    {"create", PYIOV_KWFUNC(pyiovDomainCreate), METH_VARARGS | METH_KEYWORDS,
     "create($self, /, flags=0)\n--\n\n"
     "Start the guest, its disks' limits in force before its first\n"
     "instruction. flags: iovirt.START_PAUSED leaves its vCPUs paused.\n"
     "Returns 0."},
    {"createWithFlags", PYIOV_KWFUNC(pyiovDomainCreateWithFlags), METH_VARARGS | METH_KEYWORDS,
     "createWithFlags($self, /, flags=0)\n--\n\nThe same as create(flags), libvirt's name."},
    {"shutdown", (PyCFunction)pyiovDomainShutdown, METH_NOARGS,
     "shutdown($self, /)\n--\n\n"
     "Press the guest's power button and return 0 at once; the domain shuts\n"
     "off when the guest powers off."},
    {"destroy", (PyCFunction)pyiovDomainDestroy, METH_NOARGS,
     "destroy($self, /)\n--\n\nStop the guest now. Returns 0."},
    {"reboot", PYIOV_KWFUNC(pyiovDomainReboot), METH_VARARGS | METH_KEYWORDS,
     "reboot($self, /, flags=0)\n--\n\n"
     "Reset the guest; QEMU and the limits stay. Returns 0."},
    {"suspend", (PyCFunction)pyiovDomainSuspend, METH_NOARGS,
     "suspend($self, /)\n--\n\nPause the guest's vCPUs. Returns 0."},
    {"resume", (PyCFunction)pyiovDomainResume, METH_NOARGS,
     "resume($self, /)\n--\n\nResume the guest's vCPUs. Returns 0."},
    {"undefine", (PyCFunction)pyiovDomainUndefine, METH_NOARGS,
     "undefine($self, /)\n--\n\n"
     "Forget the persistent definition; a running guest runs on as a\n"
     "transient domain and disappears when it stops. Returns 0."},
    {"XMLDesc", PYIOV_KWFUNC(pyiovDomainXMLDesc), METH_VARARGS | METH_KEYWORDS,
     "XMLDesc($self, /, flags=0)\n--\n\n"
     "The domain's XML: the live definition, or with iovirt.XML_INACTIVE the\n"
     "persistent one."},
    {"attachDeviceFlags", PYIOV_KWFUNC(pyiovDomainAttachDeviceFlags), METH_VARARGS | METH_KEYWORDS,
     "attachDeviceFlags($self, /, xml, flags=0)\n--\n\n"
     "Add the disk of a <disk> document: hot-plugged into the running guest\n"
     "(AFFECT_LIVE; limited before the guest sees it), to the definition\n"
     "(AFFECT_CONFIG), or both. All or nothing. Returns 0."},
    {"detachDeviceFlags", PYIOV_KWFUNC(pyiovDomainDetachDeviceFlags), METH_VARARGS | METH_KEYWORDS,
     "detachDeviceFlags($self, /, xml, flags=0)\n--\n\n"
     "Remove the disk whose target a <disk> document names. Live, a guest\n"
     "that does not release it in time raises \"unplug pending\": the disk\n"
     "goes by itself when it does. Returns 0."},
    {"detachDeviceAlias", PYIOV_KWFUNC(pyiovDomainDetachDeviceAlias), METH_VARARGS | METH_KEYWORDS,
     "detachDeviceAlias($self, /, alias, flags=0)\n--\n\n"
     "The same, the disk named by its device alias ('disk-vdb')."},
    {"updateDeviceFlags", PYIOV_KWFUNC(pyiovDomainUpdateDeviceFlags), METH_VARARGS | METH_KEYWORDS,
     "updateDeviceFlags($self, /, xml, flags=0)\n--\n\n"
     "Give a disk the limits of a <disk> document (its whole new limits);\n"
     "anything else that differs is refused. Returns 0."},
    {"state", PYIOV_KWFUNC(domainState), METH_VARARGS | METH_KEYWORDS,
     "state($self, /, flags=0)\n--\n\n"
     "[state, reason]: iovirt.DOMAIN_RUNNING, DOMAIN_PAUSED, DOMAIN_SHUTOFF, ...\n"
     "and why (DOMAIN_PAUSED_USER, DOMAIN_SHUTOFF_DESTROYED, ...). flags must be 0."},
    {"info", (PyCFunction)domainInfo, METH_NOARGS,
     "info($self, /)\n--\n\n"
     "[state, maxMem, memory, nrVirtCpu, cpuTime]: memory in KiB, CPU time in ns."},
    {"isActive", (PyCFunction)pyiovDomainIsActive, METH_NOARGS,
     "isActive($self, /)\n--\n\nTrue while the guest runs (or is paused)."},
    {"isPersistent", (PyCFunction)pyiovDomainIsPersistent, METH_NOARGS,
     "isPersistent($self, /)\n--\n\nTrue when the domain has a persistent definition."},
    {"openConsole", PYIOV_KWFUNC(pyiovDomainOpenConsole), METH_VARARGS | METH_KEYWORDS,
     "openConsole($self, /, devname, stream, flags=0)\n--\n\n"
     "Attach stream (a new Stream of this connection) to the serial console\n"
     "of the running guest (a pty or unix <serial>): stream.recv() reads what\n"
     "the guest writes, stream.send() types. devname: None (or 'serial0',\n"
     "'console0'). One client at a time: refused while another holds it,\n"
     "unless flags has DOMAIN_CONSOLE_FORCE. Refused on a read-only connection."},
    {"blockStats", (PyCFunction)domainBlockStats, METH_VARARGS,
     "blockStats($self, disk, /)\n--\n\n"
     "(rd_req, rd_bytes, wr_req, wr_bytes, errs) of a disk of the running\n"
     "guest, named by its target ('vda') or its source path; -1 is unknown."},
    {"blockStatsFlags", PYIOV_KWFUNC(domainBlockStatsFlags), METH_VARARGS | METH_KEYWORDS,
     "blockStatsFlags($self, /, disk, flags=0)\n--\n\n"
     "The statistics of a disk as a dict: rd_operations, rd_bytes,\n"
     "wr_operations, wr_bytes, flush_operations and the total times in ns."},
    {"blockIoThrottle", PYIOV_KWFUNC(pyiovDomainBlockIoThrottle), METH_VARARGS | METH_KEYWORDS,
     "blockIoThrottle($self, /, disk, flags=0)\n--\n\n"
     "The I/O limits of a disk as a dict of every field of the throttle table\n"
     "(iovirt.throttleFields()), under iovirt's names, in table order: ints,\n"
     "and 'group' a str ('' when none).\n\n"
     "flags: AFFECT_CURRENT (the limits in force if the guest runs, else the\n"
     "saved ones), AFFECT_LIVE (in force; an error if not running) or\n"
     "AFFECT_CONFIG (saved). LIVE|CONFIG together is refused."},
    {"setBlockIoThrottle", PYIOV_KWFUNC(pyiovDomainSetBlockIoThrottle),
     METH_VARARGS | METH_KEYWORDS,
     "setBlockIoThrottle($self, /, disk, params, flags=0)\n--\n\n"
     "Change the I/O limits of a disk. params is a dict whose keys are\n"
     "iovirt's names ('bps', 'iops_rd_max', ...) or libvirt's aliases\n"
     "('total_bytes_sec', ...), whose values are ints from 0 to 2**64-1 and,\n"
     "for 'group', a str. Naming a member of a family (bytes, iops, bytes max,\n"
     "iops max) sets the whole family: its other members become 0; the rest\n"
     "keeps its values. 0 removes a limit. The daemon validates the merged\n"
     "result (QEMU's rules, values up to 10**15) before changing anything.\n\n"
     "flags: AFFECT_CURRENT, AFFECT_LIVE, AFFECT_CONFIG or LIVE|CONFIG (both or\n"
     "neither). Wrong types raise TypeError, unknown or repeated fields and\n"
     "values out of range ValueError, before anything is sent. Returns None."},
    {"blockIoTune", PYIOV_KWFUNC(pyiovDomainBlockIoTune), METH_VARARGS | METH_KEYWORDS,
     "blockIoTune($self, /, disk, flags=0)\n--\n\n"
     "libvirt-python's blockIoTune(): the limits of a disk as a dict under\n"
     "libvirt's names ('total_bytes_sec', ..., 'group_name', ...) in libvirt's\n"
     "order. The same flags as blockIoThrottle()."},
    {"setBlockIoTune", PYIOV_KWFUNC(pyiovDomainSetBlockIoTune), METH_VARARGS | METH_KEYWORDS,
     "setBlockIoTune($self, /, disk, params, flags=0)\n--\n\n"
     "libvirt-python's setBlockIoTune(): the same as setBlockIoThrottle(),\n"
     "sending libvirt's names; returns 0."},
    {"setThrottleGroup", PYIOV_KWFUNC(pyiovDomainSetThrottleGroup), METH_VARARGS | METH_KEYWORDS,
     "setThrottleGroup($self, /, group, params=None, flags=0)\n--\n\n"
     "Create the named throttle group `group` of the domain, or change its\n"
     "limits. params is a dict as for setBlockIoThrottle() (no 'group' key);\n"
     "empty or None creates a group without limits. Every disk that passes\n"
     "through the group (<throttlefilters>) or joined it (group=) is limited\n"
     "by the new values at once. The same flags as setBlockIoThrottle().\n"
     "Returns None."},
    {"throttleGroup", PYIOV_KWFUNC(pyiovDomainThrottleGroup), METH_VARARGS | METH_KEYWORDS,
     "throttleGroup($self, /, group, flags=0)\n--\n\n"
     "The limits of the named throttle group as a dict of the numeric fields\n"
     "(iovirt's names, table order). The same flags as blockIoThrottle()."},
    {"delThrottleGroup", PYIOV_KWFUNC(pyiovDomainDelThrottleGroup), METH_VARARGS | METH_KEYWORDS,
     "delThrottleGroup($self, /, group, flags=0)\n--\n\n"
     "Delete the named throttle group; refused while a disk still names it.\n"
     "Returns None."},
    {"listThrottleGroups", PYIOV_KWFUNC(pyiovDomainListThrottleGroups),
     METH_VARARGS | METH_KEYWORDS,
     "listThrottleGroups($self, /, flags=0)\n--\n\n"
     "The names of the domain's named throttle groups, in the order of its\n"
     "definition (in force, or saved with AFFECT_CONFIG)."},
    {"listDisks", PYIOV_KWFUNC(pyiovDomainListDisks), METH_VARARGS | METH_KEYWORDS,
     "listDisks($self, /, flags=0)\n--\n\n"
     "The domain's disks in the order of its definition (as they are now, or\n"
     "saved with AFFECT_CONFIG), each a dict: 'target', 'source' (a path, a\n"
     "network URL, or '-' for a drive without a medium), 'group' ('' when\n"
     "none), 'filters' (the groups of its <throttlefilters>, a list) and\n"
     "'unplug_pending' (live: the guest has not yet released it)."},
    {"setDiskThrottleFilters", PYIOV_KWFUNC(pyiovDomainSetDiskThrottleFilters),
     METH_VARARGS | METH_KEYWORDS,
     "setDiskThrottleFilters($self, /, disk, groups, flags=0)\n--\n\n"
     "The disk passes, after its own limits, through the named throttle\n"
     "groups `groups` (a list of names, in order; empty: it leaves every\n"
     "group). On a running guest its chain is rebuilt live, never without\n"
     "a step it keeps. The same flags as setBlockIoThrottle(). Returns None."},
    {"qemuMonitorCommand", PYIOV_KWFUNC(pyiovDomainQemuMonitorCommand),
     METH_VARARGS | METH_KEYWORDS,
     "qemuMonitorCommand($self, /, cmd, flags=0)\n--\n\n"
     "Pass one QMP command (JSON text) to the running guest's QEMU and return\n"
     "its reply as JSON text. The guest is tainted from then on, and its live\n"
     "limits are read back from QEMU. HMP (flags=1) is refused."},
    {"migrate", PYIOV_KWFUNC(pyiovDomainMigrate), METH_VARARGS | METH_KEYWORDS,
     "migrate($self, /, dconn, flags=0, dname=None, uri=None, bandwidth=0)\n--\n\n"
     "Move the running guest to the daemon of Connection dconn with its live\n"
     "definition (every disk's limits as in force, groups, hot-plugged disks);\n"
     "this client drives both daemons. flags: MIGRATE_LIVE, MIGRATE_PERSIST_DEST,\n"
     "MIGRATE_UNDEFINE_SOURCE, MIGRATE_PAUSED. dname, uri and bandwidth must be\n"
     "left out. Returns the Domain on the destination; on failure the guest\n"
     "runs on here, its limits unchanged."},
    {"migrateToURI3", PYIOV_KWFUNC(pyiovDomainMigrateToURI3), METH_VARARGS | METH_KEYWORDS,
     "migrateToURI3($self, /, dconnuri, params={}, flags=0)\n--\n\n"
     "The same, the destination named by its URI; with MIGRATE_PEER2PEER the\n"
     "source daemon reaches it itself. params: libvirt's string parameters\n"
     "('migrate_uri', 'destination_xml', 'persistent_xml'). Returns 0."},
    {"jobInfo", (PyCFunction)pyiovDomainJobInfo, METH_NOARGS,
     "jobInfo($self, /)\n--\n\n"
     "The progress of the guest's migration: [type, timeElapsed, timeRemaining,\n"
     "dataTotal, dataProcessed, dataRemaining, memTotal, memProcessed,\n"
     "memRemaining, fileTotal, fileProcessed, fileRemaining] (ms, bytes)."},
    {"jobStats", PYIOV_KWFUNC(pyiovDomainJobStats), METH_VARARGS | METH_KEYWORDS,
     "jobStats($self, /, flags=0)\n--\n\n"
     "The same as a dict ('type', 'time_elapsed', 'memory_processed', ...);\n"
     "with DOMAIN_JOB_STATS_COMPLETED the last migration that ended here, with\n"
     "its 'downtime' (ms)."},
    {"abortJob", (PyCFunction)pyiovDomainAbortJob, METH_NOARGS,
     "abortJob($self, /)\n--\n\n"
     "Cancel the guest's migration under way; it runs on here with its limits."},
    {"getMessages", PYIOV_KWFUNC(pyiovDomainGetMessages), METH_VARARGS | METH_KEYWORDS,
     "getMessages($self, /, flags=0)\n--\n\n"
     "What an operator should know of the running guest, such as its taint\n"
     "by the monitor passthrough: a list of strings."},
    {NULL, NULL, 0, NULL},
};

PyTypeObject pyiovDomainType = {
    /* PyVarObject_HEAD_INIT ends in a comma clang-format cannot see */
    /* clang-format off */
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "iovirt.Domain",
    /* clang-format on */
    .tp_basicsize = sizeof(pyiovDomain),
    .tp_dealloc = (destructor)domainDealloc,
    .tp_repr = (reprfunc)domainRepr,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "A domain (a QEMU guest) of a daemon, returned by the Connection's\n"
              "lookups, listAllDomains() and defineXML().\n\n"
              "It keeps its Connection alive: it works on after Connection.close(),\n"
              "and the connection closes when the last Domain goes.\n"
              "Calls release the GIL while they wait on the daemon.",
    .tp_methods = domainMethods,
};
