#!/bin/sh
# Put Cascade Watch in the desktop's launcher for the current user: the .desktop entry, the
# AppStream metadata and the icon in every size, under $XDG_DATA_HOME (~/.local/share).
#
#   packaging/linux/install-desktop-entry.sh [COMMAND]
#
# COMMAND is what the launcher runs. By default: inside the frozen build (this script sits in
# its desktop/ folder) the build's own cascade-watch; otherwise cascade-watch-gui from PATH
# (pip, pipx and uv tool installs put it there).
# Run it again after moving the app; remove the files it lists to undo it.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
icons=$(cd "$here/../../resources/icons" 2>/dev/null && pwd) || icons="$here/icons"
id=org.cascadewatch.CascadeWatch
if [ -x "$here/../cascade-watch" ] && [ ! -d "$here/../cascade-watch" ]; then
  default=$(cd "$here/.." && pwd)/cascade-watch
else
  default=cascade-watch-gui
fi
command=${1:-$default}
case "$command" in
  *[!A-Za-z0-9_./-]*) echo "install-desktop-entry: the command must be a plain path without spaces: $command" >&2; exit 2 ;;
esac
data=${XDG_DATA_HOME:-$HOME/.local/share}
mkdir -p "$data/applications" "$data/metainfo" "$data/icons/hicolor/scalable/apps"
sed -e "s|^Exec=.*|Exec=$command|" -e "s|^TryExec=.*|TryExec=$command|" \
  "$here/$id.desktop" > "$data/applications/$id.desktop"
cp "$here/$id.metainfo.xml" "$data/metainfo/$id.metainfo.xml"
cp "$icons/cascade-watch.svg" "$data/icons/hicolor/scalable/apps/$id.svg"
echo "$data/applications/$id.desktop"
echo "$data/metainfo/$id.metainfo.xml"
echo "$data/icons/hicolor/scalable/apps/$id.svg"
for size in 16 24 32 48 64 128 256 512; do
  dir="$data/icons/hicolor/${size}x${size}/apps"
  mkdir -p "$dir"
  cp "$icons/cascade-watch-$size.png" "$dir/$id.png"
  echo "$dir/$id.png"
done
if command -v update-desktop-database >/dev/null 2>&1; then
  update-desktop-database -q "$data/applications" || true
fi
if command -v gtk-update-icon-cache >/dev/null 2>&1; then
  gtk-update-icon-cache -q -t "$data/icons/hicolor" || true
fi
