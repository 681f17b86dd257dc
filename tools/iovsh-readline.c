/*
 * iovsh-readline.c: the shell's command loop and the completion engine
 *
 * From a terminal, commands are read with readline (iovsh-terminal.c, a
 * module loaded then, so that a one-shot command never loads readline):
 * line editing, history kept in $XDG_CACHE_HOME/iovsh/history (Ctrl-R
 * searches it), and Tab completion of commands, options, guest names and
 * disk targets. Ctrl-C clears the line, or stops a command that waits
 * (domblkstat --watch, shutdown --wait). Without a terminal, commands are
 * read one a line.
 *
 * The completion engine (iovshCompleteLine) serves readline and, through
 * the hidden command __complete, the bash completion script.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "iovsh.h"

/* Open the connection for completion, printing nothing on failure. */
static bool
quietConnect(iovshControl *ctl)
{
    if (ctl->conn)
        return true;
    ctl->conn = ctl->readonly ? iovConnectOpenReadOnly(ctl->uri) : iovConnectOpen(ctl->uri);
    return ctl->conn != NULL;
}

/* Add `cand` (a copy) to `out` when it begins with `prefix`. */
static void
addCandidate(GPtrArray *out, const char *cand, const char *prefix)
{
    if (g_str_has_prefix(cand, prefix))
        g_ptr_array_add(out, g_strdup(cand));
}

/* The names of the guests. */
static void
completeDomains(iovshControl *ctl, GPtrArray *out, const char *prefix)
{
    iovDomainPtr *doms = NULL;
    int n, i;

    if (!quietConnect(ctl))
        return;
    n = iovConnectListAllDomains(ctl->conn, &doms, 0);
    for (i = 0; i < n; i++) {
        addCandidate(out, iovDomainGetName(doms[i]), prefix);
        iovDomainFree(doms[i]);
    }
    free(doms);
}

/* The disk targets (and, after a '/', the source paths) of the guest named
 * by the command's "domain" option. */
static void
completeDisks(iovshControl *ctl, const iovshCmd *cmd, GPtrArray *out, const char *prefix)
{
    const char *name = iovshOptString(cmd, "domain");
    g_autoptr(iovDomain) dom = NULL;
    iovDomainDiskPtr *disks = NULL;
    int i, n;

    if (!name || !quietConnect(ctl))
        return;
    dom = iovshFindDomain(ctl->conn, name);
    if (!dom)
        return;
    if ((n = iovDomainListDisks(dom, &disks, 0)) < 0)
        return;
    for (i = 0; i < n; i++) {
        addCandidate(out, disks[i]->target, prefix);
        if (prefix[0] == '/')
            addCandidate(out, disks[i]->source, prefix);
        iovDomainDiskFree(disks[i]);
    }
    free(disks);
}

/* The names of the commands. */
static void
completeCommands(GPtrArray *out, const char *prefix)
{
    const iovshCmdDef *def;

    for (def = iovshCommands; def->name; def++) {
        if (!(def->flags & IOVSH_CMD_HIDDEN))
            addCandidate(out, def->name, prefix);
    }
}

/* The options of cmd not given yet, as "--name": their primary names, or
 * when none begins with `prefix`, the other spellings that do. */
static void
completeOptions(const iovshCmd *cmd, GPtrArray *out, const char *prefix)
{
    guint before = out->len;
    int pass, i;

    for (pass = 0; pass < 2 && out->len == before; pass++) {
        for (i = 0; cmd->opts[i].name; i++) {
            int idx = iovshOptIndex(cmd->opts, cmd->opts[i].name);
            g_autofree char *spelled = NULL;

            if (idx < 0 || cmd->values[idx] || cmd->opts[idx].type == IOVSH_OT_ARGV)
                continue;
            if ((cmd->opts[i].type == IOVSH_OT_ALIAS) != (pass == 1))
                continue;
            spelled = g_strdup_printf("--%s", cmd->opts[i].name);
            addCandidate(out, spelled, prefix);
        }
        if (pass == 0 && (cmd->def->flags & IOVSH_CMD_DISPLAY))
            addCandidate(out, "--output", prefix);
        if (pass == 0)
            addCandidate(out, "--help", prefix);
    }
}

