import { Endpoint } from "../render/topology";

/**
 * The order in which a `pulumi up` replaces (and a first `pulumi up` creates) the Tile38 nodes,
 * as 0-based node indexes. Each container waits for the one before it to be healthy, and
 * `pulumi destroy` stops them in the reverse order.
 * - A running cluster whose sentinels name a leader: the followers first (by index), the leader
 *   last, so that leadership moves once (its stop script hands over) and only after every
 *   follower is back and caught up.
 * - No leader known (a new stack, a stack whose sentinels are gone, or a lookup that failed):
 *   node 1 (the designated first leader) first. A follower created before its leader could
 *   never catch up, never become healthy, and would hold the rollout until it times out.
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
