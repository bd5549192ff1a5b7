#!/usr/bin/env bash
# Sets up a fresh Debian machine for Perennial, and does nothing when already
# set up (npm test and npm start call it first):
#   - Debian packages: libtorch-dev (unless LIBTORCH points at a libtorch
#     download) and libopenblas0-pthread (the BLAS libtorch should use; the
#     default reference BLAS is about 13x slower here);
#   - with --dev: python3-torch and dataset-fashion-mnist, for the fixture
#     generators and the benchmarks (never needed at run time);
#   - npm dependencies, the native addon, and the TypeScript build.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(libopenblas0-pthread)
[ -n "${LIBTORCH:-}" ] || packages+=(libtorch-dev)
[ "${1:-}" = "--dev" ] && packages+=(python3-torch dataset-fashion-mnist)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "perennial: installing Debian packages: ${missing[*]}"
  if [ "$(id -u)" -eq 0 ]; then sudo=""
  elif command -v sudo >/dev/null; then sudo="sudo"
  else
    echo "perennial: need root to install ${missing[*]}; run: sudo apt-get install -y ${missing[*]}" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# Rebuild only when the inputs of the build changed.
stamp=.setup-stamp
inputs=$(cat package.json package-lock.json binding.gyp native/* scripts/*.mjs 2>/dev/null | sha256sum | cut -c1-16)-${LIBTORCH:-debian}
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$inputs" ] || [ ! -f build/Release/perennial.node ] || [ ! -d node_modules ]; then
  echo "perennial: installing npm dependencies and building the native addon (a few minutes)"
  npm ci --no-audit --no-fund --loglevel=error
  echo "$inputs" > "$stamp"
fi
rm -rf dist
npx tsc -p tsconfig.json
