"""Readers: source datasets in their released formats → canonical records or QA samples.

Every reader maps the source's labels onto a taxonomy through its synonyms
(:func:`~eemo_rewards.data.labels.canonical_label`). A label that cannot be mapped is kept
as written (lower-cased), so that :func:`~eemo_rewards.data.schema.validate_records`
reports it in the quarantine table instead of it being dropped silently.

==========================  =========================================  =====================
reader                      input                                      output
==========================  =========================================  =====================
:func:`read_eemo_bench`     ``single_annotations.json``                image records
:func:`read_eemo_bench_qa`  ``single_annotations.json`` /              QA samples (yes/no,
                            ``pair_questions.json``                    multiple choice)
:func:`read_eemodb`         EEmoDB release folder or hub id: QA        QA samples
                            files ``{type, question, answer}``,
                            conversation files, ``image_mapping.json``
:func:`read_emoset`         EmoSet annotation JSON files, or the hub   image records
                            mirror's ``image``/``labels`` table
:func:`read_emotion6`       Emotion6 ``ground_truth.txt``              image records
:func:`read_folder_labels`  one folder per label (ArtPhoto, FI,        image records
                            Abstract) or ``<label>_<n>.jpg`` names
:func:`read_emoverse`       EmoVerse JSON / JSONL / parquet            image records
==========================  =========================================  =====================
"""

from __future__ import annotations

import ast
import json
import os
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import polars as pl

from eemo_rewards.data.labels import canonical_label
from eemo_rewards.data.schema import QA_SCHEMA, conform_records
from eemo_rewards.tasks import TASKS, normalise_task

__all__ = [
    "IMAGE_EXTENSIONS",
    "read_eemo_bench",
    "read_eemo_bench_qa",
    "read_eemodb",
    "read_emoset",
    "read_emotion6",
    "read_emoverse",
    "read_folder_labels",
]

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp")
EMOSET_LABELS = (  # the hub mirror's class order (alphabetical, as in EmoSet's release)
    "amusement",
    "anger",
    "awe",
    "contentment",
    "disgust",
    "excitement",
    "fear",
    "sadness",
)
EMOTION6_COLUMNS = ("anger", "disgust", "fear", "joy", "sadness", "surprise", "neutral")


def _map_label(label: Any, taxonomy: str) -> str | None:
    """The taxonomy's label, or the raw label lower-cased (reported later), or None."""
    if label is None or (isinstance(label, str) and not label.strip()):
        return None
    mapped = canonical_label(str(label), taxonomy)
    return mapped if mapped is not None else str(label).strip().lower()


def _load_json(path: Path) -> Any:
    try:
        with open(path, encoding="utf-8") as handle:
            return json.load(handle)
    except FileNotFoundError:
        raise FileNotFoundError(f"{path} does not exist: check the dataset folder") from None
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path} is not valid JSON ({exc}); is the download complete?") from None


def _sam_triplet(value: Any) -> float | None:
    """EEmo-Bench stores V/A/D as [mean, std, …]; a bare number is accepted too."""
    if isinstance(value, list | tuple):
        value = value[0] if value else None
    if value is None:
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return float("nan")  # reported by validate_records as NaN


# --------------------------------------------------------------------------- EEmo-Bench
def read_eemo_bench(path: str | os.PathLike, *, image_root: str | None = None) -> pl.DataFrame:
    """EEmo-Bench's per-image annotations (``single_annotations.json``) as image records.

    Each entry has ``image_name``, ``category`` (content), ``emotion_list`` (top three
    ``[emotion, votes]``) and ``Valence``/``Arousal``/``Dominance`` as ``[mean, std, …]`` on
    the 9-point SAM scale. Records get ``split="test"`` (EEmo-Bench is a test set).

    Parameters
    ----------
    path : path
        The JSON file, or a folder containing ``single_annotations.json``.
    image_root : str, optional
        Prefix for ``image_path`` (default: the image name, relative).
    """
    path = Path(path)
    file = path / "single_annotations.json" if path.is_dir() else path
    entries = _load_json(file)
    if not isinstance(entries, list):
        raise ValueError(f"{file}: expected a list of image annotations, got {type(entries)}")
    rows = []
    for entry in entries:
        pairs = entry.get("emotion_list") or []
        labels = [_map_label(p[0], "eemo_bench7") if p else None for p in pairs]
        votes = [float(p[1]) if len(p) > 1 and p[1] is not None else None for p in pairs]
        order = sorted(range(len(labels)), key=lambda i: -(votes[i] or 0.0))
        ranked = [labels[i] for i in order if labels[i] is not None]
        name = entry.get("image_name")
        rows.append(
            {
                "id": None if name is None else f"eemo_bench/{name}",
                "image_path": None
                if name is None
                else (name if image_root is None else f"{image_root.rstrip('/')}/{name}"),
                "source": "eemo_bench",
                "taxonomy": "eemo_bench7",
                "emotions": ranked,
                "votes": [votes[i] for i in order if labels[i] is not None],
                "ranking": ranked[:3],
                "emotion": ranked[0] if ranked else None,
                "valence": _sam_triplet(entry.get("Valence")),
                "arousal": _sam_triplet(entry.get("Arousal")),
                "dominance": _sam_triplet(entry.get("Dominance")),
                "vad_scale": "1-9",
                "content": (entry.get("category") or "").strip().lower() or None,
                "split": "test",
            }
        )
    return conform_records(pl.DataFrame(rows, infer_schema_length=None))


