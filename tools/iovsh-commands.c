/*
 * iovsh-commands.c: the command table of iovsh
 *
 * Every command is one entry below (its name, group, handler, options and
 * help) and one function in the file of its group. The options of
 * blkiothrottle and blkdeviotune are built from the throttle field table
 * of the public API (iovsh-throttle.c).
 */
#include <string.h>

#include "iovsh.h"

#define GROUP_GUESTS "Guests"
#define GROUP_DISKS "Disks and their I/O limits"
#define GROUP_SHELL "The shell"

/* clang-format off */
#define OPT_DOMAIN \
    {"domain", IOVSH_OT_ARG, "DOMAIN", "guest name, id or uuid", IOVSH_COMPLETE_DOMAIN, NULL}
#define OPT_END {NULL, 0, NULL, NULL, 0, NULL}
/* where a device change goes, as virsh's device commands say it */
#define OPT_AFFECT_DEVICE \
    {"current", IOVSH_OT_BOOL, NULL, \
     "the running guest if it runs, else the saved definition (the default)", 0, NULL}, \
    {"live", IOVSH_OT_BOOL, NULL, "the running guest", 0, NULL}, \
    {"config", IOVSH_OT_BOOL, NULL, "the saved definition, for the next boot", 0, NULL}, \
    {"persistent", IOVSH_OT_BOOL, NULL, "--config, and --live when the guest runs", 0, NULL}
/* clang-format on */

static const iovshOptDef optsNone[] = {
    OPT_END,
};

static const iovshOptDef optsDomain[] = {
    OPT_DOMAIN,
    OPT_END,
};

static const iovshOptDef optsGroup[] = {
    {"domain", IOVSH_OT_ARG, "DOMAIN", "guest name, id or uuid", IOVSH_COMPLETE_DOMAIN, NULL},
    {"group", IOVSH_OT_ARG, "GROUP", "the throttle group's name", 0, NULL},
    {"current", IOVSH_OT_BOOL, NULL,
     "the running guest if it runs, else the saved definition (the default)", 0, NULL},
    {"live", IOVSH_OT_BOOL, NULL, "the running guest", 0, NULL},
    {"config", IOVSH_OT_BOOL, NULL, "the saved definition, for the next boot", 0, NULL},
    {NULL, 0, NULL, NULL, 0, NULL},
};

static const iovshOptDef optsGroupList[] = {
    {"domain", IOVSH_OT_ARG, "DOMAIN", "guest name, id or uuid", IOVSH_COMPLETE_DOMAIN, NULL},
    {"current", IOVSH_OT_BOOL, NULL,
     "the running guest if it runs, else the saved definition (the default)", 0, NULL},
    {"live", IOVSH_OT_BOOL, NULL, "the running guest", 0, NULL},
    {"config", IOVSH_OT_BOOL, NULL, "the saved definition, for the next boot", 0, NULL},
    {NULL, 0, NULL, NULL, 0, NULL},
};

static const iovshOptDef optsMonitorCommand[] = {
    OPT_DOMAIN,
    {"cmd", IOVSH_OT_ARG, "CMD", "one QMP command as JSON: '{\"execute\":\"query-status\"}'", 0,
     NULL},
    {"pretty", IOVSH_OT_BOOL, NULL, "indent the reply", 0, NULL},
    {"return-value", IOVSH_OT_BOOL, NULL, "print only the reply's return value", 0, NULL},
    {"hmp", IOVSH_OT_BOOL, NULL, "a human monitor command (refused: QMP only)", 0, NULL},
    OPT_END,
};

static const iovshOptDef optsMigrate[] = {
    OPT_DOMAIN,
    {"desturi", IOVSH_OT_ARG, "DEST-URI",
     "the destination daemon: iovirt+unix://, +tls://, +ssh:// (or qemu+...)", IOVSH_COMPLETE_NONE,
     NULL},
    {"live", IOVSH_OT_BOOL, NULL, "keep the guest running while its memory moves", 0, NULL},
    {"p2p", IOVSH_OT_BOOL, NULL, "the source daemon reaches the destination itself", 0, NULL},
    {"persistent", IOVSH_OT_BOOL, NULL, "define the guest on the destination too", 0, NULL},
    {"undefinesource", IOVSH_OT_BOOL, NULL, "forget its definition on the source afterwards", 0,
     NULL},
    {"suspend", IOVSH_OT_BOOL, NULL, "leave it paused on the destination", 0, NULL},
    OPT_END,
};

