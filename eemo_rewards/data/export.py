"""Export QA samples: TRL conversational datasets, HF datasets with images, parquet, and each
other trainer's RL data (verl, EasyR1, OpenRLHF, ms-swift).

The TRL dataset is the one most users need. It works unchanged with TRL's ``SFTTrainer``
(prompt-completion, vision) and ``GRPOTrainer`` (``prompt`` + ``images``; every other column is
forwarded to the reward functions as a keyword list, which is how ``task``, ``solution`` and
``options`` reach the rewards of :mod:`eemo_rewards.rewards`).
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl

from eemo_rewards.data.schema import QA_SCHEMA

if TYPE_CHECKING:
    import datasets

__all__ = [
    "ANSWER_INSTRUCTION",
    "FORMAT_HINTS",
    "LABEL_COLUMNS",
    "label_json",
    "prompt_text",
    "target_text",
    "to_easyr1_parquet",
    "to_hf_dataset",
    "to_openrlhf_jsonl",
    "to_parquet",
    "to_swift_jsonl",
    "to_trl_dataset",
    "to_verl_parquet",
]

LABEL_COLUMNS = ("task", "solution", "options", "dimension", "taxonomy")
"""The QA columns a JSON label carries (what the rewards read besides the completion)."""

ANSWER_INSTRUCTION = (
    "Output your thought within <think> </think> and your answer within <answer> </answer>."
)
# What the answer inside <answer> looks like, per task (the rewards parse these shapes).
FORMAT_HINTS = {
    "yes_no": " The answer is yes or no.",
    "multiple_choice": " The answer is one option letter.",
    "emotion": " The answer is one emotion.",
    "ranking": " The answer lists three emotions, strongest first, separated by commas.",
    "assessment": " The answer is formatted as dimension: score, e.g. valence: 0.50.",
    "comparison": " The answer is first, second or same.",
    "description": "",
}


def prompt_text(question: str, task: str | None, *, instruction: bool = True) -> str:
    """The user text of a prompt: the question, then the answer-scheme instruction.

    Examples
    --------
    >>> prompt_text("Which emotion?", "emotion")  # doctest: +NORMALIZE_WHITESPACE
    'Which emotion?\\nOutput your thought within <think> </think> and your answer within
     <answer> </answer>. The answer is one emotion.'
    """
    if not instruction:
        return question
    return f"{question}\n{ANSWER_INSTRUCTION}{FORMAT_HINTS.get(task or '', '')}"


def target_text(think: str | None, answer: str) -> str:
    """The target completion: ``<think>…</think><answer>…</answer>``.

    Examples
    --------
    >>> target_text("warm palette, smiling face", "joy")
    '<think>warm palette, smiling face</think><answer>joy</answer>'
    """
    return f"<think>{think or ''}</think><answer>{answer}</answer>"


def _check_qa_frame(frame: pl.DataFrame, needed: tuple[str, ...]) -> None:
    if not isinstance(frame, pl.DataFrame):
        raise TypeError(f"expected a polars DataFrame of QA samples, got {type(frame).__name__}")
    missing = [c for c in needed if c not in frame.columns]
    if missing:
        raise ValueError(
            f"QA frame lacks columns {missing}; build it with eemo_rewards.data.qa.generate_qa "
            "or add them"
        )


def _resolve_paths(frame: pl.DataFrame, image_root: str | os.PathLike | None) -> pl.DataFrame:
    """Absolute image paths, checked to exist (an error lists the missing ones)."""
    root = None if image_root is None else str(Path(image_root).resolve())

    def resolve(col: str) -> pl.Expr:
        path = pl.col(col)
        if root is None:
            return path
        return (
            pl.when(path.is_null() | path.str.starts_with("/"))
            .then(path)
            .otherwise(pl.concat_str(pl.lit(root + "/"), path))
        )

    cols = [c for c in ("image_path", "image_path_2") if c in frame.columns]
    frame = frame.with_columns(resolve(c) for c in cols)
    paths = pl.concat([frame[c].drop_nulls() for c in cols]).unique()
    missing = [p for p in paths.to_list() if not os.path.isfile(p)]
    if missing:
        raise FileNotFoundError(
            f"{len(missing)} image file(s) not found, e.g. {missing[:3]}; pass image_root= for "
            "relative paths, or drop them with validate_records(records, check_images=True)"
        )
    if "image_path" in frame.columns and frame["image_path"].null_count():
        raise ValueError(
            f"{frame['image_path'].null_count()} sample(s) have no image_path; every sample "
            "needs an image (filter them out first)"
        )
    return frame


def _image_lists(frame: pl.DataFrame) -> pl.Expr:
    return pl.concat_list(
        pl.col("image_path"),
        pl.col("image_path_2") if "image_path_2" in frame.columns else pl.lit(None, pl.String),
    ).list.drop_nulls()


def to_trl_dataset(
    frame: pl.DataFrame,
    *,
    image_root: str | os.PathLike | None = None,
    instruction: bool = True,
    extra_columns: Sequence[str] = (),
) -> datasets.Dataset:
    """Build the conversational vision dataset TRL's SFT and GRPO trainers take.

    Parameters
    ----------
    frame : polars.DataFrame
        QA samples (from :func:`~eemo_rewards.data.qa.generate_qa`, possibly subset).
    image_root : path, optional
        Base folder of relative ``image_path`` values.
    instruction : bool, default True
        Append the ``<think>``/``<answer>`` instruction and the task's answer shape to the
        question.
    extra_columns : sequence of str, optional
        Further columns of ``frame`` to carry (a reward's own columns, e.g. ``votes``).

    Returns
    -------
    datasets.Dataset
        Columns ``prompt`` (one user message whose content is one ``{"type": "image"}`` part
        per image, then the text), ``images`` (1 or 2 images, decoded to PIL on access),
        ``completion`` (one assistant message: ``<think>…</think><answer>…</answer>``),
        and ``task``, ``solution``, ``options``, ``dimension``, ``taxonomy``, ``id``,
        ``image_id`` for the rewards.

    Examples
    --------
    >>> import tempfile
    >>> from eemo_rewards.data.builtin import generate_builtin
    >>> from eemo_rewards.data.qa import generate_qa
    >>> qa = generate_qa(generate_builtin(7, cache_dir=tempfile.mkdtemp()), tasks=["emotion"])
    >>> ds = to_trl_dataset(qa)
    >>> row = ds[0]
    >>> [part["type"] for part in row["prompt"][0]["content"]], len(row["images"])
    (['image', 'text'], 1)
    >>> row["completion"][0]["content"].startswith("<think>"), row["task"]
    (True, 'emotion')
    """
    import datasets

    _check_qa_frame(frame, ("id", "image_id", "image_path", "task", "question", "answer"))
    frame = _resolve_paths(frame, image_root)
    text = _user_text(instruction)
    images = _image_lists(frame)
    table = frame.select(
        text.alias("_text"),
        images.alias("images"),
        pl.concat_str(
            pl.lit("<think>"),
            pl.col("think").fill_null("") if "think" in frame.columns else pl.lit(""),
            pl.lit("</think><answer>"),
            pl.col("answer"),
            pl.lit("</answer>"),
        ).alias("_target"),
        *[
            pl.col(c) if c in frame.columns else pl.lit(None, QA_SCHEMA[c]).alias(c)
            for c in ("task", "solution", "options", "dimension", "taxonomy", "id", "image_id")
        ],
    )
    n_images = table["images"].list.len().to_list()
    prompts = [
        [
            {
                "role": "user",
                "content": [{"type": "image", "text": None}] * k + [{"type": "text", "text": t}],
            }
        ]
        for k, t in zip(n_images, table["_text"].to_list(), strict=True)
    ]
    completions = [[{"role": "assistant", "content": t}] for t in table["_target"].to_list()]
    string = datasets.Value("string")
    features = datasets.Features(
        {
            "prompt": datasets.List(
                {"role": string, "content": datasets.List({"type": string, "text": string})}
            ),
            "images": datasets.List(datasets.Image()),
            "completion": datasets.List({"role": string, "content": string}),
            "task": string,
            "solution": string,
            "options": datasets.List(string),
            "dimension": string,
            "taxonomy": string,
            "id": string,
            "image_id": string,
        }
    )
    columns: dict[str, Any] = {
        "prompt": prompts,
        "images": table["images"].to_list(),
        "completion": completions,
    }
    for c in ("task", "solution", "options", "dimension", "taxonomy", "id", "image_id"):
        columns[c] = table[c].to_list()
    dataset = datasets.Dataset.from_dict(columns, features=features)
    # any further column a reward reads (e.g. ``vote_labels`` / ``votes``) travels as it is
    for c in extra_columns:
        if c not in frame.columns:
            raise ValueError(f"extra column {c!r} is not in the frame; have {frame.columns}")
        if c in columns:
            continue
        dataset = dataset.add_column(c, frame[c].to_list())
    return dataset


def to_hf_dataset(
    frame: pl.DataFrame, *, image_root: str | os.PathLike | None = None
) -> datasets.Dataset:
    """All QA columns as a ``datasets.Dataset`` with ``image`` / ``image_2`` Image features.

    Images are stored by path and decoded on access; ``Dataset.save_to_disk`` or
    ``push_to_hub`` embed them.
    """
    import datasets

    _check_qa_frame(frame, ("id", "image_path"))
    frame = _resolve_paths(frame, image_root)
    arrow = frame.to_arrow()
    ds = datasets.Dataset(arrow)
    ds = ds.cast_column("image_path", datasets.Image()).rename_column("image_path", "image")
    if "image_path_2" in frame.columns:
        ds = ds.cast_column("image_path_2", datasets.Image()).rename_column(
            "image_path_2", "image_2"
        )
    return ds


def to_parquet(frame: pl.DataFrame, path: str | os.PathLike) -> Path:
    """Write QA samples (or records) to one parquet file (zstd); returns its path."""
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    frame.write_parquet(out, compression="zstd")
    return out


def to_verl_parquet(
    frame: pl.DataFrame,
    path: str | os.PathLike,
    *,
    image_root: str | os.PathLike | None = None,
    data_source: str = "eemo_rewards",
    instruction: bool = True,
) -> Path:
    """Write verl's RL parquet schema with the images embedded.

    Columns: ``data_source``, ``prompt`` (one user message whose text starts with one
    ``<image>`` token per image), ``images`` (list of ``{"bytes", "path"}``), ``ability``
    (the task), ``reward_model`` (``{"style": "rule", "ground_truth": solution}``) and
    ``extra_info`` (``split``, ``index``, ``id``, ``task``, ``dimension``, ``taxonomy``,
    ``options``, ``answer``, ``question``), which verl passes to ``compute_score``.
    """
    _check_qa_frame(frame, ("id", "image_path", "task", "question", "solution"))
    frame = _resolve_paths(frame, image_root)
    images = _image_lists(frame)
    text = _user_text(instruction)
    table = frame.with_row_index("_index").select(
        pl.lit(data_source).alias("data_source"),
        pl.concat_list(
            pl.struct(
                pl.lit("user").alias("role"),
                pl.concat_str(
                    pl.lit("<image>").repeat_by(images.list.len()).list.join(""), text
                ).alias("content"),
            )
        ).alias("prompt"),
        images.list.eval(
            pl.struct(
                pl.element().map_elements(_read_bytes, return_dtype=pl.Binary).alias("bytes"),
                pl.element().alias("path"),
            )
        ).alias("images"),
        pl.col("task").alias("ability"),
        pl.struct(pl.lit("rule").alias("style"), pl.col("solution").alias("ground_truth")).alias(
            "reward_model"
        ),
        pl.struct(
            pl.col("split") if "split" in frame.columns else pl.lit(None, pl.String).alias("split"),
            pl.col("_index").cast(pl.Int64).alias("index"),
            "id",
            "task",
            *[
                pl.col(c) if c in frame.columns else pl.lit(None, QA_SCHEMA[c]).alias(c)
                for c in ("dimension", "taxonomy", "options", "answer", "question")
            ],
        ).alias("extra_info"),
    )
    return to_parquet(table, path)


def _read_bytes(path: str) -> bytes:
    return Path(path).read_bytes()


def label_json(frame: pl.DataFrame) -> list[str]:
    """One JSON label per sample: ``{"task", "solution", "options", ...}``.

    The keys are :data:`LABEL_COLUMNS` that the sample has (nulls are left out); this is the
    label shape :func:`eemo_rewards.adapters.decode_label` reads for EasyR1 and OpenRLHF.

    Examples
    --------
    >>> label_json(pl.DataFrame({"task": ["multiple_choice"], "solution": ["B"],
    ...                          "options": [["calm", "joy"]], "taxonomy": [None]}))
    ['{"task": "multiple_choice", "solution": "B", "options": ["calm", "joy"]}']
    """
    _check_qa_frame(frame, ("task", "solution"))
    cols = [c for c in LABEL_COLUMNS if c in frame.columns]
    return [
        json.dumps({k: v for k, v in row.items() if v is not None}, ensure_ascii=False)
        for row in frame.select(cols).to_dicts()
    ]


def _prompt_with_placeholders(frame: pl.DataFrame, instruction: bool) -> pl.Expr:
    """The user text with one ``<image>`` placeholder per image in front."""
    images = _image_lists(frame)
    return pl.concat_str(
        pl.lit("<image>").repeat_by(images.list.len()).list.join(""), _user_text(instruction)
    )


def _user_text(instruction: bool) -> pl.Expr:
    """The question, followed (when ``instruction``) by the answer-scheme instruction and the
    task's format hint: the user text of every exporter."""
    if not instruction:
        return pl.col("question")
    hints = pl.col("task").replace_strict(FORMAT_HINTS, default="", return_dtype=pl.String)
    return pl.concat_str(pl.col("question"), pl.lit("\n" + ANSWER_INSTRUCTION), hints)


def to_easyr1_parquet(
    frame: pl.DataFrame,
    path: str | os.PathLike,
    *,
    image_root: str | os.PathLike | None = None,
    instruction: bool = True,
) -> Path:
    """Write EasyR1's RL parquet with the images embedded.

    Columns, under EasyR1's default keys (``data.prompt_key=prompt``,
    ``data.answer_key=answer``, ``data.image_key=images``): ``prompt`` (the question with one
    ``<image>`` placeholder per image in front), ``answer`` (the JSON label of
    :func:`label_json`, which EasyR1 hands to the reward as ``ground_truth``) and ``images``
    (list of ``{"bytes", "path"}``), plus ``id``.
    """
    _check_qa_frame(frame, ("id", "image_path", "task", "question", "solution"))
    frame = _resolve_paths(frame, image_root)
    table = frame.select(
        _prompt_with_placeholders(frame, instruction).alias("prompt"),
        pl.Series("answer", label_json(frame), dtype=pl.String),
        _image_lists(frame)
        .list.eval(
            pl.struct(
                pl.element().map_elements(_read_bytes, return_dtype=pl.Binary).alias("bytes"),
                pl.element().alias("path"),
            )
        )
        .alias("images"),
        "id",
    )
    return to_parquet(table, path)


def to_openrlhf_jsonl(
    frame: pl.DataFrame,
    path: str | os.PathLike,
    *,
    image_root: str | os.PathLike | None = None,
    instruction: bool = True,
) -> Path:
    """Write OpenRLHF's prompt dataset as JSON lines.

    Fields: ``prompt`` (the question with one ``<image>`` placeholder per image in front,
    which OpenRLHF's chat-template step turns into image parts; use
    ``--data.input_key prompt --data.apply_chat_template``), ``label`` (the JSON label of
    :func:`label_json`; ``--data.label_key label``), ``images`` (absolute image paths;
    OpenRLHF's default ``--data.image_key images``) and ``id``.
    """
    _check_qa_frame(frame, ("id", "image_path", "task", "question", "solution"))
    frame = _resolve_paths(frame, image_root)
    table = frame.select(
        _prompt_with_placeholders(frame, instruction).alias("prompt"),
        pl.Series("label", label_json(frame), dtype=pl.String),
        _image_lists(frame).alias("images"),
        "id",
    )
    return _write_jsonl(table, path)


def _write_jsonl(table: pl.DataFrame, path: str | os.PathLike) -> Path:
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", encoding="utf-8") as handle:
        for row in table.to_dicts():
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")
    return out


def to_swift_jsonl(
    frame: pl.DataFrame,
    path: str | os.PathLike,
    *,
    image_root: str | os.PathLike | None = None,
    instruction: bool = True,
) -> Path:
    """Write ms-swift's GRPO dataset as JSON lines.

    Fields: ``messages`` (one user message whose text starts with one ``<image>`` per
    image, swift's multimodal row), ``images`` (absolute image paths), and the columns the
    rewards read, which swift hands to the ORM as keyword lists: ``solution``, ``task``,
    ``options`` and, where the frame has them, ``dimension`` and ``taxonomy``; plus ``id``.
    Give it as ``--dataset PATH`` with the ORM of :mod:`eemo_rewards.adapters.swift`.
    """
    _check_qa_frame(frame, ("id", "image_path", "task", "question", "solution"))
    frame = _resolve_paths(frame, image_root)
    columns = [c for c in LABEL_COLUMNS if c in frame.columns]
    table = frame.select(
        pl.concat_list(
            pl.struct(
                pl.lit("user").alias("role"),
                _prompt_with_placeholders(frame, instruction).alias("content"),
            )
        ).alias("messages"),
        _image_lists(frame).alias("images"),
        *columns,
        "id",
    )
    return _write_jsonl(table, path)
