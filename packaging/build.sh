#!/usr/bin/env bash
# Build the one-folder app with PyInstaller, then start the built app: it must open the window
# on a sample library and save a screenshot, and import a PDF through its worker processes.
#   packaging/build.sh            (uses .venv; installs PyInstaller into it if missing)
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
PY="$VENV/bin/python"
"$PY" -m PyInstaller --version >/dev/null 2>&1 || "$PY" -m pip install -q pyinstaller

VERSION=$("$PY" -c 'import sys; sys.path.insert(0, "app"); import exoref; print(exoref.__version__)')
DIST="dist/ExoRef-$VERSION"
start=$(date +%s)
"$PY" -m PyInstaller --noconfirm --clean --log-level WARN \
  --distpath dist --workpath build/pyinstaller packaging/exoref.spec
built=$(date +%s)
echo "built $DIST in $((built - start)) s ($(du -sh "$DIST" | cut -f1))"

# Try the built app, away from the user's library and settings.
TRY=$(mktemp -d)
trap 'rm -rf "$TRY"' EXIT
export EXOREF_CONFIG_DIR="$TRY/config" QT_QPA_PLATFORM=${QT_QPA_PLATFORM:-offscreen}
"$PY" - "$TRY" <<'PYEOF'
import sys
from pathlib import Path
sys.path.insert(0, ".")
from tests.fixtures import pdfgen
import random
out = Path(sys.argv[1])
pdfgen.render_article(pdfgen.synthetic_article(random.Random(1), pages=2), out / "paper.pdf")
PYEOF
"$DIST/exoref" import "$TRY/paper.pdf" --library "$TRY/library"
"$DIST/exoref" gui --library "$TRY/library" --screenshot "$TRY/built-app.png"
mkdir -p dist
cp "$TRY/built-app.png" "dist/built-app-screenshot.png"
echo "the built app imported a PDF and saved dist/built-app-screenshot.png in $(( $(date +%s) - built )) s"
