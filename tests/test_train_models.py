"""The model factory: tiny builds offline and caches, reloads from folders and checkpoints,
LoRA presets target the language model only."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytest.importorskip("torch")
pytest.importorskip("transformers")

from PIL import Image

from eemo_rewards.train.models import (
    MARKER_FILE,
    TAG_TOKENS,
    ModelBundle,
    load_model,
    lora_target_modules,
    save_bundle,
)

SMALL = {"hidden_size": 32, "vision_dim": 32, "image_size": 56}


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    return tmp_path_factory.mktemp("models")


@pytest.fixture(scope="module")
def tiny(cache) -> ModelBundle:
    return load_model("tiny", cache_dir=cache, **SMALL)


def _prompt(bundle, size=96, text="What emotion does this image evoke?"):
    messages = [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": text}]}]
    rendered = bundle.processor.apply_chat_template(
        messages, add_generation_prompt=True, tokenize=False
    )
    return bundle.processor(
        text=[rendered], images=[[Image.new("RGB", (size, size), "red")]], return_tensors="pt"
    )


def test_tiny_builds_with_its_processor_and_tags(tiny):
    assert tiny.kind == "tiny" and tiny.family == "qwen2_vl"
    assert tiny.model.config._name_or_path == tiny.path
    marker = json.loads((Path(tiny.path) / MARKER_FILE).read_text())
    assert marker["kind"] == "tiny" and marker["family"] == "qwen2_vl"
    for tag in TAG_TOKENS:
        ids = tiny.tokenizer(tag)["input_ids"]
        assert len(ids) == 1, f"{tag} should be one token, got {ids}"
    # the tags survive decoding without special tokens (the rewards need them)
    ids = tiny.tokenizer("<think>x</think><answer>joy</answer>")["input_ids"]
    text = tiny.tokenizer.decode(ids, skip_special_tokens=True)
    assert text == "<think>x</think><answer>joy</answer>"
    assert tiny.tokenizer.padding_side == "left"


def test_tiny_image_tokens_are_fixed_by_image_size(tiny):
    small = _prompt(tiny, size=40)
    large = _prompt(tiny, size=300)
    pad = tiny.tokenizer.convert_tokens_to_ids("<|image_pad|>")
    assert (small["input_ids"] == pad).sum() == tiny.info["image_tokens"] == 4
    assert (large["input_ids"] == pad).sum() == 4


def test_tiny_is_cached_and_deterministic(cache, tiny):
    again = load_model("tiny", cache_dir=cache, **SMALL)
    assert again.path == tiny.path
    other_seed = load_model("tiny", cache_dir=cache, seed=1, **SMALL)
    assert other_seed.path != tiny.path
    first = next(iter(tiny.model.state_dict().values()))
    assert (next(iter(again.model.state_dict().values())) == first).all()


def test_tiny_corpus_changes_the_tokenizer(cache, tiny):
    words = ["grimacing", "scowling"] * 50
    custom = load_model("tiny", cache_dir=cache, corpus=words, **SMALL)
    assert custom.path != tiny.path
    assert len(custom.tokenizer("grimacing")["input_ids"]) < len(
        tiny.tokenizer("grimacing")["input_ids"]
    )


def test_generate_runs_and_reload_gives_same_output(tiny):
    inputs = _prompt(tiny)
    tiny.model.eval()
    first = tiny.model.generate(**inputs, max_new_tokens=5, do_sample=False)
    reloaded = load_model(tiny.path)
    second = reloaded.model.generate(**inputs, max_new_tokens=5, do_sample=False)
    assert first.tolist() == second.tolist()


def test_save_bundle_then_load_from_a_subfolder_marker(tiny, tmp_path):
    folder = save_bundle(tiny, tmp_path / "run" / "final")
    loaded = load_model(folder)
    assert loaded.kind == "tiny" and loaded.path == str(folder)


def test_lora_targets_language_model_only(tiny):
    import re

    pattern = lora_target_modules(tiny.model)
    matched = [n for n, _ in tiny.model.named_modules() if re.fullmatch(pattern, n)]
    assert matched and all("language_model" in n for n in matched)
    assert not any("visual" in n for n in matched)
    everything = lora_target_modules(tiny.model, scope="all")
    assert len([n for n, _ in tiny.model.named_modules() if re.fullmatch(everything, n)]) >= len(
        matched
    )
    with pytest.raises(ValueError, match="scope"):
        lora_target_modules(tiny.model, scope="vision")
    with pytest.raises(ValueError, match="no module"):
        lora_target_modules(tiny.model, names=("not_a_layer",))


def test_bad_settings_and_names_say_what_to_do(cache, tmp_path):
    with pytest.raises(ValueError, match="multiple of 8"):
        load_model("tiny", cache_dir=cache, hidden_size=30)
    with pytest.raises(ValueError, match="at least 28"):
        load_model("tiny", cache_dir=cache, image_size=20)
    with pytest.raises(OSError, match="allow_download"):
        load_model("no-such-org/no-such-model-here")
    with pytest.raises(FileNotFoundError, match="not a folder"):
        load_model(str(tmp_path / "missing" / "deeper" / "folder"))
    with pytest.raises(TypeError, match="only apply"):
        load_model(str(tmp_path), hidden_size=32)


def test_hub_style_folder_loads_through_auto_classes(tmp_path):
    """A plain save_pretrained folder (no marker) goes through AutoModelForImageTextToText."""
    from transformers import Idefics3Config, Idefics3ForConditionalGeneration

    from eemo_rewards.train.models import _idefics_processor, _train_tokenizer

    tokenizer = _train_tokenizer(["hello"], 300)
    tokenizer.add_special_tokens(
        {"additional_special_tokens": ["<image>", "<fake_token_around_image>", "<global-img>"]}
    )
    processor = _idefics_processor(tokenizer, 64)
    config = Idefics3Config(
        vision_config={
            "hidden_size": 32,
            "intermediate_size": 64,
            "num_hidden_layers": 1,
            "num_attention_heads": 2,
            "image_size": 64,
            "patch_size": 16,
        },
        text_config={
            "vocab_size": len(tokenizer),
            "hidden_size": 32,
            "intermediate_size": 64,
            "num_hidden_layers": 1,
            "num_attention_heads": 2,
            "num_key_value_heads": 1,
        },
        image_token_id=tokenizer.convert_tokens_to_ids("<image>"),
    )
    Idefics3ForConditionalGeneration(config).save_pretrained(tmp_path)
    processor.save_pretrained(tmp_path)
    bundle = load_model(tmp_path)
    assert bundle.kind == "hub" and bundle.family == "idefics3"
    assert "text_model" in lora_target_modules(bundle.model)


def test_a_cached_tiny_model_appears_only_once_complete(tmp_path, monkeypatch):
    # accelerate launch starts every process on the same cache: none may load a folder another
    # is still writing (seen as "no file named model.safetensors"), so the model is saved
    # elsewhere and moved into place whole
    import eemo_rewards.train.models as models

    visible_while_saving = []
    real_save = models.save_bundle

    def spying_save(bundle, path):
        out = real_save(bundle, path)
        visible_while_saving.append(sorted(p.name for p in tmp_path.glob("tiny-*")))
        return out

    monkeypatch.setattr(models, "save_bundle", spying_save)
    bundle = models.build_tiny(cache_dir=tmp_path, hidden_size=32, vision_dim=16)
    assert visible_while_saving == [[]]
    assert [p.name for p in tmp_path.iterdir()] == [Path(bundle.path).name]
    assert models.build_tiny(cache_dir=tmp_path, hidden_size=32, vision_dim=16).path == bundle.path


def test_only_the_local_main_process_builds_a_cached_model(tmp_path, monkeypatch):
    # a non-main process's save_pretrained may write no weights in a distributed run: the
    # others wait for the local main process's build instead of building their own
    from eemo_rewards.train.models import MARKER_FILE, _built_by_local_main_process

    folder = tmp_path / "tiny-x"
    monkeypatch.delenv("LOCAL_RANK", raising=False)
    assert _built_by_local_main_process(folder) is False
    monkeypatch.setenv("LOCAL_RANK", "1")
    with pytest.raises(TimeoutError, match="local main process"):
        _built_by_local_main_process(folder, timeout_s=0.3)
    folder.mkdir()
    (folder / MARKER_FILE).write_text("{}")
    assert _built_by_local_main_process(folder, timeout_s=0.3) is True
