/** Which lost writes asynchronous replication explains (acknowledged at a leader's SIGKILL) and which it does not. */
import { Ack, AFTER_COMPACTION_WINDOW_MS, lostAfterCompactions, lostAroundKills, REPLICATION_WINDOW_MS } from "../../../testing/probe/writer";

const ack = (id: string, ackAt: number): Ack => ({ id, sentAt: ackAt - 1, ackAt });

describe("lostAroundKills", () => {
    const acks = [ack("a", 1000), ack("b", 1950), ack("c", 2100), ack("d", 2350), ack("e", 2600), ack("f", 5000)];
    const held = new Set(["a", "f"]);

    it("puts a loss within the window of a kill instant apart, and keeps every other loss a loss", () => {
        const r = lostAroundKills(acks, held, [2000]);
        expect(r.inWindow.map((a) => a.id)).toEqual(["b", "c"]);
        expect(r.lost.map((a) => a.id)).toEqual(["d", "e"]);
    });

    it("takes a kill order that took a while (docker kill) as a span: acknowledged while it ran, or just around it", () => {
        const r = lostAroundKills(acks, held, [{ from: 2000, to: 2300 }]);
        expect(r.inWindow.map((a) => a.id)).toEqual(["b", "c", "d"]);
        expect(r.lost.map((a) => a.id)).toEqual(["e"]);
    });

    it("explains nothing without a kill, and nothing a window past it", () => {
        expect(lostAroundKills(acks, held, []).lost.map((a) => a.id)).toEqual(["b", "c", "d", "e"]);
        expect(lostAroundKills([ack("x", 3000 + REPLICATION_WINDOW_MS + 1)], new Set(), [3000]).inWindow).toEqual([]);
    });
});

describe("lostAfterCompactions", () => {
    const lost = [ack("a", 900), ack("b", 1100), ack("c", 1400), ack("d", 9000)];

    it("explains writes acknowledged between a compaction's swap and a kill that came soon after it", () => {
        const r = lostAfterCompactions(lost, [1000], [{ from: 1500, to: 1600 }]);
        expect(r.afterCompaction.map((a) => a.id)).toEqual(["b", "c"]);
        expect(r.lost.map((a) => a.id)).toEqual(["a", "d"]);
    });

    it("explains nothing without a swap before the kill, or with one too long before it", () => {
        expect(lostAfterCompactions(lost, [], [1500]).afterCompaction).toEqual([]);
        expect(lostAfterCompactions(lost, [2000], [1500]).afterCompaction).toEqual([]);
        expect(lostAfterCompactions(lost, [1000], [1000 + AFTER_COMPACTION_WINDOW_MS + 1]).afterCompaction).toEqual([]);
        expect(lostAfterCompactions(lost, [1000], []).lost).toEqual(lost);
    });
});

