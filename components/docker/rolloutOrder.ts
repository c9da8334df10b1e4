import { Endpoint } from "../render/topology";
import { LiveCluster } from "./liveLeader";

/**
 * The order in which a `pulumi up` replaces the Tile38 nodes of a running cluster, as 0-based
 * node indexes: the followers first (by index), the leader the sentinels name last, so that
 * leadership moves once (its stop script hands over) and only after every follower is back and
 * caught up. Without a leader known, by index. Each container waits for the one before it to be
 * healthy, and `pulumi destroy` stops them in the reverse order.
 */
export function tile38RolloutOrder(nodes: readonly Endpoint[], leader: Endpoint | undefined): number[] {
    const indexes = nodes.map((_, i) => i);
    const at = leader ? nodes.findIndex((n) => n.host === leader.host && n.port === leader.port) : -1;
    return at < 0 ? indexes : [...indexes.filter((i) => i !== at), at];
}

/** `order` as "the index that comes before each index" (undefined for the first). */
export function predecessors(order: readonly number[]): (number | undefined)[] {
    const before: (number | undefined)[] = new Array(order.length).fill(undefined);
    order.forEach((index, position) => {
        before[index] = position === 0 ? undefined : order[position - 1];
    });
    return before;
}

/** Whether a `pulumi up` knows the cluster runs, knows it does not, or cannot tell. */
export type ClusterLiveness = "running" | "not-running" | "unknown";

/**
 * What the sentinels' answers say: `running` when any names a leader; `not-running` when every
 * one refused the connection (nothing listens: a new stack, or after `pulumi destroy`);
 * `unknown` otherwise (no answer in time, a wrong password, a firewall, a wrong `advertiseHost`,
 * a remote engine the machine running `pulumi` cannot reach). Undefined `live`: not asked (a
 * preview, or `observeLiveCluster: false`).
 */
export function clusterLiveness(live: LiveCluster | undefined, sentinels: number): ClusterLiveness | undefined {
    if (!live) return undefined;
    if (live.answering > 0) return "running";
    return live.refused === sentinels ? "not-running" : "unknown";
}

/**
 * Who waits for whom in a `pulumi up` ({@link clusterLiveness}). A cluster that runs rolls in
 * `order`; one whose state is unknown rolls too, by index (never all at once: it may be running,
 * and the caller warns). A cluster that does not run, or a preview, starts everything at once:
 * there is no availability to keep, and a chain could wait forever for a leader that starts later
 * (a follower is healthy only once caught up with its leader).
 */
export function rolloutChain(count: number, live: LiveCluster | undefined, order: (live: LiveCluster) => number[], sentinels = count): (number | undefined)[] {
    const state = clusterLiveness(live, sentinels);
    if (state === "running") return predecessors(order(live!));
    if (state === "unknown") return predecessors(Array.from({ length: count }, (_, i) => i));
    return new Array(count).fill(undefined);
}

/**
 * Whether the Tile38 containers of this `pulumi up` wait for the sentinel containers (each kind
 * rolls on its own chain, {@link rolloutChain}; this is the edge between the two kinds). They do
 * on a running cluster (sentinels first: the nodes roll under a full trio) and when it is unknown
 * whether one runs; not when nothing runs (a first deploy, or after `pulumi destroy`): the start
 * script asks the sentinels until they answer, and waiting for their health check cost a first
 * deploy 4.4 s. Nor when the sentinels roll last (a sentinel password rotation: `sentinelsLast`).
 */
export function tile38WaitsForSentinels(live: LiveCluster | undefined, sentinels: number, sentinelsLast: boolean): boolean {
    if (sentinelsLast) return false;
    return clusterLiveness(live, sentinels) !== "not-running";
}

/** The warning a `pulumi up` gives when it cannot learn whether (or how) the cluster runs; undefined when it can. */
export function unknownLivenessWarning(live: LiveCluster | undefined, sentinels: readonly Endpoint[]): string | undefined {
    if (clusterLiveness(live, sentinels.length) !== "unknown") return undefined;
    return (
        `tile38-ha: no sentinel at ${sentinels.map((s) => `${s.host}:${s.port}`).join(", ")} named a leader to this machine (no answer in time, a wrong password, ` +
        "a firewall, a wrong docker.advertiseHost, or a remote engine); nothing refused the connection either, so the cluster may be running. " +
        "Changed containers are replaced one at a time by index, each after the one before is healthy (a new cluster whose sentinels cannot be reached from here " +
        "will time out: run `pulumi up` where the sentinels are reachable)."
    );
}
