/*
 * throttle.c: the throttle field table and the disk limits, in Python
 *
 * Everything here is driven by the library's table (iovThrottleFieldCount,
 * iovThrottleFieldByIndex, iovThrottleFieldLookup): the keys accepted by the
 * setters, the keys and order of blockIoThrottle()'s dict, and the fields
 * of iovirt.throttleFields(), and libvirt's order of blockIoTune()'s
 * result (the table's libvirt_index).
 */
#include "iovirt-python.h"

#include <stdlib.h>
#include <string.h>

/*
 * State computed once at import, from the table:
 *   fieldCount      iovThrottleFieldCount()
 *   tableOrder      0 .. fieldCount-1
 *   libvirtOrder    the field indices in libvirt's order
 *   fieldsTuple     the tuple iovirt.throttleFields() returns (owned)
 *   throttleFieldType  the ThrottleField struct sequence type (owned)
 */
static int fieldCount;
static int *tableOrder;
static int *libvirtOrder;
static PyObject *fieldsTuple;
static PyTypeObject *throttleFieldType;

static PyStructSequence_Field throttleFieldFields[] = {
    {"name", "iovirt's name, the key in blockIoThrottle(): 'bps_rd'"},
    {"alias", "libvirt's name, the key in blockIoTune(): 'read_bytes_sec'"},
    {"qemu_key", "the key in QEMU's throttle-group limits ('bps-read'), or None"},
    {"family", "one of iovirt.THROTTLE_FAMILY_*"},
    {"type", "the type of the value: int, or str for the group"},
    {"unit", "one of iovirt.THROTTLE_UNIT_*"},
    {"unit_name", "'bytes/s', 'IO/s', 's', 'bytes' or ''"},
    {"help", "one line of help"},
    {"base", "for a burst max or length: the name of its base limit, else None"},
    {"max", "for a base limit or a length: the name of its burst max, else None"},
    {"length", "for a base limit or a max: the name of its burst length, else None"},
    {"accepts_suffix", "True when size suffixes (1M, 4KiB) make sense for the field"},
    {NULL, NULL},
};

static PyStructSequence_Desc throttleFieldDesc = {
    "iovirt.ThrottleField",
    "One field of the throttle field table (see iovirt.throttleFields()).",
    throttleFieldFields,
    12,
};

/* The name of field `index`, or None when it is -1 (or out of range). */
static PyObject *
fieldNameOrNone(int index)
{
    const iovThrottleField *f = iovThrottleFieldByIndex(index);

    if (index < 0 || !f)
        Py_RETURN_NONE;
    return PyUnicode_FromString(f->name);
}

/* A str for a table string that may be NULL. */
static PyObject *
stringOrNone(const char *s)
{
    if (!s)
        Py_RETURN_NONE;
    return PyUnicode_FromString(s);
}

/* One ThrottleField for table row `f`. */
static PyObject *
throttleFieldNew(const iovThrottleField *f)
{
    PyObject *row = PyStructSequence_New(throttleFieldType);
    PyObject *items[12];
    PyObject *type =
        f->type == IOV_TYPED_PARAM_STRING ? (PyObject *)&PyUnicode_Type : (PyObject *)&PyLong_Type;
    int i;

    if (!row)
        return NULL;
    Py_INCREF(type);
    items[0] = stringOrNone(f->name);
    items[1] = stringOrNone(f->alias);
    items[2] = stringOrNone(f->qemu_key);
    items[3] = PyLong_FromLong(f->family);
    items[4] = type;
    items[5] = PyLong_FromLong(f->unit);
    items[6] = stringOrNone(f->unit_name);
    items[7] = stringOrNone(f->help);
    items[8] = fieldNameOrNone(f->base_index);
    items[9] = fieldNameOrNone(f->max_index);
    items[10] = fieldNameOrNone(f->length_index);
    items[11] = PyBool_FromLong(f->accepts_suffix);
    for (i = 0; i < 12; i++) {
        if (!items[i]) {
            int j;

            for (j = 0; j < 12; j++)
                Py_XDECREF(items[j]);
            Py_DECREF(row);
            return NULL;
        }
    }
    for (i = 0; i < 12; i++)
        PyStructSequence_SET_ITEM(row, i, items[i]);
    return row;
}

