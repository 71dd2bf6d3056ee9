#!/usr/bin/env bash
# The Debian package, installed, run, stopped and purged in a root of its
# own: an overlay of this machine's root in a private mount namespace (the
# machine itself is left untouched), chrooted into. There is no systemd
# inside (no PID 1 of its own), so the unit is checked with systemd-analyze
# verify and its command run by hand as the unit says — user renkei, its
# working directory and umask, the check before the start — which the test
# says; the unit's sandboxing options need systemd and are not exercised.
#   tests/package/test_package.sh BUILD_DIR
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:?usage: test_package.sh BUILD_DIR}
if [ "$(id -u)" -ne 0 ] || ! unshare -m true 2>/dev/null; then
  echo "skipped: installing a package into a root of its own needs root and mount namespaces"
  exit 77
fi
(cd "$build" && cpack -G DEB -B "$build/package" >/dev/null)
deb=$(ls "$build"/package/renkei_*.deb | head -1)
echo "package: $(basename "$deb"), $(stat -c %s "$deb") bytes"
depends=$(dpkg-deb -f "$deb" Depends)
echo "depends: $depends"
case "$depends" in *libpoco*libsqlite3*) ;; *) echo "FAILED: the dependencies are not Debian's library packages"; exit 1;; esac
[ "$(dpkg-deb --ctrl-tarfile "$deb" | tar -xO ./conffiles)" = "/etc/renkei/renkei.xml" ] || { echo "FAILED: conffiles"; exit 1; }

