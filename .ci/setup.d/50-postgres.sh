# Sourced by .ci/run before the build: a PostgreSQL server for the persistence tests (exports ACTOR_SCHEDULER_TEST_PG).
# shellcheck disable=SC1091
source "$(dirname "${BASH_SOURCE[0]}")/../postgres.sh" start
