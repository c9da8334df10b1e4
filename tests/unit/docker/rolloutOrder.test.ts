/**
 * The rollout order of the Tile38 containers (pure): followers first and the leader last when the
 * sentinels name one, node 1 first otherwise; and the "who comes before whom" chain built from it.
 */
import { predecessors, tile38RolloutOrder } from "../../../components/docker/rolloutOrder";

const nodes = [9851, 9852, 9853].map((port) => ({ host: "127.0.0.1", port }));

describe("tile38RolloutOrder", () => {
    it("puts the leader the sentinels name last, the followers before it by index", () => {
        expect(tile38RolloutOrder(nodes, { host: "127.0.0.1", port: 9851 })).toEqual([1, 2, 0]);
        expect(tile38RolloutOrder(nodes, { host: "127.0.0.1", port: 9852 })).toEqual([0, 2, 1]);
        expect(tile38RolloutOrder(nodes, { host: "127.0.0.1", port: 9853 })).toEqual([0, 1, 2]);
    });

    it("starts with node 1, the designated first leader, when no leader is known or it is not a node", () => {
        expect(tile38RolloutOrder(nodes, undefined)).toEqual([0, 1, 2]);
        expect(tile38RolloutOrder(nodes, { host: "10.0.0.9", port: 9851 })).toEqual([0, 1, 2]);
    });
});

describe("predecessors", () => {
    it("names the node each node waits for, none for the first", () => {
        expect(predecessors([1, 2, 0])).toEqual([2, undefined, 1]);
        expect(predecessors([0, 1, 2])).toEqual([undefined, 0, 1]);
        expect(predecessors([0])).toEqual([undefined]);
    });
});
