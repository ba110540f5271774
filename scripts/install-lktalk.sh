#!/usr/bin/env bash
# Build bin/lktalk (tools/lktalk: LiveKit talkers that send Ogg Opus files as they are, and
# an RTP probe) for `make bench-listener`. Its dependencies are pinned in tools/lktalk/go.sum
# and come from the Go module proxy, as livekit-server's do (scripts/install-livekit.sh).
# The LiveKit CLI `lk` (github.com/livekit/livekit-cli/v2) would do the talking, but the
# module proxy does not serve it here, so this is the same server-sdk-go that `lk` is built on.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -x bin/lktalk ] && [ -z "$(find tools/lktalk -newer bin/lktalk -type f)" ]; then
  exit 0
fi
mkdir -p bin
echo "building bin/lktalk (takes 2-3 minutes the first time)..."
(cd tools/lktalk && go build -trimpath -o ../../bin/lktalk .)
