"""The typed configuration: one frozen dataclass per kannel.conf group.

The naming rule the rest of the gateway codes against: an attribute is its Kannel key with
`-` turned into `_` (`user.max_messages`, `smsbox.sendsms_port`, `smsc.max_pending_submits`,
`core.admin_password`). Values are typed and already validated: `;`-separated lists are
`tuple[str, ...]` (items stripped, empty items dropped), `-regex` keys are compiled
`re.Pattern` objects (use `.search`, as Kannel's `regexec` does), an unset optional key is
`None`, and every default is Kannel 1.4.5's. Deprecated Kannel aliases are folded into the
current key (`white-list` into `white_list_sender`, `system-id` into `smsc_username`,
`maximum-queue-length` into `sms_incoming_queue_limit`).

Every group also carries `location` (its `group =` line) and `locations` (Kannel key → the
line that set it): a key missing from `locations` has its default, which is how
`passerelle check-config` marks defaults, and how later components can point an operator at
the line behind a runtime problem.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any, Final

from gateway.config.errors import Location
from protocols.smpp.session import BindConfig

__all__ = [
    "CoreConfig",
    "SmscConfig",
    "SmsboxConfig",
    "SendsmsUser",
    "SmsService",
    "SmsboxRoute",
    "SmppTlv",
    "DlrDb",
    "RedisConnection",
    "PasserelleConfig",
    "GatewayConfig",
    "config_key",
    "is_secret",
]

Pattern = re.Pattern[str]

#: Kannel truncates bind strings that do not fit their SMPP C-string field (smpp_pdu.c
#: NULTERMINATED); these are the octets each field holds before its NUL.
BIND_FIELD_OCTETS: Final = {
    "smsc_username": 15,
    "smsc_password": 8,
    "system_type": 12,
    "address_range": 40,
}


def _ours(**meta: Any) -> Any:
    """Metadata for a field that is Passerelle's own, not a key of the Kannel group."""
    return {"ours": True, **meta}


def _secret() -> Any:
    return {"secret": True}


def _locations() -> Any:
    return field(default_factory=dict, compare=False, repr=False, metadata={"internal": True})


def _location() -> Any:
    return field(default=None, compare=False, repr=False, metadata={"internal": True})


def config_key(field_name: str) -> str:
    """The kannel.conf key of an attribute: the naming rule read backwards."""
    return field_name.replace("_", "-")


def is_secret(owner: type, field_name: str) -> bool:
    """Whether a field holds a password (masked by check-config)."""
    for f in fields(owner):
        if f.name == field_name:
            return bool(f.metadata.get("secret"))
    return False


@dataclass(frozen=True, slots=True, kw_only=True)
class CoreConfig:
    """`group = core`: the bearerbox side (admin HTTP, global lists, queues, DLR storage).

    `smsbox_*` and `box_*` keys are kept for display but have no effect: Passerelle runs
    bearerbox and smsbox in one process, so there is no box port.
    """

    admin_port: int
    admin_port_ssl: bool = False
    admin_interface: str | None = None
    admin_password: str = field(metadata=_secret())
    status_password: str | None = field(default=None, metadata=_secret())
    admin_deny_ip: tuple[str, ...] = ()
    admin_allow_ip: tuple[str, ...] = ()
    smsbox_port: int | None = None
    smsbox_port_ssl: bool = False
    smsbox_interface: str | None = None
    smsbox_max_pending: int = 100
    box_deny_ip: tuple[str, ...] = ()
    box_allow_ip: tuple[str, ...] = ()
    log_file: str | None = None
    log_level: int = 0
    syslog_level: int | None = None
    syslog_facility: str = "daemon"
    access_log: str | None = None
    access_log_time: str = "local"
    access_log_format: str | None = None
    access_log_clean: bool = False
    #: Raw `official,alt,alt;official,alt` table (gateway.routing.normalize_number reads it).
    unified_prefix: str | None = None
    white_list_sender: str | None = None
    white_list_sender_regex: Pattern | None = None
    black_list_sender: str | None = None
    black_list_sender_regex: Pattern | None = None
    white_list_receiver: str | None = None
    white_list_receiver_regex: Pattern | None = None
    black_list_receiver: str | None = None
    black_list_receiver_regex: Pattern | None = None
    #: `internal` (the embedded store) or `redis` (through dlr-db and redis-connection).
    dlr_storage: str = "internal"
    sms_incoming_queue_limit: int = -1
    sms_outgoing_queue_limit: int = 1_000_000
    sms_resend_freq: int = 60
    sms_resend_retry: int = -1
    sms_combine_concatenated_mo: bool = True
    sms_combine_concatenated_mo_timeout: int = 1800
    http_timeout: int = 240
    location: Location | None = _location()
    locations: Mapping[str, Location] = _locations()


