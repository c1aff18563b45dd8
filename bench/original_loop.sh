#!/usr/bin/env bash
# The original workflow's approach, as a baseline: one mapping at a time, `skopeo inspect`
# the source and the destination, compare the digests, `skopeo copy --all` when they differ.
# Input: a file of `SOURCE=DESTINATION` lines. Credentials: $REGISTRY_AUTH_FILE.
# Output: one `skipped|synced|failed DESTINATION` line per mapping.
set -u
while IFS='=' read -r src dst; do
  [ -n "$src" ] || continue
  if ! src_digest=$(skopeo inspect --format '{{.Digest}}' "docker://$src" 2>/dev/null); then
    echo "failed $dst"
    continue
  fi
  dst_digest=$(skopeo inspect --format '{{.Digest}}' "docker://$dst" 2>/dev/null || true)
  if [ "$src_digest" = "$dst_digest" ]; then
    echo "skipped $dst"
  elif skopeo copy --all "docker://$src" "docker://$dst" >/dev/null 2>&1; then
    echo "synced $dst"
  else
    echo "failed $dst"
  fi
done < "$1"
