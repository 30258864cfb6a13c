"""Validation: parsed kannel.conf groups → a typed, checked `GatewayConfig`.

The loader reads each group key by key with the typed readers below, so every value is
converted where its line is known. What is left unread in a group is then classified: a key
Kannel does not know for that group is an error (as in Kannel); a Kannel key Passerelle does
not implement gets the warning or error its `kannel_keys` policy says. Problems are collected
rather than raised one at a time, so one run of `passerelle check-config` lists them all.

Mandatory keys and defaults follow Kannel 1.4.5's source where it and the user guide disagree
(the source is what loads a kannel.conf): smsbox `bearerbox-host` and smpp `address-range`
are marked mandatory in the guide but default in the code, so they are optional here too;
smpp `system-type` is enforced by the code ("doesn't specify system-type"), so it is here.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Iterable
from dataclasses import fields
from pathlib import Path
from typing import Any, Final, TypeVar

from gateway.config.errors import ConfigError, Location, format_message
from gateway.config.kannel_keys import (
    GROUP_POLICY,
    KANNEL_GROUPS,
    KEY_POLICY,
    SMSC_DRIVERS,
    SMSC_OTHER_DRIVER_REASON,
    Severity,
    national_language,
)
from gateway.config.model import (
    BIND_FIELD_OCTETS,
    CoreConfig,
    DlrDb,
    GatewayConfig,
    PasserelleConfig,
    RedisConnection,
    SendsmsUser,
    SmppTlv,
    SmsboxConfig,
    SmsboxRoute,
    SmscConfig,
    SmsService,
)
from gateway.config.parser import RawConfig, RawEntry, RawGroup, parse_file, parse_text
from gateway.config.values import (
    ValueProblem,
    compile_regex,
    parse_bool,
    parse_float,
    parse_int,
    parse_list,
    parse_size,
)

__all__ = ["load_config", "load_config_text", "build_config", "OUR_GROUPS"]

T = TypeVar("T")

#: Passerelle's own groups and their keys (Kannel refuses these groups; they are ours).
OUR_GROUPS: Final = {
    "passerelle": frozenset(
        "spool-dir spool-max-bytes spool-max-messages queue-max-messages max-request-body "
        "log-max-bytes log-max-files redis simulator-port lane-weights default-lane dlr-ttl "
        "dlr-max-entries dlr-file callback-guard callback-allow-networks "
        "callback-allow-loopback callback-max-bytes shutdown-grace".split()
    ),
    "passerelle-user": frozenset(
        "username default-lane max-lane forced-lane spool-max-bytes".split()
    ),
}

#: dlr-storage values Kannel 1.4.5 knows (dlr.c), and the ones Passerelle implements.
DLR_STORAGES: Final = frozenset(
    "internal spool mysql pgsql sdb mssql sqlite3 oracle redis cassandra".split()
)
SUPPORTED_DLR_STORAGES: Final = frozenset({"internal", "redis"})

_DLR_DB_FIELDS: Final = (
    "table field-smsc field-timestamp field-source field-destination field-service "
    "field-url field-mask field-status field-boxc-id".split()
)

LANES: Final = range(0, 4)


class _Context:
    """Collects the problems and warnings of one load."""

    def __init__(self) -> None:
        self.errors: list[ConfigError] = []
        self.warnings: list[str] = []

    def error(self, message: str, location: Location | None, key: str | None = None) -> None:
        self.errors.append(ConfigError(message, location=location, key=key))

    def warn(self, message: str, location: Location | None, key: str | None = None) -> None:
        self.warnings.append(format_message(location, key, message))


def _attr(key: str) -> str:
    return key.replace("-", "_")


class _Group:
    """Typed access to one raw group; remembers what was read and where it was written."""

    def __init__(self, ctx: _Context, raw: RawGroup) -> None:
        self.ctx = ctx
        self.raw = raw
        self.name = raw.name or ""
        self.values: dict[str, Any] = {}
        self.locations: dict[str, Location] = {}
        self.consumed: set[str] = {"group"}
        self.failed = False

    # -- plumbing --------------------------------------------------------------------------

    @property
    def location(self) -> Location:
        return self.raw.location

    def entry(self, key: str) -> RawEntry | None:
        """The raw entry of `key` (marking it read), or None."""
        self.consumed.add(key)
        return self.raw.entries.get(key)

    def has(self, key: str) -> bool:
        return key in self.raw.entries

    def error(self, message: str, key: str | None = None, entry: RawEntry | None = None) -> None:
        self.failed = True
        location = entry.location if entry is not None else self.location
        self.ctx.error(message, location, key)

    def warn(self, message: str, key: str | None = None, entry: RawEntry | None = None) -> None:
        location = entry.location if entry is not None else self.location
        self.ctx.warn(message, location, key)

    def missing(self, key: str, why: str = "") -> None:
        detail = f" ({why})" if why else ""
        self.error(f"missing; group {self.name} requires it{detail}", key)

    def _read(
        self, key: str, convert: Callable[[str, Callable[[str], None]], T], attr: str | None
    ) -> T | None:
        entry = self.entry(key)
        if entry is None:
            return None

        def warn(message: str) -> None:
            self.warn(message, key, entry)

        try:
            value = convert(entry.value, warn)
        except ValueProblem as exc:
            self.error(str(exc), key, entry)
            return None
        name = attr if attr is not None else _attr(key)
        self.values[name] = value
        # Keyed by the attribute's own key, so an alias (url, system-id…) shows as its key.
        self.locations[name.replace("_", "-")] = entry.location
        return value

    def assign(self, attr: str, value: Any, key: str | None = None) -> None:
        """Store a derived value (`key` names the line it came from, if any)."""
        self.values[attr] = value
        if key is not None and key in self.raw.entries:
            self.locations[key] = self.raw.entries[key].location

    # -- typed readers: each stores the value under the attribute and returns it -----------

    def text(self, key: str, attr: str | None = None) -> str | None:
        return self._read(key, lambda text, _warn: text, attr)

    def required_text(self, key: str, why: str = "") -> str | None:
        value = self.text(key)
        if value is None:
            self.missing(key, why)
        return value

    def integer(
        self,
        key: str,
        attr: str | None = None,
        *,
        low: int | None = None,
        high: int | None = None,
    ) -> int | None:
        def convert(text: str, warn: Callable[[str], None]) -> int:
            number = parse_int(text, warn)
            if low is not None and number < low or high is not None and number > high:
                if high is None:
                    raise ValueProblem(f"must be at least {low}, got {number}")
                if low is None:
                    raise ValueProblem(f"must be at most {high}, got {number}")
                raise ValueProblem(f"must be between {low} and {high}, got {number}")
            return number

        return self._read(key, convert, attr)

    def port(self, key: str, *, allow_zero: bool = False) -> int | None:
        return self.integer(key, low=0 if allow_zero else 1, high=65535)

    def flag(self, key: str, attr: str | None = None) -> bool | None:
        return self._read(key, parse_bool, attr)

    def number(self, key: str) -> float | None:
        return self._read(key, lambda text, _warn: parse_float(text), None)

    def items(self, key: str, attr: str | None = None) -> tuple[str, ...] | None:
        return self._read(key, lambda text, _warn: parse_list(text), attr)

    def size(self, key: str) -> int | None:
        return self._read(key, lambda text, _warn: parse_size(text), None)

    def regex(self, key: str, attr: str | None = None) -> re.Pattern[str] | None:
        return self._read(key, compile_regex, attr)

    def texts(self, *keys: str) -> None:
        for key in keys:
            self.text(key)

    def integers(self, *keys: str) -> None:
        for key in keys:
            self.integer(key)

    def flags(self, *keys: str) -> None:
        for key in keys:
            self.flag(key)

    def item_lists(self, *keys: str) -> None:
        for key in keys:
            self.items(key)

    def regexes(self, *keys: str) -> None:
        for key in keys:
            self.regex(key)

    def ssl_flag(self, key: str, what: str) -> None:
        """A `*-ssl` switch: false is what Passerelle does; true is refused."""
        entry = self.raw.entries.get(key)
        if self.flag(key) and entry is not None:
            self.error(f"{what} over TLS is not implemented; terminate TLS in front of "
                       "Passerelle (a reverse proxy) and set it to false", key, entry)

    # -- the rest --------------------------------------------------------------------------

    def classify_rest(self, *, smpp: bool = False, unknown_only: bool = False) -> None:
        """Warn about or refuse every key nobody read (see kannel_keys for the policies).

        With `unknown_only` (a group ignored as a whole) only keys Kannel does not know are
        reported: the group's own warning already covers the rest.
        """
        kannel = KANNEL_GROUPS.get(self.name)
        ours = OUR_GROUPS.get(self.name)
        policies = KEY_POLICY.get(self.name, {})
        for key, entry in self.raw.entries.items():
            if key in self.consumed:
                continue
            if ours is not None and key in ours:
                continue
            if kannel is not None and key in kannel.keys:
                if unknown_only:
                    continue
                policy = policies.get(key)
                if policy is None:
                    if smpp:
                        self.warn(SMSC_OTHER_DRIVER_REASON, key, entry)
                    else:
                        self.warn("accepted but not used by Passerelle", key, entry)
                elif policy.severity is Severity.ERROR:
                    self.error(f"not supported: {policy.reason}", key, entry)
                else:
                    self.warn(f"not supported: {policy.reason}", key, entry)
                continue
            self.error(_unknown_key_message(self.name, key), key, entry)

    def build(self, cls: type[T], **extra: Any) -> T | None:
        """The dataclass of this group, or None if any of its values failed."""
        if self.failed:
            return None
        names = {f.name for f in fields(cls)}  # type: ignore[arg-type]
        values = {k: v for k, v in self.values.items() if k in names}
        values.update(extra)
        return cls(location=self.location, locations=dict(self.locations), **values)


def _unknown_key_message(group: str, key: str) -> str:
    """`unknown key` with a hint when the key belongs to another group."""
    homes = sorted(
        name for name, spec in KANNEL_GROUPS.items() if key in spec.keys and name != group
    )
    homes += sorted(name for name, keys in OUR_GROUPS.items() if key in keys and name != group)
    hint = f" (it is a key of group {', '.join(homes[:3])})" if homes else ""
    return f"unknown key for group {group}: Kannel refuses it too{hint}"


# -- the groups ----------------------------------------------------------------------------


def _core(g: _Group) -> CoreConfig | None:
    g.port("admin-port")
    if not g.has("admin-port"):
        g.missing("admin-port", "Kannel: \"Missing admin-port variable\"")
    g.ssl_flag("admin-port-ssl", "the admin interface")
    g.text("admin-interface")
    if g.required_text("admin-password", "Kannel: \"You MUST set HTTP admin-password\"") == "":
        g.warn("is empty: anyone reaching the admin port may run admin commands",
               "admin-password", g.raw.entries["admin-password"])
    g.text("status-password")
    g.item_lists("admin-deny-ip", "admin-allow-ip", "box-deny-ip", "box-allow-ip")
    g.port("smsbox-port")
    g.flag("smsbox-port-ssl")
    g.text("smsbox-interface")
    g.integer("smsbox-max-pending")
    _logging(g, access_log_format=True)
    g.text("unified-prefix")
    for old, new in (("white-list", "white-list-sender"), ("black-list", "black-list-sender")):
        _deprecated(g, old, new, g.text)
    for old, new in (
        ("white-list-regex", "white-list-sender-regex"),
        ("black-list-regex", "black-list-sender-regex"),
    ):
        _deprecated(g, old, new, g.regex)
    g.texts("white-list-receiver", "black-list-receiver")
    g.regexes("white-list-receiver-regex", "black-list-receiver-regex")

    storage = g.text("dlr-storage")
    if storage is not None:
        entry = g.raw.entries["dlr-storage"]
        if storage not in DLR_STORAGES:
            g.error(f"unknown DLR storage '{storage}' (Kannel knows "
                    f"{', '.join(sorted(DLR_STORAGES))})", "dlr-storage", entry)
        elif storage not in SUPPORTED_DLR_STORAGES:
            g.error(f"dlr-storage = {storage} is not supported: use internal (the embedded "
                    "store) or redis", "dlr-storage", entry)
    if g.has("maximum-queue-length"):
        _deprecated(g, "maximum-queue-length", "sms-incoming-queue-limit", g.integer)
    else:
        g.integer("sms-incoming-queue-limit")
    limit = g.integer("sms-outgoing-queue-limit")
    if limit is not None and limit < 0:
        g.assign("sms_outgoing_queue_limit", 1_000_000)  # Kannel: negative means the default
    freq = g.integer("sms-resend-freq")
    if freq is not None and freq <= 0:
        g.assign("sms_resend_freq", 60)  # Kannel: not positive means the default
    g.integer("sms-resend-retry", low=-1)
    g.flag("sms-combine-concatenated-mo")
    g.integer("sms-combine-concatenated-mo-timeout", low=0)
    g.integer("http-timeout", low=1)
    g.classify_rest()
    return g.build(CoreConfig)


def _logging(g: _Group, *, access_log_format: bool) -> None:
    """log-file, log-level, syslog-*, access-log* (core and smsbox share them)."""
    g.text("log-file")
    g.integer("log-level", low=0)
    entry = g.entry("syslog-level")
    if entry is not None:
        if entry.value.strip() == "none":
            g.assign("syslog_level", None, "syslog-level")
        else:
            g.integer("syslog-level", low=0)
    g.text("syslog-facility")
    g.text("access-log")
    when = g.text("access-log-time")
    if when is not None:
        normal = "gmt" if when.lower() == "gmt" else "local"
        if when.lower() not in ("gmt", "local"):
            g.warn(f"'{when}' is neither gmt nor local; Kannel takes it as local",
                   "access-log-time", g.raw.entries["access-log-time"])
        g.assign("access_log_time", normal, "access-log-time")
    if access_log_format:
        g.text("access-log-format")
    g.flag("access-log-clean")


def _deprecated(g: _Group, old: str, new: str, reader: Callable[..., Any]) -> None:
    """Kannel's deprecated alias `old` of `new`: when set it wins, with Kannel's warning."""
    if g.has(old):
        entry = g.raw.entries[old]
        g.warn(f"deprecated, use '{new}' (Kannel warns too)", old, entry)
        if g.has(new):
            g.warn(f"'{old}' is also set, and wins, as in Kannel", new, g.raw.entries[new])
            g.entry(new)
        reader(old, _attr(new))
        if _attr(new) in g.values:
            g.locations[new] = entry.location
            g.locations.pop(old, None)
    else:
        reader(new)


def _smsc(g: _Group) -> SmscConfig | None:
    driver = g.text("smsc")
    if driver is None:
        g.missing("smsc", "Kannel: \"Required field 'smsc' missing\"")
        return None
    if driver != "smpp":
        entry = g.raw.entries["smsc"]
        if driver in SMSC_DRIVERS:
            g.error(f"smsc = {driver} is not supported: Passerelle implements the smpp driver "
                    "only", "smsc", entry)
        elif driver.lower() == "smpp":
            g.error(f"unknown SMSC type '{driver}' (Kannel compares it case-sensitively: "
                    "write smpp)", "smsc", entry)
        else:
            g.error(f"unknown SMSC type '{driver}'", "smsc", entry)
        return None

    # Common keys (smscconn.c).
    g.texts("smsc-id", "smsc-admin-id", "unified-prefix", "log-file", "alt-charset")
    g.item_lists("allowed-smsc-id", "denied-smsc-id", "preferred-smsc-id")
    g.item_lists("allowed-prefix", "denied-prefix", "preferred-prefix")
    g.regexes(
        "allowed-smsc-id-regex", "denied-smsc-id-regex", "preferred-smsc-id-regex",
        "allowed-prefix-regex", "denied-prefix-regex", "preferred-prefix-regex",
    )
    if g.has("allowed-smsc-id") and g.has("denied-smsc-id"):
        g.warn("both allowed-smsc-id and denied-smsc-id are set: the deny list is ignored, as "
               "in Kannel", "denied-smsc-id", g.raw.entries["denied-smsc-id"])
    g.integer("log-level", low=0)
    g.flags("alt-dcs", "dead-start")
    throughput = g.number("throughput")
    if throughput is not None and throughput <= 0:
        g.assign("throughput", None)
    instances = g.integer("instances")
    if instances is not None and instances <= 0:
        g.assign("instances", 0)
        g.warn("is not positive: this group opens no connection", "instances",
               g.raw.entries["instances"])
    g.integer("max-sms-octets", low=1)
    g.integer("reconnect-delay", low=1)
    for key in ("reroute", "reroute-dlr"):
        # A switch set to false asks for nothing Passerelle lacks.
        entry = g.raw.entries.get(key)
        if entry is not None and entry.value.strip().lower() in ("false", "no", "off", "0"):
            g.entry(key)

    # smsc_smpp.c.
    g.required_text("host", "Kannel: \"doesn't specify host\"")
    port = g.port("port", allow_zero=True) or 0
    receive_port = g.port("receive-port", allow_zero=True) or 0
    transceiver = bool(g.flag("transceiver-mode"))
    g.ssl_flag("use-ssl", "SMPP")
    username = g.text("smsc-username")
    if g.has("system-id"):
        entry = g.raw.entries["system-id"]
        g.warn("obsolete, use smsc-username (Kannel warns too)", "system-id", entry)
        if username is None:
            username = g.text("system-id", "smsc_username")
            g.locations["smsc-username"] = entry.location
            g.locations.pop("system-id", None)
        else:
            g.entry("system-id")
    if username is None:
        g.missing("smsc-username", "Kannel: \"doesn't specify username\"")
    g.required_text("smsc-password", "Kannel: \"doesn't specify password\"")
    g.required_text("system-type", "Kannel: \"doesn't specify system-type\"; "
                   "system-type = \"\" is allowed")
    service_type = g.text("service-type")
    if service_type is not None and len(service_type) > 6:
        g.error("must be 6 characters or less (Kannel refuses it too)", "service-type",
                g.raw.entries["service-type"])
    g.integer("interface-version", low=0, high=99)
    g.text("address-range")
    for key in ("bind-addr-ton", "bind-addr-npi", "source-addr-ton", "source-addr-npi",
                "dest-addr-ton", "dest-addr-npi"):
        g.integer(key, low=0, high=255)
    g.flag("source-addr-autodetect")
    g.integer("enquire-link-interval", low=0)
    g.integer("max-pending-submits", low=1)
    g.integer("connection-timeout", low=0)
    g.integer("wait-ack", low=0)
    g.integer("wait-ack-expire", low=0, high=2)
    g.integer("msg-id-type", low=0, high=3)
    g.text("my-number")
    g.integer("validityperiod", low=0)
    g.integer("priority", low=0, high=3)
    esm_class = g.integer("esm-class")
    if esm_class is not None and esm_class not in (0, 3):
        g.warn(f"{esm_class} is neither 0 (default mode) nor 3 (store and forward); Kannel "
               "switches to 3, and so does Passerelle", "esm-class", g.raw.entries["esm-class"])
        g.assign("esm_class", 3)
    g.text("alt-addr-charset")
    _our_smsc_keys(g)

    # Kannel's port rules (smsc_smpp_create).
    if port and receive_port:
        g.error("port and receive-port are both set: Kannel refuses it (\"Usage of both in "
                "one group is deprecated!\"); use one group with port (and transceiver-mode) "
                "or two groups with the same smsc-id", "receive-port",
                g.raw.entries["receive-port"])
    elif not port and not receive_port:
        g.assign("port", 2775)
    elif receive_port and transceiver:
        g.error("transceiver-mode with only receive-port: Kannel ignores receive-port in "
                "transceiver mode and so would open no connection; set port instead",
                "receive-port", g.raw.entries["receive-port"])
    for attr, octets in BIND_FIELD_OCTETS.items():
        value = g.values.get(attr)
        if isinstance(value, str) and len(value.encode("utf-8")) > octets:
            key = attr.replace("_", "-")
            g.warn(f"longer than the {octets} octets SMPP allows; Kannel sends the first "
                   f"{octets}, and so does Passerelle", key,
                   g.raw.entries.get(key) or g.raw.entries.get("system-id"))

    g.classify_rest(smpp=True)
    smsc = g.build(SmscConfig)
    if smsc is not None:
        try:
            smsc.bind_config()
        except ValueError as exc:  # a guard: the checks above should have caught it
            g.ctx.error(f"the SMPP settings are inconsistent: {exc}", g.location)
            return None
    return smsc


def _our_smsc_keys(g: _Group) -> None:
    """Passerelle's own smsc keys (kannel_keys.OUR_SMSC_KEYS): national tables, packing."""
    from native.tables import LOCKING_TABLES

    for key, allowed in (
        ("national-locking-shift", LOCKING_TABLES),
        ("national-single-shift", (0, 1, 2, 3)),
    ):
        value = g.text(key)
        if value is None:
            continue
        language = national_language(value)
        if language is None or language not in allowed:
            names = "none, turkish, portuguese" if key.endswith("locking-shift") else (
                "none, turkish, spanish, portuguese")
            g.error(f"must be one of {names} (or its TS 23.038 number)", key,
                    g.raw.entries[key])
        else:
            g.assign(key.replace("-", "_"), language, key)
    g.flag("packed-septets")


