"""One DNS question over UDP, standard library only: what the cluster's DNS answers for a name (its response code
and the IPv4 addresses of its A records). For checking CoreDNS (tests, a node's readiness), not a resolver: no
search path, no retries, no TCP fallback, no EDNS.
"""

from __future__ import annotations

import contextlib
import random
import socket
import struct
from dataclasses import dataclass

TYPES = {"A": 1, "PTR": 12, "SRV": 33, "AAAA": 28}
RCODES = {0: "NOERROR", 1: "FORMERR", 2: "SERVFAIL", 3: "NXDOMAIN", 4: "NOTIMP", 5: "REFUSED"}
CLASS_IN = 1


class DnsQueryError(RuntimeError):
    """No answer (timeout, unreachable) or an answer that is not a DNS response to our question."""


@dataclass(frozen=True, slots=True)
class Answer:
    rcode: str  # "NOERROR", "NXDOMAIN", "REFUSED", ...
    addresses: tuple[str, ...]  # the A records' addresses, in answer order
    authoritative: bool

    @property
    def found(self) -> bool:
        return self.rcode == "NOERROR" and bool(self.addresses)


def encode_name(name: str) -> bytes:
    labels = [label for label in name.rstrip(".").split(".") if label]
    if any(len(label.encode()) > 63 for label in labels):
        raise ValueError(f"a label of {name!r} is longer than 63 bytes")
    return b"".join(bytes([len(label.encode())]) + label.encode() for label in labels) + b"\x00"


def encode_query(ident: int, name: str, qtype: str = "A") -> bytes:
    """A query with recursion desired (CoreDNS ignores it: it has nothing to recurse to)."""
    header = struct.pack("!HHHHHH", ident, 0x0100, 1, 0, 0, 0)
    return header + encode_name(name) + struct.pack("!HH", TYPES[qtype], CLASS_IN)


def _skip_name(data: bytes, offset: int) -> int:
    """The offset after the name at ``offset`` (labels, ending in a zero byte or a 2-byte compression pointer)."""
    while True:
        if offset >= len(data):
            raise DnsQueryError("a name runs past the end of the response")
        length = data[offset]
        if length == 0:
            return offset + 1
        if length & 0xC0 == 0xC0:
            return offset + 2
        offset += 1 + length


def decode_response(data: bytes, ident: int) -> Answer:
    if len(data) < 12:
        raise DnsQueryError(f"a response of {len(data)} bytes is shorter than a DNS header")
    got, flags, questions, answers, _, _ = struct.unpack("!HHHHHH", data[:12])
    if got != ident or not flags & 0x8000:
        raise DnsQueryError(f"not the response to query {ident} (id {got}, flags {flags:#06x})")
    offset = 12
    for _ in range(questions):
        offset = _skip_name(data, offset) + 4
    addresses = []
    for _ in range(answers):
        offset = _skip_name(data, offset)
        rtype, _, _, length = struct.unpack("!HHIH", data[offset : offset + 10])
        offset += 10
        if rtype == TYPES["A"] and length == 4:
            addresses.append(socket.inet_ntoa(data[offset : offset + 4]))
        offset += length
    rcode = RCODES.get(flags & 0x000F, f"RCODE{flags & 0x000F}")
    return Answer(rcode, tuple(addresses), authoritative=bool(flags & 0x0400))


def query(server: str, port: int, name: str, qtype: str = "A", timeout: float = 2.0) -> Answer:
    """Ask ``server:port`` once over UDP.

    Raises:
        DnsQueryError: no response within ``timeout`` or a malformed one.
    """
    ident = random.randrange(1, 0xFFFF)
    with contextlib.closing(socket.socket(socket.AF_INET, socket.SOCK_DGRAM)) as sock:
        sock.settimeout(timeout)
        try:
            sock.sendto(encode_query(ident, name, qtype), (server, port))
            data, _ = sock.recvfrom(4096)
        except OSError as exc:  # socket.timeout is an OSError
            raise DnsQueryError(f"no answer from {server}:{port} for {name} {qtype}: {exc}") from exc
    return decode_response(data, ident)
