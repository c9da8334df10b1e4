/**
 * The rollout order of the Tile38 containers (pure): followers first and the leader last when the
 * sentinels name one, by index otherwise; and the "who waits for whom" chain: none when nothing
 * runs (every container starts at once), the order's chain when any sentinel answers.
 */
import * as net from "net";
import { askSentinel, observeLiveCluster, sentinelPasswordRotating } from "../../../components/docker/liveLeader";
import { clusterLiveness, predecessors, rolloutChain, tile38RolloutOrder, tile38WaitsForSentinels, unknownLivenessWarning } from "../../../components/docker/rolloutOrder";

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
        expect(rolloutChain(3, { answering: 3, refused: 0, leader: { host: "127.0.0.1", port: 9852 } }, byLeader)).toEqual([undefined, 2, 0]);
    });

    it("still chains, by index, when sentinels answer without naming a leader by majority", () => {
        expect(rolloutChain(3, { answering: 1, refused: 2 }, byLeader)).toEqual([undefined, 0, 1]);
    });

    it("starts everything at once only when every sentinel refused the connection (nothing runs) or nothing was asked (preview)", () => {
        expect(rolloutChain(3, { answering: 0, refused: 3 }, byLeader)).toEqual([undefined, undefined, undefined]);
        expect(rolloutChain(3, undefined, byLeader)).toEqual([undefined, undefined, undefined]);
    });

    it("never all at once when it cannot tell (no answer, a wrong password, a firewall): by index, and says so", () => {
        for (const live of [{ answering: 0, refused: 0 }, { answering: 0, refused: 2 }]) {
            expect(clusterLiveness(live, 3)).toBe("unknown");
            expect(rolloutChain(3, live, byLeader)).toEqual([undefined, 0, 1]);
            expect(unknownLivenessWarning(live, nodes)).toMatch(/may be running\. Changed containers are replaced one at a time/);
        }
        expect(unknownLivenessWarning({ answering: 0, refused: 3 }, nodes)).toBeUndefined();
        expect(unknownLivenessWarning({ answering: 2, refused: 0 }, nodes)).toBeUndefined();
    });
});

describe("observeLiveCluster against real sockets", () => {
    // Ports outside the ephemeral range; a closed one refuses, a silent server never answers, a
    // sentinel-like one answers -ERR (a wrong password).
    const CLOSED = 27481;
    let silent: net.Server;
    let wrongPassword: net.Server;
    const accepted: net.Socket[] = [];
    beforeAll(async () => {
        silent = net.createServer((s) => void accepted.push(s));
        wrongPassword = net.createServer((s) => {
            accepted.push(s);
            // Redis' answers: AUTH refused, then every other command refused for want of it.
            let first = true;
            s.on("data", (d) => {
                for (const _cmd of d.toString().match(/^\*\d+\r$/gm) ?? []) {
                    s.write(first ? "-WRONGPASS invalid username-password pair\r\n" : "-NOAUTH Authentication required.\r\n");
                    first = false;
                }
            });
        });
        await new Promise<void>((r) => silent.listen(27482, "127.0.0.1", r));
        await new Promise<void>((r) => wrongPassword.listen(27483, "127.0.0.1", r));
    });
    afterAll(async () => {
        for (const s of accepted) s.destroy();
        await new Promise((r) => silent.close(r));
        await new Promise((r) => wrongPassword.close(r));
    });
    const at = (port: number) => ({ host: "127.0.0.1", port });

    it("tells a refused connection from one that does not answer or answers with an error", async () => {
        expect(await askSentinel(at(CLOSED), "mymaster", "pw", 500)).toBe("refused");
        expect(await askSentinel(at(27482), "mymaster", "pw", 300)).toBe("unknown");
        expect(await askSentinel(at(27483), "mymaster", "pw", 500)).toBe("wrong-password");
    });

    it("counts the sentinels that refuse the password: a sentinel password rotation", async () => {
        const seen = await observeLiveCluster([at(CLOSED), at(27482), at(27483)], "mymaster", "pw", 300);
        expect(seen).toMatchObject({ answering: 0, refused: 1, wrongPassword: 1 });
        expect(sentinelPasswordRotating(seen)).toBe(true);
        expect(clusterLiveness(seen, 3)).toBe("unknown");
    });

    it("reports a cluster as not running only when every sentinel refused", async () => {
        expect(clusterLiveness(await observeLiveCluster([at(CLOSED), at(CLOSED), at(CLOSED)], "mymaster", "pw", 300), 3)).toBe("not-running");
        expect(clusterLiveness(await observeLiveCluster([at(CLOSED), at(27482), at(27483)], "mymaster", "pw", 300), 3)).toBe("unknown");
    });
});

describe("sentinelPasswordRotating", () => {
    it("is true only when a sentinel refused this update's sentinel password", () => {
        expect(sentinelPasswordRotating(undefined)).toBe(false);
        expect(sentinelPasswordRotating({ answering: 3, refused: 0 })).toBe(false);
        expect(sentinelPasswordRotating({ answering: 3, refused: 0, wrongPassword: 0 })).toBe(false);
        expect(sentinelPasswordRotating({ answering: 0, refused: 0, wrongPassword: 3 })).toBe(true);
        expect(sentinelPasswordRotating({ answering: 2, refused: 0, wrongPassword: 1 })).toBe(true);
    });
});

describe("tile38WaitsForSentinels", () => {
    const leader = { host: "127.0.0.1", port: 9851 };

    it("waits on a running cluster and when it cannot tell (the nodes roll under a full trio)", () => {
        expect(tile38WaitsForSentinels({ answering: 2, refused: 1, leader }, 3, false)).toBe(true);
        expect(tile38WaitsForSentinels({ answering: 0, refused: 1 }, 3, false)).toBe(true);
        expect(tile38WaitsForSentinels(undefined, 3, false)).toBe(true);
    });

    it("starts the nodes with the sentinels when nothing runs (a first deploy)", () => {
        expect(tile38WaitsForSentinels({ answering: 0, refused: 3 }, 3, false)).toBe(false);
    });

    it("never waits for sentinels that roll last (a sentinel password rotation)", () => {
        expect(tile38WaitsForSentinels({ answering: 3, refused: 0, leader }, 3, true)).toBe(false);
    });
});
