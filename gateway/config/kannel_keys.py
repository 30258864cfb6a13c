"""Kannel 1.4.5's inventory of configuration groups and keys, and what Passerelle does with each.

`KANNEL_GROUPS` mirrors `gwlib/cfg.def` of Kannel 1.4.5: every group and every key Kannel
accepts, so that a key is classified exactly as Kannel would (a key not listed for its group
is a configuration error in Kannel too: "Group 'core' may not contain field 'foo'"). The list
was taken from Kannel's source at the 1.4.5 release and checked against the strings of the
Debian `kannel` 1.4.5-12 binaries: every key below is in them, and the keys that later
versions added (sendsms-user `dlr-mask`, `forced-priority`, `max-priority`; smsc
`reroute-receiver-regex`, `use-post`, `retry`, `mobile-originated`; dlr-db `field-binfo`) are
not.

The second half says what Passerelle does with the Kannel groups and keys it does not
implement: a harmless one is accepted with a warning naming it, one whose absence would change
what the gateway does is refused with an error naming it. Nothing is silently dropped.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Final


@dataclass(frozen=True, slots=True)
class KannelGroup:
    """One group of cfg.def: whether it may appear once (`single`) and the keys it accepts."""

    single: bool
    keys: frozenset[str]


def _group(single: bool, keys: str) -> KannelGroup:
    return KannelGroup(single, frozenset(keys.split()))


#: Every group of Kannel 1.4.5's cfg.def with its keys (`group` itself is always allowed).
KANNEL_GROUPS: Final[Mapping[str, KannelGroup]] = MappingProxyType({
    "core": _group(
        True,
        "admin-port admin-port-ssl admin-interface admin-password status-password admin-deny-ip "
        "admin-allow-ip smsbox-port smsbox-port-ssl smsbox-interface smsbox-max-pending "
        "wapbox-port wapbox-port-ssl box-deny-ip box-allow-ip udp-deny-ip udp-allow-ip "
        "wdp-interface-name log-file log-level syslog-level syslog-facility access-log "
        "access-log-time access-log-format access-log-clean store-file store-dump-freq "
        "store-type store-location unified-prefix white-list white-list-regex black-list "
        "black-list-regex white-list-sender white-list-sender-regex black-list-sender "
        "black-list-sender-regex white-list-receiver white-list-receiver-regex "
        "black-list-receiver black-list-receiver-regex http-proxy-host http-proxy-port "
        "http-proxy-ssl http-proxy-exceptions http-proxy-exceptions-regex http-proxy-username "
        "http-proxy-password ssl-client-certkey-file ssl-server-cert-file ssl-server-key-file "
        "ssl-trusted-ca-file ssl-client-cipher-list ssl-server-cipher-list dlr-storage "
        "dlr-spool maximum-queue-length sms-incoming-queue-limit sms-outgoing-queue-limit "
        "sms-resend-freq sms-resend-retry sms-combine-concatenated-mo "
        "sms-combine-concatenated-mo-timeout http-timeout",
    ),
    "wapbox": _group(
        True,
        "bearerbox-host timer-freq url-map map-url map-url-max map-url-0 map-url-1 map-url-2 "
        "map-url-3 map-url-4 map-url-5 map-url-6 map-url-7 map-url-8 map-url-9 device-home "
        "log-file log-level syslog-level syslog-facility smart-errors access-log "
        "access-log-time access-log-clean http-interface-name concatenation max-messages "
        "wml-strict http-timeout",
    ),
    "wap-url-map": _group(
        False,
        "name url map-url send-msisdn-query send-msisdn-header send-msisdn-format "
        "accept-cookies",
    ),
    "wap-user-map": _group(
        False,
        "name user pass msisdn",
    ),
    "wtls": _group(
        True,
        "certificate-file privatekey-file privatekey-password",
    ),
    "ppg": _group(
        True,
        "ppg-url ppg-port ppg-ssl-port trusted-pi concurrent-pushes users ppg-allow-ip "
        "ppg-deny-ip ssl-server-cert-file ssl-server-key-file global-sender default-smsc "
        "default-dlr-url ppg-smsbox-id service-name",
    ),
    "wap-push-user": _group(
        False,
        "wap-push-user ppg-username ppg-password country-prefix allowed-prefix "
        "allowed-prefix-regex denied-prefix denied-prefix-regex white-list white-list-regex "
        "black-list-regex black-list deny-ip allow-ip forced-smsc default-smsc dlr-url "
        "smsbox-id",
    ),
    "test-ppg": _group(
        True,
        "retries pi-ssl ssl-client-certkey-file ssl-trusted-ca-file",
    ),
    "configuration": _group(
        True,
        "push-url content-file pap-file username password",
    ),
    "smsbox": _group(
        True,
        "smsbox-id bearerbox-host bearerbox-port bearerbox-port-ssl sendsms-port "
        "sendsms-port-ssl sendsms-interface sendsms-url sendota-url xmlrpc-url sendsms-chars "
        "global-sender log-file log-level syslog-level syslog-facility access-log "
        "access-log-time access-log-clean sms-length reply-couldnotfetch "
        "reply-couldnotrepresent reply-requestfailed reply-emptymessage allowed-prefix "
        "denied-prefix white-list black-list mo-recode http-request-retry http-queue-delay "
        "white-list-regex black-list-regex immediate-sendsms-reply max-pending-requests "
        "http-timeout",
    ),
    "smsbox-route": _group(
        False,
        "smsbox-id smsc-id shortcode",
    ),
    "smsc": _group(
        False,
        "smsc smsc-id smsc-admin-id denied-smsc-id allowed-smsc-id preferred-smsc-id "
        "allowed-prefix denied-prefix preferred-prefix unified-prefix reroute reroute-smsc-id "
        "reroute-receiver reroute-dlr log-file log-level log-format our-host alt-dcs throughput "
        "dead-start alt-charset host alt-host port use-ssl alt-port smsc-username smsc-password "
        "keepalive sim-buffering modemtype device speed validityperiod our-port receive-port "
        "our-receiver-port connect-allow-ip system-id system-type address-range smsc_nua "
        "home_nua wait_report ois-debug-level modem-type pin phone send-url dlr-url "
        "sender-prefix flow-control wait-ack wait-ack-expire no-sender no-coding window "
        "idle-timeout no-sep appname ussdc session-length my-number sms-center source-addr-ton "
        "source-addr-npi dest-addr-ton dest-addr-npi bind-addr-ton bind-addr-npi service-type "
        "esm-class source-addr-autodetect enquire-link-interval max-pending-submits "
        "reconnect-delay transceiver-mode interface-version priority notification-pid "
        "notification-addr msg-id-type no-dlr connection-timeout allowed-smsc-id-regex "
        "denied-smsc-id-regex preferred-smsc-id-regex allowed-prefix-regex denied-prefix-regex "
        "preferred-prefix-regex max-error-count alt-addr-charset status-success-regex "
        "status-permfail-regex status-tempfail-regex max-sms-octets login-prompt "
        "password-prompt ssl-client-certkey-file generic-param-username generic-param-password "
        "generic-param-from generic-param-to generic-param-text generic-param-udh "
        "generic-param-service generic-param-account generic-param-binfo generic-param-dlr-mask "
        "generic-param-dlr-err generic-param-dlr-url generic-param-dlr-mid generic-param-flash "
        "generic-param-mclass generic-param-mwi generic-param-coding generic-param-validity "
        "generic-param-deferred generic-param-foreign-id generic-param-meta-data "
        "generic-message-sent generic-status-sent generic-status-error generic-foreign-id-regex "
        "instances",
    ),
    "sms-service": _group(
        False,
        "name keyword aliases url get-url post-url post-xml file text exec accepted-smsc "
        "accepted-smsc-regex accepted-account accepted-account-regex forced-smsc default-smsc "
        "faked-sender max-messages concatenation split-chars split-suffix omit-empty header "
        "footer prefix suffix assume-plain-text accept-x-kannel-headers strip-keyword "
        "send-sender catch-all allowed-prefix allowed-prefix-regex denied-prefix "
        "denied-prefix-regex allowed-receiver-prefix allowed-receiver-prefix-regex "
        "denied-receiver-prefix denied-receiver-prefix-regex white-list white-list-regex "
        "black-list black-list-regex dlr-url dlr-mask keyword-regex alt-charset",
    ),
    "sendsms-user": _group(
        False,
        "name username password user-deny-ip user-allow-ip forced-smsc default-smsc "
        "faked-sender default-sender max-messages concatenation split-chars split-suffix "
        "omit-empty header footer allowed-prefix denied-prefix white-list black-list dlr-url "
        "allowed-prefix-regex denied-prefix-regex white-list-regex black-list-regex",
    ),
    "ota-setting": _group(
        False,
        "ota-id location service ipaddress phonenumber bearer connection calltype speed "
        "pppsecurity authentication login secret",
    ),
    "ota-bookmark": _group(
        False,
        "ota-id name url",
    ),
    "modems": _group(
        False,
        "id name detect-string detect-string2 init-string speed enable-hwhs need-sleep no-pin "
        "no-smsc sendline-sleep keepalive-cmd broken message-storage message-start enable-mms "
        "reset-string hardware-flow-control",
    ),
    "mssql-connection": _group(
        False,
        "id username password server database max-connections",
    ),
    "mysql-connection": _group(
        False,
        "id host port username password database max-connections",
    ),
    "oracle-connection": _group(
        False,
        "id username password tnsname max-connections",
    ),
    "sdb-connection": _group(
        False,
        "id url max-connections",
    ),
    "pgsql-connection": _group(
        False,
        "id host port username password database max-connections",
    ),
    "sqlite-connection": _group(
        False,
        "id database max-connections lock-timeout",
    ),
    "sqlite3-connection": _group(
        False,
        "id database max-connections lock-timeout",
    ),
    "redis-connection": _group(
        False,
        "id host port password database max-connections idle-timeout",
    ),
    "cassandra-connection": _group(
        False,
        "id host port username password database max-connections idle-timeout",
    ),
    "dlr-db": _group(
        True,
        "id table ttl field-smsc field-timestamp field-source field-destination field-service "
        "field-url field-mask field-status field-boxc-id",
    ),
    "store-db": _group(
        True,
        "id table hash",
    ),
    "radius-acct": _group(
        True,
        "our-host our-port remote-host remote-port remote-timeout nas-ports secret-nas "
        "secret-radius unified-prefix",
    ),
    "smpp-tlv": _group(
        False,
        "name tag length type smsc-id const",
    ),
})

#: The `smsc` driver names Kannel 1.4.5 knows (smscconn.c and the old smsc.c wrapper).
SMSC_DRIVERS: Final = frozenset(
    "smpp fake cimd2 emi http at cgw smasi oisd loopback parlayx cimd emi_x25 sema ois".split()
)

#: The only driver Passerelle implements.
SUPPORTED_DRIVERS: Final = frozenset({"smpp"})


class Severity(enum.Enum):
    """What the loader does with a Kannel key or group Passerelle does not implement."""

    #: Accepted; a warning names it and says why it does not matter.
    WARN = "warning"
    #: Refused: running without it would silently change what the gateway does.
    ERROR = "error"


@dataclass(frozen=True, slots=True)
class Policy:
    """A severity and the reason given to the operator."""

    severity: Severity
    reason: str


def _warn(reason: str) -> Policy:
    return Policy(Severity.WARN, reason)


def _error(reason: str) -> Policy:
    return Policy(Severity.ERROR, reason)


_WAP = _warn("WAP is not part of Passerelle (an SMS gateway); keep running Kannel's wapbox "
             "and bearerbox for WAP")
_DB = _warn("only used by Kannel's SQL/NoSQL DLR and store back-ends, which Passerelle does "
            "not have (dlr-storage is internal or redis)")

#: Whole groups Passerelle does not implement. Their keys are still checked against cfg.def.
GROUP_POLICY: Final[Mapping[str, Policy]] = MappingProxyType({
    "wapbox": _WAP,
    "wap-url-map": _WAP,
    "wap-user-map": _WAP,
    "wtls": _WAP,
    "test-ppg": _WAP,
    "configuration": _WAP,
    "radius-acct": _warn("the RADIUS accounting proxy serves WAP; Passerelle has none"),
    "modems": _warn("modem definitions are only used by smsc = at, which Passerelle does not "
                    "implement"),
    "mssql-connection": _DB,
    "mysql-connection": _DB,
    "oracle-connection": _DB,
    "sdb-connection": _DB,
    "pgsql-connection": _DB,
    "sqlite-connection": _DB,
    "sqlite3-connection": _DB,
    "cassandra-connection": _DB,
    "store-db": _warn("Kannel's message store is replaced by Passerelle's own durable spool "
                      "(group passerelle, spool-dir)"),
    "ppg": _error("the WAP Push Proxy Gateway is not implemented: push requests would go "
                  "unanswered"),
    "wap-push-user": _error("the WAP Push Proxy Gateway is not implemented"),
    "ota-setting": _error("OTA configuration messages (sendota) are not implemented"),
    "ota-bookmark": _error("OTA configuration messages (sendota) are not implemented"),
})

_WAP_KEY = _warn("WAP is not part of Passerelle; it is ignored")
_STORE = _warn("Kannel's message store is replaced by Passerelle's durable spool "
               "(group passerelle, spool-dir); it is ignored")
_PROXY = _error("outgoing HTTP through a proxy is not implemented: DLR and service callbacks "
                "would bypass it")
_SSL_FILE = _warn("Passerelle opens no TLS listener and its HTTP client verifies with the "
                  "system's trust store; it is ignored")

#: Keys of implemented groups that Passerelle does not honour (the others are typed fields).
KEY_POLICY: Final[Mapping[str, Mapping[str, Policy]]] = MappingProxyType({
    "core": MappingProxyType({
        "wapbox-port": _WAP_KEY,
        "wapbox-port-ssl": _WAP_KEY,
        "udp-deny-ip": _WAP_KEY,
        "udp-allow-ip": _WAP_KEY,
        "wdp-interface-name": _WAP_KEY,
        "store-file": _STORE,
        "store-type": _STORE,
        "store-location": _STORE,
        "store-dump-freq": _STORE,
        "http-proxy-host": _PROXY,
        "http-proxy-port": _PROXY,
        "http-proxy-ssl": _PROXY,
        "http-proxy-exceptions": _PROXY,
        "http-proxy-exceptions-regex": _PROXY,
        "http-proxy-username": _PROXY,
        "http-proxy-password": _PROXY,
        "ssl-client-certkey-file": _SSL_FILE,
        "ssl-server-cert-file": _SSL_FILE,
        "ssl-server-key-file": _SSL_FILE,
        "ssl-trusted-ca-file": _SSL_FILE,
        "ssl-client-cipher-list": _SSL_FILE,
        "ssl-server-cipher-list": _SSL_FILE,
        "dlr-spool": _warn("only used with dlr-storage = spool, which Passerelle does not "
                           "implement; it is ignored"),
    }),
    "smsbox": MappingProxyType({
        "allowed-prefix": _warn("Kannel 1.4.5 accepts it in group smsbox but never reads it; "
                                "nor does Passerelle"),
        "denied-prefix": _warn("Kannel 1.4.5 accepts it in group smsbox but never reads it; "
                               "nor does Passerelle"),
    }),
    "smsc": MappingProxyType({
        "our-host": _error("binding the SMSC connection to a local address is not "
                           "implemented: the carrier may refuse the connection's source "
                           "address"),
        "our-port": _error("binding the SMSC connection to a local port is not implemented"),
        "our-receiver-port": _error("binding the receiver connection to a local port is not "
                                    "implemented"),
        "reroute": _error("MO re-routing (reroute*) is not implemented"),
        "reroute-smsc-id": _error("MO re-routing (reroute*) is not implemented"),
        "reroute-receiver": _error("MO re-routing (reroute*) is not implemented"),
        "reroute-dlr": _error("MO re-routing (reroute*) is not implemented"),
        "log-format": _warn("SMPP PDU dumps use Passerelle's own format; it is ignored"),
        "ssl-client-certkey-file": _warn("only used with use-ssl, which Passerelle does not "
                                         "implement; it is ignored"),
    }),
    "smpp-tlv": MappingProxyType({
        "const": _error("constant TLVs (sent with every submit) are not implemented: the "
                        "SMSC would not get them"),
    }),
})

#: Keys of group smsc that smsc = smpp never reads (other drivers' keys). Kannel ignores them
#: for an SMPP connection, so Passerelle accepts them with a warning.
SMSC_OTHER_DRIVER_REASON: Final = (
    "not used by smsc = smpp (it belongs to other SMSC drivers; Kannel ignores it here too)"
)


#: Passerelle's own keys of `group = smsc` (Kannel has no such keys; docs/native.md):
#: national language tables for 7-bit text (a name or the TS 23.038 number) and packed
#: septets.
OUR_SMSC_KEYS: Final = frozenset(
    {"national-locking-shift", "national-single-shift", "packed-septets"}
)


def national_language(value: str) -> int | None:
    """`turkish`, `spanish`, `portuguese` (any case), their TS 23.038 numbers, or `none`/0 →
    the language number; None for anything else."""
    from native.tables import LANGUAGE_NAMES

    text = value.strip().lower()
    if text in ("none", "0", ""):
        return 0
    if text in LANGUAGE_NAMES:
        return LANGUAGE_NAMES[text]
    return int(text) if text.isdigit() and int(text) in LANGUAGE_NAMES.values() else None
