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
  yes/no answers are balanced;
- V/A/D targets are on 0–1 whatever the source scale; levels are ≤ 0.4 low, ≥ 0.6 high;
- the answer never appears in the question stem;
- the two images of a pair always come from the same split, so no split leaks into another;
- everything is a deterministic function of the records and the seed.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import polars as pl

from eemo_rewards.data.labels import TAXONOMY_LABELS, label_distance
from eemo_rewards.data.schema import QA_SCHEMA, VAD_SCALES, conform_records, validate_records
from eemo_rewards.data.templates import TEMPLATE_FAMILIES, TEMPLATES, level_phrase
from eemo_rewards.tasks import TASKS, normalise_task
from eemo_rewards.taxonomy import DIMENSIONS, LEVEL_BAND

__all__ = ["DEFAULT_SPLITS", "LETTERS", "assign_splits", "check_qa", "generate_qa"]

LETTERS = "ABCDEFGHIJ"
DEFAULT_SPLITS = {"train": 0.8, "val": 0.1, "test": 0.1}
LEVELS = ("high", "moderate", "low")
_FEELING = {"valence": "positive", "arousal": "aroused", "dominance": "in control"}
_SAME_MARGIN = 0.05  # |Δ| on the 0–1 scale below which a pair counts as "same"
_N_OPTIONS = 4


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


def _hard_negatives(taxonomy: str, answer: str, exclude: Iterable[str], k: int) -> list[str]:
    labels = TAXONOMY_LABELS[taxonomy]
    banned = set(exclude) | {answer}
    candidates = [x for x in labels if x not in banned]
    return sorted(candidates, key=lambda x: (label_distance(answer, x), x))[:k]


def _distractor_table(keys: pl.DataFrame, answer: str, exclude: str, k: int) -> pl.DataFrame:
    """Distractors per distinct (taxonomy, answer, excluded set): few combos, so Python is fine."""
    combos = keys.select("taxonomy", answer, exclude).unique(maintain_order=True)
    out = [
        _hard_negatives(t, a, ex or [], k) if a is not None else None
        for t, a, ex in combos.iter_rows()
    ]
    return combos.with_columns(pl.Series("_neg", out, dtype=pl.List(pl.String)))


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


def _think_expr(style: str) -> pl.Expr:
    """Reference reasoning from what the record knows: the visual cues, then the feeling."""
    if style == "none":
        return pl.lit("")
    cues = pl.coalesce(
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
    if style == "cues":
        return cues.fill_null("")
    vad = _vad_levels_expr()
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
    """The reference answer of an open-ended question."""
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
    vad = _vad_levels_expr()
    return pl.concat_str(
        [
            pl.when(cues.is_not_null()).then(pl.format("The image shows {}.", cues)),
            main,
            pl.when(vad != "").then(pl.format("The feeling: {}.", vad)),
        ],
        separator=" ",
        ignore_nulls=True,
    )


def _prepare(
    records: pl.DataFrame, seed: int, splits: dict[str, float] | None, think: str
) -> pl.DataFrame:
    kept, quarantine = validate_records(records, require_label=False)
    if quarantine.height:
        first = quarantine.select("id", "reason").head(3).rows()
        raise ValueError(
            f"{quarantine.height} of {records.height} records fail validation (e.g. {first}); "
            "run eemo_rewards.data.schema.validate_records(records) and pass its .kept table "
            "(keep its .quarantine table as the report)"
        )
    bounds = pl.DataFrame(
        {
            "vad_scale": list(VAD_SCALES),
            "_lo": [b[0] for b in VAD_SCALES.values()],
            "_hi": [b[1] for b in VAD_SCALES.values()],
        }
    )
    labels = pl.DataFrame(
        {
            "taxonomy": list(TAXONOMY_LABELS),
            "_labels": [", ".join(v) for v in TAXONOMY_LABELS.values()],
        }
    )
    frame = (
        kept.join(bounds, on="vad_scale", how="left")
        .join(labels, on="taxonomy", how="left")
        .with_columns(
            ((pl.col(d) - pl.col("_lo")) / (pl.col("_hi") - pl.col("_lo"))).alias(f"_{d}")
            for d in DIMENSIONS
        )
        .with_columns(_level_expr(pl.col(f"_{d}")).alias(f"_{d}_level") for d in DIMENSIONS)
        .with_columns(pl.col("ranking").fill_null(pl.lit([], dtype=pl.List(pl.String))))
    )
    assigned = assign_splits(frame["id"], splits, seed=seed)
    frame = frame.join(assigned.rename({"split": "_split"}), on="id", how="left").with_columns(
        pl.coalesce("split", "_split").alias("split")
    )
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
        pl.col("_labels").alias("_labels"),
    )


