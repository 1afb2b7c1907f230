"""Automated QA generation from annotated images (the EEmoDB recipe), vectorised in polars.

From canonical image records (:data:`~eemo_rewards.data.schema.RECORD_SCHEMA`) it writes QA
samples (:data:`~eemo_rewards.data.schema.QA_SCHEMA`) for the five task categories and the
open-ended one, for single images and for image pairs:

===================  ==================  ===================================================
task                 qtype               question
===================  ==================  ===================================================
``yes_no``           ``member``          is an emotion among the image's top three?
``yes_no``           ``dominant``        is an emotion the dominant one? (single-label
                                         sources, whose top three is unknown)
``yes_no``           ``level``           is a V/A/D dimension high / moderate / low?
``multiple_choice``  ``dominant``        the dominant emotion among hard-negative options
``multiple_choice``  ``level``           the level of a V/A/D dimension
``ranking``          ``top3``            the top three emotions, strongest first
``assessment``       ``score``           a V/A/D score on 0–1 (one row per dimension)
``emotion``          ``dominant``        the dominant emotion, as a label
``description``      ``cues`` …          open-ended, with a reference answer
``comparison``       ``more`` (pair)     which image is more positive / aroused / dominant
``multiple_choice``  ``common`` (pair)   the emotion both images evoke
``yes_no``           ``both`` (pair)     is an emotion among both images' top three?
===================  ==================  ===================================================

Rules that hold for every output (and that :func:`check_qa` re-derives from the records):

- distractors are hard negatives: the labels of the taxonomy nearest to the answer in VAD
  (EEmo-Logic's weighted distance), never one of the image's top-three emotions, so exactly
  one option is right;
- answer letters are balanced (the answer's position cycles over a seeded permutation) and
  yes/no answers are balanced, within each chunk of :data:`CHUNK_RECORDS` records;
- V/A/D targets are on 0–1 whatever the source scale; levels are ≤ 0.4 low, ≥ 0.6 high;
- the answer never appears in the question stem;
- the two images of a pair always come from the same split, so no split leaks into another;
- everything is a deterministic function of the records and the seed.
"""

from __future__ import annotations

import functools
import inspect
import os
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, NamedTuple, cast

import numpy as np
import polars as pl

from eemo_rewards.data.frames import rows_frame
from eemo_rewards.data.labels import TAXONOMY_LABELS, label_distance
from eemo_rewards.data.schema import (
    QA_SCHEMA,
    VAD_SCALES,
    ValidationResult,
    conform_records,
    validate_records,
)
from eemo_rewards.data.templates import TEMPLATE_FAMILIES, TEMPLATES, level_phrase
from eemo_rewards.tasks import TASKS, normalise_task
from eemo_rewards.taxonomy import DIMENSIONS, LEVEL_BAND

__all__ = [
    "CHUNK_RECORDS",
    "DEFAULT_SPLITS",
    "LETTERS",
    "WrittenQA",
    "assign_splits",
    "check_qa",
    "generate_qa",
    "write_qa",
]

LETTERS = "ABCDEFGHIJ"
DEFAULT_SPLITS = {"train": 0.8, "val": 0.1, "test": 0.1}
LEVELS = ("high", "moderate", "low")
_FEELING = {"valence": "positive", "arousal": "aroused", "dominance": "in control"}
_SAME_MARGIN = 0.05  # |Δ| on the 0–1 scale below which a pair counts as "same"
_N_OPTIONS = 4
# Records are generated in chunks of this many: pairs are drawn, and answer letters and
# yes/no balanced, within a chunk; memory grows with the chunk, not with the set.
CHUNK_RECORDS = 32_768


# --------------------------------------------------------------------------- helpers
def _level_expr(x: pl.Expr) -> pl.Expr:
    return (
        pl.when(x <= LEVEL_BAND[0])
        .then(pl.lit("low"))
        .when(x >= LEVEL_BAND[1])
        .then(pl.lit("high"))
        .otherwise(pl.lit("moderate"))
    )


def _score_text(x: pl.Expr) -> pl.Expr:
    """0–1 value → ``"0.73"`` (two decimals, ``"1.00"`` at the top)."""
    cents = (x * 100).round(0).cast(pl.Int64)
    return (
        pl.when(cents >= 100)
        .then(pl.lit("1.00"))
        .otherwise(pl.concat_str(pl.lit("0."), cents.cast(pl.String).str.zfill(2)))
    )


def _letters_of(options: pl.Expr) -> pl.Expr:
    """The options block of a question: ``"A. joy\\nB. fear"``."""
    parts = [
        pl.when(options.list.len() > i).then(
            pl.concat_str(pl.lit(f"{LETTERS[i]}. "), options.list.get(i, null_on_oob=True))
        )
        for i in range(len(LETTERS))
    ]
    return pl.concat_list(parts).list.drop_nulls().list.join("\n")


def _balanced(n: int, k: int, rng: np.random.Generator) -> np.ndarray:
    """Positions in ``range(k)`` that each occur ``n // k`` or one more times, shuffled."""
    return rng.permutation(n) % k if n else np.zeros(0, dtype=np.int64)


@functools.lru_cache(maxsize=65536)
def _hard_negatives(taxonomy: str, answer: str, exclude: frozenset[str], k: int) -> tuple:
    """The ``k`` labels nearest ``answer`` outside ``exclude``: every chunk of a large set
    asks for the same few hundred combinations."""
    labels = TAXONOMY_LABELS[taxonomy]
    banned = exclude | {answer}
    candidates = [x for x in labels if x not in banned]
    return tuple(sorted(candidates, key=lambda x: (label_distance(answer, x), x))[:k])


# "<taxonomy>/<label>" → its bit in a set of the taxonomy's labels (a taxonomy has < 64).
_LABEL_BITS = {
    f"{taxonomy}/{label}": 1 << i
    for taxonomy, labels in TAXONOMY_LABELS.items()
    for i, label in enumerate(labels)
}
assert all(len(labels) < 64 for labels in TAXONOMY_LABELS.values()), "label sets need > 64 bits"


def _excluded(taxonomy: str, exclude: Iterable[str] | int | None) -> list[str]:
    """The excluded labels, given as a list or as a bit set of the taxonomy's labels."""
    if isinstance(exclude, int):
        return [x for i, x in enumerate(TAXONOMY_LABELS[taxonomy]) if exclude >> i & 1]
    return list(exclude or [])


_SEPARATOR = "\x1f"  # joins a combo's distractors (no label holds it)
assert not any(_SEPARATOR in x for xs in TAXONOMY_LABELS.values() for x in xs)


def _distractor_table(keys: pl.DataFrame, answer: str, exclude: str, k: int) -> pl.DataFrame:
    """Distractors per distinct (taxonomy, answer, excluded set): few combos, so Python is fine."""
    combos = keys.select("taxonomy", answer, exclude).unique(maintain_order=True)
    # Each combo's labels joined, then split in one pass (a Series built from a Python list
    # of lists costs ~15 µs per list).
    joined = pl.Series(
        "_neg",
        [
            _SEPARATOR.join(_hard_negatives(t, a, frozenset(_excluded(t, ex)), k))
            if a is not None
            else None
            for t, a, ex in combos.iter_rows()
        ],
        dtype=pl.String,
    )
    negatives = (
        pl.when(joined == "")
        .then(pl.lit([], dtype=pl.List(pl.String)))
        .otherwise(joined.str.split(_SEPARATOR))
    )
    return combos.with_columns(negatives.alias("_neg"))


def assign_splits(
    ids: Sequence[str] | pl.Series,
    fractions: dict[str, float] | None = None,
    *,
    seed: int = 0,
) -> pl.DataFrame:
    """Assign each distinct id to a split, by seeded shuffle of the sorted distinct ids.

    The result does not depend on the order or repetition of ``ids``.

    Examples
    --------
    >>> splits = assign_splits([f"img{i}" for i in range(10)], {"train": 0.8, "test": 0.2})
    >>> splits["split"].value_counts(sort=True).rows()
    [('train', 8), ('test', 2)]
    """
    fractions = dict(DEFAULT_SPLITS if fractions is None else fractions)
    if not fractions or any(f < 0 for f in fractions.values()) or sum(fractions.values()) <= 0:
        raise ValueError(f"split fractions must be non-negative with a positive sum: {fractions}")
    total = sum(fractions.values())
    unique = pl.Series("id", ids, dtype=pl.String).drop_nulls().unique().sort()
    n = unique.len()
    order = np.random.default_rng(seed).permutation(n)
    bounds = np.round(np.cumsum([f / total for f in fractions.values()]) * n).astype(int)
    names = np.array(list(fractions), dtype=object)
    split_of_rank = names[np.searchsorted(bounds, np.arange(n), side="right")]
    return pl.DataFrame({"id": unique, "split": pl.Series(split_of_rank[order], dtype=pl.String)})


