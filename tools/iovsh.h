/*
 * iovsh.h: what the files of iovsh share
 *
 * iovsh is the operator's shell of iovirt. Every command is one entry of
 * the command table (iovsh-commands.c) and one function in the file of its
 * group (iovsh-domain.c, iovsh-disk.c, iovsh-throttle.c, iovsh-shell.c).
 * iovsh.c parses the command line and runs commands; iovsh-parse.c turns
 * the words of a command into options; iovsh-util.c holds the helpers the
 * commands share (output, domain lookup, the disks of a domain's XML);
 * iovsh-readline.c is the interactive shell and the completion engine.
 *
 * iovsh uses the public API (iovirt/iovirt.h) only.
 */
#ifndef IOVSH_H
#define IOVSH_H

#include <signal.h>
#include <stdbool.h>

#include <glib.h>
#include <json-c/json.h>

#include "iovirt/iovirt.h"

/* ------------------------------------------------------------------ */
/* Options and commands                                                */
/* ------------------------------------------------------------------ */

/* What an option takes. */
typedef enum {
    IOVSH_OT_BOOL = 0, /* --name */
    IOVSH_OT_STRING,   /* --name VALUE or --name=VALUE */
    IOVSH_OT_ARG,      /* a positional argument, required (also --name VALUE) */
    IOVSH_OT_OPTARG,   /* a positional argument that may be left out */
    IOVSH_OT_OPTVALUE, /* --name, or --name=VALUE (the value only after '=') */
    IOVSH_OT_ALIAS,    /* another spelling of the option named by alias_of */
    IOVSH_OT_ARGV,     /* every remaining word, options included (after "--") */
    IOVSH_OT_LAST
} iovshOptType;

/* What the shell completes an option's value (or argument) with. */
typedef enum {
    IOVSH_COMPLETE_NONE = 0,
    IOVSH_COMPLETE_DOMAIN,  /* guest names */
    IOVSH_COMPLETE_DISK,    /* disk targets of the guest named by "domain" */
    IOVSH_COMPLETE_FILE,    /* file names */
    IOVSH_COMPLETE_COMMAND, /* command names */
    IOVSH_COMPLETE_FORMAT,  /* output formats */
    IOVSH_COMPLETE_LAST
} iovshComplete;

/*
 * One option of a command. Arrays of options end with an entry whose name
 * is NULL. All strings are static (or owned by the array that holds them
 * when the array is built at run time).
 */
typedef struct iovshOptDef {
    const char *name;     /* without the leading "--" */
    int type;             /* an iovshOptType */
    const char *valname;  /* what the value is, for help: "SECONDS"; NULL for a bool */
    const char *help;     /* one line */
    int complete;         /* an iovshComplete */
    const char *alias_of; /* IOVSH_OT_ALIAS: the option this one spells; else NULL */
} iovshOptDef;

/* Command flags. A command opens the connection when it first needs it
 * (iovshConnect), so that bad input is refused before any connection. */
enum {
    IOVSH_CMD_DISPLAY = 1 << 0, /* displays data: accepts -o/--output FORMAT */
    IOVSH_CMD_HIDDEN = 1 << 1,  /* not listed by help nor completed */
};

typedef struct iovshControl iovshControl;
typedef struct iovshCmd iovshCmd;

/*
 * One command of the table. Its options are `opts`, or when `build_opts`
 * is set the array it returns (built once, from the throttle field table,
 * and owned by the file that built it).
 */
typedef struct iovshCmdDef {
    const char *name;
    const char *group;                                      /* the heading help lists it under */
    int (*handler)(iovshControl *ctl, const iovshCmd *cmd); /* 0 or -1 */
    const iovshOptDef *opts;
    const iovshOptDef *(*build_opts)(void);
    const char *summary;     /* one line */
    const char *description; /* a paragraph, or NULL */
    unsigned int flags;      /* IOVSH_CMD_* */
} iovshCmdDef;

/* Output formats. */
typedef enum {
    IOVSH_OUTPUT_TEXT = 0,
    IOVSH_OUTPUT_JSON,
} iovshOutput;

