/**
 * The status command's pure parts: the backup agents' records as one view (stale after twice the
 * interval, the leader's agent first), and the text form's verdict line.
 */
import { BackupRecord, backupView, ClusterStatus, formatStatus } from "../../../components/status/clusterStatus";

const NOW = 1_800_000_000;
const record = (over: Partial<BackupRecord>): BackupRecord => ({
    node: "n1",
    role: "leader",
    last_ok_epoch: NOW - 10,
    last_ok_size: 4096,
    failures_since_ok: 0,
    last_attempt_epoch: NOW - 10,
    started_epoch: NOW - 3600,
    interval: 300,
    ...over,
});

describe("backupView", () => {
    it("reads the leader's agent: age and size of the newest good backup", () => {
        const v = backupView([record({ node: "n2", role: "follower", last_ok_epoch: NOW - 5000 }), record({})], NOW);
        expect(v).toEqual({ node: "n1", lastOkAgeSeconds: 10, lastOkSizeBytes: 4096, failuresSinceOk: 0, intervalSeconds: 300, stale: false });
    });

    it("is stale once the newest good backup is older than twice the interval, with the failures counted", () => {
        const v = backupView([record({ last_ok_epoch: NOW - 601, failures_since_ok: 2 })], NOW);
        expect(v).toMatchObject({ stale: true, lastOkAgeSeconds: 601, failuresSinceOk: 2 });
        expect(backupView([record({ last_ok_epoch: NOW - 600 })], NOW)).toMatchObject({ stale: false });
    });

    it("no good backup yet: stale only once the agents have run for twice the interval", () => {
        expect(backupView([record({ last_ok_epoch: 0, started_epoch: NOW - 100 })], NOW)).toMatchObject({ stale: false, lastOkAgeSeconds: undefined });
        expect(backupView([record({ last_ok_epoch: 0, started_epoch: NOW - 700 })], NOW)).toMatchObject({ stale: true });
    });

    it("no record readable: unknown", () => {
        expect(backupView([], NOW)).toBe("unknown");
    });
});

describe("formatStatus", () => {
    const base: ClusterStatus = {
        at: "2026-12-05T10:00:00.000Z",
        masterName: "mymaster",
        leader: "127.0.0.1:9851",
        sentinelsAgree: true,
        sentinels: [{ sentinel: "127.0.0.1:5000", answers: true, leader: "127.0.0.1:9851", quorumOk: true, configEpoch: 2, flags: "master" }],
        nodes: [
            { node: "127.0.0.1:9851", answers: true, role: "leader", aofSize: 2048, readOnly: false, fenced: false },
            { node: "127.0.0.1:9852", answers: true, role: "follower", following: "127.0.0.1:9851", caughtUp: true, lagBytes: 0, aofSize: 2048, readOnly: false, priority: 100 },
        ],
        backup: "unknown",
        verdict: "healthy",
        exitCode: 0,
        problems: [],
    };

    it("ends with one verdict line", () => {
        const text = formatStatus(base);
        expect(text.split("\n").pop()).toBe("HEALTHY: leader 127.0.0.1:9851, 1 followers caught up, 1 sentinels agree");
        expect(text).toContain("backup: unknown");
    });

    it("names every problem in the verdict line", () => {
        const text = formatStatus({ ...base, verdict: "no writable leader", exitCode: 2, problems: ["the leader 127.0.0.1:9851 is fenced", "sentinel 127.0.0.1:5001 does not answer"] });
        expect(text.split("\n").pop()).toBe("NO WRITABLE LEADER: the leader 127.0.0.1:9851 is fenced; sentinel 127.0.0.1:5001 does not answer");
    });
});
