"""Identifiers and timestamps: unique across chunks without shared state, fast in bulk.

Every identifier (customer ids, phone numbers, cookie ids, session ids, IP
addresses) is a keyed bijection of a global serial number (person index
times a few slots, plus a chunk prefix for per-chunk counters). A bijection
cannot collide, so chunks generated independently never hand out the same
id or phone number to two people, and the ids still look random (no
person-order leaks into them). Numbers in a decimal range (eight-digit
customer ids, seven-digit subscriber numbers) use cycle walking: apply the
bit mixer until the value falls in range, which is still a bijection.

Timestamps are seconds since the Unix epoch (int64) and are written as ISO
8601 strings with a zone: UTC ``Z`` or the local offset of a time zone
(daylight saving included).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import cache
from zoneinfo import ZoneInfo

import numpy as np

__all__ = [
    "WINDOW_DAYS",
    "hex16",
    "iso_local",
    "iso_utc",
    "mix64",
    "permute",
    "permute_int",
    "uuid_strings",
    "window_start",
]

WINDOW_DAYS = 180

_M32 = (0x9E3779B1, 0x85EBCA77, 0xC2B2AE3D, 0x27D4EB2F)


def _mix_int(x: int, bits: int, salt: int) -> int:
    """Four rounds of multiply / xor-shift / add on ``bits`` bits: a keyed bijection."""
    mask = (1 << bits) - 1
    half = max(1, bits // 2)
    for round_, mult in enumerate(_M32):
        x = (x * (mult | 1)) & mask
        x ^= x >> half
        x = (x + (salt * 0x632BE5AB + round_ * 0x1F123BB5)) & mask
    return x


def _mix_array(x: np.ndarray, bits: int, salt: int) -> np.ndarray:
    """``_mix_int`` on a ``uint64`` array (same values)."""
    mask = np.uint64((1 << bits) - 1)
    half = np.uint64(max(1, bits // 2))
    y = x.astype(np.uint64)
    for round_, mult in enumerate(_M32):
        y = (y * np.uint64(mult | 1)) & mask
        y ^= y >> half
        y = (y + np.uint64((salt * 0x632BE5AB + round_ * 0x1F123BB5) & ((1 << 64) - 1))) & mask
    return y


def permute_int(x: int, modulus: int, salt: int) -> int:
    """A keyed bijection of ``range(modulus)`` (``modulus <= 2**32``), for one value.

    Examples:
        >>> sorted(permute_int(i, 10, salt=3) for i in range(10)) == list(range(10))
        True
    """
    if not 0 <= x < modulus <= 1 << 32:
        raise ValueError(f"{x} is outside range({modulus}) or the modulus exceeds 2**32")
    bits = max(2, (modulus - 1).bit_length())
    y = _mix_int(x, bits, salt)
    while y >= modulus:
        y = _mix_int(y, bits, salt)
    return y


def permute(x: np.ndarray, modulus: int, salt: int) -> np.ndarray:
    """``permute_int`` on an array (same values), as ``uint64``.

    Examples:
        >>> xs = np.arange(1000)
        >>> ys = permute(xs, 1000, salt=7)
        >>> len(set(ys.tolist())), int(ys[5]) == permute_int(5, 1000, salt=7)
        (1000, True)
    """
    if len(x) and (int(x.min()) < 0 or int(x.max()) >= modulus or modulus > 1 << 32):
        raise ValueError(f"values outside range({modulus}) or the modulus exceeds 2**32")
    bits = max(2, (modulus - 1).bit_length())
    y = _mix_array(x, bits, salt)
    over = y >= np.uint64(modulus)
    while over.any():
        y[over] = _mix_array(y[over], bits, salt)
        over = y >= np.uint64(modulus)
    return y


def mix64(x: np.ndarray, salt: int) -> np.ndarray:
    """A keyed bijection of 64-bit integers (the SplitMix64 finaliser)."""
    z = x.astype(np.uint64) ^ np.uint64(salt & ((1 << 64) - 1))
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return np.asarray(z ^ (z >> np.uint64(31)), dtype=np.uint64)


def hex16(values: np.ndarray) -> list[str]:
    """Each 64-bit value as 16 lower-case hex digits."""
    text = values.astype(">u8").tobytes().hex()
    return [text[i : i + 16] for i in range(0, len(text), 16)]


def uuid_strings(
    unique32: np.ndarray, rng: np.random.Generator, *, upper: bool = False
) -> list[str]:
    """Version-4-looking UUIDs whose first 8 hex digits are ``unique32`` (so they never collide)."""
    n = len(unique32)
    head = unique32.astype(">u4").tobytes().hex()
    tail = rng.bytes(12 * n).hex()
    out = []
    for i in range(n):
        h = head[8 * i : 8 * i + 8]
        t = tail[24 * i : 24 * i + 24]
        out.append(f"{h}-{t[0:4]}-4{t[5:8]}-{'89ab'[int(t[8], 16) & 3]}{t[9:12]}-{t[12:24]}")
    if upper:
        return [u.upper() for u in out]
    return out


def window_start(now: datetime) -> int:
    """Unix seconds of the start of the 180-day window that ends at ``now``."""
    return int((now - timedelta(days=WINDOW_DAYS)).timestamp())


@cache
def _clock() -> np.ndarray:
    """``HH:MM:SS`` for every second of a day (formatting from a table is ~3x faster)."""
    return np.array(
        [f"{h:02d}:{m:02d}:{sec:02d}" for h in range(24) for m in range(60) for sec in range(60)],
        dtype=object,
    )


@cache
def _millis() -> tuple[np.ndarray, np.ndarray]:
    """``.mmmZ`` suffixes for every millisecond, and the plain ``Z``."""
    return (
        np.array([f".{ms:03d}Z" for ms in range(1000)], dtype=object),
        np.array(["Z"], dtype=object),
    )


def iso_utc(seconds: np.ndarray, *, millis: np.ndarray | None = None) -> np.ndarray:
    """``2026-08-13T16:22:05Z`` (or ``...05.123Z`` with milliseconds) for each time.

    Examples:
        >>> iso_utc(np.array([1_780_000_000]), millis=np.array([7])).tolist()
        ['2026-05-28T20:26:40.007Z']
    """
    seconds = np.asarray(seconds, dtype=np.int64)
    if len(seconds) == 0:
        return np.array([], dtype=object)
    days = seconds // 86_400
    first = int(days.min())
    span = np.arange(first, int(days.max()) + 1, dtype=np.int64)
    day_text = np.array(
        [f"{d}T" for d in np.datetime_as_string((span * 86_400).astype("datetime64[s]"), unit="D")],
        dtype=object,
    )
    text = day_text[days - first] + _clock()[seconds - days * 86_400]
    with_ms, plain = _millis()
    return np.asarray(text + (plain[0] if millis is None else with_ms[millis]), dtype=object)


@cache
def _offsets(zone: str, start: int) -> np.ndarray:
    """UTC offset in seconds of ``zone`` for every hour of the window (plus margin)."""
    tz = ZoneInfo(zone)
    hours = (WINDOW_DAYS + 3) * 24
    out = np.empty(hours, dtype=np.int64)
    for h in range(hours):
        moment = datetime.fromtimestamp(start - 86_400 + h * 3600, tz=UTC).astimezone(tz)
        offset = moment.utcoffset()
        out[h] = int(offset.total_seconds()) if offset is not None else 0
    return out


def local_offsets(seconds: np.ndarray, zone: str, start: int) -> np.ndarray:
    """The UTC offset (seconds) of ``zone`` at each time."""
    table = _offsets(zone, start)
    hour = np.clip((seconds - (start - 86_400)) // 3600, 0, len(table) - 1)
    return np.asarray(table[hour], dtype=np.int64)


def iso_local(seconds: np.ndarray, zone: str, start: int, *, sep: str = "T") -> list[str]:
    """``2026-08-13T19:22:05+03:00``: local wall-clock time with its offset.

    Examples:
        >>> start = window_start(datetime(2026, 11, 1, tzinfo=UTC))
        >>> iso_local(np.array([start + 86_400 * 60]), "Asia/Jerusalem", start)
        ['2026-07-04T03:00:00+03:00']
    """
    offsets = local_offsets(seconds, zone, start)
    local = np.datetime_as_string((seconds + offsets).astype("datetime64[s]"), unit="s")
    out = []
    for text, off in zip(local.tolist(), offsets.tolist(), strict=True):
        sign = "+" if off >= 0 else "-"
        hh, mm = divmod(abs(off) // 60, 60)
        out.append(f"{text.replace('T', sep)}{sign}{hh:02d}:{mm:02d}")
    return out
