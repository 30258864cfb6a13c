"""Reloading kannel.conf in a running gateway, the buildbot way: all of it or nothing.

SIGHUP (and the admin's graceful-restart) read the file again. The whole new configuration is
validated first (`load_config`: every problem of the file, not the first); then what cannot
change in a running process is compared (listening ports and interfaces, the spool, the DLR
storage, log files — they hold sockets and files the process opened at start); then the
number lists the new file names are fetched. Only when all of that passed is anything
applied, so a bad file or an unreachable list changes nothing and the log says why.

What is applied:

* **sendsms users** (and everything the accept path reads: users, core and smsbox lists and
  rules): a new `Acceptor` replaces the old one; requests in progress finish with the old;
* **routes** (each smsc group's allowed/denied/preferred ids and prefixes, unified-prefix): a
  new `Router` for the dispatcher, the acceptor and the MO receiver;
* **smsc groups** added, removed or changed: a group whose settings are unchanged keeps its
  `SmscLink` and its bind (an edit elsewhere in the file never drops a bind); a changed group
  is stopped and a new link started; a removed group is stopped (its messages go back to the
  queue, for the other routes or to wait); a new one starts unless `dead-start`;
* **sms-service groups and the MO lists**, passwords of the admin port.

`refusals` names what would need a restart; the reload is refused when the list is not empty.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from twisted.internet.defer import Deferred, succeed
from twisted.internet.threads import deferToThread
from twisted.logger import Logger
from twisted.python.failure import Failure

from gateway.config import GatewayConfig
from gateway.config.model import SmscConfig

if TYPE_CHECKING:
    from gateway.service import GatewayService
    from gateway.smsc import SmscLink

log = Logger(namespace="passerelle.reload")

_Getter = Callable[[GatewayConfig], Any]


def _smsbox(name: str) -> _Getter:
    return lambda config: getattr(config.smsbox, name, None) if config.smsbox else None


#: What a running process cannot change: (kannel.conf key, how to read it).
FIXED: tuple[tuple[str, _Getter], ...] = (
    ("core admin-port", lambda config: config.core.admin_port),
    ("core admin-interface", lambda config: config.core.admin_interface),
    ("core admin-port-ssl", lambda config: config.core.admin_port_ssl),
    ("core dlr-storage", lambda config: config.core.dlr_storage),
    ("core log-file", lambda config: config.core.log_file),
    ("core access-log", lambda config: config.core.access_log),
    ("core sms-outgoing-queue-limit", lambda config: config.core.sms_outgoing_queue_limit),
    ("smsbox sendsms-port", _smsbox("sendsms_port")),
    ("smsbox sendsms-interface", _smsbox("sendsms_interface")),
    ("smsbox sendsms-url", _smsbox("sendsms_url")),
    ("smsbox log-file", _smsbox("log_file")),
    ("smsbox access-log", _smsbox("access_log")),
    ("passerelle spool-dir", lambda config: config.passerelle.spool_dir),
    ("passerelle spool-max-bytes", lambda config: config.passerelle.spool_max_bytes),
    ("passerelle spool-max-messages", lambda config: config.passerelle.spool_max_messages),
    ("passerelle queue-max-messages", lambda config: config.passerelle.queue_max_messages),
    ("passerelle simulator-port", lambda config: config.passerelle.simulator_port),
    ("passerelle dlr-file", lambda config: config.passerelle.dlr_file),
    ("passerelle lane-weights", lambda config: config.passerelle.lane_weights),
    ("passerelle log-max-bytes", lambda config: config.passerelle.log_max_bytes),
    ("passerelle log-max-files", lambda config: config.passerelle.log_max_files),
    ("passerelle redis", lambda config: config.passerelle.redis),
    # The DLR store and the callback outbox are built once, at start.
    ("passerelle dlr-ttl", lambda config: config.passerelle.dlr_ttl),
    ("passerelle dlr-max-entries", lambda config: config.passerelle.dlr_max_entries),
    ("passerelle callback-guard", lambda config: config.passerelle.callback_guard),
    ("passerelle callback-allow-networks",
     lambda config: config.passerelle.callback_allow_networks),
    ("passerelle callback-allow-loopback",
     lambda config: config.passerelle.callback_allow_loopback),
    ("passerelle callback-max-bytes", lambda config: config.passerelle.callback_max_bytes),
    ("smsbox http-request-retry", _smsbox("http_request_retry")),
    ("smsbox http-queue-delay", _smsbox("http_queue_delay")),
    ("smsbox max-pending-requests", _smsbox("max_pending_requests")),
    ("smsbox http-timeout", _smsbox("http_timeout")),
    ("dlr-db", lambda config: _plain(config.dlr_db)),
    ("redis-connection", lambda config: tuple(
        _plain(conn) for conn in getattr(config, "redis_connections", ())
    )),
    ("spool-dir in use", lambda config: "spool-dir" in config.passerelle.locations),
)


def _plain(value: Any) -> Any:
    """A config record without where it was written: moving a group in the file, or a
    comment above it, is no change."""
    if value is None or not dataclasses.is_dataclass(value):
        return value
    changes = {}
    names = {f.name for f in dataclasses.fields(value)}
    if "location" in names:
        changes["location"] = None
    if "locations" in names:
        changes["locations"] = {}
    return dataclasses.replace(value, **changes)  # type: ignore[type-var]


def same_smsc(old: SmscConfig, new: SmscConfig) -> bool:
    """Two smsc groups that would make the same link (only their place in the file moved)."""
    return bool(_plain(old) == _plain(new))


def refusals(old: GatewayConfig, new: GatewayConfig) -> list[str]:
    """Why `new` cannot be applied without a restart (empty: it can)."""
    problems = []
    for key, read in FIXED:
        before, after = read(old), read(new)
        if before != after:
            problems.append(f"{key} changed ({before!r} -> {after!r}): needs a restart")
    if (old.smsbox is None) != (new.smsbox is None):
        problems.append("group smsbox added or removed: needs a restart")
    return problems


def entries(config: GatewayConfig) -> list[SmscConfig]:
    """One entry per connection (`instances = N` makes N), in file order: the router's keys."""
    return [smsc for smsc in config.smscs for _ in range(max(1, smsc.instances))]


