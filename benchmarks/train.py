"""Seconds per step and peak memory of SFT and GRPO, and the share of GRPO time spent in the
rewards, for the ``tiny`` and ``smollm2`` models on the built-in dataset; and the same steps
on a plain TRL ``SFTTrainer`` / ``GRPOTrainer`` (same model, data, reward functions and
config, none of the project's callbacks, run folder or reward wrappers), so that the ratio
ours / plain TRL is what the project adds around TRL (target <= 1.05).

Each (model, stage, trainer) runs in its own process, so that its peak resident memory is its
own; ours and plain TRL take turns (ours, plain, plain, ours, ... over ``--repeats`` rounds)
so that load from other jobs hits both alike, and the ratio is of the medians of all their
timed steps. The first ``--warmup`` steps of each process are excluded (allocation, first
generation). Ratios are printed against the tiny model's SFT step measured in the same run,
and GRPO against SFT of the same model.

Usage::

    python benchmarks/train.py                       # tiny and smollm2, SFT and GRPO
    python benchmarks/train.py --models tiny --steps 10 --repeats 2
    python benchmarks/train.py --models tiny --trainers ours   # skip plain TRL
    python benchmarks/train.py --models tiny --stages grpo --profile   # where ours spends time
    python benchmarks/train.py --smoke               # seconds: tiny, 2 timed steps (CI)
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

sys.path.insert(0, str(Path(__file__).resolve().parent))


def child(model: str, stage: str, trainer: str, steps: int, warmup: int) -> dict:
    """Run ``warmup + steps`` steps of one stage on ``trainer`` (``"ours"``: the project's
    ``train_sft``/``train_grpo``; ``"plain"``: bare TRL); return the measurements."""
    from plain import StepClock, plain_grpo, plain_sft, throughput

    from eemo_rewards.train.common import lora_config
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
    out = Path(tempfile.mkdtemp(prefix=f"bench-{model}-{stage}-{trainer}-"))
    clock = StepClock()
    if stage == "sft":
        args = sft_config(out, bundle=bundle, max_steps=total, per_device_train_batch_size=4,
                          save_strategy="no", logging_steps=1)  # fmt: skip
    else:
        args = grpo_config(out, bundle=bundle, max_steps=total, per_device_train_batch_size=8,
                           num_generations=4, max_completion_length=32,
                           save_strategy="no")  # fmt: skip
    reward_s = reward_share = train_s = None
    if trainer == "ours":
        train = train_sft if stage == "sft" else train_grpo
        result = train(bundle, data[stage], args=args, callbacks=[clock])
        history = result.metrics
        reward_s, train_s = result.reward_seconds, result.train_seconds
        reward_share = result.reward_share
    else:
        # as train_sft/train_grpo with lora=None: full fine-tuning for tiny, LoRA otherwise
        peft = lora_config(bundle) if bundle.kind != "tiny" else None
        if stage == "sft":
            done = plain_sft(bundle, data["sft"], args, peft_config=peft, callbacks=[clock])
        else:
            done = plain_grpo(bundle, data["grpo"], args, peft_config=peft, callbacks=[clock])
        history = done.state.log_history
    measured = throughput(history, clock.times, warmup)
    return {
        "model": model,
        "stage": stage,
        "trainer": trainer,
        "parameters": sum(p.numel() for p in bundle.model.parameters()),
        "build_s": build_s,
        "s_per_step": measured["s_per_step"],
        "step_s": clock.times,
        "timed_s": clock.times[warmup:],
        "timed_cpu_s": clock.cpu_times[warmup:],
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "reward_s": reward_s,
        "train_s": train_s,
        "reward_share": reward_share,
    }


def profile_child(model: str, stage: str, trainer: str, steps: int, warmup: int) -> None:
    """cProfile one child run; print the functions with the most cumulative time that belong
    to this project (the overhead ours adds), then the top of the whole run."""
    import cProfile
    import io
    import pstats

    profiler = cProfile.Profile()
    profiler.enable()
    child(model, stage, trainer, steps, warmup)
    profiler.disable()
    text = io.StringIO()
    stats = pstats.Stats(profiler, stream=text).sort_stats("cumulative")
    stats.print_stats("eemo_rewards", 25)
    stats.print_stats(25)
    print(text.getvalue())


def _pooled(
    results: list[dict], model: str, stage: str, trainer: str, column: str = "timed_s"
) -> list[float]:
    return [
        s
        for r in results
        if (r["model"], r["stage"], r["trainer"]) == (model, stage, trainer)
        for s in r[column]
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--models", nargs="+", default=["tiny", "smollm2"])
    parser.add_argument("--stages", nargs="+", default=["sft", "grpo"])
    parser.add_argument("--trainers", nargs="+", default=["ours", "plain"],
                        choices=["ours", "plain"])  # fmt: skip
    parser.add_argument("--steps", type=int, default=6)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=1, help="rounds of ours/plain turns")
    parser.add_argument("--profile", action="store_true", help="cProfile one run of ours")
    parser.add_argument("--child", nargs=3, metavar=("MODEL", "STAGE", "TRAINER"),
                        help=argparse.SUPPRESS)  # fmt: skip
    parser.add_argument("--json", help="also write the results to this file")
    parser.add_argument("--smoke", action="store_true",
                        help="the tiny model, 2 timed steps after 1 warm-up: checks that the "
                        "benchmark runs (CI); its numbers are no evidence")  # fmt: skip
    args = parser.parse_args()
    if args.smoke:
        args.models, args.steps, args.warmup, args.repeats = ["tiny"], 2, 1, 1
        profile_child(args.models[0], args.stages[0], "ours", args.steps, args.warmup)
        return
    if args.child:
        print("RESULT " + json.dumps(child(*args.child, args.steps, args.warmup)), flush=True)
        return
    results = []
    for model in args.models:
        for stage in args.stages:
            order: list[str] = []
            for i in range(args.repeats):
                turn = list(args.trainers)
                order += turn if i % 2 == 0 else turn[::-1]
            for trainer in order:
                command = [sys.executable, __file__, "--child", model, stage, trainer,
                           "--steps", str(args.steps), "--warmup", str(args.warmup)]  # fmt: skip
                done = subprocess.run(command, capture_output=True, text=True)
                lines = [ln for ln in done.stdout.splitlines() if ln.startswith("RESULT ")]
                if done.returncode or not lines:
                    print(f"{model} {stage} {trainer} failed:\n{done.stderr[-2000:]}",
                          file=sys.stderr)  # fmt: skip
                    continue
                results.append(json.loads(lines[-1][len("RESULT ") :]))
    if not results:
        raise SystemExit("no measurement succeeded")
    rows: dict[tuple[str, str, str], dict] = {}
    for r in results:
        key = (r["model"], r["stage"], r["trainer"])
        pooled = _pooled(results, *key)
        row = rows.setdefault(key, dict(r))
        row["s_per_step"] = statistics.median(pooled)
        row["cpu_s_per_step"] = statistics.median(_pooled(results, *key, "timed_cpu_s"))
        row["peak_rss_mb"] = max(row["peak_rss_mb"], r["peak_rss_mb"])
    baseline = rows.get(("tiny", "sft", "ours")) or next(iter(rows.values()))
    print(
        f"{'model':<8} {'stage':<5} {'trainer':<7} {'params':>11} {'s/step':>8} {'x base':>7} "
        f"{'x sft':>6} {'peak MB':>8} {'reward share':>13} {'ours/TRL (fastest step)':>24}"
    )
    ratios = {}
    for (model, stage, trainer), r in rows.items():
        sft = rows.get((model, "sft", trainer))
        vs_sft = r["s_per_step"] / sft["s_per_step"] if sft else float("nan")
        share = f"{r['reward_share']:.4%}" if r.get("reward_share") is not None else "-"
        plain = rows.get((model, stage, "plain"))
        ratio = "-"
        if trainer == "ours" and plain:
            # load from other jobs only ever adds time: the fastest step of each side is the
            # least disturbed reading; medians (wall and CPU time) are printed beside it
            fastest = min(_pooled(results, model, stage, "ours")) / min(
                _pooled(results, model, stage, "plain")
            )
            ratios[f"{model} {stage} (fastest step)"] = fastest
            ratios[f"{model} {stage} (median)"] = r["s_per_step"] / plain["s_per_step"]
            ratios[f"{model} {stage} (median CPU time)"] = (
                r["cpu_s_per_step"] / plain["cpu_s_per_step"]
            )
            ratio = f"{fastest:.3f}"
        print(
            f"{model:<8} {stage:<5} {trainer:<7} {r['parameters']:>11,} {r['s_per_step']:>8.3f} "
            f"{r['s_per_step'] / baseline['s_per_step']:>7.1f} {vs_sft:>6.1f} "
            f"{r['peak_rss_mb']:>8.0f} {share:>13} {ratio:>24}"
        )
    print(f"baseline: {baseline['model']} {baseline['stage']} {baseline['s_per_step']:.3f} s/step")
    for key, ratio in ratios.items():
        verdict = "meets" if ratio <= 1.05 else "misses"
        print(f"{key}: ours / plain TRL = {ratio:.3f} ({verdict} the <= 1.05 target)")
    if args.json:
        Path(args.json).write_text(json.dumps({"runs": results, "ratios": ratios}, indent=1))


if __name__ == "__main__":
    main()
