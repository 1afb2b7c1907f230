"""``python -m eemo_rewards.bench list | run | score``: EEmo-Logic's evaluation suite."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from eemo_rewards.bench.sets import DATA_ENV, OPTION_ORDERS, RELEASE, SETS, data_folder, load_items


def _judge_args(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--judge-url",
        help="an OpenAI-compatible chat endpoint (e.g. http://HOST:8000/v1 from `vllm serve`) "
        "that grades open-ended answers; key from $EEMO_JUDGE_API_KEY if it needs one",
    )
    p.add_argument("--judge-model", default="judge", help="the model name sent to the judge")
    p.add_argument("--judge-repeats", type=int, default=5, help="grades per answer (default 5)")
    p.add_argument("--key", help="AesBench-AesE answer key: JSON {image name: option letter}")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m eemo_rewards.bench",
        description=f"EEmo-Logic's evaluation suite on the released test files ({RELEASE}).",
    )
    parser.add_argument("--data", help=f"folder with the released test files (default ${DATA_ENV})")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("list", help="the sets: item counts, tasks, metrics")
    run = sub.add_parser("run", help="generate (cached, resumable) and score")
    run.add_argument("--model", required=True, help="tiny, smollm2, a run folder, hub id or folder")
    run.add_argument("--sets", required=True, help="comma-separated set names, or all")
    run.add_argument("--images", required=True, help="IMAGES/<set name>/<image path in the file>")
    run.add_argument("--out", required=True)
    run.add_argument("--limit", type=int, help="the first N records of each set")
    run.add_argument("--batch-size", type=int, default=8)
    run.add_argument("--max-new-tokens", type=int, default=1024)
    run.add_argument(
        "--option-order",
        choices=OPTION_ORDERS,
        default="sorted",
        help="candidate emotions of ArtEmis/ArtPhoto: sorted (default) or the release's "
        "list(set(...)), which changes with PYTHONHASHSEED",
    )
    run.add_argument("--backend", choices=("auto", "transformers", "vllm"), default="auto")
    _judge_args(run)
    score = sub.add_parser("score", help="score an existing answers file")
    score.add_argument("--set", required=True, choices=list(SETS))
    score.add_argument(
        "--answers",
        required=True,
        help="this project's answers.jsonl, an EEmo-Bench leaderboard file (response(<model>)) "
        "or EEmo-Logic's inference output (all(<model>), …)",
    )
    score.add_argument("--out", required=True)
    _judge_args(score)
    return parser


def _list(data: str | None) -> None:
    try:
        folder = data_folder(data)
    except FileNotFoundError:
        folder = None
    print(f"{'set':18} {'records':>8} {'items':>6}  tasks / metrics")
    for s in SETS.values():
        if folder is not None and (folder / s.file).exists():
            items = load_items(s, folder)
            records, n = str(len({i.id for i in items})), str(len(items))
        else:
            records, n = "?", "?"
        print(f"{s.name:18} {records:>8} {n:>6}  {s.title}")
        print(f"{'':34} tasks: {', '.join(s.tasks)}")
        print(f"{'':34} metrics: {', '.join(s.metrics)}")
    if folder is None:
        print(f"(counts need the test files: --data DIR or ${DATA_ENV}; {RELEASE})")


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.command == "list":
            _list(args.data)
            return 0
        from eemo_rewards.bench.run import run_suite, score_answers

        judge = {
            "key": args.key,
            "judge_url": args.judge_url,
            "judge_model": args.judge_model,
            "judge_repeats": args.judge_repeats,
        }
        if args.command == "run":
            run_suite(
                args.model,
                args.sets,
                args.images,
                args.out,
                data=args.data,
                limit=args.limit,
                batch_size=args.batch_size,
                max_new_tokens=args.max_new_tokens,
                option_order=args.option_order,
                backend=args.backend,
                **judge,
            )
        else:
            score_answers(args.set, args.answers, args.out, data=args.data, **judge)
    except (FileNotFoundError, ValueError, RuntimeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"wrote {args.out}/summary.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
