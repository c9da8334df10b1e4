/**
 * The `kubernetes` target survives changing pod IPs (issue 12). The k8s stack's REAL rendered
 * objects (ConfigMap scripts and sentinel templates, Secret, StatefulSet commands/env/preStop; the
 * program under Pulumi mocks, as `npm run synth -- k8s`) run in the pod simulator: every pod in a
 * network namespace of its own, a new address at every start, its stable name served by dnsmasq,
 * and a deleted pod's name NXDOMAIN until it returns. Real tile38-server and Redis Sentinel 7.0.15.
 * One cluster goes through the scenarios in order. No timed assertions: every wait is bounded
 * and generous; figures come from `npm run drill -- --target kubernetes`.
 */
import * as fs from "fs";
import * as net from "net";
import { describeUnless, tile38SkipReason } from "./harness/cluster";
import { K8sCluster } from "./harness/k8sCluster";
import { netnsSkipReason } from "./harness/netns";
import { nodeStatusCommands, parseNodeStatus } from "./harness/nodeStatus";
import { SimPod } from "./harness/podSim";
import { withLogs } from "./harness/processes";
import { sleep, waitFor } from "./harness/wait";
import { Ack, lostWrites } from "./harness/writer";

const HEALTHY_MS = 180_000;

function describeInSimulator(name: string, fn: () => void): void {
    describeUnless(netnsSkipReason() ?? tile38SkipReason(), name, fn);
}

