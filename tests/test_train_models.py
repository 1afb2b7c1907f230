"""The model factory: tiny builds offline and caches, reloads from folders and checkpoints,
LoRA presets target the language model, the vision tower or both."""

from __future__ import annotations

import json
import os
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
        lora_target_modules(tiny.model, scope="visual")
    with pytest.raises(ValueError, match="no module"):
        lora_target_modules(tiny.model, names=("not_a_layer",))


def _linear_names(model):
    from torch import nn

    return {n for n, m in model.named_modules() if isinstance(m, nn.Linear)}


def _matched(model, pattern):
    import re

    compiled = re.compile(pattern)
    return {n for n, _ in model.named_modules() if compiled.fullmatch(n)}


def test_lora_vision_scope_is_every_linear_of_the_tower_and_merger(tiny):
    linear = _linear_names(tiny.model)
    vision = _matched(tiny.model, lora_target_modules(tiny.model, scope="vision"))
    language = _matched(tiny.model, lora_target_modules(tiny.model, scope="language"))
    both = _matched(tiny.model, lora_target_modules(tiny.model, scope="both"))
    # only linear layers (PEFT rejects anything else), none of the language model or head
    assert vision and vision <= linear
    assert all(".visual." in f".{n}." for n in vision)
    expected = {n for n in linear if "visual" in n.split(".")}
    assert vision == expected  # every block's attention and MLP, and the merger's MLP
    assert any("merger" in n for n in vision)
    assert both == vision | language and not vision & language
    assert not any("lm_head" in n or "embed_tokens" in n for n in both)
    # the language model's linear layers are all in "both": only the head is left out
    assert linear - both == {n for n in linear if n.split(".")[-1] == "lm_head"}


def test_lora_vision_scope_on_the_smollm2_shape():
    from transformers import Idefics3Config, Idefics3ForConditionalGeneration

    config = Idefics3Config(
        vision_config={"hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 1,
                       "num_attention_heads": 2, "image_size": 64, "patch_size": 16},
        text_config={"vocab_size": 64, "hidden_size": 32, "intermediate_size": 64,
                     "num_hidden_layers": 1, "num_attention_heads": 2, "num_key_value_heads": 1},
    )  # fmt: skip
    model = Idefics3ForConditionalGeneration(config)
    vision = _matched(model, lora_target_modules(model, scope="vision"))
    assert vision == {n for n in _linear_names(model) if "text_model" not in n} - {"lm_head"}
    assert vision and not any("text_model" in n for n in vision)
    assert any("connector" in n for n in vision)  # the projector feeding the language model
    assert any("vision_model" in n for n in vision)


def test_eemo_logic_preset_matches_the_stage1_script(tiny):
    from peft import get_peft_model

    from eemo_rewards.train.common import TrainingSetupError, lora_config
    from eemo_rewards.train.models import LORA_PRESETS, lora_preset

    assert lora_preset("eemo-logic") == {"r": 64, "alpha": 64, "dropout": 0.05, "scope": "both"}
    config = lora_config(tiny, preset="eemo-logic")
    assert (config.r, config.lora_alpha, config.lora_dropout) == (64, 64, 0.05)
    # an explicit argument overrides the preset; the default stays language-only r=16
    assert lora_config(tiny, preset="eemo-logic", r=8).r == 8
    default = lora_config(tiny)
    assert (default.r, default.lora_alpha) == (16, 32)
    assert LORA_PRESETS["default"]["scope"] == "language"
    with pytest.raises(TrainingSetupError, match="eemo-logic"):
        lora_config(tiny, preset="eemo_logic")
    with pytest.raises(TrainingSetupError, match="positive"):
        lora_config(tiny, preset="eemo-logic", r=0)

    import copy

    model = get_peft_model(copy.deepcopy(tiny.model), config)
    trainable = {n for n, p in model.named_parameters() if p.requires_grad}
    # adapters only: base weights of language model, tower and merger stay frozen
    assert trainable and all("lora_" in n for n in trainable)
    adapted = {n.split(".lora_")[0] for n in trainable}
    assert any(".visual.blocks." in n for n in adapted)
    assert any(".visual.merger." in n for n in adapted)
    assert any(".language_model." in n for n in adapted)
    assert not any("lm_head" in n or "embed_tokens" in n for n in adapted)


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

    from eemo_rewards.train.models.smollm2 import _idefics_processor
    from eemo_rewards.train.models.tiny import _train_tokenizer

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
    import eemo_rewards.train.models.cache as cache

    visible_while_saving = []
    real_save = cache.save_bundle

    def spying_save(bundle, path):
        out = real_save(bundle, path)
        visible_while_saving.append(sorted(p.name for p in tmp_path.glob("tiny-*")))
        return out

    monkeypatch.setattr(cache, "save_bundle", spying_save)
    bundle = models.build_tiny(cache_dir=tmp_path, hidden_size=32, vision_dim=16)
    assert visible_while_saving == [[]]
    assert [p.name for p in tmp_path.iterdir()] == [Path(bundle.path).name]
    assert models.build_tiny(cache_dir=tmp_path, hidden_size=32, vision_dim=16).path == bundle.path


