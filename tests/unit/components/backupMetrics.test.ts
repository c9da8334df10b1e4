import { backupView } from "../../../components/status/clusterStatus";
import { parseAgentMetrics, recordFromMetrics } from "../../../components/status/backupMetrics";

// What backup-agent.sh's write_metrics writes (two agents: the leader's and a follower's).
const LEADER = `# HELP tile38_ha_backup_last_success_timestamp_seconds Unix time of the last good backup round (0: none recorded)
# TYPE tile38_ha_backup_last_success_timestamp_seconds gauge
tile38_ha_backup_last_success_timestamp_seconds{node="geo-tile38-1"} 1000
tile38_ha_backup_last_size_bytes{node="geo-tile38-1"} 4096
tile38_ha_backup_last_attempt_timestamp_seconds{node="geo-tile38-1"} 1000
tile38_ha_backup_failures_since_success{node="geo-tile38-1"} 0
tile38_ha_backup_interval_seconds{node="geo-tile38-1"} 10
tile38_ha_backup_uploader{node="geo-tile38-1"} 1
tile38_ha_backup_agent_start_timestamp_seconds{node="geo-tile38-1"} 900
tile38_ha_node_read_only{node="geo-tile38-1"} 0
`;
const FOLLOWER = LEADER.replace(/geo-tile38-1/g, "geo-tile38-2").replace("uploader{node=\"geo-tile38-2\"} 1", "uploader{node=\"geo-tile38-2\"} 0").replace("} 1000\ntile38_ha_backup_last_size", "} 0\ntile38_ha_backup_last_size");

describe("the backup agents' records from their metrics", () => {
    it("reads every tile38_ha_ sample by node, and nothing else", () => {
        const m = parseAgentMetrics(`${LEADER}go_goroutines 7\nmalformed{node="x" 1\n`);
        expect([...m.keys()]).toEqual(["geo-tile38-1"]);
        expect(m.get("geo-tile38-1")).toMatchObject({ tile38_ha_backup_last_size_bytes: 4096, tile38_ha_node_read_only: 0 });
    });

    it("gives the records status judges: the uploader is the leader, a follower is a follower", () => {
        const records = [...parseAgentMetrics(LEADER + FOLLOWER)].map(([node, v]) => recordFromMetrics(node, v));
        expect(records).toEqual([
            { node: "geo-tile38-1", role: "leader", last_ok_epoch: 1000, last_ok_size: 4096, failures_since_ok: 0, last_attempt_epoch: 1000, started_epoch: 900, interval: 10 },
            { node: "geo-tile38-2", role: "follower", last_ok_epoch: 0, last_ok_size: 4096, failures_since_ok: 0, last_attempt_epoch: 1000, started_epoch: 900, interval: 10 },
        ]);
        expect(backupView(records, 1015)).toMatchObject({ node: "geo-tile38-1", lastOkAgeSeconds: 15, lastOkSizeBytes: 4096, stale: false });
        expect(backupView(records, 1021)).toMatchObject({ stale: true });
    });
});
