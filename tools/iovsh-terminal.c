/*
 * iovsh-terminal.c: the shell on a terminal, with readline. A module
 * (iovsh-terminal.so) that iovsh loads when it reads commands from a
 * terminal, so that a one-shot command never loads readline; it calls
 * back into iovsh (the completion engine, iovshRunLine).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <glib/gstdio.h>
#include <readline/history.h>
#include <readline/readline.h>

#include "iovsh.h"

#define HISTORY_LINES 1000

int iovshTerminalModuleEntry(iovshControl *ctl);

/* The shell whose line is being completed (readline's callbacks take no
 * context). */
static iovshControl *completionCtl;

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

/* The history file: $XDG_CACHE_HOME/iovsh/history (its folder created). */
static char *
historyFile(void)
{
    g_autofree char *dir = g_build_filename(g_get_user_cache_dir(), "iovsh", NULL);

    if (g_mkdir_with_parents(dir, 0700) < 0)
        return NULL;
    return g_build_filename(dir, "history", NULL);
}

/* The shell on a terminal: the entry of this module. */
int
iovshTerminalModuleEntry(iovshControl *ctl)
{
    g_autofree char *history = NULL;
    const char *prompt = ctl->readonly ? "iovsh (read-only) # " : "iovsh # ";

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
        iovshRunLine(ctl, copy);
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
