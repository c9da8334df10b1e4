/**
 * `npm run bench -- --points N [--updates-per-point K] [--repeats R] [--stack NAME] [--json] [--record FILE.md]`:
 * the scale bench (testing/scenarios/scaleBench.ts) on a loopback cluster of its own, or with
 * `--stack` on this project's deployed Docker stack NAME (its own collections, dropped at the end);
 * the kill and the hand-over run R times (default 5) and their figures are medians. Prints the
 * figures; with --json the last line is one object; --record writes this size's row into FILE.md's
 * table.
 */
import { parseArgs } from "node:util";
import { benchSteps, recordScaleBench, runScaleBench, ScaleBenchOptions, ScaleBenchResult } from "../testing/scenarios/scaleBench";
import { stackBenchTarget } from "../testing/fixtures/docker/stackBenchTarget";
import { tile38SkipReason } from "../testing/fixtures/loopback/cluster";

const USAGE = "usage: npm run bench -- --points N [--updates-per-point K] [--repeats R] [--compaction-min-mb M | --stack NAME] [--json] [--record FILE.md]";

async function main(): Promise<number> {
    const { values } = parseArgs({
        args: process.argv.slice(2),
        options: { points: { type: "string", default: "10000" }, "updates-per-point": { type: "string", default: "1" }, repeats: { type: "string", default: "5" }, "compaction-min-mb": { type: "string" }, stack: { type: "string" }, json: { type: "boolean", default: false }, record: { type: "string" } },
        strict: true,
    });
    const points = Number(values.points);
    const updates = Number(values["updates-per-point"]);
    if (!Number.isInteger(points) || points < 1 || points > 50_000_000) throw new Error(`--points must be a whole number from 1 to 50000000\n${USAGE}`);
    if (!Number.isInteger(updates) || updates < 1 || updates > 1000) throw new Error(`--updates-per-point must be a whole number from 1 to 1000\n${USAGE}`);
    const repeats = Number(values.repeats);
    if (!Number.isInteger(repeats) || repeats < 1 || repeats > 20) throw new Error(`--repeats must be a whole number from 1 to 20\n${USAGE}`);
    const minMb = values["compaction-min-mb"] === undefined ? undefined : Number(values["compaction-min-mb"]);
    if (minMb !== undefined && !(Number.isInteger(minMb) && minMb >= 1)) throw new Error(`--compaction-min-mb must be a whole number of MiB, at least 1\n${USAGE}`);
    if (values.stack !== undefined && minMb !== undefined) throw new Error(`--compaction-min-mb sets the bench's own cluster; a deployed stack compacts as its config says\n${USAGE}`);
    const o: ScaleBenchOptions = { points, updatesPerPoint: updates, repeats, ...(minMb === undefined ? {} : { compactionMinMegabytes: minMb }), say: (l) => process.stderr.write(`bench: ${l}\n`) };
    let r: ScaleBenchResult;
    let where: string | undefined;
    if (values.stack !== undefined) {
        const target = await stackBenchTarget(values.stack);
        where = target.where;
        try {
            r = await benchSteps(target, o);
        } finally {
            await target.cleanup();
        }
    } else {
        const skip = tile38SkipReason();
        if (skip) throw new Error(skip);
        r = await runScaleBench(o);
    }
    if (values.record) recordScaleBench(values.record, r, where, `npm run bench -- ${values.stack === undefined ? "" : `--stack ${values.stack} `}--points N [--updates-per-point K]`);
    if (!values.json) for (const [k, v] of Object.entries(r)) process.stdout.write(`${k.padEnd(26)} ${Array.isArray(v) ? v.join(", ") : String(v)}\n`);
    process.stdout.write(`${JSON.stringify(r)}\n`);
    return r.data_identical && r.writes_lost === 0 ? 0 : 1;
}

main().then(
    (code) => process.exit(code),
    (e) => {
        process.stderr.write(`bench: ${e instanceof Error ? e.message : String(e)}\n`);
        process.exit(2);
    },
);
