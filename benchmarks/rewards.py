"""Reward throughput: completions scored per second, single-threaded, against TRL.

Scores the same deterministic set of realistic completions (a mix of every task; well-formed
correct, well-formed wrong and malformed answers; think parts of 200–800 characters) with
every registered reward, the default composite (also with the readers' caches of short answers
emptied before each round, as at a run's first batch) and TRL's ``think_format_reward`` (given the
completions as message lists, the only shape it accepts), and prints completions per second
and the ratio to TRL measured in the same run. Then times :func:`parse_completion` on a 1 MB
adversarial completion, and every reader of :mod:`eemo_rewards.answers` on inputs of 10 kB,
100 kB and 1 MB (the scaling rows: a linear reader's time per kB stays flat, so its
1 MB / 10 kB growth is about 100x).

    .venv/bin/python benchmarks/rewards.py               # 100k completions
    .venv/bin/python benchmarks/rewards.py -n 20000      # quicker
    .venv/bin/python benchmarks/rewards.py --profile     # + cProfile of the composite
    .venv/bin/python benchmarks/rewards.py --scaling-only  # only the readers' scaling rows
    .venv/bin/python benchmarks/rewards.py --smoke       # seconds: proves it runs (CI)

Targets: the default composite at least as fast as TRL's ``think_format_reward`` (ratio >=
1.0) and every reader linear (1 MB / 10 kB about 100x). The smoke run's numbers are no
evidence: it scores 2,000 completions once and scales the readers from 1 kB to 100 kB.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import io
import pstats
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from eemo_rewards.answers import (
    extract_choice,
    parse_comparison,
    parse_ranking,
    parse_scores,
    read_label,
    read_yes_no,
)
from eemo_rewards.answers.grammar import clear_caches
from eemo_rewards.audit.inputs import adversarial_completion, make_completions
from eemo_rewards.parsing import parse_completion
from eemo_rewards.spec import default_spec, known_rewards, reward_class


def _best_rates(scorers: list[tuple[str, object]], n: int, repeats: int) -> dict[str, float]:
    """Completions per second of each scorer, best of ``repeats``. The scorers take turns
    within each round, so a burst of load from elsewhere slows them alike and the ratios
    stay fair."""
    best = {label: float("inf") for label, _ in scorers}
    for _ in range(repeats):
        for label, fn in scorers:
            gc.collect()
            t0 = time.perf_counter()
            fn()
            best[label] = min(best[label], time.perf_counter() - t0)
    return {label: n / seconds for label, seconds in best.items()}


COLD = "default composite (cold caches)"
_FOUR = ["calm", "joy", "fear", "anger"]
_YES_NO = {"A": "No.", "B": "Yes."}
# (reader, repeated unit, call): adversarial repetitions of what each reader looks for
READERS = [
    ("extract_choice 'B. ' (yes/no options)", "B. ", lambda s: extract_choice(s, _YES_NO)),
    ("extract_choice 'x B. '", "x B. ", lambda s: extract_choice(s, _FOUR)),
    ("extract_choice 'answer is B. '", "answer is B. ", lambda s: extract_choice(s, _FOUR)),
    ("extract_choice 'not B, C? No. '", "not B, C? No. ", lambda s: extract_choice(s, _FOUR)),
    (
        "extract_choice 'The first image '",
        "The first image ",
        lambda s: extract_choice(s, {"A": "The second picture.", "B": "The first picture."}),
    ),
    ("read_yes_no 'yes no '", "yes no ", read_yes_no),
    ("read_label 'not joy '", "not joy ", lambda s: read_label(s, "eemo_bench7")),
    ("parse_scores 'valence (0-1): 0.5 '", "valence (0-1): 0.5 ", parse_scores),
    ("parse_ranking 'joy: 0.5, '", "joy: 0.5, ", lambda s: parse_ranking(s, "eemo_bench7")),
    ("parse_comparison 'not the first than '", "not the first than ", parse_comparison),
]
SIZES = (10_000, 100_000, 1_000_000)
SMOKE_SIZES = (1_000, 10_000, 100_000)
# a linear reader grows about 100x over a 100x larger input; quadratic would be 10,000x
LINEAR_BOUND = 300


def scaling_rows(sizes: tuple[int, int, int] = SIZES) -> list[tuple[str, list[float]]]:
    """Seconds per reader at each size (best of 3)."""
    rows = []
    for label, unit, call in READERS:
        times = []
        for size in sizes:
            text = (unit * (size // len(unit) + 1))[:size]
            best = float("inf")
            for _ in range(3):
                t0 = time.perf_counter()
                call(text)
                best = min(best, time.perf_counter() - t0)
            times.append(best)
        rows.append((label, times))
    return rows


def print_scaling(sizes: tuple[int, int, int] = SIZES) -> bool:
    """Print the scaling rows; whether every reader stayed within :data:`LINEAR_BOUND`."""
    names = [f"{n // 1000} kB" if n < 1_000_000 else f"{n // 1_000_000} MB" for n in sizes]
    head = " ".join(f"{n:>9s}" for n in names) + f" {names[2] + '/' + names[0]:>11s}"
    print(f"\n{'reader (input repeated)':42s} {head}")
    linear = True
    for label, (small, medium, large) in scaling_rows(sizes):
        growth = large / small if small > 0 else float("inf")
        linear &= growth <= LINEAR_BOUND
        print(
            f"{label:42s} {small * 1e3:7.2f}ms {medium * 1e3:7.1f}ms {large * 1e3:7.0f}ms "
            f"{growth:10.0f}x"
        )
    print(
        f"(linear: the {names[2]} time is about 100x the {names[0]} time; "
        f"{'every reader within' if linear else 'SOME READER OVER'} {LINEAR_BOUND}x)"
    )
    return linear


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=100_000, help="completions (default 100000)")
    parser.add_argument("--repeats", type=int, default=5, help="best of this many rounds")
    parser.add_argument("--profile", action="store_true", help="cProfile the composite")
    parser.add_argument("--scaling-only", action="store_true", help="only the scaling rows")
    parser.add_argument(
        "--smoke", action="store_true", help="seconds: 2,000 completions once, 1-100 kB rows"
    )
    args = parser.parse_args(argv)
    sizes = SMOKE_SIZES if args.smoke else SIZES
    if args.smoke:
        args.n, args.repeats = min(args.n, 2_000), 1
    if args.scaling_only:
        print_scaling(sizes)
        return 0

    cols = make_completions(args.n)
    n = len(cols["completions"])
    texts = cols["completions"]
    messages = [[{"role": "assistant", "content": c}] for c in texts]
    batch = {k: cols[k] for k in ("solution", "task", "options")}

    from trl.rewards import think_format_reward

    trl_label = "trl think_format_reward (messages)"
    scorers: list[tuple[str, object]] = [
        (trl_label, lambda: think_format_reward(completions=messages))
    ]
    # rewards that write a file (the answer watch) write it where nothing is kept
    scratch = tempfile.TemporaryDirectory(prefix="eemo-bench-rewards-")
    needs = {"answer_watch": {"log_path": str(Path(scratch.name) / "answers.jsonl")}}
    for name in known_rewards():
        reward = reward_class(name)(**needs.get(name, {}))
        if name == "format":
            scorers.append(("format (messages)", lambda r=reward: r(completions=messages, **batch)))
        scorers.append((name, lambda r=reward: r(completions=texts, **batch)))
    composite = default_spec().composite()
    scorers.append(("default composite", lambda: composite(completions=texts, **batch)))

    def cold_composite():
        # the readers keep short answers' readings (a GRPO group repeats its answers); here
        # every round starts with none, as the first batch of a run does
        clear_caches()
        composite(completions=texts, **batch)

    scorers.append((COLD, cold_composite))
    scorers.append(("parse_completion only", lambda: [parse_completion(c) for c in texts]))

    rates = _best_rates(scorers, n, args.repeats)
    trl_rate = rates[trl_label]
    rows = list(rates.items())

    print(f"\n{n} completions, single-threaded, best of {args.repeats}")
    print(f"{'scorer':40s} {'completions/s':>14s} {'vs TRL':>8s}")
    for label, rate in rows:
        print(f"{label:40s} {rate:14,.0f} {rate / trl_rate:8.2f}")
    for label in ("default composite", COLD):
        ratio = rates[label] / trl_rate
        # one smoke round of a few thousand completions pays every scorer's first call:
        # its ratio is no evidence either way
        verdict = "smoke run: no verdict" if args.smoke else "met" if ratio >= 1.0 else "MISSED"
        print(
            f"\n{label} vs TRL's think_format_reward: {ratio:.2f}x (target >= 1.0: {verdict})",
            end="",
        )
    print()

    big = adversarial_completion()
    t0 = time.perf_counter()
    parsed = parse_completion(big)
    seconds = time.perf_counter() - t0
    print(
        f"parse_completion on a {len(big) / 1e6:.1f} MB adversarial completion: "
        f"{seconds:.4f} s (ok={parsed.ok}, reason={parsed.reason!r})"
    )

    print_scaling(sizes)
    scratch.cleanup()

    if args.profile:
        profiler = cProfile.Profile()
        profiler.enable()
        composite(completions=cols["completions"], **batch)
        profiler.disable()
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(20)
        print(out.getvalue())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
