#!/usr/bin/env bash
# Downloads whole days of the PlanetLab CPU traces CloudSim distributes (github.com/Cloudslab/cloudsim,
# modules/cloudsim-examples/src/main/resources/workload/planetlab/<day>/) into data/planetlab/<day>/,
# for `ballast simulate --traces data/planetlab/<day>`. Source and licence: data/planetlab-sample/README.md.
#
#   scripts/fetch-planetlab.sh [DAY…]     default 20110303; CloudSim has 20110303 20110306 20110309
#                                         20110322 20110325 20110403 20110409 20110411 20110412 20110420
#
# Needs git and access to github.com. It is not run by CI and was not run where it was written:
# those machines reach package registries only.
set -euo pipefail
cd "$(dirname "$0")/.."

days=("$@")
((${#days[@]})) || days=(20110303)
for day in "${days[@]}"; do
  [[ $day =~ ^[0-9]{8}$ ]] || { echo "not a day (YYYYMMDD): $day" >&2; exit 2; }
done

folder=modules/cloudsim-examples/src/main/resources/workload/planetlab
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
git clone --quiet --depth 1 --filter=blob:none --sparse https://github.com/Cloudslab/cloudsim "$scratch/cloudsim"
git -C "$scratch/cloudsim" sparse-checkout set "${days[@]/#/$folder/}"

mkdir -p data/planetlab
for day in "${days[@]}"; do
  rm -rf "data/planetlab/$day"
  cp -R "$scratch/cloudsim/$folder/$day" "data/planetlab/$day"
  echo "data/planetlab/$day: $(find "data/planetlab/$day" -type f | wc -l) VM traces"
done
