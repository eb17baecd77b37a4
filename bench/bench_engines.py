"""Adapter overhead per engine call: airisk engine vs. the vendor SDK called directly.

Both talk to the same loopback fake server (tests/providers/fake_server.py) in the same run,
interleaved call by call, so the difference is what the adapter adds: request mapping,
retry wrapper, error mapping and response parsing. The last column times the adapter's own
work alone (building the vendor request and reading the vendor response, no network), which
stays readable on a busy machine where round-trip medians jitter. Prints a markdown table of
medians and p95, plus peak RSS.

    PYTHONPATH=src python bench/bench_engines.py [--calls 300]
"""

from __future__ import annotations

import argparse
import resource
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "src"))

from airisk.providers.base import EngineRequest  # noqa: E402
from airisk.types import Message  # noqa: E402
from providers.fake_server import FakeServer  # noqa: E402
from providers.wires import (  # noqa: E402
    AnthropicWire,
    AzureWire,
    BedrockWire,
    GoogleWire,
    LlamaWire,
    MistralWire,
    OpenAIWire,
    Wire,
)

PROMPT = "What is the capital of France?"
REQUEST = EngineRequest(messages=[Message(role="user", content=PROMPT)])


def direct_openai(url: str, wire: Wire) -> Callable[[], Any]:
    import openai

    client = openai.OpenAI(api_key=wire.key, base_url=f"{url}/v1", max_retries=0)
    return lambda: client.chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": PROMPT}]
    ).choices[0].message.content


def direct_azure(url: str, wire: Wire) -> Callable[[], Any]:
    import openai

    client = openai.AzureOpenAI(
        azure_endpoint=url, azure_deployment="chat-prod", api_version="2024-10-21", api_key=wire.key, max_retries=0
    )
    return lambda: client.chat.completions.create(
        model="chat-prod", messages=[{"role": "user", "content": PROMPT}]
    ).choices[0].message.content


def direct_llama(url: str, wire: Wire) -> Callable[[], Any]:
    import openai

    client = openai.OpenAI(api_key=wire.key, base_url=f"{url}/compat/v1/", max_retries=0)
    return lambda: client.chat.completions.create(
        model="Llama-3.3-70B-Instruct", messages=[{"role": "user", "content": PROMPT}]
    ).choices[0].message.content


def direct_anthropic(url: str, wire: Wire) -> Callable[[], Any]:
    import anthropic

    client = anthropic.Anthropic(api_key=wire.key, base_url=url, max_retries=0)
    return lambda: client.messages.create(
        model="claude-sonnet-5-5", max_tokens=1024, messages=[{"role": "user", "content": PROMPT}]
    ).content[0].text


def direct_mistral(url: str, wire: Wire) -> Callable[[], Any]:
    from mistralai.client import Mistral

    client = Mistral(api_key=wire.key, server_url=url)
    return lambda: client.chat.complete(
        model="mistral-small-latest", messages=[{"role": "user", "content": PROMPT}]
    ).choices[0].message.content


def direct_google(url: str, wire: Wire) -> Callable[[], Any]:
    from google import genai

    client = genai.Client(api_key=wire.key, http_options={"base_url": url, "retry_options": {"attempts": 1}})
    return lambda: client.models.generate_content(model="gemini-3.5-flash", contents=PROMPT).text


def direct_bedrock(url: str, wire: Wire) -> Callable[[], Any]:
    import boto3
    from botocore.config import Config

    client = boto3.client(
        "bedrock-runtime",
        region_name="us-east-1",
        endpoint_url=url,
        aws_access_key_id="AKIDTESTEXAMPLE",
        aws_secret_access_key=wire.key,
        config=Config(retries={"total_max_attempts": 1, "mode": "standard"}),
    )
    model = BedrockWire.model
    return lambda: client.converse(modelId=model, messages=[{"role": "user", "content": [{"text": PROMPT}]}])


CASES: list[tuple[Wire, Callable[[str, Wire], Callable[[], Any]]]] = [
    (OpenAIWire(), direct_openai),
    (AzureWire(), direct_azure),
    (LlamaWire(), direct_llama),
    (AnthropicWire(), direct_anthropic),
    (MistralWire(), direct_mistral),
    (GoogleWire(), direct_google),
    (BedrockWire(), direct_bedrock),
]


def timed(fn: Callable[[], Any]) -> float:
    started = time.perf_counter()
    fn()
    return (time.perf_counter() - started) * 1000


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def run(calls: int, warmup: int) -> list[dict[str, Any]]:
    rows = []
    for wire, make_direct in CASES:
        with FakeServer(default=lambda _record, wire=wire: wire.text("Paris.")) as server:
            engine = wire.engine(server.url)
            direct = make_direct(server.url, wire)
            adapter = lambda engine=engine: engine.complete(REQUEST)  # noqa: E731
            for _ in range(warmup):
                direct()
                adapter()
            direct_ms: list[float] = []
            adapter_ms: list[float] = []
            for _ in range(calls):
                direct_ms.append(timed(direct))
                adapter_ms.append(timed(adapter))
            raw = engine.complete(REQUEST).raw
            mapping_us = [timed(lambda engine=engine, raw=raw: engine._checked_parse(raw)) * 1000 for _ in range(calls)]
            payload_us = [timed(lambda engine=engine: engine._payload(REQUEST)) * 1000 for _ in range(calls)]
        rows.append(
            {
                "engine": wire.name,
                "direct_median": statistics.median(direct_ms),
                "direct_p95": p95(direct_ms),
                "adapter_median": statistics.median(adapter_ms),
                "adapter_p95": p95(adapter_ms),
                "mapping_us": statistics.median(payload_us) + statistics.median(mapping_us),
            }
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--warmup", type=int, default=20)
    args = parser.parse_args()
    rows = run(args.calls, args.warmup)
    print(f"{args.calls} calls per engine after {args.warmup} warm-up calls; Python {sys.version.split()[0]}")
    print()
    print(
        "| engine | vendor SDK direct, median (p95) ms | airisk engine, median (p95) ms "
        "| difference of medians, ms | adapter mapping alone, median µs |"
    )
    print("|---|---|---|---|---|")
    for row in rows:
        print(
            f"| {row['engine']} | {row['direct_median']:.2f} ({row['direct_p95']:.2f}) "
            f"| {row['adapter_median']:.2f} ({row['adapter_p95']:.2f}) "
            f"| {row['adapter_median'] - row['direct_median']:+.2f} | {row['mapping_us']:.0f} |"
        )
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print()
    print(f"peak RSS {peak_mb:.0f} MB (all seven SDKs loaded)")


if __name__ == "__main__":
    main()
