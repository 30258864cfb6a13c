"""kannel.conf → GatewayConfig: defaults, every error kind (with file:line and key),
bind_config, cross-checks, and real Kannel configuration files."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from gateway.config import (
    ConfigError,
    GatewayConfig,
    default_config_path,
    load_config,
    load_config_text,
)
from protocols.smpp.session import BindConfig, WaitAckExpire

DATA = Path(__file__).parent / "data"

CORE = "group = core\nadmin-port = 13000\nadmin-password = bar\n"
SMSC = (
    "group = smsc\nsmsc = smpp\nsmsc-id = op\nhost = 10.0.0.1\nsmsc-username = user\n"
    "smsc-password = pw\nsystem-type = VMA\n"
)
SMSBOX = "group = smsbox\nbearerbox-host = localhost\nsendsms-port = 13013\n"
USER = "group = sendsms-user\nusername = tester\npassword = foobar\n"


def load(*groups: str) -> GatewayConfig:
    return load_config_text("\n".join(groups), "kannel.conf")


def error_of(*groups: str) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        load(*groups)
    return info.value


def line_of(text: str, needle: str) -> int:
    """The 1-based line of the first line containing `needle` in the joined config."""
    for number, line in enumerate(text.split("\n"), start=1):
        if needle in line:
            return number
    raise AssertionError(needle)


# -- defaults ------------------------------------------------------------------------------


def test_minimal_config_and_kannel_defaults() -> None:
    config = load(CORE, SMSC, SMSBOX, USER)
    core, smsc, smsbox, user = config.core, config.smscs[0], config.smsbox, config.users[0]
    assert (core.admin_port, core.admin_password, core.status_password) == (13000, "bar", None)
    assert core.dlr_storage == "internal"
    assert core.sms_outgoing_queue_limit == 1_000_000
    assert core.sms_resend_freq == 60 and core.sms_resend_retry == -1
    assert core.admin_allow_ip == () and core.unified_prefix is None
    assert smsc.port == 2775 and smsc.receive_port == 0 and not smsc.transceiver_mode
    assert smsc.reconnect_delay == 10 and smsc.max_pending_submits == 10
    assert smsc.enquire_link_interval == 30 and smsc.connection_timeout == 300
    assert smsc.wait_ack == 60 and smsc.wait_ack_expire == 1
    assert smsc.interface_version == 34 and smsc.address_range == ""
    assert smsc.esm_class == 3 and smsc.priority == 0 and smsc.source_addr_autodetect
    assert smsc.throughput is None and smsc.instances == 1 and smsc.max_sms_octets == 140
    assert smsbox is not None
    assert smsbox.sendsms_url == "/cgi-bin/sendsms"
    assert smsbox.sendsms_chars == "0123456789 +-"
    assert smsbox.sms_length == 140 and smsbox.max_pending_requests == 512
    assert not smsbox.immediate_sendsms_reply
    assert user.max_messages == 1 and user.concatenation is False
    assert user.name == "tester" and user.faked_sender is None
    assert user.default_lane == 0 and user.max_lane == 3 and user.forced_lane is None
    passerelle = config.passerelle
    assert passerelle.max_request_body == 65536
    assert passerelle.queue_max_messages == 1_000_000
    assert passerelle.simulator_port is None and passerelle.redis is None
    assert config.warnings == ()


def test_values_are_typed() -> None:
    config = load(
        CORE + "admin-allow-ip = \"127.0.0.1;10.*.*.*\"\nunified-prefix = \"+46,0046,0\"\n"
        "white-list-sender-regex = \"^[[:digit:]]+$\"\nsms-outgoing-queue-limit = 5000\n",
        SMSC + "allowed-smsc-id = \"a; B\"\nthroughput = 2.5\nalt-dcs = yes\n",
        SMSBOX,
        USER + "max-messages = 10\nconcatenation = 1\nfaked-sender = 1234\n",
    )
    assert config.core.admin_allow_ip == ("127.0.0.1", "10.*.*.*")
    assert config.core.unified_prefix == "+46,0046,0"
    pattern = config.core.white_list_sender_regex
    assert isinstance(pattern, re.Pattern) and pattern.search("123")
    assert config.smscs[0].allowed_smsc_id == ("a", "B")
    assert config.smscs[0].throughput == 2.5 and config.smscs[0].alt_dcs is True
    user = config.users[0]
    assert (user.max_messages, user.concatenation, user.faked_sender) == (10, True, "1234")
    assert config.passerelle.queue_max_messages == 5000  # follows sms-outgoing-queue-limit


def test_kannel_value_quirks() -> None:
    config = load(
        CORE + "sms-outgoing-queue-limit = -1\nsms-resend-freq = 0\n",
        SMSC + "esm-class = 7\nthroughput = 0\n",
    )
    assert config.core.sms_outgoing_queue_limit == 1_000_000
    assert config.core.sms_resend_freq == 60
    assert config.smscs[0].esm_class == 3
    assert config.smscs[0].throughput is None
    assert any("esm-class" in w and "switches to 3" in w for w in config.warnings)


def test_locations_tell_set_keys_from_defaults() -> None:
    config = load(CORE, SMSC)
    assert str(config.core.locations["admin-port"]) == "kannel.conf:2"
    assert "log-level" not in config.core.locations
    assert str(config.smscs[0].location) == "kannel.conf:5"


# -- bind_config ---------------------------------------------------------------------------


def test_bind_config_maps_kannel_keys() -> None:
    config = load(
        CORE,
        SMSC + "port = 2776\ntransceiver-mode = true\ninterface-version = 34\n"
        "address-range = \"^46\"\nbind-addr-ton = 1\nbind-addr-npi = 1\n"
        "max-pending-submits = 50\nenquire-link-interval = 15\nconnection-timeout = 120\n"
        "wait-ack = 30\nwait-ack-expire = 0\nreconnect-delay = 5\n",
    )
    bind = config.smscs[0].bind_config()
    assert isinstance(bind, BindConfig)
    assert bind == BindConfig(
        host="10.0.0.1",
        port=2776,
        receive_port=0,
        transceiver_mode=True,
        system_id="user",
        password="pw",
        system_type="VMA",
        interface_version=0x34,
        address_range="^46",
        bind_addr_ton=1,
        bind_addr_npi=1,
        max_pending_submits=50,
        enquire_link_interval=15.0,
        connection_timeout=120.0,
        wait_ack=30.0,
        wait_ack_expire=WaitAckExpire.RECONNECT,
        reconnect_delay=5.0,
        smsc_id="op",
    )


@pytest.mark.parametrize(("decimal", "bcd"), [(34, 0x34), (33, 0x33), (50, 0x50), (3, 0x03)])
def test_interface_version_is_converted_to_bcd(decimal: int, bcd: int) -> None:
    config = load(CORE, SMSC + f"interface-version = {decimal}\n")
    assert config.smscs[0].interface_version == decimal
    assert config.smscs[0].bind_config().interface_version == bcd


def test_empty_system_type_is_sent_empty() -> None:
    config = load(CORE, SMSC.replace("system-type = VMA", 'system-type = ""'))
    assert config.smscs[0].system_type == ""
    assert config.smscs[0].bind_config().bind_system_type == b""


def test_long_bind_strings_are_truncated_as_kannel_does() -> None:
    config = load(CORE, SMSC.replace("smsc-password = pw", "smsc-password = 0123456789"))
    assert config.smscs[0].smsc_password == "0123456789"
    assert config.smscs[0].bind_config().password == "01234567"
    assert any("key 'smsc-password': longer than the 8 octets" in w for w in config.warnings)


def test_reconnect_delay_above_the_backoff_cap_raises_the_cap() -> None:
    bind = load(CORE, SMSC + "reconnect-delay = 600\n").smscs[0].bind_config()
    assert bind.reconnect_delay == 600.0 and bind.reconnect_delay_max == 600.0


def test_connection_names_follow_kannel() -> None:
    smsc = load(CORE, SMSC.replace("smsc-id = op\n", "") + "transceiver-mode = 1\n").smscs[0]
    assert smsc.conn_name == "SMPP:10.0.0.1:2775/2775:user:VMA"
    assert smsc.conn_id == smsc.conn_name and smsc.smsc_id is None
    assert load(CORE, SMSC).smscs[0].conn_name == "SMPP:10.0.0.1:2775/0:user:VMA"


def test_obsolete_system_id_stands_for_smsc_username() -> None:
    config = load(CORE, SMSC.replace("smsc-username = user", "system-id = old"))
    assert config.smscs[0].smsc_username == "old"
    assert any("key 'system-id': obsolete" in w for w in config.warnings)


# -- errors: one test per kind, each naming file:line and key ------------------------------


def test_bad_integer() -> None:
    text = "\n".join([CORE, USER + "max-messages = ten\n"])
    error = error_of(CORE, USER + "max-messages = ten\n")
    line = line_of(text, "max-messages")
    assert str(error) == f"kannel.conf:{line}: key 'max-messages': expected an integer, got 'ten'"
    assert (error.file, error.line, error.key) == ("kannel.conf", line, "max-messages")


def test_out_of_range_value() -> None:
    error = error_of(CORE, SMSC + "priority = 5\n")
    assert str(error) == "kannel.conf:12: key 'priority': must be between 0 and 3, got 5"


def test_bad_regex() -> None:
    error = error_of(CORE + "black-list-sender-regex = \"(unclosed\"\n")
    assert str(error).startswith("kannel.conf:4: key 'black-list-sender-regex': invalid regular")


def test_unknown_key() -> None:
    error = error_of(CORE, USER + "max-mesages = 10\n")
    assert str(error).startswith("kannel.conf:8: key 'max-mesages': unknown key for group "
                                 "sendsms-user")


def test_unknown_key_names_its_group() -> None:
    error = error_of(CORE + "sendsms-port = 13013\n")
    assert str(error) == ("kannel.conf:4: key 'sendsms-port': unknown key for group core: "
                          "Kannel refuses it too (it is a key of group smsbox)")


def test_unknown_group() -> None:
    error = error_of(CORE, "group = smsc-route\nfoo = 1\n")
    assert str(error) == ("kannel.conf:5: unknown group 'smsc-route' (Kannel: \"is no valid "
                          "group identifier\")")


def test_group_without_group_line() -> None:
    error = error_of(CORE, "admin-port = 1\n")
    assert str(error).startswith("kannel.conf:5: this group has no 'group = …' line")


def test_missing_core() -> None:
    error = error_of(SMSBOX)
    assert str(error) == "kannel.conf: no group core: Kannel cannot start without it"


@pytest.mark.parametrize(
    ("groups", "key", "line"),
    [
        (("group = core\nadmin-password = x\n",), "admin-port", 1),
        (("group = core\nadmin-port = 1\n",), "admin-password", 1),
        ((CORE, SMSC.replace("host = 10.0.0.1\n", "")), "host", 5),
        ((CORE, SMSC.replace("system-type = VMA\n", "")), "system-type", 5),
        ((CORE, SMSC.replace("smsc-username = user\n", "")), "smsc-username", 5),
        ((CORE, SMSC.replace("smsc-password = pw\n", "")), "smsc-password", 5),
        ((CORE, "group = smsc\nhost = h\n"), "smsc", 5),
        ((CORE, "group = sendsms-user\nusername = a\n"), "password", 5),
        ((CORE, "group = sendsms-user\npassword = a\n"), "username", 5),
        ((CORE, "group = smsbox-route\nsmsc-id = a\n"), "smsbox-id", 5),
    ],
)
def test_missing_mandatory_key(groups: tuple[str, ...], key: str, line: int) -> None:
    error = error_of(*groups)
    assert (error.line, error.key) == (line, key)
    assert str(error).startswith(f"kannel.conf:{line}: key '{key}': missing; group ")


def test_other_smsc_drivers_are_not_supported() -> None:
    error = error_of(CORE, "group = smsc\nsmsc = emi\nhost = h\nport = 1\n")
    assert str(error) == ("kannel.conf:6: key 'smsc': smsc = emi is not supported: Passerelle "
                          "implements the smpp driver only")
    error = error_of(CORE, "group = smsc\nsmsc = SMPP\n")
    assert "unknown SMSC type 'SMPP'" in str(error) and "case-sensitively" in str(error)


def test_port_and_receive_port_in_one_group() -> None:
    error = error_of(CORE, SMSC + "port = 2775\nreceive-port = 2776\n")
    assert error.key == "receive-port" and error.line == 13
    assert "Usage of both in one group is deprecated!" in str(error)


def test_separate_transmitter_and_receiver_groups_load_as_kannel_recommends() -> None:
    config = load(CORE, SMSC + "port = 2775\n", SMSC + "port = 0\nreceive-port = 2776\n")
    tx, rx = config.smscs
    assert (tx.smsc_id, rx.smsc_id) == ("op", "op")
    assert not tx.receive_only and rx.receive_only
    bind = rx.bind_config()
    assert (bind.port, bind.receive_port) == (0, 2776)


def test_unimplemented_kannel_key_that_changes_behaviour_is_an_error() -> None:
    error = error_of(CORE + "http-proxy-host = proxy\nhttp-proxy-port = 3128\n")
    assert str(error).startswith("kannel.conf:4: key 'http-proxy-host': not supported: "
                                 "outgoing HTTP through a proxy")
    assert [e.key for e in error.errors] == ["http-proxy-host", "http-proxy-port"]


def test_unimplemented_harmless_kannel_key_is_a_warning() -> None:
    config = load(CORE + "store-type = file\nstore-location = /var/kannel.store\n")
    assert config.warnings[0].startswith("kannel.conf:4: key 'store-type': not supported: "
                                         "Kannel's message store is replaced")


def test_other_drivers_keys_in_an_smpp_group_warn() -> None:
    config = load(CORE, SMSC + "keepalive = 30\n")
    assert config.warnings == ("kannel.conf:12: key 'keepalive': not used by smsc = smpp (it "
                               "belongs to other SMSC drivers; Kannel ignores it here too)",)


def test_unsupported_smsc_keys() -> None:
    error = error_of(CORE, SMSC + "our-host = 10.0.0.2\nreroute = true\n")
    assert [e.key for e in error.errors] == ["our-host", "reroute"]
    assert load(CORE, SMSC + "reroute = false\n").warnings == ()


@pytest.mark.parametrize(
    ("group", "key"),
    [
        (CORE + "admin-port-ssl = true\n", "admin-port-ssl"),
        (SMSBOX + "sendsms-port-ssl = yes\n", "sendsms-port-ssl"),
        (SMSC + "use-ssl = 1\n", "use-ssl"),
    ],
)
def test_tls_is_refused(group: str, key: str) -> None:
    groups = [CORE, group] if not group.startswith("group = core") else [group]
    error = error_of(*groups)
    assert error.key == key and "over TLS is not implemented" in str(error)


def test_unsupported_group_is_an_error_and_ignored_group_a_warning() -> None:
    error = error_of(CORE, "group = ppg\nppg-port = 8080\n")
    assert str(error).startswith("kannel.conf:5: group ppg is not supported: the WAP Push")
    config = load(CORE, "group = wapbox\nbearerbox-host = localhost\n")
    assert config.warnings[0].startswith("kannel.conf:5: group wapbox is ignored: WAP")


def test_unknown_key_in_an_ignored_group_is_still_an_error() -> None:
    error = error_of(CORE, "group = wapbox\nbearerbox-hots = localhost\n")
    assert error.key == "bearerbox-hots"


TLV = "group = smpp-tlv\nname = my_tlv\ntag = 0x1400\ntype = OctetString\nlength = 20\n"


def test_smpp_tlv_groups() -> None:
    config = load(CORE, SMSC, TLV, TLV.replace("my_tlv", "n").replace("0x1400", "0x1401")
                  .replace("OctetString", "integer").replace("20", "4") + "smsc-id = \"op;x\"\n")
    first, second = config.smpp_tlvs
    assert (first.name, first.tag, first.type, first.length, first.smsc_id) == (
        "my_tlv", 0x1400, "octetstring", 20, ()
    )
    assert (second.type, second.length, second.smsc_id) == ("integer", 4, ("op", "x"))


@pytest.mark.parametrize(
    ("change", "key", "message"),
    [
        (("length = 20\n", ""), "length", "missing"),
        (("OctetString", "bytes"), "type", "unknown type 'bytes'"),
        (("0x1400", "0x10000"), "tag", "must be between 0 and 65535"),
        (("OctetString", "integer"), "length", "an integer TLV is 1 to 8 octets"),
        (("length = 20\n", "length = 20\nconst = 1\n"), "const", "not supported"),
    ],
)
def test_smpp_tlv_errors(change: tuple[str, str], key: str, message: str) -> None:
    error = error_of(CORE, TLV.replace(*change))
    assert error.key == key and message in str(error)


def test_smpp_tlv_duplicates_per_smsc_id() -> None:
    error = error_of(CORE, TLV, TLV.replace("0x1400", "0x1401"))
    assert error.key == "name" and "a second smpp-tlv named 'my_tlv'" in str(error)
    error = error_of(CORE, TLV, TLV.replace("my_tlv", "other"))
    assert error.key == "tag" and "tag 0x1400" in str(error)
    # Kannel keeps one table per smsc-id: the same name for another smsc-id is fine.
    load(CORE, TLV, TLV + "smsc-id = op\n")


def test_dlr_storage_kinds() -> None:
    error = error_of(CORE + "dlr-storage = mysql\n")
    assert str(error) == ("kannel.conf:4: key 'dlr-storage': dlr-storage = mysql is not "
                          "supported: use internal (the embedded store) or redis")
    assert "unknown DLR storage 'memory'" in str(error_of(CORE + "dlr-storage = memory\n"))


def test_redis_dlr_storage_needs_its_groups() -> None:
    error = error_of(CORE + "dlr-storage = redis\n")
    assert "needs a group dlr-db" in str(error) and error.line == 4
    dlr_db = (DATA / "dlr-redis.conf").read_text()
    other = dlr_db.replace("group = dlr-db\nid = redisdlr", "group = dlr-db\nid = other")
    error = error_of(CORE + "dlr-storage = redis\n", other)
    assert "needs a redis-connection with id 'other'" in str(error)
    error = error_of(CORE + "dlr-storage = redis\n", dlr_db.replace("field-url = url\n", ""))
    assert error.key == "field-url"


def test_redis_dlr_storage_with_kannels_example() -> None:
    config = load(CORE + "dlr-storage = redis\n", (DATA / "dlr-redis.conf").read_text())
    assert config.dlr_db is not None and config.dlr_db.ttl == 604800
    assert config.dlr_dbs == (config.dlr_db,)
    conn = config.redis_connection("redisdlr")
    assert conn is not None and (conn.host, conn.port, conn.database) == ("localhost", 6379, 0)


def test_duplicate_usernames_keep_the_first_with_a_warning_as_kannel() -> None:
    config = load(CORE, SMSBOX, USER, USER.replace("foobar", "other"))
    [user] = config.users
    assert user.password == "foobar"
    [warning] = [w for w in config.warnings if "sendsms-user" in w]
    assert warning.startswith("kannel.conf:14: key 'username': a second sendsms-user 'tester' "
                              "(the first is at kannel.conf:9) is ignored")


def test_smsbox_port_without_smsbox() -> None:
    error = error_of(CORE + "smsbox-port = 13001\n")
    assert error.key == "smsbox-port" and "no group smsbox" in str(error)


def test_port_clash() -> None:
    error = error_of(CORE, SMSBOX.replace("13013", "13000"))
    assert error.key == "sendsms-port" and "port 13000 is already used by core admin-port" in str(
        error
    )


def test_sms_service_rules() -> None:
    assert "did not specify get-url" in str(error_of(CORE, "group = sms-service\nkeyword = a\n"))
    error = error_of(CORE, "group = sms-service\nkeyword = a\nexec = /bin/date\n")
    assert error.key == "exec" and "does not run programs" in str(error)
    error = error_of(CORE, "group = sms-service\nkeyword = a\nkeyword-regex = b\ntext = t\n")
    assert error.key == "keyword-regex"


def test_sms_service_matching_as_kannel_builds_it() -> None:
    config = load(
        CORE,
        "group = sms-service\nkeyword = nop\naliases = \"noppy;niente\"\ntext = t\n",
        "group = sms-service\nkeyword = default\nget-url = http://x/%p\ntext = ignored\n",
    )
    nop, default = config.services
    assert nop.matcher is not None and nop.matcher.search("  NOPPY please")
    assert not nop.matcher.search("snop")
    assert nop.name == "^[ ]*(nop|noppy|niente)[ ]*" and nop.action == "text"
    assert default.is_default and default.matcher is None
    assert (default.action, default.pattern) == ("get-url", "http://x/%p")
    assert default.text is None


def test_errors_are_collected() -> None:
    error = error_of(CORE + "log-level = x\n", SMSC + "priority = 9\n", USER + "bogus = 1\n")
    assert [e.key for e in error.errors] == ["log-level", "priority", "bogus"]
    assert error.render_all().count("\n") == 2


# -- deprecated aliases and warnings -------------------------------------------------------


def test_deprecated_aliases_win_as_in_kannel() -> None:
    config = load(
        CORE + "white-list = http://old\nwhite-list-sender = http://new\n"
        "maximum-queue-length = 10\n"
    )
    assert config.core.white_list_sender == "http://old"
    assert config.core.sms_incoming_queue_limit == 10
    assert str(config.core.locations["white-list-sender"]) == "kannel.conf:4"
    assert sum("deprecated" in w for w in config.warnings) == 2


def test_strange_boolean_loads_as_true_with_a_warning() -> None:
    config = load(CORE, SMSBOX, USER + "concatenation = sure\n")
    assert config.users[0].concatenation is True
    assert "kannel.conf:12: key 'concatenation': 'sure' is not a boolean" in config.warnings[0]


def test_single_group_repeated_keeps_the_last() -> None:
    config = load(CORE, CORE.replace("13000", "14000"))
    assert config.core.admin_port == 14000
    assert "group core appears again at kannel.conf:5" in config.warnings[0]


def test_forced_smsc_naming_no_group_warns() -> None:
    config = load(CORE, SMSC, SMSBOX, USER + "forced-smsc = nowhere\ndefault-smsc = op\n")
    user = config.users[0]
    assert user.forced_smsc == "nowhere" and user.default_smsc is None
    assert any("'nowhere' is no smsc-id" in w for w in config.warnings)
    assert any("key 'default-smsc': redundant" in w for w in config.warnings)


# -- our own groups ------------------------------------------------------------------------


def test_passerelle_group() -> None:
    config = load(
        CORE,
        SMSC,
        "group = passerelle\nspool-dir = /srv/spool\nspool-max-bytes = 2G\n"
        "max-request-body = 128K\nqueue-max-messages = 500\nlane-weights = \"3:20;0:1\"\n"
        "default-lane = 1\nlog-max-files = 3\nsimulator-port = 2775\n",
    )
    p = config.passerelle
    assert p.spool_dir == "/srv/spool" and p.spool_max_bytes == 2 << 30
    assert p.max_request_body == 131072 and p.queue_max_messages == 500
    assert p.lane_weights == (1, 2, 4, 20) and p.default_lane == 1 and p.log_max_files == 3
    assert p.simulator_port == 2775
    assert any("no smsc group connects to it" in w for w in config.warnings)


def test_passerelle_callback_and_dlr_keys() -> None:
    config = load(
        CORE,
        "group = passerelle\ndlr-file = /srv/dlr.sqlite\ncallback-guard = false\n"
        "callback-allow-networks = \"10.1.0.0/16; fd00::/8 ,192.168.7.0/24\"\n"
        "callback-allow-loopback = false\ncallback-max-bytes = 16M\n",
    )
    p = config.passerelle
    assert p.dlr_file == "/srv/dlr.sqlite" and p.callback_guard is False
    assert p.callback_allow_networks == ("10.1.0.0/16", "fd00::/8", "192.168.7.0/24")
    assert p.callback_allow_loopback is False and p.callback_max_bytes == 16 << 20
    defaults = load(CORE).passerelle
    assert (defaults.callback_guard, defaults.callback_allow_networks) == (True, ())
    error = error_of(CORE, "group = passerelle\ncallback-allow-networks = 10.0.0.0/8;nope\n")
    assert error.key == "callback-allow-networks" and "'nope' is not a network" in str(error)
    error = error_of(CORE, "group = passerelle\ncallback-max-bytes = 0\n")
    assert error.key == "callback-max-bytes"


def test_passerelle_user_lanes() -> None:
    config = load(
        CORE,
        SMSBOX,
        USER,
        USER.replace("tester", "bulk"),
        "group = passerelle\ndefault-lane = 1\n",
        "group = passerelle-user\nusername = tester\ndefault-lane = 3\n",
        "group = passerelle-user\nusername = bulk\nforced-lane = 0\nmax-lane = 1\n",
    )
    tester, bulk = config.users
    assert (tester.default_lane, tester.max_lane, tester.forced_lane) == (3, 3, None)
    assert (bulk.default_lane, bulk.max_lane, bulk.forced_lane) == (1, 1, 0)


def test_passerelle_user_errors() -> None:
    error = error_of(CORE, USER, "group = passerelle-user\nusername = ghost\n")
    assert error.key == "username" and "no sendsms-user has username 'ghost'" in str(error)
    error = error_of(CORE, USER, "group = passerelle-user\nusername = tester\ndefault-lane = 4\n")
    assert error.key == "default-lane"
    error = error_of(CORE, "group = passerelle\nlane-weights = \"5:1\"\n")
    assert error.key == "lane-weights" and "lanes are 0 to 3" in str(error)
    error = error_of(CORE, "group = passerelle\nredis = nope\n")
    assert error.key == "redis" and "no redis-connection has id 'nope'" in str(error)


# -- real configuration files --------------------------------------------------------------


def test_default_conf_loads() -> None:
    config = load_config(default_config_path())
    assert config.warnings == ()
    assert config.core.admin_port == 13000 and config.core.admin_interface == "127.0.0.1"
    [smsc] = config.smscs
    assert (smsc.smsc_id, smsc.host, smsc.port, smsc.transceiver_mode) == (
        "sim", "127.0.0.1", 2775, True
    )
    assert config.smsbox is not None and config.smsbox.sendsms_port == 13013
    [user] = config.users
    assert (user.username, user.password, user.max_messages, user.concatenation) == (
        "tester", "foobar", 10, True
    )
    assert config.passerelle.simulator_port == 2775
    smsc.bind_config()


def test_kannels_example_with_its_smpp_section_loads() -> None:
    config = load_config(DATA / "kannel_example.conf")
    assert config.core.admin_password == "bar"
    [smsc] = config.smscs
    assert (smsc.smsc_username, smsc.system_type, smsc.address_range) == ("kannel", "VMA", "")
    assert [u.username for u in config.users] == ["tester", "kannel"]
    assert config.users[1].user_deny_ip == ("*.*.*.*",)
    [service] = config.services
    assert service.is_default and service.text == "No service specified"
    assert config.warnings == ()


def test_debians_installed_wap_config_loads_with_warnings() -> None:
    config = load_config(DATA / "debian_wap.conf")
    assert config.core.box_allow_ip == ("127.0.0.1",)
    assert any("group wapbox is ignored" in w for w in config.warnings)
    assert any("key 'wapbox-port'" in w for w in config.warnings)


@pytest.mark.parametrize(
    "path", ["/usr/share/doc/kannel/examples/kannel.conf", "/etc/kannel/kannel.conf"]
)
def test_installed_kannel_configs_load(path: str) -> None:
    if not Path(path).exists():
        # .ci/run installs Debian's kannel: on CI its absence is a broken machine.
        if os.environ.get("CI"):
            pytest.fail(f"{path} is missing: Debian's kannel package is not installed")
        pytest.skip("Debian's kannel package is not installed")
    load_config(path)