def test_only_the_local_main_process_builds_a_cached_model(tmp_path, monkeypatch):
    # a non-main process's save_pretrained writes no weights in a distributed run: under a
    # launcher the others wait for the local main process's build instead of building
    import eemo_rewards.train.models.cache as cache

    source = load_model("tiny", cache_dir=tmp_path / "src", hidden_size=32, vision_dim=16).path
    built = []

    def build():
        built.append(True)
        return load_model(source)

    monkeypatch.setenv("LOCAL_RANK", "1")
    with pytest.raises(TimeoutError, match="local main process"):
        cache.cached_build(tmp_path / "tiny-x", build, timeout_s=0.3)
    assert built == [], "a non-main process never builds"
    monkeypatch.setenv("LOCAL_RANK", "0")
    first = cache.cached_build(tmp_path / "tiny-x", build)
    monkeypatch.setenv("LOCAL_RANK", "1")
    again = cache.cached_build(tmp_path / "tiny-x", build, timeout_s=0.3)
    assert built == [True] and first.path == again.path == str(tmp_path / "tiny-x")


def test_under_torchrun_one_process_builds_and_both_load_the_weights(tmp_path):
    """Two processes of one launch ask for the same uncached model at once: exactly one
    builds it, and both load a complete copy (accelerate's local_main_process_first is a
    no-op here on CPU, which let both build and keep a copy without weights)."""
    import subprocess
    import sys

    script = tmp_path / "build.py"
    script.write_text(
        "import os, sys\n"
        "import eemo_rewards.train.models.cache as cache\n"
        "from eemo_rewards.train.models import load_model\n"
        "save = cache._save_cached\n"
        "def spy(bundle, folder):\n"
        "    print('built', os.environ['RANK'], flush=True)\n"
        "    return save(bundle, folder)\n"
        "cache._save_cached = spy\n"
        "b = load_model('tiny', cache_dir=sys.argv[1], hidden_size=32, vision_dim=16)\n"
        "print('loaded', os.environ['RANK'], sum(p.numel() for p in b.model.parameters()))\n"
    )
    env = {k: v for k, v in os.environ.items() if k not in ("RANK", "LOCAL_RANK", "WORLD_SIZE")}
    done = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2",
         "--master_port", "0", str(script), str(tmp_path / "cache")],
        capture_output=True, text=True, env=env, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    loaded = sorted(line for line in done.stdout.splitlines() if line.startswith("loaded"))
    assert [line.split()[1] for line in loaded] == ["0", "1"], done.stdout
    assert len({line.split()[2] for line in loaded}) == 1
    assert [line for line in done.stdout.splitlines() if line.startswith("built")] == ["built 0"]
    assert len(list((tmp_path / "cache").glob("tiny-*"))) == 1