# --------------------------------------------------------------------------- preparation
def _vad_levels_expr() -> pl.Expr:
    """The phrase "valence high, arousal low, …" over the dimensions a record has."""
    return pl.concat_str(
        [
            pl.when(pl.col(f"_{d}").is_not_null()).then(
                pl.concat_str(pl.lit(f"{d} "), pl.col(f"_{d}_level"))
            )
            for d in DIMENSIONS
        ],
        separator=", ",
        ignore_nulls=True,
    )


def _cues_expr() -> pl.Expr:
    """The visual cues a record knows: its caption, else its content, scene, expression and
    first objects."""
    return pl.coalesce(
        pl.col("caption"),
        pl.concat_str(
            [
                pl.col("content"),
                pl.col("scene"),
                pl.col("facial_expression"),
                pl.col("objects").list.head(3).list.join(", "),
            ],
            separator="; ",
            ignore_nulls=True,
        ),
    )


def _think_expr(style: str) -> pl.Expr:
    """Reference reasoning from what the record knows: the visual cues (``_cues``), then the
    feeling (``_vad``, the V/A/D levels, and the ranking)."""
    if style == "none":
        return pl.lit("")
    cues = pl.col("_cues")
    if style == "cues":
        return cues.fill_null("")
    vad = pl.col("_vad")
    return pl.concat_str(
        [
            pl.when(cues != "").then(cues),
            pl.when(vad != "").then(vad),
            pl.when(pl.col("ranking").list.len() > 0).then(
                pl.concat_str(pl.lit("evokes "), pl.col("ranking").list.join(", "))
            ),
        ],
        separator="; ",
        ignore_nulls=True,
    ).fill_null("")


def _description_expr() -> pl.Expr:
    """The reference answer of an open-ended question (``_vad``: the V/A/D levels)."""
    cues = pl.coalesce(pl.col("caption"), pl.col("content"))
    main = (
        pl.when(pl.col("ranking").list.len() > 1)
        .then(
            pl.format(
                "It evokes {} most, then {}.",
                pl.col("ranking").list.first(),
                pl.col("ranking").list.slice(1).list.join(" and "),
            )
        )
        .when(pl.col("emotion").is_not_null())
        .then(pl.format("It evokes {}.", pl.col("emotion")))
    )
    vad = pl.col("_vad")
    return pl.concat_str(
        [
            pl.when(cues.is_not_null()).then(pl.format("The image shows {}.", cues)),
            main,
            pl.when(vad != "").then(pl.format("The feeling: {}.", vad)),
        ],
        separator=" ",
        ignore_nulls=True,
    )


def _refuse_invalid(records: pl.DataFrame) -> pl.DataFrame:
    """The validated records, or an error that points to the quarantine."""
    kept, quarantine = validate_records(records, require_label=False)
    if quarantine.height:
        first = quarantine.select("id", "reason").head(3).rows()
        raise ValueError(
            f"{quarantine.height} of {records.height} records fail validation (e.g. {first}); "
            "run eemo_rewards.data.schema.validate_records(records) and pass its .kept table "
            "(keep its .quarantine table as the report), or stream with write_qa, which "
            "quarantines them"
        )
    return kept


def _split_column(ids: pl.Series, splits: dict[str, float] | None, seed: int) -> pl.Series:
    """Each record's assigned split, aligned with ``ids`` (ids are unique after validation)."""
    assigned = assign_splits(ids, splits, seed=seed)
    return (
        ids.to_frame("id")
        .join(assigned, on="id", how="left", maintain_order="left")
        .get_column("split")
        .alias("_split")
    )


def _prepare(kept: pl.DataFrame, assigned: pl.Series | None, think: str) -> pl.DataFrame:
    """Validated records → the working frame: V/A/D on 0–1 with levels, split, reasoning."""
    bounds = pl.DataFrame(
        {
            "vad_scale": list(VAD_SCALES),
            "_lo": [b[0] for b in VAD_SCALES.values()],
            "_hi": [b[1] for b in VAD_SCALES.values()],
        }
    )
    frame = (
        kept.join(bounds, on="vad_scale", how="left", maintain_order="left")
        .with_columns(
            ((pl.col(d) - pl.col("_lo")) / (pl.col("_hi") - pl.col("_lo"))).alias(f"_{d}")
            for d in DIMENSIONS
        )
        .with_columns(_level_expr(pl.col(f"_{d}")).alias(f"_{d}_level") for d in DIMENSIONS)
        .with_columns(pl.col("ranking").fill_null(pl.lit([], dtype=pl.List(pl.String))))
    )
    if assigned is not None:
        frame = frame.with_columns(pl.coalesce(pl.col("split"), assigned).alias("split"))
    # The pieces both texts use, computed once (an expression used twice is evaluated twice).
    frame = frame.with_columns(_cues_expr().alias("_cues"), _vad_levels_expr().alias("_vad"))
    return frame.with_columns(
        _think_expr(think).alias("_think"), _description_expr().alias("_desc")
    )


# --------------------------------------------------------------------------- single image
def _base(frame: pl.DataFrame, task: str, qtype: str, dimension: str | pl.Expr) -> pl.DataFrame:
    return frame.select(
        pl.col("id").alias("image_id"),
        pl.lit(None, pl.String).alias("image_id_2"),
        pl.col("image_path"),
        pl.lit(None, pl.String).alias("image_path_2"),
        pl.lit(task).alias("task"),
        (dimension if isinstance(dimension, pl.Expr) else pl.lit(dimension)).alias("dimension"),
        pl.lit(qtype).alias("qtype"),
        pl.col("taxonomy"),
        pl.col("source"),
        pl.col("split"),
        pl.col("_think").alias("think"),
    )


def _yes_no_label(frame: pl.DataFrame, rng: np.random.Generator, qtype: str) -> pl.DataFrame:
    """Is an emotion among the top three (``member``) / the dominant one (``dominant``)?

    A "no" asks about the hard negative nearest the dominant emotion outside the known
    labels; when the taxonomy has none left, the question is a "yes".
    """
    frame = frame.join(
        _distractor_table(frame, "emotion", "ranking", 1),
        on=["taxonomy", "emotion", "ranking"],
        maintain_order="left",
    )
    yes = _balanced(frame.height, 2, rng) == 0
    pick = rng.integers(0, 1 << 30, frame.height)
    true_label = (
        pl.col("ranking").list.get(pl.col("_pick") % pl.col("ranking").list.len())
        if qtype == "member"
        else pl.col("emotion")
    )
    frame = frame.with_columns(
        pl.Series("_yes", yes), pl.Series("_pick", pick, dtype=pl.Int64)
    ).with_columns((pl.col("_yes") | (pl.col("_neg").list.len() == 0)).alias("_yes"))
    frame = frame.with_columns(
        pl.when(pl.col("_yes"))
        .then(true_label)
        .otherwise(pl.col("_neg").list.first())
        .alias("_asked")
    )
    return _base(frame, "yes_no", qtype, "emotion").with_columns(
        frame["_asked"].alias("asked"),
        frame["_asked"].alias("_emotion"),
        pl.lit(None, pl.List(pl.String)).alias("options"),
        pl.when(frame["_yes"]).then(pl.lit("yes")).otherwise(pl.lit("no")).alias("solution"),
    )


def _yes_no_member(frame: pl.DataFrame, rng: np.random.Generator) -> list[pl.DataFrame]:
    """Top-three membership where the top three is known; else about the dominant emotion
    (a single-label source says nothing about an image's second and third emotions)."""
    known = frame.filter(pl.col("ranking").list.len() >= 3)
    single = frame.filter(
        (pl.col("ranking").list.len() < 3) & pl.col("emotion").is_not_null()
    ).with_columns(pl.concat_list("emotion").alias("ranking"))
    return [_yes_no_label(known, rng, "member"), _yes_no_label(single, rng, "dominant")]


def _by_dimension(keep: Sequence[np.ndarray]) -> tuple[np.ndarray, pl.Series]:
    """The rows ``keep[j]`` selects for each dimension ``j``, in dimension order, and their
    dimension (``_dim``): gathering them once beats concatenating one filter per dimension,
    a frame copied whole the first time a column is added to it."""
    index = np.concatenate([np.flatnonzero(k) for k in keep])
    counts = [int(k.sum()) for k in keep]
    return index, pl.Series("_dim", DIMENSIONS)[np.repeat(np.arange(len(DIMENSIONS)), counts)]


