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
export { KubernetesTile38Cluster } from "./kubernetes/cluster";
export type { ClusterArgs, DockerTile38ClusterArgs, KubernetesTile38ClusterArgs } from "./clusterArgs";
export type { ClusterConnection } from "./connection";
export type { Endpoint } from "./render/topology";
export type {
    BackupSettings,
    DockerSettings,
    KubernetesSettings,
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
export { ConfigValidationError } from "../config/validate";
export type { ConfigIssue } from "../config/validate";
