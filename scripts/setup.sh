#!/usr/bin/env bash
# Sets up a fresh Debian machine for Perennial, and does nothing when already
# set up (npm start and npm test call it first):
#   - Debian packages: libtorch-dev (unless LIBTORCH points at a libtorch
#     download) and libopenblas0-pthread (the BLAS libtorch should use; the
#     default reference BLAS is about 13x slower here);
#   - with --test: dataset-fashion-mnist, the full-size data the tests read;
#     slurm-wlm with munge, the one-node Slurm cluster (scripts/slurm.sh,
#     started last) that the Slurm executor's tests submit to; and chromium,
#     the browser the report's tests drive headless (playwright-core
#     downloads no browser);
#   - with --dev: those, and python3-torch for the fixture generators and the
#     benchmarks (never needed at run time or by the tests);
#   - npm dependencies, the native addon and the TypeScript build, each redone
#     only when its inputs changed.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(libopenblas0-pthread)
[ -n "${LIBTORCH:-}" ] || packages+=(libtorch-dev)
case "${1:-}" in
  --test) packages+=(dataset-fashion-mnist slurm-wlm munge chromium) ;;
  --dev) packages+=(dataset-fashion-mnist slurm-wlm munge chromium python3-torch) ;;
  "") ;;
  *) echo "perennial: unknown set-up option '$1' (use --test or --dev)" >&2; exit 2 ;;
esac

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

# npm dependencies when the lock file changed; `npm ci` runs the install hook,
# which builds the native addon. Otherwise the hook alone, which returns at
# once when the addon is up to date.
stamp=node_modules/.perennial-lock.sha256
lock=$(cat package.json package-lock.json | sha256sum | cut -c1-64)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$lock" ]; then
  echo "perennial: installing npm dependencies and building the native addon (a few minutes)"
  npm ci --no-audit --no-fund --loglevel=error
  echo "$lock" > "$stamp"
else
  node scripts/build-native.mjs
fi
node scripts/build-ts.mjs
case "${1:-}" in
  --test | --dev) bash scripts/slurm.sh start ;;
esac
