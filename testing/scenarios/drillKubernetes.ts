/**
 * The failover drill of the `kubernetes` target, on a real single-node cluster (a kubelet runs
 * the pods; testing/fixtures/kube/kubeCluster.ts): the stack deployed with a real `pulumi up`
 * (testing/fixtures/kube/kubeStack.ts), a sentinel-aware client (ioredis in a client pod) writing a
 * point every 10 ms.
 *
 * Scenario: `runs` times in a row, as soon as the cluster is healthy, the leader's pod is LOST:
 * the node is cordoned, every process of the pod SIGKILLed at once (no preStop, no SIGTERM) and
 * the pod force-deleted, so CoreDNS stops resolving its name; after `goneMs` (default down-after
 * + 2 s) the node is uncordoned and the StatefulSet's replacement starts with a new IP on the same
 * volume. Then one planned hand-over: `kubectl delete pod` of the leader (its preStop hook, then
 * SIGTERM).
 *
 * Figures (the Docker drill's JSON shape plus the Kubernetes fields):
 * failover_ms = kill -> the acknowledgement of the first write sent after the kill that the new leader holds;
 * converge_ms = kill -> every sentinel names the same live leader and every running follower
 * follows it; writes lost = acknowledged writes the final leader does not hold; every node's data
 * is compared with the leader's by content at the end.
 *
 * `npm run drill -- --target kubernetes [--kills N] [--json]` (root; the binaries of
 * scripts/build-kube.sh, containerd, the Pulumi toolchain with the kubernetes plugin,
 * tile38-server, versitygw).
 */
import * as fs from "fs";
import * as path from "path";
import { sleep, waitFor } from "../probe/wait";
import { lostAroundKills } from "../probe/writer";
import { KubeStack, kubeStackSkipReason, KubeTarget } from "../fixtures/kube/kubeStack";
import { AckLog, convergedOnNewLeader, deletePod, firstHeldAck } from "../fixtures/kube/kubeScenarios";
import { DrillResult, longestPause, median, writesResumedAfter } from "./drillReport";

/** Options of {@link drillKubernetes}. */
export interface KubernetesDrillOptions {
    /** Unplanned leader losses in a row. @default 5 */
    runs?: number;
    /** How long a lost leader's pod (and name) stays gone. @default down-after + 2000 ms */
    goneMs?: number;
    /** Progress lines (stderr). @default none */
    log?: (line: string) => void;
    /** Where a failed run leaves every pod's log (`kubectl logs`, current and previous). @default none */
    failureLogDir?: string;
}

/** Every Tile38 and sentinel pod's log (and its previous container's) into `dir`. */
function saveLogs(s: KubeTarget, dir: string, label: string): void {
    fs.mkdirSync(dir, { recursive: true });
    for (const p of [...s.probe.nodes, ...s.probe.sentinels]) {
        fs.writeFileSync(path.join(dir, `${label}-${p.name}.log`), s.probe.logs(p.name));
        fs.writeFileSync(path.join(dir, `${label}-${p.name}.previous.log`), s.probe.logs(p.name, true));
    }
}

/** The drill's figures; the Docker drill's shape plus the Kubernetes-only fields. */
export interface KubernetesDrillResult extends DrillResult {
    /** Pods that came back with a new address. */
    ip_changes: number;
    /** IP literals in the rendered sentinel templates and every rewritten sentinel/Tile38 config (must be 0). */
    ip_literals_in_configs: number;
    /** down-after-milliseconds of the stack, and how long each lost pod stayed gone. */
    down_after_ms: number;
    nxdomain_ms: number;
    /** Runs in which CoreDNS answered NXDOMAIN for the lost leader's name right after the loss. */
    nxdomain_confirmed: number;
    /** The planned hand-over's longest pause between two acknowledged writes. */
    planned_longest_pause_ms: number;
    /** Nodes whose points differ from the leader's at the end (ids and objects). */
    nodes_differing_from_leader: number;
}

/** Any IPv4 literal, or an IPv6 literal of two or more groups (`::` alone, a wildcard, is none). */
const IPV4 = /(?<![\w.])\d{1,3}(?:\.\d{1,3}){3}(?![\w.])/;
const IPV6 = /(?<![\w:.-])(?:[0-9a-f]{1,4}:){1,7}:?[0-9a-f]{1,4}(?![\w:])/i;

/** The lines of `text` that hold an IP literal (a sentinel's `bind * -::*` wildcards are not addresses). */
export function ipLiteralLines(text: string): string[] {
    return text.split("\n").filter((l) => IPV4.test(l) || IPV6.test(l.replace(/^bind .*/, "")));
}

/** The config files on the pods' volumes and the rendered sentinel templates with an IP literal. */
export function ipLiteralsInConfigs(s: KubeTarget): { file: string; lines: string[] }[] {
    const files: string[] = [];
    const volumes = path.join(s.workDir, "volumes");
    for (const v of fs.existsSync(volumes) ? fs.readdirSync(volumes) : []) {
        for (const f of ["config", "sentinel.conf"]) if (fs.existsSync(path.join(volumes, v, f))) files.push(path.join(volumes, v, f));
    }
    const cm = JSON.parse(s.cluster.kubectl(["get", "configmap", "-n", s.probe.namespace, s.probe.configMapName, "-o", "json"])) as { data: Record<string, string> };
    const rendered = Object.entries(cm.data)
        .filter(([k]) => k.endsWith(".conf"))
        .map(([k, text]) => ({ file: `ConfigMap:${k}`, lines: ipLiteralLines(text) }));
    return [...rendered, ...files.map((file) => ({ file, lines: ipLiteralLines(fs.readFileSync(file, "utf8")) }))].filter((f) => f.lines.length > 0);
}

