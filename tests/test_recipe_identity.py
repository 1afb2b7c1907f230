"""A recipe's identity is its content: every spelling of one reward spec (a preset name, a
file, its JSON text, a dict, a list of names, the spec) coerces to one RewardSpec, and a
job's id hashes that spec's canonical form, so the notebook and the command line reuse each
other's runs; folders named by the older ids keep working."""

from __future__ import annotations

import json
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from eemo_rewards.spec import PRESETS, RewardSpec, RewardTerm, preset
from eemo_rewards.train.settings import JobSettings

# terms a recipe may hold: (name, params that differ from the default, params at default)
_TERMS = [
    ("format", {}, {"partial": False}),
    ("accuracy", {"mode": "soft"}, {"mode": "binary"}),
    ("intensity", {"kernel": "gaussian"}, {"kernel": "linear"}),
    ("ranking", {"method": "ndcg"}, {}),
    ("thurstone", {"variant": "fidelity"}, {}),
]


@st.composite
def recipes(draw):
    chosen = draw(st.lists(st.sampled_from(range(len(_TERMS))), min_size=1, max_size=4,
                           unique=True))  # fmt: skip
    terms = []
    for i in chosen:
        name, changed, _ = _TERMS[i]
        params = changed if draw(st.booleans()) else {}
        weight = draw(st.sampled_from([0.5, 1.0, 2.0]))
        terms.append({"name": name, "weight": weight, "params": dict(params)})
    return terms


def _spellings(terms: list[dict], tmp_path, rng: random.Random) -> list:
    spec = RewardSpec(terms, name=rng.choice([None, "mine", "default"]))
    explicit = []  # every default parameter written out, weights as ints where whole
    for t in terms:
        defaults = next(d for n, _, d in _TERMS if n == t["name"])
        weight = int(t["weight"]) if float(t["weight"]).is_integer() else t["weight"]
        explicit.append({"name": t["name"], "weight": weight,
                         "params": {**defaults, **t["params"]}})  # fmt: skip
    shuffled = list(reversed(terms))
    path = tmp_path / f"spec{rng.random():.6f}.json"
    path.write_text(spec.to_json())
    out = [spec, spec.to_json(), spec.to_dict(), str(path), path, {"terms": explicit},
           json.dumps({"terms": shuffled}), [RewardTerm(**t) for t in terms]]  # fmt: skip
    if all(t["weight"] == 1.0 and not t["params"] for t in terms):
        out.append([t["name"] for t in terms])  # a list of names: weight 1, defaults
    return out


@settings(max_examples=40, deadline=None)
@given(terms=recipes(), seed=st.integers(0, 10_000))
def test_every_spelling_of_a_recipe_gives_one_identity_and_one_job_id(
    terms, seed, tmp_path_factory
):
    tmp_path = tmp_path_factory.mktemp("spell")
    spellings = _spellings(terms, tmp_path, random.Random(seed))
    identities = {json.dumps(RewardSpec.coerce(s).identity(), sort_keys=True) for s in spellings}
    assert len(identities) == 1, spellings
    ids = {JobSettings(spec=s).short_id() for s in spellings}
    assert len(ids) == 1
    # another recipe (one weight changed) is another job
    other = [dict(t) for t in terms]
    other[0]["weight"] = other[0]["weight"] + 0.25
    assert JobSettings(spec=other and {"terms": other}).short_id() not in ids


def test_the_default_recipe_has_one_id_however_the_notebook_or_cli_spells_it():
    spec = preset("default")
    spellings = ["default", None, spec, spec.to_json(), spec.to_dict(), spec.to_json(indent=2),
                 RewardSpec(spec.terms).to_json()]  # fmt: skip
    assert len({JobSettings(spec=s).short_id() for s in spellings}) == 1
    assert len({JobSettings.from_args(["--spec", spec.to_json()]).short_id(),
                JobSettings.from_args([]).short_id()}) == 1  # fmt: skip
    for name in PRESETS:
        assert JobSettings(spec=name).spec == preset(name)
    assert isinstance(JobSettings().spec, RewardSpec)


def test_coerce_refuses_what_is_no_spec_saying_what_to_give(tmp_path):
    for bad, error, words in [
        ("sotf", ValueError, "preset name"),
        ("{terms: [", ValueError, "not valid JSON"),
        (str(tmp_path / "missing.yaml"), FileNotFoundError, "not found"),
        (3, TypeError, "list of reward names"),
        (["format", "acuracy"], ValueError, "acuracy"),
    ]:
        with pytest.raises(error, match=words):
            RewardSpec.coerce(bad)
    with pytest.raises(ValueError, match="preset name"):
        JobSettings(spec="sotf")


def _legacy_id(settings: JobSettings, spelled) -> str:
    """The job id as it was computed before specs were hashed by content: the spec's
    spelling as given, in the settings' dict."""
    import dataclasses
    import hashlib

    from eemo_rewards.train.settings import NOT_IN_JOB_ID

    data = settings.to_dict()
    data["spec"] = spelled
    keys = [f.name for f in dataclasses.fields(settings)
            if f.name not in ("name", "runs_dir", *NOT_IN_JOB_ID)]  # fmt: skip
    text = json.dumps({k: data[k] for k in keys}, sort_keys=True, default=str)
    return hashlib.sha1(text.encode()).hexdigest()[:8]


@pytest.mark.parametrize("spelled", ["default", preset("soft").to_json()])
def test_a_run_folder_named_by_an_older_id_is_found_and_kept(tmp_path, spelled):
    settings = JobSettings(runs_dir=str(tmp_path), spec=spelled)
    old = tmp_path / f"tiny-{_legacy_id(settings, spelled)}"
    old.mkdir()
    saved = {**settings.to_dict(), "spec": spelled}  # as the older version wrote it
    (old / "settings.json").write_text(json.dumps(saved))
    assert settings.run_dir == old
    # any other spelling of the recipe finds it too; another recipe does not
    assert JobSettings(runs_dir=str(tmp_path), spec=settings.spec.to_dict()).run_dir == old
    # (the "binary" preset is the default recipe spelled out: the same job)
    assert JobSettings(runs_dir=str(tmp_path), spec="binary").short_id() == (
        JobSettings(spec="default").short_id()
    )
    other = JobSettings(runs_dir=str(tmp_path), spec="eemo_logic")
    assert other.run_dir != old and other.run_dir.name == f"tiny-{other.short_id()}"
    # the main job accepts the old folder as the same job
    from eemo_rewards.train.pipeline import _check_same_job

    _check_same_job(old, settings)
    with pytest.raises(ValueError, match="other settings"):
        _check_same_job(old, JobSettings(runs_dir=str(tmp_path), spec=spelled, seed=7))
