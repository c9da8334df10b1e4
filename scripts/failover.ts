/**
 * `npm run failover -- <stack>`: moves leadership on purpose, without losing an acknowledged
 * write: the leader stops accepting writes (READONLY yes), waits until its followers hold its whole
 * AOF, asks the sentinels for a failover and follows the new leader. It runs the same stop script
 * as `docker stop` and the Kubernetes preStop hook, inside each node (docker exec / kubectl exec).
 * Exit 0 when leadership moved; 1 when it could not (the leader accepts writes again once a majority
 * of the sentinels names it and none fails it over: within about a second).
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { parseStackConfig } from "../config/parse";
import { formatIssues } from "../config/validate";
import { readStackFile } from "../testing/stackFile";
import { failoverCommands } from "../testing/scenarios/failoverCommands";

function main(): number {
    const stack = process.argv[2];
    if (!stack || process.argv.length > 3) {
        process.stderr.write("usage: npm run failover -- <stack>   (reads Pulumi.<stack>.yaml)\n");
        return 2;
    }
    const file = path.join(__dirname, "..", `Pulumi.${stack}.yaml`);
    if (!fs.existsSync(file)) {
        process.stderr.write(`no stack file ${file}\n`);
        return 2;
    }
    const { values } = readStackFile(file);
    const { config, issues } = parseStackConfig(values, { stack, platform: process.platform });
    if (issues.length > 0) {
        process.stderr.write(`${formatIssues(issues)}\n`);
        return 2;
    }
    let moved = false;
    for (const argv of failoverCommands(config)) {
        const r = spawnSync(argv[0], argv.slice(1), { stdio: ["ignore", "inherit", "pipe"], encoding: "utf8", timeout: (config.sentinel.failoverTimeoutMilliseconds + 30000) });
        process.stderr.write(r.stderr ?? "");
        if (r.error) {
            process.stderr.write(`failover: ${argv[0]} failed to run: ${r.error.message}\n`);
            return 1;
        }
        if (/leadership moved to/.test(r.stderr ?? "")) moved = true;
        else if (r.status !== 0) {
            process.stderr.write(`failover: ${argv.join(" ")} exited with ${r.status}\n`);
            return 1;
        }
    }
    if (!moved) process.stderr.write("failover: no node handed leadership over (is the cluster running?)\n");
    return moved ? 0 : 1;
}

process.exitCode = main();
