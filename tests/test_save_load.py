"""Saving and loading: trainable-only and self-contained saves, and the pipeline from a saved directory in a
fresh process where tiny_audio cannot be imported (the remote code must be self-contained)."""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile
import tiny_backbones
import torch
from conftest import TARGETS
from transformers import AutoConfig, AutoModel, AutoProcessor, pipeline

from tiny_audio import ASRConfig, ASRModel, ASRPipeline, ASRProcessor
from tiny_audio.model import remote_code_files

# The Hub remote code: every module of the model folder.
REMOTE_CODE_FILES = {path.name for path in remote_code_files()}


def save(model, processor, directory: Path, **options) -> Path:
    model.save_pretrained(directory, **options)
    processor.save_pretrained(directory)
    return directory


@pytest.fixture(scope="module")
def saved_dir(trained_model, tmp_path_factory):
    return save(*trained_model, tmp_path_factory.mktemp("saved") / "tiny-audio")


def test_config_round_trips_and_rejects_what_it_cannot_build(tmp_path):
    config = ASRConfig(
        encoder_name_or_path="enc", decoder_name_or_path="dec", projector_type="swiglu", projector_stack=3
    )
    config.save_pretrained(tmp_path)
    loaded = ASRConfig.from_pretrained(tmp_path)
    assert loaded.to_dict() == config.to_dict()
    with pytest.raises(ValueError, match=r"Unknown projector_type 'conv'; supported: \['mlp', 'swiglu'\]"):
        ASRConfig(projector_type="conv")
    with pytest.raises(
        ValueError, match=r"Unsupported encoder type 'bert'; supported: \['hubert', 'wav2vec2', 'whisper'\]"
    ):
        ASRConfig(encoder_config={"model_type": "bert"})
    with pytest.raises(ValueError, match="Unknown task 'translate'"):
        config.instruction(task="translate")


def test_saved_directory_holds_config_weights_processor_and_remote_code(saved_dir):
    names = {path.name for path in saved_dir.iterdir()}
    assert {name for name in names if name.endswith(".py")} == REMOTE_CODE_FILES
    assert {"config.json", "model.safetensors", "tokenizer.json", "processor_config.json"} <= names
    assert not any(name.endswith((".bin", ".pt", ".pkl")) for name in names)
    config = json.loads((saved_dir / "config.json").read_text())
    assert config["auto_map"]["AutoModel"] == "modeling_asr.ASRModel"
    assert config["auto_map"]["AutoConfig"] == "configuration_asr.ASRConfig"
    assert config["custom_pipelines"]["automatic-speech-recognition"]["impl"] == "pipeline_asr.ASRPipeline"
    processor_config = json.loads((saved_dir / "processor_config.json").read_text())
    assert processor_config["auto_map"]["AutoProcessor"] == "processing_asr.ASRProcessor"


def test_trainable_only_save_is_small_and_reloads_to_identical_outputs(trained_model, saved_dir, training_clips):
    model, processor = trained_model
    trained_bytes = (saved_dir / "model.safetensors").stat().st_size
    trained_params = sum(t.numel() for t in model.trained_state_dict().values())
    assert trained_bytes < 4 * trained_params + 64 * 1024  # fp32 trained weights plus the header, nothing else
    reloaded = ASRModel.from_pretrained(saved_dir)
    reloaded_processor = ASRProcessor.from_pretrained(saved_dir)
    batch = processor(audio=training_clips, text=TARGETS)
    with torch.no_grad():
        torch.testing.assert_close(reloaded(**batch).logits, model(**batch).logits, rtol=0, atol=0)
    tokens = reloaded.generate(**reloaded_processor(audio=training_clips), max_new_tokens=12)
    assert reloaded_processor.batch_decode(tokens) == TARGETS


def test_self_contained_save_loads_without_the_backbones(trained_model, training_clips, tmp_path, backbone_paths):
    # Backbones of its own, removed after saving: the self-contained copy must not need them.
    encoder_dir = shutil.copytree(backbone_paths["hubert"], tmp_path / "hubert")
    decoder_dir = shutil.copytree(backbone_paths["qwen3"], tmp_path / "qwen3")
    model, processor = trained_model
    copy, copy_processor = tiny_backbones.build_model(encoder_dir, decoder_dir, decoder_lora=model.config.decoder_lora)
    copy.load_state_dict(model.state_dict())
    full_dir = save(copy, copy_processor, tmp_path / "full", self_contained=True)
    shutil.rmtree(encoder_dir)
    shutil.rmtree(decoder_dir)
    assert (full_dir / "model.safetensors").stat().st_size > 4 * sum(p.numel() for p in model.encoder.parameters())
    reloaded = ASRModel.from_pretrained(full_dir)
    loaded_processor = ASRProcessor.from_pretrained(full_dir)
    tokens = reloaded.generate(**loaded_processor(audio=training_clips), max_new_tokens=12)
    assert loaded_processor.batch_decode(tokens) == TARGETS


