"""Type stubs of the iovirt module: QEMU guests and the I/O limits of
their disks (a C extension over iovirt's public C API)."""

from types import TracebackType
from typing import Any, Callable, Dict, List, Literal, NamedTuple, Optional, Sequence, Tuple, Type, Union

__version__: str

# Where a change applies
AFFECT_CURRENT: int
AFFECT_LIVE: int
AFFECT_CONFIG: int

# Domain.create() flags
START_PAUSED: int
MIGRATE_LIVE: int
MIGRATE_PEER2PEER: int
MIGRATE_PERSIST_DEST: int
MIGRATE_UNDEFINE_SOURCE: int
MIGRATE_PAUSED: int
MIGRATE_CHANGE_PROTECTION: int
DOMAIN_JOB_NONE: int
DOMAIN_JOB_UNBOUNDED: int
DOMAIN_JOB_COMPLETED: int
DOMAIN_JOB_FAILED: int
DOMAIN_JOB_CANCELLED: int
DOMAIN_JOB_STATS_COMPLETED: int
DOMAIN_QEMU_MONITOR_COMMAND_DEFAULT: int
DOMAIN_QEMU_MONITOR_COMMAND_HMP: int
DOMAIN_MESSAGE_DEPRECATION: int
DOMAIN_MESSAGE_TAINTING: int
DOMAIN_THROTTLE_HYPERVISOR: int
DOMAIN_THROTTLE_DEFINITION: int
# Domain.listDisks(): a disk's flags (its 'unplug_pending')
DOMAIN_DISK_UNPLUG_PENDING: int
STREAM_NONBLOCK: int
DOMAIN_CONSOLE_FORCE: int
DOMAIN_CONSOLE_SAFE: int

# Connection.domainEventRegisterAny(): event ids, lifecycle events, details
DOMAIN_EVENT_ID_LIFECYCLE: int
DOMAIN_EVENT_ID_REBOOT: int
DOMAIN_EVENT_ID_TUNABLE: int
DOMAIN_EVENT_ID_DEVICE_REMOVED: int
DOMAIN_EVENT_ID_DEVICE_ADDED: int
DOMAIN_EVENT_DEFINED: int
DOMAIN_EVENT_UNDEFINED: int
DOMAIN_EVENT_STARTED: int
DOMAIN_EVENT_SUSPENDED: int
DOMAIN_EVENT_RESUMED: int
DOMAIN_EVENT_STOPPED: int
DOMAIN_EVENT_SHUTDOWN: int
DOMAIN_EVENT_PMSUSPENDED: int
DOMAIN_EVENT_CRASHED: int
DOMAIN_EVENT_DEFINED_ADDED: int
DOMAIN_EVENT_DEFINED_UPDATED: int
DOMAIN_EVENT_UNDEFINED_REMOVED: int
DOMAIN_EVENT_STARTED_BOOTED: int
DOMAIN_EVENT_STARTED_MIGRATED: int
DOMAIN_EVENT_SUSPENDED_PAUSED: int
DOMAIN_EVENT_SUSPENDED_MIGRATED: int
DOMAIN_EVENT_SUSPENDED_IOERROR: int
DOMAIN_EVENT_RESUMED_UNPAUSED: int
DOMAIN_EVENT_RESUMED_MIGRATED: int
DOMAIN_EVENT_STOPPED_SHUTDOWN: int
DOMAIN_EVENT_STOPPED_DESTROYED: int
DOMAIN_EVENT_STOPPED_MIGRATED: int
DOMAIN_EVENT_STOPPED_FAILED: int
DOMAIN_EVENT_SHUTDOWN_FINISHED: int
DOMAIN_EVENT_SHUTDOWN_GUEST: int
DOMAIN_EVENT_SHUTDOWN_HOST: int
DOMAIN_EVENT_CRASHED_PANICKED: int

# Domain.XMLDesc() flags
XML_SECURE: int
XML_INACTIVE: int

# Connection.listAllDomains() flags
LIST_DOMAINS_ACTIVE: int
LIST_DOMAINS_INACTIVE: int
LIST_DOMAINS_PERSISTENT: int
LIST_DOMAINS_TRANSIENT: int
LIST_DOMAINS_RUNNING: int
LIST_DOMAINS_PAUSED: int
LIST_DOMAINS_SHUTOFF: int
LIST_DOMAINS_OTHER: int
LIST_DOMAINS_AUTOSTART: int
LIST_DOMAINS_NO_AUTOSTART: int
DOMAIN_STATS_STATE: int
DOMAIN_STATS_CPU_TOTAL: int
DOMAIN_STATS_BLOCK: int
DOMAIN_STATS_IOTHROTTLE: int