/*
 * A parsed command: its definition, its options, and for each option (by
 * index into opts) the value given, or NULL when not given ("" for a bool
 * or an OPTVALUE given without a value). Owns `values` and its strings.
 */
struct iovshCmd {
    const iovshCmdDef *def;
    const iovshOptDef *opts;
    int nopts;
    char **values;
    char **rest; /* the words of an IOVSH_OT_ARGV option (NULL-terminated), or NULL */
    int output;  /* an iovshOutput: the global one, or -o given to this command */
    bool help;   /* --help was given */
};

/*
 * The shell's state. Owns conn and uri. `conn` is opened on first use
 * (iovshConnect) and may be NULL; `uri` is what -c or connect gave (NULL
 * for the default).
 */
struct iovshControl {
    iovConnectPtr conn;
    char *uri;
    bool readonly;
    int output;       /* the global output format, an iovshOutput */
    bool interactive; /* reading commands from a terminal */
    bool quit;        /* `quit` was run */
};

/* Set by SIGINT while a command that can be interrupted runs. */
extern volatile sig_atomic_t iovshInterrupted;

/* ------------------------------------------------------------------ */
/* iovsh-commands.c: the command table                                 */
/* ------------------------------------------------------------------ */

/* The table, ending with an entry whose name is NULL. */
extern const iovshCmdDef iovshCommands[];

/* The command called `name`, or NULL. */
const iovshCmdDef *iovshCommandLookup(const char *name);

/* The options of `def` (never NULL). */
const iovshOptDef *iovshCommandOptions(const iovshCmdDef *def);

/* Free what the command files built at run time (their option arrays). */
void iovshCommandsCleanup(void);

/* ------------------------------------------------------------------ */
/* iovsh-parse.c: the words of a command                                */
/* ------------------------------------------------------------------ */

/* Free a parsed command. NULL is accepted. */
void iovshCmdFree(iovshCmd *cmd);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(iovshCmd, iovshCmdFree)

/*
 * Parse argv[0..argc-1], the words after the command's name, against the
 * options of `def`. Returns a new iovshCmd, or NULL after printing the
 * error (with the nearest option when one is unknown). `output` is the
 * global format. With `lenient` (completion), unknown options, missing
 * arguments and bad values are skipped instead of refused, and the result
 * is never NULL.
 */
iovshCmd *iovshCmdParse(const iovshCmdDef *def, int argc, char **argv, int output, bool lenient);

/* The index in cmd->opts of the option called `name` (an alias resolves
 * to the option it spells), or -1. */
int iovshOptIndex(const iovshOptDef *opts, const char *name);

/* Whether option `name` was given. */
bool iovshOptGiven(const iovshCmd *cmd, const char *name);

/* The value of option `name`, or NULL when not given. */
const char *iovshOptString(const iovshCmd *cmd, const char *name);

/*
 * The value of option `name` as a plain non-negative decimal integer.
 * Returns 0 when not given (*value untouched), 1 when given and valid,
 * -1 after printing an error naming the option and the value.
 */
int iovshOptULL(const iovshCmd *cmd, const char *name, unsigned long long *value);

/* Parse `str` as a plain non-negative decimal integer (digits only, no
 * sign, no space, at most 2^64-1). */
bool iovshParseULL(const char *str, unsigned long long *value);

/* The Levenshtein distance between a and b. */
int iovshEditDistance(const char *a, const char *b);

/* The candidate nearest to `word` when it is near enough to be a likely
 * typo, else NULL. */
const char *iovshNearest(const char *word, const char *const *candidates, int n);

/* ------------------------------------------------------------------ */
/* iovsh.c: running commands                                           */
/* ------------------------------------------------------------------ */

/* Run one command given as words (argv[0] is its name). Returns 0, -1
 * (errors are printed), or a command's own exit status above 0
 * (domblkcheck's 1 for drift, 2 for an error). */
int iovshRunCommand(iovshControl *ctl, int argc, char **argv);

/* Print the error for an unknown command, suggesting the nearest one. */
void iovshUnknownCommand(const char *name);

/* Open the connection if it is not open yet. 0 or -1 (error printed). */
int iovshConnect(iovshControl *ctl);

