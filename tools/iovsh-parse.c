/*
 * iovsh-parse.c: turning the words of a command into its options
 *
 * A command's words are options (--name, --name VALUE, --name=VALUE) and
 * positional arguments, in any order; "--" ends the options. A positional
 * argument may also be given by its name (--domain web1), as virsh allows.
 * Display commands also take -o/--output FORMAT and every command takes
 * --help.
 */
#include <stdio.h>
#include <string.h>

#include "iovsh.h"

/* Free a parsed command and what it owns. */
void
iovshCmdFree(iovshCmd *cmd)
{
    int i;

    if (!cmd)
        return;
    for (i = 0; i < cmd->nopts; i++)
        g_free(cmd->values[i]);
    g_free(cmd->values);
    g_strfreev(cmd->rest);
    g_free(cmd);
}

/* The index of the option spelled `name` in `opts`, following an alias to
 * the option it spells; -1 when there is none. */
int
iovshOptIndex(const iovshOptDef *opts, const char *name)
{
    int i;

    for (i = 0; opts[i].name; i++) {
        if (strcmp(opts[i].name, name) != 0)
            continue;
        if (opts[i].type == IOVSH_OT_ALIAS)
            return opts[i].alias_of ? iovshOptIndex(opts, opts[i].alias_of) : -1;
        return i;
    }
    return -1;
}

/* Whether option `name` was given to cmd. */
bool
iovshOptGiven(const iovshCmd *cmd, const char *name)
{
    return iovshOptString(cmd, name) != NULL;
}

/* The value of option `name` of cmd, or NULL. */
const char *
iovshOptString(const iovshCmd *cmd, const char *name)
{
    int idx = iovshOptIndex(cmd->opts, name);

    if (idx < 0)
        return NULL;
    return cmd->values[idx];
}

/* Parse a plain non-negative decimal integer. */
bool
iovshParseULL(const char *str, unsigned long long *value)
{
    guint64 v;
    const char *p;

    if (!str || !*str)
        return false;
    for (p = str; *p; p++) {
        if (!g_ascii_isdigit(*p))
            return false;
    }
    if (!g_ascii_string_to_unsigned(str, 10, 0, G_MAXUINT64, &v, NULL))
        return false;
    *value = v;
    return true;
}

/* The value of option `name` as a plain non-negative integer: 0 when not
 * given, 1 when valid, -1 after printing an error. */
int
iovshOptULL(const iovshCmd *cmd, const char *name, unsigned long long *value)
{
    const char *str = iovshOptString(cmd, name);

    if (!str)
        return 0;
    if (!iovshParseULL(str, value)) {
        iovshError("invalid value '%s' for option --%s: expected a non-negative integer", str,
                   name);
        return -1;
    }
    return 1;
}

/* The Levenshtein distance between a and b (insertions, deletions and
 * substitutions each cost 1). */
int
iovshEditDistance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b), i, j;
    g_autofree int *prev = g_new(int, lb + 1);
    g_autofree int *cur = g_new(int, lb + 1);

    for (j = 0; j <= lb; j++)
        prev[j] = j;
    for (i = 1; i <= la; i++) {
        int *swap;

        cur[0] = i;
        for (j = 1; j <= lb; j++) {
            int del = prev[j] + 1;
            int ins = cur[j - 1] + 1;
            int sub = prev[j - 1] + (a[i - 1] != b[j - 1]);

            cur[j] = MIN(MIN(del, ins), sub);
        }
        swap = prev;
        prev = cur;
        cur = swap;
    }
    return prev[lb];
}

/*
 * The candidate nearest to `word`: the only one that `word` begins, else
 * the one at the smallest edit distance when that distance is at most a
 * third of the word's length (and at least 2 is always allowed). NULL when
 * nothing is near.
 */
const char *
iovshNearest(const char *word, const char *const *candidates, int n)
{
    const char *best = NULL, *prefixed = NULL;
    int bestd = G_MAXINT, nprefixed = 0, i;
    int allowed = MAX(2, (int)strlen(word) / 3);

    if (!*word)
        return NULL;
    for (i = 0; i < n; i++) {
        int d;

        if (g_str_has_prefix(candidates[i], word)) {
            prefixed = candidates[i];
            nprefixed++;
        }
        d = iovshEditDistance(word, candidates[i]);
        if (d < bestd) {
            bestd = d;
            best = candidates[i];
        }
    }
    if (bestd <= allowed)
        return best;
    if (nprefixed == 1)
        return prefixed;
    return NULL;
}

