"""Does a context help a model write rare names, without writing listed names that were not said?

    python benchmarks/context_biasing.py build --folder /tmp/context-set [--sentences dev]
    python benchmarks/context_biasing.py measure --folder /tmp/context-set --model tiny_audio/default_model
        [--model DIR ...] [--dtype float32] [--decoding model]

`build` speaks the fixed sentences below (each carries invented names, places, products or jargon that no training
sentence has) with the TTS voices the corpus builder held out of training: Kokoro's test timbres for seed 21 (the
voice seed of data/k-every, which training run 23 used), or, without Kokoro, espeak-ng's test timbres for seed 22
(data/e-every's seed; seed 21's espeak-ng test timbres are train timbres there). It writes `clips/*.flac` (16 kHz),
`manifest.tsv` (file, text, context, spoken_terms, speaker) and `manifest_no_context.tsv` (the same clips without
the context column), so that `tiny-audio eval MODEL --dataset FOLDER` runs the set too. Each clip's context is its
spoken rare terms and 3 distractors (rare terms of other sentences that share no word with this one), shuffled with
a fixed seed: a model that writes whatever the list says is caught by the distractors.

`measure` transcribes every clip twice with each model, without and with its context, one clip at a time with
greedy search (`--decoding model`: the search each model's config names, what a user of it meets), and prints one
markdown table:
- recall: the share of spoken terms whose normalised words (Whisper's English normaliser, as the WER) occur in order
  in the normalised transcript;
- distractor insertions: the share of clips whose transcript holds one of the clip's distractors (without a context
  the model was never told them: the baseline rate);
- the other words' WER: the errors on the reference words that are not part of a spoken term, over those words.
  Substitutions and deletions of term words, and insertions next to a term word (a name heard as two words), are the
  term's, not the other words': otherwise a name spelled right would lower the other words' WER too. The difference
  (with - without) has a 95% paired-bootstrap interval over clips (`tiny-audio compare`'s `compare`).
The results, with every transcript, go to FOLDER/context_biasing.json.
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import re
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

from tiny_audio.evaluation.compare import compare
from tiny_audio.evaluation.results import EvalResult, SampleRow
from tiny_audio.evaluation.scoring import normalize
from tiny_audio.model.constants import SAMPLING_RATE
from tiny_audio.model.context_words import check_context

# (sentence, its rare terms as written). Every term is spoken in its sentence only, and no term shares a word with
# another, so another sentence's term is never said in a clip. No word of a term occurs, even inside a longer word, in
# the corpus text run 23 trained on (Austen, the WordNet examples, the `everyday` utterances and their name lists):
# checked when the list was written. Hyphenated names are spoken as two words (Kokoro's phonemiser runs a hyphenated
# name together); the normaliser reads the hyphen as a space on both sides.
SENTENCES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("Please ask Doctor Okonkwo-Ferris about the Zentrix pump.", ("Okonkwo-Ferris", "Zentrix")),
    ("The Valdoria office opens at nine tomorrow morning.", ("Valdoria",)),
    ("Our new router is called the Brimlux and it works well.", ("Brimlux",)),
    ("Mister Taskovic will meet you at the Quenmore station.", ("Taskovic", "Quenmore")),
    ("Add two spoons of tarvani paste to the soup.", ("tarvani",)),
    ("The patient was given Lomeprazine before the scan.", ("Lomeprazine",)),
    ("We flew to Ostravelle last spring with my cousin.", ("Ostravelle",)),
    ("Send the invoice to Dashwell-Ibarra by Friday.", ("Dashwell-Ibarra",)),
    ("The Krelvin scanner needs a software update.", ("Krelvin",)),
    ("Professor Nwachukwu-Lindqvar teaches the morning class.", ("Nwachukwu-Lindqvar",)),
    ("Turn left after the Ambrosetti bridge and keep going.", ("Ambrosetti",)),
    ("The team switched the database to Quorvex last week.", ("Quorvex",)),
    ("My flight from Tesselmark to Varnhollow was delayed.", ("Tesselmark", "Varnhollow")),
    ("Could you reset the Vantoro thermostat in the hall?", ("Vantoro",)),
    ("The contract was signed by Ingrid Halvorsen-Mbeki.", ("Halvorsen-Mbeki",)),
    ("A dose of Fexalorin should ease the pain.", ("Fexalorin",)),
    ("The Drumvale farm sells fresh eggs on Sundays.", ("Drumvale",)),
    ("Please install the Sporix plugin before the meeting.", ("Sporix",)),
    ("The ship docked at Carrowmere after the storm.", ("Carrowmere",)),
    ("Ask Nurse Pettigrove-Adeyemi for the blue form.", ("Pettigrove-Adeyemi",)),
    ("The Zoltani engine runs quietly at low speed.", ("Zoltani",)),
    ("We stayed two nights at the Belcastro hotel near the lake.", ("Belcastro",)),
    ("The recipe calls for a cup of miravel flour.", ("miravel",)),
    ("Call the Glenhaskin clinic to change your appointment.", ("Glenhaskin",)),
    ("The Torvane app from Mirelli Labs keeps crashing.", ("Torvane", "Mirelli")),
    ("Our guide in Kessarine spoke four languages.", ("Kessarine",)),
    ("The lawyer for Abernathy-Quoyle has left the building.", ("Abernathy-Quoyle",)),
    ("Fill the tank with Hydrelle coolant before the trip.", ("Hydrelle",)),
    ("The Pomeroski report will be ready on Monday.", ("Pomeroski",)),
    ("Take the Ferrowind line to the last stop.", ("Ferrowind",)),
    ("Chef Obiakwe-Brunsvik made the best bread in town.", ("Obiakwe-Brunsvik",)),
    ("The Ventrasol tablets should be taken with food.", ("Ventrasol",)),
    ("Meet me outside the Balmorick cinema at eight.", ("Balmorick",)),
    ("The Crystoline filter must be cleaned every month.", ("Crystoline",)),
    ("She moved from Brackenholt to the city last year.", ("Brackenholt",)),
    ("Our accountant Vasquez-Thornbury called twice today.", ("Vasquez-Thornbury",)),
    ("The Nimbrel tablet has a very bright screen.", ("Nimbrel",)),
    ("The festival in Lorvenna lasts for three days.", ("Lorvenna",)),
    ("Please order more Dextravane for the lab.", ("Dextravane",)),
    ("The Quellomir tower is the tallest building in Sardemont.", ("Quellomir", "Sardemont")),
    ("The Trevanix server went down during the night.", ("Trevanix",)),
    ("Captain Ilunga-Marchetti will lead the next patrol.", ("Ilunga-Marchetti",)),
    ("Mix the paint with a little Olvarine oil.", ("Olvarine",)),
    ("Our cabin near Dunvarrow has no internet.", ("Dunvarrow",)),
    ("The Selkaris bank in Pelvorra closes early on Fridays.", ("Selkaris", "Pelvorra")),
    ("My sister works for Pentagrove in the north.", ("Pentagrove",)),
    ("The dentist prescribed Carbolexin for the infection.", ("Carbolexin",)),
    ("The train from Morvaine arrives on platform two.", ("Morvaine",)),
    ("The Axelvane drone can fly for an hour.", ("Axelvane",)),
    ("Doctor Szymanska-Oduya will see you now.", ("Szymanska-Oduya",)),
    ("The Glimmerdown market is busy on weekends.", ("Glimmerdown",)),
    ("Please back up the files to the Strovik drive.", ("Strovik",)),
    ("A bowl of kelmuri rice costs very little.", ("kelmuri",)),
    ("The Halbrecht group won the final match.", ("Halbrecht",)),
    ("Our cat hides under the Bramwicke sofa.", ("Bramwicke",)),
    ("The Tirandel river floods every spring.", ("Tirandel",)),
    ("Give the Oxyphane drops to the patient at noon.", ("Oxyphane",)),
    ("The meeting with Adebayo-Strandvik was moved to Tuesday.", ("Adebayo-Strandvik",)),
    ("Update the Calvetto firmware before you restart.", ("Calvetto",)),
    ("The hikers reached Ystramoor before sunset.", ("Ystramoor",)),
)
# A second, smaller set under the same rules (no term shares a word with SENTENCES' terms either), for choosing a
# decoding's constants: `build --sentences dev`. Choosing them on the sentences above would tune to the measure.
DEV_SENTENCES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("Doctor Hamblewhistle-Obuoro will call you back this afternoon.", ("Hamblewhistle-Obuoro",)),
    ("The Zarquell printer is out of paper again.", ("Zarquell",)),
    ("We spent a week in Tormalinde with our friends.", ("Tormalinde",)),
    ("Take two Nexoprane capsules after dinner.", ("Nexoprane",)),
    ("The Brindlemoor library closes at six.", ("Brindlemoor",)),
    ("Miss Okarvi-Lindgrett runs the Quillback bakery.", ("Okarvi-Lindgrett", "Quillback")),
    ("Our office moved to the Castellane building downtown.", ("Castellane",)),
    ("The Vortiva phone has a cracked screen.", ("Vortiva",)),
    ("Ask Professor Drummelow-Achebe about the exam.", ("Drummelow-Achebe",)),
    ("The ferry to Skellingrove leaves every hour.", ("Skellingrove",)),
    ("Add a pinch of hulvarin spice to the stew.", ("hulvarin",)),
    ("The Plexatrin server needs a new disk.", ("Plexatrin",)),
    ("Sergeant Wojcik-Farrant found the missing car.", ("Wojcik-Farrant",)),
    ("The Emberlyn theatre is showing an old film tonight.", ("Emberlyn",)),
    ("My doctor switched me to Cardoxitril last month.", ("Cardoxitril",)),
    ("The bus from Gravenhollow was late again.", ("Gravenhollow",)),
    ("Install the Fennimusk update before Friday.", ("Fennimusk",)),
    ("Uncle Theo bought a Rusterline bicycle.", ("Rusterline",)),
    ("The Oskavelt museum has a new exhibit.", ("Oskavelt",)),
    ("Mrs Abernethy-Kowal teaches music at the school.", ("Abernethy-Kowal",)),
    ("The Durnstead valley is green in the spring.", ("Durnstead",)),
    ("Spread some bexalo butter on the toast.", ("bexalo",)),
    ("The Quintavex battery lasts all day.", ("Quintavex",)),
    ("We met Pilar Santangelo-Ruvez at the conference.", ("Santangelo-Ruvez",)),
    ("The road to Marrowfield is closed for repairs.", ("Marrowfield",)),
    ("The Lumispire lamp in the hall is broken.", ("Lumispire",)),
    ("Give the cat one Felidrozine tablet a day.", ("Felidrozine",)),
    ("The Harrowgate choir sang at the wedding.", ("Harrowgate",)),
    ("Our neighbour Mister Oyebanjo-Pittaway has a new dog.", ("Oyebanjo-Pittaway",)),
    ("The Crombeck tunnel is two miles long.", ("Crombeck",)),
    ("Please reboot the Stellaxis router in the basement.", ("Stellaxis",)),
    ("The Wendovari family owns the corner shop.", ("Wendovari",)),
    ("The children loved the Grizzlemund puppet show.", ("Grizzlemund",)),
    ("Pack the Trelawney map and a warm coat.", ("Trelawney",)),
    ("The Morganthal bridge was built long ago.", ("Morganthal",)),
    ("The nurse gave him a shot of Duvaperil.", ("Duvaperil",)),
    ("Our team lost to the Kestrelmoy club on Saturday.", ("Kestrelmoy",)),
    ("The Yarrowby farm grows pumpkins and beans.", ("Yarrowby",)),
    ("Send the parcel to Inspector Mbatha-Holloway.", ("Mbatha-Holloway",)),
    ("The Sorvinex camera takes sharp pictures at night.", ("Sorvinex",)),
)
SENTENCE_SETS = {"test": SENTENCES, "dev": DEV_SENTENCES}
DISTRACTORS = 3  # per clip: listed, never said in it
SEED = 46  # fixes each clip's voice, speed, pitch, distractors and the order of its context
# The corpus builder's voice seeds (`plan.split_voices`): data/k-every (Kokoro) was built with seed 21, data/e-every
# (espeak-ng and flite) with seed 22; training run 23 heard both, so these test timbres are voices it never heard.
VOICE_SEEDS = {"kokoro": 21, "espeak-ng": 22}
SPEED_RANGE, PITCH_RANGE = (0.9, 1.1), (-0.5, 0.5)  # within the corpus's ranges, nearer the engines' normal voice
MANIFEST, PLAIN_MANIFEST, RESULTS = "manifest.tsv", "manifest_no_context.tsv", "context_biasing.json"
# Greedy search, one pass, no CTC prefix scoring: what the options are, not what a model's config picks.
# `--decoding model` passes no options, so each model decodes as its config says.
DECODINGS = {"greedy": {"num_beams": 1, "ctc_decoding_weight": 0.0, "frequency_warps": [1.0]}, "model": {}}


# -- scoring (pure functions of strings) --------------------------------------------------------------------------


def words(text: str) -> list[str]:
    """`text` through Whisper's English normaliser, as words ("Okonkwo-Ferris" -> ["okonkwo", "ferris"])."""
    return normalize(text).split()


