"""Geographic gating: the client's IP address mapped to a country, checked against a list.

Lookups read a MaxMind-format ``.mmdb`` file with ``maxminddb`` (the ``geo`` extra). By
default that is the GeoLite2 City database the ``maxminddb-geolite2`` package ships (a
2018 snapshot: fine for tests and demos, stale for production; point ``database`` at a
current GeoLite2/GeoIP2 Country or City file). Each file is opened once per process,
memory-mapped, and shared by every scanner and thread.
"""

from __future__ import annotations

import ipaddress
import os
import threading
import time
from importlib.util import find_spec
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from airisk.errors import ConfigurationError, MissingDependencyError
from airisk.scanners.base import Scanner, ScannerConfig
from airisk.types import Finding, ScanContext, ScanResult, Verdict

Policy = Literal["pass", "flag", "block"]
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

_READERS: dict[str, Any] = {}
_READERS_LOCK = threading.Lock()
_DEFAULT_PACKAGE = "_maxminddb_geolite2"
_DEFAULT_FILE = "GeoLite2-City.mmdb"


def default_database() -> Path:
    """Where ``maxminddb-geolite2`` keeps its database, found without importing the package
    (its ``geolite2`` module opens the database as a side effect of being imported)."""
    spec = find_spec(_DEFAULT_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ConfigurationError(
            "no GeoIP database configured and maxminddb-geolite2 is not installed: "
            "pip install 'airisk[geo]' or set the geo_gate 'database' path"
        )
    return Path(next(iter(spec.submodule_search_locations))) / _DEFAULT_FILE


def open_database(path: str | os.PathLike[str]) -> Any:
    """The shared reader for ``path``; opened on first use, then reused by every caller."""
    key = os.path.realpath(path)
    reader = _READERS.get(key)
    if reader is not None:
        return reader
    with _READERS_LOCK:
        reader = _READERS.get(key)
        if reader is None:
            reader = _READERS[key] = _open(key)
        return reader


def _open(path: str) -> Any:
    try:
        import maxminddb
    except ImportError:
        raise MissingDependencyError("geographic gating", "geo", "maxminddb") from None
    if not os.path.isfile(path):
        raise ConfigurationError(
            f"GeoIP database {path} does not exist: pip install 'airisk[geo]' for the bundled one, "
            "or set the geo_gate 'database' path to a .mmdb file"
        )
    try:
        return maxminddb.open_database(path, maxminddb.MODE_AUTO)
    except (maxminddb.InvalidDatabaseError, OSError, ValueError) as exc:
        raise ConfigurationError(
            f"GeoIP database {path} cannot be read ({type(exc).__name__}: {exc}); it must be a MaxMind .mmdb "
            "file (pip install 'airisk[geo]' ships one)"
        ) from None


def close_databases() -> None:
    """Close every shared reader (tests and long-running processes that swap database files)."""
    with _READERS_LOCK:
        for reader in _READERS.values():
            reader.close()
        _READERS.clear()


def parse_client_ip(value: str) -> IPAddress:
    """An address as proxies write it: plain, ``[v6]:port``, ``v4:port``; IPv4-mapped IPv6 unwrapped."""
    text = value.strip()
    if text.startswith("[") and "]" in text:
        text = text[1 : text.index("]")]
    elif text.count(":") == 1 and "." in text:
        text = text.split(":", 1)[0]
    address = ipaddress.ip_address(text)
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _non_public_kind(address: IPAddress) -> str | None:
    for kind in ("loopback", "link_local", "multicast", "unspecified", "reserved", "private"):
        if getattr(address, f"is_{kind}"):
            return kind
    if not address.is_global:
        return "non_global"
    return None


def _country_of(record: Any) -> str | None:
    """ISO code from a GeoIP2/GeoLite2 record (country, else registered country) or a flat
    ``country_code`` record as other vendors' .mmdb files have it."""
    if not isinstance(record, dict):
        return None
    for key in ("country", "registered_country", "represented_country"):
        section = record.get(key)
        if isinstance(section, dict) and isinstance(section.get("iso_code"), str):
            return str(section["iso_code"]).upper()
    code = record.get("country_code")
    return code.upper() if isinstance(code, str) and code else None


def _country_codes(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, str):
        value = [value]
    codes = []
    for item in value:
        code = str(item).strip().upper()
        if len(code) != 2 or not code.isalpha() or not code.isascii():
            raise ValueError(f"{item!r} is not an ISO 3166-1 alpha-2 country code")
        codes.append(code)
    return codes


class GeoGateConfig(ScannerConfig):
    """Settings of :class:`GeoGate`."""

    allow: list[str] | None = Field(default=None, description="only these countries pass (ISO alpha-2)")
    deny: list[str] | None = Field(default=None, description="these countries are refused (ISO alpha-2)")
    private: Policy = Field(default="pass", description="private, loopback, link-local and reserved addresses")
    unknown: Policy | None = Field(
        default=None,
        description="missing, unparseable or unlisted IPs; default block with an allow list, pass with a deny list",
    )
    database: str | None = Field(default=None, description=".mmdb path; default the maxminddb-geolite2 database")

    @field_validator("allow", "deny", mode="before")
    @classmethod
    def _codes(cls, value: Any) -> Any:
        return _country_codes(value)

    @model_validator(mode="after")
    def _one_list(self) -> GeoGateConfig:
        if (self.allow is None) == (self.deny is None):
            raise ValueError("give exactly one of 'allow' or 'deny' (lists of country codes)")
        return self


class GeoGate(Scanner):
    """Pass or refuse a message by the country of ``ctx.client_ip``."""

    name = "geo_gate"
    Config = GeoGateConfig
    inline = True
    supported_actions = ("block", "flag")
    config: GeoGateConfig

    def __init__(self, config: GeoGateConfig | dict[str, Any] | None = None, **settings: Any) -> None:
        super().__init__(config, **settings)
        self._path = Path(self.config.database) if self.config.database else None
        self._allow = frozenset(self.config.allow or ())
        self._deny = frozenset(self.config.deny or ())
        unknown = self.config.unknown or ("block" if self.config.allow is not None else "pass")
        self._unknown = Verdict(unknown)

    @property
    def database_path(self) -> Path:
        if self._path is None:
            self._path = default_database()
        return self._path

    def warm_up(self) -> None:
        open_database(self.database_path)

    def scan(self, text: str, ctx: ScanContext) -> ScanResult:
        started = time.perf_counter()
        verdict, kind, detail = self._decide(ctx.client_ip)
        findings = [Finding(kind=kind, start=0, end=0, detail=detail)] if verdict is not Verdict.PASS else []
        return ScanResult(
            scanner=self.name,
            verdict=verdict,
            score=1.0 if findings else 0.0,
            findings=findings,
            elapsed_ms=(time.perf_counter() - started) * 1000,
        )

    def decide(self, client_ip: str | None) -> tuple[Verdict, dict[str, Any]]:
        """The verdict for one address and how it was reached (for tools and debugging)."""
        verdict, _, detail = self._decide(client_ip)
        return verdict, detail

    def _decide(self, client_ip: str | None) -> tuple[Verdict, str, dict[str, Any]]:
        if not client_ip:
            return self._unknown, "geo_unknown", {"country": None, "decided_by": "unknown", "reason": "no client IP"}
        try:
            address = parse_client_ip(client_ip)
        except ValueError:
            detail = {"country": None, "decided_by": "unknown", "reason": "client IP is not a valid IP address"}
            return self._unknown, "geo_unknown", detail
        non_public = _non_public_kind(address)
        if non_public is not None:
            detail = {"country": None, "decided_by": "private", "address_type": non_public}
            return Verdict(self.config.private), "geo_private_address", detail
        reader = open_database(self.database_path)
        try:
            record = reader.get(str(address))
        except ValueError:
            record = None  # an IPv6 address looked up in an IPv4-only database
        country = _country_of(record)
        if country is None:
            reason = "address not in the database" if record is None else "database record has no country"
            return self._unknown, "geo_unknown", {"country": None, "decided_by": "unknown", "reason": reason}
        if self._allow:
            if country in self._allow:
                return Verdict.PASS, "geo_allowed", {"country": country, "decided_by": "allow list"}
            return (
                Verdict(self.config.action),
                "geo_country_not_allowed",
                {"country": country, "decided_by": "allow list", "reason": "country is not on the allow list"},
            )
        if country in self._deny:
            detail = {"country": country, "decided_by": "deny list", "reason": "country is on the deny list"}
            return Verdict(self.config.action), "geo_country_denied", detail
        return Verdict.PASS, "geo_allowed", {"country": country, "decided_by": "deny list"}