def test_auto_classes_and_pipeline_load_a_saved_directory(saved_dir, training_clips):
    assert isinstance(AutoConfig.from_pretrained(saved_dir, trust_remote_code=True), ASRConfig)
    assert type(AutoModel.from_pretrained(saved_dir, trust_remote_code=True)).__name__ == "ASRModel"
    assert type(AutoProcessor.from_pretrained(saved_dir, trust_remote_code=True)).__name__ == "ASRProcessor"
    for asr in (
        pipeline("automatic-speech-recognition", model=str(saved_dir), trust_remote_code=True),
        pipeline(model=str(saved_dir), trust_remote_code=True),
    ):
        assert type(asr).__name__ == ASRPipeline.__name__
        assert asr(training_clips[0]) == {"text": TARGETS[0]}
        assert [out["text"] for out in asr(training_clips, batch_size=2)] == TARGETS


FRESH_PROCESS = """
import json, sys
sys.modules["tiny_audio"] = None  # importing tiny_audio now fails: only the saved directory's code can be used
from transformers import pipeline
asr = pipeline(model=sys.argv[1], trust_remote_code=True)
print(json.dumps([asr(path)["text"] for path in sys.argv[2:]]))
assert "tiny_audio" not in {m.split(".")[0] for m in sys.modules if sys.modules[m] is not None}
"""


