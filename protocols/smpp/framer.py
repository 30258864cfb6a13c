"""Cut a TCP byte stream into SMPP PDUs, with hard bounds.

The framer trusts nothing in the header: a command_length under 16 or over the
configured maximum means the stream has lost its boundaries, so it reports a fatal
error and stops; it never buffers more than one maximal PDU plus the read that
brought it. Every other fault is reported per PDU and framing carries on.
"""

from __future__ import annotations

from protocols.smpp import constants as c
from protocols.smpp.pdu import HEADER, HEADER_SIZE, LAYOUTS, Pdu, SmppError, decode_body

#: Kannel caps PDUs at 7424 octets; we default to a roomier 64 KiB for message_payload.
DEFAULT_MAX_LENGTH = 64 * 1024


class Framer:
    """Bytes in, a list of `Pdu` or `SmppError` out, in stream order.

    Once a fatal error has been returned the framer is `broken` and ignores further
    input: the caller sends the generic_nack it implies and closes the connection.
    """

    __slots__ = ("max_length", "broken", "_pending", "_need")

    def __init__(self, max_length: int = DEFAULT_MAX_LENGTH) -> None:
        if max_length < HEADER_SIZE:
            raise ValueError(f"max_length must be at least {HEADER_SIZE}")
        self.max_length = max_length
        self.broken = False
        # A partial PDU is gathered in a bytearray (amortised O(1) appends) and only parsed
        # once `_need` octets are there, so a peer dripping one octet per read costs linear,
        # not quadratic, time.
        self._pending = bytearray()
        self._need = 0

    @property
    def buffered(self) -> int:
        """Octets held back waiting for the rest of a PDU."""
        return len(self._pending)

    def feed(self, data: bytes) -> list[Pdu | SmppError]:
        if self.broken:
            return []
        if self._pending:
            self._pending += data
            if len(self._pending) < self._need:
                return []
            buf = bytes(self._pending)
            self._pending = bytearray()
        else:
            buf = bytes(data)
        out: list[Pdu | SmppError] = []
        pos = 0
        size = len(buf)
        max_length = self.max_length
        while size - pos >= 4:
            length = int.from_bytes(buf[pos : pos + 4], "big")
            if length < HEADER_SIZE or length > max_length:
                seq = 0
                cid = None
                if size - pos >= HEADER_SIZE:
                    _len, cid, _st, seq = HEADER.unpack_from(buf, pos)
                out.append(
                    SmppError(
                        c.ESME_RINVCMDLEN,
                        f"command_length {length} outside {HEADER_SIZE}..{max_length}",
                        cid,
                        seq,
                        fatal=True,
                    )
                )
                self.broken = True
                self._pending = bytearray()
                return out
            if size - pos < length:
                self._need = length
                break
            _len, command_id, status, seq = HEADER.unpack_from(buf, pos)
            if command_id in LAYOUTS:
                try:
                    out.append(
                        decode_body(command_id, status, seq, buf[pos + HEADER_SIZE : pos + length])
                    )
                except SmppError as err:
                    out.append(err)
            else:
                out.append(
                    SmppError(
                        c.ESME_RINVCMDID,
                        f"unknown command_id 0x{command_id:08x}; skipped {length} octets",
                        command_id,
                        seq,
                    )
                )
            pos += length
        if pos < size:
            self._pending = bytearray(buf[pos:])
            if size - pos < 4:
                self._need = 4
        return out
