/**
 * `npm run bench:backup -- [--points N] [--json]`: a backup and a restore after total loss, end
 * to end, through the real Tile38 (the dev topology on 127.0.0.1, as the backup integration tests
 * run it): three tile38-server nodes run by the rendered start script with the stack's
 * TILE38_RESTORE_CMD, three sentinels, one rendered backup agent per node (bash + the real AWS CLI
 * v2), the real Versity S3 gateway. Ports: S3 27250, sentinels 27260-27262, Tile38 27270-27272.
 *
 * Steps:
 * 1. writes N points (`SET fleet truck<i> POINT lat lon`, default 1,000,000) THROUGH Tile38 with a
 *    sentinel-aware client, pipelined (10,000 SETs per round trip);
 * 2. `upload_ms`: the leader's agent uploads the AOF (`backup-once`: SERVER, sha256, upload, size
 *    check, manifest, pointer); the backup must be exactly the leader's `aof_size` bytes;
 * 3. destroys everything: every node, agent and sentinel, every data dir;
 * 4. `restore_ms`: recreates the cluster from the same rendered scripts and stops the clock when
 *    the leader the sentinels name answers a read (`GET fleet truck<N-1>`) of the last point;
 *    `load_ms` is Tile38's own report of loading the restored AOF ("AOF loaded … s" in its log);
 * 5. `restored_points`: the restored leader's `num_objects`.
 * The last line (with --json, the only line on stdout) is
 * `{"points","restored_points","backup_bytes","upload_ms","restore_ms","load_ms"}`.
 * `--logs DIR` keeps a copy of every process log (to see where the time goes).
 */
import * as fs from "fs";
import { BackupCluster } from "../testing/fixtures/loopback/backupCluster";
import { BackupRig } from "../testing/fixtures/loopback/backupRig";
import { tile38SkipReason } from "../testing/fixtures/loopback/cluster";
import { bulkClient, loadPoints, pointId } from "../testing/probe/pointLoader";
import { resp } from "../components/status/resp";
import { waitFor } from "../testing/probe/wait";

interface Args {
    /** Points to write. @default 1000000 */
    points: number;
    /** Print only the JSON line on stdout. @default false */
    json: boolean;
    /** Copy every process log (nodes, agents, sentinels) into this directory at the end. @default none */
    logs?: string;
}

function parseArgs(argv: string[]): Args {
    const args: Args = { points: 1_000_000, json: false };
    for (let i = 0; i < argv.length; i++) {
        if (argv[i] === "--json") args.json = true;
        else if (argv[i] === "--points") args.points = Number(argv[++i]);
        else if (argv[i] === "--logs") args.logs = argv[++i];
        else throw new Error(`unknown argument ${argv[i]} (usage: bench:backup -- [--points N] [--json] [--logs DIR])`);
    }
    if (!Number.isInteger(args.points) || args.points < 1) throw new Error("--points must be a positive whole number");
    return args;
}

const ms = (since: bigint) => Math.round(Number(process.hrtime.bigint() - since) / 1e6);