def _parse_options(value: Any) -> list[str] | None:
    """Options as a list of texts, from a dict letter→text, a list, or their string form."""
    if value is None:
        return None
    if isinstance(value, str):
        text = value.strip()
        try:
            value = json.loads(text)
        except json.JSONDecodeError:
            try:
                value = ast.literal_eval(text)
            except (ValueError, SyntaxError):
                return None
    if isinstance(value, Mapping):
        items = sorted((str(k).strip().upper(), v) for k, v in value.items() if v is not None)
        return [str(v).strip() for _, v in items]
    if isinstance(value, list | tuple):
        return [str(v).strip() for v in value]
    return None


_DIMENSION_WORDS = (
    ("valence", ("valence", "positive", "negative", "pleasant", "unpleasant")),
    ("arousal", ("arousal", "aroused", "excite", "calm", "intens", "stimulat")),
    ("dominance", ("dominance", "control", "dominant feeling", "authority", "power")),
)


def _dimension_of(question: str) -> str:
    text = question.lower()
    for dimension, words in _DIMENSION_WORDS:
        if any(w in text for w in words):
            return dimension
    return "emotion"


def _yes_no_of(option: str | None) -> str | None:
    key = (option or "").strip().strip(".").lower()
    return key if key in ("yes", "no") else None


def read_eemo_bench_qa(path: str | os.PathLike) -> pl.DataFrame:
    """EEmo-Bench's own perception questions as QA samples.

    Reads ``single_annotations.json`` (``judge_*`` yes/no and ``choose_*`` what/how per
    image) and/or ``pair_questions.json`` (``judge_*`` and ``choose_*`` per image pair) from
    a folder, or one of the two files. Yes/no samples get ``solution`` ``"yes"``/``"no"``
    and their options (``["No", "Yes"]``) in letter order; multiple-choice samples get the
    letter. ``answer`` is the letter the benchmark expects.
    """
    path = Path(path)
    files = (
        [p for p in (path / "single_annotations.json", path / "pair_questions.json") if p.exists()]
        if path.is_dir()
        else [path]
    )
    if not files:
        raise FileNotFoundError(f"no EEmo-Bench question files in {path}")
    rows: list[dict[str, Any]] = []
    for file in files:
        entries = _load_json(file)
        for entry in entries:
            pair = "image1_url" in entry
            first = entry.get("image1_url") if pair else entry.get("image_name")
            second = entry.get("image2_url") if pair else None
            prefix = "eemo_bench/"
            for kind, (q_key, o_key, a_key) in {
                "judge": (
                    "judge_question" if pair else "judge_Q",
                    "judge_options" if pair else "judge_A",
                    "judge_answer",
                ),
                "choose": (
                    "choose_question" if pair else "choose_Q",
                    "choose_options" if pair else "choose_A",
                    "choose_answer",
                ),
            }.items():
                question = entry.get(q_key)
                if not question:
                    continue
                options = _parse_options(entry.get(o_key)) or []
                letter = str(entry.get(a_key) or "").strip().upper()
                index = ord(letter) - 65 if len(letter) == 1 else -1
                chosen = options[index] if 0 <= index < len(options) else None
                yes_no = kind == "judge" and _yes_no_of(chosen) is not None
                letters = "\n".join(f"{chr(65 + i)}. {o}" for i, o in enumerate(options))
                image_id = f"{prefix}{first}" if first else None
                image_id_2 = f"{prefix}{second}" if second else None
                rows.append(
                    {
                        "id": f"{image_id}|{image_id_2 or ''}/{kind}",
                        "image_id": image_id,
                        "image_id_2": image_id_2,
                        "pair_id": f"{image_id}|{image_id_2}" if image_id_2 else None,
                        "image_path": first,
                        "image_path_2": second,
                        "task": "yes_no" if yes_no else "multiple_choice",
                        "dimension": _dimension_of(question),
                        "qtype": kind,
                        "question": f"{question}\nOptions:\n{letters}",
                        "options": options,
                        "answer": letter,
                        "solution": _yes_no_of(chosen) if yes_no else letter,
                        "think": None,
                        "taxonomy": "eemo_bench7",
                        "asked": None,
                        "template_id": f"eemo_bench/{'pair' if pair else 'single'}/{kind}",
                        "source": "eemo_bench",
                        "split": "test",
                    }
                )
    return pl.DataFrame(rows, schema=QA_SCHEMA)


