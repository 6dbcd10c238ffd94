#!/usr/bin/env bash
# make fuzz: run every Fuzz* target in the tree for a short time each, one
# worker at a time. FUZZTIME (default 20s) sets the time per target.
# New failing inputs land in the package's testdata/fuzz/ as usual.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/local/go/bin"
FUZZTIME=${FUZZTIME:-20s}

mapfile -t targets < <(grep -rnoE --include='*_test.go' --exclude-dir=node_modules --exclude-dir=.git \
  '^func Fuzz[A-Za-z0-9_]*\(' . | sed -E 's#^(.*)/[^/]*_test\.go:[0-9]+:func (Fuzz[A-Za-z0-9_]*)\($#\1 \2#' | sort -u)
if [ ${#targets[@]} -eq 0 ]; then
  echo "fuzz: no fuzz target found"
  exit 0
fi

failed=()
for t in "${targets[@]}"; do
  read -r pkg name <<<"$t"
  echo "== $name in $pkg ($FUZZTIME)"
  if ! go test -run '^$' -fuzz "^${name}\$" -fuzztime "$FUZZTIME" -parallel=1 "$pkg"; then
    failed+=("$pkg $name")
  fi
done

echo
echo "fuzz: ${#targets[@]} targets run for $FUZZTIME each, ${#failed[@]} failed"
for f in "${failed[@]}"; do echo "  FAIL $f"; done
[ ${#failed[@]} -eq 0 ]
