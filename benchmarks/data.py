"""Scale benchmark of the data layer: streamed QA generation and lazy subset selection.

EEmoDB-QA holds about 1.2 M QA pairs generated from about 125 k images. This benchmark writes
synthetic annotation records (EEmo-Bench-7 top-3 rankings with votes, V/A/D on the 1–9
scale) to parquet, streams QA from them to parquet with :func:`eemo_rewards.data.qa.write_qa`
(records read lazily, one chunk of records in memory at a time), and selects a subset of the
written file with :func:`eemo_rewards.data.subset.build_subset` reading it lazily. Each phase
runs in a fresh subprocess, so its peak resident memory is its own, under a watchdog that
kills it above ``--max-rss-mb`` (polars ignores address-space limits, so the cap is enforced
by polling the child's resident memory).

Ratios are against references measured in the same invocation, since the machine is shared:

- a baseline that writes one question per record with a plain Python loop over rows (the
  approach vectorisation replaces), per output row: the median of three rounds right before
  and three right after each measured run;
- the reference scale (``--reference``, EEmoDB's 125 k records) when ``--records`` is larger:
  time should grow linearly (≤ 1.2 × the record ratio) and memory not at all.

Usage::

    python benchmarks/data.py                    # 125 000 records (about 1.4 M QA rows)
    python benchmarks/data.py --records 1250000  # ten times EEmoDB, with the 125 k reference
    python benchmarks/data.py --in-memory        # also time generate_qa at the reference scale
    python benchmarks/data.py --smoke            # seconds: every phase on a few thousand records
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import signal
import statistics
import subprocess
import sys
import tempfile
import time

# Targets of the data layer (EEmoDB scale and ten times it).
TARGET_REFERENCE_MB = 1024.0  # the reference (EEmoDB-sized) streamed run
TARGET_LARGE_MB = 4096.0  # any larger streamed run
TARGET_LINEARITY = 1.2  # time ratio ≤ 1.2 × record ratio (12× for ten times the records)
TARGET_VS_BASELINE = 3.0  # per QA row, at least this many times faster than the Python loop
TARGET_SUBSET_S = 2.0  # subset selection at the reference scale
SYNTHETIC_BATCH = 125_000  # records written per batch, so the records phase stays small


def synthetic_records(n: int, seed: int = 0, start: int = 0):
    """``n`` annotation records shaped like EEmo-Bench's (no images), ids from ``start``."""
    import numpy as np
    import polars as pl

    from eemo_rewards.data.labels import TAXONOMY_LABELS, VAD_NORMS

    labels = np.array(TAXONOMY_LABELS["eemo_bench7"])
    rng = np.random.default_rng([seed, start])
    # Top three distinct emotions per image: argsort of random scores.
    top = np.argsort(rng.random((n, len(labels))), axis=1)[:, :3]
    ranking = labels[top]
    norms = np.array([VAD_NORMS[x] for x in labels])
    vad = np.clip(norms[top[:, 0]] + rng.normal(0, 1, (n, 3)), 1, 9).round(2)
    votes = np.sort(rng.integers(5, 60, (n, 3)), axis=1)[:, ::-1].astype(float)
    index = pl.int_range(start, start + n, eager=True).cast(pl.String).str.zfill(7)
    return pl.DataFrame(
        {
            "id": "img" + index,
            "image_path": "images/img" + index + ".jpg",
            "source": "synthetic",
            "taxonomy": "eemo_bench7",
            "emotions": ranking.tolist(),
            "votes": votes.tolist(),
            "ranking": ranking.tolist(),
            "emotion": ranking[:, 0],
            "valence": vad[:, 0],
            "arousal": vad[:, 1],
            "dominance": vad[:, 2],
            "vad_scale": "1-9",
            "content": rng.choice(["animal", "human", "landscape", "object"], n),
        }
    )


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def phase_records(n: int, path: str) -> dict:
    """Write ``n`` synthetic records to parquet, a batch at a time."""
    import pyarrow.parquet as pq

    writer = None
    for start in range(0, n, SYNTHETIC_BATCH):
        table = synthetic_records(min(SYNTHETIC_BATCH, n - start), start=start).to_arrow()
        writer = writer or pq.ParquetWriter(path, table.schema)
        writer.write_table(table)
    if writer is not None:
        writer.close()
    return {"records": n, "peak_mb": _peak_mb()}


