"""The one message record: what the accept path builds and the dispatch path sends.

A sendsms request becomes one `Message` per receiver and per segment: splitting happens
once, at accept, so throttling counts what really goes to a carrier and a receipt for any
segment maps back to its request through `parent_id`. The record is plain data (built once,
serialised once into the queue or spool, read back), with Kannel's field meanings and its
"unset" convention of -1 for the DCS knobs, so the escape codes of a dlr-url come straight
from it.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Final

#: Kannel's value for an unset mclass / mwi / compress / validity / deferred.
UNSET: Final = -1

CODING_7BIT: Final = 0
CODING_8BIT: Final = 1
CODING_UCS2: Final = 2


def new_id() -> str:
    """A 36-character UUID string, the form Kannel uses for message ids (store-status,
    remove-message). Ids are strings everywhere: never numbers."""
    return str(uuid.uuid4())


@dataclass(slots=True)
class Message:
    """One SMS segment to one receiver, ready to become a submit_sm.

    `payload` is this segment's user data without its UDH: GSM 03.38 septets, one octet
    each (unpacked, as Kannel sends them), for coding 0; UTF-16BE for coding 2; raw octets
    for coding 1. `udh` is the whole UDH of this segment (client UDH and/or the concatenation
    IE), empty when there is none.
    """

    id: str
    parent_id: str
    sender: str
    receiver: str
    payload: bytes
    coding: int = CODING_7BIT
    udh: bytes = b""
    part: int = 1
    parts: int = 1
    username: str = ""  # the sendsms-user's name (dlr-url %n)
    account: str = ""
    smsc_id: str = ""  # requested routing id: request `smsc`, forced-smsc or default-smsc
    mclass: int = UNSET
    mwi: int = UNSET
    compress: int = UNSET
    alt_dcs: int = 0
    pid: int = 0
    rpi: int = UNSET
    priority: int = 0
    validity: int = UNSET  # minutes from now, as the request gave it
    deferred: int = UNSET  # minutes from now
    dlr_mask: int = 0
    dlr_url: str = ""
    binfo: str = ""
    charset: str = ""  # the request's charset, for dlr-url %C
    meta_data: str = ""  # Kannel's `?group?key=value&...` text
    created: float = 0.0  # unix time of the request
    attempts: int = 0  # submits tried so far (temporary failures retry)
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def is_first_part(self) -> bool:
        """Kannel asks for delivery receipts on the first segment only."""
        return self.part == 1
