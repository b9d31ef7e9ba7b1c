#!/usr/bin/env bash
# A private single-node SLURM + MUNGE for tests/test_slurm.py, from Debian's packages, without
# installing anything system-wide (a system-wide slurm-client makes every snakemake call stall
# ~10 s while no controller answers):
#
#   tests/slurm/setup.sh CLUSTER_DIR
#
# - `apt-get download`s slurmctld, slurmd, slurm-client, munge and the libraries among their
#   (recursive) dependencies that this system lacks, and `dpkg -x`es them into CLUSTER_DIR/prefix;
#   the daemons get their Debian alternative names (slurmd -> slurmd-wlm, ...);
# - creates the daemon users `slurm` and `munge` if missing;
# - lays out CLUSTER_DIR: etc/munge.key (munge, 0400), munge/ (munge), ctld/state (slurm),
#   slurmd/spool (root); the test renders etc/slurm.conf and starts the daemons itself.
#
# Exit status 77 (with the reason on stderr) where this machine cannot run the daemons: not root,
# not Linux, no apt/dpkg. Any other failure (e.g. a failed download) is an error.
set -euo pipefail

cluster=${1:?usage: setup.sh CLUSTER_DIR}
skip() { echo "cannot run a local SLURM cluster: $*" >&2; exit 77; }

[ "$(uname -s)" = Linux ] || skip "not Linux"
[ "$(id -u)" = 0 ] || skip "needs root (daemon users slurm/munge, slurmd runs jobs as their owner)"
for tool in apt-get apt-cache dpkg dpkg-query useradd groupadd; do
    command -v "$tool" >/dev/null 2>&1 || skip "no $tool (not a Debian-like system)"
done

core=(slurmctld slurmd slurm-client slurm-wlm-basic-plugins munge libmunge2)

# apt's package lists (a fresh container may have none yet).
if ! apt-cache show slurmctld >/dev/null 2>&1; then
    apt-get update -qq >/dev/null
    apt-cache show slurmctld >/dev/null 2>&1 || skip "apt knows no slurmctld package"
fi

installed() { [ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null)" = "install ok installed" ]; }

# The first alternative of every Depends/Pre-Depends of a package (virtual packages left out).
first_deps() {
    apt-cache depends --no-recommends --no-suggests --no-conflicts --no-breaks --no-replaces \
        --no-enhances "$1" 2>/dev/null | awk '
        /^ *\|?(Pre)?Depends:/ {
            alt = ($1 ~ /^\|/); name = $2
            if (!in_group && name !~ /^</) print name
            in_group = alt
        }'
}

# The core packages, plus the libraries (recursively) that are not installed system-wide.
declare -A want=()
queue=("${core[@]}")
for p in "${core[@]}"; do want[$p]=1; done
while [ ${#queue[@]} -gt 0 ]; do
    p=${queue[0]}; queue=("${queue[@]:1}")
    for d in $(first_deps "$p"); do
        [ -n "${want[$d]:-}" ] && continue
        case $d in lib*) ;; *) continue ;; esac   # maintainer-script tools (ucf, adduser) are not needed
        installed "$d" && continue
        want[$d]=1; queue+=("$d")
    done
done

mkdir -p "$cluster"
chmod 0755 "$cluster"
debs=$(mktemp -d "$cluster/debs.XXXXXX")
chmod 0755 "$debs"
shopt -s nullglob
download() {
    (cd "$debs" && apt-get download -q "${!want[@]}" 2>&1 | grep -v -e '^Get:' -e '^Fetched' -e 'unsandboxed' >&2 || true)
    files=("$debs"/*.deb)
    [ ${#files[@]} -eq ${#want[@]} ]
}
if ! download; then   # stale package lists: refresh once
    rm -f "$debs"/*.deb
    apt-get update -qq >/dev/null
    download || { echo "apt-get download got ${#files[@]} of ${#want[@]} packages: ${!want[*]}" >&2; exit 1; }
fi
prefix=$cluster/prefix
mkdir -p "$prefix"
for deb in "${files[@]}"; do dpkg -x "$deb" "$prefix"; done
rm -rf "$debs"
for daemon in slurmctld slurmd slurmstepd; do
    ln -sf "$daemon-wlm" "$prefix/usr/sbin/$daemon"
done
# The job step plugin runs `srun` inside each job with every SLURM_* variable but the job's identity
# removed, SLURM_CONF included, so srun would look for /etc/slurm/slurm.conf (or a configless
# controller via DNS). A real cluster has one of those; this private one gets an srun that knows
# where its slurm.conf is.
mv "$prefix/usr/bin/srun" "$prefix/usr/bin/srun-wlm"
cat > "$prefix/usr/bin/srun" <<EOF
#!/bin/sh
export SLURM_CONF="\${SLURM_CONF:-$cluster/etc/slurm.conf}"
exec "$prefix/usr/bin/srun-wlm" "\$@"
EOF
chmod 0755 "$prefix/usr/bin/srun"

# Daemon users (the packages' maintainer scripts would create them).
for user in slurm munge; do
    getent group "$user" >/dev/null || groupadd --system "$user"
    id -u "$user" >/dev/null 2>&1 || useradd --system --gid "$user" --no-create-home \
        --home-dir /nonexistent --shell /usr/sbin/nologin "$user"
done

# Layout: every directory traversable by the daemon users, each daemon's own one owned by it.
install -d -m 0755 -o root -g root "$cluster/etc" "$cluster/slurmd" "$cluster/slurmd/spool"
install -d -m 0755 -o munge -g munge "$cluster/munge"
install -d -m 0755 -o slurm -g slurm "$cluster/ctld" "$cluster/ctld/state"
head -c 1024 /dev/urandom > "$cluster/etc/munge.key"
chown munge:munge "$cluster/etc/munge.key"
chmod 0400 "$cluster/etc/munge.key"

echo "private SLURM + MUNGE in $prefix (${!want[*]})"
