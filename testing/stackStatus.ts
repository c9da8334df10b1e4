/**
 * `npm run status -- --stack NAME [--json]`: the read-only status of a deployed stack of this
 * project (components/status/clusterStatus.ts): each sentinel's leader and quorum, each node's
 * role, caught up, bytes behind, read-only or fenced, and on Docker the backup agents' records
 * (`docker exec <node>-backup cat …/status.json`). Exit 0 healthy, 1 degraded, 2 no writable
 * leader, 3 bad usage. It changes nothing.
 *
 * A Kubernetes stack's pods answer by their DNS names inside the cluster only: the status reaches
 * each through `kubectl port-forward` (on 127.0.0.1, local ports from `--local-ports` on, default
 * 29100; `--kubeconfig` or the ambient one; `KUBECTL` names the binary), and speaks of them by
 * their own names.
 */
import { ChildProcess, spawn } from "child_process";
import { parseArgs } from "node:util";
import { RESTORE_HANDSHAKE_DIR } from "../components/render/backupScripts";
import { backupRecordsFromMetrics } from "../components/status/backupMetrics";
import { BackupRecord, ClusterStatus, clusterStatus, formatStatus, StatusEndpoint } from "../components/status/clusterStatus";
import { runCommand } from "./command";

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

/** What `kubectl port-forward` says of a pod that is not there to forward to (deleted, or not running yet). */
const POD_DOWN = /pods? "[^"]+" not found|pod is not running|NotFound/;

/** One `kubectl port-forward` of a pod's port to 127.0.0.1:localPort, ready (bounded). */
function portForward(kubectl: string, kubeconfig: string | undefined, namespace: string, pod: string, port: number, localPort: number): Promise<ChildProcess> {
    const args = [...(kubeconfig ? ["--kubeconfig", kubeconfig] : []), "port-forward", "-n", namespace, "--address", "127.0.0.1", `pod/${pod}`, `${localPort}:${port}`];
    return new Promise((resolve, reject) => {
        const p = spawn(kubectl, args, { stdio: ["ignore", "pipe", "pipe"] });
        let err = "";
        const timer = setTimeout(() => {
            p.kill();
            reject(new Error(`kubectl port-forward of ${pod}:${port} not ready after 15 s: ${err.trim()}`));
        }, 15000);
        p.stdout.on("data", (d: Buffer) => {
            if (d.toString().includes("Forwarding from")) {
                clearTimeout(timer);
                resolve(p);
            }
        });
        p.stderr.on("data", (d: Buffer) => (err += d.toString()));
        p.on("exit", () => {
            clearTimeout(timer);
            reject(new Error(`kubectl port-forward of ${pod}:${port} exited: ${err.trim()}`));
        });
    });
}

/** Pod name and namespace of a StatefulSet pod's FQDN (`<pod>.<headless>.<namespace>.svc.<domain>`). */
export function podOfFqdn(host: string): { pod: string; namespace: string } {
    const [pod, , namespace] = host.split(".");
    if (!pod || !namespace) throw new Error(`${host} is not a pod's FQDN`);
    return { pod, namespace };
}

/**
 * The status of a Kubernetes stack from its outputs, every pod reached through `kubectl
 * port-forward`; with backups on, each Tile38 pod's backup agent too (its metrics port,
 * `metrics.backupPort`; a pod whose agent serves none is left out and the backups show unknown).
 */
