#!/usr/bin/env bash
# Make sure a Chromium for the headless browser test is installed (Debian's package;
# Playwright's own browser download cannot work offline). Installs it when running as
# root with apt-get; otherwise says how, and fails under CI.
set -u
for c in chromium chromium-browser google-chrome; do
  command -v "$c" >/dev/null && exit 0
done
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "installing chromium for the browser test (apt-get)"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null && exit 0
fi
echo "Chromium is missing: sudo apt-get install -y chromium (the Airflow UI test needs it)"
[ -n "${CI:-}" ] && exit 1
exit 0