/* Add the completions of kind `kind` for a value. */
static void
completeValue(iovshControl *ctl, const iovshCmd *cmd, int kind, GPtrArray *out, const char *partial,
              bool *files)
{
    switch (kind) {
    case IOVSH_COMPLETE_DOMAIN:
        completeDomains(ctl, out, partial);
        break;
    case IOVSH_COMPLETE_DISK:
        completeDisks(ctl, cmd, out, partial);
        break;
    case IOVSH_COMPLETE_FILE:
        *files = true;
        break;
    case IOVSH_COMPLETE_COMMAND:
        completeCommands(out, partial);
        break;
    case IOVSH_COMPLETE_FORMAT:
        addCandidate(out, "json", partial);
        addCandidate(out, "text", partial);
        break;
    }
}

/* The completions of `partial` after words[0..nwords-1]; see iovsh.h. */
GPtrArray *
iovshCompleteLine(iovshControl *ctl, int nwords, char **words, const char *partial, bool *files)
{
    GPtrArray *out = g_ptr_array_new_with_free_func(g_free);
    const iovshCmdDef *def;
    g_autoptr(iovshCmd) cmd = NULL;
    int i;

    *files = false;
    if (nwords == 0) {
        completeCommands(out, partial);
        return out;
    }
    def = iovshCommandLookup(words[0]);
    if (!def)
        return out;

    /* the value of the option just before? */
    if (nwords >= 2) {
        const char *prev = words[nwords - 1];

        cmd = iovshCmdParse(def, nwords - 2, words + 1, ctl->output, true);
        if ((def->flags & IOVSH_CMD_DISPLAY) &&
            (strcmp(prev, "-o") == 0 || strcmp(prev, "--output") == 0)) {
            completeValue(ctl, cmd, IOVSH_COMPLETE_FORMAT, out, partial, files);
            return out;
        }
        if (g_str_has_prefix(prev, "--") && !strchr(prev, '=')) {
            int idx = iovshOptIndex(cmd->opts, prev + 2);

            if (idx >= 0 && cmd->opts[idx].type != IOVSH_OT_BOOL &&
                cmd->opts[idx].type != IOVSH_OT_OPTVALUE && cmd->opts[idx].type != IOVSH_OT_ARGV) {
                completeValue(ctl, cmd, cmd->opts[idx].complete, out, partial, files);
                return out;
            }
        }
        g_clear_pointer(&cmd, iovshCmdFree);
    }

    cmd = iovshCmdParse(def, nwords - 1, words + 1, ctl->output, true);
    if (partial[0] == '-') {
        completeOptions(cmd, out, partial);
        return out;
    }
    for (i = 0; i < cmd->nopts; i++) {
        int t = cmd->opts[i].type;

        if ((t == IOVSH_OT_ARG || t == IOVSH_OT_OPTARG) && !cmd->values[i]) {
            completeValue(ctl, cmd, cmd->opts[i].complete, out, partial, files);
            if (t == IOVSH_OT_ARG || out->len > 0 || *files)
                return out;
            break;
        }
    }
    if (!partial[0])
        completeOptions(cmd, out, partial);
    return out;
}

/* Parse a line into words and run it; see iovsh.h. */
int
iovshRunLine(iovshControl *ctl, const char *line)
{
    g_auto(GStrv) argv = NULL;
    g_autoptr(GError) err = NULL;
    int argc = 0;

    if (!g_shell_parse_argv(line, &argc, &argv, &err)) {
        if (g_error_matches(err, G_SHELL_ERROR, G_SHELL_ERROR_EMPTY_STRING))
            return 0;
        iovshError("cannot parse the line: %s", err->message);
        return -1;
    }
    iovshInterrupted = 0;
    return iovshRunCommand(ctl, argc, argv);
}

/* Read commands from a stream that is not a terminal, one a line. Returns
 * 1 when one of them failed. */
static int
readStream(iovshControl *ctl, FILE *in)
{
    char *line = NULL;
    size_t size = 0;
    int failed = 0;

    while (!ctl->quit && getline(&line, &size, in) >= 0) {
        g_strstrip(line);
        if (!*line || line[0] == '#')
            continue;
        if (iovshRunLine(ctl, line) < 0)
            failed = 1;
    }
    free(line);
    return failed;
}

/* The shell; see iovsh.h. */
int
iovshInteractive(iovshControl *ctl)
{
    iovshTerminalFunc terminal;

    if (!ctl->interactive)
        return readStream(ctl, stdin);
    if (!(terminal =
              (iovshTerminalFunc)iovshModuleLoad(IOVSH_TERMINAL_MODULE, IOVSH_TERMINAL_ENTRY)))
        return 1;
    return terminal(ctl);
}