def test_pipeline_from_saved_directory_in_a_fresh_process_without_tiny_audio(saved_dir, training_clips, tmp_path):
    paths = []
    for index, clip in enumerate(training_clips):
        paths.append(str(tmp_path / f"clip{index}.flac"))
        soundfile.write(paths[-1], clip, 16_000)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    result = subprocess.run(
        [sys.executable, "-c", FRESH_PROCESS, str(saved_dir), *paths],
        cwd=elsewhere,
        capture_output=True,
        text=True,
        timeout=300,
        env={"PATH": "/usr/bin:/bin", "HF_HOME": str(tmp_path / "hf"), "HF_HUB_OFFLINE": "1"},
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert json.loads(result.stdout.strip().splitlines()[-1]) == TARGETS


def test_transcribe_command_prints_each_files_text(saved_dir, training_clips, tmp_path):
    paths = []
    for index, clip in enumerate(training_clips):
        paths.append(tmp_path / f"clip{index}.wav")
        soundfile.write(paths[-1], (clip * 32767).astype(np.int16), 16_000)
    result = subprocess.run(
        [sys.executable, "-m", "tiny_audio.cli", "transcribe", *map(str, paths), "--model", str(saved_dir)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.splitlines() == [f"{path}\t{text}" for path, text in zip(paths, TARGETS, strict=True)]


def test_transcribe_command_passes_decoding_options_to_the_pipeline(saved_dir, training_clips, tmp_path):
    path = tmp_path / "clip.wav"
    soundfile.write(path, (training_clips[0] * 32767).astype(np.int16), 16_000)
    command = [sys.executable, "-m", "tiny_audio.cli", "transcribe", str(path), "--model", str(saved_dir)]
    result = subprocess.run([*command, "--num-beams", "3"], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip() == TARGETS[0]
    # The saved model's remote code, CTC head module included, scores prefixes in the search. This model never trained
    # its CTC head (training.ctc_weight), so the text says nothing; tests/test_ctc_decoding.py checks the scores.
    result = subprocess.run(
        [*command, "--num-beams", "3", "--ctc-decoding-weight", "0.3"], capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0 and result.stdout.strip(), result.stderr[-3000:]
    warped = subprocess.run([*command, "--frequency-warps", "0.9,1.1"], capture_output=True, text=True, timeout=300)
    assert warped.returncode != 0 and "frequency_warps needs a Whisper encoder" in warped.stderr  # HuBERT here
    broken = subprocess.run([*command, "--num-beams", "0"], capture_output=True, text=True, timeout=300)
    assert broken.returncode == 2 and "num_beams=0 is not accepted; give a whole number from 1 to 32" in broken.stderr
    removed = subprocess.run([*command, "--ctc-rescore-weight", "0.3"], capture_output=True, text=True, timeout=300)
    assert removed.returncode == 2 and "unrecognized arguments: --ctc-rescore-weight" in removed.stderr
    ctc_alone = subprocess.run([*command, "--ctc-decoding-weight", "1"], capture_output=True, text=True, timeout=300)
    assert ctc_alone.returncode == 2 and "ctc_decoding_weight=1.0 is not accepted" in ctc_alone.stderr


def test_transcribe_command_hands_the_beam_width_to_generate(monkeypatch, tmp_path):
    from tiny_audio.app import transcribe

    calls = []

    def fake_pipeline(clips, batch_size=1, **options):  # stands in for the loaded pipeline: records its call options
        calls.append(options)
        return [{"text": "text"}] * len(clips)

    monkeypatch.setattr(transcribe, "load_pipeline", lambda model=None, device=None: fake_pipeline)
    parser = argparse.ArgumentParser()
    transcribe.register(parser.add_subparsers())
    clip = str(tmp_path / "clip.wav")
    soundfile.write(clip, np.sin(np.arange(8000) / 10).astype(np.float32), 16_000)
    assert transcribe.run(parser.parse_args(["transcribe", clip, "--num-beams", "3"])) == 0
    assert calls[0]["generate_kwargs"] == {"num_beams": 3}
    assert transcribe.run(parser.parse_args(["transcribe", clip, "--ctc-decoding-weight", "0"])) == 0
    assert calls[1]["generate_kwargs"] == {"ctc_decoding_weight": 0.0}
    assert transcribe.run(parser.parse_args(["transcribe", clip])) == 0
    assert "generate_kwargs" not in calls[2]
    assert transcribe.run(parser.parse_args(["transcribe", clip, "--ctc-decoding-weight", "0.2"])) == 0
    assert calls[3]["generate_kwargs"] == {"ctc_decoding_weight": 0.2}
    assert transcribe.run(parser.parse_args(["transcribe", clip, "--chunk-length-s", "12.5"])) == 0
    assert calls[4]["chunk_length_s"] == 12.5 and "generate_kwargs" not in calls[4]
    assert transcribe.run(parser.parse_args(["transcribe", clip, "--frequency-warps", "0.9,1,1.1"])) == 0
    assert calls[5]["generate_kwargs"] == {"frequency_warps": (0.9, 1.0, 1.1)}
    for bad in ("0.9,x", "3"):
        with pytest.raises(SystemExit):
            parser.parse_args(["transcribe", clip, "--frequency-warps", bad])
    with pytest.raises(SystemExit):
        parser.parse_args(["transcribe", clip, "--num-beams", "0"])


@pytest.mark.parametrize("slow_half_precision", [True, False])
def test_a_cpu_without_fast_bf16_loads_bf16_backbones_in_float32(
    backbone_paths, tmp_path, monkeypatch, slow_half_precision
):
    from transformers import AutoModelForCausalLM

    from tiny_audio.model import modeling_asr

    bf16_decoder = tmp_path / "decoder-bf16"
    AutoModelForCausalLM.from_pretrained(backbone_paths["llama"], dtype=torch.bfloat16).save_pretrained(bf16_decoder)
    shutil.copytree(
        backbone_paths["llama"],
        bf16_decoder,
        dirs_exist_ok=True,
        ignore=shutil.ignore_patterns("*.safetensors", "config.json"),
    )
    model, processor = tiny_backbones.build_model(backbone_paths["whisper"], bf16_decoder)
    directory = save(model, processor, tmp_path / "saved")
    monkeypatch.setattr(modeling_asr, "cpu_lacks_fast_half_precision", lambda device_map: slow_half_precision)
    expected = torch.float32 if slow_half_precision else torch.bfloat16
    assert ASRModel.from_pretrained(directory).decoder.dtype == expected  # as pipeline() asks: dtype "auto"
    assert ASRModel.from_pretrained(directory, dtype="auto").decoder.dtype == expected
    assert ASRModel.from_pretrained(directory, dtype=torch.bfloat16).decoder.dtype == torch.bfloat16  # asked for