# Domain states and reasons (Domain.state())
DOMAIN_NOSTATE: int
DOMAIN_RUNNING: int
DOMAIN_BLOCKED: int
DOMAIN_PAUSED: int
DOMAIN_SHUTDOWN: int
DOMAIN_SHUTOFF: int
DOMAIN_CRASHED: int
DOMAIN_PMSUSPENDED: int
DOMAIN_RUNNING_UNKNOWN: int
DOMAIN_RUNNING_BOOTED: int
DOMAIN_RUNNING_MIGRATION_CANCELED: int
DOMAIN_RUNNING_MIGRATED: int
DOMAIN_RUNNING_UNPAUSED: int
DOMAIN_PAUSED_UNKNOWN: int
DOMAIN_PAUSED_USER: int
DOMAIN_PAUSED_MIGRATION: int
DOMAIN_PAUSED_IOERROR: int
DOMAIN_PAUSED_SHUTTING_DOWN: int
DOMAIN_PAUSED_STARTING_UP: int
DOMAIN_SHUTOFF_UNKNOWN: int
DOMAIN_SHUTOFF_SHUTDOWN: int
DOMAIN_SHUTOFF_DESTROYED: int
DOMAIN_SHUTOFF_CRASHED: int
DOMAIN_SHUTOFF_MIGRATED: int
DOMAIN_SHUTOFF_FAILED: int
DOMAIN_SHUTOFF_DAEMON: int

# Error.code
ERR_OK: int
ERR_INTERNAL_ERROR: int
ERR_NO_MEMORY: int
ERR_NO_SUPPORT: int
ERR_NO_CONNECT: int
ERR_INVALID_CONN: int
ERR_INVALID_DOMAIN: int
ERR_INVALID_ARG: int
ERR_OPERATION_FAILED: int
ERR_XML_ERROR: int
ERR_DOM_EXIST: int
ERR_OPERATION_DENIED: int
ERR_SYSTEM_ERROR: int
ERR_RPC: int
ERR_NO_DOMAIN: int
ERR_AUTH_FAILED: int
ERR_OPERATION_INVALID: int
ERR_CONFIG_UNSUPPORTED: int
ERR_OPERATION_TIMEOUT: int
ERR_ARGUMENT_UNSUPPORTED: int
ERR_OVERFLOW: int
ERR_OPERATION_UNSUPPORTED: int
ERR_RESOURCE_BUSY: int
ERR_OPERATION_ABORTED: int
ERR_MIGRATE_FINISH_OK: int

# Error.domain
FROM_NONE: int
FROM_XML: int
FROM_DOM: int
FROM_RPC: int
FROM_CONF: int
FROM_QEMU: int
FROM_REMOTE: int
FROM_DOMAIN: int

# Error.level
ERR_NONE: int
ERR_WARNING: int
ERR_ERROR: int

# ThrottleField.family and .unit
THROTTLE_FAMILY_BYTES: int
THROTTLE_FAMILY_IOPS: int
THROTTLE_FAMILY_BYTES_MAX: int
THROTTLE_FAMILY_IOPS_MAX: int
THROTTLE_FAMILY_BYTES_MAX_LENGTH: int
THROTTLE_FAMILY_IOPS_MAX_LENGTH: int
THROTTLE_FAMILY_SIZE: int
THROTTLE_FAMILY_GROUP: int
THROTTLE_UNIT_BYTES_PER_SEC: int
THROTTLE_UNIT_IOPS: int
THROTTLE_UNIT_SECONDS: int
THROTTLE_UNIT_BYTES: int
THROTTLE_UNIT_NONE: int

# The largest limit QEMU accepts, 10**15
THROTTLE_VALUE_MAX: int

# A limits dict: ints, and a str for "group" / "group_name"
_Limits = Dict[str, Union[int, str]]


class Error(Exception):
    """Raised by every call that fails in the library or the daemon."""

    message: str
    code: int
    domain: int
    level: int
    str1: Optional[str]
    str2: Optional[str]
    str3: Optional[str]
    int1: int
    int2: int

    def __init__(self, message: str, code: int = ..., domain: int = ...,
                 level: int = ...) -> None: ...
    def get_error_code(self) -> int: ...
    def get_error_domain(self) -> int: ...
    def get_error_message(self) -> str: ...
    def get_error_level(self) -> int: ...


class ThrottleField(NamedTuple):
    """One field of the throttle field table."""

    name: str
    alias: str
    qemu_key: Optional[str]
    family: int
    type: Union[Type[int], Type[str]]
    unit: int
    unit_name: str
    help: str
    base: Optional[str]
    max: Optional[str]
    length: Optional[str]
    accepts_suffix: bool


