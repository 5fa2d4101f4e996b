#!/usr/bin/env bash
# PNG screenshots of perch's views for the README, without a terminal or a
# network at render time: `perch render` prints one ANSI frame of the real
# dashboard on the simulator at a fixed time and seed, xterm.js draws it in a
# static page and headless Chromium photographs the page.
#
#   screenshots.sh install          xterm.js (npm, pinned) into .cache/screenshots, chromium (apt) if missing
#   screenshots.sh render [OUTDIR]  build perch, write each frame to .cache/screenshots/frames/NAME.ans
#                                   and its picture to OUTDIR/NAME.png (default: screenshots/)
#   screenshots.sh list             the shots: NAME and the perch render arguments
#   screenshots.sh                  install, then render
#
# PERCH (env) uses that perch binary instead of building one.
# The frames are a pure function of the arguments below; the golden test in
# cmd/perch (render_test.go) renders overview-dark with the same ones.
set -euo pipefail

die() { echo "screenshots.sh: $*" >&2; exit 1; }

ROOT=$(cd "$(dirname "$0")/.." && pwd)
CACHE=$ROOT/.cache/screenshots
XTERM_VERSION=6.0.0

# Shared by every shot: an afternoon during the simulator's daily incident
# (14:05-14:25: payments is slow, checkout and frontend see p99 spikes and
# errors and scale out), so the pictures show every state.
COMMON=(--width 140 --height 32 --at 2026-11-26T14:20:00Z --seed 1)
# NAME|perch render arguments
SHOTS=(
  "overview-dark|--view overview --theme dark"
  "overview-light|--view overview --theme light"
  "detail-dark|--view detail --theme dark --select shop/checkout"
  "detail-light|--view detail --theme light --select shop/checkout"
  "help-dark|--view help --theme dark"
  "overview-okabe-ito|--view overview --theme okabe-ito"
  "overview-high-contrast|--view overview --theme high-contrast"
)

cmd_install() {
  # xterm.js, pinned; npm's cache makes reinstalls work offline.
  local have=""
  if [ -f "$CACHE/node_modules/@xterm/xterm/package.json" ]; then
    have=$(sed -n 's/^  "version": "\(.*\)",$/\1/p' "$CACHE/node_modules/@xterm/xterm/package.json")
  fi
  if [ "$have" != "$XTERM_VERSION" ]; then
    command -v npm >/dev/null || die "npm is needed to install @xterm/xterm (apt-get install npm)"
    mkdir -p "$CACHE"
    cat >"$CACHE/package.json" <<JSON
{"name": "perch-screenshots", "private": true, "dependencies": {"@xterm/xterm": "$XTERM_VERSION"}}
JSON
    (cd "$CACHE" && npm install --prefer-offline --no-audit --no-fund --loglevel=error) ||
      die "npm install @xterm/xterm@$XTERM_VERSION failed (is the npm registry reachable?)"
  fi
  [ -f "$CACHE/node_modules/@xterm/xterm/lib/xterm.js" ] || die "xterm.js missing after npm install"
  echo "xterm.js: $XTERM_VERSION in $CACHE/node_modules"

  local pkgs=()
  command -v chromium >/dev/null || pkgs+=(chromium)
  # DejaVu Sans Mono has the braille the charts are drawn with.
  fc-list 2>/dev/null | grep -q "DejaVu Sans Mono" || pkgs+=(fonts-dejavu-core)
  if [ ${#pkgs[@]} -gt 0 ]; then
    local sudo=""
    if [ "$(id -u)" != 0 ]; then
      command -v sudo >/dev/null || die "not root and no sudo: install ${pkgs[*]} by hand"
      sudo="sudo"
    fi
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -q
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${pkgs[@]}"
  fi
  command -v chromium >/dev/null || die "chromium is not on PATH after apt-get install chromium"
  echo "chromium: $(chromium --version 2>/dev/null | head -n1)"
}

# page FRAME COLS ROWS BG FG: a static page that draws FRAME with xterm.js.
page() {
  local b64
  b64=$(base64 -w0 <"$1")
  cat <<HTML
<!doctype html><html><head><meta charset="utf-8">
<link rel="stylesheet" href="file://$CACHE/node_modules/@xterm/xterm/css/xterm.css">
<style>html,body{margin:0;background:$4} #t{padding:12px;display:inline-block}</style></head>
<body><div id="t"></div>
<script src="file://$CACHE/node_modules/@xterm/xterm/lib/xterm.js"></script>
<script>
const bytes = Uint8Array.from(atob("$b64"), c => c.charCodeAt(0));
const term = new Terminal({cols: $2, rows: $3, fontFamily: 'DejaVu Sans Mono', fontSize: 14,
  theme: {background: '$4', foreground: '$5', cursor: '$4', cursorAccent: '$4'},
  cursorBlink: false, customGlyphs: true, allowProposedApi: true, scrollback: 0});
term.open(document.getElementById('t'));
// Frames end lines with \n; a terminal needs \r\n. No final newline: it would scroll.
term.write(new TextDecoder().decode(bytes).replace(/\n$/, '').replace(/\r?\n/g, '\r\n') + '\x1b[?25l');
</script></body></html>
HTML
}

# colours of the page around the terminal, by theme: the terminal's own
# background and default text.
page_colours() {
  case "$1" in
    high-contrast) echo "#000000 #ffffff" ;;
    high-contrast-light) echo "#ffffff #000000" ;;
    *-light | light) echo "#fafafa #1c1c1c" ;;
    *) echo "#171717 #d0d0d0" ;;
  esac
}

