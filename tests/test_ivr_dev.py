"""The real-speech development set `ivr-dev` (tiny_audio/evaluation/ivr_dev.py): it loads as its manifest says, is
listed, says where to put it when absent, reads from a folder given by path or TINY_AUDIO_IVR_DEV_DIR, and no
training recipe or corpus builder names it (nor dev-real): they are measures, never training data."""

from __future__ import annotations

import csv
import subprocess
import sys
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import yaml

from tiny_audio.evaluation import cli as eval_cli
from tiny_audio.evaluation.datasets import resolve_dataset
from tiny_audio.evaluation.ivr_dev import ENV_VAR, default_root, ivr_dev_root
from tiny_audio.evaluation.loaders import count_samples, iter_samples
from tiny_audio.evaluation.results import EvalResult, SampleRow
from tiny_audio.evaluation.scoring import count_words

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import ivr_dev_categories  # noqa: E402  (benchmarks/ivr_dev_categories.py: WER per kind of prompt)

ROOT = Path(__file__).resolve().parents[1]
needs_ivr_dev = pytest.mark.skipif(
    not (ivr_dev_root() / "manifest.tsv").is_file(), reason=f"needs the ivr-dev folder ({ivr_dev_root()})"
)
# Names that mean the development sets: a recipe or corpus builder holding one of them could train on a measure.
DEV_SET_NAMES = ("ivr-dev", "ivr_dev", "asterisk", "core-sounds", "dev-real", "dev_real", "pocketsphinx")


def _manifest(root: Path) -> list[dict[str, str]]:
    with (root / "manifest.tsv").open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle, delimiter="\t"))


def _eval_args(*argv: str):
    import argparse

    parser = argparse.ArgumentParser()
    eval_cli.register(parser.add_subparsers(dest="command"))
    return parser.parse_args(["eval", *argv])


def test_default_folder_is_shared_beside_the_repo(monkeypatch):
    monkeypatch.delenv(ENV_VAR, raising=False)
    assert default_root() == ROOT.parent / "shared" / "data" / "ivr-dev"
    assert ivr_dev_root() == default_root()


@needs_ivr_dev
def test_ivr_dev_loads_420_clips_as_its_manifest_says():
    source = resolve_dataset("ivr-dev", split="test")  # the course's `--split test` must not break it
    assert (source.name, source.kind) == ("ivr-dev", "manifest") and count_samples(source) == 420
    rows = _manifest(ivr_dev_root())
    samples = list(iter_samples(source))
    assert [s.id for s in samples] == [Path(row["file"]).stem for row in rows]
    assert [s.text for s in samples] == [row["text"] for row in rows]
    assert sum(len(s.text.split()) for s in samples) == 2505
    assert sum(count_words(s.text) for s in samples) == 2541  # Whisper-normalised: the "ref words" of eval
    assert not any(s.error for s in samples)
    assert all(abs(s.seconds - float(row["seconds"])) < 0.01 for s, row in zip(samples, rows, strict=True))
    assert 18.5 < sum(s.seconds for s in samples) / 60 < 19


@needs_ivr_dev
def test_ivr_dev_is_listed_with_its_folder(capsys, monkeypatch):
    monkeypatch.delenv(ENV_VAR, raising=False)
    assert eval_cli.run(_eval_args("--list-datasets")) == 0
    listed = [line for line in capsys.readouterr().out.splitlines() if line.strip().startswith("ivr-dev")]
    assert len(listed) == 1 and str(default_root()) in listed[0] and "absent" not in listed[0]
    assert "CC-BY-SA 3.0" in listed[0] and "Allison Smith" in listed[0]


def test_missing_folder_says_where_it_looked_and_how_to_point_at_it(tmp_path, monkeypatch, capsys):
    absent = tmp_path / "nowhere"
    monkeypatch.setenv(ENV_VAR, str(absent))
    with pytest.raises(FileNotFoundError, match=f"no manifest.tsv in {absent}.*{ENV_VAR}=.*--dataset /path/to/ivr-dev"):
        resolve_dataset("ivr-dev")
    assert eval_cli.run(_eval_args("pocketsphinx", "--dataset", "ivr-dev")) == 2
    error = capsys.readouterr().err.strip()
    assert error.startswith("error: ivr-dev: no manifest.tsv") and "\n" not in error
    assert eval_cli.run(_eval_args("--list-datasets")) == 0
    assert f"{absent} [absent: set {ENV_VAR}]" in capsys.readouterr().out
    monkeypatch.delenv(ENV_VAR)
    with pytest.raises(ValueError, match="no configs"):
        resolve_dataset("ivr-dev", config="small")


