/*
 * migrate.c: Domain.migrate(), migrateToURI3(), jobInfo(), jobStats()
 *
 * libvirt-python's signatures: migrate(dconn, flags=0, dname=None,
 * uri=None, bandwidth=0) returns the Domain on the destination;
 * migrateToURI3(dconnuri, params={}, flags=0) returns 0; jobInfo() a list
 * of twelve numbers; jobStats(flags=0) a dict with 'type' and QEMU's
 * figures.
 */
#include "iovirt-python.h"

/* The string parameters of migrateToURI3's dict (libvirt's names). */
static int
paramsFromDict(PyObject *dict, iovTypedParameterPtr *params, int *n)
{
    PyObject *key, *value;
    Py_ssize_t pos = 0;
    int max = 0;

    *params = NULL;
    *n = 0;
    if (!dict || dict == Py_None)
        return 0;
    if (!PyDict_Check(dict)) {
        PyErr_SetString(PyExc_TypeError, "params must be a dict");
        return -1;
    }
    while (PyDict_Next(dict, &pos, &key, &value)) {
        const char *k, *v;

        if (!PyUnicode_Check(key) || !PyUnicode_Check(value)) {
            PyErr_SetString(PyExc_TypeError, "migration params: keys and values must be str");
            iovTypedParamsFree(*params, *n);
            return -1;
        }
        k = PyUnicode_AsUTF8(key);
        v = PyUnicode_AsUTF8(value);
        if (!k || !v || iovTypedParamsAddString(params, n, &max, k, v) < 0) {
            iovTypedParamsFree(*params, *n);
            if (!PyErr_Occurred())
                PyErr_Format(PyExc_ValueError, "migration params: '%s' cannot be added", k);
            return -1;
        }
    }
    return 0;
}

PyObject *
pyiovDomainMigrate(pyiovDomain *self, PyObject *args, PyObject *kwargs)
{
    static char *kwlist[] = {"dconn", "flags", "dname", "uri", "bandwidth", NULL};
    pyiovConnection *dconn;
    unsigned int flags = 0;
    const char *dname = NULL, *uri = NULL;
    unsigned long long bandwidth = 0;
    iovConnectPtr dc;
    iovDomainPtr ddom;
    iovError err = {0};

    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "O!|O&zzK:migrate", kwlist, &pyiovConnectionType,
                                     &dconn, pyiovFlagsConverter, &flags, &dname, &uri, &bandwidth))
        return NULL;
    if ((dname && strcmp(dname, iovDomainGetName(self->dom)) != 0) || uri || bandwidth)
        return pyiovRaiseSimple(
            IOV_ERR_ARGUMENT_UNSUPPORTED, IOV_FROM_NONE,
            "migrate: a new name, a stream URI and a bandwidth are not supported");
    if (!(dc = pyiovConnectionAcquire(dconn)))
        return NULL;
    Py_BEGIN_ALLOW_THREADS
    ddom = iovDomainMigrate(self->dom, dc, flags);
    if (!ddom)
        iovCopyLastError(&err);
    iovConnectClose(dc);
    Py_END_ALLOW_THREADS
    if (!ddom)
        return pyiovRaiseError(&err, "iovDomainMigrate");
    return pyiovDomainNew(dconn, ddom);
}

PyObject *
pyiovDomainMigrateToURI3(pyiovDomain *self, PyObject *args, PyObject *kwargs)
{
    static char *kwlist[] = {"dconnuri", "params", "flags", NULL};
    const char *uri;
    PyObject *dict = NULL;
    unsigned int flags = 0;
    iovTypedParameterPtr params = NULL;
    int nparams = 0, rc;
    iovError err = {0};

    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "s|OO&:migrateToURI3", kwlist, &uri, &dict,
                                     pyiovFlagsConverter, &flags))
        return NULL;
    if (paramsFromDict(dict, &params, &nparams) < 0)
        return NULL;
    Py_BEGIN_ALLOW_THREADS
    rc = iovDomainMigrateToURI3(self->dom, uri, params, nparams, flags);
    if (rc < 0)
        iovCopyLastError(&err);
    Py_END_ALLOW_THREADS
    iovTypedParamsFree(params, nparams);
    if (rc < 0)
        return pyiovRaiseError(&err, "iovDomainMigrateToURI3");
    return PyLong_FromLong(0);
}

PyObject *
pyiovDomainJobInfo(pyiovDomain *self, PyObject *Py_UNUSED(ignored))
{
    iovDomainJobInfo info = {0};
    iovError err = {0};
    int rc;

    Py_BEGIN_ALLOW_THREADS
    rc = iovDomainGetJobInfo(self->dom, &info);
    if (rc < 0)
        iovCopyLastError(&err);
    Py_END_ALLOW_THREADS
    if (rc < 0)
        return pyiovRaiseError(&err, "iovDomainGetJobInfo");
    return Py_BuildValue("[iKKKKKKKKKKK]", info.type, info.timeElapsed, info.timeRemaining,
                         info.dataTotal, info.dataProcessed, info.dataRemaining, info.memTotal,
                         info.memProcessed, info.memRemaining, info.fileTotal, info.fileProcessed,
                         info.fileRemaining);
}

PyObject *
pyiovDomainJobStats(pyiovDomain *self, PyObject *args, PyObject *kwargs)
{
    static char *kwlist[] = {"flags", NULL};
    unsigned int flags = 0;
    iovTypedParameterPtr params = NULL;
    int nparams = 0, type = 0, rc;
    iovError err = {0};
    PyObject *dict, *t;

    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "|O&:jobStats", kwlist, pyiovFlagsConverter,
                                     &flags))
        return NULL;
    Py_BEGIN_ALLOW_THREADS
    rc = iovDomainGetJobStats(self->dom, &type, &params, &nparams, flags);
    if (rc < 0)
        iovCopyLastError(&err);
    Py_END_ALLOW_THREADS
    if (rc < 0)
        return pyiovRaiseError(&err, "iovDomainGetJobStats");
    dict = pyiovParamsToDict(params, nparams);
    iovTypedParamsFree(params, nparams);
    if (!dict)
        return NULL;
    t = PyLong_FromLong(type);
    if (!t || PyDict_SetItemString(dict, "type", t) < 0) {
        Py_XDECREF(t);
        Py_DECREF(dict);
        return NULL;
    }
    Py_DECREF(t);
    return dict;
}
