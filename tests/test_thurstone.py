"""The batch Thurstone reward: the published formula pays exaggeration; the default does not."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from eemo_rewards.rewards.thurstone import ThurstoneReward, thurstone_reward

DONE = "<think>t</think><answer>{}</answer>"


def _batch(values, truths, images):
    return {
        "completions": [DONE.format(v) for v in values],
        "solution": [str(t) for t in truths],
        "image_id": images,
        "task": ["assessment"] * len(values),
    }


def test_the_published_formula_pays_exaggeration():
    """The measurement behind the default: truths 0.6 and 0.4, and the rollout answering 1.0
    beats the exact 0.6 under VisualQuality-R1's formula."""
    published = ThurstoneReward(variant="visualquality-r1")
    out = published(**_batch(["0.6", "1.0", "0.4", "0.4"], [0.6, 0.6, 0.4, 0.4], list("aabb")))
    assert out[0] == pytest.approx(0.9173, abs=1e-4)
    assert out[1] == pytest.approx(0.9994, abs=1e-4)
    assert out[1] > out[0]


def test_the_default_pays_the_exact_value_more():
    out = thurstone_reward(
        **_batch(["0.6", "1.0", "0.4", "0.4"], [0.6, 0.6, 0.4, 0.4], list("aabb"))
    )
    assert out[0] > out[1]
    assert out[0] == pytest.approx(1.0)


_values = st.floats(0.0, 1.0).map(lambda x: round(x, 2))


@settings(max_examples=200, deadline=None)
@given(
    truths=st.lists(_values, min_size=2, max_size=3, unique=True),
    others=st.lists(_values, min_size=3, max_size=6),
    q1=_values,
    q2=_values,
)
def test_the_default_never_pays_more_for_a_less_accurate_value(truths, others, q1, q2):
    """Property: with every other rollout fixed, a rollout of image 0 scores no more when its
    value is farther from its truth."""
    images = [f"img{i % len(truths)}" for i in range(len(others))]
    truth_of = {f"img{i}": t for i, t in enumerate(truths)}
    base_values = [str(v) for v in others]
    base_truths = [truth_of[i] for i in images]

    def score(q):
        batch = _batch([str(q), *base_values], [truths[0], *base_truths], ["img0", *images])
        return thurstone_reward(**batch)[0]

    near, far = sorted((q1, q2), key=lambda q: abs(q - truths[0]))
    if abs(near - truths[0]) < abs(far - truths[0]):
        assert score(near) >= score(far) - 1e-12


def test_unknown_variant_is_refused():
    with pytest.raises(ValueError, match="visualquality-r1"):
        ThurstoneReward(variant="vq")


def test_the_offline_analysis_shows_the_difference():
    """On the analysis pool, the published formula pays an answer overshooting its truth by
    0.3 about as much as the exact one; the default pays it far less."""
    pl = pytest.importorskip("polars")
    from eemo_rewards.analysis.compare import kind_means, score_pool
    from eemo_rewards.analysis.designs import DESIGNS
    from eemo_rewards.analysis.pool import builtin_questions, perturbation_pool

    designs = {d.name: d.build() for d in DESIGNS if d.name.startswith("thurstone")}
    pool = perturbation_pool(builtin_questions(n_images=20))
    scored = score_pool(pool.filter(pl.col("task") == "assessment"), designs)
    means = kind_means(scored, by_variant=True)
    mean_column = next(c for c in means.columns if "mean" in c)

    def mean(design, variant):
        row = means.filter((pl.col("design") == design) & (pl.col("variant") == variant))
        return row[mean_column][0]

    published = "thurstone_visualquality_r1"
    assert mean(published, "exaggerated_0.3") > mean(published, "exact") - 0.05
    assert mean("thurstone", "exaggerated_0.3") < mean("thurstone", "exact") - 0.2
