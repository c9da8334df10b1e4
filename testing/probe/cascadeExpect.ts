/**
 * What every suite requires of a cascade run (testing/scenarios/drillCascade.ts): each leader loss failed
 * over and a promotable replica again, within bounds that tell a failover from none (Sentinel's
 * own delay between failovers was 36 s, a diverged follower waited 72 s at priority 0); nothing
 * acknowledged lost outside a fault's window; every node with the leader's data. The figures
 * themselves are the drill's to print.
 */
import { CascadeResult } from "../scenarios/drillCascade";

export function expectCascadeSurvived(r: CascadeResult, steps: number): void {
    for (const s of r.steps) {
        expect({ step: s.step, failedOver: s.failover_ms !== null && s.failover_ms < 15000 }).toEqual({ step: s.step, failedOver: true });
        expect({ step: s.step, withoutPromotable: (s.no_promotable_replica_ms ?? 0) < 10000 }).toEqual({ step: s.step, withoutPromotable: true });
    }
    expect(r.steps).toHaveLength(steps);
    expect(r.writes_lost_beyond_window).toBe(0);
    expect(r.data_identical).toBe(true);
}