def _yes_no_label(frame: pl.DataFrame, rng: np.random.Generator, qtype: str) -> pl.DataFrame:
    """Is an emotion among the top three (``member``) / the dominant one (``dominant``)?

    A "no" asks about the hard negative nearest the dominant emotion outside the known
    labels; when the taxonomy has none left, the question is a "yes".
    """
    frame = frame.join(
        _distractor_table(frame, "emotion", "ranking", 1), on=["taxonomy", "emotion", "ranking"]
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


def _dimension_rows(frame: pl.DataFrame, rng: np.random.Generator, all_dims: bool) -> pl.DataFrame:
    """One row per record with a V/A/D value: its dimension rotates (or every dimension)."""
    parts = []
    for d in DIMENSIONS:
        part = frame.filter(pl.col(f"_{d}").is_not_null()).with_columns(
            pl.lit(d).alias("_dim"),
            pl.col(f"_{d}").alias("_value"),
            pl.col(f"_{d}_level").alias("_level"),
        )
        parts.append(part)
    rows = pl.concat(parts)
    if not all_dims and rows.height:
        # Keep one dimension per image, drawn by the seed.
        rows = (
            rows.with_columns(pl.Series("_r", rng.random(rows.height)))
            .with_columns(pl.col("_r").rank("ordinal").over("id").alias("_rank"))
            .filter(pl.col("_rank") == 1)
        )
    return rows


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
        "_labels",
        "_think",
        *(f"_{d}" for d in DIMENSIONS),
    ]
    base = frame.select(keep)
    rounds = []
    per_round = max(1, base.height // 2)
    for _ in range(-(-n_pairs // per_round) + 1):
        shuffled = base.with_columns(pl.Series("_key", rng.random(base.height))).sort(
            "split", "_key"
        )
        shuffled = shuffled.with_columns((pl.int_range(pl.len()).over("split") // 2).alias("_pair"))
        first = shuffled.filter(pl.int_range(pl.len()).over("split") % 2 == 0)
        second = shuffled.filter(pl.int_range(pl.len()).over("split") % 2 == 1)
        rounds.append(first.join(second, on=["split", "_pair"], suffix="_2"))
    pairs = (
        pl.concat(rounds)
        .filter(pl.col("taxonomy") == pl.col("taxonomy_2"))
        .with_columns(
            pl.min_horizontal("id", "id_2").alias("_lo"),
            pl.max_horizontal("id", "id_2").alias("_hi"),
        )
        .unique(subset=["_lo", "_hi"], keep="first", maintain_order=True)
        .head(n_pairs)
    )
    return pairs


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
        pl.col("_labels"),
    )


def _comparison(pairs: pl.DataFrame, rng: np.random.Generator) -> pl.DataFrame:
    parts = []
    for d in DIMENSIONS:
        part = pairs.filter(pl.col(f"_{d}").is_not_null() & pl.col(f"_{d}_2").is_not_null())
        parts.append(
            part.with_columns(
                pl.lit(d).alias("_dim"),
                (pl.col(f"_{d}") - pl.col(f"_{d}_2")).alias("_diff"),
            )
        )
    rows = pl.concat(parts) if parts else pairs
    if rows.height:
        rows = (
            rows.with_columns(pl.Series("_r", rng.random(rows.height)))
            .with_columns(pl.col("_r").rank("ordinal").over("id", "id_2").alias("_k"))
            .filter(pl.col("_k") == 1)
        )
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


def _strongest_common(pairs: pl.DataFrame) -> pl.Series:
    """The first emotion of the first ranking that the second ranking shares."""
    ranked = (
        pairs.select(pl.int_range(pl.len()).alias("_i"), "ranking", "ranking_2")
        .explode("ranking")
        .filter(
            pl.col("ranking").is_not_null() & pl.col("ranking_2").list.contains(pl.col("ranking"))
        )
        .group_by("_i", maintain_order=True)
        .agg(pl.col("ranking").first().alias("_common"))
    )
    out = pl.DataFrame({"_i": np.arange(pairs.height)}).join(ranked, on="_i", how="left")
    return out["_common"]


def _mc_common(pairs: pl.DataFrame, rng: np.random.Generator) -> pl.DataFrame:
    rows = pairs.with_columns(_strongest_common(pairs).alias("_common")).filter(
        pl.col("_common").is_not_null()
    )
    rows = rows.with_columns(
        pl.concat_list("ranking", "ranking_2").list.unique().list.sort().alias("_union")
    )
    rows = rows.join(
        _distractor_table(rows, "_common", "_union", _N_OPTIONS - 1),
        on=["taxonomy", "_common", "_union"],
    ).filter(pl.col("_neg").list.len() > 0)
    rows = _with_options(rows, "_common", rng)
    return _pair_base(rows, "multiple_choice", "common", "emotion").with_columns(
        rows["options"], rows["solution"], pl.lit(None, pl.String).alias("asked")
    )


def _yes_no_both(pairs: pl.DataFrame, rng: np.random.Generator) -> pl.DataFrame:
    rows = pairs.with_columns(
        pl.col("ranking").list.set_intersection("ranking_2").list.sort().alias("_both"),
        # Hard negatives: emotions of one image only.
        pl.col("ranking")
        .list.set_difference("ranking_2")
        .list.concat(pl.col("ranking_2").list.set_difference("ranking"))
        .list.sort()
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
def _render(rows: pl.DataFrame, families: Sequence[str], rng: np.random.Generator) -> pl.DataFrame:
    """Pick a family and phrasing per row, fill the template, append the options block."""
    kind = rows["task"][0] + "/" + rows["qtype"][0]
    usable = [f for f in families if kind in TEMPLATES[f]]
    if not usable:
        return rows.clear().with_columns(
            pl.lit(None, pl.String).alias("question"), pl.lit(None, pl.String).alias("template_id")
        )
    table = pl.DataFrame(
        [
            {"template_id": f"{f}/{kind}/{i}", "_family": f, "_t": t}
            for f in usable
            for i, t in enumerate(TEMPLATES[f][kind])
        ]
    )
    counts = [len(TEMPLATES[f][kind]) for f in usable]
    family_ix = rng.integers(0, len(usable), rows.height)
    phrase_ix = rng.integers(0, 1 << 30, rows.height) % np.array(counts)[family_ix]
    ids = [f"{usable[f]}/{kind}/{i}" for f, i in zip(family_ix, phrase_ix, strict=True)]
    rows = rows.with_columns(pl.Series("template_id", ids, dtype=pl.String)).join(
        table, on="template_id", how="left", maintain_order="left"
    )
    fields = {
        "{emotion}": pl.col("_emotion") if "_emotion" in rows.columns else None,
        "{level}": pl.col("_level") if "_level" in rows.columns else None,
        "{dimension}": pl.col("dimension"),
        "{labels}": pl.col("_labels"),
        "{feeling}": pl.col("_feeling") if "_feeling" in rows.columns else None,
    }
    question = pl.col("_t")
    for placeholder, value in fields.items():
        if value is not None:
            question = question.str.replace_all(placeholder, value.fill_null(""), literal=True)
    stem = question.alias("_stem")
    rows = rows.with_columns(stem)
    with_options = pl.concat_str(
        pl.col("_stem"), pl.lit("\nOptions:\n"), _letters_of(pl.col("options"))
    )
    tail = {
        "yes_no": " Answer yes or no.",
        "multiple_choice": "\nAnswer with the option's letter.",
    }.get(rows["task"][0], "")
    rows = rows.with_columns(
        pl.when(pl.col("options").is_not_null())
        .then(with_options)
        .otherwise(pl.col("_stem"))
        .add(pl.lit(tail))
        .alias("question")
    )
    if "emoprompt" in usable:
        # EmoPrompt's reference reasoning follows its steps: cues, then feeling.
        rows = rows.with_columns(
            pl.when(pl.col("_family") == "emoprompt")
            .then(pl.concat_str(pl.lit("Step by step: "), pl.col("think")))
            .otherwise(pl.col("think"))
            .alias("think")
        )
    return rows


def generate_qa(
    records: pl.DataFrame,
    *,
    tasks: Iterable[str] | None = None,
    templates: Iterable[str] = ("eemo",),
    seed: int = 0,
    pairs: int | None = None,
    splits: dict[str, float] | None = None,
    think: str = "full",
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

    rng = np.random.default_rng(seed)
    frame = _prepare(conform_records(records), seed, splits, think)
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
    n_pairs = frame.height // 2 if pairs is None else pairs
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
    rendered = [_render(b, families, rng) for b in built if b.height]
    if not rendered:
        return pl.DataFrame(schema=QA_SCHEMA)
    qa = pl.concat(
        [
            r.select(
                *[c for c in QA_SCHEMA if c in r.columns and c not in ("answer",)],
            )
            for r in rendered
        ],
        how="diagonal_relaxed",
    )
    qa = qa.with_columns(
        pl.when(pl.col("image_id_2").is_not_null())
        .then(pl.concat_str("image_id", pl.lit("|"), "image_id_2"))
        .alias("pair_id"),
        pl.col("solution").alias("answer"),
    ).with_columns(
        pl.concat_str(
            pl.coalesce("pair_id", "image_id"),
            pl.lit("/"),
            "task",
            pl.lit("/"),
            "qtype",
            pl.lit("/"),
            "dimension",
        ).alias("id")
    )
    return qa.select([pl.col(c).cast(t) for c, t in QA_SCHEMA.items()])


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
    rec = _prepare(conform_records(records), 0, None, "none").select(
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
    level_phrases = pl.DataFrame(
        [
            {"dimension": d, "_lvl": x, "_lvl_phrase": level_phrase(d, x)}
            for d in DIMENSIONS
            for x in LEVELS
        ]
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
