"""The main job's settings: :class:`JobSettings`, one field per notebook widget and
command-line flag, with the metadata (label, help, range, choices, group) that builds both,
and the keys that name a job's folders (which settings SFT depends on, which a job id leaves
out, which an evaluation depends on)."""

from __future__ import annotations

import argparse
import dataclasses
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eemo_rewards.flags import flags_to_argv
from eemo_rewards.spec import RewardSpec

__all__ = [
    "DEFAULT_TASKS",
    "EVAL_KEYS",
    "NOT_IN_JOB_ID",
    "REPORT_TO",
    "SFT_KEYS",
    "JobSettings",
]

# Tasks of the default job. Description is left out: its reference is a long free text that
# the tiny model would spend most of its completion budget on, and only format scores it.
DEFAULT_TASKS = ("yes_no", "multiple_choice", "emotion", "ranking", "assessment", "comparison")


# what the SFT stage depends on: its folder is keyed by these alone
SFT_KEYS = (
    "model",
    "n_images",
    "image_size",
    "data_seed",
    "tasks",
    "think",
    "sft_rows",
    "sft_steps",
    "sft_batch_size",
    "sft_learning_rate",
    "lora",
    "seed",
)
# settings that do not change what GRPO has trained up to a step: left out of the job id
NOT_IN_JOB_ID = (
    "grpo_steps", "save_steps", "eval_rows", "eval_sampled", "eval_batch_size", "report_to",
)  # fmt: skip
#: where ``report_to`` may send the trainers' logs (TRL/transformers integrations)
REPORT_TO = ("none", "tensorboard", "wandb", "trackio")
# what an evaluation depends on besides the models: a stored evaluation is reused only when
# these and the models' steps are unchanged
EVAL_KEYS = ("eval_rows", "eval_sampled", "eval_batch_size")


def _lower(value: Any) -> str:
    # marimo's cli_args() turns "false" into False; argparse gets the text back lower-cased
    return str(value).lower()


def _setting(
    default: Any,
    label: str,
    help: str = "",
    range: tuple[float, float, float] | None = None,
    group: str | None = None,
    *,
    choices: tuple[str, ...] | None = None,
) -> Any:
    meta: dict[str, Any] = {"label": label, "help": help, "group": group}
    if range is not None:
        meta["range"] = range
    if choices is not None:
        meta["choices"] = choices
    return dataclasses.field(default=default, metadata=meta)