class Connection:
    """A connection to an iovirt daemon; a context manager."""

    def close(self) -> int: ...
    def __enter__(self) -> "Connection": ...
    def __exit__(self, exc_type: Optional[Type[BaseException]],
                 exc_value: Optional[BaseException],
                 traceback: Optional[TracebackType]) -> Literal[False]: ...
    def isClosed(self) -> bool: ...
    def getURI(self) -> str: ...
    def isReadOnly(self) -> bool: ...
    def getHostname(self) -> str: ...
    def getVersion(self) -> int: ...
    def getLibVersion(self) -> int: ...
    def listAllDomains(self, flags: int = 0) -> List["Domain"]: ...
    def newStream(self, flags: int = 0) -> "Stream": ...
    def getAllDomainStats(self, stats: int = 0, flags: int = 0) -> List[Tuple["Domain", Dict[str, Any]]]: ...
    def domainEventRegisterAny(self, dom: Optional["Domain"], eventID: int,
                               callback: Callable[..., object], opaque: object = None,
                               /) -> int: ...
    def domainEventDeregisterAny(self, callbackID: int, /) -> None: ...
    def lookupByName(self, name: str, /) -> "Domain": ...
    def lookupByUUIDString(self, uuid: str, /) -> "Domain": ...
    def lookupByUUID(self, uuid: bytes, /) -> "Domain": ...
    def lookupByID(self, id: int, /) -> "Domain": ...
    def defineXML(self, xml: str, /) -> "Domain": ...


class Domain:
    """A domain (a QEMU guest); keeps its Connection alive."""

    def name(self) -> str: ...
    def UUIDString(self) -> str: ...
    def UUID(self) -> bytes: ...
    def ID(self) -> int: ...
    def connect(self) -> Connection: ...
    def create(self, flags: int = 0) -> int: ...
    def createWithFlags(self, flags: int = 0) -> int: ...
    def shutdown(self) -> int: ...
    def destroy(self) -> int: ...
    def reboot(self, flags: int = 0) -> int: ...
    def suspend(self) -> int: ...
    def resume(self) -> int: ...
    def undefine(self) -> int: ...
    def XMLDesc(self, flags: int = 0) -> str: ...
    def attachDeviceFlags(self, xml: str, flags: int = 0) -> int: ...
    def detachDeviceFlags(self, xml: str, flags: int = 0) -> int: ...
    def detachDeviceAlias(self, alias: str, flags: int = 0) -> int: ...
    def updateDeviceFlags(self, xml: str, flags: int = 0) -> int: ...
    def state(self, flags: int = 0) -> List[int]: ...
    def info(self) -> List[int]: ...
    def isActive(self) -> bool: ...
    def isPersistent(self) -> bool: ...
    def blockStats(self, disk: str, /) -> Tuple[int, int, int, int, int]: ...
    def openConsole(self, devname: Optional[str], stream: "Stream", flags: int = 0) -> None: ...
    def blockStatsFlags(self, disk: str, flags: int = 0) -> Dict[str, int]: ...
    def blockIoThrottle(self, disk: str, flags: int = 0) -> _Limits: ...
    def setBlockIoThrottle(self, disk: str, params: Dict[str, Union[int, str]],
                           flags: int = 0) -> None: ...
    def blockIoTune(self, disk: str, flags: int = 0) -> _Limits: ...
    def setBlockIoTune(self, disk: str, params: Dict[str, Union[int, str]],
                       flags: int = 0) -> int: ...
    def setThrottleGroup(self, group: str, params: Optional[Dict[str, int]] = None,
                         flags: int = 0) -> None: ...
    def throttleGroup(self, group: str, flags: int = 0) -> Dict[str, int]: ...
    def delThrottleGroup(self, group: str, flags: int = 0) -> None: ...
    def listThrottleGroups(self, flags: int = 0) -> List[str]: ...
    def listDisks(self, flags: int = 0) -> List[Dict[str, Union[str, bool, List[str]]]]: ...
    def setDiskThrottleFilters(self, disk: str, groups: Sequence[str], flags: int = 0) -> None: ...
    def qemuMonitorCommand(self, cmd: str, flags: int = 0) -> str: ...
    def migrate(self, dconn: Connection, flags: int = 0, dname: Optional[str] = None,
                uri: Optional[str] = None, bandwidth: int = 0) -> "Domain": ...
    def migrateToURI3(self, dconnuri: str, params: Dict[str, str] = ..., flags: int = 0) -> int: ...
    def jobInfo(self) -> List[int]: ...
    def jobStats(self, flags: int = 0) -> Dict[str, int]: ...
    def abortJob(self) -> None: ...
    def getMessages(self, flags: int = 0) -> List[str]: ...


def open(uri: Optional[str] = None) -> Connection: ...
def openReadOnly(uri: Optional[str] = None) -> Connection: ...
def parseSize(text: str, /) -> int: ...
def throttleFields() -> Tuple[ThrottleField, ...]: ...


class Stream:
    def recv(self, nbytes: int, /) -> Optional[bytes]: ...
    def send(self, data: bytes, /) -> int: ...
    def finish(self) -> None: ...
    def abort(self) -> None: ...
