#!/usr/bin/env bash
# One command for a newcomer on a fresh Debian 12 machine: install the
# dependencies, build, install, and check the bundled examples.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j"$(nproc)"
${SUDO:-$([ "$(id -u)" -eq 0 ] || echo sudo)} cmake --install build >/dev/null
${SUDO:-$([ "$(id -u)" -eq 0 ] || echo sudo)} ldconfig    # the new libpreflight.so.1
echo
echo "== preflight models"
preflight models
echo
echo "== a phone clip for Runway Aleph (examples/aleph-request.json)"
preflight check --model runwayml/runway-aleph/video-to-video \
    --input examples/aleph-request.json || true
echo
echo "== a 3:1 photo for Dreamina 3.0 Pro"
preflight check --model bytedance/dreamina-3-0/pro/image-to-video \
    prompt="a slow tracking shot" image_urls=@examples/wide-photo.jpg || true
echo
echo "== the same photo for a fal.ai model (its OpenAPI document's x-fal limits)"
preflight check --model fal:fal-ai/kling-video/v2.6/pro/image-to-video \
    prompt="a slow push in" start_image_url=@examples/wide-photo.jpg || true
echo
echo "== fix them: new files in fixed/, the originals untouched"
preflight fix --model runwayml/runway-aleph/video-to-video \
    --input examples/aleph-request.json -o fixed || true
echo
preflight fix --model bytedance/dreamina-3-0/pro/image-to-video -o fixed \
    prompt="a slow tracking shot" image_urls=@examples/wide-photo.jpg || true
echo
preflight fix --model fal:fal-ai/kling-video/v2.6/pro/image-to-video -o fixed/fal \
    prompt="a slow push in" start_image_url=@examples/wide-photo.jpg || true
