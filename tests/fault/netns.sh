# Members in network namespaces of their own (sourced by scale_out_test.sh):
# as root, where the kernel allows it, each member runs in a namespace joined
# to the host by a veth pair, so nothing passes between members but Kafka
# (the development cluster on the host) and the shared file system. The
# cluster listens on 127.0.0.1 only: in each namespace 127.0.0.1:PORT is
# forwarded over the veth pair to the host, and there to the cluster.
# Expects $work, $log and $b (HOST:PORT of the cluster).

netns_names=()
netns_links=()
netns_pids=()
# A subnet of its own per test run (10.X.K.0/30 for member K).
netns_net=$((100 + $$ % 100))

# Whether this process may make network namespaces and veth pairs.
netns_possible() {
  [ "$(id -u)" = 0 ] && command -v ip >/dev/null 2>&1 || return 1
  local probe="rnp-$$"
  ip netns add "$probe" 2>/dev/null || return 1
  if ! ip link add "rnp$$a" type veth peer name "rnp$$b" 2>/dev/null; then
    ip netns del "$probe"
    return 1
  fi
  ip link del "rnp$$a" 2>/dev/null || true
  ip netns del "$probe"
}

# netns_setup MEMBER... : a namespace for each (rn-PID-MEMBER), with the
# cluster's port forwarded.
netns_setup() {
  local port=${b##*:} k=0 m ns host_if ns_if
  for m in "$@"; do
    k=$((k + 1))
    ns="rn-$$-$m"
    host_if="rnh$$$k"
    ns_if="rnm$$$k"
    ip netns add "$ns"
    netns_names+=("$ns")
    ip link add "$host_if" type veth peer name "$ns_if"
    netns_links+=("$host_if")
    ip link set "$ns_if" netns "$ns"
    ip addr add "10.$netns_net.$k.1/30" dev "$host_if"
    ip link set "$host_if" up
    ip netns exec "$ns" ip addr add "10.$netns_net.$k.2/30" dev "$ns_if"
    ip netns exec "$ns" ip link set "$ns_if" up
    ip netns exec "$ns" ip link set lo up
    python3 -u "$(dirname "${BASH_SOURCE[0]}")/tcp_forward.py" \
      "10.$netns_net.$k.1:$port=127.0.0.1:$port" >"$work/forward-host-$m.txt" 2>>"$log" &
    netns_pids+=($!)
    ip netns exec "$ns" python3 -u "$(dirname "${BASH_SOURCE[0]}")/tcp_forward.py" \
      "127.0.0.1:$port=10.$netns_net.$k.1:$port" >"$work/forward-$m.txt" 2>>"$log" &
    netns_pids+=($!)
  done
  for m in "$@"; do
    for f in "$work/forward-host-$m.txt" "$work/forward-$m.txt"; do
      for _ in $(seq 100); do grep -q ready "$f" && break; sleep 0.1; done
      grep -q ready "$f" || fail "the forwarder $f did not start"
    done
  done
}

netns_teardown() {
  local p ns
  for p in "${netns_pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for ns in "${netns_names[@]}"; do
    # Processes left in it (a member that did not end) go with it.
    ip netns pids "$ns" 2>/dev/null | xargs -r kill -9 2>/dev/null || true
    ip netns del "$ns" 2>/dev/null || true
  done
  for p in "${netns_links[@]}"; do ip link del "$p" 2>/dev/null || true; done
}

# in_member MEMBER CMD...: execs CMD in MEMBER's namespace (in this process:
# call it in the background or in a subshell, so its pid is CMD's).
in_member() {
  local m=$1
  shift
  if [ -n "${netns_on:-}" ]; then
    exec ip netns exec "rn-$$-$m" "$@"
  else
    exec "$@"
  fi
}
