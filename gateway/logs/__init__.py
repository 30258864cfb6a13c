"""Passerelle's logs: one size-capped rotation mechanism for every log file, Kannel's line
format, and the redaction every writer passes its text through.

Kannel leaves rotation to logrotate and SIGHUP; a gateway that fills its disk with logs stops
accepting messages, so ours bounds itself (size × count, `group = passerelle` `log-max-bytes`
and `log-max-files`) and still reopens on SIGHUP for the operators who keep logrotate.
"""

from gateway.logs.files import log_observers
from gateway.logs.observer import KANNEL_LEVELS, KannelLogObserver, kannel_level
from gateway.logs.redact import redact, redact_bytes
from gateway.logs.rotate import RotatingFile

__all__ = [
    "KANNEL_LEVELS",
    "KannelLogObserver",
    "RotatingFile",
    "kannel_level",
    "log_observers",
    "redact",
    "redact_bytes",
]
