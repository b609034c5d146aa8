# Sourced by the scripts: one target directory outside the clone, shared by the app, the tests
# and CI on this machine, so a clean clone does not rebuild Bevy (~15 min on 2 cores).
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/factory-twin/target}"