async function main(): Promise<void> {
    const args = parseArgs(process.argv.slice(2));
    const say = (s: string) => process.stderr.write(`bench:backup: ${s}\n`);
    const skip = tile38SkipReason();
    if (skip) throw new Error(skip);
    const rig = await BackupRig.start({ s3Port: 27250, bucket: "tile38-ha-bench", label: "bench-backup" });
    let bc: BackupCluster | undefined;
    try {
        // The agents' own loop must not upload behind the bench's back: a long interval, and
        // the source cluster's agents stop once the (empty) cluster is up.
        bc = await BackupCluster.start({ label: "bench", sentinelPort: 27260, tile38Port: 27270, rig, prefix: "bench/", intervalSeconds: 3600, restoreTimeoutSeconds: 600 });
        for (let i = 0; i < 3; i++) await bc.stopAgent(i);
        const c = bc.cluster;
        const leader = await c.agreedLeader();

        say(`writing ${args.points} points through Tile38 (sentinel-aware client, pipelines of 10000)`);
        const client = bulkClient(bc.target());
        let t = process.hrtime.bigint();
        let shown = 0;
        await loadPoints(client, args.points, {
            batch: 10_000,
            progress: (n) => {
                if (n - shown >= 250_000) {
                    shown = n;
                    say(`  ${n} points`);
                }
            },
        });
        const writeMs = ms(t);
        client.disconnect();
        const aofSize = await waitFor(
            async () => {
                const st = await c.nodeStatus(leader);
                const file = fs.statSync(c.dataFile(leader, "appendonly.aof")).size;
                return st && st.aofSize > 0 && file >= st.aofSize ? st.aofSize : undefined;
            },
            { timeoutMs: 60_000, what: "the leader's AOF on disk" },
        );
        say(`wrote ${args.points} points in ${writeMs} ms; leader aof_size ${aofSize} bytes`);

        t = process.hrtime.bigint();
        const up = bc.backupOnce(leader, 900_000);
        const uploadMs = ms(t);
        if (up.code !== 0) throw new Error(`backup failed: ${up.log}`);
        const pointer = bc.pointer();
        if (!pointer || pointer.size !== aofSize) throw new Error(`the pointer does not name a backup of ${aofSize} bytes: ${JSON.stringify(pointer)}`);
        say(`uploaded ${pointer.size} bytes in ${uploadMs} ms (${pointer.key})`);

        await bc.destroyAll({ sentinels: true });
        say("destroyed every node, agent, sentinel and data dir; recreating");
        const last = pointId(args.points - 1);
        t = process.hrtime.bigint();
        await bc.recreate();
        const restored = await waitFor(
            async () => {
                const l = await c.agreedLeader();
                if (l < 0) return undefined;
                const r = await resp(c.topo.nodes[l].port, ["GET", "fleet", last, "POINT"], c.passwords.tile38, { timeoutMs: 2000 });
                return Array.isArray(r) ? l : undefined;
            },
            { timeoutMs: 900_000, what: `the restored leader to answer GET fleet ${last}`, intervalMs: 20 },
        );
        const restoreMs = ms(t);
        const loaded = /AOF loaded (\d+) commands: ([\d.]+)s/.exec(c.nodeLog(restored));
        if (!loaded) throw new Error("the restored leader's log has no 'AOF loaded' line");
        const status = await c.nodeStatus(restored);
        const result = {
            points: args.points,
            restored_points: status?.numObjects ?? -1,
            backup_bytes: pointer.size,
            upload_ms: uploadMs,
            restore_ms: restoreMs,
            load_ms: Math.round(Number(loaded[2]) * 1000),
        };
        say(`restored: leader ${c.endpoint(restored)} answered ${last} after ${restoreMs} ms (Tile38 loaded ${loaded[1]} commands in ${loaded[2]} s)`);
        if (result.restored_points !== args.points) throw new Error(`restored ${result.restored_points} points, expected ${args.points}: ${JSON.stringify(result)}`);
        if (!args.json) {
            process.stdout.write(
                [
                    `points            ${result.points}`,
                    `restored points   ${result.restored_points}`,
                    `backup size       ${(result.backup_bytes / 1e6).toFixed(1)} MB`,
                    `upload            ${result.upload_ms} ms (leader's agent backup-once: SERVER, sha256, upload, size check, manifest, pointer)`,
                    `restore           ${result.restore_ms} ms (empty cluster started → leader answers a read of the last point)`,
                    `  of which load   ${result.load_ms} ms (Tile38 loading the AOF, its own report)`,
                ].join("\n") + "\n",
            );
        }
        process.stdout.write(`${JSON.stringify(result)}\n`);
    } finally {
        if (args.logs && bc) fs.cpSync(`${bc.h.root}/logs`, args.logs, { recursive: true });
        await bc?.cleanup();
        rig.stop();
    }
}

main().then(
    () => process.exit(process.exitCode ?? 0),
    (e) => {
        process.stderr.write(`bench:backup: ${e instanceof Error ? e.message : String(e)}\n`);
        process.exit(1);
    },
);
