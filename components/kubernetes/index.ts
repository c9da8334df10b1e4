export * from "./common";
export * from "./provider";
export * from "./clusterConfiguration";
export * from "./serviceAccount";
export * from "./tile38StatefulSet";
export * from "./sentinelStatefulSet";
export * from "./networkPolicies";
export * from "./cluster";
