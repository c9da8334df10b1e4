/**
 * The alert rules tile38-ha ships (Prometheus rule groups). This file is their one source:
 * `npm run docs:monitoring` writes monitoring/tile38-ha.rules.yml from it, the Kubernetes
 * PrometheusRule embeds it, and promtool's unit tests (monitoring/tile38-ha.rules.test.yml) run
 * against the written file.
 */

/** One alerting rule (Prometheus `rules:` entry). */
export interface AlertRule {
    /** Alert name, `Tile38Ha…`. */
    alert: string;
    /** PromQL expression; every series it returns is one alert. */
    expr: string;
    /** How long the expression must hold before the alert fires (Prometheus duration). */
    for?: string;
    /** Labels added to the alert (`severity`: `critical` or `warning`). */
    labels: Record<string, string>;
    /** `summary` and `description` (Go templates over the alert's labels and value). */
    annotations: Record<string, string>;
}

/** One rule group (Prometheus `groups:` entry). */
export interface RuleGroup {
    /** Group name (unique in a Prometheus). */
    name: string;
    /** The group's alerts, evaluated in order at the evaluation interval. */
    rules: AlertRule[];
}

/** The label every target carries: one Prometheus can watch several clusters. */
const CLUSTER = "tile38_ha_cluster";
/** Per cluster and master name: how the sentinels' series are aggregated. */
const BY_MASTER = `by (${CLUSTER}, master_name)`;
const lines = (...parts: string[]) => parts.join("\n");

/**
 * The sentinels and the nodes agree on one writable leader. Cluster-wide rules aggregate
 * `by (tile38_ha_cluster)`, so a cluster is judged from all its targets and a target without the
 * label still belongs to one (the empty) cluster.
 */
const leadership: AlertRule[] = [
    {
        alert: "Tile38HaNoWritableLeader",
        // No series at all must fire too (every exporter down, the leader's target down): the
        // cluster's targets (`up`) are the universe, minus the clusters that have a leader.
        expr: lines(
            `label_replace(`,
            `  group by (${CLUSTER}) (up{tile38_ha_component="sentinel"})`,
            `  unless on (${CLUSTER}) (redis_sentinel_master_status == 1),`,
            `  "seen_by", "sentinels", "", "")`,
            `or`,
            `label_replace(`,
            `  group by (${CLUSTER}) (up{tile38_ha_component="tile38"})`,
            `  unless on (${CLUSTER}) (tile38_replication_info{role="leader"} == 1),`,
            `  "seen_by", "tile38", "", "")`,
        ),
        // An unplanned failover leaves no leader for ~4-5 s (down-after 3 s + promotion).
        for: "15s",
        labels: { severity: "critical" },
        annotations: {
            summary: "Tile38 cluster {{ $labels.tile38_ha_cluster }} has no writable leader",
            description:
                "Seen by the {{ $labels.seen_by }}: no sentinel reports the leader ok (sentinels), or no Tile38 node reports role leader (tile38), for 15 s. Writes fail until a leader is back; a failover normally ends within 5 s.",
        },
    },
    {
        alert: "Tile38HaTwoLeaders",
        expr: `count by (${CLUSTER}) (tile38_replication_info{role="leader"} == 1) > 1`,
        // A hand-over or a replaced leader's step-down leaves two for a second or three.
        for: "15s",
        labels: { severity: "critical" },
        annotations: {
            summary: "Tile38 cluster {{ $labels.tile38_ha_cluster }} has {{ $value }} leaders",
            description:
                "{{ $value }} Tile38 nodes report role leader for 15 s: writes may go to a leader the sentinels do not name and be lost when it resyncs. Check which node the sentinels name (npm run status).",
        },
    },
    {
        alert: "Tile38HaSentinelsDisagree",
        expr: lines(
            `count ${BY_MASTER} (`,
            `  group by (${CLUSTER}, master_name, master_address) (redis_sentinel_master_status)`,
            `) > 1`,
        ),
        // Sentinels converge within ~15 s of a failover; the watchdog fixes a stuck one in seconds.
        for: "30s",
        labels: { severity: "critical" },
        annotations: {
            summary: "Sentinels of {{ $labels.tile38_ha_cluster }} name {{ $value }} different leaders for {{ $labels.master_name }}",
            description:
                "The sentinels name {{ $value }} different leader addresses for {{ $labels.master_name }} for 30 s: clients asking different sentinels write to different nodes.",
        },
    },
    {
        alert: "Tile38HaFailover",
        // INFO's master address is the sentinel's current leader: two addresses of one master
        // name within the window is a failover (redis_exporter v1.74 exports no config epoch).
        expr: lines(
            `count ${BY_MASTER} (`,
            `  group by (${CLUSTER}, master_name, master_address) (max_over_time(redis_sentinel_master_status[10m]))`,
            `) > 1`,
        ),
        labels: { severity: "warning" },
        annotations: {
            summary: "Tile38 cluster {{ $labels.tile38_ha_cluster }} failed over",
            description:
                "The sentinels named {{ $value }} different leaders for {{ $labels.master_name }} in the last 10 minutes (a failover or a hand-over). Stays active for 10 minutes; more than one in a row is a cascade (docs/operations.md).",
        },
    },
];

