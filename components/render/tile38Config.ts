import { Endpoint, Tile38Node, Topology } from "./topology";

/** The role a node starts in, decided by its start script from the sentinels' answer. */
export type StartRole = { kind: "leader" } | { kind: "follower"; leader: Endpoint };

/**
 * Keys of Tile38's `<data dir>/config` that tile38-ha owns. The start script replaces exactly
 * these and keeps every other key Tile38 wrote (its `server_id`, `follow_id`, `follow_pos`, …),
 * because Tile38 rewrites that file itself and it lives on the persistent volume.
 */
export const MANAGED_TILE38_KEYS = [
    "follow_host",
    "follow_port",
    "requirepass",
    "leaderauth",
    "replica_announce_ip",
    "replica_announce_port",
    "replica-priority",
    "read_only",
    "maxmemory",
] as const;

/**
 * The managed part of a node's Tile38 config for a given start role. A follower starts with
 * `replica-priority` 0 (never promoted before it has caught up: Tile38 #750); its start script
 * raises it to `topology.replicaPriority` once `SERVER` reports `caught_up_once`. (The start script
 * starts a follower whose data cannot differ from its leader's at its priority, which no sentinel
 * can read before the catch-up: `follower_start_priority` in `scripts/tile38-start.sh`.)
 * The shell writer is `write_tile38_config` in `scripts/tile38-config.sh` (a test runs both).
 * The password is a parameter so that tests can render it; deployments pass it to the start
 * script through the environment, never through a rendered file.
 */
export function renderTile38Config(node: Tile38Node, topo: Topology, role: StartRole, password: string): Record<string, string | number | boolean> {
    const cfg: Record<string, string | number | boolean> = {};
    if (role.kind === "follower") {
        cfg.follow_host = role.leader.host;
        cfg.follow_port = role.leader.port;
    }
    cfg.requirepass = password;
    cfg.leaderauth = password;
    cfg.replica_announce_ip = node.host;
    cfg.replica_announce_port = node.port;
    cfg["replica-priority"] = role.kind === "follower" ? 0 : topo.replicaPriority;
    // A leader starts read-only: writable once a majority of the sentinels has heard from this
    // incarnation (tile38-node-life.sh, state `unconfirmed`). A follower is never read-only (a
    // hand-over leaves the old leader read-only: every start resets it).
    cfg.read_only = role.kind !== "follower";
    if (topo.maxMemory !== undefined) cfg.maxmemory = topo.maxMemory;
    return cfg;
}
