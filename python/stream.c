/*
 * stream.c: iovirt.Stream, and the console that opens one
 *
 * A Stream owns one iovStream (which holds a reference on its
 * connection). recv() waits with the GIL released, so another thread may
 * send, finish or abort meanwhile.
 */
#include "iovirt-python.h"

typedef struct {
    PyObject_HEAD iovStreamPtr st; /* owned; never NULL */
} pyiovStream;

static void
streamDealloc(pyiovStream *self)
{
    iovStreamPtr st = self->st;

    Py_BEGIN_ALLOW_THREADS
    iovStreamFree(st);
    Py_END_ALLOW_THREADS
    Py_TYPE(self)->tp_free((PyObject *)self);
}

/* recv(nbytes): up to nbytes bytes; b'' at the end of the stream; None
 * when non-blocking and nothing has arrived. */
static PyObject *
streamRecv(pyiovStream *self, PyObject *args)
{
    Py_ssize_t nbytes;
    iovError err = {0};
    PyObject *buf;
    int n;

    if (!PyArg_ParseTuple(args, "n:recv", &nbytes))
        return NULL;
    if (nbytes < 0 || nbytes > (1 << 24)) {
        PyErr_SetString(PyExc_ValueError, "nbytes must be from 0 to 16777216");
        return NULL;
    }
    if (!(buf = PyBytes_FromStringAndSize(NULL, nbytes)))
        return NULL;
    Py_BEGIN_ALLOW_THREADS
    n = iovStreamRecv(self->st, PyBytes_AS_STRING(buf), (size_t)nbytes);
    if (n == -1)
        iovCopyLastError(&err);
    Py_END_ALLOW_THREADS
    if (n == -1) {
        Py_DECREF(buf);
        return pyiovRaiseError(&err, "iovStreamRecv");
    }
    if (n == -2) {
        Py_DECREF(buf);
        Py_RETURN_NONE;
    }
    if (_PyBytes_Resize(&buf, n) < 0)
        return NULL;
    return buf;
}

/* send(data): the bytes sent (all of them). */
static PyObject *
streamSend(pyiovStream *self, PyObject *args)
{
    Py_buffer data;
    iovError err = {0};
    int n;

    if (!PyArg_ParseTuple(args, "y*:send", &data))
        return NULL;
    Py_BEGIN_ALLOW_THREADS
    n = iovStreamSend(self->st, data.buf, (size_t)data.len);
    if (n < 0)
        iovCopyLastError(&err);
    Py_END_ALLOW_THREADS
    PyBuffer_Release(&data);
    if (n < 0)
        return pyiovRaiseError(&err, "iovStreamSend");
    return PyLong_FromLong(n);
}

static PyObject *
streamEnd(pyiovStream *self, bool abort)
{
    iovError err = {0};
    int ret;

    Py_BEGIN_ALLOW_THREADS
    ret = abort ? iovStreamAbort(self->st) : iovStreamFinish(self->st);
    if (ret < 0)
        iovCopyLastError(&err);
    Py_END_ALLOW_THREADS
    if (ret < 0)
        return pyiovRaiseError(&err, abort ? "iovStreamAbort" : "iovStreamFinish");
    Py_RETURN_NONE;
}

static PyObject *
streamFinish(pyiovStream *self, PyObject *Py_UNUSED(ignored))
{
    return streamEnd(self, false);
}

static PyObject *
streamAbort(pyiovStream *self, PyObject *Py_UNUSED(ignored))
{
    return streamEnd(self, true);
}

static PyMethodDef streamMethods[] = {
    {"recv", (PyCFunction)streamRecv, METH_VARARGS,
     "recv($self, nbytes, /)\n--\n\n"
     "Up to nbytes bytes from the daemon; b'' once it ended the stream (the\n"
     "guest stopped); None when the stream is STREAM_NONBLOCK and nothing has\n"
     "arrived. Raises iovirt.Error when the daemon ended it with an error\n"
     "(another client took the console over). Waits with the GIL released."},
    {"send", (PyCFunction)streamSend, METH_VARARGS,
     "send($self, data, /)\n--\n\nSend the bytes data; returns len(data)."},
    {"finish", (PyCFunction)streamFinish, METH_NOARGS,
     "finish($self, /)\n--\n\n"
     "End the stream in order; raises the error the daemon ended it with."},
    {"abort", (PyCFunction)streamAbort, METH_NOARGS, "abort($self, /)\n--\n\nEnd the stream now."},
    {NULL, NULL, 0, NULL},
};

PyTypeObject pyiovStreamType = {
    /* clang-format off */
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "iovirt.Stream",
    /* clang-format on */
    .tp_basicsize = sizeof(pyiovStream),
    .tp_dealloc = (destructor)streamDealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "A stream of bytes both ways with the daemon, from Connection.newStream();\n"
              "Domain.openConsole() attaches it to a guest's serial console.",
    .tp_methods = streamMethods,
};

/* Connection.newStream(flags=0) */
PyObject *
pyiovConnectionNewStream(pyiovConnection *self, PyObject *args, PyObject *kwargs)
{
    static char *kwlist[] = {"flags", NULL};
    unsigned int flags = 0;
    iovConnectPtr conn;
    iovError err = {0};
    iovStreamPtr st;
    pyiovStream *obj;

    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "|O&:newStream", kwlist, pyiovFlagsConverter,
                                     &flags))
        return NULL;
    if (!(conn = pyiovConnectionAcquire(self)))
        return NULL;
    st = iovStreamNew(conn, flags);
    if (!st)
        iovCopyLastError(&err);
    iovConnectClose(conn);
    if (!st)
        return pyiovRaiseError(&err, "iovStreamNew");
    if (!(obj = PyObject_New(pyiovStream, &pyiovStreamType))) {
        iovStreamFree(st);
        return NULL;
    }
    obj->st = st;
    return (PyObject *)obj;
}

/* Domain.openConsole(devname, stream, flags=0) */
PyObject *
pyiovDomainOpenConsole(pyiovDomain *self, PyObject *args, PyObject *kwargs)
{
    static char *kwlist[] = {"devname", "stream", "flags", NULL};
    const char *devName = NULL;
    pyiovStream *stream;
    unsigned int flags = 0;
    iovError err = {0};
    iovStreamPtr st;
    int ret;

    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "zO!|O&:openConsole", kwlist, &devName,
                                     &pyiovStreamType, &stream, pyiovFlagsConverter, &flags))
        return NULL;
    st = stream->st;
    Py_BEGIN_ALLOW_THREADS
    ret = iovDomainOpenConsole(self->dom, devName, st, flags);
    if (ret < 0)
        iovCopyLastError(&err);
    Py_END_ALLOW_THREADS
    if (ret < 0)
        return pyiovRaiseError(&err, "iovDomainOpenConsole");
    Py_RETURN_NONE;
}
