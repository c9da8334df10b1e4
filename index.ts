/**
 * tile38-ha: reads the stack config, builds the chosen target and exports how to connect.
 * `pulumi up -s dev` (Docker, host networking) or `pulumi up -s k8s` (Kubernetes).
 *
 * Outputs (`pulumi stack output`):
 * - `target`: deployment target of this stack;
 * - `masterName`: the Sentinel master name clients ask for;
 * - `sentinelEndpoints`: sentinel endpoints (`host`, `port`) clients connect to;
 * - `sentinelUri`: Lettuce-style URI, `redis-sentinel://host:5000,host:5001,host:5002#mymaster`;
 * - `tile38Endpoints`: Tile38 endpoints (for operations; clients go through the sentinels);
 * - `tile38Password`, `sentinelPassword`: the passwords (secrets);
 * - Docker: `dockerContainers` (`tile38`, `sentinels`: container names, node 1 first);
 * - with backups on: `backupBucket` (the bucket of the AOF backups), `backupEndpoint` (its S3
 *   endpoint; absent = AWS), and on Docker `backupAccessKeyId`/`backupSecretAccessKey` (the
 *   agents' S3 keys, secrets; absent = the instance role), for `scripts/restore-backup.ts`.
 * An output without a value is left out rather than exported empty (Pulumi warns on each).
 */
import * as pulumi from "@pulumi/pulumi";
import { buildStack, stackOutputs } from "./components/stack";
import { loadStackConfig } from "./config/load";

const built = buildStack(loadStackConfig());

export = stackOutputs({ ...built, tile38Password: pulumi.secret(built.tile38Password), sentinelPassword: pulumi.secret(built.sentinelPassword) });
