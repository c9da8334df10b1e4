/**
 * Manual restore of a chosen backup, from any machine with bash and the AWS CLI v2.
 * It runs the same rendered agent script as the sidecars (`list` and `fetch` modes), so the file
 * it writes passes the same size and SHA-256 checks as an automatic restore.
 *
 *   npx ts-node --transpile-only scripts/restore-backup.ts --bucket B --prefix tile38/dev/ list
 *   npx ts-node --transpile-only scripts/restore-backup.ts --bucket B --prefix tile38/dev/ \
 *       fetch tile38/dev/manifests/20260101T000000.000Z-tile38-ha-dev-tile38-1.json ./appendonly.aof
 *   (`fetch latest OUT` takes the pointer; add `--force` to replace a non-empty OUT)
 *
 * Options: --bucket, --prefix (required); --endpoint URL (S3-compatible store, e.g. the local
 * store `http://127.0.0.1:9000`); --region; --aws /path/to/aws. Credentials: the AWS CLI's usual
 * chain (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, a profile, or an instance role).
 *
 * Putting the file in place (total loss, or rolling back to an older backup):
 *  1. Stop every Tile38 node (Docker: `docker stop <prefix>-tile38-1 …`; Kubernetes: scale the
 *     StatefulSet `tile38` to 0). Leave the sentinels running.
 *  2. Empty every node's data volume except the node that will lead (node 1 / `tile38-0`), and on
 *     that node replace `appendonly.aof` with the fetched file (keep its `config`).
 *     Docker shortcut, with the node stopped and its agent running:
 *       docker exec <prefix>-tile38-1-backup tile38-ha-backup-agent fetch <manifest|latest> /data/appendonly.aof
 *     (set `-e FORCE=1` to replace an existing AOF).
 *  3. Start the nodes: the emptied ones find a node holding data and follow it.
 * If instead every volume is emptied, the node the sentinels name restores the NEWEST good backup
 * by itself (restore handshake); the manual path is for choosing an older one.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { renderBackupAgentScript } from "../components/render/backupScripts";

function usage(message?: string): never {
    if (message) console.error(`restore-backup: ${message}`);
    console.error("usage: restore-backup.ts --bucket B --prefix P [--endpoint URL] [--region R] [--aws PATH] [--force] (list | fetch MANIFEST|latest OUT)");
    process.exit(2);
}

function main(argv: string[]): number {
    const opts: Record<string, string> = {};
    const rest: string[] = [];
    for (let i = 0; i < argv.length; i++) {
        const a = argv[i];
        if (a === "--force") opts.force = "1";
        else if (["--bucket", "--prefix", "--endpoint", "--region", "--aws"].includes(a)) {
            if (i + 1 >= argv.length) usage(`${a} needs a value`);
            opts[a.slice(2)] = argv[++i];
        } else if (a.startsWith("--")) usage(`unknown option ${a}`);
        else rest.push(a);
    }
    if (!opts.bucket || !opts.prefix) usage("--bucket and --prefix are required");
    if (rest[0] !== "list" && !(rest[0] === "fetch" && rest.length === 3)) usage();

    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tile38-ha-restore-"));
    try {
        const script = path.join(dir, "tile38-ha-backup-agent");
        // Interval and refresh do not matter for list/fetch.
        fs.writeFileSync(script, renderBackupAgentScript({ intervalSeconds: 300, refreshSeconds: 0 }));
        const env: Record<string, string | undefined> = {
            ...process.env,
            NODE_NAME: "manual-restore",
            DATA_DIR: dir,
            BACKUP_BUCKET: opts.bucket,
            BACKUP_PREFIX: opts.prefix,
            BACKUP_ENDPOINT: opts.endpoint ?? "",
            BACKUP_CREATE_BUCKET: "0",
            AWS_BIN: opts.aws ?? process.env.AWS_BIN ?? "aws",
            FORCE: opts.force ?? "0",
        };
        if (opts.region) env.AWS_REGION = env.AWS_DEFAULT_REGION = opts.region;
        const args = rest[0] === "fetch" ? ["fetch", rest[1], path.resolve(rest[2])] : ["list"];
        const r = spawnSync("bash", [script, ...args], { env, stdio: "inherit" });
        if (r.error) throw r.error;
        return r.status ?? 1;
    } finally {
        fs.rmSync(dir, { recursive: true, force: true });
    }
}

process.exit(main(process.argv.slice(2)));