/* Close the connection (if any). */
void iovshDisconnect(iovshControl *ctl);

/* ------------------------------------------------------------------ */
/* iovsh-util.c: helpers                                               */
/* ------------------------------------------------------------------ */

/* Print "error: MESSAGE" on stderr. */
void iovshError(const char *fmt, ...) G_GNUC_PRINTF(1, 2);

/* Print "error: " and the library's last error message on stderr. */
void iovshLibError(void);

/* Print a JSON value on stdout (pretty, two spaces), then a newline;
 * drops the caller's reference. */
void iovshPrintJSON(json_object *obj);

/* The domain named by option `optname` of cmd: an id, a uuid or a name,
 * as virsh looks it up. NULL after printing the error. */
iovDomainPtr iovshLookupDomain(iovshControl *ctl, const iovshCmd *cmd, const char *optname);

/* The same, from a string. */
iovDomainPtr iovshLookupDomainByString(iovshControl *ctl, const char *str);

/* Find a guest by id, uuid or name on conn; NULL (nothing printed) when
 * there is none. */
iovDomainPtr iovshFindDomain(iovConnectPtr conn, const char *str);

/* g_autoptr(iovDomain) frees a domain handle. */
G_DEFINE_AUTOPTR_CLEANUP_FUNC(iovDomain, iovDomainFree)

/* The name of a state ("running", "shut off"...) and of a reason. */
const char *iovshStateName(int state);
const char *iovshStateReasonName(int state, int reason);

/* A size for humans: 2097152 -> "2 MiB", 1500000 -> "1.43 MiB". New string. */
char *iovshHumanBytes(double bytes);

/* The disks of `dom` (live definition, or persistent with `inactive`), in
 * the order of the definition: a new array of iovDomainDisk (freeing the
 * array frees them); NULL after printing the error. */
GPtrArray *iovshDomainDisks(iovDomainPtr dom, bool inactive);

/* The disk of `disks` that `name` (a target, or a source path) names, or NULL. */
const iovDomainDisk *iovshDiskFind(GPtrArray *disks, const char *name);

/* The targets of the disks of `disks` in group `group`, joined by ", ";
 * NULL when group is empty. New string. */
char *iovshGroupMembers(GPtrArray *disks, const char *group);

/* Which sides a change made with `flags` reached: the live guest, the
 * saved definition or both; CURRENT (0) asks whether `dom` runs. */
void iovshChangeSides(iovDomainPtr dom, unsigned int flags, bool *live, bool *config);

/* "live", "config" or "live and config", for messages. */
const char *iovshSidesText(bool live, bool config);

/* A typed parameter array returned by the library, with its count. */
typedef struct iovshParams {
    iovTypedParameter *params;
    int n;
} iovshParams;

void iovshParamsFree(iovshParams *p);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(iovshParams, iovshParamsFree)

/* The limits of `disk` of `dom` (flags: IOV_DOMAIN_AFFECT_*), every field
 * in table order; NULL when the library fails (error not printed). */
iovshParams *iovshGetThrottle(iovDomainPtr dom, const char *disk, unsigned int flags);

/* The value of field `name` in p (0 / "" when absent). */
unsigned long long iovshParamULL(const iovshParams *p, const char *name);
const char *iovshParamString(const iovshParams *p, const char *name);

/* The limits as a JSON object: keys are the field names, values integers
 * (the group a string). */
json_object *iovshParamsToJSON(const iovshParams *p);

/* The rates view's pieces (iovsh-disk.c), shared with top: a load bar,
 * a rate and a limit for humans (new strings); how close rates run to
 * the limits `lim` (the highest rate / limit, -1 with none; *binding the
 * field of that limit); the rates and load as JSON fields of `o`. */
char *iovshLoadBar(double load, bool color);
char *iovshHumanRate(double bps);
char *iovshHumanLimit(unsigned long long v, bool bytes);
double iovshDiskLoad(const iovshParams *lim, double rd_bps, double wr_bps, double rd_iops,
                     double wr_iops, const char **binding);
