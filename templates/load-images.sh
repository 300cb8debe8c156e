#!/bin/bash
# remaster image loader (rendered from templates/load-images.sh): loads every archive in the payload
# manifest into @@ENGINE@@ once. Idempotent: an image already present with the same ID is skipped.
# An archive is loaded only after its sha256 matches; a bad archive is reported and the others still load.
# While an archive loads, its name is in $STATE/loading (synced): when a boot ends during a load (power cut,
# reset), the next run says so, and loads it again (an image counts only once the engine shows its ID).
# Exit status: 0 when every image of the manifest is present afterwards, 1 otherwise.
set -u -o pipefail

ENGINE=@@ENGINE@@
PAYLOAD=${REMASTER_PAYLOAD_DIR:-@@PAYLOAD_DIR@@} # the override exists for tests
MANIFEST="$PAYLOAD/images.tsv"
STATE=${REMASTER_STATE_DIR:-@@STATE_DIR@@}
MARKERS="$STATE/loaded"
INFLIGHT="$STATE/loading"
DECOMPRESS=(@@DECOMPRESS@@)
DELETE_AFTER_LOAD=@@DELETE_AFTER_LOAD@@
STORE=${REMASTER_STORE_DIR:-@@STORE_DIR@@}

log() { printf '%s\n' "$*"; }
warn() { printf '<4>%s\n' "$*"; }
err() { printf '<3>%s\n' "$*"; }

# The ID the engine holds for a reference, without the sha256: prefix; empty when absent.
image_id() {
	local id
	id=$("$ENGINE" image inspect --format '{{.Id}}' "$1" 2>/dev/null </dev/null) || return 0
	printf '%s' "${id#sha256:}"
}

all_present() { # id refs...
	local want=$1 ref
	shift
	for ref in "$@"; do
		[ "$(image_id "$ref")" = "$want" ] || return 1
	done
}

if [ ! -r "$MANIFEST" ]; then
	err "manifest $MANIFEST is missing: nothing to load"
	exit 1
fi
mkdir -p "$MARKERS"
if [ -s "$INFLIGHT" ]; then
	warn "INTERRUPTED $(head -n 1 "$INFLIGHT"): an earlier boot ended (power cut or reset) while loading it; it is checked and loaded again"
	rm -f "$INFLIGHT"
fi

total=0 loaded=0 present=0 failed=0
# Free bytes where the engine unpacks images (its store); empty when it cannot be told.
free_bytes() {
	local dir=$STORE
	while [ ! -d "$dir" ] && [ "$dir" != / ]; do dir=$(dirname "$dir"); done
	df --output=avail -B1 "$dir" 2>/dev/null | tail -n 1 | tr -d ' '
}

while IFS=$'\t' read -r -u 3 file sha id refs size; do
	[ -n "$file" ] || continue
	total=$((total + 1))
	want=${id#sha256:}
	IFS=, read -r -a names <<<"$refs"
	first=${names[0]}
	if all_present "$want" "${names[@]}"; then
		log "present: $first (${want:0:12})"
		present=$((present + 1))
		continue
	fi
	archive="$PAYLOAD/images/$file"
	if [ ! -f "$archive" ]; then
		err "FAILED $first: archive $archive is missing"
		failed=$((failed + 1))
		continue
	fi
	if ! printf '%s  %s\n' "$sha" "$archive" | sha256sum --check --status; then
		err "FAILED $first: $archive does not match its sha256 $sha (corrupt or truncated); not loading it"
		failed=$((failed + 1))
		continue
	fi
	free=$(free_bytes)
	if [ -n "${size:-}" ] && [ -n "$free" ] && [ "$free" -lt "$size" ]; then
		err "FAILED $first: needs about $size bytes in $STORE to load, only $free free; not loading it"
		failed=$((failed + 1))
		continue
	fi
	printf '%s\n' "$first" >"$INFLIGHT" && sync "$INFLIGHT" "$STATE"
	log "loading: $first from $file"
	out=$("${DECOMPRESS[@]}" <"$archive" | "$ENGINE" load 2>&1)
	status=$?
	# A store that outlives this boot (store device, installed system) holds the image before it counts as loaded.
	sync -f "$STORE" 2>/dev/null
	rm -f "$INFLIGHT"
	if [ "$status" -ne 0 ]; then
		err "FAILED $first: $ENGINE load failed: $(printf '%s' "$out" | tail -n 3 | tr '\n' ' ')"
		failed=$((failed + 1))
		continue
	fi
	if ! all_present "$want" "${names[@]}"; then
		err "FAILED $first: loaded, but the engine does not show ${names[*]} with ID ${want:0:12}"
		failed=$((failed + 1))
		continue
	fi
	: >"$MARKERS/$want"
	log "loaded: $first (${want:0:12})"
	loaded=$((loaded + 1))
	if [ "$DELETE_AFTER_LOAD" = yes ]; then rm -f -- "$archive"; fi
done 3<"$MANIFEST"

log "summary: $total images, $loaded loaded, $present already present, $failed failed"
[ "$failed" -eq 0 ]