/*
 * pyiovThrottleInit: read the table once: the orders, the ThrottleField
 * type and the tuple of fields; add ThrottleField to the module.
 * Returns 0, or -1 with an exception set.
 */
int
pyiovThrottleInit(PyObject *module)
{
    int i;

    fieldCount = iovThrottleFieldCount();
    if (fieldCount <= 0) {
        PyErr_Format(PyExc_ImportError, "the throttle field table is empty (%d fields)",
                     fieldCount);
        return -1;
    }
    tableOrder = PyMem_RawCalloc((size_t)fieldCount, sizeof(int));
    libvirtOrder = PyMem_RawCalloc((size_t)fieldCount, sizeof(int));
    if (!tableOrder || !libvirtOrder) {
        PyErr_NoMemory();
        return -1;
    }
    for (i = 0; i < fieldCount; i++) {
        int k = iovThrottleFieldByIndex(i)->libvirt_index;

        if (k < 0 || k >= fieldCount) {
            PyErr_Format(PyExc_ImportError, "throttle field %d has libvirt position %d", i, k);
            return -1;
        }
        tableOrder[i] = i;
        libvirtOrder[k] = i;
    }

    if (!(throttleFieldType = PyStructSequence_NewType(&throttleFieldDesc)))
        return -1;
    Py_INCREF(throttleFieldType);
    if (PyModule_AddObject(module, "ThrottleField", (PyObject *)throttleFieldType) < 0) {
        Py_DECREF(throttleFieldType);
        return -1;
    }
    if (!(fieldsTuple = PyTuple_New(fieldCount)))
        return -1;
    for (i = 0; i < fieldCount; i++) {
        PyObject *row = throttleFieldNew(iovThrottleFieldByIndex(i));

        if (!row)
            return -1;
        PyTuple_SET_ITEM(fieldsTuple, i, row);
    }
    return 0;
}

/* pyiovThrottleFields: the tuple of ThrottleField (a new reference). */
PyObject *
pyiovThrottleFields(void)
{
    Py_INCREF(fieldsTuple);
    return fieldsTuple;
}

/* The Python value of a typed parameter returned by the library. */
static PyObject *
paramValue(const iovTypedParameter *p)
{
    switch (p->type) {
    case IOV_TYPED_PARAM_INT:
        return PyLong_FromLong(p->value.i);
    case IOV_TYPED_PARAM_UINT:
        return PyLong_FromUnsignedLong(p->value.ui);
    case IOV_TYPED_PARAM_LLONG:
        return PyLong_FromLongLong(p->value.l);
    case IOV_TYPED_PARAM_ULLONG:
        return PyLong_FromUnsignedLongLong(p->value.ul);
    case IOV_TYPED_PARAM_DOUBLE:
        return PyFloat_FromDouble(p->value.d);
    case IOV_TYPED_PARAM_BOOLEAN:
        return PyBool_FromLong(p->value.b);
    case IOV_TYPED_PARAM_STRING:
        if (!p->value.s)
            return PyUnicode_FromString("");
        return PyUnicode_DecodeUTF8(p->value.s, (Py_ssize_t)strlen(p->value.s), "replace");
    default:
        return pyiovRaiseSimple(IOV_ERR_RPC, IOV_FROM_NONE, "parameter '%s' has unknown type %d",
                                p->field, p->type);
    }
}

PyObject *
pyiovParamsToDict(const iovTypedParameter *params, int nparams)
{
    PyObject *dict = PyDict_New();
    int i;

    for (i = 0; dict && i < nparams; i++) {
        PyObject *value = paramValue(&params[i]);

        if (!value || PyDict_SetItemString(dict, params[i].field, value) < 0) {
            Py_XDECREF(value);
            Py_CLEAR(dict);
            break;
        }
        Py_DECREF(value);
    }
    return dict;
}

/* Add params[j] to `dict` under `key`. Returns 0 or -1. */
static int
dictAddParam(PyObject *dict, const char *key, const iovTypedParameter *p)
{
    PyObject *value = paramValue(p);
    int ret;

    if (!value)
        return -1;
    ret = PyDict_SetItemString(dict, key, value);
    Py_DECREF(value);
    return ret;
}

/*
 * The dict of `nparams` values returned by the library: the table's fields
 * in `order`, keyed by their name (or libvirt alias), then any field the
 * table does not know, under the name the daemon sent.
 */
