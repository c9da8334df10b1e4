/**
 * tile38-ha: reads the stack config, builds the chosen target and exports how to connect.
 * `pulumi up -s dev` (Docker, host networking) or `pulumi up -s k8s` (Kubernetes).
 */
import * as pulumi from "@pulumi/pulumi";
import { buildStack } from "./components/stack";
import { loadStackConfig } from "./config/load";

const built = buildStack(loadStackConfig());

/** Deployment target of this stack. */
export const target = built.target;
/** Sentinel master name clients ask for. */
export const masterName = built.masterName;
/** Sentinel endpoints (`host`, `port`) clients connect to. */
export const sentinelEndpoints = built.sentinelEndpoints;
/** Lettuce-style URI: `redis-sentinel://host:5000,host:5001,host:5002#mymaster`. */
export const sentinelUri = built.sentinelUri;
/** Tile38 endpoints (for operations; clients should go through the sentinels). */
export const tile38Endpoints = built.tile38Endpoints;
/** Tile38 password (secret). */
export const tile38Password = pulumi.secret(built.tile38Password);
/** Sentinel password (secret). */
export const sentinelPassword = pulumi.secret(built.sentinelPassword);
/** Bucket that holds the AOF backups (undefined with backups off). */
export const backupBucket = built.backupBucket;
/** S3 endpoint of the backups (Docker local store: `http://127.0.0.1:9000`); undefined = AWS. */
export const backupEndpoint = built.backupEndpoint;
/** Docker: the backup agents' S3 keys (secrets), for `scripts/restore-backup.ts`; undefined = instance role. */
export const backupAccessKeyId = built.backupAccessKeyId;
export const backupSecretAccessKey = built.backupSecretAccessKey;
