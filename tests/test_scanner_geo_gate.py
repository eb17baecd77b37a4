"""GeoGate scanner against .mmdb files built here with mmdb-writer (IPv4 and IPv6 networks)."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from airisk.errors import ConfigurationError
from airisk.pipeline import ScannerPipeline
from airisk.scanners import geo_gate
from airisk.scanners.geo_gate import GeoGate, default_database, open_database, parse_client_ip
from airisk.types import ScanContext, Verdict

mmdb_writer = pytest.importorskip("mmdb_writer")
netaddr = pytest.importorskip("netaddr")

NETWORKS: dict[str, dict[str, object]] = {
    "81.2.69.0/24": {"country": {"iso_code": "GB", "names": {"en": "United Kingdom"}}},
    "89.160.20.0/24": {"country": {"iso_code": "SE"}},
    "216.160.83.0/24": {"country": {"iso_code": "US"}, "city": {"names": {"en": "Milton"}}},
    "175.16.199.0/24": {"registered_country": {"iso_code": "CN"}},
    "2.2.2.0/24": {"country_code": "fr"},
    "1.128.0.0/11": {"continent": {"code": "OC"}},
    "2a02:c7c::/32": {"country": {"iso_code": "GB"}},
    "2001:4860::/32": {"country": {"iso_code": "US"}},
}


def build_mmdb(path: Path, networks: dict[str, dict[str, object]], *, ip_version: int = 6) -> Path:
    writer = mmdb_writer.MMDBWriter(
        ip_version=ip_version, ipv4_compatible=ip_version == 6, database_type="airisk-test-country"
    )
    for network, record in networks.items():
        if ip_version == 4 and ":" in network:
            continue
        writer.insert_network(netaddr.IPSet([network]), record)
    writer.to_db_file(str(path))
    return path


@pytest.fixture(scope="module")
def mmdb(tmp_path_factory: pytest.TempPathFactory) -> str:
    return str(build_mmdb(tmp_path_factory.mktemp("geo") / "test-country.mmdb", NETWORKS))


@pytest.fixture(scope="module")
def mmdb_v4(tmp_path_factory: pytest.TempPathFactory) -> str:
    return str(build_mmdb(tmp_path_factory.mktemp("geo4") / "v4.mmdb", NETWORKS, ip_version=4))


def decide(scanner: GeoGate, ip: str | None) -> tuple[Verdict, str | None, str]:
    result = scanner.scan("", ScanContext(client_ip=ip))
    if not result.findings:
        return result.verdict, None, ""
    (finding,) = result.findings
    assert (finding.start, finding.end) == (0, 0)
    return result.verdict, finding.detail.get("country"), finding.detail["decided_by"]


def test_allow_list(mmdb: str) -> None:
    gate = GeoGate(allow=["gb", "FR"], database=mmdb)
    assert decide(gate, "81.2.69.142") == (Verdict.PASS, None, "")
    assert decide(gate, "2.2.2.2") == (Verdict.PASS, None, "")  # flat country_code record
    assert decide(gate, "2a02:c7c:1234::1") == (Verdict.PASS, None, "")
    assert decide(gate, "89.160.20.112") == (Verdict.BLOCK, "SE", "allow list")
    assert decide(gate, "2001:4860:4860::8888") == (Verdict.BLOCK, "US", "allow list")


def test_deny_list_and_registered_country_fallback(mmdb: str) -> None:
    gate = GeoGate(deny=["CN", "US"], database=mmdb)
    assert decide(gate, "175.16.199.10") == (Verdict.BLOCK, "CN", "deny list")
    assert decide(gate, "216.160.83.56") == (Verdict.BLOCK, "US", "deny list")
    assert decide(gate, "81.2.69.142") == (Verdict.PASS, None, "")


def test_flag_action(mmdb: str) -> None:
    assert decide(GeoGate(deny=["SE"], action="flag", database=mmdb), "89.160.20.1")[0] is Verdict.FLAG


def test_finding_detail_is_clear(mmdb: str) -> None:
    result = GeoGate(allow=["GB"], database=mmdb).scan("hi", ScanContext(client_ip="89.160.20.112"))
    (finding,) = result.findings
    assert finding.kind == "geo_country_not_allowed"
    assert finding.detail == {"country": "SE", "decided_by": "allow list", "reason": "country is not on the allow list"}
    assert result.score == 1.0 and result.sanitized_text is None


@pytest.mark.parametrize(
    ("ip", "address_type"),
    [
        ("10.1.2.3", "private"),
        ("192.168.0.7", "private"),
        ("127.0.0.1", "loopback"),
        ("::1", "loopback"),
        ("169.254.1.1", "link_local"),
        ("fe80::1", "link_local"),
        ("fc00::5", "private"),
        ("240.0.0.1", "reserved"),
        ("0.0.0.0", "unspecified"),
        ("224.0.0.1", "multicast"),
        ("100.64.0.1", "non_global"),
        ("::ffff:10.0.0.1", "private"),
    ],
)
def test_private_policy(mmdb: str, ip: str, address_type: str) -> None:
    assert decide(GeoGate(allow=["GB"], database=mmdb), ip) == (Verdict.PASS, None, "")
    result = GeoGate(allow=["GB"], private="block", database=mmdb).scan("", ScanContext(client_ip=ip))
    assert result.verdict is Verdict.BLOCK
    assert result.findings[0].detail == {"country": None, "decided_by": "private", "address_type": address_type}
    assert decide(GeoGate(allow=["GB"], private="flag", database=mmdb), ip)[0] is Verdict.FLAG


@pytest.mark.parametrize(
    ("ip", "reason"),
    [
        (None, "no client IP"),
        ("", "no client IP"),
        ("not-an-ip", "client IP is not a valid IP address"),
        ("81.2.69.142, 10.0.0.1", "client IP is not a valid IP address"),
        ("999.1.1.1", "client IP is not a valid IP address"),
        ("8.8.8.8", "address not in the database"),
        ("1.130.0.1", "database record has no country"),
    ],
)
def test_unknown_addresses_follow_unknown_policy(mmdb: str, ip: str | None, reason: str) -> None:
    allow_gate = GeoGate(allow=["GB"], database=mmdb)
    result = allow_gate.scan("", ScanContext(client_ip=ip))
    assert result.verdict is Verdict.BLOCK  # an allow list cannot vouch for what it cannot place
    assert result.findings[0].kind == "geo_unknown"
    assert result.findings[0].detail["reason"] == reason
    assert decide(GeoGate(deny=["CN"], database=mmdb), ip)[0] is Verdict.PASS  # a deny list lets it through
    assert decide(GeoGate(deny=["CN"], unknown="flag", database=mmdb), ip)[0] is Verdict.FLAG


def test_the_address_itself_is_not_echoed(mmdb: str) -> None:
    result = GeoGate(allow=["GB"], database=mmdb).scan("", ScanContext(client_ip="not an ip but a long secret string"))
    assert "secret" not in str(result.findings[0].detail)


def test_ipv6_lookup_in_ipv4_only_database_is_unknown(mmdb_v4: str) -> None:
    gate = GeoGate(allow=["GB"], database=mmdb_v4)
    assert decide(gate, "81.2.69.1") == (Verdict.PASS, None, "")
    assert decide(gate, "2a02:c7c::1") == (Verdict.BLOCK, None, "unknown")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("81.2.69.142:443", "81.2.69.142"), ("[2a02:c7c::1]:8080", "2a02:c7c::1"), (" 81.2.69.1 ", "81.2.69.1")],
)
def test_proxy_style_addresses_are_parsed(raw: str, expected: str) -> None:
    assert str(parse_client_ip(raw)) == expected


def test_exactly_one_list_and_valid_codes() -> None:
    with pytest.raises(ConfigurationError, match="exactly one"):
        GeoGate(allow=["GB"], deny=["FR"])
    with pytest.raises(ConfigurationError, match="exactly one"):
        GeoGate()
    with pytest.raises(ConfigurationError, match="alpha-2"):
        GeoGate(allow=["GBR"])
    with pytest.raises(Exception, match="supports actions"):
        GeoGate(allow=["GB"], action="redact")


def test_missing_database_names_path_and_extra(tmp_path: Path) -> None:
    missing = tmp_path / "nope.mmdb"
    gate = GeoGate(allow=["GB"], database=str(missing))
    with pytest.raises(ConfigurationError) as info:
        gate.warm_up()
    assert str(missing) in str(info.value) and "airisk[geo]" in str(info.value)
    # inside a pipeline the error blocks the message and is reported (fail closed)
    report = ScannerPipeline(input=[gate]).scan_input("hello", client_ip="81.2.69.142")
    assert report.blocked and "nope.mmdb" in report.errors["geo_gate"]


def test_corrupt_database_names_path_and_extra(tmp_path: Path) -> None:
    corrupt = tmp_path / "corrupt.mmdb"
    corrupt.write_bytes(b"this is not a maxmind database" * 100)
    with pytest.raises(ConfigurationError) as info:
        GeoGate(deny=["CN"], database=str(corrupt)).warm_up()
    assert str(corrupt) in str(info.value) and "airisk[geo]" in str(info.value)


def test_database_opened_once_and_shared_across_threads(mmdb: str) -> None:
    first = open_database(mmdb)
    gates = [GeoGate(allow=["GB"], database=mmdb) for _ in range(4)]
    verdicts: list[Verdict] = []

    def work(gate: GeoGate) -> None:
        for _ in range(200):
            verdicts.append(gate.scan("", ScanContext(client_ip="81.2.69.142")).verdict)

    threads = [threading.Thread(target=work, args=(gate,)) for gate in gates]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert set(verdicts) == {Verdict.PASS} and len(verdicts) == 800
    assert open_database(mmdb) is first
    assert open_database(Path(mmdb).parent / "." / Path(mmdb).name) is first


def test_bundled_geolite2_database_is_found_without_importing_it() -> None:
    import subprocess
    import sys

    path = default_database()
    assert path.name == "GeoLite2-City.mmdb" and path.is_file()
    code = (
        "import sys; from airisk.scanners.geo_gate import default_database; default_database(); "
        "print(sorted(m for m in sys.modules if 'geolite2' in m))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=_env())
    assert out.stdout.strip() == "[]"
    gate = GeoGate(allow=["GB"])
    assert gate.database_path == path
    # 81.2.69.142 is MaxMind's documented GB test address
    assert decide(gate, "81.2.69.142")[0] is Verdict.PASS


def test_module_import_stays_light() -> None:
    import subprocess
    import sys

    code = "import airisk.scanners.geo_gate, sys; print('maxminddb' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=_env())
    assert out.stdout.strip() == "False"


def _env() -> dict[str, str]:
    import os

    src = str(Path(geo_gate.__file__).resolve().parents[2])
    return {**os.environ, "PYTHONPATH": src + os.pathsep + os.environ.get("PYTHONPATH", "")}


def test_inside_a_pipeline(mmdb: str) -> None:
    pipeline = ScannerPipeline(input=[GeoGate(allow=["GB", "FR"], database=mmdb)])
    assert pipeline.scan_input("hello", client_ip="81.2.69.142").verdict is Verdict.PASS
    report = pipeline.scan_input("hello", ScanContext(client_ip="89.160.20.112", user="sven"))
    assert report.blocked
    assert report.findings[0].detail["country"] == "SE"
    assert report.sanitized_text == "hello"


@settings(max_examples=200, deadline=None)
@given(st.one_of(st.ip_addresses().map(str), st.text(max_size=40), st.none()), st.text(max_size=50))
def test_property_any_client_ip_gets_a_clear_decision(mmdb: str, ip: str | None, text: str) -> None:
    result = GeoGate(allow=["GB"], database=mmdb).scan(text, ScanContext(client_ip=ip))
    assert result.sanitized_text is None
    assert (result.verdict is Verdict.PASS) == (not result.findings)
    for finding in result.findings:
        assert 0 <= finding.start <= finding.end <= len(text)
        assert finding.detail["decided_by"] in {"allow list", "private", "unknown"}