/** Runs the drill on a deployed stack whose client pod has no writer running. */
export async function drillDeployedKubernetes(s: KubeTarget, opts: KubernetesDrillOptions = {}): Promise<KubernetesDrillResult> {
    const say = opts.log ?? (() => undefined);
    const runs = opts.runs ?? 5;
    const c = s.probe;
    await c.refresh();
    const downAfter = Number((await c.sentinelMaster(0))["down-after-milliseconds"]);
    const goneMs = opts.goneMs ?? downAfter + 2000;
    const log = new AckLog(s, "drill");
    await log.start();
    const failover: number[] = [];
    const converge: number[] = [];
    let failed = 0;
    let ipChanges = 0;
    let nxdomain = 0;
    const kills: number[] = [];
    for (let run = 1; run <= runs; run++) {
        const leader = await c.waitSettled(240_000);
        const pod = c.nodes[leader];
        const before = c.state(pod.name)!;
        const { killedAt, back } = await c.losePod(pod.name);
        kills.push(killedAt);
        const uncordon = sleep(Math.max(0, killedAt + goneMs - Date.now())).then(back);
        try {
            const gone = await waitFor(async () => ((await s.cluster.resolve(pod.fqdn, 1000)).length === 0 ? true : undefined), { timeoutMs: 5000, what: `CoreDNS to stop resolving ${pod.fqdn}`, intervalMs: 100 }).catch(() => false);
            if (gone) nxdomain++;
            const next = await convergedOnNewLeader(s, leader, 120_000);
            converge.push(Date.now() - killedAt);
            const ack = await firstHeldAck(s, log, next, killedAt, 60_000);
            failover.push(ack.ackAt - killedAt);
            say(`run ${run}: ${pod.name} lost (gone ${goneMs} ms, NXDOMAIN ${gone ? "yes" : "NO"}); ${c.nodes[next].name} leads; failover ${ack.ackAt - killedAt} ms, converged ${converge[converge.length - 1]} ms`);
        } catch (e) {
            failed++;
            say(`run ${run}: FAILED: ${(e as Error).message}`);
            if (opts.failureLogDir) saveLogs(s, opts.failureLogDir, `run${run}`);
        }
        await uncordon;
        const after = await c.waitReplaced(pod.name, before.uid, 180_000).catch(() => undefined);
        if (after && after.ip !== before.ip) ipChanges++;
    }
    let leader = await c.waitSettled(240_000);
    await sleep(1000);
    const unplannedAcks = [...(await log.pull())];
    const unplannedIds = await c.idsOn(leader);
    const unplannedLost = lostAroundKills(unplannedAcks, unplannedIds, kills);
    if (unplannedLost.inWindow.length > 0) say(`acknowledged at a kill and gone with the leader: ${unplannedLost.inWindow.map((a) => a.id).join(", ")}`);

    const pod = c.nodes[leader];
    say(`planned hand-over: kubectl delete pod ${pod.name}`);
    const before = c.state(pod.name)!;
    const tp = deletePod(s, pod.name);
    const next = await convergedOnNewLeader(s, leader, 120_000);
    await firstHeldAck(s, log, next, tp, 60_000);
    await c.waitReplaced(pod.name, before.uid, 180_000);
    leader = await c.waitHealthy(240_000);
    const acks = await log.stop();
    const ids = await c.idsOn(leader);
    const plannedAcks = acks.slice(unplannedAcks.length);
    const identical = await c.waitIdenticalData(120_000);
    const literals = ipLiteralsInConfigs(s).reduce((n, f) => n + f.lines.length, 0);
    return {
        unplanned: {
            runs,
            failed_runs: failed,
            failover_ms: { min: Math.min(...failover), median: median(failover), max: Math.max(...failover) },
            converge_ms: { median: median(converge), max: Math.max(...converge) },
            writes_acknowledged: unplannedAcks.length,
            writes_lost: unplannedLost.lost.length,
            writes_lost_at_kill: unplannedLost.inWindow.length,
        },
        planned: { failover_ms: writesResumedAfter(plannedAcks, tp), pause_ms: longestPause(plannedAcks, tp, Date.now()), writes_acknowledged: plannedAcks.length, writes_lost: plannedAcks.filter((a) => !ids.has(a.id)).length },
        ip_changes: ipChanges,
        ip_literals_in_configs: literals,
        down_after_ms: downAfter,
        nxdomain_ms: goneMs,
        nxdomain_confirmed: nxdomain,
        planned_longest_pause_ms: longestPause(plannedAcks, tp, plannedAcks.length > 0 ? plannedAcks[plannedAcks.length - 1].ackAt : tp),
        nodes_differing_from_leader: identical.identical ? 0 : identical.differences.length,
    };
}

/** Deploys the stack on a fresh cluster, runs the drill, and removes everything. */
export async function drillKubernetes(opts: KubernetesDrillOptions = {}): Promise<KubernetesDrillResult> {
    const reason = kubeStackSkipReason();
    if (reason) throw new Error(`the Kubernetes drill cannot run here: ${reason}`);
    const say = opts.log ?? (() => undefined);
    say("starting a single-node cluster and deploying the k8s stack with pulumi up");
    const s = await KubeStack.start("drill", say);
    try {
        await s.probe.waitHealthy(240_000);
        return await drillDeployedKubernetes(s, opts);
    } finally {
        say("removing the stack and stopping the cluster");
        await s.destroy();
    }
}