def _dimension_rows(frame: pl.DataFrame, rng: np.random.Generator, all_dims: bool) -> pl.DataFrame:
    """One row per record with a V/A/D value: its dimension rotates (or every dimension)."""
    has = [frame[f"_{d}"].is_not_null().to_numpy() for d in DIMENSIONS]
    keep = has
    if not all_dims and frame.height:
        # Keep one dimension per image, drawn by the seed: a uniform draw per (image,
        # dimension) row, in the order of the rows below, and the smallest draw wins.
        draws = np.full((frame.height, len(DIMENSIONS)), np.inf)
        drawn = rng.random(int(sum(h.sum() for h in has)))
        offset = 0
        for j, h in enumerate(has):
            draws[h, j] = drawn[offset : offset + h.sum()]
            offset += h.sum()
        winner = draws.argmin(axis=1)
        keep = [h & (winner == j) for j, h in enumerate(has)]
    index, dimension = _by_dimension(keep)
    return frame[index].with_columns(
        dimension,
        pl.Series(
            "_value",
            np.concatenate(
                [frame[f"_{d}"].to_numpy()[k] for d, k in zip(DIMENSIONS, keep, strict=True)]
            ),
        ),
        pl.concat(
            [
                frame[f"_{d}_level"].filter(pl.Series(k))
                for d, k in zip(DIMENSIONS, keep, strict=True)
            ]
        )
        .rechunk()
        .alias("_level"),
    )


def _yes_no_level(frame: pl.DataFrame, rng: np.random.Generator) -> pl.DataFrame:
    rows = _dimension_rows(frame, rng, all_dims=False)
    yes = _balanced(rows.height, 2, rng) == 0
    other = rng.integers(1, 3, rows.height)  # which of the two other levels a "no" asks about
    levels = pl.lit(list(LEVELS), dtype=pl.List(pl.String))
    index = (
        pl.when(pl.col("_level") == "high")
        .then(0)
        .when(pl.col("_level") == "moderate")
        .then(1)
        .otherwise(2)
    )
    rows = rows.with_columns(
        pl.Series("_yes", yes),
        pl.Series("_other", other, dtype=pl.Int64),
    ).with_columns(
        pl.when(pl.col("_yes"))
        .then(pl.col("_level"))
        .otherwise(levels.list.get((index + pl.col("_other")) % 3))
        .alias("_asked")
    )
    return _base(rows, "yes_no", "level", pl.col("_dim")).with_columns(
        rows["_asked"].alias("asked"),
        rows["_asked"].alias("_level"),
        pl.lit(None, pl.List(pl.String)).alias("options"),
        pl.when(rows["_yes"]).then(pl.lit("yes")).otherwise(pl.lit("no")).alias("solution"),
    )


def _with_options(rows: pl.DataFrame, answer: str, rng: np.random.Generator) -> pl.DataFrame:
    """Insert the answer into the distractors ``_neg`` at a balanced position."""
    n_opts = rows["_neg"].list.len() + 1
    position = np.zeros(rows.height, dtype=np.int64)
    for k in n_opts.unique().to_list():
        mask = (n_opts == k).to_numpy()
        position[mask] = _balanced(int(mask.sum()), int(k), rng)
    rows = rows.with_columns(pl.Series("_pos", position))
    return rows.with_columns(
        pl.concat_list(
            pl.col("_neg").list.slice(0, pl.col("_pos")),
            pl.col(answer),
            pl.col("_neg").list.slice(pl.col("_pos")),
        ).alias("options"),
        pl.lit(LETTERS).str.slice(pl.col("_pos"), 1).alias("solution"),
    )


def _mc_dominant(frame: pl.DataFrame, rng: np.random.Generator) -> pl.DataFrame:
    frame = frame.filter(pl.col("emotion").is_not_null())
    frame = frame.join(
        _distractor_table(frame, "emotion", "ranking", _N_OPTIONS - 1),
        on=["taxonomy", "emotion", "ranking"],
        maintain_order="left",
    ).filter(pl.col("_neg").list.len() > 0)
    frame = _with_options(frame, "emotion", rng)
    return _base(frame, "multiple_choice", "dominant", "emotion").with_columns(
        frame["options"], frame["solution"], pl.lit(None, pl.String).alias("asked")
    )


def _mc_level(frame: pl.DataFrame, rng: np.random.Generator) -> pl.DataFrame:
    rows = _dimension_rows(frame, rng, all_dims=False)
    phrases = {
        d: pl.DataFrame(
            {
                "_dim": [d] * 3,
                "_level": list(LEVELS),
                "_phrase": [level_phrase(d, x) for x in LEVELS],
            }
        )
        for d in DIMENSIONS
    }
    table = pl.concat(list(phrases.values()))
    rows = rows.join(table, on=["_dim", "_level"], how="left")
    # The two other phrases of the same dimension, in a seeded order.
    others = (
        table.join(table, on="_dim", suffix="_o")
        .filter(pl.col("_level") != pl.col("_level_o"))
        .group_by("_dim", "_level", maintain_order=True)
        .agg(pl.col("_phrase_o").alias("_neg"))
    )
    rows = rows.join(others, on=["_dim", "_level"], how="left")
    flip = pl.Series("_flip", rng.integers(0, 2, rows.height).astype(bool))
    rows = rows.with_columns(flip).with_columns(
        pl.when(pl.col("_flip")).then(pl.col("_neg").list.reverse()).otherwise(pl.col("_neg"))
    )
    rows = _with_options(rows, "_phrase", rng)
    return _base(rows, "multiple_choice", "level", pl.col("_dim")).with_columns(
        rows["options"], rows["solution"], pl.lit(None, pl.String).alias("asked")
    )


def _ranking(frame: pl.DataFrame) -> pl.DataFrame:
    frame = frame.filter(pl.col("ranking").list.len() >= 2)
    return _base(frame, "ranking", "top3", "emotion").with_columns(
        pl.lit(None, pl.List(pl.String)).alias("options"),
        frame["ranking"].list.join(", ").alias("solution"),
        pl.lit(None, pl.String).alias("asked"),
    )


def _assessment(frame: pl.DataFrame, rng: np.random.Generator) -> pl.DataFrame:
    rows = _dimension_rows(frame, rng, all_dims=True)
    return _base(rows, "assessment", "score", pl.col("_dim")).with_columns(
        pl.lit(None, pl.List(pl.String)).alias("options"),
        pl.concat_str(rows["_dim"], pl.lit(": "), _score_text(rows["_value"])).alias("solution"),
        pl.lit(None, pl.String).alias("asked"),
    )


def _emotion(frame: pl.DataFrame) -> pl.DataFrame:
    frame = frame.filter(pl.col("emotion").is_not_null())
    return _base(frame, "emotion", "dominant", "emotion").with_columns(
        pl.lit(None, pl.List(pl.String)).alias("options"),
        frame["emotion"].alias("solution"),
        pl.lit(None, pl.String).alias("asked"),
    )


def _description(frame: pl.DataFrame, qtype: str, answer: pl.Expr) -> pl.DataFrame:
    rows = frame.with_columns(answer.alias("_answer")).filter(pl.col("_answer") != "")
    return _base(rows, "description", qtype, "description").with_columns(
        pl.lit(None, pl.List(pl.String)).alias("options"),
        rows["_answer"].alias("solution"),
        pl.lit(None, pl.String).alias("asked"),
    )


def _emovit_conversation() -> pl.Expr:
    return pl.concat_str(
        [
            pl.when(pl.col("content").is_not_null()).then(
                pl.format("It shows {}.", pl.col("content"))
            ),
            pl.when(pl.col("objects").list.len() > 0).then(
                pl.format("Objects: {}.", pl.col("objects").list.join(", "))
            ),
            pl.when(pl.col("facial_expression").is_not_null()).then(
                pl.format("A {} facial expression stands out.", pl.col("facial_expression"))
            ),
            pl.when(pl.col("human_action").is_not_null()).then(
                pl.format("Someone is {}.", pl.col("human_action"))
            ),
            pl.when(pl.col("brightness").is_not_null()).then(
                pl.format(
                    "It is {} and {}.",
                    pl.when(pl.col("brightness") >= 0.6)
                    .then(pl.lit("bright"))
                    .when(pl.col("brightness") <= 0.4)
                    .then(pl.lit("dark"))
                    .otherwise(pl.lit("moderately bright")),
                    pl.when(pl.col("colorfulness").fill_null(0.5) >= 0.6)
                    .then(pl.lit("colourful"))
                    .when(pl.col("colorfulness").fill_null(0.5) <= 0.4)
                    .then(pl.lit("muted"))
                    .otherwise(pl.lit("moderately colourful")),
                )
            ),
        ],
        separator=" ",
        ignore_nulls=True,
    ).fill_null("")


