#!/usr/bin/env bash
# Runs a command on another major of Node.js, e.g.  scripts/with-node.sh 24 npm test
#
# That Node comes from the npm registry (package node-<platform>-<arch>, headers included) into a
# temporary folder and goes first on PATH. Native addons are built for it (and kept in
# ~/.cache/flightdeck, by addon version and Node ABI, so the next run skips the compiler); when the
# command ends, however it ends, the addons built for the Node already installed are put back.
set -euo pipefail
cd "$(dirname "$0")/.."

major="${1:?usage: scripts/with-node.sh <major> <command> [args...]}"
shift
# Each compiled addon (package/path of its .node file).
addons=(better-sqlite3/build/Release/better_sqlite3.node)

tmp="$(mktemp -d)"
package="node-$(node -p 'process.platform + "-" + process.arch')"
npm install --prefix "$tmp" --no-save --no-audit --no-fund --loglevel=error "$package@$major" >/dev/null
nodedir="$tmp/node_modules/$package"
target="$nodedir/bin/node"
here_abi="$(node -p process.versions.modules)"
there_abi="$("$target" -p process.versions.modules)"
echo "with-node: $("$target" --version) from $package@$major (host $(node --version))"

loads() { "$1" -e 'require(process.argv[1])' "$PWD/node_modules/$2" 2>/dev/null; }
kept() { # the cache folder for an addon built for a Node ABI
  local pkg="${1%%/*}"
  local version
  version="$(node -p "require('./node_modules/$pkg/package.json').version")"
  echo "${XDG_CACHE_HOME:-$HOME/.cache}/flightdeck/addons/$pkg@$version-${package#node-}-abi$2"
}

restore() {
  for addon in "${addons[@]}"; do
    local kept_here
    kept_here="$(kept "$addon" "$here_abi")"
    if [ -f "$kept_here/${addon##*/}" ]; then
      cp "$kept_here/${addon##*/}" "node_modules/$addon"
    else
      npm rebuild --loglevel=error "${addon%%/*}" >/dev/null
    fi
  done
  rm -rf "$tmp"
}

if [ "$here_abi" != "$there_abi" ]; then
  trap restore EXIT
  for addon in "${addons[@]}"; do
    kept_here="$(kept "$addon" "$here_abi")"
    kept_there="$(kept "$addon" "$there_abi")"
    if loads node "$addon"; then
      mkdir -p "$kept_here" && cp "node_modules/$addon" "$kept_here/"
    fi
    if [ -f "$kept_there/${addon##*/}" ]; then
      cp "$kept_there/${addon##*/}" "node_modules/$addon"
    else
      echo "with-node: building ${addon%%/*} for Node $major"
      PATH="$nodedir/bin:$PATH" npm_config_nodedir="$nodedir" JOBS=max \
        npm rebuild --loglevel=error "${addon%%/*}" >/dev/null
      mkdir -p "$kept_there" && cp "node_modules/$addon" "$kept_there/"
    fi
    loads "$target" "$addon" || { echo "with-node: ${addon%%/*} does not load on Node $major" >&2; exit 1; }
  done
else
  trap 'rm -rf "$tmp"' EXIT
fi

PATH="$nodedir/bin:$PATH" "$@"
