"""Running the suite: generate (cached, resumable), score, write the outputs.

Outputs, per set: ``OUT/<set>/answers.jsonl`` (the cache, :class:`~.files.AnswerCache`),
``OUT/<set>/metrics.json`` (a flat mapping of metric → value, each with ``_low``/``_high``,
plus ``n_items`` and ``n_unanswered``), ``OUT/<set>/items.jsonl`` (one row per item: ``id``,
``task``, ``committed``, ``correct``, ``truth``) and ``OUT/<set>/run.json`` (model, answers
file, option order, counts); and ``OUT/summary.md`` over every set in ``OUT``, with the
published numbers beside.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from eemo_rewards.bench.files import AnswerCache, prompt_sha, read_answers
from eemo_rewards.bench.published import EEMO_BENCH_SOURCE, published_for
from eemo_rewards.bench.score import interval_metrics, score_items
from eemo_rewards.bench.sets import (
    RELEASE,
    SETS,
    BenchSet,
    Item,
    get_set,
    image_path,
    load_items,
    resolve_sets,
)

__all__ = [
    "MissingImages",
    "check_images",
    "model_fingerprint",
    "run_suite",
    "score_answers",
    "write_summary",
]


class MissingImages(FileNotFoundError):
    """Images the selected items need are not where the layout says."""


def check_images(
    images_dir: str | os.PathLike, plan: Sequence[tuple[BenchSet, Sequence[Item]]]
) -> None:
    """Raise :class:`MissingImages` naming every missing path (the first ten) and the layout,
    before anything is generated."""
    missing: list[Path] = []
    for bench_set, items in plan:
        seen: set[str] = set()
        for item in items:
            for name in item.images:
                if name in seen:
                    continue
                seen.add(name)
                path = image_path(images_dir, bench_set.name, name)
                if not path.is_file():
                    missing.append(path)
    if missing:
        shown = "\n  ".join(str(p) for p in missing[:10])
        more = f"\n  … and {len(missing) - 10} more" if len(missing) > 10 else ""
        raise MissingImages(
            f"{len(missing)} image(s) not found:\n  {shown}{more}\nExpected layout: "
            "IMAGES/<set name>/<the image path the set's file gives> (backslashes read as /, "
            "a leading ./ dropped), e.g. IMAGES/artemis/test_dominant_images/00000.jpg, "
            "IMAGES/ebench-single/1.jpg. The four ebench-* sets use EEmo-Bench's images: "
            "one folder linked under each name works."
        )


def _open_images(images_dir: Path, set_name: str, item: Item) -> list[Any]:
    from PIL import Image

    out = []
    for name in item.images:
        with Image.open(image_path(images_dir, set_name, name)) as im:
            out.append(im.convert("RGB"))
    return out


def _load_key(path: str | os.PathLike | None) -> dict[str, str] | None:
    """An answer key: ``{image name: letter}`` (or ``{name: {"AesE_data": {"answer": L}}}``)."""
    if path is None:
        return None
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise ValueError(f"{path}: an answer key is a JSON object {{image name: option letter}}")
    key = {}
    for name, value in data.items():
        if isinstance(value, dict):
            value = value.get("AesE_data", value)
            value = value.get("answer", value.get("Answer")) if isinstance(value, dict) else value
        if not isinstance(value, str) or not value.strip():
            raise ValueError(f"{path}: the key of {name!r} is not an option letter: {value!r}")
        key[name] = value.strip().strip("()").upper()[:1]
    return key


def _judge_fn(judge_url: str | None, judge_model: str, repeats: int, cache: Path):
    """The judge bound to its endpoint, its grades kept in ``cache`` (a JSON line per
    answer, keyed by the judge model, the repeats and a hash of question, answer and
    reference) so that an interrupted grading resumes and a repeated call asks nothing."""
    if not judge_url:
        return None
    from eemo_rewards.bench.judge import annotation_reference, ask_judge

    done: dict[str, list[int | None]] = {}
    if cache.exists():
        for line in cache.read_text(encoding="utf-8").splitlines():
            try:
                row = json.loads(line)
            except ValueError:  # a line cut short by a killed run
                continue
            done[row["key"]] = row["grades"]

    def judge(item: Item, answer: str, reference: str | None) -> list[int | None]:
        ref = reference or annotation_reference(item.meta.get("annotations") or [])
        question = item.meta.get("question", "")
        key = prompt_sha(json.dumps([judge_model, repeats, question, answer, ref]))
        if key not in done:
            done[key] = ask_judge(
                judge_url,
                question,
                answer,
                ref,
                model=judge_model,
                repeats=repeats,
                api_key=os.environ.get("EEMO_JUDGE_API_KEY"),
            )
            cache.parent.mkdir(parents=True, exist_ok=True)
            with cache.open("a", encoding="utf-8") as f:
                f.write(json.dumps({"id": item.id, "key": key, "grades": done[key]}) + "\n")
        return done[key]

    return judge


def _write_set(
    out: Path,
    bench_set: BenchSet,
    items: Sequence[Item],
    answers: Mapping[tuple[str, str], Mapping[str, Any]],
    info: Mapping[str, Any],
    *,
    key: Mapping[str, str] | None,
    judge: Any,
) -> dict[str, float]:
    rows, values = score_items(bench_set, items, answers, key=key, judge=judge)
    labels = None
    if bench_set.name in ("artemis", "artphoto"):
        from eemo_rewards.taxonomy import get_taxonomy

        tax = get_taxonomy("mikels8")
        labels = sorted({tax.normalise(x) for x in items[0].meta["labels"]}) if items else None
    metrics = interval_metrics(values, labels=labels)
    metrics["n_items"] = len(rows)
    metrics["n_unanswered"] = sum(r["committed"] is None for r in rows)
    folder = out / bench_set.name
    folder.mkdir(parents=True, exist_ok=True)
    _atomic(folder / "metrics.json", json.dumps(metrics, indent=1, sort_keys=True))
    _atomic(
        folder / "items.jsonl",
        "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows),
    )
    _atomic(folder / "run.json", json.dumps(dict(info), indent=1, sort_keys=True))
    return metrics


def _atomic(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)


def model_fingerprint(model: str | os.PathLike) -> str | None:
    """For a model folder, a hash of its files' names, sizes and modification times (so that
    answers of earlier weights saved to the same folder are not reused); ``None`` for a
    name (``tiny``, ``smollm2``, a hub id), whose weights do not change under it."""
    folder = Path(model)
    if not folder.is_dir():
        return None
    stats = sorted(
        (p.name, p.stat().st_size, p.stat().st_mtime_ns) for p in folder.iterdir() if p.is_file()
    )
    return prompt_sha(json.dumps(stats))


def run_suite(
    model: str,
    sets: str | Sequence[str],
    images: str | os.PathLike,
    out: str | os.PathLike,
    *,
    data: str | os.PathLike | None = None,
    limit: int | None = None,
    batch_size: int = 8,
    max_new_tokens: int = 1024,
    option_order: str = "sorted",
    backend: str = "auto",
    key: str | os.PathLike | None = None,
    judge_url: str | None = None,
    judge_model: str = "judge",
    judge_repeats: int = 5,
    on_batch: Callable[[str, int, int], Any] | None = None,
    log: Callable[[str], Any] = print,
) -> dict[str, dict[str, float]]:
    """Generate every selected set's answers (reusing the cache) and score them.

    Parameters
    ----------
    model : str
        ``"tiny"``, ``"smollm2"``, a run folder, a hub id or a local folder
        (:func:`eemo_rewards.train.models.load_model`).
    sets : str or list
        Set names, comma-separated, or ``"all"``.
    images : path
        ``IMAGES/<set name>/<image path as in the file>``.
    out : path
        Output folder (see the module docstring).
    limit : int, optional
        The first ``limit`` records of each set.
    on_batch : callable, optional
        ``on_batch(set name, done, total)`` after each batch is cached.

    Returns
    -------
    dict
        set name → metrics. Also logs, per set, how many answers were generated and how
        many reused.
    """
    from eemo_rewards.bench.generate import DECODING, make_generator

    if limit is not None and limit < 1:
        raise ValueError(f"limit={limit}; pass a positive number of records")
    if batch_size < 1 or max_new_tokens < 1:
        raise ValueError("batch_size and max_new_tokens must be positive")
    out, images = Path(out), Path(images)
    plan = []
    for bench_set in resolve_sets(sets):
        items = load_items(bench_set, data, option_order=option_order)
        if limit is not None:
            keep = list(dict.fromkeys(i.id for i in items))[:limit]
            wanted = set(keep)
            items = [i for i in items if i.id in wanted]
        plan.append((bench_set, items))
    check_images(images, plan)
    answer_key = _load_key(key)
    header_base = {
        "model": str(model),
        "model_files": model_fingerprint(model),
        "option_order": option_order,
        "max_new_tokens": max_new_tokens,
        "decoding": DECODING,
    }
    generator = None
    results = {}
    for bench_set, items in plan:
        cache = AnswerCache(
            out / bench_set.name / "answers.jsonl", {**header_base, "set": bench_set.name}
        )
        todo = [i for i in items if cache.get(i) is None]
        reused = len(items) - len(todo)
        if todo and generator is None:
            generator = make_generator(
                model, backend=backend, max_new_tokens=max_new_tokens, batch_size=batch_size
            )
        done = 0
        for start in range(0, len(todo), batch_size):
            batch = todo[start : start + batch_size]
            pictures = [_open_images(images, bench_set.name, i) for i in batch]
            texts = generator([i.prompt for i in batch], pictures)
            cache.add(batch, texts)
            done += len(batch)
            if on_batch is not None:
                on_batch(bench_set.name, done, len(todo))
        log(f"{bench_set.name}: generated {len(todo)}, reused {reused} ({len(items)} items)")
        answers = {i.key: {"answer": cache.get(i)} for i in items}
        info = {
            **header_base,
            "set": bench_set.name,
            "answers": str(cache.path),
            "generated": len(todo),
            "reused": reused,
            "release": RELEASE,
            "option_order_used": items[0].meta.get("labels") if items else None,
        }
        judge = _judge_fn(
            judge_url, judge_model, judge_repeats, out / bench_set.name / "judge.jsonl"
        )
        results[bench_set.name] = _write_set(
            out, bench_set, items, answers, info, key=answer_key, judge=judge
        )
    write_summary(out)
    return results


def score_answers(
    set_name: str,
    answers: str | os.PathLike,
    out: str | os.PathLike,
    *,
    data: str | os.PathLike | None = None,
    key: str | os.PathLike | None = None,
    judge_url: str | None = None,
    judge_model: str = "judge",
    judge_repeats: int = 5,
    log: Callable[[str], Any] = print,
) -> dict[str, float]:
    """Score an existing answers file (this project's cache or a release format)."""
    bench_set = get_set(set_name)
    items = load_items(bench_set, data)
    model, found, unmatched = read_answers(answers, bench_set, items)
    if not found:
        raise ValueError(
            f"{answers}: no answer matches an item of {set_name}; is it a file of another set?"
        )
    if unmatched:
        log(f"{set_name}: {unmatched} answer(s) in {answers} match no item of the set (ignored)")
    log(f"{set_name}: scoring {len(found)} of {len(items)} items, model {model}")
    info = {
        "model": model,
        "set": set_name,
        "answers": str(answers),
        "release": RELEASE,
        "unmatched": unmatched,
    }
    metrics = _write_set(
        Path(out),
        bench_set,
        items,
        found,
        info,
        key=_load_key(key),
        judge=_judge_fn(
            judge_url, judge_model, judge_repeats, Path(out) / set_name / "judge.jsonl"
        ),
    )
    write_summary(Path(out))
    return metrics


def _fmt(value: float | None, metric: str) -> str:
    if value is None:
        return ""
    if metric.endswith("_constant"):
        return "yes" if value else "no"
    if metric.endswith(("_srcc", "_plcc")):
        return f"{value:.3f}"
    return f"{100 * value:.2f}"


def write_summary(out: str | os.PathLike) -> Path:
    """``OUT/summary.md``: every set in ``OUT``, each metric with its interval, and the
    published numbers for the same metric."""
    out = Path(out)
    lines = [
        "# EEmo-Logic evaluation suite",
        "",
        "Accuracies and scores in percent, correlations as they are; [low, high] is a 95% "
        "bootstrap interval over items. Published numbers: " + EEMO_BENCH_SOURCE + ".",
        "",
    ]
    for name in SETS:
        folder = out / name
        if not (folder / "metrics.json").exists():
            continue
        metrics = json.loads((folder / "metrics.json").read_text())
        info = (
            json.loads((folder / "run.json").read_text()) if (folder / "run.json").exists() else {}
        )
        lines += [
            f"## {name}",
            "",
            f"Model `{info.get('model', '?')}`; {metrics['n_items']} items, "
            f"{metrics['n_unanswered']} unanswered; answers `{info.get('answers', '?')}`.",
            "",
        ]
        names = [
            m
            for m in metrics
            if not m.endswith(("_low", "_high")) and m not in ("n_items", "n_unanswered")
        ]
        published = published_for(name)
        models = [m for m, row in published.items() if any(k in row for k in names)]
        head = ["metric", "this run", *models]
        lines += ["| " + " | ".join(head) + " |", "|" + " --- |" * len(head)]
        for m in names:
            cell = _fmt(metrics[m], m)
            if m + "_low" in metrics:
                cell += f" [{_fmt(metrics[m + '_low'], m)}, {_fmt(metrics[m + '_high'], m)}]"
            lines.append(
                "| " + " | ".join([m, cell, *(_fmt(published[p].get(m), m) for p in models)]) + " |"
            )
        if not names:
            lines.append("| (answers only: no answer key; pass --key) | |")
        lines.append("")
    path = out / "summary.md"
    out.mkdir(parents=True, exist_ok=True)
    _atomic(path, "\n".join(lines))
    return path