class LinkPlan:
    """Which links a new list of smsc groups keeps, starts and stops."""

    def __init__(
        self, old: list[tuple[SmscLink, SmscConfig]], new: list[SmscConfig]
    ) -> None:
        spare = list(old)
        #: Per new entry: the link kept for it, or None (a new link is needed).
        self.kept: list[SmscLink | None] = []
        for smsc in new:
            match = next((pair for pair in spare if same_smsc(pair[1], smsc)), None)
            if match is not None:
                spare.remove(match)
                self.kept.append(match[0])
            else:
                self.kept.append(None)
        #: Links no entry keeps: to stop.
        self.dropped: list[SmscLink] = [link for link, _ in spare]


def apply_smscs(service: GatewayService, new_entries: list[SmscConfig]) -> tuple[int, int, int]:
    """Make the service's links match `new_entries`: unchanged groups keep their link and
    bind; the others are stopped or started. Returns (kept, started, stopped)."""
    plan = LinkPlan(list(zip(service.links, service.link_configs, strict=True)), new_entries)
    links: list[SmscLink] = []
    started: list[SmscLink] = []
    for key, (smsc, kept) in enumerate(zip(new_entries, plan.kept, strict=True)):
        if kept is not None:
            kept.key = key
            links.append(kept)
            continue
        link = service.make_link(key, smsc)
        links.append(link)
        if not smsc.dead_start:
            started.append(link)
    for link in plan.dropped:
        log.info("SMSC {id}: removed by the new configuration, stopping", id=link.smsc_id)
        service.stopped_links.discard(link)
        link.stop()
    service.set_links(links, new_entries)
    if service.running:
        for link in started:
            log.info("SMSC {id}: added by the new configuration, starting", id=link.smsc_id)
            link.start()
    kept_count = sum(1 for link in plan.kept if link is not None)
    return kept_count, len(links) - kept_count, len(plan.dropped)


def reconfigure(service: GatewayService, new: GatewayConfig) -> Deferred[bool]:
    """Apply `new` (already validated) to the running `service`, or change nothing.

    Fires True when applied, False when refused (the reasons are logged)."""
    problems = refusals(service.config, new)
    if problems:
        for problem in problems:
            log.error("configuration reload refused, nothing changed: {problem}",
                      problem=problem)
        return succeed(False)
    d = deferToThread(load_lists, new)

    def loaded(lists: tuple[dict[str, Any], dict[str, Any]]) -> bool:
        apply(service, new, *lists)
        return True

    def failed(failure: Failure) -> bool:
        log.error(
            "configuration reload refused, nothing changed: a number list could not be "
            "loaded: {error}", error=failure.getErrorMessage(),
        )
        return False

    return d.addCallbacks(loaded, failed)


def load_lists(config: GatewayConfig) -> tuple[dict[str, Any], dict[str, Any]]:
    """The sendsms and MO number lists `config` names (fetched: runs in a thread)."""
    from gateway.mo.services import load_service_lists
    from gateway.sendsms.validate import load_number_lists

    sendsms = load_number_lists(config) if config.smsbox is not None else {}
    return sendsms, dict(load_service_lists(config))


def apply(
    service: GatewayService,
    new: GatewayConfig,
    sendsms_lists: dict[str, Any],
    mo_lists: dict[str, Any],
) -> None:
    """Everything `reconfigure` changes, in one reactor turn (nothing sees half of it)."""
    service.config = new
    kept, started, stopped = apply_smscs(service, entries(new))
    service.replace_acceptor(new, sendsms_lists)
    service.replace_mo_lists(new, mo_lists)
    if service.admin_resource is not None:
        service.admin_resource.core = new.core
    log.info(
        "configuration reloaded from {source}: {users} sendsms users, {kept} smsc links kept, "
        "{started} started, {stopped} stopped",
        source=new.source, users=len(new.users), kept=kept, started=started, stopped=stopped,
    )
