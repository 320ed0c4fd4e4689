# Sourced by .ci/run before the build: headless Chromium and its ChromeDriver for the console page's browser test
# (tests/Dashboard.Tests, BrowserTests). Installs Debian's chromium and chromium-driver packages when missing.
# CI requires them: ACTOR_SCHEDULER_REQUIRE_CHROMIUM=1 makes the browser test fail, rather than skip, without them.
export ACTOR_SCHEDULER_REQUIRE_CHROMIUM=1
if [ ! -x /usr/bin/chromium ] || [ ! -x /usr/bin/chromedriver ]; then
  echo "[60-chromium.sh] installing Debian's chromium and chromium-driver packages" >&2
  _asc_sudo=""
  [ "$(id -u)" -ne 0 ] && _asc_sudo="sudo"
  $_asc_sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null &&
    $_asc_sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium chromium-driver >/dev/null
  unset _asc_sudo
fi
if [ ! -x /usr/bin/chromium ] || [ ! -x /usr/bin/chromedriver ]; then
  echo "[60-chromium.sh] /usr/bin/chromium or /usr/bin/chromedriver is still missing after apt-get install" >&2
  false
else
  /usr/bin/chromium --version >&2
fi