def phase_stream(records_path: str, path: str, chunk_records: int) -> dict:
    from eemo_rewards.data.qa import write_qa

    start, cpu = time.perf_counter(), time.process_time()
    out = write_qa(records_path, path, seed=0, chunk_records=chunk_records)
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    return {
        "records": out.n_records,
        "qa_rows": out.n_rows,
        "quarantined": out.n_quarantined,
        "seconds": seconds,
        "cpu_seconds": cpu,
        "peak_mb": _peak_mb(),
    }


def phase_in_memory(records_path: str, chunk_records: int) -> dict:
    import polars as pl

    from eemo_rewards.data.qa import generate_qa

    records = pl.read_parquet(records_path)
    start, cpu = time.perf_counter(), time.process_time()
    qa = generate_qa(records, seed=0, chunk_records=chunk_records)
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    return {
        "records": records.height,
        "qa_rows": qa.height,
        "seconds": seconds,
        "cpu_seconds": cpu,
        "peak_mb": _peak_mb(),
    }


def phase_subset(path: str, repeats: int, eager: bool) -> dict:
    """build_subset on the QA file read lazily, or (``eager``) on the table read beforehand."""
    import polars as pl

    from eemo_rewards.data.subset import build_subset

    qa = pl.read_parquet(path) if eager else pl.scan_parquet(path)
    times, cpus = [], []
    for _ in range(repeats):  # best of several: the machine is shared
        start, cpu = time.perf_counter(), time.process_time()
        subset = build_subset(
            qa,
            tasks=["multiple_choice", "yes_no", "emotion", "ranking", "assessment"],
            cap_per_class=20_000,
            split_fractions={"train": 0.9, "val": 0.05, "test": 0.05},
            seed=0,
        )
        times.append(time.perf_counter() - start)
        cpus.append(time.process_time() - cpu)
    return {
        "input_rows": subset.manifest["n_input"],
        "output_rows": subset.frame.height,
        "seconds": min(times),
        "seconds_all": times,
        "cpu_seconds": min(cpus),
        "peak_mb": _peak_mb(),
    }


def phase_baseline(n: int, repeats: int) -> dict:
    """One dominant-emotion question per record, built by a Python loop over rows (the
    median of ``repeats`` rounds)."""
    records = synthetic_records(n)
    times, cpus = [], []
    for _ in range(repeats):
        start, cpu = time.perf_counter(), time.process_time()
        rows = []
        for rec in records.iter_rows(named=True):
            options = [
                rec["emotion"],
                *[x for x in ("joy", "fear", "anger") if x != rec["emotion"]],
            ]
            rows.append(
                {
                    "id": f"{rec['id']}/emotion",
                    "question": "What is the dominant emotion? "
                    + " ".join(f"{'ABCD'[i]}. {o}" for i, o in enumerate(options)),
                    "solution": "A",
                    "valence": f"valence: {(rec['valence'] - 1) / 8:.2f}",
                }
            )
        times.append(time.perf_counter() - start)
        cpus.append(time.process_time() - cpu)
    middle = len(times) // 2
    return {
        "rows": len(rows),
        "seconds": sorted(times)[middle],
        "cpu_seconds": sorted(cpus)[middle],
        "cpu_rounds": cpus,
    }