export async function kubernetesStatus(
    o: Record<string, unknown>,
    opts: { kubectl?: string; kubeconfig?: string; localPortsFrom?: number; backupMetricsPort?: number } = {},
): Promise<ClusterStatus> {
    const sentinels = o.sentinelEndpoints as StatusEndpoint[];
    const nodes = o.tile38Endpoints as StatusEndpoint[];
    const forwards: ChildProcess[] = [];
    const local = new Map<string, StatusEndpoint>();
    const kubectl = opts.kubectl ?? process.env.KUBECTL ?? "kubectl";
    try {
        let next = opts.localPortsFrom ?? 29100;
        // A pod that cannot be forwarded to (gone, not running yet: `pods "…" not found`, `pod is
        // not running`) is one that does not answer, which is what the status is for; nothing
        // else (a local port taken, a kubectl that cannot reach the API server) is hidden that way.
        const unreachable = new Set<string>();
        for (const e of [...sentinels, ...nodes]) {
            const { pod, namespace } = podOfFqdn(e.host);
            const localPort = next++;
            try {
                forwards.push(await portForward(kubectl, opts.kubeconfig, namespace, pod, e.port, localPort));
                local.set(`${e.host}:${e.port}`, { host: "127.0.0.1", port: localPort });
            } catch (err) {
                if (!POD_DOWN.test((err as Error).message)) throw err;
                unreachable.add(`${e.host}:${e.port}`);
            }
        }
        const agents: StatusEndpoint[] = [];
        if (o.backupBucket !== undefined) {
            for (const e of nodes) {
                const { pod, namespace } = podOfFqdn(e.host);
                const localPort = next++;
                const f = await portForward(kubectl, opts.kubeconfig, namespace, pod, opts.backupMetricsPort ?? 9141, localPort).catch(() => undefined);
                if (f) {
                    forwards.push(f);
                    agents.push({ host: "127.0.0.1", port: localPort });
                }
            }
        }
        return await clusterStatus({
            masterName: String(o.masterName),
            sentinels,
            nodes,
            tile38Password: String(o.tile38Password),
            sentinelPassword: String(o.sentinelPassword),
            connect: (e) => (unreachable.has(`${e.host}:${e.port}`) ? undefined : (local.get(`${e.host}:${e.port}`) ?? e)),
            backups: agents.length > 0 ? () => backupRecordsFromMetrics(agents) : undefined,
        });
    } finally {
        for (const f of forwards) f.kill();
    }
}

export async function main(): Promise<number> {
    const { values } = parseArgs({
        options: { stack: { type: "string" }, json: { type: "boolean", default: false }, kubeconfig: { type: "string" }, "local-ports": { type: "string" } },
    });
    if (!values.stack) {
        process.stderr.write("usage: npm run status -- --stack NAME [--json] [--kubeconfig FILE] [--local-ports FIRST]\n");
        return 3;
    }
    const r = await runCommand("pulumi", ["stack", "output", "--json", "--show-secrets", "--stack", values.stack, "--non-interactive"], { env: process.env, timeoutMs: 120000 });
    if (r.code !== 0) throw new Error(`pulumi stack output --stack ${values.stack} failed: ${r.stderr.trim()}`);
    const o = JSON.parse(r.stdout) as Record<string, unknown>;
    if (o.target === "kubernetes") {
        const s = await kubernetesStatus(o, { kubeconfig: values.kubeconfig, localPortsFrom: values["local-ports"] ? Number(values["local-ports"]) : undefined });
        process.stdout.write(values.json ? `${JSON.stringify(s)}\n` : `${formatStatus(s)}\n`);
        return s.exitCode;
    }
    const containers = o.dockerContainers as { tile38: string[] } | undefined;
    const backupsOn = o.backupBucket !== undefined;
    // The agents' metrics when the stack serves them (any engine, local or remote), else their files through docker exec.
    const agentMetrics = ((o.metricsTargets as { backup?: string[] } | undefined)?.backup ?? []).map((a) => ({ host: a.slice(0, a.lastIndexOf(":")), port: Number(a.slice(a.lastIndexOf(":") + 1)) }));
    const s = await clusterStatus({
        masterName: String(o.masterName),
        sentinels: o.sentinelEndpoints as { host: string; port: number }[],
        nodes: o.tile38Endpoints as { host: string; port: number }[],
        tile38Password: String(o.tile38Password),
        sentinelPassword: String(o.sentinelPassword),
        backups: !backupsOn ? undefined : agentMetrics.length > 0 ? () => backupRecordsFromMetrics(agentMetrics) : containers ? () => dockerBackupRecords(containers.tile38) : undefined,
    });
    process.stdout.write(values.json ? `${JSON.stringify(s)}\n` : `${formatStatus(s)}\n`);
    return s.exitCode;
}

