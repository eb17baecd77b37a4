"""fp32 against int8 encoder: embedding agreement on real sentences and speed, measured side by side.

    PYTHONPATH=src python bench/bench_encoder_precision.py [--sentences 400] [--rounds 3]

Needs both ``minilm-l6-v2`` and ``minilm-l6-v2-int8`` prepared (``airisk models prepare``).
Cosine similarity is between the fp32 and int8 embeddings of the same text, on sentences
drawn from ``../shared/data`` (prompt injection, NotInject, toxicity, topics). Speed runs
alternate between the two precisions so both see the same machine load; medians are printed.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

from bench_models import PROMPT_500  # noqa: E402

SOURCES = (
    "prompt_injection/deepset.jsonl",
    "prompt_injection/notinject.jsonl",
    "toxicity/davidson_twitter.jsonl",
    "topics/clinc150_trainval.jsonl",
)


def shared_data() -> Path:
    for parent in ROOT.parents:
        if (parent / "shared" / "data").is_dir():
            return parent / "shared" / "data"
    return ROOT.parent / "shared" / "data"


def sentences(data: Path, count: int) -> list[str]:
    texts = []
    for name in SOURCES:
        path = data / name
        if path.is_file():
            for line in path.read_text(encoding="utf-8").splitlines():
                text = json.loads(line).get("text") if line.strip() else None
                if text:
                    texts.append(str(text))
    random.Random(0).shuffle(texts)
    return texts[:count]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=shared_data())
    parser.add_argument("--sentences", type=int, default=400)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--batch", type=int, default=300)
    args = parser.parse_args()

    import numpy as np

    from airisk.models import encoder as enc
    from airisk.pipeline import ScannerPipeline
    from airisk.scanners.prompt_injection import PromptInjection

    encoders = {precision: enc.TextEncoder(precision=precision) for precision in ("fp32", "int8")}
    texts = sentences(args.data, args.sentences)
    fp32, int8 = (encoders[p].encode(texts) for p in ("fp32", "int8"))
    cosine = (fp32 * int8).sum(axis=1) / np.linalg.norm(fp32, axis=1) / np.linalg.norm(int8, axis=1)
    print(f"cosine(fp32, int8) over {len(texts)} real sentences: mean {cosine.mean():.4f}, "
          f"p1 {np.percentile(cosine, 1):.4f}, min {cosine.min():.4f}")
    for precision in ("fp32", "int8"):
        size = os.path.getsize(encoders[precision].path / "model.onnx") / 1e6
        print(f"{precision}: model.onnx {size:.1f} MB")

    prompts = [f"#{i} {PROMPT_500}"[:500] for i in range(args.batch)]
    encode_rates: dict[str, list[float]] = {"fp32": [], "int8": []}
    scan_rates: dict[str, list[float]] = {"fp32": [], "int8": []}
    scanner = PromptInjection()
    pipeline = ScannerPipeline(input=[scanner])
    for encoder in encoders.values():
        encoder.encode(prompts[:16])
    for _ in range(args.rounds):
        for precision, encoder in encoders.items():
            started = time.perf_counter()
            encoder.encode(prompts)
            encode_rates[precision].append(len(prompts) / (time.perf_counter() - started))
            enc._ENCODER = encoder  # the process-wide encoder the scanners use
            started = time.perf_counter()
            pipeline.scan_many(prompts)
            scan_rates[precision].append(len(prompts) / (time.perf_counter() - started))
    enc._ENCODER = None
    for precision in ("fp32", "int8"):
        print(f"{precision}: encoder {statistics.median(encode_rates[precision]):.0f} prompts/s, "
              f"scan_many([prompt_injection]) {statistics.median(scan_rates[precision]):.0f} prompts/s "
              f"(500-char prompts, median of {args.rounds})")
    print(f"load average during the run: {os.getloadavg()[0]:.2f} (2 cores)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
