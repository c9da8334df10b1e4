/**
 * The rollout order of the Tile38 containers (pure): followers first and the leader last when the
 * sentinels name one, by index otherwise; and the "who waits for whom" chain: none when nothing
 * runs (every container starts at once), the order's chain when any sentinel answers.
 */
import { predecessors, rolloutChain, tile38RolloutOrder } from "../../../components/docker/rolloutOrder";

const nodes = [9851, 9852, 9853].map((port) => ({ host: "127.0.0.1", port }));

describe("tile38RolloutOrder", () => {
    it("puts the leader the sentinels name last, the followers before it by index", () => {
        expect(tile38RolloutOrder(nodes, { host: "127.0.0.1", port: 9851 })).toEqual([1, 2, 0]);
        expect(tile38RolloutOrder(nodes, { host: "127.0.0.1", port: 9852 })).toEqual([0, 2, 1]);
        expect(tile38RolloutOrder(nodes, { host: "127.0.0.1", port: 9853 })).toEqual([0, 1, 2]);
    });

    it("goes by index when no leader is known or it is not a node", () => {
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

describe("rolloutChain", () => {
    const byLeader = (l: { leader?: { host: string; port: number } }) => tile38RolloutOrder(nodes, l.leader);

    it("chains a running cluster: followers, then the leader the sentinels name", () => {
        expect(rolloutChain(3, { answering: 3, leader: { host: "127.0.0.1", port: 9852 } }, byLeader)).toEqual([undefined, 2, 0]);
    });

    it("still chains, by index, when sentinels answer without naming a leader by majority", () => {
        expect(rolloutChain(3, { answering: 1 }, byLeader)).toEqual([undefined, 0, 1]);
    });

    it("starts everything at once when no sentinel answers or nothing was asked (preview)", () => {
        expect(rolloutChain(3, { answering: 0 }, byLeader)).toEqual([undefined, undefined, undefined]);
        expect(rolloutChain(3, undefined, byLeader)).toEqual([undefined, undefined, undefined]);
    });
});
