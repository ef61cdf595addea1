#!/bin/sh
# A sample deploy script for the command driver. Flightdeck runs it with the deployment in
# FLIGHTDECK_* variables; every output line is kept as a log line; "::progress N" and
# "::message TEXT" lines report back. Exit 0 means success.
set -eu

echo "Deploying $FLIGHTDECK_SERVICE $FLIGHTDECK_VERSION to $FLIGHTDECK_ENVIRONMENT ($FLIGHTDECK_OPERATION)"
echo "Previous version: ${FLIGHTDECK_PREVIOUS_VERSION:-none}; options: $*"

echo "::message Pulling image"
sleep 1
echo "::progress 30"

echo "::message Applying manifests"
# kubectl set image "deployment/$FLIGHTDECK_SERVICE" "app=registry.internal/$FLIGHTDECK_SERVICE:$FLIGHTDECK_VERSION"
sleep 1
echo "::progress 70"

echo "::message Waiting for health checks"
# kubectl rollout status "deployment/$FLIGHTDECK_SERVICE" --timeout=5m
sleep 1
echo "::progress 100"
echo "Done"