def _spans(haystack: list[str], needle: list[str]) -> list[int]:
    """Where `needle` starts as a run of whole words in `haystack`."""
    size = len(needle)
    return [i for i in range(len(haystack) - size + 1) if size and haystack[i : i + size] == needle]


def found(terms: list[str], hypothesis: str) -> list[str]:
    """The terms whose normalised words occur, in order and whole, in the normalised hypothesis."""
    said = words(hypothesis)
    return [term for term in terms if _spans(said, words(term))]


def other_words(reference: str, hypothesis: str, terms: list[str]) -> tuple[int, int]:
    """(errors, words) on the reference words outside the spoken terms: substitutions and deletions of those words,
    and insertions not next to a term word (a term heard as "zen tricks" keeps its extra word)."""
    import jiwer

    ref, hyp = words(reference), words(hypothesis)
    in_term = [False] * len(ref)
    for term in terms:
        size = len(words(term))
        for start in _spans(ref, words(term)):
            in_term[start : start + size] = [True] * size
    other = in_term.count(False)
    if not ref:
        return len(hyp), 0
    if not hyp:
        return other, other
    errors = 0
    for chunk in jiwer.process_words([" ".join(ref)], [" ".join(hyp)]).alignments[0]:
        if chunk.type in ("substitute", "delete"):
            errors += in_term[chunk.ref_start_idx : chunk.ref_end_idx].count(False)  # word for word
        elif chunk.type == "insert":
            place = chunk.ref_start_idx
            beside = in_term[max(place - 1, 0) : place + 1]
            errors += 0 if any(beside) else chunk.hyp_end_idx - chunk.hyp_start_idx
    return errors, other


