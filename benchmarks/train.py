"""Seconds per step and peak memory of SFT and GRPO, and the share of GRPO time spent in the
rewards, for the ``tiny`` and ``smollm2`` models on the built-in dataset.

Each (model, stage) runs in its own process, so that its peak resident memory is its own.
The first ``--warmup`` steps are excluded from the step time (allocation, first
generation). Ratios are printed against the tiny model's SFT step measured in the same run,
and GRPO against SFT of the same model.

Usage::

    python benchmarks/train.py                       # tiny and smollm2, SFT and GRPO
    python benchmarks/train.py --models tiny --steps 10
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def child(model: str, stage: str, steps: int, warmup: int) -> dict:
    """Run ``warmup + steps`` steps of one stage; return the measurements."""
    from eemo_rewards.train.grpo import grpo_config, train_grpo
    from eemo_rewards.train.models import load_model
    from eemo_rewards.train.pipeline import JobSettings, builtin_splits, tokenizer_corpus
    from eemo_rewards.train.sft import sft_config, train_sft

    settings = JobSettings(n_images=140, sft_rows=64, grpo_rows=64, eval_rows=8)
    data = builtin_splits(settings)
    start = time.perf_counter()
    kwargs = {"corpus": tokenizer_corpus(data["sft"])} if model == "tiny" else {}
    bundle = load_model(model, **kwargs)
    build_s = time.perf_counter() - start
    total = warmup + steps
    out = Path(tempfile.mkdtemp(prefix=f"bench-{model}-{stage}-"))
    if stage == "sft":
        result = train_sft(
            bundle,
            data["sft"],
            args=sft_config(out, bundle=bundle, max_steps=total, per_device_train_batch_size=4,
                            save_strategy="no", logging_steps=1),
        )  # fmt: skip
    else:
        result = train_grpo(
            bundle,
            data["grpo"],
            args=grpo_config(out, bundle=bundle, max_steps=total, per_device_train_batch_size=8,
                             num_generations=4, max_completion_length=32, save_strategy="no"),
        )  # fmt: skip
    timed = result.step_seconds[warmup:]
    return {
        "model": model,
        "stage": stage,
        "parameters": sum(p.numel() for p in bundle.model.parameters()),
        "build_s": build_s,
        "s_per_step": statistics.median(timed),
        "step_s": timed,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "reward_s": result.reward_seconds,
        "train_s": result.train_seconds,
        "reward_share": result.reward_share,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--models", nargs="+", default=["tiny", "smollm2"])
    parser.add_argument("--stages", nargs="+", default=["sft", "grpo"])
    parser.add_argument("--steps", type=int, default=6)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--child", nargs=2, metavar=("MODEL", "STAGE"), help=argparse.SUPPRESS)
    parser.add_argument("--json", help="also write the results to this file")
    args = parser.parse_args()
    if args.child:
        print("RESULT " + json.dumps(child(*args.child, args.steps, args.warmup)), flush=True)
        return
    results = []
    for model in args.models:
        for stage in args.stages:
            command = [sys.executable, __file__, "--child", model, stage,
                       "--steps", str(args.steps), "--warmup", str(args.warmup)]  # fmt: skip
            done = subprocess.run(command, capture_output=True, text=True)
            lines = [ln for ln in done.stdout.splitlines() if ln.startswith("RESULT ")]
            if done.returncode or not lines:
                print(f"{model} {stage} failed:\n{done.stderr[-2000:]}", file=sys.stderr)
                continue
            results.append(json.loads(lines[-1][len("RESULT ") :]))
    if not results:
        raise SystemExit("no measurement succeeded")
    by = {(r["model"], r["stage"]): r for r in results}
    baseline = by.get(("tiny", "sft")) or results[0]
    print(
        f"{'model':<8} {'stage':<5} {'params':>11} {'s/step':>8} {'x base':>7} "
        f"{'x sft':>6} {'peak MB':>8} {'reward share':>13}"
    )
    for r in results:
        sft = by.get((r["model"], "sft"))
        vs_sft = r["s_per_step"] / sft["s_per_step"] if sft else float("nan")
        share = f"{r['reward_share']:.4%}" if r["stage"] == "grpo" else "-"
        print(
            f"{r['model']:<8} {r['stage']:<5} {r['parameters']:>11,} {r['s_per_step']:>8.3f} "
            f"{r['s_per_step'] / baseline['s_per_step']:>7.1f} {vs_sft:>6.1f} "
            f"{r['peak_rss_mb']:>8.0f} {share:>13}"
        )
    print(f"baseline: {baseline['model']} {baseline['stage']} {baseline['s_per_step']:.3f} s/step")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
