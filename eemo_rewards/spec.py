"""Reward composition as data: which rewards, with which weights and parameters, on which tasks.

A :class:`RewardSpec` is a list of :class:`RewardTerm` (a registered reward name, a weight, its
constructor parameters and optionally the tasks it is routed to). It serialises to JSON (and
YAML when PyYAML is installed), validates itself with messages that say what to fix, and
turns into what a trainer needs:

- :meth:`RewardSpec.build` gives ``(reward_funcs, reward_weights)`` for TRL's
  ``GRPOTrainer(reward_funcs=..., args=GRPOConfig(reward_weights=...))``; TRL then logs each
  term under its own ``rewards/<name>/mean``;
- :meth:`RewardSpec.composite` gives one :class:`CompositeReward`, the weighted combination
  as a single reward, which parses each completion once and is what the verl, OpenRLHF,
  EasyR1 and ms-swift adapters call;
- :meth:`RewardSpec.grid` enumerates variants for an ablation, each with a stable short id.

Reward classes are found by name in a registry that imports their module only when a spec
first uses them, so ``import eemo_rewards.spec`` stays cheap.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib
import inspect
import itertools
import json
import math
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from eemo_rewards.rewards.base import RewardFunction
from eemo_rewards.rewards.composite import AGGREGATIONS, CompositeReward
from eemo_rewards.tasks import TASKS, normalise_task

__all__ = [
    "AGGREGATIONS",
    "PRESETS",
    "CompositeReward",
    "RewardSpec",
    "RewardTerm",
    "default_spec",
    "known_rewards",
    "preset",
    "register_reward",
    "registered_reward",
    "reward_class",
]

# name -> "module:Class" (imported on first use) or the class itself once resolved/registered
_REGISTRY: dict[str, str | type[RewardFunction]] = {
    "format": "eemo_rewards.rewards.format:FormatReward",
    "accuracy": "eemo_rewards.rewards.accuracy:AccuracyReward",
    "intensity": "eemo_rewards.rewards.intensity:IntensityReward",
    "ranking": "eemo_rewards.rewards.ranking:RankingReward",
    "thurstone": "eemo_rewards.rewards.thurstone:ThurstoneReward",
    "votes": "eemo_rewards.rewards.votes:VoteReward",
    "answer_watch": "eemo_rewards.rewards.watch:AnswerWatch",
    "consistency": "eemo_rewards.rewards.consistency:ConsistencyReward",
}


def register_reward(name: str, cls: type[RewardFunction] | str, *, overwrite: bool = False):
    """Make a reward class available to specs under ``name``.

    Parameters
    ----------
    name : str
        The name a :class:`RewardTerm` uses.
    cls : RewardFunction subclass or str
        The class, or its dotted path ``"package.module:ClassName"`` (imported on first use).
    overwrite : bool, default False
        Replace an existing registration instead of refusing to.

    A registration lasts for the process; :func:`registered_reward` scopes one to a block
    (tests, notebooks that re-run).

    Examples
    --------
    >>> from eemo_rewards.rewards.format import FormatReward
    >>> class StrictFormat(FormatReward):
    ...     default_name = "strict_format"
    >>> with registered_reward("strict_format", StrictFormat):
    ...     "strict_format" in known_rewards()
    True
    >>> "strict_format" in known_rewards()
    False
    """
    if not isinstance(name, str) or not name.strip():
        raise ValueError(f"reward name must be a non-empty string, got {name!r}")
    if name in _REGISTRY and not overwrite:
        raise ValueError(
            f"a reward named {name!r} is already registered; pass overwrite=True to replace it"
        )
    if isinstance(cls, str):
        if ":" not in cls:
            raise ValueError(f"dotted path {cls!r} must look like 'package.module:ClassName'")
    elif not (isinstance(cls, type) and issubclass(cls, RewardFunction)):
        raise TypeError(
            f"register_reward({name!r}, ...) needs a RewardFunction subclass or a "
            f"'module:Class' path, got {cls!r}"
        )
    _REGISTRY[name] = cls


@contextlib.contextmanager
def registered_reward(name: str, cls: type[RewardFunction] | str, *, overwrite: bool = False):
    """:func:`register_reward` for the duration of a ``with`` block: afterwards ``name`` is
    registered as it was before (or not at all), whatever happened inside."""
    had, before = name in _REGISTRY, _REGISTRY.get(name)
    register_reward(name, cls, overwrite=overwrite)
    try:
        yield reward_class(name)
    finally:
        if had:
            _REGISTRY[name] = before
        else:
            _REGISTRY.pop(name, None)


def known_rewards() -> list[str]:
    """The registered reward names, sorted.

    Examples
    --------
    >>> {"format", "accuracy", "intensity", "ranking", "thurstone"} <= set(known_rewards())
    True
    """
    return sorted(_REGISTRY)


def reward_class(name: str) -> type[RewardFunction]:
    """The reward class registered under ``name``, importing its module if needed.

    Examples
    --------
    >>> reward_class("format").__name__
    'FormatReward'
    """
    if name not in _REGISTRY:
        raise ValueError(f"unknown reward {name!r}; known rewards are {known_rewards()}")
    entry = _REGISTRY[name]
    if isinstance(entry, str):
        module_name, _, attr = entry.partition(":")
        try:
            module = importlib.import_module(module_name)
        except ImportError as exc:
            raise ImportError(
                f"reward {name!r} lives in {module_name}, which cannot be imported ({exc}); "
                "check that eemo_rewards is fully installed"
            ) from exc
        try:
            entry = getattr(module, attr)
        except AttributeError:
            raise ImportError(f"reward {name!r}: {module_name} defines no {attr!r}") from None
        _REGISTRY[name] = entry
    return entry


def _constructor_params(cls: type) -> tuple[list[inspect.Parameter], bool]:
    """Keyword parameters the constructors along ``cls``'s MRO accept, the subclass's first.

    A constructor that forwards ``**kwargs`` to its parent accepts the parent's names too;
    the walk stops at the first constructor without ``**kwargs``. Returns the parameters and
    whether some constructor accepts arbitrary keywords without forwarding them anywhere we
    can see (then unknown names cannot be rejected here).
    """
    params: list[inspect.Parameter] = []
    for klass in cls.__mro__:
        init = klass.__dict__.get("__init__")
        if init is None:
            continue
        if klass is object:
            break
        forwards = False
        for p in inspect.signature(init).parameters.values():
            if p.name == "self" or p.kind is p.VAR_POSITIONAL:
                continue
            if p.kind is p.VAR_KEYWORD:
                forwards = True
            elif all(p.name != q.name for q in params):
                params.append(p)
        if not forwards:
            return params, False
    return params, True


def _accepted_params(cls: type) -> tuple[list[str], bool]:
    """The names of :func:`_constructor_params` and whether the list is open-ended."""
    params, open_ended = _constructor_params(cls)
    return [p.name for p in params], open_ended


def _finite_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


@dataclass
class RewardTerm:
    """One reward in a spec.

    Parameters
    ----------
    name : str
        A registered reward name (see :func:`known_rewards`).
    weight : float, default 1.0
        Its weight; finite and non-negative (0 keeps it for logging only).
    params : dict
        Keyword arguments for the reward's constructor (``tasks`` goes in ``tasks`` below;
        ``name`` sets the logged metric name).
    tasks : list of str or None
        The tasks it is routed to; ``None`` keeps the reward's own default tasks.
    label : str or None
        The term's own name when a spec holds the same reward twice (``"accuracy_soft"``);
        defaults to ``name``.

    Three names, one meaning each: ``name`` says which reward to build (a registry name);
    ``key`` (``label`` or else ``name``) says which term of a spec a setting or grid axis
    means (``"accuracy.mode"``); the built reward's ``__name__`` is the metric TRL logs
    (``rewards/<__name__>/mean``), derived from the reward's own name and the label, and made
    distinct across a spec.
    """

    name: str
    weight: float = 1.0
    params: dict[str, Any] = field(default_factory=dict)
    tasks: list[str] | None = None
    label: str | None = None

    def __post_init__(self):
        if not isinstance(self.name, str) or self.name not in _REGISTRY:
            raise ValueError(f"unknown reward {self.name!r}; known rewards are {known_rewards()}")
        if not _finite_number(self.weight) or self.weight < 0:
            raise ValueError(
                f"term {self.name!r}: weight must be a finite number >= 0, got {self.weight!r}"
            )
        self.weight = float(self.weight)
        if not isinstance(self.params, Mapping):
            raise TypeError(f"term {self.name!r}: params must be a dict, got {self.params!r}")
        self.params = dict(self.params)
        if "tasks" in self.params:
            raise ValueError(
                f"term {self.name!r}: give tasks as RewardTerm(tasks=...), not inside params"
            )
        accepted, open_ended = _accepted_params(reward_class(self.name))
        unknown = sorted(k for k in self.params if k not in accepted)
        if unknown and not open_ended:
            shown = [a for a in accepted if a != "tasks"]
            raise ValueError(
                f"term {self.name!r}: unknown parameter(s) {unknown}; "
                f"{reward_class(self.name).__name__} accepts {shown}"
            )
        if self.tasks is not None:
            if isinstance(self.tasks, str):
                self.tasks = [self.tasks]
            canonical = [normalise_task(t) for t in self.tasks]
            bad = [t for t, c in zip(self.tasks, canonical, strict=True) if c not in TASKS]
            if bad:
                raise ValueError(
                    f"term {self.name!r}: unknown task(s) {bad}; use some of {list(TASKS)}"
                )
            self.tasks = list(dict.fromkeys(canonical))
        if self.label is not None and (not isinstance(self.label, str) or not self.label):
            raise ValueError(f"term {self.name!r}: label must be a non-empty string or None")

    @property
    def key(self) -> str:
        """The label, or the reward name when no label is set."""
        return self.label or self.name

    def build(self) -> RewardFunction:
        """Instantiate the reward (constructor errors are re-raised naming the term)."""
        cls = reward_class(self.name)
        try:
            return cls(tasks=self.tasks, **self.params)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"term {self.key!r}: {exc}") from exc

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "weight": self.weight}
        if self.params:
            out["params"] = dict(self.params)
        if self.tasks is not None:
            out["tasks"] = list(self.tasks)
        if self.label is not None:
            out["label"] = self.label
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RewardTerm:
        if isinstance(data, RewardTerm):
            return data
        if not isinstance(data, Mapping):
            raise TypeError(f"a reward term must be a dict or RewardTerm, got {data!r}")
        allowed = {"name", "weight", "params", "tasks", "label"}
        extra = sorted(set(data) - allowed)
        if extra:
            raise ValueError(f"reward term {dict(data)!r}: unknown key(s) {extra}; use {allowed}")
        if "name" not in data:
            raise ValueError(f"reward term {dict(data)!r} has no 'name'; known {known_rewards()}")
        return cls(**data)


@dataclass
class RewardSpec:
    """A weighted, task-routed combination of rewards.

    Parameters
    ----------
    terms : list of RewardTerm or dict
        The rewards; dicts are read with :meth:`RewardTerm.from_dict`.
    aggregation : {"sum", "mean"}, default "sum"
        How :meth:`composite` combines the terms that apply to a sample's task: ``"sum"`` is
        the weighted sum (what TRL computes from ``reward_weights``, where a non-applicable
        reward contributes nothing); ``"mean"`` divides it by the total weight of the
        applicable terms, so every task's reward has the same scale.
    name : str or None
        A label for reports; :meth:`grid` fills it with the varied settings.

    Examples
    --------
    >>> partial = {"name": "format", "params": {"partial": True}, "label": "format_partial"}
    >>> spec = RewardSpec([RewardTerm("format", 0.5), partial])
    >>> funcs, weights = spec.build()
    >>> [f.__name__ for f in funcs], weights
    (['format_reward', 'format_reward_partial'], [0.5, 1.0])
    >>> RewardSpec.from_json(spec.to_json()) == spec
    True
    """

    terms: list[RewardTerm]
    aggregation: str = "sum"
    name: str | None = None

    def __post_init__(self):
        if isinstance(self.terms, RewardTerm | Mapping) or not isinstance(self.terms, Iterable):
            raise TypeError("terms must be a list of RewardTerm or dicts")
        self.terms = [RewardTerm.from_dict(t) for t in self.terms]
        if not self.terms:
            raise ValueError(f"a reward spec needs at least one term; known {known_rewards()}")
        if self.aggregation not in AGGREGATIONS:
            raise ValueError(
                f"unknown aggregation {self.aggregation!r}; use one of {list(AGGREGATIONS)}"
            )
        settings = [json.dumps(t.to_dict(), sort_keys=True, default=str) for t in self.terms]
        repeated = sorted(
            {t.key for t, s in zip(self.terms, settings, strict=True) if settings.count(s) > 1}
        )
        if repeated:
            raise ValueError(
                f"term(s) {repeated} appear more than once with the same settings; merge them "
                "into one term with the summed weight"
            )

    # -- serialisation ---------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "terms": [t.to_dict() for t in self.terms],
            "aggregation": self.aggregation,
        }
        if self.name is not None:
            out["name"] = self.name
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RewardSpec:
        if not isinstance(data, Mapping):
            raise TypeError(f"a reward spec must be a dict, got {type(data).__name__}")
        extra = sorted(set(data) - {"terms", "aggregation", "name"})
        if extra:
            raise ValueError(f"reward spec: unknown key(s) {extra}; use terms/aggregation/name")
        if "terms" not in data:
            raise ValueError("reward spec has no 'terms' list")
        return cls(
            terms=list(data["terms"]),
            aggregation=data.get("aggregation", "sum"),
            name=data.get("name"),
        )

    def to_json(self, **kwargs: Any) -> str:
        return json.dumps(self.to_dict(), **kwargs)

    @classmethod
    def from_json(cls, text: str) -> RewardSpec:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValueError(f"reward spec is not valid JSON: {exc}") from exc
        return cls.from_dict(data)

    def to_yaml(self) -> str:
        """YAML text (needs PyYAML, imported only here)."""
        return _yaml().safe_dump(self.to_dict(), sort_keys=False)

    @classmethod
    def from_yaml(cls, text: str) -> RewardSpec:
        return cls.from_dict(_yaml().safe_load(text))

    def identity(self) -> dict[str, Any]:
        """The recipe's canonical form: what it rewards, whichever way it was spelled.

        Each term with its constructor's default parameters filled in and its tasks resolved
        (the reward's own default when ``None``), sorted; numbers as floats. The ``name``,
        term labels and a reward's ``name`` parameter (what is logged) and the terms' order
        (the rewards are summed) are left out. Two specs with one identity train alike.

        Examples
        --------
        >>> a = RewardSpec([RewardTerm("accuracy", 1), RewardTerm("format", 0.5)])
        >>> b = RewardSpec([RewardTerm("format", 0.5), RewardTerm("accuracy", 1.0,
        ...                                                    {"mode": "binary"})], name="x")
        >>> a.identity() == b.identity()
        True
        """
        terms = [_term_identity(t) for t in self.terms]
        terms.sort(key=lambda t: json.dumps(t, sort_keys=True, default=str))
        return {"terms": terms, "aggregation": self.aggregation}

    def short_id(self) -> str:
        """A stable 8-character id of the recipe (:meth:`identity`: the spelling, ``name``
        and labels are not part of it).

        Examples
        --------
        >>> default_spec().short_id() == RewardSpec.coerce(default_spec().to_json()).short_id()
        True
        """
        canonical = json.dumps(self.identity(), sort_keys=True, default=str)
        return hashlib.sha1(canonical.encode()).hexdigest()[:8]

    @classmethod
    def coerce(cls, spec: Any = None) -> RewardSpec:
        """A spec from any of its spellings; every reward name is resolved now.

        ``None`` (the default spec), a :class:`RewardSpec`, a preset name (``"soft"``), inline
        JSON text (``'{"terms": [...]}'``), the path of a ``.json``/``.yaml``/``.yml`` file, a
        dict (a Hydra/OmegaConf mapping too) or a list of reward names, terms or term dicts
        (names get weight 1). Anything else is a :class:`ValueError` or :class:`TypeError`
        that names the accepted forms. One recipe spelled any of these ways has one
        :meth:`identity`.

        Examples
        --------
        >>> RewardSpec.coerce("soft") == preset("soft")
        True
        >>> [t.name for t in RewardSpec.coerce(["format", "accuracy"]).terms]
        ['format', 'accuracy']
        >>> RewardSpec.coerce("sotf")
        Traceback (most recent call last):
        ...
        ValueError: unknown reward spec 'sotf': give a preset name (...), ...
        """
        if spec is None:
            resolved = default_spec()
        elif isinstance(spec, RewardSpec):
            resolved = spec
        elif isinstance(spec, Mapping):
            resolved = cls.from_dict(to_plain(spec))
        elif isinstance(spec, str | os.PathLike):
            resolved = _spec_from_text(os.fspath(spec))
        elif isinstance(spec, Iterable) and not isinstance(spec, bytes | bytearray):
            resolved = cls(
                [t if isinstance(t, RewardTerm | Mapping) else RewardTerm(t) for t in spec]
            )
        else:
            forms = _FORMS.format(presets=", ".join(sorted(PRESETS)))
            raise TypeError(f"cannot read a reward spec from {type(spec).__name__}; {forms}")
        resolved.build()  # resolves every reward name now, not at the first step
        return resolved

    # -- building --------------------------------------------------------------------------
    def build(self) -> tuple[list[RewardFunction], list[float]]:
        """``(reward_funcs, reward_weights)`` for TRL's GRPOTrainer, with distinct names."""
        funcs = [t.build() for t in self.terms]
        _make_names_distinct(self.terms, funcs)
        return funcs, [t.weight for t in self.terms]

    def composite(self, *, name: str = "eemo_reward", fallback: float = 0.0) -> CompositeReward:
        """One reward combining every term (see :class:`CompositeReward`)."""
        funcs, weights = self.build()
        return CompositeReward(
            funcs, weights, aggregation=self.aggregation, name=name, fallback=fallback
        )

    def check_tasks(self, tasks: Iterable[Any]) -> dict[str, list[str]]:
        """Check that every task in a dataset is scored by some term with a positive weight.

        Returns ``{task: [term names scoring it]}``; raises ``ValueError`` naming the tasks
        nothing would reward (GRPO would then learn nothing from those samples).

        Examples
        --------
        >>> RewardSpec([RewardTerm("format")]).check_tasks(["emotion", "yes_no"])
        {'emotion': ['format_reward'], 'yes_no': ['format_reward']}
        """
        funcs, weights = self.build()
        wanted = []
        for t in tasks:
            c = normalise_task(t)
            if c is None:
                continue
            if c not in TASKS:
                raise ValueError(f"unknown task {t!r} in the data; known tasks are {list(TASKS)}")
            if c not in wanted:
                wanted.append(c)
        routing = {
            task: [
                f.__name__
                for f, w in zip(funcs, weights, strict=True)
                if w > 0 and (f.tasks is None or task in f.tasks)
            ]
            for task in wanted
        }
        missing = [task for task, names in routing.items() if not names]
        if missing:
            raise ValueError(
                f"no reward term with a positive weight scores task(s) {missing}; add a term "
                f"for them (e.g. RewardTerm('format', tasks={missing})) or drop those samples"
            )
        return routing

    # -- ablations -------------------------------------------------------------------------
    def with_settings(self, settings: Mapping[str, Any]) -> RewardSpec:
        """A copy with settings changed, addressed as ``"<term>.weight"``,
        ``"<term>.<param>"``, ``"<term>.tasks"`` or ``"aggregation"`` (``<term>`` is a term's
        label or reward name)."""
        data = self.to_dict()
        by_key: dict[str, dict[str, Any]] = {}
        ambiguous = set()
        for t in data["terms"]:
            key = t.get("label") or t["name"]
            if key in by_key:
                ambiguous.add(key)
            by_key[key] = t
        for path, value in settings.items():
            if path == "aggregation":
                data["aggregation"] = value
                continue
            term_key, dot, attr = path.partition(".")
            if not dot or not attr:
                raise ValueError(
                    f"setting {path!r} must look like '<term>.<param>', '<term>.weight' or "
                    "'aggregation'"
                )
            if term_key not in by_key:
                raise ValueError(
                    f"setting {path!r}: no term {term_key!r}; terms are {list(by_key)}"
                )
            if term_key in ambiguous:
                raise ValueError(
                    f"setting {path!r}: several terms are called {term_key!r}; give them "
                    "distinct labels (RewardTerm(label=...)) to address one"
                )
            term = by_key[term_key]
            if attr in ("weight", "tasks"):
                term[attr] = value
            else:
                term.setdefault("params", {})[attr] = value
        return RewardSpec.from_dict(data)

    def grid(self, axes: Mapping[str, Sequence[Any]] | None = None, **kwaxes: Sequence[Any]):
        """Every combination of the given settings, as a list of named specs.

        Axes are addressed as in :meth:`with_settings`; as keyword arguments write ``__`` for
        the dot (``accuracy__mode=["binary", "soft"]``). Each variant's ``name`` lists its
        settings and :meth:`short_id` identifies it stably.

        Examples
        --------
        >>> variants = RewardSpec([RewardTerm("format")]).grid(
        ...     format__weight=[0.5, 1.0], format__partial=[False, True])
        >>> [v.name for v in variants][:2]
        ['format.weight=0.5,format.partial=False', 'format.weight=0.5,format.partial=True']
        >>> len({v.short_id() for v in variants})
        4
        """
        all_axes: dict[str, Sequence[Any]] = dict(axes or {})
        for k, v in kwaxes.items():
            all_axes[k.replace("__", ".")] = v
        for k, v in all_axes.items():
            if isinstance(v, str | bytes) or not isinstance(v, Sequence) or len(v) == 0:
                raise ValueError(f"grid axis {k!r} needs a non-empty list of values, got {v!r}")
        names = list(all_axes)
        variants = []
        for combo in itertools.product(*(all_axes[n] for n in names)):
            settings = dict(zip(names, combo, strict=True))
            spec = self.with_settings(settings)
            spec.name = ",".join(f"{k}={_short(v)}" for k, v in settings.items())
            variants.append(spec)
        return variants


def _short(value: Any) -> str:
    if isinstance(value, list | tuple):
        return "+".join(_short(v) for v in value)
    return str(value)


def _yaml():
    try:
        import yaml
    except ImportError:
        raise ImportError(
            "YAML needs PyYAML; install it, or use to_json()/from_json() instead"
        ) from None
    return yaml


def _make_names_distinct(terms: list[RewardTerm], funcs: list[RewardFunction]) -> None:
    """Give every built reward its own ``__name__`` (TRL logs one metric per name)."""
    for term, func in zip(terms, funcs, strict=True):
        if "name" in term.params:
            continue
        if term.label is not None and term.label != term.name:
            base = func.__name__
            suffix = term.label[len(term.name) :] if term.label.startswith(term.name) else ""
            func.__name__ = base + suffix if suffix else term.label
    counts: dict[str, int] = {}
    for f in funcs:
        counts[f.__name__] = counts.get(f.__name__, 0) + 1
    for term, func in zip(terms, funcs, strict=True):
        if counts[func.__name__] > 1 and "name" not in term.params:
            detail = "_".join(f"{k}_{_short(v)}" for k, v in sorted(term.params.items()))
            if term.tasks is not None:
                detail = "_".join(filter(None, [detail, "+".join(term.tasks)]))
            if len(detail) > 48:  # e.g. a similarity matrix in params: name it by a digest
                detail = hashlib.sha1(detail.encode()).hexdigest()[:8]
            if detail:
                func.__name__ = f"{func.__name__}_{detail}"
    seen: dict[str, int] = {}
    for func in funcs:
        n = seen.get(func.__name__, 0)
        seen[func.__name__] = n + 1
        if n:
            func.__name__ = f"{func.__name__}_{n + 1}"
    names = [f.__name__ for f in funcs]
    if len(set(names)) != len(names):
        raise ValueError(f"reward names are not distinct: {names}; give the terms labels")


_FORMS = (
    "give a preset name ({presets}), inline spec JSON ('{{\"terms\": [...]}}'), the path of a "
    ".json/.yaml spec file, a spec dict or a list of reward names"
)


def _spec_from_text(text: str) -> RewardSpec:
    """A spec from a preset name, inline JSON or a spec file's path."""
    text = text.strip()
    forms = _FORMS.format(presets=", ".join(sorted(PRESETS)))
    if text in PRESETS:
        return preset(text)
    if text.startswith("{"):
        return RewardSpec.from_json(text)
    if text.lower().endswith((".json", ".yaml", ".yml")):
        if not os.path.isfile(text):
            raise FileNotFoundError(f"reward spec file {text!r} not found; give its full path")
        with open(text, encoding="utf-8") as handle:
            content = handle.read()
        if text.lower().endswith(".json"):
            return RewardSpec.from_json(content)
        return RewardSpec.from_yaml(content)
    raise ValueError(f"unknown reward spec {text!r}: {forms}")


def to_plain(value: Any) -> Any:
    """A deep copy made of dicts, lists and scalars (Hydra/OmegaConf containers included)."""
    if isinstance(value, Mapping):
        return {str(k): to_plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple) or (
        isinstance(value, Iterable) and not isinstance(value, str | bytes | bytearray | Mapping)
    ):
        return [to_plain(v) for v in value]
    return value


def _number(value: Any) -> Any:
    """Numbers as floats (``2`` and ``2.0`` are one setting), containers element-wise."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, Mapping):
        return {str(k): _number(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        items = [_number(v) for v in value]
        return sorted(items, key=str) if isinstance(value, set | frozenset) else items
    return value


def _param_defaults(cls: type) -> dict[str, Any]:
    """The constructor defaults along ``cls``'s MRO (:func:`_constructor_params`)."""
    return {p.name: p.default for p in _constructor_params(cls)[0] if p.default is not p.empty}


def _term_identity(term: RewardTerm) -> dict[str, Any]:
    cls = reward_class(term.name)
    params = {**_param_defaults(cls), **term.params}
    for cosmetic in ("name", "tasks"):
        params.pop(cosmetic, None)
    tasks = term.tasks if term.tasks is not None else getattr(cls, "default_tasks", None)
    return {
        "name": term.name,
        "weight": float(term.weight),
        "params": _number(params),
        "tasks": sorted(tasks) if tasks is not None else None,
    }


# -- presets ------------------------------------------------------------------------------
def default_spec() -> RewardSpec:
    """Format everywhere plus the task reward for each task kind.

    format (weight 0.5, every task) + accuracy (yes/no, multiple choice, emotion) +
    intensity (assessment) + ranking (ranking, comparison), each task reward with weight 1
    and routed by its own default tasks; description is scored by format alone. Format's
    half weight keeps it from dominating the task signal while still separating well-formed
    from malformed rollouts in a group.

    Examples
    --------
    >>> [t.name for t in default_spec().terms]
    ['format', 'accuracy', 'intensity', 'ranking']
    """
    return RewardSpec(
        [
            RewardTerm("format", 0.5),
            RewardTerm("accuracy", 1.0),
            RewardTerm("intensity", 1.0),
            RewardTerm("ranking", 1.0),
        ],
        name="default",
    )


def _eemo_logic_spec() -> RewardSpec:
    # EEmo-Logic's GRPO stage (arXiv 2602.01173): a binary format reward plus the soft
    # dominant-emotion reward R = (a*S + (1-a)*E^k)^p with a=0.6, k=2, p=3, equal weights;
    # here both read our one <think>/<answer> scheme.
    return RewardSpec(
        [
            RewardTerm("format", 1.0),
            RewardTerm("accuracy", 1.0, {"mode": "soft", "alpha": 0.6, "k": 2, "p": 3}),
        ],
        name="eemo_logic",
    )


def _binary_spec() -> RewardSpec:
    # the default with accuracy's binary mode spelled out, so that an ablation comparing it
    # with "soft" stays binary even if accuracy's default changes
    return RewardSpec(
        [
            RewardTerm("format", 0.5),
            RewardTerm("accuracy", 1.0, {"mode": "binary"}),
            RewardTerm("intensity", 1.0),
            RewardTerm("ranking", 1.0),
        ],
        name="binary",
    )


def _soft_spec() -> RewardSpec:
    # the default routing with EEmo-Logic's partial credit for near-miss emotions and a
    # Gaussian intensity kernel, which rewards near-exact scores more sharply than linear
    return RewardSpec(
        [
            RewardTerm("format", 0.5),
            RewardTerm("accuracy", 1.0, {"mode": "soft"}),
            RewardTerm("intensity", 1.0, {"kernel": "gaussian"}),
            RewardTerm("ranking", 1.0),
        ],
        name="soft",
    )


def _format_only_spec() -> RewardSpec:
    return RewardSpec([RewardTerm("format", 1.0)], name="format_only")


PRESETS = {
    "default": default_spec,
    "eemo_logic": _eemo_logic_spec,
    "binary": _binary_spec,
    "soft": _soft_spec,
    "format_only": _format_only_spec,
}


def preset(name: str) -> RewardSpec:
    """A named spec.

    ``"default"``
        :func:`default_spec`.
    ``"eemo_logic"``
        EEmo-Logic's GRPO rewards on our answer scheme: binary format (weight 1) plus soft
        accuracy (weight 1; α=0.6, k=2, p=3); ranking, assessment and comparison samples get
        format only.
    ``"binary"``
        The default with accuracy's binary mode spelled out.
    ``"soft"``
        The default routing with soft accuracy and a Gaussian intensity kernel.
    ``"format_only"``
        Format alone (weight 1), e.g. to teach the answer scheme before task rewards.

    Examples
    --------
    >>> preset("format_only").to_dict()
    {'terms': [{'name': 'format', 'weight': 1.0}], 'aggregation': 'sum', 'name': 'format_only'}
    """
    if name not in PRESETS:
        raise ValueError(f"unknown preset {name!r}; presets are {sorted(PRESETS)}")
    return PRESETS[name]()
