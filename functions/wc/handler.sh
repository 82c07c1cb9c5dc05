#!/bin/sh
# Count the lines, words and bytes of the request body (stdin) and answer
# them on one line, separated by single spaces: `lines words bytes`.
set -eu

# wc pads its columns; word splitting in `set --` drops the padding.
# shellcheck disable=SC2046
set -- $(wc)
printf '%s %s %s\n' "$1" "$2" "$3"