def _smsbox(g: _Group) -> SmsboxConfig | None:
    g.texts("smsbox-id", "bearerbox-host", "sendsms-interface", "global-sender")
    g.port("bearerbox-port")
    g.flag("bearerbox-port-ssl")
    port = g.integer("sendsms-port")
    if port is not None and port <= 0:
        g.assign("sendsms_port", None)  # Kannel opens the listener only for a positive port
    elif port is not None and port > 65535:
        g.error(f"must be between 1 and 65535, got {port}", "sendsms-port",
                g.raw.entries["sendsms-port"])
    g.ssl_flag("sendsms-port-ssl", "the sendsms interface")
    for key in ("sendsms-url", "sendota-url", "xmlrpc-url"):
        value = g.text(key)
        if value is not None and not value.startswith("/"):
            g.warn("does not start with '/': no request path can match it", key,
                   g.raw.entries[key])
    g.text("sendsms-chars")
    _logging(g, access_log_format=False)
    g.integer("sms-length", low=1)
    g.texts("reply-couldnotfetch", "reply-couldnotrepresent", "reply-requestfailed",
           "reply-emptymessage")
    g.texts("white-list", "black-list")
    g.regexes("white-list-regex", "black-list-regex")
    g.flags("mo-recode", "immediate-sendsms-reply")
    g.integer("http-request-retry", low=0)
    g.integer("http-queue-delay", low=0)
    g.integer("max-pending-requests", low=1)
    g.integer("http-timeout", low=1)
    g.classify_rest()
    return g.build(SmsboxConfig)


