"""Run by test_04_threads.py in a child process: every call of the module
that waits on the daemon goes through a unix socket proxy served by Python
threads of this same process. A call that kept the GIL while waiting for
its reply would stop the proxy, and so itself, forever: the parent sees
the child hang and fails.

usage: gil_probe.py DAEMON_SOCKET DAEMON_RO_SOCKET PROXY_DIR GUEST_XML_FILE
Prints one line per call made, then "ALL-CALLS-RETURNED".
"""

import os
import socket
import sys
import threading

import iovirt


def pump(src, dst):
    try:
        while True:
            data = src.recv(65536)
            if not data:
                break
            dst.sendall(data)
    except OSError:
        pass
    finally:
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


def serve(listener, target):
    while True:
        client, _ = listener.accept()
        upstream = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        upstream.connect(target)
        for a, b in ((client, upstream), (upstream, client)):
            threading.Thread(target=pump, args=(a, b), daemon=True).start()


def proxy(path, target):
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    listener.listen(16)
    threading.Thread(target=serve, args=(listener, target), daemon=True).start()
    return "iovirt+unix:///session?socket=" + path


def call(what, fn, *args, **kwargs):
    try:
        result = fn(*args, **kwargs)
    except iovirt.Error as e:
        print(what, "-> Error(%d)" % e.code, flush=True)
        return None
    print(what, "->", type(result).__name__, flush=True)
    return result


def main():
    sock, sock_ro, proxy_dir, xml_file = sys.argv[1:5]
    uri = proxy(os.path.join(proxy_dir, "rw"), sock)
    uri_ro = proxy(os.path.join(proxy_dir, "ro"), sock_ro)
    xml = open(xml_file).read()

    conn = call("open", iovirt.open, uri)
    ro = call("openReadOnly", iovirt.openReadOnly, uri_ro)
    call("getHostname", conn.getHostname)
    call("getVersion", conn.getVersion)
    call("getLibVersion", conn.getLibVersion)
    dom = call("defineXML", conn.defineXML, xml)
    call("listAllDomains", conn.listAllDomains)
    call("lookupByName", conn.lookupByName, dom.name())
    call("lookupByUUIDString", conn.lookupByUUIDString, dom.UUIDString())
    call("lookupByUUID", conn.lookupByUUID, dom.UUID())
    call("create", dom.create, iovirt.START_PAUSED)
    call("lookupByID", conn.lookupByID, dom.ID())
    call("resume", dom.resume)
    call("suspend", dom.suspend)
    call("resume", dom.resume)
    call("state", dom.state)
    call("info", dom.info)
    call("isActive", dom.isActive)
    call("isPersistent", dom.isPersistent)
    call("XMLDesc", dom.XMLDesc)
    call("blockStats", dom.blockStats, "vda")
    call("blockStatsFlags", dom.blockStatsFlags, "vda")
    call("blockIoThrottle", dom.blockIoThrottle, "vda")
    call("setBlockIoThrottle", dom.setBlockIoThrottle, "vda", {"bps": 1048576})
    call("blockIoTune", dom.blockIoTune, "vda")
    call("setBlockIoTune", dom.setBlockIoTune, "vda", {"total_bytes_sec": 0})
    call("error path", dom.blockIoThrottle, "nosuch")
    rodom = call("ro lookupByName", ro.lookupByName, dom.name())
    call("ro denied", rodom.setBlockIoThrottle, "vda", {"bps": 1})
    call("reboot", dom.reboot)
    call("shutdown", dom.shutdown)
    call("destroy", dom.destroy)
    call("createWithFlags", dom.createWithFlags, 0)
    call("destroy", dom.destroy)
    call("undefine", dom.undefine)
    # the last holds: close() with a Domain alive, then the Domain's
    # deallocation sends the close
    call("close with a domain alive", conn.close)
    call("domain after close", dom.name)
    del dom
    print("domain freed", flush=True)
    call("close", ro.close)
    del rodom
    with iovirt.open(uri) as c:
        call("with", c.listAllDomains)
    print("ALL-CALLS-RETURNED", flush=True)


if __name__ == "__main__":
    main()
