"""The log files a configuration asks for, each behind the one rotation mechanism.

Kannel has a `log-file` and `log-level` in `core` (bearerbox) and in `smsbox`; Passerelle runs
both boxes in one process, so both observers watch the same events. When the two keys name
the same file, one observer writes it (at the lower, more talkative level) so no line is
written twice.
"""

from __future__ import annotations

from gateway.config import GatewayConfig
from gateway.logs.observer import KannelLogObserver
from gateway.logs.rotate import RotatingFile


def log_observers(config: GatewayConfig) -> list[KannelLogObserver]:
    """One observer per distinct `log-file` of `core` and `smsbox`, each over a
    `RotatingFile` capped by `group = passerelle` (`log-max-bytes`, `log-max-files`).

    Add them to the global log beginner/publisher; call `reopen()` on each `.out` for
    SIGHUP; `set_level` them for the admin `log-level` command.
    """
    wanted: dict[str, int] = {}
    for group in (config.core, config.smsbox):
        if group is not None and group.log_file:
            level = group.log_level
            wanted[group.log_file] = min(level, wanted.get(group.log_file, level))
    passerelle = config.passerelle
    return [
        KannelLogObserver(
            RotatingFile(
                path,
                max_bytes=passerelle.log_max_bytes,
                max_files=passerelle.log_max_files,
            ),
            level,
        )
        for path, level in wanted.items()
    ]