describeInSimulator("kubernetes target with changing pod IPs (pod simulator, real DNS)", () => {
    let c: K8sCluster | undefined;
    const cl = () => c!;
    const logs = () => c?.sim.h;

    beforeAll(async () => {
        c = await K8sCluster.start("ips", { healthyTimeoutMs: HEALTHY_MS });
    }, 300_000);

    afterAll(async () => {
        await c?.destroy();
    }, 120_000);

    const epoch = async (s: SimPod) => Number((await cl().sentinelMaster(s))["config-epoch"]);
    const maxEpoch = async () => Math.max(...(await Promise.all(cl().sentinels.filter((s) => cl().sim.running(s)).map(epoch))));

    /** Stops the client pod's writer and checks every acknowledged write on the leader. */
    async function stopWriterAndCheck(): Promise<{ acks: Ack[]; lost: Ack[] }> {
        const { acks } = await cl().client.stopWriter();
        const leader = await cl().waitHealthy(HEALTHY_MS);
        // The followers replicate asynchronously; the leader is the reference.
        const ids = await cl().idsOn(leader);
        return { acks, lost: lostWrites(acks, ids) };
    }

    test(
        "a. bootstrap with hostnames only: sentinels monitor, announce and know each other by name",
        withLogs(logs, async () => {
            const k = cl();
            const fqdns = new Set(k.sentinels.map((s) => `${s.fqdn}:${k.sentinelPort}`));
            for (const s of k.sentinels) {
                const m = await k.sentinelMaster(s);
                expect(m.ip).toBe(k.nodes[0].fqdn);
                expect(m["num-other-sentinels"]).toBe("2");
                const peers = await k.sentinelList(s, "SENTINELS");
                expect(new Set(peers.map((p) => `${p.ip}:${p.port}`))).toEqual(new Set([...fqdns].filter((f) => f !== `${s.fqdn}:${k.sentinelPort}`)));
                const replicas = await k.sentinelList(s, "REPLICAS");
                expect(new Set(replicas.map((r) => r.ip))).toEqual(new Set([k.nodes[1].fqdn, k.nodes[2].fqdn]));
                expect(await k.sentinelCall(s, ["SENTINEL", "CONFIG", "GET", "announce-ip"])).toEqual(["announce-ip", s.fqdn]);
            }
            expect(k.ipLiteralsInConfigs()).toEqual([]);
        }),
        HEALTHY_MS,
    );

    test(
        "b. rolling update, every pod one by one with a new IP: no failover for followers, a planned hand-over for the leader, no write lost, no IP in any config",
        withLogs(logs, async () => {
            const k = cl();
            await k.client.startWriter(k.writerOptions(10), "roll");
            const ipsBefore = k.sim.pods.map((p) => p.ips.length);
            // Kubernetes rolls a StatefulSet from the highest ordinal down, one pod at a time, each
            // once the previous one is ready; the sentinel StatefulSet rolls independently: after.
            for (const p of [...k.nodes].reverse()) {
                const leaderBefore = await k.waitHealthy(HEALTHY_MS);
                const epochBefore = await maxEpoch();
                const { preStopLog } = await k.sim.restartPod(p.name, { mode: "graceful" });
                const leaderAfter = await k.waitHealthy(HEALTHY_MS);
                if (p === leaderBefore) {
                    expect(preStopLog).toMatch(/leadership moved to/);
                    expect(leaderAfter).not.toBe(p);
                    expect(await maxEpoch()).toBeGreaterThan(epochBefore);
                } else {
                    expect(preStopLog).toMatch(/not the leader/);
                    expect(leaderAfter).toBe(leaderBefore);
                    expect(await maxEpoch()).toBe(epochBefore);
                }
            }
            for (const s of [...k.sentinels].reverse()) {
                await k.waitHealthy(HEALTHY_MS);
                await k.sim.restartPod(s.name, { mode: "graceful" });
            }
            const { acks, lost } = await stopWriterAndCheck();
            expect(acks.length).toBeGreaterThan(100);
            expect(lost).toEqual([]);
            k.sim.pods.forEach((p, i) => expect(p.ips.length).toBe(ipsBefore[i] + 1));
            expect(k.ipLiteralsInConfigs()).toEqual([]);
        }),
        900_000,
    );

    test(
        "c. leader pod lost, its name NXDOMAIN for longer than down-after-milliseconds: failover inside the window (redis #12753), the pod returns with a new IP as a follower",
        withLogs(logs, async () => {
            const k = cl();
            const old = await k.waitHealthy(HEALTHY_MS);
            const downAfter = Number((await k.sentinelMaster(k.sentinels[0]))["down-after-milliseconds"]);
            const oldEndpoint = k.endpoint(old);
            const deletedAt = Date.now();
            await k.sim.deletePod(old.name, { mode: "lost" });
            expect(k.sim.dns.lookup(old.fqdn)).toBeUndefined();
            // The failover must happen while the name does not resolve: the pod is started only after.
            const leader = await waitFor(
                async () => {
                    const l = await k.agreedLeader();
                    return l !== oldEndpoint ? l : undefined;
                },
                { timeoutMs: 120_000, what: "the sentinels to fail over while the old leader's name is NXDOMAIN", intervalMs: 200 },
            );
            expect(k.sim.dns.lookup(old.fqdn)).toBeUndefined();
            await sleep(Math.max(0, deletedAt + downAfter + 1000 - Date.now()));
            const ipBefore = old.ips[old.ips.length - 1];
            await k.sim.startPod(old.name);
            expect(old.ips[old.ips.length - 1]).not.toBe(ipBefore);
            const after = await k.waitHealthy(HEALTHY_MS);
            expect(k.endpoint(after)).toBe(leader);
            const st = await k.nodeStatus(old);
            expect(st?.role).toBe("slave");
            expect(st?.following).toBe(leader);
            expect(k.ipLiteralsInConfigs()).toEqual([]);
        }),
        HEALTHY_MS * 2,
    );

    test(
        "d. a sentinel pod restarted with a new IP: its peers accept it under the same name, never a fourth sentinel",
        withLogs(logs, async () => {
            const k = cl();
            await k.waitHealthy(HEALTHY_MS);
            const s = k.sentinels[1];
            const idsBefore = await Promise.all(k.sentinels.map(async (x) => new Set((await k.sentinelList(x, "SENTINELS")).map((p) => `${p.name}@${p.ip}`))));
            let maxOthers = 0;
            let sampling = true;
            const sampler = (async () => {
                while (sampling) {
                    for (const x of k.sentinels) {
                        if (!k.sim.running(x)) continue;
                        try {
                            maxOthers = Math.max(maxOthers, Number((await k.sentinelMaster(x))["num-other-sentinels"]));
                        } catch {
                            /* restarting */
                        }
                    }
                    await sleep(200);
                }
            })();
            const ipBefore = s.ips[s.ips.length - 1];
            await k.sim.restartPod(s.name, { mode: "graceful", goneMs: 2000 });
            expect(s.ips[s.ips.length - 1]).not.toBe(ipBefore);
            await k.waitHealthy(HEALTHY_MS);
            // Hellos arrive every 2 s: give a ghost time to appear before looking.
            await sleep(5000);
            sampling = false;
            await sampler;
            expect(maxOthers).toBe(2);
            const idsAfter = await Promise.all(k.sentinels.map(async (x) => new Set((await k.sentinelList(x, "SENTINELS")).map((p) => `${p.name}@${p.ip}`))));
            expect(idsAfter).toEqual(idsBefore);
            expect(k.ipLiteralsInConfigs()).toEqual([]);
        }),
        HEALTHY_MS * 2,
    );

    test(
        "e. every pod restarted at once with new IPs: one leader, no acknowledged write lost",
        withLogs(logs, async () => {
            const k = cl();
            await k.waitHealthy(HEALTHY_MS);
            await k.client.startWriter(k.writerOptions(10), "all");
            await sleep(2000);
            await Promise.all(k.sim.pods.map((p) => k.sim.deletePod(p.name, { mode: "graceful" })));
            await Promise.all(k.sim.pods.map((p) => k.sim.startPod(p.name)));
            const leader = await k.waitHealthy(HEALTHY_MS);
            const roles = await Promise.all(k.nodes.map((n) => k.nodeStatus(n)));
            expect(roles.filter((r) => r?.role === "master")).toHaveLength(1);
            expect((await k.nodeStatus(leader))?.role).toBe("master");
            const { acks, lost } = await stopWriterAndCheck();
            expect(acks.length).toBeGreaterThan(50);
            expect(lost).toEqual([]);
            expect(k.ipLiteralsInConfigs()).toEqual([]);
        }),
        HEALTHY_MS * 3,
    );

    /** IP-literal replica addresses any running sentinel knows. */
    async function replicasKnownByIp(): Promise<string[]> {
        const k = cl();
        const lists = await Promise.all(k.sentinels.filter((x) => k.sim.running(x)).map((x) => k.sentinelList(x, "REPLICAS")));
        return lists.flat().map((r) => r.ip).filter((ip) => net.isIP(ip) !== 0);
    }

    test(
        "f. a replica a sentinel learned by its pod IP (a follower between REPLCONF listening-port and ip-address) is forgotten",
        withLogs(logs, async () => {
            const k = cl();
            const leader = await k.waitHealthy(HEALTHY_MS);
            // What every follower does for an instant, held long enough for the sentinels' INFO of
            // the leader (every 10 s) to list this connection (the client pod) by its IP.
            const held = k.client.pipeline(leader.fqdn, k.tile38Port, [["AUTH", k.passwords.tile38], ["REPLCONF", "listening-port", k.tile38Port]], 3000, 15_000);
            const seen = await waitFor(async () => (await replicasKnownByIp())[0], { timeoutMs: 30_000, what: "a sentinel to list the client pod as a replica by its IP", intervalMs: 200 });
            expect(net.isIP(seen)).toBe(4);
            await held;
            await waitFor(async () => (await replicasKnownByIp()).length === 0, { timeoutMs: 120_000, what: "every sentinel to forget the replica known by IP", intervalMs: 500 });
            expect(await k.waitHealthy(HEALTHY_MS)).toBe(leader);
            await waitFor(() => k.ipLiteralsInConfigs().length === 0, { timeoutMs: 30_000, what: "the rewritten sentinel configs to hold no IP" });
        }),
        HEALTHY_MS * 2,
    );

    test(
        "g. sentinels naming the leader by its pod IP (a replica promoted under its IP): the leader hands over to a follower known by name, no write lost",
        withLogs(logs, async () => {
            const k = cl();
            const old = await k.waitHealthy(HEALTHY_MS);
            const m = await k.sentinelMaster(k.sentinels[0]);
            const ip = old.ips[old.ips.length - 1];
            await k.client.startWriter(k.writerOptions(10), "byip");
            await sleep(1000);
            // Every sentinel forgets the leader first and then monitors its IP, all at config epoch 0
            // (one re-monitoring alone would adopt its peers' higher-epoch hellos again).
            for (const s of k.sentinels) expect(await k.sentinelCall(s, ["SENTINEL", "REMOVE", k.masterName])).toBe("OK");
            for (const s of k.sentinels) {
                expect(await k.sentinelCall(s, ["SENTINEL", "MONITOR", k.masterName, ip, k.tile38Port, m.quorum])).toBe("OK");
                const set = ["down-after-milliseconds", "failover-timeout", "parallel-syncs"].flatMap((f) => [f, m[f]]);
                expect(await k.sentinelCall(s, ["SENTINEL", "SET", k.masterName, ...set, "auth-pass", k.passwords.tile38])).toBe("OK");
            }
            expect(await k.sentinelLeaders()).toEqual(k.sentinels.map(() => `${ip}:${k.tile38Port}`));
            const leader = await waitFor(
                async () => {
                    const n = k.nodeAt(await k.agreedLeader());
                    return n !== old ? n : undefined;
                },
                { timeoutMs: 120_000, what: "the sentinels to name a leader by name other than the old one", intervalMs: 200 },
            );
            expect(await k.waitHealthy(HEALTHY_MS)).toBe(leader);
            const st = await k.nodeStatus(old);
            expect(st?.role).toBe("slave");
            expect(st?.following).toBe(k.endpoint(leader));
            const { acks, lost } = await stopWriterAndCheck();
            expect(acks.length).toBeGreaterThan(50);
            expect(lost).toEqual([]);
            await waitFor(async () => (await replicasKnownByIp()).length === 0, { timeoutMs: 120_000, what: "every sentinel to forget the old leader's IP", intervalMs: 500 });
            await waitFor(() => k.ipLiteralsInConfigs().length === 0, { timeoutMs: 30_000, what: "every config to hold no IP" });
        }),
        HEALTHY_MS * 2,
    );

    /** tile38-server processes per data directory (this machine's view: every incarnation). */
    function serversPerVolume(): Map<string, number> {
        const counts = new Map<string, number>();
        for (const pid of fs.readdirSync("/proc").filter((d) => /^\d+$/.test(d))) {
            let argv: string[];
            try {
                argv = fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");
            } catch {
                continue;
            }
            if (!argv[0]?.endsWith("tile38-server")) continue;
            const dir = argv[argv.indexOf("-d") + 1];
            counts.set(dir, (counts.get(dir) ?? 0) + 1);
        }
        return counts;
    }

    test(
        "h. the leader pod force-deleted (--grace-period=0 --force), twice: never two servers on one volume, never two writable leaders, nothing lost, every node the same data",
        withLogs(logs, async () => {
            const k = cl();
            await k.waitHealthy(HEALTHY_MS);
            await k.client.startWriter(k.writerOptions(10), "force");
            let maxServers = 0;
            let maxWritable = 0;
            const extra: { ip: string }[] = []; // old incarnations, reachable only by their old IP
            let sampling = true;
            const sampler = (async () => {
                while (sampling) {
                    maxServers = Math.max(maxServers, ...serversPerVolume().values());
                    const targets = [...k.nodes.filter((n) => k.sim.running(n)).map((n) => n.fqdn), ...extra.map((e) => e.ip)];
                    const writable = await Promise.all(
                        targets.map(async (host) => {
                            try {
                                const st = parseNodeStatus(await k.client.pipeline(host, k.tile38Port, nodeStatusCommands(k.passwords.tile38), 1000));
                                return st?.role === "master" && !st.readOnly;
                            } catch {
                                return false;
                            }
                        }),
                    );
                    maxWritable = Math.max(maxWritable, writable.filter(Boolean).length);
                    await sleep(100);
                }
            })();
            try {
                for (let run = 0; run < 2; run++) {
                    const leader = await k.waitHealthy(HEALTHY_MS);
                    extra.push({ ip: leader.ips[leader.ips.length - 1] });
                    const { gone } = await k.sim.forceDeletePod(leader.name, 5000);
                    await gone;
                    extra.pop();
                    await k.waitHealthy(HEALTHY_MS);
                }
            } finally {
                sampling = false;
                await sampler;
            }
            expect(maxServers).toBe(1);
            expect(maxWritable).toBe(1);
            const { acks, lost } = await stopWriterAndCheck();
            expect(acks.length).toBeGreaterThan(50);
            expect(lost).toEqual([]);
            const same = await k.waitIdenticalData(HEALTHY_MS);
            expect(same.differences).toEqual([]);
        }),
        HEALTHY_MS * 3,
    );
});
