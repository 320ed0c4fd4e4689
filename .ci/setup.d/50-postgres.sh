# Sourced by .ci/run before the build: a PostgreSQL server for the persistence tests (exports ACTOR_SCHEDULER_TEST_PG).
# CI requires it: a server that cannot be started fails this step, and the PostgreSQL tests fail rather than skip.
export ACTOR_SCHEDULER_REQUIRE_POSTGRES=1
# shellcheck disable=SC1091
source "$(dirname "${BASH_SOURCE[0]}")/../postgres.sh" start
