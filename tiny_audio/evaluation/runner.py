"""The evaluation loop: batches of samples through a system, scored as they come, printed in the course's form.

Timing: only `system.transcribe` is timed (audio decoding and dataset download are not the model's cost, and the
Open ASR Leaderboard times the same way). The first batch is not counted in RTFx: it pays for lazy initialisation
(kernels, caches, memory pools), which would make short runs look slower than the model is. Its per-sample time is
still printed, and if the run is a single batch it is used anyway (`warmup_excluded` says which).

Failures never end a run; each is named in one line (printed even with --quiet) and listed in the result's `failed`:
- a sample whose audio cannot be decoded (a corrupt or missing file: the dataset's fault) is not scored, so every
  system is scored on the same decodable clips;
- if the system raises on a batch, its clips are retried one at a time and a clip that still fails is scored as an
  empty output (all deletions) with the error kept in its row: leaving it out would lower the WER of a system for
  failing, and two systems would no longer be scored on the same reference words.
If each of the first five samples fails, the run stops: that is a broken set-up, not a few hard clips.

Context (docs/context.md): `context` (tiny-audio eval --context) is told to the system for every clip, before the
clip's own (a `context` column of the dataset, unless `clip_context` is off); together they are judged once more by
the model's rules, and a clip whose joined context breaks them fails. Each row records the context its clip was given.
A system that cannot take a context fails the run when one is asked for every clip, and is given none from a column.

Scoring: the corpus WER of the run goes through tiny-audio's `evaluate` metric (`load_wer_metric`, loaded by path,
offline), the same figure a user gets from `evaluate.load(WER_METRIC)`; it is loaded before the first clip, so a
missing `evaluate` stops the run at once, not after the last clip. Its figures are `scoring.score`'s, as are each
row's (per sample) and the running checkpoints' (sums of the rows' counts, which add up to the corpus counts).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime, timezone
from itertools import islice

from tiny_audio.evaluation.datasets import DatasetSource
from tiny_audio.evaluation.failures import one_line
from tiny_audio.evaluation.loaders import EvalSample
from tiny_audio.evaluation.results import EvalResult, SampleRow, format_failure, format_sample
from tiny_audio.evaluation.scoring import WerResult, score
from tiny_audio.evaluation.systems import System
from tiny_audio.evaluation.wer_metric import load_wer_metric
from tiny_audio.model.context_words import check_context

__all__ = ["format_checkpoint", "model_dtype", "run_evaluation"]

RULE = "=" * 80
ABORT_AFTER = 5  # if the first this-many clips all fail, the set-up is broken: stop instead of scoring 100% WER


def format_checkpoint(samples: int, wer: float, avg_time: float) -> list[str]:
    """The course's checkpoint block."""
    return [
        RULE,
        f"CHECKPOINT @ {samples} samples:",
        f"  Corpus WER: {100 * wer:.2f}%",
        f"  Avg Time/Sample: {avg_time:.2f}s",
        RULE,
    ]


def model_dtype(system: System) -> str | None:
    """The dtype of the system's weights as loaded: "float32", or per part when a tiny-audio model's parts differ
    ("float32 (encoder, projector), bfloat16 (decoder)"); None for a system without torch weights (pocketsphinx)."""
    model = getattr(getattr(system, "pipe", None), "model", None)
    if model is None:
        return None
    parts = {name: getattr(model, name, None) for name in ("encoder", "projector", "decoder")}
    parts = {name: part for name, part in parts.items() if part is not None} or {"model": model}
    by_dtype: dict[str, list[str]] = {}
    for name, part in parts.items():
        dtype = str(next(part.parameters()).dtype).removeprefix("torch.")
        by_dtype.setdefault(dtype, []).append(name)
    if len(by_dtype) == 1:
        return next(iter(by_dtype))
    return ", ".join(f"{dtype} ({', '.join(names)})" for dtype, names in by_dtype.items())