static PyObject *
limitsToDict(const iovTypedParameter *params, int nparams, const int *order, int useAlias)
{
    PyObject *dict = PyDict_New();
    int *pos = PyMem_Calloc((size_t)fieldCount, sizeof(int));
    char *used = PyMem_Calloc((size_t)(nparams > 0 ? nparams : 1), 1);
    int i;
    int j;

    if (!dict || !pos || !used) {
        if (dict)
            PyErr_NoMemory();
        goto error;
    }
    for (i = 0; i < fieldCount; i++)
        pos[i] = -1;
    for (j = 0; j < nparams; j++) {
        int index = iovThrottleFieldLookup(params[j].field);

        if (index >= 0 && index < fieldCount && pos[index] < 0) {
            pos[index] = j;
            used[j] = 1;
        }
    }
    for (i = 0; i < fieldCount; i++) {
        const iovThrottleField *f = iovThrottleFieldByIndex(order[i]);
        int at = pos[order[i]];

        if (at >= 0 && dictAddParam(dict, useAlias ? f->alias : f->name, &params[at]) < 0)
            goto error;
    }
    for (j = 0; j < nparams; j++) {
        if (!used[j] && dictAddParam(dict, params[j].field, &params[j]) < 0)
            goto error;
    }
    PyMem_Free(pos);
    PyMem_Free(used);
    return dict;

error:
    Py_XDECREF(dict);
    PyMem_Free(pos);
    PyMem_Free(used);
    return NULL;
}

/* blockIoThrottle and blockIoTune: read the limits of a disk, and return
 * them in table order under iovirt's names, or in libvirt's. */
static PyObject *
domainGetLimits(pyiovDomain *self, PyObject *args, PyObject *kwargs, const char *format,
                int libvirtShape)
{
    static char *kwlist[] = {"disk", "flags", NULL};
    const char *disk;
    unsigned int flags = 0;
    iovTypedParameter *params;
    iovError err = {0};
    PyObject *dict;
    int nparams = fieldCount;
    int ret;

    if (!PyArg_ParseTupleAndKeywords(args, kwargs, format, kwlist, &disk, pyiovFlagsConverter,
                                     &flags))
        return NULL;
    if (!(params = PyMem_Calloc((size_t)fieldCount, sizeof(*params))))
        return PyErr_NoMemory();
    Py_BEGIN_ALLOW_THREADS
    ret = iovDomainGetBlockIoThrottle(self->dom, disk, params, &nparams, flags);
    if (ret < 0)
        iovCopyLastError(&err);
    Py_END_ALLOW_THREADS
    if (ret < 0) {
        PyMem_Free(params);
        return pyiovRaiseError(&err, "iovDomainGetBlockIoThrottle");
    }
    dict = limitsToDict(params, nparams, libvirtShape ? libvirtOrder : tableOrder, libvirtShape);
    iovTypedParamsClear(params, nparams);
    PyMem_Free(params);
    return dict;
}

/*
 * Convert the dict `given` of limits to set on `disk` into typed
 * parameters, in table order, named by iovirt's names (or libvirt's
 * aliases). Every check is made here, before any call: keys must be str
 * and name a field (once), numbers ints from 0 to 2^64-1 (not bool), the
 * group a str without NUL. STRING values are malloc'ed copies, owned by
 * the array: free them with iovTypedParamsClear. Returns the count, or
 * -1 with TypeError or ValueError set.
 */
