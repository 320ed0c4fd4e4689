# Sourced by .ci/run before the build: Prometheus's promtool, which checks the console's /metrics text
# (tests/Dashboard.Tests, StreamAndMetricsTests). Installs Debian's prometheus package when /usr/bin/promtool is missing.
# CI requires it: ACTOR_SCHEDULER_REQUIRE_PROMTOOL=1 makes the metrics check fail, rather than skip, without it.
export ACTOR_SCHEDULER_REQUIRE_PROMTOOL=1
if [ ! -x /usr/bin/promtool ]; then
  echo "[55-promtool.sh] installing Debian's prometheus package (for promtool)" >&2
  _asc_sudo=""
  [ "$(id -u)" -ne 0 ] && _asc_sudo="sudo"
  $_asc_sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null &&
    $_asc_sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus >/dev/null
  # Only promtool is wanted: on a host with systemd the package also starts a Prometheus server (port 9090); stop it.
  if [ -d /run/systemd/system ]; then
    $_asc_sudo systemctl disable --now prometheus >/dev/null 2>&1 || true
  fi
  unset _asc_sudo
fi
if [ ! -x /usr/bin/promtool ]; then
  echo "[55-promtool.sh] /usr/bin/promtool is still missing after apt-get install" >&2
  false
else
  /usr/bin/promtool --version 2>&1 | head -n 1 >&2
fi
