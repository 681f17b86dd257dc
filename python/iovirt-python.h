/*
 * iovirt-python.h: what the files of the iovirt Python module share
 *
 * The module is a thin layer over the public C API (include/iovirt/iovirt.h)
 * and nothing else. Rules every file follows:
 *
 *   - every call that may wait on the daemon runs with the GIL released,
 *     and copies the library's per-thread error before taking the GIL back;
 *   - arguments are checked, and converted to C values, before any call is
 *     made: a wrong Python type raises TypeError, a wrong value ValueError;
 *   - a failure reported by the library raises iovirt.Error carrying the
 *     library's code, domain and message unchanged.
 */
#ifndef IOVIRT_PYTHON_H
#define IOVIRT_PYTHON_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdbool.h>

#include <iovirt/iovirt.h>

/* Cast a METH_VARARGS | METH_KEYWORDS function for a PyMethodDef. */
#define PYIOV_KWFUNC(f) ((PyCFunction)(void (*)(void))(f))

/*
 * A Connection: one reference to an iovConnect.
 *   conn  the reference, owned; NULL once close() has run. Only changed
 *         with the GIL held, so a method that took its own reference (see
 *         pyiovConnectionAcquire) may keep using the pointer with the GIL
 *         released while another thread closes the Connection.
 *   uri   the canonical URI, owned (kept after close for messages and repr).
 *   readonly  1 for a read-only connection.
 */
typedef struct {
    PyObject_HEAD iovConnectPtr conn;
    char *uri;
    int readonly;
} pyiovConnection;

/*
 * A Domain: one reference to an iovDomain handle, which itself holds a
 * reference to its iovConnect (so the C connection stays open as long as
 * the handle lives, even after Connection.close()).
 *   dom   owned, never NULL.
 *   conn  a strong reference to the Connection the handle came from,
 *         never NULL: Domain.connect() returns it.
 */
typedef struct {
    PyObject_HEAD iovDomainPtr dom;
    pyiovConnection *conn;
} pyiovDomain;

extern PyTypeObject pyiovConnectionType;
extern PyTypeObject pyiovDomainType;
extern PyTypeObject pyiovErrorType;

/* ---- module.c: errors and argument converters ---- */

PyObject *pyiovRaiseError(iovError *err, const char *func);
PyObject *pyiovRaiseSimple(int code, int domain, const char *fmt, ...);
int pyiovToUnsigned(PyObject *obj, const char *what, unsigned long long max,
                    unsigned long long *out);
int pyiovFlagsConverter(PyObject *obj, void *out);

/* ---- connection.c ---- */

PyObject *pyiovConnectionNew(iovConnectPtr conn);
iovConnectPtr pyiovConnectionAcquire(pyiovConnection *self);

/* ---- events.c ---- */

PyObject *pyiovConnectionDomainEventRegisterAny(pyiovConnection *self, PyObject *args);
PyObject *pyiovConnectionDomainEventDeregisterAny(pyiovConnection *self, PyObject *args);

/* ---- domain.c ---- */

PyObject *pyiovDomainNew(pyiovConnection *conn, iovDomainPtr dom);

/* ---- stream.c ---- */

extern PyTypeObject pyiovStreamType;
PyObject *pyiovConnectionNewStream(pyiovConnection *self, PyObject *args, PyObject *kwargs);
PyObject *pyiovDomainOpenConsole(pyiovDomain *self, PyObject *args, PyObject *kwargs);

/* ---- throttle.c ---- */

PyObject *pyiovThrottleFields(void);
/* pyiovParamsToDict: a new dict of typed parameters by field name, or
 * NULL with an exception. */
PyObject *pyiovParamsToDict(const iovTypedParameter *params, int nparams);
PyObject *pyiovDomainBlockIoThrottle(pyiovDomain *self, PyObject *args, PyObject *kwargs);
PyObject *pyiovDomainSetBlockIoThrottle(pyiovDomain *self, PyObject *args, PyObject *kwargs);
PyObject *pyiovDomainBlockIoTune(pyiovDomain *self, PyObject *args, PyObject *kwargs);
PyObject *pyiovDomainSetBlockIoTune(pyiovDomain *self, PyObject *args, PyObject *kwargs);
PyObject *pyiovDomainSetThrottleGroup(pyiovDomain *self, PyObject *args, PyObject *kwargs);
PyObject *pyiovDomainThrottleGroup(pyiovDomain *self, PyObject *args, PyObject *kwargs);
PyObject *pyiovDomainDelThrottleGroup(pyiovDomain *self, PyObject *args, PyObject *kwargs);
PyObject *pyiovDomainSetDiskThrottleFilters(pyiovDomain *self, PyObject *args, PyObject *kwargs);
PyObject *pyiovDomainListThrottleGroups(pyiovDomain *self, PyObject *args, PyObject *kwargs);
PyObject *pyiovDomainListDisks(pyiovDomain *self, PyObject *args, PyObject *kwargs);
PyObject *pyiovDomainQemuMonitorCommand(pyiovDomain *self, PyObject *args, PyObject *kwargs);

/* ---- migrate.c ---- */

PyObject *pyiovDomainMigrate(pyiovDomain *self, PyObject *args, PyObject *kwargs);
PyObject *pyiovDomainMigrateToURI3(pyiovDomain *self, PyObject *args, PyObject *kwargs);
PyObject *pyiovDomainJobInfo(pyiovDomain *self, PyObject *Py_UNUSED(ignored));
PyObject *pyiovDomainJobStats(pyiovDomain *self, PyObject *args, PyObject *kwargs);
PyObject *pyiovDomainGetMessages(pyiovDomain *self, PyObject *args, PyObject *kwargs);
int pyiovThrottleInit(PyObject *module);

#endif /* IOVIRT_PYTHON_H */
