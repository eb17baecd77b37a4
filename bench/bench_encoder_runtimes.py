"""The encoder's cost per 500-character window on one thread, per runtime and precision.

    PYTHONPATH=src python bench/bench_encoder_runtimes.py [--runs 200] [--sentences 300]

Not the shipped path (that is ``bench_encoder_precision.py``): this measures what a faster
runtime would buy, because the default pipeline's throughput is bounded by the encoder's CPU
time. Always onnxruntime fp32 and int8 (the prepared artifacts); if the ``openvino`` package is
installed, also OpenVINO running the fp32 ONNX file with its f32 and bf16 inference precision
(bf16 runs natively only on CPUs with AMX or AVX512-BF16). Agreement is the cosine similarity
with onnxruntime fp32 over real sentences from ``../shared/data``; timings alternate between
the runtimes so all see the same machine load.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

from bench_encoder_precision import sentences, shared_data  # noqa: E402
from bench_models import PROMPT_500  # noqa: E402


def cpu_flags() -> str:
    try:
        flags = next(line for line in Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("flags"))
    except (OSError, StopIteration):
        return "unknown"
    wanted = ("avx2", "avx512f", "avx512_vnni", "avx_vnni", "avx512_bf16", "amx_bf16", "amx_int8")
    return " ".join(flag for flag in wanted if f" {flag}" in flags) or "none of AVX2/AVX512/VNNI/AMX"


def feed(tokenizer: Any, text: str) -> dict[str, Any]:
    import numpy as np

    ids = tokenizer.encode(text).ids[:256]
    return {
        "input_ids": np.array([ids], dtype=np.int64),
        "attention_mask": np.ones((1, len(ids)), dtype=np.int64),
        "token_type_ids": np.zeros((1, len(ids)), dtype=np.int64),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--sentences", type=int, default=300)
    args = parser.parse_args()

    import numpy as np
    import onnxruntime
    from tokenizers import Tokenizer

    from airisk.models import status

    fp32_dir, int8_dir = (status(name).path for name in ("minilm-l6-v2", "minilm-l6-v2-int8"))
    if fp32_dir is None or int8_dir is None:
        print("prepare the encoders first: airisk models prepare")
        return 1
    tokenizer = Tokenizer.from_file(str(fp32_dir / "tokenizer.json"))
    runners: dict[str, Callable[[dict[str, Any]], Any]] = {}
    for label, directory in (("onnxruntime fp32", fp32_dir), ("onnxruntime int8", int8_dir)):
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = 1
        path = str(directory / "model.onnx")
        session = onnxruntime.InferenceSession(path, options, providers=["CPUExecutionProvider"])
        runners[label] = lambda inputs, session=session: session.run(None, inputs)[0]
    try:
        import openvino
    except ImportError:
        print("openvino not installed: onnxruntime only (pip install openvino to compare)")
    else:
        core = openvino.Core()
        model = core.read_model(str(fp32_dir / "model.onnx"))
        for precision in ("f32", "bf16"):
            compiled = core.compile_model(
                model, "CPU", {"INFERENCE_NUM_THREADS": "1", "INFERENCE_PRECISION_HINT": precision}
            )
            request = compiled.create_infer_request()
            runners[f"openvino {precision}"] = lambda inputs, request=request: next(
                iter(request.infer(inputs).values())
            ).copy()

    window = feed(tokenizer, PROMPT_500)
    print(f"CPU: {cpu_flags()}; one window of {window['input_ids'].shape[1]} tokens, one thread, {args.runs} runs")
    texts = sentences(shared_data(), args.sentences)
    reference = np.vstack([runners["onnxruntime fp32"](feed(tokenizer, text)) for text in texts])
    times: dict[str, list[float]] = {label: [] for label in runners}
    for _ in range(5):
        for run in runners.values():
            run(window)
    for _ in range(args.runs):
        for label, run in runners.items():
            started = time.perf_counter()
            run(window)
            times[label].append((time.perf_counter() - started) * 1000)
    print("\n| runtime | median ms | windows/s per core | cosine with fp32: mean / min |\n|---|---|---|---|")
    for label, run in runners.items():
        vectors = np.vstack([run(feed(tokenizer, text)) for text in texts])
        cosine = (vectors * reference).sum(axis=1) / np.linalg.norm(vectors, axis=1) / np.linalg.norm(reference, axis=1)
        median = statistics.median(times[label])
        print(f"| {label} | {median:.2f} | {1000 / median:.0f} | {cosine.mean():.5f} / {cosine.min():.5f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
