/**
 * The scale bench's record (docs/figures/scale-loopback.md): one row per size, a run replacing
 * only its own row, rows ordered by size, every figure in its column.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { recordScaleBench, ScaleBenchResult } from "../../../testing/scenarios/scaleBench";
import { aofFigures, compactionSwaps } from "../../../testing/probe/aofWatch";
import { longestGapOverlapping, pausesExplained, spansWhere } from "../../../testing/probe/pauseCause";

const result = (points: number, updates: number, killMs: number): ScaleBenchResult => ({
    points,
    updates_per_point: updates,
    write_ms: 1,
    aof_bytes: 2,
    heap_bytes: [3, 3, 3],
    repeats: 3,
    load_ms: 4,
    kill_failover_ms: killMs,
    kill_redundancy_ms: 6,
    handover_pause_ms: 7,
    handover_redundancy_ms: 8,
    handover_redundancy_beyond_load_ms: 5,
    kill_failover_runs_ms: [killMs, killMs, killMs],
    handover_pause_runs_ms: [7, 7, 7],
    handover_redundancy_beyond_load_runs_ms: [5, 5, 5],
    rolling_ms: 9,
    rolling_longest_pause_ms: 10,
    wipe_resync_ms: 11,
    wipe_downloaded_bytes: 12,
    backup_upload_ms: 13,
    restore_ms: 14,
    writes_acknowledged: 15,
    writes_lost: 0,
    writes_lost_after_compaction: 0,
    data_identical: true,
    compactions: 0,
    ...(updates > 1 ? { aof_compacted_ratio: 60.5 } : {}),
});

describe("recordScaleBench", () => {
    it("keeps one row per size, replaces a size's row, orders rows by size", () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "scale-record-"));
        const file = path.join(dir, "scale.md");
        try {
            recordScaleBench(file, result(1_000_000, 1, 4200));
            recordScaleBench(file, result(10_000, 100, 4300));
            recordScaleBench(file, result(10_000, 1, 4400));
            recordScaleBench(file, result(1_000_000, 1, 4500));
            const rows = fs.readFileSync(file, "utf8").split("\n").filter((l) => /^\| \d/.test(l));
            expect(rows.map((r) => r.split(" | ")[0])).toEqual(["| 10000 × 1", "| 10000 × 100", "| 1000000 × 1"]);
            const cells = (r: string) => r.split(" | ");
            // kill → first write is the 6th column (after the runs); the 1 M row is the second run's.
            expect(cells(rows[2])[1]).toBe("3");
            expect(cells(rows[2])[5]).toBe("4500");
            expect(cells(rows[2])[9]).toBe("5");
            expect(cells(rows[1])[20]).toBe("60.5");
            expect(cells(rows[0])[20]).toBe("-");
            expect(cells(rows[0])[21]).toBe("yes");
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });
});

describe("aofFigures", () => {
    const at = (sizes: [number, number][]) => sizes.map(([leader, aofSize], i) => ({ at: i, value: { leader, aofSize } }));
    it("counts the leader's drops as compactions and its worst size over the size right after the last one", () => {
        expect(aofFigures(at([[0, 100], [0, 400]]))).toEqual({ compactions: 0 });
        expect(aofFigures(at([[0, 100], [0, 400], [0, 50], [0, 90], [0, 40], [0, 70]]))).toEqual({ compactions: 2, worstRatio: 1.8 });
        // Another leader's file is not a compaction; its ratio waits for its own first compaction.
        expect(aofFigures([...at([[0, 400], [0, 100], [1, 60], [1, 500]]), { at: 9, value: undefined }])).toEqual({ compactions: 1, worstRatio: 1 });
    });
});

describe("compactionSwaps", () => {
    it("dates each drop of the leader's AOF at the sample before it, never a change of leader", () => {
        const samples = [
            { at: 10, value: { leader: 0, aofSize: 100 } },
            { at: 20, value: { leader: 0, aofSize: 400 } },
            { at: 30, value: { leader: 0, aofSize: 50 } },
            { at: 40, value: undefined },
            { at: 50, value: { leader: 1, aofSize: 20 } },
            { at: 60, value: { leader: 1, aofSize: 10 } },
        ];
        expect(compactionSwaps(samples)).toEqual([20, 50]);
    });
});

describe("pausesExplained and spansWhere", () => {
    it("lists the longest gaps between acknowledgements with the spans they overlapped", () => {
        const acks = [100, 110, 400, 410, 420, 600].map((ackAt, i) => ({ id: `w${i}`, sentAt: ackAt - 5, ackAt }));
        const rewrite = spansWhere([{ at: 150, value: false }, { at: 170, value: true }, { at: 190, value: true }, { at: 210, value: false }, { at: 590, value: true }], (v) => v, "rewrite");
        expect(rewrite).toEqual([{ from: 170, to: 210, what: "rewrite" }, { from: 590, to: 590, what: "rewrite" }]);
        const lines = pausesExplained(acks, 100, 600, [...rewrite, { from: 450, to: 520, what: "event loop 60 ms late" }], 2);
        expect(lines).toEqual([`290 ms from ${new Date(110).toISOString()}: rewrite`, `180 ms from ${new Date(420).toISOString()}: rewrite, event loop 60 ms late`]);
        // The longest gap a rewrite overlapped: 290 ms; with only the late event loop's span, 180 ms; none: 0.
        expect(longestGapOverlapping(acks, 100, 600, rewrite)).toBe(290);
        expect(longestGapOverlapping(acks, 100, 600, [{ from: 450, to: 520, what: "lag" }])).toBe(180);
        expect(longestGapOverlapping(acks, 100, 600, [])).toBe(0);
    });
});
