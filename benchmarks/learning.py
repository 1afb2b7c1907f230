"""Does GRPO add anything over SFT? SFT → GRPO against a compute-matched continued SFT.

For each seed, on the built-in dataset:

1. SFT a fresh tiny model on a few demonstrations (``--sft-rows``) of the training split;
2. GRPO from that checkpoint on the training prompts (the default reward spec);
3. control A: continue SFT from the same checkpoint, on the same demonstrations, for as many
   steps as fit in GRPO's CPU time (compute-matched);
4. control B: the same budget of continued SFT on the full labelled pool (every prompt GRPO
   saw, with its demonstration): what the labels alone can teach;

and evaluate every model on a held-out set of fresh images (a different data seed, so no
image was seen in training), greedy and sampled at the GRPO temperature. Prints a table of
mean ± standard deviation over seeds and writes ``learning.json``.

Compute is matched on process CPU seconds (``time.process_time``), which depends less than
wall time on other jobs sharing the machine.

Usage::

    nice python benchmarks/learning.py --seeds 0 1 --out runs/learning
    python benchmarks/learning.py --smoke     # a minute: every stage on a few rows (CI)

The learning rates are the main job's (:class:`~eemo_rewards.train.settings.JobSettings`)
unless ``--grpo-lr`` / ``--sft-lr`` say otherwise.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

from transformers import TrainerCallback

from eemo_rewards.train.grpo import grpo_config, train_grpo
from eemo_rewards.train.heldout import evaluate_with_settings
from eemo_rewards.train.models import load_model
from eemo_rewards.train.pipeline import JobSettings, builtin_splits, tokenizer_corpus
from eemo_rewards.train.sft import sft_config, train_sft

METRICS = ("reward_mean", "format_rate", "emotion_acc", "emotion_f1", "perception_acc")


def held_out(settings: JobSettings, n_images: int, seed: int):
    """Every QA row of ``n_images`` freshly generated images (data seed ``seed``)."""
    from eemo_rewards.data.builtin import generate_builtin
    from eemo_rewards.data.export import to_trl_dataset
    from eemo_rewards.data.qa import generate_qa

    records = generate_builtin(n_images=n_images, image_size=settings.image_size, seed=seed)
    qa = generate_qa(records, tasks=list(settings.tasks), seed=seed, think=settings.think)
    return to_trl_dataset(qa)


def evaluate_both(
    bundle, data, settings: JobSettings, label: str, log: dict, cache: Path | None = None
) -> dict:
    """Greedy and sampled metrics; with ``cache``, reuse ``<cache>/<label>.json`` when it
    exists (an interrupted benchmark picks up where it stopped)."""
    path = cache / f"{label}.json" if cache is not None else None
    if path is not None and path.exists():
        log[label] = json.loads(path.read_text())
        print(f"  eval {label:<18} reused {path}", flush=True)
        return log[label]
    out = {}
    for sample in (False, True):
        start = time.perf_counter()
        result = evaluate_with_settings(bundle, data, settings, sample=sample)
        decoding = "sampled" if sample else "greedy"
        out[decoding] = {k: result.metrics[k] for k in METRICS if k in result.metrics}
        print(
            f"  eval {label:<18} {decoding:<8} "
            + " ".join(f"{k}={v:.3f}" for k, v in out[decoding].items())
            + f"  ({time.perf_counter() - start:.0f}s)",
            flush=True,
        )
    log[label] = out
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(out, indent=1))
    return out


class CpuBudget(TrainerCallback):
    """Stop training once this process has used ``seconds`` of CPU time since it began."""

    def __init__(self, seconds: float):
        self.seconds = seconds
        self.start = 0.0

    def on_train_begin(self, args, state, control, **kwargs):
        self.start = time.process_time()

    def on_step_end(self, args, state, control, **kwargs):
        if time.process_time() - self.start >= self.seconds:
            control.should_training_stop = True


def run_seed(seed: int, args: argparse.Namespace, out: Path, heldout) -> dict:
    settings = JobSettings(
        tasks=tuple(args.tasks.split(",")),
        n_images=args.n_images,
        sft_rows=args.sft_rows,
        grpo_rows=args.grpo_rows,
        max_completion_length=args.max_completion_length,
        temperature=1.0,
        seed=seed,
        eval_batch_size=64,
    )
    data = builtin_splits(settings)
    log: dict = {"seed": seed, "counts": data["counts"]}
    base = load_model(
        "tiny", corpus=tokenizer_corpus(data["grpo"]), image_size=settings.image_size, seed=seed
    )
    folder = out / f"seed{seed}"

    evals = folder / "evals"
    sft_final = folder / "sft" / "final"
    if args.reuse and (sft_final / "eemo_model.json").exists():
        sft_bundle = load_model(sft_final)
        log["sft_train"] = {"reused": str(sft_final), "steps": args.sft_steps}
        print(f"seed {seed}: reusing {sft_final}", flush=True)
    else:
        cpu = time.process_time()
        sft = train_sft(
            base,
            data["sft"],
            args=sft_config(folder / "sft", bundle=base, max_steps=args.sft_steps,
                            per_device_train_batch_size=16, learning_rate=args.sft_lr,
                            seed=seed, save_steps=args.sft_steps),
            resume=False,
        )  # fmt: skip
        sft_cpu = time.process_time() - cpu
        sft_bundle = sft.bundle
        log["sft_train"] = {"cpu_s": sft_cpu, "wall_s": sft.train_seconds, "steps": args.sft_steps}
        print(f"seed {seed}: SFT {args.sft_steps} steps, {sft_cpu:.0f} CPU s", flush=True)
    evaluate_both(sft_bundle, heldout, settings, "sft", log, evals)

    policy = load_model(folder / "sft" / "final")
    cpu = time.process_time()
    grpo = train_grpo(
        policy,
        data["grpo"],
        spec=settings.spec,
        args=grpo_config(
            folder / "grpo",
            bundle=policy,
            max_steps=args.grpo_steps,
            per_device_train_batch_size=args.prompts_per_step * 8,
            num_generations=8,
            learning_rate=args.grpo_lr,
            max_completion_length=args.max_completion_length,
            temperature=1.0,
            beta=0.0,
            seed=seed,
            save_steps=args.grpo_steps,
        ),
        resume=False,
    )
    grpo_cpu = time.process_time() - cpu
    rewards = [r for r in grpo.metrics if "reward" in r]
    log["grpo_train"] = {
        "cpu_s": grpo_cpu,
        "wall_s": grpo.train_seconds,
        "steps": args.grpo_steps,
        "reward_first10": statistics.mean(r["reward"] for r in rewards[:10]),
        "reward_last10": statistics.mean(r["reward"] for r in rewards[-10:]),
        "zero_std_first10": statistics.mean(r["frac_reward_zero_std"] for r in rewards[:10]),
        "zero_std_last10": statistics.mean(r["frac_reward_zero_std"] for r in rewards[-10:]),
        "reward_share": grpo.reward_share,
    }
    print(
        f"seed {seed}: GRPO {args.grpo_steps} steps, {grpo_cpu:.0f} CPU s, {log['grpo_train']}",
        flush=True,
    )
    evaluate_both(grpo.bundle, heldout, settings, "grpo", log, evals)

    # compute-matched controls: continue SFT from the same checkpoint until this process
    # has spent as much CPU time as GRPO did
    controls = {"same": ("sft_more_same", data["sft"]), "full": ("sft_more_full", data["grpo"])}
    for key in args.controls.split(","):
        name, rows = controls[key]
        model = load_model(sft_final)
        more = train_sft(
            model,
            rows,
            args=sft_config(folder / name, bundle=model, max_steps=100_000,
                            per_device_train_batch_size=16, learning_rate=args.sft_lr,
                            seed=seed, save_strategy="no"),
            callbacks=[CpuBudget(grpo_cpu)],
            resume=False,
        )  # fmt: skip
        log[f"{name}_train"] = {"steps": more.global_step, "wall_s": more.train_seconds}
        print(f"seed {seed}: {name} {more.global_step} steps ({more.train_seconds:.0f} s wall)",
              flush=True)  # fmt: skip
        evaluate_both(more.bundle, heldout, settings, name, log, evals)
    (out / f"seed{seed}.json").write_text(json.dumps(log, indent=1, default=str))
    return log


def summarise(logs: list[dict]) -> dict:
    table: dict = {}
    for stage in ("sft", "grpo", "sft_more_same", "sft_more_full"):
        for decoding in ("greedy", "sampled"):
            for metric in METRICS:
                values = [log[stage][decoding].get(metric) for log in logs if stage in log]
                values = [v for v in values if v is not None]
                if not values:
                    continue
                spread = statistics.stdev(values) if len(values) > 1 else 0.0
                table[(stage, decoding, metric)] = (statistics.mean(values), spread, values)
    return table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--tasks", default="emotion")
    parser.add_argument("--n-images", type=int, default=2000)
    parser.add_argument("--heldout-images", type=int, default=1000)
    parser.add_argument("--sft-rows", type=int, default=128)
    parser.add_argument("--grpo-rows", type=int, default=4096)
    parser.add_argument("--sft-steps", type=int, default=250)
    parser.add_argument("--grpo-steps", type=int, default=120)
    parser.add_argument("--prompts-per-step", type=int, default=8)
    shipped = JobSettings()  # the one table of defaults
    parser.add_argument("--grpo-lr", type=float, default=shipped.grpo_learning_rate)
    parser.add_argument("--sft-lr", type=float, default=shipped.sft_learning_rate)
    parser.add_argument("--max-completion-length", type=int, default=24)
    parser.add_argument("--out", default="runs/learning")
    parser.add_argument(
        "--controls", default="same,full", help="which continued-SFT controls: same, full"
    )
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="reuse a finished SFT model and cached evaluations in --out",
    )
    parser.add_argument(
        "--combine",
        nargs="+",
        metavar="FOLDER",
        help="only summarise the seed*.json of earlier runs (seeds run as separate jobs)",
    )
    parser.add_argument("--smoke", action="store_true",
                        help="one seed, a few images, rows and steps: checks that every stage "
                        "runs (CI); its numbers are no evidence")  # fmt: skip
    args = parser.parse_args()
    if args.smoke:
        args.seeds, args.n_images, args.heldout_images = [0], 70, 7
        args.sft_rows, args.grpo_rows, args.sft_steps, args.grpo_steps = 16, 16, 2, 2
        args.prompts_per_step, args.max_completion_length, args.controls = 1, 8, "same"
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    if args.combine:
        logs = [
            json.loads(p.read_text())
            for folder in args.combine
            for p in sorted(Path(folder).glob("seed*.json"))
        ]
        report(logs, args, out, seconds=None)
        return
    settings = JobSettings(tasks=tuple(args.tasks.split(",")))
    heldout = held_out(settings, args.heldout_images, seed=10_000)
    print(f"held-out set: {len(heldout)} rows from {args.heldout_images} fresh images", flush=True)
    start = time.perf_counter()
    logs = [run_seed(seed, args, out, heldout) for seed in args.seeds]
    report(logs, args, out, seconds=time.perf_counter() - start)


def report(logs: list[dict], args: argparse.Namespace, out: Path, seconds: float | None) -> None:
    table = summarise(logs)
    took = f", {seconds:.0f} s" if seconds is not None else ""
    print(f"\n{len(logs)} seeds{took}; mean ± sd (values per seed)")
    for (stage, decoding, metric), (mean, spread, values) in table.items():
        if metric in ("emotion_acc", "reward_mean", "format_rate", "perception_acc"):
            shown = ", ".join(f"{v:.3f}" for v in values)
            print(f"{stage:<14} {decoding:<8} {metric:<15} {mean:.3f} ± {spread:.3f}  ({shown})")
    summary = {
        "args": vars(args),
        "seeds": logs,
        "table": [
            {"stage": s, "decoding": d, "metric": m, "mean": mean, "sd": sd, "values": v}
            for (s, d, m), (mean, sd, v) in table.items()
        ],
    }
    (out / "learning.json").write_text(json.dumps(summary, indent=1, default=str))


if __name__ == "__main__":
    main()