work=$(mktemp -d /tmp/renkei-package-XXXXXX)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/upper" "$work/work" "$work/root"
cp "$deb" "$work/renkei.deb"
export DEB="$work/renkei.deb" WORK="$work"
unshare -m --propagation private bash -euo pipefail -c '
  mount -t overlay overlay -o lowerdir=/,upperdir="$WORK/upper",workdir="$WORK/work" "$WORK/root"
  mount -t proc proc "$WORK/root/proc"
  mount --rbind /dev "$WORK/root/dev"
  mount -t tmpfs tmpfs "$WORK/root/tmp"
  mount -t tmpfs tmpfs "$WORK/root/run"
  cp "$DEB" "$WORK/root/tmp/renkei.deb"
  inroot() { chroot "$WORK/root" "$@"; }
  # A root without renkei: nothing of an earlier install.
  inroot sh -c "dpkg -r renkei >/dev/null 2>&1; dpkg -P renkei >/dev/null 2>&1; ! id renkei 2>/dev/null" || true
  started=$(date +%s.%N)
  inroot dpkg -i /tmp/renkei.deb >/dev/null
  id=$(inroot id -u renkei)
  echo "installed: user renkei ($id), $(inroot stat -c "%a %U" /var/lib/renkei) /var/lib/renkei, $(inroot stat -c "%a %U:%G" /etc/renkei/renkei.xml) /etc/renkei/renkei.xml"
  [ "$(inroot stat -c %a /var/lib/renkei)" = 700 ] || { echo "FAILED: /var/lib/renkei is not 0700"; exit 1; }
  [ "$(inroot stat -c %a /etc/renkei/renkei.xml)" = 640 ] || { echo "FAILED: the config is not 0640"; exit 1; }
  inroot systemd-analyze verify /lib/systemd/system/renkei.service 2>&1 | sed "s/^/systemd-analyze: /"
  unit=/lib/systemd/system/renkei.service
  pre=$(sed -n "s/^ExecStartPre=//p" "$WORK/root$unit")
  start=$(sed -n "s/^ExecStart=//p" "$WORK/root$unit")
  user=$(sed -n "s/^User=//p" "$WORK/root$unit")
  dir=$(sed -n "s/^WorkingDirectory=//p" "$WORK/root$unit")
  umask_=$(sed -n "s/^UMask=//p" "$WORK/root$unit")
  echo "no systemd in this root: the unit command run by hand as $user in $dir, umask $umask_: $start"
  # Port 0: other tests may hold 9464; the operator edits the conffile the same way.
  sed -i "s/port=\"9464\"/port=\"0\"/" "$WORK/root/etc/renkei/renkei.xml"
  inroot setpriv --reuid "$user" --regid "$user" --init-groups --no-new-privs sh -c "cd $dir && umask $umask_ && $pre >/dev/null"
  chroot "$WORK/root" setpriv --reuid "$user" --regid "$user" --init-groups --no-new-privs sh -c "cd $dir && umask $umask_ && exec $start" \
    >"$WORK/serve.log" 2>&1 &
  pid=$!
  port=""
  for _ in $(seq 100); do
    port=$(sed -n "s|.*admin: http://127.0.0.1:\([0-9]*\)/metrics.*|\1|p" "$WORK/serve.log" | head -1)
    [ -n "$port" ] && break
    sleep 0.1
  done
  [ -n "$port" ] || { cat "$WORK/serve.log"; echo "FAILED: the service did not start"; exit 1; }
  health=$(python3 -c "import urllib.request,sys; print(urllib.request.urlopen(\"http://127.0.0.1:%s/health\" % sys.argv[1]).read().decode().strip())" "$port")
  ready=$(python3 -c "import time,sys; print(\"%.2f\" % (time.time() - float(sys.argv[1])))" "$started")
  echo "serving: /health $health, ${ready} s from dpkg -i"
  printf "a line\n" > "$WORK/root/srv/renkei/exchange/in/HELLO.txt"
  for _ in $(seq 100); do ls "$WORK/root/srv/renkei/delivered/out/" 2>/dev/null | grep -q . && break; sleep 0.1; done
  ls "$WORK/root/srv/renkei/delivered/out/" | grep -q . || { cat "$WORK/serve.log"; echo "FAILED: nothing delivered"; exit 1; }
  echo "a file dropped into /srv/renkei/exchange/in/ came out in /srv/renkei/delivered/out/"
  [ "$(inroot stat -c "%a %U" /var/lib/renkei/renkei.db)" = "600 renkei" ] || { echo "FAILED: the store is not 0600 renkei"; exit 1; }
  kill -TERM $pid
  rc=0
  wait $pid || rc=$?
  [ $rc -eq 0 ] || { tail -5 "$WORK/serve.log"; echo "FAILED: the service did not stop cleanly (exit $rc)"; exit 1; }
  grep -q "^20[0-9-]* [0-9:.]*+09:00" "$WORK/serve.log" || { head -3 "$WORK/serve.log"; echo "FAILED: log lines without time"; exit 1; }
  echo "stopped (SIGTERM): exit 0"

  # An upgrade while a file is in processing/: the service stopped in the
  # middle of a large export (as the upgrade'"'"'s restart stops it), the next
  # version of the package installed over it (the same build, its version
  # raised), started again: the export is taken in once.
  serve() {
    chroot "$WORK/root" setpriv --reuid "$user" --regid "$user" --init-groups --no-new-privs sh -c "cd $dir && umask $umask_ && exec $start" \
      >>"$WORK/serve.log" 2>&1 &
    pid=$!
  }
  seq -f "export line %.0f" 1 2000000 > "$WORK/root/tmp/BIG.txt"
  chmod 644 "$WORK/root/tmp/BIG.txt"
  serve
  inroot sh -c "cp /tmp/BIG.txt /srv/renkei/exchange/BIG.part && chown renkei /srv/renkei/exchange/BIG.part && mv /srv/renkei/exchange/BIG.part /srv/renkei/exchange/in/BIG.txt"
  for _ in $(seq 300); do ls "$WORK/root/srv/renkei/exchange/processing/" 2>/dev/null | grep -q BIG && break; sleep 0.02; done
  kill -TERM $pid
  wait $pid || { tail -5 "$WORK/serve.log"; echo "FAILED: the service did not stop cleanly"; exit 1; }
  ls "$WORK/root/srv/renkei/exchange/processing/" | grep -q BIG || { echo "FAILED: the export was not left in processing/ (taken in before the stop: make it larger)"; exit 1; }
  echo "upgrade: stopped with BIG.txt (2,000,000 lines) in processing/"
  mkdir "$WORK/next"
  dpkg-deb -R "$DEB" "$WORK/next/tree"
  version=$(sed -n "s/^Version: //p" "$WORK/next/tree/DEBIAN/control")
  sed -i "s/^Version: .*/Version: ${version}+next1/" "$WORK/next/tree/DEBIAN/control"
  dpkg-deb -b "$WORK/next/tree" "$WORK/root/tmp/renkei-next.deb" >/dev/null
  inroot dpkg -i --force-confold /tmp/renkei-next.deb </dev/null >/dev/null
  [ "$(inroot dpkg-query -W -f="\${Version}" renkei)" = "${version}+next1" ] || { echo "FAILED: the upgrade is not installed"; exit 1; }
  grep -q "port=\"0\"" "$WORK/root/etc/renkei/renkei.xml" || { echo "FAILED: the upgrade replaced the operator'"'"'s config"; exit 1; }
  serve
  for _ in $(seq 600); do
    [ -z "$(ls "$WORK/root/srv/renkei/exchange/processing/" 2>/dev/null)" ] && [ "$(cat "$WORK/root/srv/renkei/delivered/out/"* | grep -c "^{\"line\":\"export line")" = 2000000 ] && break
    sleep 0.2
  done
  kill -TERM $pid
  wait $pid || true
  lines=$(cat "$WORK/root/srv/renkei/delivered/out/"* | grep "^{\"line\":\"export line" | sort | uniq | wc -l)
  all=$(cat "$WORK/root/srv/renkei/delivered/out/"* | grep -c "^{\"line\":\"export line")
  [ "$lines" = 2000000 ] && [ "$all" = 2000000 ] || { tail -5 "$WORK/serve.log"; echo "FAILED: after the upgrade $all lines delivered, $lines distinct (want 2000000 each)"; exit 1; }
  echo "upgrade: ${version} to ${version}+next1 kept the operator'"'"'s config; BIG.txt taken in once after the restart ($all lines, each once)"
  inroot dpkg -P renkei >/dev/null
  for p in /usr/bin/renkei /usr/lib/renkei /var/lib/renkei /etc/renkei /srv/renkei /lib/systemd/system/renkei.service; do
    [ ! -e "$WORK/root$p" ] || { echo "FAILED: $p left after purge"; exit 1; }
  done
  ! inroot id renkei >/dev/null 2>&1 || { echo "FAILED: the renkei user left after purge"; exit 1; }
  echo "purged: no file, folder or user left"
'
echo "test_package: ok"
