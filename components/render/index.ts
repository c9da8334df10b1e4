export * from "./topology";
export * from "./shell";
export * from "./tile38Config";
export * from "./tile38Scripts";
export * from "./sentinelConf";
export * from "./sentinelScripts";
export * from "./clients";
export * from "./backupScripts";