# --------------------------------------------------------------------------- EEmoDB
_EEMODB_FILES = (
    "QA_data(SFT).json",
    "QA_data(pair-SFT).json",
    "EEmoDB-QA/QA_data(conversation_train).json",
    "EEmoDB-QA/QA_data(conversation_test).json",
    "EEmoDB-Assess/RL(conversation_train).json",
    "EEmoDB-Assess/RL(conversation_test).json",
)
_SCORE = re.compile(r"(valence|arousal|dominance)\s*[:=]\s*([0-9]*\.?[0-9]+)", re.IGNORECASE)
_RANKING = re.compile(r"emotion ranking\s*:\s*(.+)", re.IGNORECASE)


def _infer_task(declared: Any, question: str, answer: str) -> str:
    """The canonical task of an EEmoDB sample: its ``type`` when known, else its answer."""
    task = normalise_task(declared)
    if task in TASKS:
        return task
    text = answer.strip()
    if _SCORE.search(text):
        return "assessment"
    if _RANKING.search(text) or (text.count(",") == 2 and len(text) < 60):
        return "ranking"
    if text.strip(".").lower() in ("yes", "no"):
        return "yes_no"
    if re.fullmatch(r"\(?[A-Ha-h][).:]?(\s.*)?", text) and "\nA." in question.replace("(A)", "A."):
        return "multiple_choice"
    if len(text.split()) <= 2:
        return "emotion"
    return "description"


def _solution_of(task: str, answer: str, taxonomy: str) -> str:
    text = answer.strip()
    if task == "assessment":
        found = _SCORE.findall(text)
        return ", ".join(f"{d.lower()}: {v}" for d, v in found) if found else text
    if task == "ranking":
        match = _RANKING.search(text)
        labels = (match.group(1) if match else text).strip().rstrip(".").split(",")
        return ", ".join(_map_label(x, taxonomy) or x.strip() for x in labels)
    if task == "yes_no":
        return text.strip(".").lower()
    if task == "multiple_choice":
        return text.lstrip("(")[:1].upper()
    if task == "emotion":
        return _map_label(text.strip("."), taxonomy) or text
    return text


def _eemodb_rows(entries: list, file: str, mapping: Mapping[str, str], taxonomy: str) -> list:
    rows = []
    for i, entry in enumerate(entries):
        if "conversations" in entry:
            turns = entry.get("conversations") or []
            human = next((t.get("value", "") for t in turns if t.get("from") == "human"), "")
            gpt = next((t.get("value", "") for t in turns if t.get("from") == "gpt"), "")
            images = entry.get("image")
            declared = entry.get("type")
        else:
            human, gpt = entry.get("question", ""), entry.get("answer", "")
            images = entry.get("image", entry.get("images"))
            declared = entry.get("type")
        images = [images] if isinstance(images, str) else list(images or [])
        question = human.replace("<image>\n", "").replace("<image>", "").strip()
        task = _infer_task(declared, question, gpt)
        first = images[0] if images else None
        second = images[1] if len(images) > 1 else None
        source = mapping.get(first or "", None)
        rows.append(
            {
                "id": f"eemodb/{file}/{i}",
                "image_id": first,
                "image_id_2": second,
                "pair_id": f"{first}|{second}" if second else None,
                "image_path": first,
                "image_path_2": second,
                "task": task,
                "dimension": _dimension_of(question) if task != "description" else "description",
                "qtype": str(declared) if declared is not None else None,
                "question": question,
                "options": None,
                "answer": gpt.strip(),
                "solution": _solution_of(task, gpt, taxonomy),
                "think": None,
                "taxonomy": taxonomy,
                "asked": None,
                "template_id": f"eemodb/{file}",
                "source": f"eemodb/{source}" if source else "eemodb",
                "split": "test" if "test" in file else "train",
            }
        )
    return rows