static const iovshOptDef optsDomJobInfo[] = {
    OPT_DOMAIN,
    {"completed", IOVSH_OT_BOOL, NULL, "the last migration that ended here", 0, NULL},
    OPT_END,
};

static const iovshOptDef optsBlkCheck[] = {
    OPT_DOMAIN,
    {"seconds", IOVSH_OT_STRING, "N", "measure the disks' rates over N seconds (default 3)", 0,
     NULL},
    OPT_END,
};

static const iovshOptDef optsHelp[] = {
    {"command", IOVSH_OT_OPTARG, "COMMAND", "the command to describe", IOVSH_COMPLETE_COMMAND,
     NULL},
    OPT_END,
};

static const iovshOptDef optsConnect[] = {
    {"uri", IOVSH_OT_OPTARG, "URI", "the daemon to connect to (default: the default URI)",
     IOVSH_COMPLETE_NONE, NULL},
    {"readonly", IOVSH_OT_BOOL, NULL, "open a read-only connection", 0, NULL},
    OPT_END,
};

static const iovshOptDef optsURI[] = {
    {"transport", IOVSH_OT_BOOL, NULL, "print how the connection travels instead: unix, tls or ssh",
     0, NULL},
    OPT_END,
};

static const iovshOptDef optsComplete[] = {
    {"words", IOVSH_OT_ARGV, "WORDS", "the words of the line, the last one being completed",
     IOVSH_COMPLETE_NONE, NULL},
    OPT_END,
};

static const iovshOptDef optsList[] = {
    {"all", IOVSH_OT_BOOL, NULL, "list the guests that are shut off too", 0, NULL},
    {"inactive", IOVSH_OT_BOOL, NULL, "list only the guests that are shut off", 0, NULL},
    OPT_END,
};

static const iovshOptDef optsDefine[] = {
    {"file", IOVSH_OT_ARG, "FILE", "the domain XML (docs/formatdomain.md)", IOVSH_COMPLETE_FILE,
     NULL},
    OPT_END,
};

static const iovshOptDef optsStart[] = {
    OPT_DOMAIN,
    {"paused", IOVSH_OT_BOOL, NULL, "leave the guest's vCPUs paused", 0, NULL},
    OPT_END,
};

static const iovshOptDef optsShutdown[] = {
    OPT_DOMAIN,
    {"wait", IOVSH_OT_OPTVALUE, "SECONDS",
     "wait until the guest is shut off (at most SECONDS when given as --wait=SECONDS)", 0, NULL},
    OPT_END,
};

static const iovshOptDef optsDumpXML[] = {
    OPT_DOMAIN,
    {"inactive", IOVSH_OT_BOOL, NULL, "the persistent definition instead of the live one", 0, NULL},
    OPT_END,
};

static const iovshOptDef optsDomState[] = {
    OPT_DOMAIN,
    {"reason", IOVSH_OT_BOOL, NULL, "also say why the guest is in that state", 0, NULL},
    OPT_END,
};

static const iovshOptDef optsDomBlkList[] = {
    OPT_DOMAIN,
    {"inactive", IOVSH_OT_BOOL, NULL, "the persistent definition and its saved limits", 0, NULL},
    OPT_END,
};

static const iovshOptDef optsTop[] = {
    {"once", IOVSH_OT_BOOL, NULL, "print one view (after one second) and stop", 0, NULL},
    {"count", IOVSH_OT_STRING, "N", "stop after N refreshes (default: until Ctrl-C)", 0, NULL},
    OPT_END,
};

static const iovshOptDef optsDomBlkStat[] = {
    OPT_DOMAIN,
    {"device", IOVSH_OT_OPTARG, "DEVICE",
     "a disk target (vda) or source path; all disks if left out", IOVSH_COMPLETE_DISK, NULL},
    {"watch", IOVSH_OT_BOOL, NULL,
     "live view, each second: each disk's rates beside its limits, and how close it runs to them",
     0, NULL},
    {"count", IOVSH_OT_STRING, "N", "with --watch: stop after N refreshes (default: until Ctrl-C)",
     0, NULL},
    OPT_END,
};