def _filters(g: _Group) -> None:
    """The receiver filters sendsms-user and sms-service share."""
    g.item_lists("allowed-prefix", "denied-prefix")
    g.regexes("allowed-prefix-regex", "denied-prefix-regex", "white-list-regex",
              "black-list-regex")
    g.texts("white-list", "black-list")


def _split(g: _Group) -> None:
    """The long-message keys sendsms-user and sms-service share."""
    g.integer("max-messages", low=0)
    g.flags("concatenation", "omit-empty")
    g.texts("split-chars", "split-suffix", "header", "footer", "faked-sender")


def _user(g: _Group, default_lane: int, lanes: _Group | None) -> SendsmsUser | None:
    username = g.required_text("username")
    g.required_text("password", "Kannel: \"Password required for send-sms user\"")
    name = g.text("name")
    g.item_lists("user-deny-ip", "user-allow-ip")
    forced = g.text("forced-smsc")
    if g.text("default-smsc") is not None and forced is not None:
        g.warn("redundant: forced-smsc is set, so Kannel ignores default-smsc, and so does "
               "Passerelle", "default-smsc", g.raw.entries["default-smsc"])
        g.assign("default_smsc", None)
    g.texts("default-sender", "dlr-url")
    _split(g)
    _filters(g)
    g.classify_rest()
    extra: dict[str, Any] = {"default_lane": default_lane}
    if lanes is not None:
        for attr in ("default_lane", "max_lane", "forced_lane", "spool_max_bytes"):
            if attr in lanes.values:
                extra[attr] = lanes.values[attr]
        g.locations.update((k, v) for k, v in lanes.locations.items() if k != "username")
    if name is None:
        extra["name"] = username or ""
    return g.build(SendsmsUser, **extra)


