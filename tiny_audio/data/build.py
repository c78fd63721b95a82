"""`build_corpus`: real text + synthetic voices -> a resumable, parallel, sharded speech corpus on disk.

Steps: sentences from the text sources (cleaned, de-duplicated, dev-set sentences removed) -> voices found on this
machine -> a deterministic plan (plan.py) -> shards rendered by a process pool (synth.py), skipping shards a
previous run finished -> summary (.build/summary.json) and dataset card (README.md).
"""

from __future__ import annotations

import functools
import json
import multiprocessing
import os
import random
import shutil
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import asdict
from pathlib import Path

from tqdm.auto import tqdm

from . import kokoro
from .build_summary import BuildSummary
from .card import write_card
from .coined import coined_source, coined_texts
from .dev_real import dev_transcripts
from .everyday import everyday_texts
from .plan import SHARD_SIZE, SPLITS, Shard, make_plan, plan_fingerprint
from .schema import corpus_features
from .sources import (
    AUSTEN_NOVELS,
    DEFAULT_TEXTS,
    TEXTS,
    TextSource,
    austen_source,
    everyday_source,
    read_austen,
    read_wordnet_examples,
    wordnet_source,
)
from .synth import ShardResult, build_shard, init_worker, load_shard_result, run_shard_job
from .text import Sentence, clean_corpus, clean_sentence, sentences_from_prose
from .voices import DEFAULT_ENGINES, INSTALL_HINT, Voice, discover_voices


@functools.lru_cache(maxsize=1)
def _austen_sentences() -> tuple[list[Sentence], Counter[str]]:
    """All six novels split and cleaned (~3 s, so done once per process)."""
    texts, dropped = read_austen(), Counter()
    found = [s for novel in AUSTEN_NOVELS for s in sentences_from_prose(texts[novel], f"austen/{novel}", dropped)]
    return found, dropped


def _cleaned(pieces: Sequence[str], source: str, dropped: Counter[str]) -> list[Sentence]:
    """Sentences that are already whole (not prose to split): each cleaned, bad ones dropped and counted."""
    found = []
    for raw in pieces:
        text, reason = clean_sentence(" ".join(str(raw).split()))
        if text is None:
            dropped[reason] += 1
        else:
            found.append(Sentence(text, source))
    return found


@functools.lru_cache(maxsize=1)
def _wordnet_sentences() -> tuple[list[Sentence], Counter[str]]:
    dropped: Counter[str] = Counter()
    examples = read_wordnet_examples()
    return [s for part, pieces in examples.items() for s in _cleaned(pieces, f"wordnet/{part}", dropped)], dropped


@functools.lru_cache(maxsize=1)
def _everyday_sentences() -> tuple[list[Sentence], Counter[str]]:
    dropped: Counter[str] = Counter()
    return _cleaned(everyday_texts(), "everyday", dropped), dropped


@functools.lru_cache(maxsize=1)
def _coined_sentences() -> tuple[list[Sentence], Counter[str]]:
    dropped: Counter[str] = Counter()
    return _cleaned(coined_texts(), "coined", dropped), dropped


# Each text source by name (`--texts`): its sentences, split and cleaned, with what was dropped and why; its card.
_TEXT_READERS = {"austen": (_austen_sentences, austen_source), "wordnet": (_wordnet_sentences, wordnet_source),
                 "everyday": (_everyday_sentences, everyday_source),
                 "coined": (_coined_sentences, coined_source)}  # fmt: skip


def corpus_sentences(
    sentences: Sequence[str] | None = None, dropped: Counter[str] | None = None, texts: Sequence[str] = DEFAULT_TEXTS
) -> tuple[list[Sentence], list[TextSource]]:
    """Cleaned sentences from the named text sources, or from `sentences` (each cleaned; bad ones dropped and
    counted); duplicates across sources and anything overlapping the development set are removed."""
    dropped = Counter() if dropped is None else dropped
    if sentences is not None:
        found = _cleaned(sentences, "custom", dropped)
        custom = TextSource("custom", "given to build_corpus", "-", "as given", "sentences passed by the caller")
        return clean_corpus(found, dev_transcripts(), dropped), [custom]
    unknown = sorted(set(texts) - set(_TEXT_READERS))
    if unknown or not texts:
        raise ValueError(f"unknown text source(s) {unknown or texts}; accepted: {', '.join(TEXTS)}")
    found, sources = [], []
    for name in dict.fromkeys(texts):  # keeps the order given, once each
        read, describe = _TEXT_READERS[name]
        source_sentences, source_dropped = read()
        found.extend(source_sentences)
        dropped.update(source_dropped)
        sources.append(describe())
    return clean_corpus(found, dev_transcripts(), dropped), sources


