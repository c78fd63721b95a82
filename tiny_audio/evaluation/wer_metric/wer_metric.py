"""tiny-audio's word error rate as an `evaluate` metric: Whisper English normaliser, then corpus WER (jiwer).

Load it by path, which works offline (no Hub script, no network):

    import evaluate, tiny_audio.evaluation
    wer = evaluate.load(tiny_audio.evaluation.WER_METRIC)  # or tiny_audio.evaluation.load_wer_metric()
    wer.compute(predictions=["The cat sat on a mat."], references=["the cat sat on the mat"])["wer"]  # 1/6

It is a thin wrapper: the figures come from `tiny_audio.evaluation.scoring.score`, the one implementation of the
WER that training, `tiny-audio eval` and the leaderboard share.

How `evaluate.load` runs this file, and what that asks of it (evaluate 0.4):
- it copies this one file into its module cache (HF_MODULES_CACHE/evaluate_modules/metrics/wer_metric/<hash>/) and
  imports the copy from there. So tiny-audio is imported by absolute name: a relative import (`from ..scoring`)
  would resolve inside that cache, where there is no tiny-audio, and evaluate reads `from .x import` as a file x.py
  to copy next to the script (a second copy of the scoring code, which is what this module exists to avoid).
- it picks the first `evaluate.EvaluationModule` subclass in the module's namespace as the metric. So `evaluate` is
  imported as a module, never `from evaluate import Metric` (the base class itself would be found first).
- it scans this file's import lines (outside docstrings) and imports each top-level library first, to name what is
  missing; `tiny_audio` is one of them, so the copy works wherever tiny-audio is installed (editable or wheel).
"""

import datasets
import evaluate

from tiny_audio.evaluation.scoring import score

_CITATION = "The Open ASR Leaderboard's scoring (github.com/huggingface/open_asr_leaderboard): Whisper normaliser, WER."

_DESCRIPTION = (
    "Corpus word error rate, (S + D + I) / N summed over all samples, after OpenAI Whisper's English text "
    "normaliser on both sides (case, punctuation, 'Mr.' = 'mister', 'ten' = '10', British = American spelling), "
    "as the Open ASR Leaderboard computes it. Samples whose normalised reference is empty are left out and counted "
    "in `skipped_empty`."
)

_KWARGS_DESCRIPTION = (
    "\nArgs:\n"
    "    predictions: list of str, the system's transcripts (raw; normalised here).\n"
    "    references: list of str, the reference transcripts (raw; normalised here).\n"
    "Returns:\n"
    "    wer: float, a fraction (0.1 = 10%);\n"
    "    substitutions, deletions, insertions, hits, reference_words: int, corpus totals;\n"
    "    skipped_empty: int, samples left out for an empty normalised reference;\n"
    "    samples: int, samples scored.\n"
)


@evaluate.utils.file_utils.add_start_docstrings(_DESCRIPTION, _KWARGS_DESCRIPTION)
class TinyAudioWer(evaluate.Metric):
    """Corpus WER after Whisper's English normaliser (`tiny_audio.evaluation.scoring.score`)."""

    def _info(self) -> evaluate.MetricInfo:
        return evaluate.MetricInfo(
            description=_DESCRIPTION,
            citation=_CITATION,
            inputs_description=_KWARGS_DESCRIPTION,
            features=datasets.Features(
                {"predictions": datasets.Value("string"), "references": datasets.Value("string")}
            ),
            codebase_urls=["https://github.com/jitsi/jiwer/"],
            reference_urls=["https://huggingface.co/spaces/hf-audio/open_asr_leaderboard"],
        )

    def _compute(self, predictions, references) -> dict:
        return score(references, predictions).to_dict()
