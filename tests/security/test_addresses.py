"""The address policy's verdicts (crawler/addresses.py), without the network: addresses given
as literals or by a look-up of the test's own."""

from __future__ import annotations

import pytest

from crawler.addresses import AddressPolicy, AddressRefused, is_public_ip


@pytest.mark.parametrize(
    "ip",
    [
        "127.0.0.2",
        "::1",
        "::ffff:127.0.0.2",  # IPv4-mapped
        "2002:7f00:2::1",  # 6to4 around 127.0.0.2
        "64:ff9b::7f00:2",  # NAT64 around 127.0.0.2
        "fe80::1%eth0",  # link-local with a zone
        "not an address",
    ],
)
def test_internal_addresses_are_not_public_in_any_wrapping(ip: str) -> None:
    assert not is_public_ip(ip)


def test_every_address_of_a_name_must_be_allowed() -> None:
    policy = AddressPolicy(lookup=lambda host: ("93.184.216.34", "127.0.0.2"))
    with pytest.raises(AddressRefused) as refused:
        policy.check("http://mixed.test/a", "http://127.0.0.1:8000/feed.xml")
    assert refused.value.reason == "refused_address" and refused.value.address == "127.0.0.2"


def test_the_trusted_origin_is_not_looked_up_and_bad_urls_are_refused() -> None:
    def never(host: str) -> tuple[str, ...]:
        raise AssertionError(f"looked up {host}")

    policy = AddressPolicy(lookup=never)
    assert policy.refusal_reason("http://feeds.test:8000/a", "http://feeds.test:8000/f") is None
    assert policy.refusal_reason("http://127.0.0.1:bad/a", "http://127.0.0.1:8000/f") == "bad_url"
    assert policy.refusal_reason("file:///etc/passwd", "http://127.0.0.1/f") == "scheme"


def test_the_check_before_the_request_remembers_the_answer_the_connection_does_not() -> None:
    answers = iter([("93.184.216.34",), ("127.0.0.2",)])
    policy = AddressPolicy(lookup=lambda host: next(answers))
    assert policy.refusal_reason("http://rebind.test/a", None) is None
    assert policy.refusal_reason("http://rebind.test/a", None) is None  # remembered
    with pytest.raises(AddressRefused):
        policy.check("http://rebind.test/a", None)  # fresh, as a connection is