def score_clip(reference: str, spoken: list[str], distractors: list[str], hypothesis: str) -> dict:
    """One transcript's counts: the spoken terms it has, the distractors it has, and the other words' errors."""
    errors, other = other_words(reference, hypothesis, spoken)
    return {
        "hypothesis": hypothesis,
        "recalled": found(spoken, hypothesis),
        "inserted": found(distractors, hypothesis),
        "other_errors": errors,
        "other_words": other,
    }


def summarise(scores: list[dict], spoken_terms: int) -> dict:
    """Totals of `score_clip` results: recall over `spoken_terms`, the share of clips with an inserted distractor,
    and the other words' WER."""
    recalled = sum(len(score["recalled"]) for score in scores)
    inserted = sum(1 for score in scores if score["inserted"])
    errors = sum(score["other_errors"] for score in scores)
    other = sum(score["other_words"] for score in scores)
    return {
        "recalled": recalled,
        "spoken_terms": spoken_terms,
        "recall": recalled / max(spoken_terms, 1),
        "clips_with_insertion": inserted,
        "clips": len(scores),
        "insertion_rate": inserted / max(len(scores), 1),
        "other_errors": errors,
        "other_words": other,
        "other_wer": errors / max(other, 1),
    }


def _as_result(label: str, ids: list[str], scores: list[dict]) -> EvalResult:
    """The other words' counts as an `EvalResult`, the shape `compare`'s paired bootstrap reads."""
    rows = [
        SampleRow(i + 1, clip, "", s["hypothesis"], 0.0, 0.0, s["other_errors"] / max(s["other_words"], 1),
                  errors=s["other_errors"], reference_words=s["other_words"], skipped=s["other_words"] == 0)
        for i, (clip, s) in enumerate(zip(ids, scores, strict=True))
    ]  # fmt: skip
    totals = summarise(scores, 0)
    return EvalResult(
        model=label, system="tiny-audio", dataset="context-biasing", dataset_id="context-biasing", config=None,
        split=None, samples=len(rows), skipped=0, wer=totals["other_wer"], substitutions=0, deletions=0,
        insertions=0, hits=0, reference_words=totals["other_words"], rtfx=None, audio_seconds=0.0,
        timed_audio_seconds=0.0, timed_wall_seconds=0.0, avg_time_per_sample=0.0, date="", commit=None, rows=rows,
    )  # fmt: skip


