"""Policies: scanner pipelines as data (dict, YAML or JSON), and company/agent merging.

A policy lists scanners per direction by registry name with their settings::

    version: 1
    input:
      - type: regex
        action: redact
        presets: [email, credit_card]
      - type: language
        allowed: [en, fr]
    output:
      - type: regex
        deny: {order_id: 'ACME-\\d{6}'}

Company-wide defaults merge with an agent's own policy: the agent's settings win, except
settings the company locked (``locked: [threshold]`` on a scanner, or ``locked: true``
for all of them, which also stops the agent disabling it).
"""

from __future__ import annotations

import json
import logging
import threading
from collections import OrderedDict
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_serializer, model_validator

from airisk.errors import PolicyError, field_path

if TYPE_CHECKING:
    from airisk.pipeline import ScannerPipeline

logger = logging.getLogger("airisk.policy")

_SHARED_PIPELINES: OrderedDict[str, ScannerPipeline] = OrderedDict()
_SHARED_LOCK = threading.Lock()
_SHARED_MAX = 256

_SPEC_KEYS = {"type", "id", "locked"}


class ScannerSpec(BaseModel):
    """One scanner in a policy: its registry name, an optional id, settings and locks."""

    model_config = ConfigDict(extra="forbid")

    type: str
    id: str | None = None
    locked: bool | list[str] = False
    settings: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _flatten(cls, data: Any) -> Any:
        """Accept settings inline next to ``type`` (the natural way to write YAML)."""
        if isinstance(data, dict) and "settings" not in data:
            inline = {key: value for key, value in data.items() if key not in _SPEC_KEYS}
            data = {key: value for key, value in data.items() if key in _SPEC_KEYS} | {"settings": inline}
        return data

    @model_serializer(mode="plain")
    def _dump_flat(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": self.type}
        if self.id is not None:
            out["id"] = self.id
        if self.locked:
            out["locked"] = self.locked
        out.update(self.settings)
        return out

    @property
    def key(self) -> str:
        return self.id or self.type

    def is_locked(self, setting: str) -> bool:
        return self.locked is True or (isinstance(self.locked, list) and setting in self.locked)

    def validate_settings(self, where: str) -> None:
        """Check the settings against the scanner's own config model; errors name the field."""
        from airisk.scanners import get_scanner_class

        try:
            cls = get_scanner_class(self.type)
        except PolicyError as exc:
            raise PolicyError(str(exc).split(": ", 1)[-1], field=f"{where}.type") from None
        try:
            config = cls.Config(**self.settings)
        except ValidationError as exc:
            first = exc.errors()[0]
            raise PolicyError(first["msg"], field=field_path(where, tuple(first["loc"]))) from None
        if config.action not in cls.supported_actions:
            raise PolicyError(
                f"{self.type} supports actions {', '.join(cls.supported_actions)}", field=f"{where}.action"
            )
        if isinstance(self.locked, list):
            unknown = [name for name in self.locked if name not in cls.Config.model_fields]
            if unknown:
                raise PolicyError(f"cannot lock unknown setting {unknown[0]!r}", field=f"{where}.locked")


class Policy(BaseModel):
    """A whole pipeline as data. Round-trips: ``Policy.from_dict(p.to_dict()) == p``."""

    model_config = ConfigDict(extra="forbid")

    version: Literal[1] = 1
    name: str | None = None
    fail_closed: bool = True
    early_exit: bool = False
    hold_back: int = Field(default=64, ge=1)
    locked: list[Literal["fail_closed", "early_exit", "hold_back"]] = Field(default_factory=list)
    input: list[ScannerSpec] = Field(default_factory=list)
    output: list[ScannerSpec] = Field(default_factory=list)

    @model_validator(mode="after")
    def _unique_keys(self) -> Policy:
        for direction in ("input", "output"):
            seen: set[str] = set()
            for index, spec in enumerate(getattr(self, direction)):
                if spec.key in seen:
                    raise ValueError(
                        f"{direction}[{index}]: scanner {spec.key!r} appears twice; give one an 'id'"
                    )
                seen.add(spec.key)
        return self

    # loading and dumping -------------------------------------------------------------

    @classmethod
    def from_dict(cls, data: Any) -> Policy:
        """Validate a policy given as plain data; errors name the offending field."""
        if not isinstance(data, dict):
            raise PolicyError(f"a policy must be a mapping, not {type(data).__name__}")
        try:
            policy = cls.model_validate(data)
        except ValidationError as exc:
            first = exc.errors()[0]
            loc = tuple(part for part in first["loc"] if part != "settings")
            raise PolicyError(first["msg"], field=field_path("", loc) or None) from None
        for direction in ("input", "output"):
            for index, spec in enumerate(getattr(policy, direction)):
                spec.validate_settings(f"{direction}[{index}]")
        return policy

    @classmethod
    def load(cls, path: str | Path) -> Policy:
        """Read a policy from a ``.yaml``/``.yml`` or ``.json`` file."""
        file_path = Path(path)
        try:
            text = file_path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise PolicyError(f"policy file not found: {file_path}") from None
        except UnicodeDecodeError:
            raise PolicyError(f"policy file is not UTF-8: {file_path}") from None
        return cls.loads(text, json_format=file_path.suffix.lower() == ".json")

    @classmethod
    def loads(cls, text: str, *, json_format: bool = False) -> Policy:
        if json_format:
            try:
                data = json.loads(text)
            except json.JSONDecodeError as exc:
                raise PolicyError(f"invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}") from None
        else:
            import yaml

            try:
                data = yaml.safe_load(text)
            except yaml.YAMLError as exc:
                mark = getattr(exc, "problem_mark", None)
                where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
                raise PolicyError(f"invalid YAML{where}: {getattr(exc, 'problem', exc)}") from None
        return cls.from_dict(data if data is not None else {})

    def to_dict(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude_defaults=False)

    def dumps(self, *, json_format: bool = False) -> str:
        if json_format:
            return json.dumps(self.to_dict(), indent=2)
        import yaml

        data = self.to_dict()
        readable = str(yaml.safe_dump(data, sort_keys=False, allow_unicode=True))
        if yaml.safe_load(readable) == data:
            return readable
        # PyYAML writes some characters (NEL, line/paragraph separators) raw, which then
        # read back as line breaks; escaping all non-ASCII keeps the policy exact
        return str(yaml.safe_dump(data, sort_keys=False, allow_unicode=False))

    def dump(self, path: str | Path) -> None:
        file_path = Path(path)
        file_path.write_text(self.dumps(json_format=file_path.suffix.lower() == ".json"), encoding="utf-8")

    # pipelines --------------------------------------------------------------------------

    def build(self) -> ScannerPipeline:
        """Instantiate every scanner and return the pipeline."""
        from airisk.pipeline import ScannerPipeline
        from airisk.scanners import get_scanner_class

        def make(direction: str) -> list[Any]:
            scanners = []
            for index, spec in enumerate(getattr(self, direction)):
                try:
                    scanners.append(get_scanner_class(spec.type)(**spec.settings))
                except PolicyError as exc:
                    raise PolicyError(str(exc), field=f"{direction}[{index}]") from None
                except ValidationError as exc:
                    first = exc.errors()[0]
                    where = field_path(f"{direction}[{index}]", tuple(first["loc"]))
                    raise PolicyError(first["msg"], field=where) from None
            return scanners

        return ScannerPipeline(
            input=make("input"),
            output=make("output"),
            fail_closed=self.fail_closed,
            early_exit=self.early_exit,
            hold_back=self.hold_back,
            name=self.name,
        )

    def build_shared(self) -> ScannerPipeline:
        """The pipeline for this policy, built once per process and shared by every caller with
        an equal policy (a server would otherwise rebuild it on every chat turn). Scanners are
        safe to share across threads; the cache keeps the most recently used policies."""
        key = json.dumps(self.to_dict(), sort_keys=True)
        with _SHARED_LOCK:
            pipeline = _SHARED_PIPELINES.get(key)
            if pipeline is not None:
                _SHARED_PIPELINES.move_to_end(key)
                return pipeline
        pipeline = self.build()
        with _SHARED_LOCK:
            pipeline = _SHARED_PIPELINES.setdefault(key, pipeline)
            _SHARED_PIPELINES.move_to_end(key)
            while len(_SHARED_PIPELINES) > _SHARED_MAX:
                _SHARED_PIPELINES.popitem(last=False)
        return pipeline

    @classmethod
    def from_pipeline(cls, pipeline: ScannerPipeline) -> Policy:
        def specs(scanners: list[Any]) -> list[ScannerSpec]:
            counts: dict[str, int] = {}
            out = []
            for scanner in scanners:
                counts[scanner.name] = counts.get(scanner.name, 0) + 1
                spec_id = None if counts[scanner.name] == 1 else f"{scanner.name}_{counts[scanner.name]}"
                out.append(ScannerSpec(type=scanner.name, id=spec_id, settings=scanner.settings()))
            return out

        return cls(
            name=pipeline.name,
            fail_closed=pipeline.fail_closed,
            early_exit=pipeline.early_exit,
            hold_back=pipeline.hold_back,
            input=specs(pipeline.input),
            output=specs(pipeline.output),
        )


class MergeConflict(BaseModel):
    """An agent setting the company locked; the company's value was kept."""

    field: str
    company_value: Any = None
    agent_value: Any = None


def merge_policies(company: Policy, agent: Policy, *, strict: bool = False) -> tuple[Policy, list[MergeConflict]]:
    """Layer an agent's policy on the company's defaults.

    Agent settings override company settings scanner by scanner (matched by id, or type);
    scanners only the agent has are appended. Locked company settings win; each attempt to
    change one is returned as a conflict (``strict=True`` raises instead).
    """
    conflicts: list[MergeConflict] = []
    top: dict[str, Any] = {}
    for name in ("fail_closed", "early_exit", "hold_back"):
        company_value, agent_value = getattr(company, name), getattr(agent, name)
        agent_set = name in agent.model_fields_set
        if name in company.locked and agent_set and agent_value != company_value:
            conflicts.append(MergeConflict(field=name, company_value=company_value, agent_value=agent_value))
        top[name] = company_value if (name in company.locked or not agent_set) else agent_value

    merged: dict[str, list[ScannerSpec]] = {}
    for direction in ("input", "output"):
        agent_specs = {spec.key: spec for spec in getattr(agent, direction)}
        out: list[ScannerSpec] = []
        for index, base in enumerate(getattr(company, direction)):
            override = agent_specs.pop(base.key, None)
            if override is None:
                out.append(base)
                continue
            settings = dict(base.settings)
            for setting, value in override.settings.items():
                if base.is_locked(setting) and settings.get(setting, value) != value:
                    conflicts.append(
                        MergeConflict(
                            field=f"{direction}[{index}].{setting}",
                            company_value=settings.get(setting),
                            agent_value=value,
                        )
                    )
                    continue
                if base.is_locked(setting) and setting not in settings:
                    conflicts.append(MergeConflict(field=f"{direction}[{index}].{setting}", agent_value=value))
                    continue
                settings[setting] = value
            out.append(base.model_copy(update={"settings": settings}))
        out.extend(agent_specs.values())
        merged[direction] = out

    if conflicts and strict:
        first = conflicts[0]
        raise PolicyError("locked by the company policy", field=first.field)
    for conflict in conflicts:
        logger.warning("agent policy tried to change a locked setting", extra={"field": conflict.field})
    result = Policy(
        name=agent.name or company.name,
        locked=list(company.locked),
        input=merged["input"],
        output=merged["output"],
        **top,
    )
    return Policy.from_dict(result.to_dict()), conflicts
