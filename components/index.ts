/**
 * tile38-ha's public API: the two cluster components, their typed arguments and what they output.
 *
 *   import { DockerTile38Cluster, KubernetesTile38Cluster } from "tile38-ha";
 *   const geo = new DockerTile38Cluster("geo", { replicas: 3, docker: { advertiseHost: "10.0.0.5" } });
 *   export const sentinels = geo.connection.sentinelAddresses;
 *
 * Renderers, shell helpers and the children of the components are internal.
 */
export { DockerTile38Cluster } from "./docker/cluster";
export type { MetricsTargets } from "./docker/cluster";
export { KubernetesTile38Cluster } from "./kubernetes/cluster";
export type { ClusterArgs, DockerTile38ClusterArgs, KubernetesTile38ClusterArgs } from "./clusterArgs";
export type { ClusterConnection } from "./connection";
export type { Endpoint } from "./render/topology";
export type {
    BackupSettings,
    DockerSettings,
    KubernetesSettings,
    MetricsSettings,
    ResourceQuantities,
    ResourceSettings,
    SentinelSettings,
    Tile38Settings,
    Toleration,
} from "../config/types";
export { BackupStore, DockerHostOs, RestartPolicy, Target } from "../config/types";
export { DEFAULT_IMAGES } from "../config/defaults";
export { clusterStatus, formatStatus } from "./status/clusterStatus";
export type { BackupRecord, BackupView, ClusterStatus, NodeView, SentinelView, StatusEndpoint, StatusTarget, Verdict } from "./status/clusterStatus";
export { backupRecordsFromMetrics } from "./status/backupMetrics";
export { TILE38_HA_RULE_GROUPS } from "./monitoring/alertRules";
export type { AlertRule, RuleGroup } from "./monitoring/alertRules";
export { DASHBOARD_FILE, dashboardQueries } from "./monitoring/dashboard";
export type { DashboardQuery } from "./monitoring/dashboard";
export { ConfigValidationError } from "../config/validate";
export type { ConfigIssue } from "../config/validate";