def read_eemodb(
    path: str | os.PathLike,
    *,
    files: Iterable[str] | None = None,
    taxonomy: str = "eemo_bench7",
) -> pl.DataFrame:
    """The EEmoDB release as QA samples (local folder, or a hub id read through ``datasets``).

    Reads the QA files (lists of ``{type, question, answer}``, with ``image`` when present)
    and the LLaVA-style conversation files (``{"image": path or [paths], "conversations":
    [{"from": "human", "value": "<image>\\n…"}, {"from": "gpt", "value": …}]}``), and tags
    each sample with its image's source dataset from ``image_mapping.json``. The task comes
    from ``type`` when it names one, else from the answer's shape (``Valence: 0.52`` →
    assessment, ``Emotion ranking: …`` → ranking, …).

    Parameters
    ----------
    path : path or str
        A local folder with the release's files, or a hub dataset id such as
        ``"Workerred/EEmoDB"`` (read with ``datasets``; needs network access or a cache).
    files : iterable of str, optional
        The files to read, relative to the release root (default: every known QA and
        conversation file present).
    taxonomy : str, default "eemo_bench7"
        The vocabulary that emotion answers are mapped onto.
    """
    root = Path(path)
    if not root.exists():
        if re.fullmatch(r"[\w.-]+/[\w.-]+", str(path)):
            return _read_eemodb_hub(str(path), files, taxonomy)
        raise FileNotFoundError(f"{path} is neither a local folder nor a hub dataset id")
    mapping_file = root / "image_mapping.json"
    mapping: dict[str, str] = {}
    if mapping_file.exists():
        raw = _load_json(mapping_file)
        if isinstance(raw, Mapping):
            mapping = {str(k): str(v) for k, v in raw.items()}
        elif isinstance(raw, list):  # [{"image": ..., "source": ...}]
            mapping = {str(r.get("image")): str(r.get("source")) for r in raw}
    wanted = list(files) if files is not None else [f for f in _EEMODB_FILES if (root / f).exists()]
    if not wanted:
        raise FileNotFoundError(
            f"no EEmoDB QA or conversation files in {root}; expected some of {_EEMODB_FILES}"
        )
    rows = []
    for name in wanted:
        entries = _load_json(root / name)
        if not isinstance(entries, list):
            raise ValueError(f"{root / name}: expected a list of samples, got {type(entries)}")
        rows += _eemodb_rows(entries, name, mapping, taxonomy)
    return pl.DataFrame(rows, schema=QA_SCHEMA)


def _read_eemodb_hub(hub_id: str, files: Iterable[str] | None, taxonomy: str) -> pl.DataFrame:
    try:
        import datasets
    except ImportError:
        raise ImportError("reading EEmoDB from the hub needs the datasets package") from None
    rows = []
    for name in list(files) if files is not None else list(_EEMODB_FILES):
        try:
            ds = datasets.load_dataset(hub_id, data_files=name, split="train")
        except Exception as exc:
            raise RuntimeError(
                f"could not load {name!r} of {hub_id!r} through datasets ({type(exc).__name__}: "
                f"{exc}); download the release to a folder and pass that folder instead"
            ) from None
        rows += _eemodb_rows(list(ds), name, {}, taxonomy)
    return pl.DataFrame(rows, schema=QA_SCHEMA)