def _batches(samples: Iterable[EvalSample], size: int) -> Iterator[list[EvalSample]]:
    iterator = iter(samples)
    while batch := list(islice(iterator, size)):
        yield batch


def _transcribe(
    system: System, batch: list[EvalSample], contexts: list[tuple[str, ...]]
) -> tuple[list[str], list[str | None]]:
    clips = [sample.audio for sample in batch]
    given = contexts if any(contexts) else None  # a system without context support is never handed one
    try:
        texts = system.transcribe(clips, given) if given else system.transcribe(clips)
        if len(texts) != len(clips):
            raise RuntimeError(f"{system.label} returned {len(texts)} texts for {len(clips)} clips")
        # Whisper's pipeline starts its texts with a space; stripped so that the printed Pred lines line up.
        return [(text or "").strip() for text in texts], [None] * len(clips)
    except Exception as err:  # any failure of a third-party model; retried per clip below
        if len(clips) == 1:
            return [""], [f"{type(err).__name__}: {one_line(str(err))}"]
    texts, errors = [], []
    for clip, context in zip(clips, contexts, strict=True):
        try:
            one = system.transcribe([clip], [context]) if context else system.transcribe([clip])
            texts.append(((one or [""])[0] or "").strip())
            errors.append(None)
        except Exception as err:  # recorded in the row (module docstring)
            texts.append("")
            errors.append(f"{type(err).__name__}: {one_line(str(err))}")
    return texts, errors


