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

/**
 * Who waits for whom in a `pulumi up`, from what the running sentinels say
 * ({@link LiveCluster}). A cluster that runs rolls in `order`. A cluster that does not run at all
 * (no sentinel answers: a new stack, or after `pulumi destroy`) starts everything at once: there
 * is no availability to keep, and a chain could wait forever for a leader that starts later
 * (a follower is healthy only once caught up with its leader).
 */
export function rolloutChain(count: number, live: LiveCluster | undefined, order: (live: LiveCluster) => number[]): (number | undefined)[] {
    if (!live || live.answering === 0) return new Array(count).fill(undefined);
    return predecessors(order(live));
}