# --------------------------------------------------------------------------- EmoSet
def read_emoset(path: str | os.PathLike | Any) -> pl.DataFrame:
    """EmoSet as image records (taxonomy ``mikels8``), from either of its two shapes.

    - the original release: a folder whose ``annotation/`` (or the folder itself) holds one
      JSON per image with ``emotion``, ``brightness``, ``colorfulness`` (0–1), ``scene``,
      ``object`` (list), ``facial_expression`` and ``human_action``; the image is looked up
      as ``image/<emotion>/<name>.jpg`` beside it;
    - the hub mirror's table (a ``datasets.Dataset``, or a parquet file) with columns
      ``image`` and ``labels`` (class index in :data:`EMOSET_LABELS` order, or the name).
    """
    if not isinstance(path, str | os.PathLike):
        return _emoset_table(path)
    root = Path(path)
    if root.is_file() and root.suffix == ".parquet":
        return _emoset_table(pl.read_parquet(root))
    folder = root / "annotation" if (root / "annotation").is_dir() else root
    files = sorted(folder.rglob("*.json"))
    if not files:
        raise FileNotFoundError(f"no EmoSet annotation JSON files under {folder}")
    rows = []
    for file in files:
        entry = _load_json(file)
        raw = entry.get("emotion")
        label = _map_label(raw, "mikels8")
        name = entry.get("image_id") or file.stem
        image = root / "image" / str(raw) / f"{name}.jpg"
        objects = entry.get("object") or []
        rows.append(
            {
                "id": f"emoset/{name}",
                "image_path": str(image) if image.exists() else entry.get("image"),
                "source": "emoset",
                "taxonomy": "mikels8",
                "emotions": [label] if label else [],
                "votes": [1.0] if label else [],
                "ranking": [label] if label else [],
                "emotion": label,
                "brightness": entry.get("brightness"),
                "colorfulness": entry.get("colorfulness"),
                "objects": [objects] if isinstance(objects, str) else list(objects),
                "facial_expression": entry.get("facial_expression"),
                "human_action": entry.get("human_action"),
                "scene": entry.get("scene"),
            }
        )
    return conform_records(pl.DataFrame(rows, infer_schema_length=None))


def _emoset_table(table: Any) -> pl.DataFrame:
    class_names = EMOSET_LABELS
    features = getattr(table, "features", None)
    if features is not None:
        feature = features.get("labels", features.get("label"))
        class_names = tuple(getattr(feature, "names", None) or EMOSET_LABELS)
    frame = table if isinstance(table, pl.DataFrame) else pl.from_arrow(table.data.table)
    if "labels" not in frame.columns and "label" in frame.columns:
        frame = frame.rename({"label": "labels"})
    missing = [c for c in ("image", "labels") if c not in frame.columns]
    if missing:
        raise ValueError(f"EmoSet table lacks columns {missing}; expected image and labels")
    labels = frame["labels"]
    if labels.dtype.is_integer():
        # An index outside the class list is kept as text, so validation reports it.
        names = pl.Series(
            [
                None
                if v is None
                else _map_label(class_names[v], "mikels8")
                if 0 <= v < len(class_names)
                else f"class {v}"
                for v in labels.to_list()
            ],
            dtype=pl.String,
        )
    else:
        names = labels.cast(pl.String).map_elements(
            lambda x: _map_label(x, "mikels8"), return_dtype=pl.String
        )
    image = frame["image"]
    paths = image.struct.field("path") if image.dtype == pl.Struct else image.cast(pl.String)
    n = frame.height
    ids = (
        frame["id"].cast(pl.String)
        if "id" in frame.columns
        else pl.Series([f"{i:06d}" for i in range(n)])
    )
    return conform_records(
        pl.DataFrame(
            {
                "id": ("emoset/" + ids).alias("id"),
                "image_path": paths,
                "source": ["emoset"] * n,
                "taxonomy": ["mikels8"] * n,
                "emotion": names,
            }
        ).with_columns(
            pl.concat_list("emotion").list.drop_nulls().alias("ranking"),
            pl.concat_list("emotion").list.drop_nulls().alias("emotions"),
        )
    )


# --------------------------------------------------------------------------- Emotion6
def read_emotion6(path: str | os.PathLike) -> pl.DataFrame:
    """Emotion6's ``ground_truth.txt`` as image records.

    Emotion6's seven classes are exactly EEmo-Bench's, so the records use ``eemo_bench7``.

    Each line: image file (``anger/1.jpg``), valence and arousal on 1–9, then the
    probabilities of anger, disgust, fear, joy, sadness, surprise and neutral. The ranking
    lists the emotions with a non-zero probability, most probable first (top three).
    """
    root = Path(path)
    file = root / "ground_truth.txt" if root.is_dir() else root
    if not file.is_file():
        raise FileNotFoundError(f"{file} does not exist: point to Emotion6's ground_truth.txt")
    image_root = file.parent / "images"
    rows = []
    for number, line in enumerate(file.read_text(encoding="utf-8").splitlines(), start=1):
        fields = line.strip().split("\t") if "\t" in line else line.split()
        if not fields or fields[0].startswith("[") or not line.strip():
            continue  # header or blank
        name = fields[0]
        values: list[float] = []
        for value in fields[1:]:
            try:
                values.append(float(value))
            except ValueError:
                values.append(float("nan"))
        if len(values) != 2 + len(EMOTION6_COLUMNS):
            raise ValueError(
                f"{file}:{number}: expected a file name and {2 + len(EMOTION6_COLUMNS)} numbers, "
                f"got {len(values)}; is this Emotion6's ground_truth.txt?"
            )
        probs = dict(zip(EMOTION6_COLUMNS, values[2:], strict=True))
        ranked = sorted((p, -i, e) for i, (e, p) in enumerate(probs.items()) if p == p and p > 0)
        ranked = [e for _, _, e in reversed(ranked)]
        image = image_root / name
        rows.append(
            {
                "id": f"emotion6/{name}",
                "image_path": str(image) if image.exists() else name,
                "source": "emotion6",
                "taxonomy": "eemo_bench7",
                "emotions": ranked,
                "votes": sorted((probs[e] for e in ranked), reverse=True),
                "ranking": ranked[:3],
                "emotion": ranked[0] if ranked else None,
                "valence": values[0],
                "arousal": values[1],
                "vad_scale": "1-9",
            }
        )
    return conform_records(pl.DataFrame(rows, infer_schema_length=None))