/** Each Tile38 node: up, caught up, writable. Per-node alerts keep the target's labels. */
const nodes: AlertRule[] = [
    {
        alert: "Tile38HaTile38Down",
        expr: `up{tile38_ha_component="tile38"} == 0 or tile38_ha_node_up == 0`,
        // A rolling restart of one node takes a few seconds.
        for: "20s",
        labels: { severity: "warning" },
        annotations: {
            summary: "Tile38 node {{ $labels.instance }}{{ with $labels.node }} ({{ . }}){{ end }} of {{ $labels.tile38_ha_cluster }} is down",
            description:
                "For 20 s, {{ if $labels.node }}the node's backup agent got no answer from {{ $labels.node }}{{ else }}Prometheus could not scrape Tile38 at {{ $labels.instance }}{{ end }}. The cluster runs on with the other nodes; a dead leader is replaced by the sentinels.",
        },
    },
    {
        alert: "Tile38HaFollowerNotCaughtUp",
        expr: `tile38_replication_info{role="follower", caught_up="false"} == 1`,
        // Every follower reports false while its leader is gone, until the failover re-points it.
        for: "2m",
        labels: { severity: "warning" },
        annotations: {
            summary: "Tile38 follower {{ $labels.instance }} of {{ $labels.tile38_ha_cluster }} is not caught up",
            description:
                "{{ $labels.instance }} follows {{ $labels.following }} and has not caught up for 2 minutes (caught up once: {{ $labels.caught_up_once }}). It cannot be promoted while it lags; compare the AOF sizes on the dashboard.",
        },
    },
    {
        alert: "Tile38HaNodeReadOnly",
        expr: `tile38_ha_node_read_only == 1`,
        // A hand-over holds a leader read-only for ~1-2 s; a new leader is read-only for ~1 s.
        for: "30s",
        labels: { severity: "critical" },
        annotations: {
            summary: "Tile38 node {{ $labels.node }} of {{ $labels.tile38_ha_cluster }} is read-only",
            description:
                "{{ $labels.node }} has been read-only for 30 s: self-fenced (no majority of the sentinels confirms it as leader) or a hand-over that did not finish. While it leads, writes are refused (docs/operations.md, fencing).",
        },
    },
];

