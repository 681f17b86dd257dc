/*
 * iovsh-shell.c: the commands about the shell itself
 *
 * help, connect, uri, version, quit/exit, and __complete (the completion
 * engine, for the bash completion script).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "iovsh.h"

#define HELP_WIDTH 78

/* Print `text` wrapped at HELP_WIDTH columns, each line indented by
 * `indent` spaces. */
static void
printWrapped(const char *text, int indent)
{
    g_auto(GStrv) words = g_strsplit(text, " ", -1);
    int col = 0;
    char **w;

    for (w = words; *w; w++) {
        int len = strlen(*w);

        if (!len)
            continue;
        if (col > 0 && col + 1 + len > HELP_WIDTH) {
            putchar('\n');
            col = 0;
        }
        if (col == 0) {
            printf("%*s%s", indent, "", *w);
            col = indent + len;
        } else {
            printf(" %s", *w);
            col += 1 + len;
        }
    }
    if (col > 0)
        putchar('\n');
}

/* The other spellings of option `o` (its aliases), as " (also --a, --b)",
 * or "" when it has none. New string. */
static char *
optionAliases(const iovshOptDef *opts, const iovshOptDef *o)
{
    g_autoptr(GString) s = g_string_new("");
    int i;

    for (i = 0; opts[i].name; i++) {
        if (opts[i].type == IOVSH_OT_ALIAS && g_strcmp0(opts[i].alias_of, o->name) == 0)
            g_string_append_printf(s, "%s--%s", s->len ? ", " : " (also ", opts[i].name);
    }
    if (s->len)
        g_string_append_c(s, ')');
    return g_string_free(g_steal_pointer(&s), FALSE);
}

/* How option `o` is written in a synopsis ("DOMAIN", "[--live]",
 * "[--bps BYTES/S]"...). New string. */
static char *
optionSynopsis(const iovshOptDef *o)
{
    switch (o->type) {
    case IOVSH_OT_ARG:
        return g_strdup(o->valname);
    case IOVSH_OT_OPTARG:
    case IOVSH_OT_ARGV:
        return g_strdup_printf("[%s]", o->valname);
    case IOVSH_OT_BOOL:
        return g_strdup_printf("[--%s]", o->name);
    case IOVSH_OT_OPTVALUE:
        return g_strdup_printf("[--%s[=%s]]", o->name, o->valname);
    case IOVSH_OT_STRING:
        return g_strdup_printf("[--%s %s]", o->name, o->valname);
    }
    return NULL;
}

/* How option `o` is written in the OPTIONS list. New string. */
static char *
optionLeft(const iovshOptDef *o)
{
    switch (o->type) {
    case IOVSH_OT_ARG:
    case IOVSH_OT_OPTARG:
        return g_strdup_printf("[--%s] %s", o->name, o->valname);
    case IOVSH_OT_ARGV:
        return g_strdup_printf("%s...", o->valname);
    case IOVSH_OT_BOOL:
        return g_strdup_printf("--%s", o->name);
    case IOVSH_OT_OPTVALUE:
        return g_strdup_printf("--%s[=%s]", o->name, o->valname);
    case IOVSH_OT_STRING:
        return g_strdup_printf("--%s %s", o->name, o->valname);
    }
    return NULL;
}

/* Print one entry of the OPTIONS list: `left` in a column of `width`,
 * then `help` wrapped beside it (starting on the next line when left is
 * wider than the column). */
static void
printOptionLine(const char *left, const char *help, int width)
{
    g_auto(GStrv) words = g_strsplit(help, " ", -1);
    int margin = width + 6, col;
    char **w;

    if ((int)strlen(left) > width) {
        printf("    %s\n%*s", left, margin, "");
    } else {
        printf("    %-*s  ", width, left);
    }
    col = margin;
    for (w = words; *w; w++) {
        int len = strlen(*w);

        if (col > margin && col + 1 + len > HELP_WIDTH) {
            printf("\n%*s", margin, "");
            col = margin;
        }
        printf("%s%s", col > margin ? " " : "", *w);
        col += len + (col > margin ? 1 : 0);
    }
    putchar('\n');
}

/* Describe one command: name, synopsis, description and every option. */
static void
helpCommand(const iovshCmdDef *def)
{
    const iovshOptDef *opts = iovshCommandOptions(def);
    g_autoptr(GString) syn = g_string_new(def->name);
    int i, width = 0, col;

    printf("  NAME\n    %s - %s\n\n  SYNOPSIS\n", def->name, def->summary);
    col = 4 + syn->len;
    for (i = 0; opts[i].name; i++) {
        g_autofree char *s = NULL;

        if (opts[i].type == IOVSH_OT_ALIAS)
            continue;
        s = optionSynopsis(&opts[i]);
        if (col + 1 + (int)strlen(s) > HELP_WIDTH) {
            g_string_append_printf(syn, "\n%*s", 4 + (int)strlen(def->name), "");
            col = 4 + strlen(def->name);
        }
        g_string_append_printf(syn, " %s", s);
        col += 1 + strlen(s);
    }
    if (def->flags & IOVSH_CMD_DISPLAY)
        g_string_append(syn, " [-o FORMAT]");
    printf("    %s\n\n", syn->str);
    if (def->description) {
        printf("  DESCRIPTION\n");
        printWrapped(def->description, 4);
        putchar('\n');
    }

    for (i = 0; opts[i].name; i++) {
        g_autofree char *left = NULL;

        if (opts[i].type == IOVSH_OT_ALIAS)
            continue;
        left = optionLeft(&opts[i]);
        width = MAX(width, (int)strlen(left));
    }
    width = MIN(MAX(width, 20), 30);
    printf("  OPTIONS\n");
    for (i = 0; opts[i].name; i++) {
        g_autofree char *left = NULL;
        g_autofree char *aliases = NULL;
        g_autofree char *help = NULL;

        if (opts[i].type == IOVSH_OT_ALIAS)
            continue;
        left = optionLeft(&opts[i]);
        aliases = optionAliases(opts, &opts[i]);
        help = g_strdup_printf("%s%s", opts[i].help, aliases);
        printOptionLine(left, help, width);
    }
    if (def->flags & IOVSH_CMD_DISPLAY)
        printOptionLine("-o, --output FORMAT", "text (default) or json, for scripts", width);
    printOptionLine("--help", "this text", width);
}