def _prepare_output(output: Path, fingerprint: str, settings: dict, overwrite: bool) -> None:
    """Create the folders; refuse to mix two different plans in one folder unless asked to start over."""
    manifest = output / ".build" / "plan.json"
    if overwrite:
        shutil.rmtree(output / "data", ignore_errors=True)
        shutil.rmtree(output / ".build", ignore_errors=True)
    elif manifest.exists():
        previous = json.loads(manifest.read_text(encoding="utf-8"))
        if previous.get("fingerprint") != fingerprint:
            changed = sorted(k for k in settings if previous.get("settings", {}).get(k) != settings[k])
            raise RuntimeError(
                f"{output} holds a build of a different plan (changed: {', '.join(changed) or 'text or voices'}). "
                "Resume with the same settings and installed voices, or pass overwrite=True (--overwrite) to start "
                "over."
            )
    elif (output / "data").exists() and any((output / "data").iterdir()):
        raise RuntimeError(f"{output}/data has files but no build record; use an empty folder or --overwrite")
    (output / "data").mkdir(parents=True, exist_ok=True)
    (output / ".build" / "shards").mkdir(parents=True, exist_ok=True)
    for stale in [*(output / "data").glob("*.tmp"), *(output / ".build" / "shards").glob("*.tmp")]:
        stale.unlink()  # left by a killed run
    tmp = manifest.with_name(manifest.name + ".tmp")
    tmp.write_text(json.dumps({"fingerprint": fingerprint, "settings": settings}, indent=1), encoding="utf-8")
    os.replace(tmp, manifest)  # a kill mid-write must not leave a record that the next run cannot read


def _render(todo: list[Shard], output: Path, num_workers: int, progress: bool, done_clips: int, total: int):
    """Yield ShardResults as shards finish, across `num_workers` processes (in this process when 1). The progress
    bar counts clips as they are rendered, not shards as they finish (a Kokoro shard takes ~15 min on 2 cores)."""
    schema = corpus_features().arrow_schema
    jobs = [(shard, output, schema) for shard in todo]
    failed = 0
    with tqdm(total=total, initial=done_clips, unit="clip", desc="synthesising", disable=not progress) as bar:
        if num_workers <= 1:
            results = (build_shard(*job, on_clip=lambda: bar.update(1)) for job in jobs)
            pool = None
        else:
            # spawn, not fork: the parent may hold pyarrow/datasets threads, which a forked child would inherit
            # in an undefined state. The job function lives in synth.py, so children never import `datasets`.
            context = multiprocessing.get_context("spawn")
            clips_rendered = context.Value("i", 0)  # every worker adds to it; the bar reads it
            pool = context.Pool(num_workers, init_worker, (os.getpid(), clips_rendered))
            results = _as_they_finish(
                pool.imap_unordered(run_shard_job, jobs), lambda: bar.update(done_clips + clips_rendered.value - bar.n)
            )
        try:
            for result in results:
                failed += len(result.failed)
                bar.set_postfix(failed=failed)
                yield result
        finally:
            if pool is not None:
                pool.terminate()
                pool.join()


def _as_they_finish(pending, refresh: Callable[[], None], poll_seconds: float = 0.5):
    """Yield a pool's results as they come, calling `refresh` at least every `poll_seconds` while waiting."""
    while True:
        try:
            result = pending.next(timeout=poll_seconds)
        except multiprocessing.TimeoutError:
            refresh()
            continue
        except StopIteration:
            refresh()
            return
        refresh()
        yield result


def _summarise(summary: BuildSummary, shards: list[Shard], results: dict[str, ShardResult], output: Path) -> None:
    failed_ids = {f["id"] for r in results.values() for f in r.failed}
    built = [s for s in shards if s.name in results]  # all of them unless a part of the plan was chosen
    kept = {split: [u for s in built if s.split == split for u in s.utterances if u.id not in failed_ids]
            for split in SPLITS}  # fmt: skip
    for split in SPLITS:
        seconds = sum(r.seconds for r in results.values() if r.split == split)
        summary.splits[split] = {
            "clips": len(kept[split]),
            "hours": round(seconds / 3600, 3),
            "sentences": len({u.text for u in kept[split]}),
            "voices": len({u.voice.id for u in kept[split]}),
            "failed": sum(len(r.failed) for r in results.values() if r.split == split),
        }
    everything = [u for split in SPLITS for u in kept[split]]
    summary.clips = len(everything)
    summary.hours = round(sum(r.seconds for r in results.values()) / 3600, 3)
    summary.voices = len({u.voice.id for u in everything})
    summary.timbres = len({u.voice.timbre_id for u in everything})
    summary.sentences = len({u.text for u in everything})
    summary.failed = [f for name in sorted(results) for f in results[name].failed]
    train_text = {u.text for u in kept["train"]}
    train_timbres = {u.voice.timbre_id for u in kept["train"]}
    summary.checks = {
        "test sentences unseen in train": not train_text & {u.text for u in kept["test"]},
        "validation sentences unseen in train": not train_text & {u.text for u in kept["validation"]},
        "test voices unseen in train": not train_timbres & {u.voice.timbre_id for u in kept["test"]},
    }
    summary.test_timbres = sorted({u.voice.timbre_id for u in kept["test"]})
    summary.disk_bytes = sum(p.stat().st_size for p in (output / "data").glob("*.parquet"))