static int
limitsFromDict(const char *kind, const char *disk, PyObject *given, int useAlias, int allowEmpty,
               iovTypedParameter **out)
{
    PyObject *items = NULL;
    PyObject **keyOf = NULL;
    iovTypedParameter *slot = NULL;
    iovTypedParameter *params = NULL;
    Py_ssize_t nitems;
    Py_ssize_t k;
    int n = 0;
    int i;

    if (!PyDict_Check(given)) {
        PyErr_Format(PyExc_TypeError, "%s '%s': params must be a dict, not %.100s", kind, disk,
                     Py_TYPE(given)->tp_name);
        return -1;
    }
    /* a snapshot: converting a value may run Python code */
    if (!(items = PyDict_Items(given)))
        return -1;
    if ((nitems = PyList_GET_SIZE(items)) == 0 && !allowEmpty) {
        PyErr_Format(PyExc_ValueError, "%s '%s': no throttle field given to set", kind, disk);
        goto error;
    }
    keyOf = PyMem_Calloc((size_t)fieldCount, sizeof(*keyOf));
    slot = PyMem_Calloc((size_t)fieldCount, sizeof(*slot));
    if (!keyOf || !slot) {
        PyErr_NoMemory();
        goto error;
    }

    for (k = 0; k < nitems; k++) {
        PyObject *key = PyTuple_GET_ITEM(PyList_GET_ITEM(items, k), 0);
        PyObject *value = PyTuple_GET_ITEM(PyList_GET_ITEM(items, k), 1);
        const iovThrottleField *f;
        const char *name;
        Py_ssize_t len;
        int index;

        if (!PyUnicode_Check(key)) {
            PyErr_Format(PyExc_TypeError,
                         "%s '%s': throttle field names must be str, not %.100s (%R)", kind, disk,
                         Py_TYPE(key)->tp_name, key);
            goto error;
        }
        if (!(name = PyUnicode_AsUTF8AndSize(key, &len)))
            goto error;
        index = (size_t)len == strlen(name) ? iovThrottleFieldLookup(name) : -1;
        if (index < 0 || index >= fieldCount) {
            PyErr_Format(PyExc_ValueError,
                         "%s '%s': unknown throttle field %R (see iovirt.throttleFields())", kind,
                         disk, key);
            goto error;
        }
        if (keyOf[index]) {
            PyErr_Format(PyExc_ValueError,
                         "%s '%s': throttle field '%s' given twice (as %R and %R)", kind, disk,
                         iovThrottleFieldByIndex(index)->name, keyOf[index], key);
            goto error;
        }
        keyOf[index] = key;
        f = iovThrottleFieldByIndex(index);
        slot[index].type = f->type;
        if (strlen(useAlias ? f->alias : f->name) >= sizeof(slot[index].field)) {
            PyErr_Format(PyExc_ValueError, "throttle field name '%s' is too long", f->name);
            goto error;
        }
        strcpy(slot[index].field, useAlias ? f->alias : f->name);

        if (f->type == IOV_TYPED_PARAM_STRING) {
            const char *s;

            if (!PyUnicode_Check(value)) {
                PyErr_Format(PyExc_TypeError, "%s '%s': %U must be a str, not %.100s", kind, disk,
                             key, Py_TYPE(value)->tp_name);
                goto error;
            }
            if (!(s = PyUnicode_AsUTF8AndSize(value, &len)))
                goto error;
            if ((size_t)len != strlen(s)) {
                PyErr_Format(PyExc_ValueError, "%s '%s': %U %R contains a NUL character", kind,
                             disk, key, value);
                goto error;
            }
            if (!(slot[index].value.s = strdup(s))) {
                PyErr_NoMemory();
                goto error;
            }
        } else {
            char what[256];

            PyOS_snprintf(what, sizeof(what), "%s '%.100s': %.100s", kind, disk, name);
            if (pyiovToUnsigned(value, what, (unsigned long long)-1, &slot[index].value.ul) < 0)
                goto error;
        }
    }

    if (!(params = PyMem_Calloc((size_t)nitems + 1, sizeof(*params)))) {
        PyErr_NoMemory();
        goto error;
    }
    for (i = 0; i < fieldCount; i++) {
        if (keyOf[i])
            params[n++] = slot[i];
    }
    PyMem_Free(slot);
    PyMem_Free(keyOf);
    Py_DECREF(items);
    *out = params;
    return n;

error:
    if (slot)
        iovTypedParamsClear(slot, fieldCount);
    PyMem_Free(slot);
    PyMem_Free(keyOf);
    Py_XDECREF(items);
    return -1;
}

/* setBlockIoThrottle and setBlockIoTune: check and convert everything,
 * then one call with the GIL released. Returns 0 on success. */
