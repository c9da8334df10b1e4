import { cascadeGoalsMet, CascadeResult, unpromotableMs } from "../../../testing/scenarios/drillCascade";

describe("the cascade drill's figures", () => {
    it("unpromotableMs: the time in which the samples say no replica was promotable (a sample holds until the next)", () => {
        const s = [
            { at: 1000, promotable: false },
            { at: 1500, promotable: true },
            { at: 2000, promotable: false },
            { at: 2200, promotable: true },
        ];
        // 1000 → 1500 not, 1500 → 2000 yes, 2000 → 2200 not, 2200 → 3000 yes.
        expect(unpromotableMs(s, 1000, 3000)).toBe(700);
        // Nothing known before the first sample in range counts as not promotable.
        expect(unpromotableMs(s, 900, 3000)).toBe(800);
        // Ends not promotable: up to `to`.
        expect(unpromotableMs(s.slice(0, 3), 1000, 2500)).toBe(1000);
        expect(unpromotableMs(s, 5000, 6000)).toBeNull();
    });

    it("cascadeGoalsMet: from 5 s spacings up, each promotion within down-after + 1.5 s and a promotable replica within 2 s or the load time; nothing lost beyond the window; same data", () => {
        const step = { step: 1, fault: "kill" as const, spacing_ms: 5000, leader: "a", new_leader: "b", promoted_ms: 4400, failover_ms: 4600, no_promotable_replica_ms: 300, writes_acknowledged: 10, writes_lost: 0, writes_lost_beyond_window: 0 };
        const ok: CascadeResult = { points: 0, down_after_ms: 3000, failover_bound_ms: 4500, reload_ms: null, steps: [step], last_no_promotable_replica_ms: 100, writes_acknowledged: 10, writes_lost: 0, writes_lost_beyond_window: 0, data_identical: true, differing_nodes: [] };
        expect(cascadeGoalsMet(ok)).toBe(true);
        expect(cascadeGoalsMet({ ...ok, steps: [{ ...step, promoted_ms: 4600 }] })).toBe(false);
        expect(cascadeGoalsMet({ ...ok, steps: [{ ...step, promoted_ms: null }] })).toBe(false);
        expect(cascadeGoalsMet({ ...ok, steps: [{ ...step, no_promotable_replica_ms: 2100 }] })).toBe(false);
        // Where a node must reload, the data's load time is the bound.
        expect(cascadeGoalsMet({ ...ok, reload_ms: 3000, steps: [{ ...step, no_promotable_replica_ms: 2900 }] })).toBe(true);
        // Below 5 s spacings: reported, not judged (but a failover must happen).
        expect(cascadeGoalsMet({ ...ok, steps: [{ ...step, spacing_ms: 2000, promoted_ms: 9000, no_promotable_replica_ms: 2000 }] })).toBe(true);
        expect(cascadeGoalsMet({ ...ok, steps: [{ ...step, spacing_ms: 0, promoted_ms: null }] })).toBe(false);
        expect(cascadeGoalsMet({ ...ok, last_no_promotable_replica_ms: 2100 })).toBe(false);
        expect(cascadeGoalsMet({ ...ok, writes_lost_beyond_window: 1 })).toBe(false);
        expect(cascadeGoalsMet({ ...ok, data_identical: false })).toBe(false);
    });
});