/* Print the error for an unknown option `name` of `def`, suggesting the
 * nearest option. */
static void
unknownOption(const iovshCmdDef *def, const iovshOptDef *opts, const char *spelled,
              const char *name)
{
    g_autoptr(GPtrArray) names = g_ptr_array_new();
    const char *near;
    int i;

    for (i = 0; opts[i].name; i++)
        g_ptr_array_add(names, (gpointer)opts[i].name);
    if (def->flags & IOVSH_CMD_DISPLAY)
        g_ptr_array_add(names, (gpointer) "output");
    g_ptr_array_add(names, (gpointer) "help");
    near = iovshNearest(name, (const char *const *)names->pdata, names->len);
    if (near)
        iovshError("command '%s' has no option '%s'; did you mean --%s?", def->name, spelled, near);
    else
        iovshError("command '%s' has no option '%s'; see 'help %s'", def->name, spelled, def->name);
}

/* Check and record an output format given to a display command. */
static int
setOutput(iovshCmd *cmd, const char *value, bool lenient)
{
    if (g_strcmp0(value, "json") == 0) {
        cmd->output = IOVSH_OUTPUT_JSON;
    } else if (g_strcmp0(value, "text") == 0) {
        cmd->output = IOVSH_OUTPUT_TEXT;
    } else if (!lenient) {
        iovshError("unknown output format '%s': use json or text", value ? value : "");
        return -1;
    }
    return 0;
}

/* Record `value` for option idx, refusing an option given twice. */
static int
setValue(iovshCmd *cmd, int idx, const char *value, bool lenient)
{
    if (cmd->values[idx]) {
        if (lenient)
            return 0;
        iovshError("option --%s of command '%s' given twice", cmd->opts[idx].name, cmd->def->name);
        return -1;
    }
    cmd->values[idx] = g_strdup(value);
    return 0;
}

/* Take every word from argv[i] on as the words of the ARGV option idx. */
static void
setRest(iovshCmd *cmd, int idx, int argc, char **argv, int i)
{
    int n = argc - i, j;

    if (i < argc && strcmp(argv[i], "--") == 0) {
        i++;
        n--;
    }
    cmd->rest = g_new0(char *, n + 1);
    for (j = 0; j < n; j++)
        cmd->rest[j] = g_strdup(argv[i + j]);
    cmd->values[idx] = g_strdup("");
}

/* The index of the next positional option not filled yet, or -1. */
static int
nextPositional(const iovshCmd *cmd)
{
    int i;

    for (i = 0; i < cmd->nopts; i++) {
        int t = cmd->opts[i].type;

        if ((t == IOVSH_OT_ARG || t == IOVSH_OT_OPTARG || t == IOVSH_OT_ARGV) && !cmd->values[i])
            return i;
    }
    return -1;
}

/* Parse one "--name[=value]" word at argv[*i]; advances *i past a value
 * taken from the next word. 0 or -1 (error printed). */
