"""EEmo-Logic's evaluation sets: what each released file holds, and the items it asks.

Each set reads one file of EEmo-Logic's ``test_data/`` (github.com/workerred/EEmo-Logic at
commit b353f328ec8053d4352c05491749167a0f9417c6, Apache-2.0, research use) and turns every
record into one or more :class:`Item` s: the prompt the release's inference script sends for
it (:mod:`eemo_rewards.bench.prompts`), the image paths, and what the answer is scored
against. An item is identified by ``(id, task)``: ``id`` as in the source file (the image
name, ``new_id``, ``id``, or the record's position where the file has none) and ``task``
the question it asks of that record.

Option order: ArtEmis and ArtPhoto list their candidate emotions in the prompt. The release
builds that list with ``list(set(...))`` (``inference/evaluate_ArtEmis_think.py``,
``evaluate_Artphoto_think.py``), whose order follows Python's string hashing and so changes
from process to process unless ``PYTHONHASHSEED`` is fixed. Here the default is the sorted
order (``option_order="sorted"``); ``"released"`` rebuilds the release's own expression in
this process, and the order used is written into every cached answer and the summary.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

import eemo_rewards.bench.prompts as prompts

__all__ = [
    "DATA_ENV",
    "OPTION_ORDERS",
    "RELEASE",
    "SETS",
    "BenchSet",
    "Item",
    "data_folder",
    "get_set",
    "image_path",
    "load_items",
    "normalise_image_path",
    "resolve_sets",
]

#: Where the released test files come from (the files themselves are not shipped).
RELEASE = (
    "github.com/workerred/EEmo-Logic test_data/ at b353f328ec8053d4352c05491749167a0f9417c6 "
    "(Apache-2.0, research use)"
)
#: Environment variable naming the folder that holds the released ``test_data`` files.
DATA_ENV = "EEMO_BENCH_DATA"
OPTION_ORDERS = ("sorted", "released")
VAD = ("valence", "arousal", "dominance")


@dataclass(frozen=True)
class Item:
    """One question asked of one record.

    Attributes
    ----------
    id : str
        The record's id as in the source file.
    task : str
        ``yes_no``, ``what_how``, ``ranking``, ``valence``/``arousal``/``dominance``,
        ``description``, ``emotion`` or ``choice``.
    prompt : str
        The text sent with the images.
    images : tuple of str
        The images, as the file names them (separators normalised).
    truth : Any
        What the answer is scored against (an option letter, the top-3 emotions, a 1–9
        SAM mean, an emotion label), or ``None`` when the release has no key.
    options : dict of str to str, optional
        ``{letter: text}`` of a choice question.
    meta : dict
        Everything else the scorer needs (annotations, annotator labels, question type).
    """

    id: str
    task: str
    prompt: str
    images: tuple[str, ...]
    truth: Any = None
    options: Mapping[str, str] | None = None
    meta: Mapping[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> tuple[str, str]:
        return (self.id, self.task)


@dataclass(frozen=True)
class BenchSet:
    """A released evaluation set.

    Attributes
    ----------
    name : str
        The name used on the command line.
    file : str
        The released file (in the ``test_data`` folder).
    title : str
        What it is, in a few words.
    tasks : tuple of str
    metrics : tuple of str
        The metrics :func:`eemo_rewards.bench.score.score_set` reports.
    read : callable
        ``read(records, option_order, annotations) -> list[Item]``; ``annotations`` maps an
        EEmo-Bench image name to its record in the single-image file, for sets that need it
        (``needs_annotations``).
    """

    name: str
    file: str
    title: str
    tasks: tuple[str, ...]
    metrics: tuple[str, ...]
    read: Callable[..., list[Item]]
    unit: str = "records"
    needs_annotations: bool = False


def normalise_image_path(path: str) -> str:
    """The file's own image path with backslashes as ``/`` and a leading ``./`` dropped.

    Examples
    --------
    >>> normalise_image_path("./test_dominant_images\\\\00000.jpg")
    'test_dominant_images/00000.jpg'
    >>> normalise_image_path("emotion_images/1.jpg")
    'emotion_images/1.jpg'
    """
    text = str(path).replace("\\", "/")
    while text.startswith("./"):
        text = text[2:]
    return text.lstrip("/")


def image_path(images_dir: str | os.PathLike, set_name: str, path: str) -> Path:
    """Where an image is looked for: ``images_dir/<set name>/<the file's own path>``."""
    return Path(images_dir) / set_name / PurePosixPath(normalise_image_path(path))


