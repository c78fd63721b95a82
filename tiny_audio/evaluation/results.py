"""Evaluation results: the record of one model on one dataset, and its two files.

`outputs/eval_<dataset>_<model>/results.txt` is for people (summary, then every sample's reference and prediction);
`results.json` is for programs (the leaderboard, a model card) and is the source of truth: `EvalResult.load` reads
it back. `SCHEMA_VERSION` goes up when a field changes meaning, so old files can still be told apart (2: `failed`
became the list of failed samples; it was their count).
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import MISSING, asdict, dataclass, field, fields
from pathlib import Path

__all__ = [
    "RESULTS_JSON",
    "RESULTS_TXT",
    "SCHEMA_VERSION",
    "EvalResult",
    "SampleRow",
    "comparison_table",
    "format_failure",
    "format_sample",
    "output_dir",
    "sanitize",
]

SCHEMA_VERSION = 2
RESULTS_JSON = "results.json"
RESULTS_TXT = "results.txt"


def sanitize(name: str) -> str:
    """A path-safe label: "mazesmazes/tiny-audio" -> "mazesmazes_tiny-audio", "/tmp/m" -> "tmp_m"."""
    cleaned = re.sub(r"[^A-Za-z0-9._-]+", "_", name.strip())
    cleaned = re.sub(r"_+", "_", cleaned).strip("_.")
    return cleaned or "unnamed"


def output_dir(base: str | Path, dataset: str, model: str, split: str | None = None) -> Path:
    """Where one run's files go: <base>/eval_<dataset>_<model>, like the course's eval_loquacious_mazesmazes_tiny-audio.

    `split` is given only when it is not the dataset's default, and is then added to the dataset part
    ("corpus-validation"), so that runs on two splits of one dataset do not overwrite each other.
    """
    dataset_label = f"{dataset}-{split}" if split else dataset
    return Path(base) / f"eval_{sanitize(dataset_label)}_{sanitize(model)}"


@dataclass
class SampleRow:
    index: int  # 1-based, as printed ("Sample 1")
    id: str
    reference: str
    hypothesis: str
    audio_seconds: float
    time: float  # wall seconds spent on this sample (its batch's time / batch size)
    wer: float | None  # None when skipped (empty normalised reference)
    errors: int = 0  # S + D + I
    reference_words: int = 0
    skipped: bool = False
    error: str | None = None  # the exception text if the system failed on this clip (scored as an empty output)
    speaker: str | None = None  # the dataset's speaker column, when it has one
    context: list[str] | None = None  # the names and words the system was told to expect for this clip


@dataclass
class EvalResult:
    model: str
    system: str  # tiny-audio / whisper / transformers / pocketsphinx
    dataset: str
    dataset_id: str  # Hub id or local path
    config: str | None
    split: str | None
    samples: int  # samples scored (skipped ones excluded)
    skipped: int  # samples with an empty normalised reference
    wer: float  # corpus WER, fraction
    substitutions: int
    deletions: int
    insertions: int
    hits: int
    reference_words: int
    rtfx: float | None  # audio seconds / wall seconds, warm-up excluded; None if nothing was timed
    audio_seconds: float  # all samples
    timed_audio_seconds: float  # the audio RTFx is computed over (warm-up batch excluded)
    timed_wall_seconds: float
    avg_time_per_sample: float
    date: str  # ISO 8601, UTC
    commit: str | None  # the model's git HEAD or Hub revision
    model_version: str | None = None  # package version, for baselines that ship in a package (pocketsphinx)
    batch_size: int = 1
    device: str | None = None
    # The weights' dtype as loaded, per part when they differ ("float32 (encoder, projector), bfloat16 (decoder)");
    # None for systems without torch weights. A bf16 decoder moves a WER: 13.2% vs 12.1% (float32) on dev-real.
    dtype: str | None = None
    # Samples that failed, in order: {"index", "id", "stage", "error"}. Stage "decode": the audio could not be read
    # (no row, not scored); "transcribe": the system raised (its row scored as an empty output).
    failed: list[dict] = field(default_factory=list)
    warmup_excluded: bool = True
    context: list[str] | None = None  # told for every clip (--context); each row says what its clip was given
    schema_version: int = SCHEMA_VERSION
    rows: list[SampleRow] = field(default_factory=list)

    # -- files -----------------------------------------------------------------------------------------------

    def to_dict(self) -> dict:
        data = asdict(self)
        for key in ("wer", "rtfx"):  # JSON has no NaN/inf
            value = data[key]
            if isinstance(value, float) and not math.isfinite(value):
                data[key] = None
        for row in data["rows"]:
            if isinstance(row["wer"], float) and not math.isfinite(row["wer"]):
                row["wer"] = None
        return data

    @classmethod
    def from_dict(cls, data: dict) -> EvalResult:
        required = [f.name for f in fields(cls) if f.default is MISSING and f.default_factory is MISSING]
        missing = [name for name in required if name not in data]
        if missing:
            raise ValueError(f"not a tiny-audio results.json: missing fields {missing}")
        known = {f.name for f in fields(cls)}
        values = {key: value for key, value in data.items() if key in known}  # newer files may add fields
        row_fields = {f.name for f in fields(SampleRow)}
        values["rows"] = [
            SampleRow(**{k: v for k, v in row.items() if k in row_fields}) for row in data.get("rows", [])
        ]
        if not isinstance(values.get("failed", []), list):  # schema 1 kept a count; its rows still name them
            values["failed"] = [
                {"index": row.index, "id": row.id, "stage": "transcribe", "error": row.error}
                for row in values["rows"]
                if row.error
            ]
        return cls(**values)

    def write(self, directory: str | Path) -> Path:
        """Write results.json and results.txt into `directory` (created); returns the directory."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        (directory / RESULTS_JSON).write_text(json.dumps(self.to_dict(), indent=2, ensure_ascii=False) + "\n")
        (directory / RESULTS_TXT).write_text(self.to_text(), encoding="utf-8")
        return directory

    @classmethod
    def load(cls, path: str | Path) -> EvalResult:
        """Read a results.json (or the directory holding one)."""
        path = Path(path)
        if path.is_dir():
            path = path / RESULTS_JSON
        return cls.from_dict(json.loads(path.read_text(encoding="utf-8")))

    # -- text ------------------------------------------------------------------------------------------------

    def summary_lines(self) -> list[str]:
        where = ", ".join(
            part
            for part in (self.dataset_id, self.config and f"config {self.config}", self.split and f"split {self.split}")
            if part
        )
        rtfx = f"{self.rtfx:.1f}" if self.rtfx is not None else "n/a"
        warmup = "first batch excluded as warm-up" if self.warmup_excluded else "single batch, warm-up included"
        lines = [
            f"Model: {self.model} ({self.system})",
            f"Dataset: {self.dataset} ({where})",
            f"Date: {self.date}",
            *self._version_lines(),
            f"Samples: {self.samples} scored, {self.skipped} skipped (empty reference)" + self._failed_summary(),
            f"Corpus WER: {100 * self.wer:.2f}% (S={self.substitutions}, D={self.deletions}, I={self.insertions}, "
            f"reference words={self.reference_words})",
            f"Avg Time/Sample: {self.avg_time_per_sample:.2f}s",
            f"Device: {self.device or 'cpu'}; dtype: {self.dtype or 'n/a'}; batch size: {self.batch_size}",
            f"RTFx: {rtfx} ({self.timed_audio_seconds:.1f} s of audio in {self.timed_wall_seconds:.1f} s; {warmup})",
        ]
        with_context = sum(1 for row in self.rows if row.context)
        if self.context or with_context:
            every = f"{', '.join(self.context)} for every clip; " if self.context else ""
            lines.append(f"Context: {every}{with_context} of {len(self.rows)} clips given one (docs/context.md)")
        return lines

    def _version_lines(self) -> list[str]:
        """What version of the model ran: its git or Hub commit (a cloned or cached repository) and its package
        version, each when known. A model directory that is not a repository of its own (a training run's model,
        the embedded default model) has no commit of its own: the line is left out, rather than "unknown"."""
        if self.commit:
            return [f"Commit: {self.commit}" + (f" (version {self.model_version})" if self.model_version else "")]
        return [f"Version: {self.model_version}"] if self.model_version else []

    def _failed_summary(self) -> str:
        undecoded = sum(1 for failure in self.failed if failure["stage"] == "decode")
        system_errors = len(self.failed) - undecoded
        parts = [f"{undecoded} not decoded (not scored)"] if undecoded else []
        parts += [f"{system_errors} system errors (scored as empty output)"] if system_errors else []
        return f", {len(self.failed)} failed: {', '.join(parts)}" if parts else ""

    def failed_lines(self) -> list[str]:
        """One line per failed sample (`format_failure`), under a heading; empty when none failed."""
        if not self.failed:
            return []
        return ["", f"Failed samples ({len(self.failed)}):", *(format_failure(failure) for failure in self.failed)]

    def by_speaker(self) -> list[tuple[str, int, int, int]]:
        """(speaker, clips, errors, reference words) per speaker, most errors first; empty when the dataset names
        no speakers. Where a test set's errors sit: a few unheard voices or everywhere."""
        totals: dict[str, list[int]] = {}
        for row in self.rows:
            if row.speaker is None or row.skipped:
                continue
            entry = totals.setdefault(row.speaker, [0, 0, 0])
            entry[0] += 1
            entry[1] += row.errors
            entry[2] += row.reference_words
        return sorted(((name, *counts) for name, counts in totals.items()), key=lambda item: (-item[2], item[0]))

    def speaker_lines(self) -> list[str]:
        speakers = self.by_speaker()
        if not speakers:
            return []
        lines = ["", "WER by speaker (most errors first):", "", "| speaker | clips | errors | words | WER |"]
        lines.append("| --- | ---: | ---: | ---: | ---: |")
        for name, clips, errors, words in speakers:
            lines.append(f"| {name} | {clips} | {errors} | {words} | {100 * errors / max(words, 1):.1f}% |")
        return lines

    def to_text(self) -> str:
        out = self.summary_lines() + self.failed_lines() + self.speaker_lines() + ["", "Per-sample results:", ""]
        for row in self.rows:
            out.extend(format_sample(row))
        return "\n".join(out) + "\n"


