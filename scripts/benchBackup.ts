/**
 * `npm run bench:backup -- [--points N] [--json]`: the S3 half of a backup and restore, measured
 * against a real S3-compatible server (Versity gateway on 127.0.0.1:19620) with the real agent
 * script, AWS CLI v2 and busybox restore command.
 *
 * Steps: write an AOF of N points in Tile38's on-disk format (one `SET fleet <id> POINT lat lon`
 * per point), back it up with the agent (`backup-once`), delete the data dir, then restore it into
 * an empty data dir through the restore handshake (agent loop + `TILE38_RESTORE_CMD`), and count
 * the points in the restored, verified AOF.
 *
 * What it does NOT measure, because tile38-server cannot be installed on these machines (the Go
 * module proxy refuses github.com/tidwall/tile38): writing the points through Tile38, `aof_size`
 * from a live `SERVER` (the agent's AOF_SIZE_OVERRIDE seam stands in), and Tile38 loading the
 * restored AOF. So `restore_ms` ends when the verified AOF is in place, and the JSON says so in
 * `restore_ms_ends`. With `--json` the last line is one JSON object.
 */
import * as fs from "fs";
import * as path from "path";
import { BackupRig, respCommand } from "../tests/integration/harness/backupRig";

interface Args {
    points: number;
    json: boolean;
}

function parseArgs(argv: string[]): Args {
    const args: Args = { points: 1_000_000, json: false };
    for (let i = 0; i < argv.length; i++) {
        if (argv[i] === "--json") args.json = true;
        else if (argv[i] === "--points") args.points = Number(argv[++i]);
        else throw new Error(`unknown argument ${argv[i]} (usage: bench:backup -- [--points N] [--json])`);
    }
    if (!Number.isInteger(args.points) || args.points < 1) throw new Error("--points must be a positive whole number");
    return args;
}

/** N points around Phoenix, as Tile38 appends them to its AOF. */
function pointsAof(n: number): Buffer {
    const chunks: Buffer[] = [];
    for (let i = 0; i < n; i++) {
        const lat = (33 + (i % 10_000) / 10_000).toFixed(6);
        const lon = (-112 - Math.floor(i / 10_000) / 10_000).toFixed(6);
        chunks.push(respCommand("SET", "fleet", `truck${i}`, "POINT", lat, lon));
    }
    return Buffer.concat(chunks);
}

/** Counts the `SET` commands of an AOF by walking its RESP frames (throws on a malformed file). */
function countSets(aof: Buffer): number {
    let at = 0;
    let sets = 0;
    const line = () => {
        const end = aof.indexOf("\r\n", at);
        if (end < 0) throw new Error(`no CRLF after byte ${at}`);
        const text = aof.toString("latin1", at, end);
        at = end + 2;
        return text;
    };
    while (at < aof.length) {
        const head = line();
        if (!head.startsWith("*")) throw new Error(`expected * at byte ${at}`);
        const n = Number(head.slice(1));
        for (let a = 0; a < n; a++) {
            const len = Number(line().slice(1));
            const arg = aof.toString("latin1", at, at + len);
            at += len + 2;
            if (a === 0 && arg.toUpperCase() === "SET") sets++;
        }
    }
    return sets;
}

async function main(): Promise<void> {
    const args = parseArgs(process.argv.slice(2));
    const say = (s: string) => process.stderr.write(`${s}\n`);
    const rig = await BackupRig.start({ s3Port: 19620, noTile38Port: 19621, bucket: "tile38-ha-bench", label: "bench-backup" });
    try {
        const aof = pointsAof(args.points);
        say(`bench:backup: ${args.points} points, AOF ${aof.length} bytes`);
        const prefix = "bench/";
        const source = rig.newDataDir("source", aof);

        let t = process.hrtime.bigint();
        const up = rig.agent(["backup-once"], rig.agentEnv(prefix, source, { AOF_SIZE_OVERRIDE: String(aof.length) }), 900_000);
        const uploadMs = Number(process.hrtime.bigint() - t) / 1e6;
        if (up.code !== 0) throw new Error(`backup failed: ${up.log}`);
        fs.rmSync(source, { recursive: true, force: true });

        const target = rig.newDataDir("restored");
        const loop = rig.startLoop(rig.agentEnv(prefix, target));
        t = process.hrtime.bigint();
        const restore = await rig.runRestore(target, 900);
        const restoreMs = Number(process.hrtime.bigint() - t) / 1e6;
        rig.kill(loop.proc);
        if (restore.code !== 0) throw new Error(`restore failed: ${restore.log}\n${loop.log()}`);
        const restored = fs.readFileSync(path.join(target, "appendonly.aof"));
        if (!restored.equals(aof)) throw new Error("the restored AOF differs from the one backed up");
        const result = {
            points: args.points,
            restored_points: countSets(restored),
            backup_bytes: aof.length,
            upload_ms: Math.round(uploadMs),
            restore_ms: Math.round(restoreMs),
            restore_ms_ends: "verified AOF in place (Tile38 loading it not measured: tile38-server cannot be installed here)",
        };
        if (args.json) {
            process.stdout.write(`${JSON.stringify(result)}\n`);
        } else {
            process.stdout.write(
                [
                    `points            ${result.points}`,
                    `restored points   ${result.restored_points}`,
                    `backup size       ${(result.backup_bytes / 1e6).toFixed(1)} MB`,
                    `upload            ${result.upload_ms} ms (agent backup-once: sha256, upload, size check, manifest, pointer)`,
                    `restore           ${result.restore_ms} ms (handshake, list, download, size + sha256 checks, in place)`,
                    `not measured      Tile38 loading the AOF (tile38-server cannot be installed here)`,
                ].join("\n") + "\n",
            );
        }
    } finally {
        rig.stop();
    }
}

main().catch((e) => {
    process.stderr.write(`bench:backup: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exitCode = 1;
});