# ------------------------------------------------------------------ readers, one per file
_SINGLE_FIELDS = (
    ("yes_no", "judge_Q", "judge_A", "judge_answer"),
    ("what_how", "choose_Q", "choose_A", "choose_answer"),
)
_PAIR_FIELDS = (
    ("yes_no", "judge_question", "judge_options", "judge_answer"),
    ("what_how", "choose_question", "choose_options", "choose_answer"),
)


def _perception(rid: str, images: tuple[str, ...], rec: Mapping[str, Any], fields, build):
    """The yes/no and what/how items of one record (``fields``: the file's key names)."""
    out = []
    for task, question, options, answer in fields:
        opts = dict(rec[options])
        out.append(
            Item(rid, task, build(rec[question], opts), images, rec[answer], opts,
                 {"question": rec[question]})
        )  # fmt: skip
    return out


def _annotation(rec: Mapping[str, Any]) -> dict[str, Any]:
    """An EEmo-Bench image's top-3 emotions (strongest first) and V/A/D means (1–9)."""
    return {
        "emotions": [label for label, _votes in rec["emotion_list"]],
        **{dim: float(rec[dim.capitalize()][0]) for dim in VAD},
    }


def _ebench_perception_single(
    records: Any, option_order: str, annotations: Any = None
) -> list[Item]:
    items = []
    for rec in records:
        rid, image, ann = rec["image_name"], (rec["image_name"],), _annotation(rec)
        items += _perception(rid, image, rec, _SINGLE_FIELDS, prompts.perception_single)
        items.append(Item(rid, "ranking", prompts.ranking(), image, ann["emotions"]))
        items += [Item(rid, dim, prompts.assessment(dim), image, ann[dim]) for dim in VAD]
    return items


def _pair_id(index: int) -> str:
    return str(index)


def _ebench_perception_pair(records: Any, option_order: str, annotations: Any = None) -> list[Item]:
    items = []
    for i, rec in enumerate(records):
        images = (rec["image1_url"], rec["image2_url"])
        items += _perception(_pair_id(i), images, rec, _PAIR_FIELDS, prompts.perception_pair)
    return items


def _ebench_open_single(records: Any, option_order: str, annotations: Any = None) -> list[Item]:
    return [
        Item(
            rec["image_name"],
            "description",
            prompts.description_single(rec["open_ended_Q"]),
            (rec["image_name"],),
            None,
            None,
            {"question": rec["open_ended_Q"], "annotations": [_annotation(rec)]},
        )
        for rec in records
    ]


def _ebench_open_pair(records: Any, option_order: str, annotations: Any = None) -> list[Item]:
    return [
        Item(
            _pair_id(i),
            "description",
            prompts.description_pair(rec["open_ended_question"]),
            (rec["image1_url"], rec["image2_url"]),
            None,
            None,
            {
                "question": rec["open_ended_question"],
                "annotations": [
                    _annotation(annotations[name])
                    for name in (rec["image1_url"], rec["image2_url"])
                    if annotations and name in annotations
                ],
            },
        )
        for i, rec in enumerate(records)
    ]


def option_list(labels: Sequence[str], option_order: str) -> list[str]:
    """The candidate emotions in the order the prompt lists them.

    ``"sorted"``: alphabetical, the same in every run. ``"released"``: the release's
    ``list(set(labels))``, an order that depends on this process's string hashing.

    Examples
    --------
    >>> option_list(["sad", "awe", "fear", "awe"], "sorted")
    ['awe', 'fear', 'sad']
    """
    if _check_order(option_order) == "sorted":
        return sorted(set(labels))
    return list(set(labels))  # deliberately the release's unordered expression


