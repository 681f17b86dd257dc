/*
 * paths.h: where iovirt keeps things, for the system and session modes
 *
 *                 system                      session
 *   definitions   /var/lib/iovirt/qemu        $XDG_CONFIG_HOME/iovirt/qemu
 *   sockets       /run/iovirt/iovirt-sock     $XDG_RUNTIME_DIR/iovirt/iovirt-sock
 *   guest state   /run/iovirt/qemu            $XDG_RUNTIME_DIR/iovirt/qemu
 *   logs          /var/log/iovirt             $XDG_CONFIG_HOME/iovirt/log
 *   config file   /etc/iovirt/iovirtd.conf    $XDG_CONFIG_HOME/iovirt/iovirtd.conf
 *
 * Without XDG_RUNTIME_DIR the session falls back to /tmp/iovirt-UID, a
 * directory of the user's own with mode 0700 (checked before use).
 */
#pragma once

#include <stdbool.h>

/* The directory of the daemon's sockets and running state (new string). */
char *utilRuntimeDir(bool system);
/* The directory of persistent data: definitions, session logs. */
char *utilDataDir(bool system);
/* The directory of logs. */
char *utilLogDir(bool system);
/* The daemon's configuration file. */
char *utilConfigFile(bool system);
/* The socket of the daemon: read-write or read-only. */
char *utilSocketPath(bool system, bool readonly);

/*
 * utilEnsurePrivateDir: create `path` (mode 0700) if missing, and check it
 * is a directory owned by the caller that nobody else can write; -1 with
 * an error otherwise (another user could otherwise plant sockets there).
 */
int utilEnsurePrivateDir(const char *path);