_SERVICE_ACTIONS: Final = ("get-url", "post-url", "post-xml", "file", "text", "exec")


def _service(g: _Group) -> SmsService | None:
    url = g.text("get-url")
    if url is None:
        url = g.text("url", "get_url")
    elif g.has("url"):
        g.warn("get-url is also set and wins, as in Kannel", "url", g.entry("url"))
    for key in _SERVICE_ACTIONS[1:]:
        g.text(key)
    present = [key for key in _SERVICE_ACTIONS if _attr(key) in g.values]
    if not present:
        g.error("did not specify get-url, post-url, post-xml, file or text (Kannel refuses "
                "it too)", None)
    else:
        chosen = present[0]
        for other in present[1:]:
            g.warn(f"ignored: {chosen} is also set and comes first in Kannel's order "
                   "(get-url, post-url, post-xml, file, text, exec)", other,
                   g.raw.entries.get(other))
            g.values.pop(_attr(other), None)
            g.locations.pop(other, None)
        if chosen == "exec":
            g.error("not supported: Passerelle does not run programs for MO messages; use "
                    "get-url or post-url", "exec", g.raw.entries["exec"])
        g.values.pop("exec", None)

    keyword = g.text("keyword")
    keyword_regex = g.regex("keyword-regex")
    aliases = g.items("aliases") or ()
    matcher: re.Pattern[str] | None = None
    default_name = "default"
    if keyword is None and not g.has("keyword-regex"):
        g.error("must include either 'keyword' or 'keyword-regex' (Kannel refuses it too)")
    elif keyword is not None and g.has("keyword-regex"):
        g.error("may include either 'keyword' or 'keyword-regex', not both (Kannel refuses "
                "it too)", "keyword-regex", g.raw.entries["keyword-regex"])
    elif keyword is not None and keyword != "default":
        # Kannel's own translation of a keyword and its aliases (urltrans.c).
        default_name = "^[ ]*(" + "|".join((keyword, *aliases)) + ")[ ]*"
        try:
            matcher = compile_regex(default_name, lambda _m: None, ignore_case=True)
        except ValueProblem as exc:
            g.error(f"cannot be matched: {exc}", "keyword", g.raw.entries["keyword"])
    elif keyword_regex is not None:
        matcher = keyword_regex
        default_name = g.raw.entries["keyword-regex"].value

    g.item_lists("accepted-smsc", "accepted-account")
    g.regexes("accepted-smsc-regex", "accepted-account-regex")
    g.texts("forced-smsc", "default-smsc", "prefix", "suffix", "dlr-url", "alt-charset")
    if (g.has("prefix") != g.has("suffix")):
        g.warn("prefix and suffix are only used if both are set (Kannel warns too)")
    _split(g)
    g.flags("assume-plain-text", "accept-x-kannel-headers", "strip-keyword", "send-sender",
            "catch-all")
    if "post_url" in g.values or "post_xml" in g.values:
        g.assign("catch_all", True)  # Kannel forces it for post-url and post-xml
    _filters(g)
    g.item_lists("allowed-receiver-prefix", "denied-receiver-prefix")
    g.regexes("allowed-receiver-prefix-regex", "denied-receiver-prefix-regex")
    g.integer("dlr-mask", low=-1, high=255)
    g.classify_rest()
    if g.text("name") is None:
        g.assign("name", default_name)
    return g.build(SmsService, matcher=matcher)