def _check_order(option_order: str) -> str:
    if option_order not in OPTION_ORDERS:
        raise ValueError(f"option_order={option_order!r}; use one of {list(OPTION_ORDERS)}")
    return option_order


def _dominant(
    records: Any, option_order: str, *, id_key: str, path_key: str, label_key: str, indent: int
) -> list[Item]:
    """ArtEmis and ArtPhoto: one dominant-emotion question per image, the candidates being
    every label the file uses."""
    options = option_list([r[label_key] for r in records], option_order)
    prompt = prompts.dominant_emotion(options, indent=indent)
    return [
        Item(
            str(rec[id_key]),
            "emotion",
            prompt,
            (rec[path_key],),
            rec[label_key],
            None,
            # ArtEmis keeps its five annotators' labels
            {
                "labels": options,
                **({"annotators": list(rec["emotion"])} if id_key == "new_id" else {}),
            },
        )
        for rec in records
    ]


def _artemis(records: Any, option_order: str, annotations: Any = None) -> list[Item]:
    return _dominant(
        records, option_order, id_key="new_id", path_key="img_path",
        label_key="dominant_emotion", indent=8,
    )  # fmt: skip


def _artphoto(records: Any, option_order: str, annotations: Any = None) -> list[Item]:
    return _dominant(
        records, option_order, id_key="id", path_key="image_path", label_key="emotion", indent=4
    )


def _uniaa(records: Any, option_order: str, annotations: Any = None) -> list[Item]:
    return [
        Item(
            str(rec["id"]),
            "choice",
            prompts.uniaa(rec["question"], rec["options"]),
            (rec["img_path"],),
            rec["answer"],
            dict(rec["options"]),
            {"type": rec["type"], "question": rec["question"]},
        )
        for rec in records
    ]


_AES_OPTION = re.compile(r"^\s*([A-Z])\)\s*(.*?)\s*$")


def aes_options(text: str) -> dict[str, str]:
    """AesBench's option block (``"A) …\\nB) …"``) as ``{letter: text}``.

    Examples
    --------
    >>> aes_options("A) High\\nB) Medium\\nC)Low")
    {'A': 'High', 'B': 'Medium', 'C': 'Low'}
    """
    out = {}
    for line in str(text).splitlines():
        m = _AES_OPTION.match(line)
        if m:
            out[m.group(1)] = m.group(2)
    if not out:
        raise ValueError(f"no 'A) …' option lines in {text[:80]!r}")
    return out


def _aese(records: Any, option_order: str, annotations: Any = None) -> list[Item]:
    items = []
    for name, rec in records.items():
        data = rec["AesE_data"]
        items.append(
            Item(
                name,
                "choice",
                prompts.aese(data["Question"], data["Options"]),
                (name,),
                None,
                aes_options(data["Options"]),
                {"question": data["Question"]},
            )
        )
    return items


_PERCEPTION = ("accuracy_yes_no", "accuracy_what_how", "accuracy")
_RANKING = ("ranking_score", "ranking_score_released")
_ASSESS = tuple(f"{d}_{m}" for d in VAD for m in ("srcc", "plcc"))
_OFFLINE = ("offline_emotion_in_top3", *(f"offline_{d}_level" for d in VAD))
_JUDGED = ("judge_score", "judge_score_annotations", "judge_score_released")