/** Each sentinel, through its redis_exporter. */
const sentinels: AlertRule[] = [
    {
        alert: "Tile38HaSentinelDown",
        expr: `up{tile38_ha_component="sentinel"} == 0 or redis_up{tile38_ha_component="sentinel"} == 0`,
        for: "20s",
        labels: { severity: "warning" },
        annotations: {
            summary: "Sentinel {{ $labels.instance }} of {{ $labels.tile38_ha_cluster }} is down",
            description:
                "For 20 s, Prometheus could not scrape the exporter at {{ $labels.instance }}, or the exporter could not reach its sentinel. With fewer sentinels than the quorum no failover can happen.",
        },
    },
    {
        alert: "Tile38HaSentinelQuorumLost",
        // The best-connected sentinel's count of voters; fires when it is below the quorum or when
        // CKQUORUM fails on every sentinel (no failover could be authorised).
        expr: lines(
            `max ${BY_MASTER} (redis_sentinel_master_ok_sentinels)`,
            `  < on (${CLUSTER}, master_name) max ${BY_MASTER} (redis_sentinel_master_setting_ckquorum)`,
            `or`,
            `max ${BY_MASTER} (redis_sentinel_master_ok_sentinels)`,
            `  unless on (${CLUSTER}, master_name) (max ${BY_MASTER} (redis_sentinel_master_ckquorum_status) == 1)`,
        ),
        for: "30s",
        labels: { severity: "critical" },
        annotations: {
            summary: "Sentinels of {{ $labels.tile38_ha_cluster }} are short of quorum for {{ $labels.master_name }}",
            description:
                "At best {{ $value }} sentinels are reachable to vote on {{ $labels.master_name }}, below the quorum or refused by SENTINEL CKQUORUM on every sentinel, for 30 s: a dead leader would not be replaced.",
        },
    },
    {
        alert: "Tile38HaSentinelTilt",
        expr: `redis_sentinel_tilt > 0`,
        // TILT lasts at least 30 s; a sentinel in TILT takes no action (no failover).
        for: "10s",
        labels: { severity: "warning" },
        annotations: {
            summary: "Sentinel {{ $labels.instance }} of {{ $labels.tile38_ha_cluster }} is in TILT mode",
            description:
                "Sentinel {{ $labels.instance }} entered TILT (its clock jumped or the process stalled) and acts on nothing until it has run normally for 30 s.",
        },
    },
];

/** The backup agents: the newest good backup of each cluster, and each agent's failures. */
const backups: AlertRule[] = [
    {
        alert: "Tile38HaBackupStale",
        // The newest success any agent reported in a day (a dead leader's agent included: its
        // series vanish), older than twice the interval, unless every agent is younger than that
        // (a new or fully restarted cluster has had no chance yet).
        expr: lines(
            `max by (${CLUSTER}) (max_over_time(tile38_ha_backup_last_success_timestamp_seconds[1d]))`,
            `  < on (${CLUSTER}) (time() - 2 * max by (${CLUSTER}) (tile38_ha_backup_interval_seconds))`,
            `unless on (${CLUSTER})`,
            `(time() - min by (${CLUSTER}) (tile38_ha_backup_agent_start_timestamp_seconds)`,
            `  <= on (${CLUSTER}) 2 * max by (${CLUSTER}) (tile38_ha_backup_interval_seconds))`,
        ),
        for: "1m",
        labels: { severity: "critical" },
        annotations: {
            summary: "Tile38 cluster {{ $labels.tile38_ha_cluster }} has no recent backup",
            description:
                "The newest good backup was made at {{ $value | humanizeTimestamp }} (1970 = none yet), more than twice the backup interval ago. A total loss now would lose every write since; see the agents' logs (docs/operations.md, backups).",
        },
    },
    {
        alert: "Tile38HaBackupAgentUnhealthy",
        // The agent's own verdict (it knows whether it uploads and when it started).
        expr: `tile38_ha_backup_healthy == 0`,
        for: "1m",
        labels: { severity: "warning" },
        annotations: {
            summary: "Backup agent of {{ $labels.node }} ({{ $labels.tile38_ha_cluster }}) reports no recent backup",
            description:
                "The backup agent of {{ $labels.node }} uploads and its last good backup is older than twice the interval (or it made none in two intervals since it started).",
        },
    },
    {
        alert: "Tile38HaBackupFailing",
        expr: `tile38_ha_backup_failures_since_success > 0`,
        labels: { severity: "warning" },
        annotations: {
            summary: "Backups of {{ $labels.node }} ({{ $labels.tile38_ha_cluster }}) are failing",
            description: "{{ $value }} backup rounds of {{ $labels.node }} failed since its last good backup; it retries every interval.",
        },
    },
];

/** The shipped rule groups. */
export const TILE38_HA_RULE_GROUPS: RuleGroup[] = [
    { name: "tile38-ha.leadership", rules: leadership },
    { name: "tile38-ha.nodes", rules: nodes },
    { name: "tile38-ha.sentinels", rules: sentinels },
    { name: "tile38-ha.backups", rules: backups },
];
