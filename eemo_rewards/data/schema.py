"""The canonical tables of the data layer, and the validation that quarantines bad records.

Two tables flow through the data layer:

- **image records** (:data:`RECORD_SCHEMA`), one row per annotated image, written by the
  readers and by the built-in generator;
- **QA samples** (:data:`QA_SCHEMA`), one row per question, written by
  :func:`eemo_rewards.data.qa.generate_qa` and carrying the columns the rewards read
  (``task``, ``solution``, ``options``, ``dimension``, ``taxonomy``).

V/A/D are stored on the scale named in ``vad_scale`` (``"1-9"`` for the SAM scale of
EEmo-Bench and Emotion6, ``"0-1"`` otherwise); QA targets are always on 0–1.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import NamedTuple

import polars as pl

from eemo_rewards.data.labels import TAXONOMY_LABELS

__all__ = [
    "QA_SCHEMA",
    "RECORD_SCHEMA",
    "VAD_SCALES",
    "ValidationResult",
    "conform_records",
    "default_data_dir",
    "empty_records",
    "validate_records",
]

RECORD_SCHEMA: dict[str, pl.DataType] = {
    "id": pl.String(),  # unique image id
    "image_path": pl.String(),  # a file path (absolute, or relative to an image root)
    "source": pl.String(),  # source dataset, e.g. "eemo_bench", "emoset", "builtin"
    "taxonomy": pl.String(),  # emotion vocabulary of the labels, e.g. "eemo_bench7"
    "emotions": pl.List(pl.String()),  # labels with votes, strongest first
    "votes": pl.List(pl.Float64()),  # votes or probabilities, aligned with ``emotions``
    "ranking": pl.List(pl.String()),  # top-k ranking (k ≤ 3), strongest first
    "emotion": pl.String(),  # dominant emotion
    "valence": pl.Float64(),
    "arousal": pl.Float64(),
    "dominance": pl.Float64(),
    "vad_scale": pl.String(),  # "1-9" or "0-1"
    "content": pl.String(),  # content category (animal, human, landscape, ...)
    "brightness": pl.Float64(),  # 0–1
    "colorfulness": pl.Float64(),  # 0–1
    "objects": pl.List(pl.String()),
    "facial_expression": pl.String(),
    "human_action": pl.String(),
    "scene": pl.String(),
    "caption": pl.String(),  # a description of the visual cues, used for reference reasoning
    "split": pl.String(),  # a split imposed by the source (e.g. a benchmark's test set)
}

QA_SCHEMA: dict[str, pl.DataType] = {
    "id": pl.String(),
    "image_id": pl.String(),  # the (first) image
    "image_id_2": pl.String(),  # the second image of a pair, else null
    "pair_id": pl.String(),  # "<image_id>|<image_id_2>" for pairs, else null
    "image_path": pl.String(),
    "image_path_2": pl.String(),
    "task": pl.String(),  # canonical task name (eemo_rewards.tasks.TASKS)
    "dimension": pl.String(),  # emotion / valence / arousal / dominance / description
    "qtype": pl.String(),  # question type, e.g. "member", "level", "dominant", "common"
    "question": pl.String(),  # the question, options included
    "options": pl.List(pl.String()),  # option texts (letters A, B, ... implied), else null
    "answer": pl.String(),  # the target text inside <answer>
    "solution": pl.String(),  # the structured ground truth the rewards read
    "think": pl.String(),  # a reference reasoning derived from the annotation
    "taxonomy": pl.String(),
    "asked": pl.String(),  # what a yes/no question asks about (an emotion or a level)
    "template_id": pl.String(),
    "source": pl.String(),
    "split": pl.String(),
}

VAD_SCALES = {"1-9": (1.0, 9.0), "0-1": (0.0, 1.0), "1-7": (1.0, 7.0), "1-5": (1.0, 5.0)}


def default_data_dir() -> Path:
    """Where generated data goes: ``$EEMO_REWARDS_DATA``, else ``data/generated`` of the
    source checkout this package lives in, else ``./data/generated``."""
    env = os.environ.get("EEMO_REWARDS_DATA")
    if env:
        return Path(env)
    checkout = Path(__file__).resolve().parents[2]
    if (checkout / "pyproject.toml").is_file() and (checkout / "eemo_rewards").is_dir():
        return checkout / "data" / "generated"
    return Path.cwd() / "data" / "generated"


def empty_records() -> pl.DataFrame:
    """An empty record table with the canonical schema."""
    return pl.DataFrame(schema=RECORD_SCHEMA)


def conform_records(frame: pl.DataFrame) -> pl.DataFrame:
    """Add the missing canonical columns (as nulls) and order and cast them canonically.

    Extra columns are kept after the canonical ones. A column that cannot be cast raises an
    error naming it.
    """
    columns = []
    for name, dtype in RECORD_SCHEMA.items():
        if name in frame.columns:
            try:
                columns.append(frame[name].cast(dtype))
            except Exception as exc:
                raise ValueError(
                    f"record column {name!r} has type {frame[name].dtype}, which cannot be "
                    f"cast to {dtype}: fix the reader or the input ({exc})"
                ) from None
        else:
            columns.append(pl.repeat(None, frame.height, dtype=dtype, eager=True).alias(name))
    extra = [frame[c] for c in frame.columns if c not in RECORD_SCHEMA]
    return pl.DataFrame({s.name: s for s in columns + extra})


class ValidationResult(NamedTuple):
    """Records that passed validation, and those quarantined with their reasons.

    ``len(kept) + len(quarantine) == len(input)`` always holds.
    """

    kept: pl.DataFrame
    quarantine: pl.DataFrame


def _image_problem(path: str | None, image_root: Path | None) -> str | None:
    from PIL import Image, UnidentifiedImageError

    if path is None or path == "":
        return "missing image path"
    full = Path(path) if image_root is None or Path(path).is_absolute() else image_root / path
    if not full.is_file():
        return f"image not found: {full}"
    try:
        with Image.open(full) as img:
            img.verify()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        return f"unreadable image {full}: {type(exc).__name__}"
    return None


def validate_records(
    records: pl.DataFrame,
    *,
    check_images: bool = False,
    image_root: str | os.PathLike | None = None,
    require_label: bool = True,
) -> ValidationResult:
    """Split records into those fit for QA generation and a quarantine table with reasons.

    A record is quarantined when its id is missing or repeats an earlier id, when it has no
    dominant emotion (with ``require_label``), when a label is not in its taxonomy, when its
    taxonomy is unknown, when a V/A/D value is NaN or outside its ``vad_scale``, and (with
    ``check_images``) when its image is missing or unreadable. All reasons of a record are
    joined with ``"; "``. Nothing is dropped silently: kept + quarantined = input.

    Parameters
    ----------
    records : polars.DataFrame
        Canonical image records (missing columns are added as nulls).
    check_images : bool, default False
        Open every image (slow on big sets: it reads each file header).
    image_root : path, optional
        Base folder for relative ``image_path`` values.
    require_label : bool, default True
        Quarantine records without a dominant emotion.

    Returns
    -------
    ValidationResult
        ``kept`` (canonical columns) and ``quarantine`` (``id``, ``reason``, then the
        record's columns).

    Examples
    --------
    >>> frame = pl.DataFrame({
    ...     "id": ["a", "b", "b", "c"], "taxonomy": ["eemo_bench7"] * 4,
    ...     "emotion": ["joy", "fear", "joy", "boredom"], "valence": [7.0, 2.0, 5.0, float("nan")],
    ...     "vad_scale": ["1-9"] * 4})
    >>> kept, quarantine = validate_records(frame)
    >>> kept["id"].to_list()
    ['a', 'b']
    >>> quarantine.select("id", "reason").rows()  # doctest: +NORMALIZE_WHITESPACE
    [('b', 'duplicate id'), ('c', "unknown label 'boredom' for taxonomy eemo_bench7; NaN valence")]
    """
    frame = conform_records(records)
    known = pl.DataFrame(
        {
            "taxonomy": list(TAXONOMY_LABELS),
            "_labels": [list(v) for v in TAXONOMY_LABELS.values()],
        }
    )
    frame = frame.with_row_index("_row").join(known, on="taxonomy", how="left")
    reasons: list[pl.Expr] = [
        pl.when(pl.col("id").is_null() | (pl.col("id").str.strip_chars() == "")).then(
            pl.lit("missing id")
        ),
        pl.when(pl.col("id").is_not_null() & pl.col("id").is_duplicated())
        .then(
            pl.when(pl.col("_row") != pl.col("_row").min().over("id")).then(pl.lit("duplicate id"))
        )
        .otherwise(None),
        pl.when(pl.col("taxonomy").is_null())
        .then(pl.lit("missing taxonomy"))
        .when(pl.col("_labels").is_null())
        .then(pl.format("unknown taxonomy '{}'", pl.col("taxonomy"))),
        pl.when(pl.col("_labels").is_not_null() & pl.col("emotion").is_not_null())
        .then(
            pl.when(~pl.col("_labels").list.contains(pl.col("emotion"))).then(
                pl.format("unknown label '{}' for taxonomy {}", "emotion", "taxonomy")
            )
        )
        .otherwise(None),
        pl.when(
            pl.col("_labels").is_not_null()
            & (pl.col("ranking").list.set_difference(pl.col("_labels")).list.len().fill_null(0) > 0)
        ).then(
            pl.format(
                "unknown ranking label(s) {} for taxonomy {}",
                pl.col("ranking").list.set_difference(pl.col("_labels")).list.join(", "),
                "taxonomy",
            )
        ),
    ]
    if require_label:
        reasons.append(pl.when(pl.col("emotion").is_null()).then(pl.lit("missing label")))
    bounds = pl.DataFrame(
        {
            "vad_scale": list(VAD_SCALES),
            "_lo": [b[0] for b in VAD_SCALES.values()],
            "_hi": [b[1] for b in VAD_SCALES.values()],
        }
    )
    frame = frame.join(bounds, on="vad_scale", how="left")
    any_vad = pl.any_horizontal(
        pl.col(d).is_not_null() for d in ("valence", "arousal", "dominance")
    )
    reasons.append(
        pl.when(any_vad & pl.col("vad_scale").is_null())
        .then(pl.lit("V/A/D without vad_scale"))
        .when(any_vad & pl.col("_lo").is_null())
        .then(
            pl.format(
                "unknown vad_scale '{}' (use one of {})", "vad_scale", pl.lit(", ".join(VAD_SCALES))
            )
        )
    )
    for dim in ("valence", "arousal", "dominance"):
        reasons.append(
            pl.when(pl.col(dim).is_nan())
            .then(pl.lit(f"NaN {dim}"))
            .when((pl.col(dim) < pl.col("_lo")) | (pl.col(dim) > pl.col("_hi")))
            .then(pl.format(f"{dim} {{}} outside the {{}} scale", pl.col(dim), "vad_scale"))
        )
    frame = frame.with_columns(
        pl.concat_list([r.cast(pl.String) for r in reasons]).list.drop_nulls().alias("_reasons")
    )
    if check_images:
        root = Path(image_root) if image_root is not None else None
        problems = [_image_problem(p, root) for p in frame["image_path"].to_list()]
        frame = frame.with_columns(pl.Series("_img", problems, dtype=pl.String)).with_columns(
            pl.concat_list("_reasons", "_img").list.drop_nulls().alias("_reasons")
        )
    frame = frame.with_columns(pl.col("_reasons").list.join("; ").alias("reason"))
    bad = pl.col("_reasons").list.len() > 0
    canonical = list(RECORD_SCHEMA) + [c for c in records.columns if c not in RECORD_SCHEMA]
    kept = frame.filter(~bad).select(canonical)
    quarantine = frame.filter(bad).select(["id", "reason", *[c for c in canonical if c != "id"]])
    return ValidationResult(kept, quarantine)