def _route(g: _Group) -> SmsboxRoute | None:
    g.required_text("smsbox-id")
    g.item_lists("smsc-id", "shortcode")
    g.classify_rest()
    return g.build(SmsboxRoute)


TLV_TYPES: Final = ("integer", "nulterminated", "octetstring")


def _smpp_tlv(g: _Group) -> SmppTlv | None:
    """Kannel's smpp_pdu_init checks, as configuration errors."""
    g.required_text("name", "Kannel: \"Unable to get name for smpp-tlv\"")
    if g.integer("tag", low=0, high=0xFFFF) is None and not g.has("tag"):
        g.missing("tag", "Kannel: \"Unable to get tag for smpp-tlv\"")
    length = g.integer("length", low=0, high=0xFFFF)
    if length is None and not g.has("length"):
        g.missing("length", "Kannel: \"Unable to get length for smpp-tlv\"")
    kind = g.required_text("type", "Kannel: \"Unable to get type for smpp-tlv\"")
    if kind is not None:
        entry = g.raw.entries["type"]
        if kind.lower() not in TLV_TYPES:
            g.error(f"unknown type '{kind}' (Kannel knows {', '.join(TLV_TYPES)})", "type", entry)
        else:
            g.assign("type", kind.lower())
            if kind.lower() == "integer" and length is not None and not 1 <= length <= 8:
                g.error(f"an integer TLV is 1 to 8 octets long, not {length}", "length",
                        g.raw.entries["length"])
    g.items("smsc-id")
    g.classify_rest()
    return g.build(SmppTlv)