static int
domainSetLimits(pyiovDomain *self, PyObject *args, PyObject *kwargs, const char *format,
                int libvirtShape)
{
    static char *kwlist[] = {"disk", "params", "flags", NULL};
    const char *disk;
    PyObject *given;
    unsigned int flags = 0;
    iovTypedParameter *params = NULL;
    iovError err = {0};
    int nparams;
    int ret;

    if (!PyArg_ParseTupleAndKeywords(args, kwargs, format, kwlist, &disk, &given,
                                     pyiovFlagsConverter, &flags))
        return -1;
    if ((nparams = limitsFromDict("disk", disk, given, libvirtShape, 0, &params)) < 0)
        return -1;
    Py_BEGIN_ALLOW_THREADS
    ret = iovDomainBlockIoThrottle(self->dom, disk, params, nparams, flags);
    if (ret < 0)
        iovCopyLastError(&err);
    iovTypedParamsClear(params, nparams);
    Py_END_ALLOW_THREADS
    PyMem_Free(params);
    if (ret < 0) {
        pyiovRaiseError(&err, "iovDomainBlockIoThrottle");
        return -1;
    }
    return 0;
}

/* Domain.blockIoThrottle(disk, flags=0): iovirt's names, table order. */
PyObject *
pyiovDomainBlockIoThrottle(pyiovDomain *self, PyObject *args, PyObject *kwargs)
{
    return domainGetLimits(self, args, kwargs, "s|O&:blockIoThrottle", 0);
}

/* Domain.blockIoTune(disk, flags=0): libvirt's names and order. */
PyObject *
pyiovDomainBlockIoTune(pyiovDomain *self, PyObject *args, PyObject *kwargs)
{
    return domainGetLimits(self, args, kwargs, "s|O&:blockIoTune", 1);
}

/* Domain.setBlockIoThrottle(disk, params, flags=0): None. */
PyObject *
pyiovDomainSetBlockIoThrottle(pyiovDomain *self, PyObject *args, PyObject *kwargs)
{
    if (domainSetLimits(self, args, kwargs, "sO|O&:setBlockIoThrottle", 0) < 0)
        return NULL;
    Py_RETURN_NONE;
}

/* Domain.setBlockIoTune(disk, params, flags=0): 0, as libvirt-python. */
PyObject *
pyiovDomainSetBlockIoTune(pyiovDomain *self, PyObject *args, PyObject *kwargs)
{
    if (domainSetLimits(self, args, kwargs, "sO|O&:setBlockIoTune", 1) < 0)
        return NULL;
    return PyLong_FromLong(0);
}

/* ---- a domain's named throttle groups ---- */

/* Domain.setThrottleGroup(group, params={}, flags=0): None. */
PyObject *
pyiovDomainSetThrottleGroup(pyiovDomain *self, PyObject *args, PyObject *kwargs)
{
    static char *kwlist[] = {"group", "params", "flags", NULL};
    const char *group;
    PyObject *given = NULL;
    unsigned int flags = 0;
    iovTypedParameter *params = NULL;
    iovError err = {0};
    int nparams = 0;
    int ret;

    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "s|OO&:setThrottleGroup", kwlist, &group, &given,
                                     pyiovFlagsConverter, &flags))
        return NULL;
    if (given && given != Py_None &&
        (nparams = limitsFromDict("group", group, given, 0, 1, &params)) < 0)
        return NULL;
    Py_BEGIN_ALLOW_THREADS
    ret = iovDomainSetThrottleGroup(self->dom, group, params, nparams, flags);
    if (ret < 0)
        iovCopyLastError(&err);
    iovTypedParamsClear(params, nparams);
    Py_END_ALLOW_THREADS
    PyMem_Free(params);
    if (ret < 0)
        return pyiovRaiseError(&err, "iovDomainSetThrottleGroup");
    Py_RETURN_NONE;
}

/* Domain.throttleGroup(group, flags=0): a dict of the numeric fields. */
PyObject *
pyiovDomainThrottleGroup(pyiovDomain *self, PyObject *args, PyObject *kwargs)
{
    static char *kwlist[] = {"group", "flags", NULL};
    const char *group;
    unsigned int flags = 0;
    iovTypedParameter *params = NULL;
    iovError err = {0};
    PyObject *dict;
    int nparams = 0;
    int ret, i;

    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "s|O&:throttleGroup", kwlist, &group,
                                     pyiovFlagsConverter, &flags))
        return NULL;
    Py_BEGIN_ALLOW_THREADS
    ret = iovDomainGetThrottleGroup(self->dom, group, &params, &nparams, flags);
    if (ret < 0)
        iovCopyLastError(&err);
    Py_END_ALLOW_THREADS
    if (ret < 0)
        return pyiovRaiseError(&err, "iovDomainGetThrottleGroup");
    if (!(dict = PyDict_New()))
        goto cleanup;
    for (i = 0; i < nparams; i++) {
        PyObject *v = PyLong_FromUnsignedLongLong(params[i].value.ul);

        if (!v || PyDict_SetItemString(dict, params[i].field, v) < 0) {
            Py_XDECREF(v);
            Py_CLEAR(dict);
            goto cleanup;
        }
        Py_DECREF(v);
    }