def _small_copy(folder: Path, clips: int = 3) -> list[dict[str, str]]:
    """A folder laid out like ivr-dev, with `clips` short clips of synthetic audio."""
    (folder / "audio").mkdir(parents=True)
    rows = [{"file": f"audio/digits__{n}.flac", "text": str(n), "seconds": "0.50"} for n in range(clips)]
    for row in rows:
        sf.write(folder / row["file"], np.full(8000, 0.01, dtype=np.float32), 16000)
    with (folder / "manifest.tsv").open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=["file", "text", "seconds"], delimiter="\t")
        writer.writeheader()
        writer.writerows(rows)
    return rows


def test_the_folder_can_be_named_by_environment_or_by_path(tmp_path, monkeypatch):
    rows = _small_copy(tmp_path / "elsewhere")
    monkeypatch.setenv(ENV_VAR, str(tmp_path / "elsewhere"))
    source = resolve_dataset("ivr-dev")
    assert source.name == "ivr-dev" and count_samples(source) == 3
    assert [s.id for s in iter_samples(source)] == ["digits__0", "digits__1", "digits__2"]
    monkeypatch.delenv(ENV_VAR)
    # --dataset FOLDER: a folder holding its manifest reads as that manifest, named after the folder
    by_path = resolve_dataset(str(tmp_path / "elsewhere"))
    assert (by_path.name, by_path.kind) == ("elsewhere", "manifest")
    assert [s.text for s in iter_samples(by_path)] == [row["text"] for row in rows]
    # an audiofolder's metadata.csv wins over a manifest beside it
    (tmp_path / "elsewhere" / "metadata.csv").write_text("file_name,text\naudio/digits__0.flac,zero\n")
    assert resolve_dataset(str(tmp_path / "elsewhere")).kind == "audiofolder"


@needs_ivr_dev
def test_every_clip_has_a_kind_of_prompt():
    kinds = Counter(ivr_dev_categories.category(Path(row["file"]).stem) for row in _manifest(ivr_dev_root()))
    assert sum(kinds.values()) == 420 and kinds["numbers (`digits__7`)"] == 25
    assert kinds["ordinals (`digits__h-7`)"] == 27 and kinds["single letters (`letters__x`)"] == 21
    assert kinds["prompts (every other clip)"] == 267 and len(kinds) == len(ivr_dev_categories.CATEGORIES)


def test_breakdown_counts_each_models_errors_per_kind(tmp_path):
    def result(model: str, errors: list[int]) -> EvalResult:
        ids, words = ["digits__7", "digits__h-2", "letters__b", "agent-loginok"], [1, 1, 1, 3]
        rows = [
            SampleRow(index=i + 1, id=clip, reference="r", hypothesis="h", audio_seconds=1.0, time=0.1,
                      wer=e / w, errors=e, reference_words=w)
            for i, (clip, e, w) in enumerate(zip(ids, errors, words, strict=True))
        ]  # fmt: skip
        return EvalResult(
            model=model, system="tiny-audio", dataset="ivr-dev", dataset_id="ivr-dev", config=None, split=None,
            samples=4, skipped=0, wer=sum(errors) / 6, substitutions=sum(errors), deletions=0, insertions=0,
            hits=6 - sum(errors), reference_words=6, rtfx=None, audio_seconds=4.0, timed_audio_seconds=0.0,
            timed_wall_seconds=0.0, avg_time_per_sample=0.1, date="2026-12-07T00:00:00+00:00", commit=None, rows=rows,
        )  # fmt: skip

    result("a", [1, 0, 1, 1]).write(tmp_path / "eval_ivr-dev_a")
    result("b", [0, 0, 0, 3]).write(tmp_path / "eval_ivr-dev_b")
    lines = ivr_dev_categories.table(ivr_dev_categories.results_in([str(tmp_path)])).splitlines()
    assert lines[0] == "| kind of clip | clips | words | a | b |"
    assert "| numbers (`digits__7`) | 1 | 1 | 100.0% (1) | 0.0% (0) |" in lines
    assert "| prompts (every other clip) | 1 | 3 | 33.3% (1) | 100.0% (3) |" in lines
    assert lines[-1] == "| all | 4 | 6 | 50.0% (3) | 50.0% (3) |"
    assert not any(line.startswith("| NATO alphabet") for line in lines)  # no clip of that kind in these results