def _rss_mb(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def _run(max_rss_mb: float, phase: str, *args: str) -> dict:
    """Run a phase in a fresh interpreter; kill it if its resident memory passes the cap."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        child = subprocess.Popen(
            [sys.executable, __file__, "--phase", phase, *args], stdout=out, stderr=err, text=True
        )
        watched = 0.0
        while child.poll() is None:
            watched = max(watched, _rss_mb(child.pid))
            if watched > max_rss_mb:
                child.send_signal(signal.SIGKILL)
                child.wait()
                raise SystemExit(
                    f"phase {phase} {' '.join(args)} passed {max_rss_mb:.0f} MB of resident "
                    "memory and was stopped (raise --max-rss-mb only if the machine has room)"
                )
            time.sleep(0.02)
        out.seek(0)
        err.seek(0)
        if child.returncode:
            raise SystemExit(f"phase {phase} failed (exit {child.returncode}):\n{err.read()}")
        return json.loads(out.read().strip().splitlines()[-1])


def _around(before: dict, cap: float, n_base: str) -> dict:
    """The baseline measured before a run, and again after it: CPU time per row is the
    median of both phases' rounds (one phase alone moved by a third between runs on the
    shared machine)."""
    after = _run(cap, "baseline", "--records", n_base)
    cpu = statistics.median(before["cpu_rounds"] + after["cpu_rounds"])
    return {"rows": before["rows"], "cpu_seconds": cpu,
            "seconds": (before["seconds"] + after["seconds"]) / 2}  # fmt: skip


def _verdict(ok: bool) -> str:
    return "ok" if ok else "MISSED"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=125_000)
    parser.add_argument(
        "--reference", type=int, default=125_000, help="the scale ratios are taken against"
    )
    parser.add_argument("--baseline-records", type=int, default=20_000)
    parser.add_argument("--chunk-records", type=int, default=None, help="default: CHUNK_RECORDS")
    parser.add_argument("--max-rss-mb", type=float, default=5000.0, help="watchdog per phase")
    parser.add_argument(
        "--in-memory", action="store_true", help="also time generate_qa at the reference scale"
    )
    parser.add_argument(
        "--smoke", action="store_true", help="seconds: 6 000 and 3 000 records, small chunks"
    )
    parser.add_argument(
        "--phase",
        choices=["records", "stream", "in_memory", "subset", "subset_eager", "baseline"],
        help="internal",
    )
    parser.add_argument("--path", default=None, help="internal")
    parser.add_argument("--out", default=None, help="internal")
    parser.add_argument("--repeats", type=int, default=3, help="internal")
    args = parser.parse_args()
    if args.phase is not None:
        result = {
            "records": lambda: phase_records(args.records, args.path),
            "stream": lambda: phase_stream(args.path, args.out, args.chunk_records),
            "in_memory": lambda: phase_in_memory(args.path, args.chunk_records),
            "subset": lambda: phase_subset(args.path, args.repeats, eager=False),
            "subset_eager": lambda: phase_subset(args.path, args.repeats, eager=True),
            "baseline": lambda: phase_baseline(args.records, args.repeats),
        }[args.phase]()
        print(json.dumps(result))
        return

    if args.smoke:
        args.records, args.reference, args.baseline_records = 6_000, 3_000, 3_000
        args.chunk_records = args.chunk_records or 1_000
        args.in_memory = True
    if args.chunk_records is None:
        from eemo_rewards.data.qa import CHUNK_RECORDS

        args.chunk_records = CHUNK_RECORDS
    scales = sorted({args.reference, args.records})
    chunk = str(args.chunk_records)
    cap = args.max_rss_mb
    n_base = str(args.baseline_records)
    runs = []  # (path, result, the baseline's seconds per row measured just before it)
    with tempfile.TemporaryDirectory() as tmp:
        subsets = {}
        for n in scales:
            records = f"{tmp}/records-{n}.parquet"
            qa = f"{tmp}/qa-{n}.parquet"
            _run(cap, "records", "--records", str(n), "--path", records)
            # The baseline runs right before and right after each measured run, so both
            # see the same load; its per-row cost is the median of those rounds.
            before = _run(cap, "baseline", "--records", n_base)
            gen = _run(cap, "stream", "--path", records, "--out", qa, "--chunk-records", chunk)
            runs.append(("write_qa (streamed)", gen, _around(before, cap, n_base)))
            if n == args.reference:
                if args.in_memory:
                    before = _run(cap, "baseline", "--records", n_base)
                    mem = _run(cap, "in_memory", "--path", records, "--chunk-records", chunk)
                    runs.append(("generate_qa (in memory)", mem, _around(before, cap, n_base)))
                subsets = {
                    "read lazily from the file": _run(cap, "subset", "--path", qa),
                    "on the table in memory": _run(cap, "subset_eager", "--path", qa),
                }
            os.remove(records)
            os.remove(qa)

    load = os.getloadavg()[0]
    print(f"machine: {os.cpu_count()} CPUs, load average {load:.1f} at the end of the run")
    print(
        f"baseline: a Python loop writing one question per record over {args.baseline_records:,} "
        "records, 3 rounds just before and 3 just after each measured run (the median)"
    )
    print(
        "Per-row costs are CPU seconds (all threads) per QA row: on a shared machine wall time "
        "moves with the load, CPU time much less; wall times are shown as well."
    )
    print()
    print(
        "| path | records | QA rows | wall (s) | CPU (s) | peak RSS (MB) | CPU us per row "
        "| baseline CPU us per row | vs baseline |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for name, run, base in runs:
        per_row = run["cpu_seconds"] / max(run["qa_rows"], 1)
        base_row = base["cpu_seconds"] / base["rows"]
        print(
            f"| {name} | {run['records']:,} | {run['qa_rows']:,} | {run['seconds']:.2f} | "
            f"{run['cpu_seconds']:.2f} | {run['peak_mb']:.0f} | {per_row * 1e6:.2f} | "
            f"{base_row * 1e6:.2f} | {base_row / per_row:.1f}x faster |"
        )
    print()
    if args.smoke:
        print("smoke run: every phase ran; at this size its numbers are no evidence")
        return
    streamed = {
        run["records"]: (run, base["cpu_seconds"] / base["rows"])
        for name, run, base in runs
        if name.startswith("write_qa")
    }
    ref = streamed[args.reference][0]
    print(
        f"reference {args.reference:,} records: peak RSS {ref['peak_mb']:.0f} MB (target ≤ "
        f"{TARGET_REFERENCE_MB:.0f}): {_verdict(ref['peak_mb'] <= TARGET_REFERENCE_MB)}"
    )
    for n, (run, base_row) in sorted(streamed.items()):
        speedup = base_row * run["qa_rows"] / run["cpu_seconds"]
        print(
            f"{n:,} records: per row {speedup:.1f}x faster than the baseline (target ≥ "
            f"{TARGET_VS_BASELINE:.0f}x): {_verdict(speedup >= TARGET_VS_BASELINE)}"
        )
        if n > args.reference:
            scale = n / args.reference
            ratio = run["cpu_seconds"] / ref["cpu_seconds"]
            wall = run["seconds"] / ref["seconds"]
            print(
                f"{n:,} records: CPU time {ratio:.1f}x the reference (wall {wall:.1f}x) for "
                f"{scale:.0f}x the records (target ≤ {TARGET_LINEARITY * scale:.0f}x): "
                f"{_verdict(ratio <= TARGET_LINEARITY * scale)}; peak RSS "
                f"{run['peak_mb']:.0f} MB (target ≤ {TARGET_LARGE_MB:.0f}): "
                f"{_verdict(run['peak_mb'] <= TARGET_LARGE_MB)}"
            )
    for how, subset in subsets.items():
        rounds = [round(t, 2) for t in subset["seconds_all"]]
        print(
            f"subset of the reference QA, {how}: {subset['input_rows']:,} -> "
            f"{subset['output_rows']:,} rows in {subset['seconds']:.2f} s (CPU "
            f"{subset['cpu_seconds']:.2f} s), best of {rounds}"
            f" (target {TARGET_SUBSET_S:.0f} s: {_verdict(subset['seconds'] <= TARGET_SUBSET_S)}); "
            f"peak RSS {subset['peak_mb']:.0f} MB"
        )


if __name__ == "__main__":
    main()
