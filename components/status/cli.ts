#!/usr/bin/env node
/**
 * `tile38-ha-status`: the read-only status of a running cluster from its sentinel endpoints
 * (what every client has), for any deployment of the package:
 *
 *   TILE38_PASSWORD=… SENTINEL_PASSWORD=… tile38-ha-status --sentinels h1:5000,h2:5001,h3:5002 \
 *       [--master mymaster] [--nodes h:9851,…] [--backup-metrics h:9141,…] [--json]
 *
 * `--backup-metrics`: the backup agents' metrics endpoints (a Docker stack's `metricsTargets.backup`),
 * for the last good backup; without it the backups show as unknown.
 *
 * Passwords come from the environment, never the command line. Exit code: 0 healthy, 1
 * degraded, 2 no writable leader, 3 bad usage. `npm run status -- --stack NAME` does the same
 * for a stack of this project, with the backup agents' records.
 */
import { parseArgs } from "node:util";
import { backupRecordsFromMetrics } from "./backupMetrics";
import { clusterStatus, formatStatus, StatusEndpoint } from "./clusterStatus";

function endpoints(list: string, what: string): StatusEndpoint[] {
    return list.split(",").map((e) => {
        const at = e.lastIndexOf(":");
        const port = Number(e.slice(at + 1));
        if (at <= 0 || !Number.isInteger(port) || port < 1 || port > 65535) throw new Error(`${what}: ${JSON.stringify(e)} is not host:port`);
        return { host: e.slice(0, at), port };
    });
}

async function main(): Promise<number> {
    const { values } = parseArgs({
        options: { sentinels: { type: "string" }, master: { type: "string", default: "mymaster" }, nodes: { type: "string" }, "backup-metrics": { type: "string" }, json: { type: "boolean", default: false }, help: { type: "boolean", default: false } },
    });
    if (values.help || !values.sentinels) {
        process.stderr.write("usage: TILE38_PASSWORD=… SENTINEL_PASSWORD=… tile38-ha-status --sentinels h:p,h:p,h:p [--master mymaster] [--nodes h:p,…] [--backup-metrics h:p,…] [--json]\n");
        return 3;
    }
    const s = await clusterStatus({
        masterName: values.master ?? "mymaster",
        sentinels: endpoints(values.sentinels, "--sentinels"),
        nodes: values.nodes ? endpoints(values.nodes, "--nodes") : undefined,
        tile38Password: process.env.TILE38_PASSWORD ?? "",
        sentinelPassword: process.env.SENTINEL_PASSWORD ?? "",
        backups: values["backup-metrics"] ? () => backupRecordsFromMetrics(endpoints(values["backup-metrics"]!, "--backup-metrics")) : undefined,
    });
    process.stdout.write(values.json ? `${JSON.stringify(s)}\n` : `${formatStatus(s)}\n`);
    return s.exitCode;
}

main().then(
    (code) => process.exit(code),
    (e: Error) => {
        process.stderr.write(`tile38-ha-status: ${e.message}\n`);
        process.exit(3);
    },
);