cleanup:
    iovTypedParamsFree(params, nparams);
    return dict;
}

/* Domain.delThrottleGroup(group, flags=0): None. */
PyObject *
pyiovDomainDelThrottleGroup(pyiovDomain *self, PyObject *args, PyObject *kwargs)
{
    static char *kwlist[] = {"group", "flags", NULL};
    const char *group;
    unsigned int flags = 0;
    iovError err = {0};
    int ret;

    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "s|O&:delThrottleGroup", kwlist, &group,
                                     pyiovFlagsConverter, &flags))
        return NULL;
    Py_BEGIN_ALLOW_THREADS
    ret = iovDomainDelThrottleGroup(self->dom, group, flags);
    if (ret < 0)
        iovCopyLastError(&err);
    Py_END_ALLOW_THREADS
    if (ret < 0)
        return pyiovRaiseError(&err, "iovDomainDelThrottleGroup");
    Py_RETURN_NONE;
}

/* Domain.listThrottleGroups(flags=0): a list of names. */
PyObject *
pyiovDomainListThrottleGroups(pyiovDomain *self, PyObject *args, PyObject *kwargs)
{
    static char *kwlist[] = {"flags", NULL};
    unsigned int flags = 0;
    iovError err = {0};
    char **names = NULL;
    PyObject *list = NULL;
    int n, i;

    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "|O&:listThrottleGroups", kwlist,
                                     pyiovFlagsConverter, &flags))
        return NULL;
    Py_BEGIN_ALLOW_THREADS
    n = iovDomainListThrottleGroups(self->dom, &names, flags);
    if (n < 0)
        iovCopyLastError(&err);
    Py_END_ALLOW_THREADS
    if (n < 0)
        return pyiovRaiseError(&err, "iovDomainListThrottleGroups");
    list = PyList_New(n);
    for (i = 0; i < n; i++) {
        if (list)
            PyList_SET_ITEM(list, i, PyUnicode_FromString(names[i]));
        free(names[i]);
    }
    free(names);
    return list;
}

/* One disk of iovDomainListDisks as a dict; NULL with an exception set. */
static PyObject *
diskDict(const iovDomainDisk *d)
{
    PyObject *filters = PyList_New(0), *dict;
    size_t i;

    for (i = 0; filters && d->filters[i]; i++) {
        PyObject *name = PyUnicode_FromString(d->filters[i]);

        if (!name || PyList_Append(filters, name) < 0)
            Py_CLEAR(filters);
        Py_XDECREF(name);
    }
    if (!filters)
        return NULL;
    dict = Py_BuildValue("{s:s,s:s,s:s,s:N,s:O}", "target", d->target, "source", d->source, "group",
                         d->group, "filters", filters, "unplug_pending",
                         (d->flags & IOV_DOMAIN_DISK_UNPLUG_PENDING) ? Py_True : Py_False);
    return dict;
}

/* Domain.listDisks(flags=0): a list of dicts, one a disk. */
PyObject *
pyiovDomainListDisks(pyiovDomain *self, PyObject *args, PyObject *kwargs)
{
    static char *kwlist[] = {"flags", NULL};
    unsigned int flags = 0;
    iovError err = {0};
    iovDomainDiskPtr *disks = NULL;
    PyObject *list = NULL;
    int n, i;

    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "|O&:listDisks", kwlist, pyiovFlagsConverter,
                                     &flags))
        return NULL;
    Py_BEGIN_ALLOW_THREADS
    n = iovDomainListDisks(self->dom, &disks, flags);
    if (n < 0)
        iovCopyLastError(&err);
    Py_END_ALLOW_THREADS
    if (n < 0)
        return pyiovRaiseError(&err, "iovDomainListDisks");
    list = PyList_New(n);
    for (i = 0; i < n; i++) {
        PyObject *d = list ? diskDict(disks[i]) : NULL;

        if (list && !d)
            Py_CLEAR(list);
        else if (list)
            PyList_SET_ITEM(list, i, d);
        iovDomainDiskFree(disks[i]);
    }
    free(disks);
    return list;
}

