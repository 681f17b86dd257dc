/*
 * iovsh: the operator's shell of iovirt
 *
 *   iovsh [-c URI] [-r] [-o json] [COMMAND [ARGS...]]
 *
 * Runs one command and exits, or with no command reads commands from the
 * terminal (readline: history, Ctrl-R, completion) or from stdin. Exit
 * status 0 on success, 1 on error; errors go to stderr as "error: ...".
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "iovsh.h"

/* Print the usage of iovsh itself. */
static void
usage(FILE *out)
{
    fprintf(out, "usage: iovsh [OPTIONS] [COMMAND [ARGS...]]\n"
                 "\n"
                 "The shell of iovirt: QEMU guests and the I/O limits of their disks.\n"
                 "With no command, reads commands interactively.\n"
                 "\n"
                 "  -c, --connect URI   connect to URI (default: $IOVIRT_DEFAULT_URI, else\n"
                 "                      iovirt:///system for root, iovirt:///session otherwise)\n"
                 "  -r, --readonly      open a read-only connection\n"
                 "  -o, --output FMT    output format of display commands: text (default) or json\n"
                 "  -h, --help          this text; 'iovsh help' lists the commands\n"
                 "  -V, --version       print the version of iovsh\n");
}

/* Without iovsh-front.c (iovsh-full, an iovsh not linked statically):
 * modules load here, nothing to hand over. */
__attribute__((weak)) void
iovshFrontInit(int argc G_GNUC_UNUSED, char **argv G_GNUC_UNUSED)
{
}

__attribute__((weak)) int
iovshFrontHandOver(const char *what G_GNUC_UNUSED)
{
    return 0;
}

__attribute__((weak)) int
iovshFrontCommand(const char *uri G_GNUC_UNUSED)
{
    return 0;
}

/* Open the connection if it is not open yet. */
int
iovshConnect(iovshControl *ctl)
{
    if (ctl->conn)
        return 0;
    if (ctl->readonly)
        ctl->conn = iovConnectOpenReadOnly(ctl->uri);
    else
        ctl->conn = iovConnectOpen(ctl->uri);
    if (!ctl->conn) {
        iovshError("failed to connect to %s: %s", ctl->uri ? ctl->uri : "the default URI",
                   iovGetLastErrorMessage());
        return -1;
    }
    return 0;
}

/* Close the connection, if any. */
void
iovshDisconnect(iovshControl *ctl)
{
    if (!ctl->conn)
        return;
    iovConnectClose(ctl->conn);
    ctl->conn = NULL;
}

/* Whether the last error says the connection is gone. */
static bool
connectionLost(void)
{
    const iovError *err = iovGetLastError();

    if (!err)
        return false;
    return err->code == IOV_ERR_RPC || err->code == IOV_ERR_NO_CONNECT ||
           err->code == IOV_ERR_INVALID_CONN;
}

/* Print the error for an unknown command, with the nearest one. */
void
iovshUnknownCommand(const char *name)
{
    g_autoptr(GPtrArray) names = g_ptr_array_new();
    const iovshCmdDef *def;
    const char *near;

    for (def = iovshCommands; def->name; def++) {
        if (!(def->flags & IOVSH_CMD_HIDDEN))
            g_ptr_array_add(names, (gpointer)def->name);
    }
    near = iovshNearest(name, (const char *const *)names->pdata, names->len);
    if (near)
        iovshError("unknown command '%s'; did you mean '%s'?", name, near);
    else
        iovshError("unknown command '%s'; 'help' lists the commands", name);
}

/* Run one command; see iovsh.h. */
int
iovshRunCommand(iovshControl *ctl, int argc, char **argv)
{
    const iovshCmdDef *def = iovshCommandLookup(argv[0]);
    g_autoptr(iovshCmd) cmd = NULL;
    int ret;

    if (!def) {
        iovshUnknownCommand(argv[0]);
        return -1;
    }
    cmd = iovshCmdParse(def, argc - 1, argv + 1, ctl->output, false);
    if (!cmd)
        return -1;
    if (cmd->help) {
        const char *help_argv[] = {"help", def->name, NULL};

        return iovshRunCommand(ctl, 2, (char **)help_argv);
    }
    ret = def->handler(ctl, cmd);
    if (ret < 0 && ctl->interactive && ctl->conn && connectionLost()) {
        fprintf(stderr, "(the connection is lost; the next command opens a new one)\n");
        iovshDisconnect(ctl);
    }
    fflush(stdout);
    return ret;
}

/* Take the value of a global option: "-c URI", "--connect URI" or
 * "--connect=URI". Returns NULL (error printed) when it is missing. */
static const char *
globalValue(int argc, char **argv, int *i, const char *longname)
{
    const char *a = argv[*i];
    size_t len = strlen(longname);

    if (strncmp(a, longname, len) == 0 && a[len] == '=')
        return a + len + 1;
    if (*i + 1 >= argc) {
        iovshError("option %s needs a value", a);
        return NULL;
    }
    return argv[++*i];
}

/* Parse the global options, then run the command given, or the shell. */
int
main(int argc, char **argv)
{
    iovshControl ctl = {0};
    const char *value, *uri = NULL;
    int i, ret;

    iovshFrontInit(argc, argv);
    for (i = 1; i < argc && argv[i][0] == '-'; i++) {
        const char *a = argv[i];

        if (strcmp(a, "--") == 0) {
            i++;
            break;
        } else if (strcmp(a, "-c") == 0 || strcmp(a, "--connect") == 0 ||
                   g_str_has_prefix(a, "--connect=")) {
            if (!(uri = globalValue(argc, argv, &i, "--connect")))
                return 1;
        } else if (strcmp(a, "-r") == 0 || strcmp(a, "--readonly") == 0) {
            ctl.readonly = true;
        } else if (strcmp(a, "-o") == 0 || strcmp(a, "--output") == 0 ||
                   g_str_has_prefix(a, "--output=")) {
            if (!(value = globalValue(argc, argv, &i, "--output")))
                return 1;
            if (strcmp(value, "json") == 0) {
                ctl.output = IOVSH_OUTPUT_JSON;
            } else if (strcmp(value, "text") == 0) {
                ctl.output = IOVSH_OUTPUT_TEXT;
            } else {
                iovshError("unknown output format '%s': use json or text", value);
                return 1;
            }
        } else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            usage(stdout);
            return 0;
        } else if (strcmp(a, "-V") == 0 || strcmp(a, "--version") == 0) {
            printf("iovsh %d.%d.%d\n", IOV_VERSION_MAJOR, IOV_VERSION_MINOR, IOV_VERSION_MICRO);
            return 0;
        } else {
            iovshError("unknown option '%s'; see 'iovsh --help'", a);
            return 1;
        }
    }

    ctl.uri = g_strdup(uri);
    if (i < argc) {
        if (iovshFrontCommand(uri) < 0)
            return 1;
        /* a command may give an exit status of its own (domblkcheck) */
        ret = iovshRunCommand(&ctl, argc - i, argv + i);
        ret = ret < 0 ? 1 : ret;
        /* A one-shot command ends with the process: the socket closing
         * ends the connection for the daemon (it cleans up a client at
         * end of file, as after CLOSE), without waiting a round trip for
         * CLOSE's reply. */
        ctl.conn = NULL;
    } else {
        /* the shell reads commands that may need modules after changes */
        if (iovshFrontHandOver("the shell") < 0)
            return 1;
        ctl.interactive = isatty(STDIN_FILENO);
        ret = iovshInteractive(&ctl);
    }

    iovshDisconnect(&ctl);
    g_free(ctl.uri);
    iovshCommandsCleanup();
    return ret;
}