SETS: dict[str, BenchSet] = {
    s.name: s
    for s in (
        BenchSet(
            "ebench-single",
            "Ebench_1_data(jac_en_check).json",
            "EEmo-Bench single images: perception, ranking, V/A/D assessment",
            ("yes_no", "what_how", "ranking", *VAD),
            (*_PERCEPTION, *_RANKING, *_ASSESS),
            _ebench_perception_single,
            "images",
        ),
        BenchSet(
            "ebench-pair",
            "Ebench_imgpir(en).json",
            "EEmo-Bench image pairs: perception",
            ("yes_no", "what_how"),
            _PERCEPTION,
            _ebench_perception_pair,
            "pairs",
        ),
        BenchSet(
            "ebench-open",
            "Ebench_open_ended(en).json",
            "EEmo-Bench open-ended questions on single images",
            ("description",),
            (*_OFFLINE, *_JUDGED),
            _ebench_open_single,
            "questions",
        ),
        BenchSet(
            "ebench-open-pair",
            "Ebench_open_ended(en_pair).json",
            "EEmo-Bench open-ended questions on image pairs",
            ("description",),
            ("offline_emotion_in_top3", *_JUDGED),
            _ebench_open_pair,
            "questions",
            needs_annotations=True,
        ),
        BenchSet(
            "artemis",
            "test_ArtEmis.json",
            "ArtEmis paintings: dominant emotion (Mikels 8), 5 annotators each",
            ("emotion",),
            ("accuracy", "macro_f1", "annotator_share", "annotator_hit"),
            _artemis,
            "paintings",
        ),
        BenchSet(
            "artphoto",
            "test_Artphoto.json",
            "ArtPhoto: dominant emotion (Mikels 8)",
            ("emotion",),
            ("accuracy", "macro_f1"),
            _artphoto,
            "images",
        ),
        BenchSet(
            "uniaa-sent",
            "test_UNIAA_Sent.json",
            "UNIAA sentiment questions (yes/no and what)",
            ("choice",),
            ("accuracy", "accuracy_yes_no", "accuracy_what_how"),
            _uniaa,
            "questions",
        ),
        BenchSet(
            "aesbench-aese",
            "test_AesBench_AesE.json",
            "AesBench aesthetic-emotion questions (answer key not in the release: --key)",
            ("choice",),
            ("accuracy",),
            _aese,
            "images",
        ),
    )
}


def get_set(name: str) -> BenchSet:
    try:
        return SETS[name]
    except KeyError:
        raise ValueError(f"unknown set {name!r}; use one of {', '.join(SETS)} or 'all'") from None


def resolve_sets(names: str | Sequence[str]) -> list[BenchSet]:
    """``"all"``, a comma-separated string or a list of names → the sets, in order."""
    if isinstance(names, str):
        names = [n.strip() for n in names.split(",") if n.strip()]
    if not names:
        raise ValueError(f"no set named; use one of {', '.join(SETS)} or 'all'")
    if "all" in names:
        return list(SETS.values())
    return [get_set(n) for n in dict.fromkeys(names)]


def data_folder(data: str | os.PathLike | None = None) -> Path:
    """The folder holding the released test files: ``data``, else ``$EEMO_BENCH_DATA``."""
    folder = data if data is not None else os.environ.get(DATA_ENV)
    if not folder:
        raise FileNotFoundError(
            f"no test data folder: pass --data DIR (or set {DATA_ENV}) pointing at the "
            f"released test files, {RELEASE}"
        )
    path = Path(folder)
    if not path.is_dir():
        raise FileNotFoundError(f"test data folder {path} does not exist; {RELEASE}")
    return path


def load_items(
    bench_set: BenchSet,
    data: str | os.PathLike | None = None,
    *,
    option_order: str = "sorted",
) -> list[Item]:
    """Every item of a set, in the file's order."""
    _check_order(option_order)
    path = data_folder(data) / bench_set.file
    if not path.exists():
        raise FileNotFoundError(f"{path} is missing: the {bench_set.name} file of {RELEASE}")
    records = json.loads(path.read_text(encoding="utf-8"))
    annotations = None
    if bench_set.needs_annotations:
        single = path.parent / SETS["ebench-single"].file
        if not single.exists():
            raise FileNotFoundError(
                f"{single} is missing: {bench_set.name} reads each image's annotations from "
                f"it ({RELEASE})"
            )
        rows = json.loads(single.read_text(encoding="utf-8"))
        annotations = {r["image_name"]: r for r in rows}
    return bench_set.read(records, option_order, annotations)
