"""A strict big-endian bit reader over the IAB's base64url strings (TCF and GPP).

Reading past the end raises the caller's error type: a short string is an
error, never a run of implied zeros.
"""

from __future__ import annotations

from consent.errors import ConsentError

__all__ = ["BitReader"]

_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
_VALUES = {ch: i for i, ch in enumerate(_ALPHABET)}


class BitReader:
    """Bits of one base64url segment, read left to right."""

    def __init__(self, segment: str, *, name: str, error: type[ConsentError]) -> None:
        self.name = name
        self.error = error
        bits = []
        for position, ch in enumerate(segment):
            value = _VALUES.get(ch)
            if value is None:
                raise error(
                    f"{name} segment: character {position + 1} is not base64url",
                    segment=name,
                    position=position + 1,
                )
            bits.append(f"{value:06b}")
        self.bits = "".join(bits)
        self.pos = 0

    @property
    def remaining(self) -> int:
        return len(self.bits) - self.pos

    def read(self, n: int, field_name: str) -> int:
        if self.pos + n > len(self.bits):
            raise self.error(
                f"{self.name} segment ends early: {field_name} needs {n} bits at bit "
                f"{self.pos}, only {self.remaining} left",
                segment=self.name,
                field=field_name,
            )
        value = int(self.bits[self.pos : self.pos + n], 2) if n else 0
        self.pos += n
        return value

    def flags(self, n: int, field_name: str) -> list[int]:
        """A bit field of ``n`` bits as the sorted 1-based ids whose bit is 1."""
        value = self.read(n, field_name)
        return [i + 1 for i in range(n) if value >> (n - 1 - i) & 1]

    def fibonacci(self, field_name: str) -> int:
        """A Fibonacci-coded positive integer (GPP): bits for 1, 2, 3, 5, 8... ended by 11."""
        total, a, b, previous = 0, 1, 2, 0
        while True:
            bit = self.read(1, field_name)
            if bit and previous:
                return total
            if bit:
                total += a
            a, b = b, a + b
            previous = bit