def _emovit_reasoning() -> pl.Expr:
    return (
        pl.when(pl.col("emotion").is_not_null())
        .then(
            pl.concat_str(
                [_emovit_conversation(), pl.format("Together these cues evoke {}.", "emotion")],
                separator=" ",
            ).str.strip_chars()
        )
        .otherwise(pl.lit(""))
    )


# --------------------------------------------------------------------------- pairs
def _pairs(frame: pl.DataFrame, n_pairs: int, rng: np.random.Generator) -> pl.DataFrame:
    """Pairs of distinct images drawn within each split (so pairs never cross splits)."""
    if n_pairs <= 0 or frame.height < 2:
        return pl.DataFrame()
    keep = [
        "id",
        "image_path",
        "taxonomy",
        "source",
        "split",
        "ranking",
        "_think",
        *(f"_{d}" for d in DIMENSIONS),
    ]
    # Pairing runs on row numbers (ids are unique, so a pair of rows is a pair of images);
    # the wide columns are gathered once for the chosen pairs. Splits and taxonomies become
    # their dense ranks (splits in sorted order, a missing one first).
    split = frame["split"].rank("dense").fill_null(0).to_numpy()
    taxonomy = frame["taxonomy"].rank("dense").fill_null(-1).to_numpy()
    n = frame.height
    firsts, seconds = [], []
    per_round = max(1, n // 2)
    for _ in range(-(-n_pairs // per_round) + 1):
        # Each round shuffles the images within each split and pairs neighbours: the 1st
        # with the 2nd, the 3rd with the 4th, … (an odd one out waits for the next round).
        order = np.lexsort((rng.random(n), split))
        ranked = split[order]
        position = np.arange(n) - np.searchsorted(ranked, ranked)
        # The next image is in the same split (an image without a split pairs with none).
        has_next = np.append((ranked[1:] == ranked[:-1]) & (ranked[1:] > 0), False)
        take = np.flatnonzero((position % 2 == 0) & has_next)
        firsts.append(order[take])
        seconds.append(order[take + 1])
    one, two = np.concatenate(firsts), np.concatenate(seconds)
    same = (taxonomy[one] == taxonomy[two]) & (taxonomy[one] >= 0)
    one, two = one[same], two[same]
    # The first time each unordered pair is drawn, in drawing order.
    _, drawn_first = np.unique(np.minimum(one, two) * n + np.maximum(one, two), return_index=True)
    chosen = np.sort(drawn_first)[:n_pairs]
    base = frame.select(keep)
    second = base.drop("split")[two[chosen]]
    return pl.concat(
        [base[one[chosen]], second.rename({c: f"{c}_2" for c in second.columns})],
        how="horizontal",
    )


def _pair_base(pairs: pl.DataFrame, task: str, qtype: str, dimension) -> pl.DataFrame:
    return pairs.select(
        pl.col("id").alias("image_id"),
        pl.col("id_2").alias("image_id_2"),
        pl.col("image_path"),
        pl.col("image_path_2"),
        pl.lit(task).alias("task"),
        (dimension if isinstance(dimension, pl.Expr) else pl.lit(dimension)).alias("dimension"),
        pl.lit(qtype).alias("qtype"),
        pl.col("taxonomy"),
        pl.col("source"),
        pl.col("split"),
        pl.concat_str(
            pl.lit("first: "), pl.col("_think"), pl.lit(" | second: "), pl.col("_think_2")
        ).alias("think"),
    )


def _comparison(pairs: pl.DataFrame, rng: np.random.Generator) -> pl.DataFrame:
    # The pairs that know a dimension on both sides, in dimension order.
    both = [
        (pairs[f"_{d}"].is_not_null() & pairs[f"_{d}_2"].is_not_null()).to_numpy()
        for d in DIMENSIONS
    ]
    index, dimension = _by_dimension(both)
    diff = [
        (pairs[f"_{d}"] - pairs[f"_{d}_2"]).to_numpy()[k]
        for d, k in zip(DIMENSIONS, both, strict=True)
    ]
    rows = pairs.with_row_index("_p")[index].with_columns(
        dimension, pl.Series("_diff", np.concatenate(diff), dtype=pl.Float64)
    )
    if rows.height:
        # One dimension per pair: the one with the smallest draw.
        pair, draw = rows["_p"].to_numpy(), rng.random(rows.height)
        order = np.lexsort((draw, pair))
        smallest = np.zeros(rows.height, dtype=bool)
        smallest[order[np.append(True, pair[order][1:] != pair[order][:-1])]] = True
        rows = rows.filter(pl.Series(smallest))
    return _pair_base(rows, "comparison", "more", pl.col("_dim")).with_columns(
        pl.lit(None, pl.List(pl.String)).alias("options"),
        pl.when(rows["_diff"].abs() < _SAME_MARGIN)
        .then(pl.lit("same"))
        .when(rows["_diff"] > 0)
        .then(pl.lit("first"))
        .otherwise(pl.lit("second"))
        .alias("solution"),
        pl.lit(None, pl.String).alias("asked"),
        rows["_dim"].replace_strict(_FEELING, return_dtype=pl.String).alias("_feeling"),
    )


def _strongest_common(pairs: pl.DataFrame) -> pl.Expr:
    """The first emotion of the first ranking that the second ranking shares."""
    longest = pairs["ranking"].list.len().max() or 0
    common = pl.lit(None, pl.String)
    for i in reversed(range(longest)):
        label = pl.col("ranking").list.get(i, null_on_oob=True)
        common = pl.when(pl.col("ranking_2").list.contains(label)).then(label).otherwise(common)
    return common


def _mc_common(pairs: pl.DataFrame, rng: np.random.Generator) -> pl.DataFrame:
    rows = pairs.with_columns(_strongest_common(pairs).alias("_common")).filter(
        pl.col("_common").is_not_null()
    )
    # The labels of either image, as a bit set: a cheap key for the distractor table.
    longest = max(rows["ranking"].list.len().max() or 0, rows["ranking_2"].list.len().max() or 0)
    union = pl.lit(0, pl.UInt64)
    for column in ("ranking", "ranking_2"):
        for i in range(longest):
            label = pl.concat_str(
                "taxonomy", pl.lit("/"), pl.col(column).list.get(i, null_on_oob=True)
            )
            bit = label.replace_strict(_LABEL_BITS, default=0, return_dtype=pl.UInt64)
            union = union | bit.fill_null(0)
    rows = rows.with_columns(union.alias("_union"))
    rows = rows.join(
        _distractor_table(rows, "_common", "_union", _N_OPTIONS - 1),
        on=["taxonomy", "_common", "_union"],
        maintain_order="left",
    ).filter(pl.col("_neg").list.len() > 0)
    rows = _with_options(rows, "_common", rng)
    return _pair_base(rows, "multiple_choice", "common", "emotion").with_columns(
        rows["options"], rows["solution"], pl.lit(None, pl.String).alias("asked")
    )


def _yes_no_both(pairs: pl.DataFrame, rng: np.random.Generator) -> pl.DataFrame:
    rows = pairs.with_columns(
        # list.eval's sort: the same order as list.sort, many times faster on short lists.
        pl.col("ranking")
        .list.set_intersection("ranking_2")
        .list.eval(pl.element().sort())
        .alias("_both"),
        # Hard negatives: emotions of one image only.
        pl.col("ranking")
        .list.set_difference("ranking_2")
        .list.concat(pl.col("ranking_2").list.set_difference("ranking"))
        .list.eval(pl.element().sort())
        .alias("_one"),
    ).filter(
        (pl.col("ranking").list.len() >= 3)
        & (pl.col("ranking_2").list.len() >= 3)
        & ((pl.col("_both").list.len() > 0) | (pl.col("_one").list.len() > 0))
    )
    want_yes = pl.Series("_want", _balanced(rows.height, 2, rng) == 0)
    pick = pl.Series("_pick", rng.integers(0, 1 << 30, rows.height), dtype=pl.Int64)
    rows = rows.with_columns(want_yes, pick).with_columns(
        (
            (pl.col("_want") & (pl.col("_both").list.len() > 0)) | (pl.col("_one").list.len() == 0)
        ).alias("_yes")
    )
    asked = (
        pl.when(pl.col("_yes"))
        .then(pl.col("_both").list.get(pl.col("_pick") % pl.col("_both").list.len()))
        .otherwise(pl.col("_one").list.get(pl.col("_pick") % pl.col("_one").list.len()))
    )
    rows = rows.with_columns(asked.alias("_asked"))
    return _pair_base(rows, "yes_no", "both", "emotion").with_columns(
        rows["_asked"].alias("asked"),
        rows["_asked"].alias("_emotion"),
        pl.lit(None, pl.List(pl.String)).alias("options"),
        pl.when(rows["_yes"]).then(pl.lit("yes")).otherwise(pl.lit("no")).alias("solution"),
    )


# --------------------------------------------------------------------------- templates
# What each placeholder of a template fills, and the column a question's key holds for it
# (the label list is one of the taxonomy, a shorter key).
_FIELDS = {
    "{emotion}": "_emotion",
    "{level}": "_level",
    "{dimension}": "dimension",
    "{labels}": "_labels",
    "{feeling}": "_feeling",
}
_KEY_OF = {column: "taxonomy" if column == "_labels" else column for column in _FIELDS.values()}
# A taxonomy's labels as its questions list them.
_LABEL_LISTS = {taxonomy: ", ".join(labels) for taxonomy, labels in TAXONOMY_LABELS.items()}
_TAIL = {"yes_no": " Answer yes or no.", "multiple_choice": "\nAnswer with the option's letter."}


@functools.cache
def _question_expr() -> pl.Expr:
    """The question of a distinct key row: the template ``_t`` filled, the options block
    appended, then the task's ``_tail`` (built once: building expressions costs time)."""
    question = pl.col("_t")
    for placeholder, column in _FIELDS.items():
        question = question.str.replace_all(placeholder, pl.col(column).fill_null(""), literal=True)
    with_options = pl.concat_str(question, pl.lit("\nOptions:\n"), _letters_of(pl.col("options")))
    return (
        pl.when(pl.col("options").is_not_null())
        .then(with_options)
        .otherwise(question)
        .add(pl.col("_tail"))
        .alias("question")
    )


def _render(
    parts: Sequence[pl.DataFrame], families: Sequence[str], rng: np.random.Generator
) -> list[pl.DataFrame]:
    """Pick a family and phrasing per row, fill the template, append the options block.

    The questions of every part (one kind each) are rendered together; a part whose kind no
    family phrases is left out."""
    picked, tables, distinct, where = [], [], [], []
    # "_tix" numbers the templates of all kinds; "where" indexes the distinct questions of all.
    n_templates = n_distinct = 0
    for rows in parts:
        kind = rows["task"][0] + "/" + rows["qtype"][0]
        usable = [f for f in families if kind in TEMPLATES[f]]
        if not usable:
            continue
        table = rows_frame(
            {"template_id": f"{f}/{kind}/{i}", "_family": f, "_t": t}
            for f in usable
            for i, t in enumerate(TEMPLATES[f][kind])
        ).with_columns(pl.lit(_TAIL.get(rows["task"][0], "")).alias("_tail"))
        counts = [len(TEMPLATES[f][kind]) for f in usable]
        family_ix = rng.integers(0, len(usable), rows.height)
        phrase_ix = rng.integers(0, 1 << 30, rows.height) % np.array(counts)[family_ix]
        starts = np.cumsum([0, *counts[:-1]])  # the table's row of each family's 1st phrasing
        tix = starts[family_ix] + phrase_ix
        rows = rows.hstack(table[tix].select("template_id", "_family")).with_columns(
            pl.Series("_tix", tix + n_templates, dtype=pl.UInt32)
        )
        picked.append((rows, "emoprompt" in usable))
        tables.append(table.select("_t", "_tail"))
        n_templates += table.height
        # A question is a function of its template, the fields its kind's templates name
        # (the label list is one of the taxonomy) and its options: render each distinct
        # combination once and gather. One hashing pass finds each row's first row with
        # the same key; those first rows are the distinct combinations, in row order.
        texts = table["_t"].to_list()
        named = [
            _KEY_OF[c] for placeholder, c in _FIELDS.items() if any(placeholder in t for t in texts)
        ]
        has_options = rows["options"].null_count() < rows.height
        keys = ["_tix", *(c for c in named if c in rows.columns)]
        keys += ["options"] if has_options else []
        first = (
            rows.select(pl.int_range(pl.len(), dtype=pl.UInt32).alias("_r"), *keys)
            .select(pl.col("_r").first().over(keys))
            .to_series()
            .to_numpy()
        )
        is_first = first == np.arange(rows.height)
        distinct.append(rows.select(keys).filter(pl.Series(is_first)))
        where.append(n_distinct + (np.cumsum(is_first) - 1)[first])
        n_distinct += distinct[-1].height
    if not picked:
        return []
    # The distinct rows of every kind, with the columns a kind's key left out as nulls.
    absent = dict.fromkeys(_KEY_OF.values(), pl.String)
    fields = pl.concat(
        [pl.DataFrame(schema={**absent, "options": pl.List(pl.String)}), *distinct],
        how="diagonal_relaxed",
    ).with_columns(pl.col("taxonomy").replace_strict(_LABEL_LISTS, default=None).alias("_labels"))
    questions = (
        fields.hstack(pl.concat(tables)[fields["_tix"]])
        .select(_question_expr())
        .to_series()
        .gather(np.concatenate(where))
    )
    rendered, offset = [], 0
    for rows, emoprompt in picked:
        rows = rows.with_columns(questions.slice(offset, rows.height))
        offset += rows.height
        if emoprompt:
            # EmoPrompt's reference reasoning follows its steps: cues, then feeling.
            rows = rows.with_columns(
                pl.when(pl.col("_family") == "emoprompt")
                .then(pl.concat_str(pl.lit("Step by step: "), pl.col("think")))
                .otherwise(pl.col("think"))
                .alias("think")
            )
        rendered.append(rows)
    return rendered


def generate_qa(
    records: pl.DataFrame,
    *,
    tasks: Iterable[str] | None = None,
    templates: Iterable[str] = ("eemo",),
    seed: int = 0,
    pairs: int | None = None,
    splits: dict[str, float] | None = None,
    think: str = "full",
    chunk_records: int = CHUNK_RECORDS,
) -> pl.DataFrame:
    """Generate QA samples for every task category from canonical image records.

    Parameters
    ----------
    records : polars.DataFrame
        Canonical image records (:data:`~eemo_rewards.data.schema.RECORD_SCHEMA`), e.g. from
        :func:`~eemo_rewards.data.builtin.generate_builtin` or a reader. Records that fail
        :func:`~eemo_rewards.data.schema.validate_records` raise an error (pass
        ``validate_records(records).kept``).
    tasks : iterable of str, optional
        Task names or aliases to generate (default: all of
        :data:`eemo_rewards.tasks.TASKS`).
    templates : iterable of str, default ("eemo",)
        Template families (:data:`~eemo_rewards.data.templates.TEMPLATE_FAMILIES`). With
        several, each sample's family is drawn among those that phrase its kind; ``"emovit"``
        adds the attribute conversation and reasoning questions to ``description``.
    seed : int, default 0
        Drives template choice, answer positions, yes/no balance, pairing and splits.
    pairs : int, optional
        Number of image pairs for the pair questions (default: half the number of images;
        0 disables them).
    splits : dict, optional
        Split fractions for records without a ``split`` (default 0.8 / 0.1 / 0.1 train / val
        / test), assigned per image; pairs are drawn within a split.
    think : {"full", "cues", "none"}, default "full"
        The reference reasoning: visual cues + V/A/D levels + ranking, the cues only, or
        empty.
    chunk_records : int, default CHUNK_RECORDS
        Records are generated this many at a time: pairs are drawn, and answer letters and
        yes/no balanced, within a chunk (splits are assigned over all records). A set
        smaller than one chunk is generated as one. :func:`write_qa` with the same value
        writes the same rows to parquet without holding them.

    Returns
    -------
    polars.DataFrame
        One row per question with the columns of
        :data:`~eemo_rewards.data.schema.QA_SCHEMA`.

    Examples
    --------
    >>> records = pl.DataFrame({
    ...     "id": ["a", "b"], "taxonomy": ["eemo_bench7"] * 2, "emotion": ["joy", "fear"],
    ...     "ranking": [["joy", "surprise", "neutral"], ["fear", "sadness", "neutral"]],
    ...     "valence": [7.4, 2.1], "arousal": [5.0, 6.8], "dominance": [6.0, 3.0],
    ...     "vad_scale": ["1-9"] * 2, "source": ["demo"] * 2})
    >>> qa = generate_qa(records, seed=0)
    >>> sorted(qa["task"].unique())  # doctest: +NORMALIZE_WHITESPACE
    ['assessment', 'comparison', 'description', 'emotion', 'multiple_choice', 'ranking',
     'yes_no']
    >>> qa.filter(task="assessment", image_id="a")["solution"].to_list()
    ['valence: 0.80', 'arousal: 0.50', 'dominance: 0.62']
    >>> check_qa(qa, records).height  # every answer re-derived from the annotation
    0
    """
    plan = _plan(tasks, templates, seed, pairs, think, chunk_records)
    kept = _refuse_invalid(conform_records(records))
    assigned = _split_column(kept["id"], splits, seed)
    plan = plan._replace(n_records=kept.height)
    parts = [
        part
        for index, start in enumerate(range(0, kept.height, chunk_records))
        for part in _chunk_qa(
            kept.slice(start, chunk_records),
            assigned.slice(start, chunk_records),
            index,
            start,
            plan,
        )
    ]
    return pl.concat(parts) if parts else pl.DataFrame(schema=QA_SCHEMA)


class _Plan(NamedTuple):
    """What to generate, shared by the in-memory and the streamed paths."""

    wanted: tuple[str, ...]
    families: list[str]
    seed: int
    pairs: int | None
    think: str
    chunk_records: int
    n_records: int = 0

    def pairs_in(self, start: int, height: int) -> int:
        """The chunk's share of the pairs: half its images by default, else ``pairs`` spread
        over the chunks in proportion to their records (the shares sum to ``pairs``)."""
        if self.pairs is None:
            return height // 2
        total = max(self.n_records, 1)
        return self.pairs * (start + height) // total - self.pairs * start // total


def _plan(tasks, templates, seed, pairs, think, chunk_records) -> _Plan:
    if think not in ("full", "cues", "none"):
        raise ValueError(f"think must be 'full', 'cues' or 'none', got {think!r}")
    families = list(dict.fromkeys(templates))
    unknown = [f for f in families if f not in TEMPLATE_FAMILIES]
    if unknown or not families:
        raise ValueError(
            f"unknown template families {unknown}; use some of {list(TEMPLATE_FAMILIES)}"
        )
    wanted = TASKS if tasks is None else tuple(normalise_task(t) for t in tasks)
    bad = [t for t in wanted if t not in TASKS]
    if bad:
        raise ValueError(f"unknown tasks {bad}; use some of {list(TASKS)} (or their aliases)")
    if pairs is not None and (not isinstance(pairs, int) or pairs < 0):
        raise ValueError(f"pairs must be a non-negative integer or None, got {pairs!r}")
    if not isinstance(chunk_records, int) or isinstance(chunk_records, bool) or chunk_records < 2:
        raise ValueError(f"chunk_records must be an integer ≥ 2, got {chunk_records!r}")
    return _Plan(tuple(wanted), families, seed, pairs, think, chunk_records)


def _chunk_rng(seed: int, index: int) -> np.random.Generator:
    """The chunk's own random stream: the first chunk draws from ``seed`` itself, so a set
    smaller than one chunk gets the same questions as an unchunked generator."""
    return np.random.default_rng(seed if index == 0 else [seed, index])


def _chunk_qa(
    kept: pl.DataFrame, assigned: pl.Series, index: int, start: int, plan: _Plan
) -> list[pl.DataFrame]:
    """The QA rows of one chunk of validated records, in the output's row order."""
    rng = _chunk_rng(plan.seed, index)
    frame = _prepare(kept, assigned, plan.think)
    wanted, families = plan.wanted, plan.families
    built: list[pl.DataFrame] = []
    if "yes_no" in wanted:
        built += [*_yes_no_member(frame, rng), _yes_no_level(frame, rng)]
    if "multiple_choice" in wanted:
        built += [_mc_dominant(frame, rng), _mc_level(frame, rng)]
    if "ranking" in wanted:
        built.append(_ranking(frame))
    if "assessment" in wanted:
        built.append(_assessment(frame, rng))
    if "emotion" in wanted:
        built.append(_emotion(frame))
    if "description" in wanted:
        if "eemo" in families or "emoprompt" in families:
            built.append(_description(frame, "cues", pl.col("_desc").fill_null("")))
        if "emovit" in families:
            built.append(_description(frame, "conversation", _emovit_conversation()))
            built.append(_description(frame, "reasoning", _emovit_reasoning()))
    n_pairs = plan.pairs_in(start, kept.height)
    pair_tasks = {"comparison", "multiple_choice", "yes_no"} & set(wanted)
    if pair_tasks and n_pairs:
        pair_rows = _pairs(frame, n_pairs, rng)
        if pair_rows.height:
            if "comparison" in wanted:
                built.append(_comparison(pair_rows, rng))
            if "multiple_choice" in wanted:
                built.append(_mc_common(pair_rows, rng))
            if "yes_no" in wanted:
                built.append(_yes_no_both(pair_rows, rng))
    return [_conform_qa(r) for r in _render([b for b in built if b.height], families, rng)]


def _conform_qa(rows: pl.DataFrame) -> pl.DataFrame:
    """Rendered rows of one kind → the columns of :data:`QA_SCHEMA`, ids and answers included.

    A question's id is ``<image id or pair id>/<task>/<qtype>/<dimension>``."""
    kind = pl.lit(f"/{rows['task'][0]}/{rows['qtype'][0]}/")
    if rows["image_id_2"].null_count() == rows.height:  # single images: no pair id
        pair_id = pl.lit(None, pl.String).alias("pair_id")
        ident = pl.concat_str("image_id", kind, "dimension")
    else:
        pair_id = (
            pl.when(pl.col("image_id_2").is_not_null())
            .then(pl.concat_str("image_id", pl.lit("|"), "image_id_2"))
            .alias("pair_id")
        )
        ident = pl.concat_str(pl.coalesce(pair_id, "image_id"), kind, "dimension")
    made = {"id": ident, "pair_id": pair_id, "answer": pl.col("solution")}
    return rows.select(
        (made[c] if c in made else pl.col(c) if c in rows.columns else pl.lit(None))
        .cast(t)
        .alias(c)
        for c, t in QA_SCHEMA.items()
    )


# --------------------------------------------------------------------------- streaming
class WrittenQA(NamedTuple):
    """What :func:`write_qa` wrote: the QA file, the quarantine file and their counts.

    ``n_kept + n_quarantined == n_records`` always holds.
    """

    path: Path
    quarantine_path: Path
    n_records: int
    n_kept: int
    n_quarantined: int
    n_rows: int


RecordSource = pl.DataFrame | pl.LazyFrame | str | os.PathLike


def _as_lazy(records: RecordSource) -> pl.LazyFrame:
    if isinstance(records, pl.LazyFrame):
        return records
    if isinstance(records, pl.DataFrame):
        return records.lazy()
    if isinstance(records, str | os.PathLike):
        return pl.scan_parquet(records)
    raise TypeError(
        f"records must be a polars DataFrame or LazyFrame or a parquet path, not "
        f"{type(records).__name__}"
    )


def _batches(
    records: RecordSource, source: pl.LazyFrame, size: int
) -> Iterator[tuple[int, pl.DataFrame]]:
    """The records ``size`` rows at a time (a parquet file row group by row group), each with
    the input row number of its first row."""
    if isinstance(records, pl.DataFrame):
        frames: Iterable[pl.DataFrame] = records.iter_slices(size)
    elif isinstance(records, str | os.PathLike) and Path(records).is_file():
        import pyarrow.parquet as pq

        # Each row group is decoded once (a lazy slice would decode its group per slice).
        batches = pq.ParquetFile(records).iter_batches(batch_size=size)
        frames = (cast(pl.DataFrame, pl.from_arrow(b)) for b in batches)
    else:
        n = source.select(pl.len()).collect().item()
        frames = (source.slice(start, size).collect() for start in range(0, n, size))
    start = 0
    for frame in frames:
        yield start, frame
        start += frame.height


_ROW = "__eemo_row"  # the input row number, carried through validation


def _validate_batch(batch: pl.DataFrame, start: int, earlier: np.ndarray) -> ValidationResult:
    """:func:`validate_records` on one batch, with the ids of earlier batches in view.

    ``earlier`` flags the batch's rows whose id occurs in an earlier row of the whole input;
    a row that only the whole input shows to be a duplicate gets the same reason that
    validating the whole input at once would give it.
    """
    numbered = conform_records(batch).with_columns(
        pl.int_range(start, start + batch.height, dtype=pl.Int64).alias(_ROW)
    )
    kept, quarantine = validate_records(numbered, require_label=False)
    if not earlier.any():
        return ValidationResult(kept, quarantine)
    flag = pl.Series("_earlier", earlier)
    numbered_flags = pl.DataFrame({_ROW: numbered[_ROW], "_earlier": flag})
    moved = (
        kept.join(numbered_flags, on=_ROW, how="left", maintain_order="left")
        .filter("_earlier")
        .drop("_earlier")
    )
    kept = kept.join(moved.select(_ROW), on=_ROW, how="anti", maintain_order="left")
    duplicate = "duplicate id"
    # validate_records lists "missing id" first, then "duplicate id", then the rest.
    reason = (
        pl.when(~pl.col("_earlier") | pl.col("reason").str.contains(duplicate, literal=True))
        .then(pl.col("reason"))
        .when(pl.col("reason").str.starts_with("missing id"))
        .then(pl.col("reason").str.replace("missing id", f"missing id; {duplicate}", literal=True))
        .when(pl.col("reason") == "")
        .then(pl.lit(duplicate))
        .otherwise(pl.concat_str(pl.lit(f"{duplicate}; "), pl.col("reason")))
    )
    moved = moved.select("id", pl.lit("").alias("reason"), pl.exclude("id"))
    quarantine = (
        pl.concat([quarantine, moved])
        .join(numbered_flags, on=_ROW, how="left")
        .with_columns(reason.alias("reason"))
        .drop("_earlier")
        .sort(_ROW)
    )
    return ValidationResult(kept, quarantine)


def _rechunk(frames: Iterable[pl.DataFrame], size: int) -> Iterator[pl.DataFrame]:
    """Frames of any heights → frames of ``size`` rows (the last one shorter)."""
    pending: list[pl.DataFrame] = []
    held = 0
    for frame in frames:
        pending.append(frame)
        held += frame.height
        while held >= size:
            joined = pl.concat(pending) if len(pending) > 1 else pending[0]
            yield joined.slice(0, size)
            rest = joined.slice(size)
            pending, held = ([rest] if rest.height else []), rest.height
    if held:
        yield pl.concat(pending) if len(pending) > 1 else pending[0]


def write_qa(
    records: RecordSource,
    path: str | os.PathLike,
    *,
    quarantine_path: str | os.PathLike | None = None,
    batch_records: int | None = None,
    compression: str = "zstd",
    **options: Any,
) -> WrittenQA:
    """Generate QA like :func:`generate_qa`, writing it to parquet chunk by chunk.

    Memory is bounded by one chunk of records and its questions, not by the output: records
    are read ``batch_records`` at a time (lazily from a parquet file or a LazyFrame), checked
    with :func:`~eemo_rewards.data.schema.validate_records`, and every ``chunk_records``
    valid records become one group of parquet rows. Invalid records do not stop the run: they
    go to ``quarantine_path`` with their reasons (a duplicate id counts against the whole
    input, not only its batch).

    The QA file holds exactly the rows of
    ``generate_qa(validate_records(records, require_label=False).kept, ...)`` with the same
    arguments, in the same order, whatever ``batch_records``; the quarantine file holds that
    call's ``.quarantine`` table.

    Parameters
    ----------
    records : polars.DataFrame, polars.LazyFrame or path
        Canonical image records, or a parquet file of them (read lazily).
    path : path
        The QA parquet file to write (columns of :data:`QA_SCHEMA`).
    quarantine_path : path, optional
        Where the quarantined records go (``id``, ``reason``, then the record's columns);
        default: next to ``path``, named ``<stem>.quarantine.parquet``. Written even when
        empty.
    **options
        :func:`generate_qa`'s keyword arguments (``tasks``, ``templates``, ``seed``,
        ``pairs``, ``splits``, ``think``, ``chunk_records``), with its defaults.
    batch_records : int, optional
        Records read at a time (default ``chunk_records``); changes memory, not the output.
    compression : str, default "zstd"
        Parquet compression of the QA file.

    Returns
    -------
    WrittenQA
        The two paths and the counts of records, kept, quarantined and QA rows.

    Examples
    --------
    >>> import tempfile
    >>> records = pl.DataFrame({
    ...     "id": ["a", "b", "b"], "taxonomy": ["eemo_bench7"] * 3,
    ...     "emotion": ["joy", "fear", "joy"], "valence": [7.4, 2.1, 5.0],
    ...     "vad_scale": ["1-9"] * 3})
    >>> out = write_qa(records, f"{tempfile.mkdtemp()}/qa.parquet", seed=0)
    >>> out.n_kept, out.n_quarantined
    (2, 1)
    >>> pl.scan_parquet(out.path).select(pl.len()).collect().item() == out.n_rows
    True
    >>> pl.read_parquet(out.quarantine_path).select("id", "reason").rows()
    [('b', 'duplicate id')]
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    # generate_qa's signature is the one home of these options and their defaults.
    bound = inspect.signature(generate_qa).bind(records, **options)
    bound.apply_defaults()
    tasks, templates, seed, pairs, splits, think, chunk_records = (
        bound.arguments[name]
        for name in ("tasks", "templates", "seed", "pairs", "splits", "think", "chunk_records")
    )
    plan = _plan(tasks, templates, seed, pairs, think, chunk_records)
    if batch_records is not None and (isinstance(batch_records, bool) or batch_records < 1):
        raise ValueError(f"batch_records must be a positive integer, got {batch_records!r}")
    batch = batch_records or chunk_records
    source = _as_lazy(records)
    names = source.collect_schema().names()
    path = Path(path)
    quarantine_path = (
        Path(quarantine_path)
        if quarantine_path is not None
        else path.with_name(f"{path.stem}.quarantine.parquet")
    )
    ident = pl.col("id").cast(pl.String) if "id" in names else pl.lit(None, pl.String)
    ids = source.select(ident.alias("id")).collect().get_column("id")
    n = ids.len()
    # An id seen in an earlier row, across the whole input (what validate_records flags).
    earlier = (ids.is_not_null() & ~ids.is_first_distinct()).to_numpy()
    del ids

    # Pass 1: validate, write the quarantine, remember which rows are kept.
    keep = np.zeros(n, dtype=bool)
    kept_ids: list[pl.Series] = []
    quarantine_writer = None
    n_quarantined = 0
    try:
        for start, frame in _batches(records, source, batch):
            kept, quarantine = _validate_batch(frame, start, earlier[start : start + frame.height])
            keep[kept[_ROW].to_numpy()] = True
            kept_ids.append(kept["id"])
            table = quarantine.drop(_ROW).to_arrow()
            if quarantine_writer is None:
                quarantine_writer = pq.ParquetWriter(quarantine_path, table.schema)
            quarantine_writer.write_table(table)
            n_quarantined += quarantine.height
        if quarantine_writer is None:  # no records at all: an empty quarantine table
            empty = validate_records(conform_records(source.head(0).collect())).quarantine
            quarantine_writer = pq.ParquetWriter(quarantine_path, empty.to_arrow().schema)
    finally:
        if quarantine_writer is not None:
            quarantine_writer.close()

    # Pass 2: the kept records, in chunks of chunk_records, each written as it is generated.
    all_ids = pl.concat(kept_ids) if kept_ids else pl.Series("id", [], dtype=pl.String)
    del kept_ids
    assigned = _split_column(all_ids, splits, seed)
    plan = plan._replace(n_records=all_ids.len())
    del all_ids
    kept_frames = (
        conform_records(frame).filter(pl.Series(keep[start : start + frame.height]))
        for start, frame in _batches(records, source, batch)
    )
    n_rows = 0
    schema = pl.DataFrame(schema=QA_SCHEMA).to_arrow(compat_level=pl.CompatLevel.newest()).schema
    # Without the arrow schema in the file, readers see plain strings, not string views.
    # Statistics only where a row group's min and max can skip it: columns that follow the
    # records' order (every chunk holds every task, question type and dimension, so their
    # statistics would never skip one and only cost time).
    with pq.ParquetWriter(
        path,
        schema,
        compression=compression,
        store_schema=False,
        write_statistics=["source", "taxonomy", "split"],
        # A chunk's reasoning texts make a dictionary of a few MB: past the default 1 MB
        # page the writer would fall back to compressing every row's text.
        dictionary_pagesize_limit=8 << 20,
        # every question has its own id: a dictionary of them is built only to be dropped
        use_dictionary=[c for c in QA_SCHEMA if c != "id"],
    ) as writer:
        start = 0
        for index, chunk in enumerate(_rechunk(kept_frames, chunk_records)):
            parts = _chunk_qa(chunk, assigned.slice(start, chunk.height), index, start, plan)
            if parts:
                # String views convert to arrow without a copy; one table per chunk makes
                # one row group, cheaper to encode than one per question kind.
                newest = pl.CompatLevel.newest()
                writer.write_table(pa.concat_tables(p.to_arrow(compat_level=newest) for p in parts))
                n_rows += sum(p.height for p in parts)
            start += chunk.height
    return WrittenQA(path, quarantine_path, n, int(keep.sum()), n_quarantined, n_rows)


# --------------------------------------------------------------------------- checker
def check_qa(qa: pl.DataFrame, records: pl.DataFrame) -> pl.DataFrame:
    """Re-derive every generated answer from the annotation; return the rows that disagree.

    Independently of the generator, it recomputes from the records what each question's
    answer must be (membership in the top three, the V/A/D level and score on 0–1, the
    dominant or common emotion and that no other option is right, the ranking, which image
    of a pair is higher), and checks that the answer is absent from the question stem and
    that ids are unique. An empty result means every row is consistent.

    Returns
    -------
    polars.DataFrame
        Columns ``id``, ``task``, ``qtype``, ``reason``: one row per inconsistent sample.
    """
    rec = _prepare(_refuse_invalid(conform_records(records)), None, "none").select(
        "id", "ranking", "emotion", *[f"_{d}" for d in DIMENSIONS]
    )
    level = {d: _level_expr(pl.col(f"_{d}")) for d in DIMENSIONS}
    # Each image's split(s) as the QA table itself assigns them.
    image_splits = (
        pl.concat(
            [
                qa.select(pl.col("image_id").alias("_img"), "split"),
                qa.select(pl.col("image_id_2").alias("_img"), "split"),
            ]
        )
        .drop_nulls("_img")
        .group_by("_img")
        .agg(pl.col("split").n_unique().alias("_n_splits"))
    )
    joined = (
        qa.with_row_index("_row")
        .join(rec, left_on="image_id", right_on="id", how="left", suffix="_r")
        .join(rec, left_on="image_id_2", right_on="id", how="left", suffix="_2")
        .join(image_splits, left_on="image_id", right_on="_img", how="left")
        .join(image_splits, left_on="image_id_2", right_on="_img", how="left", suffix="_2")
    )
    dim = pl.col("dimension")
    value = (
        pl.when(dim == "valence")
        .then("_valence")
        .when(dim == "arousal")
        .then("_arousal")
        .otherwise("_dominance")
    )
    value_2 = (
        pl.when(dim == "valence")
        .then("_valence_2")
        .when(dim == "arousal")
        .then("_arousal_2")
        .otherwise("_dominance_2")
    )
    lvl = (
        pl.when(dim == "valence")
        .then(level["valence"])
        .when(dim == "arousal")
        .then(level["arousal"])
        .otherwise(level["dominance"])
    )
    letter_ix = pl.lit(LETTERS).str.find(pl.col("solution"), literal=True)
    chosen = pl.col("options").list.get(letter_ix.cast(pl.Int64), null_on_oob=True)
    yes = pl.col("solution") == "yes"
    task, qtype = pl.col("task"), pl.col("qtype")
    both = pl.col("ranking").list.contains(pl.col("asked")) & pl.col("ranking_2").list.contains(
        pl.col("asked")
    )
    diff = value - value_2
    expected_cmp = (
        pl.when(diff.abs() < _SAME_MARGIN)
        .then(pl.lit("same"))
        .when(diff > 0)
        .then(pl.lit("first"))
        .otherwise(pl.lit("second"))
    )
    level_phrases = rows_frame(
        {"dimension": d, "_lvl": x, "_lvl_phrase": level_phrase(d, x)}
        for d in DIMENSIONS
        for x in LEVELS
    )
    labels = pl.DataFrame(
        {
            "taxonomy": list(TAXONOMY_LABELS),
            "_labels": [", ".join(v) for v in TAXONOMY_LABELS.values()],
        }
    )
    joined = (
        joined.with_columns(lvl.alias("_lvl"))
        .join(level_phrases, on=["dimension", "_lvl"], how="left")
        .join(labels, on="taxonomy", how="left")
    )
    ok = (
        pl.when(pl.col("ranking").is_null())
        .then(pl.lit("image not in records"))
        .when(pl.col("image_id_2").is_not_null() & pl.col("ranking_2").is_null())
        .then(pl.lit("second image not in records"))
        .when((pl.col("_n_splits") > 1) | (pl.col("_n_splits_2").fill_null(1) > 1))
        .then(pl.lit("an image of this sample appears in several splits"))
        .when((task == "yes_no") & (qtype == "member"))
        .then(
            pl.when(pl.col("ranking").list.contains(pl.col("asked")) != yes).then(
                pl.lit("yes/no answer disagrees with the top three")
            )
        )
        .when((task == "yes_no") & (qtype == "dominant"))
        .then(
            pl.when((pl.col("emotion") == pl.col("asked")) != yes).then(
                pl.lit("yes/no answer disagrees with the dominant emotion")
            )
        )
        .when((task == "yes_no") & (qtype == "level"))
        .then(
            pl.when((pl.col("_lvl") == pl.col("asked")) != yes).then(
                pl.lit("yes/no answer disagrees with the V/A/D level")
            )
        )
        .when((task == "yes_no") & (qtype == "both"))
        .then(pl.when(both != yes).then(pl.lit("yes/no answer disagrees with both top threes")))
        .when((task == "multiple_choice") & (qtype == "dominant"))
        .then(
            pl.when(chosen != pl.col("emotion"))
            .then(pl.lit("chosen option is not the dominant emotion"))
            .when(pl.col("options").list.set_intersection("ranking").list.len() != 1)
            .then(pl.lit("another option is also in the top three"))
        )
        .when((task == "multiple_choice") & (qtype == "level"))
        .then(
            pl.when(chosen != pl.col("_lvl_phrase")).then(
                pl.lit("chosen option is not the V/A/D level")
            )
        )
        .when((task == "multiple_choice") & (qtype == "common"))
        .then(
            pl.when(
                ~(
                    pl.col("ranking").list.contains(chosen)
                    & pl.col("ranking_2").list.contains(chosen)
                )
            )
            .then(pl.lit("chosen option is not common to both images"))
            .when(
                pl.col("options")
                .list.set_intersection(pl.col("ranking").list.set_intersection("ranking_2"))
                .list.len()
                != 1
            )
            .then(pl.lit("more than one option is common to both images"))
        )
        .when(task == "ranking")
        .then(
            pl.when(pl.col("solution") != pl.col("ranking").list.join(", ")).then(
                pl.lit("ranking differs from the annotation")
            )
        )
        .when(task == "assessment")
        .then(
            pl.when(
                (
                    pl.col("solution").str.split(": ").list.last().cast(pl.Float64, strict=False)
                    - value
                ).abs()
                > 0.005 + 1e-9
            ).then(pl.lit("score differs from the annotation"))
        )
        .when(task == "emotion")
        .then(
            pl.when(pl.col("solution") != pl.col("emotion")).then(
                pl.lit("label differs from the dominant emotion")
            )
        )
        .when(task == "comparison")
        .then(
            pl.when(pl.col("solution") != expected_cmp).then(
                pl.lit("comparison differs from the annotation")
            )
        )
        .when(task == "description")
        .then(pl.when(pl.col("solution").fill_null("") == "").then(pl.lit("empty reference")))
        .otherwise(pl.format("unknown task/qtype {}/{}", task, qtype))
    )
    # The stem without the options block and without the candidate list of the taxonomy.
    stem = pl.col("question").str.split("\nOptions:").list.first()
    for name, vocabulary in TAXONOMY_LABELS.items():
        stem = (
            pl.when(pl.col("taxonomy") == name)
            .then(stem.str.replace_all(", ".join(vocabulary), "", literal=True))
            .otherwise(stem)
        )
    leak = pl.when(
        task.is_in(["ranking", "assessment", "emotion"])
        & stem.str.contains(pl.col("solution"), literal=True)
    ).then(pl.lit("answer appears in the question"))
    dup = pl.when(pl.col("id").is_duplicated()).then(pl.lit("duplicate id"))
    reason = pl.concat_str([ok, leak, dup], separator="; ", ignore_nulls=True)
    return (
        joined.with_columns(reason.alias("reason"))
        .filter(pl.col("reason").is_not_null() & (pl.col("reason") != ""))
        .sort("_row")
        .select("id", "task", "qtype", "reason")
    )
