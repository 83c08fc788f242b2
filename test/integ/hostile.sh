#!/usr/bin/env bash
# The hostile-server suite (issue 10): every scenario of test/hostile/hostile-server,
# on a fresh state dir and with --force over a good identity. See
# test/hostile/hostile-test for what each run must do. Arguments pick the
# scenarios whose names hold one of them (make check-aarch64's sample).
: "${DRSJOIN:?run from test/run, which sets DRSJOIN}"
exec /usr/bin/python3 "$(dirname "$0")/../hostile/hostile-test" "$DRSJOIN" "$@"
