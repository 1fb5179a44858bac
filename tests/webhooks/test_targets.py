"""The target check and the request helper's small parts (no network): addresses that carry an
IPv4 address inside IPv6, allow-lists against such addresses, and the Host header of IPv6 literals."""

from __future__ import annotations

import ipaddress

import pytest

from baas.webhooks.http import host_header, origin
from baas.webhooks.targets import Target, TargetRefused, _allowed, resolve, why_refused


@pytest.mark.parametrize(
    "addr, reason",
    [
        ("2002:7f00:1::1", "loopback"),  # 6to4 for 127.0.0.1
        ("2002:a9fe:a9fe::", "link-local"),  # 6to4 for 169.254.169.254
        ("2002:0a00:0005::1", "private"),  # 6to4 for 10.0.0.5
        ("2001:0:4136:e378:8000:63bf:80ff:fffe", "loopback"),  # Teredo, client 127.0.0.1
        ("::ffff:127.0.0.1", "loopback"),
    ],
)
def test_addresses_carrying_ipv4_are_judged_as_that_ipv4(addr, reason):
    assert why_refused(ipaddress.ip_address(addr)) == reason


async def test_6to4_loopback_url_is_refused(monkeypatch):
    monkeypatch.delenv("BAAS_WEBHOOKS_ALLOW_PRIVATE", raising=False)
    with pytest.raises(TargetRefused, match="loopback"):
        await resolve("http://[2002:7f00:1::1]/x")


def test_an_allow_list_matches_the_carried_ipv4():
    nets = (ipaddress.ip_network("10.0.0.0/8"),)
    assert _allowed(ipaddress.ip_address("::ffff:10.0.0.5"), nets)
    assert _allowed(ipaddress.ip_address("2002:0a00:0005::1"), nets)
    assert not _allowed(ipaddress.ip_address("::ffff:11.0.0.5"), nets)


def test_host_header_and_origin_bracket_ipv6_literals():
    v6 = Target("http", "2001:db8::1", 8080, ipaddress.ip_address("2001:db8::1"))
    assert host_header(v6) == "[2001:db8::1]:8080"
    assert host_header(Target("https", "example.com", 443, ipaddress.ip_address("93.184.216.34"))) == "example.com"
    assert origin("http://[2001:db8::1]:8080/x") == "http://[2001:db8::1]:8080"
    assert origin("https://Example.com/a") == origin("https://example.com:443/b")