void iovshLoadJSON(json_object *o, double rd_bps, double wr_bps, double rd_iops, double wr_iops,
                   const iovshParams *lim);

/* Sleep `seconds`, waking early when SIGINT arrives (iovshInterrupted). */
void iovshSleep(double seconds);

/* Catch SIGINT into iovshInterrupted (install), or undo one such call
 * (calls nest). */
void iovshCatchInterrupt(bool install);

/* ------------------------------------------------------------------ */
/* The commands, by group                                              */
/* ------------------------------------------------------------------ */

/* iovsh-shell.c */
int cmdHelp(iovshControl *ctl, const iovshCmd *cmd);
int cmdQemuMonitorCommand(iovshControl *ctl, const iovshCmd *cmd);

/* iovsh-migrate.c */
int cmdMigrate(iovshControl *ctl, const iovshCmd *cmd);
int cmdDomJobInfo(iovshControl *ctl, const iovshCmd *cmd);
int cmdDomJobAbort(iovshControl *ctl, const iovshCmd *cmd);
/* domblkcheck returns its own exit status: 0 clean, 1 drift, 2 error */
int cmdDomBlkCheck(iovshControl *ctl, const iovshCmd *cmd);
int cmdQuit(iovshControl *ctl, const iovshCmd *cmd);
int cmdConnect(iovshControl *ctl, const iovshCmd *cmd);
int cmdURI(iovshControl *ctl, const iovshCmd *cmd);
int cmdVersion(iovshControl *ctl, const iovshCmd *cmd);
int cmdComplete(iovshControl *ctl, const iovshCmd *cmd);

/* iovsh-domain.c */
int cmdList(iovshControl *ctl, const iovshCmd *cmd);
int cmdEvent(iovshControl *ctl, const iovshCmd *cmd);
int cmdConsole(iovshControl *ctl, const iovshCmd *cmd);
int cmdDefine(iovshControl *ctl, const iovshCmd *cmd);
int cmdUndefine(iovshControl *ctl, const iovshCmd *cmd);
int cmdStart(iovshControl *ctl, const iovshCmd *cmd);
int cmdSuspend(iovshControl *ctl, const iovshCmd *cmd);
int cmdResume(iovshControl *ctl, const iovshCmd *cmd);
int cmdShutdown(iovshControl *ctl, const iovshCmd *cmd);
int cmdDestroy(iovshControl *ctl, const iovshCmd *cmd);
int cmdDumpXML(iovshControl *ctl, const iovshCmd *cmd);
int cmdDomState(iovshControl *ctl, const iovshCmd *cmd);
int cmdDomInfo(iovshControl *ctl, const iovshCmd *cmd);

/* iovsh-disk.c */
int cmdDomBlkList(iovshControl *ctl, const iovshCmd *cmd);
int cmdDomBlkStat(iovshControl *ctl, const iovshCmd *cmd);
int cmdTop(iovshControl *ctl, const iovshCmd *cmd);

/* iovsh-throttle.c */
int cmdBlkIoThrottle(iovshControl *ctl, const iovshCmd *cmd);
int cmdBlkDevIoTune(iovshControl *ctl, const iovshCmd *cmd);
const iovshOptDef *iovshThrottleOptionsRFC(void);
const iovshOptDef *iovshThrottleOptionsLibvirt(void);
void iovshThrottleCleanup(void);

/* iovsh-hotplug.c */
int cmdAttachDevice(iovshControl *ctl, const iovshCmd *cmd);
int cmdDetachDevice(iovshControl *ctl, const iovshCmd *cmd);
int cmdDetachDeviceAlias(iovshControl *ctl, const iovshCmd *cmd);
int cmdUpdateDevice(iovshControl *ctl, const iovshCmd *cmd);
int cmdAttachDisk(iovshControl *ctl, const iovshCmd *cmd);
int cmdDetachDisk(iovshControl *ctl, const iovshCmd *cmd);
int cmdChangeMedia(iovshControl *ctl, const iovshCmd *cmd);
const iovshOptDef *iovshAttachDiskOptions(void);
void iovshHotplugCleanup(void);

