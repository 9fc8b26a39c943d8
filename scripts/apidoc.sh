#!/usr/bin/env bash
# The API reference: Doxygen over the public headers (Doxyfile) into
# build/apidoc/html/index.html. Any Doxygen warning fails it (scripts/test.sh
# runs it, so CI checks the header comments).
set -euo pipefail
cd "$(dirname "$0")/.."
command -v doxygen >/dev/null || { echo "apidoc: doxygen missing (scripts/setup.sh)" >&2; exit 1; }
rm -rf build/apidoc
mkdir -p build/apidoc
if ! doxygen Doxyfile || [[ -s build/apidoc/warnings.log ]]; then
  cat build/apidoc/warnings.log >&2
  echo "apidoc: $(wc -l <build/apidoc/warnings.log) warning line(s), see above" >&2
  exit 1
fi
echo "apidoc: build/apidoc/html/index.html (0 warnings)"