static int
parseLongOption(iovshCmd *cmd, int argc, char **argv, int *i, bool lenient)
{
    const iovshCmdDef *def = cmd->def;
    const char *word = argv[*i];
    g_autofree char *name = g_strdup(word + 2);
    char *eq = strchr(name, '=');
    const char *value = NULL;
    const iovshOptDef *o;
    int idx;

    if (eq) {
        *eq = '\0';
        value = eq + 1;
    }
    if (strcmp(name, "help") == 0) {
        cmd->help = true;
        return 0;
    }
    if (strcmp(name, "output") == 0 && (def->flags & IOVSH_CMD_DISPLAY)) {
        if (!value && *i + 1 < argc)
            value = argv[++*i];
        if (!value) {
            if (lenient)
                return 0;
            iovshError("option --output of command '%s' needs a value (json or text)", def->name);
            return -1;
        }
        return setOutput(cmd, value, lenient);
    }
    idx = iovshOptIndex(cmd->opts, name);
    if (idx < 0) {
        if (lenient)
            return 0;
        unknownOption(def, cmd->opts, word, name);
        return -1;
    }
    o = &cmd->opts[idx];
    switch (o->type) {
    case IOVSH_OT_BOOL:
        if (value) {
            if (lenient)
                return 0;
            iovshError("option --%s of command '%s' takes no value (got '%s')", o->name, def->name,
                       value);
            return -1;
        }
        return setValue(cmd, idx, "", lenient);
    case IOVSH_OT_OPTVALUE:
        return setValue(cmd, idx, value ? value : "", lenient);
    case IOVSH_OT_ARGV:
        setRest(cmd, idx, argc, argv, *i + 1);
        *i = argc;
        return 0;
    default:
        if (!value && *i + 1 < argc)
            value = argv[++*i];
        if (!value) {
            if (lenient)
                return 0;
            iovshError("option --%s of command '%s' needs a value", o->name, def->name);
            return -1;
        }
        return setValue(cmd, idx, value, lenient);
    }
}

/* Parse the words of a command; see iovsh.h. */
iovshCmd *
iovshCmdParse(const iovshCmdDef *def, int argc, char **argv, int output, bool lenient)
{
    g_autoptr(iovshCmd) cmd = g_new0(iovshCmd, 1);
    bool options_end = false;
    int i;

    cmd->def = def;
    cmd->opts = iovshCommandOptions(def);
    while (cmd->opts[cmd->nopts].name)
        cmd->nopts++;
    cmd->values = g_new0(char *, cmd->nopts + 1);
    cmd->output = output;

    for (i = 0; i < argc; i++) {
        const char *w = argv[i];
        int idx;

        if (!options_end && strcmp(w, "--") == 0) {
            idx = nextPositional(cmd);
            if (idx >= 0 && cmd->opts[idx].type == IOVSH_OT_ARGV) {
                setRest(cmd, idx, argc, argv, i);
                break;
            }
            options_end = true;
            continue;
        }
        if (!options_end && g_str_has_prefix(w, "--") && w[2]) {
            if (parseLongOption(cmd, argc, argv, &i, lenient) < 0)
                return NULL;
            continue;
        }
        if (!options_end && strcmp(w, "-o") == 0 && (def->flags & IOVSH_CMD_DISPLAY)) {
            if (i + 1 >= argc) {
                if (lenient)
                    continue;
                iovshError("option -o of command '%s' needs a value (json or text)", def->name);
                return NULL;
            }
            if (setOutput(cmd, argv[++i], lenient) < 0)
                return NULL;
            continue;
        }
        if (!options_end && strcmp(w, "-h") == 0) {
            cmd->help = true;
            continue;
        }
        if (!options_end && w[0] == '-' && w[1] && nextPositional(cmd) >= 0 &&
            cmd->opts[nextPositional(cmd)].type == IOVSH_OT_ARGV) {
            setRest(cmd, nextPositional(cmd), argc, argv, i);
            break;
        }
        if (!options_end && w[0] == '-' && w[1]) {
            if (lenient)
                continue;
            unknownOption(def, cmd->opts, w, w + 1 + (w[1] == '-'));
            return NULL;
        }
        idx = nextPositional(cmd);
        if (idx < 0) {
            if (lenient)
                continue;
            iovshError("command '%s' takes no more arguments, got '%s'; see 'help %s'", def->name,
                       w, def->name);
            return NULL;
        }
        if (cmd->opts[idx].type == IOVSH_OT_ARGV) {
            setRest(cmd, idx, argc, argv, i);
            break;
        }
        cmd->values[idx] = g_strdup(w);
    }

    if (!lenient && !cmd->help) {
        for (i = 0; i < cmd->nopts; i++) {
            if (cmd->opts[i].type == IOVSH_OT_ARG && !cmd->values[i]) {
                iovshError("command '%s' needs the argument %s; see 'help %s'", def->name,
                           cmd->opts[i].valname, def->name);
                return NULL;
            }
        }
    }
    return g_steal_pointer(&cmd);
}