static const iovshOptDef optsEvent[] = {
    {"domain", IOVSH_OT_OPTARG, "DOMAIN", "only this guest's events (default: every guest's)",
     IOVSH_COMPLETE_DOMAIN, NULL},
    {"event", IOVSH_OT_STRING, "NAME",
     "only these events: lifecycle, reboot, tunable, device-added or device-removed", 0, NULL},
    {"loop", IOVSH_OT_BOOL, NULL, "go on after the first event, until Ctrl-C or the timeout", 0,
     NULL},
    {"timeout", IOVSH_OT_STRING, "SECONDS", "stop after SECONDS", 0, NULL},
    {"timestamp", IOVSH_OT_BOOL, NULL, "begin each event with the local time", 0, NULL},
    OPT_END,
};

static const iovshOptDef optsDeviceFile[] = {
    OPT_DOMAIN,
    {"file", IOVSH_OT_ARG, "FILE", "a <disk> document (docs/formatdomain.md; libvirt's too)",
     IOVSH_COMPLETE_FILE, NULL},
    OPT_AFFECT_DEVICE,
    OPT_END,
};

static const iovshOptDef optsUpdateDevice[] = {
    OPT_DOMAIN,
    {"file", IOVSH_OT_ARG, "FILE", "a <disk> document (docs/formatdomain.md; libvirt's too)",
     IOVSH_COMPLETE_FILE, NULL},
    OPT_AFFECT_DEVICE,
    {"force", IOVSH_OT_BOOL, NULL, "accepted as virsh does; changes nothing for a disk", 0, NULL},
    OPT_END,
};

static const iovshOptDef optsDetachAlias[] = {
    OPT_DOMAIN,
    {"alias", IOVSH_OT_ARG, "ALIAS", "the device's alias, 'disk-' and its target (disk-vdb)", 0,
     NULL},
    OPT_AFFECT_DEVICE,
    OPT_END,
};

static const iovshOptDef optsDetachDisk[] = {
    OPT_DOMAIN,
    {"target", IOVSH_OT_ARG, "TARGET", "the disk's target (vdb)", IOVSH_COMPLETE_DISK, NULL},
    OPT_AFFECT_DEVICE,
    OPT_END,
};

static const iovshOptDef optsChangeMedia[] = {
    OPT_DOMAIN,
    {"target", IOVSH_OT_ARG, "TARGET", "the cdrom's target (sda)", IOVSH_COMPLETE_DISK, NULL},
    {"source", IOVSH_OT_OPTARG, "SOURCE", "the new medium (a file or block device)",
     IOVSH_COMPLETE_FILE, NULL},
    {"eject", IOVSH_OT_BOOL, NULL, "take the medium out: an empty tray", 0, NULL},
    {"insert", IOVSH_OT_BOOL, NULL, "put SOURCE into an empty tray", 0, NULL},
    {"update", IOVSH_OT_BOOL, NULL, "put SOURCE in place of the medium (the default)", 0, NULL},
    OPT_AFFECT_DEVICE,
    OPT_END,
};

static const iovshOptDef optsConsole[] = {
    OPT_DOMAIN,
    {"force", IOVSH_OT_BOOL, NULL, "take the console over from the client that holds it", 0, NULL},
    {"devname", IOVSH_OT_STRING, "NAME", "the port: serial0 (the default) or console0", 0, NULL},
    OPT_END,
};

