import { Topology } from "./topology";

/**
 * Sentinel's timing, tighter than its defaults, as `SENTINEL DEBUG` name/value pairs (Redis/Valkey
 * 7.0+). Sentinel keeps them in memory only, so every Tile38 node sets them on every sentinel
 * that differs, every few seconds (`tune_sentinels`, tile38-sentinel-view.sh): a restarted
 * sentinel is tuned again within seconds; one that lacks a parameter is left alone.
 * - PING-PERIOD 250 (1000): a frozen leader's down-after only starts at the first PING it leaves
 *   unanswered, up to 1 s after the freeze (the cascade drill: freezes failed over 0.4-0.9 s
 *   later than kills).
 *   Not lower: once the leader is down, Sentinel only promotes a replica whose INFO is younger
 *   than 5 × PING-PERIOD, and it asks replicas for INFO once a second then whatever INFO-PERIOD
 *   says; at 100 the first failover of a cascade found no good replica (`-failover-abort-no-good-slave`).
 * - ASK-PERIOD 250 (1000): the quorum's agreement on a down leader waited up to 1 s more. Not
 *   lower: a peer's vote is forgotten after 5 × ASK-PERIOD, too short for a loaded machine.
 * - INFO-PERIOD 1000 (10000): a follower stayed unpromotable in the sentinels' eyes for up to
 *   10 s after it was (every rolling change and first deploy waited for it).
 * - MIN-LINK-RECONNECT-PERIOD down-after, within 1-15 s (15000): a link younger than this is not
 *   redialled when a PING has been pending for half of down-after. A Tile38 pod back under its
 *   name with a new IP was missed for 12-13 s: while its name did not resolve, Sentinel dialled
 *   the old pod's address, which nothing answers, and kept that link until it was 15 s old.
 *   Older links are redialled after half of down-after anyway, and a redial changes no down
 *   timer (Sentinel counts from the oldest unanswered PING): failure detection is unchanged.
 */
export function sentinelTiming(topo: Pick<Topology, "downAfterMilliseconds">): string {
    const redial = Math.min(15000, Math.max(1000, topo.downAfterMilliseconds));
    return `PING-PERIOD 250 ASK-PERIOD 250 INFO-PERIOD 1000 MIN-LINK-RECONNECT-PERIOD ${redial}`;
}