def _check_tlvs(ctx: _Context, tlvs: tuple[SmppTlv, ...]) -> None:
    """Kannel refuses two TLVs with one name, or one tag, for the same smsc-id."""
    names: dict[tuple[str, str], SmppTlv] = {}
    tags: dict[tuple[str, int], SmppTlv] = {}
    for tlv in tlvs:
        for scope in tlv.smsc_id or ("",):
            scope = scope.lower()
            first = names.setdefault((scope, tlv.name), tlv)
            if first is not tlv:
                ctx.error(f"a second smpp-tlv named '{tlv.name}' (the first is at "
                          f"{first.location}); Kannel refuses it too",
                          tlv.locations.get("name", tlv.location), "name")
            other = tags.setdefault((scope, tlv.tag), tlv)
            if other is not tlv:
                ctx.error(f"a second smpp-tlv with tag 0x{tlv.tag:04x} (the first is at "
                          f"{other.location}); Kannel refuses it too",
                          tlv.locations.get("tag", tlv.location), "tag")


def _dlr_db(g: _Group) -> DlrDb | None:
    g.text("id")
    if "id" not in g.values:
        g.assign("id", "")
    for key in _DLR_DB_FIELDS:
        g.text(key)
    ttl = g.integer("ttl")
    if ttl is not None and ttl < 0:
        g.assign("ttl", 0)  # Kannel: negative means none
    g.classify_rest()
    return g.build(DlrDb)


def _redis(g: _Group) -> RedisConnection | None:
    g.required_text("id")
    g.texts("host", "password")
    g.port("port")
    g.integer("database", low=0)
    g.integer("idle-timeout")
    conns = g.integer("max-connections", low=0)
    if conns == 0:
        g.assign("max_connections", 1)  # Kannel: 0 means 1
    g.classify_rest()
    return g.build(RedisConnection)


def _passerelle(g: _Group, core: CoreConfig | None) -> PasserelleConfig | None:
    spool = g.text("spool-dir")
    if spool == "":
        g.error("must name a directory", "spool-dir", g.raw.entries["spool-dir"])
    for key in ("spool-max-bytes", "max-request-body", "log-max-bytes"):
        value = g.size(key)
        if value is not None and value < 1:
            g.error("must be at least 1 byte", key, g.raw.entries[key])
    for key in ("spool-max-messages", "queue-max-messages", "log-max-files", "dlr-max-entries"):
        g.integer(key, low=1)
    g.integer("dlr-ttl", low=1)
    g.integer("shutdown-grace", low=0)
    if g.text("dlr-file") == "":
        g.error("must name a file", "dlr-file", g.raw.entries["dlr-file"])
    g.flags("callback-guard", "callback-allow-loopback")
    networks = g.entry("callback-allow-networks")
    if networks is not None:
        try:
            g.assign("callback_allow_networks", _networks(networks.value),
                     "callback-allow-networks")
        except ValueProblem as exc:
            g.error(str(exc), "callback-allow-networks", networks)
    cap = g.size("callback-max-bytes")
    if cap is not None and cap < 1:
        g.error("must be at least 1 byte", "callback-max-bytes",
                g.raw.entries["callback-max-bytes"])
    g.text("redis")
    g.port("simulator-port")
    g.integer("default-lane", low=0, high=3)
    entry = g.entry("lane-weights")
    if entry is not None:
        try:
            g.assign("lane_weights", _lane_weights(entry.value), "lane-weights")
        except ValueProblem as exc:
            g.error(str(exc), "lane-weights", entry)
    if "queue_max_messages" not in g.values and core is not None:
        g.assign("queue_max_messages", core.sms_outgoing_queue_limit)
    g.classify_rest()
    return g.build(PasserelleConfig)


def _networks(text: str) -> tuple[str, ...]:
    """CIDRs separated by `;`, `,` or blanks, each checked now rather than at the first
    callback."""
    found = []
    for item in re.split(r"[;,\s]+", text.strip()):
        if not item:
            continue
        try:
            ipaddress.ip_network(item, strict=False)
        except ValueError as exc:
            raise ValueProblem(
                f"'{item}' is not a network (CIDR like 10.1.0.0/16): {exc}"
            ) from None
        found.append(item)
    return tuple(found)


def _lane_weights(text: str) -> tuple[int, int, int, int]:
    """`lane:weight;…` for lanes 0-3; lanes not listed keep their default weight."""
    weights = list(PasserelleConfig().lane_weights)
    for item in parse_list(text):
        lane, sep, weight = item.partition(":")
        if not sep or not lane.strip().isdigit() or not weight.strip().isdigit():
            raise ValueProblem(f"expected lane:weight pairs like '3:8;0:1', got '{item}'")
        number, value = int(lane), int(weight)
        if number not in LANES:
            raise ValueProblem(f"lanes are 0 to 3 (Kannel's priority scale), got {number}")
        if value < 1:
            raise ValueProblem(f"lane {number} needs a weight of at least 1, got {value}")
        weights[number] = value
    return (weights[0], weights[1], weights[2], weights[3])


def _lanes_of(g: _Group) -> None:
    g.required_text("username")
    g.integer("default-lane", low=0, high=3)
    g.integer("max-lane", low=0, high=3)
    g.integer("forced-lane", low=0, high=3)
    cap = g.size("spool-max-bytes")
    if cap is not None and cap < 1:
        g.error("must be at least 1 byte", "spool-max-bytes", g.raw.entries["spool-max-bytes"])
    g.classify_rest()


# -- the whole configuration ---------------------------------------------------------------


def _singles(ctx: _Context, groups: list[RawGroup], name: str) -> RawGroup | None:
    """The one group `name` (Kannel keeps the last when a single group is repeated)."""
    found = [group for group in groups if group.name == name]
    for earlier in found[:-1]:
        ctx.warn(f"group {name} appears again at {found[-1].location}; Kannel uses the last "
                 "one, and so does Passerelle", earlier.location)
    return found[-1] if found else None