# --------------------------------------------------------------------------- folders
def read_folder_labels(
    path: str | os.PathLike,
    *,
    taxonomy: str = "mikels8",
    source: str | None = None,
) -> pl.DataFrame:
    """Folder-per-label image sets (ArtPhoto, FI, Abstract) as image records.

    Accepts ``<root>/<label>/<image>`` folders, or a flat folder of ``<label>_<n>.<ext>``
    files (ArtPhoto's naming). Labels are mapped onto ``taxonomy``.
    """
    root = Path(path)
    if not root.is_dir():
        raise FileNotFoundError(f"{root} is not a folder of images")
    source = source or root.name.lower()
    rows = []
    for file in sorted(root.rglob("*")):
        if not file.is_file() or file.suffix.lower() not in IMAGE_EXTENSIONS:
            continue
        relative = file.relative_to(root)
        raw = relative.parts[0] if len(relative.parts) > 1 else re.split(r"[_\-\d]", file.stem)[0]
        label = _map_label(raw, taxonomy)
        rows.append(
            {
                "id": f"{source}/{relative.as_posix()}",
                "image_path": str(file),
                "source": source,
                "taxonomy": taxonomy,
                "emotions": [label] if label else [],
                "votes": [1.0] if label else [],
                "ranking": [label] if label else [],
                "emotion": label,
            }
        )
    if not rows:
        raise FileNotFoundError(f"no images ({', '.join(IMAGE_EXTENSIONS)}) under {root}")
    return conform_records(pl.DataFrame(rows, infer_schema_length=None))


# --------------------------------------------------------------------------- EmoVerse
def read_emoverse(path: str | os.PathLike, *, taxonomy: str = "mikels8") -> pl.DataFrame:
    """EmoVerse records (JSON list, JSONL or parquet) as image records.

    Columns used: ``image`` (path, or a struct with ``path``), ``emotion_category``,
    ``description`` (kept as ``caption``), ``confidence_score`` (kept as the vote).
    """
    file = Path(path)
    if not file.exists():
        raise FileNotFoundError(f"{file} does not exist")
    if file.suffix == ".parquet":
        frame = pl.read_parquet(file)
    elif file.suffix == ".jsonl":
        frame = pl.read_ndjson(file, infer_schema_length=None)
    else:
        frame = pl.DataFrame(_load_json(file), infer_schema_length=None)
    if "emotion_category" not in frame.columns:
        raise ValueError(f"{file}: no emotion_category column; is this an EmoVerse file?")
    image = frame["image"] if "image" in frame.columns else pl.Series([None] * frame.height)
    if image.dtype == pl.Struct:
        image = image.struct.field("path")
    labels = [_map_label(x, taxonomy) for x in frame["emotion_category"].to_list()]
    confidence = (
        frame["confidence_score"].cast(pl.Float64, strict=False).to_list()
        if "confidence_score" in frame.columns
        else [1.0] * frame.height
    )
    ids = frame["id"].cast(pl.String).to_list() if "id" in frame.columns else None
    rows = [
        {
            "id": f"emoverse/{ids[i] if ids else i}",
            "image_path": image[i],
            "source": "emoverse",
            "taxonomy": taxonomy,
            "emotions": [label] if label else [],
            "votes": [confidence[i]] if label else [],
            "ranking": [label] if label else [],
            "emotion": label,
            "caption": frame["description"][i] if "description" in frame.columns else None,
        }
        for i, label in enumerate(labels)
    ]
    return conform_records(pl.DataFrame(rows, infer_schema_length=None))
