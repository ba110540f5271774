#!/usr/bin/env bash
# Build the pinned livekit-server release from the Go module proxy into ./bin.
set -euo pipefail
VERSION="${LIVEKIT_SERVER_VERSION:-v1.13.5}"
cd "$(dirname "$0")/.."
if [ -x bin/livekit-server ] && bin/livekit-server --version 2>/dev/null | grep -q "${VERSION#v}"; then
  exit 0
fi
mkdir -p bin
echo "building livekit-server ${VERSION} (takes 2-3 minutes the first time)..."
GOBIN="$PWD/bin" go install "github.com/livekit/livekit-server/cmd/server@${VERSION}"
mv -f bin/server bin/livekit-server
bin/livekit-server --version
