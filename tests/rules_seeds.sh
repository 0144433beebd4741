# Every bundled rules file still carries the input schema exactly as the
# source documents (../shared/seeds beside the checkout) give it. Skipped
# (77) where the documents are not there; CI has them.
SEEDS=$PF_SOURCE_DIR/../shared/seeds
if [ ! -d "$SEEDS" ]; then
    echo "SKIP: $SEEDS is missing beside the checkout: the rules cannot be compared with their sources"
    exit 77
fi
out=$(python3 "$PF_SOURCE_DIR/tools/rules-from-seeds.py" --check 2>&1) \
    || { echo "FAIL: rules differ from the source documents: $out"; exit 1; }
echo "rules match their source documents"
