"""Training: recipes and overrides, a tiny run that trains / evaluates / saves, resume after a kill, two processes,
non-speech clips, augmentation and the encoder cache."""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import datasets
import numpy as np
import pytest
import soundfile
import tiny_backbones
import torch
import yaml
from conftest import LORA

from tiny_audio import ASRModel
from tiny_audio.model.audio_input import check_waveform
from tiny_audio.training.augment import Augmentation
from tiny_audio.training.collator import ASRCollator
from tiny_audio.training.encoder_cache import EncoderCache
from tiny_audio.training.nonspeech import nonspeech_clip
from tiny_audio.training.recipe import load_recipe
from tiny_audio.training.sources import AUDIO, AUDIO_STRUCT, build_training_mix, nonspeech_dataset

ROOT = Path(__file__).resolve().parents[1]
WORDS = ["hello", "hi there", "good day", "yes"]


def write_parquet_corpus(directory: Path, count: int = 16) -> Path:
    """A small local dataset in the corpus layout: tones as audio, a few fixed words as text."""
    rows = {"audio": [], "text": [], "duration": []}
    for index in range(count):
        buffer = io.BytesIO()
        clip = tiny_backbones.tone(0.5 + 0.1 * (index % 4), 200 + 150 * (index % 4), seed=index)
        soundfile.write(buffer, clip, 16_000, format="FLAC")
        rows["audio"].append({"bytes": buffer.getvalue(), "path": f"clip{index}.flac"})
        rows["text"].append(WORDS[index % 4])
        rows["duration"].append(len(clip) / 16_000)
    features = datasets.Features(
        {"audio": AUDIO_STRUCT, "text": datasets.Value("string"), "duration": datasets.Value("float32")}
    )
    directory.mkdir(parents=True, exist_ok=True)
    dataset = datasets.Dataset.from_dict(rows, features=features).cast_column("audio", AUDIO)
    dataset.to_parquet(str(directory / "train.parquet"))
    return directory / "train.parquet"


def tiny_recipe(tmp_path: Path, backbone_paths, **training) -> Path:
    corpus = write_parquet_corpus(tmp_path / "corpus")
    recipe = {
        "model": {
            "encoder_name_or_path": str(backbone_paths["whisper"]),
            "decoder_name_or_path": str(backbone_paths["llama"]),
            "projector_stack": 2,
            "projector_hidden_size": 64,
            "decoder_lora": LORA,
            "generation": {"max_new_tokens": 8},
        },
        "data": {
            "train": [{"parquet": str(corpus)}],
            "eval": {"parquet": str(corpus), "split": "train", "max_samples": 4},
            "nonspeech_fraction": 0.1,
        },
        "augmentation": {"noise_probability": 0.5, "noise_snr_db": [20, 40]},
        "training": {
            "output_dir": str(tmp_path / "run"),
            "max_steps": 6,
            "per_device_train_batch_size": 4,
            "per_device_eval_batch_size": 4,
            "learning_rate": 3e-3,
            "logging_steps": 1,
            "eval_strategy": "steps",
            "eval_steps": 3,
            "save_strategy": "steps",
            "save_steps": 2,
            "report_to": "none",
            "use_cpu": True,
            "seed": 0,
            **training,
        },
    }
    path = tmp_path / "recipe.yaml"
    path.write_text(yaml.safe_dump(recipe))
    return path


def run_train(recipe: Path, *overrides: str, launcher: list[str] | None = None, **popen) -> subprocess.Popen:
    command = (launcher or [sys.executable]) + [str(ROOT / "train.py"), "--config", str(recipe), *overrides]
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false", "OMP_NUM_THREADS": "1"}
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env, **popen)


def test_default_recipe_loads_and_overrides_apply():
    recipe = load_recipe(ROOT / "configs" / "default.yaml", ["training.max_steps=7", "model.decoder_lora.r=4"])
    assert recipe["training"]["max_steps"] == 7
    assert recipe["model"]["decoder_lora"]["r"] == 4
    assert recipe["model"]["encoder_name_or_path"] == "openai/whisper-tiny.en"
    with pytest.raises(ValueError, match="section.key=value"):
        load_recipe(ROOT / "configs" / "default.yaml", ["max_steps=3"])
    with pytest.raises(FileNotFoundError, match="recipes in configs/"):
        load_recipe(ROOT / "configs" / "missing.yaml")


