/** The partition drill's measure of "two nodes acknowledging writes at once" (testing/scenarios/drillPartitions.ts). */
import { ackStints, concurrentAckMs } from "../../../testing/scenarios/drillPartitions";

const ack = (sentAt: number, ackAt = sentAt + 1) => ({ id: `p${sentAt}`, sentAt, ackAt });
const err = (sentAt: number, at = sentAt + 1) => ({ message: "ERR read only", sentAt, at });

describe("ackStints / concurrentAckMs", () => {
    it("splits a node's acknowledgements at every refused write", () => {
        expect(ackStints({ acks: [ack(0), ack(10), ack(40)], errors: [err(20), err(30)] })).toEqual([
            [0, 11],
            [40, 41],
        ]);
        expect(ackStints({ acks: [], errors: [err(0)] })).toEqual([]);
    });

    it("is 0 when one node stops acknowledging before the next one starts", () => {
        const old = { acks: [ack(0), ack(10)], errors: [err(20), err(30)] };
        const next = { acks: [ack(40), ack(50)], errors: [err(0), err(10), err(20)] };
        expect(concurrentAckMs([old, next])).toBe(0);
    });

    it("counts the time two nodes both acknowledged writes", () => {
        const old = { acks: [ack(0), ack(10), ack(20), ack(30)], errors: [] };
        const next = { acks: [ack(15), ack(25), ack(35)], errors: [err(5)] };
        // old acknowledged from 0 to 31, next from 15 to 36: 16 ms together.
        expect(concurrentAckMs([old, next])).toBe(16);
    });
});
