"""Training past bad data and bad checkpoints (issues 38, 48): a batch whose every sample fails, empty transcripts, a
corrupt evaluation clip, the names of skipped samples across a resume, a checkpoint half written when the run was
killed, a resumed run that replays the losses of the run it resumed, and every kind of training source loading."""

from __future__ import annotations

import io
import json
import logging

import datasets
import numpy as np
import pytest
import soundfile
import tiny_backbones
import yaml
from test_training import run_train, tiny_recipe, write_parquet_corpus

from tiny_audio.training.checkpoints import last_complete_checkpoint
from tiny_audio.training.collator import PLACEHOLDER, ASRCollator, read_skip_log
from tiny_audio.training.filtering import filter_examples
from tiny_audio.training.sources import AUDIO, AUDIO_STRUCT, build_training_mix


def flac(seconds: float, seed: int) -> bytes:
    buffer = io.BytesIO()
    soundfile.write(buffer, tiny_backbones.tone(seconds, 200 + 150 * (seed % 4), seed=seed), 16_000, format="FLAC")
    return buffer.getvalue()


def corpus_with_bad_rows(path, corrupt_name: str = "corrupt.flac") -> None:
    """A corrupt clip first, three good ones, an empty transcript last (which the filter drops)."""
    rows = {
        "audio": [{"bytes": b"not audio at all", "path": corrupt_name}]
        + [{"bytes": flac(0.5, seed), "path": f"clip{seed}.flac"} for seed in range(3)]
        + [{"bytes": flac(0.5, 9), "path": "empty.flac"}],
        "text": ["corrupt clip", "hello", "hi there", "good day", "  "],
        "duration": [0.5] * 5,
    }
    features = datasets.Features(
        {"audio": AUDIO_STRUCT, "text": datasets.Value("string"), "duration": datasets.Value("float32")}
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    datasets.Dataset.from_dict(rows, features=features).cast_column("audio", AUDIO).to_parquet(str(path))


def test_a_batch_whose_every_sample_fails_becomes_a_placeholder_and_is_logged(backbone_paths, tmp_path):
    _, processor = tiny_backbones.build_model(backbone_paths["hubert"], backbone_paths["llama"])
    collator = ASRCollator(processor, "Transcribe the audio.", skip_log=tmp_path / "skipped.jsonl")
    batch = collator([{"audio": {"bytes": b"not audio", "path": "broken.flac"}, "text": "x"}])
    assert batch[PLACEHOLDER] is True and batch["input_ids"].shape[0] == 1
    assert batch["labels"][0][batch["labels"][0] != -100].tolist() == [processor.tokenizer.eos_token_id]
    good = {"audio": {"bytes": flac(0.5, 1), "path": "good.flac"}, "text": "hello"}
    assert PLACEHOLDER not in collator([good])
    collator([{"audio": {"bytes": b"", "path": "broken.flac"}, "text": "x"}])  # skipped again: named once
    skipped = read_skip_log(tmp_path / "skipped.jsonl")
    assert list(skipped) == ["broken.flac"] and "Cannot decode" in skipped["broken.flac"]


def test_filter_examples_names_what_it_drops(tmp_path, caplog):
    corpus_with_bad_rows(tmp_path / "train.parquet")
    dataset = datasets.load_dataset("parquet", data_files=str(tmp_path / "train.parquet"), split="train")
    with caplog.at_level(logging.INFO):
        kept = filter_examples(dataset, 0.3, 30.0, 200, source="parquet train.parquet")
    assert kept["text"] == ["corrupt clip", "hello", "hi there", "good day"]
    assert "parquet train.parquet: dropped 1 of 5 examples for empty transcript: row 4 (empty.flac)" in caplog.text
    caplog.clear()
    with caplog.at_level(logging.INFO):
        streamed = filter_examples(dataset.to_iterable_dataset(), 0.3, 0.4, 200, source="streamed")
        assert list(streamed) == []  # every clip is 0.5 s: over max_seconds
    assert "streamed: dropped a streamed example (empty.flac) for empty transcript" in caplog.text
    assert "streamed: dropped a streamed example (clip0.flac) for duration outside [0.3, 0.4] s" in caplog.text


def test_the_newest_checkpoint_whose_trainer_state_parses_is_resumed(tmp_path, caplog):
    assert last_complete_checkpoint(tmp_path / "nothing yet") is None
    for step, state in [(2, '{"global_step": 2}'), (10, '{"global_step": 10}'), (12, '{"global_s'), (14, "")]:
        (tmp_path / f"checkpoint-{step}").mkdir()
        (tmp_path / f"checkpoint-{step}" / "trainer_state.json").write_text(state)
    (tmp_path / "checkpoint-16").mkdir()  # killed before its state was written
    (tmp_path / "checkpoint-3.tmp").mkdir()  # not a checkpoint name
    with caplog.at_level(logging.WARNING):
        assert last_complete_checkpoint(tmp_path) == str(tmp_path / "checkpoint-10")
    for step, problem in [(16, "is missing"), (14, "is empty"), (12, "is not whole JSON")]:
        assert f"not resuming from {tmp_path / f'checkpoint-{step}'}: its trainer_state.json {problem}" in caplog.text


def test_batch_size_1_run_past_a_corrupt_clip_resumes_past_a_half_written_checkpoint(tmp_path, backbone_paths):
    """At batch size 1 the corrupt clip is a batch alone; a resume from before it still names it at the end. A
    corrupt clip in data.eval is skipped and named the same way, by every attempt."""
    corpus_with_bad_rows(tmp_path / "bad" / "train.parquet")
    recipe_path = tiny_recipe(
        tmp_path,
        backbone_paths,
        max_steps=4,
        per_device_train_batch_size=1,
        train_sampling_strategy="sequential",  # the corrupt clip is step 1, before checkpoint-2
        eval_strategy="no",
        save_steps=2,
    )
    recipe = yaml.safe_load(recipe_path.read_text())
    corpus_with_bad_rows(tmp_path / "bad" / "eval.parquet", corrupt_name="corrupt-eval.flac")
    recipe["data"] = {
        "train": [{"parquet": str(tmp_path / "bad" / "train.parquet")}],
        "eval": {"parquet": str(tmp_path / "bad" / "eval.parquet")},  # a corrupt clip there too: skipped, named
    }
    recipe["augmentation"] = {}
    recipe_path.write_text(yaml.safe_dump(recipe))
    run_dir = tmp_path / "run"
    first = run_train(recipe_path)
    log = first.communicate(timeout=600)[0]
    assert first.returncode == 0, log[-3000:]
    assert "skipping sample corrupt.flac" in log and "every sample of a batch of 1 failed" in log
    assert "skipping sample corrupt-eval.flac" in log and "Traceback" not in log
    assert "dropped 1 of 5 examples for empty transcript: row 4 (empty.flac)" in log
    history = json.loads((run_dir / "checkpoint-4" / "trainer_state.json").read_text())["log_history"]
    losses = [entry["loss"] for entry in history if "loss" in entry]  # step 1 is the placeholder's
    assert losses[0] == 0 and all(np.isfinite(losses)) and all(loss > 0 for loss in losses[1:])
    # As if killed while checkpoint-4 was written: its trainer state cut short, no final model yet.
    state = run_dir / "checkpoint-4" / "trainer_state.json"
    state.write_text(state.read_text()[:40])
    for file in (run_dir / "model").iterdir():
        file.unlink()
    (run_dir / "model").rmdir()
    second = run_train(recipe_path)
    log = second.communicate(timeout=600)[0]
    assert second.returncode == 0, log[-3000:]
    assert f"not resuming from {run_dir / 'checkpoint-4'}: its trainer_state.json is not whole JSON" in log
    assert f"resuming from {run_dir / 'checkpoint-2'}" in log and "Traceback" not in log
    assert "skipping sample corrupt.flac" not in log  # this attempt never met the corrupt training clip...
    assert "skipping sample corrupt-eval.flac" in log  # (every attempt reads data.eval)
    summary = json.loads((run_dir / "model" / "training_summary.json").read_text())
    assert summary["global_step"] == 4  # ...but names it:
    assert list(summary["skipped_samples"]) == ["corrupt-eval.flac", "corrupt.flac"]
    assert 0 <= summary["final_eval"]["eval_wer"]  # on the three good clips
    assert "2 samples were skipped (all attempts; reasons in training_summary.json): corrupt-eval.flac" in log


def _step_losses(checkpoint) -> dict[int, float]:
    history = json.loads((checkpoint / "trainer_state.json").read_text())["log_history"]
    return {entry["step"]: entry["loss"] for entry in history if "loss" in entry}


def test_a_resumed_run_replays_the_losses_of_the_run_it_resumed(tmp_path, backbone_paths, monkeypatch):
    """9 steps straight, then the same run resumed from its step-6 checkpoint (all a kill there leaves): steps 7-9
    log the same losses. 7 clips (6 + 1 non-speech) in batches of 2 make 4 steps an epoch: the resume lands 2
    batches into the second epoch and crosses into the third. The default recipe's randomness is all in:
    length-grouped batches, waveform and log-mel augmentation in a dataloader worker, non-speech clips, and the CTC
    loss with random negatives (the tiny vocabulary is smaller than the default 4,096 negatives, hence fewer)."""
    import functools
    import shutil

    from tiny_audio import ASRModel
    from tiny_audio.training.recipe import load_recipe
    from tiny_audio.training.trainer import train

    monkeypatch.setattr(ASRModel, "use_ctc_loss", functools.partialmethod(ASRModel.use_ctc_loss, negatives=8))
    recipe_path = tiny_recipe(
        tmp_path,
        backbone_paths,
        max_steps=9,
        per_device_train_batch_size=2,
        train_sampling_strategy="group_by_length",
        length_column_name="duration",
        eval_strategy="no",
        save_steps=3,
        ctc_weight=0.5,
        ctc_only_steps=2,
        dataloader_num_workers=1,
    )
    recipe = load_recipe(recipe_path)
    recipe["data"]["train"] = [{"parquet": str(write_parquet_corpus(tmp_path / "small", count=6))}]
    recipe["augmentation"] = {
        "speed_probability": 0.5,
        "noise_probability": 0.5,
        "gain_probability": 0.5,
        "frequency_mask_probability": 0.5,
        "time_mask_probability": 0.5,
    }
    train(recipe)
    run_dir = tmp_path / "run"
    straight = _step_losses(run_dir / "checkpoint-9")
    shutil.rmtree(run_dir / "checkpoint-9")
    shutil.rmtree(run_dir / "model")
    train(recipe)
    resumed = _step_losses(run_dir / "checkpoint-9")
    assert sorted(straight) == sorted(resumed) == list(range(1, 10))
    for step in (7, 8, 9):
        assert resumed[step] == pytest.approx(straight[step], abs=1e-5), (step, straight, resumed)


def test_every_kind_of_training_source_loads_and_collates(tmp_path, backbone_paths):
    """Each kind `sources.py` accepts, made here from files: a corpus in `tiny-audio data synth`'s layout, a parquet
    file, an audiofolder (metadata.csv; one of its files corrupt), and a dataset in a Hub repository's layout
    (README configs + parquet shards, LibriSpeech's schema) read from disk; then all four in one streamed mix."""
    from hub_datasets import write_dataset_repo

    corpus = write_parquet_corpus(tmp_path / "corpus" / "data", count=4)
    corpus.rename(corpus.with_name("train-00000-of-00001.parquet"))
    folder = tmp_path / "folder"
    folder.mkdir()
    for index in range(3):
        (folder / f"clip{index}.flac").write_bytes(flac(0.5, index))
    (folder / "broken.flac").write_bytes(b"not audio")
    (folder / "metadata.csv").write_text(
        "file_name,text\nclip0.flac,hello\nclip1.flac,hi there\nbroken.flac,broken\nclip2.flac,good day\n"
    )
    write_dataset_repo(tmp_path / "librispeech", "librispeech", {"train.100": ("clean", 4)}, flac(0.8, 5))
    specs = {
        "corpus": {"corpus": str(tmp_path / "corpus"), "split": "train"},
        "parquet": {"parquet": str(write_parquet_corpus(tmp_path / "parquet", count=4))},
        "audiofolder": {"audiofolder": str(folder)},
        "hub": {"hub": {"path": str(tmp_path / "librispeech"), "name": "clean", "split": "train.100"}},
    }
    _, processor = tiny_backbones.build_model(backbone_paths["hubert"], backbone_paths["llama"])
    collator = ASRCollator(processor, "Transcribe the audio.", skip_log=tmp_path / "skipped.jsonl")
    for kind, spec in specs.items():
        rows = list(build_training_mix({"train": [spec]}, seed=0))
        assert len(rows) == 4 and all(row["text"].strip() for row in rows), kind
        batch = collator(rows)
        assert PLACEHOLDER not in batch and batch["input_ids"].shape[0] == (3 if kind == "audiofolder" else 4), kind
    assert list(read_skip_log(tmp_path / "skipped.jsonl")) == [str(folder / "broken.flac")]
    mix = build_training_mix({"train": list(specs.values())}, seed=0)  # the Hub source streams the whole mix
    assert len(list(mix)) >= 16


def test_batch_numbering_gives_a_batch_the_same_draws_whoever_collates_it(tmp_path, backbone_paths):
    """Batch 5 of epoch 1 draws the same augmentation collated by one process, by worker 1 of 2, or first after a
    resume that skipped 5 batches; another epoch or rank draws differently. Persistent workers, which would carry
    the numbering across epochs, are refused with augmentation on."""
    from unittest import mock

    from tiny_audio.training.recipe import load_recipe
    from tiny_audio.training.replay import BatchNumbering
    from tiny_audio.training.trainer import train

    def draw(numbering: BatchNumbering, calls: int, worker=None) -> float:
        with mock.patch("torch.utils.data.get_worker_info", return_value=worker):
            for _ in range(calls):
                numbering.next_generator()
            return numbering.next_generator().random()

    alone = BatchNumbering(seed=7)
    alone.start_epoch(1)
    in_worker = BatchNumbering(seed=7)
    in_worker.start_epoch(1)
    resumed = BatchNumbering(seed=7)
    resumed.start_epoch(1, first_batch=5)
    expected = draw(alone, 5)
    assert draw(in_worker, 2, mock.Mock(id=1, num_workers=2)) == expected  # worker 1 collates batches 1, 3, 5, ...
    assert draw(resumed, 0) == expected
    other_epoch, other_rank = BatchNumbering(seed=7), BatchNumbering(seed=7, rank=1)
    other_epoch.start_epoch(2)
    other_rank.start_epoch(1)
    assert expected not in (draw(other_epoch, 5), draw(other_rank, 5))
    recipe = load_recipe(tiny_recipe(tmp_path, backbone_paths, dataloader_num_workers=1))
    recipe["training"]["dataloader_persistent_workers"] = True
    with pytest.raises(ValueError, match="dataloader_persistent_workers"):
        train(recipe)
