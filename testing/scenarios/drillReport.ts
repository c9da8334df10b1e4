/** The figures a failover drill prints (both targets), and their table. */
import { Ack } from "../probe/writer";

export interface DrillResult {
    unplanned: {
        runs: number;
        failed_runs: number;
        failover_ms: { min: number; median: number; max: number };
        converge_ms: { median: number; max: number };
        writes_acknowledged: number;
        /** Acknowledged writes the final leader does not hold, outside {@link writes_lost_at_kill}. */
        writes_lost: number;
        /**
         * Acknowledged within REPLICATION_WINDOW_MS of a leader's SIGKILL and gone with it:
         * replication is asynchronous (docs/operations.md, known limits); reported, not a failure.
         */
        writes_lost_at_kill: number;
    };
    planned: {
        /** The stop order → the end of the longest gap between acknowledgements (the hand-over's wait for its moment included). */
        failover_ms: number;
        /** That longest gap: how long writes were not acknowledged. */
        pause_ms: number;
        writes_acknowledged: number;
        writes_lost: number;
    };
}

/** "acknowledged / lost" over both phases, with the writes gone with a killed leader named apart. */
export function ackedLostFigure(r: DrillResult): string {
    const atKill = r.unplanned.writes_lost_at_kill > 0 ? ` (+${r.unplanned.writes_lost_at_kill} acknowledged at a kill, gone with the leader)` : "";
    return `${r.unplanned.writes_acknowledged + r.planned.writes_acknowledged} / ${r.unplanned.writes_lost + r.planned.writes_lost}${atKill}`;
}

export function median(xs: number[]): number {
    if (xs.length === 0) return NaN;
    const s = [...xs].sort((a, b) => a - b);
    const m = Math.floor(s.length / 2);
    return s.length % 2 ? s[m] : Math.round((s[m - 1] + s[m]) / 2);
}

/** A readable table of the figures, plus any extra numeric fields (e.g. ip_changes). */
export function describeFigures(r: DrillResult & Record<string, unknown>, target: string): string {
    const u = r.unplanned;
    const rows: [string, string][] = [
        ["target", target],
        ["unplanned: leader kills", `${u.runs} (${u.failed_runs} without failover)`],
        ["unplanned: failover ms (kill → first acknowledged write)", `min ${u.failover_ms.min} / median ${u.failover_ms.median} / max ${u.failover_ms.max}`],
        ["unplanned: converge ms (kill → all agree, all follow)", `median ${u.converge_ms.median} / max ${u.converge_ms.max}`],
        ["unplanned: writes acknowledged / lost", `${u.writes_acknowledged} / ${u.writes_lost}`],
        ["unplanned: acknowledged at a kill and gone with the leader", String(u.writes_lost_at_kill)],
        ["planned hand-over: ms until writes resume (from the stop order)", String(r.planned.failover_ms)],
        ["planned hand-over: longest write pause ms", String(r.planned.pause_ms)],
        ["planned hand-over: writes acknowledged / lost", `${r.planned.writes_acknowledged} / ${r.planned.writes_lost}`],
    ];
    for (const [k, v] of Object.entries(r)) if (k !== "unplanned" && k !== "planned") rows.push([k, String(v)]);
    const w = Math.max(...rows.map(([k]) => k.length));
    return rows.map(([k, v]) => `${k.padEnd(w)}  ${v}`).join("\n") + "\n";
}

/**
 * Hand-over start → the first acknowledged write after the longest pause in acknowledgements
 * (the window in which the old leader was read-only and the new one not yet known to the client).
 */
export function writesResumedAfter(acks: Ack[], start: number): number {
    let prev = start;
    let best = { gap: -1, at: start };
    for (const a of acks) {
        if (a.ackAt - prev > best.gap) best = { gap: a.ackAt - prev, at: a.ackAt };
        prev = a.ackAt;
    }
    return best.at - start;
}

/** The longest time between two consecutive acknowledgements from `from` to `to` (the edges count). */
export function longestPause(acks: Ack[], from: number, to: number): number {
    let prev = from;
    let longest = 0;
    for (const a of acks) {
        if (a.ackAt < from || a.ackAt > to) continue;
        longest = Math.max(longest, a.ackAt - prev);
        prev = a.ackAt;
    }
    return Math.max(longest, to - prev);
}
