/*
 * module.h: parts of the client library that need a large library
 * (GnuTLS for TLS, libxml2 for the offline XML check) live in modules
 * loaded on first use, so that a program that only talks to a daemon
 * over a unix socket never loads them (docs/hacking.md, "Modules").
 */
#pragma once

/*
 * utilModuleLoad: the entry function `entry` of the module `name`
 * ("iovirt-tls"), found beside the shared library holding this code: in
 * DIR/iovirt/NAME.so (installed: DIR is the library directory) or
 * DIR/NAME.so (the build tree). In a program linked with the library's
 * code (iovsh), in the library's build folder when the program is in the
 * build tree, else in LIBDIR/iovirt (IOV_MODULEDIR). The module is never
 * unloaded. Returns
 * NULL with an error naming the file and dlopen's reason.
 */
void *utilModuleLoad(const char *name, const char *entry);

/*
 * utilModuleLoadHook: when set, utilModuleLoad calls it instead of loading
 * anything, and returns what it returns. A program that cannot load
 * modules (iovsh linked statically, libc included: it hands the command
 * over to a program that can) sets it before any call.
 */
extern void *(*utilModuleLoadHook)(const char *name, const char *entry);
