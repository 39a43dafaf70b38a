#!/bin/sh
# Brings everything the project needs onto a fresh machine of its kind, and does nothing when
# it is all there: npm packages with Node 24 itself (the `node` package, so every npm script runs
# on 24 whatever Node the machine has), then the Debian packages of the local stack.
set -eu
cd "$(dirname "$0")/.."
if [ ! -x node_modules/.bin/node ] || [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "bootstrap: installing npm packages (npm ci)" >&2
  npm ci --no-audit --no-fund --loglevel=error
fi
major=$(node_modules/.bin/node -p 'process.versions.node.split(".")[0]')
[ "$major" -ge 24 ] || { echo "bootstrap: node_modules/.bin/node is Node $major, need 24" >&2; exit 1; }
# bin/rac runs the build in dist/ once it is at least as new as src/ (npm's prepare makes it).
if [ ! -f dist/cli/main.js ] || [ -n "$(find src -newer dist/cli/main.js -print -quit)" ]; then
  node_modules/.bin/node scripts/build.ts
fi
sh infra/local/install-packages.sh slapd ldap-utils openssl openvpn openssh-server openssh-client iproute2 procps prometheus faketime wireguard-tools wireguard-go iputils-ping nginx curl shellcheck sudo systemd chromium fonts-wqy-zenhei
