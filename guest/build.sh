#!/bin/sh
# Builds the Ballast test guest (a 32-bit multiboot kernel) from source.
# Usage: guest/build.sh [OUTPUT_DIR]   (default: guest/build). Prints the kernel's path.
# Needs gcc with 32-bit support (Debian: gcc-multilib) and binutils.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
out=${1:-"$here/build"}
mkdir -p "$out"
work=$(mktemp -d "$out/.build.XXXXXX")
trap 'rm -rf "$work"' EXIT
cflags="-m32 -march=i686 -ffreestanding -fno-pie -fno-stack-protector -fno-asynchronous-unwind-tables \
  -nostdlib -O2 -Wall -Wextra -Werror"
gcc $cflags -c "$here/boot.S" -o "$work/boot.o"
gcc $cflags -c "$here/kernel.c" -o "$work/kernel.o"
ld -m elf_i386 -no-pie --no-warn-rwx-segments -T "$here/linker.ld" -o "$work/ballast-guest.elf" "$work/boot.o" "$work/kernel.o"
# Atomic replace, so concurrent builds never expose a half-written kernel.
mv -f "$work/ballast-guest.elf" "$out/ballast-guest.elf"
echo "$out/ballast-guest.elf"
