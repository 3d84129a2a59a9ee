#!/usr/bin/env bash
# Builds Ballast in release and installs it: the binary, shell completions (bash, zsh, fish), man
# pages, the systemd unit and example configuration.
#
#   sudo scripts/install.sh                      # /usr/local/bin/ballast, /etc/ballast, the unit
#   scripts/install.sh --prefix ~/.local --sysconfdir ~/.config --no-user   # for one user
#   scripts/install.sh --destdir /tmp/stage      # stage the files for a package
#
# Options:
#   --prefix DIR       where bin/, share/ and lib/systemd/system/ go (default /usr/local)
#   --sysconfdir DIR   where ballast/ with the configuration goes (default /etc)
#   --destdir DIR      prepend DIR to every path written (staging); creates no user
#   --binary FILE      install FILE instead of building (no build, no man pages unless --man-dir)
#   --man-dir DIR      install the man pages found in DIR instead of generating them
#   --no-user          do not create the `ballast` system user the unit runs as
#
# Building needs Swift 6.3 and libsqlite3-dev (libvirt-dev, pkg-config for the libvirt driver);
# the man pages come from swift-argument-parser's generate-manual plugin. Existing configuration is
# never overwritten: policy.yaml is installed only when missing; the examples are refreshed.
set -euo pipefail
cd "$(dirname "$0")/.."

prefix=/usr/local
sysconfdir=/etc
destdir=
binary=
man_dir=
create_user=yes

while (($#)); do
  case $1 in
  --prefix) prefix=${2:?--prefix needs a folder}; shift 2 ;;
  --sysconfdir) sysconfdir=${2:?--sysconfdir needs a folder}; shift 2 ;;
  --destdir) destdir=${2:?--destdir needs a folder}; shift 2 ;;
  --binary) binary=${2:?--binary needs a file}; shift 2 ;;
  --man-dir) man_dir=${2:?--man-dir needs a folder}; shift 2 ;;
  --no-user) create_user=no; shift ;;
  -h | --help) sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
  *) echo "install.sh: unknown option $1 (see --help)" >&2; exit 64 ;;
  esac
done
for folder in "$prefix" "$sysconfdir"; do
  [[ $folder == /* ]] || { echo "install.sh: $folder: give an absolute folder" >&2; exit 64; }
done

if [[ -z $binary ]]; then
  echo "Building ballast (release)…"
  swift build -c release --product ballast
  binary=$(swift build -c release --show-bin-path)/ballast
  if [[ -z $man_dir ]]; then
    echo "Generating the man pages…"
    swift package generate-manual --multi-page
    man_dir=.build/plugins/GenerateManual/outputs/ballast
  fi
fi
[[ -x $binary ]] || { echo "install.sh: $binary is not an executable" >&2; exit 1; }

root=$destdir
bindir=$prefix/bin
unitdir=$prefix/lib/systemd/system
configdir=$sysconfdir/ballast
installed=()
put() { # put MODE SOURCE TARGET
  install -D -m "$1" "$2" "$root$3"
  installed+=("$3")
}

put 755 "$binary" "$bindir/ballast"

completions=$(mktemp -d)
trap 'rm -rf "$completions"' EXIT
"$binary" --generate-completion-script bash >"$completions/ballast"
"$binary" --generate-completion-script zsh >"$completions/_ballast"
"$binary" --generate-completion-script fish >"$completions/ballast.fish"
put 644 "$completions/ballast" "$prefix/share/bash-completion/completions/ballast"
put 644 "$completions/_ballast" "$prefix/share/zsh/site-functions/_ballast"
put 644 "$completions/ballast.fish" "$prefix/share/fish/vendor_completions.d/ballast.fish"

if [[ -n $man_dir ]]; then
  for page in "$man_dir"/*.1; do
    [[ -e $page ]] || { echo "install.sh: no man pages in $man_dir" >&2; exit 1; }
    put 644 "$page" "$prefix/share/man/man1/$(basename "$page")"
  done
else
  echo "note: no man pages installed (--binary without --man-dir)"
fi

sed -e "s|/usr/local/bin|$bindir|g" \
  -e "s|/etc/ballast/|$configdir/|g" -e "s|/etc/default/ballast|$sysconfdir/default/ballast|g" \
  contrib/ballast.service >"$completions/ballast.service"
put 644 "$completions/ballast.service" "$unitdir/ballast.service"

put 644 clusters/demo.yaml "$configdir/cluster.yaml.example"
put 644 policies/balanced.yaml "$configdir/policy.yaml.example"
if [[ ! -e $root$configdir/policy.yaml ]]; then
  put 644 policies/balanced.yaml "$configdir/policy.yaml"
fi

if [[ $create_user == yes && -z $destdir && $(id -u) == 0 ]] && ! id ballast >/dev/null 2>&1; then
  useradd --system --home-dir /var/lib/ballast --no-create-home --shell /usr/sbin/nologin ballast
  echo "Created the system user ballast (the unit runs as it)."
fi

printf 'Installed:\n'
printf '  %s\n' "${installed[@]}"
cat <<EOF

Next: write $configdir/cluster.yaml (start from cluster.yaml.example), check it with
  ballast validate --cluster $configdir/cluster.yaml --policy $configdir/policy.yaml
then run the loop under systemd:
  sudo systemctl daemon-reload && sudo systemctl enable --now ballast
  systemctl status ballast; journalctl -u ballast -f; curl -s localhost:9464/healthz
EOF
case $unitdir in
/usr/lib/systemd/system | /usr/local/lib/systemd/system | /lib/systemd/system) ;;
*) echo "systemd does not look in $unitdir: sudo systemctl link $unitdir/ballast.service" ;;
esac
