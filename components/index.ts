/**
 * tile38-ha's public API: the components and renderers other Pulumi programs import.
 *
 *   import { DockerTile38Cluster, ClusterPasswords, parseStackConfig } from "tile38-ha";
 */
export * from "../config";
export * from "./passwords";
export * from "./render";
export * from "./docker/cluster";
export * from "./docker/tile38ReplicaSet";
export * from "./docker/sentinelTrio";
export * from "./docker/localS3";
export * from "./docker/backupAgents";
export * from "./docker/clusterBackups";
export * from "./aws/backupBucket";
export * from "./aws/backupIam";
export * from "./kubernetes";
export { buildStack } from "./stack";
export type { BuiltStack } from "./stack";