const iovshCmdDef iovshCommands[] = {
    /* Guests */
    {"list", GROUP_GUESTS, cmdList, optsList, NULL, "list the guests",
     "Lists the running guests (with --all, every defined guest): id, name and state.",
     IOVSH_CMD_DISPLAY},
    {"define", GROUP_GUESTS, cmdDefine, optsDefine, NULL, "define a guest from an XML file",
     "Defines a guest, or replaces the persistent definition of the guest of that name. A running "
     "guest keeps its live definition until it restarts.",
     0},
    {"undefine", GROUP_GUESTS, cmdUndefine, optsDomain, NULL, "forget a guest's definition",
     "Forgets the persistent definition; a running guest runs on as a transient guest.", 0},
    {"start", GROUP_GUESTS, cmdStart, optsStart, NULL, "start a guest",
     "Starts a defined guest; the I/O limits of its disks are in force before its first "
     "instruction.",
     0},
    {"suspend", GROUP_GUESTS, cmdSuspend, optsDomain, NULL, "pause a guest's vCPUs", NULL, 0},
    {"resume", GROUP_GUESTS, cmdResume, optsDomain, NULL, "resume a paused guest", NULL, 0},
    {"shutdown", GROUP_GUESTS, cmdShutdown, optsShutdown, NULL, "press a guest's power button",
     "Asks the guest to power off and returns, or with --wait waits until it is shut off.", 0},
    {"destroy", GROUP_GUESTS, cmdDestroy, optsDomain, NULL, "stop a guest now",
     "Stops the guest at once, as pulling its power cord would.", 0},
    {"dumpxml", GROUP_GUESTS, cmdDumpXML, optsDumpXML, NULL, "print a guest's XML definition", NULL,
     IOVSH_CMD_DISPLAY},
    {"domstate", GROUP_GUESTS, cmdDomState, optsDomState, NULL, "print a guest's state", NULL,
     IOVSH_CMD_DISPLAY},
    {"dominfo", GROUP_GUESTS, cmdDomInfo, optsDomain, NULL, "print basic facts about a guest", NULL,
     IOVSH_CMD_DISPLAY},
    {"domblkcheck", GROUP_DISKS, cmdDomBlkCheck, optsBlkCheck, NULL,
     "compare the limits saved, live and in QEMU, and say which disks are held at a limit",
     "For every disk and every step of its chain: the saved definition, the live one and what "
     "QEMU holds, and the rate measured over --seconds against the limits in force. A live "
     "definition that differs from the saved one is information; QEMU differing from the live "
     "definition is drift. Exit status: 0 clean, 1 drift, 2 error.",
     IOVSH_CMD_DISPLAY},
    {"qemu-monitor-command", GROUP_GUESTS, cmdQemuMonitorCommand, optsMonitorCommand, NULL,
     "pass a QMP command to a guest's QEMU",
     "Sends one QMP command to the QEMU of a running guest and prints its reply. The guest is "
     "marked tainted (dominfo shows it) and its limits are read back from QEMU from then on.",
     0},
    {"migrate", GROUP_GUESTS, cmdMigrate, optsMigrate, NULL,
     "move a running guest to another daemon, its limits in force",
     "Moves a running guest to the daemon of DEST-URI with its live definition: every disk's "
     "limits as in force (live-only changes too), hot-plugged disks, throttle groups and chains. "
     "Storage must be at the same path on both hosts. Without --p2p iovsh drives both daemons; "
     "with it the source daemon opens the destination itself. On failure the guest runs on where "
     "it was, its limits unchanged, and the destination holds nothing of it. QEMU does not carry "
     "a throttle bucket's level: the guest starts there with full buckets.",
     0},
    {"domjobinfo", GROUP_GUESTS, cmdDomJobInfo, optsDomJobInfo, NULL,
     "print the progress of a guest's migration",
     "Prints the job of a guest: its type (None, Unbounded while a migration runs) and QEMU's "
     "figures (time elapsed, memory moved and left, bandwidth); --completed: the last migration "
     "that ended here, with its downtime.",
     IOVSH_CMD_DISPLAY},
    {"domjobabort", GROUP_GUESTS, cmdDomJobAbort, optsDomain, NULL, "cancel a guest's migration",
     "Cancels the migration under way; the guest runs on the source with its limits.", 0},
    {"console", GROUP_GUESTS, cmdConsole, optsConsole, NULL,
     "attach the terminal to a guest's serial console",
     "Relays the terminal to the serial port of a running guest (a pty or unix <serial>) until "
     "Ctrl-] is typed, the guest stops, or another client takes the console over with --force. "
     "One client at a time holds a guest's console.",
     0},
    {"event", GROUP_GUESTS, cmdEvent, optsEvent, NULL, "print the guests' events as they happen",
     "Prints each event of every guest (or of DOMAIN): lifecycle (defined, started, suspended, "
     "resumed, stopped...), reboot, and tunable (a disk's limits in force changed, with their "
     "new values), as virsh event does. Stops after the first event, or with --loop at Ctrl-C or "
     "after --timeout, then prints how many events came.",
     0},

    /* Disks */
    {"domblklist", GROUP_DISKS, cmdDomBlkList, optsDomBlkList, NULL,
     "list a guest's disks with the limits in force",
     "Lists each disk of the guest: its target, its source and the limits in force (the live "
     "ones when the guest runs, else the saved ones), non-zero limits only.",
     IOVSH_CMD_DISPLAY},
    {"domblkstat", GROUP_DISKS, cmdDomBlkStat, optsDomBlkStat, NULL,
     "print disk I/O statistics, or watch rates against limits",
     "Prints the I/O counters of one disk, or of every disk, of a running guest. With --watch, "
     "shows each second the read and write rates (bytes/s and IO/s) of each disk beside its "
     "limits, with a bar showing how close the disk runs to the limit that binds it.",
     IOVSH_CMD_DISPLAY},
    {"top", GROUP_DISKS, cmdTop, optsTop, NULL,
     "watch every running guest's disks against their limits",
     "Shows each second, for every disk of every running guest, the read and write rates "
     "(bytes/s and IO/s), the limit closest to being reached and a bar of how close the disk "
     "runs to it, closest first. Each refresh is one bulk statistics call to the daemon. With "
     "--once, one view after one second; -o json prints each view as one line of JSON.",
     IOVSH_CMD_DISPLAY},
    {"blkiothrottle", GROUP_DISKS, cmdBlkIoThrottle, NULL, iovshThrottleOptionsRFC,
     "show or change the I/O limits of a disk",
     "With no value, shows the limits in force, one field a line (live, or the saved definition "
     "with --config). With values, changes them: naming one member of a family (bytes, iops, "
     "bytes max, iops max) sets the whole family, the others becoming 0; 0 removes a limit. "
     "Byte values accept the suffixes K/KiB (1024), KB (1000), M, MiB, MB, G, GiB, GB. A change "
     "to a disk in a group changes the group and every member, which iovsh names.",
     IOVSH_CMD_DISPLAY},
    {"blkdeviotune", GROUP_DISKS, cmdBlkDevIoTune, NULL, iovshThrottleOptionsLibvirt,
     "blkiothrottle with virsh's option names",
     "The same command as blkiothrottle, taking the option names of virsh blkdeviotune "
     "(--total-bytes-sec, --read-iops-sec, --group-name...).",
     IOVSH_CMD_DISPLAY},

    /* Disks that come and go */
    {"attach-disk", GROUP_DISKS, cmdAttachDisk, NULL, iovshAttachDiskOptions,
     "hot-plug a disk, limited from its first I/O",
     "Adds a file or block device as a virtio disk: to the running guest (--live; its limits, "
     "given with the options of blkiothrottle, are in force before the guest sees it), to the "
     "saved definition (--config), or both. All or nothing: a failure leaves the guest and the "
     "definitions as they were and says which step failed.",
     0},
    {"attach-device", GROUP_DISKS, cmdAttachDevice, optsDeviceFile, NULL,
     "hot-plug the disk of a <disk> document",
     "As attach-disk, the disk given as a <disk> document (iovirt's <iothrottle>, or libvirt's "
     "<iotune>).",
     0},
    {"detach-disk", GROUP_DISKS, cmdDetachDisk, optsDetachDisk, NULL, "unplug a disk",
     "Removes the disk TARGET. Live, the guest is asked to release it and iovsh waits for it; "
     "a guest that does not answer in time (15 s) leaves it 'unplug pending': the disk stays, "
     "still limited, and goes by itself when the guest lets it go (domblklist shows it).",
     0},
    {"detach-device", GROUP_DISKS, cmdDetachDevice, optsDeviceFile, NULL,
     "unplug the disk a <disk> document names",
     "As detach-disk, the disk named by the target of "
     "a <disk> document.",
     0},
    {"detach-device-alias", GROUP_DISKS, cmdDetachDeviceAlias, optsDetachAlias, NULL,
     "unplug a disk named by its device alias", NULL, 0},
    {"change-media", GROUP_DISKS, cmdChangeMedia, optsChangeMedia, NULL,
     "put a medium in a cdrom, or take it out",
     "Gives cdrom TARGET the medium SOURCE, or with --eject an empty tray, as virsh change-media "
     "does. The cdrom keeps its limits and its group: they hold the next medium from its first "
     "read.",
     0},
    {"update-device", GROUP_DISKS, cmdUpdateDevice, optsUpdateDevice, NULL,
     "give a disk the limits of a <disk> document",
     "The document's limits become the disk's whole limits (those it does not give become 0), "
     "as blkiothrottle sets them. Anything else that differs from the disk is refused, named.",
     0},
    {"domthrottlegroupset", GROUP_DISKS, cmdDomThrottleGroupSet, NULL, iovshGroupSetOptions,
     "create a named throttle group of a domain, or change its limits",
     "Creates the group (without limits unless some are given) or changes its limits, with the "
     "family rules of blkiothrottle. Every disk that passes through the group "
     "(<throttlefilters>) or joined it (group=) is limited by the new values at once; an "
     "unchanged value is not resent to QEMU.",
     IOVSH_CMD_DISPLAY},
    {"domthrottlegroupinfo", GROUP_DISKS, cmdDomThrottleGroupInfo, optsGroup, NULL,
     "show the limits of a named throttle group",
     "One field a line, then the disks that pass through the group or joined it.",
     IOVSH_CMD_DISPLAY},
    {"domthrottlegrouplist", GROUP_DISKS, cmdDomThrottleGroupList, optsGroupList, NULL,
     "list the named throttle groups of a domain", NULL, IOVSH_CMD_DISPLAY},
    {"domthrottlegroupdel", GROUP_DISKS, cmdDomThrottleGroupDel, optsGroup, NULL,
     "delete a named throttle group",
     "Refused while a disk still passes through the group or joined it.", IOVSH_CMD_DISPLAY},

    /* The shell */
    {"help", GROUP_SHELL, cmdHelp, optsHelp, NULL, "list the commands, or describe one", NULL, 0},
    {"connect", GROUP_SHELL, cmdConnect, optsConnect, NULL, "connect to a daemon",
     "Closes the current connection and opens one to URI.", 0},
    {"uri", GROUP_SHELL, cmdURI, optsURI, NULL,
     "print the URI of the connection (or its transport)", NULL, 0},
    {"version", GROUP_SHELL, cmdVersion, optsNone, NULL,
     "print the versions of iovsh, the daemon and QEMU", NULL, IOVSH_CMD_DISPLAY},
    {"quit", GROUP_SHELL, cmdQuit, optsNone, NULL, "leave the interactive shell", NULL, 0},
    {"exit", GROUP_SHELL, cmdQuit, optsNone, NULL, "leave the interactive shell", NULL, 0},
    {"__complete", GROUP_SHELL, cmdComplete, optsComplete, NULL,
     "print the completions of a command line (for bash)", NULL, IOVSH_CMD_HIDDEN},

    {NULL, NULL, NULL, NULL, NULL, NULL, NULL, 0},
};

/* The entry of the command called `name`, or NULL. */
const iovshCmdDef *
iovshCommandLookup(const char *name)
{
    const iovshCmdDef *def;

    if (!name)
        return NULL;
    for (def = iovshCommands; def->name; def++) {
        if (strcmp(def->name, name) == 0)
            return def;
    }
    return NULL;
}

/* The options of `def`: its static array, or the one its builder makes. */
const iovshOptDef *
iovshCommandOptions(const iovshCmdDef *def)
{
    if (def->build_opts)
        return def->build_opts();
    return def->opts ? def->opts : optsNone;
}

/* Free the option arrays built at run time. */
void
iovshCommandsCleanup(void)
{
    iovshThrottleCleanup();
    iovshHotplugCleanup();
    iovshGroupsCleanup();
}
