/** Which lost writes asynchronous replication explains (acknowledged at a leader's SIGKILL) and which it does not. */
import { Ack, lostAroundKills, REPLICATION_WINDOW_MS } from "../../../testing/probe/writer";

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