/* Domain.setDiskThrottleFilters(disk, groups, flags=0): None. `groups`
 * is a sequence of group names (empty: the disk leaves every group). */
PyObject *
pyiovDomainSetDiskThrottleFilters(pyiovDomain *self, PyObject *args, PyObject *kwargs)
{
    static char *kwlist[] = {"disk", "groups", "flags", NULL};
    const char *disk;
    PyObject *seq, *fast;
    unsigned int flags = 0;
    iovError err = {0};
    const char **names;
    Py_ssize_t n, i;
    int ret;

    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "sO|O&:setDiskThrottleFilters", kwlist, &disk,
                                     &seq, pyiovFlagsConverter, &flags))
        return NULL;
    if (PyUnicode_Check(seq)) {
        PyErr_SetString(PyExc_TypeError, "groups must be a sequence of names, not a string");
        return NULL;
    }
    if (!(fast = PySequence_Fast(seq, "groups must be a sequence of names")))
        return NULL;
    n = PySequence_Fast_GET_SIZE(fast);
    if (!(names = PyMem_Calloc((size_t)n + 1, sizeof(*names)))) {
        Py_DECREF(fast);
        return PyErr_NoMemory();
    }
    for (i = 0; i < n; i++) {
        PyObject *item = PySequence_Fast_GET_ITEM(fast, i);

        if (!PyUnicode_Check(item) || !(names[i] = PyUnicode_AsUTF8(item))) {
            if (!PyErr_Occurred())
                PyErr_SetString(PyExc_TypeError, "groups must be a sequence of names");
            PyMem_Free(names);
            Py_DECREF(fast);
            return NULL;
        }
    }
    Py_BEGIN_ALLOW_THREADS
    ret = iovDomainSetDiskThrottleFilters(self->dom, disk, names, (int)n, flags);
    if (ret < 0)
        iovCopyLastError(&err);
    Py_END_ALLOW_THREADS
    PyMem_Free(names);
    Py_DECREF(fast);
    if (ret < 0)
        return pyiovRaiseError(&err, "iovDomainSetDiskThrottleFilters");
    Py_RETURN_NONE;
}

/* ---- the monitor passthrough and the domain's messages ---- */

PyObject *
pyiovDomainQemuMonitorCommand(pyiovDomain *self, PyObject *args, PyObject *kwargs)
{
    static char *kwlist[] = {"cmd", "flags", NULL};
    const char *text;
    unsigned int flags = 0;
    iovError err = {0};
    char *result = NULL;
    PyObject *out;
    int rc;

    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "s|O&:qemuMonitorCommand", kwlist, &text,
                                     pyiovFlagsConverter, &flags))
        return NULL;
    Py_BEGIN_ALLOW_THREADS
    rc = iovDomainQemuMonitorCommand(self->dom, text, &result, flags);
    if (rc < 0)
        iovCopyLastError(&err);
    Py_END_ALLOW_THREADS
    if (rc < 0)
        return pyiovRaiseError(&err, "iovDomainQemuMonitorCommand");
    out = PyUnicode_FromString(result);
    free(result);
    return out;
}

PyObject *
pyiovDomainGetMessages(pyiovDomain *self, PyObject *args, PyObject *kwargs)
{
    static char *kwlist[] = {"flags", NULL};
    unsigned int flags = 0;
    iovError err = {0};
    char **msgs = NULL;
    PyObject *list = NULL;
    int n, i;

    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "|O&:getMessages", kwlist, pyiovFlagsConverter,
                                     &flags))
        return NULL;
    Py_BEGIN_ALLOW_THREADS
    n = iovDomainGetMessages(self->dom, &msgs, flags);
    if (n < 0)
        iovCopyLastError(&err);
    Py_END_ALLOW_THREADS
    if (n < 0)
        return pyiovRaiseError(&err, "iovDomainGetMessages");
    list = PyList_New(n);
    for (i = 0; i < n; i++) {
        if (list)
            PyList_SET_ITEM(list, i, PyUnicode_FromString(msgs[i]));
        free(msgs[i]);
    }
    free(msgs);
    return list;
}