# -- build --------------------------------------------------------------------------------------------------------


def spoken_form(text: str) -> str:
    """What the engine is given: hyphens between letters become spaces (see SENTENCES)."""
    return re.sub(r"(?<=\w)-(?=\w)", " ", text)


def pick_distractors(index: int, sentences: list[tuple[str, tuple[str, ...]]], rng: random.Random) -> list[str]:
    """Up to DISTRACTORS terms of the other sentences that share no normalised word with sentence `index`."""
    said = set(words(sentences[index][0]))
    pool = [term for other, (_, terms) in enumerate(sentences) if other != index for term in terms]
    pool = [term for term in pool if not said & set(words(term))]
    return rng.sample(pool, min(DISTRACTORS, len(pool)))


def held_out_voices(engine: str, seed: int | None) -> list:
    from tiny_audio.data.plan import split_voices
    from tiny_audio.data.voices import discover_voices

    voices = split_voices(discover_voices((engine,)), VOICE_SEEDS[engine] if seed is None else seed)["test"]
    random.Random(f"{SEED}/voices").shuffle(voices)
    return voices


def build(args: argparse.Namespace) -> None:
    import soundfile
    import soxr

    from tiny_audio.data.engines import synthesize

    engine = args.engine
    if engine == "auto":
        from tiny_audio.data.voices import discover_voices

        engine = "kokoro" if discover_voices(("kokoro",)) else "espeak-ng"
    voices = held_out_voices(engine, args.voice_seed)[: args.voices]
    if not voices:
        raise SystemExit(f"{engine} has no held-out voices here (`tiny-audio data voices`)")
    sentences = list(SENTENCE_SETS[args.sentences][: args.max_sentences])
    draws = f"{SEED}/clip" if args.sentences == "test" else f"{SEED}/{args.sentences}/clip"  # the test set's as ever
    folder = Path(args.folder)
    (folder / "clips").mkdir(parents=True, exist_ok=True)
    rows = []
    for index, (text, terms) in enumerate(sentences):
        rng = random.Random(f"{draws}/{index}")
        voice = voices[index % len(voices)]
        speed, pitch = round(rng.uniform(*SPEED_RANGE), 3), round(rng.uniform(*PITCH_RANGE), 3)
        context = [*terms, *pick_distractors(index, sentences, rng)]
        rng.shuffle(context)
        check_context(context)  # the model's own rules: no commas inside an entry
        audio, rate = synthesize(voice, spoken_form(text), speed, pitch)
        if round(rate) != SAMPLING_RATE:
            audio = soxr.resample(audio, rate, SAMPLING_RATE, quality="HQ")
        name = f"clips/{index:03d}.flac"
        soundfile.write(folder / name, audio, SAMPLING_RATE, format="FLAC", subtype="PCM_16")
        seconds = round(len(audio) / SAMPLING_RATE, 2)
        rows.append({"file": name, "text": text, "context": ", ".join(context), "spoken_terms": ", ".join(terms),
                     "speaker": voice.id, "speed": speed, "pitch": pitch, "seconds": seconds})  # fmt: skip
        print(f"{name} {voice.id} {seconds:.1f} s: {text}", flush=True)
    plain = ("file", "text", "speaker", "seconds")
    for path, columns in ((MANIFEST, ("file", "text", "context", "spoken_terms", *plain[2:])), (PLAIN_MANIFEST, plain)):
        with (folder / path).open("w", encoding="utf-8", newline="") as handle:
            writer = csv.DictWriter(handle, columns, delimiter="\t", extrasaction="ignore", lineterminator="\n")
            writer.writeheader()
            writer.writerows(rows)
    seconds = sum(row["seconds"] for row in rows)
    print(f"{len(rows)} clips ({seconds / 60:.1f} min) spoken by {len(voices)} held-out {engine} voice(s) in {folder}")


