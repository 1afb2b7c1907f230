"""The CUDA path on one GPU: the main job with the tiny model, and SFT/GRPO at Qwen2.5-VL-3B
size against plain TRL. Driven by ``benchmarks/gpu.sh``; every measurement is appended to
``<out>/results.jsonl`` as soon as it is taken, so a run cut short keeps its numbers.

Parts (each runs in its own process, so peak memory is its own)::

    python benchmarks/gpu.py prepare --data .gpudata          # here, on CPU (needs polars)
    python benchmarks/gpu.py env      --out OUT
    python benchmarks/gpu.py pipeline --out OUT --data .gpudata
    python benchmarks/gpu.py real-sft  --out OUT --data .gpudata
    python benchmarks/gpu.py real-grpo --out OUT --data .gpudata
    python benchmarks/gpu.py summary  --out OUT

``prepare`` builds the built-in datasets (84 px for the tiny job, 448 px for the real-size
runs) and saves them with ``datasets.save_to_disk``, images embedded: the GPU machine then
needs neither polars nor the data layer's image generator. ``--device cpu --smoke`` runs
every part here with shrunk sizes (a couple of minutes on 2 cores).

- ``pipeline``: :func:`eemo_rewards.train.pipeline.run_job` (SFT → GRPO → held-out
  evaluation) with the tiny model and the CUDA defaults (bf16); s/step per stage, peak memory
  per stage, and the evaluation's metrics.
- ``real-sft`` / ``real-grpo``: a random-initialised model of Qwen2.5-VL-3B's shape
  (``benchmarks/shapes.py``), bf16, the EEmo-Logic LoRA preset (r 64, alpha 64, dropout
  0.05, language model and vision tower), gradient checkpointing, 448 × 448 images; GRPO
  with 256-token completions and 8 generations per prompt. Each is timed through the
  project's ``train_sft`` / ``train_grpo`` and then through a plain TRL trainer with the same
  model (rebuilt from the same seed), data, reward functions and config; the ratio
  ours / plain is what the project's callbacks, logging and run folder cost.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import resource
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from plain import JsonLines, StepClock, plain_grpo, plain_sft, throughput

# Sizes of a GPU run (full) and of a CPU smoke run; the tiny job's recipe is otherwise the
# main job's (JobSettings' defaults, the one table)
SIZES = {
    "full": {
        "tiny_job": {"n_images": 140, "sft_rows": 256, "grpo_rows": 128, "eval_rows": 64,
                     "sft_steps": 40, "grpo_steps": 12, "save_steps": 6},
        "real_images": 64, "image_size": 448,
        "sft": {"batch": 8, "steps": 5, "warmup": 1},
        "grpo": {"prompts": 2, "generations": 8, "completion": 256, "steps": 4, "warmup": 1},
    },
    "smoke": {
        "tiny_job": {"n_images": 28, "sft_rows": 16, "grpo_rows": 8, "eval_rows": 4,
                     "sft_steps": 3, "sft_batch_size": 4, "grpo_steps": 2,
                     "num_generations": 2, "prompts_per_step": 2, "max_completion_length": 8,
                     "eval_batch_size": 4, "save_steps": 1},
        "real_images": 14, "image_size": 448,
        "sft": {"batch": 2, "steps": 3, "warmup": 1},
        "grpo": {"prompts": 1, "generations": 2, "completion": 16, "steps": 3, "warmup": 1},
    },
}  # fmt: skip

PREPARED = {"tiny": "tiny", "real": "real"}


# --------------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------------
def _device(name: str) -> str:
    import torch

    if name == "cuda" and not torch.cuda.is_available():
        raise SystemExit("--device cuda: no CUDA device is visible; use --device cpu --smoke")
    return name


def _sync(device: str):
    if device != "cuda":
        return None
    import torch

    return torch.cuda.synchronize


def _reset_peak(device: str) -> None:
    if device == "cuda":
        import torch

        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()


def _peak(device: str) -> dict[str, float]:
    """Peak memory since the last reset: GPU allocated/reserved, or the process's peak RSS."""
    if device == "cuda":
        import torch

        torch.cuda.synchronize()
        return {
            "peak_gpu_allocated_gib": torch.cuda.max_memory_allocated() / 2**30,
            "peak_gpu_reserved_gib": torch.cuda.max_memory_reserved() / 2**30,
        }
    return {"peak_rss_gib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20}


def _free(device: str) -> None:
    gc.collect()
    if device == "cuda":
        import torch

        torch.cuda.empty_cache()


def _job_settings(data: Path, sizes: dict) -> Any:
    from eemo_rewards.train.pipeline import JobSettings

    return JobSettings(**{**sizes["tiny_job"], "image_size": 84})


def _load_split(data: Path, group: str, split: str) -> Any:
    import datasets

    folder = data / group / split
    if not folder.is_dir():
        raise SystemExit(
            f"{folder} is missing: run `python benchmarks/gpu.py prepare --data {data}` on a "
            "machine with the data layer (polars) first, and carry the folder"
        )
    return datasets.load_from_disk(str(folder))


def _embedded(dataset: Any) -> Any:
    # images are stored by path until embedded; the GPU machine has no such paths
    from datasets.table import embed_table_storage

    fmt = dataset.format
    dataset = dataset.with_format("arrow").map(embed_table_storage, batched=True)
    return dataset.with_format(**fmt)


# --------------------------------------------------------------------------------------------
# parts
# --------------------------------------------------------------------------------------------
def prepare(data: Path, size: str) -> None:
    """Build and save the datasets every other part reads (runs where polars is installed)."""
    import shutil

    from eemo_rewards.train.pipeline import JobSettings, builtin_splits

    sizes = SIZES[size]
    with tempfile.TemporaryDirectory() as cache:
        jobs = {
            "tiny": _job_settings(data, sizes),
            "real": JobSettings(
                n_images=sizes["real_images"],
                image_size=sizes["image_size"],
                sft_rows=256,
                grpo_rows=64,
                eval_rows=8,
            ),
        }
        for group, settings in jobs.items():
            splits = builtin_splits(settings, cache_dir=cache)
            target = data / group
            if target.exists():
                shutil.rmtree(target)
            for split in ("sft", "grpo", "test"):
                _embedded(splits[split]).save_to_disk(str(target / split))
            (target / "counts.json").write_text(json.dumps(splits["counts"], indent=1))
            (target / "settings.json").write_text(json.dumps(settings.to_dict(), default=str))
            print(f"prepared {target}: {splits['counts']}")


def env(log: JsonLines, device: str) -> None:
    import importlib.metadata as md

    import torch

    versions = {}
    for name in ("torch", "transformers", "trl", "peft", "accelerate", "datasets", "pyarrow",
                 "tokenizers", "huggingface-hub", "numpy", "pillow"):  # fmt: skip
        try:
            versions[name] = md.version(name)
        except md.PackageNotFoundError:
            versions[name] = None
    record = {
        "kind": "env",
        "python": platform.python_version(),
        "versions": versions,
        "device": device,
        "polars_importable": _importable("polars"),
    }
    if device == "cuda":
        props = torch.cuda.get_device_properties(0)
        record.update(
            gpu=props.name,
            gpu_memory_gib=props.total_memory / 2**30,
            cuda=torch.version.cuda,
            bf16_supported=torch.cuda.is_bf16_supported(),
        )
    log.emit(record)
    print(json.dumps(record, indent=1))


def _importable(name: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(name) is not None


def pipeline(log: JsonLines, device: str, data: Path, work: Path, size: str) -> None:
    """The main job with the tiny model: SFT → GRPO → held-out evaluation."""
    from eemo_rewards.train.pipeline import run_job

    settings = _job_settings(data, SIZES[size])
    settings.runs_dir = str(work / "runs")
    splits = {s: _load_split(data, "tiny", s) for s in ("sft", "grpo", "test")}
    splits["counts"] = json.loads((data / "tiny" / "counts.json").read_text())
    state = {"stage": None, "last": None}

    def progress(stage: str, step: int, total: int) -> None:
        now = time.perf_counter()
        if stage != state["stage"]:
            if state["stage"] in ("sft", "grpo"):
                log.emit({"kind": "stage_peak", "stage": state["stage"], **_peak(device)})
            _reset_peak(device)
            state["stage"], state["last"] = stage, now
            return
        if stage in ("sft", "grpo") and step > 0:
            log.emit({"kind": "step", "stage": stage, "step": step, "s": now - state["last"]})
        state["last"] = now

    _reset_peak(device)
    start = time.perf_counter()
    result = run_job(settings, data=splits, progress=progress, resume=False)
    wall = time.perf_counter() - start
    log.emit({"kind": "stage_peak", "stage": state["stage"], **_peak(device)})
    import torch

    stages = {}
    for stage in ("sft", "grpo"):
        trained = result[stage]
        if trained is None:
            continue
        model = trained.bundle.model
        stages[stage] = {
            **throughput(trained.metrics, trained.step_seconds, 1),
            "model_device": str(next(model.parameters()).device),
            "bf16_args": bool(_saved_args(trained.run.path).get("bf16")),
            "reward_share": trained.reward_share if stage == "grpo" else None,
        }
    evaluation = [{k: v for k, v in row.items() if k != "examples"} for row in result["eval"]]
    record = {
        "kind": "pipeline",
        "model": "tiny",
        "settings": settings.to_dict(),
        "seconds": result["seconds"],
        "wall_s": wall,
        "stages": stages,
        "eval": evaluation,
        "eval_rows": len(splits["test"]),
        "cuda_available": torch.cuda.is_available(),
    }
    log.emit(record)
    print(json.dumps({k: record[k] for k in ("seconds", "stages")}, indent=1, default=str))
    for row in evaluation:
        print(f"eval {row['stage']} {row['decoding']}: {row.get('reward_mean')}")


def _saved_args(run: Path) -> dict[str, Any]:
    return json.loads((run / "config.json").read_text())["args"]


def _corpus(data: Path) -> list[str]:
    from eemo_rewards.train.pipeline import tokenizer_corpus

    return tokenizer_corpus(_load_split(data, "real", "sft"))


def _shaped(corpus: list[str], device: str, size: str) -> Any:
    import torch
    from shapes import build_shaped

    smoke = size == "smoke"
    # bf16 on the GPU; float32 on a CPU (its bf16 matmuls are slow and lossy)
    dtype = torch.bfloat16 if device == "cuda" else torch.float32
    start = time.perf_counter()
    bundle = build_shaped(
        corpus, image_size=SIZES[size]["image_size"], device=device, dtype=dtype, smoke=smoke
    )
    if device == "cuda":
        torch.cuda.synchronize()
    bundle.info["build_s"] = time.perf_counter() - start
    return bundle


def _describe(bundle: Any) -> dict[str, Any]:
    model = bundle.model
    params = sum(p.numel() for p in model.parameters())
    vision = sum(p.numel() for p in model.model.visual.parameters())
    return {
        "parameters": params,
        "vision_parameters": vision,
        "dtype": str(next(model.parameters()).dtype),
        "build_s": bundle.info.get("build_s"),
    }


def _trainable(model: Any) -> int:
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def real(log: JsonLines, device: str, data: Path, work: Path, size: str, stage: str) -> None:
    """SFT or GRPO at real size, ours then plain TRL; one record per trainer, then the ratio."""
    from eemo_rewards.train.common import checkpointing_field, lora_config

    sizes = SIZES[size][stage]
    split = _load_split(data, "real", "sft" if stage == "sft" else "grpo")
    corpus = _corpus(data)
    total = sizes["warmup"] + sizes["steps"]
    common: dict[str, Any] = {
        "max_steps": total,
        "save_strategy": "no",
        "logging_steps": 1,
        checkpointing_field(): True,
        "seed": 0,
    }
    if stage == "sft":
        from eemo_rewards.train.sft import sft_config as make_config
        from eemo_rewards.train.sft import train_sft

        common.update(per_device_train_batch_size=sizes["batch"])
        rows = sizes["batch"] * total
    else:
        from eemo_rewards.train.grpo import grpo_config as make_config
        from eemo_rewards.train.grpo import train_grpo

        common.update(
            per_device_train_batch_size=sizes["prompts"] * sizes["generations"],
            num_generations=sizes["generations"],
            max_completion_length=sizes["completion"],
        )
        rows = sizes["prompts"] * total
    split = split.select(range(min(rows, len(split))))
    results: dict[str, dict] = {}
    for trainer_name in ("ours", "plain"):
        bundle = _shaped(corpus, device, size)
        described = _describe(bundle)
        args = make_config(work / f"{stage}-{trainer_name}", bundle=bundle, **common)
        clock = StepClock(log, sync=_sync(device), stage=f"real-{stage}", trainer=trainer_name)
        _reset_peak(device)
        start = time.perf_counter()
        if trainer_name == "ours":
            settings = {"preset": "eemo-logic"}
            if stage == "sft":
                done = train_sft(bundle, split, args=args, lora=True, lora_settings=settings,
                                 callbacks=[clock], resume=False)  # fmt: skip
            else:
                done = train_grpo(bundle, split, args=args, lora=True, lora_settings=settings,
                                  callbacks=[clock], resume=False)  # fmt: skip
            history = done.metrics
            trainable = None
        else:
            peft = lora_config(bundle, preset="eemo-logic")
            if stage == "sft":
                trainer = plain_sft(bundle, split, args, peft_config=peft, callbacks=[clock])
            else:
                trainer = plain_grpo(bundle, split, args, peft_config=peft, callbacks=[clock])
            history = trainer.state.log_history
            trainable = _trainable(trainer.model)
            done = trainer
        wall = time.perf_counter() - start
        record = {
            "kind": "real",
            "stage": stage,
            "trainer": trainer_name,
            "model": described,
            "lora_trainable": trainable,
            "wall_s": wall,
            "sizes": sizes,
            "image_size": SIZES[size]["image_size"],
            "image_tokens": bundle.info["image_tokens"],
            "gradient_checkpointing": bool(getattr(args, checkpointing_field())),
            "bf16": bool(args.bf16),
            **throughput(history, clock.times, sizes["warmup"]),
            **_peak(device),
        }
        results[trainer_name] = log.emit(record)
        print(
            f"real {stage} {trainer_name}: {record['s_per_step']:.3f} s/step, "
            f"{record.get('tokens_per_s', float('nan')):.0f} tokens/s, wall {wall:.1f} s"
        )
        del done, bundle
        _free(device)
    ours, plain = results["ours"]["s_per_step"], results["plain"]["s_per_step"]
    ratio = ours / plain if ours and plain else None
    timed = [results[t]["step_s"][sizes["warmup"] :] for t in ("ours", "plain")]
    fastest = min(timed[0]) / min(timed[1]) if all(timed) else None
    log.emit({"kind": "ratio", "stage": f"real-{stage}", "ours_over_plain": ratio,
              "fastest_step_ratio": fastest})  # fmt: skip
    print(f"real {stage}: ours / plain TRL step time = {ratio:.3f} (median), "
          f"{fastest:.3f} (fastest step)")  # fmt: skip


def summary(out: Path) -> str:
    """A markdown table of ``results.jsonl`` (what benchmarks/README.md's table holds)."""
    path = out / "results.jsonl"
    if not path.exists():
        raise SystemExit(f"{path} does not exist: no part wrote a measurement")
    records = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    lines = []
    envs = [r for r in records if r["kind"] == "env"]
    if envs:
        e = envs[-1]
        v = e["versions"]
        lines.append(
            f"{time.strftime('%Y-%m-%d', time.gmtime(e['time']))}, {e.get('gpu', e['device'])}, "
            f"torch {v['torch']}, transformers {v['transformers']}, trl {v['trl']}, "
            f"peft {v['peft']}, CUDA {e.get('cuda')}"
        )
        lines.append("")
    lines.append("| model | stage | trainer | s/step | tokens/s | peak memory GiB | ours / TRL |")
    lines.append("| --- | --- | --- | --- | --- | --- | --- |")
    ratios = {r["stage"]: r["ours_over_plain"] for r in records if r["kind"] == "ratio"}

    def mem(r: dict) -> str:
        value = r.get("peak_gpu_allocated_gib", r.get("peak_rss_gib"))
        return f"{value:.1f}" if value is not None else "-"

    def num(value: Any, fmt: str) -> str:
        return format(value, fmt) if isinstance(value, int | float) else "-"

    for r in records:
        if r["kind"] == "pipeline":
            peaks = {p["stage"]: p for p in records if p["kind"] == "stage_peak"}
            for stage, s in r["stages"].items():
                lines.append(
                    f"| tiny | {stage} | ours (run_job) | {num(s['s_per_step'], '.3f')} | "
                    f"{num(s.get('tokens_per_s'), '.0f')} | {mem(peaks.get(stage, {}))} | - |"
                )
        if r["kind"] == "real":
            ratio = ratios.get(f"real-{r['stage']}") if r["trainer"] == "ours" else None
            lines.append(
                f"| Qwen2.5-VL-3B shape | {r['stage']} | {r['trainer']} | "
                f"{num(r['s_per_step'], '.3f')} | {num(r.get('tokens_per_s'), '.0f')} | "
                f"{mem(r)} | {num(ratio, '.3f')} |"
            )
    evals = [r for r in records if r["kind"] == "pipeline"]
    if evals:
        lines.append("")
        for row in evals[-1]["eval"]:
            lines.append(
                f"held-out eval {row['stage']} ({row['decoding']}): "
                f"{evals[-1]['eval_rows']} rows, reward_mean {num(row.get('reward_mean'), '.3f')}, "
                f"{num(row.get('seconds'), '.1f')} s"
            )
    text = "\n".join(lines)
    (out / "summary.md").write_text(text + "\n")
    return text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "part", choices=["prepare", "env", "pipeline", "real-sft", "real-grpo", "summary"]
    )
    parser.add_argument("--out", type=Path, default=Path("gpu-results"))
    parser.add_argument("--data", type=Path, default=Path(".gpudata"))
    parser.add_argument("--work", type=Path, default=None, help="run folders (default: temp)")
    parser.add_argument("--device", choices=["cuda", "cpu"], default="cuda")
    parser.add_argument("--smoke", action="store_true", help="shrunk sizes for a CPU check")
    args = parser.parse_args()
    size = "smoke" if args.smoke else "full"
    if args.part == "prepare":
        prepare(args.data, size)
        return
    if args.part == "summary":
        print(summary(args.out))
        return
    device = _device(args.device)
    if device == "cpu":
        os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")
    work = args.work or Path(tempfile.mkdtemp(prefix="eemo-gpu-"))
    log = JsonLines(args.out / "results.jsonl", part=args.part, size=size)
    if args.part == "env":
        env(log, device)
    elif args.part == "pipeline":
        pipeline(log, device, args.data, work, size)
    else:
        real(log, device, args.data, work, size, args.part.removeprefix("real-"))


if __name__ == "__main__":
    main()