def format_sample(row: SampleRow) -> list[str]:
    """The course's per-sample block: "Sample 1: WER = 8.33%, Time = 1.23s", Ref, Pred, blank line."""
    if row.skipped:
        head = f"Sample {row.index}: WER = n/a (empty reference, skipped), Time = {row.time:.2f}s"
    else:
        head = f"Sample {row.index}: WER = {100 * row.wer:.2f}%, Time = {row.time:.2f}s"
    lines = [head, f"  Ref:  {row.reference}", f"  Pred: {row.hypothesis}"]
    if row.context:
        lines.append(f"  Context: {', '.join(row.context)}")
    if row.error:
        lines.append(f"  Error: {row.error}")
    lines.append("")
    return lines


def format_failure(failure: dict) -> str:
    """One line for a sample that failed: which one, what happens to it, and why."""
    what = "not decoded, not scored" if failure["stage"] == "decode" else "system error, scored as empty output"
    return f"FAILED sample {failure['index']} ({failure['id']}): {what}: {failure['error']}"


def comparison_table(results: list[EvalResult]) -> str:
    """Several models on the same dataset, side by side (markdown), best WER first."""
    header = (
        "| model | system | corpus WER | S | D | I | ref words | samples | skipped | RTFx | commit |\n"
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |"
    )
    lines = [header]
    for result in sorted(results, key=lambda r: r.wer):
        rtfx = f"{result.rtfx:.1f}" if result.rtfx is not None else "n/a"
        commit = (result.commit or "")[:12] or (result.model_version or "")
        lines.append(
            f"| {result.model} | {result.system} | {100 * result.wer:.2f}% | {result.substitutions} | "
            f"{result.deletions} | {result.insertions} | {result.reference_words} | {result.samples} | "
            f"{result.skipped} | {rtfx} | {commit} |"
        )
    ids = {tuple(row.id for row in result.rows) for result in results}
    if len(ids) > 1:
        lines.append("")
        lines.append("Note: the models did not see the same samples (a run failed or the source changed).")
    return "\n".join(lines)
