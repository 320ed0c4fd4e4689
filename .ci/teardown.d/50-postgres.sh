# Sourced by .ci/run after the tests: stops the PostgreSQL server of setup.d/50-postgres.sh.
# shellcheck disable=SC1091
source "$(dirname "${BASH_SOURCE[0]}")/../postgres.sh" stop