@dataclass(frozen=True, slots=True, kw_only=True)
class SmscConfig:
    """`group = smsc` with `smsc = smpp` (the only driver Passerelle implements).

    Routing keys keep Kannel's shapes (see gateway.routing). `port` is 0 only when the group
    is receive-only (`port = 0`, `receive-port = N`); `interface_version` is the decimal
    written in kannel.conf (34), which `bind_config` turns into BCD (0x34) as Kannel does.
    `system_type` is mandatory, as in Kannel ("doesn't specify system-type"); `""` is allowed
    and sent empty.
    """

    smsc: str = "smpp"
    smsc_id: str | None = None
    smsc_admin_id: str | None = None
    host: str
    port: int = 2775
    receive_port: int = 0
    transceiver_mode: bool = False
    smsc_username: str
    smsc_password: str = field(metadata=_secret())
    system_type: str
    allowed_smsc_id: tuple[str, ...] = ()
    denied_smsc_id: tuple[str, ...] = ()
    preferred_smsc_id: tuple[str, ...] = ()
    allowed_smsc_id_regex: Pattern | None = None
    denied_smsc_id_regex: Pattern | None = None
    preferred_smsc_id_regex: Pattern | None = None
    allowed_prefix: tuple[str, ...] = ()
    denied_prefix: tuple[str, ...] = ()
    preferred_prefix: tuple[str, ...] = ()
    allowed_prefix_regex: Pattern | None = None
    denied_prefix_regex: Pattern | None = None
    preferred_prefix_regex: Pattern | None = None
    unified_prefix: str | None = None
    log_file: str | None = None
    log_level: int = 0
    alt_dcs: bool = False
    #: Messages per second; None (unset, or 0) is unlimited.
    throughput: float | None = None
    dead_start: bool = False
    alt_charset: str | None = None
    instances: int = 1
    max_sms_octets: int = 140
    reconnect_delay: int = 10
    use_ssl: bool = False
    service_type: str | None = None
    interface_version: int = 34
    address_range: str = ""
    bind_addr_ton: int = 0
    bind_addr_npi: int = 0
    #: Forced TON/NPI of submit_sm addresses; Kannel forces them only when both are set.
    source_addr_ton: int | None = None
    source_addr_npi: int | None = None
    dest_addr_ton: int | None = None
    dest_addr_npi: int | None = None
    source_addr_autodetect: bool = True
    enquire_link_interval: int = 30
    max_pending_submits: int = 10
    connection_timeout: int = 300
    wait_ack: int = 60
    #: 0 reconnect, 1 re-queue (Kannel's code default; its guide says 0), 2 wait forever.
    wait_ack_expire: int = 1
    #: Bit 0: submit_sm_resp ids are hex; bit 1: deliver_sm ids are hex; None: compare as is.
    msg_id_type: int | None = None
    my_number: str | None = None
    #: Default validity in minutes; None: none.
    validityperiod: int | None = None
    priority: int = 0
    esm_class: int = 3
    alt_addr_charset: str | None = None
    #: Ours: GSM national language tables (3GPP TS 23.038 annex A; 1 Turkish, 2 Spanish,
    #: 3 Portuguese, 0 none) for 7-bit text meant for this group. Kannel has none.
    national_locking_shift: int = field(default=0, metadata=_ours())
    national_single_shift: int = field(default=0, metadata=_ours())
    #: Ours: 7-bit text goes packed (8 septets in 7 octets), not Kannel's octet per septet.
    packed_septets: bool = field(default=False, metadata=_ours())
    location: Location | None = _location()
    locations: Mapping[str, Location] = _locations()

    @property
    def receive_only(self) -> bool:
        """A `port = 0`, `receive-port = N` group: one receiver bind, no transmitter."""
        return self.port == 0 and self.receive_port != 0

    @property
    def conn_name(self) -> str:
        """Kannel's connection name, `SMPP:host:port/rx-port:username:system-type`."""
        rx = self.port if (not self.receive_port and self.transceiver_mode) else self.receive_port
        return f"SMPP:{self.host}:{self.port}/{rx}:{self.smsc_username}:{self.system_type}"

    @property
    def conn_id(self) -> str:
        """The id routing and DLRs use: smsc-id, or the connection name when it is unset."""
        return self.smsc_id if self.smsc_id is not None else self.conn_name

    @property
    def admin_id(self) -> str:
        """The id admin commands (start-smsc, stop-smsc…) use: smsc-admin-id, else the id."""
        return self.smsc_admin_id if self.smsc_admin_id is not None else self.conn_id

    def bind_config(self) -> BindConfig:
        """The SMPP session settings of this group, mapped as Kannel's smsc_smpp.c maps them.

        Bind strings longer than their SMPP field are truncated, as Kannel's PDU packer does
        (the loader has already warned about it). `reconnect_delay` is the base of the
        connector's backoff, whose cap is raised to it when it is over the default cap.
        """
        version = self.interface_version
        bcd = ((version // 10) << 4) + (version % 10)
        reconnect = float(self.reconnect_delay)
        return BindConfig(
            host=self.host,
            port=self.port,
            receive_port=0 if self.transceiver_mode else self.receive_port,
            transceiver_mode=self.transceiver_mode,
            system_id=_fit(self.smsc_username, BIND_FIELD_OCTETS["smsc_username"]),
            password=_fit(self.smsc_password, BIND_FIELD_OCTETS["smsc_password"]),
            system_type=_fit(self.system_type, BIND_FIELD_OCTETS["system_type"]),
            interface_version=bcd,
            address_range=_fit(self.address_range, BIND_FIELD_OCTETS["address_range"]),
            bind_addr_ton=self.bind_addr_ton,
            bind_addr_npi=self.bind_addr_npi,
            max_pending_submits=self.max_pending_submits,
            enquire_link_interval=float(self.enquire_link_interval),
            connection_timeout=float(self.connection_timeout),
            wait_ack=float(self.wait_ack),
            wait_ack_expire=self.wait_ack_expire,
            reconnect_delay=reconnect,
            reconnect_delay_max=max(reconnect, _DEFAULT_RECONNECT_MAX),
            smsc_id=self.smsc_id or "",
        )


#: BindConfig's default backoff cap (raised to reconnect-delay when that is larger).
_DEFAULT_RECONNECT_MAX: Final = next(
    f.default for f in fields(BindConfig) if f.name == "reconnect_delay_max"
)


def _fit(value: str, octets: int) -> str:
    """`value` cut to at most `octets` UTF-8 octets without splitting a character."""
    raw = value.encode("utf-8")
    if len(raw) <= octets:
        return value
    return raw[:octets].decode("utf-8", errors="ignore")


@dataclass(frozen=True, slots=True, kw_only=True)
class SmsboxConfig:
    """`group = smsbox`: the sendsms HTTP interface and MO service settings.

    `bearerbox_*` keys have no effect (smsbox runs in the gateway's process). Without
    `sendsms_port` no sendsms listener is opened, as in Kannel.
    """

    smsbox_id: str | None = None
    bearerbox_host: str = "localhost"
    bearerbox_port: int | None = None
    bearerbox_port_ssl: bool = False
    sendsms_port: int | None = None
    sendsms_port_ssl: bool = False
    sendsms_interface: str | None = None
    sendsms_url: str = "/cgi-bin/sendsms"
    sendota_url: str = "/cgi-bin/sendota"
    xmlrpc_url: str = "/cgi-bin/xmlrpc"
    sendsms_chars: str = "0123456789 +-"
    global_sender: str | None = None
    log_file: str | None = None
    log_level: int = 0
    syslog_level: int | None = None
    syslog_facility: str = "daemon"
    access_log: str | None = None
    access_log_time: str = "local"
    access_log_clean: bool = False
    sms_length: int = 140
    reply_couldnotfetch: str = "Could not fetch content, sorry."
    reply_couldnotrepresent: str = "Result could not be represented as an SMS message."
    reply_requestfailed: str = "Request Failed"
    reply_emptymessage: str = "<Empty reply from service provider>"
    white_list: str | None = None
    black_list: str | None = None
    white_list_regex: Pattern | None = None
    black_list_regex: Pattern | None = None
    mo_recode: bool = False
    http_request_retry: int = 0
    http_queue_delay: int = 10
    immediate_sendsms_reply: bool = False
    max_pending_requests: int = 512
    http_timeout: int = 240
    location: Location | None = _location()
    locations: Mapping[str, Location] = _locations()


@dataclass(frozen=True, slots=True, kw_only=True)
class SendsmsUser:
    """`group = sendsms-user`: one account of the sendsms HTTP interface.

    `name` defaults to `username`. When `forced_smsc` is set Kannel drops `default_smsc`,
    and so it is None here. `white_list` / `black_list` are URLs of number lists, as in
    Kannel. The lane fields come from Passerelle's `group = passerelle-user` (or the
    `group = passerelle` default) and are resolved here so the accept path reads one record.
    """

    name: str
    username: str
    password: str = field(metadata=_secret())
    user_deny_ip: tuple[str, ...] = ()
    user_allow_ip: tuple[str, ...] = ()
    forced_smsc: str | None = None
    default_smsc: str | None = None
    faked_sender: str | None = None
    default_sender: str | None = None
    max_messages: int = 1
    concatenation: bool = False
    split_chars: str | None = None
    split_suffix: str | None = None
    omit_empty: bool = False
    header: str | None = None
    footer: str | None = None
    allowed_prefix: tuple[str, ...] = ()
    denied_prefix: tuple[str, ...] = ()
    allowed_prefix_regex: Pattern | None = None
    denied_prefix_regex: Pattern | None = None
    white_list: str | None = None
    black_list: str | None = None
    white_list_regex: Pattern | None = None
    black_list_regex: Pattern | None = None
    dlr_url: str | None = None
    #: Lane (0-3, Kannel's priority scale) of requests that give no `priority`.
    default_lane: int = field(default=0, metadata=_ours())
    #: A request's `priority` above this is lowered to it.
    max_lane: int = field(default=3, metadata=_ours())
    #: When set, every request of this user goes to this lane whatever it asks.
    forced_lane: int | None = field(default=None, metadata=_ours())
    #: Spool bytes this user's unsent messages may hold (its requests get 503 past it);
    #: None: only the global `spool-max-bytes`.
    spool_max_bytes: int | None = field(default=None, metadata=_ours())
    location: Location | None = _location()
    locations: Mapping[str, Location] = _locations()


@dataclass(frozen=True, slots=True, kw_only=True)
class SmsService:
    """`group = sms-service`: what to do with a mobile-originated message.

    Exactly one action applies, chosen in Kannel's order: get-url (or its alias url),
    post-url, post-xml, file, text; `action` names it and `pattern` holds its value. `exec`
    is refused by the loader. A keyword is matched case-insensitively at the start of the
    text (`^[ ]*(keyword|alias…)`, as Kannel builds it); `keyword_regex` is the operator's
    own case-sensitive pattern.
    """

    name: str
    keyword: str | None = None
    keyword_regex: Pattern | None = None
    aliases: tuple[str, ...] = ()
    get_url: str | None = None
    post_url: str | None = None
    post_xml: str | None = None
    file: str | None = None
    text: str | None = None
    accepted_smsc: tuple[str, ...] = ()
    accepted_smsc_regex: Pattern | None = None
    accepted_account: tuple[str, ...] = ()
    accepted_account_regex: Pattern | None = None
    forced_smsc: str | None = None
    default_smsc: str | None = None
    faked_sender: str | None = None
    max_messages: int = 1
    concatenation: bool = False
    split_chars: str | None = None
    split_suffix: str | None = None
    omit_empty: bool = False
    header: str | None = None
    footer: str | None = None
    prefix: str | None = None
    suffix: str | None = None
    assume_plain_text: bool = False
    accept_x_kannel_headers: bool = False
    strip_keyword: bool = False
    send_sender: bool = False
    catch_all: bool = False
    allowed_prefix: tuple[str, ...] = ()
    allowed_prefix_regex: Pattern | None = None
    denied_prefix: tuple[str, ...] = ()
    denied_prefix_regex: Pattern | None = None
    allowed_receiver_prefix: tuple[str, ...] = ()
    allowed_receiver_prefix_regex: Pattern | None = None
    denied_receiver_prefix: tuple[str, ...] = ()
    denied_receiver_prefix_regex: Pattern | None = None
    white_list: str | None = None
    white_list_regex: Pattern | None = None
    black_list: str | None = None
    black_list_regex: Pattern | None = None
    dlr_url: str | None = None
    dlr_mask: int | None = None
    alt_charset: str | None = None
    #: What MO text is matched with (search): Kannel's `^[ ]*(keyword|alias…)[ ]*`,
    #: case-insensitive, or `keyword_regex`; None for the default service.
    matcher: Pattern | None = field(default=None, compare=False, metadata={"internal": True})
    location: Location | None = _location()
    locations: Mapping[str, Location] = _locations()

    @property
    def is_default(self) -> bool:
        """The `keyword = default` service, used when no other matches."""
        return self.keyword == "default"

    @property
    def action(self) -> str:
        """Which of get-url, post-url, post-xml, file, text this service performs."""
        for name in ("get_url", "post_url", "post_xml", "file", "text"):
            if getattr(self, name) is not None:
                return config_key(name)
        raise AssertionError("the loader guarantees an action")  # pragma: no cover

    @property
    def pattern(self) -> str:
        """The URL, file name or text of the action."""
        value = getattr(self, self.action.replace("-", "_"))
        assert value is not None
        return str(value)


@dataclass(frozen=True, slots=True, kw_only=True)
class SmsboxRoute:
    """`group = smsbox-route`. Kept for display: with one in-process smsbox it has no effect."""

    smsbox_id: str
    smsc_id: tuple[str, ...] = ()
    shortcode: tuple[str, ...] = ()
    location: Location | None = _location()
    locations: Mapping[str, Location] = _locations()


@dataclass(frozen=True, slots=True, kw_only=True)
class SmppTlv:
    """`group = smpp-tlv`: a meta-data key (`?smpp?name=value`) sent as an SMPP TLV.

    `type` is lower-cased (`integer`, `nulterminated` or `octetstring`); `smsc_id` limits
    it to those smsc groups (empty: all). gateway.submit's TlvDef is built from it.
    """

    name: str
    tag: int
    type: str
    length: int
    smsc_id: tuple[str, ...] = ()
    location: Location | None = _location()
    locations: Mapping[str, Location] = _locations()


@dataclass(frozen=True, slots=True, kw_only=True)
class DlrDb:
    """`group = dlr-db`: the Redis key layout of `dlr-storage = redis`.

    Field names are only checked (all mandatory) when dlr-storage uses them, as in Kannel.
    `ttl` is seconds, 0 for none.
    """

    id: str
    table: str | None = None
    ttl: int = 0
    field_smsc: str | None = None
    field_timestamp: str | None = None
    field_source: str | None = None
    field_destination: str | None = None
    field_service: str | None = None
    field_url: str | None = None
    field_mask: str | None = None
    field_status: str | None = None
    field_boxc_id: str | None = None
    location: Location | None = _location()
    locations: Mapping[str, Location] = _locations()


@dataclass(frozen=True, slots=True, kw_only=True)
class RedisConnection:
    """`group = redis-connection`: one Redis server (for DLRs and Passerelle's scale-out)."""

    id: str
    host: str | None = None
    port: int = 6379
    password: str | None = field(default=None, metadata=_secret())
    database: int = 0
    max_connections: int = 1
    idle_timeout: int | None = None
    location: Location | None = _location()
    locations: Mapping[str, Location] = _locations()


@dataclass(frozen=True, slots=True, kw_only=True)
class PasserelleConfig:
    """`group = passerelle`: Passerelle's own settings, the bounds and knobs Kannel lacks.

    Byte sizes accept a K, M or G suffix (powers of 1024) in kannel.conf.
    """

    #: Directory of the durable spool (created if missing).
    spool_dir: str = "/var/spool/passerelle"
    #: The spool refuses new messages (sendsms answers 503) past this many bytes...
    spool_max_bytes: int = 1024**3
    #: ...or this many messages.
    spool_max_messages: int = 1_000_000
    #: Cap of the in-memory queue; defaults to core sms-outgoing-queue-limit.
    queue_max_messages: int = 1_000_000
    #: Largest HTTP request body accepted (sendsms POST), in bytes.
    max_request_body: int = 65536
    #: Rotate each log file past this size, keeping `log_max_files` old files.
    log_max_bytes: int = 100 * 1024**2
    log_max_files: int = 10
    #: id of the `redis-connection` nodes share (DLR map, queues) to scale out; None: one node.
    redis: str | None = None
    #: Start the built-in SMPP simulator on 127.0.0.1 at this port (for trials); None: don't.
    simulator_port: int | None = None
    #: Weights of lanes 0..3 (index = lane = Kannel priority) in weighted service.
    lane_weights: tuple[int, int, int, int] = (1, 2, 4, 8)
    #: Lane of requests without `priority` from users without their own default.
    default_lane: int = 0
    #: Delivery-report records older than this are dropped (seconds).
    dlr_ttl: int = 7 * 24 * 3600
    #: At most this many delivery-report records are kept (oldest dropped first).
    dlr_max_entries: int = 1_000_000
    #: The embedded DLR store's file; None: `dlr.sqlite` in spool-dir (in memory without one).
    dlr_file: str | None = None
    #: Refuse dlr-url / get-url targets in private, link-local and special ranges.
    callback_guard: bool = True
    #: CIDRs allowed as callback targets although the guard blocks their range.
    callback_allow_networks: tuple[str, ...] = ()
    #: Loopback targets (an application on the gateway's own host) are allowed unless false.
    callback_allow_loopback: bool = True
    #: The callback outbox refuses new requests past this many bytes on disk.
    callback_max_bytes: int = 256 * 1024**2
    #: Seconds a stop (SIGTERM, admin shutdown) waits for the submits on the wire to be
    #: answered before unbinding; what is still unanswered stays in the spool.
    shutdown_grace: int = 10
    location: Location | None = _location()
    locations: Mapping[str, Location] = _locations()


@dataclass(frozen=True, slots=True, kw_only=True)
class GatewayConfig:
    """A whole validated configuration.

    `smscs` keeps the groups in file order (gateway.routing keys connections by index).
    `warnings` lists what was accepted but deserves the operator's attention; `source` is
    the path (or name) of the main file and `files` every file read.
    """

    core: CoreConfig
    smscs: tuple[SmscConfig, ...] = ()
    smsbox: SmsboxConfig | None = None
    users: tuple[SendsmsUser, ...] = ()
    services: tuple[SmsService, ...] = ()
    smsbox_routes: tuple[SmsboxRoute, ...] = ()
    smpp_tlvs: tuple[SmppTlv, ...] = ()
    dlr_db: DlrDb | None = None
    redis_connections: tuple[RedisConnection, ...] = ()
    passerelle: PasserelleConfig = field(default_factory=PasserelleConfig)
    source: str = "<text>"
    files: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()

    @property
    def dlr_dbs(self) -> tuple[DlrDb, ...]:
        """`dlr_db` as a tuple: Kannel's dlr-db is a single group, so 0 or 1 of them."""
        return () if self.dlr_db is None else (self.dlr_db,)

    def user(self, username: str) -> SendsmsUser | None:
        """The sendsms-user with this username (usernames are unique), or None."""
        for user in self.users:
            if user.username == username:
                return user
        return None

    def redis_connection(self, conn_id: str) -> RedisConnection | None:
        """The first redis-connection with this id (Kannel takes the first), or None."""
        for conn in self.redis_connections:
            if conn.id == conn_id:
                return conn
        return None