def build_config(raw: RawConfig, source: str) -> GatewayConfig:
    """Validate parsed groups into a `GatewayConfig`, or raise `ConfigError` (all problems)."""
    ctx = _Context()
    ctx.warnings.extend(raw.warnings)
    known: list[RawGroup] = []
    for group in raw.groups:
        if group.name is None:
            ctx.error("this group has no 'group = …' line (Kannel: \"Group does not contain "
                      "variable 'group'\")", group.location)
        elif group.name in OUR_GROUPS or group.name in KANNEL_GROUPS:
            known.append(group)
            policy = GROUP_POLICY.get(group.name)
            if policy is not None:
                if policy.severity is Severity.ERROR:
                    ctx.error(f"group {group.name} is not supported: {policy.reason}",
                              group.location)
                else:
                    ctx.warn(f"group {group.name} is ignored: {policy.reason}",
                             group.location)
                _Group(ctx, group).classify_rest(unknown_only=True)
        else:
            ctx.error(f"unknown group '{group.name}' (Kannel: \"is no valid group "
                      "identifier\")", group.location)

    def each(name: str) -> list[RawGroup]:
        return [group for group in known if group.name == name]

    core = None
    core_raw = _singles(ctx, known, "core")
    if core_raw is None:
        ctx.error("no group core: Kannel cannot start without it", Location(source, 0))
    else:
        core = _core(_Group(ctx, core_raw))

    passerelle_raw = _singles(ctx, known, "passerelle")
    if passerelle_raw is not None:
        passerelle = _passerelle(_Group(ctx, passerelle_raw), core)
    else:
        passerelle = PasserelleConfig(
            queue_max_messages=core.sms_outgoing_queue_limit if core else 1_000_000
        )

    smscs = _collect(_smsc(_Group(ctx, group)) for group in each("smsc"))
    smsbox_raw = _singles(ctx, known, "smsbox")
    smsbox = _smsbox(_Group(ctx, smsbox_raw)) if smsbox_raw is not None else None

    lane_groups: dict[str, _Group] = {}
    for group in each("passerelle-user"):
        g = _Group(ctx, group)
        _lanes_of(g)
        username = g.values.get("username")
        if username is None or g.failed:
            continue
        if username in lane_groups:
            ctx.error(f"a second passerelle-user group for '{username}' (the first is at "
                      f"{lane_groups[username].location})", group.location, "username")
            continue
        lane_groups[username] = g

    users = _users(ctx, each("sendsms-user"), lane_groups, passerelle)
    services = _collect(_service(_Group(ctx, group)) for group in each("sms-service"))
    routes = _collect(_route(_Group(ctx, group)) for group in each("smsbox-route"))
    tlvs = _collect(_smpp_tlv(_Group(ctx, group)) for group in each("smpp-tlv"))
    _check_tlvs(ctx, tlvs)
    dlr_raw = _singles(ctx, known, "dlr-db")
    dlr_db = _dlr_db(_Group(ctx, dlr_raw)) if dlr_raw is not None else None
    redis = _collect(_redis(_Group(ctx, group)) for group in each("redis-connection"))

    if ctx.errors:
        raise _collect_errors(ctx, raw)
    assert core is not None and passerelle is not None
    config = GatewayConfig(
        core=core,
        smscs=smscs,
        smsbox=smsbox,
        users=users,
        services=services,
        smsbox_routes=routes,
        smpp_tlvs=tlvs,
        dlr_db=dlr_db,
        redis_connections=redis,
        passerelle=passerelle,
        source=source,
        files=tuple(raw.files),
        warnings=(),
    )
    _cross_checks(ctx, config)
    if ctx.errors:
        raise _collect_errors(ctx, raw)
    return GatewayConfig(**{**_shallow(config), "warnings": tuple(ctx.warnings)})


def _collect_errors(ctx: _Context, raw: RawConfig) -> ConfigError:
    """All errors as one, in file order then line order."""
    order = {name: index for index, name in enumerate(raw.files)}

    def position(error: ConfigError) -> tuple[int, int]:
        if error.location is None:
            return (len(order), 0)
        return (order.get(error.location.file, len(order)), error.location.line)

    return ConfigError.collect(sorted(ctx.errors, key=position))


def _shallow(config: GatewayConfig) -> dict[str, Any]:
    return {f.name: getattr(config, f.name) for f in fields(config)}


def _collect(items: Iterable[T | None]) -> tuple[T, ...]:
    return tuple(item for item in items if item is not None)


def _users(
    ctx: _Context,
    groups: list[RawGroup],
    lane_groups: dict[str, _Group],
    passerelle: PasserelleConfig | None,
) -> tuple[SendsmsUser, ...]:
    """The sendsms-users, with their lanes; a repeated username keeps the first, as Kannel."""
    users: list[SendsmsUser] = []
    seen: dict[str, SendsmsUser] = {}
    default_lane = passerelle.default_lane if passerelle is not None else 0
    for group in groups:
        entry = group.entries.get("username")
        lanes = lane_groups.get(entry.value) if entry is not None else None
        user = _user(_Group(ctx, group), default_lane, lanes)
        if user is None:
            continue
        previous = seen.get(user.username)
        if previous is not None:
            # Kannel loads such a file and uses the first; an existing kannel.conf must load
            # as it is, so say it loudly and do the same.
            ctx.warn(
                f"a second sendsms-user '{user.username}' (the first is at "
                f"{previous.location}) is ignored, as Kannel does",
                user.locations.get("username", user.location),
                "username",
            )
            continue
        seen[user.username] = user
        users.append(user)
    for username, lg in lane_groups.items():
        if username not in seen:
            ctx.error(f"no sendsms-user has username '{username}'",
                      lg.locations.get("username", lg.location), "username")
    return tuple(users)