def _strings(value) -> list[str]:
    if isinstance(value, dict):
        return [text for key, item in value.items() for text in (str(key), *_strings(item))]
    if isinstance(value, list):
        return [text for item in value for text in _strings(item)]
    return [str(value)]


@pytest.mark.parametrize("recipe_path", sorted((ROOT / "configs").glob("*.yaml")), ids=lambda path: path.stem)
def test_no_recipe_trains_or_validates_on_a_development_set(recipe_path):
    # Parsed values only: comments may quote a figure measured on dev-real, a value would read it.
    recipe = yaml.safe_load(recipe_path.read_text(encoding="utf-8"))
    named = [text for text in _strings(recipe) if any(name in text.lower() for name in DEV_SET_NAMES)]
    assert named == [], f"{recipe_path.name} names a development set: {named}"
    assert "ivr" not in recipe_path.read_text(encoding="utf-8").lower()


def test_no_corpus_builder_or_training_source_names_ivr_dev():
    # dev-real is named in tiny_audio/data only to hold its sentences out (dev_real.py, build.py) and to load it for
    # evaluation (load.py); ivr-dev is read by tiny_audio/evaluation alone.
    sources = sorted((ROOT / "tiny_audio" / "data").rglob("*.py")) + sorted(
        (ROOT / "tiny_audio" / "training").rglob("*.py")
    )
    assert len(sources) > 20
    named = [
        str(path.relative_to(ROOT))
        for path in sources
        if any(name in path.read_text(encoding="utf-8").lower() for name in DEV_SET_NAMES[:4])
    ]
    assert named == []


@needs_ivr_dev
@pytest.mark.parametrize("source", ["everyday", "coined"])
def test_no_generated_utterance_shares_five_words_with_an_ivr_dev_prompt(source):
    # The generated text sources (`everyday`: numbers, codes, spelled letters, written for the kinds of prompt ivr-dev
    # holds; `coined`: everyday requests with invented names) must not say a measured prompt: no five-word run
    # (normalised) of a generated utterance is in any ivr-dev transcript.
    from tiny_audio.data.coined import coined_texts
    from tiny_audio.data.everyday import everyday_texts
    from tiny_audio.data.text import normalize

    def runs(text: str) -> set[tuple[str, ...]]:
        words = normalize(text).split()
        return {tuple(words[i : i + 5]) for i in range(len(words) - 4)}

    prompts = set().union(*(runs(row["text"]) for row in _manifest(ivr_dev_root())))
    assert len(prompts) > 1000
    texts = set({"everyday": everyday_texts, "coined": coined_texts}[source]())
    shared = sorted({" ".join(run) for text in texts for run in runs(text) & prompts})
    assert shared == []


@pytest.mark.slow
@needs_ivr_dev
def test_embedded_model_reads_a_few_ivr_dev_clips_through_the_cli(tmp_path):
    command = [
        sys.executable,
        "-m",
        "tiny_audio.cli",
        "eval",
        "tiny_audio/default_model",
        "--dataset",
        "ivr-dev",
        "--max-samples",
        "4",
        "--output-dir",
        str(tmp_path),
        "--no-progress",
    ]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    result = EvalResult.load(tmp_path / "eval_ivr-dev_tiny_audio_default_model")
    assert (result.dataset, result.samples, result.failed) == ("ivr-dev", 4, [])
    assert [row.id for row in result.rows] == ["added", "agent-alreadyon", "agent-incorrect", "agent-loginok"]
    assert result.reference_words == 32 and result.wer < 1.0  # it reads words, not noise
