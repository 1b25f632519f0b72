#!/bin/sh
# Decision hook for publish_content: runs once, after a valid signed approval.
# The proposal arrives as JSON on stdin and in $GA_PROPOSAL_FILE.
set -eu
title=$(sed -n 's/^  "title": "\(.*\)",$/\1/p' "$GA_PROPOSAL_FILE")
echo "published: $title (proposal $GA_PROPOSAL_ID)"
