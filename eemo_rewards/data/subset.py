"""Subsets of QA samples: filters, stratified caps, leakage-free splits, de-duplication, manifest.

Everything is a polars expression over the QA table, so selecting from 1.2 M rows takes well
under two seconds (see ``benchmarks/data.py``).
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from eemo_rewards.data.qa import DEFAULT_SPLITS, LETTERS, assign_splits
from eemo_rewards.tasks import TASKS, normalise_task
from eemo_rewards.taxonomy import LEVEL_BAND

__all__ = [
    "Subset",
    "build_subset",
    "class_of",
    "dedupe_questions",
    "filter_qa",
    "split_by_image",
    "stratified_sample",
]


# The columns selection reads (the wide table is gathered by row number at the end).
_SELECTION_COLUMNS = (
    "task",
    "solution",
    "options",
    "dimension",
    "image_id",
    "image_id_2",
    "question",
    "answer",
    "split",
)


def _as_list(value: str | Iterable[str] | None) -> list[str] | None:
    if value is None:
        return None
    return [value] if isinstance(value, str) else list(value)


def filter_qa(
    qa: pl.DataFrame,
    *,
    tasks: str | Iterable[str] | None = None,
    dimensions: str | Iterable[str] | None = None,
    qtypes: str | Iterable[str] | None = None,
    sources: str | Iterable[str] | None = None,
    taxonomies: str | Iterable[str] | None = None,
    splits: str | Iterable[str] | None = None,
    pairs: bool | None = None,
) -> pl.DataFrame:
    """Keep the samples matching every given filter (``None`` = no filter on that column).

    ``pairs=True`` keeps only two-image samples, ``False`` only single-image ones. Task
    aliases are accepted; an unknown task raises an error instead of selecting nothing.

    Examples
    --------
    >>> qa = pl.DataFrame({"task": ["emotion", "ranking", "yes_no"],
    ...                    "dimension": ["emotion"] * 3, "image_id_2": [None, None, "b"]})
    >>> filter_qa(qa, tasks=["classification", "yes_no"], pairs=False)["task"].to_list()
    ['emotion']
    """
    conditions = _conditions(
        qa.columns, tasks, dimensions, qtypes, sources, taxonomies, splits, pairs
    )
    return qa.filter(*conditions) if conditions else qa


def _conditions(columns, tasks, dimensions, qtypes, sources, taxonomies, splits, pairs):
    conditions = []
    task_list = _as_list(tasks)
    if task_list is not None:
        canonical = [normalise_task(t) for t in task_list]
        unknown = [t for t, c in zip(task_list, canonical, strict=True) if c not in TASKS]
        if unknown:
            raise ValueError(f"unknown tasks {unknown}; use some of {list(TASKS)}")
        conditions.append(pl.col("task").is_in(canonical))
    for column, values in (
        ("dimension", dimensions),
        ("qtype", qtypes),
        ("source", sources),
        ("taxonomy", taxonomies),
        ("split", splits),
    ):
        wanted = _as_list(values)
        if wanted is not None:
            if column not in columns:
                raise ValueError(f"cannot filter on {column!r}: the QA table has no such column")
            conditions.append(pl.col(column).is_in(wanted))
    if pairs is not None:
        if "image_id_2" not in columns:
            raise ValueError("cannot filter on pairs: the QA table has no image_id_2 column")
        is_pair = pl.col("image_id_2").is_not_null()
        conditions.append(is_pair if pairs else ~is_pair)
    return conditions


def class_of() -> pl.Expr:
    """The class a sample counts under for stratification and the manifest.

    The chosen option's text for multiple choice, the first label for ranking, the label
    for emotion, ``yes``/``no``, ``first``/``second``/``same``, ``<dimension>:<level>`` for
    assessment and ``description`` for open-ended samples.
    """
    letter_ix = pl.col("solution").replace_strict(
        {letter: i for i, letter in enumerate(LETTERS)}, default=None, return_dtype=pl.Int64
    )
    score = pl.col("solution").str.extract(r"([0-9.]+)\s*$").cast(pl.Float64, strict=False)
    level = (
        pl.when(score <= LEVEL_BAND[0])
        .then(pl.lit("low"))
        .when(score >= LEVEL_BAND[1])
        .then(pl.lit("high"))
        .otherwise(pl.lit("moderate"))
    )
    task = pl.col("task")
    return (
        pl.when(task == "multiple_choice")
        .then(pl.col("options").list.get(letter_ix, null_on_oob=True))
        .when(task == "ranking")
        .then(pl.col("solution").str.split(",").list.first().str.strip_chars())
        .when(task == "assessment")
        .then(pl.concat_str(pl.col("dimension"), pl.lit(":"), level))
        .when(task == "description")
        .then(pl.lit("description"))
        .otherwise(pl.col("solution"))
        .alias("class")
    )


def _stratify_lazy(
    frame: pl.LazyFrame, cap_per_class: int | None, n_per_task: int | None, seed: int
) -> pl.LazyFrame:
    if cap_per_class is None and n_per_task is None:
        return frame
    key = pl.int_range(pl.len()).shuffle(seed=seed).alias("_key")
    has_class = "class" in frame.collect_schema().names()
    frame = frame.with_columns(key, pl.col("class") if has_class else class_of())
    frame = frame.rename({"class": "_class"})
    if cap_per_class is not None:
        group = _combined_hash(["task", "_class"])
        frame = frame.filter(pl.col("_key").rank("ordinal").over(group) <= cap_per_class)
    if n_per_task is not None:
        frame = frame.filter(pl.col("_key").rank("ordinal").over("task") <= n_per_task)
    frame = frame.drop("_key")
    return frame.rename({"_class": "class"}) if has_class else frame.drop("_class")


def _check_caps(cap_per_class: int | None, n_per_task: int | None) -> None:
    for name, cap in (("cap_per_class", cap_per_class), ("n_per_task", n_per_task)):
        if cap is not None and (not isinstance(cap, int) or isinstance(cap, bool) or cap < 1):
            raise ValueError(f"{name} must be a positive integer or None, got {cap!r}")


def _with_optional(frame: pl.LazyFrame, columns: list[str]) -> pl.LazyFrame:
    """Add the columns :func:`class_of` reads when a hand-made table lacks them."""
    needed = {"options": pl.List(pl.String), "dimension": pl.String}
    return frame.with_columns(
        pl.lit(None, dtype).alias(c) for c, dtype in needed.items() if c not in columns
    )


def stratified_sample(
    qa: pl.DataFrame,
    *,
    cap_per_class: int | None = None,
    n_per_task: int | None = None,
    seed: int = 0,
) -> pl.DataFrame:
    """Keep at most ``cap_per_class`` samples per (task, class), then ``n_per_task`` per task.

    The samples kept are chosen by a seeded shuffle, so classes are sampled uniformly;
    the caps flatten skewed class distributions.

    Examples
    --------
    >>> qa = pl.DataFrame({"task": ["emotion"] * 5, "solution": ["joy"] * 4 + ["fear"]})
    >>> stratified_sample(qa, cap_per_class=2).group_by("solution").len().sort("solution").rows()
    [('fear', 1), ('joy', 2)]
    """
    _check_caps(cap_per_class, n_per_task)
    lazy = _with_optional(qa.lazy(), qa.columns)
    out = _stratify_lazy(lazy, cap_per_class, n_per_task, seed).collect()
    return out.select(qa.columns)


def _components(ids: pl.DataFrame) -> pl.DataFrame:
    """image_id → component id, where the two images of a pair share a component."""
    columns = [ids["image_id"]]
    if "image_id_2" in ids.columns:
        columns.append(ids["image_id_2"])
    nodes = pl.concat(columns).drop_nulls().unique().sort().to_frame("node")
    nodes = nodes.with_row_index("_ix")
    parent = np.arange(nodes.height)
    if "image_id_2" in ids.columns:
        edges = (
            ids.filter(pl.col("image_id_2").is_not_null())
            .unique(subset=["image_id", "image_id_2"])
            .join(nodes.rename({"node": "image_id", "_ix": "a"}), on="image_id")
            .join(nodes.rename({"node": "image_id_2", "_ix": "b"}), on="image_id_2")
        )

        def root(x: int) -> int:
            while parent[x] != x:
                parent[x] = parent[parent[x]]
                x = parent[x]
            return x

        # Union-find over the pair edges (there are far fewer pairs than samples).
        for a, b in zip(edges["a"].to_list(), edges["b"].to_list(), strict=True):
            ra, rb = root(a), root(b)
            if ra != rb:
                parent[max(ra, rb)] = min(ra, rb)
        parent = np.array([root(x) for x in range(nodes.height)])
    return nodes.with_columns(pl.Series("comp", nodes["node"].to_numpy()[parent])).select(
        "node", "comp"
    )


def split_by_image(
    qa: pl.DataFrame,
    fractions: dict[str, float] | None = None,
    *,
    seed: int = 0,
) -> pl.DataFrame:
    """Reassign ``split`` so that no image, nor either image of a pair, crosses splits.

    Images linked through pairs form components; whole components are assigned to splits
    by seeded shuffle with the given fractions (default 0.8 / 0.1 / 0.1).

    Examples
    --------
    >>> qa = pl.DataFrame({"image_id": ["a", "a", "b", "c"], "image_id_2": [None, "b", None, None]})
    >>> out = split_by_image(qa, {"train": 0.5, "test": 0.5})
    >>> out.group_by("image_id").agg(pl.col("split").n_unique()).get_column("split").max()
    1
    >>> out.filter(image_id="b")["split"][0] == out.filter(image_id="a")["split"][0]
    True
    """
    mapping = _split_mapping(
        qa.select([c for c in ("image_id", "image_id_2") if c in qa.columns]), fractions, seed
    )
    return qa.drop("split", strict=False).join(
        mapping, on="image_id", how="left", maintain_order="left"
    )


def _split_mapping(
    ids: pl.DataFrame, fractions: dict[str, float] | None, seed: int
) -> pl.DataFrame:
    fractions = dict(DEFAULT_SPLITS if fractions is None else fractions)
    components = _components(ids)
    assigned = assign_splits(components["comp"], fractions, seed=seed)
    return components.join(assigned.rename({"id": "comp"}), on="comp").select(
        pl.col("node").alias("image_id"), "split"
    )


def _question_keys(questions: pl.Series) -> pl.DataFrame:
    """Distinct question → hash of its normalised form (lower case, letters and digits only).

    Generated questions repeat a few thousand templates, so normalising the distinct strings
    only is much cheaper than normalising every row.
    """
    distinct = questions.unique().to_frame("question")
    return distinct.with_columns(
        pl.col("question")
        .str.to_lowercase()
        .str.replace_all(r"[^\p{L}\p{N}]+", " ")
        .str.strip_chars()
        .hash(0)
        .alias("_norm")
    )


def _combined_hash(columns: list[str]) -> pl.Expr:
    """One u64 key for several columns (xor of per-column hashes with distinct seeds): grouping
    on it is much faster than on a struct of strings."""
    key = pl.col(columns[0]).hash(0)
    for i, column in enumerate(columns[1:], start=1):
        key = key.xor(pl.col(column).hash(i))
    return key


def _dedupe_lazy(frame: pl.LazyFrame, questions: pl.Series, columns: list[str]) -> pl.LazyFrame:
    keys = _question_keys(questions)
    others = ["image_id", "answer"] + (["image_id_2"] if "image_id_2" in columns else [])
    if keys["_norm"].n_unique() == keys.height:
        # Normalising merges no two distinct questions (the usual case for generated QA):
        # near-duplicates are exact duplicates, so the raw text is the key.
        return frame.filter(_combined_hash(["question", *others]).is_first_distinct())
    # Join on the raw question's hash, not the string, and keep the first row per key.
    table = keys.select(pl.col("question").hash(0).alias("_raw"), "_norm")
    return (
        frame.with_columns(pl.col("question").hash(0).alias("_raw"))
        .join(table.lazy(), on="_raw", how="left", maintain_order="left")
        .filter(_combined_hash(["_norm", *others]).is_first_distinct())
        .drop("_raw", "_norm")
    )


def dedupe_questions(qa: pl.DataFrame) -> tuple[pl.DataFrame, int]:
    """Drop near-duplicate questions: same images and answer, and the same question once
    lower-cased with punctuation and repeated spaces removed. Returns (kept, n_removed).

    Examples
    --------
    >>> qa = pl.DataFrame({"image_id": ["a", "a"], "question": ["Is it joy?", "is it  joy"],
    ...                    "answer": ["yes", "yes"]})
    >>> dedupe_questions(qa)[1]
    1
    """
    kept = _dedupe_lazy(qa.lazy(), qa["question"], qa.columns).collect()
    return kept, qa.height - kept.height


@dataclass
class Subset:
    """A selected QA table and its manifest (what was selected, how, from what)."""

    frame: pl.DataFrame
    manifest: dict[str, Any] = field(default_factory=dict)

    def write(self, folder: str | os.PathLike) -> Path:
        """Write ``qa.parquet`` and ``manifest.json`` into ``folder``; returns the folder."""
        out = Path(folder)
        out.mkdir(parents=True, exist_ok=True)
        self.frame.write_parquet(out / "qa.parquet", compression="zstd")
        (out / "manifest.json").write_text(json.dumps(self.manifest, indent=1, sort_keys=True))
        return out


def _counts(frame: pl.DataFrame, *keys: str) -> dict[str, int]:
    if frame.is_empty():
        return {}
    grouped = frame.group_by(*keys).len().sort(*keys)
    return {
        "/".join("" if v is None else str(v) for v in row[:-1]): int(row[-1])
        for row in grouped.iter_rows()
    }


def _gather_rows(qa: pl.DataFrame | pl.LazyFrame, rows: pl.Series) -> pl.DataFrame:
    """The rows numbered ``rows`` of the wide table, in that order; a lazy table is scanned
    once with a filter, so only the selected rows are ever held."""
    if isinstance(qa, pl.DataFrame):
        return qa[rows]
    picked = (
        qa.with_row_index("_row")
        .filter(pl.col("_row").is_in(rows.implode()))
        .collect(engine="streaming")
    )
    if not rows.is_sorted():
        picked = rows.to_frame("_row").join(picked, on="_row", how="left", maintain_order="left")
    return picked.drop("_row")


def build_subset(
    qa: pl.DataFrame | pl.LazyFrame | str | os.PathLike,
    *,
    tasks: str | Iterable[str] | None = None,
    dimensions: str | Iterable[str] | None = None,
    qtypes: str | Iterable[str] | None = None,
    sources: str | Iterable[str] | None = None,
    taxonomies: str | Iterable[str] | None = None,
    pairs: bool | None = None,
    cap_per_class: int | None = None,
    n_per_task: int | None = None,
    split_fractions: dict[str, float] | None = None,
    dedupe: bool = True,
    seed: int = 0,
    source_versions: dict[str, str] | None = None,
) -> Subset:
    """Filter, de-duplicate, cap per class, and split by image; return the subset and manifest.

    Parameters
    ----------
    qa : polars.DataFrame, polars.LazyFrame or path
        QA samples (:func:`~eemo_rewards.data.qa.generate_qa`), or a parquet file of them
        (:func:`~eemo_rewards.data.qa.write_qa`) read lazily: selection reads only the
        columns it needs, and only the selected rows of the wide table are loaded.
    tasks, dimensions, qtypes, sources, taxonomies, pairs
        Filters (see :func:`filter_qa`).
    cap_per_class, n_per_task : int, optional
        Caps (see :func:`stratified_sample`).
    split_fractions : dict, optional
        Re-split by image with these fractions (see :func:`split_by_image`); ``None`` keeps
        the splits the QA table already has.
    dedupe : bool, default True
        Drop near-duplicate questions (see :func:`dedupe_questions`).
    seed : int, default 0
    source_versions : dict, optional
        Versions of the inputs (e.g. ``{"eemo_bench": "2025-07"}``) to record.

    Returns
    -------
    Subset
        ``frame`` and ``manifest`` (counts per task, class and split; the seed; the config and
        its hash; input and output sizes; source versions).

    Examples
    --------
    >>> qa = pl.DataFrame({
    ...     "id": ["1", "2", "3"], "image_id": ["a", "b", "c"], "image_id_2": [None] * 3,
    ...     "task": ["emotion"] * 3, "solution": ["joy", "joy", "fear"],
    ...     "answer": ["joy", "joy", "fear"], "question": ["Which emotion?"] * 3,
    ...     "source": ["demo"] * 3, "split": ["train"] * 3})
    >>> subset = build_subset(qa, cap_per_class=1)
    >>> subset.frame.height, subset.manifest["counts"]["class"]
    (2, {'emotion/fear': 1, 'emotion/joy': 1})
    """
    config = {
        "tasks": _as_list(tasks),
        "dimensions": _as_list(dimensions),
        "qtypes": _as_list(qtypes),
        "sources": _as_list(sources),
        "taxonomies": _as_list(taxonomies),
        "pairs": pairs,
        "cap_per_class": cap_per_class,
        "n_per_task": n_per_task,
        "split_fractions": split_fractions,
        "dedupe": dedupe,
        "seed": seed,
    }
    _check_caps(cap_per_class, n_per_task)
    if isinstance(qa, str | os.PathLike):
        qa = pl.scan_parquet(qa)
    lazy = qa.lazy()
    columns = lazy.collect_schema().names()
    conditions = _conditions(columns, tasks, dimensions, qtypes, sources, taxonomies, None, pairs)
    # Selection runs on the few columns it needs and yields row numbers; the wide table is
    # gathered once at the end.
    needed = [c for c in _SELECTION_COLUMNS if c in columns]
    base = lazy.with_row_index("_row").filter(*conditions)
    slim = _with_optional(base.select("_row", *needed), needed).with_columns(class_of())
    keep = ["_row", "task", "class", "image_id"] + [
        c for c in ("image_id_2", "split") if c in columns
    ]
    n_input = lazy.select(pl.len()).collect().item() if isinstance(qa, pl.LazyFrame) else qa.height
    n_filtered = base.select(pl.len()).collect().item()
    if dedupe:
        questions = base.select("question").unique().collect()["question"]
        slim = _dedupe_lazy(slim, questions, needed)
    narrow = slim.select(keep).collect()
    removed = n_filtered - narrow.height
    narrow = _stratify_lazy(narrow.lazy(), cap_per_class, n_per_task, seed).collect()
    if split_fractions is not None:
        ids = narrow.select([c for c in ("image_id", "image_id_2") if c in narrow.columns])
        mapping = _split_mapping(ids, split_fractions, seed)
        narrow = narrow.drop("split", strict=False).join(
            mapping, on="image_id", how="left", maintain_order="left"
        )
    frame = _gather_rows(qa, narrow["_row"])
    if split_fractions is not None:
        frame = frame.drop("split", strict=False).with_columns(narrow["split"])
    with_class = narrow
    from eemo_rewards import __version__

    manifest = {
        "seed": seed,
        "config": config,
        "config_hash": hashlib.sha256(
            json.dumps(config, sort_keys=True, default=str).encode()
        ).hexdigest()[:16],
        "n_input": n_input,
        "n_after_filters": n_filtered,
        "n_duplicates_removed": removed,
        "n_output": frame.height,
        "counts": {
            "task": _counts(frame, "task"),
            "class": _counts(with_class, "task", "class"),
            "split": _counts(frame, "split") if "split" in frame.columns else {},
            "task_split": _counts(frame, "task", "split") if "split" in frame.columns else {},
            "source": _counts(frame, "source") if "source" in frame.columns else {},
        },
        "n_images": int(
            pl.concat(
                [frame["image_id"], frame["image_id_2"]]
                if "image_id_2" in frame.columns
                else [frame["image_id"]]
            )
            .drop_nulls()
            .n_unique()
        )
        if frame.height
        else 0,
        "source_versions": dict(source_versions or {}),
        "eemo_rewards_version": __version__,
    }
    return Subset(frame, manifest)
