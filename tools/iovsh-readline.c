/*
 * iovsh-readline.c: the interactive shell and the completion engine
 *
 * From a terminal, commands are read with readline: line editing, history
 * kept in $XDG_CACHE_HOME/iovsh/history (Ctrl-R searches it), and Tab
 * completion of commands, options, guest names and disk targets. Ctrl-C
 * clears the line, or stops a command that waits (domblkstat --watch,
 * shutdown --wait). Without a terminal, commands are read one a line.
 *
 * The completion engine (iovshCompleteLine) serves readline and, through
 * the hidden command __complete, the bash completion script.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <glib/gstdio.h>
#include <readline/history.h>
#include <readline/readline.h>

#include "iovsh.h"

#define HISTORY_LINES 1000

/* The shell whose line is being completed (readline's callbacks take no
 * context). */
static iovshControl *completionCtl;

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
    g_autoptr(GPtrArray) disks = NULL;
    g_autofree char *xml = NULL;
    char *raw;
    guint i;

    if (!name || !quietConnect(ctl))
        return;
    dom = iovshFindDomain(ctl->conn, name);
    if (!dom)
        return;
    raw = iovDomainGetXMLDesc(dom, 0);
    if (!raw)
        return;
    xml = g_strdup(raw);
    free(raw);
    disks = iovshDisksFromXML(xml);
    for (i = 0; disks && i < disks->len; i++) {
        const iovshDisk *d = g_ptr_array_index(disks, i);

        addCandidate(out, d->target, prefix);
        if (prefix[0] == '/')
            addCandidate(out, d->source, prefix);
    }
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

/* The candidates of the completion in progress, handed to readline one by
 * one. */
static GPtrArray *candidates;

/* readline's generator: the state-th candidate (a malloc'ed copy), NULL at
 * the end. */
static char *
candidateGenerator(const char *text, int state)
{
    (void)text;
    if (!candidates || state >= (int)candidates->len)
        return NULL;
    return strdup(g_ptr_array_index(candidates, state));
}

/* Split the start of a line into words, as the shell would parse it (a
 * line with an unbalanced quote is split on blanks). */
static char **
splitWords(const char *text, int *nwords)
{
    char **argv = NULL;

    g_auto(GStrv) parts = NULL;
    GPtrArray *words;
    char **p;

    if (g_shell_parse_argv(text, nwords, &argv, NULL))
        return argv;
    parts = g_strsplit_set(text, " \t", -1);
    words = g_ptr_array_new();
    for (p = parts; *p; p++) {
        if (**p)
            g_ptr_array_add(words, g_strdup(*p));
    }
    *nwords = words->len;
    g_ptr_array_add(words, NULL);
    return (char **)g_ptr_array_free(words, FALSE);
}

/* readline's completion hook: complete the word at [start, end). */
static char **
attemptCompletion(const char *text, int start, int end)
{
    g_autofree char *before = g_strndup(rl_line_buffer, start);
    g_auto(GStrv) words = NULL;
    int nwords = 0;
    bool files = false;
    char **matches;

    (void)end;
    rl_attempted_completion_over = 1;
    words = splitWords(before, &nwords);
    candidates = iovshCompleteLine(completionCtl, nwords, words, text, &files);
    if (files) {
        g_clear_pointer(&candidates, g_ptr_array_unref);
        rl_attempted_completion_over = 0;
        return NULL;
    }
    matches = candidates->len ? rl_completion_matches(text, candidateGenerator) : NULL;
    g_clear_pointer(&candidates, g_ptr_array_unref);
    return matches;
}

/* Called by readline when a signal interrupted its read: on Ctrl-C,
 * abandon the line and show a fresh prompt. */
static int
onSignalEvent(void)
{
    if (!iovshInterrupted)
        return 0;
    iovshInterrupted = 0;
    rl_replace_line("", 0);
    fputs("^C", rl_outstream);
    rl_crlf();
    rl_on_new_line();
    rl_redisplay();
    return 0;
}

/* Parse a line into words and run it. 0, or -1 when it failed. */
static int
runLine(iovshControl *ctl, const char *line)
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
        if (runLine(ctl, line) < 0)
            failed = 1;
    }
    free(line);
    return failed;
}

/* The history file: $XDG_CACHE_HOME/iovsh/history (its folder created). */
static char *
historyFile(void)
{
    g_autofree char *dir = g_build_filename(g_get_user_cache_dir(), "iovsh", NULL);

    if (g_mkdir_with_parents(dir, 0700) < 0)
        return NULL;
    return g_build_filename(dir, "history", NULL);
}

/* The interactive shell; see iovsh.h. */
int
iovshInteractive(iovshControl *ctl)
{
    g_autofree char *history = NULL;
    const char *prompt = ctl->readonly ? "iovsh (read-only) # " : "iovsh # ";

    if (!ctl->interactive)
        return readStream(ctl, stdin);

    completionCtl = ctl;
    rl_readline_name = "iovsh";
    rl_attempted_completion_function = attemptCompletion;
    rl_basic_word_break_characters = " \t\n";
    rl_completer_quote_characters = "\"'";
    rl_catch_signals = 0;
    rl_signal_event_hook = onSignalEvent;
    iovshCatchInterrupt(true);

    history = historyFile();
    using_history();
    stifle_history(HISTORY_LINES);
    if (history)
        read_history(history);

    printf("Welcome to iovsh, the shell of iovirt.\n"
           "Type 'help' for the commands, 'help COMMAND' for one, 'quit' to leave.\n\n");
    while (!ctl->quit) {
        char *line = readline(prompt);
        g_autofree char *copy = NULL;
        HIST_ENTRY *last;

        if (!line) {
            putchar('\n');
            break;
        }
        copy = g_strstrip(g_strdup(line));
        free(line);
        if (!*copy || copy[0] == '#')
            continue;
        last = history_length > 0 ? history_get(history_base + history_length - 1) : NULL;
        if (!last || strcmp(last->line, copy) != 0)
            add_history(copy);
        runLine(ctl, copy);
    }

    if (history) {
        write_history(history);
        history_truncate_file(history, HISTORY_LINES);
    }
    clear_history();
    iovshCatchInterrupt(false);
    completionCtl = NULL;
    return 0;
}