arg_of() { # FLAG ARGS...: the value after FLAG
  local flag=$1; shift
  while [ $# -gt 1 ]; do
    if [ "$1" = "$flag" ]; then echo "$2"; return; fi
    shift
  done
}

cmd_list() {
  for s in "${SHOTS[@]}"; do
    echo "${s%%|*}|${s#*|} ${COMMON[*]}"
  done
}

cmd_render() {
  local out=${1:-$ROOT/screenshots}
  [ -f "$CACHE/node_modules/@xterm/xterm/lib/xterm.js" ] || die "xterm.js missing: run $0 install first"
  command -v chromium >/dev/null || die "chromium missing: run $0 install first"
  mkdir -p "$out" "$CACHE/frames"
  out=$(cd "$out" && pwd)
  local perch=${PERCH:-}
  if [ -z "$perch" ]; then
    perch=$CACHE/perch
    (cd "$ROOT" && go build -o "$perch" ./cmd/perch) || die "go build ./cmd/perch failed"
  fi
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  : >"$CACHE/frames/manifest"
  for s in "${SHOTS[@]}"; do
    local name=${s%%|*} args
    read -r -a args <<<"${s#*|}"
    args+=("${COMMON[@]}")
    local frame=$CACHE/frames/$name.ans
    if ! "$perch" render "${args[@]}" >"$frame" 2>"$tmp/err"; then
      if grep -q 'unknown command "render"' "$tmp/err"; then
        die "$perch has no render command yet: cmd/perch/main.go needs: case \"render\": err = runRender(ctx, e, args)"
      fi
      die "perch render ${args[*]}: $(cat "$tmp/err")"
    fi
    local cols rows colours
    cols=$(arg_of --width "${args[@]}")
    rows=$(arg_of --height "${args[@]}")
    read -r -a colours <<<"$(page_colours "$(arg_of --theme "${args[@]}")")"
    page "$frame" "$cols" "$rows" "${colours[0]}" "${colours[1]}" >"$tmp/$name.html"
    # DejaVu Sans Mono at 14px: cells of about 8.43 × 16 px, plus the padding.
    local w=$(( cols * 843 / 100 + 30 )) h=$(( rows * 16 + 30 ))
    rm -f "$out/$name.png"
    chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
      --disable-background-networking --disable-component-update --disable-sync \
      --user-data-dir="$tmp/profile-$name" --hide-scrollbars --virtual-time-budget=2000 \
      --window-size="$w,$h" --screenshot="$out/$name.png" "file://$tmp/$name.html" >"$tmp/chromium.log" 2>&1 ||
      die "chromium failed on $name: $(tail -n 5 "$tmp/chromium.log")"
    [ -s "$out/$name.png" ] || die "chromium wrote no $out/$name.png: $(tail -n 5 "$tmp/chromium.log")"
    printf '%s\t%s\t%s\n' "$name" "$frame" "${args[*]}" >>"$CACHE/frames/manifest"
    echo "$out/$name.png (${w}x${h})"
  done
}

case "${1:-all}" in
  install) cmd_install ;;
  render) shift; cmd_render "$@" ;;
  list) cmd_list ;;
  all) cmd_install; cmd_render ;;
  *) die "unknown command ${1} (install | render [OUTDIR] | list)" ;;
esac
