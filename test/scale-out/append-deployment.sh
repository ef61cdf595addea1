#!/bin/sh
# The deploy "script" of the scale-out check: records that this deployment ran, once per run.
set -eu
echo "deploying $FLIGHTDECK_SERVICE $FLIGHTDECK_VERSION"
echo "::progress 10"
printf '%s\n' "$FLIGHTDECK_DEPLOYMENT_ID" >> "$SCALE_OUT_FILE"
for step in 1 2 3 4; do
  sleep "$SCALE_OUT_STEP_SECONDS"
  echo "step $step of 4"
  echo "::progress $((10 + step * 20))"
done
echo "::message done"