def run_evaluation(
    system: System,
    samples: Iterable[EvalSample],
    source: DatasetSource,
    batch_size: int = 1,
    checkpoint_every: int = 100,
    show_samples: bool = True,
    progress: bool = True,
    total: int | None = None,
    device: str | None = None,
    write: Callable[[str], None] | None = None,
    context: tuple[str, ...] = (),
    clip_context: bool = True,
) -> EvalResult:
    """Transcribe and score every sample; print per-sample lines and checkpoints; return the result.

    `write` receives each output line (default: printed above the progress bar). `context`: names and words told to
    the system for every clip; `clip_context`: also each clip's own (module docstring).
    """
    from tqdm.auto import tqdm

    if batch_size < 1:
        raise ValueError(f"batch size must be at least 1, got {batch_size}")
    context = check_context(context)
    if context and not getattr(system, "takes_context", False):
        raise ValueError(f"--context: {system.label} ({system.kind}) takes no context; only tiny-audio models do.")
    clip_context = clip_context and getattr(system, "takes_context", False)
    wer_metric = load_wer_metric()  # before any clip: ImportError naming pip install 'tiny-audio[eval]'
    # disable=None: no bar when stderr is not a terminal (CI logs), where its carriage returns only add noise.
    bar = tqdm(
        total=total, unit="sample", desc=system.label, disable=None if progress else True, file=sys.stderr, leave=False
    )
    emit = write or (lambda line: tqdm.write(line, file=sys.stdout))

    rows: list[SampleRow] = []
    failed: list[dict] = []  # {"index", "id", "stage": "decode" or "transcribe", "error"} (module docstring)
    seen = 0  # samples read, failed ones included: a sample's index is its place in the dataset

    def fail(index: int, sample: EvalSample, stage: str, error: str) -> None:
        failed.append({"index": index, "id": sample.id, "stage": stage, "error": one_line(error)})
        emit(format_failure(failed[-1]))
        if index <= ABORT_AFTER and sum(1 for failure in failed if failure["index"] <= ABORT_AFTER) == ABORT_AFTER:
            raise RuntimeError(f"each of the first {ABORT_AFTER} samples failed; the last: {failed[-1]['error']}")

    references: list[str] = []
    hypotheses: list[str] = []
    errors_so_far = words_so_far = 0
    time_so_far = 0.0
    timed_audio = timed_wall = 0.0
    warmup: tuple[float, float] | None = None  # (audio s, wall s) of the first batch
    last_checkpoint = 0

    try:
        for read in _batches(samples, batch_size):
            numbered = list(enumerate(read, seen + 1))
            seen += len(read)
            contexts: dict[int, tuple[str, ...]] = {}
            for index, sample in numbered:
                error = sample.error
                if error is None:
                    try:
                        own = check_context(sample.context) if clip_context else ()
                        contexts[index] = check_context([*context, *own])
                    except ValueError as err:  # the clip's own, or it and --context together, break a bound
                        error = f"context: {err}"
                if error is not None:
                    fail(index, sample, "decode", error)
                    bar.update(1)
            indices = [index for index, _ in numbered if index in contexts]
            batch = [sample for index, sample in numbered if index in contexts]
            if not batch:
                continue
            start = time.perf_counter()
            texts, failures = _transcribe(system, batch, [contexts[index] for index in indices])
            elapsed = time.perf_counter() - start
            batch_audio = sum(sample.seconds for sample in batch)
            if warmup is None:
                warmup = (batch_audio, elapsed)
            else:
                timed_audio += batch_audio
                timed_wall += elapsed
            per_sample = elapsed / len(batch)
            for index, sample, text, failure in zip(indices, batch, texts, failures, strict=True):
                counts = score([sample.text], [text])
                skipped = counts.skipped_empty > 0
                row = SampleRow(
                    index=index,
                    id=sample.id,
                    reference=sample.text,
                    hypothesis=text,
                    audio_seconds=round(sample.seconds, 3),
                    time=round(per_sample, 4),
                    wer=None if skipped else counts.wer,
                    errors=counts.errors,
                    reference_words=counts.reference_words,
                    skipped=skipped,
                    error=failure,
                    speaker=sample.speaker,
                    context=list(contexts[index]) or None,
                )
                rows.append(row)
                references.append(sample.text)
                hypotheses.append(text)
                errors_so_far += counts.errors
                words_so_far += counts.reference_words
                time_so_far += per_sample
                if show_samples:
                    for line in format_sample(row):
                        emit(line)
                if failure is not None:
                    fail(index, sample, "transcribe", failure)
                bar.update(1)
                if checkpoint_every and len(rows) % checkpoint_every == 0:
                    for line in format_checkpoint(
                        len(rows), errors_so_far / max(words_so_far, 1), time_so_far / len(rows)
                    ):
                        emit(line)
                    last_checkpoint = len(rows)
    finally:
        bar.close()

    if not rows:
        if failed:
            raise ValueError(f"every sample of {source.describe()} failed; the first: {format_failure(failed[0])}")
        raise ValueError(f"{source.describe()} gave no samples to evaluate")
    corpus = WerResult(**wer_metric.compute(predictions=hypotheses, references=references))
    if last_checkpoint != len(rows):
        for line in format_checkpoint(len(rows), corpus.wer, time_so_far / len(rows)):
            emit(line)

    warmup_excluded = timed_wall > 0
    if not warmup_excluded and warmup is not None:  # a single batch: its time is all there is
        timed_audio, timed_wall = warmup
    return EvalResult(
        model=system.label,
        system=system.kind,
        dataset=source.name,
        dataset_id=source.location,
        config=source.config,
        split=source.split,
        samples=corpus.samples,
        skipped=corpus.skipped_empty,
        wer=corpus.wer,
        substitutions=corpus.substitutions,
        deletions=corpus.deletions,
        insertions=corpus.insertions,
        hits=corpus.hits,
        reference_words=corpus.reference_words,
        rtfx=(timed_audio / timed_wall) if timed_wall > 0 else None,
        audio_seconds=round(sum(row.audio_seconds for row in rows), 3),
        timed_audio_seconds=round(timed_audio, 3),
        timed_wall_seconds=round(timed_wall, 4),
        avg_time_per_sample=time_so_far / len(rows),
        date=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        commit=system.revision,
        model_version=system.version,
        batch_size=batch_size,
        device=device,
        dtype=model_dtype(system),
        failed=failed,
        warmup_excluded=warmup_excluded,
        context=list(context) or None,
        rows=rows,
    )
