/**
 * Partitions (issue 19) with REAL network cuts: the k8s stack's rendered objects in the pod
 * simulator (every pod in a network namespace of its own, real tile38-server and Redis Sentinel),
 * cut with iptables DROP rules inside a pod's namespace (testing/fixtures/podsim/partition.ts). The scenarios and
 * their figures are the drill's (`npm run drill -- --partitions`, testing/scenarios/drillPartitions.ts):
 * a client pod on the old leader's side writes through the sentinels and directly to every node,
 * one write every 10 ms each. Asserted, per scenario: the isolated leader acknowledges no write
 * later than down-after + 1 s after the cut, never two nodes acknowledge writes at the same
 * moment, one leader at the end, and every node holds exactly the leader's points (ids and
 * objects); where no failover is due, none happens, nothing is fenced and nothing is lost.
 */
import { describeUnless, tile38SkipReason } from "../../testing/fixtures/loopback/cluster";
import { K8sCluster } from "../../testing/fixtures/podsim/k8sCluster";
import { netnsSkipReason } from "../../testing/fixtures/podsim/netns";
import { partitionSkipReason } from "../../testing/fixtures/podsim/partition";
import { withLogs } from "../../testing/fixtures/loopback/processes";
import { describePartitionResults, PartitionResult, PartitionScenario, runPartitionScenario } from "../../testing/scenarios/drillPartitions";

const SCENARIO_MS = 6 * 60_000;

describeUnless(netnsSkipReason() ?? partitionSkipReason() ?? tile38SkipReason(), "partitions: real network cuts between pods (pod simulator)", () => {
    let c: K8sCluster | undefined;
    const results: PartitionResult[] = [];
    const logs = () => c?.sim.h;

    beforeAll(async () => {
        c = await K8sCluster.start("cut", { healthyTimeoutMs: 180_000 });
    }, 300_000);

    afterAll(async () => {
        if (results.length) process.stdout.write(`partition figures:\n${describePartitionResults(results)}`);
        await c?.destroy();
    }, 120_000);

    async function run(s: PartitionScenario): Promise<PartitionResult> {
        const r = await runPartitionScenario(c!, s);
        results.push(r);
        expect(r.differences).toEqual([]);
        expect(r.data_identical).toBe(true);
        expect(r.leaders_at_end).toBe(1);
        expect(r.concurrent_leaders_ms).toBe(0);
        return r;
    }

    test(
        "a. the leader cut off from the sentinels and its followers: a new leader, the old one fenced and then following",
        withLogs(logs, async () => {
            const r = await run("isolated");
            expect(r.failover).toBe(true);
            expect(r.acknowledged_after_bound).toBe(0);
            expect(r.cut_to_fence_ms).not.toBeNull();
        }),
        SCENARIO_MS,
    );

    test(
        "b. the leader cut off from the sentinels only: the same",
        withLogs(logs, async () => {
            const r = await run("from-sentinels");
            expect(r.failover).toBe(true);
            expect(r.acknowledged_after_bound).toBe(0);
            expect(r.cut_to_fence_ms).not.toBeNull();
        }),
        SCENARIO_MS,
    );

    test(
        "c. the leader cut off from its followers only: no failover, no fence, nothing lost, replication resumes",
        withLogs(logs, async () => {
            const r = await run("from-followers");
            expect(r.failover).toBe(false);
            expect(r.fences).toBe(0);
            expect(r.writes_lost).toBe(0);
        }),
        SCENARIO_MS,
    );

    test(
        "d. one sentinel cut off from everyone: nothing changes",
        withLogs(logs, async () => {
            const r = await run("one-sentinel");
            expect(r.failover).toBe(false);
            expect(r.fences).toBe(0);
            expect(r.writes_lost).toBe(0);
        }),
        SCENARIO_MS,
    );

    test(
        "e. a flapping cut of the leader (2 s cut, 2 s healed, 30 s): never two nodes acknowledging, one leader at the end",
        withLogs(logs, async () => {
            await run("flapping");
        }),
        SCENARIO_MS,
    );
});
