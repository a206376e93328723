"""Signature rules with the specs' own examples as test vectors (BHEX rest-api.md; BGE seed 004)."""

import pytest

from apps.core.signing import bge_sign, bge_verify, bhex_sign, bhex_verify, split_signature

BHEX_SECRET = "lH3ELTNiFxCQTmi9pPcWWikhsjO04Yoqw3euoHUuOLC3GYBW64ZqzQsiOEHXQS76"
PARAMS = (
    b"symbol=ETHBTC&side=BUY&type=LIMIT&timeInForce=GTC&quantity=1&price=0.1&recvWindow=5000&timestamp=1538323200000"
)
SIG_1 = "5f2750ad7589d1d40757a55342e621a44037dad23b5128cc70e18ec1d1c3f4c6"
SIG_3 = "885c9e3dd89ccd13408b25e6d54c2330703759d7494bea6dd5a3d1fd16ba3afa"


def test_bhex_example_1_query_string():
    assert bhex_sign(BHEX_SECRET, PARAMS) == SIG_1
    assert bhex_verify(BHEX_SECRET, PARAMS + b"&signature=" + SIG_1.encode(), b"")


def test_bhex_example_2_request_body():
    assert bhex_verify(BHEX_SECRET, b"", PARAMS + b"&signature=" + SIG_1.encode())


def test_bhex_example_3_mixed_has_no_separator():
    query = b"symbol=ETHBTC&side=BUY&type=LIMIT&timeInForce=GTC"
    body = b"quantity=1&price=0.1&recvWindow=5000&timestamp=1538323200000"
    assert bhex_sign(BHEX_SECRET, query + body) == SIG_3
    assert bhex_verify(BHEX_SECRET, query, body + b"&signature=" + SIG_3.encode())
    assert not bhex_verify(BHEX_SECRET, query, body + b"&signature=" + SIG_1.encode())


def test_bhex_signature_is_case_insensitive_and_position_free():
    assert bhex_verify(BHEX_SECRET, b"signature=" + SIG_1.upper().encode() + b"&" + PARAMS, b"")


@pytest.mark.parametrize(
    "query",
    [
        PARAMS.replace(b"quantity=1", b"quantity=2") + b"&signature=" + SIG_1.encode(),  # tampered
        b"side=BUY&symbol=ETHBTC&type=LIMIT&timeInForce=GTC&quantity=1&price=0.1&recvWindow=5000&timestamp=1538323200000"
        + b"&signature="
        + SIG_1.encode(),  # re-ordered: the raw bytes are what was signed
        PARAMS,  # no signature
        PARAMS + b"&signature=",  # empty counts as absent
    ],
)
def test_bhex_rejects(query):
    assert not bhex_verify(BHEX_SECRET, query, b"")
    assert not bhex_verify("another secret", PARAMS + b"&signature=" + SIG_1.encode(), b"")


def test_split_signature_keeps_other_bytes_verbatim():
    assert split_signature(b"a=%20x&signature=ab&b=2") == (b"a=%20x&b=2", "ab")
    assert split_signature(b"") == (b"", None)


BGE_SECRET = "43767b4dec6e78e07c81f89af47018dc3ab57585721bf57a389f7637a9d0506b"  # seed 004's example key
ORDER = '{"product":"BTC_USDT","side":"buy","type":"limit","price":"2.00","size":"3.3","client_oid":"QZ_2020-jj"}'


def test_bge_vectors_computed_with_openssl():
    # echo -n "$prehash" | openssl dgst -sha256 -hmac "$secret" -binary | base64
    post = bge_sign(BGE_SECRET, timestamp="2022-01-08T07:19:56.339Z", method="POST", path="/v1/orders", body=ORDER)
    assert post == "roKeBPWfmgzlsf/Ss0cL1n/uwh+bU5c7nZ+QmBZSmuM="
    get = bge_sign(
        BGE_SECRET, timestamp="1641626396339", method="get", path="/v1/orders", query="product=BTC_USDT&limit=10"
    )
    assert get == "9zKUaZqOZzJK88YF8cr+UT93A/19RvGFCX0wZb1vPyg="
    websocket_login = bge_sign(BGE_SECRET, timestamp="2022-01-08T07:19:56.339Z")
    assert websocket_login == "HzcaoowUcwyMbgf2yJ63rV6O7dji8+sGvnGl3PfowTI="


def test_bge_get_and_delete_ignore_the_body_and_verify_is_exact():
    signed = bge_sign(BGE_SECRET, timestamp="1", method="DELETE", path="/v1/orders/1", body="ignored")
    assert signed == bge_sign(BGE_SECRET, timestamp="1", method="DELETE", path="/v1/orders/1")
    assert bge_verify(BGE_SECRET, signed, timestamp="1", method="DELETE", path="/v1/orders/1")
    assert not bge_verify(BGE_SECRET, signed, timestamp="2", method="DELETE", path="/v1/orders/1")
