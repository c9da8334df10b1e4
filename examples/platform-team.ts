/**
 * How another team's Pulumi program uses tile38-ha as a library: its own config values,
 * its own password, a five-node replica set on a Linux Docker host, and the outputs it needs.
 * Type-checked by `npm test` (tsc -p examples) so the public API cannot break silently.
 */
import * as pulumi from "@pulumi/pulumi";
import { ClusterPasswords, DockerTile38Cluster, formatIssues, parseStackConfig } from "tile38-ha";

const appConfig = new pulumi.Config("geo-app");

const { config, issues } = parseStackConfig(
    {
        target: "docker",
        replicas: "5",
        sentinels: "3",
        quorum: "2",
        docker: { advertiseHost: "10.20.0.15", namePrefix: "geo-app" },
        tile38: { port: 9851, maxMemory: "4gb" },
        // AOF backups into the team's existing bucket; the Docker host's instance role writes
        // (attach the exported writer policy to it).
        backup: { store: "aws", existingBucket: "geo-app-backups", keyPrefix: "tile38/geo-app/", region: "eu-west-1" },
    },
    { stack: pulumi.getStack(), platform: process.platform },
);
if (issues.length > 0) throw new Error(formatIssues(issues));

const passwords = new ClusterPasswords("geo-app", { tile38Password: appConfig.getSecret("tile38Password") });
const cluster = new DockerTile38Cluster("geo-app", {
    config,
    tile38Password: passwords.tile38,
    sentinelPassword: passwords.sentinel,
});

export const sentinelUri: string = cluster.sentinelUri;
export const sentinels = cluster.sentinelEndpoints;
export const password = passwords.tile38;
export const backupBucket = cluster.backups?.bucketName;
export const backupWriterPolicyArn = cluster.backups?.iam?.policyArn;
