"""harness/cluster/kubernetes/plane/dns_query.py: the query's bytes, responses decoded (compressed names, several
records, an NXDOMAIN), and a UDP round trip against a FAKE DNS server in a thread."""

from __future__ import annotations

import socket
import struct
import threading

import pytest

from harness.cluster.kubernetes.plane import dns_query
from harness.cluster.local.ports import PortAllocator


def response(ident: int, name: str, rcode: int, addresses: list[str], aa: bool = True) -> bytes:
    flags = 0x8000 | (0x0400 if aa else 0) | rcode
    header = struct.pack("!HHHHHH", ident, flags, 1, len(addresses), 0, 0)
    question = dns_query.encode_name(name) + struct.pack("!HH", 1, 1)
    records = b"".join(
        b"\xc0\x0c" + struct.pack("!HHIH", 1, 1, 5, 4) + socket.inet_aton(a)  # name: a pointer to the question's
        for a in addresses
    )
    return header + question + records


def test_the_query_is_one_question_for_the_name_and_type() -> None:
    packet = dns_query.encode_query(0x1234, "dapr-sentry.dapr-system.svc.cluster.local", "A")
    assert packet[:12] == struct.pack("!HHHHHH", 0x1234, 0x0100, 1, 0, 0, 0)
    assert packet[12:] == (b"\x0bdapr-sentry\x0bdapr-system\x03svc\x07cluster\x05local\x00" + struct.pack("!HH", 1, 1))
    assert dns_query.encode_name("cluster.local.") == dns_query.encode_name("cluster.local")
    with pytest.raises(ValueError, match="longer than 63"):
        dns_query.encode_name("x" * 64 + ".local")


def test_a_response_is_decoded_with_every_address_in_order() -> None:
    data = response(7, "s-0.s.ns.svc.cluster.local", 0, ["10.0.0.5", "10.0.0.9"])
    answer = dns_query.decode_response(data, 7)
    assert answer == dns_query.Answer("NOERROR", ("10.0.0.5", "10.0.0.9"), authoritative=True)
    assert answer.found


def test_nxdomain_and_refused_are_named_and_not_found() -> None:
    assert dns_query.decode_response(response(9, "example.com", 3, []), 9).rcode == "NXDOMAIN"
    refused = dns_query.decode_response(response(9, "example.com", 5, [], aa=False), 9)
    assert (refused.rcode, refused.found, refused.authoritative) == ("REFUSED", False, False)


def test_a_response_to_another_question_or_a_short_one_is_an_error() -> None:
    with pytest.raises(dns_query.DnsQueryError, match="not the response to query 8"):
        dns_query.decode_response(response(7, "a.b", 0, []), 8)
    with pytest.raises(dns_query.DnsQueryError, match="shorter than a DNS header"):
        dns_query.decode_response(b"\x00\x07", 7)


def test_a_round_trip_against_a_fake_server() -> None:
    port = PortAllocator().take()
    fake = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)  # FAKE DNS server: answers one question with 10.1.2.3
    fake.bind(("127.0.0.1", port))

    def serve() -> None:
        data, peer = fake.recvfrom(512)
        ident = struct.unpack("!H", data[:2])[0]
        fake.sendto(response(ident, "svc.ns.svc.cluster.local", 0, ["10.1.2.3"]), peer)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        answer = dns_query.query("127.0.0.1", port, "svc.ns.svc.cluster.local")
    finally:
        thread.join(5)
        fake.close()
    assert answer.addresses == ("10.1.2.3",)


def test_no_server_is_an_error_naming_the_question() -> None:
    port = PortAllocator().take()
    with pytest.raises(dns_query.DnsQueryError, match=f"no answer from 127.0.0.1:{port} for x.cluster.local A"):
        dns_query.query("127.0.0.1", port, "x.cluster.local", timeout=0.5)
