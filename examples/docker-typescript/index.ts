/**
 * A platform team's program: a Tile38 cluster on a Linux Docker host, from the tile38-ha package.
 * Runs with no stack config at all (three nodes on 127.0.0.1, generated passwords, local
 * backups); every setting below is optional and typed.
 */
import * as pulumi from "@pulumi/pulumi";
import { DockerTile38Cluster } from "tile38-ha";

const config = new pulumi.Config();
const port = (key: string, fallback: number) => config.getNumber(key) ?? fallback;

const geo = new DockerTile38Cluster("geo", {
    replicas: 3,
    tile38: { image: config.get("tile38Image"), port: port("tile38Port", 9851) },
    sentinel: { image: config.get("sentinelImage"), port: port("sentinelPort", 5000) },
    docker: { advertiseHost: config.get("advertiseHost") ?? "127.0.0.1" },
    backup: {
        enabled: config.getBoolean("backups") ?? true,
        localImage: config.get("s3Image"),
        localPort: port("s3Port", 9000),
        agentImage: config.get("backupAgentImage"),
    },
    // Metrics are on by default (Tile38 4321 + i, the sentinels' exporters 9121 + i, the agents 9141 + i).
    metrics: { sentinelExporterImage: config.get("sentinelExporterImage") },
});

// What the team's services need: the sentinels, the master name, the password (a secret).
export const connection = geo.connection;
export const tile38Endpoints = geo.tile38Endpoints;
export const tile38Containers = geo.tile38Containers;
export const sentinelContainers = geo.sentinelContainers;
// What Prometheus scrapes (docs/monitoring.md).
export const metricsTargets = geo.metricsTargets;
