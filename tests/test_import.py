"""`import airisk` stays light: no vendor SDK, model runtime or web framework is loaded."""

from __future__ import annotations

import json
import subprocess
import sys

HEAVY = [
    "torch", "spacy", "onnxruntime", "presidio_analyzer", "fastapi", "starlette", "sqlalchemy",
    "openai", "anthropic", "mistralai", "google.genai", "boto3", "botocore", "transformers",
    "tokenizers", "numpy", "lingua", "maxminddb", "httpx", "authlib", "yaml", "pydantic",
]


def loaded_after(code: str) -> set[str]:
    script = f"import sys\n{code}\nimport json\nprint(json.dumps(sorted(sys.modules)))"
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    return set(json.loads(result.stdout.strip().splitlines()[-1]))


def test_import_airisk_loads_nothing_heavy() -> None:
    modules = loaded_after("import airisk")
    assert not [name for name in HEAVY if name in modules]


def test_building_a_pipeline_loads_no_model_runtime_or_vendor_sdk() -> None:
    modules = loaded_after(
        "from airisk import ScannerPipeline, Agent\nfrom airisk.providers import Echo\n"
        "Agent('a', Echo(), pipeline=ScannerPipeline()).ask('hello')"
    )
    heavy = set(HEAVY) - {"pydantic"}
    assert not [name for name in heavy if name in modules]