# -- measure ------------------------------------------------------------------------------------------------------


def read_manifest(folder: Path) -> list[dict]:
    with (folder / MANIFEST).open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))
    for row in rows:
        row["context"] = list(check_context(row["context"]))
        row["spoken_terms"] = list(check_context(row["spoken_terms"]))
        row["distractors"] = [term for term in row["context"] if term not in row["spoken_terms"]]
    return rows


def measure_model(model: str, rows: list[dict], folder: Path, dtype: str | None, decoding: dict) -> dict:
    import soundfile

    from tiny_audio.evaluation.runner import model_dtype
    from tiny_audio.evaluation.systems import TinyAudioSystem, detect_system

    system = TinyAudioSystem(detect_system(model), dtype=dtype)
    conditions: dict[str, list[dict]] = {"without": [], "with": []}
    start = time.perf_counter()
    for number, row in enumerate(rows, 1):
        audio, rate = soundfile.read(folder / row["file"], dtype="float32")
        if rate != SAMPLING_RATE:
            raise SystemExit(f"{row['file']} is {rate} Hz; `build` writes {SAMPLING_RATE} Hz")
        for condition, context in (("without", {}), ("with", {"context": row["context"]})):
            clip = {"raw": audio, "sampling_rate": SAMPLING_RATE}  # a fresh dict: the pipeline pops its keys
            text = system.pipe(clip, generate_kwargs=dict(decoding), **context)["text"]
            conditions[condition].append(score_clip(row["text"], row["spoken_terms"], row["distractors"], text))
        print(f"  {model} {number}/{len(rows)}: {conditions['with'][-1]['hypothesis']}", file=sys.stderr, flush=True)
    spoken = sum(len(row["spoken_terms"]) for row in rows)
    ids = [row["file"] for row in rows]
    comparison = compare(
        [_as_result("without", ids, conditions["without"])], [_as_result("with", ids, conditions["with"])]
    )
    return {
        "model": model,
        "revision": system.revision,
        "dtype": model_dtype(system),
        "seconds": round(time.perf_counter() - start, 1),
        "without": summarise(conditions["without"], spoken),
        "with": summarise(conditions["with"], spoken),
        "other_wer_difference": comparison.difference,  # points, with - without
        "other_wer_interval": list(comparison.interval),
        "clips": [
            {
                "file": row["file"],
                "text": row["text"],
                "context": row["context"],
                "spoken_terms": row["spoken_terms"],
                "without": plain,
                "with": told,
            }
            for row, plain, told in zip(rows, conditions["without"], conditions["with"], strict=True)
        ],
    }


