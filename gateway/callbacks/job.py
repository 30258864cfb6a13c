"""One outgoing HTTP request of the outbox, and its record on disk.

A job is written to the spool once when it is queued and once more for every retry (with its
attempt count and the time it may go again), so a restart neither loses a callback nor forgets
how often it was tried. The record format is versioned: a gateway that finds a version it does
not know leaves the record alone instead of guessing.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from typing import Final

#: Record format version written by this code.
FORMAT_VERSION: Final = 1

# version u8, attempts u32, not_before f64, then lengths: kind u8, method u8, url u32,
# headers u16 (count), context u32, body u32 — little-endian.
_HEAD: Final = struct.Struct("<BIdBBIHII")
_HEADER: Final = struct.Struct("<HI")

#: Largest encoded job accepted (a POST body of an MO service included).
MAX_JOB_BYTES: Final = 1 << 20


@dataclass(slots=True)
class HttpJob:
    """One HTTP request to make until it gets a final answer.

    `kind` picks the hook that receives the answer ("dlr" or "mo"); `context` is opaque to the
    outbox and handed back to that hook (an MO service keeps what it needs for the reply
    there); `attempts` counts the requests already made for this job."""

    method: str
    url: str
    headers: list[tuple[str, str]]
    body: bytes
    kind: str
    context: bytes
    attempts: int = 0


@dataclass(slots=True)
class HttpResult:
    """The final answer for a job, as its hook sees it.

    `code` is the HTTP status, or -1 when no HTTP answer came (refused by the guard, connection
    failure, timeout: Kannel's -1). `headers` has lower-case names (without the connection
    headers Twisted keeps to itself: Content-Length, Connection, Transfer-Encoding…). `body`
    holds at most the outbox's body cap; `truncated` says more was sent and dropped. `error`
    says what went wrong when the job failed (empty on success)."""

    code: int
    headers: dict[str, list[str]] = field(default_factory=dict)
    body: bytes = b""
    truncated: bool = False
    error: str = ""

    @property
    def ok(self) -> bool:
        """Success as Kannel's smsbox counts it: 200 or 202, nothing else."""
        return self.code in (200, 202)


class JobFormatError(ValueError):
    """A record that is not a job this code can read."""


def _utf8(text: str) -> bytes:
    return text.encode("utf-8", "surrogateescape")


def encode_job(job: HttpJob, not_before: float = 0.0) -> bytes:
    """The record for `job`; `not_before` is the clock time before which it must not go."""
    kind = _utf8(job.kind)
    method = _utf8(job.method)
    url = _utf8(job.url)
    if len(kind) > 255 or len(method) > 255:
        raise ValueError("job kind or method longer than 255 bytes")
    if len(job.headers) > 0xFFFF:
        raise ValueError("too many headers")
    parts = [
        _HEAD.pack(
            FORMAT_VERSION,
            min(job.attempts, 0xFFFFFFFF),
            not_before,
            len(kind),
            len(method),
            len(url),
            len(job.headers),
            len(job.context),
            len(job.body),
        ),
        kind,
        method,
        url,
    ]
    for name, value in job.headers:
        n, v = _utf8(name), _utf8(value)
        if len(n) > 0xFFFF:
            raise ValueError("header name too long")
        parts += (_HEADER.pack(len(n), len(v)), n, v)
    parts += (job.context, job.body)
    data = b"".join(parts)
    if len(data) > MAX_JOB_BYTES:
        raise ValueError(f"job of {len(data)} bytes is over {MAX_JOB_BYTES}")
    return data


def decode_job(data: bytes) -> tuple[HttpJob, float]:
    """The job and its not-before time; JobFormatError when `data` is not one."""
    try:
        version = data[0]
        if version != FORMAT_VERSION:
            raise JobFormatError(f"job record version {version} is not {FORMAT_VERSION}")
        (_, attempts, not_before, lk, lm, lu, nh, lc, lb) = _HEAD.unpack_from(data)
        pos = _HEAD.size

        def text(n: int) -> str:
            nonlocal pos
            chunk = data[pos : pos + n]
            if len(chunk) != n:
                raise JobFormatError("job record is cut short")
            pos += n
            return chunk.decode("utf-8", "surrogateescape")

        kind, method, url = text(lk), text(lm), text(lu)
        headers = []
        for _ in range(nh):
            ln, lv = _HEADER.unpack_from(data, pos)
            pos += _HEADER.size
            headers.append((text(ln), text(lv)))
        context = data[pos : pos + lc]
        body = data[pos + lc : pos + lc + lb]
        if len(context) != lc or len(body) != lb or pos + lc + lb != len(data):
            raise JobFormatError("job record length does not match")
    except (IndexError, struct.error) as e:
        raise JobFormatError(f"job record is damaged: {e}") from e
    return HttpJob(method, url, headers, body, kind, context, attempts), not_before


__all__ = [
    "FORMAT_VERSION",
    "MAX_JOB_BYTES",
    "HttpJob",
    "HttpResult",
    "JobFormatError",
    "decode_job",
    "encode_job",
]
