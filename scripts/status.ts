/**
 * `npm run status -- --stack NAME [--json]`: the read-only status of a deployed stack of this
 * project (components/status/clusterStatus.ts): each sentinel's leader and quorum, each node's
 * role, caught up, bytes behind, read-only or fenced, and on Docker the backup agents' records
 * (`docker exec <node>-backup cat …/status.json`). Exit 0 healthy, 1 degraded, 2 no writable
 * leader, 3 bad usage. It changes nothing.
 *
 * A Kubernetes stack's pods are reachable by their DNS names inside the cluster only: run the
 * package's `tile38-ha-status` there (see README "Operating it").
 */
import { parseArgs } from "node:util";
import { RESTORE_HANDSHAKE_DIR } from "../components/render/backupScripts";
import { BackupRecord, clusterStatus, formatStatus } from "../components/status/clusterStatus";
import { runCommand } from "../testing/command";

/** The backup agents' records of a Docker stack (containers `<node>-backup`), through `docker exec`. */
export async function dockerBackupRecords(tile38Containers: string[], env: NodeJS.ProcessEnv = process.env): Promise<BackupRecord[]> {
    const records = await Promise.all(
        tile38Containers.map(async (node) => {
            const r = await runCommand("docker", ["exec", `${node}-backup`, "cat", `/data/${RESTORE_HANDSHAKE_DIR}/status.json`], { env, timeoutMs: 15000 });
            return r.code === 0 ? ({ node, ...(JSON.parse(r.stdout) as Omit<BackupRecord, "node">) } as BackupRecord) : undefined;
        }),
    );
    return records.filter((r): r is BackupRecord => r !== undefined);
}

async function main(): Promise<number> {
    const { values } = parseArgs({ options: { stack: { type: "string" }, json: { type: "boolean", default: false } } });
    if (!values.stack) {
        process.stderr.write("usage: npm run status -- --stack NAME [--json]\n");
        return 3;
    }
    const r = await runCommand("pulumi", ["stack", "output", "--json", "--show-secrets", "--stack", values.stack, "--non-interactive"], { env: process.env, timeoutMs: 120000 });
    if (r.code !== 0) throw new Error(`pulumi stack output --stack ${values.stack} failed: ${r.stderr.trim()}`);
    const o = JSON.parse(r.stdout) as Record<string, unknown>;
    if (o.target !== "docker") {
        process.stderr.write(`stack ${values.stack} is a ${String(o.target)} stack: its pods answer by their DNS names inside the cluster; run tile38-ha-status there (README, "Operating it")\n`);
        return 3;
    }
    const containers = o.dockerContainers as { tile38: string[] } | undefined;
    const backupsOn = o.backupBucket !== undefined;
    const s = await clusterStatus({
        masterName: String(o.masterName),
        sentinels: o.sentinelEndpoints as { host: string; port: number }[],
        nodes: o.tile38Endpoints as { host: string; port: number }[],
        tile38Password: String(o.tile38Password),
        sentinelPassword: String(o.sentinelPassword),
        backups: backupsOn && containers ? () => dockerBackupRecords(containers.tile38) : undefined,
    });
    process.stdout.write(values.json ? `${JSON.stringify(s)}\n` : `${formatStatus(s)}\n`);
    return s.exitCode;
}

if (require.main === module) {
    main().then(
        (code) => process.exit(code),
        (e: Error) => {
            process.stderr.write(`status: ${e.message}\n`);
            process.exit(3);
        },
    );
}