# The table's measures: (summary key, its count, the count it is a share of), each without and with the context.
COLUMNS = (
    ("recall", "recalled", "spoken_terms"),
    ("insertion_rate", "clips_with_insertion", "clips"),
    ("other_wer", "other_errors", "other_words"),
)


def table(results: list[dict]) -> str:
    lines = [
        "| model | clips | terms recalled, no context | terms recalled, with context "
        "| distractor insertions, no context | distractor insertions, with context "
        "| other words' WER, no context | other words' WER, with context | difference [95% interval] |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for result in results:
        cells = [result["model"], str(result["with"]["clips"])]
        for key, count, total in COLUMNS:
            for condition in ("without", "with"):
                summary = result[condition]
                cells.append(f"{100 * summary[key]:.1f}% ({summary[count]}/{summary[total]})")
        low, high = result["other_wer_interval"]
        cells.append(f"{result['other_wer_difference']:+.2f} [{low:+.2f}, {high:+.2f}]")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def measure(args: argparse.Namespace) -> None:
    folder = Path(args.folder)
    rows = read_manifest(folder)
    decoding = DECODINGS[args.decoding]
    results = [measure_model(model, rows, folder, args.dtype, decoding) for model in args.model]
    report = {
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "decoding": decoding or "each model's own (its config's generation section)",
        "table": table(results),
        "models": results,
    }
    (folder / RESULTS).write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(report["table"])
    for result in results:
        print(f"\n{result['model']}: weights in {result['dtype']}, {result['seconds']:.0f} s for both passes")
    print(f"\nEvery transcript: {folder / RESULTS}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    making = commands.add_parser("build", help="speak the sentences with held-out voices; write the manifests")
    making.add_argument("--folder", required=True, help="where the clips and manifests go")
    making.add_argument(
        "--engine", choices=("auto", "kokoro", "espeak-ng"), default="auto",
        help="TTS engine (default: Kokoro when installed, else espeak-ng)",
    )  # fmt: skip
    making.add_argument(
        "--voice-seed", type=int, default=None,
        help="the corpus's voice seed whose test timbres speak (default: 21 for Kokoro, 22 for espeak-ng)",
    )  # fmt: skip
    making.add_argument("--voices", type=int, default=None, help="use only the first N held-out voices")
    making.add_argument(
        "--sentences", choices=sorted(SENTENCE_SETS), default="test",
        help="the measured sentences (default), or the dev ones that decoding constants are chosen on",
    )  # fmt: skip
    making.add_argument("--max-sentences", type=int, default=None, help="only the first N sentences (a quick set)")
    making.set_defaults(func=build)
    measuring = commands.add_parser("measure", help="transcribe without and with the contexts; print the table")
    measuring.add_argument("--folder", required=True, help="a folder `build` wrote")
    measuring.add_argument("--model", action="append", required=True, help="a tiny-audio model (repeat for more)")
    measuring.add_argument("--dtype", default=None, help="backbone dtype, e.g. float32 (default: the model's own)")
    measuring.add_argument(
        "--decoding", choices=sorted(DECODINGS), default="greedy",
        help="greedy search (default), or the search each model's config names",
    )  # fmt: skip
    measuring.set_defaults(func=measure)
    args = parser.parse_args(argv)
    args.func(args)


if __name__ == "__main__":
    main()
