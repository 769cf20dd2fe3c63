#!/usr/bin/env bash
# Applies patches/node-llama-cpp-<version>-negative-temperature.patch to the addon sources inside
# node_modules/node-llama-cpp (llama/addon/AddonSampler.*), which every source build of the backend
# compiles. Run by scripts/build-cpu-backend.sh and scripts/build-cuda-backend.sh before they build.
#
# Why: node-llama-cpp's AddonSampler (3.22.1) turns T ≤ 0 into greedy. Patched, T < 0 negates the
# logits as they are copied into the candidates and samples them at |T| (greedy stays at exactly 0),
# so one context serves both signs and the engine needs no adapter or derived file. The engine proves
# at load time which addon it got (src/engine/negation.ts): the prebuilt binaries are not patched and
# keep the adapter / copy routes.
#
# Refuses when the installed node-llama-cpp is not the version the patch was written for, or when the
# patch does not apply; does nothing when it is already applied.
#
# Upstream would need the same in node-llama-cpp's AddonSampler (negate in setTokenCandidates, |T| to
# llama_sampler_init_temp, greedy only at T = 0), or in llama.cpp itself a temperature sampler that
# keeps the sign (llama_sampler_temp_impl keeps only the max at temp ≤ 0).
set -euo pipefail
cd "$(dirname "$0")/.."

package=node_modules/node-llama-cpp
installed=$(node -p "require('./$package/package.json').version" 2>/dev/null || echo none)
patch_file="patches/node-llama-cpp-$installed-negative-temperature.patch"
if [ ! -f "$patch_file" ]; then
  echo "No negative-temperature patch for node-llama-cpp $installed (have: $(ls patches)): write one for this version, or pin the version the patch is for" >&2
  exit 1
fi
command -v patch >/dev/null || { echo "patch not found: install it (Debian: apt-get install patch)" >&2; exit 1; }

if patch --dry-run --reverse --force --silent -p1 -d "$package" <"$patch_file" >/dev/null 2>&1; then
  echo "$patch_file is already applied"
elif patch --dry-run --forward --force --silent -p1 -d "$package" <"$patch_file" >/dev/null 2>&1; then
  patch --forward --force --silent -p1 -d "$package" <"$patch_file"
  echo "Applied $patch_file"
else
  echo "$patch_file does not apply to $package: are its sources modified? Run npm ci and try again" >&2
  exit 1
fi