/* iovsh-groups.c: a domain's named throttle groups */
int cmdDomThrottleGroupSet(iovshControl *ctl, const iovshCmd *cmd);
int cmdDomThrottleGroupInfo(iovshControl *ctl, const iovshCmd *cmd);
int cmdDomThrottleGroupList(iovshControl *ctl, const iovshCmd *cmd);
int cmdDomThrottleGroupDel(iovshControl *ctl, const iovshCmd *cmd);
const iovshOptDef *iovshGroupSetOptions(void);
void iovshGroupsCleanup(void);
int iovshShowChain(iovDomainPtr dom, const char *disk, unsigned int flags, json_object *o);

/* ------------------------------------------------------------------ */
/* iovsh-readline.c: the interactive shell and completion              */
/* ------------------------------------------------------------------ */

/* Read and run commands until end of input or `quit`. From a terminal:
 * readline with history and completion; otherwise one command a line.
 * Returns the exit status (0, or 1 when a command failed without a
 * terminal). */
int iovshInteractive(iovshControl *ctl);

/* Parse a line into words and run it. 0, or -1 when it failed. */
int iovshRunLine(iovshControl *ctl, const char *line);

/*
 * Modules: what needs a large library lives in a module loaded on first
 * use, so that a one-shot command loads neither readline nor libxml2
 * (iovsh-module.c): the shell on a terminal (iovsh-terminal.c) and what
 * iovsh reads or edits in domain XML (iovsh-xml.c). Each exports its entry
 * functions.
 */
#define IOVSH_TERMINAL_MODULE "iovsh-terminal"
#define IOVSH_TERMINAL_ENTRY "iovshTerminalModuleEntry"
typedef int (*iovshTerminalFunc)(iovshControl *ctl);
#define IOVSH_XML_MODULE "iovsh-xml"
/* change-media: the <disk> of `target` in domain XML `xml` with medium
 * `source` (NULL: none); a new string, or NULL after printing why */
#define IOVSH_XML_MEDIUM_ENTRY "iovshXMLMediumModuleEntry"
typedef char *(*iovshMediumFunc)(const char *xml, const char *target, const char *source);
/* The <dropped> items of a domain's XML: a new array of strings. */
#define IOVSH_XML_DROPPED_ENTRY "iovshXMLDroppedModuleEntry"
typedef GPtrArray *(*iovshDroppedFromXMLFunc)(const char *xml);

/* The entry `entry` of module `name`: beside the iovsh program (the build
 * tree), else in the modules folder it was installed with. NULL after
 * printing why. */
void *iovshModuleLoad(const char *name, const char *entry);

/* Where iovsh's file `file` (a module, "iovsh-xml.so", or "iovsh-full")
 * is: beside the iovsh program if it is there (the build tree), else in
 * the modules folder. A new string. */
char *iovshModuleFile(const char *file);

/* When set, iovshModuleLoad calls it instead of loading anything (the
 * static iovsh, iovsh-front.c). */
extern void *(*iovshModuleHook)(const char *name, const char *entry);

/*
 * The static iovsh (iovsh-front.c), which cannot load modules, hands a
 * command that needs one over to iovsh-full. iovshFrontInit (from main,
 * first) sets it up; iovshFrontHandOver(what) runs the same command line
 * in iovsh-full and does not return, or returns -1 after printing why
 * (something was already changed or printed). In iovsh-full (and any
 * iovsh not linked statically) both do nothing and HandOver returns 0.
 */
void iovshFrontInit(int argc, char **argv);
int iovshFrontHandOver(const char *what);
/* Before a one-shot command on `uri` (NULL: the default): a TLS
 * connection is handed over before the command runs at all. 0, or -1
 * after printing why the hand-over failed. */
int iovshFrontCommand(const char *uri);

/*
 * The candidates that complete `partial`, the word being typed after the
 * words `words[0..nwords-1]` of a command line (words[0] the command).
 * A new array of new strings. *files is set when file names should be
 * completed instead.
 */
GPtrArray *iovshCompleteLine(iovshControl *ctl, int nwords, char **words, const char *partial,
                             bool *files);

#endif /* IOVSH_H */