@dataclass
class JobSettings:
    """Everything the main job needs; every field is a notebook widget / CLI flag.

    The defaults finish SFT → GRPO → evaluation on a 2-core CPU in a few minutes.
    """

    name: str = _setting(
        "auto", "run name", "'auto': <model>-<job id> from the settings", group="run"
    )
    runs_dir: str = _setting("runs", "runs folder", "where run folders go")
    model: str = _setting(
        "tiny", "model", "tiny (offline, random-initialised), smollm2, a hub id or a folder",
        group="data",
    )  # fmt: skip
    sft_from: str = _setting("", "start GRPO from", "an SFT model folder (skips the SFT stage)")
    # data
    n_images: int = _setting(
        1200, "images", "built-in images generated", (7, 1_000_000, 100), "data"
    )
    image_size: int = _setting(84, "image size", "pixels per side", (28, 2048, 14))
    data_seed: int = _setting(0, "data seed", "seed of the generated data")
    tasks: tuple[str, ...] = _setting(DEFAULT_TASKS, "tasks", "comma-separated task names")
    think: str = _setting("cues", "think text", "what the demonstrations' <think> holds")
    sft_rows: int = _setting(
        512, "SFT demonstrations", "rows SFT trains on", (1, 10_000_000, 16), "data"
    )
    grpo_rows: int = _setting(
        2048, "GRPO prompts", "rows GRPO samples prompts from", (1, 10_000_000, 16)
    )
    eval_rows: int = _setting(
        100, "held-out rows per task", "test rows per task (per V/A/D dimension for "
        "assessment) evaluated before and after GRPO; the test split caps it",
        (1, 1_000_000, 16), "data",
    )  # fmt: skip
    # SFT
    sft_steps: int = _setting(
        600, "SFT steps", "optimiser steps of SFT", (0, 1_000_000, 10), "training"
    )
    sft_batch_size: int = _setting(
        16, "SFT batch size", "demonstrations per SFT step", (1, 4096, 1)
    )
    sft_learning_rate: float = _setting(3e-4, "SFT learning rate", "", (0.0, 1.0, 1e-6))
    # GRPO
    grpo_steps: int = _setting(
        100, "GRPO steps", "more steps continue a finished run", (1, 1_000_000, 5), "training"
    )
    num_generations: int = _setting(
        8, "generations per prompt", "the group GRPO compares", (2, 1024, 1), "training"
    )
    prompts_per_step: int = _setting(4, "prompts per step", "", (1, 4096, 1), "training")
    grpo_learning_rate: float = _setting(
        1e-5, "GRPO learning rate", "1e-5 holds every held-out metric across 3 seeds and "
        "improves more of them than 5e-5 (data/study/recipe/)", (0.0, 1.0, 1e-6), "training",
    )  # fmt: skip
    beta: float = _setting(
        0.0, "beta (KL)", "KL penalty to the SFT model; 0 keeps no reference model",
        (0.0, 100.0, 0.01), "training",
    )  # fmt: skip
    loss_type: str = _setting(
        "dapo", "loss type", "TRL's loss aggregation", group="training",
        choices=("dapo", "grpo", "dr_grpo", "bnpo"),
    )  # fmt: skip
    scale_rewards: str = _setting(
        "group", "scale rewards", "how advantages are normalised", group="training",
        choices=("group", "batch", "none"),
    )  # fmt: skip
    multi_objective_aggregation: str = _setting(
        "sum_then_normalize", "multi-objective aggregation", "how several rewards combine",
        group="training", choices=("sum_then_normalize", "normalize_then_sum"),
    )  # fmt: skip
    temperature: float = _setting(1.0, "temperature", "sampling temperature", (0.0, 10.0, 0.05))
    max_completion_length: int = _setting(
        40, "max completion tokens", "", (1, 65536, 8), "training"
    )
    spec: Any = _setting(  # noqa: RUF009
        "default", "reward spec", "a preset name, spec JSON or a spec file; held as a "
        "RewardSpec, and the job id hashes what it rewards, not how it is spelled",
    )  # fmt: skip
    lora: bool | None = _setting(None, "LoRA", "auto: full for tiny, LoRA otherwise")
    use_vllm: bool = _setting(False, "vLLM", "generate with vLLM (CUDA only)")
    seed: int = _setting(0, "seed", "training seed", (0, 2**31 - 1, 1), "training")
    save_steps: int = _setting(
        20, "checkpoint every", "GRPO steps between checkpoints", (1, 1_000_000, 1)
    )
    # evaluation
    report_to: str = _setting(
        "none", "log to", "also log the trainers' metrics to TensorBoard (under each stage "
        "folder's runs/), wandb or trackio; none keeps everything offline in the run folder",
        group="training", choices=REPORT_TO,
    )  # fmt: skip
    eval_sampled: bool = _setting(True, "sampled evaluation", "also evaluate sampled decoding")
    eval_batch_size: int = _setting(
        64, "evaluation batch", "prompts per generate call", (1, 4096, 1)
    )

    def __post_init__(self) -> None:
        # one recipe, one identity: every spelling becomes the RewardSpec it names
        self.spec = RewardSpec.coerce(self.spec)

    @classmethod
    def form_fields(cls, group: str | None = None) -> dict[str, dict[str, Any]]:
        """The settings a form shows, with what a widget needs: ``label``, ``help``,
        ``range`` (start, stop, step) or ``choices``, ``type`` and ``group`` (``data``,
        ``training``; ``None`` for the command line only). A notebook builds its widgets from
        this, so the editor and the command line cannot drift apart.

        Examples
        --------
        >>> JobSettings.form_fields("training")["grpo_steps"]["range"]
        (1, 1000000, 5)
        """
        out = {}
        for f in dataclasses.fields(cls):
            meta = dict(f.metadata)
            if meta and (group is None or meta.get("group") == group):
                out[f.name] = {**meta, "type": type(f.default).__name__, "default": f.default}
        return out

    @classmethod
    def from_form(cls, base: JobSettings, values: Mapping[str, Any]) -> JobSettings:
        """``base`` with the values a form holds, each cast to its field's type."""
        data = base.to_dict()
        for name, value in values.items():
            kind = type(getattr(cls(), name))
            data[name] = kind(value) if kind in (int, float) else value
        return cls.from_dict(data)

    def to_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["tasks"] = list(self.tasks)
        spec = self.spec
        if hasattr(spec, "to_dict"):
            data["spec"] = spec.to_dict()
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> JobSettings:
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - names)
        if unknown:
            raise ValueError(f"unknown job setting(s) {unknown}; known: {sorted(names)}")
        values = dict(data)
        if "tasks" in values:
            values["tasks"] = tuple(values["tasks"])
        return cls(**values)

    @classmethod
    def argument_parser(cls) -> argparse.ArgumentParser:
        """An ``argparse`` parser with one ``--flag`` per setting (``--grpo-steps 40``)."""
        parser = argparse.ArgumentParser(
            description="SFT -> GRPO -> evaluation on the built-in dataset", allow_abbrev=False
        )
        defaults = cls()
        for f in dataclasses.fields(cls):
            flag = "--" + f.name.replace("_", "-")
            value = getattr(defaults, f.name)
            meta = f.metadata
            text = "; ".join(x for x in (meta.get("label"), meta.get("help")) if x)
            if f.name == "tasks":
                parser.add_argument(flag, default=",".join(value), help=text)
            elif f.name in ("lora",):
                parser.add_argument(
                    flag, type=_lower, choices=["auto", "true", "false"], default="auto", help=text
                )
            elif isinstance(value, bool):
                parser.add_argument(
                    flag,
                    type=_lower,
                    choices=["true", "false"],
                    default=str(value).lower(),
                    help=text,
                )
            elif isinstance(value, int | float):
                parser.add_argument(flag, type=type(value), default=value, help=text)
            else:
                parser.add_argument(flag, default=value, choices=meta.get("choices"), help=text)
        return parser

    @classmethod
    def from_args(cls, args: Sequence[str] | Mapping[str, Any] | None = None) -> JobSettings:
        """Settings from command-line arguments: a list (``["--grpo-steps", "40"]``) or the
        dict ``marimo.cli_args()`` returns. Unknown flags stop with the list of valid ones.

        Examples
        --------
        >>> JobSettings.from_args({"grpo-steps": 5, "tasks": "emotion,yes_no"}).grpo_steps
        5
        >>> JobSettings.from_args(["--lora", "true"]).lora
        True
        """
        if isinstance(args, Mapping) or hasattr(args, "items"):
            args = flags_to_argv(args)
        parser = cls.argument_parser()
        parsed, unknown = parser.parse_known_args(list(args or []))
        if unknown:
            flags = sorted(a.option_strings[0] for a in parser._actions if a.option_strings)
            raise SystemExit(f"unknown argument(s) {unknown}; valid flags: {flags}")
        values = vars(parsed)
        values["tasks"] = tuple(t.strip() for t in values["tasks"].split(",") if t.strip())
        values["lora"] = {"auto": None, "true": True, "false": False}[values["lora"]]
        for key in ("use_vllm", "eval_sampled"):
            values[key] = values[key] == "true"
        return cls(**values)

    def _id(self, keys: Sequence[str]) -> str:
        import hashlib

        data = self.to_dict()
        data["spec"] = self.spec.identity()  # what it rewards, not how it was spelled
        text = json.dumps({k: data[k] for k in keys}, sort_keys=True, default=str)
        return hashlib.sha1(text.encode()).hexdigest()[:8]

    def identity(self) -> dict[str, Any]:
        """What names the job (:meth:`short_id` hashes it): every setting except ``name``,
        ``runs_dir`` and those in :data:`NOT_IN_JOB_ID`, the spec in its canonical form
        (:meth:`~eemo_rewards.spec.RewardSpec.identity`), as JSON values."""
        data = self.to_dict()
        data["spec"] = self.spec.identity()
        keys = [f.name for f in dataclasses.fields(self)]
        kept = {k: data[k] for k in keys if k not in ("name", "runs_dir", *NOT_IN_JOB_ID)}
        return json.loads(json.dumps(kept, default=str))

    def short_id(self) -> str:
        """A stable id of the job: every setting except ``name``, ``runs_dir`` and those in
        :data:`NOT_IN_JOB_ID` (GRPO steps, checkpoint frequency, evaluation settings), the
        reward spec by its canonical form, so that any spelling of one recipe (a preset name,
        its JSON text, its dict, the spec itself) gives one id.

        Examples
        --------
        >>> JobSettings(spec="default").short_id() == JobSettings(
        ...     spec=RewardSpec.coerce("default").to_json()).short_id()
        True
        """
        names = [f.name for f in dataclasses.fields(self)]
        return self._id([n for n in names if n not in ("name", "runs_dir", *NOT_IN_JOB_ID)])

    def sft_id(self) -> str:
        """A stable id of the settings the SFT stage depends on (:data:`SFT_KEYS`)."""
        return self._id(SFT_KEYS)

    @property
    def run_dir(self) -> Path:
        """``<runs_dir>/<name>``; the name ``"auto"`` becomes ``<model>-<short_id>``, so a
        change of settings starts a new run and the same settings reuse the old one. A run
        folder named by an older id of these same settings (before the spec was hashed by
        its content) is found and kept."""
        name = self.name
        if name != "auto":
            return Path(self.runs_dir) / name
        prefix = Path(str(self.model)).name
        path = Path(self.runs_dir) / f"{prefix}-{self.short_id()}"
        if path.exists():
            return path
        return self._legacy_run_dir(prefix) or path

    def _legacy_run_dir(self, prefix: str) -> Path | None:
        """An ``auto`` run folder under an older id whose saved settings are these."""
        mine = self.identity()
        for saved in sorted(Path(self.runs_dir).glob(f"{prefix}-*/settings.json")):
            try:
                theirs = JobSettings.from_dict(json.loads(saved.read_text()))
            except (ValueError, TypeError, KeyError, OSError):
                continue  # another version's folder, or not a job folder
            if theirs.name == "auto" and theirs.identity() == mine:
                return saved.parent
        return None

    @property
    def sft_dir(self) -> Path:
        """The SFT run folder: ``settings.sft_from`` when set, else
        ``<runs_dir>/sft-<model>-<sft_id>``, shared by every job with these SFT settings."""
        if self.sft_from:
            return Path(self.sft_from)
        return Path(self.runs_dir) / f"sft-{Path(str(self.model)).name}-{self.sft_id()}"

    @property
    def sft_final(self) -> Path:
        """The SFT model GRPO starts from."""
        return Path(self.sft_from) if self.sft_from else self.sft_dir / "final"