@pytest.mark.parametrize("recipe_path", sorted((ROOT / "configs").glob("*.yaml")), ids=lambda path: path.stem)
def test_every_recipe_is_complete_and_valid(recipe_path):
    from tiny_audio import ASRConfig
    from tiny_audio.training.trainer import training_arguments

    # GPU recipes ask for bf16, which TrainingArguments accepts on a CPU-only machine only with use_cpu.
    overrides = [] if torch.cuda.is_available() else ["training.use_cpu=true"]
    recipe = load_recipe(recipe_path, overrides)
    config = ASRConfig(**recipe["model"])
    assert config.encoder_name_or_path and config.decoder_name_or_path
    assert recipe["data"]["train"] and recipe["data"]["eval"]
    arguments = training_arguments(recipe["training"])
    assert arguments.max_steps > 0 and arguments.save_steps > 0


def test_training_runs_evaluates_saves_and_resumes_after_a_kill(tmp_path, backbone_paths):
    # Length-grouped batches, as in the default recipe: the resumed run must replay the same sampler.
    recipe = tiny_recipe(
        tmp_path, backbone_paths, train_sampling_strategy="group_by_length", length_column_name="duration"
    )
    run_dir = tmp_path / "run"
    first = run_train(recipe)
    deadline = time.time() + 300
    while not (run_dir / "checkpoint-2" / "trainer_state.json").exists():
        assert first.poll() is None, first.communicate()[0][-3000:]
        assert time.time() < deadline, "no checkpoint within 300 s"
        time.sleep(0.2)
    first.send_signal(signal.SIGKILL)
    first.wait()
    assert not (run_dir / "model").exists()
    second = run_train(recipe)
    log = second.communicate(timeout=600)[0]
    assert second.returncode == 0, log[-3000:]
    assert "resuming from" in log and "checkpoint-" in log
    summary = json.loads((run_dir / "model" / "training_summary.json").read_text())
    assert summary["global_step"] == 6 and summary["resumed_from"]
    # The wall time counts the killed attempt up to its checkpoint as well as the attempt that finished.
    first_attempt = json.loads((run_dir / "checkpoint-2" / "trainer_state.json").read_text())
    first_seconds = first_attempt["stateful_callbacks"]["WallClock"]["attributes"]["earlier_seconds"]
    assert 0 < first_seconds and summary["wall_seconds"] >= summary["wall_seconds_this_run"] + first_seconds - 1
    assert 0 <= summary["final_eval"]["eval_wer"] and np.isfinite(summary["final_eval"]["eval_loss"])
    assert (run_dir / "curves.png").stat().st_size > 1000
    from transformers import pipeline

    asr = pipeline(model=str(run_dir / "model"), trust_remote_code=True)
    assert isinstance(asr(tiny_backbones.tone(0.6))["text"], str)
    # A new run can start from the trained weights (training.init_from), with a fresh optimizer.
    from tiny_audio.training.trainer import build_model
    from tiny_audio.training.warm_start import warm_start

    recipe_dict = load_recipe(recipe)
    model, _ = build_model(recipe_dict["model"])
    warm_start(model, run_dir / "model")
    saved = ASRModel.from_pretrained(run_dir / "model")
    for name, tensor in saved.trained_state_dict().items():
        torch.testing.assert_close(model.state_dict()[name], tensor, msg=name)