/* help [COMMAND]: list the commands by group, or describe one. */
int
cmdHelp(iovshControl *ctl, const iovshCmd *cmd)
{
    const char *name = iovshOptString(cmd, "command");
    const iovshCmdDef *def;
    const char *group = NULL;

    (void)ctl;
    if (name) {
        def = iovshCommandLookup(name);
        if (!def) {
            iovshUnknownCommand(name);
            return -1;
        }
        helpCommand(def);
        return 0;
    }
    printf("Commands ('help COMMAND' describes one and lists its options):\n");
    for (def = iovshCommands; def->name; def++) {
        if (def->flags & IOVSH_CMD_HIDDEN)
            continue;
        if (g_strcmp0(group, def->group) != 0) {
            group = def->group;
            printf("\n %s\n", group);
        }
        /* a name longer than the column is followed by two spaces */
        printf("    %-16s%s%s\n", def->name, strlen(def->name) >= 16 ? "  " : "", def->summary);
    }
    printf("\nGuests are named by name, id or uuid; disks by target (vda) or source path.\n");
    return 0;
}

/* quit, exit: leave the interactive shell. */
int
cmdQuit(iovshControl *ctl, const iovshCmd *cmd)
{
    (void)cmd;
    ctl->quit = true;
    return 0;
}

/* connect [URI] [--readonly]: replace the connection. */
int
cmdConnect(iovshControl *ctl, const iovshCmd *cmd)
{
    iovshDisconnect(ctl);
    g_free(ctl->uri);
    ctl->uri = g_strdup(iovshOptString(cmd, "uri"));
    ctl->readonly = iovshOptGiven(cmd, "readonly");
    return iovshConnect(ctl);
}

/* uri: print the canonical URI of the connection. */
int
cmdURI(iovshControl *ctl, const iovshCmd *cmd)
{
    char *uri;

    if (iovshConnect(ctl) < 0)
        return -1;
    if (iovshOptGiven(cmd, "transport")) {
        const char *t = iovConnectGetTransport(ctl->conn);

        if (!t) {
            iovshLibError();
            return -1;
        }
        printf("%s\n", t);
        return 0;
    }
    uri = iovConnectGetURI(ctl->conn);
    if (!uri) {
        iovshLibError();
        return -1;
    }
    printf("%s\n", uri);
    free(uri);
    return 0;
}

/* A version number (major * 1000000 + minor * 1000 + micro) as text. */
static char *
versionString(unsigned long long v)
{
    return g_strdup_printf("%llu.%llu.%llu", v / 1000000, (v / 1000) % 1000, v % 1000);
}

/* version: the versions of iovsh, the daemon and QEMU. */
int
cmdVersion(iovshControl *ctl, const iovshCmd *cmd)
{
    unsigned long long lib = 0, qemu = 0;
    g_autofree char *mine =
        g_strdup_printf("%d.%d.%d", IOV_VERSION_MAJOR, IOV_VERSION_MINOR, IOV_VERSION_MICRO);
    g_autofree char *daemon = NULL;
    g_autofree char *hyp = NULL;

    if (iovshConnect(ctl) < 0)
        return -1;
    if (iovConnectGetLibVersion(ctl->conn, &lib) < 0 ||
        iovConnectGetVersion(ctl->conn, &qemu) < 0) {
        iovshLibError();
        return -1;
    }
    daemon = versionString(lib);
    hyp = versionString(qemu);
    if (cmd->output == IOVSH_OUTPUT_JSON) {
        json_object *obj = json_object_new_object();

        json_object_object_add(obj, "iovsh", json_object_new_string(mine));
        json_object_object_add(obj, "daemon", json_object_new_string(daemon));
        json_object_object_add(obj, "qemu", json_object_new_string(hyp));
        iovshPrintJSON(obj);
        return 0;
    }
    printf("iovsh   %s\niovirtd %s\nQEMU    %s\n", mine, daemon, hyp);
    return 0;
}

/* __complete -- WORDS...: print the completions of the last word, one a
 * line; "@file" asks the caller to complete file names. */
int
cmdComplete(iovshControl *ctl, const iovshCmd *cmd)
{
    g_autoptr(GPtrArray) cands = NULL;
    int n = cmd->rest ? g_strv_length(cmd->rest) : 0;
    bool files = false;
    guint i;

    if (n == 0)
        return 0;
    cands = iovshCompleteLine(ctl, n - 1, cmd->rest, cmd->rest[n - 1], &files);
    for (i = 0; i < cands->len; i++)
        printf("%s\n", (const char *)g_ptr_array_index(cands, i));
    if (files)
        printf("@file\n");
    return 0;
}