def _cross_checks(ctx: _Context, config: GatewayConfig) -> None:
    """Checks that span groups: references between them, clashes, unused groups."""
    core = config.core
    core_line = core.location

    def line_of(group: Any, key: str) -> Location | None:
        return group.locations.get(key, group.location)

    if core.smsbox_port is not None and config.smsbox is None:
        ctx.error("smsbox-port is set but there is no group smsbox (Kannel refuses it too)",
                  line_of(core, "smsbox-port"), "smsbox-port")

    if core.dlr_storage == "redis":
        _check_redis_dlr(ctx, config)
    elif config.dlr_db is not None:
        ctx.warn(f"group dlr-db is unused with dlr-storage = {core.dlr_storage}",
                 config.dlr_db.location)

    used_redis: set[str] = set()
    if config.dlr_db is not None and core.dlr_storage == "redis":
        used_redis.add(config.dlr_db.id)
    redis_id = config.passerelle.redis
    if redis_id is not None:
        used_redis.add(redis_id)
        conn = config.redis_connection(redis_id)
        where = line_of(config.passerelle, "redis")
        if conn is None:
            ctx.error(f"no redis-connection has id '{redis_id}'", where, "redis")
        elif conn.host is None:
            ctx.error("missing; group redis-connection requires it when it is used",
                      conn.location, "host")
    ids: dict[str, RedisConnection] = {}
    for conn in config.redis_connections:
        if conn.id in ids:
            ctx.warn(f"a second redis-connection with id '{conn.id}' (the first, at "
                     f"{ids[conn.id].location}, is the one used, as in Kannel)",
                     line_of(conn, "id"), "id")
        else:
            ids[conn.id] = conn
        if conn.id not in used_redis:
            ctx.warn(f"redis-connection '{conn.id}' is not used (neither by dlr-db with "
                     "dlr-storage = redis nor by passerelle redis)", conn.location)

    _check_ports(ctx, config)
    _check_smsc_refs(ctx, config)

    if not config.smscs:
        ctx.warn("no smsc group: messages are accepted and wait in the queue", core_line)
    if config.smsbox is None:
        if config.users:
            ctx.warn("sendsms-user groups need a group smsbox (the sendsms HTTP interface); "
                     "without it they are unused", config.users[0].location)
        if config.services:
            ctx.warn("sms-service groups need a group smsbox; without it MO messages reach "
                     "no service", config.services[0].location)
    elif config.smsbox.sendsms_port is None:
        ctx.warn("no sendsms-port: the sendsms HTTP interface is not started (as in Kannel)",
                 config.smsbox.location)
    if config.smsbox_routes:
        ctx.warn("smsbox-route has no effect: Passerelle runs one smsbox, in-process, which "
                 "receives every MO and report", config.smsbox_routes[0].location)
    simulator = config.passerelle.simulator_port
    if simulator is not None and not any(
        smsc.port == simulator and smsc.host in ("127.0.0.1", "localhost", "::1")
        for smsc in config.smscs
    ):
        ctx.warn(f"the built-in simulator listens on 127.0.0.1:{simulator} but no smsc group "
                 "connects to it", line_of(config.passerelle, "simulator-port"),
                 "simulator-port")


def _check_redis_dlr(ctx: _Context, config: GatewayConfig) -> None:
    """Kannel's dlr_redis.c start-up checks, as configuration errors."""
    where = config.core.locations.get("dlr-storage")
    dlr_db = config.dlr_db
    if dlr_db is None:
        ctx.error("dlr-storage = redis needs a group dlr-db (Kannel: \"group 'dlr-db' is not "
                  "specified\")", where, "dlr-storage")
        return
    if not dlr_db.id:
        ctx.error("missing; group dlr-db requires it with dlr-storage = redis", dlr_db.location,
                  "id")
        return
    for key in _DLR_DB_FIELDS:
        if getattr(dlr_db, _attr(key)) is None:
            ctx.error("missing; group dlr-db requires it with dlr-storage = redis",
                      dlr_db.location, key)
    conn = config.redis_connection(dlr_db.id)
    if conn is None:
        ctx.error(f"dlr-storage = redis needs a redis-connection with id '{dlr_db.id}' "
                  "(Kannel: \"connection settings for id … are not specified\")",
                  dlr_db.locations.get("id", dlr_db.location), "id")
    elif conn.host is None:
        ctx.error("missing; group redis-connection requires it when it is used",
                  conn.location, "host")


def _check_ports(ctx: _Context, config: GatewayConfig) -> None:
    """Two listeners of ours on one port cannot both start."""
    listeners: list[tuple[int, str, Location | None]] = [
        (config.core.admin_port, "core admin-port",
         config.core.locations.get("admin-port", config.core.location)),
    ]
    if config.smsbox is not None and config.smsbox.sendsms_port is not None:
        listeners.append((config.smsbox.sendsms_port, "smsbox sendsms-port",
                          config.smsbox.locations.get("sendsms-port", config.smsbox.location)))
    simulator = config.passerelle.simulator_port
    if simulator is not None:
        listeners.append((simulator, "passerelle simulator-port",
                          config.passerelle.locations.get("simulator-port")))
    seen: dict[int, str] = {}
    for port, what, where in listeners:
        if port in seen:
            ctx.error(f"port {port} is already used by {seen[port]}", where, what.split()[-1])
        else:
            seen[port] = what


def _check_smsc_refs(ctx: _Context, config: GatewayConfig) -> None:
    """forced-smsc / default-smsc naming an id no smsc group carries is almost a typo."""
    if not config.smscs:
        return
    known = {smsc.conn_id.lower() for smsc in config.smscs}
    for smsc in config.smscs:
        known.update(item.lower() for item in smsc.allowed_smsc_id)
    open_group = any(
        not smsc.allowed_smsc_id and smsc.allowed_smsc_id_regex is None for smsc in config.smscs
    )
    for user in config.users:
        for key in ("forced-smsc", "default-smsc"):
            value = getattr(user, _attr(key))
            if value is not None and value.lower() not in known:
                tail = (" (a group without allowed-smsc-id still takes it)" if open_group
                        else ": its messages are not routable")
                ctx.warn(f"'{value}' is no smsc-id of any smsc group{tail}",
                         user.locations.get(key, user.location), key)


# -- entry points --------------------------------------------------------------------------


def load_config(path: str | Path) -> GatewayConfig:
    """Load and validate the kannel.conf at `path` (and its includes)."""
    return build_config(parse_file(path), str(path))


def load_config_text(
    text: str, name: str = "<text>", directory: str | Path | None = None
) -> GatewayConfig:
    """Load and validate kannel.conf text (tests, tools); includes resolve in `directory`."""
    return build_config(parse_text(text, name, directory), name)