def test_two_process_cpu_training_with_the_projector_ctc_loss(tmp_path, backbone_paths):
    """DDP with the CTC loss, which the model computes in its forward (so the wrapper averages its gradients):
    step 1 trains on the CTC loss alone (the decoder LoRA gets no gradient there), steps 2-3 on both losses."""
    recipe = tiny_recipe(
        tmp_path, backbone_paths, max_steps=3, eval_strategy="no", save_strategy="no", ctc_weight=0.5, ctc_only_steps=1
    )
    # accelerate's `--cpu` launcher starts several processes only through MPI; its torchrun launcher (`--multi_gpu`)
    # with TrainingArguments(use_cpu=True) runs the same DDP code on CPU with the gloo backend (accelerate 1.15).
    launcher = [sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu", "--num_processes", "2"]
    process = run_train(recipe, "data.eval=null", launcher=launcher)
    log = process.communicate(timeout=600)[0]
    assert process.returncode == 0, log[-3000:]
    assert (tmp_path / "run" / "model" / "model.safetensors").exists()
    summary = json.loads((tmp_path / "run" / "model" / "training_summary.json").read_text())
    assert summary["world_size"] == 2 and summary["global_step"] == 3
    assert summary["samples_seen"] == 3 * 4 * 2  # steps x per-device batch x processes
    assert log.count("'ctc_loss'") >= 3, log[-3000:]  # logged at every step (logging_steps=1)
    trained = ASRModel.from_pretrained(tmp_path / "run" / "model").trained_state_dict()
    assert any(torch.count_nonzero(tensor) for name, tensor in trained.items() if "lora_B" in name)  # steps 2-3


def test_nonspeech_clips_are_valid_input_with_an_empty_target(backbone_paths):
    clips = [nonspeech_clip(seed) for seed in range(20)]
    for clip in clips:
        check_waveform(clip, 16_000, "nonspeech")
    assert np.array_equal(nonspeech_clip(3), nonspeech_clip(3))
    _, processor = tiny_backbones.build_model(backbone_paths["hubert"], backbone_paths["llama"])
    collator = ASRCollator(processor, "Transcribe the audio.")
    batch = collator([nonspeech_dataset(2, seed=1)[1]])
    assert batch["labels"][0][batch["labels"][0] != -100].tolist() == [processor.tokenizer.eos_token_id]


def test_collator_skips_a_broken_sample_and_says_which(backbone_paths, caplog):
    _, processor = tiny_backbones.build_model(backbone_paths["hubert"], backbone_paths["llama"])
    collator = ASRCollator(processor, "Transcribe the audio.")
    good = io.BytesIO()
    soundfile.write(good, tiny_backbones.tone(0.5), 16_000, format="WAV")
    rows = [
        {"audio": {"bytes": b"not audio", "path": "broken.flac"}, "text": "x"},
        {"audio": {"bytes": good.getvalue(), "path": "good.wav"}, "text": "hello"},
    ]
    batch = collator(rows)
    assert batch["input_ids"].shape[0] == 1
    assert "broken.flac" in collator.skipped and "broken.flac" in caplog.text


def test_augmentation_changes_training_audio_only_when_enabled():
    clip = tiny_backbones.tone(1.0)
    rng = np.random.default_rng(0)
    always = Augmentation(speed_probability=1, noise_probability=1, gain_probability=1)
    changed = always(clip, rng)
    assert changed.shape != clip.shape or not np.allclose(changed, clip)
    assert not Augmentation().enabled
    assert Augmentation(reverb_probability=0.1).enabled
    with pytest.raises(ValueError, match="Unknown augmentation settings"):
        Augmentation.from_recipe({"echo_probability": 1})


def test_frequency_warp_moves_a_tone_as_a_shorter_vocal_tract_would(backbone_paths):
    from tiny_audio.model.frequency_warp import mel_band_centers, warp_frequency

    _, processor = tiny_backbones.build_model(backbone_paths["whisper"], backbone_paths["llama"])
    extractor = processor.feature_extractor
    centers = mel_band_centers(extractor.mel_filters, extractor.sampling_rate)
    features = processor._clip_features(tiny_backbones.tone(1.0, 1000.0), 16_000)  # (mel bands, frames)
    assert np.array_equal(warp_frequency(features, centers, 1.0), features)
    warped = warp_frequency(features, centers, 1.2)
    assert warped.shape == features.shape
    peak_hz = centers[warped.mean(1).argmax()]
    assert peak_hz == pytest.approx(1200, rel=0.08), peak_hz  # 1 kHz heard at 1.2 kHz
    assert centers[features.mean(1).argmax()] == pytest.approx(1000, rel=0.08)


def test_log_mel_augmentation_touches_each_clips_own_frames_and_needs_whisper(backbone_paths):
    _, processor = tiny_backbones.build_model(backbone_paths["whisper"], backbone_paths["llama"])
    rows = []
    for seconds, frequency in ((1.0, 300.0), (4.0, 700.0)):
        buffer = io.BytesIO()
        soundfile.write(buffer, tiny_backbones.tone(seconds, frequency), 16_000, format="WAV")
        rows.append({"audio": {"bytes": buffer.getvalue(), "path": f"{seconds}.wav"}, "text": "hello"})
    clean = ASRCollator(processor, "Transcribe the audio.")(rows)
    masks = Augmentation(frequency_mask_probability=1, time_mask_probability=1, time_mask_frames=20)
    masked = ASRCollator(processor, "Transcribe the audio.", masks, seed=3)(rows)
    frames = clean["audio_attention_mask"].sum(-1).tolist()
    short = masked["input_features"][0]
    assert not torch.equal(short[:, : frames[0]], clean["input_features"][0][:, : frames[0]])
    assert torch.equal(short[:, frames[0] :], clean["input_features"][0][:, frames[0] :])  # padding untouched
    long = masked["input_features"][1][:, : frames[1]]
    time_masked = (long == long[0]).all(0)  # a time-masked frame holds one value in every band
    assert 2 <= time_masked.sum().item() <= 2 * 20  # two time masks (4 s: one per started 3 s) of <= 20 frames
    rest = long[:, ~time_masked]
    masked_bands = (rest == rest[:, :1]).all(1).sum().item()  # a masked band holds one value in every other frame
    assert 1 <= masked_bands <= 8
    assert torch.equal(masked["input_ids"], clean["input_ids"])
    with pytest.raises(ValueError, match="only Whisper encoders"):
        _, hubert_processor = tiny_backbones.build_model(backbone_paths["hubert"], backbone_paths["llama"])
        ASRCollator(hubert_processor, "Transcribe the audio.", masks)


def test_reverb_adds_a_decaying_tail_and_keeps_length_and_loudness():
    from tiny_audio.training.augment import reverberate

    click = np.zeros(16000, dtype=np.float32)
    click[1000] = 0.5
    heard = reverberate(click, rt60=0.4, direct_db=3.0, rng=np.random.default_rng(0))
    assert heard.shape == click.shape and heard.dtype == np.float32 and np.abs(heard[:1000]).max() < 1e-6
    assert np.sqrt(np.mean(heard**2)) == pytest.approx(np.sqrt(np.mean(click**2)), rel=1e-3)
    tail = heard[1001:].astype(np.float64) ** 2
    early, late = tail[:800].sum(), tail[4000:4800].sum()  # 0-50 ms and 250-300 ms after the click
    assert late > 0 and 10 * np.log10(early / late) == pytest.approx(60 * 0.25 / 0.4, abs=5)  # 60 dB per RT60
    direct = heard[1000] ** 2
    assert 10 * np.log10(direct / tail.sum()) == pytest.approx(3.0, abs=0.1)
    tone = tiny_backbones.tone(1.0)
    assert np.allclose(reverberate(tone, 0.3, 60.0, np.random.default_rng(1)), tone, atol=1e-3)  # no room: as is


def test_encoder_cache_reuses_outputs_and_changes_nothing(backbone_paths):
    model, processor = tiny_backbones.build_model(backbone_paths["whisper"], backbone_paths["llama"])
    batch = processor(audio=[tiny_backbones.tone(0.7), tiny_backbones.tone(0.4, 500)], text=["hi", "yes"])
    with torch.no_grad():
        plain = model(**batch).logits
        model.encoder_cache = EncoderCache()
        first, second = model(**batch).logits, model(**batch).logits
        mixed = processor(audio=[tiny_backbones.tone(0.4, 500), tiny_backbones.tone(0.9, 300)], text=["yes", "hi"])
        model(**mixed)
    assert model.encoder_cache.hits == 3 and model.encoder_cache.misses == 3
    torch.testing.assert_close(first, plain)
    torch.testing.assert_close(second, plain, atol=2e-3, rtol=1e-3)  # cached in float16


def test_projector_ctc_scores_aligned_embeddings_and_decodes_them():
    from tiny_audio.model.ctc_head import ProjectorCTCLoss, ctc_classes, ctc_greedy_decode

    table = torch.randn(50, 64, generator=torch.Generator().manual_seed(1))
    end_token = 49
    classes = ctc_classes(table)
    ctc = ProjectorCTCLoss(classes, end_token_id=end_token, negatives=8)
    blank = ctc.classes[0]
    # Clip 1 says tokens 3, 3, 7 (a blank must split the repeat); clip 2 is silence with an empty target.
    spoken = torch.stack([table[3], blank, table[3], table[7], table[7], blank])
    silent = blank.expand(6, 64)
    aligned = torch.stack([spoken, silent])
    token_mask = torch.ones(2, 6, dtype=torch.bool)
    labels = torch.tensor([[-100, 3, 3, 7, end_token], [-100, -100, -100, -100, end_token]])
    assert ctc_greedy_decode(aligned, token_mask, classes) == [[3, 3, 7], []]
    aligned_loss = ctc(aligned, token_mask, labels)
    random_loss = ctc(torch.randn(2, 6, 64), token_mask, labels)
    assert torch.isfinite(aligned_loss) and aligned_loss < 0.1 < random_loss
    everything = ProjectorCTCLoss(classes, end_token_id=end_token, negatives=None)
    assert everything(aligned, token_mask, labels) < 0.1


def test_ctc_only_steps_train_the_projector_and_leave_the_decoder_alone(tmp_path, backbone_paths):
    recipe = tiny_recipe(
        tmp_path, backbone_paths, max_steps=3, ctc_weight=1.0, ctc_only_steps=3, eval_strategy="no", save_steps=3
    )
    process = run_train(recipe)
    log = process.communicate(timeout=600)[0]
    assert process.returncode == 0, log[-3000:]
    state = json.loads((tmp_path / "run" / "checkpoint-3" / "trainer_state.json").read_text())
    assert all(entry["ctc_loss"] == entry["loss"] for entry in state["log_history"] if "loss" in entry)
    summary = json.loads((tmp_path / "run" / "model" / "training_summary.json").read_text())
    assert 0 <= summary["final_eval"]["eval_ctc_wer"]  # evaluation also reads the projector's own CTC path
    trained = ASRModel.from_pretrained(tmp_path / "run" / "model").trained_state_dict()
    lora_up = [tensor for name, tensor in trained.items() if "lora_B" in name]
    assert lora_up and all(torch.count_nonzero(tensor) == 0 for tensor in lora_up)  # LoRA B starts at zero
    from tiny_audio.training.trainer import build_model

    fresh, _ = build_model(load_recipe(recipe)["model"])
    assert not torch.allclose(fresh.projector.linear_in.weight, trained["projector.linear_in.weight"])


def test_recipe_values_follow_yaml_1_2():
    from tiny_audio.training.recipe import parse_value

    assert parse_value("no") == "no" and parse_value("off") == "off"  # TrainingArguments strategies stay strings
    assert parse_value("true") is True and parse_value("False") is False
    assert parse_value("1e-3") == 0.001 and parse_value("3.0e-4") == 0.0003 and parse_value("7") == 7


def test_encoder_cache_takes_bfloat16_inputs():
    """training.backbone_dtype=bfloat16 hands the cache bf16 features, which numpy (the row hash) cannot read."""
    cache = EncoderCache()
    audio = torch.randn(2, 80, 30).to(torch.bfloat16)
    mask, frames = torch.ones(2, 30, dtype=torch.long), torch.tensor([15, 15])

    def encode(features, feature_mask, frame_lengths):
        return features[:, :4, :15].transpose(1, 2).float()  # (B, 15 frames, 4)

    first = cache.encode(audio, mask, frames, encode)
    second = cache.encode(audio, mask, frames, encode)
    assert cache.misses == 2 and cache.hits == 2
    torch.testing.assert_close(second, first, atol=1e-2, rtol=1e-2)  # cached in float16


def test_training_mix_records_every_clips_length_for_length_grouped_batches(tmp_path):
    corpus = write_parquet_corpus(tmp_path / "corpus", count=8)
    mix = build_training_mix({"train": [{"parquet": str(corpus)}], "nonspeech_fraction": 0.2}, seed=0)
    assert len(mix) == 10 and mix[-1]["text"] == ""  # 8 speech clips + 2 non-speech
    for row in mix:  # the sampler sorts by this column: it must be each clip's real length
        audio = soundfile.read(io.BytesIO(row["audio"]["bytes"]))[0]
        assert row["duration"] == pytest.approx(len(audio) / 16_000, abs=1e-3)


def test_length_grouped_batches_need_a_length_column(tmp_path):
    from transformers import TrainingArguments

    from tiny_audio.training.trainer import check_length_column

    corpus = write_parquet_corpus(tmp_path / "corpus", count=4)
    without = datasets.load_dataset("parquet", data_files=str(corpus), split="train").remove_columns("duration")
    mix = build_training_mix({"train": [{"parquet": str(corpus)}, {"parquet": str(corpus)}]}, seed=0)
    grouped = TrainingArguments(
        str(tmp_path), train_sampling_strategy="group_by_length", length_column_name="duration", use_cpu=True
    )
    check_length_column(mix, grouped)  # both sources record duration: accepted
    with pytest.raises(ValueError, match="needs a 'duration' column"):
        check_length_column(without, grouped)
    check_length_column(without, TrainingArguments(str(tmp_path), use_cpu=True))  # random order needs no lengths


def test_warm_start_can_add_encoder_lora_which_starts_as_the_identity(tmp_path, backbone_paths):
    from tiny_audio.training.warm_start import warm_start

    saved, _ = tiny_backbones.build_model(backbone_paths["whisper"], backbone_paths["llama"], decoder_lora=LORA)
    with torch.no_grad():  # trained-looking decoder LoRA, so that loading it is visible
        for name, parameter in saved.named_parameters():
            if "lora_B" in name:
                parameter.normal_()
    saved.save_pretrained(tmp_path / "saved")
    encoder_lora = {"r": 2, "alpha": 4, "dropout": 0.0, "target_modules": ["q_proj", "k_proj"]}
    model, _ = tiny_backbones.build_model(
        backbone_paths["whisper"], backbone_paths["llama"], encoder_lora=encoder_lora, decoder_lora=LORA
    )
    warm_start(model, tmp_path / "saved")
    state = model.state_dict()
    for name, tensor in saved.trained_state_dict().items():
        torch.testing.assert_close(state[name], tensor, msg=name)
    new = [name for name in state if name.startswith("encoder.") and "lora_B" in name]
    assert new and all(not state[name].any() for name in new)
    # A saved model with encoder LoRA does not fit a recipe without it: that stays an error.
    model.save_pretrained(tmp_path / "with-encoder-lora")
    with pytest.raises(ValueError, match="unexpected"):
        warm_start(saved, tmp_path / "with-encoder-lora")


def test_warm_start_onto_a_new_encoder_keeps_the_fitting_tensors(tmp_path, backbone_paths, caplog):
    from tiny_audio.training.warm_start import warm_start

    saved, _ = tiny_backbones.build_model(backbone_paths["whisper"], backbone_paths["llama"], decoder_lora=LORA)
    with torch.no_grad():  # trained-looking weights, so that loading them is visible
        for parameter in saved.parameters():
            if parameter.requires_grad:
                parameter.normal_()
    saved.save_pretrained(tmp_path / "saved")
    # Another encoder whose frames are stacked 3 at a time: the projector's input layer changes shape.
    model, _ = tiny_backbones.build_model(
        backbone_paths["hubert"], backbone_paths["llama"], decoder_lora=LORA, projector_stack=3
    )
    fresh = {name: tensor.clone() for name, tensor in model.trained_state_dict().items()}
    with pytest.raises(ValueError, match="another shape"):
        warm_start(model, tmp_path / "saved")

    with caplog.at_level("INFO", logger="tiny_audio.training.warm_start"):
        warm_start(model, tmp_path / "saved", ignore_mismatched_sizes=True)
    state, saved_state = model.trained_state_dict(), saved.trained_state_dict()
    mismatched = {name for name in state if state[name].shape != saved_state[name].shape}
    assert mismatched == {"projector.norm.weight", "projector.norm.bias", "projector.linear_in.weight"}
    for name, tensor in state.items():
        torch.testing.assert_close(tensor, fresh[name] if name in mismatched else saved_state[name], msg=name)
    assert "3 keep their fresh values" in caplog.text


@pytest.mark.parametrize("slow_half_precision", [True, False])
def test_bf16_backbones_on_a_cpu_without_fast_bf16_are_warned_about(
    tmp_path, backbone_paths, monkeypatch, caplog, slow_half_precision
):
    from tiny_audio.training import trainer

    monkeypatch.setattr(trainer, "cpu_lacks_fast_half_precision", lambda device_map: slow_half_precision)
    model_section = load_recipe(tiny_recipe(tmp_path, backbone_paths))["model"]
    with caplog.at_level("WARNING", logger=trainer.__name__):
        model, _ = trainer.build_model(model_section, "bfloat16")
    assert model.decoder.dtype == torch.bfloat16  # the recipe's choice stands; the warning says what to change
    warned = "Set training.backbone_dtype=float32 on this machine" in caplog.text
    assert warned == slow_half_precision