def build_corpus(
    output_dir: str | Path,
    hours: float = 32.0,
    seed: int = 0,
    num_workers: int | None = None,
    max_sentences: int | None = None,
    engines: Sequence[str] = DEFAULT_ENGINES,
    split_fractions: dict[str, float] | None = None,
    shard_size: int = SHARD_SIZE,
    sentences: Sequence[str] | None = None,
    texts: Sequence[str] = DEFAULT_TEXTS,
    voices: Sequence[Voice] | None = None,
    overwrite: bool = False,
    progress: bool = True,
    splits: Sequence[str] = SPLITS,
    shard_range: range | None = None,
    channels: Sequence[str] = ("clean",),
) -> BuildSummary:
    """Build (or resume) a synthetic speech corpus in `output_dir`; returns what was built.

    hours: audio to plan, split 90/5/5 by default (`split_fractions` sets validation/test shares).
    seed: fixes sentence order, voice split and every clip's voice, speed and pitch.
    num_workers: processes (default: all cores). max_sentences: cap on distinct sentences drawn from the text.
    texts: which text sources to speak (see TEXTS); `sentences` replaces them (tests, custom corpora).
    voices: use these instead of the installed voices.
    A rerun with the same arguments skips finished shards; failed clips are skipped and listed in the summary.
    splits, shard_range: make only these splits, and within each only the shards numbered in `shard_range` (e.g.
    just the test split to evaluate, or one range of shards per machine). The plan is always the whole corpus's,
    so the part made is exactly that part of the full build, and a later run without them fills in the rest.
    channels: each clip is passed through one of these codecs, drawn with its voice (`channels.py`).
    """
    start = time.perf_counter()
    unknown = sorted(set(splits) - set(SPLITS))
    if unknown or not splits:
        raise ValueError(f"splits must name at least one of {', '.join(SPLITS)}; got {list(splits)}")
    output = Path(output_dir)
    dropped: Counter[str] = Counter()
    pool_sentences, sources = corpus_sentences(sentences, dropped, texts)
    if max_sentences is not None:
        if max_sentences < 3:
            raise ValueError(f"max_sentences must be >= 3 (one per split), got {max_sentences}")
        pool_sentences = list(pool_sentences)
        random.Random(f"{seed}/subset").shuffle(pool_sentences)
        pool_sentences = pool_sentences[:max_sentences]
    voice_list = sorted(voices) if voices is not None else discover_voices(tuple(engines))
    if not voice_list:
        raise RuntimeError(f"no TTS voices found for engines {list(engines)}: {INSTALL_HINT}")
    shards = make_plan(pool_sentences, voice_list, hours, seed, split_fractions, shard_size, channels)
    fingerprint = plan_fingerprint(shards)
    settings = {"hours": hours, "seed": seed, "max_sentences": max_sentences, "engines": sorted(engines),
                "split_fractions": split_fractions, "shard_size": shard_size, "voices": len(voice_list),
                "sentences": len(pool_sentences), "text_source": "+".join(t.name for t in sources),
                "channels": list(channels)}  # fmt: skip
    _prepare_output(output, fingerprint, settings, overwrite)

    results: dict[str, ShardResult] = {}
    todo = []
    for shard in shards:
        previous = load_shard_result(output, shard)
        if previous is not None:
            results[shard.name] = previous
        elif shard.split in splits and (shard_range is None or shard.index in shard_range):
            todo.append(shard)
    prepared = time.perf_counter() - start
    workers = max(1, min(num_workers or os.cpu_count() or 1, len(todo) or 1))
    done = sum(r.planned for r in results.values())
    total = done + sum(len(s.utterances) for s in todo)
    summary = BuildSummary(
        output_dir=str(output),
        seed=seed,
        hours_requested=hours,
        text_sources=[asdict(source) for source in sources],
        sentences_available=len(pool_sentences),
        sentences_dropped=dict(dropped),
        voices_available=len(voice_list),
        shards_resumed=len(results),
        shards_planned=len(shards),
        prepare_seconds=round(prepared, 1),
    )
    if any(u.voice.engine == "kokoro" for shard in todo for u in shard.utterances):
        kokoro.assemble_model()  # here, not in the workers: two of them joining it at once fail a clip
    for result in _render(todo, output, workers, progress, done, total):
        results[result.name] = result
        summary.shards_built += 1
    timings: Counter[str] = Counter()
    for result in results.values():
        timings.update(result.timings)
    summary.worker_seconds = {k: round(v, 1) for k, v in timings.items()}
    _summarise(summary, shards, results, output)
    summary.wall_seconds = round(time.perf_counter() - start, 1)
    (output / ".build" / "summary.json").write_text(json.dumps(asdict(summary), indent=1), encoding="utf-8")
    write_card(output, summary, voice_list)
    return summary
